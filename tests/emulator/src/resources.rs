//! The data-driven table of resource types the emulator serves.
//!
//! Everything that depends on the kind of object (URL plural, discovery,
//! short names, scope, table columns, subresources) is read from here, so
//! a test can register a CRD-like type with one [`ResourceType`] value.

use std::sync::{Arc, RwLock};

use crate::table::{self, PrinterColumn};

/// One resource type at one group/version (`apps/v1` `deployments`).
#[derive(Clone, Debug)]
pub struct ResourceType {
    /// API group; `""` for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    /// URL segment: `deployments`.
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub namespaced: bool,
    /// Discovery categories, e.g. `all` (used by `kubectl get all`).
    pub categories: Vec<String>,
    /// Subresources served: `status` and/or `scale`.
    pub subresources: Vec<String>,
    /// Columns of `kubectl get` tables; empty means Name + Age.
    pub columns: Vec<PrinterColumn>,
    /// Whether `metadata.generation` is bumped on changes outside metadata and status.
    pub tracks_generation: bool,
    /// Whether DELETE answers with the deleted object rather than a Success Status
    /// (kube-apiserver does so for pods, which are deleted gracefully).
    pub delete_returns_object: bool,
    /// Whether `application/strategic-merge-patch+json` is accepted (built-in
    /// types only, like kube-apiserver, which refuses it for custom resources).
    pub supports_strategic_merge: bool,
    /// The CustomResourceDefinition that defines this type (`backups.velero.io`),
    /// `None` for built-in types and types registered in `EmulatorConfig`.
    pub defined_by: Option<String>,
}

impl ResourceType {
    /// A namespaced type with the usual defaults: singular = lowercase kind,
    /// no short names, status subresource, generation tracked.
    pub fn new(group: &str, version: &str, kind: &str, plural: &str) -> Self {
        ResourceType {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            short_names: vec![],
            namespaced: true,
            categories: vec![],
            subresources: vec!["status".into()],
            columns: vec![],
            tracks_generation: true,
            delete_returns_object: false,
            supports_strategic_merge: false,
            defined_by: None,
        }
    }

    pub fn cluster_scoped(mut self) -> Self {
        self.namespaced = false;
        self
    }

    pub fn short_names(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn categories(mut self, names: &[&str]) -> Self {
        self.categories = names.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn subresources(mut self, names: &[&str]) -> Self {
        self.subresources = names.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn columns(mut self, columns: Vec<PrinterColumn>) -> Self {
        self.columns = columns;
        self
    }

    pub fn tracks_generation(mut self, yes: bool) -> Self {
        self.tracks_generation = yes;
        self
    }

    pub fn delete_returns_object(mut self, yes: bool) -> Self {
        self.delete_returns_object = yes;
        self
    }

    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn has_subresource(&self, name: &str) -> bool {
        self.subresources.iter().any(|s| s == name)
    }

    /// The verbs kube-apiserver advertises for a fully writable type.
    pub fn verbs(&self) -> Vec<&'static str> {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

/// The set of served types: the built-in ones, those given at start, and those
/// CustomResourceDefinitions add while the server runs. Cheap to clone (shared).
#[derive(Clone, Debug, Default)]
pub struct Registry {
    /// Replaced as a whole on every change (copy on write), so that readers
    /// take a consistent snapshot without holding the lock.
    types: Arc<RwLock<Arc<Vec<Arc<ResourceType>>>>>,
}

impl Registry {
    pub fn new(types: Vec<ResourceType>) -> Self {
        Registry {
            types: Arc::new(RwLock::new(Arc::new(
                types.into_iter().map(Arc::new).collect(),
            ))),
        }
    }

    /// The built-in core, apps, batch and apiextensions types.
    pub fn builtin() -> Vec<ResourceType> {
        builtin_types()
    }

    /// Every type served now.
    pub fn all(&self) -> Arc<Vec<Arc<ResourceType>>> {
        // A panic while holding the lock cannot leave a half-made list (it is
        // replaced in one assignment), so poisoning is not a reason to stop.
        self.types.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.all()
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// Find by `apiVersion` + `kind` as written in an object.
    pub fn find_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        let (group, version) = split_api_version(api_version);
        self.all()
            .iter()
            .find(|t| t.group == group && t.version == version && t.kind == kind)
            .cloned()
    }

    /// Groups in registration order (core first), each with its versions in order.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = vec![];
        for t in self.all().iter() {
            match out.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, versions)) => {
                    if !versions.contains(&t.version) {
                        versions.push(t.version.clone())
                    }
                }
                None => out.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        out
    }

    pub fn in_group_version(&self, group: &str, version: &str) -> Vec<Arc<ResourceType>> {
        self.all()
            .iter()
            .filter(|t| t.group == group && t.version == version)
            .cloned()
            .collect()
    }

    /// The first type, not defined by CustomResourceDefinition `crd`, that
    /// already serves one of `types` (same group, version and plural or kind).
    pub fn conflict(&self, crd: &str, types: &[ResourceType]) -> Option<Arc<ResourceType>> {
        self.all()
            .iter()
            .filter(|t| t.defined_by.as_deref() != Some(crd))
            .find(|t| {
                types.iter().any(|n| {
                    n.group == t.group
                        && n.version == t.version
                        && (n.plural == t.plural || n.kind == t.kind)
                })
            })
            .cloned()
    }

    /// Serve `types` for CustomResourceDefinition `crd`, in place of what it
    /// defined before. The caller has checked [`Registry::conflict`].
    pub fn define(&self, crd: &str, types: Vec<ResourceType>) {
        let mut guard = self.types.write().unwrap_or_else(|p| p.into_inner());
        let mut next: Vec<Arc<ResourceType>> = guard
            .iter()
            .filter(|t| t.defined_by.as_deref() != Some(crd))
            .cloned()
            .collect();
        next.extend(types.into_iter().map(|t| {
            Arc::new(ResourceType {
                defined_by: Some(crd.to_owned()),
                ..t
            })
        }));
        *guard = Arc::new(next);
    }

    /// Stop serving what CustomResourceDefinition `crd` defined; returns those types.
    pub fn undefine(&self, crd: &str) -> Vec<Arc<ResourceType>> {
        let mut guard = self.types.write().unwrap_or_else(|p| p.into_inner());
        let (gone, kept): (Vec<_>, Vec<_>) = guard
            .iter()
            .cloned()
            .partition(|t| t.defined_by.as_deref() == Some(crd));
        *guard = Arc::new(kept);
        gone
    }
}

/// `apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

fn builtin_types() -> Vec<ResourceType> {
    let core = |kind: &str, plural: &str| ResourceType::new("", "v1", kind, plural);
    let apps = |kind: &str, plural: &str| ResourceType::new("apps", "v1", kind, plural);
    let batch = |kind: &str, plural: &str| ResourceType::new("batch", "v1", kind, plural);
    let types = vec![
        core("Namespace", "namespaces")
            .cluster_scoped()
            .short_names(&["ns"])
            .subresources(&["status", "finalize"])
            .tracks_generation(false)
            .delete_returns_object(true)
            .columns(table::namespace_columns()),
        core("Pod", "pods")
            .short_names(&["po"])
            .categories(&["all"])
            .tracks_generation(false)
            .delete_returns_object(true)
            .columns(table::pod_columns()),
        core("PodTemplate", "podtemplates")
            .subresources(&[])
            .tracks_generation(false),
        core("ReplicationController", "replicationcontrollers")
            .short_names(&["rc"])
            .categories(&["all"])
            .subresources(&["status", "scale"])
            .columns(table::replica_set_columns()),
        core("ConfigMap", "configmaps")
            .short_names(&["cm"])
            .subresources(&[])
            .tracks_generation(false)
            .columns(table::config_map_columns()),
        core("Secret", "secrets")
            .subresources(&[])
            .tracks_generation(false)
            .columns(table::secret_columns()),
        core("Service", "services")
            .short_names(&["svc"])
            .categories(&["all"])
            .tracks_generation(false)
            .columns(table::service_columns()),
        core("PersistentVolumeClaim", "persistentvolumeclaims")
            .short_names(&["pvc"])
            .tracks_generation(false)
            .columns(table::persistent_volume_claim_columns()),
        core("ServiceAccount", "serviceaccounts")
            .short_names(&["sa"])
            .subresources(&[])
            .tracks_generation(false)
            .columns(table::service_account_columns()),
        core("Event", "events")
            .short_names(&["ev"])
            .subresources(&[])
            .tracks_generation(false),
        apps("Deployment", "deployments")
            .short_names(&["deploy"])
            .categories(&["all"])
            .subresources(&["status", "scale"])
            .columns(table::deployment_columns()),
        apps("StatefulSet", "statefulsets")
            .short_names(&["sts"])
            .categories(&["all"])
            .subresources(&["status", "scale"])
            .columns(table::stateful_set_columns()),
        apps("DaemonSet", "daemonsets")
            .short_names(&["ds"])
            .categories(&["all"])
            .columns(table::daemon_set_columns()),
        apps("ReplicaSet", "replicasets")
            .short_names(&["rs"])
            .categories(&["all"])
            .subresources(&["status", "scale"])
            .columns(table::replica_set_columns()),
        batch("Job", "jobs")
            .categories(&["all"])
            .columns(table::job_columns()),
        batch("CronJob", "cronjobs")
            .short_names(&["cj"])
            .categories(&["all"])
            .columns(table::cron_job_columns()),
    ];
    let mut types: Vec<ResourceType> = types
        .into_iter()
        .map(|t| ResourceType {
            supports_strategic_merge: true,
            ..t
        })
        .collect();
    // kube-apiserver refuses strategic merge patches for CRDs too (they have no
    // patch strategy tags), so kubectl sends them JSON merge patches.
    types.push(crate::crd::definition_type());
    types
}
