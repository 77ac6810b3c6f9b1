//! TaskManager: Decides which pending jobs run where; one leader per cluster.

use actix::{Actor, Context, Handler, MessageResult};

use crate::status::{ActorStatus, GetStatus};
use crate::supervisor::Incarnation;

/// Decides which pending jobs run where; one leader per cluster.
pub struct TaskManager {
    incarnation: Incarnation,
}

impl TaskManager {
    /// A new incarnation.
    pub fn new(incarnation: Incarnation) -> Self {
        TaskManager { incarnation }
    }
}

impl Actor for TaskManager {
    type Context = Context<Self>;
}

impl Handler<GetStatus> for TaskManager {
    type Result = MessageResult<GetStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        MessageResult(ActorStatus::idle(
            "task_manager",
            self.incarnation,
            "no jobs to schedule: launching jobs is not built yet",
        ))
    }
}
