//! CallbackReceiver: stores the events running jobs emit, in batches.
//!
//! Senders hand over events already encoded for the store (the actor never
//! looks inside them) and get an acknowledgement once the batch holding
//! them is committed; a sender that resumes after a failure starts from the
//! last acknowledged counter, so nothing committed is lost or repeated.

use std::rc::Rc;
use std::time::{Duration, Instant};

use actix::{
    Actor, ActorFutureExt, AsyncContext, Context, Handler, Message, MessageResult, ResponseFuture,
    SpawnHandle, WrapFuture,
};
use tokio::sync::oneshot;

use crate::ports::{EventStore, PortError};
use crate::status::{ActorStatus, GetStatus};
use crate::supervisor::Incarnation;

/// A batch is written when it holds this many events...
const BATCH_EVENTS: usize = 2000;
/// ...or when its oldest event has waited this long.
const BATCH_DELAY: Duration = Duration::from_millis(25);

/// Events of one job, encoded for the store, in counter order.
#[derive(Debug, Clone)]
pub struct EventRows {
    /// Where the rows go (the store's name for the event table).
    pub table: &'static str,
    /// The unified job the events belong to.
    pub job_id: i64,
    /// The highest counter among them.
    pub last_counter: i64,
    /// How many events the bytes hold.
    pub count: usize,
    /// The encoded rows (the store's bulk format).
    pub rows: Vec<u8>,
}

/// Stores events; answers once they are committed.
#[derive(Debug)]
pub struct Ingest(pub EventRows);

impl Message for Ingest {
    type Result = Result<(), PortError>;
}

/// Writes whatever is buffered now and answers when it is committed.
#[derive(Debug)]
pub struct Flush;

impl Message for Flush {
    type Result = Result<(), PortError>;
}

struct Waiting {
    rows: EventRows,
    reply: oneshot::Sender<Result<(), PortError>>,
}

/// Batches events from every running job into few large writes.
pub struct CallbackReceiver {
    incarnation: Incarnation,
    store: Rc<dyn EventStore>,
    buffer: Vec<Waiting>,
    buffered_events: usize,
    oldest: Option<Instant>,
    timer: Option<SpawnHandle>,
    writing: bool,
    committed: u64,
    batches: u64,
    failures: u64,
}

impl CallbackReceiver {
    /// A receiver writing to `store`.
    pub fn new(incarnation: Incarnation, store: Rc<dyn EventStore>) -> Self {
        CallbackReceiver {
            incarnation,
            store,
            buffer: Vec::new(),
            buffered_events: 0,
            oldest: None,
            timer: None,
            writing: false,
            committed: 0,
            batches: 0,
            failures: 0,
        }
    }

    fn write(&mut self, ctx: &mut Context<Self>) {
        if self.writing || self.buffer.is_empty() {
            return;
        }
        if let Some(timer) = self.timer.take() {
            ctx.cancel_future(timer);
        }
        self.writing = true;
        let batch = std::mem::take(&mut self.buffer);
        self.buffered_events = 0;
        self.oldest = None;
        let count: usize = batch.iter().map(|w| w.rows.count).sum();
        // One bulk write per table, all in one transaction.
        let mut tables: Vec<(&'static str, Vec<u8>)> = Vec::new();
        for waiting in &batch {
            if waiting.rows.rows.is_empty() {
                continue;
            }
            match tables.iter_mut().find(|(t, _)| *t == waiting.rows.table) {
                Some((_, bytes)) => bytes.extend_from_slice(&waiting.rows.rows),
                None => tables.push((waiting.rows.table, waiting.rows.rows.clone())),
            }
        }
        let store = Rc::clone(&self.store);
        let write = async move { store.copy_events(tables).await };
        ctx.spawn(write.into_actor(self).map(move |result, act, ctx| {
            act.writing = false;
            match &result {
                Ok(()) => {
                    act.committed += count as u64;
                    act.batches += 1;
                }
                Err(err) => {
                    act.failures += 1;
                    tracing::warn!(error = %err, events = count, "event batch not stored");
                }
            }
            for waiting in batch {
                let _ = waiting.reply.send(result.clone());
            }
            // What arrived during the write goes next, without waiting.
            if !act.buffer.is_empty() {
                act.write(ctx);
            }
        }));
    }
}

impl Actor for CallbackReceiver {
    type Context = Context<Self>;
}

impl Handler<Ingest> for CallbackReceiver {
    type Result = ResponseFuture<Result<(), PortError>>;

    fn handle(&mut self, Ingest(rows): Ingest, ctx: &mut Context<Self>) -> Self::Result {
        let (reply, answer) = oneshot::channel();
        self.buffered_events += rows.count;
        self.buffer.push(Waiting { rows, reply });
        if self.buffered_events >= BATCH_EVENTS {
            self.write(ctx);
        } else if self.oldest.is_none() {
            self.oldest = Some(Instant::now());
            self.timer = Some(ctx.run_later(BATCH_DELAY, |act, ctx| {
                act.timer = None;
                act.write(ctx);
            }));
        }
        Box::pin(async move {
            answer.await.unwrap_or_else(|_| {
                Err(PortError("the receiver restarted before committing".into()))
            })
        })
    }
}

impl Handler<Flush> for CallbackReceiver {
    type Result = ResponseFuture<Result<(), PortError>>;

    fn handle(&mut self, _: Flush, ctx: &mut Context<Self>) -> Self::Result {
        if self.buffer.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        let (reply, answer) = oneshot::channel();
        self.buffer.push(Waiting {
            rows: EventRows {
                table: "",
                job_id: 0,
                last_counter: 0,
                count: 0,
                rows: Vec::new(),
            },
            reply,
        });
        self.write(ctx);
        Box::pin(async move {
            answer.await.unwrap_or_else(|_| {
                Err(PortError("the receiver restarted before committing".into()))
            })
        })
    }
}

impl Handler<GetStatus> for CallbackReceiver {
    type Result = MessageResult<GetStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        let state = if self.buffered_events > 0 || self.writing {
            "running"
        } else {
            "idle"
        };
        MessageResult(ActorStatus {
            actor: "callback_receiver",
            state,
            restarts: self.incarnation.restarts,
            since: self.incarnation.since,
            detail: format!("{} events waiting for the next batch", self.buffered_events),
            counters: vec![
                ("events_committed", self.committed),
                ("batches", self.batches),
                ("failures", self.failures),
                ("queue_depth", self.buffered_events as u64),
            ],
        })
    }
}
