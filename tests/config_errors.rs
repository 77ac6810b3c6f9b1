//! Configuration the operator must fix: exit code 2 and one clear line.

mod common;

use common::{rawx, run};

/// Asserts exit code 2 and a single stderr line containing `needle`.
fn assert_one_line_exit_2(cmd: &mut std::process::Command, needle: &str) {
    let (status, _, err) = run(cmd);
    assert_eq!(status.code(), Some(2), "stderr: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {err}");
    assert!(lines[0].contains(needle), "`{}` lacks `{needle}`", lines[0]);
}

#[test]
fn a_bad_config_file_names_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("rawx.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:1\"\nheartbeat_interval = \"often\"\n",
    )
    .expect("write");
    assert_one_line_exit_2(
        rawx().arg("--config").arg(&file).arg("server"),
        "heartbeat_interval",
    );

    std::fs::write(&file, "listen = [\n").expect("write");
    assert_one_line_exit_2(rawx().arg("--config").arg(&file).arg("server"), "rawx.toml");

    std::fs::write(&file, "role = \"captain\"\n").expect("write");
    assert_one_line_exit_2(rawx().arg("--config").arg(&file).arg("server"), "role");

    assert_one_line_exit_2(
        rawx()
            .arg("--config")
            .arg(dir.path().join("absent.toml"))
            .arg("server"),
        "absent.toml",
    );
}

#[test]
fn a_bad_environment_value_names_the_key() {
    assert_one_line_exit_2(rawx().arg("server").env("RAWX_LISTEN", "nowhere"), "listen");
}

#[test]
fn a_bad_database_url_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Unparseable.
    assert_one_line_exit_2(
        rawx().arg("server").env("RAWX_DATA_DIR", dir.path()).env(
            "RAWX_DATABASE_URL",
            "postgres://rawx:secret@db:notaport/rawx",
        ),
        "database_url",
    );
    // Well formed, but nothing listens there.
    let port = common::free_port();
    let (status, _, err) = run(rawx().arg("server").env("RAWX_DATA_DIR", dir.path()).env(
        "RAWX_DATABASE_URL",
        format!("postgres://rawx:secret@127.0.0.1:{port}/rawx"),
    ));
    assert_eq!(status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("database_url") && !err.contains("secret"),
        "{err}"
    );
}

#[test]
fn a_bad_redis_url_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_one_line_exit_2(
        rawx()
            .arg("server")
            .env("RAWX_DATA_DIR", dir.path())
            .env("RAWX_REDIS_URL", "http://not-redis"),
        "redis_url",
    );
}
