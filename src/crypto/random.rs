//! Randomness from the operating system, through ring.

use ring::rand::{SecureRandom, SystemRandom};

/// The system's random source failed.
#[derive(Debug, thiserror::Error)]
#[error("the system random source failed")]
pub struct RandomError;

/// `N` random bytes.
pub fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| RandomError)?;
    Ok(out)
}

/// A random string of `len` letters and digits (unbiased), for generated passwords.
pub fn alphanumeric(len: usize) -> Result<String, RandomError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    // Rejection sampling: bytes past the largest multiple of the alphabet's
    // size would favour its first letters.
    let limit = 256 - (256 % ALPHABET.len());
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in bytes::<64>()? {
            if usize::from(byte) < limit && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

/// A random version-4 UUID.
pub fn uuid() -> Result<uuid::Uuid, RandomError> {
    Ok(uuid::Builder::from_random_bytes(bytes::<16>()?).into_uuid())
}
