//! Server-side printing: `meta.k8s.io/v1` `Table` responses.
//!
//! kubectl asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` and
//! prints the cells as they come, so the columns here follow kube-apiserver's
//! printers (`pkg/printers/internalversion`) closely enough that `kubectl get`
//! looks like it does against a real cluster.

use serde_json::{Value, json};

/// One column of a Table, plus how to compute its cell from an object.
#[derive(Clone, Debug)]
pub struct PrinterColumn {
    pub name: String,
    /// OpenAPI type: `string`, `integer`, `date`, ...
    pub type_: String,
    /// `name` for the Name column, otherwise usually empty.
    pub format: String,
    pub description: String,
    /// 0 = always shown, 1 = only with `-o wide`.
    pub priority: u32,
    pub cell: Cell,
}

/// How a cell is computed.
#[derive(Clone, Debug)]
pub enum Cell {
    /// A dotted path such as `.spec.replicas` (like a CRD's additionalPrinterColumns).
    JsonPath(String),
    /// Time since `metadata.creationTimestamp`, in kubectl's human format.
    Age,
    /// Anything else.
    Compute(fn(&Value) -> Value),
}

impl PrinterColumn {
    pub fn new(name: &str, type_: &str, priority: u32, cell: Cell) -> Self {
        PrinterColumn {
            name: name.into(),
            type_: type_.into(),
            format: String::new(),
            description: String::new(),
            priority,
            cell,
        }
    }

    /// A column read from a dotted JSON path, as a CRD's additionalPrinterColumns would be.
    pub fn json_path(name: &str, type_: &str, path: &str) -> Self {
        PrinterColumn::new(name, type_, 0, Cell::JsonPath(path.into()))
    }

    fn name_column() -> Self {
        PrinterColumn {
            name: "Name".into(),
            type_: "string".into(),
            format: "name".into(),
            description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names".into(),
            priority: 0,
            cell: Cell::Compute(|o| json!(str_at(o, "/metadata/name"))),
        }
    }

    /// The Age column (time since creation), for custom column lists.
    pub fn age() -> Self {
        PrinterColumn {
            name: "Age".into(),
            type_: "string".into(),
            format: String::new(),
            description: "CreationTimestamp is a timestamp representing the server time when this object was created.".into(),
            priority: 0,
            cell: Cell::Age,
        }
    }

    fn definition(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }

    fn compute(&self, obj: &Value, now: jiff::Timestamp) -> Value {
        match &self.cell {
            Cell::JsonPath(path) => {
                let pointer = path.trim_start_matches('.').replace('.', "/");
                let value = obj.pointer(&format!("/{pointer}"));
                match (self.type_.as_str(), value) {
                    // The CRD table convertor prints `date` columns as an age.
                    ("date", Some(Value::String(_))) => json!(age(value, now)),
                    (_, value) => value.cloned().unwrap_or(Value::Null),
                }
            }
            Cell::Age => json!(age(obj.pointer("/metadata/creationTimestamp"), now)),
            Cell::Compute(f) => f(obj),
        }
    }
}

/// All columns for a type: Name, the type's own, and Age where the printers put it.
fn full_columns(columns: &[PrinterColumn]) -> Vec<PrinterColumn> {
    let mut out = vec![PrinterColumn::name_column()];
    if columns.is_empty() {
        out.push(PrinterColumn::age());
        return out;
    }
    out.extend(columns.iter().cloned());
    out
}

/// How the rows carry the object (`includeObject` query parameter).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

/// Render objects as a Table. `list_metadata` becomes the Table's `metadata`.
pub fn render(
    columns: &[PrinterColumn],
    objects: &[Value],
    include: IncludeObject,
    list_metadata: Value,
) -> Value {
    let now = jiff::Timestamp::now();
    let columns = full_columns(columns);
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let cells: Vec<Value> = columns.iter().map(|c| c.compute(obj, now)).collect();
            let mut row = json!({ "cells": cells });
            match include {
                IncludeObject::None => {}
                IncludeObject::Object => row["object"] = obj.clone(),
                IncludeObject::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
                    })
                }
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata,
        "columnDefinitions": columns.iter().map(PrinterColumn::definition).collect::<Vec<_>>(),
        "rows": rows,
    })
}

/// `translateTimestampSince`: `<unknown>` without a timestamp.
fn age(ts: Option<&Value>, now: jiff::Timestamp) -> String {
    match ts
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
    {
        Some(t) => human_duration(now.as_second() - t.as_second()),
        None => "<unknown>".into(),
    }
}

fn since(ts: Option<&Value>) -> String {
    match ts
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
    {
        Some(t) => human_duration(jiff::Timestamp::now().as_second() - t.as_second()),
        None => "<none>".into(),
    }
}

/// apimachinery's `duration.HumanDuration`, on whole seconds.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn str_at<'a>(o: &'a Value, pointer: &str) -> &'a str {
    o.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn int_at(o: &Value, pointer: &str) -> i64 {
    o.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn len_at(o: &Value, pointer: &str) -> usize {
    match o.pointer(pointer) {
        Some(Value::Array(a)) => a.len(),
        Some(Value::Object(m)) => m.len(),
        _ => 0,
    }
}

fn none_if_empty(s: String) -> Value {
    if s.is_empty() {
        json!("<none>")
    } else {
        json!(s)
    }
}

fn label_map_string(m: Option<&Value>) -> String {
    match m.and_then(Value::as_object) {
        Some(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(","),
        None => String::new(),
    }
}

fn template_containers(o: &Value) -> Value {
    let names: Vec<&str> = containers_of(o)
        .iter()
        .map(|c| str_at(c, "/name"))
        .collect();
    json!(names.join(","))
}

fn template_images(o: &Value) -> Value {
    let images: Vec<&str> = containers_of(o)
        .iter()
        .map(|c| str_at(c, "/image"))
        .collect();
    json!(images.join(","))
}

fn containers_of(o: &Value) -> &[Value] {
    for p in [
        "/spec/template/spec/containers",
        "/spec/jobTemplate/spec/template/spec/containers",
    ] {
        if let Some(Value::Array(a)) = o.pointer(p) {
            return a;
        }
    }
    &[]
}

fn selector(o: &Value) -> Value {
    let s = o.pointer("/spec/selector");
    let s = match s {
        Some(v) if v.get("matchLabels").is_some() || v.get("matchExpressions").is_some() => {
            v.get("matchLabels")
        }
        other => other,
    };
    none_if_empty(label_map_string(s))
}

fn col(name: &str, type_: &str, f: fn(&Value) -> Value) -> PrinterColumn {
    PrinterColumn::new(name, type_, 0, Cell::Compute(f))
}

fn wide(name: &str, type_: &str, f: fn(&Value) -> Value) -> PrinterColumn {
    PrinterColumn::new(name, type_, 1, Cell::Compute(f))
}

fn age_col() -> PrinterColumn {
    PrinterColumn::age()
}

pub fn namespace_columns() -> Vec<PrinterColumn> {
    vec![
        col("Status", "string", |o| {
            let phase = str_at(o, "/status/phase");
            json!(if phase.is_empty() { "Active" } else { phase })
        }),
        age_col(),
    ]
}

/// `printPod`: the status shown is the most telling container reason.
fn pod_status(o: &Value) -> Value {
    let mut reason = str_at(o, "/status/phase").to_string();
    if let Some(r) = o.pointer("/status/reason").and_then(Value::as_str) {
        reason = r.to_string();
    }
    let init_statuses = o
        .pointer("/status/initContainerStatuses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let init_count = len_at(o, "/spec/initContainers");
    let mut initializing = false;
    for (i, cs) in init_statuses.iter().enumerate() {
        if let Some(t) = cs.pointer("/state/terminated") {
            if int_at(t, "/exitCode") == 0 {
                continue;
            }
            let r = str_at(t, "/reason");
            reason = if !r.is_empty() {
                format!("Init:{r}")
            } else {
                format!("Init:ExitCode:{}", int_at(t, "/exitCode"))
            };
        } else if let Some(w) = cs.pointer("/state/waiting").filter(|w| {
            !str_at(w, "/reason").is_empty() && str_at(w, "/reason") != "PodInitializing"
        }) {
            reason = format!("Init:{}", str_at(w, "/reason"));
        } else {
            reason = format!("Init:{i}/{init_count}");
        }
        initializing = true;
        break;
    }
    if !initializing {
        let statuses = o
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut has_running = false;
        for cs in statuses.iter().rev() {
            let waiting = str_at(cs, "/state/waiting/reason");
            let terminated = cs.pointer("/state/terminated");
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = terminated {
                let r = str_at(t, "/reason");
                reason = if !r.is_empty() {
                    r.to_string()
                } else {
                    format!("ExitCode:{}", int_at(t, "/exitCode"))
                };
            } else if cs
                .pointer("/ready")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                && cs.pointer("/state/running").is_some()
            {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            reason = "Running".into();
        }
    }
    if o.pointer("/metadata/deletionTimestamp").is_some() {
        reason = "Terminating".into();
    }
    json!(reason)
}

pub fn pod_columns() -> Vec<PrinterColumn> {
    vec![
        col("Ready", "string", |o| {
            let total = len_at(o, "/spec/containers");
            let ready = o
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter(|c| c.get("ready").and_then(Value::as_bool).unwrap_or(false))
                        .count()
                })
                .unwrap_or(0);
            json!(format!("{ready}/{total}"))
        }),
        col("Status", "string", pod_status),
        col("Restarts", "string", |o| {
            let restarts: i64 = o
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|c| int_at(c, "/restartCount")).sum())
                .unwrap_or(0);
            json!(restarts.to_string())
        }),
        age_col(),
        wide("IP", "string", |o| {
            none_if_empty(str_at(o, "/status/podIP").into())
        }),
        wide("Node", "string", |o| {
            none_if_empty(str_at(o, "/spec/nodeName").into())
        }),
        wide("Nominated Node", "string", |o| {
            none_if_empty(str_at(o, "/status/nominatedNodeName").into())
        }),
        wide("Readiness Gates", "string", |o| {
            let n = len_at(o, "/spec/readinessGates");
            if n == 0 {
                json!("<none>")
            } else {
                json!(format!("0/{n}"))
            }
        }),
    ]
}

pub fn deployment_columns() -> Vec<PrinterColumn> {
    vec![
        col("Ready", "string", |o| {
            json!(format!(
                "{}/{}",
                int_at(o, "/status/readyReplicas"),
                int_at(o, "/spec/replicas")
            ))
        }),
        col("Up-to-date", "integer", |o| {
            json!(int_at(o, "/status/updatedReplicas"))
        }),
        col("Available", "integer", |o| {
            json!(int_at(o, "/status/availableReplicas"))
        }),
        age_col(),
        wide("Containers", "string", template_containers),
        wide("Images", "string", template_images),
        wide("Selector", "string", selector),
    ]
}

pub fn stateful_set_columns() -> Vec<PrinterColumn> {
    vec![
        col("Ready", "string", |o| {
            json!(format!(
                "{}/{}",
                int_at(o, "/status/readyReplicas"),
                int_at(o, "/spec/replicas")
            ))
        }),
        age_col(),
        wide("Containers", "string", template_containers),
        wide("Images", "string", template_images),
    ]
}

pub fn daemon_set_columns() -> Vec<PrinterColumn> {
    vec![
        col("Desired", "integer", |o| {
            json!(int_at(o, "/status/desiredNumberScheduled"))
        }),
        col("Current", "integer", |o| {
            json!(int_at(o, "/status/currentNumberScheduled"))
        }),
        col("Ready", "integer", |o| {
            json!(int_at(o, "/status/numberReady"))
        }),
        col("Up-to-date", "integer", |o| {
            json!(int_at(o, "/status/updatedNumberScheduled"))
        }),
        col("Available", "integer", |o| {
            json!(int_at(o, "/status/numberAvailable"))
        }),
        col("Node Selector", "string", |o| {
            none_if_empty(label_map_string(
                o.pointer("/spec/template/spec/nodeSelector"),
            ))
        }),
        age_col(),
        wide("Containers", "string", template_containers),
        wide("Images", "string", template_images),
        wide("Selector", "string", selector),
    ]
}

pub fn replica_set_columns() -> Vec<PrinterColumn> {
    vec![
        col("Desired", "integer", |o| json!(int_at(o, "/spec/replicas"))),
        col("Current", "integer", |o| {
            json!(int_at(o, "/status/replicas"))
        }),
        col("Ready", "integer", |o| {
            json!(int_at(o, "/status/readyReplicas"))
        }),
        age_col(),
        wide("Containers", "string", template_containers),
        wide("Images", "string", template_images),
        wide("Selector", "string", selector),
    ]
}

pub fn job_columns() -> Vec<PrinterColumn> {
    vec![
        col("Status", "string", |o| {
            let conditions = o
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let has = |t: &str| {
                conditions
                    .iter()
                    .any(|c| str_at(c, "/type") == t && str_at(c, "/status") == "True")
            };
            let s = if has("Complete") {
                "Complete"
            } else if has("Failed") {
                "Failed"
            } else if o
                .pointer("/spec/suspend")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                "Suspended"
            } else {
                "Running"
            };
            json!(s)
        }),
        col("Completions", "string", |o| {
            let completions = o
                .pointer("/spec/completions")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            json!(format!("{}/{completions}", int_at(o, "/status/succeeded")))
        }),
        col("Duration", "string", |o| {
            let parse = |p: &str| {
                o.pointer(p)
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<jiff::Timestamp>().ok())
            };
            match (parse("/status/startTime"), parse("/status/completionTime")) {
                (Some(s), Some(c)) => json!(human_duration(c.as_second() - s.as_second())),
                (Some(s), None) => json!(human_duration(
                    jiff::Timestamp::now().as_second() - s.as_second()
                )),
                _ => json!(""),
            }
        }),
        age_col(),
        wide("Containers", "string", template_containers),
        wide("Images", "string", template_images),
        wide("Selector", "string", selector),
    ]
}

pub fn cron_job_columns() -> Vec<PrinterColumn> {
    vec![
        col("Schedule", "string", |o| json!(str_at(o, "/spec/schedule"))),
        col("Timezone", "string", |o| {
            none_if_empty(str_at(o, "/spec/timeZone").into())
        }),
        col("Suspend", "boolean", |o| {
            json!(if o
                .pointer("/spec/suspend")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                "True"
            } else {
                "False"
            })
        }),
        col("Active", "integer", |o| json!(len_at(o, "/status/active"))),
        col("Last Schedule", "string", |o| {
            json!(since(o.pointer("/status/lastScheduleTime")))
        }),
        age_col(),
        wide("Containers", "string", template_containers),
        wide("Images", "string", template_images),
        wide("Selector", "string", |o| {
            none_if_empty(label_map_string(
                o.pointer("/spec/jobTemplate/spec/selector/matchLabels"),
            ))
        }),
    ]
}

pub fn service_columns() -> Vec<PrinterColumn> {
    vec![
        col("Type", "string", |o| {
            let t = str_at(o, "/spec/type");
            json!(if t.is_empty() { "ClusterIP" } else { t })
        }),
        col("Cluster-IP", "string", |o| {
            none_if_empty(str_at(o, "/spec/clusterIP").into())
        }),
        col("External-IP", "string", |o| {
            let ingress: Vec<String> = o
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|i| str_at(i, "/ip").to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            if !ingress.is_empty() {
                json!(ingress.join(","))
            } else if str_at(o, "/spec/type") == "LoadBalancer" {
                json!("<pending>")
            } else if str_at(o, "/spec/type") == "ExternalName" {
                json!(str_at(o, "/spec/externalName"))
            } else {
                json!("<none>")
            }
        }),
        col("Port(s)", "string", |o| {
            let ports: Vec<String> = o
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                            match p.get("nodePort").and_then(Value::as_i64) {
                                Some(np) => format!("{}:{np}/{proto}", int_at(p, "/port")),
                                None => format!("{}/{proto}", int_at(p, "/port")),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            none_if_empty(ports.join(","))
        }),
        age_col(),
        wide("Selector", "string", |o| {
            none_if_empty(label_map_string(o.pointer("/spec/selector")))
        }),
    ]
}

pub fn config_map_columns() -> Vec<PrinterColumn> {
    vec![
        col("Data", "integer", |o| {
            json!(len_at(o, "/data") + len_at(o, "/binaryData"))
        }),
        age_col(),
    ]
}

pub fn secret_columns() -> Vec<PrinterColumn> {
    vec![
        col("Type", "string", |o| json!(str_at(o, "/type"))),
        col("Data", "integer", |o| json!(len_at(o, "/data"))),
        age_col(),
    ]
}

/// kube-apiserver's `printPersistentVolumeClaim`: capacity and access modes are
/// only shown once the claim names a volume.
pub fn persistent_volume_claim_columns() -> Vec<PrinterColumn> {
    fn bound(o: &Value) -> bool {
        !str_at(o, "/spec/volumeName").is_empty()
    }
    vec![
        col("Status", "string", |o| {
            if o.pointer("/metadata/deletionTimestamp").is_some() {
                json!("Terminating")
            } else {
                json!(str_at(o, "/status/phase"))
            }
        }),
        col("Volume", "string", |o| json!(str_at(o, "/spec/volumeName"))),
        col("Capacity", "string", |o| {
            json!(if bound(o) {
                str_at(o, "/status/capacity/storage")
            } else {
                ""
            })
        }),
        col("Access Modes", "string", |o| {
            let modes: Vec<&str> = match o.pointer("/status/accessModes") {
                Some(Value::Array(modes)) if bound(o) => modes
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|m| match m {
                        "ReadWriteOnce" => "RWO",
                        "ReadOnlyMany" => "ROX",
                        "ReadWriteMany" => "RWX",
                        "ReadWriteOncePod" => "RWOP",
                        other => other,
                    })
                    .collect(),
                _ => vec![],
            };
            json!(modes.join(","))
        }),
        col("StorageClass", "string", |o| {
            json!(str_at(o, "/spec/storageClassName"))
        }),
        col("VolumeAttributesClass", "string", |o| {
            json!(match str_at(o, "/spec/volumeAttributesClassName") {
                "" => "<unset>",
                name => name,
            })
        }),
        age_col(),
        wide("VolumeMode", "string", |o| {
            json!(match str_at(o, "/spec/volumeMode") {
                "" => "<unset>",
                mode => mode,
            })
        }),
    ]
}

pub fn service_account_columns() -> Vec<PrinterColumn> {
    vec![
        col("Secrets", "integer", |o| json!(len_at(o, "/secrets"))),
        age_col(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_kubectl() {
        for (secs, want) in [
            (5, "5s"),
            (119, "119s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (9 * 3600, "9h"),
            (3 * 86400 + 3600, "3d1h"),
            (30 * 86400, "30d"),
            (3 * 365 * 86400 + 86400 * 3, "3y3d"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn pod_status_prefers_waiting_reason() {
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "a", "ready": false, "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(pod_status(&pod), json!("CrashLoopBackOff"));
    }
}
