//! Where a key is written in a document: an index of the mapping keys on each line, built
//! once per document text the first time a finding needs a line, so that locating many
//! findings costs one pass over the text instead of one pass per finding.

use std::collections::HashMap;

/// Where each mapping key is written (0-based line and 1-based column, in order), and the
/// lines of `name: X` entries by their value (to find one object of a `List` sharing the
/// text).
#[derive(Debug, Default)]
pub struct LineIndex {
    keys: HashMap<Box<str>, Vec<(usize, usize)>>,
    /// Keys grouped by the part before their last `/` (`pre.hook.backup.velero.io`).
    families: HashMap<Box<str>, Vec<(usize, usize)>>,
    names: HashMap<Box<str>, Vec<(usize, usize)>>,
}

impl LineIndex {
    pub fn build(text: &str) -> Self {
        let mut index = LineIndex::default();
        for (number, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with('#') {
                continue;
            }
            for (key, value) in keys_on_line(trimmed) {
                // `key` is a slice of `line`: its offset gives the column.
                let offset = key.as_ptr() as usize - line.as_ptr() as usize;
                let at = (number, line[..offset].chars().count() + 1);
                if key == "name" {
                    push(&mut index.names, unquote(value), at);
                }
                if let Some((family, _)) = key.rsplit_once('/') {
                    push(&mut index.families, family, at);
                }
                push(&mut index.keys, key, at);
            }
        }
        index
    }

    /// The first line and column at or after line `from` where `key` is written, else the
    /// first anywhere.
    pub fn key(&self, key: &str, from: usize) -> Option<(usize, usize)> {
        first_from(self.keys.get(key)?, from)
    }

    /// Like [`LineIndex::key`], for any key of `family` (`prefix/...`).
    pub fn family(&self, family: &str, from: usize) -> Option<(usize, usize)> {
        first_from(self.families.get(family)?, from)
    }

    /// The first line of a `name: <name>` entry.
    pub fn name(&self, name: &str) -> Option<usize> {
        self.names.get(name)?.first().map(|&(line, _)| line)
    }
}

/// Keeps the first place of a key on each line.
fn push(map: &mut HashMap<Box<str>, Vec<(usize, usize)>>, key: &str, at: (usize, usize)) {
    match map.get_mut(key) {
        Some(places) => {
            if places.last().map(|&(line, _)| line) != Some(at.0) {
                places.push(at);
            }
        }
        None => {
            map.insert(key.into(), vec![at]);
        }
    }
}

fn first_from(places: &[(usize, usize)], from: usize) -> Option<(usize, usize)> {
    let at = places.partition_point(|&(line, _)| line < from);
    places.get(at).or(places.first()).copied()
}

/// The mapping keys written on one line (without its indentation), each with the text
/// after its colon: the block key (`key: value`, `- key: value`) and every quoted key of a
/// flow or JSON mapping (`{"key": "value", "other": 1}`).
fn keys_on_line(line: &str) -> Vec<(&str, &str)> {
    let mut found = Vec::new();
    let block = line.trim_start_matches("- ").trim_start();
    if !block.starts_with(['"', '\'', '{', '['])
        && let Some(colon) = block_colon(block)
    {
        found.push((block[..colon].trim_end(), block[colon + 1..].trim()));
    }
    let bytes = line.as_bytes();
    let mut at = 0;
    while let Some(open) = line[at..].find(['"', '\'']).map(|i| i + at) {
        let quote = bytes[open];
        let Some(close) = line[open + 1..]
            .bytes()
            .enumerate()
            .find(|&(i, b)| b == quote && (quote == b'\'' || bytes[open + i] != b'\\'))
            .map(|(i, _)| open + 1 + i)
        else {
            break;
        };
        let rest = line[close + 1..].trim_start();
        if let Some(value) = rest.strip_prefix(':') {
            found.push((&line[open + 1..close], value.trim()));
        }
        at = close + 1;
    }
    found
}

/// The colon that ends a plain block key: followed by a space or the end of the line.
fn block_colon(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len()).find(|&i| bytes[i] == b':' && bytes.get(i + 1).is_none_or(|b| *b == b' '))
}

/// The scalar at the start of `value`: a quoted string, or plain text up to a flow
/// separator.
fn unquote(value: &str) -> &str {
    let value = value.trim();
    for quote in ['"', '\''] {
        if let Some(rest) = value.strip_prefix(quote) {
            return rest.split(quote).next().unwrap_or(rest);
        }
    }
    value.split([',', '}', ']']).next().unwrap_or(value).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_block_flow_and_json_keys() {
        let text = "metadata:\n  name: web\n  annotations:\n    # pre.hook.backup.velero.io/command: no\n    pre.hook.backup.velero.io/command: '[\"a\"]'\n    \"post.hook.backup.velero.io/timeout\": \"1s\"\n- {\"name\": \"db\", \"x/y\": 1}\n";
        let index = LineIndex::build(text);
        assert_eq!(
            index.key("pre.hook.backup.velero.io/command", 0),
            Some((4, 5))
        );
        assert_eq!(
            index.key("post.hook.backup.velero.io/timeout", 0),
            Some((5, 6))
        );
        assert_eq!(index.family("post.hook.backup.velero.io", 0), Some((5, 6)));
        assert_eq!(index.name("web"), Some(1));
        assert_eq!(index.name("db"), Some(6));
        assert_eq!(index.key("x/y", 0), Some((6, 19)));
        assert_eq!(index.key("missing", 0), None);
    }

    #[test]
    fn prefers_the_first_line_from_a_start() {
        let text = "a: 1\nb: 2\na: 3\n";
        let index = LineIndex::build(text);
        assert_eq!(index.key("a", 1), Some((2, 1)));
        assert_eq!(index.key("a", 5), Some((0, 1)));
    }

    #[test]
    fn escaped_quotes_do_not_end_a_key() {
        let text = r#"{"a\"b": 1, "c": "d: e"}"#;
        let keys = keys_on_line(text);
        assert_eq!(
            keys.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            [r#"a\"b"#, "c"]
        );
    }
}
