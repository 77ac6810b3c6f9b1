//! Node identity: the mesh CA, node certificates that carry the node id, and
//! the rustls configurations that accept only certificates from that CA.
//!
//! The node id is the certificate's DNS name (SAN and CN). TLS proves the
//! peer holds a key certified by the CA; the Hello frame then names the node,
//! and [`check_peer`] ties the two together, so a node cannot claim another's
//! id with its own certificate.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, DnsName, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::id::NodeId;
use crate::revocation::{CertDigest, cert_digest};

/// ALPN protocol name of the mesh, so a mesh port never talks to another
/// QUIC service by mistake.
pub const ALPN: &[u8] = b"rawx-mesh/1";
/// Common name of the mesh CA; fixed, because reloading the CA rebuilds its
/// issuer parameters from it instead of parsing the certificate.
const CA_NAME: &str = "rawx mesh CA";
/// How long a generated CA is valid.
const CA_VALIDITY: Duration = Duration::from_secs(20 * 365 * 24 * 3600);
/// Slack for clocks that run behind the CA's.
const CLOCK_SKEW: Duration = Duration::from_secs(3600);

/// Why a certificate, key or TLS configuration could not be made or is refused.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen could not make or sign a certificate.
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    /// A PEM document could not be read.
    #[error("PEM: {0}")]
    Pem(String),
    /// rustls refused a configuration or a certificate.
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client verifier could not be built.
    #[error("TLS client verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// The CA key does not belong to the CA certificate.
    #[error("the CA key does not match the CA certificate")]
    KeyMismatch,
    /// The peer presented no certificate.
    #[error("the peer presented no certificate")]
    NoCertificate,
    /// The certificate is not issued to the node id it claims.
    #[error("the certificate is not issued to node {0}")]
    WrongNode(NodeId),
    /// A time could not be represented in a certificate.
    #[error("time out of range for a certificate")]
    Time,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn to_offset(t: SystemTime) -> Result<time::OffsetDateTime, TlsError> {
    let secs = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).map_err(|_| TlsError::Time)?,
        Err(e) => -i64::try_from(e.duration().as_secs()).map_err(|_| TlsError::Time)?,
    };
    time::OffsetDateTime::from_unix_timestamp(secs).map_err(|_| TlsError::Time)
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

/// The mesh's certificate authority: signs node certificates.
pub struct MeshCa {
    cert: CertificateDer<'static>,
    cert_pem: String,
    key: KeyPair,
}

impl fmt::Debug for MeshCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeshCa").finish_non_exhaustive()
    }
}

impl MeshCa {
    /// A new CA with a fresh key.
    pub fn generate() -> Result<Self, TlsError> {
        let key = KeyPair::generate()?;
        let now = SystemTime::now();
        let mut params = ca_params();
        params.not_before = to_offset(now - CLOCK_SKEW)?;
        params.not_after = to_offset(now + CA_VALIDITY)?;
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_pem: cert.pem(),
            cert: cert.der().clone(),
            key,
        })
    }

    /// A CA saved earlier with [`MeshCa::cert_pem`] and [`MeshCa::key_pem`].
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, TlsError> {
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| TlsError::Pem(e.to_string()))?;
        let key = KeyPair::from_pem(key_pem)?;
        // The certificate embeds its public key verbatim: finding the key's
        // public bytes in it is enough to catch a swapped file
        // without an X.509 parser.
        let public = rcgen::PublicKeyData::der_bytes(&key);
        if !cert.windows(public.len()).any(|w| w == public) {
            return Err(TlsError::KeyMismatch);
        }
        Ok(Self {
            cert,
            cert_pem: cert_pem.to_owned(),
            key,
        })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key, PEM: a secret, to be stored encrypted.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// What nodes trust: the CA certificate alone.
    pub fn trust_anchor(&self) -> TrustAnchor {
        TrustAnchor {
            cert: self.cert.clone(),
        }
    }

    /// A certificate and key for `node`, valid from now for `valid_for`.
    pub fn issue(&self, node: &NodeId, valid_for: Duration) -> Result<NodeIdentity, TlsError> {
        let now = SystemTime::now();
        self.issue_between(node, now - CLOCK_SKEW, now + valid_for)
    }

    /// A certificate and key for `node` valid between two times (tests use
    /// it to make expired certificates).
    pub fn issue_between(
        &self,
        node: &NodeId,
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> Result<NodeIdentity, TlsError> {
        let key = KeyPair::generate()?;
        let params = node_params(node, not_before, not_after)?;
        let issuer = Issuer::new(ca_params(), &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(NodeIdentity {
            node: node.clone(),
            cert_pem: cert.pem(),
            chain: vec![cert.der().clone()],
            key_pem: key.serialize_pem(),
            key: PrivateKeyDer::try_from(key.serialize_der())
                .map_err(|e| TlsError::Pem(e.to_owned()))?,
        })
    }
}

impl MeshCa {
    /// A certificate (PEM) for `node` over a P-256 public key whose private
    /// half stays with the node (an uncompressed point: 65 bytes, 0x04
    /// first), valid from now for `valid_for`: how a node joins without its
    /// key ever leaving it.
    pub fn sign_public_key(
        &self,
        node: &NodeId,
        public_key: &[u8],
        valid_for: Duration,
    ) -> Result<String, TlsError> {
        if public_key.len() != 65 || public_key.first() != Some(&0x04) {
            return Err(TlsError::Pem(
                "not an uncompressed P-256 public key".to_string(),
            ));
        }
        let now = SystemTime::now();
        let params = node_params(node, now - CLOCK_SKEW, now + valid_for)?;
        let issuer = Issuer::new(ca_params(), &self.key);
        Ok(params
            .signed_by(&RemoteKey(public_key.to_vec()), &issuer)?
            .pem())
    }
}

/// A node certificate's parameters: the node id as DNS name and common
/// name, usable as client and server (every link is dialed by one side and
/// accepted by the other).
fn node_params(
    node: &NodeId,
    not_before: SystemTime,
    not_after: SystemTime,
) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, node.as_str());
    params.distinguished_name = dn;
    params.subject_alt_names = vec![SanType::DnsName(node.as_str().try_into()?)];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.not_before = to_offset(not_before)?;
    params.not_after = to_offset(not_after)?;
    Ok(params)
}

/// A node's public key, which the CA certifies without holding its pair.
struct RemoteKey(Vec<u8>);

impl rcgen::PublicKeyData for RemoteKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// The CA certificate a node trusts.
#[derive(Clone, Debug)]
pub struct TrustAnchor {
    cert: CertificateDer<'static>,
}

impl TrustAnchor {
    /// Reads the CA certificate from PEM.
    pub fn from_pem(pem: &str) -> Result<Self, TlsError> {
        let cert = CertificateDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| TlsError::Pem(e.to_string()))?;
        Ok(Self { cert })
    }

    fn roots(&self) -> Result<Arc<RootCertStore>, TlsError> {
        let mut roots = RootCertStore::empty();
        roots.add(self.cert.clone())?;
        Ok(Arc::new(roots))
    }
}

/// A node's id, certificate and private key.
pub struct NodeIdentity {
    node: NodeId,
    cert_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key_pem: String,
    key: PrivateKeyDer<'static>,
}

impl Clone for NodeIdentity {
    fn clone(&self) -> Self {
        Self {
            node: self.node.clone(),
            cert_pem: self.cert_pem.clone(),
            chain: self.chain.clone(),
            key_pem: self.key_pem.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeIdentity")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl NodeIdentity {
    /// An identity saved earlier; the certificate must name `node`.
    pub fn from_pem(node: NodeId, cert_pem: &str, key_pem: &str) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Pem(e.to_string()))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| TlsError::Pem(e.to_string()))?;
        check_peer(&chain, &node)?;
        Ok(Self {
            node,
            cert_pem: cert_pem.to_owned(),
            chain,
            key_pem: key_pem.to_owned(),
            key,
        })
    }

    /// The node id.
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// The certificate chain, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The private key, PEM: a secret, to be stored with mode 0600.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The digest of its certificate, as revocation lists name it.
    pub fn cert_digest(&self) -> CertDigest {
        // `from_pem` and `issue` both check the chain has a certificate.
        self.chain
            .first()
            .map(|cert| cert_digest(cert.as_ref()))
            .unwrap_or_default()
    }
}

/// The digest of the first certificate in `pem`, as revocation lists name it.
pub fn pem_cert_digest(pem: &str) -> Result<CertDigest, TlsError> {
    let cert =
        CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| TlsError::Pem(e.to_string()))?;
    Ok(cert_digest(cert.as_ref()))
}

/// Checks that the peer's end-entity certificate is issued to `claimed`.
/// The chain itself was verified by rustls during the handshake.
pub fn check_peer(chain: &[CertificateDer<'_>], claimed: &NodeId) -> Result<(), TlsError> {
    let end_entity = chain.first().ok_or(TlsError::NoCertificate)?;
    let parsed = ParsedCertificate::try_from(end_entity)?;
    let name = DnsName::try_from(claimed.as_str())
        .map_err(|_| TlsError::WrongNode(claimed.clone()))?
        .to_owned();
    rustls::client::verify_server_name(&parsed, &ServerName::DnsName(name))
        .map_err(|_| TlsError::WrongNode(claimed.clone()))
}

/// The listening side: a client certificate from the CA is mandatory.
pub(crate) fn server_config(
    identity: &NodeIdentity,
    anchor: &TrustAnchor,
) -> Result<rustls::ServerConfig, TlsError> {
    let provider = provider();
    let verifier =
        WebPkiClientVerifier::builder_with_provider(anchor.roots()?, provider.clone()).build()?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// The dialing side: the server's chain must lead to the CA; its name is
/// checked later against its Hello, because a peer listed by address has no
/// known id before it speaks.
pub(crate) fn client_config(
    identity: &NodeIdentity,
    anchor: &TrustAnchor,
) -> Result<rustls::ClientConfig, TlsError> {
    let provider = provider();
    let verifier = Arc::new(ChainOnly {
        roots: anchor.roots()?,
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// Verifies the server's chain to the CA (signatures, validity dates, key
/// usage) without a name check; see [`client_config`].
#[derive(Debug)]
struct ChainOnly {
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).expect("valid id")
    }

    #[test]
    fn a_node_certificate_names_its_node_only() {
        let ca = MeshCa::generate().expect("ca");
        let ident = ca
            .issue(&id("exec-1"), Duration::from_secs(3600))
            .expect("cert");
        assert!(check_peer(&ident.chain, &id("exec-1")).is_ok());
        assert!(matches!(
            check_peer(&ident.chain, &id("exec-2")),
            Err(TlsError::WrongNode(_))
        ));
        assert!(matches!(
            check_peer(&[], &id("exec-1")),
            Err(TlsError::NoCertificate)
        ));
    }

    #[test]
    fn the_ca_and_identities_survive_pem() {
        let ca = MeshCa::generate().expect("ca");
        let again = MeshCa::from_pem(ca.cert_pem(), &ca.key_pem()).expect("reload");
        // A certificate issued by the reloaded CA chains to the original.
        let ident = again
            .issue(&id("n1"), Duration::from_secs(3600))
            .expect("cert");
        let roots = ca.trust_anchor().roots().expect("roots");
        let parsed = ParsedCertificate::try_from(&ident.chain[0]).expect("parse");
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &parsed,
            &roots,
            &[],
            UnixTime::now(),
            provider().signature_verification_algorithms.all,
        )
        .expect("chains to the original CA");

        let loaded =
            NodeIdentity::from_pem(id("n1"), ident.cert_pem(), ident.key_pem()).expect("reload");
        assert_eq!(loaded.node(), &id("n1"));
        assert!(NodeIdentity::from_pem(id("n2"), ident.cert_pem(), ident.key_pem()).is_err());

        let other = MeshCa::generate().expect("ca");
        assert!(matches!(
            MeshCa::from_pem(ca.cert_pem(), &other.key_pem()),
            Err(TlsError::KeyMismatch)
        ));
        assert!(TrustAnchor::from_pem("not pem").is_err());
    }

    #[test]
    fn configurations_build() {
        let ca = MeshCa::generate().expect("ca");
        let ident = ca
            .issue(&id("n1"), Duration::from_secs(3600))
            .expect("cert");
        server_config(&ident, &ca.trust_anchor()).expect("server config");
        client_config(&ident, &ca.trust_anchor()).expect("client config");
    }
}
