//! [`WorkNode`]: a mesh [`Node`] with the work-unit protocol on top, as a
//! controller (always) and an executor (when given an [`ExecutorConfig`]).
//!
//! ## Transport: a QUIC stream per work unit on each link
//!
//! A unit's frames (submission, payload, reads, output, acks, status,
//! cancel, release) travel each link on a unidirectional QUIC stream of
//! their own, opened on demand and closed after
//! [`crate::node::UNIT_STREAM_IDLE`] without frames; relays forward by
//! destination from the unit's stream on one link to its stream on the
//! next. Head-of-line blocking and QUIC flow control are therefore per
//! unit: a unit whose frames wait at a slow relay or receiver holds up no
//! other. Each unit still has a bounded window in flight
//! ([`crate::executor::OUTPUT_WINDOW`] and a frame cap for output, a payload
//! window for uploads) and every queue is bounded: a relay's per-unit
//! queues wait (QUIC flow control pushes back to the sender), while the
//! dispatcher here never waits and drops what a full queue cannot take.
//! Losing a hop loses frames the protocol already recovers from (requests
//! are repeated, output is asked for by offset).
//!
//! Frames are not encrypted end to end: a hop sees payload and output
//! (TLS protects each link). The submission is signed end to end; cancel,
//! release and reads are accepted only from the submitting node's id.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncSeek};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::debug;

use crate::executor::{self, Executor, ExecutorConfig, ExecutorError, REQUEST_QUEUE};
use crate::frame::Message;
use crate::id::{NodeId, WorkUnitId};
use crate::node::{Delivery, Node, NodeConfig, NodeError};
use crate::submit::{Client, ClientConfig, ClientError, UnitHandle};
use crate::work::SigningKey;

/// Why a work node could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkNodeError {
    /// The mesh node could not start.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The executor could not load its units.
    #[error(transparent)]
    Executor(#[from] ExecutorError),
}

/// A mesh node that submits work units and, if configured, runs them.
/// Dropping it stops the node, its workers and its readers; units' files
/// stay on disk for the next start.
pub struct WorkNode {
    node: Arc<Node>,
    client: Arc<Client>,
    tasks: Vec<JoinHandle<()>>,
    executor_dir: Option<PathBuf>,
}

impl std::fmt::Debug for WorkNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkNode")
            .field("node", &self.node)
            .field("executor_dir", &self.executor_dir)
            .finish_non_exhaustive()
    }
}

impl WorkNode {
    /// Starts the node; with `executor`, reloads the units on disk and
    /// accepts work.
    pub async fn start(
        config: NodeConfig,
        executor: Option<ExecutorConfig>,
        client: ClientConfig,
    ) -> Result<Self, WorkNodeError> {
        let (node, deliveries) = Node::start(config).await?;
        let node = Arc::new(node);
        let weak = Arc::downgrade(&node);
        let client = Arc::new(Client::new(weak.clone(), client));
        let (requests_tx, requests_rx) = mpsc::channel(REQUEST_QUEUE);
        let executor_dir = executor.as_ref().map(|e| e.dir.clone());
        let core = match executor {
            Some(config) => {
                let core = Executor::load(node.id().clone(), config, weak.clone()).await?;
                tokio::spawn(core.run(requests_rx))
            }
            None => tokio::spawn(executor::refuse_all(weak, requests_rx)),
        };
        let dispatcher = tokio::spawn(dispatch(deliveries, requests_tx, client.clone()));
        Ok(Self {
            node,
            client,
            tasks: vec![core, dispatcher],
            executor_dir,
        })
    }

    /// The mesh node underneath, for its id, address and status.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Submits `payload` (read twice: once to sign its digest, once to
    /// send it) to `dest` as unit `unit` of `work_type`, signed with `key`;
    /// returns once the executor has verified the payload and started the
    /// unit. Choose and record `unit` before calling, so a controller that
    /// restarts can find the unit again with [`WorkNode::unit`].
    pub async fn submit<R>(
        &self,
        dest: &NodeId,
        unit: WorkUnitId,
        work_type: &str,
        payload: R,
        key: &SigningKey,
    ) -> Result<UnitHandle, ClientError>
    where
        R: AsyncRead + AsyncSeek + Unpin + Send,
    {
        self.client
            .submit(dest.clone(), unit, work_type, payload, key)
            .await
    }

    /// A handle on unit `unit` submitted to `dest` earlier.
    pub fn unit(&self, dest: &NodeId, unit: WorkUnitId) -> UnitHandle {
        self.client.unit(dest.clone(), unit)
    }
}

impl Drop for WorkNode {
    fn drop(&mut self) {
        // Aborting the executor core drops its JoinSet, which aborts every
        // worker and reader; the node itself closes when its last Arc goes.
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Sorts what reaches the node: requests to the executor, replies to the
/// controller's waiting requests. Never waits on either, so the links keep
/// flowing; what is dropped is asked for again.
async fn dispatch(
    mut deliveries: mpsc::Receiver<Delivery>,
    requests: mpsc::Sender<Delivery>,
    client: Arc<Client>,
) {
    while let Some(delivery) = deliveries.recv().await {
        match &delivery.message {
            Message::Submit(_)
            | Message::Payload { .. }
            | Message::Read { .. }
            | Message::Ack { .. }
            | Message::QueryStatus { .. }
            | Message::Cancel { .. }
            | Message::Release { .. } => {
                if requests.try_send(delivery).is_err() {
                    debug!("work request dropped: the executor is busy");
                }
            }
            Message::Data { .. }
            | Message::Status { .. }
            | Message::PayloadAck { .. }
            | Message::Refused { .. }
            | Message::Gone { .. } => client.dispatch(delivery),
            Message::Unreachable { dest } => {
                // Requests are repeated on their own schedule; nothing to do
                // but note it.
                debug!(%dest, "work frame unreachable");
            }
        }
    }
}
