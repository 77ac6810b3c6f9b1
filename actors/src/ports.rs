//! What the actors need from the outside world, as traits the binary implements.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

/// A boxed future, as the ports return them (actors run on one thread, so no `Send`).
pub type PortFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, PortError>> + 'a>>;

/// A port's failure, described for logs and status messages.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct PortError(pub String);

/// One heartbeat: who this node is and what it can carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Beat {
    /// The node's name (`hostname` in AWX's instances).
    pub hostname: String,
    /// A UUID for the node, kept by the store from the first beat on.
    pub uuid: String,
    /// `hybrid`, `control`, `execution` or `hop`.
    pub node_type: &'static str,
    /// The software version the node runs.
    pub version: String,
    /// CPUs available to this process.
    pub cpu: u32,
    /// Memory of the machine, in bytes.
    pub memory: u64,
    /// Forks the CPUs can carry.
    pub cpu_capacity: u32,
    /// Forks the memory can carry.
    pub mem_capacity: u32,
}

/// Where heartbeats are recorded.
pub trait HeartbeatStore {
    /// Records a beat as this instance's latest heartbeat.
    fn record(&self, beat: &Beat) -> PortFuture<'_, ()>;
}

/// Where job events are stored.
pub trait EventStore {
    /// Writes encoded event rows, per table, in one transaction.
    fn copy_events(&self, tables: Vec<(&'static str, Vec<u8>)>) -> PortFuture<'_, ()>;
}

/// Where the TaskManager's scheduling decisions are made and recorded.
pub trait Scheduler {
    /// One scheduling pass; returns the jobs moved to `waiting` on this node.
    fn schedule(&self) -> PortFuture<'_, Vec<i64>>;
}

/// What runs one job to its end on this node.
pub trait JobRunner {
    /// Runs job `id` and records its outcome.
    fn run(&self, id: i64) -> PortFuture<'_, ()>;
    /// When the Dispatcher starts: ends the runs a previous incarnation
    /// lost, and returns the jobs handed to it that never started and the
    /// runs that go on elsewhere, to follow again.
    fn recover(&self) -> PortFuture<'_, Vec<i64>>;
}

/// Where a node's view of the mesh goes (its status file; on a control
/// node, the instances it sees and the revocations it reads back).
pub trait MeshObserver {
    /// Records `status`; returns the certificates the mesh must refuse from
    /// now on, or `None` where this node does not decide revocations.
    fn observe(
        &self,
        status: mesh::NodeStatus,
    ) -> PortFuture<'_, Option<BTreeSet<mesh::CertDigest>>>;
}
