//! QUIC links between nodes: quinn endpoints with mutual TLS, and the Hello
//! exchange that binds each side's node id to its certificate.
//!
//! A [`Link`] is one QUIC connection with one bidirectional stream of frames.
//! The dialer opens the stream and speaks first; each side checks the other's
//! Hello against the certificate TLS verified, and closes the connection with
//! a reason if it does not match.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{Connection, RecvStream, SendStream, VarInt};
use rustls::pki_types::CertificateDer;

use crate::frame::{self, Frame, FrameError, Hello, PROTOCOL_VERSION};
use crate::id::NodeId;
use crate::revocation::{CertDigest, cert_digest};
use crate::tls::{self, NodeIdentity, TlsError, TrustAnchor};

/// QUIC application close codes a node uses, so the other side can log why.
pub mod close_code {
    /// The node is shutting down.
    pub const SHUTDOWN: u32 = 0;
    /// The peer sent bytes that are not a valid frame, or an unexpected one.
    pub const PROTOCOL: u32 = 1;
    /// The peer's Hello does not match its certificate or our version.
    pub const IDENTITY: u32 = 2;
    /// A link to this peer already exists.
    pub const DUPLICATE: u32 = 3;
    /// The peer's node was revoked: its certificate is no longer accepted.
    pub const REVOKED: u32 = 4;
}

/// Work-unit streams a peer may have open on one link at once.
const UNIT_STREAMS: u32 = 4096;
/// Bytes a link's streams may have unread at the receiver, all together.
const LINK_WINDOW: u32 = 8 * 1024 * 1024;
/// The UDP socket's send and receive buffers. Linux's default receive
/// buffer (208 KiB) overflows at a few hundred MB/s: the drops read as
/// congestion and halve the window. The kernel caps the value at
/// `net.core.rmem_max` / `wmem_max`.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// The largest UDP payload MTU discovery may reach. A path with Ethernet's
/// MTU stays at quinn's 1,452 bytes; loopback and jumbo-frame networks
/// reach this, with a sixth of the packets to encrypt, acknowledge and hand
/// to the kernel (a raw stream on loopback: 1.6-1.8 s of CPU per GB against
/// 3.0-3.3, `benches/mesh_throughput.rs`). Not higher: quinn sends up to 10
/// packets in one GSO batch, which must fit one 64 KiB UDP datagram, and
/// the kernel refuses a larger batch whole (at 8,952 bytes a third of the
/// packets were lost, which quinn took for a black hole).
const MAX_UDP_PAYLOAD: u16 = 6_500;

/// Server name given to quinn when dialing; names are not checked at the TLS
/// layer (see [`tls`]), so any valid name does.
const DIAL_NAME: &str = "rawx-mesh";

/// Timers of the QUIC transport.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// Interval of QUIC keepalive packets on an idle link.
    pub keepalive: Duration,
    /// A link silent this long is closed; both sides' values apply, the
    /// smaller wins, so keep it above twice the keepalive.
    pub idle_timeout: Duration,
    /// Longest a TLS handshake plus Hello exchange may take.
    pub handshake_timeout: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            keepalive: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(21),
            handshake_timeout: Duration::from_secs(15),
        }
    }
}

/// Why a link could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Certificates or TLS configuration.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The TLS configuration cannot be used for QUIC.
    #[error("QUIC crypto configuration: {0}")]
    Config(String),
    /// The UDP socket could not be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The endpoint refused to start a connection.
    #[error("connect: {0}")]
    Connect(#[from] quinn::ConnectError),
    /// The connection failed or was closed.
    #[error("connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// A frame could not be read or written.
    #[error("frame: {0}")]
    Frame(#[from] FrameError),
    /// The peer's first frame was not a Hello.
    #[error("expected Hello, got another frame")]
    NoHello,
    /// The peer speaks another protocol version.
    #[error("peer speaks protocol version {0}, this node {PROTOCOL_VERSION}")]
    Version(u8),
    /// The peer claims our own node id.
    #[error("the peer claims this node's own id")]
    SelfLink,
    /// The peer closed the stream during the handshake.
    #[error("the peer closed the link during the handshake")]
    Closed,
    /// The handshake took longer than its timeout.
    #[error("handshake timed out")]
    Timeout,
}

/// A node's QUIC endpoint: dials peers and, if it listens, accepts them.
#[derive(Debug)]
pub struct Transport {
    endpoint: quinn::Endpoint,
    hello: Hello,
    config: TransportConfig,
}

impl Transport {
    /// Binds the endpoint. With `listen`, peers may dial in; without, the
    /// node only dials out (from an ephemeral port).
    pub fn bind(
        listen: Option<SocketAddr>,
        identity: &NodeIdentity,
        anchor: &TrustAnchor,
        epoch: u64,
        config: TransportConfig,
    ) -> Result<Self, TransportError> {
        let mut transport = quinn::TransportConfig::default();
        transport.keep_alive_interval(Some(config.keepalive));
        // A stream per work unit in flight on the link (quinn allows 100).
        transport.max_concurrent_uni_streams(quinn::VarInt::from_u32(UNIT_STREAMS));
        // What all of a link's streams may have in flight together (quinn's
        // default is unbounded: a hundred units would each fill a stream's
        // window); one stream keeps its own default window.
        transport.receive_window(quinn::VarInt::from_u32(LINK_WINDOW));
        let mut mtu = quinn::MtuDiscoveryConfig::default();
        mtu.upper_bound(MAX_UDP_PAYLOAD);
        transport.mtu_discovery_config(Some(mtu));
        transport.max_idle_timeout(Some(
            config
                .idle_timeout
                .try_into()
                .map_err(|_| TransportError::Config("idle timeout too large".into()))?,
        ));
        let transport = Arc::new(transport);

        let client_tls = tls::client_config(identity, anchor)?;
        let client_crypto = QuicClientConfig::try_from(client_tls)
            .map_err(|e| TransportError::Config(e.to_string()))?;
        let mut client = quinn::ClientConfig::new(Arc::new(client_crypto));
        client.transport_config(transport.clone());

        let (addr, server) = match listen {
            Some(addr) => {
                let server_tls = tls::server_config(identity, anchor)?;
                let server_crypto = QuicServerConfig::try_from(server_tls)
                    .map_err(|e| TransportError::Config(e.to_string()))?;
                let mut server = quinn::ServerConfig::with_crypto(Arc::new(server_crypto));
                server.transport_config(transport);
                (addr, Some(server))
            }
            None => (SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), None),
        };
        let bind_error = |source| TransportError::Bind { addr, source };
        let socket = std::net::UdpSocket::bind(addr).map_err(bind_error)?;
        enlarge_buffers(&socket);
        let runtime = quinn::default_runtime()
            .ok_or_else(|| TransportError::Config("no async runtime for the mesh".into()))?;
        let mut endpoint_config = quinn::EndpointConfig::default();
        // What peers may send us: their MTU discovery stops at this too.
        endpoint_config
            .max_udp_payload_size(MAX_UDP_PAYLOAD)
            .map_err(|e| TransportError::Config(e.to_string()))?;
        let mut endpoint =
            quinn::Endpoint::new(endpoint_config, server, socket, runtime).map_err(bind_error)?;
        endpoint.set_default_client_config(client);
        Ok(Self {
            endpoint,
            hello: Hello {
                node: identity.node().clone(),
                version: PROTOCOL_VERSION,
                epoch,
                link_cost: 1,
            },
            config,
        })
    }

    /// This node's id.
    pub fn node(&self) -> &NodeId {
        &self.hello.node
    }

    /// The bound UDP address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Dials `addr` and exchanges Hellos, asking for a link of `link_cost`.
    pub async fn connect(&self, addr: SocketAddr, link_cost: u32) -> Result<Link, TransportError> {
        let hello = Hello {
            link_cost: link_cost.max(1),
            ..self.hello.clone()
        };
        self.connect_with(addr, hello).await
    }

    async fn connect_with(&self, addr: SocketAddr, hello: Hello) -> Result<Link, TransportError> {
        let connecting = self.endpoint.connect(addr, DIAL_NAME)?;
        let me = self.hello.node.clone();
        let handshake = async move {
            let connection = connecting.await?;
            let result = async {
                let (mut send, mut recv) = connection.open_bi().await?;
                frame::write_frame(&mut send, &Frame::Hello(hello.clone())).await?;
                let theirs = read_hello(&mut recv).await?;
                let peer_cert = check_hello(&connection, &theirs, &me)?;
                Ok(Link {
                    peer: theirs,
                    peer_cert,
                    cost: hello.link_cost,
                    dialed: true,
                    connection: connection.clone(),
                    send,
                    recv,
                })
            }
            .await;
            refuse_on_error(&connection, result)
        };
        tokio::time::timeout(self.config.handshake_timeout, handshake)
            .await
            .map_err(|_| TransportError::Timeout)?
    }

    /// The next incoming connection, before its handshake; `None` once the
    /// endpoint is closed. Handshakes run in [`Incoming::establish`], so a
    /// slow peer does not hold up the accept loop.
    pub async fn accept(&self) -> Option<Incoming> {
        let inner = self.endpoint.accept().await?;
        Some(Incoming {
            inner,
            hello: self.hello.clone(),
            timeout: self.config.handshake_timeout,
        })
    }

    /// Closes every link and stops accepting.
    pub fn close(&self) {
        self.endpoint.close(
            VarInt::from_u32(close_code::SHUTDOWN),
            b"node shutting down",
        );
    }
}

/// Asks for [`SOCKET_BUFFER`]-sized socket buffers; a node whose kernel
/// refuses keeps the defaults, which only cost throughput.
fn enlarge_buffers(socket: &std::net::UdpSocket) {
    let resized = quinn::udp::UdpSocketState::new(socket.into()).and_then(|state| {
        state.set_recv_buffer_size(socket.into(), SOCKET_BUFFER)?;
        state.set_send_buffer_size(socket.into(), SOCKET_BUFFER)
    });
    if let Err(err) = resized {
        tracing::debug!(%err, "mesh socket buffers left at the kernel's defaults");
    }
}

/// A connection attempt from a peer, not yet verified.
#[derive(Debug)]
pub struct Incoming {
    inner: quinn::Incoming,
    hello: Hello,
    timeout: Duration,
}

impl Incoming {
    /// Where it comes from.
    pub fn remote_address(&self) -> SocketAddr {
        self.inner.remote_address()
    }

    /// Completes TLS, reads the peer's Hello, checks it, and answers.
    pub async fn establish(self) -> Result<Link, TransportError> {
        let Self {
            inner,
            hello,
            timeout,
        } = self;
        let handshake = async move {
            let connection = inner.accept()?.await?;
            let result = async {
                let (mut send, mut recv) = connection.accept_bi().await?;
                let theirs = read_hello(&mut recv).await?;
                let peer_cert = check_hello(&connection, &theirs, &hello.node)?;
                let cost = theirs.link_cost.max(1);
                let ours = Hello {
                    link_cost: cost,
                    ..hello
                };
                frame::write_frame(&mut send, &Frame::Hello(ours)).await?;
                Ok(Link {
                    peer: theirs,
                    peer_cert,
                    cost,
                    dialed: false,
                    connection: connection.clone(),
                    send,
                    recv,
                })
            }
            .await;
            refuse_on_error(&connection, result)
        };
        tokio::time::timeout(timeout, handshake)
            .await
            .map_err(|_| TransportError::Timeout)?
    }
}

async fn read_hello(recv: &mut RecvStream) -> Result<Hello, TransportError> {
    match frame::read_frame(recv).await? {
        Some(Frame::Hello(h)) => Ok(h),
        Some(_) => Err(TransportError::NoHello),
        None => Err(TransportError::Closed),
    }
}

/// Checks the peer's Hello against its certificate; returns the
/// certificate's digest, what revocation lists name.
fn check_hello(
    connection: &Connection,
    theirs: &Hello,
    me: &NodeId,
) -> Result<CertDigest, TransportError> {
    if theirs.version != PROTOCOL_VERSION {
        return Err(TransportError::Version(theirs.version));
    }
    if theirs.node == *me {
        return Err(TransportError::SelfLink);
    }
    let chain = connection
        .peer_identity()
        .and_then(|any| any.downcast::<Vec<CertificateDer<'static>>>().ok())
        .ok_or(TlsError::NoCertificate)?;
    tls::check_peer(&chain, &theirs.node)?;
    let leaf = chain.first().ok_or(TlsError::NoCertificate)?;
    Ok(cert_digest(leaf.as_ref()))
}

/// Closes the connection with a code that says why the handshake failed, so
/// the peer's log shows the reason rather than a timeout.
fn refuse_on_error(
    connection: &Connection,
    result: Result<Link, TransportError>,
) -> Result<Link, TransportError> {
    if let Err(e) = &result {
        let code = match e {
            TransportError::Frame(_) | TransportError::NoHello => close_code::PROTOCOL,
            _ => close_code::IDENTITY,
        };
        connection.close(VarInt::from_u32(code), e.to_string().as_bytes());
    }
    result
}

/// A verified connection to a peer, with its stream of frames.
#[derive(Debug)]
pub struct Link {
    peer: Hello,
    peer_cert: CertDigest,
    cost: u32,
    dialed: bool,
    connection: Connection,
    send: SendStream,
    recv: RecvStream,
}

impl Link {
    /// The peer's node id, checked against its certificate.
    pub fn peer(&self) -> &NodeId {
        &self.peer.node
    }

    /// The digest of the peer's certificate.
    pub fn peer_certificate(&self) -> CertDigest {
        self.peer_cert
    }

    /// The peer's epoch (its start time).
    pub fn peer_epoch(&self) -> u64 {
        self.peer.epoch
    }

    /// The link's cost, as the dialer asked.
    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// Whether this node dialed the link.
    pub fn dialed(&self) -> bool {
        self.dialed
    }

    /// The peer's UDP address.
    pub fn remote_address(&self) -> SocketAddr {
        self.connection.remote_address()
    }

    /// Sends one frame.
    pub async fn send(&mut self, frame: &Frame) -> Result<(), TransportError> {
        frame::write_frame(&mut self.send, frame).await?;
        Ok(())
    }

    /// Receives one frame; `Ok(None)` when the peer finished the stream.
    pub async fn recv(&mut self) -> Result<Option<Frame>, TransportError> {
        Ok(frame::read_frame(&mut self.recv).await?)
    }

    /// The QUIC connection, for the node's reader, writer and dialer tasks.
    pub(crate) fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Splits the link for separate reader and writer tasks.
    pub(crate) fn into_streams(self) -> (SendStream, RecvStream) {
        (self.send, self.recv)
    }

    /// Closes the connection with one of the [`close_code`]s.
    pub fn close(&self, code: u32, reason: &str) {
        self.connection
            .close(VarInt::from_u32(code), reason.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Message, Routed};
    use crate::id::WorkUnitId;
    use crate::tls::MeshCa;
    use std::time::SystemTime;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).expect("valid id")
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn localhost() -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
    }

    fn node(ca: &MeshCa, anchor: &TrustAnchor, name: &str, listen: bool) -> Transport {
        let ident = ca.issue(&id(name), HOUR).expect("cert");
        Transport::bind(
            listen.then(localhost),
            &ident,
            anchor,
            1,
            TransportConfig::default(),
        )
        .expect("bind")
    }

    /// Accepts one connection and returns the outcome of its handshake.
    async fn accept_one(server: &Transport) -> Result<Link, TransportError> {
        server
            .accept()
            .await
            .expect("endpoint open")
            .establish()
            .await
    }

    fn data(n: u64) -> Frame {
        Frame::Routed(Routed {
            dest: id("b"),
            source: id("a"),
            hops_left: 3,
            message: Message::Data {
                unit: WorkUnitId::new("u1").expect("id"),
                offset: n,
                payload: bytes::Bytes::from(vec![7u8; 1000]),
            },
        })
    }

    #[tokio::test]
    async fn two_nodes_connect_and_exchange_frames() {
        let ca = MeshCa::generate().expect("ca");
        let anchor = ca.trust_anchor();
        let server = node(&ca, &anchor, "b", true);
        let client = node(&ca, &anchor, "a", false);
        let addr = server.local_addr().expect("addr");

        let (dialed, accepted) = tokio::join!(client.connect(addr, 7), accept_one(&server));
        let mut dialed = dialed.expect("dial");
        let mut accepted = accepted.expect("accept");
        assert_eq!(dialed.peer(), &id("b"));
        assert_eq!(accepted.peer(), &id("a"));
        assert_eq!((dialed.cost(), accepted.cost()), (7, 7));
        assert!(dialed.dialed() && !accepted.dialed());

        for n in 0..10 {
            dialed.send(&data(n)).await.expect("send");
        }
        for n in 0..10 {
            assert_eq!(accepted.recv().await.expect("recv"), Some(data(n)));
        }
        accepted.send(&Frame::Keepalive).await.expect("send back");
        assert_eq!(dialed.recv().await.expect("recv"), Some(Frame::Keepalive));
    }

    #[tokio::test]
    async fn a_certificate_from_another_ca_is_refused_both_ways() {
        let ca = MeshCa::generate().expect("ca");
        let rogue_ca = MeshCa::generate().expect("ca");
        let anchor = ca.trust_anchor();
        let server = node(&ca, &anchor, "b", true);
        // The rogue trusts our CA (so it would accept our server) but its
        // own certificate comes from elsewhere.
        let rogue = node(&rogue_ca, &anchor, "a", false);
        let addr = server.local_addr().expect("addr");
        let (dialed, accepted) = tokio::join!(rogue.connect(addr, 1), accept_one(&server));
        assert!(dialed.is_err());
        assert!(accepted.is_err());

        // A server with a foreign certificate is refused by the dialer.
        let rogue_server = node(&rogue_ca, &anchor, "c", true);
        let client = node(&ca, &anchor, "a", false);
        let addr = rogue_server.local_addr().expect("addr");
        let (dialed, _) = tokio::join!(client.connect(addr, 1), accept_one(&rogue_server));
        assert!(dialed.is_err());
    }

    #[tokio::test]
    async fn an_expired_certificate_is_refused() {
        let ca = MeshCa::generate().expect("ca");
        let anchor = ca.trust_anchor();
        let server = node(&ca, &anchor, "b", true);
        let now = SystemTime::now();
        let expired = ca
            .issue_between(&id("a"), now - 2 * HOUR, now - HOUR)
            .expect("cert");
        let client =
            Transport::bind(None, &expired, &anchor, 1, TransportConfig::default()).expect("bind");
        let addr = server.local_addr().expect("addr");
        let (dialed, accepted) = tokio::join!(client.connect(addr, 1), accept_one(&server));
        assert!(dialed.is_err());
        assert!(accepted.is_err());
    }

    #[tokio::test]
    async fn a_hello_naming_another_node_is_refused() {
        let ca = MeshCa::generate().expect("ca");
        let anchor = ca.trust_anchor();
        let server = node(&ca, &anchor, "b", true);
        let liar = node(&ca, &anchor, "a", false);
        let addr = server.local_addr().expect("addr");
        let forged = Hello {
            node: id("c"),
            ..liar.hello.clone()
        };
        let (dialed, accepted) = tokio::join!(liar.connect_with(addr, forged), accept_one(&server));
        match accepted {
            Err(TransportError::Tls(TlsError::WrongNode(n))) => assert_eq!(n, id("c")),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // The liar learns it was refused (by the close) instead of hanging.
        assert!(dialed.is_err());
    }

    #[tokio::test]
    async fn garbage_closes_only_its_own_connection() {
        let ca = MeshCa::generate().expect("ca");
        let anchor = ca.trust_anchor();
        let server = node(&ca, &anchor, "b", true);
        let good = node(&ca, &anchor, "a", false);
        let bad = node(&ca, &anchor, "c", false);
        let addr = server.local_addr().expect("addr");

        let (g, s1) = tokio::join!(good.connect(addr, 1), accept_one(&server));
        let (mut g, mut s1) = (g.expect("dial"), s1.expect("accept"));
        let (b, s2) = tokio::join!(bad.connect(addr, 1), accept_one(&server));
        let (mut b, mut s2) = (b.expect("dial"), s2.expect("accept"));

        // A length prefix announcing 3 GiB, then noise.
        b.send
            .write_all(&[0xc0, 0, 0, 0, 1, 2, 3])
            .await
            .expect("write");
        let err = s2.recv().await.expect_err("garbage is an error");
        assert!(matches!(
            err,
            TransportError::Frame(FrameError::TooLarge(_))
        ));
        s2.close(close_code::PROTOCOL, &err.to_string());
        assert!(b.recv().await.is_err(), "the bad link is closed");

        // The good link and the endpoint are untouched.
        g.send(&data(1)).await.expect("send");
        assert_eq!(s1.recv().await.expect("recv"), Some(data(1)));
        let (again, s3) = tokio::join!(good.connect(addr, 1), accept_one(&server));
        again.expect("a new link still works");
        s3.expect("accepted");
    }
}
