//! Kubernetes label selectors (`metav1.LabelSelector`) as Velero uses them: a Backup's
//! `labelSelector`/`orLabelSelectors` and each hook's `labelSelector`. Validation follows
//! `metav1.LabelSelectorAsSelector`, which Velero calls on hook selectors
//! (`pkg/backup/backup.go` `getResourceHook`, `internal/hook/item_hook_handler.go`
//! `GetRestoreHooksFromSpec`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::types::nullable;

/// `metav1.LabelSelector`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LabelSelector {
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub match_labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: String,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl LabelSelector {
    /// Reads kubectl's selector syntax (`app=db,tier!=cache,env in (a,b),!legacy,owner`)
    /// the way `metav1.ParseToLabelSelector` does.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut selector = LabelSelector::default();
        for term in split_terms(text)? {
            let term = term.trim();
            if term.is_empty() {
                return Err(format!("empty requirement in selector `{text}`"));
            }
            let requirement = if let Some(key) = term.strip_prefix('!') {
                requirement(key.trim(), "DoesNotExist", vec![])
            } else if let Some((key, values)) = split_set(term, " notin ") {
                requirement(key, "NotIn", values?)
            } else if let Some((key, values)) = split_set(term, " in ") {
                requirement(key, "In", values?)
            } else if let Some((key, value)) = term.split_once("!=") {
                requirement(key.trim(), "NotIn", vec![value.trim().to_owned()])
            } else if let Some((key, value)) =
                term.split_once("==").or_else(|| term.split_once('='))
            {
                selector
                    .match_labels
                    .insert(key.trim().to_owned(), value.trim().to_owned());
                continue;
            } else {
                requirement(term, "Exists", vec![])
            };
            selector.match_expressions.push(requirement);
        }
        selector.validate()?;
        Ok(selector)
    }

    /// What `metav1.LabelSelectorAsSelector` rejects: unknown operators, value counts that
    /// do not fit the operator, invalid label keys and values.
    pub fn validate(&self) -> Result<(), String> {
        for (key, value) in &self.match_labels {
            check_label_key(key)?;
            check_label_value(value)?;
        }
        for r in &self.match_expressions {
            check_label_key(&r.key)?;
            match r.operator.as_str() {
                "In" | "NotIn" => {
                    if r.values.is_empty() {
                        return Err(format!(
                            "key `{}`: operator {} needs at least one value",
                            r.key, r.operator
                        ));
                    }
                    for v in &r.values {
                        check_label_value(v)?;
                    }
                }
                "Exists" | "DoesNotExist" => {
                    if !r.values.is_empty() {
                        return Err(format!(
                            "key `{}`: operator {} takes no values",
                            r.key, r.operator
                        ));
                    }
                }
                other => {
                    return Err(format!(
                        "key `{}`: `{other}` is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)",
                        r.key
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether `labels` satisfy the selector (which must be valid). An empty selector
    /// matches everything.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| {
                let value = labels.get(&r.key);
                match r.operator.as_str() {
                    "In" => value.is_some_and(|v| r.values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !r.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }

    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }
}

impl std::fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut terms: Vec<String> = self
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for r in &self.match_expressions {
            terms.push(match r.operator.as_str() {
                "Exists" => r.key.clone(),
                "DoesNotExist" => format!("!{}", r.key),
                "In" => format!("{} in ({})", r.key, r.values.join(",")),
                "NotIn" => format!("{} notin ({})", r.key, r.values.join(",")),
                other => format!("{} {other} ({})", r.key, r.values.join(",")),
            });
        }
        f.write_str(&terms.join(","))
    }
}

fn requirement(key: &str, operator: &str, values: Vec<String>) -> LabelSelectorRequirement {
    LabelSelectorRequirement {
        key: key.trim().to_owned(),
        operator: operator.to_owned(),
        values,
    }
}

/// Splits on commas outside parentheses.
fn split_terms(text: &str) -> Result<Vec<&str>, String> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            return Err(format!("unbalanced parentheses in selector `{text}`"));
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced parentheses in selector `{text}`"));
    }
    terms.push(&text[start..]);
    Ok(terms)
}

/// `key in (a,b)` → (`key`, [a, b]).
fn split_set<'a>(term: &'a str, operator: &str) -> Option<(&'a str, Result<Vec<String>, String>)> {
    let (key, rest) = term.split_once(operator)?;
    let rest = rest.trim();
    let values = match rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        Some(inner) => Ok(inner
            .split(',')
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()),
        None => Err(format!(
            "`{}`: values must be in parentheses, e.g. `{} {} (a,b)`",
            term.trim(),
            key.trim(),
            operator.trim()
        )),
    };
    Some((key.trim(), values))
}

fn is_label_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

fn check_label_key(key: &str) -> Result<(), String> {
    let valid = match key.rsplit_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_label_name(name),
        None => is_label_name(key),
    };
    if valid {
        Ok(())
    } else {
        Err(format!("`{key}` is not a valid label key"))
    }
}

fn check_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_label_name(value) {
        Ok(())
    } else {
        Err(format!("`{value}` is not a valid label value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn selector_syntax() {
        let db = labels(&[("app", "db"), ("tier", "data")]);
        let web = labels(&[("app", "web")]);
        // (selector, matches db, matches web)
        let cases = [
            ("app=db", true, false),
            ("app==db", true, false),
            ("app!=db", false, true),
            ("app in (db,web)", true, true),
            ("app notin (web)", true, false),
            ("tier", true, false),
            ("!tier", false, true),
            ("app=db,tier=data", true, false),
            ("app in (db, cache),!legacy", true, false),
        ];
        for (text, expect_db, expect_web) in cases {
            let selector = LabelSelector::parse(text).unwrap();
            assert_eq!(selector.matches(&db), expect_db, "{text} on db");
            assert_eq!(selector.matches(&web), expect_web, "{text} on web");
        }
        for bad in [
            "app in db",
            "app=(db",
            "a b=c",
            "app=db,",
            "-app=db",
            "app=not valid",
        ] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn selector_validation_like_metav1() {
        let ok: LabelSelector = serde_json::from_value(json!({
            "matchLabels": {"app": "db"},
            "matchExpressions": [{"key": "example.com/tier", "operator": "In", "values": ["a"]}]
        }))
        .unwrap();
        assert_eq!(ok.validate(), Ok(()));
        for bad in [
            json!({"matchExpressions": [{"key": "a", "operator": "in", "values": ["x"]}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
            json!({"matchLabels": {"a b": "x"}}),
            json!({"matchLabels": {"a": "-x"}}),
        ] {
            let selector: LabelSelector = serde_json::from_value(bad.clone()).unwrap();
            assert!(selector.validate().is_err(), "{bad}");
        }
    }
}
