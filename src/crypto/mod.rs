//! Secrets: password hashes, random tokens, the node's secret key.

pub mod fields;
pub mod password;
pub mod random;
pub mod secret_key;
