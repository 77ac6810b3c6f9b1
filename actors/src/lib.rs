//! The actors every rawx node runs, and the supervision that keeps them alive.
//!
//! This crate knows nothing of PostgreSQL, HTTP or JSON: what an actor needs
//! from the outside world is a port (a trait in [`ports`]) that the `rawx`
//! binary implements.
#![forbid(unsafe_code)]

pub mod callback_receiver;
pub mod dispatcher;
pub mod heartbeat;
pub mod mesh_router;
pub mod ports;
pub mod role;
pub mod status;
pub mod supervisor;
pub mod task_manager;

pub use role::NodeRole;
pub use status::{ActorStatus, GetStatus};
pub use supervisor::{Incarnation, Supervised, supervise};
