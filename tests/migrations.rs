//! The schema applies to an empty database, and applying it again changes nothing.

mod common;

use common::{TestDb, rawx, repo_path, run};

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_are_idempotent() {
    let db = TestDb::create().await;
    let (status, out, err) = run(rawx().arg("migrate").env("RAWX_DATABASE_URL", &db.url));
    assert!(status.success(), "migrate failed: {err}");
    let files = std::fs::read_dir(repo_path("migrations"))
        .expect("migrations dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sql"))
        .count();
    assert_eq!(
        out.lines().filter(|l| l.starts_with("applied V")).count(),
        files,
        "{out}"
    );

    let client = db.client().await;
    for table in [
        "organizations",
        "users",
        "teams",
        "roles",
        "role_parents",
        "credential_types",
        "credentials",
        "projects",
        "inventories",
        "hosts",
        "groups",
        "inventory_sources",
        "job_templates",
        "job_template_credentials",
        "unified_jobs",
        "jobs",
        "project_updates",
        "inventory_updates",
        "ad_hoc_commands",
        "job_host_summaries",
        "instances",
        "instance_groups",
        "activity_stream",
        "settings",
        "tokens",
    ] {
        let found = client
            .query_opt(
                "SELECT 1 FROM pg_class WHERE relname = $1 AND relkind IN ('r', 'p')",
                &[&table],
            )
            .await
            .expect("catalog query");
        assert!(found.is_some(), "table {table} missing");
    }
    let kind: i8 = client
        .query_one(
            "SELECT relkind::\"char\" AS k FROM pg_class WHERE relname = 'job_events'",
            &[],
        )
        .await
        .expect("job_events")
        .get("k");
    assert_eq!(kind as u8, b'p', "job_events must be partitioned");
    let before = history(&client).await;
    assert_eq!(before as usize, files);

    let (status, out, err) = run(rawx().arg("migrate").env("RAWX_DATABASE_URL", &db.url));
    assert!(status.success(), "second migrate failed: {err}");
    assert!(out.contains("up to date"), "{out}");
    assert_eq!(history(&client).await, before);
}

async fn history(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one("SELECT count(*) FROM refinery_schema_history", &[])
        .await
        .expect("history")
        .get(0)
}
