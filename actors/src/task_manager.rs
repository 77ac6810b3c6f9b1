//! TaskManager: decides which pending jobs run, one leader per cluster
//! (its port takes a PostgreSQL advisory lock), woken by launches and by a
//! periodic safety-net cycle.

use std::rc::Rc;
use std::time::Duration;

use actix::{
    Actor, ActorFutureExt, AsyncContext, Context, Handler, Message, MessageResult, WrapFuture,
};

use crate::ports::Scheduler;
use crate::status::{ActorStatus, GetStatus};
use crate::supervisor::Incarnation;

/// The safety-net period: a missed wake-up costs at most this long.
const CYCLE: Duration = Duration::from_secs(5);

/// The pause before a pass asked for while another ran.
const PASS_GAP: Duration = Duration::from_millis(20);

/// Asks for a scheduling pass soon (a job was launched or finished).
#[derive(Debug, Clone, Copy)]
pub struct Wake;

impl Message for Wake {
    type Result = ();
}

/// Moves pending jobs on and hands them to the Dispatcher.
pub struct TaskManager {
    incarnation: Incarnation,
    scheduler: Rc<dyn Scheduler>,
    dispatch: Rc<dyn Fn(i64)>,
    in_cycle: bool,
    again: bool,
    cycles: u64,
    dispatched: u64,
    failures: u64,
}

impl TaskManager {
    /// A TaskManager scheduling through `scheduler` and handing each job
    /// it moved on to `dispatch` (the Dispatcher, wherever it lives now).
    pub fn new(
        incarnation: Incarnation,
        scheduler: Rc<dyn Scheduler>,
        dispatch: Rc<dyn Fn(i64)>,
    ) -> Self {
        TaskManager {
            incarnation,
            scheduler,
            dispatch,
            in_cycle: false,
            again: false,
            cycles: 0,
            dispatched: 0,
            failures: 0,
        }
    }

    fn cycle(&mut self, ctx: &mut Context<Self>) {
        // Wake-ups during a pass fold into one more pass after it.
        if self.in_cycle {
            self.again = true;
            return;
        }
        self.in_cycle = true;
        let scheduler = Rc::clone(&self.scheduler);
        let pass = async move { scheduler.schedule().await };
        ctx.spawn(pass.into_actor(self).map(|result, act, ctx| {
            act.in_cycle = false;
            act.cycles += 1;
            match result {
                Ok(jobs) => {
                    for id in jobs {
                        act.dispatched += 1;
                        (act.dispatch)(id);
                    }
                }
                Err(err) => {
                    act.failures += 1;
                    tracing::warn!(error = %err, "scheduling pass failed");
                }
            }
            // Wake-ups during the pass get one more pass, a moment later: a
            // burst of launches costs a pass per PASS_GAP, not one per launch.
            if std::mem::take(&mut act.again) {
                ctx.run_later(PASS_GAP, |act, ctx| act.cycle(ctx));
            }
        }));
    }
}

impl Actor for TaskManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.cycle(ctx);
        ctx.run_interval(CYCLE, |act, ctx| act.cycle(ctx));
    }
}

impl Handler<Wake> for TaskManager {
    type Result = ();

    fn handle(&mut self, _: Wake, ctx: &mut Context<Self>) {
        self.cycle(ctx);
    }
}

impl Handler<GetStatus> for TaskManager {
    type Result = MessageResult<GetStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        MessageResult(ActorStatus {
            actor: "task_manager",
            state: if self.in_cycle { "running" } else { "idle" },
            restarts: self.incarnation.restarts,
            since: self.incarnation.since,
            detail: format!(
                "{} scheduling passes, {} jobs dispatched",
                self.cycles, self.dispatched
            ),
            counters: vec![
                ("cycles", self.cycles),
                ("dispatched", self.dispatched),
                ("failures", self.failures),
            ],
        })
    }
}
