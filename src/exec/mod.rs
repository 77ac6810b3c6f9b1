//! Running jobs: ansible-runner's event stream and what rawx stores of it.

mod ad_hoc;
pub mod credentials;
pub mod dispatch;
pub mod event;
mod fact_cache;
mod inventory_update;
mod job;
mod project_update;
pub mod remote;
pub mod runner;
