//! Field encryption: secrets at rest as AES-256-GCM, keyed from SECRET_KEY.
//!
//! A stored secret reads `$encrypted$AESGCM$<base64(nonce || ciphertext)>`;
//! the field's name is bound in as associated data, so a value moved to
//! another field does not decrypt.

use base64::Engine;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use serde_json::Value;

use super::secret_key::SecretKey;

/// What every stored secret starts with.
pub const PREFIX: &str = "$encrypted$AESGCM$";
/// What clients see instead of a secret.
pub const PLACEHOLDER: &str = "$encrypted$";

/// A stored secret could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    #[error("not an encrypted value")]
    NotEncrypted,
    #[error("encrypted value is corrupt or was made with another SECRET_KEY")]
    Corrupt,
    #[error("the system random source failed")]
    Random,
    #[error("cannot derive the field-encryption key")]
    Key,
}

/// Encrypts and decrypts field values with the node's key.
pub struct Cipher {
    key: LessSafeKey,
}

struct KeyLen;

impl hkdf::KeyType for KeyLen {
    fn len(&self) -> usize {
        32
    }
}

impl Cipher {
    /// Derives the field-encryption key from SECRET_KEY (HKDF-SHA256), so
    /// the same key file can feed other uses without reusing key material.
    pub fn new(secret: &SecretKey) -> Result<Cipher, CipherError> {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"rawx");
        let prk = salt.extract(secret.bytes());
        let mut raw = [0u8; 32];
        prk.expand(&[b"field encryption v1"], KeyLen)
            .and_then(|okm| okm.fill(&mut raw))
            .map_err(|_| CipherError::Key)?;
        let unbound = UnboundKey::new(&AES_256_GCM, &raw).map_err(|_| CipherError::Key)?;
        Ok(Cipher {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Encrypts `plain` for the field `field`.
    pub fn encrypt(&self, field: &str, plain: &str) -> Result<String, CipherError> {
        let nonce_bytes = super::random::bytes::<NONCE_LEN>().map_err(|_| CipherError::Random)?;
        let nonce = Nonce::assume_unique_for_key(nonce_bytes);
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(nonce, Aad::from(field.as_bytes()), &mut data)
            .map_err(|_| CipherError::Random)?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&data);
        Ok(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// Decrypts a value `encrypt` made for `field`.
    pub fn decrypt(&self, field: &str, stored: &str) -> Result<String, CipherError> {
        let encoded = stored
            .strip_prefix(PREFIX)
            .ok_or(CipherError::NotEncrypted)?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| CipherError::Corrupt)?;
        if raw.len() < NONCE_LEN {
            return Err(CipherError::Corrupt);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CipherError::Corrupt)?;
        let mut sealed = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(field.as_bytes()), &mut sealed)
            .map_err(|_| CipherError::Corrupt)?;
        String::from_utf8(plain.to_vec()).map_err(|_| CipherError::Corrupt)
    }
}

/// Whether a stored value is an encrypted secret.
pub fn is_encrypted(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.starts_with(PREFIX))
}

/// `value` with every encrypted secret replaced by `$encrypted$`, for
/// responses and the activity stream.
pub fn mask(value: &Value) -> Value {
    let mut masked = value.clone();
    mask_in_place(&mut masked);
    masked
}

/// [`mask`] without a copy, for a value the caller owns.
pub fn mask_in_place(value: &mut Value) {
    match value {
        Value::String(s) if s.starts_with(PREFIX) => *s = PLACEHOLDER.into(),
        Value::Array(items) => items.iter_mut().for_each(mask_in_place),
        Value::Object(map) => map.values_mut().for_each(mask_in_place),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> Cipher {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = super::super::secret_key::load_or_create(&dir.path().join("k")).expect("key");
        Cipher::new(&key).expect("cipher")
    }

    #[test]
    fn round_trip_and_binding() {
        let cipher = cipher();
        let stored = cipher.encrypt("password", "hunter2").expect("encrypt");
        assert!(stored.starts_with(PREFIX));
        assert!(!stored.contains("hunter2"));
        assert_eq!(
            cipher.decrypt("password", &stored).expect("decrypt"),
            "hunter2"
        );
        // Bound to its field, and to its key.
        assert!(cipher.decrypt("ssh_key_data", &stored).is_err());
        assert!(self::cipher().decrypt("password", &stored).is_err());
        // Two encryptions of one secret differ (fresh nonce).
        assert_ne!(
            stored,
            cipher.encrypt("password", "hunter2").expect("encrypt")
        );
        assert_eq!(
            mask(&Value::String(stored)),
            Value::String(PLACEHOLDER.into())
        );
    }
}
