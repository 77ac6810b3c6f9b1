//! Launch prompts, survey answers and relaunch, end to end: what a template
//! asks for reaches the job and its run, what it does not ask for is
//! ignored, bad answers are 400s naming them, survey passwords stay
//! encrypted, and a relaunch repeats the job (or only its failed hosts).

mod common;

use common::api::{Api, Node};
use serde_json::{Value, json};

const PLAYBOOK: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=\"size={{ size }} count={{ count }} secret={{ secret | upper }}\"\n      tags: [shown]\n    - debug: msg=skipped-task\n      tags: [hidden]\n    - fail: msg=boom\n      when: inventory_hostname == 'bad'\n";

struct Fixture {
    org: Value,
    project: Value,
    inventory: Value,
}

async fn fixture(node: &Node, admin: &Api) -> Fixture {
    let dir = node.server.data_dir.path().join("projects/prompts");
    std::fs::create_dir_all(&dir).expect("project dir");
    std::fs::write(dir.join("site.yml"), PLAYBOOK).expect("playbook");
    let org = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let project = admin
        .create("/api/v2/projects/", json!({"name": "prompts", "organization": org["id"], "scm_type": "", "local_path": "prompts"}))
        .await;
    let inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "two", "organization": org["id"]}),
        )
        .await;
    for name in ["good", "bad"] {
        admin.local_host(name, &inventory["id"]).await;
    }
    Fixture {
        org,
        project,
        inventory,
    }
}

fn survey() -> Value {
    json!({"name": "s", "description": "", "spec": [
        {"question_name": "Size", "variable": "size", "type": "multiplechoice", "choices": ["s", "m"],
         "required": true, "default": "s"},
        {"question_name": "Count", "variable": "count", "type": "integer", "min": 1, "max": 3,
         "required": true, "default": ""},
        {"question_name": "Secret", "variable": "secret", "type": "password", "min": 4,
         "required": true, "default": ""}
    ]})
}

#[tokio::test]
async fn prompts_and_survey_answers_reach_the_run() {
    let node = Node::start().await;
    let admin = node.admin();
    let f = fixture(&node, &admin).await;
    let mut body = json!({"name": "asks", "project": f.project["id"], "inventory": f.inventory["id"],
                          "playbook": "site.yml", "survey_enabled": true});
    for ask in [
        "ask_limit_on_launch",
        "ask_tags_on_launch",
        "ask_skip_tags_on_launch",
        "ask_job_type_on_launch",
        "ask_verbosity_on_launch",
        "ask_diff_mode_on_launch",
        "ask_forks_on_launch",
        "ask_timeout_on_launch",
        "ask_inventory_on_launch",
    ] {
        body[ask] = json!(true);
    }
    let template = admin.create("/api/v2/job_templates/", body).await;
    let url = template["url"].as_str().expect("url").to_string();
    let (status, saved) = admin.post(&format!("{url}survey_spec/"), survey()).await;
    assert_eq!(status, 200, "{saved}");
    let launch = format!("{url}launch/");

    let (status, described) = admin.get(&launch).await;
    assert_eq!(status, 200);
    assert_eq!(
        described["variables_needed_to_start"],
        json!(["size", "count", "secret"])
    );
    assert_eq!(described["defaults"]["inventory"]["id"], f.inventory["id"]);
    let (_, options) = admin.options(&launch).await;
    for field in ["job_type", "verbosity", "credentials", "job_tags"] {
        assert!(
            options["actions"]["POST"].get(field).is_some(),
            "{field}: {options}"
        );
    }

    // Bad answers: every problem named, nothing created.
    let (status, errors) = admin
        .post(
            &launch,
            json!({"extra_vars": {"size": "xl", "count": 7, "secret": "abc"}}),
        )
        .await;
    assert_eq!(status, 400, "{errors}");
    let messages = errors["variables_needed_to_start"].to_string();
    assert!(messages.contains("'size'"), "{messages}");
    assert!(
        messages.contains("'count' value 7 is too large"),
        "{messages}"
    );
    assert!(messages.contains("'secret'"), "{messages}");
    let (status, errors) = admin
        .post(&launch, json!({"extra_vars": {"count": 2}}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        errors["variables_needed_to_start"],
        json!(["'secret' value missing"])
    );
    let (status, errors) = admin
        .post(
            &launch,
            json!({"extra_vars": {"count": 2, "secret": "hunter-two"}, "verbosity": 9, "job_type": "scan",
                   "inventory": 999_999}),
        )
        .await;
    assert_eq!(status, 400, "{errors}");
    for field in ["verbosity", "job_type", "inventory"] {
        assert!(errors.get(field).is_some(), "{field}: {errors}");
    }
    let (_, jobs) = admin.get("/api/v2/jobs/").await;
    assert_eq!(jobs["count"], 0, "a refused launch created a job");

    let (status, launched) = admin
        .post(
            &launch,
            json!({"extra_vars": {"count": 2, "secret": "hunter-two"}, "limit": "good",
                   "job_tags": "shown", "skip_tags": "hidden", "job_type": "run", "verbosity": 1,
                   "diff_mode": true, "forks": 3, "timeout": 600, "scm_branch": "ignored"}),
        )
        .await;
    assert_eq!(status, 201, "{launched}");
    assert_eq!(launched["ignored_fields"], json!({"scm_branch": "ignored"}));
    for (field, value) in [
        ("limit", json!("good")),
        ("job_tags", json!("shown")),
        ("skip_tags", json!("hidden")),
        ("verbosity", json!(1)),
        ("diff_mode", json!(true)),
        ("forks", json!(3)),
        ("timeout", json!(600)),
    ] {
        assert_eq!(launched[field], value, "{field}");
    }
    let shown: Value =
        serde_json::from_str(launched["extra_vars"].as_str().expect("vars")).expect("json");
    assert_eq!(shown["secret"], "$encrypted$");
    assert_eq!(
        launched["survey_passwords"],
        json!({"secret": "$encrypted$"})
    );
    assert_eq!(shown["size"], "s");
    let job_url = launched["url"].as_str().expect("url").to_string();
    let job = admin.finished(&job_url).await;
    assert_eq!(job["status"], "successful", "{job}");
    let stdout = admin.text(&format!("{job_url}stdout/?format=txt")).await;
    assert!(stdout.contains("secret=HUNTER-TWO"), "{stdout}");
    assert!(stdout.contains("size=s count=2"), "{stdout}");
    assert!(!stdout.contains("hunter-two"), "{stdout}");
    assert!(!stdout.contains("skipped-task"), "{stdout}");
    let (_, detail) = admin.get(&job_url).await;
    assert!(!detail.to_string().contains("hunter-two"));
    // Encrypted at rest.
    let client = node.db.client().await;
    let stored: Value = client
        .query_one(
            "SELECT survey_passwords FROM jobs WHERE id = $1",
            &[&job["id"].as_i64().expect("id")],
        )
        .await
        .expect("row")
        .get(0);
    assert!(
        stored["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("$encrypted$") && !s.contains("hunter")),
        "{stored}"
    );

    // A relaunch repeats the values the job ran with, password included.
    let (status, relaunched) = admin.post(&format!("{job_url}relaunch/"), json!({})).await;
    assert_eq!(status, 201, "{relaunched}");
    assert_eq!(relaunched["launch_type"], "relaunch");
    assert_eq!(relaunched["limit"], "good");
    assert_eq!(relaunched["job_tags"], "shown");
    let again = admin
        .finished(relaunched["url"].as_str().expect("url"))
        .await;
    assert_eq!(again["status"], "successful", "{again}");
    let stdout = admin
        .text(&format!(
            "{}stdout/?format=txt",
            again["url"].as_str().expect("url")
        ))
        .await;
    assert!(stdout.contains("secret=HUNTER-TWO"), "{stdout}");
    let (status, refused) = admin
        .post(&format!("{job_url}relaunch/"), json!({"hosts": "failed"}))
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.get("hosts").is_some());
}

#[tokio::test]
async fn unasked_prompts_are_ignored_and_failed_hosts_relaunch_alone() {
    let node = Node::start().await;
    let admin = node.admin();
    let f = fixture(&node, &admin).await;
    let template = admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": "plain", "project": f.project["id"], "inventory": f.inventory["id"],
                   "playbook": "site.yml",
                   "extra_vars": "size: m\ncount: 1\nsecret: open"}),
        )
        .await;
    let url = template["url"].as_str().expect("url").to_string();
    let (status, launched) = admin
        .post(
            &format!("{url}launch/"),
            json!({"job_type": "check", "limit": "good", "credentials": [1], "extra_vars": {"x": 1}}),
        )
        .await;
    assert_eq!(status, 201, "{launched}");
    assert_eq!(
        launched["ignored_fields"],
        json!({"job_type": "check", "limit": "good", "credentials": [1], "extra_vars": {"x": 1}})
    );
    assert_eq!(launched["job_type"], "run");
    let job_url = launched["url"].as_str().expect("url").to_string();
    let job = admin.finished(&job_url).await;
    // `bad` fails its task; `good` passes.
    assert_eq!(job["status"], "failed", "{job}");
    // The hosts and their inventory show the failure from the last job.
    let (_, hosts) = admin
        .get(&format!(
            "/api/v2/inventories/{}/hosts/?order_by=name",
            f.inventory["id"]
        ))
        .await;
    let flags: Vec<(Value, Value)> = hosts["results"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| (h["name"].clone(), h["has_active_failures"].clone()))
        .collect();
    assert_eq!(
        flags,
        vec![(json!("bad"), json!(true)), (json!("good"), json!(false))],
        "{hosts}"
    );
    let (_, inventory) = admin.get(f.inventory["url"].as_str().expect("url")).await;
    assert_eq!(inventory["has_active_failures"], true, "{inventory}");
    assert_eq!(inventory["hosts_with_active_failures"], 1, "{inventory}");

    let (status, counts) = admin.get(&format!("{job_url}relaunch/")).await;
    assert_eq!(status, 200);
    assert_eq!(counts["retry_counts"], json!({"all": 2, "failed": 1}));
    let (status, relaunched) = admin
        .post(&format!("{job_url}relaunch/"), json!({"hosts": "failed"}))
        .await;
    assert_eq!(status, 201, "{relaunched}");
    assert_eq!(relaunched["limit"], "bad");
    let again = admin
        .finished(relaunched["url"].as_str().expect("url"))
        .await;
    assert_eq!(again["status"], "failed");
    let (_, summaries) = admin
        .get(&format!(
            "{}job_host_summaries/",
            again["url"].as_str().expect("url")
        ))
        .await;
    assert_eq!(summaries["count"], 1, "{summaries}");

    // A branch prompt needs a project that allows overrides.
    let asks_branch = admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": "branchy", "project": f.project["id"], "inventory": f.inventory["id"],
                   "playbook": "site.yml", "ask_scm_branch_on_launch": true}),
        )
        .await;
    let (status, errors) = admin
        .post(
            &format!("{}launch/", asks_branch["url"].as_str().expect("url")),
            json!({"scm_branch": "dev"}),
        )
        .await;
    assert_eq!(status, 400, "{errors}");
    assert!(errors.get("scm_branch").is_some(), "{errors}");
    let _ = f.org;
}
