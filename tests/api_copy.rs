//! `/api/v2/<path>/N/copy/` as AWX's CopyAPIView: who may copy, what the
//! copy takes with it (fields, links, surveys, an inventory's contents,
//! encrypted inputs that still decrypt), and the errors in AWX's shape.

mod common;

use common::api::{Api, Node};
use reqwest::Method;
use serde_json::{Value, json};

const PASSWORD: &str = "Copy-Me-Pw-4410";

fn id(object: &Value) -> i64 {
    object["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id: {object}"))
}

async fn type_id(admin: &Api, name: &str) -> i64 {
    let (_, types) = admin
        .get(&format!("/api/v2/credential_types/?name={name}"))
        .await;
    types["results"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{name} is a managed type: {types}"))
}

/// POSTs to `url` and returns the status, the body and the `Location` header.
async fn post_copy(api: &Api, url: &str, body: Value) -> (u16, Value, Option<String>) {
    let response = api
        .request(Method::POST, url)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("Location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        location,
    )
}

/// Copies `original` as `name` and returns the copy, asserting 201 and its
/// `Location`.
async fn copied(api: &Api, original: &Value, name: &str) -> Value {
    let url = original["related"]["copy"]
        .as_str()
        .unwrap_or_else(|| panic!("no related.copy: {original}"));
    let (status, copy, location) = post_copy(api, url, json!({"name": name})).await;
    assert_eq!(status, 201, "copy {url}: {copy}");
    assert_eq!(copy["name"], name);
    assert_ne!(copy["id"], original["id"]);
    assert_eq!(location.as_deref(), copy["url"].as_str(), "Location");
    copy
}

fn cipher(node: &Node) -> rawx::crypto::fields::Cipher {
    let secret =
        rawx::crypto::secret_key::load_or_create(&node.server.data_dir.path().join("SECRET_KEY"))
            .expect("SECRET_KEY");
    rawx::crypto::fields::Cipher::new(&secret).expect("cipher")
}

/// `user_capabilities.copy` of the object at `url`, as `api` reads it.
async fn copy_capability(api: &Api, url: &str) -> Value {
    let (status, object) = api.get(url).await;
    assert_eq!(status, 200, "{object}");
    object["summary_fields"]["user_capabilities"]["copy"].clone()
}

async fn names(api: &Api, path: &str) -> Vec<String> {
    let mut names = api.names(path).await;
    names.sort();
    names
}

#[tokio::test]
async fn projects_credentials_and_environments_copy_their_fields() {
    let node = Node::start().await;
    let admin = node.admin();
    std::fs::create_dir_all(node.server.data_dir.path().join("projects/demo"))
        .expect("project dir");
    let org = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let project = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "demo", "description": "manual", "organization": id(&org),
                   "scm_type": "", "local_path": "demo", "timeout": 30}),
        )
        .await;
    let copy_url = project["related"]["copy"].as_str().expect("related.copy");
    assert_eq!(copy_url, format!("/api/v2/projects/{}/copy/", id(&project)));
    let (status, answer) = admin.get(copy_url).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"can_copy": true}));
    assert_eq!(
        copy_capability(&admin, &format!("/api/v2/projects/{}/", id(&project))).await,
        true
    );
    // A read-scoped token copies nothing, even a superuser's.
    let (status, token) = admin
        .post(
            "/api/v2/users/admin/personal_tokens/",
            json!({"description": "read only", "scope": "read"}),
        )
        .await;
    assert_eq!(status, 201, "{token}");
    let reading = node.with_token(token["token"].as_str().expect("token"));
    assert_eq!(
        copy_capability(&reading, &format!("/api/v2/projects/{}/", id(&project))).await,
        false
    );

    // The name is required, may not be blank, and may not be the original's.
    let (status, body, _) = post_copy(&admin, copy_url, json!({})).await;
    assert_eq!(
        (status, body),
        (400, json!({"name": ["This field is required."]}))
    );
    let (status, body, _) = post_copy(&admin, copy_url, json!({"name": "  "})).await;
    assert_eq!(
        (status, body),
        (400, json!({"name": ["This field may not be blank."]}))
    );
    let (status, body, _) = post_copy(&admin, copy_url, json!({"name": "demo"})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["non_field_errors"][0],
        "The original object is already named demo, a copy from it cannot have the same name."
    );

    let copy = copied(&admin, &project, "demo 2").await;
    for key in ["description", "organization", "scm_type", "timeout"] {
        assert_eq!(copy[key], project[key], "{key}");
    }
    // AWX leaves a copy's local path behind (FIELDS_TO_DISCARD_AT_COPY).
    assert_eq!(copy["local_path"], "");
    assert_eq!(
        copy["related"]["copy"],
        format!("{}copy/", copy["url"].as_str().expect("url"))
    );
    let (_, activity) = admin
        .get(&format!("/api/v2/projects/{}/activity_stream/", id(&copy)))
        .await;
    assert_eq!(activity["results"][0]["operation"], "create", "{activity}");
    assert_eq!(
        activity["results"][0]["changes"]["name"], "demo 2",
        "{activity}"
    );
    // A second copy by the same name is the usual duplicate.
    let (status, body, _) = post_copy(&admin, copy_url, json!({"name": "demo 2"})).await;
    assert_eq!(status, 400, "{body}");

    // A git project's copy is updated on creation, as a new one is.
    let git = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "git", "organization": id(&org), "scm_type": "git",
                   "scm_url": "file:///nowhere", "scm_branch": "main", "allow_override": true}),
        )
        .await;
    let git_copy = copied(&admin, &git, "git 2").await;
    for key in ["scm_url", "scm_branch", "allow_override", "scm_type"] {
        assert_eq!(git_copy[key], git[key], "{key}");
    }
    let (_, updates) = admin
        .get(&format!(
            "/api/v2/projects/{}/project_updates/",
            id(&git_copy)
        ))
        .await;
    assert_eq!(updates["count"], 1, "{updates}");

    // A credential's secrets come along encrypted, and still decrypt.
    let credential = admin
        .create(
            "/api/v2/credentials/",
            json!({"name": "ssh", "organization": id(&org), "credential_type": type_id(&admin, "Machine").await,
                   "inputs": {"username": "deploy", "password": PASSWORD}}),
        )
        .await;
    // Input sources have no endpoint yet; one written directly must follow.
    let client = node.db.client().await;
    client
        .execute(
            "INSERT INTO credential_input_sources (target_credential_id, source_credential_id, input_field_name, metadata)
             VALUES ($1, $1, 'become_password', '{\"secret_path\": \"/kv/x\"}')",
            &[&id(&credential)],
        )
        .await
        .expect("input source");
    let credential_copy = copied(&admin, &credential, "ssh 2").await;
    let source: (String, Value) = client
        .query_one(
            "SELECT input_field_name, metadata FROM credential_input_sources WHERE target_credential_id = $1",
            &[&id(&credential_copy)],
        )
        .await
        .map(|row| (row.get(0), row.get(1)))
        .expect("the copy's input source");
    assert_eq!(
        source,
        (
            "become_password".to_string(),
            json!({"secret_path": "/kv/x"})
        )
    );
    assert_eq!(
        credential_copy["inputs"],
        json!({"username": "deploy", "password": "$encrypted$"})
    );
    assert_eq!(
        credential_copy["credential_type"],
        credential["credential_type"]
    );
    let stored: Value = client
        .query_one(
            "SELECT inputs FROM credentials WHERE id = $1",
            &[&id(&credential_copy)],
        )
        .await
        .expect("inputs")
        .get(0);
    let sealed = stored["password"].as_str().expect("stored password");
    assert!(sealed.starts_with("$encrypted$AESGCM$"), "{sealed}");
    assert_eq!(
        cipher(&node).decrypt("password", sealed).expect("decrypts"),
        PASSWORD
    );
    let (_, body) = admin
        .get(&format!(
            "{}activity_stream/",
            credential_copy["url"].as_str().expect("url")
        ))
        .await;
    assert!(
        !body.to_string().contains(PASSWORD) && !body.to_string().contains("AESGCM"),
        "{body}"
    );

    // Execution environments are copied too.
    let ee = admin
        .create(
            "/api/v2/execution_environments/",
            json!({"name": "ee", "image": "quay.io/ansible/awx-ee:latest", "organization": id(&org), "pull": "always"}),
        )
        .await;
    let ee_copy = copied(&admin, &ee, "ee 2").await;
    assert_eq!(
        (&ee_copy["image"], &ee_copy["pull"]),
        (&ee["image"], &ee["pull"])
    );

    // Only copyable resources say they are.
    assert!(org["related"].get("copy").is_none(), "{org}");
    let (_, types) = admin.get("/api/v2/credential_types/").await;
    assert!(
        types["results"][0]["related"].get("copy").is_none(),
        "{types}"
    );

    // Unknown originals are 404; copy/ takes only GET and POST.
    for path in [
        "/api/v2/projects/999999/copy/",
        "/api/v2/credentials/999999/copy/",
    ] {
        assert_eq!(admin.get(path).await.0, 404, "{path}");
        assert_eq!(
            post_copy(&admin, path, json!({"name": "x"})).await.0,
            404,
            "{path}"
        );
    }
    assert_eq!(admin.delete(copy_url).await.0, 405);
    assert_eq!(admin.get("/api/v2/organizations/1/copy/").await.0, 404);

    // A reader may look but not copy; an organization's project admin may
    // copy, and needs no grant of their own on the copy.
    let reader = node.user("reader", "reader-pw").await;
    admin
        .grant(
            reader,
            admin
                .role_id(project["url"].as_str().expect("url"), "read_role")
                .await,
        )
        .await;
    let reader_api = node.as_user("reader", "reader-pw");
    assert_eq!(reader_api.get(copy_url).await.1, json!({"can_copy": false}));
    let project_url = format!("/api/v2/projects/{}/", id(&project));
    assert_eq!(copy_capability(&reader_api, &project_url).await, false);
    let (status, body, _) = post_copy(&reader_api, copy_url, json!({})).await;
    assert_eq!(status, 403, "permission comes before the body: {body}");
    let (status, _, _) = post_copy(&reader_api, copy_url, json!({"name": "mine"})).await;
    assert_eq!(status, 403);
    let (status, _) = reader_api
        .get(&format!("/api/v2/credentials/{}/copy/", id(&credential)))
        .await;
    assert_eq!(status, 404, "an unreadable original is hidden");

    let maker = node.user("maker", "maker-pw").await;
    admin
        .grant(
            maker,
            admin
                .role_id(org["url"].as_str().expect("url"), "project_admin_role")
                .await,
        )
        .await;
    let maker_api = node.as_user("maker", "maker-pw");
    assert_eq!(copy_capability(&maker_api, &project_url).await, true);
    let made = copied(&maker_api, &project, "demo 3").await;
    assert_eq!(
        made["summary_fields"]["user_capabilities"]["edit"], true,
        "{made}"
    );
    let (_, maker_roles) = admin.get(&format!("/api/v2/users/{maker}/roles/")).await;
    assert!(
        !maker_roles
            .to_string()
            .contains(&format!("\"resource_id\":{}", id(&made))),
        "inherited admin needs no grant: {maker_roles}"
    );
}

#[tokio::test]
async fn inventories_copy_their_groups_hosts_and_memberships() {
    let node = Node::start().await;
    let admin = node.admin();
    let org = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "prod", "description": "the fleet", "organization": id(&org), "variables": "region: eu"}),
        )
        .await;
    let inv_url = inventory["url"].as_str().expect("url").to_string();
    let h1 = admin
        .create(
            &format!("{inv_url}hosts/"),
            json!({"name": "h1", "variables": "port: 22", "description": "first"}),
        )
        .await;
    let h2 = admin
        .create(
            &format!("{inv_url}hosts/"),
            json!({"name": "h2", "enabled": false, "instance_id": "i-2"}),
        )
        .await;
    admin
        .create(&format!("{inv_url}hosts/"), json!({"name": "loner"}))
        .await;
    let web = admin
        .create(
            &format!("{inv_url}groups/"),
            json!({"name": "web", "variables": "tier: front"}),
        )
        .await;
    let db = admin
        .create(&format!("{inv_url}groups/"), json!({"name": "db"}))
        .await;
    let web_url = web["url"].as_str().expect("url").to_string();
    let db_url = db["url"].as_str().expect("url").to_string();
    for (path, child) in [
        (format!("{web_url}hosts/"), id(&h1)),
        (format!("{db_url}hosts/"), id(&h2)),
        (format!("{web_url}children/"), id(&db)),
    ] {
        let (status, body) = admin.post(&path, json!({"id": child})).await;
        assert_eq!(status, 204, "{path}: {body}");
    }

    assert_eq!(
        admin.get(&format!("{inv_url}copy/")).await.1,
        json!({"can_copy": true})
    );
    let copy = copied(&admin, &inventory, "prod 2").await;
    for key in ["description", "organization", "variables", "kind"] {
        assert_eq!(copy[key], inventory[key], "{key}");
    }
    assert_eq!(
        (copy["total_hosts"].clone(), copy["total_groups"].clone()),
        (json!(3), json!(2))
    );
    let copy_url = copy["url"].as_str().expect("url").to_string();
    assert_eq!(
        names(&admin, &format!("{copy_url}hosts/")).await,
        ["h1", "h2", "loner"]
    );

    let (_, groups) = admin.get(&format!("{copy_url}groups/?order_by=name")).await;
    let group = |name: &str| -> Value {
        groups["results"]
            .as_array()
            .and_then(|all| all.iter().find(|g| g["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no group {name}: {groups}"))
    };
    let (new_web, new_db) = (group("web"), group("db"));
    assert_ne!(new_web["id"], web["id"]);
    assert_eq!(new_web["variables"], "tier: front");
    let new_web_url = new_web["url"].as_str().expect("url");
    let new_db_url = new_db["url"].as_str().expect("url");
    assert_eq!(names(&admin, &format!("{new_web_url}hosts/")).await, ["h1"]);
    assert_eq!(
        names(&admin, &format!("{new_web_url}children/")).await,
        ["db"]
    );
    assert_eq!(names(&admin, &format!("{new_db_url}hosts/")).await, ["h2"]);
    let (_, new_hosts) = admin.get(&format!("{copy_url}hosts/?name=h2")).await;
    let new_h2 = &new_hosts["results"][0];
    assert_ne!(new_h2["id"], h2["id"]);
    assert_eq!(
        (&new_h2["enabled"], &new_h2["instance_id"]),
        (&json!(false), &json!("i-2"))
    );
    let (_, new_h1) = admin.get(&format!("{copy_url}hosts/?name=h1")).await;
    assert_eq!(new_h1["results"][0]["variables"], "port: 22");
    assert_eq!(new_h1["results"][0]["description"], "first");

    // The original keeps what it had.
    assert_eq!(names(&admin, &format!("{web_url}hosts/")).await, ["h1"]);
    assert_eq!(
        names(&admin, &format!("{inv_url}groups/")).await,
        ["db", "web"]
    );

    // An inventory admin of the organization may copy; a user who may only
    // use the inventory may not.
    let user = node.user("user", "user-pw").await;
    admin
        .grant(user, admin.role_id(&inv_url, "use_role").await)
        .await;
    let user_api = node.as_user("user", "user-pw");
    assert_eq!(
        user_api.get(&format!("{inv_url}copy/")).await.1,
        json!({"can_copy": false})
    );
    assert_eq!(copy_capability(&user_api, &inv_url).await, false);
    assert_eq!(copy_capability(&admin, &inv_url).await, true);
    let (status, body, _) = post_copy(
        &user_api,
        &format!("{inv_url}copy/"),
        json!({"name": "mine"}),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"detail": "You do not have permission to perform this action."})
        )
    );
    admin
        .grant(
            user,
            admin
                .role_id(org["url"].as_str().expect("url"), "inventory_admin_role")
                .await,
        )
        .await;
    let theirs = copied(&user_api, &inventory, "theirs").await;
    assert_eq!(theirs["total_hosts"], 3);
}

#[tokio::test]
async fn job_templates_copy_credentials_labels_groups_and_surveys() {
    let node = Node::start().await;
    let admin = node.admin();
    let dir = node.server.data_dir.path().join("projects/demo");
    std::fs::create_dir_all(&dir).expect("project dir");
    std::fs::write(dir.join("site.yml"), "- hosts: all\n  tasks: []\n").expect("playbook");
    let org = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "prod", "organization": id(&org)}),
        )
        .await;
    let project = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "demo", "organization": id(&org), "scm_type": "", "local_path": "demo"}),
        )
        .await;
    let credential = admin
        .create(
            "/api/v2/credentials/",
            json!({"name": "ssh", "organization": id(&org), "credential_type": type_id(&admin, "Machine").await,
                   "inputs": {"username": "deploy"}}),
        )
        .await;
    let template = admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": "deploy", "project": id(&project), "inventory": id(&inventory), "playbook": "site.yml",
                   "forks": 7, "limit": "web", "extra_vars": "a: 1", "ask_limit_on_launch": true,
                   "survey_enabled": true, "verbosity": 2}),
        )
        .await;
    let jt_url = template["url"].as_str().expect("url").to_string();
    for (path, body) in [
        (
            format!("{jt_url}credentials/"),
            json!({"id": id(&credential)}),
        ),
        (
            format!("{jt_url}labels/"),
            json!({"name": "blue", "organization": id(&org)}),
        ),
    ] {
        let (status, answer) = admin.post(&path, body).await;
        assert!(status == 204 || status == 201, "{path}: {status} {answer}");
    }
    let (_, groups) = admin.get("/api/v2/instance_groups/?order_by=id").await;
    let group = groups["results"][0]["id"]
        .as_i64()
        .expect("an instance group");
    let (status, body) = admin
        .post(&format!("{jt_url}instance_groups/"), json!({"id": group}))
        .await;
    assert_eq!(status, 204, "{body}");
    let spec = json!({"name": "s", "description": "", "spec": [
        {"question_name": "Size", "variable": "size", "type": "integer", "required": true, "min": 1, "max": 10, "default": 3},
        {"question_name": "Secret", "variable": "secret", "type": "password", "required": false, "default": "hunter2"},
    ]});
    let (status, body) = admin.post(&format!("{jt_url}survey_spec/"), spec).await;
    assert_eq!(status, 200, "{body}");
    let (_, template) = admin.get(&jt_url).await;

    let copy = copied(&admin, &template, "deploy 2").await;
    for key in [
        "project",
        "inventory",
        "playbook",
        "forks",
        "limit",
        "extra_vars",
        "ask_limit_on_launch",
        "survey_enabled",
        "verbosity",
        "organization",
        "job_type",
    ] {
        assert_eq!(copy[key], template[key], "{key}");
    }
    assert_eq!(
        copy["summary_fields"]["credentials"][0]["id"], credential["id"],
        "{copy}"
    );
    assert_eq!(
        copy["summary_fields"]["labels"]["results"][0]["name"], "blue",
        "{copy}"
    );
    let copy_url = copy["url"].as_str().expect("url").to_string();
    let (_, copied_groups) = admin.get(&format!("{copy_url}instance_groups/")).await;
    assert_eq!(copied_groups["results"][0]["id"], group, "{copied_groups}");
    let (_, survey) = admin.get(&format!("{copy_url}survey_spec/")).await;
    assert_eq!(survey["spec"][1]["default"], "$encrypted$");
    assert_eq!(survey["spec"][0]["default"], 3);
    let client = node.db.client().await;
    let stored: Value = client
        .query_one(
            "SELECT survey_spec FROM job_templates WHERE id = $1",
            &[&id(&copy)],
        )
        .await
        .expect("survey")
        .get(0);
    let sealed = stored["spec"][1]["default"]
        .as_str()
        .expect("sealed default");
    assert_eq!(
        cipher(&node)
            .decrypt("survey:secret", sealed)
            .expect("decrypts"),
        "hunter2"
    );
    // The original keeps its own links.
    let (_, original) = admin.get(&jt_url).await;
    assert_eq!(
        original["summary_fields"]["credentials"][0]["id"],
        credential["id"]
    );

    // Copying needs the project and inventory, and every credential, usable;
    // the copier becomes admin of the copy.
    let runner = node.user("runner", "runner-pw").await;
    for (url, role) in [
        (project["url"].as_str().expect("url"), "use_role"),
        (inventory["url"].as_str().expect("url"), "use_role"),
        (jt_url.as_str(), "read_role"),
    ] {
        admin.grant(runner, admin.role_id(url, role).await).await;
    }
    let runner_api = node.as_user("runner", "runner-pw");
    assert_eq!(
        runner_api.get(&format!("{jt_url}copy/")).await.1,
        json!({"can_copy": false})
    );
    // The capability, as AWX's, asks only for the project and inventory;
    // the copy itself also needs the credentials.
    assert_eq!(copy_capability(&runner_api, &jt_url).await, true);
    let (status, body, _) = post_copy(
        &runner_api,
        &format!("{jt_url}copy/"),
        json!({"name": "mine"}),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"detail": "Insufficient access to Job Template credentials."})
        )
    );
    admin
        .grant(
            runner,
            admin
                .role_id(credential["url"].as_str().expect("url"), "use_role")
                .await,
        )
        .await;
    assert_eq!(
        runner_api.get(&format!("{jt_url}copy/")).await.1,
        json!({"can_copy": true})
    );
    let mine = copied(&runner_api, &template, "mine").await;
    assert_eq!(
        mine["summary_fields"]["user_capabilities"]["edit"], true,
        "{mine}"
    );
    let (status, body) = runner_api
        .patch(
            mine["url"].as_str().expect("url"),
            json!({"description": "my own"}),
        )
        .await;
    assert_eq!(status, 200, "the copier administers the copy: {body}");
    let (status, _) = runner_api
        .patch(&jt_url, json!({"description": "not mine"}))
        .await;
    assert_eq!(status, 403, "but not the original");

    // Workflow job templates answer in their own form.
    let workflow = admin
        .create(
            "/api/v2/workflow_job_templates/",
            json!({"name": "flow", "organization": id(&org), "extra_vars": "b: 2"}),
        )
        .await;
    let wf_copy_url = workflow["related"]["copy"].as_str().expect("related.copy");
    assert_eq!(
        admin.get(wf_copy_url).await.1,
        json!({"can_copy": true, "can_copy_without_user_input": true, "templates_unable_to_copy": [],
               "credentials_unable_to_copy": [], "inventories_unable_to_copy": []})
    );
    let wf_copy = copied(&admin, &workflow, "flow 2").await;
    assert_eq!(wf_copy["extra_vars"], "b: 2");
    admin
        .grant(
            runner,
            admin
                .role_id(workflow["url"].as_str().expect("url"), "read_role")
                .await,
        )
        .await;
    assert_eq!(
        runner_api.get(wf_copy_url).await.1,
        json!({"can_copy": false, "can_copy_without_user_input": false, "templates_unable_to_copy": ["all"],
               "credentials_unable_to_copy": ["all"], "inventories_unable_to_copy": ["all"]})
    );
}
