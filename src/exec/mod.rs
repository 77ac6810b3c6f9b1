//! Running jobs: ansible-runner's event stream and what rawx stores of it.

pub mod credentials;
pub mod dispatch;
pub mod event;
mod job;
mod project_update;
pub mod runner;
