//! The parts of a pod (or pod template) the rules look at, borrowed from its JSON.

use serde_json::Value;

/// An annotation value as found: Kubernetes requires strings, but a manifest can say
/// `timeout: 30` (a YAML number) and still reach a validator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnnotationValue<'a> {
    Str(&'a str),
    NotString(&'a Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitContainer<'a> {
    pub name: &'a str,
    /// `restartPolicy: Always`: a native sidecar, which runs beside the regular containers.
    pub sidecar: bool,
}

/// Pod metadata annotations and container names: everything Velero's hook code reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodView<'a> {
    pub annotations: Vec<(&'a str, AnnotationValue<'a>)>,
    pub containers: Vec<&'a str>,
    pub init_containers: Vec<InitContainer<'a>>,
}

impl<'a> PodView<'a> {
    /// Reads a pod's `metadata` and `spec` (either may be missing or `null`).
    pub fn from_json(metadata: Option<&'a Value>, spec: Option<&'a Value>) -> Self {
        let annotations = metadata
            .and_then(|m| m.get("annotations"))
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .map(|(k, v)| {
                        let value = match v.as_str() {
                            Some(s) => AnnotationValue::Str(s),
                            None => AnnotationValue::NotString(v),
                        };
                        (k.as_str(), value)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let names = |field: &str| -> Vec<&'a Value> {
            spec.and_then(|s| s.get(field))
                .and_then(Value::as_array)
                .map(|list| list.iter().collect())
                .unwrap_or_default()
        };
        let containers = names("containers")
            .into_iter()
            .map(|c| c.get("name").and_then(Value::as_str).unwrap_or(""))
            .collect();
        let init_containers = names("initContainers")
            .into_iter()
            .map(|c| InitContainer {
                name: c.get("name").and_then(Value::as_str).unwrap_or(""),
                sidecar: c.get("restartPolicy").and_then(Value::as_str) == Some("Always"),
            })
            .collect();
        PodView {
            annotations,
            containers,
            init_containers,
        }
    }

    /// The string value of `key`, if present and a string.
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.annotations.iter().find_map(|(k, v)| match v {
            AnnotationValue::Str(s) if *k == key => Some(*s),
            _ => None,
        })
    }

    /// Whether `key` is present at all (string or not).
    pub fn has_annotation(&self, key: &str) -> bool {
        self.annotations.iter().any(|(k, _)| *k == key)
    }
}
