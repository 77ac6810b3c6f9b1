//! The status message every actor answers.

use std::time::SystemTime;

use actix::Message;

/// Asks an actor how it is doing.
#[derive(Debug, Clone, Copy)]
pub struct GetStatus;

impl Message for GetStatus {
    type Result = ActorStatus;
}

/// What an actor says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ActorStatus {
    /// The actor's name, as its supervisor knows it.
    pub actor: &'static str,
    /// A short word for its state (`running`, `idle`, `degraded`, ...).
    pub state: &'static str,
    /// How many times its supervisor has restarted it.
    pub restarts: u32,
    /// When this incarnation started.
    pub since: SystemTime,
    /// One human sentence on what it is doing or why it is idle.
    pub detail: String,
    /// Counters that matter for this actor (name, value).
    pub counters: Vec<(&'static str, u64)>,
}

impl ActorStatus {
    /// The status of an actor that is up but has nothing to do yet.
    pub fn idle(
        actor: &'static str,
        incarnation: crate::Incarnation,
        detail: impl Into<String>,
    ) -> Self {
        ActorStatus {
            actor,
            state: "idle",
            restarts: incarnation.restarts,
            since: incarnation.since,
            detail: detail.into(),
            counters: Vec::new(),
        }
    }
}
