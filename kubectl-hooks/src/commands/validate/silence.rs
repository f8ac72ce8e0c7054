//! Silencing findings as linters do: `--ignore CODE` for a whole run, and the
//! `velero-hooks.io/ignore` annotation for one object. A silenced finding is kept, counted
//! and shown as suppressed in SARIF; it only stops counting towards the exit status.

use serde::Serialize;
use serde_json::Value;
use velero_hooks::Finding;
use velero_hooks::rules::{RULES, rule_by_code};

use super::Checked;
use crate::manifest::{InputError, Spot};

/// The annotation that silences codes on one object: on the object's own metadata or on
/// its pod template's metadata, a comma- or space-separated list of codes or rule names.
/// Velero ignores it (it reads only its own keys), and so do the hook rules.
pub const IGNORE_ANNOTATION: &str = "velero-hooks.io/ignore";

/// Why a finding was silenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SilencedBy {
    /// `--ignore` on the command line.
    Flag,
    /// The object's `velero-hooks.io/ignore` annotation.
    Annotation,
}

/// A finding that is reported as ignored rather than counted.
#[derive(Debug, Clone)]
pub struct Silenced {
    pub finding: Finding,
    pub line: Option<Spot>,
    pub by: SilencedBy,
}

/// What an object's ignore annotation says, read when the object is checked (the object
/// itself is not kept).
#[derive(Debug, Clone, Default)]
pub struct IgnoreAnnotation {
    pub codes: Vec<&'static str>,
    /// Values that are not rule codes or names, each with its message.
    pub problems: Vec<String>,
    /// The line of the annotation, looked up only when there is a problem to point at.
    pub line: Option<usize>,
}

impl IgnoreAnnotation {
    /// Reads the annotation from `object`'s metadata and its pod template's metadata.
    pub fn read(object: &Value, line_of: impl Fn(&str) -> Option<usize>) -> Self {
        let template = velero_hooks::locate(object).and_then(|t| t.metadata);
        let own = object.get("metadata");
        let mut read = IgnoreAnnotation::default();
        // A Pod's template metadata is its own metadata: read it once.
        let template = template.filter(|t| own.is_none_or(|o| !std::ptr::eq(*t, o)));
        let places = [(own, ""), (template, " (pod template)")];
        for (value, place) in places.into_iter().filter_map(|(metadata, place)| {
            Some((
                metadata?.pointer("/annotations")?.get(IGNORE_ANNOTATION)?,
                place,
            ))
        }) {
            let Some(text) = value.as_str() else {
                read.problems.push(format!(
                    "{IGNORE_ANNOTATION}{place} is {value}, not a string: quote it, e.g. \"HV011,HV020\""
                ));
                continue;
            };
            for word in text.split([',', ' ', '\t', '\n']).filter(|w| !w.is_empty()) {
                match rule_code(word) {
                    Ok(code) if !read.codes.contains(&code) => read.codes.push(code),
                    Ok(_) => {}
                    Err(message) => read
                        .problems
                        .push(format!("{IGNORE_ANNOTATION}{place}: {message}")),
                }
            }
        }
        if !read.problems.is_empty() {
            read.line = line_of(IGNORE_ANNOTATION);
        }
        read
    }
}

/// The registry's code for a rule given by code (any case) or by name; an error listing
/// the valid codes otherwise.
pub fn rule_code(text: &str) -> Result<&'static str, String> {
    let text = text.trim();
    if let Some(rule) = rule_by_code(&text.to_ascii_uppercase()) {
        return Ok(rule.code);
    }
    if let Some(rule) = RULES.iter().find(|r| r.name.eq_ignore_ascii_case(text)) {
        return Ok(rule.code);
    }
    if text.is_empty() {
        return Err(
            "an empty rule code (two commas in a row, or one at the end?): write codes as HV020,HV011"
                .to_owned(),
        );
    }
    let codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
    Err(format!(
        "unknown rule `{text}`; valid codes: {} (`kubectl hooks rules` describes each)",
        codes.join(", ")
    ))
}

/// Moves the findings silenced by `flags` or by the object's annotation out of the report
/// into `checked.silenced`; returns the annotation's problems as input errors.
pub fn apply(checked: &mut Checked, flags: &[&'static str]) -> Vec<InputError> {
    let findings = std::mem::take(&mut checked.report.findings);
    let lines = std::mem::take(&mut checked.finding_lines);
    for (finding, line) in findings.into_iter().zip(lines) {
        let by = if flags.contains(&finding.code) {
            Some(SilencedBy::Flag)
        } else if checked.ignore.codes.contains(&finding.code) {
            Some(SilencedBy::Annotation)
        } else {
            None
        };
        match by {
            Some(by) => checked.silenced.push(Silenced { finding, line, by }),
            None => {
                checked.report.findings.push(finding);
                checked.finding_lines.push(line);
            }
        }
    }
    let object = checked.report.display_name();
    let source = checked.origin.file.as_deref().unwrap_or("<cluster>");
    checked
        .ignore
        .problems
        .iter()
        .map(|problem| InputError {
            source: source.to_owned(),
            line: checked.ignore.line.or(checked.origin.line).map(Spot::line),
            message: format!("{object}: {problem}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_and_names_in_any_case_name_the_same_rule() {
        assert_eq!(rule_code("HV011"), Ok("HV011"));
        assert_eq!(rule_code("hv011"), Ok("HV011"));
        assert_eq!(rule_code("on-error-unset"), Ok("HV011"));
        let err = rule_code("HV999").unwrap_err();
        assert!(err.contains("unknown rule `HV999`"), "{err}");
        assert!(err.contains("HV001") && err.contains("HV020"), "{err}");
    }

    #[test]
    fn the_annotation_is_read_on_the_workload_and_on_its_pod_template() {
        let deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "annotations": {IGNORE_ANNOTATION: "HV011, hv020"}},
            "spec": {"template": {
                "metadata": {"annotations": {IGNORE_ANNOTATION: "timeout-zero HV011"}},
                "spec": {"containers": [{"name": "web"}]}}}
        });
        let read = IgnoreAnnotation::read(&deployment, |_| unreachable!("no problem to locate"));
        assert_eq!(read.codes, ["HV011", "HV020", "HV021"]);
        assert!(read.problems.is_empty());
    }

    #[test]
    fn unknown_codes_and_non_strings_are_problems_with_a_line() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "db", "annotations": {IGNORE_ANNOTATION: "HV011,HV999"}},
            "spec": {"containers": [{"name": "db"}]}
        });
        let read = IgnoreAnnotation::read(&pod, |key| {
            assert_eq!(key, IGNORE_ANNOTATION);
            Some(7)
        });
        assert_eq!(read.codes, ["HV011"]);
        assert_eq!(read.problems.len(), 1, "a Pod's metadata is read once");
        assert!(read.problems[0].contains("unknown rule `HV999`"));
        assert_eq!(read.line, Some(7));

        let number = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "db", "annotations": {IGNORE_ANNOTATION: 11}}});
        let read = IgnoreAnnotation::read(&number, |_| None);
        assert!(
            read.problems[0].contains("not a string"),
            "{:?}",
            read.problems
        );
    }
}
