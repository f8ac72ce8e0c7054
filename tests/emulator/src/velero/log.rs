//! Velero's backup log as logrus writes it (`--log-format text|json`), with the error and
//! warning counts Velero puts in the Backup's status.

use serde_json::{Value, json};

use super::rfc3339;
use super::run::{FieldValue, Line};

/// Velero's two log formats (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Velero's logrus output for one backup, with its Error/Warning counters.
pub struct LogWriter {
    format: LogFormat,
    backup: String,
    pub text: String,
    pub errors: i64,
    pub warnings: i64,
}

impl LogWriter {
    pub fn new(format: LogFormat, namespace: &str, name: &str) -> Self {
        LogWriter {
            format,
            backup: format!("{namespace}/{name}"),
            text: String::new(),
            errors: 0,
            warnings: 0,
        }
    }

    pub(crate) fn info(
        &mut self,
        msg: &str,
        fields: &[(&'static str, FieldValue)],
        source: &'static str,
    ) {
        self.push(&Line {
            level: "info",
            msg: msg.into(),
            fields: fields.to_vec(),
            source,
        });
    }

    pub(crate) fn error(
        &mut self,
        msg: &str,
        fields: &[(&'static str, FieldValue)],
        source: &'static str,
    ) {
        self.push(&Line {
            level: "error",
            msg: msg.into(),
            fields: fields.to_vec(),
            source,
        });
    }

    pub fn push(&mut self, line: &Line) {
        match line.level {
            "error" => self.errors += 1,
            "warning" => self.warnings += 1,
            _ => {}
        }
        let time = rfc3339(jiff::Timestamp::now());
        let mut fields: Vec<(&str, FieldValue)> =
            vec![("backup", FieldValue::Text(self.backup.clone()))];
        fields.extend(line.fields.iter().cloned());
        fields.push(("logSource", FieldValue::Text(line.source.into())));
        fields.sort_by_key(|(k, _)| *k);
        match self.format {
            LogFormat::Text => {
                let mut out = format!(
                    "time={} level={} msg={}",
                    quote(&time),
                    line.level,
                    quote(&line.msg)
                );
                for (key, value) in fields {
                    let text = match value {
                        FieldValue::Text(t) => t,
                        FieldValue::List(items) => format!("[{}]", items.join(" ")),
                        FieldValue::Duration(d) => format!("{{{d}}}"),
                    };
                    out.push_str(&format!(" {key}={}", quote(&text)));
                }
                self.text.push_str(&out);
            }
            LogFormat::Json => {
                let mut object = serde_json::Map::new();
                for (key, value) in fields {
                    object.insert(
                        key.into(),
                        match value {
                            FieldValue::Text(t) | FieldValue::Duration(t) => json!(t),
                            FieldValue::List(items) => json!(items),
                        },
                    );
                }
                object.insert("level".into(), json!(line.level));
                object.insert("msg".into(), json!(line.msg));
                object.insert("time".into(), json!(time));
                self.text.push_str(&Value::Object(object).to_string());
            }
        }
        self.text.push('\n');
    }
}

/// logrus' text formatter: values with characters outside `[A-Za-z0-9-._/@^+]` are quoted
/// with Go's `%q`.
fn quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    if plain {
        return text.to_owned();
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_quoting_like_logrus() {
        assert_eq!(quote("exec"), "exec");
        assert_eq!(quote("velero/b1"), "velero/b1");
        assert_eq!(quote("<from-annotation>"), "\"<from-annotation>\"");
        assert_eq!(quote("a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
        assert_eq!(quote(""), "\"\"");
    }
}
