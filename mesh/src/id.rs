//! Identifiers that travel in frames, validated when decoded so a hostile
//! peer cannot smuggle an id that would not match a certificate or a path.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest node id: the longest DNS name.
pub const MAX_NODE_ID_LEN: usize = 253;
/// Longest work unit id.
pub const MAX_WORK_UNIT_ID_LEN: usize = 64;

/// Why a string is not a valid id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    /// A node id must be a lowercase DNS name.
    #[error("invalid node id {0:?}: expected a lowercase DNS name (a-z, 0-9, '-', '.')")]
    Node(String),
    /// A work unit id must be short and path-safe.
    #[error("invalid work unit id {0:?}: expected 1-64 characters of a-z, A-Z, 0-9, '-', '_'")]
    WorkUnit(String),
}

/// A node's name in the mesh; it is also the DNS name in its certificate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeId(String);

impl NodeId {
    /// Checks `id` and wraps it.
    pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
        let id = id.into();
        // The id is matched against the certificate's DNS SAN, so it must be
        // a name webpki accepts; lowercase only, because DNS comparison is
        // case-insensitive and two spellings of one node would be confusing.
        let labels_ok = id.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
        let dns_ok = rustls::pki_types::DnsName::try_from(id.as_str()).is_ok();
        if id.is_empty() || id.len() > MAX_NODE_ID_LEN || !labels_ok || !dns_ok {
            return Err(IdError::Node(id));
        }
        Ok(Self(id))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NodeId {
    type Error = IdError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<NodeId> for String {
    fn from(value: NodeId) -> Self {
        value.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A work unit's id; safe to use as a file name on the executing node.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkUnitId(String);

impl WorkUnitId {
    /// Checks `id` and wraps it.
    pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= MAX_WORK_UNIT_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(id))
        } else {
            Err(IdError::WorkUnit(id))
        }
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A fresh random id (128 bits, hex).
    pub fn random() -> Self {
        use ring::rand::SecureRandom;
        let mut bytes = [0u8; 16];
        // The system RNG failing is not something to recover from here; the
        // time-derived fallback is still unique enough per node.
        if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            bytes = nanos.to_le_bytes();
        }
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl TryFrom<String> for WorkUnitId {
    type Error = IdError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<WorkUnitId> for String {
    fn from(value: WorkUnitId) -> Self {
        value.0
    }
}

impl fmt::Display for WorkUnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_lowercase_dns_names() {
        for good in ["a", "exec-1", "hop.example.com", "n0"] {
            assert!(NodeId::new(good).is_ok(), "{good}");
        }
        // webpki refuses names that could read as numbers, so NodeId does.
        for bad in [
            "",
            "10.0.0.1",
            "a.9",
            "0x",
            "A",
            "-a",
            "a-",
            "a..b",
            "a b",
            "a_b",
            "é",
            &"a".repeat(64),
        ] {
            assert!(NodeId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn work_unit_ids_are_path_safe() {
        assert!(WorkUnitId::new("Ab3_x-9").is_ok());
        for bad in ["", "../x", "a/b", ".", &"a".repeat(65)] {
            assert!(WorkUnitId::new(bad).is_err(), "{bad}");
        }
    }
}
