//! Velero's own objects at admission: the `spec.hooks` of a `velero.io/v1` Backup or
//! Restore and the `spec.template.hooks` of a Schedule, judged with the library's spec
//! rules (`velero_hooks::spec::check`, the same findings `kubectl hooks validate` gives)
//! and no API lookup. Decided like hook annotations: every CREATE, and an UPDATE only when
//! it changes the hooks; `/mutate` leaves these objects alone.

use serde_json::Value;
use velero_hooks::Finding;
use velero_hooks::spec::{VeleroObject, check};

use crate::admission::{AdmissionRequest, GroupVersionKind, Operation};
use crate::review::{
    Decision, Mode, Policy, Verdict, WARNING_MAX_CHARS, controlled, denial_lines, respond, shorten,
};

/// The kinds checked here, as kube-apiserver names them in `request.kind`.
pub const VELERO_KINDS: [&str; 3] = ["Backup", "Schedule", "Restore"];

/// `Backup`, `Schedule` or `Restore` when the request is for one of Velero's objects.
pub fn velero_kind(kind: &GroupVersionKind) -> Option<&'static str> {
    if kind.group != "velero.io" {
        return None;
    }
    VELERO_KINDS.into_iter().find(|k| *k == kind.kind)
}

/// Where the hooks are: a Schedule's Backups take their spec from `spec.template`
/// (`pkg/builder/backup_builder.go`, `FromSchedule`).
fn hooks_pointer(kind: &str) -> &'static str {
    if kind == "Schedule" {
        "/spec/template/hooks"
    } else {
        "/spec/hooks"
    }
}

/// Whether the request writes hooks: every CREATE, and an UPDATE that adds, removes or
/// changes them. `hooks: null` is the same as no hooks, as Velero's decoder reads it.
fn changes_hooks(request: &AdmissionRequest, kind: &str, object: &Value) -> bool {
    fn hooks<'a>(o: &'a Value, kind: &str) -> Option<&'a Value> {
        o.pointer(hooks_pointer(kind)).filter(|v| !v.is_null())
    }
    match (request.operation, &request.old_object) {
        (Operation::Update, Some(old)) => hooks(old, kind) != hooks(object, kind),
        _ => true,
    }
}

/// Decides a request for a Backup, Schedule or Restore.
pub fn review(
    request: &AdmissionRequest,
    object: &Value,
    kind: &'static str,
    mode: Mode,
    policy: &Policy,
) -> Decision {
    let allowed = |verdict| Decision {
        response: crate::admission::AdmissionResponse::allow(&request.uid),
        verdict,
        kind: Some(kind),
        codes: Vec::new(),
    };
    if mode == Mode::Mutate {
        return allowed(Verdict::Allowed);
    }
    // The body's own apiVersion/kind decide, as for workloads: a body that is not a
    // velero.io/v1 object of these kinds has nothing to check.
    let Some(decoded) = VeleroObject::from_json(object) else {
        return allowed(Verdict::Allowed);
    };
    let name = object
        .pointer("/metadata/name")
        .or_else(|| object.pointer("/metadata/generateName"))
        .and_then(Value::as_str)
        .or(request.name.as_deref())
        .unwrap_or_default();
    let label = format!("{}/{name}", kind.to_ascii_lowercase());
    let findings: Vec<Finding> = match decoded {
        Ok(decoded) => check(&decoded, policy.version),
        Err(undecodable) => vec![undecodable],
    };
    // A Backup created by a controller that owns it is never denied, as for pods: its
    // spec was admitted with its owner. Velero's schedule controller sets such an owner
    // (controller: true) when the Schedule has `useOwnerReferencesInBackup`
    // (`pkg/builder/backup_builder.go`, `FromSchedule`).
    let enforceable = !controlled(object) && changes_hooks(request, kind, object);
    let (response, verdict, codes) = respond(
        request,
        mode,
        policy,
        &findings,
        enforceable,
        || denial_lines(&label, &findings, &policy.limits, None),
        |finding| named_warning(&label, finding),
        None,
    );
    Decision {
        response,
        verdict,
        kind: Some(kind),
        codes,
    }
}

/// `HV103 schedule/daily spec.template.hooks.resources[0].pre[0].exec.timeout: <problem>`:
/// a Velero object's warning names the object, since a spec path alone does not say which
/// of the applied documents it is about.
fn named_warning(object: &str, finding: &Finding) -> String {
    shorten(
        &format!(
            "{} {object} {}: {}",
            finding.code,
            finding.subject.text(),
            finding.problem
        ),
        WARNING_MAX_CHARS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::ReviewLimits;
    use crate::review::review as decide;
    use serde_json::json;
    use velero_hooks::VeleroVersion;

    fn schedule(hooks: Value) -> Value {
        json!({"apiVersion": "velero.io/v1", "kind": "Schedule",
            "metadata": {"name": "daily", "namespace": "velero"},
            "spec": {"schedule": "0 1 * * *", "template": {"includedNamespaces": ["shop"], "hooks": hooks}}})
    }

    fn bad_hooks() -> Value {
        json!({"resources": [{"name": "freeze",
            "pre": [{"exec": {"container": "db", "command": ["/sbin/fsfreeze", "--freeze", "/data"],
                "onError": "Stop", "timeout": "30"}}]}]})
    }

    fn good_hooks() -> Value {
        json!({"resources": [{"name": "freeze",
            "pre": [{"exec": {"container": "db", "command": ["/sbin/fsfreeze", "--freeze", "/data"],
                "onError": "Fail", "timeout": "30s"}}]}]})
    }

    fn request(operation: Operation, object: Value, old: Option<Value>) -> AdmissionRequest {
        AdmissionRequest {
            uid: "uid-v".to_owned(),
            kind: GroupVersionKind {
                group: "velero.io".to_owned(),
                version: "v1".to_owned(),
                kind: object["kind"].as_str().unwrap().to_owned(),
            },
            sub_resource: None,
            name: Some("daily".to_owned()),
            namespace: Some("velero".to_owned()),
            operation,
            object: Some(object),
            old_object: old,
            dry_run: false,
        }
    }

    fn library_findings(object: &Value) -> Vec<Finding> {
        let decoded = VeleroObject::from_json(object).unwrap().unwrap();
        check(&decoded, VeleroVersion::default())
    }

    #[test]
    fn broken_schedule_is_denied_naming_object_and_path() {
        let object = schedule(bad_hooks());
        let expected = library_findings(&object);
        let errors = expected.iter().filter(|f| f.is_error()).count();
        assert!(errors >= 2, "{expected:?}");
        let decision = decide(
            &request(Operation::Create, object, None),
            Mode::Enforce,
            &Policy::default(),
        );
        assert_eq!(decision.verdict, Verdict::Denied);
        assert_eq!(decision.kind, Some("Schedule"));
        assert_eq!(
            decision.codes,
            expected.iter().map(|f| f.code).collect::<Vec<_>>()
        );
        let message = &decision.response.status.as_ref().unwrap().message;
        assert_eq!(message.lines().count(), errors);
        for line in message.lines() {
            assert!(
                line.starts_with("schedule/daily: spec.template.hooks.resources[0].pre[0].exec."),
                "{line}"
            );
        }
        let warn = decide(
            &request(Operation::Create, schedule(bad_hooks()), None),
            Mode::Warn,
            &Policy::default(),
        );
        assert_eq!(warn.verdict, Verdict::Warned);
        assert_eq!(warn.response.warnings.len(), expected.len());
        assert!(
            warn.response.warnings[0].contains(" schedule/daily spec.template.hooks."),
            "{:?}",
            warn.response.warnings
        );
    }

    #[test]
    fn updates_are_denied_only_when_hooks_change() {
        let old = schedule(bad_hooks());
        let mut paused = old.clone();
        paused["spec"]["paused"] = json!(true);
        let untouched = decide(
            &request(Operation::Update, paused, Some(old.clone())),
            Mode::Enforce,
            &Policy::default(),
        );
        assert_eq!(untouched.verdict, Verdict::Warned);
        let fixed_then_broken = decide(
            &request(Operation::Update, old, Some(schedule(good_hooks()))),
            Mode::Enforce,
            &Policy::default(),
        );
        assert_eq!(fixed_then_broken.verdict, Verdict::Denied);
        // hooks: null and no hooks are the same.
        let mut without = schedule(Value::Null);
        let with_null = without.clone();
        without["spec"]["template"]
            .as_object_mut()
            .unwrap()
            .remove("hooks");
        assert!(!changes_hooks(
            &request(Operation::Update, without.clone(), Some(with_null.clone())),
            "Schedule",
            &without
        ));
    }

    #[test]
    fn backups_and_restores_are_checked_at_spec_hooks() {
        let backup = json!({"apiVersion": "velero.io/v1", "kind": "Backup",
            "metadata": {"name": "daily", "namespace": "velero"},
            "spec": {"hooks": bad_hooks()}});
        let restore = json!({"apiVersion": "velero.io/v1", "kind": "Restore",
            "metadata": {"name": "daily", "namespace": "velero"},
            "spec": {"backupName": "b", "hooks": {"resources": [{"name": "init",
                "postHooks": [{"init": {"initContainers": [{"image": "busybox"}]}}]}]}}});
        for (object, prefix) in [
            (backup, "backup/daily: spec.hooks.resources[0]"),
            (restore, "restore/daily: spec.hooks.resources[0]"),
        ] {
            let decision = decide(
                &request(Operation::Create, object.clone(), None),
                Mode::Enforce,
                &Policy::default(),
            );
            assert_eq!(decision.verdict, Verdict::Denied, "{object}");
            let message = &decision.response.status.as_ref().unwrap().message;
            assert!(message.starts_with(prefix), "{message}");
            // /mutate leaves Velero objects alone.
            let mutate = decide(
                &request(Operation::Create, object, None),
                Mode::Mutate,
                &Policy::default(),
            );
            assert_eq!(mutate.verdict, Verdict::Allowed);
            assert!(mutate.response.patch.is_none());
        }
    }

    #[test]
    fn valid_and_undecodable_specs() {
        let valid = decide(
            &request(Operation::Create, schedule(good_hooks()), None),
            Mode::Enforce,
            &Policy::default(),
        );
        assert_eq!(valid.verdict, Verdict::Allowed, "{:?}", valid.response);
        let undecodable = decide(
            &request(Operation::Create, schedule(json!({"resources": "x"})), None),
            Mode::Enforce,
            &Policy::default(),
        );
        assert_eq!(undecodable.verdict, Verdict::Denied);
        assert_eq!(undecodable.codes, ["HV100"]);
    }

    #[test]
    fn controller_owned_backups_are_warned_not_denied() {
        let mut backup = json!({"apiVersion": "velero.io/v1", "kind": "Backup",
            "metadata": {"name": "daily-20261203", "namespace": "velero",
                "ownerReferences": [{"apiVersion": "velero.io/v1", "kind": "Schedule",
                    "name": "daily", "uid": "x", "controller": true}]},
            "spec": {"hooks": bad_hooks()}});
        let owned = decide(
            &request(Operation::Create, backup.clone(), None),
            Mode::Enforce,
            &Policy::default(),
        );
        assert_eq!(owned.verdict, Verdict::Warned);
        backup["metadata"]["ownerReferences"][0]["controller"] = json!(false);
        let not_owned = decide(
            &request(Operation::Create, backup, None),
            Mode::Enforce,
            &Policy::default(),
        );
        assert_eq!(not_owned.verdict, Verdict::Denied);
    }

    #[test]
    fn caps_hold_for_spec_findings() {
        let hook = json!({"exec": {"command": [], "onError": "Stop", "timeout": "30"}});
        let many = json!({"resources": [{"name": "a", "pre": vec![hook; 100]}]});
        let limits = ReviewLimits {
            max_findings: 10,
            max_denial_bytes: 2000,
            ..ReviewLimits::default()
        };
        let policy = Policy {
            limits,
            ..Policy::default()
        };
        let decision = decide(
            &request(Operation::Create, schedule(many), None),
            Mode::Enforce,
            &policy,
        );
        assert_eq!(decision.verdict, Verdict::Denied);
        assert_eq!(decision.codes.len(), 10);
        let message = &decision.response.status.as_ref().unwrap().message;
        assert!(message.len() <= 2000, "{}", message.len());
        assert!(
            message
                .lines()
                .last()
                .unwrap()
                .ends_with("more errors not shown"),
            "{message}"
        );
        assert!(decision.response.warnings.len() <= crate::review::MAX_WARNINGS);
    }

    #[test]
    fn other_groups_and_kinds_are_not_velero() {
        let kind = |group: &str, kind: &str| GroupVersionKind {
            group: group.to_owned(),
            version: "v1".to_owned(),
            kind: kind.to_owned(),
        };
        assert_eq!(
            velero_kind(&kind("velero.io", "Schedule")),
            Some("Schedule")
        );
        assert_eq!(
            velero_kind(&kind("velero.io", "BackupStorageLocation")),
            None
        );
        assert_eq!(velero_kind(&kind("example.com", "Backup")), None);
    }
}
