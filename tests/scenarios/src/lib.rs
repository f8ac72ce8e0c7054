//! Shared set-up for the cross-binary scenarios in tests/.

pub mod backend;
pub mod velero;
