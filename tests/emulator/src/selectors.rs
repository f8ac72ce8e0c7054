//! Label selectors (string form of `?labelSelector=` and the structured
//! `metav1.LabelSelector`) and field selectors.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::ApiError;
use crate::resources::ResourceType;

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Exists,
    DoesNotExist,
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    GreaterThan(i64),
    LessThan(i64),
}

#[derive(Debug, Clone, PartialEq)]
struct Requirement {
    key: String,
    op: Op,
}

/// A parsed label selector: all requirements must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')
}

fn parse_error(detail: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("unable to parse requirement: {detail}"))
}

/// Split on commas that are not inside `( )`.
fn split_top_level(s: &str) -> Result<Vec<&str>, ApiError> {
    let mut parts = vec![];
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(parse_error("found ')', expected: '('"));
                }
            }
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(parse_error("found '(', expected: ')'"));
    }
    parts.push(&s[start..]);
    Ok(parts)
}

fn parse_value_set(rest: &str) -> Result<Vec<String>, ApiError> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| parse_error(format!("found '{rest}', expected: '('")))?;
    Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
}

fn validate_value(v: &str) -> Result<(), ApiError> {
    let ok = v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && (v.is_empty()
            || (v.starts_with(|c: char| c.is_ascii_alphanumeric())
                && v.ends_with(|c: char| c.is_ascii_alphanumeric())));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "unable to parse requirement: values[0][{v}]: Invalid value: \"{v}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )))
    }
}

impl LabelSelector {
    /// Everything matches.
    pub fn everything() -> Self {
        LabelSelector::default()
    }

    /// Parse the string form: `a=b,c!=d,e in (f,g),!h,i`.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut requirements = vec![];
        if s.trim().is_empty() {
            return Ok(LabelSelector { requirements });
        }
        for part in split_top_level(s)? {
            let part = part.trim();
            if part.is_empty() {
                return Err(parse_error("found '', expected: identifier"));
            }
            if let Some(key) = part.strip_prefix('!') {
                let key = key.trim();
                if key.is_empty() || !key.chars().all(is_key_char) {
                    return Err(parse_error(format!("found '{key}', expected: identifier")));
                }
                requirements.push(Requirement {
                    key: key.into(),
                    op: Op::DoesNotExist,
                });
                continue;
            }
            let key_end = part.find(|c: char| !is_key_char(c)).unwrap_or(part.len());
            let key = &part[..key_end];
            if key.is_empty() {
                return Err(parse_error(format!("found '{part}', expected: identifier")));
            }
            let rest = part[key_end..].trim_start();
            let op = if rest.is_empty() {
                Op::Exists
            } else if let Some(v) = rest.strip_prefix("==") {
                Op::Equals(v.trim().into())
            } else if let Some(v) = rest.strip_prefix("!=") {
                Op::NotEquals(v.trim().into())
            } else if let Some(v) = rest.strip_prefix('=') {
                Op::Equals(v.trim().into())
            } else if let Some(v) = rest.strip_prefix('>') {
                Op::GreaterThan(v.trim().parse().map_err(|_| {
                    parse_error(format!(
                        "for 'Gt', 'Lt' operators, the value must be an integer, got '{}'",
                        v.trim()
                    ))
                })?)
            } else if let Some(v) = rest.strip_prefix('<') {
                Op::LessThan(v.trim().parse().map_err(|_| {
                    parse_error(format!(
                        "for 'Gt', 'Lt' operators, the value must be an integer, got '{}'",
                        v.trim()
                    ))
                })?)
            } else if let Some(v) = rest
                .strip_prefix("notin")
                .filter(|v| v.starts_with([' ', '(']))
            {
                Op::NotIn(parse_value_set(v)?)
            } else if let Some(v) = rest
                .strip_prefix("in")
                .filter(|v| v.starts_with([' ', '(']))
            {
                Op::In(parse_value_set(v)?)
            } else {
                return Err(parse_error(format!(
                    "found '{rest}', expected: in, notin, =, ==, !=, gt, lt"
                )));
            };
            match &op {
                Op::Equals(v) | Op::NotEquals(v) => validate_value(v)?,
                Op::In(vs) | Op::NotIn(vs) => vs.iter().try_for_each(|v| validate_value(v))?,
                _ => {}
            }
            requirements.push(Requirement {
                key: key.into(),
                op,
            });
        }
        Ok(LabelSelector { requirements })
    }

    /// Build from a structured `metav1.LabelSelector` (`matchLabels`, `matchExpressions`).
    /// `null` and `{}` select everything.
    pub fn from_structured(sel: &Value) -> Result<Self, ApiError> {
        let mut requirements = vec![];
        if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in m {
                requirements.push(Requirement {
                    key: k.clone(),
                    op: Op::Equals(v.as_str().unwrap_or_default().into()),
                });
            }
        }
        if let Some(exprs) = sel.get("matchExpressions").and_then(Value::as_array) {
            for e in exprs {
                let key = e
                    .get("key")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let values: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                let op = match e.get("operator").and_then(Value::as_str) {
                    Some("In") => Op::In(values),
                    Some("NotIn") => Op::NotIn(values),
                    Some("Exists") => Op::Exists,
                    Some("DoesNotExist") => Op::DoesNotExist,
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "{other:?} is not a valid label selector operator"
                        )));
                    }
                };
                requirements.push(Requirement { key, op });
            }
        }
        Ok(LabelSelector { requirements })
    }

    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| {
            let value = labels.get(&r.key);
            match &r.op {
                Op::Exists => value.is_some(),
                Op::DoesNotExist => value.is_none(),
                Op::Equals(v) => value == Some(v),
                // Like Kubernetes: `!=` and `notin` also select objects without the label.
                Op::NotEquals(v) => value != Some(v),
                Op::In(vs) => value.is_some_and(|x| vs.contains(x)),
                Op::NotIn(vs) => value.is_none_or(|x| !vs.contains(x)),
                Op::GreaterThan(n) => value
                    .and_then(|x| x.parse::<i64>().ok())
                    .is_some_and(|x| x > *n),
                Op::LessThan(n) => value
                    .and_then(|x| x.parse::<i64>().ok())
                    .is_some_and(|x| x < *n),
            }
        })
    }

    /// Match against an object's `metadata.labels`.
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.is_everything() || self.matches(&labels_of(obj))
    }
}

/// `metadata.labels` as a map (non-string values are ignored).
pub fn labels_of(obj: &Value) -> BTreeMap<String, String> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// A parsed `?fieldSelector=`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldSelector {
    /// (field, value, negated)
    terms: Vec<(String, String, bool)>,
}

/// Fields kube-apiserver lets clients select on, beyond `metadata.name` and
/// `metadata.namespace` which every type supports.
fn type_fields(rt: &ResourceType) -> &'static [&'static str] {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        ("", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("", "secrets") => &["type"],
        ("", "namespaces") => &["status.phase"],
        ("", "replicationcontrollers") | ("apps", "replicasets") => &["status.replicas"],
        ("batch", "jobs") => &["status.successful"],
        _ => &[],
    }
}

impl FieldSelector {
    pub fn parse(s: &str, rt: &ResourceType) -> Result<Self, ApiError> {
        let mut terms = vec![];
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, value, negated) = if let Some((f, v)) = part.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, v, false)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, v, false)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let field = field.trim();
            if field != "metadata.name"
                && field != "metadata.namespace"
                && !type_fields(rt).contains(&field)
            {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            terms.push((field.to_string(), value.trim().to_string(), negated));
        }
        Ok(FieldSelector { terms })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.terms.iter().all(|(field, value, negated)| {
            let pointer = format!("/{}", field.replace('.', "/"));
            let actual = match obj.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == *value) != *negated
        })
    }

    /// Whether the selector has no terms (selects every object).
    pub fn is_everything(&self) -> bool {
        self.terms.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_selector_table() {
        let l = labels(&[("app", "web"), ("tier", "front"), ("n", "5")]);
        for (sel, want) in [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("missing!=x", true),
            ("app in (web, api)", true),
            ("app in (api)", false),
            ("app notin (api)", true),
            ("missing notin (api)", true),
            ("app", true),
            ("!app", false),
            ("!missing", true),
            ("app=web,tier=front", true),
            ("app=web,tier in (back,db)", false),
            ("n>4", true),
            ("n<4", false),
            ("app=", false),
        ] {
            assert_eq!(
                LabelSelector::parse(sel).unwrap().matches(&l),
                want,
                "{sel}"
            );
        }
    }

    #[test]
    fn label_selector_errors() {
        for sel in ["app in web", "a=b,,", "app=(x", "=x", "app=web!"] {
            assert!(LabelSelector::parse(sel).is_err(), "{sel}");
        }
    }

    #[test]
    fn structured_selector() {
        let s = LabelSelector::from_structured(&json!({"matchLabels": {"a": "b"},
            "matchExpressions": [{"key": "c", "operator": "NotIn", "values": ["d"]}]}))
        .unwrap();
        assert!(s.matches(&labels(&[("a", "b")])));
        assert!(!s.matches(&labels(&[("a", "b"), ("c", "d")])));
        assert!(
            LabelSelector::from_structured(&Value::Null)
                .unwrap()
                .is_everything()
        );
    }
}
