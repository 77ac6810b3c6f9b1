//! Work units over real QUIC links on 127.0.0.1: submit through a hop,
//! resume after the hop restarts, executor restarts, refusals, cancel and
//! release, several units at once. No timed assertions: waits are bounded
//! by a generous patience and only fail when it runs out.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use mesh::frame::Message;
use mesh::{
    ClientConfig, ClientError, Delivery, ExecutorConfig, MeshCa, Node, NodeConfig, NodeId,
    NodeIdentity, PeerConfig, SigningKey, Submission, Timers, TransportConfig, TrustedKeys,
    UnitHandle, WorkContext, WorkFuture, WorkNode, WorkState, WorkUnitId, Worker, WorkerRegistry,
};
use tokio::sync::mpsc::Receiver;

const PATIENCE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

fn id(s: &str) -> NodeId {
    NodeId::new(s).expect("valid id")
}

fn unit(s: &str) -> WorkUnitId {
    WorkUnitId::new(s).expect("valid unit id")
}

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

fn client_config() -> ClientConfig {
    ClientConfig {
        retry: Duration::from_millis(300),
        give_up: PATIENCE,
        submission_ttl: Duration::from_secs(600),
    }
}

fn localhost() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn node_config(
    identity: NodeIdentity,
    ca: &MeshCa,
    listen: Option<SocketAddr>,
    peers: &[SocketAddr],
) -> NodeConfig {
    NodeConfig {
        identity,
        trust: ca.trust_anchor(),
        listen,
        peers: peers
            .iter()
            .map(|&addr| PeerConfig { addr, cost: 1 })
            .collect(),
        timers: fast_timers(),
        revocation_signers: Default::default(),
        revocations: None,
    }
}

/// Writes `line <i>` for i in 1..=N, N being the payload; sleeps between
/// lines if the payload says `N/ms`.
struct Counter;

impl Worker for Counter {
    fn run(&self, mut work: WorkContext) -> WorkFuture {
        Box::pin(async move {
            let spec = tokio::fs::read_to_string(&work.payload)
                .await
                .map_err(|e| e.to_string())?;
            let (n, ms) = spec.split_once('/').unwrap_or((spec.as_str(), "0"));
            let n: u64 = n.trim().parse().map_err(|_| "bad count".to_string())?;
            let ms: u64 = ms.trim().parse().map_err(|_| "bad delay".to_string())?;
            for i in 1..=n {
                if work.cancel.is_canceled() {
                    return Err("canceled".into());
                }
                let line = format!("{} line {i}\n", work.unit);
                work.output
                    .write(line.as_bytes())
                    .await
                    .map_err(|e| e.to_string())?;
                if ms > 0 {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
            }
            Ok(format!("{n} lines"))
        })
    }
}

/// Says it started, then runs until canceled.
struct Forever;

impl Worker for Forever {
    fn run(&self, mut work: WorkContext) -> WorkFuture {
        Box::pin(async move {
            work.output
                .write(b"started\n")
                .await
                .map_err(|e| e.to_string())?;
            work.cancel.canceled().await;
            work.output
                .write(b"stopping\n")
                .await
                .map_err(|e| e.to_string())?;
            Err("stopped by cancel".into())
        })
    }
}

fn executor(dir: &Path, trusted: &SigningKey) -> ExecutorConfig {
    let mut workers = WorkerRegistry::new();
    workers
        .register("count", Counter)
        .register("forever", Forever);
    ExecutorConfig {
        dir: dir.to_owned(),
        trusted: TrustedKeys::new([trusted.public_key()]),
        workers,
        max_payload: 1 << 20,
    }
}

async fn wait_for_route(node: &Node, dest: &NodeId) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let status = node.status().await.expect("status");
        if status.routes.iter().any(|r| r.dest == *dest) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}: no route to {dest}",
            node.id()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn submit(
    a: &WorkNode,
    dest: &NodeId,
    name: &str,
    work_type: &str,
    payload: &str,
    key: &SigningKey,
) -> Result<UnitHandle, ClientError> {
    let reader = std::io::Cursor::new(payload.as_bytes().to_vec());
    tokio::time::timeout(PATIENCE, a.submit(dest, unit(name), work_type, reader, key))
        .await
        .expect("submit answers within the patience bound")
}

/// Reads the whole output; returns it and the final status's state.
async fn read_all(handle: &UnitHandle, from: u64) -> (String, WorkState) {
    let mut stream = handle.output_from(from);
    let mut out = Vec::new();
    let mut offset = from;
    while let Some(piece) = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("output within the patience bound")
    {
        let (at, bytes) = piece.expect("output piece");
        assert_eq!(at, offset, "pieces are contiguous");
        offset += bytes.len() as u64;
        out.extend_from_slice(&bytes);
    }
    let state = stream.status().expect("a final status").state;
    (String::from_utf8(out).expect("utf-8"), state)
}

fn assert_counted(output: &str, unit: &str, n: u64) {
    let expected: String = (1..=n).map(|i| format!("{unit} line {i}\n")).collect();
    assert_eq!(output, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_run_through_a_hop_several_at_once() {
    let ca = MeshCa::generate().expect("ca");
    let (key, _) = SigningKey::generate().expect("key");
    let dir = tempfile::tempdir().expect("tempdir");
    let a = WorkNode::start(
        node_config(
            ca.issue(&id("a"), HOUR).expect("cert"),
            &ca,
            Some(localhost()),
            &[],
        ),
        None,
        client_config(),
    )
    .await
    .expect("a starts");
    let a_addr = a.node().local_addr().expect("a listens");
    let (b, _b_rx) = Node::start(node_config(
        ca.issue(&id("b"), HOUR).expect("cert"),
        &ca,
        Some(localhost()),
        &[a_addr],
    ))
    .await
    .expect("b starts");
    let b_addr = b.local_addr().expect("b listens");
    let c = WorkNode::start(
        node_config(
            ca.issue(&id("c"), HOUR).expect("cert"),
            &ca,
            None,
            &[b_addr],
        ),
        Some(executor(dir.path(), &key)),
        client_config(),
    )
    .await
    .expect("c starts");
    wait_for_route(a.node(), &id("c")).await;
    wait_for_route(c.node(), &id("a")).await;

    // One unit, with a small output and a pause between lines.
    let handle = submit(&a, &id("c"), "one", "count", "40/2", &key)
        .await
        .expect("submitted");
    let (out, state) = read_all(&handle, 0).await;
    assert_counted(&out, "one", 40);
    assert_eq!(state, WorkState::Succeeded);
    let status = handle.status().await.expect("status");
    assert_eq!(status.detail, "40 lines");
    assert_eq!(status.output_size, out.len() as u64);

    // Several at once, one of them larger than the output window, read
    // concurrently: each gets its own lines, in order, exactly once.
    let sizes = [("u1", 3000u64), ("u2", 10), ("u3", 20000), ("u4", 500)];
    let mut readers = tokio::task::JoinSet::new();
    for (name, n) in sizes {
        let handle = submit(&a, &id("c"), name, "count", &n.to_string(), &key)
            .await
            .expect("submitted");
        readers.spawn(async move {
            let (out, state) = read_all(&handle, 0).await;
            (name, n, out, state)
        });
    }
    while let Some(done) = readers.join_next().await {
        let (name, n, out, state) = done.expect("reader");
        assert_counted(&out, name, n);
        assert_eq!(state, WorkState::Succeeded, "{name}");
    }

    // Resuming from an offset returns exactly the rest.
    let (rest, _) = read_all(&handle, 100).await;
    assert_eq!(rest, out[100..]);
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_survives_the_hop_restarting_mid_stream() {
    let ca = MeshCa::generate().expect("ca");
    let (key, _) = SigningKey::generate().expect("key");
    let dir = tempfile::tempdir().expect("tempdir");
    let a = WorkNode::start(
        node_config(
            ca.issue(&id("a"), HOUR).expect("cert"),
            &ca,
            Some(localhost()),
            &[],
        ),
        None,
        client_config(),
    )
    .await
    .expect("a starts");
    let a_addr = a.node().local_addr().expect("a listens");
    let b_identity = ca.issue(&id("b"), HOUR).expect("cert");
    let b_config = |listen| node_config(b_identity.clone(), &ca, Some(listen), &[a_addr]);
    let (b, _b_rx) = Node::start(b_config(localhost())).await.expect("b starts");
    let b_addr = b.local_addr().expect("b listens");
    let c = WorkNode::start(
        node_config(
            ca.issue(&id("c"), HOUR).expect("cert"),
            &ca,
            None,
            &[b_addr],
        ),
        Some(executor(dir.path(), &key)),
        client_config(),
    )
    .await
    .expect("c starts");
    wait_for_route(a.node(), &id("c")).await;
    wait_for_route(c.node(), &id("a")).await;

    let n = 300;
    let handle = submit(&a, &id("c"), "long", "count", &format!("{n}/5"), &key)
        .await
        .expect("submitted");
    let mut stream = handle.output_from(0);
    let mut out = Vec::new();
    let mut b = Some(b);
    let mut b_rx = Some(_b_rx);
    let mut restarted = false;
    while let Some(piece) = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("output within the patience bound")
    {
        let (at, bytes) = piece.expect("output piece");
        assert_eq!(at, out.len() as u64);
        out.extend_from_slice(&bytes);
        let lines = out.iter().filter(|&&c| c == b'\n').count();
        if !restarted && lines >= 30 {
            // The hop dies with frames in flight, and comes back on the same
            // address with the same identity while the unit keeps writing.
            drop(b.take());
            drop(b_rx.take());
            tokio::time::sleep(Duration::from_millis(300)).await;
            let deadline = tokio::time::Instant::now() + PATIENCE;
            let (new_b, new_rx) = loop {
                // The old socket may take a moment to be released.
                match Node::start(b_config(b_addr)).await {
                    Ok(started) => break started,
                    Err(e) => {
                        assert!(tokio::time::Instant::now() < deadline, "b restarts: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            };
            b = Some(new_b);
            b_rx = Some(new_rx);
            restarted = true;
        }
    }
    assert!(restarted, "the hop was restarted mid-stream");
    assert_counted(&String::from_utf8(out).expect("utf-8"), "long", n);
    assert_eq!(stream.status().map(|s| s.state), Some(WorkState::Succeeded));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_survives_the_executor_restarting() {
    let ca = MeshCa::generate().expect("ca");
    let (key, _) = SigningKey::generate().expect("key");
    let dir = tempfile::tempdir().expect("tempdir");
    let a = WorkNode::start(
        node_config(
            ca.issue(&id("a"), HOUR).expect("cert"),
            &ca,
            Some(localhost()),
            &[],
        ),
        None,
        client_config(),
    )
    .await
    .expect("a starts");
    let a_addr = a.node().local_addr().expect("a listens");
    let c_identity = ca.issue(&id("c"), HOUR).expect("cert");
    let start_c = || {
        WorkNode::start(
            node_config(c_identity.clone(), &ca, None, &[a_addr]),
            Some(executor(dir.path(), &key)),
            client_config(),
        )
    };
    let c = start_c().await.expect("c starts");
    wait_for_route(a.node(), &id("c")).await;

    let done = submit(&a, &id("c"), "done", "count", "200", &key)
        .await
        .expect("submitted");
    let (before, state) = read_all(&done, 0).await;
    assert_eq!(state, WorkState::Succeeded);
    let running = submit(&a, &id("c"), "running", "forever", "", &key)
        .await
        .expect("submitted");
    let mut stream = running.output_from(0);
    let first = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("output in time")
        .expect("a piece")
        .expect("output");
    assert_eq!(&first.1[..], b"started\n");

    drop(c);
    let c = start_c().await.expect("c restarts");
    wait_for_route(a.node(), &id("c")).await;

    // A controller that restarted too knows only the unit's id.
    let again = a.unit(&id("c"), unit("done"));
    let (after, state) = read_all(&again, 0).await;
    assert_eq!(after, before);
    assert_counted(&after, "done", 200);
    assert_eq!(state, WorkState::Succeeded);

    let status = running.status().await.expect("status");
    assert_eq!(status.state, WorkState::Failed);
    assert_eq!(status.detail, "executor restarted");
    let (out, _) = read_all(&running, 0).await;
    assert_eq!(out, "started\n");
    drop(c);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_untrusted_tampered_and_expired_work_is_refused() {
    let ca = MeshCa::generate().expect("ca");
    let (key, _) = SigningKey::generate().expect("key");
    let (stranger, _) = SigningKey::generate().expect("key");
    let dir = tempfile::tempdir().expect("tempdir");
    let c = WorkNode::start(
        node_config(
            ca.issue(&id("c"), HOUR).expect("cert"),
            &ca,
            Some(localhost()),
            &[],
        ),
        Some(executor(dir.path(), &key)),
        client_config(),
    )
    .await
    .expect("c starts");
    let c_addr = c.node().local_addr().expect("c listens");
    let a = WorkNode::start(
        node_config(
            ca.issue(&id("a"), HOUR).expect("cert"),
            &ca,
            None,
            &[c_addr],
        ),
        None,
        client_config(),
    )
    .await
    .expect("a starts");
    wait_for_route(a.node(), &id("c")).await;

    // Signed, but by a key c does not trust.
    let err = submit(&a, &id("c"), "stranger", "count", "3", &stranger)
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, ClientError::Refused { reason, .. } if reason.contains("untrusted")),
        "{err}"
    );
    // A work type c does not run.
    let err = submit(&a, &id("c"), "nope", "nope", "3", &key)
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, ClientError::Refused { reason, .. } if reason.contains("unknown work type")),
        "{err}"
    );

    // A hand-made controller sends what the client API never would.
    let (raw, mut raw_rx) = Node::start(node_config(
        ca.issue(&id("raw"), HOUR).expect("cert"),
        &ca,
        None,
        &[c_addr],
    ))
    .await
    .expect("raw starts");
    wait_for_route(&raw, &id("c")).await;
    let submission = |name: &str| {
        Submission::new(
            unit(name),
            "count",
            id("raw"),
            id("c"),
            b"3",
            Duration::from_secs(60),
        )
        .expect("submission")
    };
    let mut unsigned = key.sign(submission("unsigned")).expect("sign");
    unsigned.signature.clear();
    let mut tampered = key.sign(submission("tampered")).expect("sign");
    tampered.submission.payload_len = 4;
    let mut expired = submission("expired");
    expired.not_before = 1;
    expired.not_after = 2;
    let expired = key.sign(expired).expect("sign");
    let elsewhere = key
        .sign(Submission {
            executor: id("d"),
            ..submission("elsewhere")
        })
        .expect("sign");
    for (signed, why) in [
        (unsigned, "not signed"),
        (tampered, "signature is invalid"),
        (expired, "expired"),
        (elsewhere, "not to this node"),
    ] {
        let name = signed.submission.unit.clone();
        raw.send(&id("c"), Message::Submit(Box::new(signed)))
            .await
            .expect("sent");
        let reply = next_reply(&mut raw_rx).await;
        match reply.message {
            Message::Refused { unit, reason } => {
                assert_eq!(unit, name);
                assert!(reason.contains(why), "{name}: {reason}");
            }
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
        assert!(
            !dir.path().join(name.as_str()).exists(),
            "{name} not stored"
        );
    }

    // A correctly signed submission whose payload is not the signed one.
    let good = key.sign(submission("swapped")).expect("sign");
    raw.send(&id("c"), Message::Submit(Box::new(good)))
        .await
        .expect("sent");
    assert!(matches!(
        next_reply(&mut raw_rx).await.message,
        Message::PayloadAck { offset: 0, .. }
    ));
    raw.send(
        &id("c"),
        Message::Payload {
            unit: unit("swapped"),
            offset: 0,
            payload: bytes::Bytes::from_static(b"9"),
        },
    )
    .await
    .expect("sent");
    match next_reply(&mut raw_rx).await.message {
        Message::Refused { reason, .. } => assert!(reason.contains("payload"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!dir.path().join("swapped").exists());
}

async fn next_reply(rx: &mut Receiver<Delivery>) -> Delivery {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("a reply within the patience bound")
        .expect("node running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_the_worker_and_release_deletes_the_files() {
    let ca = MeshCa::generate().expect("ca");
    let (key, _) = SigningKey::generate().expect("key");
    let dir = tempfile::tempdir().expect("tempdir");
    let c = WorkNode::start(
        node_config(
            ca.issue(&id("c"), HOUR).expect("cert"),
            &ca,
            Some(localhost()),
            &[],
        ),
        Some(executor(dir.path(), &key)),
        client_config(),
    )
    .await
    .expect("c starts");
    let c_addr = c.node().local_addr().expect("c listens");
    let a = WorkNode::start(
        node_config(
            ca.issue(&id("a"), HOUR).expect("cert"),
            &ca,
            None,
            &[c_addr],
        ),
        None,
        client_config(),
    )
    .await
    .expect("a starts");
    wait_for_route(a.node(), &id("c")).await;

    let handle = submit(&a, &id("c"), "forever", "forever", "", &key)
        .await
        .expect("submitted");
    let mut stream = handle.output_from(0);
    let (_, first) = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("output in time")
        .expect("a piece")
        .expect("output");
    assert_eq!(&first[..], b"started\n");
    assert_eq!(
        handle.status().await.expect("status").state,
        WorkState::Running
    );

    let status = tokio::time::timeout(PATIENCE, handle.cancel())
        .await
        .expect("cancel in time")
        .expect("canceled");
    assert_eq!(status.state, WorkState::Canceled);
    // The worker saw the cancel: it wrote its last line and returned.
    let (out, state) = read_all(&handle, 0).await;
    assert_eq!(out, "started\nstopping\n");
    assert_eq!(state, WorkState::Canceled);

    let unit_dir = dir.path().join("forever");
    assert!(unit_dir.join("output").exists());
    tokio::time::timeout(PATIENCE, handle.release())
        .await
        .expect("release in time")
        .expect("released");
    assert!(!unit_dir.exists(), "the unit's files are gone");
    assert!(matches!(handle.status().await, Err(ClientError::Gone(_))));
    // Releasing twice is fine.
    handle.release().await.expect("released again");
}

/// Panics instead of working.
struct Panics;

impl Worker for Panics {
    fn run(&self, _work: WorkContext) -> WorkFuture {
        Box::pin(async move { panic!("worker bug") })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_worker_fails_its_unit_only() {
    let ca = MeshCa::generate().expect("ca");
    let (key, _) = SigningKey::generate().expect("key");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = executor(dir.path(), &key);
    config.workers.register("panics", Panics);
    let c = WorkNode::start(
        node_config(
            ca.issue(&id("c"), HOUR).expect("cert"),
            &ca,
            Some(localhost()),
            &[],
        ),
        Some(config),
        client_config(),
    )
    .await
    .expect("c starts");
    let c_addr = c.node().local_addr().expect("c listens");
    let a = WorkNode::start(
        node_config(
            ca.issue(&id("a"), HOUR).expect("cert"),
            &ca,
            None,
            &[c_addr],
        ),
        None,
        client_config(),
    )
    .await
    .expect("a starts");
    wait_for_route(a.node(), &id("c")).await;

    let bad = submit(&a, &id("c"), "bad", "panics", "", &key)
        .await
        .expect("submitted");
    let (out, state) = read_all(&bad, 0).await;
    assert_eq!((out.as_str(), state), ("", WorkState::Failed));
    assert!(bad.status().await.expect("status").detail.contains("panic"));
    let good = submit(&a, &id("c"), "good", "count", "5", &key)
        .await
        .expect("submitted");
    let (out, state) = read_all(&good, 0).await;
    assert_counted(&out, "good", 5);
    assert_eq!(state, WorkState::Succeeded);
}
