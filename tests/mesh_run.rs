//! A job's run carried over the mesh: a control node issues a join token,
//! an execution node (`rawx`, its own process) joins with it, and a
//! controller in the test, certified by the control node's mesh CA and
//! signing with its work key, transmits a private data dir and runs it
//! there as an `ansible-runner` work unit. No timed assertions: waits are
//! bounded by a generous patience and fail only when it runs out.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::api::Node;
use common::{Proc, free_udp_port, rawx, venv};
use rawx::exec::event::JobEvent;
use rawx::exec::remote::{self, RemoteError, RemoteRun};
use rawx::exec::runner::{RunSpec, RunnerMessage, processes_mentioning};
use serde_json::{Map, Value, json};

const PATIENCE: Duration = Duration::from_secs(90);
const EXEC_NODE: &str = "exec-1";
/// A playbook that waits far longer than any test.
const PAUSE: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: wait\n      \
                     ansible.builtin.pause:\n        seconds: 600\n";

/// A control node, an execution node joined to it with a real token, and
/// a controller (in this process) that may submit work to the execution
/// node: certified by the control node's CA, signing with its work key.
struct Mesh {
    /// Kept running: the execution node's controller.
    _control: Node,
    exec: Proc,
    exec_dir: tempfile::TempDir,
    controller: mesh::WorkNode,
    key: mesh::SigningKey,
    dest: mesh::NodeId,
    _scratch: tempfile::TempDir,
}

impl Mesh {
    async fn start() -> Mesh {
        let mesh_listen = format!("127.0.0.1:{}", free_udp_port());
        let control = Node::start_with(&[
            ("RAWX_PRELOAD_DATA", "false"),
            ("RAWX_MESH_LISTEN", &mesh_listen),
        ])
        .await;
        let (status, body) = control
            .admin()
            .post("/api/v2/mesh/join_tokens/", json!({}))
            .await;
        assert_eq!(status, 201, "{body}");
        let token = body["token"].as_str().expect("token").to_owned();

        let scratch = tempfile::tempdir().expect("scratch");
        let exec_dir = tempfile::tempdir().expect("exec data dir");
        let exec_addr: SocketAddr = format!("127.0.0.1:{}", free_udp_port())
            .parse()
            .expect("addr");
        let mut join = rawx();
        join.args([
            "node",
            "join",
            "--controller",
            &control.server.base,
            "--token",
            &token,
            "--role",
            "execution",
            "--listen",
            &exec_addr.to_string(),
            "--name",
            EXEC_NODE,
        ])
        .arg("--data-dir")
        .arg(exec_dir.path())
        .env("RAWX_VENV", venv());
        let mut exec = Proc::spawn(&mut join, &scratch.path().join("exec.log"));
        // The node writes its status file once it runs.
        common::eventually("the execution node running", PATIENCE, || {
            let path = exec_dir.path().join("mesh/status.json");
            async move { path.exists().then_some(()) }
        })
        .await;
        exec.assert_running();

        let mesh_dir = control.server.data_dir.path().join("mesh");
        let read = |name: &str| std::fs::read(mesh_dir.join(name)).expect(name);
        let ca = mesh::MeshCa::from_pem(
            &String::from_utf8(read("ca.pem")).expect("pem"),
            &String::from_utf8(read("ca.key")).expect("pem"),
        )
        .expect("the control node's CA");
        let key = mesh::SigningKey::from_pkcs8(&read("controller.key")).expect("work key");
        let identity = ca
            .issue(
                &mesh::NodeId::new("controller-in-test").expect("id"),
                Duration::from_secs(3600),
            )
            .expect("identity");
        let controller = mesh::WorkNode::start(
            mesh::NodeConfig {
                identity,
                trust: ca.trust_anchor(),
                listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
                peers: vec![mesh::PeerConfig {
                    addr: exec_addr,
                    cost: 1,
                }],
                timers: mesh::Timers::default(),
                revocation_signers: Default::default(),
                revocations: None,
            },
            None,
            mesh::ClientConfig {
                retry: Duration::from_millis(500),
                give_up: PATIENCE,
                submission_ttl: Duration::from_secs(600),
            },
        )
        .await
        .expect("controller node");
        Mesh {
            _control: control,
            exec,
            exec_dir,
            controller,
            key,
            dest: mesh::NodeId::new(EXEC_NODE).expect("id"),
            _scratch: scratch,
        }
    }

    /// Transmits a private data dir holding `playbook` with `kwargs` and
    /// runs it on the execution node.
    async fn run(&self, root: &Path, playbook: &str, kwargs: Map<String, Value>) -> RemoteRun {
        let pdd = root.join("pdd");
        for dir in ["project", "inventory", "env"] {
            std::fs::create_dir_all(pdd.join(dir)).expect("pdd");
        }
        std::fs::write(pdd.join("project/site.yml"), playbook).expect("playbook");
        std::fs::write(
            pdd.join("inventory/hosts"),
            "localhost ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n",
        )
        .expect("inventory");
        let spec = RunSpec {
            private_data_dir: pdd,
            ident: "42".into(),
            playbook: "site.yml".into(),
            kwargs,
            venv: venv(),
        };
        let payload = remote::transmit(&spec).await.expect("transmit");
        assert!(!payload.is_empty());
        // The payload file is unlinked: nothing next to the data dir.
        let left: Vec<_> = std::fs::read_dir(root)
            .expect("root")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("pdd")]);
        let unit = self
            .controller
            .submit(
                &self.dest,
                mesh::WorkUnitId::random(),
                "ansible-runner",
                payload.into_file(),
                &self.key,
            )
            .await
            .expect("the unit is submitted");
        remote::read(unit, PATIENCE)
    }

    /// The execution node's private data dirs.
    fn work_dir(&self) -> PathBuf {
        self.exec_dir.path().join("mesh/work")
    }
}

/// What a stream delivered: events, statuses, whether artifacts came, and
/// how it ended.
#[derive(Default)]
struct Seen {
    events: Vec<JobEvent>,
    statuses: Vec<String>,
    artifacts: bool,
    eof: bool,
    error: Option<String>,
}

impl Seen {
    fn take(&mut self, message: Result<RunnerMessage, RemoteError>) {
        match message {
            Ok(RunnerMessage::Event(value)) => {
                self.events
                    .push(JobEvent::from_runner(&value).expect("an event"));
            }
            Ok(RunnerMessage::Status { status, .. }) => self.statuses.push(status),
            Ok(RunnerMessage::Artifacts(zip)) => {
                assert!(zip.starts_with(b"PK"), "artifacts are a zip");
                self.artifacts = true;
            }
            Ok(RunnerMessage::Eof) => self.eof = true,
            Err(err) => self.error = Some(err.to_string()),
        }
    }

    async fn drain(&mut self, run: &mut RemoteRun) {
        while !self.eof && self.error.is_none() {
            let Some(message) = run.messages.recv().await else {
                break;
            };
            self.take(message);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_playbook_runs_on_an_execution_node_through_the_mesh() {
    let mesh = Mesh::start().await;
    let root = tempfile::tempdir().expect("root");
    let mut kwargs = Map::new();
    // Kwargs travel too: the message comes from an environment variable.
    kwargs.insert(
        "envvars".into(),
        json!({"RAWX_MESH_GREETING": "hello over the mesh"}),
    );
    let mut run = mesh
        .run(
            root.path(),
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: greet\n      \
             ansible.builtin.debug:\n        msg: \"{{ lookup('env', 'RAWX_MESH_GREETING') }}\"\n",
            kwargs,
        )
        .await;
    let mut seen = Seen::default();
    seen.drain(&mut run).await;
    assert!(seen.error.is_none(), "{:?}", seen.error);
    assert!(seen.eof && seen.artifacts);
    assert_eq!(
        seen.statuses.last().map(String::as_str),
        Some("successful"),
        "{:?}",
        seen.statuses
    );
    let counters: Vec<i64> = seen.events.iter().map(|e| e.counter).collect();
    let expected: Vec<i64> = (1..=counters.len() as i64).collect();
    assert_eq!(counters, expected, "every event once, in counter order");
    let names: Vec<&str> = seen.events.iter().map(|e| e.event.as_str()).collect();
    for name in ["playbook_on_start", "runner_on_ok", "playbook_on_stats"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let ok = seen
        .events
        .iter()
        .find(|e| e.event == "runner_on_ok")
        .expect("runner_on_ok");
    assert!(ok.stdout.contains("hello over the mesh"), "{}", ok.stdout);
    assert_eq!(ok.host_name, "localhost");

    // The eof line comes before the worker has exited.
    let status = common::eventually("the unit finished", PATIENCE, || {
        let unit = run.unit.clone();
        async move {
            let status = unit.status().await.expect("status");
            status.state.is_final().then_some(status)
        }
    })
    .await;
    assert_eq!(status.state, mesh::WorkState::Succeeded, "{status:?}");
    // The execution node keeps no copy of the job's files.
    let unit_dir = mesh.work_dir().join(run.unit.id().as_str());
    assert!(!unit_dir.exists(), "{} left behind", unit_dir.display());
    run.unit.release().await.expect("release");
    assert!(matches!(
        run.unit.status().await,
        Err(mesh::ClientError::Gone(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canceled_run_stops_on_the_execution_node() {
    let mut mesh = Mesh::start().await;
    let root = tempfile::tempdir().expect("root");
    let mut run = mesh.run(root.path(), PAUSE, Map::new()).await;
    let mut seen = Seen::default();
    // Cancel once the pause has started, with ansible running over there.
    while !seen
        .events
        .iter()
        .any(|e| e.event == "playbook_on_task_start" && e.task == "wait")
    {
        let message = run.messages.recv().await.expect("the stream goes on");
        seen.take(message);
        assert!(seen.error.is_none(), "{:?}", seen.error);
    }
    let work = mesh.work_dir();
    common::eventually("ansible running on the execution node", PATIENCE, || {
        let work = work.clone();
        async move { (!processes_mentioning(&work).is_empty()).then_some(()) }
    })
    .await;
    let status = run.unit.cancel().await.expect("cancel");
    assert_eq!(status.state, mesh::WorkState::Canceled, "{status:?}");

    seen.drain(&mut run).await;
    assert!(seen.error.is_none(), "{:?}", seen.error);
    assert!(seen.eof, "the stream ends as the protocol says");
    assert_eq!(
        seen.statuses.last().map(String::as_str),
        Some("canceled"),
        "{:?}",
        seen.statuses
    );
    let counters: Vec<i64> = seen.events.iter().map(|e| e.counter).collect();
    let expected: Vec<i64> = (1..=counters.len() as i64).collect();
    assert_eq!(counters, expected);
    // Nothing of the run is left on the execution node.
    common::no_process_left(&work, PATIENCE, "after a cancel").await;
    run.unit.release().await.expect("release");

    // Releasing a unit that still runs stops it too, and leaves neither
    // processes nor the job's files.
    let root = tempfile::tempdir().expect("root");
    let mut run = mesh.run(root.path(), PAUSE, Map::new()).await;
    let mut seen = Seen::default();
    while !seen
        .events
        .iter()
        .any(|e| e.event == "playbook_on_task_start")
    {
        let message = run.messages.recv().await.expect("the stream goes on");
        seen.take(message);
        assert!(seen.error.is_none(), "{:?}", seen.error);
    }
    let unit_dir = work.join(run.unit.id().as_str());
    assert!(unit_dir.exists());
    run.unit.release().await.expect("release");
    common::no_process_left(&work, PATIENCE, "after a release").await;
    assert!(!unit_dir.exists(), "{} left behind", unit_dir.display());
    mesh.exec.assert_running();
}
