//! Several mesh nodes on 127.0.0.1: routing through a hop, rerouting after a
//! node dies, and links that both sides dial.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use std::sync::OnceLock;

use mesh::{
    Delivery, MeshCa, Message, Node, NodeConfig, NodeId, NodeIdentity, NodeStatus, PeerConfig,
    RevocationList, SignedRevocations, SigningKey, Timers, TransportConfig, TrustedKeys,
    WorkUnitId,
};
use tokio::sync::mpsc::Receiver;

/// Long enough for any convergence on a loaded 2-core machine; the tests
/// wait for conditions, never for a time.
const PATIENCE: Duration = Duration::from_secs(30);

fn id(s: &str) -> NodeId {
    NodeId::new(s).expect("valid id")
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

/// The controller key every test node takes revocation lists from.
fn controller_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate().expect("key").0)
}

async fn start(
    ca: &MeshCa,
    name: &str,
    listen: bool,
    peers: &[(SocketAddr, u32)],
) -> (Node, Receiver<Delivery>) {
    let identity = ca
        .issue(&id(name), Duration::from_secs(3600))
        .expect("cert");
    start_as(ca, identity, listen, peers, None).await
}

async fn start_as(
    ca: &MeshCa,
    identity: NodeIdentity,
    listen: bool,
    peers: &[(SocketAddr, u32)],
    revocations: Option<SignedRevocations>,
) -> (Node, Receiver<Delivery>) {
    Node::start(NodeConfig {
        identity,
        trust: ca.trust_anchor(),
        listen: listen.then(|| SocketAddr::from(([127, 0, 0, 1], 0))),
        peers: peers
            .iter()
            .map(|&(addr, cost)| PeerConfig { addr, cost })
            .collect(),
        timers: fast_timers(),
        revocation_signers: TrustedKeys::new([controller_key().public_key()]),
        revocations,
    })
    .await
    .expect("node starts")
}

fn addr(node: &Node) -> SocketAddr {
    node.local_addr().expect("listens")
}

/// Polls `node`'s status until `check` holds.
async fn until(node: &Node, what: &str, check: impl Fn(&NodeStatus) -> bool) -> NodeStatus {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let status = node.status().await.expect("status");
        if check(&status) {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}: never saw {what}; last status {status:#?}",
            node.id()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn via(status: &NodeStatus, dest: &str) -> Option<String> {
    status
        .routes
        .iter()
        .find(|r| r.dest == id(dest))
        .map(|r| r.next_hop.to_string())
}

fn data(offset: u64, text: &'static str) -> Message {
    Message::Data {
        unit: WorkUnitId::new("unit1").expect("id"),
        offset,
        payload: Bytes::from_static(text.as_bytes()),
    }
}

async fn receive(rx: &mut Receiver<Delivery>) -> Delivery {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("a delivery within the patience bound")
        .expect("the node is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reaches_c_through_b() {
    let ca = MeshCa::generate().expect("ca");
    let (a, mut a_rx) = start(&ca, "a", true, &[]).await;
    let (b, _b_rx) = start(&ca, "b", true, &[(addr(&a), 1)]).await;
    // c only dials out: it has no listening port at all.
    let (c, mut c_rx) = start(&ca, "c", false, &[(addr(&b), 1)]).await;

    let status = until(&a, "a route to c", |s| via(s, "c").is_some()).await;
    assert_eq!(via(&status, "c").as_deref(), Some("b"));
    let route = status
        .routes
        .iter()
        .find(|r| r.dest == id("c"))
        .expect("route");
    assert_eq!((route.cost, route.hops), (2, 2));
    assert_eq!(status.peers.len(), 1);
    assert!(!status.peers[0].dialed, "b dialed a");
    let known: Vec<String> = status.nodes.iter().map(|n| n.node.to_string()).collect();
    assert_eq!(known, ["a", "b", "c"]);

    for (offset, text) in [(0, "hello "), (6, "through "), (14, "b")] {
        a.send(&id("c"), data(offset, text)).await.expect("send");
    }
    for (offset, text) in [(0, "hello "), (6, "through "), (14, "b")] {
        let got = receive(&mut c_rx).await;
        assert_eq!(got.source, id("a"));
        assert_eq!(got.message, data(offset, text));
    }

    until(&c, "a route to a", |s| via(s, "a").is_some()).await;
    c.send(
        &id("a"),
        Message::Ack {
            unit: WorkUnitId::new("unit1").expect("id"),
            offset: 15,
        },
    )
    .await
    .expect("send back");
    let got = receive(&mut a_rx).await;
    assert_eq!(got.source, id("c"));

    // Unknown nodes are refused at once.
    assert!(matches!(
        a.send(&id("nowhere"), data(0, "x")).await,
        Err(mesh::NodeError::Unreachable(_))
    ));
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_moves_to_the_other_side_of_a_diamond_when_b_dies() {
    let ca = MeshCa::generate().expect("ca");
    // a–b–d costs 2, a–c–d costs 4.
    let (a, _a_rx) = start(&ca, "a", true, &[]).await;
    let (d, mut d_rx) = start(&ca, "d", true, &[]).await;
    let (b, _b_rx) = start(&ca, "b", true, &[(addr(&a), 1), (addr(&d), 1)]).await;
    let (c, _c_rx) = start(&ca, "c", true, &[(addr(&a), 2), (addr(&d), 2)]).await;

    let status = until(&a, "the cheap route to d", |s| {
        via(s, "d").as_deref() == Some("b")
    })
    .await;
    assert_eq!(
        status
            .routes
            .iter()
            .find(|r| r.dest == id("d"))
            .map(|r| r.cost),
        Some(2)
    );
    a.send(&id("d"), data(0, "via b")).await.expect("send");
    assert_eq!(receive(&mut d_rx).await.message, data(0, "via b"));

    drop(b);
    let status = until(&a, "d through c", |s| {
        via(s, "d").as_deref() == Some("c") && via(s, "b").is_none()
    })
    .await;
    assert_eq!(
        status
            .routes
            .iter()
            .find(|r| r.dest == id("d"))
            .map(|r| r.cost),
        Some(4)
    );
    a.send(&id("d"), data(5, "via c")).await.expect("send");
    let got = receive(&mut d_rx).await;
    assert_eq!((got.source, got.message), (id("a"), data(5, "via c")));

    // b's advertisement expires everywhere after its max age.
    until(&a, "b forgotten", |s| {
        s.nodes.iter().all(|n| n.node != id("b"))
    })
    .await;
    drop(c);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_that_dial_each_other_keep_one_link() {
    let ca = MeshCa::generate().expect("ca");
    // Each must know the other's port before starting: reserve x's with a
    // plain socket (released at once, unlike a quinn endpoint, which drains).
    let x_addr = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free port");
    let (y, mut y_rx) = start(&ca, "y", true, &[(x_addr, 1)]).await;
    let (x, _x_rx) = Node::start(NodeConfig {
        identity: ca.issue(&id("x"), Duration::from_secs(3600)).expect("cert"),
        trust: ca.trust_anchor(),
        listen: Some(x_addr),
        peers: vec![PeerConfig {
            addr: addr(&y),
            cost: 1,
        }],
        timers: fast_timers(),
        revocation_signers: Default::default(),
        revocations: None,
    })
    .await
    .expect("x starts on the reserved port");

    until(&x, "a link to y", |s| s.peers.len() == 1).await;
    until(&y, "a link to x", |s| s.peers.len() == 1).await;
    // Both ends agree on the link x dialed (the smaller id).
    until(&x, "x's own link kept", |s| {
        s.peers.len() == 1 && s.peers[0].dialed
    })
    .await;
    until(&y, "x's link kept", |s| {
        s.peers.len() == 1 && !s.peers[0].dialed
    })
    .await;
    x.send(&id("y"), data(0, "one link")).await.expect("send");
    assert_eq!(receive(&mut y_rx).await.message, data(0, "one link"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_certificate_is_refused_by_every_node() {
    let ca = MeshCa::generate().expect("ca");
    let (a, _a_rx) = start(&ca, "a", true, &[]).await;
    let (b, _b_rx) = start(&ca, "b", true, &[(addr(&a), 1)]).await;
    // c reaches a directly and through b.
    let c_identity = ca.issue(&id("c"), Duration::from_secs(3600)).expect("cert");
    let c_cert = c_identity.cert_digest();
    let (_c, _c_rx) = start_as(
        &ca,
        c_identity.clone(),
        false,
        &[(addr(&a), 1), (addr(&b), 1)],
        None,
    )
    .await;
    until(&a, "links to b and c", |s| s.peers.len() == 2).await;
    until(&b, "a link to c", |s| {
        s.peers.iter().any(|p| p.node == id("c"))
    })
    .await;

    // a, the controller, publishes the list; b gets it from a.
    let list = RevocationList::new([c_cert], 0);
    let issued = list.issued_ms;
    a.revoke(list.sign(controller_key()).expect("signed"))
        .await
        .expect("revoke");
    let gone = |s: &NodeStatus| s.peers.iter().all(|p| p.node != id("c")) && via(s, "c").is_none();
    let status = until(&a, "c gone", gone).await;
    assert!(
        status.nodes.iter().all(|n| n.node != id("c")),
        "{status:#?}"
    );
    until(&b, "c gone from b too", gone).await;
    // c keeps redialing both (every 50–500 ms): neither lets it back.
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        for node in [&a, &b] {
            let status = node.status().await.expect("status");
            assert!(gone(&status), "{status:#?}");
            assert_eq!(status.revoked_certificates, 1);
        }
    }
    assert!(matches!(
        a.send(&id("c"), data(0, "x")).await,
        Err(mesh::NodeError::Unreachable(_))
    ));

    // A node that starts later learns the list from its first neighbour.
    let (d, _d_rx) = start(&ca, "d", false, &[(addr(&b), 1)]).await;
    until(&d, "the list", |s| s.revoked_certificates == 1).await;

    // A node given the list it saved before a restart refuses c from its
    // start, before any neighbour could hand it the list.
    let saved = b.status().await.expect("status").revocations;
    assert!(saved.is_some());
    let e_identity = ca.issue(&id("e"), Duration::from_secs(3600)).expect("cert");
    let (e, _e_rx) = start_as(&ca, e_identity, true, &[], saved).await;
    assert_eq!(e.status().await.expect("status").revoked_certificates, 1);
    let (_c_again, _) = start_as(&ca, c_identity, false, &[(addr(&e), 1)], None).await;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let status = e.status().await.expect("status");
        assert!(status.peers.is_empty(), "{status:#?}");
    }

    // A newer list signed by a key nobody trusts changes nothing.
    let (rogue, _) = SigningKey::generate().expect("key");
    let forged = RevocationList::new([], issued)
        .sign(&rogue)
        .expect("signed");
    b.revoke(forged).await.expect("revoke");
    tokio::time::sleep(Duration::from_millis(500)).await;
    for node in [&a, &b, &d] {
        let status = node.status().await.expect("status");
        assert!(gone(&status), "{status:#?}");
        assert_eq!(status.revoked_certificates, 1);
    }

    // A newer list without c lets it back in everywhere.
    let lifted = RevocationList::new([], issued)
        .sign(controller_key())
        .expect("signed");
    a.revoke(lifted).await.expect("revoke none");
    until(&a, "c back", |s| via(s, "c").is_some()).await;
    until(&b, "c back at b", |s| {
        s.peers.iter().any(|p| p.node == id("c"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_unit_does_not_hold_up_another_through_a_relay() {
    let ca = MeshCa::generate().expect("ca");
    let (b, _b_rx) = start(&ca, "b", true, &[]).await;
    let (a, _a_rx) = start(&ca, "a", false, &[(addr(&b), 1)]).await;
    // c never reads what reaches it: unit X's frames pile up there.
    let (_c, _c_rx) = start(&ca, "c", false, &[(addr(&b), 1)]).await;
    let (_d, mut d_rx) = start(&ca, "d", false, &[(addr(&b), 1)]).await;
    until(&a, "routes to c and d", |s| {
        via(s, "c").is_some() && via(s, "d").is_some()
    })
    .await;

    let a = std::sync::Arc::new(a);
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stalled = {
        let (a, sent) = (a.clone(), sent.clone());
        tokio::spawn(async move {
            let chunk = Bytes::from(vec![b'x'; 32 * 1024]);
            let mut offset = 0;
            loop {
                let frame = Message::Data {
                    unit: WorkUnitId::new("unit-x").expect("id"),
                    offset,
                    payload: chunk.clone(),
                };
                if a.send(&id("c"), frame).await.is_err() {
                    return;
                }
                offset += chunk.len() as u64;
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    // Wait until unit X is stuck all along the path (a's sends wait).
    let mut last = u64::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = sent.load(std::sync::atomic::Ordering::Relaxed);
        if now == last {
            break;
        }
        last = now;
    }
    assert!(last > 100, "unit X was stuck early: {last} frames");

    // Unit Y still crosses the same link a–b and the relay b.
    for (offset, text) in [(0, "still "), (6, "moving")] {
        let frame = Message::Data {
            unit: WorkUnitId::new("unit-y").expect("id"),
            offset,
            payload: Bytes::from_static(text.as_bytes()),
        };
        tokio::time::timeout(PATIENCE, a.send(&id("d"), frame))
            .await
            .expect("unit Y's frames are not queued behind unit X's")
            .expect("send");
    }
    for (offset, text) in [(0, "still "), (6, "moving")] {
        let got = receive(&mut d_rx).await;
        assert_eq!(
            got.message,
            Message::Data {
                unit: WorkUnitId::new("unit-y").expect("id"),
                offset,
                payload: Bytes::from_static(text.as_bytes()),
            }
        );
    }
    stalled.abort();
}
