//! The admission webhook that stops broken Velero hooks (pod annotations, and the
//! `spec.hooks` of Backups, Schedules and Restores) before they reach Velero. The binary (`main.rs`) wires these modules together; tests and benchmarks use
//! them directly.

pub mod admission;
pub mod budget;
pub mod caps;
pub mod config;
pub mod connection;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod review;
pub mod server;
pub mod tls;
pub mod velero;
