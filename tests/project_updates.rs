//! Projects from real git repositories: updates with their own events and
//! stdout, jobs on the exact revision, update on launch with a cache
//! timeout, a failing update failing its dependent job, branch override,
//! and the TaskManager's blocking and capacity rules.

mod common;

use std::path::Path;
use std::time::Duration;

use common::api::{Api, Node};
use common::git;
use serde_json::{Value, json};

fn playbook(message: &str) -> String {
    format!("- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg={message}\n")
}

/// A git repository with `site.yml` printing `message`; returns its HEAD.
fn commit(repo: &Path, message: &str) -> String {
    std::fs::write(repo.join("site.yml"), playbook(message)).expect("write");
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message]);
    git(repo, &["rev-parse", "HEAD"])
}

fn new_repo(dir: &Path) -> std::path::PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).expect("repo dir");
    git(&repo, &["init", "-q", "-b", "main"]);
    repo
}

async fn localhost_inventory(admin: &Api, org: &Value) -> Value {
    let inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "local", "organization": org["id"]}),
        )
        .await;
    admin.local_host("localhost", &inventory["id"]).await;
    inventory
}

async fn launch(admin: &Api, template: &Value) -> Value {
    let url = format!("{}launch/", template["url"].as_str().expect("url"));
    let (status, launched) = admin.post(&url, json!({})).await;
    assert_eq!(status, 201, "{launched}");
    launched
}

#[tokio::test]
async fn a_git_project_updates_and_its_jobs_run_the_revision() {
    let node = Node::start().await;
    let admin = node.admin();
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = new_repo(dir.path());
    let first = commit(&repo, "hello-from-first");
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    let feature = commit(&repo, "hello-from-feature");
    git(&repo, &["checkout", "-q", "main"]);

    let org = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    // Creating an SCM project updates it at once, as AWX does.
    let project = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "git-demo", "organization": org["id"], "scm_type": "git",
                   "scm_url": format!("file://{}", repo.display()), "scm_branch": "main",
                   "allow_override": true}),
        )
        .await;
    let project_url = project["url"].as_str().expect("url").to_string();
    let project = admin
        .until(&project_url, "first update", |p| {
            p["status"] == "successful"
        })
        .await;
    assert_eq!(project["scm_revision"], first);
    let (_, updates) = admin.get(&format!("{project_url}project_updates/")).await;
    assert_eq!(updates["count"], 1, "{updates}");
    let update = &updates["results"][0];
    assert_eq!(update["status"], "successful");
    assert_eq!(update["scm_revision"], first);
    let update_url = update["url"].as_str().expect("url").to_string();
    let (status, events) = admin.get(&format!("{update_url}events/")).await;
    assert_eq!(status, 200);
    assert!(events["count"].as_i64().unwrap_or_default() > 3, "{events}");
    let stdout = admin.text(&format!("{update_url}stdout/?format=txt")).await;
    assert!(stdout.contains("Update the project using git"), "{stdout}");
    let (_, playbooks) = admin.get(&format!("{project_url}playbooks/")).await;
    assert_eq!(playbooks, json!(["site.yml"]));
    let (_, inventories) = admin.get(&format!("{project_url}inventories/")).await;
    assert_eq!(inventories, json!([]));

    // A job runs the project's revision even after the repository moved on.
    let inventory = localhost_inventory(&admin, &org).await;
    commit(&repo, "hello-from-second");
    let template = admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": "from-git", "project": project["id"], "inventory": inventory["id"],
                   "playbook": "site.yml"}),
        )
        .await;
    let launched = launch(&admin, &template).await;
    let job = admin.finished(launched["url"].as_str().expect("url")).await;
    assert_eq!(job["status"], "successful", "{job}");
    assert_eq!(job["scm_revision"], first);
    let stdout = admin
        .text(&format!(
            "{}stdout/?format=txt",
            job["url"].as_str().expect("url")
        ))
        .await;
    assert!(stdout.contains("hello-from-first"), "{stdout}");

    // A manual update fetches the new commit.
    let (status, can) = admin.get(&format!("{project_url}update/")).await;
    assert_eq!(
        (status.as_u16(), can["can_update"].clone()),
        (200, json!(true))
    );
    let (status, started) = admin
        .post(&format!("{project_url}update/"), json!({}))
        .await;
    assert_eq!(status, 202, "{started}");
    let update = admin.finished(started["url"].as_str().expect("url")).await;
    assert_eq!(update["status"], "successful", "{update}");
    let second = git(&repo, &["rev-parse", "main"]);
    assert_eq!(update["scm_revision"], second);

    // A template may run another branch where the project allows it.
    let (status, patched) = admin
        .patch(
            template["url"].as_str().expect("url"),
            json!({"scm_branch": "feature"}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let launched = launch(&admin, &template).await;
    let job = admin.finished(launched["url"].as_str().expect("url")).await;
    assert_eq!(job["status"], "successful", "{job}");
    assert_eq!(job["scm_revision"], feature);
    let stdout = admin
        .text(&format!(
            "{}stdout/?format=txt",
            job["url"].as_str().expect("url")
        ))
        .await;
    assert!(stdout.contains("hello-from-feature"), "{stdout}");

    // Manual projects cannot be updated.
    let manual = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "manual", "organization": org["id"], "scm_type": "", "local_path": ""}),
        )
        .await;
    let (status, _) = admin
        .post(
            &format!("{}update/", manual["url"].as_str().expect("url")),
            json!({}),
        )
        .await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn update_on_launch_honours_the_cache_timeout_and_a_failed_update_fails_the_job() {
    let node = Node::start().await;
    let admin = node.admin();
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = new_repo(dir.path());
    let first = commit(&repo, "hello-one");
    let org = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let project = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "on-launch", "organization": org["id"], "scm_type": "git",
                   "scm_url": format!("file://{}", repo.display()),
                   "scm_update_on_launch": true, "scm_update_cache_timeout": 3600}),
        )
        .await;
    let project_url = project["url"].as_str().expect("url").to_string();
    admin
        .until(&project_url, "first update", |p| {
            p["status"] == "successful"
        })
        .await;
    let inventory = localhost_inventory(&admin, &org).await;
    let template = admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": "on-launch", "project": project["id"], "inventory": inventory["id"],
                   "playbook": "site.yml"}),
        )
        .await;

    // Within the cache timeout: no new update, the cached revision runs.
    let second = commit(&repo, "hello-two");
    let launched = launch(&admin, &template).await;
    let job = admin.finished(launched["url"].as_str().expect("url")).await;
    assert_eq!(job["status"], "successful", "{job}");
    assert_eq!(job["scm_revision"], first);
    let (_, updates) = admin.get(&format!("{project_url}project_updates/")).await;
    assert_eq!(updates["count"], 1);

    // Past it (timeout 0: always), the launch updates the project first.
    admin
        .patch(&project_url, json!({"scm_update_cache_timeout": 0}))
        .await;
    let launched = launch(&admin, &template).await;
    let job = admin.finished(launched["url"].as_str().expect("url")).await;
    assert_eq!(job["status"], "successful", "{job}");
    assert_eq!(job["scm_revision"], second);
    let (_, updates) = admin
        .get(&format!("{project_url}project_updates/?order_by=-id"))
        .await;
    assert_eq!(updates["count"], 2);
    assert_eq!(updates["results"][0]["launch_type"], "dependency");

    // A bad URL fails the update, and the job that needed it.
    let (status, patched) = admin
        .patch(
            &project_url,
            json!({"scm_url": format!("file://{}/missing", dir.path().display())}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let launched = launch(&admin, &template).await;
    let job = admin.finished(launched["url"].as_str().expect("url")).await;
    assert_eq!(job["status"], "failed", "{job}");
    let explanation = job["job_explanation"].as_str().unwrap_or_default();
    assert!(
        explanation.starts_with("Previous Task Failed: {\"job_type\": \"project_update\""),
        "{explanation}"
    );
    let (_, updates) = admin
        .get(&format!("{project_url}project_updates/?order_by=-id"))
        .await;
    let update = &updates["results"][0];
    assert_eq!(update["status"], "failed", "{update}");
    let stdout = admin
        .text(&format!(
            "{}stdout/?format=txt",
            update["url"].as_str().expect("url")
        ))
        .await;
    assert!(stdout.contains("fatal"), "{stdout}");
    let (_, project) = admin.get(&project_url).await;
    assert_eq!(project["status"], "failed");
    assert_eq!(project["scm_revision"], second);
}

/// A slow playbook, so runs overlap.
const SLOW: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - pause: seconds=3\n";

#[tokio::test]
async fn blocking_and_capacity_hold_jobs_back_until_they_can_run() {
    let node = Node::start().await;
    let admin = node.admin();
    let dir = node.server.data_dir.path().join("projects/slow");
    std::fs::create_dir_all(&dir).expect("project dir");
    std::fs::write(dir.join("slow.yml"), SLOW).expect("playbook");
    let org = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let project = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "slow", "organization": org["id"], "scm_type": "", "local_path": "slow"}),
        )
        .await;
    let inventory = localhost_inventory(&admin, &org).await;
    let template = admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": "one-at-a-time", "project": project["id"], "inventory": inventory["id"],
                   "playbook": "slow.yml"}),
        )
        .await;

    // Without allow_simultaneous, two launches run one after the other.
    let first = launch(&admin, &template).await;
    let second = launch(&admin, &template).await;
    let first = admin.finished(first["url"].as_str().expect("url")).await;
    let second = admin.finished(second["url"].as_str().expect("url")).await;
    assert_eq!(first["status"], "successful", "{first}");
    assert_eq!(second["status"], "successful", "{second}");
    assert!(
        second["started"].as_str() >= first["finished"].as_str(),
        "{first} {second}"
    );

    // With room for one job only, the second stays pending while the first
    // runs. Capacity: the smaller of CPU and memory capacity (adjustment 0);
    // a job's impact: 1 + min(forks, hosts).
    let (_, instances) = admin.get("/api/v2/instances/").await;
    let instance = &instances["results"][0];
    let instance_url = instance["url"].as_str().expect("url").to_string();
    let (status, patched) = admin
        .patch(&instance_url, json!({"capacity_adjustment": 0}))
        .await;
    assert_eq!(status, 200, "{patched}");
    let capacity = instance["cpu_capacity"]
        .as_i64()
        .min(instance["mem_capacity"].as_i64())
        .expect("capacity");
    let hosts = capacity / 2 + 1;
    let wide = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "wide", "organization": org["id"]}),
        )
        .await;
    for n in 0..hosts {
        admin.local_host(&format!("h{n}"), &wide["id"]).await;
    }
    let parallel = admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": "parallel", "project": project["id"], "inventory": wide["id"],
                   "playbook": "slow.yml", "allow_simultaneous": true, "forks": hosts}),
        )
        .await;
    let first = launch(&admin, &parallel).await;
    let first_url = first["url"].as_str().expect("url").to_string();
    admin
        .until(&first_url, "first job running", |j| {
            j["status"] == "running"
        })
        .await;
    let second = launch(&admin, &parallel).await;
    let second_url = second["url"].as_str().expect("url").to_string();
    // Passes run on every launch: the second job is decided by now, and
    // stays pending as long as the first runs.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, now_first) = admin.get(&first_url).await;
    let (_, now_second) = admin.get(&second_url).await;
    if now_first["status"] == "running" {
        assert_eq!(now_second["status"], "pending", "{now_second}");
    }
    let first = admin.finished(&first_url).await;
    let second = admin.finished(&second_url).await;
    assert_eq!(first["status"], "successful", "{first}");
    assert_eq!(second["status"], "successful", "{second}");
    assert!(
        second["started"].as_str() >= first["finished"].as_str(),
        "{first} {second}"
    );
}
