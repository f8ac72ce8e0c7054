//! The parts of Velero's `velero.io/v1` Backup, Schedule and Restore that decide which hooks
//! run where (`pkg/apis/velero/v1/{backup_types,schedule_types,restore_types}.go`).
//!
//! Values the CRD types loosely, or that a manifest may get wrong, are kept as written
//! (`serde_json::Value`) so that a wrong type is a finding, not a decode failure.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::selector::LabelSelector;

/// A JSON `null` reads as the field's default, as Go's decoder leaves the zero value.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `BackupSpec`: what a Backup (or each Backup a Schedule creates) takes in, and its hooks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupSpec {
    /// `None` when absent: the backup controller then writes `["*"]`.
    pub included_namespaces: Option<Vec<String>>,
    #[serde(deserialize_with = "nullable")]
    pub excluded_namespaces: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub included_resources: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub excluded_resources: Vec<String>,
    pub include_cluster_resources: Option<bool>,
    #[serde(deserialize_with = "nullable")]
    pub included_namespace_scoped_resources: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub excluded_namespace_scoped_resources: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub included_cluster_scoped_resources: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub excluded_cluster_scoped_resources: Vec<String>,
    pub label_selector: Option<LabelSelector>,
    pub or_label_selectors: Option<Vec<LabelSelector>>,
    /// Unset: the server's `--default-volumes-to-fs-backup` decides (false by default).
    pub default_volumes_to_fs_backup: Option<bool>,
    #[serde(deserialize_with = "nullable")]
    pub hooks: BackupHooks,
}

impl BackupSpec {
    /// `collections.UseOldResourceFilters`: the old filters are in use when any of
    /// `includeClusterResources`, `includedResources`, `excludedResources` is set.
    pub fn uses_old_resource_filters(&self) -> bool {
        self.include_cluster_resources.is_some()
            || !self.included_resources.is_empty()
            || !self.excluded_resources.is_empty()
    }

    pub fn uses_new_resource_filters(&self) -> bool {
        !self.included_namespace_scoped_resources.is_empty()
            || !self.excluded_namespace_scoped_resources.is_empty()
            || !self.included_cluster_scoped_resources.is_empty()
            || !self.excluded_cluster_scoped_resources.is_empty()
    }

    /// The included namespaces as the backup controller leaves them: empty means `["*"]`
    /// (`backup_controller.go`, `prepareBackupRequest`).
    pub fn effective_included_namespaces(&self) -> Vec<String> {
        match &self.included_namespaces {
            Some(list) if !list.is_empty() => list.clone(),
            _ => vec!["*".to_owned()],
        }
    }
}

/// `BackupHooks`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupHooks {
    #[serde(deserialize_with = "nullable")]
    pub resources: Vec<BackupResourceHookSpec>,
}

/// One `spec.hooks.resources[]` entry of a Backup (`BackupResourceHookSpec`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupResourceHookSpec {
    /// `None` when absent (the CRD requires it); `""` is let through.
    pub name: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub included_namespaces: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub excluded_namespaces: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub included_resources: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub excluded_resources: Vec<String>,
    pub label_selector: Option<LabelSelector>,
    #[serde(deserialize_with = "nullable")]
    pub pre: Vec<BackupResourceHook>,
    #[serde(deserialize_with = "nullable")]
    pub post: Vec<BackupResourceHook>,
}

impl BackupResourceHookSpec {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }
}

/// One `pre[]`/`post[]` item: `{exec: ...}` (the CRD requires `exec`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupResourceHook {
    pub exec: Option<ExecHook>,
}

/// `ExecHook`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecHook {
    #[serde(deserialize_with = "nullable")]
    pub container: String,
    #[serde(deserialize_with = "nullable")]
    pub command: Vec<String>,
    pub on_error: Option<String>,
    /// A Go duration string (`metav1.Duration`), kept as written.
    pub timeout: Option<Value>,
}

/// `RestoreSpec`: what a Restore takes in, and its hooks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RestoreSpec {
    pub backup_name: Option<String>,
    pub schedule_name: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub included_namespaces: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub excluded_namespaces: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub included_resources: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub excluded_resources: Vec<String>,
    /// Source namespace → target namespace.
    #[serde(deserialize_with = "nullable")]
    pub namespace_mapping: BTreeMap<String, String>,
    pub label_selector: Option<LabelSelector>,
    pub or_label_selectors: Option<Vec<LabelSelector>>,
    #[serde(deserialize_with = "nullable")]
    pub hooks: RestoreHooks,
    /// A ConfigMap of patches applied to objects before they are created; not applied by
    /// the plan, which says so.
    pub resource_modifier: Option<Value>,
    /// Velero main: leave out the server's default resource modifier.
    pub skip_default_resource_modifier: Option<bool>,
    /// Velero main: a resource policy whose selectors and kinds replace the restore's for
    /// the namespaces it matches.
    pub resource_policy: Option<Value>,
}

/// `RestoreHooks`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RestoreHooks {
    #[serde(deserialize_with = "nullable")]
    pub resources: Vec<RestoreResourceHookSpec>,
}

/// One `spec.hooks.resources[]` entry of a Restore (`RestoreResourceHookSpec`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RestoreResourceHookSpec {
    pub name: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub included_namespaces: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub excluded_namespaces: Vec<String>,
    /// In the schema, but Velero always matches pods (`GetRestoreHooksFromSpec`).
    #[serde(deserialize_with = "nullable")]
    pub included_resources: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub excluded_resources: Vec<String>,
    pub label_selector: Option<LabelSelector>,
    #[serde(deserialize_with = "nullable")]
    pub post_hooks: Vec<RestoreResourceHook>,
}

impl RestoreResourceHookSpec {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }
}

/// One `postHooks[]` item: `exec`, `init`, both or neither.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RestoreResourceHook {
    pub exec: Option<ExecRestoreHook>,
    pub init: Option<InitRestoreHook>,
}

/// `ExecRestoreHook`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecRestoreHook {
    #[serde(deserialize_with = "nullable")]
    pub container: String,
    #[serde(deserialize_with = "nullable")]
    pub command: Vec<String>,
    pub on_error: Option<String>,
    pub exec_timeout: Option<Value>,
    pub wait_timeout: Option<Value>,
    pub wait_for_ready: Option<bool>,
}

/// `InitRestoreHook`: free-form containers (the CRD keeps unknown fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InitRestoreHook {
    #[serde(deserialize_with = "nullable")]
    pub init_containers: Vec<Value>,
    /// Declared, never read by Velero.
    pub timeout: Option<Value>,
}

/// Which Velero object a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum VeleroKind {
    Backup,
    Schedule,
    Restore,
}

impl VeleroKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VeleroKind::Backup => "Backup",
            VeleroKind::Schedule => "Schedule",
            VeleroKind::Restore => "Restore",
        }
    }

    /// Where the spec with the hooks is: a Schedule keeps a whole `BackupSpec` in
    /// `spec.template` (`schedule_types.go`).
    pub fn spec_path(self) -> &'static str {
        match self {
            VeleroKind::Schedule => "spec.template",
            _ => "spec",
        }
    }
}

/// The spec of a Velero object, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VeleroSpec {
    /// A Backup's spec, or a Schedule's `spec.template`.
    Backup(BackupSpec),
    Restore(RestoreSpec),
}
