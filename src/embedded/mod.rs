//! The embedded default: a private PostgreSQL cluster and redis-server under
//! the data dir, run as child processes and stopped with the node.

pub mod postgres;
pub mod process;
pub mod redis;

use std::path::PathBuf;

/// An embedded service could not be set up or started.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("{binary} not found: install {package}")]
    Missing {
        binary: &'static str,
        package: &'static str,
    },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{service} failed: {detail}")]
    Failed {
        service: &'static str,
        detail: String,
    },
}
