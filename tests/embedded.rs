//! With no URLs configured, a node runs its own PostgreSQL and Redis and
//! leaves no process behind when it stops.

mod common;

use std::time::Duration;

use common::{Server, alive, descendants, rawx, run};
use serde_json::Value;

#[tokio::test]
async fn embedded_services_start_serve_and_stop() {
    let mut server = Server::start(&[]);
    server.wait_ready(Duration::from_secs(120)).await;

    let children = descendants(server.pid());
    assert!(
        children
            .iter()
            .any(|(_, cmd)| cmd.contains("postgres") && cmd.contains(" -D ")),
        "no embedded postgres among {children:?}"
    );
    assert!(
        children.iter().any(|(_, cmd)| cmd.contains("redis-server")),
        "no embedded redis among {children:?}"
    );

    // `rawx admin create` with the same data dir finds the running cluster.
    let (status, _, err) = run(rawx()
        .args(["admin", "create", "--username", "admin", "--password", "pw"])
        .env("RAWX_DATA_DIR", server.data_dir.path()));
    assert!(
        status.success(),
        "admin create against the embedded cluster: {err}"
    );

    let http = reqwest::Client::new();
    let ping: Value = http
        .get(format!("{}/api/v2/ping/", server.base))
        .send()
        .await
        .expect("ping")
        .json()
        .await
        .expect("json");
    assert_eq!(ping["instances"][0]["node"], server.node_name());
    let me = http
        .get(format!("{}/api/v2/me/", server.base))
        .basic_auth("admin", Some("pw"))
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 200);

    let status = server.terminate();
    assert!(
        status.success(),
        "exit after SIGTERM: {status}\n{}",
        server.log()
    );
    let left: Vec<_> = children.iter().filter(|(pid, _)| alive(*pid)).collect();
    assert!(left.is_empty(), "processes left behind: {left:?}");
}
