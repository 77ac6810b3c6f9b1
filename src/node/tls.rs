//! TLS for the API listener: the operator's certificate, or a self-signed
//! one made on first start.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::NodeError;
use crate::config::Config;

fn tls_error(what: impl std::fmt::Display) -> NodeError {
    NodeError::Tls(what.to_string())
}

/// The rustls configuration the config asks for; `None` for plain http.
pub fn server_config(config: &Config, data_dir: &Path) -> Result<Option<ServerConfig>, NodeError> {
    let (cert, key) = match config.tls.as_str() {
        "" => return Ok(None),
        "self-signed" => self_signed(config, &data_dir.join("tls"))?,
        _ => (config.tls_cert.clone(), config.tls_key.clone()),
    };
    let certs = read_certs(&cert)?;
    let key = read_key(&key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|err| tls_error(format!("tls_cert/tls_key: {err}")))?;
    Ok(Some(server))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, NodeError> {
    let pem =
        fs::read(path).map_err(|err| tls_error(format!("tls_cert {}: {err}", path.display())))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|err| tls_error(format!("tls_cert {}: {err}", path.display())))?;
    if certs.is_empty() {
        return Err(tls_error(format!(
            "tls_cert {}: no certificate in it",
            path.display()
        )));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, NodeError> {
    let pem =
        fs::read(path).map_err(|err| tls_error(format!("tls_key {}: {err}", path.display())))?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|err| tls_error(format!("tls_key {}: {err}", path.display())))?
        .ok_or_else(|| tls_error(format!("tls_key {}: no private key in it", path.display())))
}

/// The self-signed pair under `dir`, made if absent, for the names this node
/// answers to.
fn self_signed(config: &Config, dir: &Path) -> Result<(PathBuf, PathBuf), NodeError> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    fs::create_dir_all(dir).map_err(|err| tls_error(format!("{}: {err}", dir.display())))?;
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        config.node_name(),
    ];
    if let Ok(addr) = config.listen.parse::<std::net::SocketAddr>()
        && !addr.ip().is_unspecified()
    {
        names.push(addr.ip().to_string());
    }
    names.dedup();
    let generated = rcgen::generate_simple_self_signed(names).map_err(tls_error)?;
    write_private(&key, generated.signing_key.serialize_pem().as_bytes())?;
    fs::write(&cert, generated.cert.pem())
        .map_err(|err| tls_error(format!("{}: {err}", cert.display())))?;
    tracing::info!(path = %cert.display(), "generated a self-signed certificate");
    Ok((cert, key))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), NodeError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|err| tls_error(format!("{}: {err}", path.display())))?;
    file.write_all(bytes)
        .map_err(|err| tls_error(format!("{}: {err}", path.display())))
}
