//! TLS on the API: a self-signed certificate made on first start (which a
//! verifying client refuses, as with AWX), or the operator's files.

mod common;

use std::time::Duration;

use common::{Server, TestDb, redis_url};

#[tokio::test]
async fn the_api_serves_tls() {
    let db = TestDb::create().await;
    let redis = redis_url();
    let mut server = Server::start(&[
        ("RAWX_DATABASE_URL", &db.url),
        ("RAWX_REDIS_URL", &redis),
        ("RAWX_TLS", "self-signed"),
    ]);
    server.wait_ready(Duration::from_secs(60)).await;
    assert!(server.base.starts_with("https://"));

    let verifying = reqwest::Client::new();
    let refused = verifying
        .get(format!("{}/api/v2/ping/", server.base))
        .send()
        .await;
    let err = refused.expect_err("a verifying client refuses a self-signed certificate");
    assert!(
        err.is_connect() || err.to_string().contains("certificate"),
        "{err:?}"
    );

    let trusting = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .expect("client");
    let ping = trusting
        .get(format!("{}/api/v2/ping/", server.base))
        .send()
        .await
        .expect("ping over TLS");
    assert_eq!(ping.status(), 200);
    // Plain http on the TLS port gets nothing useful.
    let plain = reqwest::Client::new()
        .get(server.base.replace("https://", "http://") + "/api/v2/ping/")
        .send()
        .await;
    assert!(plain.map(|r| !r.status().is_success()).unwrap_or(true));

    // The same pair, served as the operator's files, and trusted explicitly.
    let cert = server.data_dir.path().join("tls/cert.pem");
    let key = server.data_dir.path().join("tls/key.pem");
    let cert_pem = std::fs::read(&cert).expect("cert.pem");
    let key_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key).expect("key").permissions(),
    );
    assert_eq!(key_mode & 0o777, 0o600);
    assert!(server.terminate().success());
    let cert_copy = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::copy(&cert, cert_copy.path()).expect("copy cert");
    let key_copy = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::copy(&key, key_copy.path()).expect("copy key");
    let cert_path = cert_copy.path().to_string_lossy().into_owned();
    let key_path = key_copy.path().to_string_lossy().into_owned();
    let mut server = Server::start(&[
        ("RAWX_DATABASE_URL", &db.url),
        ("RAWX_REDIS_URL", &redis),
        ("RAWX_TLS", "files"),
        ("RAWX_TLS_CERT", &cert_path),
        ("RAWX_TLS_KEY", &key_path),
    ]);
    server.wait_ready(Duration::from_secs(60)).await;
    let pinned = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&cert_pem).expect("pem"))
        .build()
        .expect("client");
    let ping = pinned
        .get(format!(
            "{}/api/v2/ping/",
            server.base.replace("127.0.0.1", "localhost")
        ))
        .send()
        .await
        .expect("a client trusting the certificate connects");
    assert_eq!(ping.status(), 200);
    assert!(server.terminate().success());
}
