//! rawx's mesh: QUIC links with mutual TLS between nodes, versioned frames,
//! link-state routing and a [`Node`] that forwards by destination node id.
//!
//! This crate knows nothing of PostgreSQL, HTTP or jobs. The layers, from the
//! bottom: [`frame`] (bytes on a stream), [`routing`] (a pure link-state
//! database: no I/O, time passed in), [`tls`] (the mesh CA and node
//! certificates), [`transport`] (quinn endpoints and the Hello handshake that
//! binds a node id to its certificate), [`node`] (the async shell that ties
//! them together), [`work`] (signed work submissions).
#![forbid(unsafe_code)]

pub mod frame;
pub mod id;
pub mod node;
pub mod routing;
pub mod tls;
pub mod transport;
pub mod work;

pub use frame::{Frame, Message, WorkState};
pub use id::{IdError, NodeId, WorkUnitId};
pub use node::{Delivery, Node, NodeConfig, NodeError, NodeStatus, PeerConfig, Timers};
pub use routing::LinkStateDb;
pub use tls::{MeshCa, NodeIdentity, TlsError, TrustAnchor};
pub use transport::{Link, Transport, TransportConfig, TransportError};
pub use work::{SignedSubmission, SigningKey, Submission, TrustedKeys, WorkError};
