//! The Velero API objects the backup commands read and write (`velero.io/v1`), as small
//! serde types holding only the fields used, and the errors users get from them.

use std::borrow::Cow;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ApiResource, DynamicObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cluster::Cluster;

pub const GROUP: &str = "velero.io";
pub const VERSION: &str = "v1";
pub const API_VERSION: &str = "velero.io/v1";

/// `velero.io/v1` `Backup`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backup {
    #[serde(default = "backup_api_version")]
    pub api_version: String,
    #[serde(default = "backup_kind")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Kept whole: the plugin writes what the user gave, and reads a few fields from it.
    #[serde(default)]
    pub spec: serde_json::Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<BackupStatus>,
}

fn backup_api_version() -> String {
    API_VERSION.to_owned()
}

fn backup_kind() -> String {
    "Backup".to_owned()
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<BackupProgress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook_status: Option<HookStatus>,
    pub errors: i64,
    pub warnings: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub validation_errors: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupProgress {
    pub total_items: i64,
    pub items_backed_up: i64,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HookStatus {
    pub hooks_attempted: i64,
    pub hooks_failed: i64,
}

impl Backup {
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    pub fn phase(&self) -> &str {
        self.status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .filter(|p| !p.is_empty())
            .unwrap_or("New")
    }

    pub fn status(&self) -> BackupStatus {
        self.status.clone().unwrap_or_default()
    }

    pub fn storage_location(&self) -> &str {
        self.spec
            .get("storageLocation")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// Phases after which Velero does nothing more with a backup's items.
pub fn is_finished(phase: &str) -> bool {
    matches!(
        phase,
        "Completed" | "PartiallyFailed" | "Failed" | "FailedValidation" | "Deleting"
    )
}

/// Phases for which `velero backup logs` agrees to fetch the log.
pub fn logs_available(phase: &str) -> bool {
    matches!(
        phase,
        "Completed"
            | "PartiallyFailed"
            | "Failed"
            | "WaitingForPluginOperations"
            | "WaitingForPluginOperationsPartiallyFailed"
    )
}

impl kube::Resource for Backup {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "Backup".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        GROUP.into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        VERSION.into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "backups".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// `velero.io/v1` `DownloadRequest`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadRequest {
    #[serde(default = "download_api_version")]
    pub api_version: String,
    #[serde(default = "download_kind")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: DownloadRequestSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DownloadRequestStatus>,
}

fn download_api_version() -> String {
    API_VERSION.to_owned()
}

fn download_kind() -> String {
    "DownloadRequest".to_owned()
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DownloadRequestSpec {
    pub target: DownloadTarget,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DownloadTarget {
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DownloadRequestStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(rename = "downloadURL", skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl kube::Resource for DownloadRequest {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "DownloadRequest".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        GROUP.into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        VERSION.into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "downloadrequests".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

pub fn backups(cluster: &Cluster, velero_namespace: &str) -> Api<Backup> {
    Api::namespaced(cluster.client.clone(), velero_namespace)
}

/// Backups as whole objects, for `-o json|yaml` (every field, not only those used here).
pub fn backups_dynamic(cluster: &Cluster, velero_namespace: &str) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: GROUP.into(),
        version: VERSION.into(),
        api_version: API_VERSION.into(),
        kind: "Backup".into(),
        plural: "backups".into(),
    };
    Api::namespaced_with(cluster.client.clone(), velero_namespace, &resource)
}

/// Schedules as whole objects: their `spec.template` is a Backup spec, read by the planner.
pub fn schedules_dynamic(cluster: &Cluster, velero_namespace: &str) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: GROUP.into(),
        version: VERSION.into(),
        api_version: API_VERSION.into(),
        kind: "Schedule".into(),
        plural: "schedules".into(),
    };
    Api::namespaced_with(cluster.client.clone(), velero_namespace, &resource)
}

pub fn storage_locations(cluster: &Cluster, velero_namespace: &str) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: GROUP.into(),
        version: VERSION.into(),
        api_version: API_VERSION.into(),
        kind: "BackupStorageLocation".into(),
        plural: "backupstoragelocations".into(),
    };
    Api::namespaced_with(cluster.client.clone(), velero_namespace, &resource)
}

pub fn download_requests(cluster: &Cluster, velero_namespace: &str) -> Api<DownloadRequest> {
    Api::namespaced(cluster.client.clone(), velero_namespace)
}

pub const NOT_INSTALLED: &str = "Velero is not installed in this cluster (no velero.io/v1 Backup resource); install Velero or check --context";

/// Fails with [`NOT_INSTALLED`] unless the API server serves `velero.io/v1` `backups`.
pub async fn ensure_velero_installed(cluster: &Cluster) -> anyhow::Result<()> {
    match cluster.client.list_api_group_resources(API_VERSION).await {
        Ok(list) if list.resources.iter().any(|r| r.name == "backups") => Ok(()),
        Ok(_) => anyhow::bail!(NOT_INSTALLED),
        Err(kube::Error::Api(status)) if status.code == 404 => anyhow::bail!(NOT_INSTALLED),
        Err(err) => Err(crate::cluster::describe_api_error(
            err,
            "discover the velero.io/v1 API",
        )),
    }
}
