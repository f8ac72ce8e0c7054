//! Reading manifests as kubectl does: files, directories (`-R`), stdin (`-`), multi-document
//! YAML streams (as `kustomize build` and `helm template` print them), JSON, and `List`s.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

mod lines;
mod paths;
pub mod stream;
mod strict_json;
mod yaml;

use lines::LineIndex;

/// Where a finding is written: a 1-based line, and the 1-based column (in characters) of
/// its key when the key itself was found there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spot {
    pub line: usize,
    pub column: Option<usize>,
}

impl Spot {
    pub fn line(line: usize) -> Self {
        Spot { line, column: None }
    }

    /// `file:line:column`, `file:line` or `file`, as compilers write a place, so that
    /// editors and terminals can jump to it.
    pub fn prefix(file: &str, at: Option<Spot>) -> String {
        match at {
            Some(Spot {
                line,
                column: Some(column),
            }) => format!("{file}:{line}:{column}"),
            Some(Spot { line, column: None }) => format!("{file}:{line}"),
            None => file.to_owned(),
        }
    }
}

/// One Kubernetes object from a manifest, with where it came from.
#[derive(Debug, Clone)]
pub struct Document {
    pub source: String,
    /// 1-based line where the document's content starts (after markers and comments).
    pub line: usize,
    /// The document's text and where its keys are written, shared by a `List`'s objects.
    pub text: Arc<Text>,
    pub object: Value,
}

impl Document {
    /// The 1-based line of annotation `key` in this document (searching from the object's
    /// own name, for `List`s), else of the first key of its hook family, else the document.
    pub fn line_of(&self, key: &str) -> usize {
        self.spot_of(key).line
    }

    /// Like [`Document::line_of`], with the 1-based column of the key when it was found.
    pub fn spot_of(&self, key: &str) -> Spot {
        let index = self.text.index();
        let from = self
            .object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .and_then(|name| index.name(name))
            .unwrap_or(0)
            .saturating_sub(8);
        if let Some((line, column)) = index.key(key, from) {
            return Spot {
                line: self.text.first_line + line,
                column: Some(column),
            };
        }
        let family = key.rsplit_once('/').map_or(key, |(prefix, _)| prefix);
        Spot {
            line: index
                .family(family, from)
                .map_or(self.line, |(line, _)| self.text.first_line + line),
            column: None,
        }
    }

    /// Where each field path such as `spec.hooks.resources[2].pre[0].exec.timeout` is
    /// written (or its deepest written parent, without a column), in this object's own
    /// item for `List`s; else the document's line. The text is parsed again once for all.
    pub fn spots_of_paths(&self, paths: &[&str]) -> Vec<Spot> {
        if paths.is_empty() {
            return Vec::new();
        }
        let name = self
            .object
            .pointer("/metadata/name")
            .and_then(Value::as_str);
        paths::places_of_paths(&self.text.text, paths, name)
            .into_iter()
            .map(|place| match place {
                Some((line, column)) => Spot {
                    line: self.text.first_line + line - 1,
                    column,
                },
                None => Spot::line(self.line),
            })
            .collect()
    }
}

/// A document's text and the line it starts on, shared by the objects of a `List`; the
/// index of its keys is built the first time a finding needs a line.
#[derive(Debug)]
pub struct Text {
    text: Box<str>,
    first_line: usize,
    index: OnceLock<LineIndex>,
}

impl Text {
    fn index(&self) -> &LineIndex {
        self.index.get_or_init(|| LineIndex::build(&self.text))
    }
}

/// Input that cannot be checked: it is named, located and explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub source: String,
    pub line: Option<Spot>,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            Spot::prefix(&self.source, self.line),
            self.message
        )
    }
}

/// Largest single input accepted: the Kubernetes API server's own limit on a request is
/// 3 MiB per object, so a manifest stream this large already holds tens of thousands.
pub const MAX_INPUT_BYTES: u64 = 512 * 1024 * 1024;

/// Expands `-f` arguments into files to read (`-` is stdin), like kubectl: a directory
/// contributes its `.yaml`, `.yml` and `.json` files, recursively with `-R`.
pub fn expand_paths(paths: &[PathBuf], recursive: bool) -> (Vec<PathBuf>, Vec<InputError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            files.push(path.clone());
            continue;
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let before = files.len();
                let skipped_dirs = walk(path, recursive, &mut files, &mut errors);
                if files.len() == before {
                    errors.push(empty_directory(path, skipped_dirs));
                }
            }
            Ok(_) => files.push(path.clone()),
            Err(err) => errors.push(InputError {
                source: path.display().to_string(),
                line: None,
                message: format!("cannot read: {err}"),
            }),
        }
    }
    (files, errors)
}

/// A directory given with `-f` that yields no manifest: kubectl refuses it too ("no objects
/// passed"), and checking nothing must not look like a clean result.
fn empty_directory(dir: &Path, skipped_dirs: usize) -> InputError {
    let message = if skipped_dirs > 0 {
        format!(
            "no .yaml, .yml or .json files directly in this directory, only {skipped_dirs} \
             subdirector{}: use -R to read them recursively",
            if skipped_dirs == 1 { "y" } else { "ies" }
        )
    } else {
        "no .yaml, .yml or .json files in this directory".to_owned()
    };
    InputError {
        source: dir.display().to_string(),
        line: None,
        message,
    }
}

/// Adds the manifest files of `dir` (and below, when `recursive`); returns the number of
/// subdirectories left out because `recursive` is off.
fn walk(
    dir: &Path,
    recursive: bool,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<InputError>,
) -> usize {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            errors.push(InputError {
                source: dir.display().to_string(),
                line: None,
                message: format!("cannot read directory: {err}"),
            });
            return 0;
        }
    };
    // As kubectl's walk (`filepath.Walk`): a symbolic link to a directory is not followed,
    // so a link loop cannot make the walk endless; a link to a file is read.
    let mut paths: Vec<(PathBuf, bool)> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            Some((e.path(), e.file_type().ok()?.is_dir()))
        })
        .collect();
    paths.sort();
    let mut skipped_dirs = 0;
    for (path, is_dir) in paths {
        if is_dir {
            if recursive {
                walk(&path, recursive, files, errors);
            } else {
                skipped_dirs += 1;
            }
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) && !path.is_dir()
        {
            files.push(path);
        }
    }
    skipped_dirs
}

/// Reads one input fully as UTF-8 text.
pub fn read_text(path: &Path) -> Result<(String, String), InputError> {
    let name = if path.as_os_str() == "-" {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    };
    let fail = |message: String| InputError {
        source: name.clone(),
        line: None,
        message,
    };
    let mut bytes = Vec::new();
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| fail(format!("cannot read: {e}")))?)
    };
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(fail(format!(
            "larger than {} MiB; split the manifest",
            MAX_INPUT_BYTES / (1024 * 1024)
        )));
    }
    if is_utf16(&bytes) {
        return Err(fail(UTF16_INPUT.to_owned()));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        InputError {
            source: name.clone(),
            line: Some(Spot::line(line)),
            message: not_utf8(offset),
        }
    })?;
    Ok((name, text))
}

/// Why an input in UTF-16 is refused, and how to save it.
pub(crate) const UTF16_INPUT: &str = "UTF-16 text, which kubectl does not read either \
     (Windows PowerShell's `>` writes it): save the file as UTF-8, e.g. `Out-File -Encoding utf8`";

/// Whether an input starts as UTF-16 does: a byte-order mark, or ASCII text with a NUL
/// after every character.
pub(crate) fn is_utf16(start: &[u8]) -> bool {
    start.starts_with(&[0xFF, 0xFE])
        || start.starts_with(&[0xFE, 0xFF])
        || (start.len() >= 4 && start[0] != 0 && start[1] == 0 && start[2] != 0 && start[3] == 0)
}

/// The message for bytes that are not UTF-8 at `offset`.
pub(crate) fn not_utf8(offset: usize) -> String {
    format!("not UTF-8 text (invalid byte at offset {offset}); is this a binary file?")
}

/// Whether a line (with or without its line break) is a document marker: `---` alone or
/// followed by a space, a tab or a comment.
pub(crate) fn is_document_marker(line: &[u8]) -> bool {
    line.starts_with(b"---")
        && line
            .get(3)
            .is_none_or(|&c| c.is_ascii_whitespace() || c == b'#')
}

/// Splits a YAML stream into documents with their first line, at `---` markers.
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut documents = Vec::new();
    let mut start_byte = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        if is_document_marker(line.as_bytes()) {
            documents.push((start_line, &text[start_byte..offset]));
            // Content may follow the marker on the same line (`--- {"a": 1}`).
            start_byte = offset + 3;
            start_line = index + 1;
        }
        offset += line.len();
    }
    documents.push((start_line, &text[start_byte..]));
    documents
}

/// Parses an input into objects. Blank documents are skipped; `List`s are expanded.
pub fn parse_documents(source: &str, text: &str) -> (Vec<Document>, Vec<InputError>) {
    let mut documents = Vec::new();
    let errors = for_each_document(source, text, |doc| documents.push(doc));
    (documents, errors)
}

/// Parses an input and hands each object to `visit` as soon as it is read, so a long
/// stream never holds more than one document's parsed form.
///
/// As `kubectl apply -f` reads input: a YAML stream split at `---` markers, where each
/// document may be block YAML, a flow mapping (`{apiVersion: v1, ...}`) or JSON; a JSON
/// document is read by a JSON parser (fast, exact numbers) and anything else as YAML, with
/// kubectl's YAML 1.1 scalar types (see [`yaml`]);
/// directives (`%YAML 1.2`) and comment-only documents are skipped.
pub fn for_each_document(source: &str, text: &str, visit: impl FnMut(Document)) -> Vec<InputError> {
    for_each_document_at(source, text.trim_start_matches('\u{feff}'), 1, false, visit)
}

/// [`for_each_document`] for a part of an input that starts on line `first_line`; with
/// `prune`, objects keep only what the rules and the planner read (see [`yaml::OBJECT`]).
fn for_each_document_at(
    source: &str,
    text: &str,
    first_line: usize,
    prune: bool,
    mut visit: impl FnMut(Document),
) -> Vec<InputError> {
    let mut errors = Vec::new();
    for (line, piece) in split_documents(text) {
        let line = line + first_line - 1;
        if piece.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#') || l.starts_with('%') || l == "..."
        }) {
            continue;
        }
        let values = match parse_document(piece, prune) {
            Ok(values) => values,
            Err((at, message)) => {
                errors.push(InputError {
                    source: source.to_owned(),
                    line: Some(Spot {
                        line: line + at.line - 1,
                        column: at.column,
                    }),
                    message: format!("invalid YAML/JSON: {message}"),
                });
                continue;
            }
        };
        let text = Arc::new(Text {
            text: piece.into(),
            first_line: line,
            index: OnceLock::new(),
        });
        for (value_line, value) in values {
            let content_line = line + value_line - 1;
            push_objects(source, content_line, &text, value, &mut visit, &mut errors);
        }
    }
    errors
}

/// The values of one document with the 1-based line (within the document) each starts
/// on, or the line and message of why it cannot be read.
/// An error's place is relative to `piece`.
fn parse_document(piece: &str, prune: bool) -> Result<Vec<(usize, Value)>, (Spot, String)> {
    let trimmed = piece.trim_start();
    if trimmed.starts_with(['{', '[']) {
        let line = 1 + piece[..piece.len() - trimmed.len()].matches('\n').count();
        match strict_json::from_str(piece) {
            Ok(value) => return Ok(vec![(line, value)]),
            // A key given twice is as wrong in JSON as in YAML; any other JSON error may
            // be a YAML flow mapping (`{apiVersion: v1}`), which the YAML parser reads.
            Err(err) if err.to_string().contains("is written twice") => {
                let message = err.to_string();
                let message = message.split(" at line ").next().unwrap_or(&message);
                let at = Spot {
                    line: err.line().max(1),
                    column: Some(err.column().max(1)),
                };
                return Err((at, message.to_owned()));
            }
            // JSON documents one after the other, without `---`, as kubectl reads them.
            Err(err) if err.to_string().starts_with("trailing characters") => {
                if let Ok(values) = strict_json::stream(piece) {
                    let line_of = |offset: usize| 1 + piece[..offset].matches('\n').count();
                    return Ok(values
                        .into_iter()
                        .map(|(offset, value)| (line_of(offset), value))
                        .collect());
                }
            }
            Err(_) => {}
        }
    }
    let parsed = if prune {
        yaml::parse_pruned(piece)
    } else {
        yaml::parse(piece)
    };
    parsed.map_err(|err| {
        let at = Spot {
            line: err.line.max(1),
            column: Some(err.column),
        };
        (at, one_line(&err.message))
    })
}

/// The parser's message on one line, cut short: it may quote a line of the input, and an
/// input line can be megabytes long.
fn one_line(message: &str) -> String {
    let flat = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 400 {
        let head: String = flat.chars().take(397).collect();
        format!("{head}...")
    } else {
        flat
    }
}

/// Why kubectl would refuse an object that carries Velero hooks, which the checks would
/// otherwise pass over in silence: no `apiVersion`, a kind in the wrong case, or metadata
/// and annotations that are not maps. Objects without hooks (a Helm values file with a
/// `kind:` key) are left alone.
fn not_applicable(map: &Map<String, Value>) -> Option<String> {
    let kind = map.get("kind")?.as_str()?;
    let metadata = map.get("metadata")?;
    // Compared without allocating: this runs for every object read.
    let kinds = velero_hooks::workload::WORKLOAD_KINDS.iter();
    let exact = kinds.clone().find(|w| w.kind == kind);
    let workload = exact.or_else(|| kinds.clone().find(|w| w.kind.eq_ignore_ascii_case(kind)))?;
    let has_hooks = |metadata: &Value| {
        let keys: Vec<&str> = match metadata.get("annotations") {
            Some(Value::Object(annotations)) => annotations.keys().map(String::as_str).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .flat_map(|item| match item {
                    Value::Object(o) => o.keys().map(String::as_str).collect(),
                    Value::String(s) => vec![s.as_str()],
                    _ => Vec::new(),
                })
                .collect(),
            _ => Vec::new(),
        };
        keys.iter()
            .any(|k| k.contains(".hook.") && k.contains("velero.io/"))
    };
    let template = map
        .get("spec")
        .and_then(|s| s.pointer(workload.template_pointer.trim_start_matches("/spec")));
    let pod_metadata = if workload.is_pod() {
        Some(metadata)
    } else {
        template.and_then(|t| t.get("metadata"))
    };
    let annotations_are_maps = [Some(metadata), pod_metadata]
        .into_iter()
        .flatten()
        .all(|m| {
            matches!(
                m.get("annotations"),
                None | Some(Value::Null | Value::Object(_))
            )
        });
    // The usual object: nothing to say, and no annotation is looked at.
    if exact.is_some()
        && map.get("apiVersion").is_some_and(Value::is_string)
        && annotations_are_maps
    {
        return None;
    }
    if !has_hooks(metadata) && !pod_metadata.is_some_and(has_hooks) {
        return None;
    }
    let name = metadata.get("name").and_then(Value::as_str).unwrap_or("");
    let object = format!("{}/{name}", kind.to_ascii_lowercase());
    if !map.get("apiVersion").is_some_and(Value::is_string) {
        return Some(format!(
            "{object}: apiVersion is not set, so kubectl refuses it (\"error validating data: apiVersion not set\") and its hooks are not checked: add `apiVersion: {}`",
            workload.api_version
        ));
    }
    if kind != workload.kind {
        return Some(format!(
            "{object}: kind `{kind}`: kinds are case-sensitive, kubectl refuses it (no matches for kind \"{kind}\") and its hooks are not checked: write `kind: {}`",
            workload.kind
        ));
    }
    for (place, metadata) in [
        ("metadata", Some(metadata)),
        ("the pod template's metadata", pod_metadata),
    ] {
        let Some(metadata) = metadata else { continue };
        match metadata.get("annotations") {
            None | Some(Value::Null | Value::Object(_)) => {}
            Some(_) => {
                return Some(format!(
                    "{object}: the annotations of {place} are not a map, so the API server refuses the object and Velero reads no hook from it: write them as `key: value` lines"
                ));
            }
        }
    }
    None
}

fn push_objects(
    source: &str,
    line: usize,
    text: &Arc<Text>,
    value: Value,
    visit: &mut impl FnMut(Document),
    errors: &mut Vec<InputError>,
) {
    match value {
        Value::Null => {}
        Value::Object(mut map) => {
            let list_kind = map
                .get("kind")
                .and_then(Value::as_str)
                .filter(|k| k.ends_with("List") && map.contains_key("items"))
                .map(str::to_owned);
            if let Some(list_kind) = list_kind {
                let api_version = map.get("apiVersion").cloned();
                match map.remove("items") {
                    Some(Value::Array(items)) => {
                        for mut item in items {
                            // A typed list (`DeploymentList`, as the API serves it) leaves
                            // its items' kind and apiVersion to the list.
                            if let (Some(kind), Some(object)) =
                                (list_kind.strip_suffix("List"), item.as_object_mut())
                                && !kind.is_empty()
                                && !object.contains_key("kind")
                            {
                                object.insert("kind".into(), kind.into());
                                if let Some(api_version) = &api_version {
                                    object
                                        .entry("apiVersion")
                                        .or_insert_with(|| api_version.clone());
                                }
                            }
                            push_objects(source, line, text, item, visit, errors);
                        }
                    }
                    Some(Value::Null) => {}
                    Some(_) => errors.push(InputError {
                        source: source.to_owned(),
                        line: Some(Spot::line(line)),
                        message: format!(
                            "the {list_kind}'s `items` is not a list: kubectl refuses it"
                        ),
                    }),
                    None => {}
                }
            } else if let Some(message) = not_applicable(&map) {
                errors.push(InputError {
                    source: source.to_owned(),
                    line: Some(Spot::line(line)),
                    message,
                });
            } else {
                visit(Document {
                    source: source.to_owned(),
                    line,
                    text: text.clone(),
                    object: Value::Object(map),
                });
            }
        }
        other => errors.push(InputError {
            source: source.to_owned(),
            line: Some(Spot::line(line)),
            message: format!(
                "the document is a {}, not a Kubernetes object (a map with apiVersion and kind)",
                match other {
                    Value::Array(_) => "list",
                    Value::String(_) => "string",
                    Value::Number(_) => "number",
                    _ => "boolean",
                }
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_streams_and_keeps_lines() {
        let text = "# comment\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n";
        let (docs, errors) = parse_documents("x.yaml", text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].line, 2);
        assert_eq!(docs[1].line, 8);
        assert_eq!(docs[1].line_of("name"), 11);
    }

    #[test]
    fn expands_lists_and_reads_json() {
        let text = r#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod"}, {"apiVersion": "v1", "kind": "Pod"}]}"#;
        let (docs, errors) = parse_documents("x.json", text);
        assert!(errors.is_empty());
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn scalars_and_broken_yaml_are_located_errors() {
        let (docs, errors) = parse_documents("x.yaml", "just a string\n---\nkind: [\n");
        assert!(docs.is_empty());
        assert_eq!(errors.len(), 2);
        assert!(
            errors[0]
                .message
                .contains("is a string, not a Kubernetes object")
        );
        assert_eq!(errors[1].line.map(|s| s.line), Some(3));
        assert!(errors[1].message.starts_with("invalid YAML"));
        assert_eq!(
            errors[1].to_string(),
            "x.yaml:3:7: invalid YAML/JSON: unclosed bracket '['"
        );
    }

    #[test]
    fn reads_what_kubectl_apply_reads() {
        // A first document written as a flow mapping, JSON documents between markers, a
        // directive before the first marker, a flow mapping after JSON.
        let text = "{apiVersion: v1, kind: Pod, metadata: {name: a}}\n---\n{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"b\"}}\n---\n{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"c\"}}\n";
        let (docs, errors) = parse_documents("x.yaml", text);
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<_> = docs
            .iter()
            .map(|d| d.object["metadata"]["name"].clone())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(docs[1].line, 3);

        let text = "%YAML 1.2\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: d\n";
        let (docs, errors) = parse_documents("x.yaml", text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].line, 3);
    }

    #[test]
    fn a_key_twice_is_the_same_error_in_yaml_and_json() {
        let yaml = "metadata:\n  annotations:\n    a/b: x\n    a/b: y\n";
        let json = "{\"metadata\": {\"annotations\": {\n\"a/b\": \"x\",\n\"a/b\": \"y\"}}}";
        for (text, line, column) in [(yaml, 4, 5), (json, 3, 5)] {
            let (docs, errors) = parse_documents("x", text);
            assert!(docs.is_empty());
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(
                errors[0].line,
                Some(Spot {
                    line,
                    column: Some(column)
                }),
                "{text}"
            );
            assert!(
                errors[0].message.contains("key `a/b` is written twice"),
                "{}",
                errors[0].message
            );
            assert!(
                !errors[0].message.contains("Velero"),
                "{}",
                errors[0].message
            );
        }
        // Someone declaring a second hook: how to chain commands, said in full.
        let hook = "metadata:\n  annotations:\n    pre.hook.backup.velero.io/command: '[\"a\"]'\n    pre.hook.backup.velero.io/command: '[\"b\"]'\n";
        let (_, errors) = parse_documents("x", hook);
        assert!(
            errors[0].message.ends_with(
                "(Velero runs one command per hook phase: chain commands as \
                 [\"/bin/sh\", \"-c\", \"a && b\"])"
            ),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn finding_lines_come_from_one_index_per_document() {
        let mut text =
            String::from("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n");
        for i in 0..3 {
            text.push_str(&format!("    pre.hook.backup.velero.io/x{i}: v\n"));
        }
        let (docs, _) = parse_documents("x", &text);
        assert_eq!(docs[0].line_of("pre.hook.backup.velero.io/x2"), 8);
        // Unknown keys of a known family point at the family's first key.
        assert_eq!(docs[0].line_of("pre.hook.backup.velero.io/command"), 6);
        assert!(docs[0].text.index.get().is_some());
    }

    #[test]
    fn document_markers_need_a_boundary() {
        let text = "a: 1\n---x: 2\n";
        assert_eq!(split_documents(text).len(), 1);
        let text = "a: 1\n--- # next\nb: 2\n";
        assert_eq!(split_documents(text).len(), 2);
    }
}
