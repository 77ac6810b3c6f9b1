//! rawx: an automation controller compatible with AWX, in one binary.
//!
//! `cli` parses the command line; `node` assembles a running node from
//! `config`, `store` (PostgreSQL), `embedded` (the default PostgreSQL and
//! Redis), the `actors` crate and `api` (HTTP).
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod embedded;
pub mod exec;
pub mod inventory;
pub mod node;
pub mod rbac;
pub mod resource;
pub mod resources;
pub mod scm;
pub mod store;
