//! rawx's mesh: QUIC links with mutual TLS between nodes, versioned frames,
//! link-state routing and a [`Node`] that forwards by destination node id.
//!
//! This crate knows nothing of PostgreSQL, HTTP or jobs. The layers, from the
//! bottom: [`frame`] (bytes on a stream), [`routing`] (a pure link-state
//! database: no I/O, time passed in), [`tls`] (the mesh CA and node
//! certificates), [`transport`] (quinn endpoints and the Hello handshake that
//! binds a node id to its certificate), [`node`] (the async shell that ties
//! them together), [`work`] (signed work submissions), and the work-unit
//! protocol on top: [`worker`] (what an executor runs), [`unit`] (a unit's
//! files), [`executor`] (the executor side), [`submit`] (the controller
//! side) and [`service`] ([`WorkNode`], a node speaking both).
#![forbid(unsafe_code)]

pub mod executor;
pub mod frame;
pub mod id;
pub mod node;
pub mod revocation;
pub mod routing;
pub mod service;
pub mod submit;
pub mod tls;
pub mod transport;
pub mod unit;
pub mod work;
pub mod worker;

pub use executor::ExecutorConfig;
pub use frame::{Frame, Message, WorkState};
pub use id::{IdError, NodeId, WorkUnitId};
pub use node::{Delivery, Node, NodeConfig, NodeError, NodeStatus, PeerConfig, Timers};
pub use revocation::{CertDigest, RevocationList, SignedRevocations, cert_digest};
pub use routing::LinkStateDb;
pub use service::{WorkNode, WorkNodeError};
pub use submit::{ClientConfig, ClientError, OutputStream, StatusReport, UnitHandle};
pub use tls::{MeshCa, NodeIdentity, TlsError, TrustAnchor, pem_cert_digest};
pub use transport::{Link, Transport, TransportConfig, TransportError};
pub use unit::UnitStatus;
pub use work::{PublicKey, SignedSubmission, SigningKey, Submission, TrustedKeys, WorkError};
pub use worker::{
    CancelToken, OutputWriter, WorkContext, WorkFuture, WorkOutcome, Worker, WorkerRegistry,
};
