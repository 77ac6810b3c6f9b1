//! Mesh nodes in the binary: a control node issues join tokens, an
//! execution node joins with one and links to it over QUIC, and execution
//! and hop nodes run without any database.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::api::Node;
use common::{Proc, free_udp_port, rawx, run};
use serde_json::{Value, json};

const PATIENCE: Duration = Duration::from_secs(60);

fn join_cmd(base: &str, token: &str, name: &str, port: u16, data_dir: &Path) -> Command {
    let mut cmd = rawx();
    cmd.args([
        "node",
        "join",
        "--controller",
        base,
        "--token",
        token,
        "--role",
        "execution",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--name",
        name,
    ])
    .arg("--data-dir")
    .arg(data_dir);
    cmd
}

/// `rawx mesh status` for the node whose data dir is `data_dir`.
fn mesh_status(data_dir: &Path) -> String {
    let (status, out, err) = run(rawx()
        .args(["mesh", "status"])
        .arg("--data-dir")
        .arg(data_dir));
    assert!(status.success(), "mesh status: {err}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_joins_with_a_one_time_token_and_links_to_the_controller() {
    let mesh_port = free_udp_port();
    let mesh_listen = format!("127.0.0.1:{mesh_port}");
    let node = Node::start_with(&[
        ("RAWX_PRELOAD_DATA", "false"),
        ("RAWX_MESH_LISTEN", &mesh_listen),
    ])
    .await;
    let admin = node.admin();
    let controller = node.server.node_name();
    let ca_key = node.server.data_dir.path().join("mesh/ca.key");
    let mode = std::fs::metadata(&ca_key)
        .expect("ca.key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Only superusers issue tokens.
    node.user("alice", "alice-pw").await;
    let (status, _) = node
        .as_user("alice", "alice-pw")
        .post("/api/v2/mesh/join_tokens/", json!({}))
        .await;
    assert_eq!(status, 403);
    let (status, body) = admin.post("/api/v2/mesh/join_tokens/", json!({})).await;
    assert_eq!(status, 201, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();

    // A token from the CLI that expires at once is refused.
    let (status, out, err) = run(rawx()
        .args(["node", "token", "create", "--expires-in", "1"])
        .env("RAWX_DATABASE_URL", &node.db.url));
    assert!(status.success(), "token create: {err}");
    let expired = out.trim().to_owned();
    assert_eq!(expired.len(), 32, "{out}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let scratch = tempfile::tempdir().expect("dir");
    let (status, _, err) = run(join_cmd(
        &node.server.base,
        &expired,
        "exec-x",
        free_udp_port(),
        &scratch.path().join("x"),
    )
    .arg("--no-start"));
    assert!(!status.success());
    assert!(err.contains("expired"), "{err}");
    let (status, _, err) = run(join_cmd(
        &node.server.base,
        "not-a-token",
        "exec-x",
        free_udp_port(),
        &scratch.path().join("x"),
    )
    .arg("--no-start"));
    assert!(!status.success());
    assert!(err.contains("Invalid join token"), "{err}");

    // The real join: the node stores its identity and starts.
    let exec_dir = tempfile::tempdir().expect("exec data dir");
    let mut exec = Proc::spawn(
        &mut join_cmd(
            &node.server.base,
            &token,
            "exec-1",
            free_udp_port(),
            exec_dir.path(),
        ),
        &scratch.path().join("exec.log"),
    );

    let instance = common::eventually("the instance", PATIENCE, || {
        let admin = node.admin();
        async move {
            let (_, body) = admin.get("/api/v2/instances/?hostname=exec-1").await;
            body["results"].as_array()?.first().cloned()
        }
    })
    .await;
    assert_eq!(instance["node_type"], "execution", "{instance}");
    exec.assert_running();
    let key = exec_dir.path().join("mesh/node.key");
    let mode = std::fs::metadata(&key)
        .expect("node.key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // The token worked once.
    let (status, _, err) = run(join_cmd(
        &node.server.base,
        &token,
        "exec-2",
        free_udp_port(),
        &scratch.path().join("y"),
    )
    .arg("--no-start"));
    assert!(!status.success());
    assert!(err.contains("already used"), "{err}");

    // The visualizer shows both nodes and, once the link is up, the link.
    let visual = common::eventually("the link in the visualizer", PATIENCE, || {
        let admin = node.admin();
        async move {
            let (status, body) = admin.get("/api/v2/mesh_visualizer/").await;
            assert_eq!(status, 200, "{body}");
            let linked = body["links"].as_array()?.iter().any(|l| {
                l["link_state"] == "established"
                    && ((l["source"] == "exec-1") || (l["target"] == "exec-1"))
            });
            linked.then_some(body)
        }
    })
    .await;
    let nodes = visual["nodes"].as_array().expect("nodes");
    let names: Vec<&str> = nodes
        .iter()
        .filter_map(|n| n["hostname"].as_str())
        .collect();
    assert!(
        names.contains(&"exec-1") && names.contains(&controller.as_str()),
        "{visual}"
    );
    let link = &visual["links"][0];
    assert_eq!(
        link["source"], "exec-1",
        "the execution node dialed: {visual}"
    );
    assert_eq!(link["target"], controller.as_str(), "{visual}");
    for field in ["id", "hostname", "node_type", "node_state", "enabled"] {
        assert!(nodes[0].get(field).is_some(), "{field} in {visual}");
    }
    let (status, _) = node
        .as_user("alice", "alice-pw")
        .get("/api/v2/mesh_visualizer/")
        .await;
    assert_eq!(status, 403);

    // The control node marks the node it sees ready.
    common::eventually("exec-1 ready", PATIENCE, || {
        let admin = node.admin();
        async move {
            let (_, body) = admin.get("/api/v2/instances/?hostname=exec-1").await;
            let state: Value = body["results"][0]["node_state"].clone();
            (state == "ready").then_some(())
        }
    })
    .await;

    // `rawx mesh status` on both ends shows the link.
    let exec_status = common::eventually("the exec node's status file", PATIENCE, || {
        let dir = exec_dir.path().to_owned();
        let controller = controller.clone();
        async move {
            let path = dir.join("mesh/status.json");
            let text = std::fs::read_to_string(path).ok()?;
            text.contains(&controller).then_some(())?;
            Some(mesh_status(&dir))
        }
    })
    .await;
    let links = exec_status
        .split("\nnodes:")
        .next()
        .expect("links section")
        .to_owned();
    assert!(links.contains(&controller), "{exec_status}");
    assert!(exec_status.contains("routes:"), "{exec_status}");
    let control_status = mesh_status(node.server.data_dir.path());
    assert!(control_status.contains("exec-1"), "{control_status}");
    exec.assert_running();

    // Deprovisioning the instance revokes its certificate: the control node
    // closes the link and refuses the node's redials from then on.
    let url = format!("/api/v2/instances/{}/", instance["id"]);
    let (status, body) = admin.patch(&url, json!({"node_state": "ready"})).await;
    assert_eq!(status, 200, "an unchanged state is fine: {body}");
    let (status, body) = admin
        .patch(&url, json!({"node_state": "unavailable"}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["node_state"][0],
        "Can only change instances to the 'deprovisioning' state."
    );
    let (_, me) = admin
        .get(&format!("/api/v2/instances/?hostname={controller}"))
        .await;
    let (status, body) = admin
        .patch(
            &format!("/api/v2/instances/{}/", me["results"][0]["id"]),
            json!({"node_state": "deprovisioning"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["node_state"][0],
        "Can only deprovision execution or hop nodes."
    );
    let (status, body) = admin
        .patch(&url, json!({"node_state": "deprovisioning"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["node_state"], "deprovisioning");
    let peers = |dir: &Path| -> Option<Vec<String>> {
        let text = std::fs::read_to_string(dir.join("mesh/status.json")).ok()?;
        let doc: Value = serde_json::from_str(&text).ok()?;
        Some(
            doc["status"]["peers"]
                .as_array()?
                .iter()
                .filter_map(|p| p["node"].as_str().map(str::to_owned))
                .collect(),
        )
    };
    let control_dir = node.server.data_dir.path().to_owned();
    common::eventually("exec-1's link closed", PATIENCE, || {
        let peers = peers(&control_dir);
        async move { peers.filter(|p| !p.iter().any(|n| n == "exec-1")) }
    })
    .await;
    // The execution node redials within seconds; each status rewrite (every
    // 2 s) still shows no link.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = peers(&control_dir).unwrap_or_default();
        assert!(!now.iter().any(|n| n == "exec-1"), "{now:?}");
    }
    let (_, body) = admin.get(&url).await;
    assert_eq!(body["node_state"], "deprovisioning", "{body}");
    exec.assert_running();
}

/// An identity for `name` from a CA of the test's own, as `rawx node join`
/// would have stored it.
fn plant_identity(ca: &mesh::MeshCa, name: &str, dir: &Path) {
    let mesh_dir = dir.join("mesh");
    std::fs::create_dir_all(&mesh_dir).expect("mesh dir");
    let id = ca
        .issue(
            &mesh::NodeId::new(name).expect("id"),
            Duration::from_secs(3600),
        )
        .expect("cert");
    std::fs::write(mesh_dir.join("node.pem"), id.cert_pem()).expect("cert");
    std::fs::write(mesh_dir.join("node.key"), id.key_pem()).expect("key");
    std::fs::write(mesh_dir.join("ca.pem"), ca.cert_pem()).expect("ca");
    let (signer, _) = mesh::SigningKey::generate().expect("signing key");
    let hex: String = signer
        .public_key()
        .0
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(mesh_dir.join("controllers.json"), json!([hex]).to_string())
        .expect("controllers");
}

fn server_cmd(role: &str, name: &str, dir: &Path, listen: &str, peers: &str) -> Command {
    let mut cmd = rawx();
    cmd.arg("server")
        .env("RAWX_ROLE", role)
        .env("RAWX_NODE_NAME", name)
        .env("RAWX_DATA_DIR", dir)
        .env("RAWX_MESH_LISTEN", listen)
        .env("RAWX_MESH_PEERS", peers)
        // Nothing listens here: proof that these roles never connect.
        .env("RAWX_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("RAWX_REDIS_URL", "redis://127.0.0.1:1");
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execution_and_hop_nodes_run_without_a_database() {
    let ca = mesh::MeshCa::generate().expect("ca");
    let hop_dir = tempfile::tempdir().expect("hop dir");
    let exec_dir = tempfile::tempdir().expect("exec dir");
    plant_identity(&ca, "hop-1", hop_dir.path());
    plant_identity(&ca, "exec-9", exec_dir.path());
    let hop_addr = format!("127.0.0.1:{}", free_udp_port());
    let mut hop = Proc::spawn(
        &mut server_cmd("hop", "hop-1", hop_dir.path(), &hop_addr, "[]"),
        &hop_dir.path().join("log"),
    );
    let mut exec = Proc::spawn(
        &mut server_cmd(
            "execution",
            "exec-9",
            exec_dir.path(),
            "",
            &format!("[\"hop-1@{hop_addr}\"]"),
        ),
        &exec_dir.path().join("log"),
    );
    let status = common::eventually("the hop's link", PATIENCE, || {
        let dir = hop_dir.path().to_owned();
        async move {
            let text = std::fs::read_to_string(dir.join("mesh/status.json")).ok()?;
            text.contains("exec-9").then_some(())?;
            Some(mesh_status(&dir))
        }
    })
    .await;
    assert!(status.contains("exec-9"), "{status}");
    let json_out = run(rawx()
        .args(["mesh", "status", "--json"])
        .arg("--data-dir")
        .arg(exec_dir.path()));
    let doc: Value = serde_json::from_str(&json_out.1).expect("status json");
    assert_eq!(doc["role"], "execution");
    assert_eq!(doc["status"]["peers"][0]["node"], "hop-1", "{doc}");
    hop.assert_running();
    exec.assert_running();

    // Without an identity, a node says how to get one (exit 2).
    let empty = tempfile::tempdir().expect("dir");
    let (status, _, err) = run(&mut server_cmd(
        "execution",
        "exec-0",
        empty.path(),
        &format!("127.0.0.1:{}", free_udp_port()),
        "[]",
    ));
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("rawx node join"), "{err}");
}
