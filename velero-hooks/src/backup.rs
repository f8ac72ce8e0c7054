//! A Backup's view of hooks: which pods it takes in, which hooks Velero runs on each pod
//! and phase (annotation hooks against the Backup's own `spec.hooks`), what is wrong with
//! those spec hooks, and what will go wrong when they run.
//!
//! Velero's rules, as its backup code applies them:
//! - a pod is in a backup when its namespace is included (globs; an exclusion wins),
//!   `pods` is among the included resources (all when none are listed) and not excluded,
//!   and the backup's label selector (if any) matches the pod's labels;
//! - a spec hook entry applies to a pod by the same three tests, with its own lists;
//! - per pod and phase, an annotation hook (for pre: the `pre.` command, else the legacy
//!   one) is the only hook run and every matching spec hook is skipped; without one, every
//!   matching spec hook runs, in order of `spec.hooks.resources[]`, then of `pre`/`post`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::duration::parse_go_duration;
use crate::hook::{
    BackupHook, BackupPhase, HookSource, Limit, OnError, VeleroVersion, effective_exec_timeout,
    parse_hooks,
};
use crate::pod::PodView;
use crate::rules::{Finding, Rule, Severity};

fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

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

/// A glob as Velero's include/exclude lists read them: `*` any run, `?` one character,
/// `[abc]`/`[a-z]`/`[!a]` one character of a class. `None` when the pattern does not compile.
pub fn glob_match(pattern: &str, text: &str) -> Option<bool> {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Check that every class is closed before matching.
    let mut i = 0;
    while i < p.len() {
        if p[i] == '[' {
            let close = p[i + 1..].iter().position(|c| *c == ']')?;
            i += close + 1;
        }
        i += 1;
    }
    Some(glob_at(&p, &t))
}

fn glob_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|skip| glob_at(&p[1..], &t[skip..])),
        Some('?') => !t.is_empty() && glob_at(&p[1..], &t[1..]),
        Some('[') => {
            let Some(close) = p[1..].iter().position(|c| *c == ']') else {
                return false;
            };
            let class = &p[1..1 + close];
            let Some(c) = t.first() else { return false };
            let (negated, class) = match class.first() {
                Some('!') | Some('^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut k = 0;
            while k < class.len() {
                if k + 2 < class.len() && class[k + 1] == '-' {
                    hit |= class[k] <= *c && *c <= class[k + 2];
                    k += 3;
                } else {
                    hit |= class[k] == *c;
                    k += 1;
                }
            }
            hit != negated && glob_at(&p[close + 2..], &t[1..])
        }
        Some(c) => t.first() == Some(c) && glob_at(&p[1..], &t[1..]),
    }
}

/// Velero's `IncludesExcludes.ShouldInclude` for namespaces: an exclusion wins; no
/// inclusions (or `*`) include everything. A pattern that does not compile matches nothing.
pub fn namespace_included(included: &[String], excluded: &[String], namespace: &str) -> bool {
    let matches = |p: &String| glob_match(p, namespace).unwrap_or(false);
    if excluded.iter().any(matches) {
        return false;
    }
    included.is_empty() || included.iter().any(|p| p == "*" || matches(p))
}

/// Whether a resource name from an include/exclude list resolves to core `pods` (as API
/// discovery resolves it: plural, singular, short name, `pods.` with the empty group).
pub fn names_pods(resource: &str) -> bool {
    let lower = resource.to_ascii_lowercase();
    let lower = lower.strip_suffix('.').unwrap_or(&lower);
    matches!(lower, "pods" | "pod" | "po" | "*")
}

/// Whether pods are in the resource filter: not excluded (by name or `*`), and included
/// explicitly, by `*`, or because nothing is listed.
pub fn pods_included(included: &[String], excluded: &[String]) -> bool {
    if excluded.iter().any(|r| names_pods(r)) {
        return false;
    }
    included.is_empty() || included.iter().any(|r| names_pods(r))
}

/// What a Backup takes in: the scope fields of `BackupSpec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupScope {
    #[serde(deserialize_with = "nullable")]
    pub included_namespaces: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub excluded_namespaces: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub included_resources: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub excluded_resources: Vec<String>,
    pub label_selector: Option<LabelSelector>,
}

impl BackupScope {
    pub fn includes_pods(&self) -> bool {
        pods_included(&self.included_resources, &self.excluded_resources)
    }

    pub fn includes_namespace(&self, namespace: &str) -> bool {
        namespace_included(
            &self.included_namespaces,
            &self.excluded_namespaces,
            namespace,
        )
    }

    /// Whether Velero backs up a pod in `namespace` with `labels`.
    pub fn includes_pod(&self, namespace: &str, labels: &BTreeMap<String, String>) -> bool {
        self.includes_pods()
            && self.includes_namespace(namespace)
            && self
                .label_selector
                .as_ref()
                .is_none_or(|s| s.matches(labels))
    }
}

/// One `spec.hooks.resources[]` entry (`BackupResourceHookSpec`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceHookSpec {
    pub name: String,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub included_namespaces: Vec<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub excluded_namespaces: Vec<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub included_resources: Vec<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub excluded_resources: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub pre: Vec<SpecHookEntry>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub post: Vec<SpecHookEntry>,
}

impl ResourceHookSpec {
    /// Whether this entry applies to a pod (its label selector must be valid).
    pub fn applies_to(&self, namespace: &str, labels: &BTreeMap<String, String>) -> bool {
        namespace_included(
            &self.included_namespaces,
            &self.excluded_namespaces,
            namespace,
        ) && pods_included(&self.included_resources, &self.excluded_resources)
            && self
                .label_selector
                .as_ref()
                .is_none_or(|s| s.validate().is_ok() && s.matches(labels))
    }

    pub fn hooks(&self, phase: BackupPhase) -> &[SpecHookEntry] {
        match phase {
            BackupPhase::Pre => &self.pre,
            BackupPhase::Post => &self.post,
        }
    }
}

/// One `pre[]`/`post[]` item: `{exec: ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SpecHookEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<SpecExecHook>,
}

/// `ExecHook`. The timeout is kept as written (any JSON) so that a wrong type is a
/// finding, not a decode failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SpecExecHook {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub container: String,
    #[serde(deserialize_with = "nullable")]
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Value>,
}

impl SpecExecHook {
    fn timeout_nanos(&self) -> i64 {
        match &self.timeout {
            Some(Value::String(text)) if !text.is_empty() => parse_go_duration(text).unwrap_or(0),
            _ => 0,
        }
    }
}

/// Where a planned hook comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum HookOrigin {
    /// `pre.`/`post.` annotations.
    Annotation,
    /// The un-prefixed legacy annotations.
    LegacyAnnotation,
    /// `spec.hooks.resources[resource]`, its `pre`/`post` item `index`.
    Spec {
        name: String,
        resource: usize,
        index: usize,
    },
}

impl HookOrigin {
    /// The `hookName` Velero logs.
    pub fn hook_name(&self) -> &str {
        match self {
            HookOrigin::Spec { name, .. } => name,
            _ => "<from-annotation>",
        }
    }

    /// The `hookSource` Velero logs.
    pub fn log_source(&self) -> &'static str {
        match self {
            HookOrigin::Spec { .. } => "spec",
            _ => "annotation",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            HookOrigin::Annotation => "annotation".to_owned(),
            HookOrigin::LegacyAnnotation => "legacy annotation".to_owned(),
            HookOrigin::Spec { name, .. } => format!("spec hook {name:?}"),
        }
    }
}

/// A hook Velero will run on one pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedHook {
    pub phase: BackupPhase,
    pub origin: HookOrigin,
    /// The container named by the hook (`None`: the pod's first container).
    pub container: Option<String>,
    /// The container Velero execs in; `None` when the pod has no containers.
    pub effective_container: Option<String>,
    pub command: Vec<String>,
    pub on_error: OnError,
    /// The timeout Velero applies, in nanoseconds; `None` means no limit.
    pub timeout_nanos: Option<i64>,
    #[serde(skip)]
    pub timeout: Limit,
}

/// A matching spec hook Velero skips because the pod has an annotation hook for the phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedHook {
    pub phase: BackupPhase,
    pub origin: HookOrigin,
    pub container: Option<String>,
    pub command: Vec<String>,
}

/// Every hook Velero will run on one pod, in run order (pre, then post), and the spec
/// hooks it skips.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodPlan {
    pub hooks: Vec<PlannedHook>,
    pub skipped: Vec<SkippedHook>,
}

impl PodPlan {
    pub fn phase(&self, phase: BackupPhase) -> impl Iterator<Item = &PlannedHook> {
        self.hooks.iter().filter(move |h| h.phase == phase)
    }
}

fn planned_from_annotation(hook: &BackupHook) -> PlannedHook {
    PlannedHook {
        phase: hook.phase,
        origin: match hook.source {
            HookSource::Annotation => HookOrigin::Annotation,
            HookSource::LegacyAnnotation => HookOrigin::LegacyAnnotation,
        },
        container: hook.container.clone(),
        effective_container: hook.effective_container.clone(),
        command: hook.command.argv.clone(),
        on_error: hook.on_error,
        timeout_nanos: hook.timeout.nanos(),
        timeout: hook.timeout,
    }
}

/// Which hooks Velero runs on a pod (its metadata and spec as `pod`, its `namespace` and
/// `labels`) given the Backup's spec hooks.
pub fn plan_pod(
    pod: &PodView<'_>,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    spec_hooks: &[ResourceHookSpec],
    version: VeleroVersion,
) -> PodPlan {
    let annotations = parse_hooks(pod, version);
    let mut plan = PodPlan::default();
    for phase in [BackupPhase::Pre, BackupPhase::Post] {
        let annotation = match phase {
            BackupPhase::Pre => annotations.backup_pre.as_ref(),
            BackupPhase::Post => annotations.backup_post.as_ref(),
        };
        for (resource, spec) in spec_hooks.iter().enumerate() {
            if !spec.applies_to(namespace, labels) {
                continue;
            }
            for (index, entry) in spec.hooks(phase).iter().enumerate() {
                let Some(exec) = &entry.exec else { continue };
                let origin = HookOrigin::Spec {
                    name: spec.name.clone(),
                    resource,
                    index,
                };
                let container = Some(exec.container.clone()).filter(|c| !c.is_empty());
                if annotation.is_some() {
                    plan.skipped.push(SkippedHook {
                        phase,
                        origin,
                        container,
                        command: exec.command.clone(),
                    });
                    continue;
                }
                let timeout = effective_exec_timeout(exec.timeout_nanos(), version);
                plan.hooks.push(PlannedHook {
                    phase,
                    origin,
                    effective_container: container
                        .clone()
                        .or_else(|| pod.containers.first().map(|c| (*c).to_owned())),
                    container,
                    command: exec.command.clone(),
                    on_error: OnError::effective(exec.on_error.as_deref()),
                    timeout_nanos: timeout.nanos(),
                    timeout,
                });
            }
        }
        if let Some(hook) = annotation {
            plan.hooks.push(planned_from_annotation(hook));
        }
    }
    plan
}

/// Whether Velero can exec in `container` of this pod (regular containers; native
/// sidecars only on Velero after 1.18).
pub fn container_runnable(pod: &PodView<'_>, container: &str, version: VeleroVersion) -> bool {
    pod.containers.contains(&container)
        || (version == VeleroVersion::V1_19
            && pod
                .init_containers
                .iter()
                .any(|c| c.sidecar && c.name == container))
}

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

pub const SPEC_UNDECODABLE: Rule = rule(
    "HV100",
    "spec-hooks-undecodable",
    Severity::Error,
    "spec.hooks does not have the shape of BackupHooks",
);
pub const SPEC_NAME_EMPTY: Rule = rule(
    "HV101",
    "spec-hook-name-empty",
    Severity::Error,
    "spec hook has an empty name",
);
pub const SPEC_WITHOUT_EXEC: Rule = rule(
    "HV102",
    "spec-hook-without-exec",
    Severity::Error,
    "spec hook item has no exec",
);
pub const SPEC_COMMAND_EMPTY: Rule = rule(
    "HV103",
    "spec-command-empty",
    Severity::Error,
    "spec hook command is empty",
);
pub const SPEC_COMMAND_ONE_STRING: Rule = rule(
    "HV104",
    "spec-command-shell-line",
    Severity::Error,
    "spec hook command is one element with whitespace, run as one program name",
);
pub const SPEC_ON_ERROR_INVALID: Rule = rule(
    "HV105",
    "spec-on-error-invalid",
    Severity::Error,
    "spec hook onError is not Continue or Fail",
);
pub const SPEC_ON_ERROR_UNSET: Rule = rule(
    "HV106",
    "spec-on-error-unset",
    Severity::Warning,
    "spec hook onError is unset, which behaves like Continue",
);
pub const SPEC_TIMEOUT_INVALID: Rule = rule(
    "HV107",
    "spec-timeout-invalid",
    Severity::Error,
    "spec hook timeout is not a Go duration",
);
pub const SPEC_TIMEOUT_NEGATIVE: Rule = rule(
    "HV108",
    "spec-timeout-negative",
    Severity::Error,
    "spec hook timeout is negative",
);
pub const SPEC_SELECTOR_INVALID: Rule = rule(
    "HV109",
    "spec-label-selector-invalid",
    Severity::Error,
    "spec hook labelSelector is invalid: the backup fails",
);
pub const SPEC_PATTERN_INVALID: Rule = rule(
    "HV110",
    "spec-namespace-pattern-invalid",
    Severity::Warning,
    "spec hook namespace pattern does not compile and matches nothing",
);
pub const POD_FINISHED: Rule = rule(
    "HV120",
    "pod-finished",
    Severity::Warning,
    "pod is Succeeded or Failed: Velero skips its hooks",
);
pub const POD_NOT_RUNNING: Rule = rule(
    "HV121",
    "pod-not-running",
    Severity::Warning,
    "pod is not Running: the hook exec will fail",
);
pub const SPEC_CONTAINER_NOT_FOUND: Rule = rule(
    "HV122",
    "spec-container-not-found",
    Severity::Warning,
    "spec hook names a container the pod does not have",
);
pub const PRE_HOOK_FAIL: Rule = rule(
    "HV123",
    "pre-hook-fail-drops-pod",
    Severity::Warning,
    "a failing pre hook with Fail leaves the pod out but its volumes are still snapshotted",
);

/// The rules of this module, for documentation and tools that list codes.
pub const RULES: &[Rule] = &[
    SPEC_UNDECODABLE,
    SPEC_NAME_EMPTY,
    SPEC_WITHOUT_EXEC,
    SPEC_COMMAND_EMPTY,
    SPEC_COMMAND_ONE_STRING,
    SPEC_ON_ERROR_INVALID,
    SPEC_ON_ERROR_UNSET,
    SPEC_TIMEOUT_INVALID,
    SPEC_TIMEOUT_NEGATIVE,
    SPEC_SELECTOR_INVALID,
    SPEC_PATTERN_INVALID,
    POD_FINISHED,
    POD_NOT_RUNNING,
    SPEC_CONTAINER_NOT_FOUND,
    PRE_HOOK_FAIL,
];

fn finding(
    rule: &Rule,
    key: impl Into<String>,
    problem: impl Into<String>,
    velero_does: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        code: rule.code,
        rule: rule.name,
        severity: rule.severity,
        key: key.into(),
        problem: problem.into(),
        velero_does: velero_does.into(),
        fix: fix.into(),
        pointer: None,
    }
}

/// The Backup's spec hooks, decoded, with what is wrong with them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecHooksCheck {
    /// Decoded entries (empty when `spec.hooks` could not be decoded).
    pub resources: Vec<ResourceHookSpec>,
    pub findings: Vec<Finding>,
}

/// Decodes and checks a Backup's `spec.hooks` (`null` or absent: no hooks).
pub fn check_spec_hooks(hooks: Option<&Value>, version: VeleroVersion) -> SpecHooksCheck {
    let resources = match hooks.filter(|h| !h.is_null()).map(|h| h.get("resources")) {
        None | Some(None) | Some(Some(Value::Null)) => return SpecHooksCheck::default(),
        Some(Some(list)) => list,
    };
    let resources: Vec<ResourceHookSpec> = match serde_json::from_value(resources.clone()) {
        Ok(decoded) => decoded,
        Err(err) => {
            return SpecHooksCheck {
                resources: Vec::new(),
                findings: vec![finding(
                    &SPEC_UNDECODABLE,
                    "spec.hooks.resources",
                    format!("it cannot be decoded: {err}"),
                    "the API server rejects the Backup (or Velero cannot read it)",
                    "write spec.hooks.resources as a list of {name, includedNamespaces, labelSelector, pre: [{exec: {container, command: [...], onError, timeout}}], post: [...]}",
                )],
            };
        }
    };
    let mut findings = Vec::new();
    for (r, spec) in resources.iter().enumerate() {
        let base = format!("spec.hooks.resources[{r}]");
        if spec.name.is_empty() {
            findings.push(finding(
                &SPEC_NAME_EMPTY,
                format!("{base}.name"),
                "the hook entry has no name",
                "every hook of this entry fails with `hookName is required` and the backup ends PartiallyFailed",
                "give the entry a name, e.g. `name: fsfreeze`",
            ));
        }
        if let Some(selector) = &spec.label_selector
            && let Err(reason) = selector.validate()
        {
            findings.push(finding(
                &SPEC_SELECTOR_INVALID,
                format!("{base}.labelSelector"),
                reason,
                "building the hook selectors fails and the whole backup ends Failed (the cause is only logged at debug level)",
                "use a valid label key/value and one of In, NotIn (with values), Exists, DoesNotExist (without)",
            ));
        }
        for (field, patterns) in [
            ("includedNamespaces", &spec.included_namespaces),
            ("excludedNamespaces", &spec.excluded_namespaces),
        ] {
            for (i, pattern) in patterns.iter().enumerate() {
                if glob_match(pattern, "").is_none() {
                    findings.push(finding(
                        &SPEC_PATTERN_INVALID,
                        format!("{base}.{field}[{i}]"),
                        format!("`{pattern}` is not a valid glob (unclosed `[`)"),
                        "the pattern matches no namespace",
                        "close the character class or write the namespace name",
                    ));
                }
            }
        }
        for phase in [BackupPhase::Pre, BackupPhase::Post] {
            for (i, entry) in spec.hooks(phase).iter().enumerate() {
                let key = format!("{base}.{}[{i}]", phase.as_str());
                match &entry.exec {
                    None => findings.push(finding(
                        &SPEC_WITHOUT_EXEC,
                        key,
                        "the item has no `exec`",
                        "the API server rejects the Backup (exec is required)",
                        "write the hook as `exec: {container: ..., command: [...]}`",
                    )),
                    Some(exec) => {
                        check_spec_exec(&format!("{key}.exec"), exec, version, &mut findings)
                    }
                }
            }
        }
    }
    SpecHooksCheck {
        resources,
        findings,
    }
}

fn check_spec_exec(key: &str, exec: &SpecExecHook, version: VeleroVersion, out: &mut Vec<Finding>) {
    match exec.command.as_slice() {
        [] => out.push(finding(
            &SPEC_COMMAND_EMPTY,
            format!("{key}.command"),
            "the command is empty",
            "the API server rejects the Backup (command needs at least one item)",
            "list the program and its arguments, e.g. [\"/sbin/fsfreeze\", \"--freeze\", \"/data\"]",
        )),
        [only] if only.contains(char::is_whitespace) => {
            let argv: Vec<String> = only.split_whitespace().map(str::to_owned).collect();
            out.push(finding(
                &SPEC_COMMAND_ONE_STRING,
                format!("{key}.command"),
                format!("`{only}` is one element"),
                "Velero execs it as one program name, with no shell: the hook fails (exit code 126/127 or `executable file not found`)",
                format!(
                    "split it into elements, e.g. {}, or use [\"/bin/sh\", \"-c\", {}]",
                    crate::command::to_json_array(&argv),
                    serde_json::Value::String(only.clone())
                ),
            ));
        }
        [first, ..] if first.is_empty() => out.push(finding(
            &SPEC_COMMAND_EMPTY,
            format!("{key}.command[0]"),
            "the program name is empty",
            "the exec fails",
            "put the program's path first",
        )),
        _ => {}
    }
    match exec.on_error.as_deref() {
        None => out.push(finding(
            &SPEC_ON_ERROR_UNSET,
            format!("{key}.onError"),
            "onError is not set",
            "a failing hook does not stop the pod's backup or its other hooks (Continue), although Velero's docs and log say Fail",
            "write `onError: Fail` or `onError: Continue` explicitly",
        )),
        Some("Fail" | "Continue") => {}
        Some(other) => out.push(finding(
            &SPEC_ON_ERROR_INVALID,
            format!("{key}.onError"),
            format!("`{other}` is not Continue or Fail"),
            "the API server rejects the Backup (the field is an enum, case-sensitive)",
            "write `Fail` or `Continue`",
        )),
    }
    match &exec.timeout {
        None => {}
        Some(Value::String(text)) => match parse_go_duration(text) {
            Err(err) => out.push(finding(
                &SPEC_TIMEOUT_INVALID,
                format!("{key}.timeout"),
                format!("`{text}` is not a Go duration ({err})"),
                "the API server accepts it, but Velero cannot decode the Backup",
                match text.parse::<f64>() {
                    Ok(_) => format!("add a unit, e.g. `{text}s`"),
                    Err(_) => "write a Go duration such as 30s, 5m or 1h30m".to_owned(),
                },
            )),
            Ok(n) if n < 0 => out.push(finding(
                &SPEC_TIMEOUT_NEGATIVE,
                format!("{key}.timeout"),
                format!("`{text}` is negative"),
                match version {
                    VeleroVersion::V1_18 => "Velero 1.18 runs the hook with no time limit at all: a hung command blocks the backup",
                    VeleroVersion::V1_19 => "Velero after 1.18 uses 30s instead",
                },
                "write a positive duration such as 30s",
            )),
            Ok(_) => {}
        },
        Some(other) => out.push(finding(
            &SPEC_TIMEOUT_INVALID,
            format!("{key}.timeout"),
            format!("`{other}` is not a string"),
            "the API server rejects the Backup (timeout is a string)",
            "quote a Go duration, e.g. \"30s\"",
        )),
    }
}

/// What will go wrong when the planned hooks run on this pod: `phase` is the pod's
/// `status.phase`.
pub fn run_time_findings(
    plan: &PodPlan,
    pod: &PodView<'_>,
    phase: Option<&str>,
    version: VeleroVersion,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if plan.hooks.is_empty() {
        return out;
    }
    match phase {
        Some(p @ ("Succeeded" | "Failed")) => out.push(finding(
            &POD_FINISHED,
            "status.phase",
            format!("the pod is {p}"),
            format!("Velero skips its {} hook(s) (`Pod entered phase {p} before some ... exec hooks ran`) and counts them as attempted", plan.hooks.len()),
            "nothing to do if that is expected; otherwise back up while the pod runs",
        )),
        Some("Running") => {}
        other => out.push(finding(
            &POD_NOT_RUNNING,
            "status.phase",
            format!("the pod is {}", other.unwrap_or("in no phase yet")),
            "the exec fails (`unable to upgrade connection: container not found`) and the backup ends PartiallyFailed",
            "wait until the pod runs, or leave it out of the backup",
        )),
    }
    for hook in &plan.hooks {
        let HookOrigin::Spec { .. } = hook.origin else {
            continue;
        };
        let label = format!("{} {}", hook.phase.as_str(), hook.origin.describe());
        match (&hook.container, &hook.effective_container) {
            (_, None) => out.push(finding(
                &SPEC_CONTAINER_NOT_FOUND,
                label,
                "the pod has no containers",
                "the hook fails with `need at least 1 container`",
                "narrow the hook's labelSelector or namespaces",
            )),
            (Some(named), _) if !container_runnable(pod, named, version) => out.push(finding(
                &SPEC_CONTAINER_NOT_FOUND,
                label,
                format!(
                    "container `{named}` is not a container of this pod (it has {})",
                    pod.containers.join(", ")
                ),
                format!("the hook fails with `no such container: \"{named}\"` and the backup ends PartiallyFailed"),
                "narrow the hook's labelSelector so it matches only pods with that container, or fix the name",
            )),
            _ => {}
        }
    }
    if let Some(hook) = plan
        .phase(BackupPhase::Pre)
        .find(|h| h.on_error == OnError::Fail)
    {
        out.push(finding(
            &PRE_HOOK_FAIL,
            format!("pre {}", hook.origin.describe()),
            "a pre hook has onError Fail",
            "if it fails, Velero leaves the pod (and its file-system volume backups) out of the backup and runs no post hooks, but still snapshots the pod's PVCs",
            "make sure the command cannot fail for a harmless reason, or use Continue",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::AnnotationValue;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn globs() {
        let cases = [
            ("*", "anything", Some(true)),
            ("shop-*", "shop-eu", Some(true)),
            ("shop-*", "shop", Some(false)),
            ("sh?p", "shop", Some(true)),
            ("team-[ab]", "team-a", Some(true)),
            ("team-[ab]", "team-c", Some(false)),
            ("team-[a-c]", "team-c", Some(true)),
            ("team-[!a]", "team-a", Some(false)),
            ("team-[ab", "team-a", None),
            ("exact", "exact", Some(true)),
            ("exact", "exactly", Some(false)),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(glob_match(pattern, text), expected, "{pattern} ~ {text}");
        }
    }

    #[test]
    fn namespaces_like_velero() {
        // (included, excluded, namespace, included?)
        let cases: &[(&[&str], &[&str], &str, bool)] = &[
            (&[], &[], "shop", true),
            (&["*"], &[], "shop", true),
            (&["shop"], &[], "shop", true),
            (&["shop"], &[], "blog", false),
            (&["sh*"], &[], "shop", true),
            (&["*"], &["shop"], "shop", false),
            (&["shop"], &["shop"], "shop", false),
            (&[], &["kube-*"], "kube-system", false),
            (&[], &["kube-*"], "shop", true),
            (&["[bad"], &[], "shop", false),
        ];
        for (inc, exc, ns, expected) in cases {
            assert_eq!(
                namespace_included(&strings(inc), &strings(exc), ns),
                *expected,
                "{inc:?} {exc:?} {ns}"
            );
        }
    }

    #[test]
    fn pods_in_resource_filters() {
        let cases: &[(&[&str], &[&str], bool)] = &[
            (&[], &[], true),
            (&["*"], &[], true),
            (&["pods"], &[], true),
            (&["Pod"], &[], true),
            (&["po"], &[], true),
            (&["deployments"], &[], false),
            (&["deployments", "pods"], &[], true),
            (&[], &["pods"], false),
            (&["*"], &["po"], false),
            (&[], &["deployments"], true),
            (&["pods"], &["*"], false),
        ];
        for (inc, exc, expected) in cases {
            assert_eq!(
                pods_included(&strings(inc), &strings(exc)),
                *expected,
                "{inc:?} {exc:?}"
            );
        }
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

    #[test]
    fn backup_scope_includes_pods() {
        let scope: BackupScope = serde_json::from_value(json!({
            "includedNamespaces": ["shop-*"],
            "excludedNamespaces": ["shop-test"],
            "labelSelector": {"matchLabels": {"backup": "yes"}}
        }))
        .unwrap();
        let yes = labels(&[("backup", "yes")]);
        assert!(scope.includes_pod("shop-eu", &yes));
        assert!(!scope.includes_pod("shop-test", &yes));
        assert!(!scope.includes_pod("blog", &yes));
        assert!(!scope.includes_pod("shop-eu", &labels(&[])));
        let no_pods: BackupScope =
            serde_json::from_value(json!({"excludedResources": ["pods"]})).unwrap();
        assert!(!no_pods.includes_pod("shop", &yes));
        let nulls: BackupScope =
            serde_json::from_value(json!({"includedNamespaces": null})).unwrap();
        assert!(nulls.includes_pod("any", &yes));
    }

    fn pod_view<'a>(annotations: &[(&'a str, &'a str)], containers: &[&'a str]) -> PodView<'a> {
        PodView {
            annotations: annotations
                .iter()
                .map(|(k, v)| (*k, AnnotationValue::Str(v)))
                .collect(),
            containers: containers.to_vec(),
            init_containers: vec![],
        }
    }

    fn spec(value: Value) -> Vec<ResourceHookSpec> {
        let check = check_spec_hooks(Some(&value), VeleroVersion::V1_18);
        assert!(
            !check
                .findings
                .iter()
                .any(|f| f.code == SPEC_UNDECODABLE.code),
            "{:?}",
            check.findings
        );
        check.resources
    }

    /// (phase, origin text, container, argv) of each planned hook.
    fn summary(plan: &PodPlan) -> Vec<(String, String, String, String)> {
        plan.hooks
            .iter()
            .map(|h| {
                (
                    h.phase.as_str().to_owned(),
                    h.origin.describe(),
                    h.effective_container.clone().unwrap_or_default(),
                    h.command.join(" "),
                )
            })
            .collect()
    }

    #[test]
    fn which_hooks_run() {
        let hooks = spec(json!({"resources": [
            {"name": "all-pods", "pre": [
                {"exec": {"command": ["/bin/a"], "onError": "Fail"}},
                {"exec": {"container": "side", "command": ["/bin/b"]}}
            ], "post": [{"exec": {"command": ["/bin/c"], "timeout": "1m"}}]},
            {"name": "shop-db", "includedNamespaces": ["shop"],
             "labelSelector": {"matchLabels": {"app": "db"}},
             "pre": [{"exec": {"command": ["/bin/d"]}}]},
            {"name": "deployments-only", "includedResources": ["deployments"],
             "pre": [{"exec": {"command": ["/bin/never"]}}]},
            {"name": "not-shop", "excludedNamespaces": ["shop"],
             "pre": [{"exec": {"command": ["/bin/never"]}}]}
        ]}));
        let db = labels(&[("app", "db")]);
        type Row = (&'static str, &'static str, &'static str, &'static str);
        // (annotations, namespace, labels, planned rows, skipped spec hook names)
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            &'a str,
            &'a BTreeMap<String, String>,
            Vec<Row>,
            Vec<&'a str>,
        );
        let cases: Vec<Case> = vec![
            (
                &[],
                "shop",
                &db,
                vec![
                    ("pre", "spec hook \"all-pods\"", "app", "/bin/a"),
                    ("pre", "spec hook \"all-pods\"", "side", "/bin/b"),
                    ("pre", "spec hook \"shop-db\"", "app", "/bin/d"),
                    ("post", "spec hook \"all-pods\"", "app", "/bin/c"),
                ],
                vec![],
            ),
            (
                &[
                    (
                        "pre.hook.backup.velero.io/command",
                        "[\"/sbin/fsfreeze\",\"--freeze\",\"/x\"]",
                    ),
                    ("pre.hook.backup.velero.io/container", "side"),
                ],
                "shop",
                &db,
                vec![
                    ("pre", "annotation", "side", "/sbin/fsfreeze --freeze /x"),
                    ("post", "spec hook \"all-pods\"", "app", "/bin/c"),
                ],
                vec!["all-pods", "all-pods", "shop-db"],
            ),
            (
                &[
                    ("hook.backup.velero.io/command", "/bin/legacy"),
                    ("post.hook.backup.velero.io/command", "/bin/unfreeze"),
                ],
                "blog",
                &db,
                vec![
                    ("pre", "legacy annotation", "app", "/bin/legacy"),
                    ("post", "annotation", "app", "/bin/unfreeze"),
                ],
                vec!["all-pods", "all-pods", "not-shop", "all-pods"],
            ),
        ];
        for (annotations, namespace, pod_labels, expected, skipped) in cases {
            let view = pod_view(annotations, &["app", "side"]);
            let plan = plan_pod(&view, namespace, pod_labels, &hooks, VeleroVersion::V1_18);
            let expected: Vec<_> = expected
                .into_iter()
                .map(|(a, b, c, d)| (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned()))
                .collect();
            assert_eq!(summary(&plan), expected, "{annotations:?} in {namespace}");
            let names: Vec<_> = plan.skipped.iter().map(|s| s.origin.hook_name()).collect();
            assert_eq!(names, skipped, "{annotations:?} in {namespace}");
        }
    }

    #[test]
    fn planned_spec_hook_values() {
        let hooks = spec(json!({"resources": [{"name": "h", "pre": [
            {"exec": {"command": ["/bin/a"], "onError": "Fail", "timeout": "2m"}},
            {"exec": {"command": ["/bin/b"], "timeout": "-1s"}},
            {"exec": {"command": ["/bin/c"], "timeout": "0s"}}
        ]}]}));
        let view = pod_view(&[], &["app"]);
        let plan = plan_pod(&view, "ns", &labels(&[]), &hooks, VeleroVersion::V1_18);
        let got: Vec<_> = plan
            .hooks
            .iter()
            .map(|h| (h.on_error, h.timeout_nanos))
            .collect();
        assert_eq!(
            got,
            [
                (OnError::Fail, Some(120_000_000_000)),
                (OnError::Continue, None),
                (OnError::Continue, Some(30_000_000_000)),
            ]
        );
        let newer = plan_pod(&view, "ns", &labels(&[]), &hooks, VeleroVersion::V1_19);
        assert_eq!(newer.hooks[1].timeout_nanos, Some(30_000_000_000));
    }

    #[test]
    fn an_invalid_hook_selector_matches_nothing() {
        let hooks = spec(json!({"resources": [{"name": "h",
            "labelSelector": {"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["db"]}]},
            "pre": [{"exec": {"command": ["/bin/a"]}}]}]}));
        let plan = plan_pod(
            &pod_view(&[], &["app"]),
            "ns",
            &labels(&[("app", "db")]),
            &hooks,
            VeleroVersion::V1_18,
        );
        assert!(plan.hooks.is_empty());
    }

    fn codes(findings: &[Finding]) -> Vec<(&'static str, String)> {
        findings.iter().map(|f| (f.code, f.key.clone())).collect()
    }

    #[test]
    fn spec_hook_findings() {
        let base = "spec.hooks.resources[0]";
        // (spec.hooks, expected (code, key))
        let cases: Vec<(Value, Vec<(&str, String)>)> = vec![
            (json!(null), vec![]),
            (json!({}), vec![]),
            (json!({"resources": null}), vec![]),
            (
                json!({"resources": [{"name": "ok", "pre": [{"exec": {"command": ["/bin/a"], "onError": "Fail", "timeout": "30s"}}]}]}),
                vec![],
            ),
            (
                json!({"resources": [{"name": "", "pre": [{"exec": {"command": ["/bin/a"], "onError": "Fail"}}]}]}),
                vec![("HV101", format!("{base}.name"))],
            ),
            (
                json!({"resources": [{"name": "x", "post": [{}]}]}),
                vec![("HV102", format!("{base}.post[0]"))],
            ),
            (
                json!({"resources": [{"name": "x", "pre": [{"exec": {"command": [], "onError": "Fail"}}]}]}),
                vec![("HV103", format!("{base}.pre[0].exec.command"))],
            ),
            (
                json!({"resources": [{"name": "x", "pre": [{"exec": {"command": ["/bin/sh -c 'sync'"], "onError": "Fail"}}]}]}),
                vec![("HV104", format!("{base}.pre[0].exec.command"))],
            ),
            (
                json!({"resources": [{"name": "x", "pre": [{"exec": {"command": ["/bin/a"], "onError": "fail"}}]}]}),
                vec![("HV105", format!("{base}.pre[0].exec.onError"))],
            ),
            (
                json!({"resources": [{"name": "x", "pre": [{"exec": {"command": ["/bin/a"]}}]}]}),
                vec![("HV106", format!("{base}.pre[0].exec.onError"))],
            ),
            (
                json!({"resources": [{"name": "x", "pre": [{"exec": {"command": ["/bin/a"], "onError": "Fail", "timeout": "30"}}]}]}),
                vec![("HV107", format!("{base}.pre[0].exec.timeout"))],
            ),
            (
                json!({"resources": [{"name": "x", "pre": [{"exec": {"command": ["/bin/a"], "onError": "Fail", "timeout": 30}}]}]}),
                vec![("HV107", format!("{base}.pre[0].exec.timeout"))],
            ),
            (
                json!({"resources": [{"name": "x", "pre": [{"exec": {"command": ["/bin/a"], "onError": "Fail", "timeout": "-5s"}}]}]}),
                vec![("HV108", format!("{base}.pre[0].exec.timeout"))],
            ),
            (
                json!({"resources": [{"name": "x", "labelSelector": {"matchExpressions": [{"key": "a", "operator": "Equals"}]}}]}),
                vec![("HV109", format!("{base}.labelSelector"))],
            ),
            (
                json!({"resources": [{"name": "x", "includedNamespaces": ["shop-[eu"]}]}),
                vec![("HV110", format!("{base}.includedNamespaces[0]"))],
            ),
            (
                json!({"resources": [{"name": "x", "pre": "not a list"}]}),
                vec![("HV100", "spec.hooks.resources".to_owned())],
            ),
            (
                json!({"resources": {"name": "x"}}),
                vec![("HV100", "spec.hooks.resources".to_owned())],
            ),
        ];
        for (hooks, expected) in cases {
            let check = check_spec_hooks(Some(&hooks), VeleroVersion::V1_18);
            assert_eq!(codes(&check.findings), expected, "{hooks}");
        }
    }

    #[test]
    fn run_time_findings_per_pod() {
        let hooks = spec(json!({"resources": [{"name": "freeze", "pre": [
            {"exec": {"container": "fsfreeze", "command": ["/bin/a"], "onError": "Fail"}}
        ]}]}));
        let with_sidecar = PodView {
            init_containers: vec![crate::pod::InitContainer {
                name: "fsfreeze",
                sidecar: true,
            }],
            ..pod_view(&[], &["app"])
        };
        // (pod, phase, version, expected codes)
        let cases: Vec<(PodView<'_>, Option<&str>, VeleroVersion, Vec<&str>)> = vec![
            (
                pod_view(&[], &["app", "fsfreeze"]),
                Some("Running"),
                VeleroVersion::V1_18,
                vec!["HV123"],
            ),
            (
                pod_view(&[], &["app"]),
                Some("Running"),
                VeleroVersion::V1_18,
                vec!["HV122", "HV123"],
            ),
            (
                with_sidecar.clone(),
                Some("Running"),
                VeleroVersion::V1_18,
                vec!["HV122", "HV123"],
            ),
            (
                with_sidecar,
                Some("Running"),
                VeleroVersion::V1_19,
                vec!["HV123"],
            ),
            (
                pod_view(&[], &["app", "fsfreeze"]),
                Some("Succeeded"),
                VeleroVersion::V1_18,
                vec!["HV120", "HV123"],
            ),
            (
                pod_view(&[], &["app", "fsfreeze"]),
                Some("Pending"),
                VeleroVersion::V1_18,
                vec!["HV121", "HV123"],
            ),
            (
                pod_view(&[], &["app", "fsfreeze"]),
                None,
                VeleroVersion::V1_18,
                vec!["HV121", "HV123"],
            ),
        ];
        for (view, phase, version, expected) in cases {
            let plan = plan_pod(&view, "ns", &labels(&[]), &hooks, version);
            let got: Vec<_> = run_time_findings(&plan, &view, phase, version)
                .iter()
                .map(|f| f.code)
                .collect();
            assert_eq!(got, expected, "{view:?} {phase:?}");
        }
        // No hooks, nothing to warn about.
        let plan = plan_pod(
            &pod_view(&[], &["app"]),
            "ns",
            &labels(&[]),
            &[],
            VeleroVersion::V1_18,
        );
        assert!(
            run_time_findings(
                &plan,
                &pod_view(&[], &["app"]),
                Some("Pending"),
                VeleroVersion::V1_18
            )
            .is_empty()
        );
    }

    #[test]
    fn rule_codes_are_unique() {
        let mut codes: Vec<_> = RULES
            .iter()
            .chain(crate::rules::RULES)
            .map(|r| r.code)
            .collect();
        codes.sort();
        let before = codes.len();
        codes.dedup();
        assert_eq!(before, codes.len());
    }
}
