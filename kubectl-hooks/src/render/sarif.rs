//! `validate -o sarif`: a SARIF 2.1.0 log for code-scanning dashboards (GitHub, GitLab,
//! Azure DevOps). One rule per code of the library's registry, one result per finding,
//! unreadable input as results of a rule of its own, silenced findings as suppressed results.

use serde_json::{Value, json};
use velero_hooks::rules::{RULES, Rule};
use velero_hooks::{Finding, Severity, Subject};

use crate::commands::validate::Checked;
use crate::commands::validate::silence::{IGNORE_ANNOTATION, SilencedBy};
use crate::manifest::{InputError, Spot};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/velero-hooks/velero-hooks";
const HELP_URI: &str = "https://github.com/velero-hooks/velero-hooks#kubectl-hooks-validate";
/// The rule id of input that could not be read; not an `HV` code, so it can never collide
/// with a rule of the registry.
pub const INPUT_ERROR_RULE: &str = "input-error";
/// The key of our fingerprint in `partialFingerprints`; the suffix changes only if what
/// the fingerprint covers changes.
pub const FINGERPRINT_KEY: &str = "veleroHooksFinding/v1";

/// The whole log: one run of `kubectl-hooks`.
pub fn log(checked: &[Checked], input_errors: &[InputError]) -> Value {
    let mut results = Vec::new();
    let mut seen = Vec::new();
    for item in checked {
        let object = ObjectId::of(item);
        let file = item.origin.file.as_deref();
        let found = item.report.findings.iter().zip(&item.finding_lines);
        let silenced = item.silenced.iter().map(|s| (&s.finding, &s.line));
        for (n, (finding, line)) in found.chain(silenced).enumerate() {
            let by = n
                .checked_sub(item.report.findings.len())
                .map(|i| item.silenced[i].by);
            let at = line.or(item.origin.line.map(Spot::line));
            let mut result = finding_result(finding, file, at, &object);
            let print = fingerprint(finding, file, &object, &mut seen);
            result["partialFingerprints"] = json!({ FINGERPRINT_KEY: print });
            if let Some(by) = by {
                result["suppressions"] = json!([suppression(by)]);
            }
            results.push(result);
        }
    }
    results.extend(input_errors.iter().map(input_error_result));
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kubectl-hooks",
                "fullName": "kubectl hooks validate",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": RULES.iter().map(rule_descriptor)
                    .chain(std::iter::once(input_error_descriptor()))
                    .collect::<Vec<_>>(),
            }},
            "invocations": [{"executionSuccessful": true}],
            "results": results,
        }],
    })
}

/// What names an object across runs: `kind`, `namespace`, `name` (never its line).
struct ObjectId {
    kind: &'static str,
    namespace: String,
    name: String,
    display: String,
}

impl ObjectId {
    fn of(item: &Checked) -> Self {
        ObjectId {
            kind: item.report.kind.kind,
            namespace: item.report.namespace.clone().unwrap_or_default(),
            name: item.report.name.clone(),
            display: item.report.display_name(),
        }
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn rule_index(code: &str) -> usize {
    RULES
        .iter()
        .position(|r| r.code == code)
        .unwrap_or(RULES.len())
}

fn rule_descriptor(rule: &Rule) -> Value {
    let summary = sentence(rule.summary);
    let help = format!(
        "{summary} Each result says what Velero does with the value as written and how to fix \
         it. To accept this finding on one object, list {code} in its `{IGNORE_ANNOTATION}` \
         annotation; to turn the rule off, pass `--ignore {code}`.",
        code = rule.code
    );
    json!({
        "id": rule.code,
        "name": pascal_case(rule.name),
        "shortDescription": {"text": summary},
        "fullDescription": {"text": summary},
        "help": {"text": help, "markdown": help},
        "helpUri": HELP_URI,
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": {"tags": ["velero", "backup-hooks"], "ruleName": rule.name},
    })
}

fn input_error_descriptor() -> Value {
    let text = "The input could not be read as Kubernetes objects, so nothing in it was checked.";
    json!({
        "id": INPUT_ERROR_RULE,
        "name": "InputError",
        "shortDescription": {"text": text},
        "fullDescription": {"text": text},
        "help": {
            "text": "The message names the file, the line and what is wrong (unreadable file, \
                     invalid YAML, a document that is not an object, an unknown code in an \
                     ignore annotation). Fix the input and run validate again.",
        },
        "helpUri": HELP_URI,
        "defaultConfiguration": {"level": "error"},
    })
}

fn finding_result(
    finding: &Finding,
    file: Option<&str>,
    at: Option<Spot>,
    object: &ObjectId,
) -> Value {
    let message = format!(
        "{}: {}: {} Velero: {} Fix: {}",
        object.display,
        finding.subject.text(),
        sentence(&finding.problem),
        sentence(&finding.velero_does),
        sentence(&finding.fix)
    );
    let mut location = physical_location(file, at).unwrap_or_else(|| json!({}));
    location["logicalLocations"] = json!([{
        "fullyQualifiedName": object.display,
        "kind": "resource",
    }]);
    let mut properties = json!({
        "object": {"kind": object.kind, "name": object.name},
        "rule": finding.rule,
    });
    if !object.namespace.is_empty() {
        properties["object"]["namespace"] = json!(object.namespace);
    }
    match &finding.subject {
        Subject::Annotation(key) => properties["key"] = json!(key),
        other => properties["path"] = json!(other.text()),
    }
    if let Some(pointer) = &finding.pointer {
        properties["pointer"] = json!(pointer);
    }
    json!({
        "ruleId": finding.code,
        "ruleIndex": rule_index(finding.code),
        "level": level(finding.severity),
        "message": {"text": message},
        "locations": [location],
        "properties": properties,
    })
}

fn input_error_result(err: &InputError) -> Value {
    let mut result = json!({
        "ruleId": INPUT_ERROR_RULE,
        "ruleIndex": RULES.len(),
        "level": "error",
        "message": {"text": sentence(&err.to_string())},
    });
    if let Some(location) = physical_location(Some(&err.source), err.line) {
        result["locations"] = json!([location]);
    }
    result
}

/// A location in a file; none for stdin and live objects.
fn physical_location(file: Option<&str>, at: Option<Spot>) -> Option<Value> {
    let uri = file.and_then(artifact_uri)?;
    let mut physical = json!({"artifactLocation": {"uri": uri}});
    if let Some(at) = at.filter(|at| at.line > 0) {
        physical["region"] = json!({"startLine": at.line});
        if let Some(column) = at.column {
            physical["region"]["startColumn"] = json!(column);
        }
    }
    Some(json!({"physicalLocation": physical}))
}

fn suppression(by: SilencedBy) -> Value {
    match by {
        SilencedBy::Annotation => json!({
            "kind": "inSource",
            "justification": format!("listed in the object's {IGNORE_ANNOTATION} annotation"),
        }),
        SilencedBy::Flag => json!({
            "kind": "external",
            "justification": "turned off with --ignore",
        }),
    }
}

/// A path as a URI reference: relative paths stay relative (dashboards resolve them against
/// the checkout), absolute ones become `file://` URIs; `<stdin>` and `<cluster>` have none.
pub fn artifact_uri(path: &str) -> Option<String> {
    if path.is_empty() || (path.starts_with('<') && path.ends_with('>')) {
        return None;
    }
    let path = path.replace('\\', "/");
    let mut relative = path.as_str();
    while let Some(rest) = relative.strip_prefix("./") {
        relative = rest;
    }
    let encoded = percent_encode(relative);
    Some(if relative.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    })
}

/// Percent-encodes every byte outside RFC 3986's unreserved characters and `/`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A fingerprint that survives edits that move lines: the code, the file, the object and
/// the key or path, plus an ordinal among identical findings so that none share one.
fn fingerprint(
    finding: &Finding,
    file: Option<&str>,
    object: &ObjectId,
    seen: &mut Vec<u128>,
) -> String {
    let file = file.and_then(artifact_uri).unwrap_or_default();
    let parts = [
        finding.code,
        &file,
        object.kind,
        &object.namespace,
        &object.name,
        finding.subject.text(),
    ];
    let identity = fnv1a_128(parts.join("\0").as_bytes());
    let ordinal = seen.iter().filter(|s| **s == identity).count();
    seen.push(identity);
    format!("{identity:032x}:{ordinal}")
}

/// FNV-1a, 128 bits: fully specified, so fingerprints stay the same across releases and
/// platforms (std's hasher promises neither); nothing here needs resistance to attackers.
fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes.iter().fold(OFFSET, |hash, byte| {
        (hash ^ u128::from(*byte)).wrapping_mul(PRIME)
    })
}

/// SARIF viewers expect messages to be sentences.
fn sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

/// `on-error-unset` → `OnErrorUnset`, the form SARIF uses for rule names.
fn pascal_case(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or(String::new(), |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_128_matches_the_published_test_vectors() {
        assert_eq!(fnv1a_128(b""), 0x6c62272e07bb014262b821756295c58d);
        assert_eq!(fnv1a_128(b"a"), 0xd228cb696f1a8caf78912b704e4a8964);
        assert_eq!(fnv1a_128(b"foobar"), 0x343e1662793c64bf6f0d3597ba446f18);
    }

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(
            artifact_uri("./k8s/web.yaml").as_deref(),
            Some("k8s/web.yaml")
        );
        assert_eq!(
            artifact_uri("/srv/my apps/web.yaml").as_deref(),
            Some("file:///srv/my%20apps/web.yaml")
        );
        assert_eq!(artifact_uri("a#b%.yaml").as_deref(), Some("a%23b%25.yaml"));
        assert_eq!(artifact_uri("<stdin>"), None);
        assert_eq!(artifact_uri("<cluster>"), None);
    }

    #[test]
    fn spec_findings_carry_their_path_and_annotation_findings_their_key() {
        let object = ObjectId {
            kind: "Schedule",
            namespace: "velero".into(),
            name: "nightly".into(),
            display: "schedule/nightly -n velero".into(),
        };
        let path = "spec.template.hooks.resources[0].pre[0].exec.timeout";
        let spec = Finding::about(
            &velero_hooks::spec::rules::SPEC_TIMEOUT_INVALID,
            Subject::Spec(path.into()),
            "`300` is not a Go duration",
            "Velero uses 30s",
            "write 300s",
        );
        let result = finding_result(&spec, Some("schedule.yaml"), Some(Spot::line(12)), &object);
        assert_eq!(result["properties"]["path"], path);
        assert!(result["properties"].get("key").is_none());
        assert_eq!(result["ruleId"], spec.code);
        assert_eq!(result["ruleIndex"], rule_index(spec.code));
        assert!(rule_index(spec.code) < RULES.len());

        let key = "pre.hook.backup.velero.io/timeout";
        let annotation = Finding::about(
            &velero_hooks::rules::TIMEOUT_INVALID,
            Subject::annotation(key),
            "p",
            "v",
            "f",
        );
        let at = Spot {
            line: 12,
            column: Some(9),
        };
        let result = finding_result(&annotation, Some("schedule.yaml"), Some(at), &object);
        assert_eq!(
            result["locations"][0]["physicalLocation"]["region"],
            json!({"startLine": 12, "startColumn": 9})
        );
        assert_eq!(result["properties"]["key"], key);
        assert!(result["properties"].get("path").is_none());
        // The subject is part of the fingerprint: the same code on two fields differs.
        let mut same_code = annotation.clone();
        same_code.subject = Subject::Spec(path.into());
        let mut seen = Vec::new();
        let a = fingerprint(&annotation, Some("schedule.yaml"), &object, &mut seen);
        let b = fingerprint(&same_code, Some("schedule.yaml"), &object, &mut seen);
        assert_ne!(a.split(':').next(), b.split(':').next());
        assert!(a.ends_with(":0") && b.ends_with(":0"), "{a} {b}");
    }

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(pascal_case("on-error-unset"), "OnErrorUnset");
        assert_eq!(pascal_case("timeout-over-4h"), "TimeoutOver4h");
    }
}
