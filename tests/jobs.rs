//! The canonical workflow to its end: a template launched over HTTP runs
//! a real playbook through ansible-runner, its events land in order, its
//! status and stdout say what happened.

mod common;

use std::time::{Duration, Instant};

use common::api::{Api, Node};
use serde_json::{Value, json};

const PLAYBOOK: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: say hello\n      debug: msg=hello-rawx\n    - name: change something\n      command: echo changed\n";
const FAILING: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - fail: msg=boom-rawx\n";

/// A template on a manual project whose files are `playbooks`.
async fn template(node: &Node, admin: &Api, playbooks: &[(&str, &str)]) -> Value {
    let dir = node.server.data_dir.path().join("projects/demo");
    std::fs::create_dir_all(&dir).expect("project dir");
    for (name, text) in playbooks {
        std::fs::write(dir.join(name), text).expect("playbook");
    }
    let org = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let project = admin
        .create("/api/v2/projects/", json!({"name": "demo", "organization": org["id"], "scm_type": "", "local_path": "demo"}))
        .await;
    let inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "local", "organization": org["id"]}),
        )
        .await;
    admin.local_host("localhost", &inventory["id"]).await;
    admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": "hello", "project": project["id"], "inventory": inventory["id"], "playbook": playbooks[0].0,
                   "ask_limit_on_launch": true}),
        )
        .await
}

/// Waits (bounded) until no process matches `pattern`.
async fn wait_gone(pattern: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while common::process_running(pattern) {
        assert!(
            Instant::now() < deadline,
            "a process of the {what} run is still alive"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls the job until its events are all stored (bounded).
async fn finished(admin: &Api, url: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (status, job) = admin.get(url).await;
        assert_eq!(status, 200, "{job}");
        if job["event_processing_finished"] == true {
            return job;
        }
        assert!(Instant::now() < deadline, "job did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_launched_job_runs_its_playbook() {
    let node = Node::start().await;
    let admin = node.admin();
    let template = template(
        &node,
        &admin,
        &[("site.yml", PLAYBOOK), ("fail.yml", FAILING)],
    )
    .await;
    let launch_url = format!("{}launch/", template["url"].as_str().expect("url"));

    let (status, described) = admin.get(&launch_url).await;
    assert_eq!(status, 200);
    assert_eq!(described["can_start_without_user_input"], true);
    assert_eq!(described["ask_limit_on_launch"], true);

    let (status, launched) = admin
        .post(
            &launch_url,
            json!({"limit": "localhost", "job_tags": "nope", "extra_vars": {"x": 1}}),
        )
        .await;
    assert_eq!(status, 201, "{launched}");
    let job_id = launched["job"].as_i64().expect("job id");
    assert_eq!(launched["id"], job_id);
    assert_eq!(launched["type"], "job");
    assert_eq!(launched["ignored_fields"]["job_tags"], "nope");
    assert_eq!(launched["ignored_fields"]["extra_vars"], json!({"x": 1}));
    let url = launched["url"].as_str().expect("url").to_string();

    let job = finished(&admin, &url).await;
    assert_eq!(job["status"], "successful", "{job}");
    assert_eq!(job["failed"], false);
    assert_eq!(job["limit"], "localhost");
    // The template's own record of its last run (the launch announcer's
    // and the finish's writes).
    let (_, template_now) = admin
        .get(template["url"].as_str().expect("template url"))
        .await;
    assert_eq!(template_now["status"], "successful", "{template_now}");
    assert_eq!(template_now["last_job_failed"], false);
    assert!(template_now["last_job_run"].is_string(), "{template_now}");
    // Its summary shows the run as AWX's does: last_job and recent_jobs.
    let summary = &template_now["summary_fields"];
    assert_eq!(summary["last_job"]["id"], job["id"], "{summary}");
    assert_eq!(summary["last_job"]["status"], "successful", "{summary}");
    assert_eq!(summary["last_job"]["failed"], false, "{summary}");
    assert_eq!(summary["recent_jobs"][0]["id"], job["id"], "{summary}");
    assert_eq!(summary["recent_jobs"][0]["type"], "job", "{summary}");
    assert!(
        summary["recent_jobs"][0]["finished"].is_string(),
        "{summary}"
    );
    assert!(job["started"].is_string() && job["finished"].is_string());
    assert!(
        !job["execution_node"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );

    let (_, events) = admin
        .get(&format!("{url}job_events/?page_size=200&order_by=counter"))
        .await;
    let list = events["results"].as_array().expect("events");
    let counters: Vec<i64> = list
        .iter()
        .map(|e| e["counter"].as_i64().unwrap_or_default())
        .collect();
    assert_eq!(
        counters,
        (1..=counters.len() as i64).collect::<Vec<_>>(),
        "counters 1..N"
    );
    assert_eq!(
        list.first().map(|e| e["event"].clone()),
        Some(json!("playbook_on_start"))
    );
    assert_eq!(
        list.last().map(|e| e["event"].clone()),
        Some(json!("playbook_on_stats"))
    );
    let (_, changed) = admin
        .get(&format!("{url}job_events/?event=runner_on_ok&changed=true"))
        .await;
    assert_eq!(changed["count"], 1, "{changed}");

    let stdout = admin
        .request(reqwest::Method::GET, &format!("{url}stdout/?format=txt"))
        .send()
        .await
        .expect("stdout")
        .text()
        .await
        .expect("text");
    assert!(stdout.contains("hello-rawx"), "{stdout}");
    assert!(!stdout.contains('\u{1b}'), "txt has no ANSI codes");
    let summaries: i64 = node
        .db
        .client()
        .await
        .query_one(
            "SELECT ok FROM job_host_summaries WHERE job_id = $1 AND host_name = 'localhost'",
            &[&job_id],
        )
        .await
        .expect("summary")
        .get::<_, i32>(0)
        .into();
    assert_eq!(summaries, 2);
    let (_, summaries) = admin.get(&format!("{url}job_host_summaries/")).await;
    assert_eq!(summaries["results"][0]["host_name"], "localhost");
    assert_eq!(summaries["results"][0]["ok"], 2);
    let host = summaries["results"][0]["host"]
        .as_i64()
        .expect("the summary names the host");
    let (_, host_events) = admin
        .get(&format!(
            "/api/v2/hosts/{host}/job_events/?event=runner_on_ok"
        ))
        .await;
    assert_eq!(host_events["count"], 2, "{host_events}");

    // A failing task fails the job.
    let (status, body) = admin
        .patch(
            template["url"].as_str().expect("url"),
            json!({"playbook": "fail.yml"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, failing) = admin.post(&launch_url, json!({})).await;
    let job = finished(&admin, failing["url"].as_str().expect("url")).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["failed"], true);
}

#[tokio::test]
async fn the_awx_cli_launches_and_monitors_a_job() {
    let node = Node::start().await;
    let admin = node.admin();
    let template = template(&node, &admin, &[("site.yml", PLAYBOOK)]).await;
    let venv = std::env::var_os("RAWX_VENV")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache/rawx/venv"))
        })
        .expect("venv");
    let id = template["id"].to_string();
    let output = tokio::process::Command::new(venv.join("bin/awx"))
        .args([
            "--conf.color",
            "false",
            "job_templates",
            "launch",
            &id,
            "--monitor",
            "--interval",
            "1",
            "-f",
            "human",
        ])
        .env("CONTROLLER_HOST", &node.server.base)
        .env("CONTROLLER_USERNAME", "admin")
        .env("CONTROLLER_PASSWORD", common::api::ADMIN_PASSWORD)
        .env_remove("CONTROLLER_OAUTH_TOKEN")
        .output()
        .await
        .expect("awx");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "awx failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("hello-rawx"),
        "the monitor printed the playbook's output:\n{stdout}"
    );

    let (_, jobs) = admin.get("/api/v2/jobs/").await;
    let job = jobs["results"][0]["id"].to_string();
    let printed = tokio::process::Command::new(venv.join("bin/awx"))
        .args(["--conf.color", "false", "jobs", "stdout", &job])
        .env("CONTROLLER_HOST", &node.server.base)
        .env("CONTROLLER_USERNAME", "admin")
        .env("CONTROLLER_PASSWORD", common::api::ADMIN_PASSWORD)
        .output()
        .await
        .expect("awx");
    assert!(String::from_utf8_lossy(&printed.stdout).contains("hello-rawx"));
}

#[tokio::test]
async fn jobs_stranded_by_a_stop_are_failed_on_restart() {
    let db = common::TestDb::create().await;
    let redis = common::redis_url();
    let env = [
        ("RAWX_DATABASE_URL", db.url.as_str()),
        ("RAWX_REDIS_URL", redis.as_str()),
        ("RAWX_NODE_NAME", "reaper-node"),
    ];
    let mut server = common::Server::start(&env);
    server.wait_ready(Duration::from_secs(60)).await;
    assert!(server.terminate().success());
    // As if the node had died while running a job.
    let client = db.client().await;
    let id: i64 = client
        .query_one(
            "INSERT INTO unified_jobs (kind, name, status, started, controller_node, execution_node)
             VALUES ('job', 'stranded', 'running', now(), 'reaper-node', 'reaper-node') RETURNING id",
            &[],
        )
        .await
        .expect("job")
        .get(0);
    client
        .execute("INSERT INTO jobs (id) VALUES ($1)", &[&id])
        .await
        .expect("job row");
    let mut server = common::Server::start(&env);
    server.wait_ready(Duration::from_secs(60)).await;
    let row = client
        .query_one("SELECT status, job_explanation, event_processing_finished FROM unified_jobs WHERE id = $1", &[&id])
        .await
        .expect("job");
    let (status, explanation, done): (String, String, bool) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        (status.as_str(), explanation.as_str(), done),
        ("failed", "Job reaped due to instance shutdown", true)
    );
    assert!(server.terminate().success());
}

/// A node that crashes mid-run fails the run when it comes back, as AWX's
/// reaper does, stops what the run left running, and releases the run's
/// work unit: its own executor kept the unit's files for a reader that
/// will not come.
#[tokio::test]
async fn a_crash_fails_the_running_job_and_releases_its_unit() {
    let mut node = Node::start().await;
    let admin = node.admin();
    let sleeping = "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sleep 4821\n";
    let template = template(&node, &admin, &[("sleep.yml", sleeping)]).await;
    let launch_url = format!("{}launch/", template["url"].as_str().expect("url"));
    let (_, launched) = admin.post(&launch_url, json!({})).await;
    let id = launched["id"].as_i64().expect("job id");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !common::process_running("sleep 4821") {
        assert!(Instant::now() < deadline, "the task never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let db = node.db.client().await;
    let unit: String = loop {
        let unit: Option<String> = db
            .query_one(
                "SELECT work_unit_id FROM unified_jobs WHERE id = $1",
                &[&id],
            )
            .await
            .expect("job")
            .get(0);
        if let Some(unit) = unit {
            break unit;
        }
        assert!(Instant::now() < deadline, "the run has no work unit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let unit_dir = node.server.data_dir.path().join("mesh/units").join(&unit);
    assert!(unit_dir.is_dir(), "{} missing", unit_dir.display());

    node.server.crash_and_restart();
    node.server.wait_ready(Duration::from_secs(60)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let row = db
            .query_one(
                "SELECT status, job_explanation FROM unified_jobs WHERE id = $1",
                &[&id],
            )
            .await
            .expect("job");
        let (status, explanation): (String, String) = (row.get(0), row.get(1));
        if status == "failed" && !unit_dir.exists() {
            assert_eq!(explanation, "Job reaped due to instance shutdown");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "job {status}, unit dir there: {}\n{}",
            unit_dir.exists(),
            node.server.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The crash left the run's processes going; the restarted node stops
    // them (and removes the private data dir with its secrets).
    let deadline = Instant::now() + Duration::from_secs(30);
    while common::process_running("sleep 4821") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let left = common::process_running("sleep 4821");
    let _ = std::process::Command::new("pkill")
        .args(["-f", "sleep 4821"])
        .status();
    assert!(!left, "the crashed run's task is still running");
    let pdd = node
        .server
        .data_dir
        .path()
        .join("jobs")
        .join(id.to_string());
    assert!(!pdd.exists(), "{} left behind", pdd.display());
}

#[tokio::test]
async fn a_canceled_job_stops_and_leaves_no_process() {
    let node = Node::start().await;
    let admin = node.admin();
    // A sleep long enough to outlive the test, with a duration no other test uses.
    let sleeping = "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sleep 4817\n";
    let template = template(&node, &admin, &[("sleep.yml", sleeping)]).await;
    let launch_url = format!("{}launch/", template["url"].as_str().expect("url"));
    let (_, launched) = admin.post(&launch_url, json!({})).await;
    let url = launched["url"].as_str().expect("url").to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Wait until the task is really running.
    while !common::process_running("sleep 4817") {
        assert!(Instant::now() < deadline, "the task never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, can) = admin.get(&format!("{url}cancel/")).await;
    assert_eq!(
        (status.as_u16(), can["can_cancel"].clone()),
        (200, json!(true))
    );
    let (status, _) = admin.post(&format!("{url}cancel/"), json!({})).await;
    assert_eq!(status, 202);
    let job = finished(&admin, &url).await;
    assert_eq!(job["status"], "canceled", "{job}");
    assert_eq!(job["failed"], true);
    // Nothing of the run survives the cancel, forks included.
    wait_gone("sleep 4817", "canceled").await;
    let (status, can) = admin.get(&format!("{url}cancel/")).await;
    assert_eq!(
        (status.as_u16(), can["can_cancel"].clone()),
        (200, json!(false))
    );
    assert_eq!(admin.post(&format!("{url}cancel/"), json!({})).await.0, 405);
}

#[tokio::test]
async fn a_job_past_its_timeout_fails_and_leaves_no_process() {
    let node = Node::start().await;
    let admin = node.admin();
    let sleeping = "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sleep 4818\n";
    let template = template(&node, &admin, &[("sleep.yml", sleeping)]).await;
    let template_url = template["url"].as_str().expect("url").to_string();
    assert_eq!(
        admin.patch(&template_url, json!({"timeout": 2})).await.0,
        200
    );
    let (_, launched) = admin
        .post(&format!("{template_url}launch/"), json!({}))
        .await;
    let job = finished(&admin, launched["url"].as_str().expect("url")).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["job_explanation"], "Job terminated due to timeout");
    wait_gone("sleep 4818", "timed-out").await;
}

#[tokio::test]
async fn an_unreachable_host_fails_the_job_and_is_marked_dark() {
    let node = Node::start().await;
    let admin = node.admin();
    let template = template(&node, &admin, &[("site.yml", PLAYBOOK)]).await;
    // Nothing listens on this port: ssh is refused at once.
    let closed = common::free_port();
    admin
        .create(
            "/api/v2/hosts/",
            json!({"name": "nowhere", "inventory": template["inventory"],
                   "variables": format!("ansible_host: 127.0.0.1\nansible_port: {closed}\nansible_connection: ssh\n")}),
        )
        .await;
    let launch_url = format!("{}launch/", template["url"].as_str().expect("url"));
    let (status, launched) = admin.post(&launch_url, json!({})).await;
    assert_eq!(status, 201, "{launched}");
    let url = launched["url"].as_str().expect("url").to_string();
    let job = finished(&admin, &url).await;
    let stdout = admin.text(&format!("{url}stdout/?format=txt")).await;
    assert_eq!(job["status"], "failed", "{job}\n{stdout}");
    assert_eq!(job["failed"], true);
    assert!(stdout.contains("UNREACHABLE"), "{stdout}");

    let (status, summaries) = admin
        .get(&format!("{url}job_host_summaries/?order_by=host_name"))
        .await;
    assert_eq!(status, 200, "{summaries}");
    assert_eq!(summaries["count"], 2, "{summaries}");
    let summary = |name: &str| {
        summaries["results"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["host_name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no summary for {name}: {summaries}"))
    };
    let nowhere = summary("nowhere");
    assert!(
        nowhere["dark"].as_i64().unwrap_or_default() >= 1,
        "{nowhere}"
    );
    assert_eq!(nowhere["failed"], true, "{nowhere}");
    // `debug` runs on the controller alone; `command` needs the host.
    assert_eq!(nowhere["ok"], 1, "{nowhere}");
    assert!(
        nowhere["host"].is_i64(),
        "the summary names the host: {nowhere}"
    );
    let localhost = summary("localhost");
    assert_eq!(localhost["ok"], 2, "{localhost}");
    assert_eq!(localhost["dark"], 0, "{localhost}");
    assert_eq!(localhost["failures"], 0, "{localhost}");
    assert_eq!(localhost["failed"], false, "{localhost}");

    let (_, unreachable) = admin
        .get(&format!("{url}job_events/?event=runner_on_unreachable"))
        .await;
    assert_eq!(unreachable["count"], 1, "{unreachable}");
    let event = &unreachable["results"][0];
    assert_eq!(event["host_name"], "nowhere", "{event}");
    assert_eq!(event["failed"], true, "{event}");
    assert_eq!(event["host"], nowhere["host"], "{event}");
}
