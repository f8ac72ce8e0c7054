//! The decision on AdmissionReview bodies shaped like kube-apiserver's, without a socket:
//! every kind (workloads, and Velero's Backup, Schedule and Restore), CREATE and UPDATE,
//! controller-created objects, dry runs. Verdicts must follow
//! the library's findings on the same object (the webhook has no rules of its own), and the
//! text users read is snapshotted.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use velero_hooks::spec::{VeleroObject, check};
use velero_hooks::workload::WORKLOAD_KINDS;
use velero_hooks::{Finding, VeleroVersion, check_object};
use velero_hooks_webhook::admission::parse_review;
use velero_hooks_webhook::review::{Mode, Policy, Verdict, WARNING_MAX_CHARS, review};

fn fixtures() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_str().unwrap().to_owned();
            (name, read_json(&p))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 30, "fixtures missing in {}", dir.display());
    out
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn expected(name: &str) -> Verdict {
    match name.rsplit('-').next() {
        Some("denied") => Verdict::Denied,
        Some("warned") => Verdict::Warned,
        Some("allowed") => Verdict::Allowed,
        _ => panic!("fixture {name} does not end with its verdict"),
    }
}

/// What the library says of the object: its kind, `kind/name` and findings, for workloads
/// (`check_object`) and Velero's objects (`spec::check`); `None` for anything else.
fn library_findings(object: &Value) -> Option<(&'static str, String, Vec<Finding>)> {
    if let Some(report) = check_object(object, VeleroVersion::default()) {
        let name = format!("{}/{}", report.kind.kind.to_ascii_lowercase(), report.name);
        return Some((report.kind.kind, name, report.findings));
    }
    let decoded = VeleroObject::from_json(object)?.unwrap();
    let kind = decoded.kind.as_str();
    let name = format!("{}/{}", kind.to_ascii_lowercase(), decoded.name);
    Some((kind, name, check(&decoded, VeleroVersion::default())))
}

fn decide(body: &Value, mode: Mode) -> velero_hooks_webhook::review::Decision {
    let request = parse_review(&serde_json::to_vec(body).unwrap()).unwrap();
    review(&request, mode, &Policy::default())
}

#[test]
fn verdicts_follow_the_library_findings() {
    let mut covered = BTreeSet::new();
    for (name, body) in fixtures() {
        let request = &body["request"];
        let object = &request["object"];
        let report = library_findings(object);
        let library_codes: Vec<&str> = report
            .iter()
            .flat_map(|(_, _, findings)| findings.iter().map(|f| f.code))
            .collect();
        let enforce = decide(&body, Mode::Enforce);
        assert_eq!(enforce.verdict, expected(&name), "{name}");
        assert_eq!(enforce.response.uid, request["uid"], "{name}");
        assert_eq!(
            enforce.response.allowed,
            enforce.verdict != Verdict::Denied,
            "{name}"
        );
        assert_eq!(
            enforce.codes, library_codes,
            "{name}: webhook and library disagree"
        );
        if let Some((kind, object_name, findings)) = &report {
            let errors = findings.iter().filter(|f| f.is_error()).count();
            // Denials list every error, each naming the object and what it is about;
            // allowed answers carry every finding as a warning.
            let expected_warnings = if enforce.verdict == Verdict::Denied {
                let message = &enforce.response.status.as_ref().unwrap().message;
                assert_eq!(message.lines().count(), errors, "{name}");
                let subjects = findings.iter().filter(|f| f.is_error());
                for (line, finding) in message.lines().zip(subjects) {
                    let start = format!("{object_name}: {}: ", finding.subject.text());
                    assert!(line.starts_with(&start), "{name}: {line}");
                }
                findings.len() - errors
            } else {
                findings.len()
            };
            assert_eq!(enforce.response.warnings.len(), expected_warnings, "{name}");
            assert!(
                enforce
                    .response
                    .warnings
                    .iter()
                    .all(|w| w.chars().count() <= WARNING_MAX_CHARS && !w.starts_with("Warning")),
                "{name}"
            );
            if !findings.is_empty() {
                let audit = &enforce.response.audit_annotations["findings"];
                let unique: BTreeSet<&str> = library_codes.iter().copied().collect();
                assert_eq!(audit.split(',').collect::<BTreeSet<_>>(), unique, "{name}");
            }
            covered.insert((*kind, request["operation"].as_str().unwrap().to_owned()));
        }

        // /warn: same findings, never denied.
        let warn = decide(&body, Mode::Warn);
        assert!(
            warn.response.allowed && warn.response.status.is_none(),
            "{name}"
        );
        assert_eq!(warn.codes, library_codes, "{name}");
        let expected_warn = if library_codes.is_empty() {
            Verdict::Allowed
        } else {
            Verdict::Warned
        };
        assert_eq!(warn.verdict, expected_warn, "{name}");

        // /mutate with nothing configured: allowed, no patch.
        let mutate = decide(&body, Mode::Mutate);
        assert!(
            mutate.response.allowed && mutate.response.patch.is_none(),
            "{name}"
        );
    }
    let kinds = WORKLOAD_KINDS.iter().map(|k| k.kind);
    for kind in kinds.chain(velero_hooks_webhook::velero::VELERO_KINDS) {
        for operation in ["CREATE", "UPDATE"] {
            assert!(
                covered.contains(&(kind, operation.to_owned())),
                "no fixture for {kind} {operation}"
            );
        }
    }
}

/// What a user reads: the denial (after kube-apiserver's `admission webhook "..." denied
/// the request: `), the `Warning:` lines kubectl prints, and the audit annotation.
fn rendered(body: &Value, mode: Mode) -> String {
    let decision = decide(body, mode);
    let mut out = format!("verdict: {}\n", decision.verdict.as_str());
    if let Some(status) = &decision.response.status {
        out.push_str(&format!(
            "denied ({} {}):\n{}\n",
            status.code, status.reason, status.message
        ));
    }
    for warning in &decision.response.warnings {
        out.push_str(&format!("Warning: {warning}\n"));
    }
    for (key, value) in &decision.response.audit_annotations {
        out.push_str(&format!("audit {key}={value}\n"));
    }
    out
}

#[test]
fn what_users_read() {
    for (name, body) in fixtures() {
        insta::assert_snapshot!(name.clone(), rendered(&body, Mode::Enforce));
    }
}

#[test]
fn warn_mode_text() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for name in ["deployment-create-denied", "pod-create-denied"] {
        let body = read_json(&dir.join(format!("{name}.json")));
        insta::assert_snapshot!(format!("warn-{name}"), rendered(&body, Mode::Warn));
    }
}

/// The project's shared examples of real kube-apiserver traffic, when they are beside the
/// repository: their file names say what the webhook should answer.
#[test]
fn shared_reference_examples() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/admission");
    if !dir.is_dir() {
        eprintln!("skipped: {} not present", dir.display());
        return;
    }
    for (file, verdict) in [
        ("configmap-ignored", Verdict::Allowed),
        ("cronjob-create-valid", Verdict::Allowed),
        ("deployment-create-bad-command", Verdict::Denied),
        ("deployment-create-valid", Verdict::Allowed),
        (
            "deployment-update-scale-keeps-old-bad-hooks",
            Verdict::Warned,
        ),
        ("pod-create-owned-invalid-warns", Verdict::Warned),
        ("pod-create-timeout-no-unit", Verdict::Denied),
        ("pod-create-valid-fsfreeze", Verdict::Allowed),
    ] {
        let path = dir.join(format!("{file}.json"));
        if !path.exists() {
            continue;
        }
        let decision = decide(&read_json(&path), Mode::Enforce);
        // "valid" examples may still carry warnings (on-error unset, say): never denied.
        let got = match (verdict, decision.verdict) {
            (Verdict::Allowed, Verdict::Warned) => Verdict::Allowed,
            (_, got) => got,
        };
        assert_eq!(got, verdict, "{file}");
    }
}
