//! The rules about Velero objects (HV1xx): what the CRD schema refuses at `kubectl apply`,
//! what the backup and restore controllers refuse (`FailedValidation`), and hook values
//! checked by the same per-fact checks as annotations (`crate::checks`). Each rule is
//! listed in `crate::rules::RULES`.

use std::collections::BTreeMap;

use crate::checks::{
    OnErrorOf, Source, abbreviate, check_argv, check_on_error, check_spec_duration_value,
    check_wait_for_ready_supported, check_wait_timeout_unset,
};
use crate::rules::{Finding, Rule, Severity, Subject};
use crate::version::{RESTORE_HOOK_INDEX_FIXED, VeleroVersion, has_restore_hook_index_bug};

use super::glob::{Glob, first_invalid};
use super::plan::restore_tracker::{Tracked, unrecorded};
use super::scope::{resources_include_pods, scoped_resources_include_pods};
use super::types::{
    BackupResourceHookSpec, BackupSpec, ExecHook, RestoreResourceHookSpec, RestoreSpec,
};

mod controller;
pub use controller::{check_backup_controller, check_restore_controller, check_storage_location};

const fn rule(
    code: &'static str,
    name: &'static str,
    severity: Severity,
    summary: &'static str,
) -> Rule {
    Rule {
        code,
        name,
        severity,
        summary,
    }
}
use Severity::{Error, Warning};

pub const SPEC_UNDECODABLE: Rule = rule(
    "HV100",
    "spec-hooks-undecodable",
    Error,
    "the spec does not have the shape of Velero's types",
);
pub const SPEC_NAME_EMPTY: Rule = rule(
    "HV101",
    "spec-hook-name-empty",
    Error,
    "a resource hook has no name",
);
pub const SPEC_WITHOUT_EXEC: Rule = rule(
    "HV102",
    "spec-hook-without-exec",
    Error,
    "a backup hook item has no exec: the API server rejects it",
);
pub const SPEC_COMMAND_EMPTY: Rule = rule(
    "HV103",
    "spec-command-empty",
    Error,
    "a spec hook command is empty: the API server rejects it",
);
pub const SPEC_COMMAND_ONE_STRING: Rule = rule(
    "HV104",
    "spec-command-shell-line",
    Error,
    "a spec hook command is one element with whitespace, run as one program name",
);
pub const SPEC_ON_ERROR_INVALID: Rule = rule(
    "HV105",
    "spec-on-error-invalid",
    Error,
    "a spec hook onError is not Continue or Fail: the API server rejects it",
);
pub const SPEC_ON_ERROR_UNSET: Rule = rule(
    "HV106",
    "spec-on-error-unset",
    Warning,
    "a spec hook onError is unset, which behaves like Continue",
);
pub const SPEC_TIMEOUT_INVALID: Rule = rule(
    "HV107",
    "spec-timeout-invalid",
    Error,
    "a spec hook duration is not a Go duration string",
);
pub const SPEC_TIMEOUT_NEGATIVE: Rule = rule(
    "HV108",
    "spec-timeout-negative",
    Error,
    "a spec hook timeout is negative",
);
pub const SPEC_SELECTOR_INVALID: Rule = rule(
    "HV109",
    "spec-label-selector-invalid",
    Error,
    "a hook labelSelector is invalid: the backup fails, the restore fails validation",
);
pub const SPEC_PATTERN_INVALID: Rule = rule(
    "HV110",
    "spec-pattern-invalid",
    Error,
    "a pattern in a hook's namespace or resource list does not compile: the list matches nothing from it on",
);
pub const SPEC_PATTERN_MAY_PANIC: Rule = rule(
    "HV111",
    "spec-pattern-empty-alternation",
    Error,
    "a pattern has an empty alternation, which Velero's glob library can crash on",
);
/// gobwas/glob (`github.com/gobwas/glob` v0.2.3) negates a class with `!` only: `[^a]`
/// matches `^` or `a` (tests/fixtures/glob, made with that library).
pub const SPEC_PATTERN_CARET_CLASS: Rule = rule(
    "HV126",
    "spec-pattern-caret-class",
    Warning,
    "`[^...]` in a pattern is not a negation in Velero's glob syntax: it matches `^` too",
);
pub const RESTORE_HOOK_RESOURCES_IGNORED: Rule = rule(
    "HV112",
    "restore-hook-resources-ignored",
    Warning,
    "a restore hook's resource lists are ignored: restore hooks always apply to pods",
);
pub const RESTORE_HOOK_EMPTY: Rule = rule(
    "HV113",
    "restore-hook-item-empty",
    Warning,
    "a restore hook item has neither exec nor init and does nothing",
);
pub const INIT_CONTAINER_INVALID: Rule = rule(
    "HV114",
    "restore-init-container-invalid",
    Error,
    "a restore init container lacks a name, image or command: the restore fails validation",
);
pub const INIT_TIMEOUT_UNUSED: Rule = rule(
    "HV115",
    "restore-init-timeout-unused",
    Warning,
    "a restore init hook timeout is never read",
);
/// Restore hooks are matched against the namespace a pod is restored into: init hooks map it
/// through `namespaceMapping` (`GetRestoreHooksFromSpec` callers in
/// `internal/hook/item_hook_handler.go`), exec hooks are grouped on the created pod
/// (`pkg/restore/restore.go`, `hooksWaitExecutor.groupHooks`).
pub const RESTORE_HOOK_NAMESPACE_MAPPED_AWAY: Rule = rule(
    "HV117",
    "restore-hook-namespace-mapped-away",
    Error,
    "a restore hook names a namespace the restore maps to another: no restored pod is in it",
);
/// Hooks run only on the pods a backup backs up (`backupItemBlock` in `pkg/backup/backup.go`
/// runs them for the pods of each item block) or a restore restores (`pkg/restore/restore.go`
/// groups them on each created pod).
pub const HOOKS_ON_NO_PODS: Rule = rule(
    "HV118",
    "hooks-but-pods-filtered-out",
    Error,
    "the object has hooks but its resource filters leave pods out: no hook ever runs",
);
/// A resource hook entry with no hook in it: `handleResourceHooks` in
/// `internal/hook/item_hook_handler.go` loops over its empty `pre`/`post` (a Restore's
/// `postHooks`) and runs nothing.
pub const HOOK_ENTRY_EMPTY: Rule = rule(
    "HV119",
    "hook-entry-empty",
    Warning,
    "a resource hook entry selects pods but has no hook to run in them",
);
/// See [`crate::spec::fields`]: what the CRD declares, release by release.
pub const SPEC_FIELD_UNKNOWN: Rule = rule(
    "HV116",
    "spec-field-unknown",
    Error,
    "a field the CRD does not declare: the API server drops it (or kubectl refuses the object) and Velero never sees it",
);
pub const POD_FINISHED: Rule = rule(
    "HV120",
    "pod-finished",
    Warning,
    "pod is Succeeded or Failed: Velero skips its hooks",
);
pub const POD_NOT_RUNNING: Rule = rule(
    "HV121",
    "pod-not-running",
    Warning,
    "pod is not Running: the hook exec will fail",
);
pub const SPEC_CONTAINER_NOT_FOUND: Rule = rule(
    "HV122",
    "spec-container-not-found",
    Warning,
    "spec hook names a container the pod does not have",
);
pub const PRE_HOOK_FAIL: Rule = rule(
    "HV123",
    "pre-hook-fail-drops-pod",
    Warning,
    "a failing pre hook with Fail leaves the pod out but its volumes are still snapshotted",
);
pub const POST_HOOK_FAIL: Rule = rule(
    "HV125",
    "post-hook-fail-drops-pod",
    Warning,
    "on Velero 1.12-1.14 a failing post hook with Fail leaves the pod out of the backup",
);
pub const RESTORE_HOOK_NEVER_RECORDED: Rule = rule(
    "HV124",
    "restore-hook-never-recorded",
    Error,
    "Velero 1.16.2-1.17.2 never records this restore exec hook as run: the restore stays in Finalizing",
);
pub const BACKUP_NAMESPACE_LISTS: Rule = rule(
    "HV130",
    "backup-namespace-lists-invalid",
    Error,
    "a namespace is both included and excluded, or `*` is misused: the backup fails validation",
);
pub const BACKUP_RESOURCE_LISTS: Rule = rule(
    "HV131",
    "backup-resource-lists-invalid",
    Error,
    "the backup's resource lists are invalid (`*` excluded, an item in both, old and new filters mixed): the backup fails validation",
);
pub const BACKUP_NAMESPACE_PATTERN_REFUSED: Rule = rule(
    "HV132",
    "backup-namespace-pattern-refused",
    Error,
    "a backup namespace pattern has characters Velero refuses: the backup fails validation",
);
pub const BACKUP_NAMESPACE_PATTERN_INVALID: Rule = rule(
    "HV133",
    "backup-namespace-pattern-invalid",
    Error,
    "a backup namespace pattern does not compile: the backup fails, or its list matches nothing from it on",
);
pub const BACKUP_BOTH_SELECTORS: Rule = rule(
    "HV134",
    "label-selector-and-or-selectors",
    Error,
    "labelSelector and orLabelSelectors are both set: the object fails validation",
);
pub const BACKUP_SELECTOR_INVALID: Rule = rule(
    "HV135",
    "backup-label-selector-invalid",
    Error,
    "the backup's own label selector is invalid: it takes in no namespaced items",
);
pub const BACKUP_INCLUDES_EXCLUDED_NAMESPACE: Rule = rule(
    "HV136",
    "backup-includes-excluded-namespace",
    Error,
    "an included namespace is labelled velero.io/exclude-from-backup=true: the backup fails validation",
);
/// `ExpandIncludesExcludes` and `ShouldInclude` in `pkg/util/collections/includes_excludes.go`
/// of Velero 1.18.0 (see [`crate::version::empty_includes_expand_to_nothing`]).
pub const BACKUP_TAKES_IN_NO_NAMESPACE: Rule = rule(
    "HV137",
    "backup-takes-in-no-namespace",
    Error,
    "on Velero 1.18.0 an empty includedNamespaces with a wildcard in excludedNamespaces backs up no namespace",
);
/// `collectNamespaces` in `pkg/backup/item_collector.go` of Velero 1.14.1-1.17.2 (see
/// [`crate::version::MISSING_INCLUDED_NAMESPACE_LOGGED`]).
pub const BACKUP_NAMESPACE_PATTERN_LOOKED_UP: Rule = rule(
    "HV138",
    "backup-namespace-pattern-looked-up",
    Warning,
    "on Velero 1.14.1-1.17 a wildcard in includedNamespaces is looked up as a namespace name: every backup ends PartiallyFailed",
);
/// `collectNamespaces` in `pkg/backup/item_collector.go` (1.14.1 and later); see
/// [`crate::version::INCLUDED_NAMESPACES_LOOKED_UP`] for the releases around it.
pub const BACKUP_NAMESPACE_MISSING: Rule = rule(
    "HV139",
    "backup-namespace-missing",
    Warning,
    "an included namespace does not exist in the cluster",
);
pub const BACKUP_STORAGE_LOCATION_UNUSABLE: Rule = rule(
    "HV141",
    "backup-storage-location-unusable",
    Error,
    "the backup's storage location is missing, read-only or unavailable: the backup fails validation",
);
pub const RESTORE_NAMESPACE_PATTERN_MAY_TAKE_ALL: Rule = rule(
    "HV142",
    "restore-namespace-pattern-may-take-all",
    Warning,
    "a Restore's namespace pattern that matches none of the backup's namespaces makes the restore take in every namespace",
);
pub const RESTORE_VALIDATION: Rule = rule(
    "HV140",
    "restore-spec-invalid",
    Error,
    "the restore's own fields are invalid: the restore fails validation",
);

pub(crate) fn at(
    rule: &Rule,
    path: String,
    problem: impl Into<String>,
    velero_does: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding::about(rule, Subject::Spec(path), problem, velero_does, fix)
}

/// A resource hook's `name`: the CRD requires it; `""` passes the API server but every
/// exec fails with `hookName is required` (`pkg/podexec/pod_command_executor.go`).
fn check_name(name: Option<&str>, base: &str, out: &mut Vec<Finding>) {
    let path = format!("{base}.name");
    match name {
        None => out.push(at(
            &SPEC_NAME_EMPTY,
            path.clone(),
            "the hook entry has no name",
            format!("the API server rejects the object: `{path}: Required value`"),
            "give the entry a name, e.g. `name: fsfreeze`",
        )),
        Some("") => out.push(at(
            &SPEC_NAME_EMPTY,
            path,
            "the hook entry's name is empty",
            "every exec hook of this entry fails with `hookName is required`",
            "give the entry a name, e.g. `name: fsfreeze`",
        )),
        Some(_) => {}
    }
}

/// A hook's `labelSelector`, which Velero converts with `metav1.LabelSelectorAsSelector`:
/// the backup fails (`pkg/backup/backup.go` `getResourceHook`, logged at debug level only),
/// the restore fails validation (`pkg/controller/restore_controller.go`).
fn check_hook_selector(
    selector: Option<&super::selector::LabelSelector>,
    base: &str,
    restore: bool,
    out: &mut Vec<Finding>,
) {
    if let Some(Err(reason)) = selector.map(|s| s.validate()) {
        out.push(at(&SPEC_SELECTOR_INVALID, format!("{base}.labelSelector"), reason,
            if restore { "the restore ends FailedValidation" } else { "building the hook selectors fails and the whole backup ends Failed (the cause is only logged at debug level)" },
            "use a valid label key/value and one of In, NotIn (with values), Exists, DoesNotExist (without)"));
    }
}

/// Patterns of a hook's list (`globStringSet.match`, `includes_excludes.go`): walked in
/// sorted order, the first that does not compile answers "no match" for the whole list.
pub(crate) fn check_hook_list(list: &[String], path: &str, excluded: bool, out: &mut Vec<Finding>) {
    if let Some((error, hidden)) = first_invalid(list) {
        let index = list.iter().position(|p| *p == error.pattern).unwrap_or(0);
        let effect = if excluded {
            "excludes nothing"
        } else {
            "includes nothing"
        };
        let hidden = if hidden.is_empty() {
            String::new()
        } else {
            format!(" (so {} are never looked at)", hidden.join(", "))
        };
        out.push(at(&SPEC_PATTERN_INVALID, format!("{path}[{index}]"), format!("`{}` is not a valid pattern: {}", abbreviate(&error.pattern), error.reason),
            format!("Velero walks the list in sorted order and answers \"no match\" at this pattern: the list {effect} from it on{hidden}"),
            "fix the pattern (gobwas/glob syntax: `*`, `?`, `[abc]`, `[a-z]`, `[!a]`, `{a,b}`) or write the name"));
    }
    for (i, pattern) in list.iter().enumerate() {
        check_caret_class(pattern, &format!("{path}[{i}]"), out);
        if Glob::compile(pattern).is_ok_and(|g| g.may_panic_in_gobwas()) {
            out.push(at(&SPEC_PATTERN_MAY_PANIC, format!("{path}[{i}]"), format!("`{}` has an empty alternation (`{{}}` or an unclosed `{{`)", abbreviate(pattern)),
                "Velero's glob library (gobwas/glob v0.2.3) can panic (index out of range) or answer at random when it matches names against it",
                "remove the empty braces"));
        }
    }
}

/// HV126: a class written `[^...]`, the negation of shells and regular expressions, which
/// gobwas/glob reads as a class that holds `^`.
pub(crate) fn check_caret_class(pattern: &str, path: &str, out: &mut Vec<Finding>) {
    if !pattern.contains("[^") || Glob::compile(pattern).is_err() {
        return;
    }
    let meant = pattern.replace("[^", "[!");
    out.push(at(
        &SPEC_PATTERN_CARET_CLASS,
        path.to_owned(),
        format!(
            "`{}` has a class starting with `^`: in Velero's glob syntax (gobwas/glob) only `!` negates a class",
            abbreviate(pattern)
        ),
        "the class matches `^` and the characters listed, not every other character: names meant to be matched are not, and the list does not do what it says",
        format!("write `{}` for \"any character but\"", abbreviate(&meant)),
    ));
}

fn check_lists(lists: [(&str, &[String], bool); 4], base: &str, out: &mut Vec<Finding>) {
    for (field, list, excluded) in lists {
        check_hook_list(list, &format!("{base}.{field}"), excluded, out);
    }
}

/// The hooks of a Backup's spec (or a Schedule's `spec.template`): `base` is `spec` or
/// `spec.template`.
pub fn check_backup_hooks(spec: &BackupSpec, base: &str, version: VeleroVersion) -> Vec<Finding> {
    let mut out = Vec::new();
    // The filters `scope::backup_takes_in_pods` reads, whichever the spec uses.
    let leaves_pods_out = if spec.uses_old_resource_filters() {
        filter_leaving_pods_out(
            resources_include_pods,
            ("includedResources", &spec.included_resources),
            ("excludedResources", &spec.excluded_resources),
        )
    } else {
        filter_leaving_pods_out(
            scoped_resources_include_pods,
            (
                "includedNamespaceScopedResources",
                &spec.included_namespace_scoped_resources,
            ),
            (
                "excludedNamespaceScopedResources",
                &spec.excluded_namespace_scoped_resources,
            ),
        )
    };
    if let Some(field) = leaves_pods_out.filter(|_| !spec.hooks.resources.is_empty()) {
        hooks_on_no_pods(base, field, "backup", &mut out);
    }
    for (r, hook) in spec.hooks.resources.iter().enumerate() {
        let at_r = format!("{base}.hooks.resources[{r}]");
        check_backup_resource_hook(hook, &at_r, version, &mut out);
    }
    if spec.default_volumes_to_fs_backup == Some(true)
        && let Some(r) = spec.hooks.resources.iter().position(|h| !h.post.is_empty())
    {
        crate::checks::check_post_hooks_with_default_fs_backup(
            &Subject::Spec(format!("{base}.hooks.resources[{r}].post[0].exec.command")),
            version,
            &mut out,
        );
    }
    out
}

fn check_backup_resource_hook(
    hook: &BackupResourceHookSpec,
    base: &str,
    version: VeleroVersion,
    out: &mut Vec<Finding>,
) {
    check_name(hook.name.as_deref(), base, out);
    check_hook_selector(hook.label_selector.as_ref(), base, false, out);
    if hook.pre.is_empty() && hook.post.is_empty() {
        hook_entry_empty(base, "`pre` or `post`", out);
    }
    check_lists(
        [
            ("includedNamespaces", &hook.included_namespaces, false),
            ("excludedNamespaces", &hook.excluded_namespaces, true),
            ("includedResources", &hook.included_resources, false),
            ("excludedResources", &hook.excluded_resources, true),
        ],
        base,
        out,
    );
    for (phase, items) in [("pre", &hook.pre), ("post", &hook.post)] {
        for (i, item) in items.iter().enumerate() {
            let path = format!("{base}.{phase}[{i}]");
            match &item.exec {
                // CRD: `exec` is required in `pre[]`/`post[]` items.
                None => out.push(at(
                    &SPEC_WITHOUT_EXEC,
                    format!("{path}.exec"),
                    "the item has no `exec`",
                    format!("the API server rejects the object: `{path}.exec: Required value`"),
                    "write the hook as `exec: {container: ..., command: [...]}`",
                )),
                Some(exec) => {
                    let of = match phase {
                        "pre" => OnErrorOf::BackupPre,
                        _ => OnErrorOf::BackupPost(version),
                    };
                    check_exec(exec, &format!("{path}.exec"), of, version, out)
                }
            }
        }
    }
}

fn check_exec(
    exec: &ExecHook,
    path: &str,
    of: OnErrorOf,
    version: VeleroVersion,
    out: &mut Vec<Finding>,
) {
    check_argv(
        &Subject::Spec(format!("{path}.command")),
        &exec.command,
        Source::Spec,
        out,
    );
    check_on_error(
        &Subject::Spec(format!("{path}.onError")),
        exec.on_error.as_deref(),
        Source::Spec,
        of,
        out,
    );
    if let Some(timeout) = &exec.timeout {
        check_spec_duration_value(
            &Subject::Spec(format!("{path}.timeout")),
            timeout,
            version,
            false,
            out,
        );
    }
}

/// The hooks of a Restore's spec.
pub fn check_restore_hooks(spec: &RestoreSpec, version: VeleroVersion) -> Vec<Finding> {
    let mut out = Vec::new();
    let leaves_pods_out = filter_leaving_pods_out(
        resources_include_pods,
        ("includedResources", &spec.included_resources),
        ("excludedResources", &spec.excluded_resources),
    );
    if let Some(field) = leaves_pods_out.filter(|_| !spec.hooks.resources.is_empty()) {
        hooks_on_no_pods("spec", field, "restore", &mut out);
    }
    for (r, hook) in spec.hooks.resources.iter().enumerate() {
        let base = format!("spec.hooks.resources[{r}]");
        check_restore_resource_hook(hook, &base, version, &mut out);
        check_mapped_namespaces(hook, &spec.namespace_mapping, &base, &mut out);
    }
    check_hooks_never_recorded(spec, version, &mut out);
    out
}

/// HV124 without pods, where it is certain: on Velero 1.16.2-1.17.2 the tracker counts a
/// spec exec hook under its `postHooks` index and records it, once run, under its position
/// among the same container's hooks of the entry (`restore_tracker` in the planner has the
/// details). When one entry alone has exec hooks, and they all name their container (or
/// none does), every pod that runs them runs exactly these, so an index that no position of
/// its container reaches is never recorded. With several entries the positions depend on
/// which entries a pod matches: the plan, given pods, says.
fn check_hooks_never_recorded(spec: &RestoreSpec, version: VeleroVersion, out: &mut Vec<Finding>) {
    if !has_restore_hook_index_bug(version) {
        return;
    }
    let mut with_exec = spec
        .hooks
        .resources
        .iter()
        .enumerate()
        .filter(|(_, h)| h.post_hooks.iter().any(|item| item.exec.is_some()));
    let (Some((r, hook)), None) = (with_exec.next(), with_exec.next()) else {
        return;
    };
    let execs: Vec<(usize, &str)> = hook
        .post_hooks
        .iter()
        .enumerate()
        .filter_map(|(i, item)| item.exec.as_ref().map(|e| (i, e.container.as_str())))
        .collect();
    let named = execs.iter().filter(|(_, c)| !c.is_empty()).count();
    if named != 0 && named != execs.len() {
        return;
    }
    let name = hook.name.as_deref().unwrap_or_default();
    let tracked: Vec<Tracked<'_>> = execs
        .iter()
        .map(|&(index, container)| (Some(container), Some((name, index))))
        .collect();
    for (&(index, container), position) in execs.iter().zip(unrecorded(&tracked)) {
        let Some(position) = position else {
            continue;
        };
        let on = if container.is_empty() {
            "the pod's first container".to_owned()
        } else {
            format!("container `{container}`")
        };
        out.push(at(
            &RESTORE_HOOK_NEVER_RECORDED,
            format!("spec.hooks.resources[{r}].postHooks[{index}].exec"),
            format!("Velero {version} counts this exec hook under its postHooks index {index}, but records it under its position {position} among the exec hooks of {on}: it is never marked as run"),
            crate::outcome::restore_hook_never_finishes(version),
            format!(
                "upgrade to {}, or give each container's exec hooks a resources[] entry of their own, first in its postHooks, with init hooks in another entry",
                RESTORE_HOOK_INDEX_FIXED.since()
            ),
        ));
    }
}

fn hook_entry_empty(base: &str, lists: &str, out: &mut Vec<Finding>) {
    out.push(at(
        &HOOK_ENTRY_EMPTY,
        base.to_owned(),
        format!("the entry has no {lists} hook"),
        "Velero selects the pods and runs nothing in them",
        format!("add the hooks under {lists} (with `exec:`), or remove the entry"),
    ));
}

/// Which list of a resource filter leaves pods out, if the filter does: the exclusions when
/// the inclusions alone would take pods in, else the inclusions.
fn filter_leaving_pods_out(
    takes_in_pods: fn(&[String], &[String]) -> bool,
    (included_field, included): (&'static str, &[String]),
    (excluded_field, excluded): (&'static str, &[String]),
) -> Option<&'static str> {
    if takes_in_pods(included, excluded) {
        None
    } else if takes_in_pods(included, &[]) {
        Some(excluded_field)
    } else {
        Some(included_field)
    }
}

fn hooks_on_no_pods(base: &str, field: &str, what: &str, out: &mut Vec<Finding>) {
    out.push(at(
        &HOOKS_ON_NO_PODS,
        format!("{base}.{field}"),
        format!("the {what} has hooks, but `{field}` leaves pods out"),
        format!("Velero runs hooks only in the pods the {what} takes in: none of its hooks ever runs"),
        "take pods in (add `pods` to the inclusions, or remove it from the exclusions), or remove the hooks",
    ));
}

/// A plain namespace name in a restore hook's lists that the restore maps to another name,
/// while no namespace is mapped onto it: no restored pod is in it.
fn check_mapped_namespaces(
    hook: &RestoreResourceHookSpec,
    mapping: &BTreeMap<String, String>,
    base: &str,
    out: &mut Vec<Finding>,
) {
    let targets: Vec<&String> = mapping.values().collect();
    for (field, list, included) in [
        ("includedNamespaces", &hook.included_namespaces, true),
        ("excludedNamespaces", &hook.excluded_namespaces, false),
    ] {
        for (i, name) in list.iter().enumerate() {
            let Some(target) = mapping.get(name) else {
                continue;
            };
            if name.contains(['*', '?', '[', '{'])
                || targets.contains(&name)
                || list.contains(target)
            {
                continue;
            }
            let velero_does = if included {
                format!(
                    "Velero matches restore hooks against the namespace a pod is restored into, so no pod matches `{name}`: the hook does not run on the pods restored from it into `{target}`"
                )
            } else {
                format!(
                    "Velero matches restore hooks against the namespace a pod is restored into, so excluding `{name}` excludes nothing: the hook runs on the pods restored from it into `{target}`"
                )
            };
            out.push(at(
                &RESTORE_HOOK_NAMESPACE_MAPPED_AWAY,
                format!("{base}.{field}[{i}]"),
                format!("`{name}` is restored as `{target}` (spec.namespaceMapping)"),
                velero_does,
                format!("write `{target}`, the namespace the pods are restored into"),
            ));
        }
    }
}

fn check_restore_resource_hook(
    hook: &RestoreResourceHookSpec,
    base: &str,
    version: VeleroVersion,
    out: &mut Vec<Finding>,
) {
    check_name(hook.name.as_deref(), base, out);
    check_hook_selector(hook.label_selector.as_ref(), base, true, out);
    if hook.post_hooks.is_empty() {
        hook_entry_empty(base, "`postHooks`", out);
    }
    check_lists(
        [
            ("includedNamespaces", &hook.included_namespaces, false),
            ("excludedNamespaces", &hook.excluded_namespaces, true),
            ("includedResources", &[], false),
            ("excludedResources", &[], true),
        ],
        base,
        out,
    );
    // Only lists whose effect would differ from Velero's "pods only" are worth a word: an
    // included list of just pods says what Velero does anyway, and excluding other kinds
    // changes nothing a restore hook could reach.
    let means_pods = |r: &String| matches!(r.as_str(), "pods" | "pod" | "po" | "*");
    for (field, list, misleading) in [
        (
            "includedResources",
            &hook.included_resources,
            !hook.included_resources.iter().all(means_pods),
        ),
        (
            "excludedResources",
            &hook.excluded_resources,
            hook.excluded_resources.iter().any(means_pods),
        ),
    ] {
        if !list.is_empty() && misleading {
            // internal/hook/item_hook_handler.go GetRestoreHooksFromSpec: Resources = [pods].
            out.push(at(&RESTORE_HOOK_RESOURCES_IGNORED, format!("{base}.{field}"), "restore hooks take no resource filter",
                "Velero ignores the list: restore hooks apply to every pod the namespaces and labelSelector select", "remove the list"));
        }
    }
    for (i, item) in hook.post_hooks.iter().enumerate() {
        let path = format!("{base}.postHooks[{i}]");
        if item.exec.is_none() && item.init.is_none() {
            out.push(at(
                &RESTORE_HOOK_EMPTY,
                path.clone(),
                "the item has neither `exec` nor `init`",
                "Velero does nothing for it",
                "add an exec or init hook, or remove the item",
            ));
        }
        if let Some(exec) = &item.exec {
            let path = format!("{path}.exec");
            check_argv(
                &Subject::Spec(format!("{path}.command")),
                &exec.command,
                Source::Spec,
                out,
            );
            check_on_error(
                &Subject::Spec(format!("{path}.onError")),
                exec.on_error.as_deref(),
                Source::Spec,
                OnErrorOf::Restore,
                out,
            );
            if let Some(timeout) = &exec.exec_timeout {
                check_spec_duration_value(
                    &Subject::Spec(format!("{path}.execTimeout")),
                    timeout,
                    version,
                    false,
                    out,
                );
            }
            let wait_subject = Subject::Spec(format!("{path}.waitTimeout"));
            match &exec.wait_timeout {
                Some(timeout) if !timeout.is_null() => {
                    check_spec_duration_value(&wait_subject, timeout, version, true, out)
                }
                // Absent: a zero metav1.Duration, so the same unlimited wait as an annotation.
                _ => check_wait_timeout_unset(&wait_subject, version, out),
            }
            check_wait_for_ready_supported(
                &Subject::Spec(format!("{path}.waitForReady")),
                exec.wait_for_ready == Some(true),
                Source::Spec,
                version,
                out,
            );
        }
        if let Some(init) = &item.init {
            let path = format!("{path}.init");
            if init.timeout.is_some() {
                out.push(at(
                    &INIT_TIMEOUT_UNUSED,
                    format!("{path}.timeout"),
                    "Velero declares this field but never reads it",
                    "the value has no effect; init containers run until they exit",
                    "remove it",
                ));
            }
            for (c, container) in init.init_containers.iter().enumerate() {
                controller::check_init_container(
                    container,
                    &format!("{path}.initContainers[{c}]"),
                    out,
                );
            }
        }
    }
}
