//! `validate -o github`: GitHub Actions workflow commands (`::error file=…,line=…::…`), which
//! the runner turns into annotations on the pull request's changed lines, no upload needed.
//! Escaping follows GitHub's toolkit (`@actions/core`, `command.ts`): `%`, CR and LF in the
//! message; those and `:` and `,` in properties.

use std::fmt::Write;

use velero_hooks::{Finding, Severity};

use crate::commands::validate::Checked;
use crate::manifest::{InputError, Spot};

/// One command per finding and per unreadable input, in input order. Silenced findings are
/// left out (the summary line counts them).
pub fn commands(checked: &[Checked], input_errors: &[InputError]) -> String {
    let mut out = String::new();
    for item in checked {
        let object = item.report.display_name();
        for (finding, line) in item.report.findings.iter().zip(&item.finding_lines) {
            // `<stdin>` is no file of the repository: no annotation is placed on a line,
            // and the message says where instead.
            let at = line.or(item.origin.line.map(Spot::line));
            let (file, message) = match item.origin.file.as_deref() {
                Some(stdin) if stdin.starts_with('<') => (
                    None,
                    format!(
                        "{stdin}:{}: {}",
                        at.map_or(0, |a| a.line),
                        finding_message(&object, finding)
                    ),
                ),
                file => (file, finding_message(&object, finding)),
            };
            command(
                &mut out,
                finding.severity,
                file,
                at,
                &format!("{} {}", finding.code, finding.rule),
                &message,
            );
        }
    }
    for err in input_errors {
        let file = (!err.source.starts_with('<')).then_some(err.source.as_str());
        let message = match file {
            Some(_) => err.message.clone(),
            None => err.to_string(),
        };
        command(
            &mut out,
            Severity::Error,
            file,
            err.line,
            "input error",
            &message,
        );
    }
    out
}

fn finding_message(object: &str, finding: &Finding) -> String {
    format!(
        "{object}: {}: {}\nvelero: {}\nfix: {}",
        finding.subject.text(),
        finding.problem,
        finding.velero_does,
        finding.fix
    )
}

fn command(
    out: &mut String,
    severity: Severity,
    file: Option<&str>,
    at: Option<Spot>,
    title: &str,
    message: &str,
) {
    let name = match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut properties = Vec::new();
    if let Some(file) = file {
        properties.push(format!("file={}", escape_property(file)));
        if let Some(at) = at {
            properties.push(format!("line={}", at.line));
            if let Some(column) = at.column {
                properties.push(format!("col={column}"));
            }
        }
    }
    properties.push(format!("title={}", escape_property(title)));
    let _ = writeln!(
        out,
        "::{name} {}::{}",
        properties.join(","),
        escape_data(message)
    );
}

/// A command's message: `%`, CR and LF are escaped so that one command stays one line.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: also `:` and `,`, which would end the value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_githubs_toolkit() {
        assert_eq!(
            escape_data("50% done\r\nnext: a,b"),
            "50%25 done%0D%0Anext: a,b"
        );
        assert_eq!(
            escape_property("dir,v2/a:b%.yaml\n"),
            "dir%2Cv2/a%3Ab%25.yaml%0A"
        );
    }

    #[test]
    fn one_line_per_command_with_file_line_and_title() {
        let mut out = String::new();
        command(
            &mut out,
            Severity::Warning,
            Some("k8s/a,b.yaml"),
            Some(Spot::line(12)),
            "HV011 on-error-unset",
            "deployment/web: x\nfix: y",
        );
        assert_eq!(
            out,
            "::warning file=k8s/a%2Cb.yaml,line=12,title=HV011 on-error-unset::deployment/web: x%0Afix: y\n"
        );
        let mut out = String::new();
        command(
            &mut out,
            Severity::Error,
            None,
            Some(Spot::line(3)),
            "input error",
            "a",
        );
        assert_eq!(
            out, "::error title=input error::a\n",
            "no line without a file"
        );
    }
}
