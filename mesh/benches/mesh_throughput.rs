//! The mesh under load, on 127.0.0.1 (issue 6): stream throughput through
//! 0, 1 and 2 relays against TLS over TCP, small-message latency, and route
//! convergence after a link loss.
//!
//! ```sh
//! export CARGO_TARGET_DIR=$HOME/.cache/rawx/target
//! cargo bench -p mesh --bench mesh_throughput
//! # RAWX_BENCH_MESH_MB=256 (MiB per throughput measurement)
//! # RAWX_BENCH_MESH_RUNS=3 (runs per throughput row; the median is shown)
//! # RAWX_BENCH_MESH_EVENTS=200000 (events of the one-event-a-frame row)
//! # RAWX_BENCH_MESH_PINGS=2000 (round trips per latency measurement)
//! # RAWX_BENCH_MESH_UNITS=100 (work units read at once, sharing the MiB)
//! ```
//!
//! What "hops" means here: 0 hops is the controller linked to the executor
//! directly; 1 hop puts one relay node between them, 2 hops two relays (a
//! linear chain on 127.0.0.1 ports, every link dialed towards the
//! controller). The stream carries ansible-runner-like job events: JSON
//! lines of about 1 KiB.
//!
//! Throughput rows, all moving the same bytes from the executor end to the
//! controller end:
//! - **TLS/TCP**: the baseline, one rustls TLS 1.3 stream over a blocking
//!   TCP socket, sender and receiver each on its own thread, with the same
//!   certificates (issued by the same mesh CA) as the two mesh nodes; 32 KiB
//!   writes.
//! - **quinn stream**: one raw QUIC stream between two quinn endpoints with
//!   the same TLS configuration and quinn's default transport settings (what
//!   `mesh::Transport` uses), and once with larger windows; not the mesh,
//!   a diagnostic of what QUIC itself costs here.
//! - **node stream**: `Node::send` of routed `Message::Data` frames of 32 KiB
//!   (the executor's output chunk), received from the destination node's
//!   delivery queue: the mesh's lowest-level stream primitive, relayed
//!   frame by frame.
//! - **work-unit output**: a real work unit: an executor `WorkNode` runs a
//!   worker that writes the events to the unit's output file; once the unit
//!   has finished, the controller `WorkNode` reads its output with
//!   `UnitHandle::output_from(0)` (offset-addressed, windowed, acked).
//! - **one event a frame**: `Node::send` of one ~1 KiB event per frame
//!   through 2 relays, the worst case for per-frame costs.
//! - **work units at once**: 100 units submitted together to one executor
//!   (0 and 2 hops), each writing an equal share of the same bytes; once
//!   all have finished, the controller reads every output at the same time,
//!   each with its own `UnitHandle::output_from(0)`. Besides the aggregate
//!   rate (to the last byte of the last unit) and its ratio to the one-unit
//!   row, the process's RSS above its level just before submitting, at its
//!   peak, divided by the units. Each hop count runs in a fresh process of
//!   this bench (here the allocator would reuse what earlier measurements
//!   freed, hiding growth) holding every node, so that memory is the
//!   controller's, the relays' and the executor's together.
//!
//! Latency: a 100-byte `Data` frame sent by the controller end and echoed by
//! the executor end, one at a time, through 0 and 2 relays, and the same
//! over TLS/TCP.
//!
//! Convergence: a diamond a–b–d (cost 2) and a–c–d (cost 4), test timers
//! (advertisements every 300 ms, 3 s idle timeout). Case "node b stops":
//! b is dropped, which closes its QUIC connections. Case "a–b link silent":
//! b reaches a through a UDP relay that starts dropping every datagram, so
//! only QUIC's idle timeout can notice. Measured from the loss: when a's
//! route table sends d via c, and when a probe (sent by a every 2 ms) first
//! reaches d again.
//!
//! Figures are printed as tables and written to
//! `$CARGO_TARGET_DIR/bench-mesh.json`.

#[path = "../../benches/common/mod.rs"]
mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mesh::frame::Message;
use mesh::{
    ClientConfig, Delivery, ExecutorConfig, MeshCa, Node, NodeConfig, NodeId, NodeIdentity,
    NodeStatus, PeerConfig, SigningKey, Timers, TransportConfig, TrustedKeys, UnitHandle,
    WorkContext, WorkFuture, WorkNode, WorkState, WorkUnitId, Worker, WorkerRegistry,
};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const HOUR: Duration = Duration::from_secs(3600);
const MIB: f64 = 1024.0 * 1024.0;
/// Bytes per frame or write, as the executor's output chunk.
const CHUNK: usize = 32 * 1024;
/// Generous bound on any single wait; a bench that hangs tells nobody
/// anything.
const PATIENCE: Duration = Duration::from_secs(120);

fn id(s: &str) -> NodeId {
    NodeId::new(s).expect("valid node id")
}

fn unit(s: &str) -> WorkUnitId {
    WorkUnitId::new(s).expect("valid unit id")
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn localhost() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

// ---------------------------------------------------------------- events

/// One ansible-runner-like job event as a JSON line, padded to about 1 KiB.
fn event_line(counter: u64) -> Vec<u8> {
    let host = counter % 500;
    let mut event = json!({
        "uuid": format!("8f1c2a9e-5b7d-4c1e-9a2f-{counter:012}"),
        "counter": counter,
        "stdout": format!("\u{1b}[0;32mok: [host-{host}]\u{1b}[0m"),
        "start_line": counter,
        "end_line": counter + 1,
        "runner_ident": "4a1d7e3c-0b5f-4d8e-9c2a-6f3b1e0d9a7c",
        "event": "runner_on_ok",
        "job_id": 42,
        "pid": 31337,
        "created": "2026-11-29T12:00:00.000000+00:00",
        "parent_uuid": "02fc0000-0001-0000-0000-000000000007",
        "event_data": {
            "playbook": "site.yml", "playbook_uuid": "0b7f5a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
            "play": "site", "play_uuid": "02fc0000-0001-0000-0000-000000000003",
            "play_pattern": "all", "task": "gather facts and ping",
            "task_uuid": "02fc0000-0001-0000-0000-000000000007",
            "task_action": "ansible.builtin.ping", "task_args": "", "task_path": "/runner/project/site.yml:4",
            "role": "", "host": format!("host-{host}"), "remote_addr": format!("10.0.{}.{}", host / 250, host % 250),
            "res": {"ping": "pong", "changed": false, "_ansible_no_log": false, "invocation": {"module_args": {"data": "pong"}}},
            "start": "2026-11-29T12:00:00.000000+00:00", "end": "2026-11-29T12:00:00.010000+00:00",
            "duration": 0.01, "event_loop": null, "uuid": format!("8f1c2a9e-5b7d-4c1e-9a2f-{counter:012}"),
        },
    });
    let len = serde_json::to_vec(&event).map_or(0, |v| v.len());
    if let Some(data) = event.get_mut("event_data") {
        data["pad"] = Value::String("x".repeat(1000usize.saturating_sub(len + 10)));
    }
    let mut line = serde_json::to_vec(&event).expect("event serializes");
    line.push(b'\n');
    line
}

/// At least `bytes` of event lines, whole lines only; and how many.
fn event_stream(bytes: usize) -> (Bytes, u64) {
    let mut out = Vec::with_capacity(bytes + 2048);
    let mut n = 0;
    while out.len() < bytes {
        out.extend_from_slice(&event_line(n));
        n += 1;
    }
    (Bytes::from(out), n)
}

fn count_lines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

// ---------------------------------------------------------------- machine

/// Clock ticks a second, as /proc counts them (USER_HZ, 100 on Linux).
const TICKS_PER_S: f64 = 100.0;

#[derive(Clone, Copy)]
struct CpuMark(Option<(u64, u64)>, Option<u64>);

impl CpuMark {
    fn now() -> Self {
        Self(common::machine_ticks(), common::process_ticks(None))
    }

    /// CPU seconds this process used since the mark.
    fn cpu_since(&self) -> Option<f64> {
        let t0 = self.1?;
        Some(common::process_ticks(None)?.saturating_sub(t0) as f64 / TICKS_PER_S)
    }

    /// Share (0..=1) of all CPUs busy since the mark.
    fn busy_since(&self) -> Option<f64> {
        let (b0, t0) = self.0?;
        let (b1, t1) = common::machine_ticks()?;
        let total = t1.checked_sub(t0).filter(|t| *t > 0)?;
        Some(b1.saturating_sub(b0) as f64 / total as f64)
    }
}

// ---------------------------------------------------------------- TLS

/// rustls configurations built from a node's certificate and key, trusting
/// the mesh CA, as the mesh itself does (TLS 1.3, ring, client certificate
/// required).
struct Tls {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

fn tls_for(ca: &MeshCa, server: &NodeIdentity, client: &NodeIdentity) -> Tls {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.cert_pem().as_bytes()).expect("CA PEM"))
        .expect("CA certificate");
    let roots = Arc::new(roots);
    let chain = |i: &NodeIdentity| -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(i.cert_pem().as_bytes())
            .collect::<Result<_, _>>()
            .expect("node certificate PEM")
    };
    let key =
        |i: &NodeIdentity| PrivateKeyDer::from_pem_slice(i.key_pem().as_bytes()).expect("key");
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        roots.clone(),
        provider.clone(),
    )
    .build()
    .expect("client verifier");
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain(server), key(server))
        .expect("server config");
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_client_auth_cert(chain(client), key(client))
        .expect("client config");
    Tls {
        server: Arc::new(server),
        client: Arc::new(client),
    }
}

/// One throughput measurement.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Rate {
    name: String,
    hops: Option<u32>,
    bytes: u64,
    events: u64,
    secs: f64,
    busy: Option<f64>,
    /// CPU seconds of this process (all nodes, both ends) during the run.
    cpu: Option<f64>,
    /// MB/s of every run; the row shows the median run.
    runs: Vec<f64>,
}

impl Rate {
    /// The median of several runs of one measurement.
    fn median(mut runs: Vec<Rate>) -> Rate {
        runs.sort_by(|a, b| a.mb_s().total_cmp(&b.mb_s()));
        let all: Vec<f64> = runs.iter().map(Rate::mb_s).collect();
        let mut mid = runs.swap_remove(runs.len() / 2);
        mid.runs = all;
        mid
    }

    /// Process CPU seconds per GB moved.
    fn cpu_per_gb(&self) -> Option<f64> {
        self.cpu.map(|c| c / (self.bytes as f64 / 1e9))
    }

    fn mb_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.secs
    }

    fn events_s(&self) -> f64 {
        self.events as f64 / self.secs
    }

    fn json(&self) -> Value {
        json!({
            "name": self.name, "hops": self.hops, "bytes": self.bytes, "events": self.events,
            "seconds": self.secs, "mb_per_s": self.mb_s(), "events_per_s": self.events_s(),
            "machine_busy": self.busy, "process_cpu_s": self.cpu,
            "process_cpu_s_per_gb": self.cpu_per_gb(), "runs_mb_per_s": self.runs,
        })
    }
}

/// Streams `data` over TLS/TCP from `client` (the executor end) to `server`
/// (the controller end); timed from the end of the handshake to the last
/// byte read. Returns the rate and the cipher suite.
fn tls_tcp_stream(tls: &Tls, server_name: &str, data: &Bytes) -> (Rate, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind TCP");
    let addr = listener.local_addr().expect("TCP address");
    let total = data.len() as u64;
    let server_config = tls.server.clone();
    let reader = std::thread::spawn(move || {
        let (sock, _) = listener.accept().expect("accept");
        let conn = rustls::ServerConnection::new(server_config).expect("server connection");
        let mut stream = rustls::StreamOwned::new(conn, sock);
        let mut buf = vec![0u8; 256 * 1024];
        let (mut got, mut lines) = (0u64, 0u64);
        while got < total {
            let n = std::io::Read::read(&mut stream, &mut buf).expect("TLS read");
            assert!(n > 0, "TLS stream ended early");
            got += n as u64;
            lines += count_lines(&buf[..n]);
        }
        (Instant::now(), lines)
    });
    let name = ServerName::try_from(server_name.to_owned()).expect("server name");
    let mut conn = rustls::ClientConnection::new(tls.client.clone(), name).expect("client");
    let mut sock = TcpStream::connect(addr).expect("connect TCP");
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).expect("TLS handshake");
    }
    let suite = conn
        .negotiated_cipher_suite()
        .map_or_else(|| "?".into(), |s| format!("{:?}", s.suite()));
    let mark = CpuMark::now();
    let start = Instant::now();
    let mut stream = rustls::StreamOwned::new(conn, sock);
    for chunk in data.chunks(CHUNK) {
        std::io::Write::write_all(&mut stream, chunk).expect("TLS write");
    }
    std::io::Write::flush(&mut stream).expect("TLS flush");
    let (end, events) = reader.join().expect("reader thread");
    let rate = Rate {
        name: "TLS/TCP (rustls, blocking threads)".into(),
        hops: None,
        bytes: total,
        events,
        secs: end.duration_since(start).as_secs_f64(),
        busy: mark.busy_since(),
        cpu: mark.cpu_since(),
        runs: Vec::new(),
    };
    (rate, suite)
}

/// Round trips of a 100-byte message over TLS/TCP, in µs.
fn tls_tcp_pings(tls: &Tls, server_name: &str, n: usize) -> Vec<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind TCP");
    let addr = listener.local_addr().expect("TCP address");
    let server_config = tls.server.clone();
    let echo = std::thread::spawn(move || {
        let (sock, _) = listener.accept().expect("accept");
        sock.set_nodelay(true).expect("nodelay");
        let conn = rustls::ServerConnection::new(server_config).expect("server connection");
        let mut stream = rustls::StreamOwned::new(conn, sock);
        let mut buf = [0u8; 100];
        for _ in 0..n {
            std::io::Read::read_exact(&mut stream, &mut buf).expect("read ping");
            std::io::Write::write_all(&mut stream, &buf).expect("write pong");
            std::io::Write::flush(&mut stream).expect("flush pong");
        }
    });
    let name = ServerName::try_from(server_name.to_owned()).expect("server name");
    let conn = rustls::ClientConnection::new(tls.client.clone(), name).expect("client");
    let sock = TcpStream::connect(addr).expect("connect TCP");
    sock.set_nodelay(true).expect("nodelay");
    let mut stream = rustls::StreamOwned::new(conn, sock);
    let msg = [b'p'; 100];
    let mut back = [0u8; 100];
    let mut rtts = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        std::io::Write::write_all(&mut stream, &msg).expect("write ping");
        std::io::Write::flush(&mut stream).expect("flush ping");
        std::io::Read::read_exact(&mut stream, &mut back).expect("read pong");
        rtts.push(t.elapsed().as_secs_f64() * 1e6);
    }
    echo.join().expect("echo thread");
    rtts
}

// ---------------------------------------------------------------- quinn

fn quinn_transport(tuned: bool) -> Arc<quinn::TransportConfig> {
    let mut t = quinn::TransportConfig::default();
    if tuned {
        t.stream_receive_window(quinn::VarInt::from_u32(16 << 20));
        t.receive_window(quinn::VarInt::from_u32(32 << 20));
        t.send_window(32 << 20);
    }
    Arc::new(t)
}

/// One raw QUIC stream between two quinn endpoints with the mesh's TLS
/// settings; the executor end dials and sends.
async fn quinn_stream(tls: &Tls, server_name: &str, data: &Bytes, tuned: bool) -> Rate {
    let transport = quinn_transport(tuned);
    let crypto = QuicServerConfig::try_from((*tls.server).clone()).expect("QUIC server crypto");
    let mut server_config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    server_config.transport_config(transport.clone());
    let server = quinn::Endpoint::server(server_config, localhost()).expect("QUIC server");
    let addr = server.local_addr().expect("QUIC address");
    let crypto = QuicClientConfig::try_from((*tls.client).clone()).expect("QUIC client crypto");
    let mut client_config = quinn::ClientConfig::new(Arc::new(crypto));
    client_config.transport_config(transport);
    let mut client = quinn::Endpoint::client(localhost()).expect("QUIC client");
    client.set_default_client_config(client_config);

    let total = data.len() as u64;
    let reader = tokio::spawn(async move {
        let incoming = server.accept().await.expect("incoming");
        let conn = incoming.await.expect("QUIC accept");
        let mut recv = conn.accept_uni().await.expect("stream");
        let (mut got, mut lines) = (0u64, 0u64);
        while got < total {
            let chunk = recv
                .read_chunk(usize::MAX, true)
                .await
                .expect("QUIC read")
                .expect("stream ended early");
            got += chunk.bytes.len() as u64;
            lines += count_lines(&chunk.bytes);
        }
        (Instant::now(), lines, conn, server)
    });
    let conn = client
        .connect(addr, server_name)
        .expect("QUIC connect")
        .await
        .expect("QUIC handshake");
    let mark = CpuMark::now();
    let start = Instant::now();
    let mut send = conn.open_uni().await.expect("open stream");
    for chunk in data.chunks(CHUNK) {
        send.write_all(chunk).await.expect("QUIC write");
    }
    send.finish().expect("finish");
    let (end, events, server_conn, server) = reader.await.expect("reader");
    let busy = mark.busy_since();
    let cpu = mark.cpu_since();
    conn.close(0u32.into(), b"done");
    server_conn.close(0u32.into(), b"done");
    server.close(0u32.into(), b"done");
    client.close(0u32.into(), b"done");
    Rate {
        name: if tuned {
            "quinn stream, 16 MiB stream / 32 MiB conn windows".into()
        } else {
            "quinn stream, default transport config".into()
        },
        hops: Some(0),
        bytes: total,
        events,
        secs: end.duration_since(start).as_secs_f64(),
        busy,
        cpu,
        runs: Vec::new(),
    }
}

// ---------------------------------------------------------------- mesh

fn bench_timers() -> Timers {
    Timers {
        transport: TransportConfig {
            keepalive: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
        },
        advertise_interval: Duration::from_millis(500),
        max_age: Duration::from_secs(10),
        redial_min: Duration::from_millis(50),
        redial_max: Duration::from_millis(500),
    }
}

/// The test suite's timers: quick advertisements and a 3 s idle timeout.
fn fast_timers() -> Timers {
    Timers {
        transport: TransportConfig {
            keepalive: Duration::from_millis(300),
            idle_timeout: Duration::from_secs(3),
            handshake_timeout: Duration::from_secs(10),
        },
        advertise_interval: Duration::from_millis(300),
        max_age: Duration::from_secs(3),
        redial_min: Duration::from_millis(50),
        redial_max: Duration::from_millis(500),
    }
}

fn node_config(
    identity: NodeIdentity,
    ca: &MeshCa,
    listen: bool,
    peers: &[(SocketAddr, u32)],
    timers: Timers,
) -> NodeConfig {
    NodeConfig {
        identity,
        trust: ca.trust_anchor(),
        listen: listen.then(localhost),
        peers: peers
            .iter()
            .map(|&(addr, cost)| PeerConfig { addr, cost })
            .collect(),
        timers,
        revocation_signers: Default::default(),
        revocations: None,
    }
}

async fn until(node: &Node, what: &str, check: impl Fn(&NodeStatus) -> bool) -> NodeStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = node.status().await.expect("status");
        if check(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "{}: never saw {what}", node.id());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn via(status: &NodeStatus, dest: &NodeId) -> Option<NodeId> {
    status
        .routes
        .iter()
        .find(|r| r.dest == *dest)
        .map(|r| r.next_hop.clone())
}

async fn wait_route(node: &Node, dest: &NodeId, hops: u32) {
    until(node, "a route", |s| {
        s.routes.iter().any(|r| r.dest == *dest && r.hops == hops)
    })
    .await;
}

/// Relays between the controller end and the executor end: r1, r2, …
fn relay_names(hops: u32) -> Vec<String> {
    (1..=hops).map(|i| format!("relay{i}")).collect()
}

/// Starts relays in a chain dialing towards `first` (the controller end's
/// address); returns them and the last one's address.
async fn start_relays(
    ca: &MeshCa,
    hops: u32,
    first: SocketAddr,
    timers: &Timers,
) -> (Vec<Node>, SocketAddr) {
    let mut relays = Vec::new();
    let mut upstream = first;
    for name in relay_names(hops) {
        let (relay, _rx) = Node::start(node_config(
            ca.issue(&id(&name), HOUR).expect("cert"),
            ca,
            true,
            &[(upstream, 1)],
            timers.clone(),
        ))
        .await
        .expect("relay starts");
        upstream = relay.local_addr().expect("relay listens");
        relays.push(relay);
    }
    (relays, upstream)
}

/// What the far end reports when a stream's end marker arrives.
struct StreamEnd {
    at: Instant,
    bytes: u64,
    lines: u64,
}

/// A chain of plain nodes: `ctl` – relays – `exec`. `exec`'s deliveries
/// are served by a task that counts "stream" data, echoes "ping" data and
/// reports at an "end" Ack.
struct Chain {
    ctl: Arc<Node>,
    exec: Arc<Node>,
    ctl_rx: mpsc::Receiver<Delivery>,
    ends: mpsc::Receiver<StreamEnd>,
    task: tokio::task::JoinHandle<()>,
    _relays: Vec<Node>,
}

impl Drop for Chain {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn chain(ca: &MeshCa, hops: u32) -> Chain {
    let timers = bench_timers();
    let (ctl, ctl_rx) = Node::start(node_config(
        ca.issue(&id("ctl"), HOUR).expect("cert"),
        ca,
        true,
        &[],
        timers.clone(),
    ))
    .await
    .expect("ctl starts");
    let (relays, last) =
        start_relays(ca, hops, ctl.local_addr().expect("ctl listens"), &timers).await;
    let (exec, mut exec_rx) = Node::start(node_config(
        ca.issue(&id("exec"), HOUR).expect("cert"),
        ca,
        true,
        &[(last, 1)],
        timers,
    ))
    .await
    .expect("exec starts");
    let (ctl, exec) = (Arc::new(ctl), Arc::new(exec));
    wait_route(&ctl, exec.id(), hops + 1).await;
    wait_route(&exec, ctl.id(), hops + 1).await;
    let (ends_tx, ends) = mpsc::channel(4);
    let echo = exec.clone();
    let task = tokio::spawn(async move {
        let (mut bytes, mut lines) = (0u64, 0u64);
        while let Some(d) = exec_rx.recv().await {
            match d.message {
                Message::Data { unit, payload, .. } if unit.as_str() == "ping" => {
                    let back = Message::Data {
                        unit,
                        offset: 0,
                        payload,
                    };
                    echo.send(&d.source, back).await.expect("echo");
                }
                Message::Data { payload, .. } => {
                    bytes += payload.len() as u64;
                    lines += count_lines(&payload);
                }
                Message::Ack { .. } => {
                    let end = StreamEnd {
                        at: Instant::now(),
                        bytes,
                        lines,
                    };
                    (bytes, lines) = (0, 0);
                    if ends_tx.send(end).await.is_err() {
                        return;
                    }
                }
                _ => {}
            }
        }
    });
    Chain {
        ctl,
        exec,
        ctl_rx,
        ends,
        task,
        _relays: relays,
    }
}

/// Sends `frames` from the controller end to the executor end, then the end
/// marker; timed from the first send to the marker's arrival.
async fn node_stream(c: &mut Chain, frames: &[Bytes], name: &str, hops: u32) -> Rate {
    let dest = c.exec.id().clone();
    let stream = unit("stream");
    let mark = CpuMark::now();
    let start = Instant::now();
    let mut offset = 0u64;
    for payload in frames {
        let len = payload.len() as u64;
        let message = Message::Data {
            unit: stream.clone(),
            offset,
            payload: payload.clone(),
        };
        c.ctl.send(&dest, message).await.expect("send");
        offset += len;
    }
    let marker = Message::Ack {
        unit: stream,
        offset,
    };
    c.ctl.send(&dest, marker).await.expect("send end");
    let end = tokio::time::timeout(PATIENCE, c.ends.recv())
        .await
        .expect("stream ends in time")
        .expect("far end running");
    assert_eq!(end.bytes, offset, "every byte arrived");
    Rate {
        name: name.into(),
        hops: Some(hops),
        bytes: end.bytes,
        events: end.lines,
        secs: end.at.duration_since(start).as_secs_f64(),
        busy: mark.busy_since(),
        cpu: mark.cpu_since(),
        runs: Vec::new(),
    }
}

/// Round trips of a 100-byte Data frame, in µs.
async fn node_pings(c: &mut Chain, n: usize) -> Vec<f64> {
    let dest = c.exec.id().clone();
    let payload = Bytes::from(vec![b'p'; 100]);
    let mut rtts = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let t = Instant::now();
        let message = Message::Data {
            unit: unit("ping"),
            offset: i,
            payload: payload.clone(),
        };
        c.ctl.send(&dest, message).await.expect("ping");
        let back = tokio::time::timeout(PATIENCE, c.ctl_rx.recv())
            .await
            .expect("pong in time")
            .expect("ctl running");
        assert!(matches!(back.message, Message::Data { .. }), "a pong");
        rtts.push(t.elapsed().as_secs_f64() * 1e6);
    }
    rtts
}

/// Writes the whole event stream to the unit's output, 64 KiB a write.
struct Events(Bytes);

impl Worker for Events {
    fn run(&self, mut work: WorkContext) -> WorkFuture {
        let data = self.0.clone();
        Box::pin(async move {
            for chunk in data.chunks(64 * 1024) {
                work.output.write(chunk).await.map_err(|e| e.to_string())?;
            }
            Ok(format!("{} bytes", data.len()))
        })
    }
}

/// A controller `WorkNode` and an executor `WorkNode` running `worker` as
/// work type "events", `hops` relays apart, with routes both ways.
struct WorkPair {
    ctl: Arc<WorkNode>,
    exec: WorkNode,
    key: Arc<SigningKey>,
    _relays: Vec<Node>,
}

async fn work_pair(ca: &MeshCa, hops: u32, worker: Events, exec_dir: PathBuf) -> WorkPair {
    let timers = bench_timers();
    let (key, _) = SigningKey::generate().expect("signing key");
    let client = ClientConfig {
        retry: Duration::from_secs(2),
        give_up: PATIENCE,
        submission_ttl: Duration::from_secs(600),
    };
    let ctl = WorkNode::start(
        node_config(
            ca.issue(&id("ctl"), HOUR).expect("cert"),
            ca,
            true,
            &[],
            timers.clone(),
        ),
        None,
        client.clone(),
    )
    .await
    .expect("controller starts");
    let (relays, last) = start_relays(
        ca,
        hops,
        ctl.node().local_addr().expect("ctl listens"),
        &timers,
    )
    .await;
    let mut workers = WorkerRegistry::new();
    workers.register("events", worker);
    let exec = WorkNode::start(
        node_config(
            ca.issue(&id("exec"), HOUR).expect("cert"),
            ca,
            true,
            &[(last, 1)],
            timers,
        ),
        Some(ExecutorConfig {
            dir: exec_dir,
            trusted: TrustedKeys::new([key.public_key()]),
            workers,
            max_payload: 1 << 20,
        }),
        client,
    )
    .await
    .expect("executor starts");
    wait_route(ctl.node(), exec.node().id(), hops + 1).await;
    wait_route(exec.node(), ctl.node().id(), hops + 1).await;
    WorkPair {
        ctl: Arc::new(ctl),
        exec,
        key: Arc::new(key),
        _relays: relays,
    }
}

impl WorkPair {
    async fn submit(&self, name: &str) -> UnitHandle {
        let payload = std::io::Cursor::new(b"go".to_vec());
        self.ctl
            .submit(
                self.exec.node().id(),
                unit(name),
                "events",
                payload,
                &self.key,
            )
            .await
            .expect("submitted")
    }
}

/// Waits until the unit has succeeded with `size` bytes of output.
async fn finished(handle: &UnitHandle, size: u64) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = handle.status().await.expect("status");
        if status.state.is_final() {
            assert_eq!(status.state, WorkState::Succeeded, "{}", status.detail);
            assert_eq!(status.output_size, size);
            return;
        }
        assert!(Instant::now() < deadline, "the unit never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads a unit's whole output with `UnitHandle::output_from(0)`; its bytes
/// and event lines.
async fn read_output(handle: &UnitHandle) -> (u64, u64) {
    let mut output = handle.output_from(0);
    let (mut bytes, mut lines) = (0u64, 0u64);
    while let Some(piece) = output.next().await {
        let (at, piece) = piece.expect("output");
        assert_eq!(at, bytes, "contiguous output");
        bytes += piece.len() as u64;
        lines += count_lines(&piece);
    }
    (bytes, lines)
}

/// A work unit whose output is the event stream, run on an executor
/// `hops` relays away; times reading its whole output once it finished.
async fn unit_stream(ca: &MeshCa, hops: u32, data: &Bytes, dir: &Path, runs: usize) -> Rate {
    let pair = work_pair(
        ca,
        hops,
        Events(data.clone()),
        dir.join(format!("exec-{hops}")),
    )
    .await;
    let handle = pair.submit("events").await;
    // Production is not measured: wait until the output is all on disk.
    finished(&handle, data.len() as u64).await;
    let mut measured = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mark = CpuMark::now();
        let start = Instant::now();
        let (bytes, lines) = read_output(&handle).await;
        let secs = start.elapsed().as_secs_f64();
        let busy = mark.busy_since();
        let cpu = mark.cpu_since();
        assert_eq!(bytes, data.len() as u64, "the whole output");
        measured.push(Rate {
            name: "work-unit output (UnitHandle::output_from)".into(),
            hops: Some(hops),
            bytes,
            events: lines,
            secs,
            busy,
            cpu,
            runs: Vec::new(),
        });
    }
    handle.release().await.expect("release");
    Rate::median(measured)
}

// ---------------------------------------------------------------- many units

/// A number from this process's /proc status: `VmRSS:` and `VmHWM:` in
/// bytes, `Threads:` as is.
fn proc_status(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let n: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(if line.ends_with("kB") { n * 1024 } else { n })
}

/// The largest VmRSS of this process from `start` to `stop`, two ways:
/// sampled every 5 ms by a thread of its own, and VmHWM after resetting it
/// through /proc/self/clear_refs (Linux ≥ 4.0; without the reset VmHWM
/// would hold the process's earlier peak). Also the most threads seen.
struct RssPeak {
    stop: Arc<AtomicBool>,
    sampler: std::thread::JoinHandle<(Option<u64>, Option<u64>)>,
    hwm_reset: bool,
}

impl RssPeak {
    fn start() -> Self {
        let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let stop = Arc::new(AtomicBool::new(false));
        let done = stop.clone();
        let sampler = std::thread::spawn(move || {
            let (mut rss, mut threads) = (None, None);
            loop {
                rss = rss.max(proc_status("VmRSS:"));
                threads = threads.max(proc_status("Threads:"));
                if done.load(Ordering::Relaxed) {
                    return (rss, threads);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Self {
            stop,
            sampler,
            hwm_reset,
        }
    }

    /// (largest VmRSS sample, VmHWM if it could be reset, most threads).
    fn stop(self) -> (Option<u64>, Option<u64>, Option<u64>) {
        self.stop.store(true, Ordering::Relaxed);
        let (sampled, threads) = self.sampler.join().expect("RSS sampler");
        let hwm = self.hwm_reset.then(|| proc_status("VmHWM:")).flatten();
        (sampled, hwm, threads)
    }
}

/// Many units read at once, beyond their aggregate rate.
#[derive(Debug, Serialize, Deserialize)]
struct Crowd {
    hops: u32,
    units: usize,
    unit_bytes: u64,
    /// Submitting every unit at once until the last had finished, in s.
    produce_secs: f64,
    rss_before: Option<u64>,
    rss_sampled: Option<u64>,
    rss_hwm: Option<u64>,
    threads_before: Option<u64>,
    threads_peak: Option<u64>,
    /// When each unit's last byte was read, in s from the start, sorted;
    /// of the median run.
    done_secs: Vec<f64>,
}

impl Crowd {
    /// RSS above the level before submitting, at its highest.
    fn growth(&self) -> Option<u64> {
        let peak = self.rss_hwm.max(self.rss_sampled)?;
        Some(peak.saturating_sub(self.rss_before?))
    }

    fn per_unit(&self) -> Option<u64> {
        self.growth().map(|g| g / self.units as u64)
    }

    fn json(&self) -> Value {
        json!({
            "hops": self.hops, "units": self.units, "unit_bytes": self.unit_bytes,
            "submit_and_produce_s": self.produce_secs, "rss_before_bytes": self.rss_before,
            "rss_peak_sampled_bytes": self.rss_sampled, "rss_peak_hwm_bytes": self.rss_hwm,
            "rss_growth_bytes": self.growth(), "rss_growth_per_unit_bytes": self.per_unit(),
            "threads_before": self.threads_before, "threads_peak": self.threads_peak,
            "unit_done_s": self.done_secs,
        })
    }
}

/// `units` work units, each writing `share`, submitted at once to an
/// executor `hops` relays away; once all have finished, the controller reads
/// every output at the same time, each with its own `output_from(0)`.
/// Timed from starting the readers to the last byte of the last unit; RSS
/// watched from just before submitting to the end of the last read.
async fn units_at_once(
    ca: &MeshCa,
    hops: u32,
    share: &Bytes,
    units: usize,
    dir: &Path,
    runs: usize,
) -> (Rate, Crowd) {
    let pair = work_pair(
        ca,
        hops,
        Events(share.clone()),
        dir.join(format!("units-{hops}")),
    )
    .await;
    let pair = Arc::new(pair);
    let size = share.len() as u64;

    let rss_before = proc_status("VmRSS:");
    let threads_before = proc_status("Threads:");
    let peak = RssPeak::start();
    let start = Instant::now();
    let mut submits = tokio::task::JoinSet::new();
    for i in 0..units {
        let pair = pair.clone();
        submits.spawn(async move { pair.submit(&format!("events-{i}")).await });
    }
    let mut handles = Vec::with_capacity(units);
    while let Some(handle) = submits.join_next().await {
        handles.push(handle.expect("submit task"));
    }
    // Production is not measured, as for one unit: all output on disk first.
    for handle in &handles {
        finished(handle, size).await;
    }
    let produce_secs = start.elapsed().as_secs_f64();

    let mut measured = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mark = CpuMark::now();
        let start = Instant::now();
        let mut readers = tokio::task::JoinSet::new();
        for handle in &handles {
            let handle = handle.clone();
            readers.spawn(async move {
                let (bytes, lines) = read_output(&handle).await;
                (bytes, lines, start.elapsed().as_secs_f64())
            });
        }
        let (mut bytes, mut lines, mut done) = (0u64, 0u64, Vec::with_capacity(units));
        while let Some(read) = readers.join_next().await {
            let (b, l, at) = read.expect("reader task");
            assert_eq!(b, size, "a unit's whole output");
            bytes += b;
            lines += l;
            done.push(at);
        }
        let secs = start.elapsed().as_secs_f64();
        done.sort_by(f64::total_cmp);
        let rate = Rate {
            name: format!("{units} work units at once (output_from each)"),
            hops: Some(hops),
            bytes,
            events: lines,
            secs,
            busy: mark.busy_since(),
            cpu: mark.cpu_since(),
            runs: Vec::new(),
        };
        measured.push((rate, done));
    }
    let (rss_sampled, rss_hwm, threads_peak) = peak.stop();
    for handle in &handles {
        handle.release().await.expect("release");
    }

    // The median run, as Rate::median, keeping its units' finishing times.
    measured.sort_by(|a, b| a.0.mb_s().total_cmp(&b.0.mb_s()));
    let all: Vec<f64> = measured.iter().map(|(r, _)| r.mb_s()).collect();
    let (mut rate, done_secs) = measured.swap_remove(measured.len() / 2);
    rate.runs = all;
    let crowd = Crowd {
        hops,
        units,
        unit_bytes: size,
        produce_secs,
        rss_before,
        rss_sampled,
        rss_hwm,
        threads_before,
        threads_peak,
        done_secs,
    };
    (rate, crowd)
}

/// Set in the child process that runs `units_at_once`: the hop count.
const UNITS_CHILD: &str = "RAWX_BENCH_MESH_UNITS_CHILD";

/// Runs `units_at_once` in a fresh process of this bench. In this one the
/// allocator keeps what the earlier measurements freed and hands it out
/// again without RSS growing: one unit streaming 256 MiB showed no growth
/// at all, and 1,000 units at 2 hops right after 1,000 at 0 hops a quarter
/// of the 0-hop growth.
fn units_in_child(hops: u32) -> (Rate, Crowd) {
    let exe = std::env::current_exe().expect("this bench's path");
    let out = std::process::Command::new(exe)
        .env(UNITS_CHILD, hops.to_string())
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("units-at-once child runs");
    assert!(out.status.success(), "units-at-once child: {}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).expect("units-at-once child's figures")
}

/// The child's side of `units_in_child`: figures as one JSON line.
fn units_child(hops: u32) {
    let mib: usize = env_or("RAWX_BENCH_MESH_MB", 256);
    let runs: usize = env_or("RAWX_BENCH_MESH_RUNS", 3usize).max(1);
    let units: usize = env_or("RAWX_BENCH_MESH_UNITS", 100usize).max(1);
    // Every unit writes the same bytes: which bytes does not matter, and one
    // shared copy keeps the workers' input out of the memory measured.
    let (share, _) = event_stream((mib << 20) / units);
    let ca = MeshCa::generate().expect("CA");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let measured = runtime.block_on(units_at_once(&ca, hops, &share, units, dir.path(), runs));
    drop(runtime);
    println!(
        "{}",
        serde_json::to_string(&measured).expect("figures serialize")
    );
}

// ---------------------------------------------------------------- convergence

/// Forwards UDP between one client and `upstream` until told to drop
/// everything: a link that goes silent without a close.
struct Blackhole {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn blackhole(upstream: SocketAddr) -> Blackhole {
    let front = tokio::net::UdpSocket::bind(localhost())
        .await
        .expect("bind");
    let back = tokio::net::UdpSocket::bind(localhost())
        .await
        .expect("bind");
    back.connect(upstream).await.expect("connect upstream");
    let addr = front.local_addr().expect("address");
    let cut = Arc::new(AtomicBool::new(false));
    let cut2 = cut.clone();
    let task = tokio::spawn(async move {
        let mut client: Option<SocketAddr> = None;
        let mut a = vec![0u8; 65536];
        let mut b = vec![0u8; 65536];
        loop {
            tokio::select! {
                r = front.recv_from(&mut a) => {
                    let Ok((n, from)) = r else { return };
                    client = Some(from);
                    if !cut2.load(Ordering::Relaxed) {
                        let _ = back.send(&a[..n]).await;
                    }
                }
                r = back.recv(&mut b) => {
                    let Ok(n) = r else { continue };
                    if let (Some(to), false) = (client, cut2.load(Ordering::Relaxed)) {
                        let _ = front.send_to(&b[..n], to).await;
                    }
                }
            }
        }
    });
    Blackhole { addr, cut, task }
}

struct Converged {
    case: &'static str,
    route_ms: f64,
    delivery_ms: f64,
}

/// One diamond; loses b (dropped) or the a–b link (silenced); times a's
/// reroute to d and the first probe to reach d afterwards.
async fn converge(ca: &MeshCa, silent: bool) -> Converged {
    let timers = fast_timers();
    let start = |name: &str, peers: Vec<(SocketAddr, u32)>| {
        Node::start(node_config(
            ca.issue(&id(name), HOUR).expect("cert"),
            ca,
            true,
            &peers,
            timers.clone(),
        ))
    };
    let (a, _a_rx) = start("a", vec![]).await.expect("a starts");
    let (d, mut d_rx) = start("d", vec![]).await.expect("d starts");
    let a_addr = a.local_addr().expect("a listens");
    let d_addr = d.local_addr().expect("d listens");
    let hole = blackhole(a_addr).await;
    let b_to_a = if silent { hole.addr } else { a_addr };
    let (b, _b_rx) = start("b", vec![(b_to_a, 1), (d_addr, 1)])
        .await
        .expect("b starts");
    let (_c, _c_rx) = start("c", vec![(a_addr, 2), (d_addr, 2)])
        .await
        .expect("c starts");
    let (bid, cid, did) = (id("b"), id("c"), id("d"));
    until(&a, "d via b, c known", |s| {
        via(s, &did) == Some(bid.clone()) && via(s, &cid).is_some()
    })
    .await;
    until(&d, "a via b", |s| via(s, a.id()) == Some(bid.clone())).await;
    let probe = |seq: u64| Message::Ack {
        unit: unit("probe"),
        offset: seq,
    };
    a.send(&did, probe(0)).await.expect("probe");
    let first = tokio::time::timeout(PATIENCE, d_rx.recv())
        .await
        .expect("probe in time")
        .expect("d running");
    assert_eq!(first.message, probe(0));

    let lost = Instant::now();
    let mut b = Some(b);
    if silent {
        hole.cut.store(true, Ordering::Relaxed);
    } else {
        drop(b.take());
    }
    // Probes every 2 ms, route polled in between, until both happened.
    let mut route_at: Option<Instant> = None;
    let mut delivered_at: Option<Instant> = None;
    let mut seq = 1;
    while route_at.is_none() || delivered_at.is_none() {
        assert!(lost.elapsed() < PATIENCE, "never converged");
        if route_at.is_none() {
            let s = a.status().await.expect("status");
            if via(&s, &did) == Some(cid.clone()) {
                route_at = Some(Instant::now());
            }
        }
        if delivered_at.is_none() {
            // No route for a moment is possible; the probe is then lost.
            let _ = a.send(&did, probe(seq)).await;
            seq += 1;
            while let Ok(got) = d_rx.try_recv() {
                if got.source == *a.id() && delivered_at.is_none() {
                    delivered_at = Some(Instant::now());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    drop(b);
    let ms =
        |t: Option<Instant>| t.map_or(f64::NAN, |t| t.duration_since(lost).as_secs_f64() * 1e3);
    Converged {
        case: if silent {
            "a–b link silent (UDP dropped)"
        } else {
            "node b stops (connections closed)"
        },
        route_ms: ms(route_at),
        delivery_ms: ms(delivered_at),
    }
}

// ---------------------------------------------------------------- report

fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn thousands(x: f64) -> String {
    let n = x.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

struct Latency {
    name: String,
    rtts: Vec<f64>,
}

impl Latency {
    fn json(&self) -> Value {
        json!({
            "name": self.name, "messages": self.rtts.len(),
            "rtt_p50_us": percentile(&self.rtts, 50.0), "rtt_p99_us": percentile(&self.rtts, 99.0),
            "rtt_max_us": percentile(&self.rtts, 100.0),
        })
    }
}

fn main() {
    if let Some(hops) = std::env::var(UNITS_CHILD).ok().and_then(|h| h.parse().ok()) {
        return units_child(hops);
    }
    let mib: usize = env_or("RAWX_BENCH_MESH_MB", 256);
    let single_events: usize = env_or("RAWX_BENCH_MESH_EVENTS", 200_000);
    let pings: usize = env_or("RAWX_BENCH_MESH_PINGS", 2000);
    let runs: usize = env_or("RAWX_BENCH_MESH_RUNS", 3usize).max(1);
    let began = Instant::now();

    let mark = CpuMark::now();
    std::thread::sleep(Duration::from_millis(1500));
    let busy_before = mark.busy_since();
    let cpus = common::cpus();
    println!(
        "mesh_throughput: {cpus} CPUs, machine {} busy over 1.5 s before the run",
        common::fmt_pct(busy_before)
    );

    let (data, events) = event_stream(mib << 20);
    let frames: Vec<Bytes> = (0..data.len())
        .step_by(CHUNK)
        .map(|at| data.slice(at..(at + CHUNK).min(data.len())))
        .collect();
    let event_len = data.len() as f64 / events as f64;
    println!(
        "stream: {} bytes, {} events of {:.0} bytes on average, {} frames of {} KiB",
        thousands(data.len() as f64),
        thousands(events as f64),
        event_len,
        thousands(frames.len() as f64),
        CHUNK / 1024
    );
    // Whole single events, for the one-event-a-frame row.
    let singles: Vec<Bytes> = {
        let mut out = Vec::with_capacity(single_events);
        let mut at = 0;
        while out.len() < single_events {
            let Some(nl) = data[at..].iter().position(|&b| b == b'\n') else {
                at = 0;
                continue;
            };
            out.push(data.slice(at..at + nl + 1));
            at += nl + 1;
            if at >= data.len() {
                at = 0;
            }
        }
        out
    };
    let ca = MeshCa::generate().expect("CA");
    let ctl_id = ca.issue(&id("ctl"), HOUR).expect("cert");
    let exec_id = ca.issue(&id("exec"), HOUR).expect("cert");
    // The executor end dials and sends, as in the mesh.
    let tls = tls_for(&ca, &ctl_id, &exec_id);

    let mut rates: Vec<Rate> = Vec::new();
    let mut suite = String::new();
    let mut tls_runs = Vec::new();
    for _ in 0..runs {
        let (rate, s) = tls_tcp_stream(&tls, "ctl", &data);
        tls_runs.push(rate);
        suite = s;
    }
    println!("TLS/TCP cipher suite: {suite}");
    rates.push(Rate::median(tls_runs));
    let tls_rtts = tls_tcp_pings(&tls, "ctl", pings);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let (latencies, converged) = runtime.block_on(async {
        for tuned in [false, true] {
            let mut measured = Vec::new();
            for _ in 0..runs {
                measured.push(quinn_stream(&tls, "ctl", &data, tuned).await);
            }
            rates.push(Rate::median(measured));
        }
        let mut latencies = vec![Latency {
            name: "TLS/TCP".into(),
            rtts: tls_rtts,
        }];
        for hops in 0..=2 {
            let mut c = chain(&ca, hops).await;
            let mut measured = Vec::new();
            for _ in 0..runs {
                let name = "node stream (Node::send, 32 KiB Data)";
                measured.push(node_stream(&mut c, &frames, name, hops).await);
            }
            rates.push(Rate::median(measured));
            if hops == 2 {
                let mut measured = Vec::new();
                for _ in 0..runs {
                    let name = "node stream, one ~1 KiB event a frame";
                    measured.push(node_stream(&mut c, &singles, name, hops).await);
                }
                rates.push(Rate::median(measured));
            }
            if hops != 1 {
                latencies.push(Latency {
                    name: format!("mesh, {hops} hops"),
                    rtts: node_pings(&mut c, pings).await,
                });
            }
        }
        for hops in 0..=2 {
            rates.push(unit_stream(&ca, hops, &data, dir.path(), runs).await);
        }
        let mut converged = Vec::new();
        for _ in 0..3 {
            converged.push(converge(&ca, false).await);
        }
        converged.push(converge(&ca, true).await);
        (latencies, converged)
    });
    drop(runtime);
    let mut crowds = Vec::new();
    for hops in [0, 2] {
        let (rate, crowd) = units_in_child(hops);
        rates.push(rate);
        crowds.push(crowd);
    }

    // ---- tables
    println!();
    println!("Median of {runs} runs each; all runs' MB/s in the last column.");
    println!(
        "| stream | hops | MB/s | events/s | s | process CPU s/GB | machine busy | runs MB/s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in &rates {
        let all: Vec<String> = r.runs.iter().map(|m| format!("{m:.0}")).collect();
        println!(
            "| {} | {} | {:.1} | {} | {:.2} | {} | {} | {} |",
            r.name,
            r.hops.map_or_else(|| "–".into(), |h| h.to_string()),
            r.mb_s(),
            thousands(r.events_s()),
            r.secs,
            r.cpu_per_gb()
                .map_or_else(|| "?".into(), |c| format!("{c:.2}")),
            common::fmt_pct(r.busy),
            all.join(" / ")
        );
    }
    let find = |prefix: &str, hops: Option<u32>| {
        rates
            .iter()
            .find(|r| r.name.starts_with(prefix) && r.hops == hops)
            .map(Rate::mb_s)
            .unwrap_or(f64::NAN)
    };
    let events_at = |prefix: &str, hops: Option<u32>| {
        rates
            .iter()
            .find(|r| r.name.starts_with(prefix) && r.hops == hops)
            .map(Rate::events_s)
            .unwrap_or(f64::NAN)
    };
    let tls_mb = find("TLS/TCP", None);
    let mut ratios = Vec::new();
    println!();
    println!(
        "| stream | 2 hops / 0 hops (target ≥ 0.5) | 0 hops / TLS-TCP (target ≥ 0.5) | events/s at 2 hops (target ≥ 100,000) |"
    );
    println!("|---|---|---|---|");
    for prefix in ["node stream (", "work-unit output"] {
        let (h0, h2) = (find(prefix, Some(0)), find(prefix, Some(2)));
        let ev2 = events_at(prefix, Some(2));
        let (r20, r0t) = (h2 / h0, h0 / tls_mb);
        println!(
            "| {prefix}… | {r20:.2} ({}) | {r0t:.2} ({}) | {} ({}) |",
            verdict(r20 >= 0.5),
            verdict(r0t >= 0.5),
            thousands(ev2),
            verdict(ev2 >= 100_000.0)
        );
        ratios.push(json!({
            "stream": prefix.trim_end_matches(" (").trim(),
            "hops2_over_hops0": r20, "hops2_over_hops0_met": r20 >= 0.5,
            "hops0_over_tls_tcp": r0t, "hops0_over_tls_tcp_met": r0t >= 0.5,
            "events_per_s_2_hops": ev2, "events_per_s_2_hops_met": ev2 >= 100_000.0,
        }));
    }
    let quinn_default = find("quinn stream, default", Some(0));
    println!(
        "raw quinn stream (default config) / TLS-TCP: {:.2}; tuned windows / default: {:.2}",
        quinn_default / tls_mb,
        find("quinn stream, 16", Some(0)) / quinn_default
    );

    let count = |n: Option<u64>| n.map_or_else(|| "?".into(), |n| n.to_string());
    let mib_of =
        |b: Option<u64>| b.map_or_else(|| "?".into(), |b| format!("{:.1}", b as f64 / MIB));
    println!();
    if let Some(c) = crowds.first() {
        println!(
            "Units at once: {} units of {} bytes, median of {runs} runs, each hop count in a fresh process of this bench that holds every node (controller, relays, executor): RSS is theirs together; peak = max(VmHWM reset before submitting, VmRSS sampled every 5 ms).",
            c.units,
            thousands(c.unit_bytes as f64)
        );
    }
    println!(
        "| units at once | hops | MB/s | events/s | / one unit's stream | units done after s (first / median / last) | submit + produce s | RSS before MiB | peak above MiB (VmHWM / sampled) | KiB per unit | threads before → peak |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut crowd_json = Vec::new();
    for c in &crowds {
        let prefix = format!("{} work units at once", c.units);
        let hops = Some(c.hops);
        let (mb, ev) = (find(&prefix, hops), events_at(&prefix, hops));
        let vs_one = mb / find("work-unit output", hops);
        let above = |p: Option<u64>| mib_of(p.zip(c.rss_before).map(|(p, b)| p.saturating_sub(b)));
        println!(
            "| {} | {} | {mb:.1} | {} | {vs_one:.2} | {:.2} / {:.2} / {:.2} | {:.2} | {} | {} / {} | {} | {} → {} |",
            c.units,
            c.hops,
            thousands(ev),
            percentile(&c.done_secs, 0.0),
            percentile(&c.done_secs, 50.0),
            percentile(&c.done_secs, 100.0),
            c.produce_secs,
            mib_of(c.rss_before),
            above(c.rss_hwm),
            above(c.rss_sampled),
            c.per_unit()
                .map_or_else(|| "?".into(), |b| thousands(b as f64 / 1024.0)),
            count(c.threads_before),
            count(c.threads_peak),
        );
        let mut j = c.json();
        j["mb_per_s"] = json!(mb);
        j["events_per_s"] = json!(ev);
        j["over_one_unit_stream"] = json!(vs_one);
        crowd_json.push(j);
    }

    println!();
    println!("| 100-byte round trip | messages | p50 µs | p99 µs | max µs |");
    println!("|---|---|---|---|---|");
    for l in &latencies {
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} |",
            l.name,
            l.rtts.len(),
            percentile(&l.rtts, 50.0),
            percentile(&l.rtts, 99.0),
            percentile(&l.rtts, 100.0)
        );
    }

    println!();
    println!("| link loss in the diamond | a routes d via c after | a's message reaches d after |");
    println!("|---|---|---|");
    for c in &converged {
        println!(
            "| {} | {:.1} ms | {:.1} ms |",
            c.case, c.route_ms, c.delivery_ms
        );
    }

    let mark = CpuMark::now();
    std::thread::sleep(Duration::from_millis(1000));
    let busy_after = mark.busy_since();
    println!();
    println!(
        "machine busy: {} before, {} after; whole run {:.0} s",
        common::fmt_pct(busy_before),
        common::fmt_pct(busy_after),
        began.elapsed().as_secs_f64()
    );

    let report = json!({
        "bench": "mesh_throughput",
        "runs_per_measurement": runs,
        "cpus": cpus,
        "machine_busy_before": busy_before,
        "machine_busy_after": busy_after,
        "stream_bytes": data.len(),
        "stream_events": events,
        "event_bytes_avg": event_len,
        "frame_bytes": CHUNK,
        "tls_cipher_suite": suite,
        "throughput": rates.iter().map(Rate::json).collect::<Vec<_>>(),
        "targets": ratios,
        "units_at_once": crowd_json,
        "latency": latencies.iter().map(Latency::json).collect::<Vec<_>>(),
        "convergence": converged.iter().map(|c| json!({
            "case": c.case, "route_ms": c.route_ms, "delivery_ms": c.delivery_ms,
        })).collect::<Vec<_>>(),
        "seconds": began.elapsed().as_secs_f64(),
    });
    common::write_report("mesh", &report);
}
