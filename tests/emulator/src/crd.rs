//! CustomResourceDefinitions (`apiextensions.k8s.io/v1`): a CRD written to the
//! store makes the server serve the resources it defines (discovery, CRUD,
//! list, watch, tables from its `additionalPrinterColumns`), as
//! kube-apiserver's apiextensions server does; deleting it deletes them.
//!
//! What kube-apiserver does asynchronously (the NamesAccepted and Established
//! conditions) happens here at once, in the write that stores the CRD, so
//! `kubectl wait --for condition=Established` returns immediately. Schemas are
//! kept but not applied (no pruning, no validation of custom resources), and
//! versions are not converted (every served version reads the same objects).

use serde_json::{Value, json};

use crate::error::FieldCause;
use crate::resources::ResourceType;
use crate::table::{Cell, PrinterColumn};

pub const GROUP: &str = "apiextensions.k8s.io";
pub const PLURAL: &str = "customresourcedefinitions";

/// The `customresourcedefinitions` type itself.
pub fn definition_type() -> ResourceType {
    ResourceType::new(GROUP, "v1", "CustomResourceDefinition", PLURAL)
        .cluster_scoped()
        .short_names(&["crd", "crds"])
        .categories(&["api-extensions"])
        .tracks_generation(true)
        .columns(vec![PrinterColumn::new(
            "Created At",
            "date",
            0,
            Cell::Compute(|o| {
                o.pointer("/metadata/creationTimestamp")
                    .cloned()
                    .unwrap_or(Value::Null)
            }),
        )])
}

/// Whether `rt` is the CustomResourceDefinition type.
pub fn is_definition(rt: &ResourceType) -> bool {
    rt.group == GROUP && rt.plural == PLURAL
}

fn str_at<'a>(o: &'a Value, pointer: &str) -> &'a str {
    o.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn strings_at(o: &Value, pointer: &str) -> Vec<String> {
    o.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The resource types a (valid) CRD defines: one per served version.
pub fn types_of(crd: &Value) -> Vec<ResourceType> {
    let group = str_at(crd, "/spec/group");
    let kind = str_at(crd, "/spec/names/kind");
    let plural = str_at(crd, "/spec/names/plural");
    let singular = match str_at(crd, "/spec/names/singular") {
        "" => kind.to_lowercase(),
        s => s.to_owned(),
    };
    let namespaced = str_at(crd, "/spec/scope") != "Cluster";
    let short_names = strings_at(crd, "/spec/names/shortNames");
    let categories = strings_at(crd, "/spec/names/categories");
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    versions
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
        .map(|v| {
            let mut rt = ResourceType::new(group, str_at(v, "/name"), kind, plural);
            rt.singular = singular.clone();
            rt.namespaced = namespaced;
            rt.short_names = short_names.clone();
            rt.categories = categories.clone();
            // Only the status subresource: a scale subresource's replica paths are
            // not read here.
            rt.subresources = if v.pointer("/subresources/status").is_some() {
                vec!["status".into()]
            } else {
                vec![]
            };
            rt.columns = printer_columns(v);
            rt
        })
        .collect()
}

/// `additionalPrinterColumns` as table columns (simple dotted paths only).
fn printer_columns(version: &Value) -> Vec<PrinterColumn> {
    let Some(columns) = version
        .get("additionalPrinterColumns")
        .and_then(Value::as_array)
    else {
        return vec![];
    };
    columns
        .iter()
        .map(|c| {
            let mut column = PrinterColumn::new(
                str_at(c, "/name"),
                str_at(c, "/type"),
                c.get("priority").and_then(Value::as_u64).unwrap_or(0) as u32,
                Cell::JsonPath(str_at(c, "/jsonPath").to_owned()),
            );
            column.format = str_at(c, "/format").to_owned();
            column.description = str_at(c, "/description").to_owned();
            column
        })
        .collect()
}

/// Server-filled fields of a CRD: the conversion default and the status the
/// apiextensions controllers would write (names accepted, established, the
/// storage version recorded).
pub fn apply_defaults(crd: &mut Value) {
    let Some(spec) = crd.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    spec.entry("conversion")
        .or_insert_with(|| json!({"strategy": "None"}));
    let names = spec.get("names").cloned().unwrap_or(json!({}));
    let mut accepted = names;
    if let Some(a) = accepted.as_object_mut() {
        let kind = a
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        a.entry("listKind")
            .or_insert_with(|| json!(format!("{kind}List")));
        a.entry("singular")
            .or_insert_with(|| json!(kind.to_lowercase()));
    }
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        for key in ["listKind", "singular"] {
            if let Some(v) = accepted.get(key) {
                names.entry(key).or_insert_with(|| v.clone());
            }
        }
    }
    let storage: Vec<Value> = spec
        .get("versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .filter_map(|v| v.get("name").cloned())
        .collect();
    let mut stored = strings_at(crd, "/status/storedVersions")
        .into_iter()
        .map(Value::from)
        .collect::<Vec<_>>();
    for v in storage {
        if !stored.contains(&v) {
            stored.push(v);
        }
    }
    let now = crate::meta::now_rfc3339();
    let condition = |type_: &str, reason: &str, message: &str| json!({"type": type_, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
    crd["status"] = json!({
        "acceptedNames": accepted,
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    });
}

/// The checks of apiextensions' `ValidateCustomResourceDefinition` that a
/// hand-written CRD most often fails, with its field paths and messages.
pub fn validate(crd: &Value) -> Vec<FieldCause> {
    let mut causes = vec![];
    let name = crate::meta::name_of(crd);
    let group = str_at(crd, "/spec/group");
    let plural = str_at(crd, "/spec/names/plural");
    if group.is_empty() {
        causes.push(FieldCause::required("spec.group", ""));
    } else if !group.contains('.') {
        causes.push(FieldCause::invalid(
            "spec.group",
            group,
            "should be a domain with at least one dot",
        ));
    }
    if plural.is_empty() {
        causes.push(FieldCause::required("spec.names.plural", ""));
    }
    if str_at(crd, "/spec/names/kind").is_empty() {
        causes.push(FieldCause::required("spec.names.kind", ""));
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(FieldCause::invalid(
            "metadata.name",
            name,
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    let scope = str_at(crd, "/spec/scope");
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push(FieldCause {
            reason: "FieldValueNotSupported",
            field: "spec.scope".into(),
            value: Some(scope.into()),
            detail: "supported values: \"Cluster\", \"Namespaced\"".into(),
        });
    }
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let storage = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if storage != 1 {
        causes.push(FieldCause::invalid(
            "spec.versions",
            &Value::Array(versions.clone()).to_string(),
            "must have exactly one version marked as storage version",
        ));
    }
    for (i, v) in versions.iter().enumerate() {
        if str_at(v, "/name").is_empty() {
            causes.push(FieldCause::required(
                &format!("spec.versions[{i}].name"),
                "",
            ));
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"kind": "Widget", "plural": "widgets", "shortNames": ["wd"]},
                "versions": [
                    {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                     "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}]},
                    {"name": "v1beta1", "served": false, "storage": false}]}})
    }

    #[test]
    fn a_crd_defines_one_type_per_served_version() {
        let types = types_of(&crd());
        assert_eq!(types.len(), 1);
        let t = &types[0];
        assert_eq!(
            (t.api_version(), t.kind.as_str(), t.plural.as_str()),
            ("example.com/v1".into(), "Widget", "widgets")
        );
        assert_eq!(
            (t.singular.as_str(), t.namespaced, t.short_names.clone()),
            ("widget", true, vec!["wd".to_owned()])
        );
        assert_eq!(t.subresources, vec!["status".to_owned()]);
        assert_eq!(t.columns[0].name, "Size");
    }

    #[test]
    fn status_says_established() {
        let mut c = crd();
        apply_defaults(&mut c);
        assert_eq!(c["status"]["conditions"][1]["type"], "Established");
        assert_eq!(c["status"]["acceptedNames"]["listKind"], "WidgetList");
        assert_eq!(c["status"]["storedVersions"], json!(["v1"]));
        assert!(validate(&c).is_empty());
    }

    #[test]
    fn invalid_definitions_say_which_field() {
        let mut c = crd();
        c["metadata"]["name"] = json!("widget.example.com");
        c["spec"]["scope"] = json!("Global");
        c["spec"]["versions"][0]["storage"] = json!(false);
        let fields: Vec<String> = validate(&c).into_iter().map(|c| c.field).collect();
        assert_eq!(fields, ["metadata.name", "spec.scope", "spec.versions"]);
    }
}
