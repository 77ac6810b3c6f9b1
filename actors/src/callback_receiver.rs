//! CallbackReceiver: Stores the events running jobs emit, in batches.

use actix::{Actor, Context, Handler, MessageResult};

use crate::status::{ActorStatus, GetStatus};
use crate::supervisor::Incarnation;

/// Stores the events running jobs emit, in batches.
pub struct CallbackReceiver {
    incarnation: Incarnation,
}

impl CallbackReceiver {
    /// A new incarnation.
    pub fn new(incarnation: Incarnation) -> Self {
        CallbackReceiver { incarnation }
    }
}

impl Actor for CallbackReceiver {
    type Context = Context<Self>;
}

impl Handler<GetStatus> for CallbackReceiver {
    type Result = MessageResult<GetStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        MessageResult(ActorStatus::idle(
            "callback_receiver",
            self.incarnation,
            "no event streams: job execution is not built yet",
        ))
    }
}
