//! Fields a Backup, Schedule or Restore manifest writes that Velero's CRD does not declare
//! (HV116). The API server's structural schema drops them: `kubectl apply` (strict field
//! validation) refuses the object with `strict decoding error: unknown field "…"`, while
//! clients that leave field validation at the API's default (GitOps controllers, most
//! client libraries) get only a warning and the object is stored without the field. Either
//! way Velero never sees it: `label:` for `labelSelector:` makes a hook run on every pod,
//! `post:` in a Restore hook runs nothing, `timeout:` for `execTimeout:` keeps the 30s
//! default.
//!
//! What is declared comes from Velero's CRDs themselves (`config/crd/v1/bases`), release by
//! release, in the generated table [`declared`] (`fields/generate.py`).

use serde_json::Value;

use super::VeleroKind;
use super::rules::{SPEC_FIELD_UNKNOWN, at};
use crate::keys::levenshtein_within;
use crate::rules::Finding;
use crate::version::VeleroVersion;

#[rustfmt::skip]
mod declared;

/// One path the CRD declares: `a.b` a property, `a[]` list items, `a.*` map values.
#[derive(Debug)]
pub(super) struct Declared {
    path: &'static str,
    shape: Shape,
    /// The first release whose CRD declares it; `None` for every release predicted.
    since: Option<VeleroVersion>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// Properties, each declared.
    Object,
    /// Any keys, values declared at `path.*`.
    Map,
    /// Items declared at `path[]`.
    List,
    /// A string, number or boolean.
    Value,
    /// Anything: `x-kubernetes-preserve-unknown-fields`, `metadata`, `status`.
    Open,
}

fn table(kind: VeleroKind) -> &'static [Declared] {
    match kind {
        VeleroKind::Backup => declared::BACKUP,
        VeleroKind::Schedule => declared::SCHEDULE,
        VeleroKind::Restore => declared::RESTORE,
    }
}

fn lookup(kind: VeleroKind, path: &str) -> Option<&'static Declared> {
    let table = table(kind);
    table
        .binary_search_by(|d| d.path.cmp(path))
        .ok()
        .map(|i| &table[i])
}

/// Fields (as the end of their written path) with a rule of their own for the releases
/// without them.
const REPORTED_ELSEWHERE: &[&str] = &[
    // `check_wait_for_ready_supported` says what 1.12 does with a restore hook's waitForReady.
    ".exec.waitForReady",
];

/// A field written in a Velero object that the CRD of some release (or of every release)
/// does not declare; [`Undeclared::finding`] says whether that matters for a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undeclared {
    kind: VeleroKind,
    /// Where it is written: `spec.hooks.resources[0].post`.
    written: String,
    name: String,
    /// The first release whose CRD declares it; `None` when no release does.
    since: Option<VeleroVersion>,
    suggestions: Vec<&'static str>,
}

/// The HV116 errors for `version`: one per undeclared field, none for what is written
/// inside a field already reported.
pub fn findings(undeclared: &[Undeclared], version: VeleroVersion) -> Vec<Finding> {
    let mut reported: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for field in undeclared {
        let inside = reported.iter().any(|outer| {
            field
                .written
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with(['.', '[']))
        });
        if !inside && let Some(finding) = field.finding(version) {
            reported.push(&field.written);
            out.push(finding);
        }
    }
    out
}

/// Every field of `object` (a Backup, Schedule or Restore) that some release's CRD does not
/// declare.
pub fn undeclared(kind: VeleroKind, object: &Value) -> Vec<Undeclared> {
    let mut out = Vec::new();
    walk(kind, object, String::new(), String::new(), &mut out);
    out
}

/// `schema` is the declared path (`spec.hooks.resources[]`), `written` the object's own
/// (`spec.hooks.resources[0]`).
fn walk(
    kind: VeleroKind,
    value: &Value,
    schema: String,
    written: String,
    out: &mut Vec<Undeclared>,
) {
    let Some(declared) = lookup(kind, &schema) else {
        return;
    };
    match (declared.shape, value) {
        (Shape::Object, Value::Object(map)) => {
            for (name, child) in map {
                let child_schema = join(&schema, name);
                let child_written = join(&written, name);
                let found = lookup(kind, &child_schema);
                if found.is_none_or(|d| d.since.is_some()) {
                    out.push(Undeclared {
                        kind,
                        written: child_written.clone(),
                        name: name.clone(),
                        since: found.and_then(|d| d.since),
                        suggestions: match found {
                            None => suggestions(kind, &schema, name),
                            Some(_) => Vec::new(),
                        },
                    });
                }
                if found.is_some() {
                    walk(kind, child, child_schema, child_written, out);
                }
            }
        }
        (Shape::Map, Value::Object(map)) => {
            for (name, child) in map {
                let child_schema = format!("{schema}.*");
                walk(kind, child, child_schema, join(&written, name), out);
            }
        }
        (Shape::List, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let item_written = format!("{written}[{i}]");
                walk(kind, item, format!("{schema}[]"), item_written, out);
            }
        }
        // Values, open parts, and values of the wrong type (other rules say so).
        _ => {}
    }
}

/// A value whose JSON type is not the one the CRD declares for its place: the API server
/// refuses the object (`spec.template in body must be of type object: "array"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongType {
    /// Where it is written: `spec.hooks.resources[0].pre[0].exec`.
    pub written: String,
    pub expected: &'static str,
    pub found: &'static str,
}

/// The first value of `object` whose type its CRD does not allow. Serde would read a list
/// where an object is expected positionally, as its fields in order, and so accept what
/// the API server refuses; this is asked first. `null` is allowed: the API server prunes it.
pub fn wrong_type(kind: VeleroKind, object: &Value) -> Option<WrongType> {
    first_wrong_type(kind, object, "", String::new())
}

fn first_wrong_type(
    kind: VeleroKind,
    value: &Value,
    schema: &str,
    written: String,
) -> Option<WrongType> {
    let declared = lookup(kind, schema)?;
    let expected = match (declared.shape, value) {
        (_, Value::Null) | (Shape::Open, _) => return None,
        (Shape::Object, Value::Object(map)) => {
            return map.iter().find_map(|(name, child)| {
                let child_schema = join(schema, name);
                first_wrong_type(kind, child, &child_schema, join(&written, name))
            });
        }
        (Shape::Map, Value::Object(map)) => {
            let child_schema = format!("{schema}.*");
            return map.iter().find_map(|(name, child)| {
                first_wrong_type(kind, child, &child_schema, join(&written, name))
            });
        }
        (Shape::List, Value::Array(items)) => {
            let item_schema = format!("{schema}[]");
            return items.iter().enumerate().find_map(|(i, item)| {
                first_wrong_type(kind, item, &item_schema, format!("{written}[{i}]"))
            });
        }
        (Shape::Value, Value::Bool(_) | Value::Number(_) | Value::String(_)) => return None,
        (Shape::Object | Shape::Map, _) => "object",
        (Shape::List, _) => "array",
        (Shape::Value, _) => "a string, number or boolean",
    };
    let found = match value {
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
    };
    Some(WrongType {
        written,
        expected,
        found,
    })
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

impl Undeclared {
    /// The HV116 error for `version`, unless its CRD declares the field (or another rule
    /// speaks of it).
    fn finding(&self, version: VeleroVersion) -> Option<Finding> {
        let problem = match self.since {
            Some(since) if version >= since => return None,
            Some(_) if REPORTED_ELSEWHERE.iter().any(|p| self.written.ends_with(p)) => {
                return None;
            }
            Some(since) => format!(
                "`{}` is declared by the CRD of Velero {since} and later, not by Velero {version}'s",
                self.name
            ),
            None => format!(
                "a {} has no field `{}` in this place",
                self.kind.as_str(),
                self.name
            ),
        };
        let handling = format!(
            "the API server drops the field, so Velero never sees it: `kubectl apply` refuses \
             the object (`{kind} in version \"v1\" cannot be handled as a {kind}: strict \
             decoding error: unknown field \"{}\"`), other clients only get a warning and \
             the object is stored without it",
            self.written,
            kind = self.kind.as_str()
        );
        let fix = match self.suggestions.as_slice() {
            [] if self.since.is_some() => {
                "upgrade Velero and its CRDs, or remove the field".to_owned()
            }
            [] => "remove it, or move it where Velero's API declares it (velero.io/docs, API \
                   types)"
                .to_owned(),
            [one] => format!("did you mean `{one}`?"),
            [one, other, ..] => format!("did you mean `{one}` or `{other}`?"),
        };
        Some(at(
            &SPEC_FIELD_UNKNOWN,
            self.written.clone(),
            problem,
            handling,
            fix,
        ))
    }
}

/// Declared names beside `name` that it was probably meant to be: a few typos away, or one
/// containing the other (`label` for `labelSelector`, `post` for `postHooks`, `timeout`
/// for `execTimeout`); for a spec field written at the top, its place in the spec.
fn suggestions(kind: VeleroKind, parent: &str, name: &str) -> Vec<&'static str> {
    if parent.is_empty()
        && let Some(d) = lookup(kind, &format!("{}.{name}", kind.spec_path()))
    {
        return vec![d.path];
    }
    // A Backup's field written in a Schedule's spec instead of its template.
    if kind == VeleroKind::Schedule
        && parent == "spec"
        && let Some(d) = lookup(kind, &format!("spec.template.{name}"))
    {
        return vec![d.path];
    }
    // The hook lists of the other kind: a Restore runs only `postHooks`, a Backup `pre`
    // and `post`.
    if parent.ends_with("hooks.resources[]") {
        let meant = match (kind, name) {
            (VeleroKind::Restore, "pre" | "post" | "preHooks" | "exec") => Some("postHooks"),
            (VeleroKind::Backup | VeleroKind::Schedule, "preHooks") => Some("pre"),
            (VeleroKind::Backup | VeleroKind::Schedule, "postHooks") => Some("post"),
            _ => None,
        };
        if let Some(meant) = meant {
            return vec![meant];
        }
    }
    let prefix = if parent.is_empty() {
        String::new()
    } else {
        format!("{parent}.")
    };
    let lower = name.to_ascii_lowercase();
    let mut found: Vec<(usize, &'static str)> = table(kind)
        .iter()
        .filter_map(|d| d.path.strip_prefix(prefix.as_str()))
        .filter(|rest| !rest.is_empty() && !rest.contains(['.', '[']))
        .filter_map(|candidate| {
            let other = candidate.to_ascii_lowercase();
            let contains = lower.len() >= 4 && (other.contains(&lower) || lower.contains(&other));
            // Short names are a few edits from many others: one typo per four letters.
            match levenshtein_within(&lower, &other, (lower.len() / 4).clamp(1, 3)) {
                Some(distance) => Some((distance, candidate)),
                None if contains => Some((4, candidate)),
                None => None,
            }
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, candidate)| candidate).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_table_is_sorted_for_lookup() {
        for kind in [
            VeleroKind::Backup,
            VeleroKind::Schedule,
            VeleroKind::Restore,
        ] {
            assert!(table(kind).windows(2).all(|w| w[0].path < w[1].path));
        }
    }

    #[test]
    fn map_keys_and_open_parts_are_not_fields() {
        let restore = json!({"apiVersion": "velero.io/v1", "kind": "Restore",
            "metadata": {"name": "r", "anything": 1}, "status": {"phase": "New"},
            "spec": {"backupName": "b", "namespaceMapping": {"shop": "shop-copy"},
                "hooks": {"resources": [{"name": "h", "postHooks": [{"init": {
                    "initContainers": [{"name": "i", "image": "busybox", "command": ["true"],
                        "securityContext": {"runAsUser": 1}}]}}]}]}}});
        assert_eq!(undeclared(VeleroKind::Restore, &restore), []);
    }

    #[test]
    fn fields_in_the_place_of_the_other_kind_are_pointed_to_theirs() {
        let meant = |kind, object: Value| {
            undeclared(kind, &object)
                .into_iter()
                .map(|u| (u.written, u.suggestions))
                .collect::<Vec<_>>()
        };
        let schedule = json!({"spec": {"schedule": "@daily", "hooks": {"resources": []}}});
        assert_eq!(
            meant(VeleroKind::Schedule, schedule),
            [("spec.hooks".to_owned(), vec!["spec.template.hooks"])]
        );
        let restore = json!({"spec": {"hooks": {"resources": [{"name": "h", "pre": []}]}}});
        assert_eq!(
            meant(VeleroKind::Restore, restore),
            [("spec.hooks.resources[0].pre".to_owned(), vec!["postHooks"])]
        );
        let backup = json!({"spec": {"hooks": {"resources": [{"name": "h", "postHooks": []}]}}});
        assert_eq!(
            meant(VeleroKind::Backup, backup),
            [("spec.hooks.resources[0].postHooks".to_owned(), vec!["post"])]
        );
    }
}
