//! The real `awx` CLI (awxkit 24.6.1) manages every object of the canonical
//! workflow, as it does against AWX.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::api::{ADMIN_PASSWORD, Node};
use serde_json::Value;

fn awx_binary() -> PathBuf {
    let venv = std::env::var_os("RAWX_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/rawx/venv"))
        })
        .expect("RAWX_VENV or HOME");
    let awx = venv.join("bin/awx");
    assert!(
        awx.exists(),
        "{} missing: run scripts/test.sh, which builds the venv",
        awx.display()
    );
    awx
}

/// Runs `awx` against the node; returns stdout, failing on a non-zero exit.
fn awx(node: &Node, env: &[(&str, &str)], args: &[&str]) -> String {
    let mut cmd = Command::new(awx_binary());
    cmd.args(["--conf.color", "false"])
        .args(args)
        .env_remove("CONTROLLER_OAUTH_TOKEN")
        .env("CONTROLLER_HOST", &node.server.base)
        .env("CONTROLLER_VERIFY_SSL", "false");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("run awx");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "awx {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

#[tokio::test]
async fn the_awx_cli_manages_the_canonical_workflow() {
    let node = Node::start().await;
    let basic = [
        ("CONTROLLER_USERNAME", "admin"),
        ("CONTROLLER_PASSWORD", ADMIN_PASSWORD),
    ];

    // `awx login` mints a personal token through /users/admin/personal_tokens/.
    let login = json(&awx(&node, &basic, &["login", "-f", "json"]));
    let token = login["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {login}"))
        .to_string();
    let with_token = [("CONTROLLER_OAUTH_TOKEN", token.as_str())];
    // Username and password go through /api/login/ with CSRF; a token, as Bearer.
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["-f", "json"]);
        json(&awx(&node, &with_token, &all))
    };
    let org = cli(&[
        "organizations",
        "create",
        "--name",
        "Eng",
        "--description",
        "engineering",
    ]);
    assert_eq!(org["name"], "Eng");
    let session = json(&awx(
        &node,
        &basic,
        &["organizations", "list", "-f", "json"],
    ));
    assert_eq!(session["count"], 1);

    let team = cli(&["teams", "create", "--name", "Dev", "--organization", "Eng"]);
    assert_eq!(team["summary_fields"]["organization"]["name"], "Eng");
    let user = cli(&[
        "users",
        "create",
        "--username",
        "bob",
        "--password",
        "bob-pw",
        "--email",
        "bob@example.com",
    ]);
    assert_eq!(user["username"], "bob");
    assert_eq!(user["password"], "$encrypted$");

    let kind = cli(&[
        "credential_types",
        "create",
        "--name",
        "Vendor API",
        "--kind",
        "cloud",
        "--inputs",
        r#"{"fields": [{"id": "token", "label": "Token", "secret": true}], "required": ["token"]}"#,
        "--injectors",
        r#"{"env": {"VENDOR_TOKEN": "{{ token }}"}}"#,
    ]);
    assert_eq!(kind["kind"], "cloud");
    let credential = cli(&[
        "credentials",
        "create",
        "--name",
        "vendor",
        "--organization",
        "Eng",
        "--credential_type",
        "Vendor API",
        "--inputs",
        r#"{"token": "tok-123-secret"}"#,
    ]);
    assert_eq!(credential["inputs"]["token"], "$encrypted$");
    let machine = cli(&[
        "credentials",
        "create",
        "--name",
        "ssh",
        "--organization",
        "Eng",
        "--credential_type",
        "Machine",
        "--inputs",
        r#"{"username": "deploy", "password": "pw-secret"}"#,
    ]);
    assert_eq!(machine["inputs"]["username"], "deploy");
    assert_eq!(machine["inputs"]["password"], "$encrypted$");

    let project = cli(&[
        "projects",
        "create",
        "--name",
        "site",
        "--organization",
        "Eng",
        "--scm_type",
        "",
    ]);
    assert_eq!(project["scm_type"], "");
    let inventory = cli(&[
        "inventory",
        "create",
        "--name",
        "prod",
        "--organization",
        "Eng",
        "--variables",
        "{\"env\": \"prod\"}",
    ]);
    assert_eq!(inventory["variables"], "{\"env\": \"prod\"}");
    let host = cli(&[
        "hosts",
        "create",
        "--name",
        "web1",
        "--inventory",
        "prod",
        "--variables",
        "{\"port\": 8080}",
    ]);
    assert_eq!(host["summary_fields"]["inventory"]["name"], "prod");
    let group = cli(&["groups", "create", "--name", "web", "--inventory", "prod"]);
    assert_eq!(group["name"], "web");
    let template = cli(&[
        "job_templates",
        "create",
        "--name",
        "deploy",
        "--project",
        "site",
        "--playbook",
        "site.yml",
        "--inventory",
        "prod",
        "--forks",
        "5",
    ]);
    assert_eq!(template["forks"], 5);
    assert_eq!(template["summary_fields"]["project"]["name"], "site");
    assert_eq!(template["organization"], org["id"]);
    let associated = awx(
        &node,
        &with_token,
        &[
            "job_templates",
            "associate",
            "deploy",
            "--credential",
            "ssh",
            "-f",
            "json",
        ],
    );
    assert!(associated.contains("\"ssh\""), "{associated}");

    // Modify, list with a filter, grant a role, delete.
    let modified = cli(&[
        "hosts",
        "modify",
        "web1",
        "--description",
        "front end",
        "--enabled",
        "false",
    ]);
    assert_eq!(modified["description"], "front end");
    assert_eq!(modified["enabled"], false);
    let listed = cli(&["hosts", "list", "--inventory", "prod"]);
    assert_eq!(listed["count"], 1);
    awx(
        &node,
        &with_token,
        &[
            "users",
            "grant",
            "bob",
            "--organization",
            "Eng",
            "--role",
            "member",
        ],
    );
    awx(
        &node,
        &with_token,
        &[
            "teams",
            "grant",
            "Dev",
            "--project",
            "site",
            "--role",
            "use",
        ],
    );
    let bob = [
        ("CONTROLLER_USERNAME", "bob"),
        ("CONTROLLER_PASSWORD", "bob-pw"),
    ];
    let seen = json(&awx(&node, &bob, &["organizations", "list", "-f", "json"]));
    assert_eq!(seen["count"], 1, "bob, a member, sees Eng: {seen}");
    awx(
        &node,
        &with_token,
        &[
            "users",
            "revoke",
            "bob",
            "--organization",
            "Eng",
            "--role",
            "member",
        ],
    );
    let seen = json(&awx(&node, &bob, &["organizations", "list", "-f", "json"]));
    assert_eq!(seen["count"], 0, "revoked: {seen}");

    for (resource, name) in [
        ("job_templates", "deploy"),
        ("groups", "web"),
        ("hosts", "web1"),
        ("credentials", "vendor"),
        ("teams", "Dev"),
    ] {
        awx(&node, &with_token, &[resource, "delete", name]);
    }
    let hosts = cli(&["hosts", "list"]);
    assert_eq!(hosts["count"], 0);
}
