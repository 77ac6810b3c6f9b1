//! The executor's on-disk record of its work units, one directory each:
//!
//! ```text
//! <dir>/<unit id>/submission.bin   the signed submission (bincode)
//!                 payload          the payload, as received
//!                 output           the worker's output, append-only
//!                 status.json      {"state": ..., "detail": ...}
//! ```
//!
//! The files are the unit's memory: a controller that reconnects reads the
//! output from any offset, and an executor that restarts reloads every unit
//! from here. `status.json` is replaced atomically (write, then rename), so
//! a crash leaves the old status or the new one, never half of either.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use tracing::warn;

use crate::frame::WorkState;
use crate::id::WorkUnitId;
use crate::work::{PayloadHasher, SignedSubmission};

/// File holding the signed submission.
pub const SUBMISSION_FILE: &str = "submission.bin";
/// File holding the payload.
pub const PAYLOAD_FILE: &str = "payload";
/// File holding the output.
pub const OUTPUT_FILE: &str = "output";
/// File holding the status.
pub const STATUS_FILE: &str = "status.json";

/// Why a unit's files could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A file's content is not what this code writes.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A unit's state as the executor records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitStatus {
    /// Where the unit is in its life.
    pub state: WorkState,
    /// A human reason: an exit status, why it failed.
    pub detail: String,
}

impl UnitStatus {
    /// A status of `state` with `detail`.
    pub fn new(state: WorkState, detail: impl Into<String>) -> Self {
        Self {
            state,
            detail: detail.into(),
        }
    }
}

/// One unit as found on disk when the executor starts.
#[derive(Debug)]
pub struct StoredUnit {
    /// Its directory.
    pub dir: PathBuf,
    /// What was submitted.
    pub signed: SignedSubmission,
    /// Its last recorded status.
    pub status: UnitStatus,
    /// Payload bytes on disk, with their running digest.
    pub payload: PayloadHasher,
    /// Output bytes on disk.
    pub output_len: u64,
}

/// The directory of `unit` under `root`.
pub fn unit_dir(root: &Path, unit: &WorkUnitId) -> PathBuf {
    // WorkUnitId admits only [A-Za-z0-9_-], so this cannot escape `root`.
    root.join(unit.as_str())
}

/// Creates a unit's directory with its submission, an empty payload and
/// output, and a pending status.
pub async fn create(root: &Path, signed: &SignedSubmission) -> Result<PathBuf, StoreError> {
    let dir = unit_dir(root, &signed.submission.unit);
    tokio::fs::create_dir_all(&dir).await.map_err(io(&dir))?;
    let encoded =
        bincode::serde::encode_to_vec(signed, bincode::config::standard()).map_err(|e| {
            StoreError::Corrupt {
                path: dir.join(SUBMISSION_FILE),
                reason: e.to_string(),
            }
        })?;
    write_atomic(&dir.join(SUBMISSION_FILE), &encoded).await?;
    for name in [PAYLOAD_FILE, OUTPUT_FILE] {
        let path = dir.join(name);
        tokio::fs::write(&path, b"").await.map_err(io(&path))?;
    }
    write_status(
        &dir,
        &UnitStatus::new(WorkState::Pending, "receiving payload"),
    )
    .await?;
    Ok(dir)
}

/// Records a unit's status.
pub async fn write_status(dir: &Path, status: &UnitStatus) -> Result<(), StoreError> {
    let path = dir.join(STATUS_FILE);
    let json = serde_json::to_vec_pretty(status).map_err(|e| StoreError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    write_atomic(&path, &json).await
}

async fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    tokio::fs::write(&tmp, bytes).await.map_err(io(&tmp))?;
    tokio::fs::rename(&tmp, path).await.map_err(io(path))
}

/// Deletes a unit's files.
pub async fn remove(dir: &Path) -> Result<(), StoreError> {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(dir)(e)),
    }
}

/// Every unit under `root`. A directory that cannot be read is logged and
/// skipped (left on disk for an operator), so one damaged unit does not
/// keep the executor from starting.
pub async fn load_all(root: &Path) -> Result<Vec<StoredUnit>, StoreError> {
    tokio::fs::create_dir_all(root).await.map_err(io(root))?;
    let mut entries = tokio::fs::read_dir(root).await.map_err(io(root))?;
    let mut units = Vec::new();
    while let Some(entry) = entries.next_entry().await.map_err(io(root))? {
        let dir = entry.path();
        let is_unit = entry.file_type().await.map(|t| t.is_dir()).unwrap_or(false)
            && entry
                .file_name()
                .to_str()
                .is_some_and(|n| WorkUnitId::new(n).is_ok());
        if !is_unit {
            continue;
        }
        match load(&dir).await {
            Ok(unit) => units.push(unit),
            Err(e) => warn!(error = %e, "work unit not loaded"),
        }
    }
    Ok(units)
}

async fn load(dir: &Path) -> Result<StoredUnit, StoreError> {
    let path = dir.join(SUBMISSION_FILE);
    let bytes = tokio::fs::read(&path).await.map_err(io(&path))?;
    let (signed, _): (SignedSubmission, usize) =
        bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).map_err(|e| {
            StoreError::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            }
        })?;
    if unit_dir(dir.parent().unwrap_or(dir), &signed.submission.unit) != dir {
        return Err(StoreError::Corrupt {
            path,
            reason: "the submission names another unit".into(),
        });
    }
    let path = dir.join(STATUS_FILE);
    let bytes = tokio::fs::read(&path).await.map_err(io(&path))?;
    let status: UnitStatus = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    // The payload's digest is recomputed rather than stored: ring's digest
    // state cannot be saved, and a partly received payload resumes from it.
    let path = dir.join(PAYLOAD_FILE);
    let mut payload = PayloadHasher::new();
    let mut file = tokio::fs::File::open(&path).await.map_err(io(&path))?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).await.map_err(io(&path))?;
        if n == 0 {
            break;
        }
        payload.update(&buf[..n]);
    }
    let path = dir.join(OUTPUT_FILE);
    let output_len = tokio::fs::metadata(&path).await.map_err(io(&path))?.len();
    Ok(StoredUnit {
        dir: dir.to_owned(),
        signed,
        status,
        payload,
        output_len,
    })
}
