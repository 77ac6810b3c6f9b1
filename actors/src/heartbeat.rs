//! Heartbeat: records this node's liveness and capacity every interval.

use std::rc::Rc;
use std::time::Duration;

use actix::{Actor, ActorFutureExt, AsyncContext, Context, Handler, WrapFuture};

use crate::ports::{Beat, HeartbeatStore};
use crate::role::NodeRole;
use crate::status::{ActorStatus, GetStatus};
use crate::supervisor::Incarnation;

/// Forks one CPU carries (AWX's `SYSTEM_TASK_FORKS_CPU`).
const FORKS_PER_CPU: u64 = 4;
/// MiB of memory one fork needs (AWX's `SYSTEM_TASK_FORKS_MEM`).
const MIB_PER_FORK: u64 = 100;
/// Memory AWX keeps back for the system before counting forks.
const RESERVED_MEMORY: u64 = 2 * 1024 * 1024 * 1024;

/// Forks `cpus` can carry, as AWX counts them.
pub fn cpu_capacity(cpus: u32) -> u32 {
    u32::try_from(u64::from(cpus) * FORKS_PER_CPU).unwrap_or(u32::MAX)
}

/// Forks `memory` bytes can carry, as AWX counts them.
pub fn mem_capacity(memory: u64) -> u32 {
    let usable_mib = memory.saturating_sub(RESERVED_MEMORY) / (1024 * 1024);
    u32::try_from(usable_mib / MIB_PER_FORK).unwrap_or(u32::MAX)
}

/// What the heartbeat says about this node (all but the measured resources).
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    /// The node's name.
    pub hostname: String,
    /// A UUID for the node.
    pub uuid: String,
    /// The node's role.
    pub role: NodeRole,
    /// The software version.
    pub version: String,
}

/// Measures this machine's CPUs and memory for one beat.
pub trait ResourceProbe {
    /// CPUs available to this process and total memory in bytes.
    fn measure(&self) -> (u32, u64);
}

/// Records a heartbeat at start and then every `interval`.
pub struct Heartbeat {
    identity: NodeIdentity,
    interval: Duration,
    store: Rc<dyn HeartbeatStore>,
    probe: Rc<dyn ResourceProbe>,
    incarnation: Incarnation,
    beats: u64,
    failures: u64,
    last_error: Option<String>,
    in_flight: bool,
}

impl Heartbeat {
    /// A heartbeat actor for `identity`, writing to `store` every `interval`.
    pub fn new(
        identity: NodeIdentity,
        interval: Duration,
        store: Rc<dyn HeartbeatStore>,
        probe: Rc<dyn ResourceProbe>,
        incarnation: Incarnation,
    ) -> Self {
        Heartbeat {
            identity,
            interval,
            store,
            probe,
            incarnation,
            beats: 0,
            failures: 0,
            last_error: None,
            in_flight: false,
        }
    }

    fn beat(&mut self, ctx: &mut Context<Self>) {
        // A slow database must not pile up writes: skip a tick while one is out.
        if self.in_flight {
            return;
        }
        self.in_flight = true;
        let (cpu, memory) = self.probe.measure();
        let beat = Beat {
            hostname: self.identity.hostname.clone(),
            uuid: self.identity.uuid.clone(),
            node_type: self.identity.role.as_str(),
            version: self.identity.version.clone(),
            cpu,
            memory,
            cpu_capacity: cpu_capacity(cpu),
            mem_capacity: mem_capacity(memory),
        };
        let store = Rc::clone(&self.store);
        let write = async move { store.record(&beat).await };
        ctx.spawn(write.into_actor(self).map(|result, act, _| {
            act.in_flight = false;
            match result {
                Ok(()) => {
                    act.beats += 1;
                    act.last_error = None;
                }
                Err(err) => {
                    act.failures += 1;
                    tracing::warn!(error = %err, "heartbeat not recorded");
                    act.last_error = Some(err.0);
                }
            }
        }));
    }
}

impl Actor for Heartbeat {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.beat(ctx);
        ctx.run_interval(self.interval, |act, ctx| act.beat(ctx));
    }
}

impl Handler<GetStatus> for Heartbeat {
    type Result = actix::MessageResult<GetStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        let (state, detail) = match &self.last_error {
            Some(err) => ("degraded", format!("last heartbeat failed: {err}")),
            None => (
                "running",
                format!(
                    "recording {} as {} every {}s",
                    self.identity.hostname,
                    self.identity.role,
                    self.interval.as_secs_f64()
                ),
            ),
        };
        actix::MessageResult(ActorStatus {
            actor: "heartbeat",
            state,
            restarts: self.incarnation.restarts,
            since: self.incarnation.since,
            detail,
            counters: vec![("beats", self.beats), ("failures", self.failures)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_follows_awx_formula() {
        // The reference's example: 2 CPUs and 25.3 GB give 8 and 220.
        assert_eq!(cpu_capacity(2), 8);
        assert_eq!(mem_capacity(25_300_000_000), 220);
        assert_eq!(mem_capacity(1024 * 1024 * 1024), 0);
    }
}
