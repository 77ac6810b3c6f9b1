//! The node's SECRET_KEY: 32 random bytes, kept in a 0600 file.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The key that encrypts secrets at rest.
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// The raw key bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The secret key file could not be read or created.
#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error("secret_key_file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("secret_key_file {0}: expected 64 hex digits")]
    Malformed(PathBuf),
    #[error("secret_key_file {0}: readable by others; chmod 600 it")]
    TooOpen(PathBuf),
    #[error(transparent)]
    Random(#[from] super::random::RandomError),
}

/// Reads the key at `path`, creating it with a fresh random key if absent.
pub fn load_or_create(path: &Path) -> Result<SecretKey, SecretKeyError> {
    let io = |source| SecretKeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    match fs::read_to_string(path) {
        Ok(text) => {
            let mode = fs::metadata(path).map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(SecretKeyError::TooOpen(path.to_path_buf()));
            }
            parse(text.trim()).ok_or_else(|| SecretKeyError::Malformed(path.to_path_buf()))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(io)?;
            }
            let key = super::random::bytes::<32>()?;
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(io)?;
            file.write_all(hex(&key).as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            Ok(SecretKey(key))
        }
        Err(err) => Err(io(err)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse(text: &str) -> Option<SecretKey> {
    if text.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, slot) in key.iter_mut().enumerate() {
        *slot = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(SecretKey(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("SECRET_KEY");
        let first = load_or_create(&path).expect("created");
        let second = load_or_create(&path).expect("read");
        assert_eq!(first.bytes(), second.bytes());
        let mode = fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
