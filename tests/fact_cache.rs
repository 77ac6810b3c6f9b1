//! The fact cache round trip with the pinned ansible-core: a job gathers
//! facts and they are saved on the host; the next job reads them from the
//! cache without gathering; facts past the cache timeout are not restored.

mod common;

use common::api::{Api, Node};
use serde_json::{Value, json};

const GATHER: &str = "- hosts: all\n  gather_facts: true\n  gather_subset: [min]\n  tasks:\n    - set_fact:\n        custom_fact: 42\n        cacheable: true\n";
const USE: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=\"dist={{ ansible_distribution }} custom={{ custom_fact }}\"\n";

async fn template(
    admin: &Api,
    project: &Value,
    inventory: &Value,
    name: &str,
    playbook: &str,
) -> Value {
    admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": name, "project": project["id"], "inventory": inventory["id"],
                   "playbook": playbook, "use_fact_cache": true}),
        )
        .await
}

async fn run(admin: &Api, template: &Value) -> (Value, String) {
    let url = format!("{}launch/", template["url"].as_str().expect("url"));
    let (status, launched) = admin.post(&url, json!({})).await;
    assert_eq!(status, 201, "{launched}");
    let job = admin.finished(launched["url"].as_str().expect("url")).await;
    let stdout = admin
        .text(&format!("{}stdout/", job["url"].as_str().expect("url")))
        .await;
    (job, stdout)
}

#[tokio::test]
async fn facts_round_trip_through_the_cache() {
    let node = Node::start().await;
    let admin = node.admin();
    let dir = node.server.data_dir.path().join("projects/facts");
    std::fs::create_dir_all(&dir).expect("project dir");
    std::fs::write(dir.join("gather.yml"), GATHER).expect("playbook");
    std::fs::write(dir.join("use.yml"), USE).expect("playbook");
    let org = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let project = admin
        .create("/api/v2/projects/", json!({"name": "facts", "organization": org["id"], "scm_type": "", "local_path": "facts"}))
        .await;
    let inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "local", "organization": org["id"]}),
        )
        .await;
    let host = admin.local_host("localhost", &inventory["id"]).await;
    let facts_url = format!("{}ansible_facts/", host["url"].as_str().expect("url"));
    let (_, before) = admin.get(&facts_url).await;
    assert_eq!(before, json!({}));

    let gather = template(&admin, &project, &inventory, "gather", "gather.yml").await;
    let (job, stdout) = run(&admin, &gather).await;
    assert_eq!(job["status"], "successful", "{job} {stdout}");
    let (status, facts) = admin.get(&facts_url).await;
    assert_eq!(status, 200);
    let distribution = facts["ansible_distribution"].clone();
    assert!(distribution.is_string(), "{facts}");
    // Saved without ansible-core 2.19's origin tags.
    assert_eq!(facts["custom_fact"], 42, "{facts}");
    let (_, host_now) = admin.get(host["url"].as_str().expect("url")).await;
    assert!(host_now["ansible_facts_modified"].is_string(), "{host_now}");
    // The host shows the job among its recent jobs, as AWX's serializer does.
    assert_eq!(
        host_now["summary_fields"]["recent_jobs"][0]["id"], job["id"],
        "{host_now}"
    );

    // The next job reads them from the cache, gathering nothing.
    let uses = template(&admin, &project, &inventory, "use", "use.yml").await;
    let (job, stdout) = run(&admin, &uses).await;
    assert_eq!(job["status"], "successful", "{stdout}");
    let expected = format!(
        "dist={} custom=42",
        distribution.as_str().unwrap_or_default()
    );
    assert!(stdout.contains(&expected), "{stdout}");
    assert!(!stdout.contains("Gathering Facts"), "{stdout}");

    // Facts older than the cache timeout are not restored.
    let client = node.db.client().await;
    client
        .execute(
            "UPDATE settings SET value = '60' WHERE key = 'ANSIBLE_FACT_CACHE_TIMEOUT'",
            &[],
        )
        .await
        .expect("setting");
    client
        .execute(
            "UPDATE hosts SET ansible_facts_modified = now() - interval '1 hour' WHERE id = $1",
            &[&host["id"].as_i64().expect("id")],
        )
        .await
        .expect("age");
    let (job, stdout) = run(&admin, &uses).await;
    assert_eq!(
        job["status"], "failed",
        "stale facts were restored: {stdout}"
    );
    assert!(stdout.contains("custom_fact"), "{stdout}");
}
