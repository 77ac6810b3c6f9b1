//! Dispatcher: Runs the jobs the TaskManager hands to this node, in a bounded worker pool.

use actix::{Actor, Context, Handler, MessageResult};

use crate::status::{ActorStatus, GetStatus};
use crate::supervisor::Incarnation;

/// Runs the jobs the TaskManager hands to this node, in a bounded worker pool.
pub struct Dispatcher {
    incarnation: Incarnation,
}

impl Dispatcher {
    /// A new incarnation.
    pub fn new(incarnation: Incarnation) -> Self {
        Dispatcher { incarnation }
    }
}

impl Actor for Dispatcher {
    type Context = Context<Self>;
}

impl Handler<GetStatus> for Dispatcher {
    type Result = MessageResult<GetStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        MessageResult(ActorStatus::idle(
            "dispatcher",
            self.incarnation,
            "no jobs to run: job execution is not built yet",
        ))
    }
}
