//! Velero as far as hooks go, for tests and the demo: its CustomResourceDefinitions, and a
//! fake Velero server that processes Backups the way Velero does for hooks (which hooks run
//! on which pod, how they are counted, how the phase is chosen, what the log says) and
//! answers DownloadRequests with a signed URL on its own loopback HTTPS server.

mod controller;
pub mod demo;
mod log;
mod run;

use serde_json::{Value, json};

pub use controller::{FakeVelero, FakeVeleroConfig};
pub use log::{LogFormat, LogWriter};
pub use run::{BackupRun, FieldValue, Line, run_backup};

use crate::ResourceType;

pub const GROUP: &str = "velero.io";

/// A CRD's kind, plural, short name and printer columns (name, type, jsonPath).
type Definition = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, &'static str)],
);

/// The names and printer columns of Velero's CRDs (`config/crd/v1/bases/velero.io_*.yaml`
/// in velero-io/velero): kind, plural, short name, and `additionalPrinterColumns` as
/// (name, type, jsonPath). All are namespaced, `v1` only, with `subresources: {}` (no
/// status subresource: Velero writes status through the main resource).
const DEFINITIONS: &[Definition] = &[
    (
        "Backup",
        "backups",
        "bak",
        &[
            ("Status", "string", ".status.phase"),
            ("Errors", "integer", ".status.errors"),
            ("Warnings", "integer", ".status.warnings"),
            ("Started", "date", ".status.startTimestamp"),
            ("Age", "date", ".metadata.creationTimestamp"),
        ],
    ),
    (
        "Schedule",
        "schedules",
        "sched",
        &[
            ("Status", "string", ".status.phase"),
            ("Schedule", "string", ".spec.schedule"),
            ("LastBackup", "date", ".status.lastBackup"),
            ("Age", "date", ".metadata.creationTimestamp"),
            ("Paused", "boolean", ".spec.paused"),
        ],
    ),
    (
        "Restore",
        "restores",
        "rst",
        &[
            ("Backup", "string", ".spec.backupName"),
            ("Status", "string", ".status.phase"),
            ("Errors", "integer", ".status.errors"),
            ("Warnings", "integer", ".status.warnings"),
            ("Age", "date", ".metadata.creationTimestamp"),
        ],
    ),
    (
        "DownloadRequest",
        "downloadrequests",
        "dreq",
        &[
            ("Target Kind", "string", ".spec.target.kind"),
            ("Target Name", "string", ".spec.target.name"),
            ("Status", "string", ".status.phase"),
            ("Age", "date", ".metadata.creationTimestamp"),
        ],
    ),
    (
        "BackupStorageLocation",
        "backupstoragelocations",
        "bsl",
        &[
            ("Phase", "string", ".status.phase"),
            ("Last Validated", "date", ".status.lastValidationTime"),
            ("Age", "date", ".metadata.creationTimestamp"),
            ("Default", "boolean", ".spec.default"),
        ],
    ),
];

/// Velero's CustomResourceDefinitions for Backup, Schedule, Restore, DownloadRequest and
/// BackupStorageLocation, as `kubectl apply` would send them (schemas left open: the
/// emulator does not apply them).
pub fn custom_resource_definitions() -> Vec<Value> {
    DEFINITIONS
        .iter()
        .map(|(kind, plural, short, columns)| {
            let columns: Vec<Value> = columns
                .iter()
                .map(|(name, type_, path)| json!({"name": name, "type": type_, "jsonPath": path}))
                .collect();
            json!({
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": format!("{plural}.{GROUP}"), "labels": {"component": "velero"}},
                "spec": {
                    "group": GROUP,
                    "scope": "Namespaced",
                    "names": {"kind": kind, "listKind": format!("{kind}List"), "plural": plural,
                              "singular": kind.to_lowercase(), "shortNames": [short]},
                    "versions": [{
                        "name": "v1", "served": true, "storage": true,
                        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                        "subresources": {},
                        "additionalPrinterColumns": columns,
                    }],
                },
            })
        })
        .collect()
}

/// The same types as [`custom_resource_definitions`], to register with
/// `EmulatorConfig::resource_type` instead of creating the CRDs.
pub fn resource_types() -> Vec<ResourceType> {
    custom_resource_definitions()
        .iter()
        .flat_map(crate::crd::types_of)
        .collect()
}

fn rfc3339(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
