//! Jobs launched through the API run on execution nodes through the mesh:
//! a control node, a hop joined to it, and two execution nodes joined with
//! tokens but linked only to the hop (all separate `rawx` processes on
//! loopback). The control node health-checks the execution nodes over the
//! mesh, the TaskManager places the job on the execution node of the
//! template's instance group, and the Dispatcher streams it back through
//! the hop. Faults are real: a cancel travels over the mesh, and the hop's
//! process is killed mid-job and started again. No timed assertions: waits
//! are bounded by a generous patience and fail only when it runs out.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::api::{Api, Node};
use common::{Proc, free_udp_port, git, rawx, venv};
use serde_json::{Value, json};

const PATIENCE: Duration = Duration::from_secs(120);

/// Three quick tasks; one reads the file a credential's injector wrote.
const HELLO: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: say hello\n      \
                     debug: msg=hello-from-the-mesh\n    - name: read the injected file\n      \
                     debug:\n        msg: \"{{ lookup('file', lookup('env', 'RAWX_TOKEN_FILE')) }}\"\n    \
                     - name: bye\n      debug: msg=bye\n";

/// Long enough to kill a hop in the middle: one event per second or so.
const STEPS: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: step\n      \
                     command: sleep 1\n      loop: [1, 2, 3, 4, 5, 6, 7, 8]\n    - name: done\n      \
                     debug: msg=all-steps-done\n";

/// Waits far longer than any test.
const PAUSE: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: wait\n      \
                     command: sleep 600\n";

/// The task of CRASHING, with a duration no other test uses.
const CRASHING_TASK: &str = "sleep 6173";

/// Runs far longer than any test, to be cut short by a crash.
const CRASHING: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: wait\n      \
                        command: sleep 6173\n";

/// A joined mesh node: its data dir and how to start it again.
struct MeshNode {
    dir: tempfile::TempDir,
    proc: Proc,
    peers: String,
}

impl MeshNode {
    /// Joins `name` as `role` with a fresh token, without starting it, then
    /// starts it linked to `peers` (a TOML list) instead of the controller.
    async fn join(admin: &Api, base: &str, role: &str, name: &str, peers: Option<String>) -> Self {
        let (status, body) = admin
            .post("/api/v2/mesh/join_tokens/", json!({"node_type": role}))
            .await;
        assert_eq!(status, 201, "{body}");
        let token = body["token"].as_str().expect("token");
        let dir = tempfile::tempdir().expect("node dir");
        let listen = format!("127.0.0.1:{}", free_udp_port());
        let (status, _, err) = common::run(
            rawx()
                .args(["node", "join", "--controller", base, "--token", token])
                .args(["--role", role, "--listen", &listen, "--name", name])
                .arg("--no-start")
                .arg("--data-dir")
                .arg(dir.path()),
        );
        assert!(status.success(), "join {name}: {err}");
        let written = std::fs::read_to_string(dir.path().join("rawx.toml")).expect("config");
        let peers = peers.unwrap_or_else(|| {
            written
                .lines()
                .find_map(|l| l.strip_prefix("mesh_peers = "))
                .expect("mesh_peers")
                .to_owned()
        });
        let proc = Self::start(dir.path(), &peers);
        MeshNode { dir, proc, peers }
    }

    fn start(dir: &Path, peers: &str) -> Proc {
        Proc::spawn(
            rawx()
                .arg("server")
                .arg("--config")
                .arg(dir.join("rawx.toml"))
                .env("RAWX_MESH_PEERS", peers)
                .env("RAWX_MESH_IDLE_TIMEOUT", IDLE_TIMEOUT)
                .env("RAWX_VENV", venv()),
            &dir.join("node.log"),
        )
    }

    fn restart(&mut self) {
        self.proc.kill();
        self.proc = Self::start(self.dir.path(), &self.peers);
    }

    /// `name@address` of this node, for another node's peers.
    fn address(&self) -> String {
        let written = std::fs::read_to_string(self.dir.path().join("rawx.toml")).expect("config");
        let listen = written
            .lines()
            .find_map(|l| l.strip_prefix("mesh_listen = "))
            .expect("mesh_listen")
            .trim_matches('"')
            .to_owned();
        let name = written
            .lines()
            .find_map(|l| l.strip_prefix("node_name = "))
            .expect("node_name")
            .trim_matches('"')
            .to_owned();
        format!("{name}@{listen}")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("node.log")).unwrap_or_default()
    }

    /// The node's own view of the mesh (its status file).
    fn status(&self) -> Option<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("mesh/status.json")).ok()?;
        Some(serde_json::from_str::<Value>(&text).ok()?["status"].take())
    }

    /// Whether the node has a live link with `peer`.
    fn links_to(&self, peer: &str) -> bool {
        self.status().is_some_and(|status| {
            status["peers"]
                .as_array()
                .is_some_and(|peers| peers.iter().any(|p| p["node"] == peer))
        })
    }

    /// Private data dirs of the runs on this (execution) node.
    fn work_dir(&self) -> PathBuf {
        self.dir.path().join("mesh/work")
    }
}

/// How long the control node keeps trying to reach a run's execution node.
const RECONNECT_TIMEOUT: &str = "20";
/// How long every node takes to notice a dead peer (a killed process sends
/// no goodbye): well inside the reconnect timeout.
const IDLE_TIMEOUT: &str = "4";

/// The control node, two hops joined to it, exec-1 behind hop-1 and exec-2
/// behind both hops.
struct Cluster {
    node: Node,
    hops: Vec<MeshNode>,
    exec1: MeshNode,
    exec2: MeshNode,
}

impl Cluster {
    async fn start() -> Cluster {
        let mesh_listen = format!("127.0.0.1:{}", free_udp_port());
        let node = Node::start_with(&[
            ("RAWX_PRELOAD_DATA", "false"),
            ("RAWX_MESH_LISTEN", &mesh_listen),
            ("RAWX_MESH_RECONNECT_TIMEOUT", RECONNECT_TIMEOUT),
            ("RAWX_MESH_IDLE_TIMEOUT", IDLE_TIMEOUT),
        ])
        .await;
        let admin = node.admin();
        let base = node.server.base.clone();
        let hop1 = MeshNode::join(&admin, &base, "hop", "hop-1", None).await;
        let hop2 = MeshNode::join(&admin, &base, "hop", "hop-2", None).await;
        let behind_hop1 = Some(format!("[\"{}\"]", hop1.address()));
        let behind_both = Some(format!("[\"{}\", \"{}\"]", hop1.address(), hop2.address()));
        let exec1 = MeshNode::join(&admin, &base, "execution", "exec-1", behind_hop1).await;
        let exec2 = MeshNode::join(&admin, &base, "execution", "exec-2", behind_both).await;
        Cluster {
            node,
            hops: vec![hop1, hop2],
            exec1,
            exec2,
        }
    }

    /// The hop the control node's route to exec-2 goes through now.
    fn hop_to_exec2(&self) -> Option<usize> {
        let path = self.node.server.data_dir.path().join("mesh/status.json");
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
        let next = doc["status"]["routes"]
            .as_array()?
            .iter()
            .find(|r| r["dest"] == "exec-2")?["next_hop"]
            .as_str()?
            .to_owned();
        ["hop-1", "hop-2"].iter().position(|h| *h == next)
    }

    fn kill_hops(&mut self) {
        for hop in &mut self.hops {
            hop.proc.kill();
        }
    }

    fn restart_hops(&mut self) {
        for hop in &mut self.hops {
            hop.restart();
        }
    }

    fn logs(&self) -> String {
        let mut all = self.node.server.log();
        for hop in &self.hops {
            all.push_str(&hop.log());
        }
        all.push_str(&self.exec2.log());
        all
    }
}

/// Waits until job `url` (the PAUSE playbook) runs and its `sleep` is a
/// process under `work` (the execution node's private data dirs).
async fn pausing_on(admin: &Api, url: &str, work: &Path) {
    admin
        .until(url, "the pause running", |job| job["status"] == "running")
        .await;
    common::eventually("sleep running on exec-2", PATIENCE, || {
        let running = !rawx::exec::runner::processes_mentioning(work).is_empty();
        async move { running.then_some(()) }
    })
    .await;
}

/// Waits until a loop item of job `id` has run (the job is mid-way).
async fn under_way(admin: &Api, id: &str) {
    common::eventually("the steps under way", PATIENCE, || {
        let admin = admin.clone();
        let id = id.to_owned();
        async move {
            let (_, events) = admin
                .get(&format!(
                    "/api/v2/jobs/{id}/job_events/?event=runner_item_on_ok"
                ))
                .await;
            (events["count"].as_i64()? >= 1).then_some(())
        }
    })
    .await;
}

/// Checks that job `url` (of the STEPS playbook) succeeded with every
/// event stored once, in order.
async fn all_steps_once(admin: &Api, url: &str, logs: impl Fn() -> String) {
    let deadline = Instant::now() + PATIENCE;
    let job = loop {
        let (_, job) = admin.get(url).await;
        if job["event_processing_finished"] == true {
            break job;
        }
        assert!(
            Instant::now() < deadline,
            "did not finish: {job}\n{}",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(job["status"], "successful", "{job}\n{}", logs());
    let seen = counters(admin, &job).await;
    assert_eq!(seen, (1..=seen.len() as i64).collect::<Vec<_>>());
    let (_, items) = admin
        .get(&format!(
            "/api/v2/jobs/{}/job_events/?event=runner_item_on_ok",
            job["id"]
        ))
        .await;
    assert_eq!(items["count"], 8, "every loop item once");
}

fn job_id(url: &str) -> String {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .expect("id")
        .to_owned()
}

/// A template on a manual project holding `playbook`, whose jobs may run
/// only in an instance group holding exec-2.
async fn template_on_exec2(node: &Node, admin: &Api, playbook: &str, name: &str) -> Value {
    let dir = node.server.data_dir.path().join("projects").join(name);
    std::fs::create_dir_all(&dir).expect("project dir");
    std::fs::write(dir.join("site.yml"), playbook).expect("playbook");
    let (_, orgs) = admin.get("/api/v2/organizations/?name=Eng").await;
    let org = match orgs["results"].get(0) {
        Some(org) => org.clone(),
        None => {
            admin
                .create("/api/v2/organizations/", json!({"name": "Eng"}))
                .await
        }
    };
    let project = admin
        .create(
            "/api/v2/projects/",
            json!({"name": name, "organization": org["id"], "scm_type": "", "local_path": name}),
        )
        .await;
    let inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": name, "organization": org["id"]}),
        )
        .await;
    admin.local_host("localhost", &inventory["id"]).await;
    let template = admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": name, "project": project["id"], "inventory": inventory["id"], "playbook": "site.yml"}),
        )
        .await;
    let (_, groups) = admin.get("/api/v2/instance_groups/?name=remote").await;
    let group = groups["results"][0]["id"].clone();
    let (status, body) = admin
        .post(
            &format!("/api/v2/job_templates/{}/instance_groups/", template["id"]),
            json!({"id": group}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    template
}

/// The job's events' counters, in counter order.
async fn counters(admin: &Api, job: &Value) -> Vec<i64> {
    let (status, events) = admin
        .get(&format!(
            "/api/v2/jobs/{}/job_events/?order_by=counter&page_size=200",
            job["id"]
        ))
        .await;
    assert_eq!(status, 200, "{events}");
    events["results"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["counter"].as_i64().expect("counter"))
        .collect()
}

async fn launch(admin: &Api, template: &Value) -> String {
    let (status, job) = admin
        .post(
            &format!("/api/v2/job_templates/{}/launch/", template["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{job}");
    format!("/api/v2/jobs/{}/", job["id"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_on_execution_nodes_through_a_hop() {
    let mut cluster = Cluster::start().await;
    let admin = cluster.node.admin();

    // Both execution nodes are health-checked over the mesh, through the hop.
    for name in ["exec-1", "exec-2"] {
        let url = format!("/api/v2/instances/?hostname={name}");
        let deadline = Instant::now() + PATIENCE;
        let instance = loop {
            let (_, list) = admin.get(&url).await;
            let instance = list["results"][0].clone();
            if instance["node_state"] == "ready" && instance["capacity"].as_i64() > Some(0) {
                break instance;
            }
            assert!(
                Instant::now() < deadline,
                "{name} not checked and ready: {instance}\n{}",
                cluster.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(instance["node_type"], "execution", "{instance}");
        assert!(
            instance["cpu_capacity"].as_i64().unwrap_or(0) > 0,
            "{instance}"
        );
        assert!(
            instance["version"]
                .as_str()
                .unwrap_or("")
                .starts_with("ansible-runner-"),
            "{instance}"
        );
        assert_eq!(instance["errors"], "", "{instance}");
    }
    let group = admin
        .create("/api/v2/instance_groups/", json!({"name": "remote"}))
        .await;
    let (_, exec2) = admin.get("/api/v2/instances/?hostname=exec-2").await;
    let (status, body) = admin
        .post(
            &format!("/api/v2/instance_groups/{}/instances/", group["id"]),
            json!({"id": exec2["results"][0]["id"]}),
        )
        .await;
    assert_eq!(status, 204, "{body}");

    // A job runs on exec-2, through the hop, every event once and in order.
    let hello = template_on_exec2(&cluster.node, &admin, HELLO, "hello").await;
    // A custom credential whose injector writes a file the run reads: the
    // paths the controller wrote are relocated on exec-2.
    let kind = admin
        .create(
            "/api/v2/credential_types/",
            json!({"name": "Token file", "kind": "cloud",
                   "inputs": {"fields": [{"id": "token", "label": "Token", "type": "string", "secret": true}]},
                   "injectors": {"file": {"template": "token={{ token }}"},
                                 "env": {"RAWX_TOKEN_FILE": "{{ tower.filename }}"}}}),
        )
        .await;
    let (_, orgs) = admin.get("/api/v2/organizations/?name=Eng").await;
    let credential = admin
        .create(
            "/api/v2/credentials/",
            json!({"name": "token", "credential_type": kind["id"],
                   "organization": orgs["results"][0]["id"], "inputs": {"token": "mesh-s3cret"}}),
        )
        .await;
    let (status, body) = admin
        .post(
            &format!("/api/v2/job_templates/{}/credentials/", hello["id"]),
            json!({"id": credential["id"]}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let url = launch(&admin, &hello).await;
    let job = admin.finished(&url).await;
    assert_eq!(job["status"], "successful", "{job}");
    assert_eq!(job["execution_node"], "exec-2", "{job}");
    assert_eq!(job["controller_node"], cluster.node.server.node_name());
    assert_eq!(job["instance_group"], group["id"], "{job}");
    let seen = counters(&admin, &job).await;
    assert_eq!(seen, (1..=seen.len() as i64).collect::<Vec<_>>());
    let stdout = admin.text(&format!("{url}stdout/?format=txt")).await;
    assert!(stdout.contains("hello-from-the-mesh"), "{stdout}");
    assert!(stdout.contains("token=mesh-s3cret"), "{stdout}");
    // The unit is released once read (in the background): the execution
    // node keeps nothing of the run.
    let work = cluster.exec2.work_dir();
    common::eventually("exec-2's work dir empty", PATIENCE, || {
        let left: Vec<_> = std::fs::read_dir(&work)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        async move { left.is_empty().then_some(()) }
    })
    .await;

    // An inventory update runs on exec-2 too (the inventory's group): its
    // output comes back in the run's artifacts and is imported here.
    let repo = tempfile::tempdir().expect("repo");
    git(repo.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(
        repo.path().join("hosts.ini"),
        "[web]\nweb1 http_port=80\nweb2\n\n[db]\ndb1\n",
    )
    .expect("ini");
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "inventory"]);
    let project = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "inventory files", "organization": orgs["results"][0]["id"], "scm_type": "git",
                   "scm_url": format!("file://{}", repo.path().display())}),
        )
        .await;
    admin
        .until(
            &format!("/api/v2/projects/{}/", project["id"]),
            "the project update",
            |p| p["status"] == "successful",
        )
        .await;
    let synced = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "synced", "organization": orgs["results"][0]["id"]}),
        )
        .await;
    let (status, body) = admin
        .post(
            &format!("/api/v2/inventories/{}/instance_groups/", synced["id"]),
            json!({"id": group["id"]}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let source = admin
        .create(
            "/api/v2/inventory_sources/",
            json!({"name": "ini", "inventory": synced["id"], "source": "scm",
                   "source_project": project["id"], "source_path": "hosts.ini"}),
        )
        .await;
    let (status, started) = admin
        .post(
            &format!("/api/v2/inventory_sources/{}/update/", source["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, 202, "{started}");
    let update = admin.finished(started["url"].as_str().expect("url")).await;
    assert_eq!(update["status"], "successful", "{update}");
    assert_eq!(update["execution_node"], "exec-2", "{update}");
    let mut hosts = admin
        .names(&format!("/api/v2/inventories/{}/hosts/", synced["id"]))
        .await;
    hosts.sort();
    assert_eq!(hosts, ["db1", "web1", "web2"]);

    // A cancel travels over the mesh and stops the run over there.
    let pause = template_on_exec2(&cluster.node, &admin, PAUSE, "pause").await;
    let url = launch(&admin, &pause).await;
    pausing_on(&admin, &url, &work).await;
    let (status, body) = admin.post(&format!("{url}cancel/"), json!({})).await;
    assert_eq!(status, 202, "{body}");
    let job = admin.finished(&url).await;
    assert_eq!(job["status"], "canceled", "{job}");
    common::no_process_left(&work, PATIENCE, "after a cancel").await;

    // Routes go around a dead hop: the hop on exec-2's route dies mid-job
    // for good, and the job completes through the other one.
    let steps = template_on_exec2(&cluster.node, &admin, STEPS, "steps").await;
    let url = launch(&admin, &steps).await;
    under_way(&admin, &job_id(&url)).await;
    let used = common::eventually("a route to exec-2", PATIENCE, || {
        let used = cluster.hop_to_exec2();
        async move { used }
    })
    .await;
    cluster.hops[used].proc.kill();
    all_steps_once(&admin, &url, || cluster.logs()).await;
    cluster.hops[used].restart();

    // Both hops die mid-job and come back within the reconnect timeout: the
    // job completes, and no event is lost or stored twice.
    let url = launch(&admin, &steps).await;
    under_way(&admin, &job_id(&url)).await;
    cluster.kill_hops();
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.restart_hops();
    all_steps_once(&admin, &url, || cluster.logs()).await;

    // The control node crashes mid-job and starts again: it follows the
    // unit still going on exec-2 from where the database stands, and the job
    // completes with every event once.
    let url = launch(&admin, &steps).await;
    under_way(&admin, &job_id(&url)).await;
    cluster.node.server.crash_and_restart();
    cluster
        .node
        .server
        .wait_ready(Duration::from_secs(60))
        .await;
    all_steps_once(&admin, &url, || cluster.logs()).await;

    // A partition longer than the timeout: the job ends as `error`, saying
    // why; once exec-2 is back, its run is stopped and nothing is left.
    let url = launch(&admin, &pause).await;
    pausing_on(&admin, &url, &work).await;
    cluster.kill_hops();
    let job = admin.finished(&url).await;
    assert_eq!(job["status"], "error", "{job}");
    let explanation = job["job_explanation"].as_str().unwrap_or_default();
    assert!(
        explanation.contains("exec-2") && explanation.contains("could not be reached"),
        "{job}"
    );
    cluster.restart_hops();
    common::no_process_left(&work, PATIENCE, "after the partition").await;
    for hop in &mut cluster.hops {
        hop.proc.assert_running();
    }

    // exec-2 crashes mid-job (SIGKILL: its run's processes go on) and
    // starts again: its executor fails the unit, the job ends saying why,
    // and the node stops the run's processes and removes its data dir.
    let crashing = template_on_exec2(&cluster.node, &admin, CRASHING, "crashing").await;
    let url = launch(&admin, &crashing).await;
    common::eventually("the run's sleep on exec-2", PATIENCE, || {
        let found = common::process_running(CRASHING_TASK);
        async move { found.then_some(()) }
    })
    .await;
    cluster.exec2.restart();
    let job = admin.finished(&url).await;
    assert_eq!(job["status"], "error", "{job}");
    let explanation = job["job_explanation"].as_str().unwrap_or_default();
    assert!(explanation.contains("executor restarted"), "{job}");
    common::eventually("the crashed run's sleep stopped", PATIENCE, || {
        let gone = !common::process_running(CRASHING_TASK);
        async move { gone.then_some(()) }
    })
    .await;
    let left: Vec<_> = std::fs::read_dir(&work)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");

    // exec-1's instance lists its mesh peer, hop-1, as the mesh sees it.
    let exec1 = common::eventually("exec-1 linked to hop-1", PATIENCE, || {
        let admin = cluster.node.admin();
        async move {
            let (_, list) = admin.get("/api/v2/instances/?hostname=exec-1").await;
            let instance = list["results"][0].clone();
            (instance["peers"] == json!(["hop-1"])).then_some(instance)
        }
    })
    .await;
    assert_eq!(exec1["reverse_peers"], json!(["hop-1"]), "{exec1}");
    let (status, peers) = admin
        .get(&format!("/api/v2/instances/{}/peers/", exec1["id"]))
        .await;
    assert_eq!(status, 200, "{peers}");
    assert_eq!(peers["count"], 1, "{peers}");
    assert_eq!(peers["results"][0]["hostname"], "hop-1", "{peers}");

    // Deprovisioning exec-1 revokes its certificate in the whole mesh: the
    // control node signs a revocation list, the mesh floods it, and hop-1,
    // exec-1's only link, closes that link and refuses its redials.
    let (status, body) = admin
        .patch(
            &format!("/api/v2/instances/{}/", exec1["id"]),
            json!({"node_state": "deprovisioning"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let hop1 = &cluster.hops[0];
    common::eventually("hop-1 refuses exec-1", PATIENCE, || {
        let cut = !hop1.links_to("exec-1")
            && hop1
                .status()
                .is_some_and(|s| s["revoked_certificates"] == 1);
        async move { cut.then_some(()) }
    })
    .await;
    // exec-1 redials hop-1 within a second or two; every status rewrite
    // (each 2 s) still shows no link.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(!hop1.links_to("exec-1"), "{:?}", hop1.status());
    }
    for hop in &cluster.hops {
        let status = hop.status().unwrap_or_default();
        assert_eq!(status["revoked_certificates"], 1, "{status}");
        // Kept for the next start, which applies it before any link.
        assert!(hop.dir.path().join("mesh/revocations.json").is_file());
    }
    cluster.exec1.proc.assert_running();
}
