//! Credential secrets: encrypted at rest, `$encrypted$` in every response,
//! absent from logs and the activity stream; inputs checked against the type.

mod common;

use common::api::Node;
use serde_json::json;

const PASSWORD: &str = "S3cret-Pw-7781";
const KEY: &str = "KEYDATA-0a1b2c3d";

#[tokio::test]
async fn secrets_never_leave_the_database_in_clear() {
    let node = Node::start_with(&[("RAWX_LOG_LEVEL", "debug")]).await;
    let admin = node.admin();
    let org = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let (_, types) = admin.get("/api/v2/credential_types/?name=Machine").await;
    let machine = types["results"][0]["id"]
        .as_i64()
        .expect("Machine is a managed type");
    let (_, vault) = admin.get("/api/v2/credential_types/?namespace=vault").await;
    let vault = vault["results"][0]["id"]
        .as_i64()
        .expect("Vault is a managed type");

    let created = admin
        .create(
            "/api/v2/credentials/",
            json!({"name": "ssh", "organization": org["id"], "credential_type": machine,
                   "inputs": {"username": "deploy", "password": PASSWORD, "ssh_key_data": KEY, "become_method": "sudo"}}),
        )
        .await;
    let url = created["url"].as_str().expect("url").to_string();
    assert_eq!(created["inputs"]["password"], "$encrypted$");
    assert_eq!(created["inputs"]["ssh_key_data"], "$encrypted$");
    assert_eq!(created["inputs"]["username"], "deploy");

    // Sending `$encrypted$` back keeps the secret; a new value replaces it.
    let client = node.db.client().await;
    let before = stored(&client).await;
    assert!(before.contains("$encrypted$AESGCM$"), "{before}");
    let (status, patched) = admin
        .patch(&url, json!({"inputs": {"username": "deploy2", "password": "$encrypted$", "ssh_key_data": "$encrypted$"}}))
        .await;
    assert_eq!(status, 200, "{patched}");
    let kept = stored(&client).await;
    let secret_of = |text: &str, key: &str| -> String {
        let value: serde_json::Value = serde_json::from_str(text).expect("json");
        value[key].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(secret_of(&before, "password"), secret_of(&kept, "password"));
    assert_eq!(secret_of(&kept, "username"), "deploy2");
    let (status, _) = admin
        .patch(
            &url,
            json!({"inputs": {"username": "deploy2", "password": "new-one-9"}}),
        )
        .await;
    assert_eq!(status, 200);
    let changed = stored(&client).await;
    assert_ne!(
        secret_of(&kept, "password"),
        secret_of(&changed, "password")
    );
    assert!(
        !changed.contains("ssh_key_data"),
        "inputs are replaced as a whole"
    );

    // Inputs are checked against the type.
    let (status, body) = admin
        .post(
            "/api/v2/credentials/",
            json!({"name": "v", "organization": org["id"], "credential_type": vault, "inputs": {}}),
        )
        .await;
    assert_eq!(status, 400, "vault_password is required: {body}");
    let (status, body) = admin
        .post("/api/v2/credentials/", json!({"name": "x", "organization": org["id"], "credential_type": machine, "inputs": {"nope": "1"}}))
        .await;
    assert_eq!(status, 400, "unknown input: {body}");
    let (status, _) = admin
        .post("/api/v2/credentials/", json!({"name": "y", "organization": org["id"], "credential_type": machine, "inputs": {"become_method": 7}}))
        .await;
    assert_eq!(status, 400, "become_method must be a string");

    // Nothing anywhere shows a secret in clear.
    for path in [
        url.clone(),
        "/api/v2/credentials/".to_string(),
        "/api/v2/activity_stream/".to_string(),
        format!("{url}activity_stream/"),
    ] {
        let (status, body) = admin.get(&path).await;
        assert_eq!(status, 200, "{path}");
        let text = body.to_string();
        for secret in [PASSWORD, KEY, "new-one-9"] {
            assert!(!text.contains(secret), "{path} shows a secret: {text}");
        }
        assert!(!text.contains("AESGCM"), "{path} shows ciphertext");
    }
    let activity: Vec<String> = client
        .query("SELECT changes::text FROM activity_stream", &[])
        .await
        .expect("activity")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(!activity.is_empty());
    for entry in &activity {
        for secret in [PASSWORD, KEY, "new-one-9", "AESGCM"] {
            assert!(
                !entry.contains(secret),
                "activity stream holds {secret}: {entry}"
            );
        }
    }
    let log = node.server.log();
    for secret in [PASSWORD, KEY, "new-one-9"] {
        assert!(!log.contains(secret), "the log shows a secret");
    }
}

#[tokio::test]
async fn credential_types_are_checked_as_awx_checks_them() {
    let node = Node::start().await;
    let admin = node.admin();
    let (_, machine) = admin.get("/api/v2/credential_types/?name=Machine").await;
    let machine_url = machine["results"][0]["url"]
        .as_str()
        .expect("url")
        .to_string();
    assert_eq!(machine["results"][0]["managed"], true);
    let (status, _) = admin
        .patch(&machine_url, json!({"description": "mine now"}))
        .await;
    assert_eq!(status, 403, "managed types are read-only");
    assert_eq!(admin.delete(&machine_url).await.0, 403);

    let (status, body) = admin
        .post(
            "/api/v2/credential_types/",
            json!({"name": "T", "kind": "ssh", "inputs": {}, "injectors": {}}),
        )
        .await;
    assert_eq!(status, 400, "custom types are cloud or net: {body}");
    let (status, body) = admin
        .post(
            "/api/v2/credential_types/",
            json!({"name": "T", "kind": "cloud",
                   "inputs": {"fields": [{"id": "token", "label": "Token", "secret": true}]},
                   "injectors": {"env": {"T": "{{ not_a_field }}"}}}),
        )
        .await;
    assert_eq!(status, 400, "injectors use declared fields: {body}");
    let (status, body) = admin
        .post(
            "/api/v2/credential_types/",
            json!({"name": "T", "kind": "cloud", "inputs": {"fields": [{"id": "1bad", "label": "x", "type": "number"}]}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let created = admin
        .create(
            "/api/v2/credential_types/",
            json!({"name": "T", "kind": "cloud",
                   "inputs": {"fields": [{"id": "token", "label": "Token", "secret": true}], "required": ["token"]},
                   "injectors": {"env": {"T_TOKEN": "{{ token }}"}, "file": {"template": "[x]\ntoken={{ token }}"}}}),
        )
        .await;
    assert_eq!(created["managed"], false);
    let names = admin.names("/api/v2/credential_types/?managed=true").await;
    for expected in [
        "Machine",
        "Source Control",
        "Vault",
        "Network",
        "Amazon Web Services",
        "GitHub Personal Access Token",
        "Container Registry",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
}

async fn stored(client: &tokio_postgres::Client) -> String {
    client
        .query_one(
            "SELECT inputs::text FROM credentials WHERE name = 'ssh'",
            &[],
        )
        .await
        .expect("row")
        .get(0)
}
