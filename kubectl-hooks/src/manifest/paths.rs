//! Where a field path such as `spec.hooks.resources[2].pre[0].exec.timeout` is written in a
//! document's text: findings about a Backup, Schedule or Restore name a spec path, not an
//! annotation key, and a reader wants the line. The text is parsed again (one linear pass
//! over the parser's events, keeping only the path of the current node) only when such a
//! finding needs a line.

use granit_parser::{Event, Options, Parser};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Splits `a.b[1][2].c` into keys and indexes; `None` for a malformed path.
fn segments(path: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if key.is_empty() {
            return None;
        }
        out.push(Segment::Key(key.to_owned()));
        while !rest.is_empty() {
            let (index, after) = rest.split_once(']')?;
            out.push(Segment::Index(index.parse().ok()?));
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    Some(out)
}

/// One open collection, and where in it the parser is.
enum Frame {
    /// `key` is set while the key's value is being read.
    Mapping {
        key: Option<String>,
    },
    Sequence {
        index: usize,
    },
}

/// The 1-based line (within `text`) where `path` is written. When the path itself is not
/// written (a field left out), the line of its deepest written ancestor. The path is matched
/// from the document's root or, in a `List`, within the item whose `metadata.name` is
/// `name`. `None` when nothing of the path is written or the text cannot be parsed.
pub fn line_of_path(text: &str, path: &str, name: Option<&str>) -> Option<usize> {
    let target = segments(path)?;
    let mut options = Options::default();
    options.block_scalar_eof_without_line_feed = true;
    options.set_emit_comments(false);
    let mut stack: Vec<Frame> = Vec::new();
    // The deepest match so far, by where it was found (`None`: from the root, else the
    // `List` item): (segments matched, line).
    let mut best: Vec<(Option<usize>, usize, usize)> = Vec::new();
    // The `List` item named `name`, once seen.
    let mut named_item = None;
    for event in Parser::new_from_str_with_options(text, options) {
        let Ok((event, span)) = event else {
            break;
        };
        let line = span.start.line();
        let starts_node = matches!(
            event,
            Event::Scalar(..)
                | Event::Alias(_)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
        );
        if starts_node {
            let is_key = matches!(stack.last(), Some(Frame::Mapping { key: None }));
            if is_key {
                let key = match &event {
                    Event::Scalar(text, ..) => text.to_string(),
                    _ => String::new(),
                };
                if let Some(Frame::Mapping { key: slot }) = stack.last_mut() {
                    *slot = Some(key);
                }
                if let Some((item, depth)) = matched(&stack, &target) {
                    remember(&mut best, item, depth, line);
                }
                // A complex key's own events are not followed further.
                if !matches!(event, Event::Scalar(..)) {
                    break;
                }
                continue;
            }
            if let Event::Scalar(value, ..) = &event
                && name == Some(value.as_ref())
                && let Some(item) = item_named(&stack)
            {
                named_item.get_or_insert(item);
            }
            if matches!(stack.last(), Some(Frame::Sequence { .. }))
                && let Some((item, depth)) = matched(&stack, &target)
            {
                remember(&mut best, item, depth, line);
            }
        }
        match event {
            Event::MappingStart(..) => stack.push(Frame::Mapping { key: None }),
            Event::SequenceStart(..) => stack.push(Frame::Sequence { index: 0 }),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                node_done(&mut stack);
            }
            Event::Scalar(..) | Event::Alias(_) => node_done(&mut stack),
            _ => {}
        }
    }
    let found = |place: Option<usize>| best.iter().find(|(p, ..)| *p == place);
    found(None)
        .or_else(|| found(named_item))
        .or_else(|| best.first())
        .map(|&(_, _, line)| line)
}

/// Keeps the deepest match per place (the root, or one `List` item).
fn remember(
    best: &mut Vec<(Option<usize>, usize, usize)>,
    item: Option<usize>,
    depth: usize,
    line: usize,
) {
    match best.iter_mut().find(|(place, ..)| *place == item) {
        Some(entry) if depth > entry.1 => *entry = (item, depth, line),
        Some(_) => {}
        None => best.push((item, depth, line)),
    }
}

/// The `List` item whose `metadata.name` the current value is.
fn item_named(stack: &[Frame]) -> Option<usize> {
    match stack {
        [
            Frame::Mapping { key: Some(items) },
            Frame::Sequence { index },
            Frame::Mapping {
                key: Some(metadata),
            },
            Frame::Mapping { key: Some(name) },
        ] if items == "items" && metadata == "metadata" && name == "name" => Some(*index),
        _ => None,
    }
}

/// After a value or an item: the mapping waits for its next key, the sequence counts on.
fn node_done(stack: &mut [Frame]) {
    match stack.last_mut() {
        Some(Frame::Mapping { key }) => *key = None,
        Some(Frame::Sequence { index }) => *index += 1,
        None => {}
    }
}

/// How many segments of `target` the current node's path matches, when that path is a
/// prefix of `target`: from the root (`None`), or from `List` item `i` (`Some(i)`).
fn matched(stack: &[Frame], target: &[Segment]) -> Option<(Option<usize>, usize)> {
    let path = stack.iter().map(|frame| match frame {
        Frame::Mapping { key } => key.as_deref().map(Seg::Key),
        Frame::Sequence { index } => Some(Seg::Index(*index)),
    });
    let path: Vec<Seg> = path.collect::<Option<_>>()?;
    if is_prefix(&path, target) {
        return Some((None, path.len()));
    }
    match path.as_slice() {
        [Seg::Key("items"), Seg::Index(item), rest @ ..] if is_prefix(rest, target) => {
            Some((Some(*item), rest.len()))
        }
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn is_prefix(path: &[Seg<'_>], target: &[Segment]) -> bool {
    path.len() <= target.len()
        && path.iter().zip(target).all(|(p, t)| match (p, t) {
            (Seg::Key(a), Segment::Key(b)) => *a == b,
            (Seg::Index(a), Segment::Index(b)) => a == b,
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: &str = "apiVersion: velero.io/v1
kind: Schedule
metadata:
  name: nightly
spec:
  template:
    hooks:
      resources:
        - name: a
          pre:
            - exec:
                command: [true]
        - name: b
          pre:
            - exec:
                command: [true]
            - exec:
                container: db
                timeout: 30
";

    #[test]
    fn finds_a_spec_path_by_keys_and_indexes() {
        let path = "spec.template.hooks.resources[1].pre[1].exec.timeout";
        assert_eq!(line_of_path(SCHEDULE, path, None), Some(19));
        let path = "spec.template.hooks.resources[1].pre[0].exec.command";
        assert_eq!(line_of_path(SCHEDULE, path, None), Some(16));
        assert_eq!(
            line_of_path(SCHEDULE, "spec.template.hooks.resources[0]", None),
            Some(9)
        );
    }

    #[test]
    fn a_field_not_written_points_at_its_deepest_written_parent() {
        let path = "spec.template.hooks.resources[1].pre[0].exec.onError";
        assert_eq!(line_of_path(SCHEDULE, path, None), Some(15));
        assert_eq!(line_of_path(SCHEDULE, "status.phase", None), None);
    }

    #[test]
    fn reads_json_and_list_items() {
        let json = "{\"kind\": \"Backup\",\n \"spec\": {\"hooks\": {\"resources\": [\n {\"name\": \"a\",\n  \"pre\": [{\"exec\": {\"timeout\": 5}}]}]}}}";
        let path = "spec.hooks.resources[0].pre[0].exec.timeout";
        assert_eq!(line_of_path(json, path, None), Some(4));
        // Each object of a `List` finds the path in its own item, wherever its name is.
        let list = "kind: List\nitems:\n- kind: Backup\n  metadata: {name: a}\n  spec:\n    ttl: 1h\n- kind: Backup\n  spec:\n    ttl: 2h\n  metadata:\n    name: b\n";
        assert_eq!(line_of_path(list, "spec.ttl", Some("a")), Some(6));
        assert_eq!(line_of_path(list, "spec.ttl", Some("b")), Some(9));
    }

    #[test]
    fn malformed_paths_and_text_find_nothing() {
        assert_eq!(line_of_path(SCHEDULE, "spec..x", None), None);
        assert_eq!(line_of_path(SCHEDULE, "spec.x[y]", None), None);
        assert_eq!(line_of_path("a: [\n", "b", None), None);
    }
}
