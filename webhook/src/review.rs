//! The admission decision: a pure function from one request to one response. No I/O, no
//! clock, no API lookups, so it is tested and benchmarked without a socket. Every verdict
//! comes from the library's rules (`velero_hooks::check_object`); this module only decides
//! what a finding means for an admission request.

use base64::Engine as _;
use serde_json::Value;
use velero_hooks::normalize::{Normalizations, normalize};
use velero_hooks::workload::{WorkloadKind, find_kind, hook_annotations_changed};
use velero_hooks::{Finding, ObjectReport, Severity, VeleroVersion, check_object};

use crate::admission::{
    AdmissionRequest, AdmissionResponse, Operation, ReviewError, Status, parse_review,
    render_review,
};
use crate::caps::{join_capped, trim_unknown_keys};
use crate::limits::ReviewLimits;

/// What the endpoint does with findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `/validate`: errors deny (with the exceptions in [`review`]).
    Enforce,
    /// `/warn`: same findings, always allowed, every finding a warning.
    Warn,
    /// `/mutate`: normalise hook annotations with a JSON Patch.
    Mutate,
}

impl Mode {
    pub fn path(self) -> &'static str {
        match self {
            Mode::Enforce => "/validate",
            Mode::Warn => "/warn",
            Mode::Mutate => "/mutate",
        }
    }
}

/// What the server was configured to check and rewrite.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    pub version: VeleroVersion,
    pub normalize: Normalizations,
    pub limits: ReviewLimits,
}

/// The outcome, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed with nothing to say.
    Allowed,
    Denied,
    /// Allowed with warnings.
    Warned,
    /// Allowed with a JSON Patch.
    Patched,
    /// The request could not be answered (bad body).
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Denied => "denied",
            Verdict::Warned => "warned",
            Verdict::Patched => "patched",
            Verdict::Error => "error",
        }
    }
}

/// A response and what led to it.
#[derive(Debug, Clone)]
pub struct Decision {
    pub response: AdmissionResponse,
    pub verdict: Verdict,
    /// The kind (`Deployment`, `Schedule`, ...), when it is one the rules apply to.
    pub kind: Option<&'static str>,
    /// Rule codes of the findings, in report order, one per finding (at most
    /// `max_findings`).
    pub codes: Vec<&'static str>,
}

/// kube-apiserver shows each warning as one `Warning: ...` line and truncates long ones;
/// Kubernetes asks webhooks to stay within 120 characters.
pub const WARNING_MAX_CHARS: usize = 120;
/// kube-apiserver drops warnings past 4 KiB in total; stay well under it.
pub const MAX_WARNINGS: usize = 20;

/// Decides one admission request.
pub fn review(request: &AdmissionRequest, mode: Mode, policy: &Policy) -> Decision {
    let allow = || Decision {
        response: AdmissionResponse::allow(&request.uid),
        verdict: Verdict::Allowed,
        kind: None,
        codes: Vec::new(),
    };
    // Subresources (status, scale, ephemeralcontainers) never carry the hook annotations
    // a user writes; DELETE and CONNECT have no object to judge.
    if request.sub_resource.is_some()
        || !matches!(request.operation, Operation::Create | Operation::Update)
    {
        return allow();
    }
    let Some(object) = &request.object else {
        return allow();
    };
    if let Some(kind) = crate::velero::velero_kind(&request.kind) {
        return crate::velero::review(request, object, kind, mode, policy);
    }
    let Some(kind) = find_kind(&request.kind.group, &request.kind.kind) else {
        return allow();
    };
    // Past this many possible typos, keys are counted instead of checked (CPU per review).
    let max_unknown = policy.limits.max_unknown_keys as usize;
    let trimmed = trim_unknown_keys(object, max_unknown);
    let unchecked = trimmed.as_ref().map_or(0, |t| t.unchecked);
    let checked = trimmed.as_ref().map_or(object, |t| &t.object);
    let old_trimmed = request
        .old_object
        .as_ref()
        .and_then(|old| trim_unknown_keys(old, max_unknown));
    let old = old_trimmed
        .as_ref()
        .map(|t| &t.object)
        .or(request.old_object.as_ref());
    if mode == Mode::Mutate {
        return mutate(request, object, (checked, old), kind, policy);
    }
    let Some(report) = check_object(checked, policy.version) else {
        // The body's own apiVersion/kind is not a workload: nothing to check.
        return allow();
    };
    let enforceable = enforceable(request, checked, old);
    let unchecked_warning = (unchecked > 0).then(|| {
        format!("{unchecked} more annotation keys that may be misspelt hook keys not checked")
    });
    let (response, verdict, codes) = respond(
        request,
        mode,
        policy,
        &report.findings,
        enforceable,
        || denial_message(&report, &policy.limits, unchecked),
        warning,
        unchecked_warning,
    );
    Decision {
        response,
        verdict,
        kind: Some(kind.kind),
        codes,
    }
}

/// The response to a request whose object has `findings`: denied in `/validate` when
/// there is an error and the request is `enforceable` (the message from `denial`, the
/// warnings left as warnings), otherwise allowed with every finding as a warning (each
/// rendered by `render`) and `extra_warning` last. The audit annotation lists the codes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn respond(
    request: &AdmissionRequest,
    mode: Mode,
    policy: &Policy,
    findings: &[Finding],
    enforceable: bool,
    denial: impl FnOnce() -> String,
    render: impl Fn(&Finding) -> String,
    extra_warning: Option<String>,
) -> (AdmissionResponse, Verdict, Vec<&'static str>) {
    let max_findings = policy.limits.max_findings as usize;
    let codes: Vec<&'static str> = findings.iter().take(max_findings).map(|f| f.code).collect();
    let mut response = AdmissionResponse::allow(&request.uid);
    if !codes.is_empty() {
        response
            .audit_annotations
            .insert("findings".to_owned(), audit_codes(&codes));
    }
    let deny = mode == Mode::Enforce && enforceable && findings.iter().any(Finding::is_error);
    let verdict = if deny {
        response.allowed = false;
        response.status = Some(Status {
            status: "Failure",
            code: 403,
            reason: "Forbidden",
            message: denial(),
        });
        response.warnings = rendered_warnings(
            findings.iter().filter(|f| f.severity == Severity::Warning),
            &render,
        );
        Verdict::Denied
    } else {
        response.warnings = rendered_warnings(findings.iter(), &render);
        response.warnings.extend(extra_warning);
        if response.warnings.is_empty() {
            Verdict::Allowed
        } else {
            Verdict::Warned
        }
    };
    (response, verdict, codes)
}

/// Whether errors may deny this request.
///
/// An object created by a controller (a Pod from a ReplicaSet, a ReplicaSet from a
/// Deployment, a Job from a CronJob) is never denied: its template was checked when the
/// workload was admitted, and denying would only stop the controller from scaling or
/// rolling out a workload admitted before the webhook existed. An update is denied only
/// when it adds or changes hook annotations: a scale, a rollout or a label change must not
/// be blocked by hooks it leaves as they were.
fn enforceable(request: &AdmissionRequest, object: &Value, old: Option<&Value>) -> bool {
    !controlled(object) && changes_hooks(request, object, old)
}

/// Whether the request writes hook annotations: every CREATE, and an UPDATE that adds,
/// removes or changes one. `object` and `old` are compared as trimmed (see [`crate::caps`]).
fn changes_hooks(request: &AdmissionRequest, object: &Value, old: Option<&Value>) -> bool {
    match (request.operation, old) {
        (Operation::Update, Some(old)) => hook_annotations_changed(old, object),
        _ => true,
    }
}

/// Whether an ownerReference with `controller: true` exists.
pub(crate) fn controlled(object: &Value) -> bool {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        })
}

/// Normalises the hook annotations of a CREATE, or of an UPDATE that itself writes hook
/// annotations. An UPDATE that leaves them alone (a label change, a rollout, a scale of an
/// object admitted with old, broken hooks) is never patched: the patch would make the
/// update change hook annotations, and `/validate` would then deny an update it allows
/// unpatched. Patching only what the user is writing anyway keeps the chain `/mutate`
/// then `/validate` from ever denying more than `/validate` alone (tested on every UPDATE
/// fixture). `compared` is the (trimmed) object and old object that decide this.
fn mutate(
    request: &AdmissionRequest,
    object: &Value,
    compared: (&Value, Option<&Value>),
    kind: &'static WorkloadKind,
    policy: &Policy,
) -> Decision {
    let mut response = AdmissionResponse::allow(&request.uid);
    let mut verdict = Verdict::Allowed;
    if policy.normalize.any() && changes_hooks(request, compared.0, compared.1) {
        let operations = normalize(object, policy.version, policy.normalize);
        if !operations.is_empty() {
            // A patch of annotation keys and string values always serialises.
            let patch = serde_json::to_vec(&operations).unwrap_or_default();
            response.patch_type = Some("JSONPatch");
            response.patch = Some(base64::engine::general_purpose::STANDARD.encode(patch));
            verdict = Verdict::Patched;
        }
    }
    Decision {
        response,
        verdict,
        kind: Some(kind.kind),
        codes: Vec::new(),
    }
}

/// Every error, one per line, each naming the object: kubectl prints the message verbatim
/// after `admission webhook "..." denied the request: `, so the first error continues that
/// line and each further error starts its own. Tools that flatten newlines (Argo CD's
/// condition message) still read one self-contained sentence per error.
///
/// At most `max_findings` lines and `max_denial_bytes` bytes: a last line says how many
/// errors were left out, and how many possible typos were not checked (`unchecked`).
pub fn denial_message(report: &ObjectReport, limits: &ReviewLimits, unchecked: usize) -> String {
    let object = format!("{}/{}", report.kind.kind.to_ascii_lowercase(), report.name);
    let unchecked_note = (unchecked > 0).then(|| {
        format!(
            "{object}: {unchecked} more annotation keys that may be misspelt Velero hook keys were not checked (at most {} are)",
            limits.max_unknown_keys
        )
    });
    denial_lines(&object, &report.findings, limits, unchecked_note)
}

/// The errors of `findings` as denial lines, each starting `{object}: `, within the
/// limits (see [`denial_message`]), with `note` as the last line when given.
pub fn denial_lines(
    object: &str,
    findings: &[Finding],
    limits: &ReviewLimits,
    note: Option<String>,
) -> String {
    let max_bytes =
        (limits.max_denial_bytes as usize).saturating_sub(note.as_ref().map_or(0, |n| n.len() + 1));
    // Only the lines shown are formatted: a spec may hold thousands of errors.
    let errors: Vec<&Finding> = findings.iter().filter(|f| f.is_error()).collect();
    let lines = errors.iter().map(|f| format!("{object}: {}", f.sentence()));
    let mut message = join_capped(lines, limits.max_findings as usize, max_bytes, |more| {
        format!("{object}: {more} more errors not shown")
    });
    if let Some(note) = note {
        message.push('\n');
        message.push_str(&note);
    }
    message
}

/// One short warning per finding: `HV011 pre.hook.backup.velero.io/on-error: <problem>`.
pub fn warnings<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<String> {
    rendered_warnings(findings, warning)
}

/// At most [`MAX_WARNINGS`] warnings, each `render`ed, the last saying how many were left
/// out.
pub fn rendered_warnings<'a>(
    findings: impl Iterator<Item = &'a Finding>,
    render: impl Fn(&Finding) -> String,
) -> Vec<String> {
    let all: Vec<&Finding> = findings.collect();
    let mut out: Vec<String> = all.iter().take(MAX_WARNINGS).map(|f| render(f)).collect();
    if all.len() > MAX_WARNINGS {
        out.pop();
        out.push(format!(
            "{} more Velero hook findings not shown",
            all.len() - MAX_WARNINGS + 1
        ));
    }
    out
}

pub fn warning(finding: &Finding) -> String {
    shorten(
        &format!(
            "{} {}: {}",
            finding.code,
            finding.subject.text(),
            finding.problem
        ),
        WARNING_MAX_CHARS,
    )
}

/// Cuts `text` to at most `max` characters, ending with `...` when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 3).collect();
    out.truncate(out.trim_end().len());
    out.push_str("...");
    out
}

/// `HV003,HV020`: each code once, in order of first finding.
fn audit_codes(codes: &[&str]) -> String {
    let mut unique: Vec<&str> = Vec::with_capacity(codes.len());
    for code in codes {
        if !unique.contains(code) {
            unique.push(code);
        }
    }
    unique.join(",")
}

/// A whole round trip: body in, body out, as the HTTP layer does it.
pub fn review_body(
    body: &[u8],
    mode: Mode,
    policy: &Policy,
) -> Result<(Vec<u8>, Decision, AdmissionRequest), ReviewError> {
    let request = parse_review(body)?;
    let decision = review(&request, mode, policy);
    Ok((render_review(&decision.response), decision, request))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::GroupVersionKind;
    use serde_json::json;

    fn request(operation: Operation, object: Value, old: Option<Value>) -> AdmissionRequest {
        let api_version = object["apiVersion"].as_str().unwrap_or("v1");
        AdmissionRequest {
            uid: "uid-1".to_owned(),
            kind: GroupVersionKind {
                group: velero_hooks::workload::group_of(api_version).to_owned(),
                version: "v1".to_owned(),
                kind: object["kind"].as_str().unwrap_or_default().to_owned(),
            },
            sub_resource: None,
            name: object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .map(str::to_owned),
            namespace: Some("shop".to_owned()),
            operation,
            object: Some(object),
            old_object: old,
            dry_run: false,
        }
    }

    fn pod(annotations: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "db", "namespace": "shop", "annotations": annotations},
            "spec": {"containers": [{"name": "db"}]}})
    }

    const BROKEN: &str = "/sbin/fsfreeze --freeze /data";

    #[test]
    fn create_with_errors_is_denied_listing_every_error() {
        let object = pod(json!({
            "pre.hook.backup.velero.io/command": BROKEN,
            "pre.hook.backup.velero.io/timeout": "30",
        }));
        let decision = review(
            &request(Operation::Create, object.clone(), None),
            Mode::Enforce,
            &Policy::default(),
        );
        let report = check_object(&object, VeleroVersion::default()).unwrap();
        assert_eq!(decision.verdict, Verdict::Denied);
        assert!(!decision.response.allowed);
        assert_eq!(decision.response.uid, "uid-1");
        let message = &decision.response.status.as_ref().unwrap().message;
        assert_eq!(message.lines().count(), report.errors());
        assert!(report.errors() >= 2);
        for line in message.lines() {
            assert!(
                line.starts_with("pod/db: pre.hook.backup.velero.io/"),
                "{line}"
            );
        }
        assert_eq!(decision.response.warnings.len(), report.warnings());
        assert_eq!(
            decision.codes,
            report.findings.iter().map(|f| f.code).collect::<Vec<_>>()
        );
    }

    #[test]
    fn warn_mode_allows_with_every_finding_as_warning() {
        let object = pod(json!({"pre.hook.backup.velero.io/command": BROKEN}));
        let decision = review(
            &request(Operation::Create, object.clone(), None),
            Mode::Warn,
            &Policy::default(),
        );
        let report = check_object(&object, VeleroVersion::default()).unwrap();
        assert_eq!(decision.verdict, Verdict::Warned);
        assert!(decision.response.allowed && decision.response.status.is_none());
        assert_eq!(decision.response.warnings.len(), report.findings.len());
    }

    #[test]
    fn controller_pods_are_warned_not_denied() {
        let mut object = pod(json!({"pre.hook.backup.velero.io/command": BROKEN}));
        object["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "db-1", "uid": "x", "controller": true}]);
        let decision = review(
            &request(Operation::Create, object.clone(), None),
            Mode::Enforce,
            &Policy::default(),
        );
        assert_eq!(decision.verdict, Verdict::Warned);
        // A non-controller owner does not count.
        object["metadata"]["ownerReferences"][0]["controller"] = json!(false);
        let decision = review(
            &request(Operation::Create, object, None),
            Mode::Enforce,
            &Policy::default(),
        );
        assert_eq!(decision.verdict, Verdict::Denied);
    }

    #[test]
    fn updates_deny_only_when_hooks_change() {
        let old = pod(json!({"pre.hook.backup.velero.io/command": BROKEN}));
        let mut relabelled = old.clone();
        relabelled["metadata"]["labels"] = json!({"a": "b"});
        let untouched = review(
            &request(Operation::Update, relabelled, Some(old.clone())),
            Mode::Enforce,
            &Policy::default(),
        );
        assert_eq!(untouched.verdict, Verdict::Warned);
        let changed =
            pod(json!({"pre.hook.backup.velero.io/command": "/sbin/fsfreeze --freeze /x"}));
        let decision = review(
            &request(Operation::Update, changed, Some(old)),
            Mode::Enforce,
            &Policy::default(),
        );
        assert_eq!(decision.verdict, Verdict::Denied);
    }

    #[test]
    fn other_kinds_operations_and_subresources_pass_untouched() {
        let broken = pod(json!({"pre.hook.backup.velero.io/command": BROKEN}));
        let mut status = request(Operation::Update, broken.clone(), Some(broken.clone()));
        status.sub_resource = Some("status".to_owned());
        let delete = request(Operation::Delete, broken.clone(), None);
        let mut configmap = request(
            Operation::Create,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"annotations": {"pre.hook.backup.velero.io/command": BROKEN}}}),
            None,
        );
        configmap.kind.kind = "ConfigMap".to_owned();
        for request in [status, delete, configmap] {
            for mode in [Mode::Enforce, Mode::Warn, Mode::Mutate] {
                let decision = review(&request, mode, &Policy::default());
                assert_eq!(decision.verdict, Verdict::Allowed);
                assert_eq!(decision.response, AdmissionResponse::allow("uid-1"));
            }
        }
    }

    #[test]
    fn mutate_patches_only_when_configured_and_needed() {
        let object = pod(json!({"pre.hook.backup.velero.io/command": BROKEN}));
        let off = review(
            &request(Operation::Create, object.clone(), None),
            Mode::Mutate,
            &Policy::default(),
        );
        assert_eq!(off.verdict, Verdict::Allowed);
        assert!(off.response.patch.is_none());
        let policy = Policy {
            normalize: Normalizations {
                json_command: true,
                explicit_defaults: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let on = review(
            &request(Operation::Create, object.clone(), None),
            Mode::Mutate,
            &policy,
        );
        assert_eq!(on.verdict, Verdict::Patched);
        assert_eq!(on.response.patch_type, Some("JSONPatch"));
        let patch = base64::engine::general_purpose::STANDARD
            .decode(on.response.patch.unwrap())
            .unwrap();
        let operations: Vec<json_patch::PatchOperation> = serde_json::from_slice(&patch).unwrap();
        let mut patched = object;
        json_patch::patch(&mut patched, &operations).unwrap();
        assert_eq!(
            patched["metadata"]["annotations"]["pre.hook.backup.velero.io/command"],
            r#"["/sbin/fsfreeze","--freeze","/data"]"#
        );
        // Idempotent: the patched object needs nothing more.
        let again = review(
            &request(Operation::Create, patched, None),
            Mode::Mutate,
            &policy,
        );
        assert_eq!(again.verdict, Verdict::Allowed);
    }

    #[test]
    fn warnings_are_short_and_capped() {
        let long = "x".repeat(300);
        let object = pod(json!({
            "pre.hook.backup.velero.io/timeout": long,
            "pre.hook.backup.velero.io/command": "[\"/bin/true\"]",
        }));
        let report = check_object(&object, VeleroVersion::default()).unwrap();
        let all = warnings(report.findings.iter());
        assert!(
            all.iter().all(|w| w.chars().count() <= WARNING_MAX_CHARS),
            "{all:?}"
        );
        let many: Vec<Finding> = (0..30).map(|_| report.findings[0].clone()).collect();
        let capped = warnings(many.iter());
        assert_eq!(capped.len(), MAX_WARNINGS);
        assert!(capped[MAX_WARNINGS - 1].starts_with("11 more"));
    }

    #[test]
    fn audit_codes_are_unique_in_order() {
        assert_eq!(audit_codes(&["HV003", "HV020", "HV003"]), "HV003,HV020");
    }
}
