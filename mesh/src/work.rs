//! Signed work submissions: a controller signs what it asks an execution
//! node to run, and the executor refuses anything not signed by a key it
//! trusts.
//!
//! TLS already proves which node a frame came from, but a hop relays frames
//! it did not write, so the executor checks the controller's own signature
//! end to end. The signature covers a [`Submission`] that carries the SHA-256
//! of the payload, so the payload itself can be streamed and checked as it
//! arrives ([`PayloadHasher`]) instead of being held whole before verifying.

use std::time::{Duration, SystemTime};

use ring::digest;
use ring::rand::SystemRandom;
use ring::signature::{self, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::id::{NodeId, WorkUnitId};

/// Prefix of every signed message, so a signature over a submission can
/// never be replayed as a signature over anything else.
const DOMAIN: &[u8] = b"rawx-mesh work submission v1\0";
/// Longest work type name.
pub const MAX_WORK_TYPE_LEN: usize = 64;

/// Why a submission or key is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorkError {
    /// The submission carries no signature.
    #[error("work submission is not signed")]
    Unsigned,
    /// The signing key is not among the trusted controller keys.
    #[error("work submission is signed by an untrusted key")]
    UntrustedKey,
    /// The signature does not verify.
    #[error("work submission signature is invalid")]
    BadSignature,
    /// The submission's validity window is over, or has not begun.
    #[error("work submission expired or not yet valid")]
    Expired,
    /// The payload received is not the one that was signed.
    #[error("payload does not match the signed digest")]
    PayloadMismatch,
    /// A key could not be generated or read.
    #[error("invalid key: {0}")]
    Key(String),
    /// The work type is empty or too long.
    #[error("invalid work type")]
    WorkType,
    /// The submission could not be encoded for signing.
    #[error("encoding: {0}")]
    Encoding(String),
}

/// What a controller asks of an execution node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// The work unit's id, chosen by the submitter.
    pub unit: WorkUnitId,
    /// What kind of work, e.g. `ansible-runner`.
    pub work_type: String,
    /// The node that submits.
    pub submitter: NodeId,
    /// The node that should run it.
    pub executor: NodeId,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before: u64,
    /// End of validity, seconds since the Unix epoch; short, so a captured
    /// submission is soon useless.
    pub not_after: u64,
    /// Length of the payload in bytes.
    pub payload_len: u64,
    /// SHA-256 of the payload.
    pub payload_sha256: [u8; 32],
}

/// A controller's Ed25519 public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublicKey(pub [u8; 32]);

/// A submission with the signature of the controller that made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedSubmission {
    /// What is asked.
    pub submission: Submission,
    /// The key that signed it.
    pub signer: PublicKey,
    /// Ed25519 signature over the domain prefix and the encoded submission;
    /// empty when unsigned.
    pub signature: Vec<u8>,
}

fn signed_bytes(submission: &Submission) -> Result<Vec<u8>, WorkError> {
    domain_encoded(DOMAIN, submission)
}

/// What a signature covers: `domain` (so a signature over one kind of
/// message never passes for another), then `value` encoded.
pub(crate) fn domain_encoded<T: Serialize>(domain: &[u8], value: &T) -> Result<Vec<u8>, WorkError> {
    let mut out = domain.to_vec();
    // bincode's fixed layout makes the encoding deterministic, which a
    // signature needs; JSON's key order and spacing would not be.
    bincode::serde::encode_into_std_write(value, &mut out, bincode::config::standard())
        .map_err(|e| WorkError::Encoding(e.to_string()))?;
    Ok(out)
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Submission {
    /// A submission of `payload`, valid from now for `ttl`.
    pub fn new(
        unit: WorkUnitId,
        work_type: &str,
        submitter: NodeId,
        executor: NodeId,
        payload: &[u8],
        ttl: Duration,
    ) -> Result<Self, WorkError> {
        let mut hasher = PayloadHasher::new();
        hasher.update(payload);
        let (payload_len, payload_sha256) = hasher.finish();
        Self::for_digest(
            unit,
            work_type,
            submitter,
            executor,
            (payload_len, payload_sha256),
            ttl,
        )
    }

    /// A submission of a payload known by its length and SHA-256 (see
    /// [`PayloadHasher`]), valid from now for `ttl`; for payloads streamed
    /// from a file rather than held in memory.
    pub fn for_digest(
        unit: WorkUnitId,
        work_type: &str,
        submitter: NodeId,
        executor: NodeId,
        (payload_len, payload_sha256): (u64, [u8; 32]),
        ttl: Duration,
    ) -> Result<Self, WorkError> {
        if work_type.is_empty() || work_type.len() > MAX_WORK_TYPE_LEN {
            return Err(WorkError::WorkType);
        }
        let now = SystemTime::now();
        Ok(Self {
            unit,
            work_type: work_type.to_owned(),
            submitter,
            executor,
            not_before: unix(now).saturating_sub(60),
            not_after: unix(now + ttl),
            payload_len,
            payload_sha256,
        })
    }

    /// Checks a received payload's length and digest against the signed ones.
    pub fn check_payload(&self, len: u64, sha256: [u8; 32]) -> Result<(), WorkError> {
        // Both digests are public (one travels in the submission), so a
        // plain comparison leaks nothing.
        if len == self.payload_len && sha256 == self.payload_sha256 {
            Ok(())
        } else {
            Err(WorkError::PayloadMismatch)
        }
    }
}

/// A controller's signing key.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new key; returns it with its PKCS#8 document, a secret to store
    /// encrypted.
    pub fn generate() -> Result<(Self, Vec<u8>), WorkError> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| WorkError::Key("key generation failed".into()))?;
        let bytes = doc.as_ref().to_vec();
        Ok((Self::from_pkcs8(&bytes)?, bytes))
    }

    /// A key stored earlier as PKCS#8.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, WorkError> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|e| WorkError::Key(e.to_string()))?;
        Ok(Self { pair })
    }

    /// The public half, for the executors' trusted keys.
    pub fn public_key(&self) -> PublicKey {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(key)
    }

    /// Signs a submission.
    pub fn sign(&self, submission: Submission) -> Result<SignedSubmission, WorkError> {
        let signature = self.sign_bytes(&signed_bytes(&submission)?);
        Ok(SignedSubmission {
            submission,
            signer: self.public_key(),
            signature,
        })
    }
}

impl SigningKey {
    /// Signs `bytes`, which start with their kind's domain prefix.
    pub(crate) fn sign_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        self.pair.sign(bytes).as_ref().to_vec()
    }
}

/// The controller keys an execution node accepts work from.
#[derive(Clone, Debug, Default)]
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
}

impl TrustedKeys {
    /// Trusts these keys.
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> Self {
        Self {
            keys: keys.into_iter().collect(),
        }
    }

    /// Whether `key` is trusted.
    pub fn contains(&self, key: &PublicKey) -> bool {
        self.keys.contains(key)
    }

    /// Checks the signature, the signer and the validity window at `now`;
    /// returns the submission to run.
    pub fn verify<'a>(
        &self,
        signed: &'a SignedSubmission,
        now: SystemTime,
    ) -> Result<&'a Submission, WorkError> {
        if signed.signature.is_empty() {
            return Err(WorkError::Unsigned);
        }
        if !self.contains(&signed.signer) {
            return Err(WorkError::UntrustedKey);
        }
        UnparsedPublicKey::new(&signature::ED25519, signed.signer.0)
            .verify(&signed_bytes(&signed.submission)?, &signed.signature)
            .map_err(|_| WorkError::BadSignature)?;
        let now = unix(now);
        if now < signed.submission.not_before || now > signed.submission.not_after {
            return Err(WorkError::Expired);
        }
        Ok(&signed.submission)
    }
}

/// Length and SHA-256 of a payload that arrives in pieces.
pub struct PayloadHasher {
    context: digest::Context,
    len: u64,
}

impl std::fmt::Debug for PayloadHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadHasher")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Default for PayloadHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PayloadHasher {
    /// An empty hasher.
    pub fn new() -> Self {
        Self {
            context: digest::Context::new(&digest::SHA256),
            len: 0,
        }
    }

    /// Adds the next piece.
    pub fn update(&mut self, bytes: &[u8]) {
        self.context.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Bytes added so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The length and digest of everything added.
    pub fn finish(self) -> (u64, [u8; 32]) {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.context.finish().as_ref());
        (self.len, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).expect("id")
    }

    fn submission(payload: &[u8]) -> Submission {
        Submission::new(
            WorkUnitId::new("unit1").expect("id"),
            "ansible-runner",
            id("control-1"),
            id("exec-1"),
            payload,
            Duration::from_secs(60),
        )
        .expect("submission")
    }

    #[test]
    fn a_signed_submission_from_a_trusted_key_verifies() {
        let (key, pkcs8) = SigningKey::generate().expect("key");
        let trusted = TrustedKeys::new([key.public_key()]);
        let signed = key.sign(submission(b"payload")).expect("sign");
        let ok = trusted
            .verify(&signed, SystemTime::now())
            .expect("verifies");
        assert_eq!(ok.work_type, "ansible-runner");

        // The stored key signs the same way.
        let again = SigningKey::from_pkcs8(&pkcs8).expect("reload");
        assert_eq!(again.public_key(), key.public_key());
        assert!(
            trusted
                .verify(
                    &again.sign(submission(b"p")).expect("sign"),
                    SystemTime::now()
                )
                .is_ok()
        );
    }

    #[test]
    fn unsigned_untrusted_and_tampered_submissions_are_refused() {
        let (key, _) = SigningKey::generate().expect("key");
        let (other, _) = SigningKey::generate().expect("key");
        let trusted = TrustedKeys::new([key.public_key()]);
        let now = SystemTime::now();
        let signed = key.sign(submission(b"payload")).expect("sign");

        let unsigned = SignedSubmission {
            signature: vec![],
            ..signed.clone()
        };
        assert_eq!(trusted.verify(&unsigned, now), Err(WorkError::Unsigned));

        let by_other = other.sign(submission(b"payload")).expect("sign");
        assert_eq!(trusted.verify(&by_other, now), Err(WorkError::UntrustedKey));

        // Another key's signature presented under our key's name.
        let forged = SignedSubmission {
            signer: key.public_key(),
            ..by_other
        };
        assert_eq!(trusted.verify(&forged, now), Err(WorkError::BadSignature));

        let mut tampered = signed.clone();
        tampered.submission.executor = id("exec-2");
        assert_eq!(trusted.verify(&tampered, now), Err(WorkError::BadSignature));

        let mut garbled = signed.clone();
        garbled.signature[0] ^= 1;
        assert_eq!(trusted.verify(&garbled, now), Err(WorkError::BadSignature));
        garbled.signature.truncate(10);
        assert_eq!(trusted.verify(&garbled, now), Err(WorkError::BadSignature));

        assert_eq!(
            TrustedKeys::default().verify(&signed, now),
            Err(WorkError::UntrustedKey)
        );
    }

    #[test]
    fn a_submission_is_refused_outside_its_validity_window() {
        let (key, _) = SigningKey::generate().expect("key");
        let trusted = TrustedKeys::new([key.public_key()]);
        let signed = key.sign(submission(b"payload")).expect("sign");
        let later = SystemTime::now() + Duration::from_secs(3600);
        assert_eq!(trusted.verify(&signed, later), Err(WorkError::Expired));
        let earlier = SystemTime::now() - Duration::from_secs(3600);
        assert_eq!(trusted.verify(&signed, earlier), Err(WorkError::Expired));
    }

    #[test]
    fn the_payload_is_checked_as_it_streams_in() {
        let s = submission(b"hello world");
        let mut hasher = PayloadHasher::new();
        hasher.update(b"hello ");
        hasher.update(b"world");
        let (len, digest) = hasher.finish();
        assert!(s.check_payload(len, digest).is_ok());

        let mut hasher = PayloadHasher::new();
        hasher.update(b"hello there");
        let (len, digest) = hasher.finish();
        assert_eq!(
            s.check_payload(len, digest),
            Err(WorkError::PayloadMismatch)
        );
    }

    #[test]
    fn a_work_type_must_be_named() {
        let unit = WorkUnitId::new("u").expect("id");
        let long = "x".repeat(MAX_WORK_TYPE_LEN + 1);
        for bad in ["", long.as_str()] {
            assert_eq!(
                Submission::new(
                    unit.clone(),
                    bad,
                    id("a"),
                    id("b"),
                    b"",
                    Duration::from_secs(1)
                ),
                Err(WorkError::WorkType)
            );
        }
    }
}
