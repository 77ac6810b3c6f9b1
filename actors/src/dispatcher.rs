//! Dispatcher: runs the jobs the TaskManager hands to this node, at most a
//! fixed number at once; the rest wait in order.

use std::collections::{HashSet, VecDeque};
use std::rc::Rc;

use actix::{
    Actor, ActorFutureExt, AsyncContext, Context, Handler, Message, MessageResult, WrapFuture,
};

use crate::ports::JobRunner;
use crate::status::{ActorStatus, GetStatus};
use crate::supervisor::Incarnation;

/// Runs job `.0` on this node.
#[derive(Debug, Clone, Copy)]
pub struct Dispatch(pub i64);

impl Message for Dispatch {
    type Result = ();
}

/// A bounded pool of job runs.
pub struct Dispatcher {
    incarnation: Incarnation,
    runner: Rc<dyn JobRunner>,
    slots: usize,
    running: usize,
    queue: VecDeque<i64>,
    /// Every job queued or running here: a job handed over twice runs once.
    known: HashSet<i64>,
    recovered: u64,
    finished: u64,
    failures: u64,
}

impl Dispatcher {
    /// A dispatcher running at most `slots` jobs at once through `runner`.
    pub fn new(incarnation: Incarnation, runner: Rc<dyn JobRunner>, slots: usize) -> Self {
        Dispatcher {
            incarnation,
            runner,
            slots: slots.max(1),
            running: 0,
            queue: VecDeque::new(),
            known: HashSet::new(),
            recovered: 0,
            finished: 0,
            failures: 0,
        }
    }

    fn start_next(&mut self, ctx: &mut Context<Self>) {
        while self.running < self.slots {
            let Some(id) = self.queue.pop_front() else {
                return;
            };
            self.running += 1;
            let runner = Rc::clone(&self.runner);
            let run = async move { runner.run(id).await };
            ctx.spawn(run.into_actor(self).map(move |result, act, ctx| {
                act.running -= 1;
                act.known.remove(&id);
                act.finished += 1;
                if let Err(err) = result {
                    act.failures += 1;
                    tracing::error!(job = id, error = %err, "job run failed");
                }
                act.start_next(ctx);
            }));
        }
    }
}

impl Actor for Dispatcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // A restart may have lost jobs; after a stop of the whole node the
        // start-up reaper has failed what nothing runs, and what is left is
        // what still runs elsewhere (units on execution nodes) to follow.
        let runner = Rc::clone(&self.runner);
        let recover = async move { runner.recover().await };
        ctx.spawn(recover.into_actor(self).map(|result, act, ctx| match result {
            Ok(jobs) => {
                for id in jobs {
                    if act.known.insert(id) {
                        act.recovered += 1;
                        act.queue.push_back(id);
                    }
                }
                act.start_next(ctx);
            }
            Err(err) => tracing::error!(error = %err, "cannot recover the jobs of the last incarnation or run"),
        }));
    }
}

impl Handler<Dispatch> for Dispatcher {
    type Result = ();

    fn handle(&mut self, Dispatch(id): Dispatch, ctx: &mut Context<Self>) {
        if self.known.insert(id) {
            self.queue.push_back(id);
            self.start_next(ctx);
        }
    }
}

impl Handler<GetStatus> for Dispatcher {
    type Result = MessageResult<GetStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        MessageResult(ActorStatus {
            actor: "dispatcher",
            state: if self.running > 0 { "running" } else { "idle" },
            restarts: self.incarnation.restarts,
            since: self.incarnation.since,
            detail: format!(
                "{} of {} slots busy, {} queued",
                self.running,
                self.slots,
                self.queue.len()
            ),
            counters: vec![
                ("running", self.running as u64),
                ("queued", self.queue.len() as u64),
                ("finished", self.finished),
                ("recovered", self.recovered),
                ("failures", self.failures),
            ],
        })
    }
}
