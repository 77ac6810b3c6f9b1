//! ansible-runner's streaming worker, for real: events arrive in order as
//! the playbook runs, and the final status says how it went.

mod common;

use common::venv;
use rawx::exec::event::JobEvent;
use rawx::exec::runner::{RunSpec, RunnerMessage, start};

fn private_data_dir(playbook: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("pdd");
    std::fs::create_dir_all(dir.path().join("project")).expect("project");
    std::fs::create_dir_all(dir.path().join("inventory")).expect("inventory");
    std::fs::write(dir.path().join("project/site.yml"), playbook).expect("playbook");
    std::fs::write(
        dir.path().join("inventory/hosts"),
        "localhost ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n",
    )
    .expect("inventory");
    dir
}

async fn run(playbook: &str) -> (Vec<JobEvent>, Vec<String>) {
    let dir = private_data_dir(playbook);
    let spec = RunSpec {
        private_data_dir: dir.path().to_path_buf(),
        ident: "7".into(),
        playbook: "site.yml".into(),
        kwargs: Default::default(),
        venv: venv(),
    };
    let mut run = start(&spec).await.expect("runner starts");
    let mut events = Vec::new();
    let mut statuses = Vec::new();
    while let Some(message) = run.messages.recv().await {
        match message.expect("clean stream") {
            RunnerMessage::Event(value) => {
                events.push(JobEvent::from_runner(&value).expect("an event"))
            }
            RunnerMessage::Status { status, .. } => statuses.push(status),
            RunnerMessage::Artifacts(zip) => assert!(zip.starts_with(b"PK"), "artifacts are a zip"),
            RunnerMessage::Eof => break,
        }
    }
    let exit = run.child.wait().await.expect("wait");
    assert!(exit.code().is_some(), "the worker exited");
    (events, statuses)
}

#[tokio::test]
async fn a_playbook_streams_its_events_in_order() {
    let (events, statuses) = run(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: say hello\n      debug: msg=hello-rawx\n    - command: echo changed\n",
    )
    .await;
    assert_eq!(statuses.first().map(String::as_str), Some("starting"));
    assert_eq!(statuses.last().map(String::as_str), Some("successful"));
    let counters: Vec<i64> = events.iter().map(|e| e.counter).collect();
    assert_eq!(
        counters,
        (1..=counters.len() as i64).collect::<Vec<_>>(),
        "counters 1..N in order"
    );
    assert_eq!(
        events.first().map(|e| e.event.as_str()),
        Some("playbook_on_start")
    );
    assert_eq!(
        events.last().map(|e| e.event.as_str()),
        Some("playbook_on_stats")
    );
    assert!(events.iter().any(|e| e.stdout.contains("hello-rawx")));
    // Lines are contiguous, as `awx ... --monitor` needs them.
    for pair in events.windows(2) {
        assert_eq!(
            pair[0].end_line, pair[1].start_line,
            "gap between {} and {}",
            pair[0].counter, pair[1].counter
        );
    }
    assert!(
        events
            .iter()
            .any(|e| e.event == "runner_on_ok" && e.changed && e.host_name == "localhost")
    );
}

#[tokio::test]
async fn a_failing_task_fails_the_run() {
    let (events, statuses) =
        run("- hosts: all\n  gather_facts: false\n  tasks:\n    - fail: msg=boom\n").await;
    assert_eq!(statuses.last().map(String::as_str), Some("failed"));
    assert!(
        events
            .iter()
            .any(|e| e.event == "runner_on_failed" && e.failed)
    );
    let stats = events.last().expect("stats");
    assert!(stats.event == "playbook_on_stats" && stats.failed);
}
