//! Certificate revocation: which node certificates the mesh refuses.
//!
//! A controller signs a [`RevocationList`] (the SHA-256 digests of the
//! revoked certificates) with its work-signing key; every node that trusts
//! that key accepts the list, refuses links with those certificates, and
//! floods it on, so a revoked node is cut off by hops and execution nodes
//! too, not only by the controller. A newer list (by its issue time)
//! replaces an older one; a node hands its list to every peer that links
//! to it, so a restarted node learns it from its first neighbour. A node
//! that joins again gets a new certificate, so revoking by certificate
//! keeps its old one out.

use std::time::SystemTime;

use ring::digest;
use ring::signature::{self, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::work::{PublicKey, SigningKey, TrustedKeys, WorkError, domain_encoded};

/// Prefix of a signed revocation list, so no other signature of the same
/// key can pass for one.
const DOMAIN: &[u8] = b"rawx-mesh revocation list v1\0";

/// The SHA-256 of a certificate's DER encoding.
pub type CertDigest = [u8; 32];

/// The digest a certificate is revoked by.
pub fn cert_digest(der: &[u8]) -> CertDigest {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, der).as_ref());
    out
}

/// The certificates refused from now on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationList {
    /// When it was issued (ms since the Unix epoch): the newest list wins.
    pub issued_ms: u64,
    /// The revoked certificates' digests, sorted.
    pub certificates: Vec<CertDigest>,
}

/// A revocation list with its controller's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRevocations {
    /// What is revoked.
    pub list: RevocationList,
    /// The key that signed it.
    pub signer: PublicKey,
    /// Ed25519 signature over the domain prefix and the encoded list.
    pub signature: Vec<u8>,
}

fn signed_bytes(list: &RevocationList) -> Result<Vec<u8>, WorkError> {
    domain_encoded(DOMAIN, list)
}

impl RevocationList {
    /// A list of `certificates` issued now, or just after `after` (the
    /// previous list's time) should the clock be behind it.
    pub fn new(certificates: impl IntoIterator<Item = CertDigest>, after: u64) -> Self {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let mut certificates: Vec<CertDigest> = certificates.into_iter().collect();
        certificates.sort_unstable();
        certificates.dedup();
        Self {
            issued_ms: now.max(after.saturating_add(1)),
            certificates,
        }
    }

    /// Whether `cert` is revoked.
    pub fn revokes(&self, cert: &CertDigest) -> bool {
        self.certificates.binary_search(cert).is_ok()
    }

    /// Signs the list with a controller's key.
    pub fn sign(self, key: &SigningKey) -> Result<SignedRevocations, WorkError> {
        let signature = key.sign_bytes(&signed_bytes(&self)?);
        Ok(SignedRevocations {
            list: self,
            signer: key.public_key(),
            signature,
        })
    }
}

impl SignedRevocations {
    /// Checks the signature and the signer against `trusted`; returns the
    /// list. The certificates are sorted again, since a list from the wire
    /// is searched by [`RevocationList::revokes`].
    pub fn verify(&self, trusted: &TrustedKeys) -> Result<RevocationList, WorkError> {
        if self.signature.is_empty() {
            return Err(WorkError::Unsigned);
        }
        if !trusted.contains(&self.signer) {
            return Err(WorkError::UntrustedKey);
        }
        UnparsedPublicKey::new(&signature::ED25519, self.signer.0)
            .verify(&signed_bytes(&self.list)?, &self.signature)
            .map_err(|_| WorkError::BadSignature)?;
        let mut list = self.list.clone();
        list.certificates.sort_unstable();
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_trusted_signature_over_the_same_list_verifies() {
        let (key, _) = SigningKey::generate().expect("key");
        let (other, _) = SigningKey::generate().expect("key");
        let trusted = TrustedKeys::new([key.public_key()]);
        let revoked = cert_digest(b"a certificate");
        let signed = RevocationList::new([revoked], 0)
            .sign(&key)
            .expect("signed");
        let list = signed.verify(&trusted).expect("verifies");
        assert!(list.revokes(&revoked));
        assert!(!list.revokes(&cert_digest(b"another")));

        let mut tampered = signed.clone();
        tampered.list.certificates.clear();
        assert_eq!(tampered.verify(&trusted), Err(WorkError::BadSignature));
        let mut unsigned = signed.clone();
        unsigned.signature.clear();
        assert_eq!(unsigned.verify(&trusted), Err(WorkError::Unsigned));
        let foreign = RevocationList::new([revoked], 0)
            .sign(&other)
            .expect("signed");
        assert_eq!(foreign.verify(&trusted), Err(WorkError::UntrustedKey));
    }

    #[test]
    fn a_new_list_is_issued_after_the_previous_one() {
        let far = u64::MAX / 2;
        assert_eq!(RevocationList::new([], far).issued_ms, far + 1);
    }
}
