//! How Velero turns a `command` annotation into the argv it execs.
//!
//! Velero looks at the first byte only: `[` means "decode as a JSON array of strings",
//! and any decoding failure silently falls back to the whole raw value as one program
//! name. Anything else is one program name too: there is no shell and no splitting.

/// How the raw value was understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandForm {
    /// Decoded as a JSON array of strings.
    JsonArray,
    /// Not starting with `[`: the whole value is the program name.
    Plain,
    /// Starting with `[` but not a JSON array of strings: the whole value is the program name.
    MalformedJson { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Exactly what Velero will exec.
    pub argv: Vec<String>,
    pub form: CommandForm,
    /// Elements that were JSON `null` (Go decodes them as empty strings).
    pub null_elements: Vec<usize>,
}

pub fn parse_command(raw: &str) -> Command {
    if raw.as_bytes().first() != Some(&b'[') {
        return Command {
            argv: vec![raw.to_owned()],
            form: CommandForm::Plain,
            null_elements: Vec::new(),
        };
    }
    match serde_json::from_str::<Vec<Option<String>>>(raw) {
        Ok(elements) => {
            let null_elements = elements
                .iter()
                .enumerate()
                .filter(|(_, e)| e.is_none())
                .map(|(i, _)| i)
                .collect();
            Command {
                argv: elements
                    .into_iter()
                    .map(Option::unwrap_or_default)
                    .collect(),
                form: CommandForm::JsonArray,
                null_elements,
            }
        }
        Err(err) => Command {
            argv: vec![raw.to_owned()],
            form: CommandForm::MalformedJson {
                reason: json_reason(&err),
            },
            null_elements: Vec::new(),
        },
    }
}

fn json_reason(err: &serde_json::Error) -> String {
    let text = err.to_string();
    // serde's "invalid type: integer `1`, expected a string at line 1 column 2" reads well
    // once the position is dropped for a one-line value.
    match text.rsplit_once(" at line ") {
        Some((head, _)) => head.to_owned(),
        None => text,
    }
}

/// Splits a plain command on whitespace when that is unambiguous: no quotes, escapes or
/// shell syntax whose meaning a split would change. Used by the normaliser and for fix hints.
pub fn split_unambiguously(raw: &str) -> Option<Vec<String>> {
    const SHELL_SYNTAX: &[char] = &[
        '"', '\'', '\\', '`', '$', '|', '&', ';', '<', '>', '(', ')', '*', '?', '[', ']', '{', '}',
        '~', '#', '!',
    ];
    if raw.contains(SHELL_SYNTAX) {
        return None;
    }
    let words: Vec<String> = raw.split_whitespace().map(str::to_owned).collect();
    (!words.is_empty()).then_some(words)
}

/// Renders argv as the JSON array annotation value Velero reads reliably.
pub fn to_json_array(argv: &[String]) -> String {
    serde_json::to_string(argv).unwrap_or_else(|_| "[]".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(raw: &str) -> Vec<String> {
        parse_command(raw).argv
    }

    #[test]
    fn parses_like_velero() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let cases: &[(&str, Vec<String>, bool)] = &[
            (r#"["a","b","c"]"#, s(&["a", "b", "c"]), true),
            ("/usr/bin/foo", s(&["/usr/bin/foo"]), false),
            (
                r#"/bin/sh -c "echo hi""#,
                s(&[r#"/bin/sh -c "echo hi""#]),
                false,
            ),
            ("[blarg", s(&["[blarg"]), false),
            ("['a','b']", s(&["['a','b']"]), false),
            (r#" ["a"]"#, s(&[r#" ["a"]"#]), false),
            ("[\"a\"] ", s(&["a"]), true),
            ("[\"a\"]\n", s(&["a"]), true),
            (r#"["a"]x"#, s(&[r#"["a"]x"#]), false),
            ("[]", s(&[]), true),
            ("[ ]", s(&[]), true),
            ("null", s(&["null"]), false),
            ("[null]", s(&[""]), true),
            (r#"["a", null]"#, s(&["a", ""]), true),
            ("[1,2]", s(&["[1,2]"]), false),
            (r#"["a",1]"#, s(&[r#"["a",1]"#]), false),
            ("[true]", s(&["[true]"]), false),
            (r#"[["a"]]"#, s(&[r#"[["a"]]"#]), false),
            (r#"[{"x":1}]"#, s(&[r#"[{"x":1}]"#]), false),
            (r#"[""]"#, s(&[""]), true),
            (" ", s(&[" "]), false),
            ("/bin/ls\n", s(&["/bin/ls\n"]), false),
            (r#"["echo","a\tb"]"#, s(&["echo", "a\tb"]), true),
        ];
        for (raw, expected, json) in cases {
            let parsed = parse_command(raw);
            assert_eq!(&parsed.argv, expected, "argv of {raw:?}");
            assert_eq!(
                parsed.form == CommandForm::JsonArray,
                *json,
                "form of {raw:?}"
            );
        }
        assert_eq!(argv(""), vec![String::new()]);
    }

    #[test]
    fn splits_only_when_unambiguous() {
        assert_eq!(
            split_unambiguously("/sbin/fsfreeze --freeze /var/log/nginx"),
            Some(vec![
                "/sbin/fsfreeze".into(),
                "--freeze".into(),
                "/var/log/nginx".into()
            ])
        );
        assert_eq!(split_unambiguously(r#"/bin/sh -c "echo hi""#), None);
        assert_eq!(split_unambiguously("pg_dump > /tmp/x"), None);
        assert_eq!(split_unambiguously("   "), None);
    }
}
