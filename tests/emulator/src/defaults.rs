//! API defaulting and a small part of API validation.
//!
//! Webhooks see objects *after* defaulting, so the fields a webhook is most
//! likely to read (pod spec, container, workload and service defaults) are
//! filled like kube-apiserver fills them. Validation covers what clients
//! commonly trip over; the README lists what is not checked.

use serde_json::{Map, Value, json};

use crate::error::FieldCause;
use crate::resources::ResourceType;

fn obj_mut<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    v.get_mut(key).and_then(Value::as_object_mut)
}

fn set_default(m: &mut Map<String, Value>, key: &str, value: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.into(), value);
    }
}

/// `imagePullPolicy` default: Always for `:latest` or untagged images.
fn pull_policy(image: &str) -> &'static str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    match last.split_once(':') {
        _ if image.contains('@') => "IfNotPresent",
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn default_container(c: &mut Value) {
    let Some(m) = c.as_object_mut() else { return };
    let image = m
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    set_default(m, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(m, "terminationMessagePolicy", json!("File"));
    set_default(m, "imagePullPolicy", json!(pull_policy(&image)));
    set_default(m, "resources", json!({}));
    if let Some(ports) = m.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(p, "protocol", json!("TCP"));
        }
    }
}

/// Pod spec defaults (also applied to every pod template).
pub fn default_pod_spec(spec: &mut Value) {
    let Some(m) = spec.as_object_mut() else {
        return;
    };
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        if let Some(cs) = m.get_mut(key).and_then(Value::as_array_mut) {
            cs.iter_mut().for_each(default_container);
        }
    }
    set_default(m, "restartPolicy", json!("Always"));
    set_default(m, "terminationGracePeriodSeconds", json!(30));
    set_default(m, "dnsPolicy", json!("ClusterFirst"));
    set_default(m, "securityContext", json!({}));
    set_default(m, "schedulerName", json!("default-scheduler"));
    if let Some(sa) = m.get("serviceAccount").cloned().filter(|v| v.is_string()) {
        set_default(m, "serviceAccountName", sa);
    }
    if let Some(vols) = m.get_mut("volumes").and_then(Value::as_array_mut) {
        for v in vols.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(s) = v.get_mut("secret").and_then(Value::as_object_mut) {
                set_default(s, "defaultMode", json!(420));
            }
            if let Some(s) = v.get_mut("configMap").and_then(Value::as_object_mut) {
                set_default(s, "defaultMode", json!(420));
            }
        }
    }
}

fn default_template(obj: &mut Value, pointer: &str) {
    if let Some(spec) = obj.pointer_mut(pointer) {
        default_pod_spec(spec);
    }
}

/// Fill defaults for a newly created (or replaced) object.
pub fn apply(rt: &ResourceType, obj: &mut Value) {
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Pod") => {
            if let Some(spec) = obj.get_mut("spec") {
                default_pod_spec(spec);
                if let Some(m) = spec.as_object_mut() {
                    // Admission (not defaulting) does these in a real cluster; webhooks see them.
                    set_default(m, "serviceAccountName", json!("default"));
                    let sa = m["serviceAccountName"].clone();
                    set_default(m, "serviceAccount", sa);
                    set_default(m, "priority", json!(0));
                    set_default(m, "enableServiceLinks", json!(true));
                    set_default(m, "preemptionPolicy", json!("PreemptLowerPriority"));
                }
            }
            let status = obj
                .as_object_mut()
                .map(|m| m.entry("status").or_insert_with(|| json!({})))
                .filter(|s| s.is_object());
            if let Some(s) = status.and_then(Value::as_object_mut) {
                set_default(s, "phase", json!("Pending"));
                set_default(s, "qosClass", json!("BestEffort"));
            }
        }
        ("", "Namespace") => {
            let name = crate::meta::name_of(obj).to_string();
            let md = crate::meta::metadata_mut(obj);
            let labels = md.entry("labels").or_insert_with(|| json!({}));
            if let Some(l) = labels.as_object_mut() {
                l.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
            if let Some(m) = obj.as_object_mut() {
                let spec = m.entry("spec").or_insert_with(|| json!({}));
                if let Some(s) = spec.as_object_mut() {
                    set_default(s, "finalizers", json!(["kubernetes"]));
                }
                let status = m.entry("status").or_insert_with(|| json!({}));
                if let Some(s) = status.as_object_mut() {
                    set_default(s, "phase", json!("Active"));
                }
            }
        }
        (crate::crd::GROUP, "CustomResourceDefinition") => crate::crd::apply_defaults(obj),
        ("", "PersistentVolumeClaim") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "volumeMode", json!("Filesystem"));
            }
            let status = obj
                .as_object_mut()
                .map(|m| m.entry("status").or_insert_with(|| json!({})))
                .and_then(Value::as_object_mut);
            if let Some(s) = status {
                set_default(s, "phase", json!("Pending"));
            }
        }
        ("", "Secret") => {
            if let Some(m) = obj.as_object_mut() {
                set_default(m, "type", json!("Opaque"));
            }
        }
        ("", "Service") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "type", json!("ClusterIP"));
                set_default(spec, "sessionAffinity", json!("None"));
                if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                    for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                        set_default(p, "protocol", json!("TCP"));
                        if let Some(port) = p.get("port").cloned() {
                            set_default(p, "targetPort", port);
                        }
                    }
                }
            }
        }
        ("", "ReplicationController") => {
            default_template(obj, "/spec/template/spec");
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "replicas", json!(1));
            }
        }
        ("", "PodTemplate") => default_template(obj, "/template/spec"),
        ("apps", "Deployment") => {
            default_template(obj, "/spec/template/spec");
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "replicas", json!(1));
                set_default(
                    spec,
                    "strategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
                );
                set_default(spec, "revisionHistoryLimit", json!(10));
                set_default(spec, "progressDeadlineSeconds", json!(600));
            }
        }
        ("apps", "StatefulSet") => {
            default_template(obj, "/spec/template/spec");
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "replicas", json!(1));
                set_default(spec, "podManagementPolicy", json!("OrderedReady"));
                set_default(
                    spec,
                    "updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
                );
                set_default(spec, "revisionHistoryLimit", json!(10));
            }
        }
        ("apps", "DaemonSet") => {
            default_template(obj, "/spec/template/spec");
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(
                    spec,
                    "updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
                );
                set_default(spec, "revisionHistoryLimit", json!(10));
            }
        }
        ("apps", "ReplicaSet") => {
            default_template(obj, "/spec/template/spec");
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "replicas", json!(1));
            }
        }
        ("batch", "Job") => {
            default_template(obj, "/spec/template/spec");
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "completions", json!(1));
                set_default(spec, "parallelism", json!(1));
                set_default(spec, "backoffLimit", json!(6));
                set_default(spec, "completionMode", json!("NonIndexed"));
                set_default(spec, "suspend", json!(false));
            }
        }
        ("batch", "CronJob") => {
            default_template(obj, "/spec/jobTemplate/spec/template/spec");
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "concurrencyPolicy", json!("Allow"));
                set_default(spec, "suspend", json!(false));
                set_default(spec, "successfulJobsHistoryLimit", json!(3));
                set_default(spec, "failedJobsHistoryLimit", json!(1));
            }
        }
        _ => {}
    }
}

fn check_containers(spec: &Value, path: &str, causes: &mut Vec<FieldCause>) {
    match spec.get("containers").and_then(Value::as_array) {
        Some(cs) if !cs.is_empty() => {
            for (i, c) in cs.iter().enumerate() {
                if c.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
                {
                    causes.push(FieldCause::required(
                        &format!("{path}.containers[{i}].name"),
                        "",
                    ));
                }
                if c.get("image")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
                {
                    causes.push(FieldCause::required(
                        &format!("{path}.containers[{i}].image"),
                        "",
                    ));
                }
            }
        }
        _ => causes.push(FieldCause::required(&format!("{path}.containers"), "")),
    }
}

/// Type-specific validation of a create/update body (metadata is checked by the store).
pub fn validate(rt: &ResourceType, obj: &Value) -> Vec<FieldCause> {
    let mut causes = vec![];
    let template = match (rt.group.as_str(), rt.kind.as_str()) {
        (crate::crd::GROUP, "CustomResourceDefinition") => {
            causes.extend(crate::crd::validate(obj));
            None
        }
        ("", "PersistentVolumeClaim") => {
            if obj
                .pointer("/spec/accessModes")
                .and_then(Value::as_array)
                .is_none_or(|m| m.is_empty())
            {
                causes.push(FieldCause::required(
                    "spec.accessModes",
                    "at least 1 access mode is required",
                ));
            }
            if obj.pointer("/spec/resources/requests/storage").is_none() {
                causes.push(FieldCause::required("spec.resources[storage]", ""));
            }
            None
        }
        ("", "Pod") => {
            check_containers(obj.get("spec").unwrap_or(&Value::Null), "spec", &mut causes);
            None
        }
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => {
            Some("/spec/template")
        }
        ("", "ReplicationController") | ("batch", "Job") => Some("/spec/template"),
        ("batch", "CronJob") => {
            if obj
                .pointer("/spec/schedule")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
            {
                causes.push(FieldCause::required("spec.schedule", ""));
            }
            Some("/spec/jobTemplate/spec/template")
        }
        _ => None,
    };
    if let Some(t) = template {
        let field = t.trim_start_matches('/').replace('/', ".");
        check_containers(
            obj.pointer(&format!("{t}/spec")).unwrap_or(&Value::Null),
            &format!("{field}.spec"),
            &mut causes,
        );
        if rt.group == "apps" {
            match obj.pointer("/spec/selector") {
                Some(sel) if sel.is_object() => {
                    let selector =
                        crate::selectors::LabelSelector::from_structured(sel).unwrap_or_default();
                    let labels =
                        crate::selectors::labels_of(obj.pointer(t).unwrap_or(&Value::Null));
                    if selector.is_everything() {
                        causes.push(FieldCause::invalid(
                            "spec.selector",
                            "{}",
                            "empty selector is invalid for deployment",
                        ));
                    } else if !selector.matches(&labels) {
                        causes.push(FieldCause::invalid(
                            "spec.template.metadata.labels",
                            &format!("{labels:?}"),
                            "`selector` does not match template `labels`",
                        ));
                    }
                }
                _ => causes.push(FieldCause::required("spec.selector", "")),
            }
        }
        if rt.group == "batch" {
            let rp = obj
                .pointer(&format!("{t}/spec/restartPolicy"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if rp == "Always" {
                causes.push(FieldCause {
                    reason: "FieldValueNotSupported",
                    field: format!("{field}.spec.restartPolicy"),
                    value: Some("Always".into()),
                    detail: "supported values: \"OnFailure\", \"Never\"".into(),
                });
            }
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;

    #[test]
    fn pod_defaults() {
        let reg = Registry::new(Registry::builtin());
        let rt = reg.find("", "v1", "pods").unwrap();
        let mut pod = json!({"spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "nginx:1.2"}]}});
        apply(&rt, &mut pod);
        assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(
            pod["spec"]["containers"][1]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert_eq!(pod["spec"]["dnsPolicy"], "ClusterFirst");
        assert_eq!(pod["status"]["phase"], "Pending");
    }

    #[test]
    fn workload_validation() {
        let reg = Registry::new(Registry::builtin());
        let rt = reg.find("apps", "v1", "deployments").unwrap();
        let d = json!({"spec": {"selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "y"}}, "spec": {"containers": [{"name": "a", "image": "i"}]}}}});
        let causes = validate(&rt, &d);
        assert_eq!(causes.len(), 1, "{causes:?}");
    }
}
