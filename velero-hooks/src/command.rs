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

/// Why a value that was meant as a JSON array is not one, told so a reader can find it:
/// each character that breaks it, with its position, and the array it was meant to be when
/// one repair makes it a JSON array of strings that Velero would decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonBreak {
    /// What breaks the array and where, e.g. "typographic quote `“` at character 2".
    pub problem: String,
    /// The value repaired, as Velero would decode it; `None` when no repair is certain.
    pub corrected: Option<String>,
}

/// Quotes that word processors, chat tools and web pages substitute for `"` and `'`.
const TYPOGRAPHIC_DOUBLE: &[char] = &['“', '”', '„', '‟'];
const TYPOGRAPHIC_SINGLE: &[char] = &['‘', '’'];

/// One way an intended array is commonly broken: what to tell the reader, and the repair.
struct Repair {
    problem: String,
    apply: fn(&str) -> String,
}

/// Explains a value Velero would not decode as a JSON array although it was meant as one:
/// a value starting with `[` that is not valid JSON, or one that starts with a quote and
/// ends with `]` (its opening bracket lost). `None` for anything else.
///
/// Every typical mistake present is a candidate repair; the smallest set of repairs that
/// makes the value decode is the diagnosis, so a typographic quote inside a string is not
/// blamed when the real fault is a lost bracket. When no set decodes, JSON's own reason is
/// given at the character where decoding stopped, and no repair is offered.
pub fn explain_json_break(raw: &str) -> Option<JsonBreak> {
    let starts_like_array = raw.starts_with('[');
    let lost_opening = !starts_like_array
        && raw.starts_with(|c| c == '"' || TYPOGRAPHIC_DOUBLE.contains(&c))
        && raw.trim_end().ends_with(']');
    if !starts_like_array && !lost_opening {
        return None;
    }
    let repairs = candidate_repairs(raw, lost_opening);
    // At most four candidates: sixteen tries, only for values that already failed to decode.
    let mut subsets: Vec<u32> = (1..1u32 << repairs.len()).collect();
    subsets.sort_by_key(|mask| mask.count_ones());
    // The first size at which some set of repairs decodes; several sets of that size that
    // decode to different arrays make the repair ambiguous, and none is offered.
    let mut found: Option<(u32, Vec<String>, bool)> = None;
    for mask in subsets {
        if found
            .as_ref()
            .is_some_and(|(first, _, _)| mask.count_ones() > first.count_ones())
        {
            break;
        }
        let repaired = repairs
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .fold(raw.to_owned(), |text, (_, r)| (r.apply)(&text));
        let Ok(argv) = serde_json::from_str::<Vec<String>>(&repaired) else {
            continue;
        };
        match &mut found {
            None => found = Some((mask, argv, true)),
            Some((_, first, unique)) => *unique &= *first == argv,
        }
    }
    if let Some((mask, argv, unique)) = found {
        let problems: Vec<&str> = repairs
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, r)| r.problem.as_str())
            .collect();
        return Some(JsonBreak {
            problem: problems.join("; "),
            corrected: unique.then(|| to_json_array(&argv)),
        });
    }
    if lost_opening {
        return None; // a plain string that happens to start with a quote and end with `]`
    }
    // Nothing typical: JSON's own reason, with the character it stopped at.
    let err = serde_json::from_str::<Vec<Option<String>>>(raw).err()?;
    let at = byte_offset(raw, err.line(), err.column());
    // Syntax errors stop at the offending character; type errors just after the value.
    let offending = raw[at..].chars().next().filter(|_| err.is_syntax());
    let problem = match offending {
        Some(c) => format!(
            "`{}` at {}: {}",
            c.escape_debug(),
            position(raw, at),
            json_reason(&err)
        ),
        None => format!("{} (at {})", json_reason(&err), position(raw, at)),
    };
    Some(JsonBreak {
        problem,
        corrected: None,
    })
}

/// The typical mistakes present in `raw`, in the order they are repaired. Each repair
/// replaces one character by one or removes characters, and positions are those of the
/// value as written.
fn candidate_repairs(raw: &str, lost_opening: bool) -> Vec<Repair> {
    let mut repairs = Vec::new();
    if let Some(at) = raw.find(TYPOGRAPHIC_DOUBLE) {
        let quote = raw[at..].chars().next().unwrap_or('"');
        repairs.push(Repair {
            problem: format!(
                "typographic quote `{quote}` at {}: JSON needs straight double quotes (\")",
                position(raw, at)
            ),
            apply: |text| text.replace(TYPOGRAPHIC_DOUBLE, "\""),
        });
    }
    if let Some(at) = raw.find(TYPOGRAPHIC_SINGLE) {
        let quote = raw[at..].chars().next().unwrap_or('\'');
        repairs.push(Repair {
            problem: format!(
                "typographic quote `{quote}` at {}: JSON strings need straight double quotes (\")",
                position(raw, at)
            ),
            apply: |text| text.replace(TYPOGRAPHIC_SINGLE, "\""),
        });
    }
    if let Some(at) = raw.find('\'') {
        repairs.push(Repair {
            problem: format!(
                "single quote `'` at {}: JSON strings need double quotes (\")",
                position(raw, at)
            ),
            apply: |text| text.replace('\'', "\""),
        });
    }
    if let Some(at) = line_continuation(raw) {
        let after = if raw[at + 1..].starts_with(['\n', '\r']) {
            "a line break"
        } else {
            "a space (YAML folded the line break)"
        };
        repairs.push(Repair {
            problem: format!(
                "`\\` followed by {after} at {}: a shell line continuation is not JSON",
                position(raw, at)
            ),
            apply: remove_line_continuations,
        });
    }
    if lost_opening {
        repairs.push(Repair {
            problem: "no opening `[` at character 1: Velero decodes JSON only when `[` is the first character".to_owned(),
            apply: |text| format!("[{text}"),
        });
    } else if !raw.trim_end().ends_with(']') {
        repairs.push(Repair {
            problem: format!(
                "no closing `]` at the end ({})",
                position(raw, raw.trim_end().len())
            ),
            apply: |text| format!("{}]", text.trim_end()),
        });
    }
    repairs
}

/// Byte offset of the first `\` that a shell would read as a line continuation: followed by
/// a line break (a block scalar keeps it) or by a space (a quoted or plain YAML scalar folds
/// the line break into one). In a JSON string `\ ` is an invalid escape; outside one, `\`
/// is not JSON at all. `\\` (an escaped backslash) is skipped.
fn line_continuation(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            match bytes.get(i + 1) {
                Some(b' ' | b'\t' | b'\n' | b'\r') => return Some(i),
                Some(_) => i += 1,
                None => {}
            }
        }
        i += 1;
    }
    None
}

/// The value without its line continuations: each `\`, the whitespace up to and including
/// a line break, is dropped (what a shell does), other whitespace kept.
fn remove_line_continuations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = line_continuation(rest) {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        let blank = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        let after_blank = &rest[blank..];
        if let Some(stripped) = after_blank
            .strip_prefix("\r\n")
            .or_else(|| after_blank.strip_prefix('\n'))
        {
            rest = stripped;
        }
    }
    out.push_str(rest);
    out
}

/// "character N" (1-based, counting characters, not bytes) of a one-line value, or
/// "line L, column C" of a value spanning lines.
fn position(text: &str, byte: usize) -> String {
    let byte = (0..=byte.min(text.len()))
        .rev()
        .find(|b| text.is_char_boundary(*b))
        .unwrap_or(0);
    let before = &text[..byte];
    if !text.trim_end().contains('\n') {
        return format!("character {}", before.chars().count() + 1);
    }
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..byte].chars().count() + 1;
    format!("line {line}, column {column}")
}

/// Byte offset of serde_json's 1-based line and column (columns count bytes; column 0 means
/// the error is at the line break before the line).
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let byte = (line_start + column.saturating_sub(1)).min(text.len());
    (0..=byte)
        .rev()
        .find(|b| text.is_char_boundary(*b))
        .unwrap_or(0)
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

/// Shells whose `-c` takes the next argument as the command string to run.
const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"];

/// Whether `argv` ends with a shell's `-c` (alone or in a group such as `-ec`) and so gives
/// the shell no command string: `sh: -c: option requires an argument`, exit status 2.
/// `busybox sh -c` counts too.
pub fn shell_without_script(argv: &[String]) -> bool {
    fn program(arg: &str) -> &str {
        arg.rsplit('/').next().unwrap_or(arg)
    }
    let options = match argv {
        [first, second, rest @ ..]
            if program(first) == "busybox" && SHELLS.contains(&second.as_str()) =>
        {
            rest
        }
        [first, rest @ ..] if SHELLS.contains(&program(first.as_str())) => rest,
        _ => return false,
    };
    options.last().is_some_and(|last| {
        last.strip_prefix('-').is_some_and(|flags| {
            !flags.is_empty()
                && flags.bytes().all(|b| b.is_ascii_alphabetic())
                && flags.contains('c')
        })
    })
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
