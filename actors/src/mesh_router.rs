//! MeshRouter: this node's way into the mesh. Every work unit a controller
//! submits, cancels or releases goes through it, and it watches the mesh:
//! every interval it hands the node's view to a [`MeshObserver`] (which
//! records it); on a controller, when the revoked certificates the
//! observer returns change, it signs a new revocation list and publishes
//! it, and the mesh floods it to every node.
//!
//! The mesh node itself outlives the actor: a restarted MeshRouter wraps
//! the same node, so links, routes and units in flight are not lost with
//! it. Submissions and the other requests run as futures of their own, so
//! one slow executor does not hold up the mailbox; a unit's output is read
//! through the handle a submission returns, not through the mailbox.

use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix::{
    Actor, ActorFutureExt, AsyncContext, Context, Handler, Message, MessageResult,
    ResponseActFuture, WrapFuture,
};
use mesh::{
    CertDigest, ClientError, NodeError, NodeId, NodeStatus, RevocationList, SigningKey,
    StatusReport, UnitHandle, WorkError, WorkNode, WorkUnitId,
};
use tokio::io::{AsyncRead, AsyncSeek};

use crate::ports::MeshObserver;
use crate::status::{ActorStatus, GetStatus};
use crate::supervisor::Incarnation;

/// A work unit's payload: read twice (to sign its digest, then to send it).
pub trait UnitPayload: AsyncRead + AsyncSeek + Unpin + Send {}

impl<T: AsyncRead + AsyncSeek + Unpin + Send> UnitPayload for T {}

/// Why a request to the MeshRouter failed.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// This node has no work-signing key (execution and hop nodes).
    #[error("this node signs no work")]
    NoSigningKey,
    /// The mesh node has stopped.
    #[error("the mesh node has stopped")]
    Stopped,
    /// The unit request failed.
    #[error(transparent)]
    Unit(#[from] ClientError),
    /// The node could not answer.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// Submits `payload` to `dest` as unit `unit` of `work_type`, signed with
/// this node's key; answers once the executor has started it.
pub struct Submit {
    /// The executor.
    pub dest: NodeId,
    /// The unit's id, chosen (and recorded) by the caller beforehand.
    pub unit: WorkUnitId,
    /// The work type the executor runs it with.
    pub work_type: String,
    /// What the worker reads.
    pub payload: Box<dyn UnitPayload>,
}

impl Message for Submit {
    type Result = Result<UnitHandle, RouterError>;
}

/// A handle on unit `.1`, submitted to `.0` earlier (by this node, maybe
/// before a restart).
#[derive(Debug, Clone)]
pub struct Attach(pub NodeId, pub WorkUnitId);

impl Message for Attach {
    type Result = Result<UnitHandle, RouterError>;
}

/// Cancels unit `.1` on `.0`; answers with its final status.
#[derive(Debug, Clone)]
pub struct Cancel(pub NodeId, pub WorkUnitId);

impl Message for Cancel {
    type Result = Result<StatusReport, RouterError>;
}

/// Releases unit `.1` on `.0`: its files go, and its run if it still goes.
#[derive(Debug, Clone)]
pub struct Release(pub NodeId, pub WorkUnitId);

impl Message for Release {
    type Result = Result<(), RouterError>;
}

/// The mesh as this node sees it now.
#[derive(Debug, Clone, Copy)]
pub struct View;

impl Message for View {
    type Result = Result<NodeStatus, RouterError>;
}

/// Wraps this node's mesh node for the other actors and the API.
pub struct MeshRouter {
    incarnation: Incarnation,
    node: Weak<WorkNode>,
    key: Option<Arc<SigningKey>>,
    observer: Rc<dyn MeshObserver>,
    interval: Duration,
    observing: bool,
    /// The revoked certificates last published, and when.
    published: Option<(BTreeSet<CertDigest>, u64)>,
    submitted: u64,
    submit_failures: u64,
    cancels: u64,
    releases: u64,
    links: u64,
    nodes: u64,
    revoked: u64,
    last_error: Option<String>,
}

impl MeshRouter {
    /// A router over `node` that signs work with `key` (none on execution
    /// and hop nodes) and hands its view to `observer` every `interval`.
    pub fn new(
        incarnation: Incarnation,
        node: Weak<WorkNode>,
        key: Option<Arc<SigningKey>>,
        observer: Rc<dyn MeshObserver>,
        interval: Duration,
    ) -> Self {
        MeshRouter {
            incarnation,
            node,
            key,
            observer,
            interval,
            observing: false,
            published: None,
            submitted: 0,
            submit_failures: 0,
            cancels: 0,
            releases: 0,
            links: 0,
            nodes: 0,
            revoked: 0,
            last_error: None,
        }
    }

    fn node(&self) -> Result<Arc<WorkNode>, RouterError> {
        self.node.upgrade().ok_or(RouterError::Stopped)
    }

    fn observe(&mut self, ctx: &mut Context<Self>) {
        // A slow store must not pile up observations: skip a tick meanwhile.
        if self.observing {
            return;
        }
        let Ok(node) = self.node() else {
            return;
        };
        self.observing = true;
        let observer = Rc::clone(&self.observer);
        let key = self.key.clone();
        let published = self.published.clone();
        let work = async move {
            let status = node.node().status().await?;
            let counts = (status.peers.len(), status.nodes.len());
            let revoked = observer
                .observe(status)
                .await
                .map_err(|err| err.0.clone())?;
            // Only a controller signs lists, and only a changed set: the
            // mesh itself passes the current list on to every node.
            let publish = match (revoked, key) {
                (Some(revoked), Some(key))
                    if published.as_ref().is_none_or(|(set, _)| *set != revoked) =>
                {
                    let after = published.map_or(0, |(_, issued)| issued);
                    let list = RevocationList::new(revoked.iter().copied(), after);
                    let issued = list.issued_ms;
                    node.node().revoke(list.sign(&key)?).await?;
                    Some((revoked, issued))
                }
                _ => None,
            };
            Ok::<_, ObserveError>((counts, publish))
        };
        ctx.spawn(work.into_actor(self).map(|result, act, _| {
            act.observing = false;
            match result {
                Ok(((links, nodes), publish)) => {
                    act.links = links as u64;
                    act.nodes = nodes as u64;
                    if let Some((revoked, issued)) = publish {
                        tracing::info!(certificates = revoked.len(), "revocation list published");
                        act.revoked = revoked.len() as u64;
                        act.published = Some((revoked, issued));
                    }
                    act.last_error = None;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "the mesh view was not recorded");
                    act.last_error = Some(err.to_string());
                }
            }
        }));
    }
}

/// Why an observation failed.
#[derive(Debug, thiserror::Error)]
enum ObserveError {
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("cannot sign the revocation list: {0}")]
    Sign(#[from] WorkError),
    #[error("{0}")]
    Store(String),
}

impl From<String> for ObserveError {
    fn from(err: String) -> Self {
        ObserveError::Store(err)
    }
}

impl Actor for MeshRouter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.observe(ctx);
        ctx.run_interval(self.interval, |act, ctx| act.observe(ctx));
    }
}

impl Handler<Submit> for MeshRouter {
    type Result = ResponseActFuture<Self, Result<UnitHandle, RouterError>>;

    fn handle(&mut self, msg: Submit, _: &mut Context<Self>) -> Self::Result {
        let ready = self
            .node()
            .and_then(|node| Ok((node, self.key.clone().ok_or(RouterError::NoSigningKey)?)));
        let submit = async move {
            let (node, key) = ready?;
            Ok(node
                .submit(&msg.dest, msg.unit, &msg.work_type, msg.payload, &key)
                .await?)
        };
        Box::pin(submit.into_actor(self).map(|result, act, _| {
            match &result {
                Ok(_) => act.submitted += 1,
                Err(_) => act.submit_failures += 1,
            }
            result
        }))
    }
}

impl Handler<Attach> for MeshRouter {
    type Result = MessageResult<Attach>;

    fn handle(&mut self, Attach(dest, unit): Attach, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.node().map(|node| node.unit(&dest, unit)))
    }
}

impl Handler<Cancel> for MeshRouter {
    type Result = ResponseActFuture<Self, Result<StatusReport, RouterError>>;

    fn handle(&mut self, Cancel(dest, unit): Cancel, _: &mut Context<Self>) -> Self::Result {
        self.cancels += 1;
        let node = self.node();
        Box::pin(async move { Ok(node?.unit(&dest, unit).cancel().await?) }.into_actor(self))
    }
}

impl Handler<Release> for MeshRouter {
    type Result = ResponseActFuture<Self, Result<(), RouterError>>;

    fn handle(&mut self, Release(dest, unit): Release, _: &mut Context<Self>) -> Self::Result {
        self.releases += 1;
        let node = self.node();
        Box::pin(async move { Ok(node?.unit(&dest, unit).release().await?) }.into_actor(self))
    }
}

impl Handler<View> for MeshRouter {
    type Result = ResponseActFuture<Self, Result<NodeStatus, RouterError>>;

    fn handle(&mut self, _: View, _: &mut Context<Self>) -> Self::Result {
        let node = self.node();
        Box::pin(async move { Ok(node?.node().status().await?) }.into_actor(self))
    }
}

impl Handler<GetStatus> for MeshRouter {
    type Result = MessageResult<GetStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        let (state, detail) = match (&self.last_error, self.node.upgrade()) {
            (_, None) => ("stopped", "the mesh node has stopped".to_owned()),
            (Some(err), Some(_)) => ("degraded", format!("last mesh view not recorded: {err}")),
            (None, Some(node)) => (
                "running",
                format!(
                    "{}: {} links, {} nodes known, {} certificates revoked",
                    node.node().id(),
                    self.links,
                    self.nodes,
                    self.revoked
                ),
            ),
        };
        MessageResult(ActorStatus {
            actor: "mesh_router",
            state,
            restarts: self.incarnation.restarts,
            since: self.incarnation.since,
            detail,
            counters: vec![
                ("submitted", self.submitted),
                ("submit_failures", self.submit_failures),
                ("cancels", self.cancels),
                ("releases", self.releases),
                ("links", self.links),
                ("nodes", self.nodes),
                ("revoked", self.revoked),
            ],
        })
    }
}
