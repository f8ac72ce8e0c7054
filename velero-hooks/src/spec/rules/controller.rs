//! What Velero's controllers refuse before any hook runs: the backup controller's
//! `prepareBackupRequest` and the restore controller's `validateAndComplete`
//! (`pkg/controller/{backup,restore}_controller.go`), both ending the object
//! `FailedValidation`, the backup's namespace wildcard expansion (`pkg/util/wildcard/expand.go`,
//! since 1.18.0, [`NAMESPACE_WILDCARDS`]), and what older Restore CRDs refuse at apply.

use serde_json::Value;

use crate::checks::{abbreviate, shell_without_script_finding};
use crate::command::shell_without_script;
use crate::rules::{Finding, Subject};
use crate::spec::glob::Glob;
use crate::spec::scope::{expands_wildcards, is_wildcard, takes_in_no_namespace};
use crate::spec::types::{BackupSpec, RestoreSpec};
use crate::version::{
    EMPTY_INCLUDES_MEAN_ALL_AGAIN, INCLUDED_NAMESPACES_LOOKED_UP,
    MISSING_INCLUDED_NAMESPACE_LOGGED, NAMESPACE_WILDCARDS, RESTORE_BACKUP_NAME_OPTIONAL,
    RESTORE_PATTERNS_NOT_EXPANDED, STORAGE_LOCATION_AVAILABILITY_CHECKED, VeleroVersion,
    restore_expands_namespace_patterns,
};

use super::*;

const FAILED_VALIDATION: &str =
    "the controller refuses it: the object ends FailedValidation and nothing runs";

/// `collections.ValidateIncludesExcludes` (old-style lists and restore lists).
fn includes_excludes_errors(included: &[String], excluded: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    if included.len() > 1 && included.iter().any(|i| i == "*") {
        errors.push(
            "includes list must either contain '*' only, or a non-empty list of items".to_owned(),
        );
    }
    if excluded.iter().any(|e| e == "*") {
        errors.push("excludes list cannot contain '*'".to_owned());
    }
    errors.extend(
        sorted(excluded)
            .into_iter()
            .filter(|e| included.contains(e))
            .map(|e| format!("excludes list cannot contain an item in the includes list: {e}")),
    );
    errors
}

/// `collections.ValidateScopedIncludesExcludes` (the `*ScopedResources` lists).
fn scoped_errors(included: &[String], excluded: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    let star = |l: &[String]| l.iter().any(|i| i == "*");
    if included.len() > 1 && star(included) {
        errors.push(
            "includes list must either contain '*' only, or a non-empty list of items".to_owned(),
        );
    }
    if excluded.len() > 1 && star(excluded) {
        errors.push(
            "excludes list must either contain '*' only, or a non-empty list of items".to_owned(),
        );
    }
    if !included.is_empty() && star(excluded) {
        errors.push("when exclude is '*', include cannot have value".to_owned());
    }
    errors.extend(
        sorted(excluded)
            .into_iter()
            .filter(|e| included.contains(e))
            .map(|e| format!("excludes list cannot contain an item in the includes list: {e}")),
    );
    errors
}

fn sorted(list: &[String]) -> Vec<String> {
    let mut out = list.to_vec();
    out.sort();
    out.dedup();
    out
}

/// `validateNamespaceName` (`pkg/util/collections/includes_excludes.go`): since
/// [`NAMESPACE_WILDCARDS`], the wildcard checks, then Kubernetes' namespace name rules with
/// `*`, `?`, `[`, `]` replaced by a letter; before, the name rules with only `*` replaced.
fn namespace_pattern_error(pattern: &str, version: VeleroVersion) -> Option<String> {
    if pattern.is_empty() {
        return None;
    }
    if !version.has(&NAMESPACE_WILDCARDS) {
        return namespace_name_error(pattern, &pattern.replace('*', "x"));
    }
    if pattern.contains(['|', '(', ')', '!', '{', '}', ',']) {
        return Some(
            "wildcard pattern contains unsupported characters: |, (, ), !, {, }, ,".to_owned(),
        );
    }
    if pattern.contains("**") {
        return Some(
            "wildcard pattern contains consecutive asterisks (only single * allowed)".to_owned(),
        );
    }
    let mut rest = pattern;
    while let Some(at) = rest.find(['[', ']']) {
        if rest[at..].starts_with(']') {
            return Some("wildcard pattern contains unmatched closing bracket ']'".to_owned());
        }
        match rest[at + 1..].find(']') {
            None => return Some("wildcard pattern contains unclosed bracket '['".to_owned()),
            Some(0) => {
                return Some("wildcard pattern contains empty bracket pattern '[]'".to_owned());
            }
            Some(close) => rest = &rest[at + 1 + close + 1..],
        }
    }
    let name: String = pattern
        .chars()
        .map(|c| {
            if matches!(c, '*' | '?' | '[' | ']') {
                'x'
            } else {
                c
            }
        })
        .collect();
    namespace_name_error(pattern, &name)
}

/// Kubernetes' `ValidateNamespaceName` on `name`, the pattern with its wildcards replaced.
fn namespace_name_error(pattern: &str, name: &str) -> Option<String> {
    if name.len() > 63 {
        return Some(format!(
            "invalid namespace {pattern:?}: must be no more than 63 characters"
        ));
    }
    if !crate::rules::is_dns1123_label(name) {
        return Some(format!(
            "invalid namespace {pattern:?}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
        ));
    }
    None
}

/// What the backup controller refuses in a Backup's spec (or a Schedule's template, checked
/// when each Backup is created): `base` is `spec` or `spec.template`.
pub fn check_backup_controller(
    spec: &BackupSpec,
    base: &str,
    version: VeleroVersion,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let refuse = |out: &mut Vec<Finding>, rule: &Rule, field: &str, problem: String, fix: &str| {
        out.push(at(
            rule,
            format!("{base}.{field}"),
            problem,
            FAILED_VALIDATION,
            fix,
        ));
    };
    if spec.uses_old_resource_filters() && spec.uses_new_resource_filters() {
        refuse(&mut out, &BACKUP_RESOURCE_LISTS, "includedResources", "the old filters (includedResources, excludedResources, includeClusterResources) and the new ones (*ScopedResources) are both used: they cannot be used together".to_owned(), "use either the old or the new resource filters");
    }
    // (field, the words Velero's message uses for the lists, errors)
    let resource_lists: Vec<(&str, &str, Vec<String>)> = if spec.uses_old_resource_filters() {
        vec![(
            "excludedResources",
            "",
            includes_excludes_errors(&spec.included_resources, &spec.excluded_resources),
        )]
    } else {
        vec![
            (
                "excludedClusterScopedResources",
                "cluster-scoped ",
                scoped_errors(
                    &spec.included_cluster_scoped_resources,
                    &spec.excluded_cluster_scoped_resources,
                ),
            ),
            (
                "excludedNamespaceScopedResources",
                "namespace-scoped ",
                scoped_errors(
                    &spec.included_namespace_scoped_resources,
                    &spec.excluded_namespace_scoped_resources,
                ),
            ),
        ]
    };
    for (field, scope, errors) in resource_lists {
        for error in errors {
            refuse(
                &mut out,
                &BACKUP_RESOURCE_LISTS,
                field,
                format!("Invalid {scope}included/excluded resource lists: {error}"),
                "list `*` alone or names, and never the same name in both lists",
            );
        }
    }
    let included = spec.effective_included_namespaces();
    for error in includes_excludes_errors(&included, &spec.excluded_namespaces) {
        refuse(
            &mut out,
            &BACKUP_NAMESPACE_LISTS,
            "excludedNamespaces",
            format!("Invalid included/excluded namespace lists: {error}"),
            "list `*` alone or names, and never the same namespace in both lists",
        );
    }
    let expands = expands_wildcards(&included, &spec.excluded_namespaces, version);
    for (field, list) in [
        ("includedNamespaces", &included),
        ("excludedNamespaces", &spec.excluded_namespaces),
    ] {
        for (i, pattern) in list.iter().enumerate() {
            let path = format!("{base}.{field}[{i}]");
            if version.has(&NAMESPACE_WILDCARDS) {
                super::check_caret_class(pattern, &path, &mut out);
            }
            if let Some(error) = namespace_pattern_error(pattern, version) {
                let fix = if version.has(&NAMESPACE_WILDCARDS) {
                    "use lower-case names with only `*`, `?` and `[...]` as wildcards".to_owned()
                } else {
                    format!(
                        "use lower-case names with only `*` as a wildcard on Velero {version} (`?` and `[...]` need {})",
                        NAMESPACE_WILDCARDS.since()
                    )
                };
                out.push(at(
                    &BACKUP_NAMESPACE_PATTERN_REFUSED,
                    path,
                    format!("Invalid included/excluded namespace lists: {error}"),
                    FAILED_VALIDATION,
                    fix,
                ));
            } else if let Err(error) = Glob::compile(pattern) {
                let velero_does = if expands {
                    "the backup expands the namespace wildcards, cannot compile this pattern and ends Failed".to_owned()
                } else {
                    "Velero walks the list in sorted order and answers \"no match\" at this pattern: the list matches nothing from it on".to_owned()
                };
                out.push(at(
                    &BACKUP_NAMESPACE_PATTERN_INVALID,
                    path,
                    format!(
                        "`{}` does not compile: {}",
                        abbreviate(pattern),
                        error.reason
                    ),
                    velero_does,
                    "a class holds one range or single characters: `[a-c]`, `[abc]`",
                ));
            }
        }
    }
    // Patterns the releases before NAMESPACE_WILDCARDS look up as namespace names.
    if version.between(&INCLUDED_NAMESPACES_LOOKED_UP, &NAMESPACE_WILDCARDS) {
        let written = spec.included_namespaces.as_deref().unwrap_or_default();
        for (i, pattern) in written.iter().enumerate() {
            if pattern == "*" || !pattern.contains('*') {
                continue;
            }
            let path = format!("{base}.includedNamespaces[{i}]");
            let later = format!(
                "list the namespaces by name, or upgrade Velero ({} expand wildcards first)",
                NAMESPACE_WILDCARDS.since()
            );
            if version.has(&MISSING_INCLUDED_NAMESPACE_LOGGED) {
                out.push(at(
                    &BACKUP_NAMESPACE_PATTERN_LOOKED_UP,
                    path,
                    format!("`{}` is looked up as a namespace name, and no namespace has that name", abbreviate(pattern)),
                    format!("Velero {version} backs up the namespaces it matches, but logs `fail to get the namespace {} specified in backup.Spec.IncludedNamespaces` as an error, so every backup ends PartiallyFailed (PR #{})", abbreviate(pattern), MISSING_INCLUDED_NAMESPACE_LOGGED.pr),
                    later,
                ));
            } else {
                out.push(at(
                    &BACKUP_NAMESPACE_PATTERN_REFUSED,
                    path,
                    format!("Invalid included/excluded namespace lists: namespaces \"{}\" not found", abbreviate(pattern)),
                    format!("{FAILED_VALIDATION} (Velero {version} looks up each included namespace by name, PR #{})", INCLUDED_NAMESPACES_LOOKED_UP.pr),
                    later,
                ));
            }
        }
    }
    if takes_in_no_namespace(
        spec.included_namespaces.as_deref(),
        &spec.excluded_namespaces,
        version,
    ) && let Some(i) = spec.excluded_namespaces.iter().position(|p| is_wildcard(p))
    {
        out.push(at(
            &BACKUP_TAKES_IN_NO_NAMESPACE,
            format!("{base}.excludedNamespaces[{i}]"),
            format!(
                "includedNamespaces is empty and `{}` in excludedNamespaces is a wildcard",
                abbreviate(&spec.excluded_namespaces[i])
            ),
            format!(
                "Velero {version} expands the wildcards, turns the empty includedNamespaces into an empty list and then takes in no namespace: the backup completes without any namespaced item, and no hook runs ({} take it as every namespace)",
                EMPTY_INCLUDES_MEAN_ALL_AGAIN.since()
            ),
            "set `includedNamespaces: [\"*\"]` (what `velero backup create` sends), or upgrade Velero to 1.18.1",
        ));
    }
    if spec.label_selector.is_some() && spec.or_label_selectors.is_some() {
        refuse(&mut out, &BACKUP_BOTH_SELECTORS, "orLabelSelectors", "encountered labelSelector as well as orLabelSelectors in backup spec, only one can be specified".to_owned(), "keep one of them");
    }
    let selectors = spec
        .label_selector
        .iter()
        .map(|s| ("labelSelector".to_owned(), s))
        .chain(
            spec.or_label_selectors
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, s)| (format!("orLabelSelectors[{i}]"), s)),
        );
    for (field, selector) in selectors {
        if let Err(reason) = selector.validate() {
            // pkg/backup/item_collector.go: the list call with the formatted selector fails.
            out.push(at(&BACKUP_SELECTOR_INVALID, format!("{base}.{field}"), reason,
                "Velero cannot list namespaced items with it: the backup takes in no pods (no hooks run) and logs an error per resource", "fix the selector"));
        }
    }
    out
}

/// What the restore controller refuses in a Restore's own fields (the hook selectors and
/// init containers are checked with the hooks).
pub fn check_restore_controller(spec: &RestoreSpec, version: VeleroVersion) -> Vec<Finding> {
    let mut out = Vec::new();
    for (field, errors, what) in [
        (
            "excludedResources",
            includes_excludes_errors(&spec.included_resources, &spec.excluded_resources),
            "resource",
        ),
        (
            "excludedNamespaces",
            includes_excludes_errors(&spec.included_namespaces, &spec.excluded_namespaces),
            "namespace",
        ),
    ] {
        for error in errors {
            out.push(at(
                &RESTORE_VALIDATION,
                format!("spec.{field}"),
                format!("Invalid included/excluded {what} lists: {error}"),
                FAILED_VALIDATION,
                "list `*` alone or names, and never the same name in both lists",
            ));
        }
    }
    if spec.label_selector.is_some() && spec.or_label_selectors.is_some() {
        out.push(at(&BACKUP_BOTH_SELECTORS, "spec.orLabelSelectors".to_owned(), "encountered labelSelector as well as orLabelSelectors in restore spec, only one can be specified", FAILED_VALIDATION, "keep one of them"));
    }
    check_restore_namespace_expansion(spec, version, &mut out);
    let named = |n: &Option<String>| n.as_deref().is_some_and(|n| !n.is_empty());
    if spec.backup_name.is_none() && !version.has(&RESTORE_BACKUP_NAME_OPTIONAL) {
        // The CRD's `required: [backupName]`: refused before the controller sees it.
        out.push(at(&RESTORE_VALIDATION, "spec.backupName".to_owned(),
            format!("Required value (Velero {version}'s Restore CRD requires the field)"),
            format!("the API server refuses the Restore at `kubectl apply` ({} accept a Restore from scheduleName alone)", RESTORE_BACKUP_NAME_OPTIONAL.since()),
            "add `backupName: \"\"` next to scheduleName, as `velero restore create --from-schedule` does"));
    } else if named(&spec.backup_name) == named(&spec.schedule_name) {
        out.push(at(&RESTORE_VALIDATION, "spec.backupName".to_owned(), "Either a backup or schedule must be specified as a source for the restore, but not both", FAILED_VALIDATION, "set exactly one of backupName and scheduleName"));
    }
    out
}

/// `hook.ValidateContainer`: the raw container must decode as a `corev1.Container` and have
/// a name, an image and a command (`internal/hook/item_hook_handler.go`).
pub(crate) fn check_init_container(container: &Value, path: &str, out: &mut Vec<Finding>) {
    let problem = match container {
        Value::Object(map) => {
            let text = |k: &str| map.get(k).and_then(Value::as_str).unwrap_or_default();
            let bad_type = ["name", "image"].into_iter().find(|k| map.get(*k).is_some_and(|v| !v.is_string() && !v.is_null()))
                .map(|k| format!("json: cannot unmarshal {} into Go struct field Container.{k} of type string", value_kind(&map[k])))
                .or_else(|| map.get("command").filter(|v| !v.is_null() && !v.as_array().is_some_and(|a| a.iter().all(|e| e.is_string() || e.is_null())))
                    .map(|v| format!("json: cannot unmarshal {} into Go struct field Container.command of type []string", value_kind(v))));
            let command_len = map
                .get("command")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let missing: Vec<&str> = [
                ("name", text("name").is_empty()),
                ("image", text("image").is_empty()),
                ("command", command_len == 0),
            ]
            .into_iter()
            .filter_map(|(field, missing)| missing.then_some(field))
            .collect();
            bad_type.or_else(|| (!missing.is_empty()).then(|| format!(
                "no {} (Velero's error: \"invalid InitContainer in restore hook, it doesn't have Command, Name or Image field\")",
                missing.join(", no ")
            )))
        }
        other => Some(format!(
            "json: cannot unmarshal {} into Go value of type v1.Container",
            value_kind(other)
        )),
    };
    if let Some(problem) = problem {
        out.push(at(&INIT_CONTAINER_INVALID, path.to_owned(), problem,
            "the restore controller refuses the restore: it ends FailedValidation and nothing is restored",
            "give the init container a name, an image and a command (the annotation form may omit the command; the spec form may not)"));
        return;
    }
    // The container runs `command` followed by `args`: a shell's `-c` needs one of them after it.
    let strings = |key: &str| -> Vec<String> {
        container
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut argv = strings("command");
    argv.extend(strings("args"));
    if shell_without_script(&argv) {
        let subject = Subject::Spec(format!("{path}.command"));
        out.push(shell_without_script_finding(&subject, &argv));
    }
}

fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Velero 1.18.0 and main expand a Restore's namespace patterns against the namespaces in
/// the backup, into a plain `IncludesExcludes` (`expandNamespaceWildcards`,
/// `pkg/restore/restore.go`), where an empty include list means every namespace
/// (`ShouldInclude`, `pkg/util/collections/includes_excludes.go`).
fn check_restore_namespace_expansion(
    spec: &RestoreSpec,
    version: VeleroVersion,
    out: &mut Vec<Finding>,
) {
    let (included, excluded) = (&spec.included_namespaces, &spec.excluded_namespaces);
    if !restore_expands_namespace_patterns(version)
        || !crate::spec::scope::expands_wildcards(included, excluded, version)
    {
        return;
    }
    if let Some(i) = included.iter().position(|p| is_wildcard(p)) {
        out.push(at(&RESTORE_NAMESPACE_PATTERN_MAY_TAKE_ALL, format!("spec.includedNamespaces[{i}]"),
            format!("Velero {version} expands `{}` against the backup's namespaces: if the backup holds none that it matches, the include list ends empty, and an empty include list means every namespace", abbreviate(&included[i])),
            format!("the restore then takes in every namespace of the backup and runs the hooks of every pod in it (Velero 1.18.1 and 1.18.2 match the patterns instead, PR #{})", RESTORE_PATTERNS_NOT_EXPANDED.pr),
            "name the namespaces, or make sure the backup holds one that each pattern matches (`velero backup describe --details`)"));
    }
}

/// The BackupStorageLocation a backup writes to, found and checked as the backup controller
/// does (`prepareBackupRequest`, `pkg/controller/backup_controller.go`): the one `spec.storageLocation`
/// names, else the one marked `default`, else the server's `--default-backup-storage-location`
/// (`default`). `locations` are the BackupStorageLocations of Velero's namespace; `base` is
/// `spec` or `spec.template`.
pub fn check_storage_location(
    named: Option<&str>,
    locations: &[Value],
    base: &str,
    version: VeleroVersion,
) -> Option<Finding> {
    let text = |l: &Value, pointer: &str| {
        l.pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let name = match named.filter(|n| !n.is_empty()) {
        Some(name) => name.to_owned(),
        None => locations
            .iter()
            .find(|l| l.pointer("/spec/default").and_then(Value::as_bool) == Some(true))
            .and_then(|l| text(l, "/metadata/name"))
            .unwrap_or_else(|| "default".to_owned()),
    };
    let path = format!("{base}.storageLocation");
    let refuse = |problem: String, velero_error: String, fix: &str| {
        Some(at(
            &BACKUP_STORAGE_LOCATION_UNUSABLE,
            path.clone(),
            problem,
            format!("the backup ends FailedValidation (`{velero_error}`) and no hook runs"),
            fix,
        ))
    };
    let Some(location) = locations
        .iter()
        .find(|l| text(l, "/metadata/name").as_deref() == Some(name.as_str()))
    else {
        let known: Vec<String> = locations
            .iter()
            .filter_map(|l| text(l, "/metadata/name"))
            .collect();
        let listed = if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        };
        let (problem, velero_error) = if named.is_some_and(|n| !n.is_empty()) {
            (
                format!(
                    "no BackupStorageLocation `{name}` in Velero's namespace (there: {listed})"
                ),
                format!(
                    "an existing backup storage location was not specified at backup creation time and the default {name} was not found. ..."
                ),
            )
        } else {
            (
                format!(
                    "no storage location is named and none is marked default, so Velero uses the server default `{name}`, which does not exist (there: {listed})"
                ),
                format!(
                    "an existing backup storage location was not specified at backup creation time and the server default {name} does not exist. ..."
                ),
            )
        };
        return refuse(
            problem,
            velero_error,
            "name an existing location (--storage-location, spec.storageLocation), or create it (`velero backup-location create`)",
        );
    };
    if text(location, "/spec/accessMode").as_deref() == Some("ReadOnly") {
        return refuse(
            format!("BackupStorageLocation `{name}` is read-only"),
            format!(
                "backup can't be created because backup storage location {name} is currently in read-only mode"
            ),
            "name a ReadWrite location, or set accessMode: ReadWrite on this one",
        );
    }
    let phase = text(location, "/status/phase").unwrap_or_default();
    if version.has(&STORAGE_LOCATION_AVAILABILITY_CHECKED) && phase != "Available" {
        let shown = if phase.is_empty() {
            "no phase yet"
        } else {
            phase.as_str()
        };
        return refuse(
            format!(
                "BackupStorageLocation `{name}` is not Available ({shown}); {} do not check this",
                STORAGE_LOCATION_AVAILABILITY_CHECKED.before()
            ),
            format!(
                "backup can't be created because BackupStorageLocation {name} is in Unavailable status."
            ),
            "fix the location's credentials or bucket until `velero backup-location get` shows it Available",
        );
    }
    None
}
