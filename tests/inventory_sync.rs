//! Inventory sources synced for real (`ansible-inventory` through
//! ansible-runner over files of a git project), AWX's overwrite semantics,
//! update on launch and failing sources; and ad hoc commands.

mod common;

use std::path::Path;
use std::time::Duration;

use common::api::{Api, Node};
use common::git;
use serde_json::{Value, json};

const INI: &str = "[all:vars]\nansible_connection=local\n\n[web]\nweb1 http_port=80\nweb2\n\n[db]\ndb1\n\n[prod:children]\nweb\ndb\n\n[prod:vars]\nenv=prod\n";
const INI_CHANGED: &str = "[all:vars]\nansible_connection=local\n\n[web]\nweb1 http_port=8080\n\n[db]\ndb1\n\n[prod:children]\nweb\ndb\n";
const YAML: &str = "all:\n  children:\n    cache:\n      hosts:\n        redis1:\n          maxmemory: 1gb\n      vars:\n        tier: cache\n";
const FAILING: &str = "#!/bin/sh\necho inventory-script-broke >&2\nexit 1\n";
const PLAYBOOK: &str =
    "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=on-{{ inventory_hostname }}\n";

fn write_repo(repo: &Path, ini: &str) {
    std::fs::write(repo.join("hosts.ini"), ini).expect("ini");
    std::fs::write(repo.join("cache.yml"), YAML).expect("yaml");
    std::fs::write(repo.join("site.yml"), PLAYBOOK).expect("playbook");
    let script = repo.join("broken.sh");
    std::fs::write(&script, FAILING).expect("script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "inventory"]);
}

fn url(object: &Value) -> String {
    object["url"].as_str().expect("url").to_string()
}

async fn sync(admin: &Api, source: &Value) -> Value {
    let (status, started) = admin
        .post(&format!("{}update/", url(source)), json!({}))
        .await;
    assert_eq!(status, 202, "{started}");
    assert!(started["inventory_update"].is_i64(), "{started}");
    admin.finished(&url(&started)).await
}

fn vars(object: &Value) -> Value {
    let text = object["variables"].as_str().unwrap_or_default();
    serde_yaml_ng::from_str(text).unwrap_or(Value::Null)
}

#[tokio::test]
async fn sources_from_a_git_project_import_with_awx_semantics() {
    let node = Node::start().await;
    let admin = node.admin();
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).expect("repo");
    git(&repo, &["init", "-q", "-b", "main"]);
    write_repo(&repo, INI);

    let org = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let project = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "inv", "organization": org["id"], "scm_type": "git",
                   "scm_url": format!("file://{}", repo.display())}),
        )
        .await;
    admin
        .until(&url(&project), "project update", |p| {
            p["status"] == "successful"
        })
        .await;
    let (_, files) = admin.get(&format!("{}inventories/", url(&project))).await;
    for file in ["hosts.ini", "cache.yml", "broken.sh"] {
        assert!(
            files.as_array().is_some_and(|f| f.contains(&json!(file))),
            "{file}: {files}"
        );
    }
    let inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "synced", "organization": org["id"]}),
        )
        .await;
    let ini = admin
        .create(
            "/api/v2/inventory_sources/",
            json!({"name": "ini", "inventory": inventory["id"], "source": "scm",
                   "source_project": project["id"], "source_path": "hosts.ini"}),
        )
        .await;
    let (status, can) = admin.get(&format!("{}update/", url(&ini))).await;
    assert_eq!(
        (status.as_u16(), can["can_update"].clone()),
        (200, json!(true))
    );

    let update = sync(&admin, &ini).await;
    assert_eq!(update["status"], "successful", "{update}");
    let stdout = admin
        .text(&format!("{}stdout/?format=txt", url(&update)))
        .await;
    let (_, events) = admin.get(&format!("{}events/", url(&update))).await;
    assert!(events["count"].is_i64(), "{events}");
    let inv_url = url(&inventory);
    let mut hosts = admin.names(&format!("{inv_url}hosts/?order_by=name")).await;
    hosts.sort();
    assert_eq!(hosts, ["db1", "web1", "web2"], "{stdout}");
    let mut groups = admin.names(&format!("{inv_url}groups/")).await;
    groups.sort();
    assert_eq!(groups, ["db", "prod", "web"]);
    let (_, web1) = admin
        .get(&format!(
            "/api/v2/hosts/?inventory={}&name=web1",
            inventory["id"]
        ))
        .await;
    assert_eq!(vars(&web1["results"][0])["http_port"], 80);
    let (_, prod) = admin
        .get(&format!(
            "/api/v2/groups/?inventory={}&name=prod",
            inventory["id"]
        ))
        .await;
    let prod = &prod["results"][0];
    assert_eq!(vars(prod)["env"], "prod");
    let mut children = admin.names(&format!("{}children/", url(prod))).await;
    children.sort();
    assert_eq!(children, ["db", "web"]);
    let (_, inv) = admin.get(&inv_url).await;
    assert_eq!(vars(&inv)["ansible_connection"], "local");
    let mut imported = admin.names(&format!("{}hosts/", url(&ini))).await;
    imported.sort();
    assert_eq!(imported, ["db1", "web1", "web2"]);

    // The file changes: without overwrite, web2 stays and web1's vars merge.
    write_repo(&repo, INI_CHANGED);
    let (status, _) = admin
        .post(&format!("{}update/", url(&project)), json!({}))
        .await;
    assert_eq!(status, 202);
    admin
        .until(&url(&project), "second project update", |p| {
            p["status"] == "successful" && p["last_job_run"].is_string()
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    admin
        .until(&url(&project), "second project update done", |p| {
            p["status"] == "successful"
        })
        .await;
    let update = sync(&admin, &ini).await;
    assert_eq!(update["status"], "successful", "{update}");
    let mut hosts = admin.names(&format!("{inv_url}hosts/")).await;
    hosts.sort();
    assert_eq!(hosts, ["db1", "web1", "web2"]);
    let (_, web1) = admin
        .get(&format!(
            "/api/v2/hosts/?inventory={}&name=web1",
            inventory["id"]
        ))
        .await;
    assert_eq!(vars(&web1["results"][0])["http_port"], 8080);
    // With overwrite, what the source no longer returns goes; with
    // overwrite_vars, variables are replaced instead of merged.
    admin
        .patch(
            &url(&ini),
            json!({"overwrite": true, "overwrite_vars": true}),
        )
        .await;
    let update = sync(&admin, &ini).await;
    assert_eq!(update["status"], "successful", "{update}");
    let mut hosts = admin.names(&format!("{inv_url}hosts/")).await;
    hosts.sort();
    assert_eq!(hosts, ["db1", "web1"]);
    let (_, prod) = admin
        .get(&format!(
            "/api/v2/groups/?inventory={}&name=prod",
            inventory["id"]
        ))
        .await;
    assert_eq!(vars(&prod["results"][0]).get("env"), None, "{prod}");

    // A YAML source into the same inventory, started with the others.
    admin
        .create(
            "/api/v2/inventory_sources/",
            json!({"name": "yaml", "inventory": inventory["id"], "source": "scm",
                   "source_project": project["id"], "source_path": "cache.yml"}),
        )
        .await;
    let (status, started) = admin
        .post(&format!("{inv_url}update_inventory_sources/"), json!({}))
        .await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started.as_array().map(Vec::len), Some(2), "{started}");
    for entry in started.as_array().expect("list") {
        let update = admin
            .finished(&format!(
                "/api/v2/inventory_updates/{}/",
                entry["inventory_update"]
            ))
            .await;
        assert_eq!(update["status"], "successful", "{update}");
    }
    let (_, redis) = admin
        .get(&format!(
            "/api/v2/hosts/?inventory={}&name=redis1",
            inventory["id"]
        ))
        .await;
    assert_eq!(vars(&redis["results"][0])["maxmemory"], "1gb");

    // update_on_launch: a launch syncs first, then runs on what was imported.
    admin
        .patch(
            &url(&ini),
            json!({"update_on_launch": true, "update_cache_timeout": 0}),
        )
        .await;
    let template = admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": "on-synced", "project": project["id"], "inventory": inventory["id"],
                   "playbook": "site.yml", "limit": "web1"}),
        )
        .await;
    let (_, before) = admin.get(&format!("{}inventory_updates/", url(&ini))).await;
    let (status, launched) = admin
        .post(&format!("{}launch/", url(&template)), json!({}))
        .await;
    assert_eq!(status, 201, "{launched}");
    let job = admin.finished(&url(&launched)).await;
    assert_eq!(job["status"], "successful", "{job}");
    let (_, after) = admin
        .get(&format!("{}inventory_updates/?order_by=-id", url(&ini)))
        .await;
    assert_eq!(
        after["count"].as_i64(),
        before["count"].as_i64().map(|n| n + 1)
    );
    assert_eq!(after["results"][0]["launch_type"], "dependency");
    let stdout = admin.text(&format!("{}stdout/", url(&job))).await;
    assert!(stdout.contains("on-web1"), "{stdout}");

    // A failing source fails its update, and the job that needed it.
    let broken = admin
        .create(
            "/api/v2/inventory_sources/",
            json!({"name": "broken", "inventory": inventory["id"], "source": "scm",
                   "source_project": project["id"], "source_path": "broken.sh",
                   "update_on_launch": true}),
        )
        .await;
    let update = sync(&admin, &broken).await;
    assert_eq!(update["status"], "failed", "{update}");
    let stdout = admin
        .text(&format!("{}stdout/?format=txt", url(&update)))
        .await;
    assert!(stdout.contains("broken.sh"), "{stdout}");
    let (status, launched) = admin
        .post(&format!("{}launch/", url(&template)), json!({}))
        .await;
    assert_eq!(status, 201);
    let job = admin.finished(&url(&launched)).await;
    assert_eq!(job["status"], "failed", "{job}");
    let explanation = job["job_explanation"].as_str().unwrap_or_default();
    assert!(
        explanation.contains("\"job_type\": \"inventory_update\""),
        "{explanation}"
    );
    assert_eq!(job["started"], Value::Null, "the job must not have run");
}

#[tokio::test]
async fn ad_hoc_commands_run_allowed_modules_for_those_allowed() {
    let node = Node::start().await;
    let admin = node.admin();
    let org = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "local", "organization": org["id"]}),
        )
        .await;
    let host = admin.local_host("localhost", &inventory["id"]).await;

    let (status, created) = admin
        .post(
            "/api/v2/ad_hoc_commands/",
            json!({"inventory": inventory["id"], "module_name": "ping"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["module_name"], "ping");
    let command = admin.finished(&url(&created)).await;
    assert_eq!(command["status"], "successful", "{command}");
    let (_, events) = admin
        .get(&format!("{}events/?host_name=localhost", url(&command)))
        .await;
    assert!(
        events["results"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["event"] == "runner_on_ok")),
        "{events}"
    );
    let stdout = admin.text(&format!("{}stdout/", url(&command))).await;
    assert!(stdout.contains("pong"), "{stdout}");

    // Under the host: limited to it; `command` with its argument.
    let (status, created) = admin
        .post(
            &format!("{}ad_hoc_commands/", url(&host)),
            json!({"module_name": "command", "module_args": "echo hi-from-adhoc"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["limit"], "localhost");
    let command = admin.finished(&url(&created)).await;
    assert_eq!(command["status"], "successful", "{command}");
    let stdout = admin.text(&format!("{}stdout/", url(&command))).await;
    assert!(stdout.contains("hi-from-adhoc"), "{stdout}");
    let (_, listed) = admin.get(&format!("{}ad_hoc_commands/", url(&host))).await;
    assert!(
        listed["count"].as_i64().unwrap_or_default() >= 1,
        "{listed}"
    );
    let (status, again) = admin
        .post(&format!("{}relaunch/", url(&command)), json!({}))
        .await;
    assert_eq!(status, 201, "{again}");
    let again = admin.finished(&url(&again)).await;
    assert_eq!(again["status"], "successful");
    assert_eq!(again["launch_type"], "relaunch");

    // Refused: a module outside the allow-list, a command without arguments.
    let (status, errors) = admin
        .post(
            "/api/v2/ad_hoc_commands/",
            json!({"inventory": inventory["id"], "module_name": "raw", "module_args": "id"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(errors.get("module_name").is_some(), "{errors}");
    let (status, errors) = admin
        .post(
            "/api/v2/ad_hoc_commands/",
            json!({"inventory": inventory["id"], "module_name": "command"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(errors.get("module_args").is_some(), "{errors}");

    // A user who may read the inventory but not run commands on it: 403.
    let user = node.user("reader", "reader-pw").await;
    let (_, roles) = admin
        .get(&format!(
            "{}object_roles/?role_field=read_role",
            url(&inventory)
        ))
        .await;
    let read_role = roles["results"][0]["id"].clone();
    let (status, _) = admin
        .post(
            &format!("/api/v2/users/{user}/roles/"),
            json!({"id": read_role}),
        )
        .await;
    assert_eq!(status, 204);
    let reader = node.as_user("reader", "reader-pw");
    let (status, body) = reader
        .post(
            "/api/v2/ad_hoc_commands/",
            json!({"inventory": inventory["id"], "module_name": "ping"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (_, count) = admin.get("/api/v2/ad_hoc_commands/").await;
    assert_eq!(count["count"], 3, "a refused command was created");
}
