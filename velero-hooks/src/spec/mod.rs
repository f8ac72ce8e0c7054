//! Hooks in Velero's own objects: the `spec.hooks` of a Backup (a Schedule's
//! `spec.template.hooks`) and of a Restore, and the Backup fields that decide which pods
//! they reach.

pub mod glob;
mod glob_syntax;
