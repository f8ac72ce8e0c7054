//! Where the pod metadata and pod spec live in each kind Velero's hooks can reach.

use serde_json::Value;

/// A kind whose objects carry a pod (Pod) or a pod template (every workload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadKind {
    pub kind: &'static str,
    /// API groups serving the kind with the same shape ("" is the core group).
    pub groups: &'static [&'static str],
    /// The preferred `group/version` (or `v1`).
    pub api_version: &'static str,
    /// Lower-case plural resource name, as in webhook rules and REST paths.
    pub resource: &'static str,
    pub short_names: &'static [&'static str],
    /// JSON Pointer to the pod template (empty for a Pod itself).
    pub template_pointer: &'static str,
}

impl WorkloadKind {
    pub fn group(&self) -> &'static str {
        self.groups[0]
    }

    pub fn version(&self) -> &'static str {
        self.api_version
            .rsplit('/')
            .next()
            .unwrap_or(self.api_version)
    }

    pub fn is_pod(&self) -> bool {
        self.template_pointer.is_empty()
    }

    /// Where hook annotations belong, in the dotted form users write in manifests.
    pub fn template_path(&self) -> String {
        if self.is_pod() {
            "metadata".to_owned()
        } else {
            format!("{}/metadata", self.template_pointer)
                .trim_start_matches('/')
                .replace('/', ".")
        }
    }
}

const fn kind(
    kind: &'static str,
    groups: &'static [&'static str],
    api_version: &'static str,
    resource: &'static str,
    short_names: &'static [&'static str],
    template_pointer: &'static str,
) -> WorkloadKind {
    WorkloadKind {
        kind,
        groups,
        api_version,
        resource,
        short_names,
        template_pointer,
    }
}

pub const WORKLOAD_KINDS: &[WorkloadKind] = &[
    kind("Pod", &[""], "v1", "pods", &["po"], ""),
    kind("PodTemplate", &[""], "v1", "podtemplates", &[], "/template"),
    kind(
        "ReplicationController",
        &[""],
        "v1",
        "replicationcontrollers",
        &["rc"],
        "/spec/template",
    ),
    kind(
        "Deployment",
        &["apps", "extensions"],
        "apps/v1",
        "deployments",
        &["deploy"],
        "/spec/template",
    ),
    kind(
        "StatefulSet",
        &["apps"],
        "apps/v1",
        "statefulsets",
        &["sts"],
        "/spec/template",
    ),
    kind(
        "DaemonSet",
        &["apps", "extensions"],
        "apps/v1",
        "daemonsets",
        &["ds"],
        "/spec/template",
    ),
    kind(
        "ReplicaSet",
        &["apps", "extensions"],
        "apps/v1",
        "replicasets",
        &["rs"],
        "/spec/template",
    ),
    kind("Job", &["batch"], "batch/v1", "jobs", &[], "/spec/template"),
    kind(
        "CronJob",
        &["batch"],
        "batch/v1",
        "cronjobs",
        &["cj"],
        "/spec/jobTemplate/spec/template",
    ),
];

/// The group of an `apiVersion` (`apps/v1` → `apps`, `v1` → the core group).
pub fn group_of(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(group, _)| group)
}

/// The workload kind for `kind` in `group`, if hooks can live in it.
pub fn find_kind(group: &str, kind: &str) -> Option<&'static WorkloadKind> {
    WORKLOAD_KINDS
        .iter()
        .find(|k| k.kind == kind && k.groups.contains(&group))
}

/// Resolves what a user types (`deploy`, `deployments`, `Deployment`, `deployment.apps`).
pub fn find_by_name(name: &str) -> Option<&'static WorkloadKind> {
    let lower = name.to_ascii_lowercase();
    let (base, group) = match lower.split_once('.') {
        Some((b, g)) => (b.to_owned(), Some(g.to_owned())),
        None => (lower, None),
    };
    WORKLOAD_KINDS.iter().find(|k| {
        let matches_name = k.resource == base
            || k.kind.to_ascii_lowercase() == base
            || k.short_names.contains(&base.as_str());
        let matches_group = group
            .as_deref()
            .is_none_or(|g| k.groups.contains(&g) || (g == "core" && k.group().is_empty()));
        matches_name && matches_group
    })
}

/// A located pod template inside an object.
#[derive(Debug, Clone, Copy)]
pub struct PodTemplateRef<'a> {
    pub kind: &'static WorkloadKind,
    /// The pod metadata (`metadata` of the pod or of the template).
    pub metadata: Option<&'a Value>,
    pub spec: Option<&'a Value>,
    /// The workload's own metadata (`None` for a Pod, whose own metadata is the pod's).
    pub own_metadata: Option<&'a Value>,
}

impl PodTemplateRef<'_> {
    /// JSON Pointer of the pod metadata inside the object.
    pub fn metadata_pointer(&self) -> String {
        format!("{}/metadata", self.kind.template_pointer)
    }
}

/// Finds the pod template of `object`; `None` when the object is not a pod or workload.
pub fn locate(object: &Value) -> Option<PodTemplateRef<'_>> {
    let api_version = object.get("apiVersion")?.as_str()?;
    let kind = find_kind(group_of(api_version), object.get("kind")?.as_str()?)?;
    let template = if kind.is_pod() {
        Some(object)
    } else {
        object.pointer(kind.template_pointer)
    };
    Some(PodTemplateRef {
        kind,
        metadata: template.and_then(|t| t.get("metadata")),
        spec: template.and_then(|t| t.get("spec")),
        own_metadata: if kind.is_pod() {
            None
        } else {
            object.get("metadata")
        },
    })
}

/// Where a hook-looking annotation sits in an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AnnotationPlace {
    /// The pod's metadata (the Pod itself, or a workload's pod template).
    Pod,
    /// A workload's own metadata, where Velero never looks.
    Workload,
}

/// Every annotation of `object` that [`looks_like_hook_key`](crate::keys::looks_like_hook_key),
/// in the pod metadata and in a workload's own metadata, sorted by place and key. Empty
/// when the object is not a pod or workload.
pub fn hook_annotations(object: &Value) -> Vec<(AnnotationPlace, &str, &Value)> {
    let Some(template) = locate(object) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (place, metadata) in [
        (AnnotationPlace::Pod, template.metadata),
        (AnnotationPlace::Workload, template.own_metadata),
    ] {
        let annotations = metadata
            .and_then(|m| m.get("annotations"))
            .and_then(Value::as_object);
        for (key, value) in annotations.into_iter().flatten() {
            if crate::keys::looks_like_hook_key(key) {
                found.push((place, key.as_str(), value));
            }
        }
    }
    found.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    found
}

/// Whether an update adds, removes or changes a hook annotation (of the pod template or of
/// the workload's own metadata). A scale, a rollout or a label change returns false.
pub fn hook_annotations_changed(old: &Value, new: &Value) -> bool {
    hook_annotations(old) != hook_annotations(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn locates_every_kind() {
        let template = json!({"metadata": {"annotations": {"a": "b"}}, "spec": {"containers": [{"name": "app"}]}});
        let objects = [
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"annotations": {"a": "b"}}, "spec": {"containers": [{"name": "app"}]}}),
            json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {}, "template": template}),
            json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {}, "spec": {"template": template}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {}, "spec": {"template": template}}),
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {}, "spec": {"template": template}}),
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {}, "spec": {"template": template}}),
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {}, "spec": {"template": template}}),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {}, "spec": {"template": template}}),
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {}, "spec": {"jobTemplate": {"spec": {"template": template}}}}),
        ];
        assert_eq!(objects.len(), WORKLOAD_KINDS.len());
        for object in &objects {
            let found = locate(object).expect("located");
            assert_eq!(found.metadata.unwrap()["annotations"]["a"], "b", "{object}");
            assert_eq!(found.spec.unwrap()["containers"][0]["name"], "app");
            assert_eq!(
                object.pointer(&found.metadata_pointer()).unwrap()["annotations"]["a"],
                "b"
            );
        }
        assert!(locate(&json!({"apiVersion": "v1", "kind": "ConfigMap"})).is_none());
        assert!(locate(&json!({"apiVersion": "example.com/v1", "kind": "Deployment"})).is_none());
        assert!(locate(&json!("scalar")).is_none());
    }

    #[test]
    fn resolves_names_users_type() {
        for (typed, kind) in [
            ("deploy", "Deployment"),
            ("deployments.apps", "Deployment"),
            ("Deployment", "Deployment"),
            ("po", "Pod"),
            ("pods", "Pod"),
            ("cj", "CronJob"),
            ("sts", "StatefulSet"),
        ] {
            assert_eq!(find_by_name(typed).map(|k| k.kind), Some(kind), "{typed}");
        }
        assert!(find_by_name("configmaps").is_none());
    }

    #[test]
    fn template_paths() {
        assert_eq!(
            find_kind("batch", "CronJob").unwrap().template_path(),
            "spec.jobTemplate.spec.template.metadata"
        );
        assert_eq!(find_kind("", "Pod").unwrap().template_path(), "metadata");
    }

    #[test]
    fn hook_annotation_changes() {
        let deployment = |replicas: u32, template: Value, own: Value| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "labels": {"tier": replicas.to_string()}, "annotations": own},
                "spec": {"replicas": replicas, "template": {"metadata": {"annotations": template},
                    "spec": {"containers": [{"name": "app"}]}}}})
        };
        let hooks = json!({"pre.hook.backup.velero.io/timeout": "30", "other": "x"});
        let base = deployment(1, hooks.clone(), json!({}));
        let mut other_changed = hooks.clone();
        other_changed["other"] = json!("y");
        // Scale, labels, unrelated annotations: untouched hooks.
        assert!(!hook_annotations_changed(
            &base,
            &deployment(5, other_changed, json!({"note": "n"}))
        ));
        let mut changed = hooks.clone();
        changed["pre.hook.backup.velero.io/timeout"] = json!("30s");
        assert!(hook_annotations_changed(
            &base,
            &deployment(1, changed, json!({}))
        ));
        let mut added = hooks.clone();
        added["pre.hook.backup.velero.io/on-error"] = json!("Fail");
        assert!(hook_annotations_changed(
            &base,
            &deployment(1, added, json!({}))
        ));
        assert!(hook_annotations_changed(
            &base,
            &deployment(1, json!({"other": "x"}), json!({}))
        ));
        // Misspelt keys count as hook keys; so do hooks on the workload's own metadata.
        let mut typo = hooks.clone();
        typo["pre.hook.backup.velero.io/timout"] = json!("1m");
        assert!(hook_annotations_changed(
            &base,
            &deployment(1, typo, json!({}))
        ));
        let own = deployment(
            1,
            hooks.clone(),
            json!({"pre.hook.backup.velero.io/command": "[\"/bin/true\"]"}),
        );
        assert!(hook_annotations_changed(&base, &own));
        assert_eq!(
            hook_annotations(&own)
                .iter()
                .map(|(place, key, _)| (*place, *key))
                .collect::<Vec<_>>(),
            [
                (AnnotationPlace::Pod, "pre.hook.backup.velero.io/timeout"),
                (
                    AnnotationPlace::Workload,
                    "pre.hook.backup.velero.io/command"
                ),
            ]
        );
        // Objects that are not workloads have no hook annotations.
        assert!(
            hook_annotations(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"annotations": {"pre.hook.backup.velero.io/command": "x"}}}))
            .is_empty()
        );
    }
}
