//! A node against the machine's PostgreSQL and Redis: ping, auth, instances, SIGTERM.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::api::{Api, Auth};
use common::{Server, TestDb, rawx, redis_url, run};
use serde_json::Value;

#[tokio::test]
async fn a_node_serves_ping_me_and_instances() {
    let db = TestDb::create().await;
    let (status, out, err) = run(rawx()
        .args([
            "admin",
            "create",
            "--username",
            "admin",
            "--password",
            "s3cret",
        ])
        .env("RAWX_DATABASE_URL", &db.url));
    assert!(status.success(), "admin create: {err}");
    assert!(out.contains("created superuser admin"), "{out}");

    let started: DateTime<Utc> = db
        .client()
        .await
        .query_one("SELECT now()", &[])
        .await
        .expect("now")
        .get(0);
    let redis = redis_url();
    let mut server = Server::start(&[("RAWX_DATABASE_URL", &db.url), ("RAWX_REDIS_URL", &redis)]);
    server.wait_ready(Duration::from_secs(60)).await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", server.base));

    // Anonymous: the roots and ping.
    let root: Value = get("/api/")
        .send()
        .await
        .expect("api")
        .json()
        .await
        .expect("json");
    assert_eq!(root["current_version"], "/api/v2/");
    let index: Value = get("/api/v2/")
        .send()
        .await
        .expect("v2")
        .json()
        .await
        .expect("json");
    assert_eq!(index["ping"], "/api/v2/ping/");
    assert_eq!(index["inventory"], "/api/v2/inventories/");

    let res = get("/api/v2/ping/").send().await.expect("ping");
    assert_eq!(res.headers()["x-api-product-name"], "AWX");
    let ping: Value = res.json().await.expect("json");
    let me_node = ping["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .find(|i| i["node"] == server.node_name())
        .cloned()
        .unwrap_or_else(|| panic!("this node missing from ping: {ping}"));
    assert_eq!(me_node["node_type"], "hybrid");
    let heartbeat: DateTime<Utc> = me_node["heartbeat"]
        .as_str()
        .expect("heartbeat")
        .parse()
        .expect("iso heartbeat");
    assert!(
        heartbeat >= started,
        "heartbeat {heartbeat} predates the start {started}"
    );
    assert!(me_node["capacity"].as_i64().expect("capacity") > 0);
    assert_eq!(ping["active_node"], server.node_name());

    // /me/ needs credentials, and says so as AWX does.
    let res = get("/api/v2/me/").send().await.expect("me");
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .expect("hdr")
            .starts_with("Bearer")
    );
    let body: Value = res.json().await.expect("json");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("not provided")
    );
    let res = get("/api/v2/me/")
        .basic_auth("admin", Some("wrong"))
        .send()
        .await
        .expect("me");
    assert_eq!(res.status(), 401);
    for _ in 0..2 {
        // Twice: the second answer comes from the credential cache.
        let res = get("/api/v2/me/")
            .basic_auth("admin", Some("s3cret"))
            .send()
            .await
            .expect("me");
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-api-product-version"], "24.6.1");
        let me: Value = res.json().await.expect("json");
        assert_eq!(me["count"], 1);
        assert_eq!(me["results"][0]["username"], "admin");
        assert_eq!(me["results"][0]["is_superuser"], true);
        assert_eq!(me["results"][0]["password"], "$encrypted$");
    }

    // A new password takes effect at once, cache or not.
    let (status, _, err) = run(rawx()
        .args([
            "admin",
            "create",
            "--username",
            "admin",
            "--password",
            "changed",
        ])
        .env("RAWX_DATABASE_URL", &db.url));
    assert!(status.success(), "{err}");
    let res = get("/api/v2/me/")
        .basic_auth("admin", Some("s3cret"))
        .send()
        .await
        .expect("me");
    assert_eq!(res.status(), 401);

    let admin = Api {
        base: server.base.clone(),
        http: http.clone(),
        auth: Auth::Basic("admin".into(), "changed".into()),
    };
    let (_, instances) = admin.get("/api/v2/instances/").await;
    assert_eq!(instances["count"], 1);
    let instance = &instances["results"][0];
    assert_eq!(instance["hostname"], server.node_name());
    assert_eq!(instance["node_type"], "hybrid");
    assert_eq!(instance["node_state"], "ready");
    let url = instance["url"].as_str().expect("url").to_string();
    assert_eq!(admin.get(&url).await.0, 200);
    assert_eq!(admin.get("/api/v2/instances/999999/").await.0, 404);
    assert_eq!(admin.get("/api/v2/instances/?page=abc").await.0, 404);

    let (_, config) = admin.get("/api/v2/config/").await;
    assert_eq!(config["version"], "24.6.1");

    // Every actor answers its status message through the metrics endpoint.
    let metrics = get("/api/v2/metrics/")
        .basic_auth("admin", Some("changed"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for actor in [
        "heartbeat",
        "task_manager",
        "dispatcher",
        "callback_receiver",
    ] {
        assert!(
            metrics.contains(&format!("rawx_actor_up{{actor=\"{actor}\"}} 1")),
            "{metrics}"
        );
    }

    let status = server.terminate();
    assert!(
        status.success(),
        "exit after SIGTERM: {status}\n{}",
        server.log()
    );
}
