//! What AWX checks beyond single fields: job templates against their
//! project, surveys, manual projects, smart inventories, credential owners,
//! and the named URLs of credentials.

mod common;

use common::api::{Api, Node};
use serde_json::{Value, json};

struct World {
    org: i64,
    inventory: i64,
    project: i64,
    git_project: i64,
}

async fn world(node: &Node, admin: &Api) -> World {
    // A manual project's files live under <data_dir>/projects/<local_path>.
    let dir = node.server.data_dir.path().join("projects/demo");
    std::fs::create_dir_all(dir.join("roles/x/tasks")).expect("project dir");
    std::fs::write(dir.join("site.yml"), "- hosts: all\n  tasks: []\n").expect("playbook");
    std::fs::write(dir.join("roles/x/tasks/main.yml"), "- debug: {}\n").expect("task file");
    let org = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let org = org["id"].as_i64().expect("id");
    let inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "prod", "organization": org}),
        )
        .await;
    let project = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "demo", "organization": org, "scm_type": "", "local_path": "demo"}),
        )
        .await;
    let git_project = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "git", "organization": org, "scm_type": "git", "scm_url": "file:///nowhere", "allow_override": true}),
        )
        .await;
    World {
        org,
        inventory: inventory["id"].as_i64().expect("id"),
        project: project["id"].as_i64().expect("id"),
        git_project: git_project["id"].as_i64().expect("id"),
    }
}

#[tokio::test]
async fn job_templates_are_checked_against_their_project() {
    let node = Node::start().await;
    let admin = node.admin();
    let w = world(&node, &admin).await;
    let (_, playbooks) = admin
        .get(&format!("/api/v2/projects/{}/playbooks/", w.project))
        .await;
    assert_eq!(playbooks, json!(["site.yml"]));

    let post = |body: Value| {
        let admin = admin.clone();
        async move { admin.post("/api/v2/job_templates/", body).await }
    };
    let (status, body) =
        post(json!({"name": "a", "inventory": w.inventory, "playbook": "site.yml"})).await;
    assert_eq!(
        (status.as_u16(), body["project"][0].as_str()),
        (400, Some("Job Templates must have a project assigned."))
    );
    let (status, body) =
        post(json!({"name": "a", "project": w.project, "playbook": "site.yml"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["inventory"].is_array());
    let (status, body) = post(json!({"name": "a", "project": w.project, "inventory": w.inventory, "playbook": "nope.yml"})).await;
    assert_eq!(
        (status.as_u16(), body["playbook"][0].as_str()),
        (400, Some("Playbook not found for project."))
    );
    let (status, body) =
        post(json!({"name": "a", "project": w.project, "inventory": w.inventory, "playbook": ""}))
            .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(json!({"name": "a", "project": w.project, "inventory": w.inventory, "playbook": "site.yml", "scm_branch": "dev"})).await;
    assert_eq!(
        status, 400,
        "the manual project does not allow overrides: {body}"
    );
    let (status, body) = post(json!({"name": "a", "project": w.project, "playbook": "site.yml", "ask_inventory_on_launch": true})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["organization"], w.org);
    let (status, body) = post(json!({"name": "b", "project": w.git_project, "inventory": w.inventory, "playbook": "any.yml", "scm_branch": "dev"})).await;
    assert_eq!(
        status, 201,
        "a project not yet synced cannot refuse a playbook: {body}"
    );
    let url = body["url"].as_str().expect("url").to_string();
    let (status, body) = admin.patch(&url, json!({"inventory": null})).await;
    assert_eq!(status, 400, "{body}");

    // One machine credential per template.
    let (_, machine) = admin.get("/api/v2/credential_types/Machine+ssh/").await;
    let mut ids = Vec::new();
    for name in ["m1", "m2"] {
        let credential = admin
            .create(
                "/api/v2/credentials/",
                json!({"name": name, "credential_type": machine["id"], "organization": w.org}),
            )
            .await;
        ids.push(credential["id"].clone());
    }
    assert_eq!(
        admin
            .post(&format!("{url}credentials/"), json!({"id": ids[0]}))
            .await
            .0,
        204
    );
    let (status, body) = admin
        .post(&format!("{url}credentials/"), json!({"id": ids[1]}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("Cannot assign multiple Machine credentials")
    );
}

#[tokio::test]
async fn surveys_are_validated_and_hide_password_defaults() {
    let node = Node::start().await;
    let admin = node.admin();
    let w = world(&node, &admin).await;
    let template = admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": "t", "project": w.project, "inventory": w.inventory, "playbook": "site.yml"}),
        )
        .await;
    let survey_url = format!("{}survey_spec/", template["url"].as_str().expect("url"));
    assert_eq!(admin.get(&survey_url).await.1, json!({}));
    let spec = json!({"name": "s", "description": "", "spec": [
        {"question_name": "Size", "variable": "size", "type": "integer", "required": true, "min": 1, "max": 10, "default": 3},
        {"question_name": "Color", "variable": "color", "type": "multiplechoice", "required": false, "choices": ["red", "blue"], "default": "red"},
        {"question_name": "Secret", "variable": "secret", "type": "password", "required": false, "default": "hunter2"},
    ]});
    let (status, body) = admin.post(&survey_url, spec.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (_, stored) = admin.get(&survey_url).await;
    assert_eq!(stored["spec"][2]["default"], "$encrypted$");
    assert_eq!(stored["spec"][0]["default"], 3);
    let client = node.db.client().await;
    let first = raw(&client).await;
    assert!(!first.contains("hunter2"), "{first}");
    // Sending the placeholder back keeps the stored default.
    let mut again = spec.clone();
    again["spec"][2]["default"] = json!("$encrypted$");
    assert_eq!(admin.post(&survey_url, again).await.0, 200);
    assert_eq!(raw(&client).await, first);

    for (why, bad) in [
        (
            "no name",
            json!({"description": "", "spec": spec["spec"].clone()}),
        ),
        (
            "spec not a list",
            json!({"name": "s", "description": "", "spec": {}}),
        ),
        (
            "duplicate variable",
            json!({"name": "s", "description": "", "spec": [spec["spec"][0].clone(), spec["spec"][0].clone()]}),
        ),
        (
            "bad type",
            json!({"name": "s", "description": "", "spec": [{"question_name": "q", "variable": "v", "type": "colour", "required": true}]}),
        ),
        (
            "default not a choice",
            json!({"name": "s", "description": "", "spec": [{"question_name": "q", "variable": "v", "type": "multiplechoice", "required": true, "choices": ["a"], "default": "b"}]}),
        ),
        (
            "default out of range",
            json!({"name": "s", "description": "", "spec": [{"question_name": "q", "variable": "v", "type": "integer", "required": true, "min": 1, "max": 2, "default": 9}]}),
        ),
        (
            "missing required",
            json!({"name": "s", "description": "", "spec": [{"question_name": "q", "variable": "v", "type": "text"}]}),
        ),
    ] {
        let (status, body) = admin.post(&survey_url, bad).await;
        assert_eq!(status, 400, "{why}: {body}");
        assert!(body["error"][0].is_string(), "{why}: {body}");
    }
    assert_eq!(raw(&client).await, first, "refused surveys change nothing");
    assert_eq!(admin.delete(&survey_url).await.0, 200);
    assert_eq!(admin.get(&survey_url).await.1, json!({}));
}

#[tokio::test]
async fn projects_inventories_and_credentials_follow_awx_rules() {
    let node = Node::start().await;
    let admin = node.admin();
    let w = world(&node, &admin).await;
    let (status, _) = admin
        .post("/api/v2/projects/", json!({"name": "m", "organization": w.org, "scm_type": "", "scm_update_on_launch": true}))
        .await;
    assert_eq!(status, 400, "manual projects keep update options off");
    let (status, _) = admin
        .post(
            "/api/v2/projects/",
            json!({"name": "g", "organization": w.org, "scm_type": "git"}),
        )
        .await;
    assert_eq!(status, 400, "git projects need a URL");

    let (status, _) = admin
        .post(
            "/api/v2/inventories/",
            json!({"name": "s", "organization": w.org, "kind": "smart"}),
        )
        .await;
    assert_eq!(status, 400, "smart inventories need a filter");
    let smart = admin
        .create("/api/v2/inventories/", json!({"name": "s", "organization": w.org, "kind": "smart", "host_filter": "name__icontains=web"}))
        .await;
    let (status, body) = admin
        .post(
            "/api/v2/hosts/",
            json!({"name": "h", "inventory": smart["id"]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        admin.delete(smart["url"].as_str().expect("url")).await.0,
        202
    );

    // Credentials: exactly one owner; a personal one by its owner.
    let (_, machine) = admin.get("/api/v2/credential_types/Machine+ssh/").await;
    let machine = machine["id"].as_i64().expect("Machine by named URL");
    let (status, body) = admin
        .post(
            "/api/v2/credentials/",
            json!({"name": "x", "credential_type": machine}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let alice = node.user("alice", "pw").await;
    let api = node.as_user("alice", "pw");
    let (status, mine) = api
        .post("/api/v2/credentials/", json!({"name": "mine", "credential_type": machine, "user": alice, "inputs": {"username": "a"}}))
        .await;
    assert_eq!(status, 201, "{mine}");
    assert_eq!(api.names("/api/v2/credentials/").await, ["mine"]);
    let (status, _) = admin
        .post(
            &format!("/api/v2/organizations/{}/users/", w.org),
            json!({"id": alice}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = api
        .post(
            "/api/v2/credentials/",
            json!({"name": "org", "credential_type": machine, "organization": w.org}),
        )
        .await;
    assert_eq!(status, 403, "a member, not a credential admin of Eng");
    admin
        .create(
            "/api/v2/credentials/",
            json!({"name": "ssh", "credential_type": machine, "organization": w.org}),
        )
        .await;
    let (status, named) = admin
        .get("/api/v2/credentials/ssh++Machine+ssh++Eng/")
        .await;
    assert_eq!(status, 200, "{named}");
    assert_eq!(named["name"], "ssh");
}

async fn raw(client: &tokio_postgres::Client) -> String {
    client
        .query_one("SELECT survey_spec::text FROM job_templates", &[])
        .await
        .expect("row")
        .get(0)
}
