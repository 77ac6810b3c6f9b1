//! A mesh node: the async shell around [`LinkStateDb`] and [`Transport`].
//!
//! Tasks, and who talks to whom:
//! - the **core** owns the link-state database and the peer table; it hears
//!   of links coming up and going down, of advertisements, and of its own
//!   timer, and it never waits on a peer (it `try_send`s advertisements, which
//!   a later refresh repeats if one is dropped);
//! - per link, a **reader** that relays routed frames itself (so a slow next
//!   hop slows the link feeding it, through QUIC flow control, instead of
//!   filling memory) and hands advertisements to the core, and a **writer**
//!   that sends control frames before data frames, both on the link's first
//!   stream; and per work unit with frames on the link, a unidirectional
//!   QUIC stream of its own with its own writer, queue and reader, so one
//!   unit's frames held up at a slow relay never hold up another's (head of
//!   line blocking and flow control are per unit); a unit's stream closes
//!   after [`UNIT_STREAM_IDLE`] without frames and opens again on demand;
//! - an **acceptor** if the node listens, and a **dialer** per peer listed by
//!   address, which redials with exponential backoff and jitter.
//!
//! The forwarding table (destination → next hop's writer) is rebuilt by the
//! core on every change and read by readers and [`Node::send`] without
//! waiting on the core.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use quinn::{Connection, VarInt};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, info, warn};

use crate::frame::{self, Advertisement, Frame, MAX_HOPS, MAX_PAYLOAD_LEN, Message, Routed};
use crate::id::{NodeId, WorkUnitId};
use crate::revocation::{CertDigest, RevocationList, SignedRevocations};
use crate::routing::{KnownNode, LinkStateDb, Received, Route};
use crate::tls::{NodeIdentity, TrustAnchor};
use crate::transport::{Link, Transport, TransportConfig, TransportError, close_code};
use crate::work::TrustedKeys;

/// Frames waiting for one peer's writer, per class.
const CONTROL_QUEUE: usize = 256;
const DATA_QUEUE: usize = 64;
/// Frames of one work unit waiting for its stream's writer on one link.
const UNIT_QUEUE: usize = 2;
/// A work unit's stream on a link closes after this long without frames.
pub const UNIT_STREAM_IDLE: Duration = Duration::from_secs(30);
/// Frames addressed to this node waiting for the application.
const DELIVERY_QUEUE: usize = 256;
const EVENT_QUEUE: usize = 1024;

/// The node's timers.
#[derive(Clone, Debug)]
pub struct Timers {
    /// QUIC keepalive, idle timeout and handshake timeout.
    pub transport: TransportConfig,
    /// How often the node re-floods its adjacencies and sends keepalives.
    pub advertise_interval: Duration,
    /// How long others keep our advertisement; several intervals, so one
    /// lost flood does not make us vanish.
    pub max_age: Duration,
    /// First wait before redialing a peer.
    pub redial_min: Duration,
    /// Longest wait between redials.
    pub redial_max: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            transport: TransportConfig::default(),
            advertise_interval: Duration::from_secs(10),
            max_age: Duration::from_secs(45),
            redial_min: Duration::from_secs(1),
            redial_max: Duration::from_secs(30),
        }
    }
}

/// A peer this node dials.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// Its UDP address.
    pub addr: SocketAddr,
    /// The link's cost (at least 1).
    pub cost: u32,
}

/// Everything a node needs to start.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The node's id, certificate and key.
    pub identity: NodeIdentity,
    /// The mesh CA.
    pub trust: TrustAnchor,
    /// Where to accept peers; `None` for a node that only dials out.
    pub listen: Option<SocketAddr>,
    /// Peers to dial; a peer not listed here may still dial in.
    pub peers: Vec<PeerConfig>,
    /// Timers.
    pub timers: Timers,
    /// The controller keys whose revocation lists this node applies and
    /// floods; lists signed by any other key are dropped.
    pub revocation_signers: TrustedKeys,
    /// The list this node had when it stopped ([`NodeStatus::revocations`],
    /// saved by its owner): applied before any link comes up, so a node
    /// that restarts keeps refusing what it refused.
    pub revocations: Option<SignedRevocations>,
}

/// A message that reached this node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The node that sent it.
    pub source: NodeId,
    /// The message.
    pub message: Message,
}

/// Why a node could not start or send.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The endpoint could not be set up.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// No route leads to the node.
    #[error("no route to node {0}")]
    Unreachable(NodeId),
    /// A Data payload is over [`MAX_PAYLOAD_LEN`]; split it.
    #[error("payload of {0} bytes exceeds {MAX_PAYLOAD_LEN}")]
    TooLarge(usize),
    /// The node has stopped.
    #[error("the mesh node has stopped")]
    Stopped,
}

/// The mesh as one node sees it, for `rawx mesh status` and the visualizer.
#[derive(Clone, Debug, Serialize)]
pub struct NodeStatus {
    /// This node.
    pub node: NodeId,
    /// This node's epoch.
    pub epoch: u64,
    /// Live links.
    pub peers: Vec<PeerStatus>,
    /// Every node whose advertisement we hold, with its links and costs.
    pub nodes: Vec<KnownNode>,
    /// The route table.
    pub routes: Vec<Route>,
    /// How many certificates the node's revocation list refuses.
    pub revoked_certificates: usize,
    /// That list, signed, for its owner to save (not in the status file).
    #[serde(skip)]
    pub revocations: Option<SignedRevocations>,
}

/// One live link in [`NodeStatus`].
#[derive(Clone, Debug, Serialize)]
pub struct PeerStatus {
    /// The peer.
    pub node: NodeId,
    /// Its UDP address.
    pub address: SocketAddr,
    /// The link's cost.
    pub cost: u32,
    /// Whether this node dialed it.
    pub dialed: bool,
    /// Time since the peer's last frame.
    pub last_seen: Duration,
    /// Time since the link came up.
    pub up_for: Duration,
}

/// A running mesh node. Dropping it closes every link.
pub struct Node {
    shared: Arc<Shared>,
    events: mpsc::Sender<Event>,
    transport: Arc<Transport>,
    local_addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("node", &self.shared.me)
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Binds the endpoint and starts the node's tasks on the current tokio
    /// runtime; returns the node and the receiver of messages addressed to it.
    pub async fn start(config: NodeConfig) -> Result<(Self, mpsc::Receiver<Delivery>), NodeError> {
        let epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let timers = config.timers.clone();
        let transport = Arc::new(Transport::bind(
            config.listen,
            &config.identity,
            &config.trust,
            epoch,
            timers.transport.clone(),
        )?);
        let local_addr = match config.listen {
            Some(addr) => Some(
                transport
                    .local_addr()
                    .map_err(|source| TransportError::Bind { addr, source })?,
            ),
            None => None,
        };
        let me = config.identity.node().clone();
        let (deliver, deliveries) = mpsc::channel(DELIVERY_QUEUE);
        let shared = Arc::new(Shared {
            me: me.clone(),
            started: Instant::now(),
            forward: RwLock::new(Arc::new(HashMap::new())),
            deliver,
        });
        let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
        let (connected_tx, connected_rx) = watch::channel(BTreeSet::new());

        let mut core = Core {
            shared: shared.clone(),
            db: LinkStateDb::new(me, epoch, timers.max_age),
            epoch,
            peers: HashMap::new(),
            next_conn: 0,
            connected: connected_tx,
            events: events_tx.clone(),
            links: JoinSet::new(),
            signers: config.revocation_signers,
            revocations: None,
            revoked: RevocationList::default(),
        };
        if let Some(saved) = config.revocations {
            // No link exists yet: this only sets the list.
            core.revoke(None, saved);
        }
        let mut tasks = vec![tokio::spawn(core.run(events_rx, timers.advertise_interval))];
        if config.listen.is_some() {
            tasks.push(tokio::spawn(accept_loop(
                transport.clone(),
                events_tx.clone(),
            )));
        }
        for peer in config.peers {
            tasks.push(tokio::spawn(dial_loop(
                transport.clone(),
                peer,
                events_tx.clone(),
                connected_rx.clone(),
                timers.clone(),
            )));
        }
        let node = Self {
            shared,
            events: events_tx,
            transport,
            local_addr,
            tasks,
        };
        Ok((node, deliveries))
    }

    /// This node's id.
    pub fn id(&self) -> &NodeId {
        &self.shared.me
    }

    /// The address peers can dial, if the node listens.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// Sends `message` to `dest` along the current route; waits while the
    /// next hop's queue is full.
    pub async fn send(&self, dest: &NodeId, message: Message) -> Result<(), NodeError> {
        if let Message::Data { payload, .. } = &message
            && payload.len() > MAX_PAYLOAD_LEN
        {
            return Err(NodeError::TooLarge(payload.len()));
        }
        let routed = Routed {
            dest: dest.clone(),
            source: self.shared.me.clone(),
            hops_left: MAX_HOPS,
            message,
        };
        if *dest == self.shared.me {
            return self
                .shared
                .deliver
                .send(Delivery {
                    source: routed.source,
                    message: routed.message,
                })
                .await
                .map_err(|_| NodeError::Stopped);
        }
        let next = self
            .shared
            .next_hop(dest)
            .ok_or_else(|| NodeError::Unreachable(dest.clone()))?;
        next.send_routed(routed)
            .await
            .map_err(|_| NodeError::Unreachable(dest.clone()))
    }

    /// Applies a controller's revocation list (if it verifies against the
    /// node's `revocation_signers` and is newer than the one it has) and
    /// floods it through the mesh: every node closes the links of the
    /// revoked certificates and refuses them from then on.
    pub async fn revoke(&self, list: SignedRevocations) -> Result<(), NodeError> {
        self.events
            .send(Event::Revocations { from: None, list })
            .await
            .map_err(|_| NodeError::Stopped)
    }

    /// The mesh as this node sees it now.
    pub async fn status(&self) -> Result<NodeStatus, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.events
            .send(Event::Status(tx))
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Closing the endpoint sends CONNECTION_CLOSE on every link, so the
        // neighbours drop their side at once instead of after the idle
        // timeout; aborting the core drops its JoinSet and with it the
        // per-link tasks.
        self.transport.close();
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What every task may read without asking the core.
struct Shared {
    me: NodeId,
    started: Instant,
    forward: RwLock<Arc<HashMap<NodeId, Arc<PeerHandle>>>>,
    deliver: mpsc::Sender<Delivery>,
}

/// The sending side of one live link.
struct PeerHandle {
    control: mpsc::Sender<Frame>,
    data: mpsc::Sender<Frame>,
    /// Each work unit's queue to the writer of its own stream.
    units: std::sync::Mutex<HashMap<WorkUnitId, mpsc::Sender<Frame>>>,
    /// The link's connection, where unit streams open; `None` only for the
    /// relay tests, where every routed frame takes the data queue.
    connection: Option<Connection>,
}

impl PeerHandle {
    /// Queues a routed frame for this link: a work unit's on the unit's own
    /// stream, anything else on the link's data queue. Waits while the
    /// queue is full; fails only when the link is gone.
    async fn send_routed(&self, routed: Routed) -> Result<(), ()> {
        let (Some(unit), Some(connection)) = (routed.message.unit().cloned(), &self.connection)
        else {
            return self.data.send(Frame::Routed(routed)).await.map_err(|_| ());
        };
        let mut frame = Frame::Routed(routed);
        // A writer that ended (idle, or its stream broke) is replaced once.
        for _ in 0..2 {
            let queue = self.unit_queue(connection, &unit);
            match queue.send(frame).await {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(back)) => frame = back,
            }
            if connection.close_reason().is_some() {
                return Err(());
            }
        }
        Err(())
    }

    /// The queue of `unit`'s stream, opening the stream if it has none.
    fn unit_queue(&self, connection: &Connection, unit: &WorkUnitId) -> mpsc::Sender<Frame> {
        let mut units = self.units.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(queue) = units.get(unit).filter(|q| !q.is_closed()) {
            return queue.clone();
        }
        // Ended writers leave closed queues behind: sweep them now and then.
        units.retain(|_, q| !q.is_closed());
        let (tx, rx) = mpsc::channel(UNIT_QUEUE);
        tokio::spawn(unit_write_loop(connection.clone(), rx));
        units.insert(unit.clone(), tx.clone());
        tx
    }
}

impl Shared {
    fn next_hop(&self, dest: &NodeId) -> Option<Arc<PeerHandle>> {
        // A poisoned lock only means a panic elsewhere mid-swap of an Arc;
        // the table inside is still whole.
        let table = self
            .forward
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        table.get(dest).cloned()
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Delivers or forwards a routed frame that arrived from a neighbour.
    async fn route(&self, mut routed: Routed) {
        if routed.dest == self.me {
            // A dropped receiver means the application stopped listening;
            // the frame has nowhere to go.
            let _ = self
                .deliver
                .send(Delivery {
                    source: routed.source,
                    message: routed.message,
                })
                .await;
            return;
        }
        if routed.hops_left == 0 {
            debug!(dest = %routed.dest, source = %routed.source, "hop limit reached");
            self.unreachable(routed);
            return;
        }
        routed.hops_left -= 1;
        match self.next_hop(&routed.dest) {
            Some(next) => {
                // If the link closes meanwhile the frame is lost; work units
                // resume from acknowledged offsets, so the mesh need not
                // retransmit.
                let _ = next.send_routed(routed).await;
            }
            None => self.unreachable(routed),
        }
    }

    /// Tells the source its frame could not be delivered, unless the frame
    /// was itself such a notice (two nodes must not bounce notices forever).
    fn unreachable(&self, routed: Routed) {
        if matches!(routed.message, Message::Unreachable { .. }) {
            return;
        }
        let notice = Routed {
            dest: routed.source.clone(),
            source: self.me.clone(),
            hops_left: MAX_HOPS,
            message: Message::Unreachable { dest: routed.dest },
        };
        if let Some(next) = self.next_hop(&routed.source) {
            let _ = next.control.try_send(Frame::Routed(notice));
        }
    }
}

enum Event {
    Up(Link),
    Down {
        peer: NodeId,
        conn: u64,
    },
    Advertise {
        from: NodeId,
        ad: Advertisement,
    },
    Status(oneshot::Sender<NodeStatus>),
    /// A revocation list, from a peer or (`None`) from this node's owner.
    Revocations {
        from: Option<NodeId>,
        list: SignedRevocations,
    },
}

struct PeerEntry {
    conn: u64,
    handle: Arc<PeerHandle>,
    connection: Connection,
    cost: u32,
    dialed: bool,
    /// Which side dialed, to settle two links to the same peer the same way
    /// on both ends.
    dialer: NodeId,
    /// The digest of the certificate it linked with.
    cert: CertDigest,
    last_seen: Arc<AtomicU64>,
    up_since: Instant,
}

struct Core {
    shared: Arc<Shared>,
    db: LinkStateDb,
    epoch: u64,
    peers: HashMap<NodeId, PeerEntry>,
    next_conn: u64,
    connected: watch::Sender<BTreeSet<NodeId>>,
    events: mpsc::Sender<Event>,
    links: JoinSet<()>,
    /// Who may sign revocation lists.
    signers: TrustedKeys,
    /// The newest revocation list, as received, to pass on.
    revocations: Option<SignedRevocations>,
    /// The certificates no longer accepted (that list, verified).
    revoked: RevocationList,
}

impl Core {
    async fn run(mut self, mut events: mpsc::Receiver<Event>, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => self.handle(event),
                    None => return,
                },
                _ = tick.tick() => self.tick(),
                Some(_) = self.links.join_next(), if !self.links.is_empty() => {}
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Up(link) => self.link_up(link),
            Event::Down { peer, conn } => self.link_down(&peer, conn),
            Event::Advertise { from, ad } => match self.db.receive(ad.clone(), Instant::now()) {
                Received::Accepted { routes_changed } => {
                    self.flood(&ad, Some(&from));
                    if routes_changed {
                        self.rebuild_forwarding();
                    }
                }
                Received::Stale => {}
                Received::Conflict => warn!(
                    node = %ad.origin,
                    epoch = ad.epoch,
                    "another node advertises with this node's id"
                ),
            },
            Event::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Event::Revocations { from, list } => self.revoke(from, list),
        }
    }

    /// Applies `signed` if it verifies and is newer than the list this
    /// node has: closes the links of the certificates it revokes, forgets
    /// what their nodes advertised (so no route leads to them through this
    /// node's view), and floods it to every other peer.
    fn revoke(&mut self, from: Option<NodeId>, signed: SignedRevocations) {
        // Every refresh brings the same list again: no need to verify it.
        if self.revocations.as_ref() == Some(&signed) {
            return;
        }
        let list = match signed.verify(&self.signers) {
            Ok(list) => list,
            Err(err) => {
                let from = from.as_ref().map_or("this node", |peer| peer.as_str());
                warn!(%from, %err, "revocation list refused");
                return;
            }
        };
        if self.revoked.issued_ms >= list.issued_ms {
            return;
        }
        let cut: Vec<(NodeId, u64)> = self
            .peers
            .iter()
            .filter(|(_, entry)| list.revokes(&entry.cert))
            .map(|(node, entry)| (node.clone(), entry.conn))
            .collect();
        let mut changed = false;
        for (node, conn) in cut {
            warn!(node = %node, "mesh node's certificate revoked: link closed");
            if let Some(entry) = self.peers.get(&node) {
                entry.connection.close(
                    VarInt::from_u32(close_code::REVOKED),
                    b"this node was revoked",
                );
            }
            self.link_down(&node, conn);
            changed |= self.db.forget(&node);
        }
        if changed {
            self.rebuild_forwarding();
        }
        info!(
            issued_ms = list.issued_ms,
            certificates = list.certificates.len(),
            "revocation list applied"
        );
        self.revoked = list;
        for (peer, entry) in &self.peers {
            if Some(peer) != from.as_ref() {
                let _ = entry
                    .handle
                    .control
                    .try_send(Frame::Revocations(signed.clone()));
            }
        }
        self.revocations = Some(signed);
    }

    fn tick(&mut self) {
        let now = Instant::now();
        if self.db.expire(now) {
            self.rebuild_forwarding();
        }
        let ad = self.db.originate();
        self.flood(&ad, None);
        for entry in self.peers.values() {
            let _ = entry.handle.control.try_send(Frame::Keepalive);
            // Again with every refresh: a list dropped on a full queue, or
            // missed by a node that restarted, arrives all the same.
            if let Some(list) = &self.revocations {
                let _ = entry
                    .handle
                    .control
                    .try_send(Frame::Revocations(list.clone()));
            }
        }
    }

    fn link_up(&mut self, link: Link) {
        let peer = link.peer().clone();
        let cert = link.peer_certificate();
        if self.revoked.revokes(&cert) {
            link.close(close_code::REVOKED, "this node was revoked");
            return;
        }
        let dialer = if link.dialed() {
            self.shared.me.clone()
        } else {
            peer.clone()
        };
        if let Some(existing) = self.peers.get(&peer) {
            // Two nodes that list each other dial at the same time. Both ends
            // keep the link dialed by the smaller id; a redial by the same
            // side replaces the old link, which is likely dead.
            if existing.dialer != dialer && existing.dialer < dialer {
                link.close(close_code::DUPLICATE, "a link to this node exists");
                return;
            }
            existing.connection.close(
                VarInt::from_u32(close_code::DUPLICATE),
                b"replaced by a newer link",
            );
            self.peers.remove(&peer);
        }
        info!(peer = %peer, addr = %link.remote_address(), dialed = link.dialed(), "mesh link up");
        self.next_conn += 1;
        let conn = self.next_conn;
        let (control_tx, control_rx) = mpsc::channel(CONTROL_QUEUE);
        let (data_tx, data_rx) = mpsc::channel(DATA_QUEUE);
        let handle = Arc::new(PeerHandle {
            control: control_tx,
            data: data_tx,
            units: Default::default(),
            connection: Some(link.connection().clone()),
        });
        let last_seen = Arc::new(AtomicU64::new(self.shared.millis()));
        let connection = link.connection().clone();
        let cost = link.cost();
        let dialed = link.dialed();
        let (send, recv) = link.into_streams();
        self.links
            .spawn(write_loop(send, control_rx, data_rx, connection.clone()));
        self.links.spawn(read_loop(
            recv,
            connection.clone(),
            peer.clone(),
            conn,
            last_seen.clone(),
            self.shared.clone(),
            self.events.clone(),
        ));
        self.links.spawn(accept_unit_streams(
            connection.clone(),
            peer.clone(),
            last_seen.clone(),
            self.shared.clone(),
        ));
        self.peers.insert(
            peer.clone(),
            PeerEntry {
                conn,
                handle: handle.clone(),
                connection,
                cost,
                dialed,
                dialer,
                cert,
                last_seen,
                up_since: Instant::now(),
            },
        );
        self.connected.send_modify(|set| {
            set.insert(peer.clone());
        });
        // The newcomer learns the whole mesh now rather than over the next
        // refresh interval.
        for ad in self.db.advertisements() {
            let _ = handle.control.try_send(Frame::Advertise(ad));
        }
        if let Some(list) = &self.revocations {
            let _ = handle.control.try_send(Frame::Revocations(list.clone()));
        }
        if let Some(ad) = self.db.set_link(peer, cost) {
            self.flood(&ad, None);
        }
        self.rebuild_forwarding();
    }

    fn link_down(&mut self, peer: &NodeId, conn: u64) {
        // A link replaced by a newer one reports its end late; ignore it.
        if self.peers.get(peer).is_none_or(|e| e.conn != conn) {
            return;
        }
        if let Some(entry) = self.peers.remove(peer) {
            entry
                .connection
                .close(VarInt::from_u32(close_code::SHUTDOWN), b"link closed");
        }
        info!(peer = %peer, "mesh link down");
        self.connected.send_modify(|set| {
            set.remove(peer);
        });
        if let Some(ad) = self.db.remove_link(peer) {
            self.flood(&ad, None);
        }
        self.rebuild_forwarding();
    }

    fn flood(&self, ad: &Advertisement, except: Option<&NodeId>) {
        for (peer, entry) in &self.peers {
            if Some(peer) == except {
                continue;
            }
            if entry
                .handle
                .control
                .try_send(Frame::Advertise(ad.clone()))
                .is_err()
            {
                // The next refresh floods again; waiting here would stall the
                // whole node behind one slow link.
                debug!(peer = %peer, "advertisement dropped: control queue full");
            }
        }
    }

    fn rebuild_forwarding(&self) {
        let table: HashMap<NodeId, Arc<PeerHandle>> = self
            .db
            .routes()
            .filter_map(|r| {
                self.peers
                    .get(&r.next_hop)
                    .map(|e| (r.dest.clone(), e.handle.clone()))
            })
            .collect();
        let mut guard = self
            .shared
            .forward
            .write()
            .unwrap_or_else(|p| p.into_inner());
        *guard = Arc::new(table);
    }

    fn status(&self) -> NodeStatus {
        let now = Instant::now();
        let now_ms = self.shared.millis();
        let mut peers: Vec<PeerStatus> = self
            .peers
            .iter()
            .map(|(node, e)| PeerStatus {
                node: node.clone(),
                address: e.connection.remote_address(),
                cost: e.cost,
                dialed: e.dialed,
                last_seen: Duration::from_millis(
                    now_ms.saturating_sub(e.last_seen.load(Ordering::Relaxed)),
                ),
                up_for: now.saturating_duration_since(e.up_since),
            })
            .collect();
        peers.sort_by(|a, b| a.node.cmp(&b.node));
        NodeStatus {
            node: self.shared.me.clone(),
            epoch: self.epoch,
            peers,
            nodes: self.db.known_nodes(now),
            routes: self.db.routes().cloned().collect(),
            revoked_certificates: self.revoked.certificates.len(),
            revocations: self.revocations.clone(),
        }
    }
}

async fn write_loop(
    mut send: quinn::SendStream,
    mut control: mpsc::Receiver<Frame>,
    mut data: mpsc::Receiver<Frame>,
    connection: Connection,
) {
    loop {
        let frame = tokio::select! {
            biased;
            Some(f) = control.recv() => f,
            Some(f) = data.recv() => f,
            else => break,
        };
        if !write_frame(&mut send, &frame, "mesh link").await {
            break;
        }
    }
    connection.close(VarInt::from_u32(close_code::SHUTDOWN), b"writer stopped");
}

/// Encodes and writes one frame; false once the stream is broken. A frame
/// that cannot be encoded (one oversize status detail: the sender's bug) is
/// skipped, and the stream and its other frames are fine.
async fn write_frame(send: &mut quinn::SendStream, frame: &Frame, stream: &str) -> bool {
    let encoded = match frame::encode_shared(frame) {
        Ok(encoded) => encoded,
        Err(e) => {
            warn!(error = %e, "frame not sent");
            return true;
        }
    };
    // quinn keeps the chunks as they are: a payload is not copied here.
    let written = if encoded.bulk.is_empty() {
        send.write_all_chunks(&mut [encoded.head]).await
    } else {
        send.write_all_chunks(&mut [encoded.head, encoded.bulk])
            .await
    };
    match written {
        Ok(()) => true,
        Err(e) => {
            debug!(error = %e, "{stream} write failed");
            false
        }
    }
}

/// Writes one work unit's frames on a unidirectional stream of its own,
/// until no frame came for [`UNIT_STREAM_IDLE`] (or the link broke).
async fn unit_write_loop(connection: Connection, mut frames: mpsc::Receiver<Frame>) {
    let mut send = match connection.open_uni().await {
        Ok(send) => send,
        Err(e) => {
            debug!(error = %e, "no stream for a work unit: the link is gone");
            return;
        }
    };
    loop {
        let frame = match tokio::time::timeout(UNIT_STREAM_IDLE, frames.recv()).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(_) => {
                // Idle: refuse new frames (their sender opens a new stream),
                // but write those already queued.
                frames.close();
                match frames.recv().await {
                    Some(frame) => frame,
                    None => break,
                }
            }
        };
        if !write_frame(&mut send, &frame, "work unit stream").await {
            return;
        }
    }
    let _ = send.finish();
}

/// Accepts the work-unit streams the peer opens on a link and reads each.
async fn accept_unit_streams(
    connection: Connection,
    peer: NodeId,
    last_seen: Arc<AtomicU64>,
    shared: Arc<Shared>,
) {
    let mut readers = JoinSet::new();
    while let Ok(recv) = connection.accept_uni().await {
        while readers.try_join_next().is_some() {}
        readers.spawn(unit_read_loop(
            recv,
            connection.clone(),
            peer.clone(),
            last_seen.clone(),
            shared.clone(),
        ));
    }
}

/// Relays or delivers the routed frames of one work-unit stream; anything
/// else on it, or a bad frame, closes the link.
async fn unit_read_loop(
    mut recv: quinn::RecvStream,
    connection: Connection,
    peer: NodeId,
    last_seen: Arc<AtomicU64>,
    shared: Arc<Shared>,
) {
    loop {
        match frame::read_frame(&mut recv).await {
            Ok(Some(Frame::Routed(routed))) if routed.message.unit().is_some() => {
                last_seen.store(shared.millis(), Ordering::Relaxed);
                shared.route(routed).await;
            }
            Ok(Some(_)) => {
                warn!(peer = %peer, "a frame other than a work unit's on a unit stream; closing the link");
                connection.close(
                    VarInt::from_u32(close_code::PROTOCOL),
                    b"unexpected frame on a unit stream",
                );
                return;
            }
            Ok(None) => return,
            Err(e) => {
                close_on_bad_frame(&connection, &peer, &e);
                return;
            }
        }
    }
}

/// A bad frame from `peer`, on any of the link's streams: only this link
/// is closed (the peer is broken or hostile, the rest of the mesh is not).
fn close_on_bad_frame(connection: &Connection, peer: &NodeId, error: &frame::FrameError) {
    if connection.close_reason().is_none() {
        warn!(peer = %peer, %error, "bad frame; closing the link");
        connection.close(
            VarInt::from_u32(close_code::PROTOCOL),
            error.to_string().as_bytes(),
        );
    }
}

async fn read_loop(
    mut recv: quinn::RecvStream,
    connection: Connection,
    peer: NodeId,
    conn: u64,
    last_seen: Arc<AtomicU64>,
    shared: Arc<Shared>,
    events: mpsc::Sender<Event>,
) {
    loop {
        match frame::read_frame(&mut recv).await {
            Ok(Some(frame)) => {
                last_seen.store(shared.millis(), Ordering::Relaxed);
                match frame {
                    Frame::Routed(routed) => shared.route(routed).await,
                    Frame::Advertise(ad) => {
                        let from = peer.clone();
                        if events.send(Event::Advertise { from, ad }).await.is_err() {
                            return;
                        }
                    }
                    Frame::Keepalive => {}
                    Frame::Revocations(list) => {
                        let from = Some(peer.clone());
                        if events
                            .send(Event::Revocations { from, list })
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                    Frame::Hello(_) => {
                        warn!(peer = %peer, "second Hello on a link; closing it");
                        connection
                            .close(VarInt::from_u32(close_code::PROTOCOL), b"unexpected Hello");
                        break;
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                close_on_bad_frame(&connection, &peer, &e);
                break;
            }
        }
    }
    let _ = events.send(Event::Down { peer, conn }).await;
}

async fn accept_loop(transport: Arc<Transport>, events: mpsc::Sender<Event>) {
    let mut handshakes = JoinSet::new();
    while let Some(incoming) = transport.accept().await {
        while handshakes.try_join_next().is_some() {}
        let events = events.clone();
        handshakes.spawn(async move {
            let from = incoming.remote_address();
            match incoming.establish().await {
                Ok(link) => {
                    let _ = events.send(Event::Up(link)).await;
                }
                Err(e) => warn!(%from, error = %e, "mesh peer refused"),
            }
        });
    }
}

async fn dial_loop(
    transport: Arc<Transport>,
    peer: PeerConfig,
    events: mpsc::Sender<Event>,
    mut connected: watch::Receiver<BTreeSet<NodeId>>,
    timers: Timers,
) {
    let mut backoff = timers.redial_min;
    let mut known: Option<NodeId> = None;
    loop {
        if let Some(id) = &known {
            // The peer may have dialed us (a link we kept over ours): redial
            // only once no link to it is left.
            if connected.wait_for(|set| !set.contains(id)).await.is_err() {
                return;
            }
        }
        match transport.connect(peer.addr, peer.cost).await {
            Ok(link) => {
                known = Some(link.peer().clone());
                let connection = link.connection().clone();
                if events.send(Event::Up(link)).await.is_err() {
                    return;
                }
                let reason = connection.closed().await;
                debug!(addr = %peer.addr, %reason, "mesh link to dialed peer ended");
                backoff = timers.redial_min;
            }
            Err(e) => debug!(addr = %peer.addr, error = %e, "mesh dial failed"),
        }
        tokio::time::sleep(jittered(backoff)).await;
        backoff = backoff.saturating_mul(2).min(timers.redial_max);
    }
}

/// Half to all of `d`, at random, so peers that lost a common neighbour do
/// not all redial in the same instant.
fn jittered(d: Duration) -> Duration {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 4];
    let fraction = match ring::rand::SystemRandom::new().fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
        Err(_) => 1.0,
    };
    d.mul_f64(0.5 + 0.5 * fraction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::MeshCa;

    #[test]
    fn jitter_stays_within_half_and_whole() {
        let d = Duration::from_secs(2);
        for _ in 0..100 {
            let j = jittered(d);
            assert!(j >= d / 2 && j <= d, "{j:?}");
        }
    }

    #[tokio::test]
    async fn garbage_from_one_peer_closes_only_that_link() {
        let ca = MeshCa::generate().expect("ca");
        let hour = Duration::from_secs(3600);
        let id = |s: &str| NodeId::new(s).expect("id");
        let timers = Timers {
            advertise_interval: Duration::from_millis(200),
            ..Timers::default()
        };
        let (b, _b_rx) = Node::start(NodeConfig {
            identity: ca.issue(&id("b"), hour).expect("cert"),
            trust: ca.trust_anchor(),
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            peers: vec![],
            timers: timers.clone(),
            revocation_signers: Default::default(),
            revocations: None,
        })
        .await
        .expect("b starts");
        let addr = b.local_addr().expect("b listens");
        let (a, mut a_rx) = Node::start(NodeConfig {
            identity: ca.issue(&id("a"), hour).expect("cert"),
            trust: ca.trust_anchor(),
            listen: None,
            peers: vec![PeerConfig { addr, cost: 1 }],
            timers,
            revocation_signers: Default::default(),
            revocations: None,
        })
        .await
        .expect("a starts");

        // A rogue but properly certified node links to b, then sends noise.
        let rogue = Transport::bind(
            None,
            &ca.issue(&id("rogue"), hour).expect("cert"),
            &ca.trust_anchor(),
            1,
            TransportConfig::default(),
        )
        .expect("bind");
        let link = rogue.connect(addr, 1).await.expect("rogue links");
        let connection = link.connection().clone();
        let (mut send, _recv) = link.into_streams();
        send.write_all(&[0, 0, 0, 3, 0xff, 0xff, 0xff])
            .await
            .expect("write");
        let reason = connection.closed().await;
        assert!(
            matches!(reason, quinn::ConnectionError::ApplicationClosed(ref c)
                if c.error_code == VarInt::from_u32(close_code::PROTOCOL)),
            "{reason:?}"
        );

        // b still serves a: a message goes there and back.
        wait_for_route(&a, &id("b")).await;
        a.send(
            &id("b"),
            Message::Cancel {
                unit: crate::WorkUnitId::new("u").expect("id"),
            },
        )
        .await
        .expect("send");
        b.send(
            &id("a"),
            Message::Release {
                unit: crate::WorkUnitId::new("u").expect("id"),
            },
        )
        .await
        .expect("send back");
        let got = tokio::time::timeout(Duration::from_secs(20), a_rx.recv())
            .await
            .expect("a hears back")
            .expect("delivery");
        assert_eq!(got.source, id("b"));
    }

    /// A relay with one neighbour, `a`, whose queues the test reads.
    fn relay() -> (Shared, mpsc::Receiver<Frame>, mpsc::Receiver<Frame>) {
        let id = |s: &str| NodeId::new(s).expect("id");
        let (control, control_rx) = mpsc::channel(8);
        let (data, data_rx) = mpsc::channel(8);
        let (deliver, _) = mpsc::channel(1);
        let handle = Arc::new(PeerHandle {
            control,
            data,
            units: Default::default(),
            connection: None,
        });
        let table = HashMap::from([(id("a"), handle)]);
        let shared = Shared {
            me: id("b"),
            started: Instant::now(),
            forward: RwLock::new(Arc::new(table)),
            deliver,
        };
        (shared, control_rx, data_rx)
    }

    fn routed(dest: &str, hops_left: u8) -> Routed {
        Routed {
            dest: NodeId::new(dest).expect("id"),
            source: NodeId::new("a").expect("id"),
            hops_left,
            message: Message::Cancel {
                unit: crate::WorkUnitId::new("u").expect("id"),
            },
        }
    }

    #[tokio::test]
    async fn a_relay_forwards_with_one_hop_less_and_reports_what_it_cannot_deliver() {
        let (relay, mut control, mut data) = relay();
        relay.route(routed("a", 5)).await;
        assert_eq!(data.try_recv().ok(), Some(Frame::Routed(routed("a", 4))));

        // No route to z: the source hears of it, on the control queue.
        relay.route(routed("z", 5)).await;
        let Ok(Frame::Routed(notice)) = control.try_recv() else {
            panic!("expected an Unreachable notice");
        };
        assert_eq!(notice.dest.as_str(), "a");
        assert_eq!(notice.source.as_str(), "b");
        assert_eq!(
            notice.message,
            Message::Unreachable {
                dest: NodeId::new("z").expect("id")
            }
        );

        // Out of hops: dropped, and reported.
        relay.route(routed("a", 0)).await;
        assert!(data.try_recv().is_err());
        assert!(matches!(control.try_recv(), Ok(Frame::Routed(_))));

        // A notice that cannot be delivered is not answered with another.
        let mut lost = routed("z", 5);
        lost.message = Message::Unreachable {
            dest: NodeId::new("a").expect("id"),
        };
        relay.route(lost).await;
        assert!(control.try_recv().is_err());
    }

    async fn wait_for_route(node: &Node, dest: &NodeId) {
        for _ in 0..400 {
            let status = node.status().await.expect("status");
            if status.routes.iter().any(|r| r.dest == *dest) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no route from {} to {dest}", node.id());
    }
}
