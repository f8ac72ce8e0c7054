//! PATCH bodies: JSON merge patch (RFC 7386) and JSON patch (RFC 6902) via
//! the `json-patch` crate, and a strategic merge patch that covers what
//! kubectl sends for built-in types.

use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The patch types kube-apiserver understands, by Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Merge,
    Json,
    StrategicMerge,
    Apply,
}

impl PatchType {
    pub fn from_content_type(ct: &str) -> Option<Self> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/json-patch+json" => Some(PatchType::Json),
            "application/strategic-merge-patch+json" => Some(PatchType::StrategicMerge),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

/// The apiserver answers JSON-patch application errors with 422 and the
/// detail as a cause.
fn unprocessable(detail: String) -> ApiError {
    let mut e = ApiError::new(
        422,
        "Invalid",
        "the server rejected our request due to an error in our request",
    );
    e.details = json!({"causes": [{"reason": "UnexpectedServerResponse", "message": detail}]});
    e
}

/// Apply `body` (raw bytes) of `patch_type` to `current`.
pub fn apply(patch_type: PatchType, current: &Value, body: &[u8]) -> Result<Value, ApiError> {
    match patch_type {
        PatchType::Merge => {
            let patch: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            if !patch.is_object() {
                return Err(ApiError::bad_request(
                    "error decoding patch: merge patch must be a JSON object",
                ));
            }
            let mut doc = current.clone();
            json_patch::merge(&mut doc, &patch);
            Ok(doc)
        }
        PatchType::Json => {
            let patch: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            let mut doc = current.clone();
            json_patch::patch(&mut doc, &patch).map_err(|e| unprocessable(e.to_string()))?;
            Ok(doc)
        }
        PatchType::StrategicMerge => {
            let patch: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            strategic_merge(current, &patch)
        }
        PatchType::Apply => Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            "server-side apply (application/apply-patch+yaml) is not supported by this emulated API server; use client-side apply or a merge/strategic/JSON patch",
        )),
    }
}

/// The merge key of a list field in the built-in types (the Go structs'
/// `patchMergeKey`), `None` for lists that are replaced whole.
fn merge_key(field: &str, items: &[&Value]) -> Option<&'static str> {
    let has = |k: &str| items.iter().any(|i| i.get(k).is_some());
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "env"
        | "resourceClaims" => Some("name"),
        "ports" if has("containerPort") => Some("containerPort"),
        "ports" => Some("port"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "conditions" => Some("type"),
        "ownerReferences" => Some("uid"),
        "hostAliases" => Some("ip"),
        "topologySpreadConstraints" => Some("topologyKey"),
        _ => None,
    }
}

/// Lists of scalars whose patch strategy is `merge` (set union).
fn merges_primitives(field: &str) -> bool {
    matches!(field, "finalizers")
}

/// Strategic merge patch of `patch` onto `original`.
pub fn strategic_merge(original: &Value, patch: &Value) -> Result<Value, ApiError> {
    let (Some(o), Some(p)) = (original.as_object(), patch.as_object()) else {
        return Err(ApiError::bad_request(
            "strategic merge patch must be a JSON object",
        ));
    };
    if p.get("$patch").and_then(Value::as_str) == Some("delete") {
        return Err(ApiError::bad_request(
            "$patch: delete is not allowed on the whole object",
        ));
    }
    Ok(Value::Object(merge_map(o, p)?))
}

fn merge_map(
    orig: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => return Ok(strip_directives(patch)),
        Some("merge") | None => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown patch type: {other} in map"
            )));
        }
    }
    let mut out = orig.clone();
    for (key, pv) in patch {
        if key == "$patch" || key == "$retainKeys" || key.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(remove)) = (out.get_mut(field), pv.as_array()) {
                list.retain(|v| !remove.contains(v));
            }
            continue;
        }
        if pv.is_null() {
            out.remove(key);
            continue;
        }
        let merged = match (out.get(key), pv) {
            (Some(Value::Object(om)), Value::Object(pm)) => Value::Object(merge_map(om, pm)?),
            (Some(Value::Array(ol)), Value::Array(pl)) => merge_list(key, ol, pl)?,
            (_, Value::Object(pm)) => Value::Object(strip_directives(pm)),
            (_, Value::Array(pl)) => Value::Array(strip_list(pl)),
            (_, other) => other.clone(),
        };
        out.insert(key.clone(), merged);
    }
    if let Some(retain) = patch.get("$retainKeys").and_then(Value::as_array) {
        out.retain(|k, _| retain.iter().any(|r| r.as_str() == Some(k)));
    }
    if let Some(order) = patch.iter().find_map(|(k, v)| {
        k.strip_prefix("$setElementOrder/")
            .map(|f| (f.to_string(), v.clone()))
    }) {
        reorder(&mut out, &order.0, &order.1);
    }
    Ok(out)
}

/// `$setElementOrder/<field>`: put listed elements first, in the given order.
fn reorder(out: &mut Map<String, Value>, field: &str, order: &Value) {
    let (Some(Value::Array(list)), Some(order)) = (out.get_mut(field), order.as_array()) else {
        return;
    };
    let items: Vec<&Value> = list.iter().collect();
    let key = merge_key(field, &items);
    let position = |item: &Value| {
        order.iter().position(|o| match key {
            Some(k) => o.get(k).is_some() && o.get(k) == item.get(k),
            None => o == item,
        })
    };
    list.sort_by_key(|item| position(item).unwrap_or(usize::MAX));
}

fn strip_directives(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .filter(|(k, _)| !k.starts_with('$'))
        .map(|(k, v)| {
            let v = match v {
                Value::Object(inner) => Value::Object(strip_directives(inner)),
                Value::Array(l) => Value::Array(strip_list(l)),
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

fn strip_list(l: &[Value]) -> Vec<Value> {
    l.iter()
        .filter(|v| v.get("$patch").is_none())
        .map(|v| match v {
            Value::Object(m) => Value::Object(strip_directives(m)),
            other => other.clone(),
        })
        .collect()
}

fn merge_list(field: &str, orig: &[Value], patch: &[Value]) -> Result<Value, ApiError> {
    if patch
        .iter()
        .any(|v| v.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Ok(Value::Array(strip_list(patch)));
    }
    if merges_primitives(field) && patch.iter().all(|v| !v.is_object()) {
        let mut out = orig.to_vec();
        for v in patch {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        return Ok(Value::Array(out));
    }
    let items: Vec<&Value> = orig.iter().chain(patch.iter()).collect();
    let Some(key) = merge_key(field, &items) else {
        return Ok(Value::Array(strip_list(patch)));
    };
    let mut out = orig.to_vec();
    for pv in patch {
        let Some(pm) = pv.as_object() else {
            out.push(pv.clone());
            continue;
        };
        let id = pm.get(key);
        let pos = id.and_then(|id| out.iter().position(|o| o.get(key) == Some(id)));
        let delete = pm.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                out.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => {
                let merged = match out[i].as_object() {
                    Some(om) => merge_map(om, pm)?,
                    None => strip_directives(pm),
                };
                out[i] = Value::Object(merged);
            }
            (None, false) => out.push(Value::Object(strip_directives(pm))),
        }
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_merge_by_name() {
        let orig = json!({"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}],
            "tolerations": [{"key": "k"}]}});
        let patch = json!({"spec": {"containers": [{"name": "b", "image": "y:2"}, {"name": "c", "image": "z"}],
            "tolerations": [{"key": "j"}], "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}});
        let out = strategic_merge(&orig, &patch).unwrap();
        assert_eq!(
            out,
            json!({"spec": {"containers": [{"name": "c", "image": "z"}, {"name": "a", "image": "x:1"}, {"name": "b", "image": "y:2"}],
                "tolerations": [{"key": "j"}]}})
        );
    }

    #[test]
    fn directives() {
        let orig = json!({"metadata": {"annotations": {"a": "1", "b": "2"}, "finalizers": ["x"]},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "strategy": {"type": "RollingUpdate", "rollingUpdate": {}}}});
        let patch = json!({"metadata": {"annotations": {"a": null, "c": "3"}, "finalizers": ["y"]},
            "spec": {"containers": [{"name": "a", "$patch": "delete"}],
                "strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
        let out = strategic_merge(&orig, &patch).unwrap();
        assert_eq!(
            out,
            json!({"metadata": {"annotations": {"b": "2", "c": "3"}, "finalizers": ["x", "y"]},
                "spec": {"containers": [{"name": "b"}], "strategy": {"type": "Recreate"}}})
        );
    }

    #[test]
    fn json_patch_test_failure_is_422() {
        let err = apply(
            PatchType::Json,
            &json!({"a": 1}),
            br#"[{"op":"test","path":"/a","value":2}]"#,
        )
        .unwrap_err();
        assert_eq!(err.code, 422);
        let err = apply(PatchType::Json, &json!({"a": 1}), b"{").unwrap_err();
        assert_eq!(err.code, 400);
    }
}
