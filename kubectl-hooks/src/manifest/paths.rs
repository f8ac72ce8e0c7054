//! Where field paths such as `spec.hooks.resources[2].pre[0].exec.timeout` are written in a
//! document's text: findings about a Backup, Schedule or Restore name a spec path, not an
//! annotation key, and a reader wants the line and column. The text is parsed again (one
//! linear pass over the parser's events, keeping only the path of the current node) once
//! for all of a document's findings, so locating them costs the same for one finding as
//! for ten thousand.

use std::collections::{HashMap, HashSet};

use granit_parser::{Event, Options, Parser, ScalarStyle};

/// Where a path is written: 1-based line, and the 1-based column (in characters) of its
/// key or item when the path itself is written (`None` when only an ancestor is).
pub type Place = (usize, Option<usize>);

/// One open collection: the path of the node it is, and where in it the parser is.
enum Frame {
    /// `key` is set while the key's value is being read.
    Mapping {
        path: String,
        key: Option<String>,
    },
    Sequence {
        path: String,
        index: usize,
    },
}

impl Frame {
    /// The path of the child being read now (`None` between a mapping's values).
    fn child(&self) -> Option<String> {
        match self {
            Frame::Mapping { path, key } => {
                let key = key.as_deref()?;
                Some(if path.is_empty() {
                    key.to_owned()
                } else {
                    format!("{path}.{key}")
                })
            }
            Frame::Sequence { path, index } => Some(format!("{path}[{index}]")),
        }
    }
}

/// For each of `paths`, where it is written, or else its deepest written ancestor; `None`
/// when nothing of it is written or the text cannot be parsed. Paths are matched from the
/// document's root or, in a `List`, within the item whose `metadata.name` is `name`.
pub fn places_of_paths(text: &str, paths: &[&str], name: Option<&str>) -> Vec<Option<Place>> {
    // Every path and each of its ancestors, as written in a path (`a.b[1]`, `a.b`, `a`).
    let wanted: HashSet<&str> = paths
        .iter()
        .flat_map(|path| std::iter::once(*path).chain(ancestors(path)))
        .collect();
    // Where each wanted path was first written: from the root (`None`) or a `List` item.
    let mut seen: HashMap<(Option<usize>, String), (usize, usize)> = HashMap::new();
    let mut items_in_order: Vec<Option<usize>> = Vec::new();
    let mut named_item = None;
    let mut options = Options::default();
    options.block_scalar_eof_without_line_feed = true;
    options.set_emit_comments(false);
    let mut stack: Vec<Frame> = Vec::new();
    for event in Parser::new_from_str_with_options(text, options) {
        let Ok((event, span)) = event else {
            break;
        };
        let starts_node = matches!(
            event,
            Event::Scalar(..)
                | Event::Alias(_)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
        );
        // Quoted keys are placed on their first character, as annotation keys are.
        let quoted = matches!(
            event,
            Event::Scalar(_, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted, ..)
        );
        let at = (
            span.start.line(),
            span.start.col() + 1 + usize::from(quoted),
        );
        let mut node_path = None;
        if starts_node {
            if let Some(Frame::Mapping {
                key: slot @ None, ..
            }) = stack.last_mut()
            {
                let Event::Scalar(key, ..) = &event else {
                    // A complex key's own events are not followed further.
                    break;
                };
                *slot = Some(key.to_string());
                note(&stack, at, &wanted, &mut seen, &mut items_in_order);
                continue;
            }
            if let Event::Scalar(value, ..) = &event
                && name == Some(value.as_ref())
                && let Some(item) = item_named(&stack)
            {
                named_item.get_or_insert(item);
            }
            if matches!(stack.last(), Some(Frame::Sequence { .. })) {
                note(&stack, at, &wanted, &mut seen, &mut items_in_order);
            }
            node_path = Some(stack.last().map_or(Some(String::new()), Frame::child));
        }
        match event {
            Event::MappingStart(..) => stack.push(Frame::Mapping {
                path: node_path.flatten().unwrap_or_default(),
                key: None,
            }),
            Event::SequenceStart(..) => stack.push(Frame::Sequence {
                path: node_path.flatten().unwrap_or_default(),
                index: 0,
            }),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                node_done(&mut stack);
            }
            Event::Scalar(..) | Event::Alias(_) => node_done(&mut stack),
            _ => {}
        }
    }
    let mut places = vec![None];
    places.extend(named_item.map(Some));
    places.extend(items_in_order);
    paths
        .iter()
        .map(|path| {
            places.iter().find_map(|place| {
                let found = |p: &str| seen.get(&(*place, p.to_owned())).copied();
                if let Some((line, column)) = found(path) {
                    return Some((line, Some(column)));
                }
                // The deepest written ancestor.
                ancestors(path)
                    .find_map(found)
                    .map(|(line, _)| (line, None))
            })
        })
        .collect()
}

/// The ancestors of a path, deepest first: `a.b[1].c` gives `a.b[1]`, `a.b`, `a`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.char_indices()
        .rev()
        .filter(|&(at, c)| (c == '.' || c == '[') && at > 0)
        .map(|(at, _)| &path[..at])
}

/// Records where the node being started is written, when its path (from the root, or
/// from a `List` item) is wanted.
fn note(
    stack: &[Frame],
    at: (usize, usize),
    wanted: &HashSet<&str>,
    seen: &mut HashMap<(Option<usize>, String), (usize, usize)>,
    items_in_order: &mut Vec<Option<usize>>,
) {
    let Some(path) = stack.last().and_then(Frame::child) else {
        return;
    };
    let mut record = |place: Option<usize>, path: &str| {
        if wanted.contains(path) {
            seen.entry((place, path.to_owned())).or_insert(at);
            if place.is_some() && !items_in_order.contains(&place) {
                items_in_order.push(place);
            }
        }
    };
    record(None, &path);
    // Within a `List` item: `items[3].spec.ttl` is `spec.ttl` of item 3.
    if let Some(rest) = path.strip_prefix("items[")
        && let Some((index, rest)) = rest.split_once(']')
        && let Some(rest) = rest.strip_prefix('.')
        && let Ok(index) = index.parse()
    {
        record(Some(index), rest);
    }
}

/// The `List` item whose `metadata.name` the current value is.
fn item_named(stack: &[Frame]) -> Option<usize> {
    match stack {
        [
            Frame::Mapping {
                key: Some(items), ..
            },
            Frame::Sequence { index, .. },
            Frame::Mapping {
                key: Some(metadata),
                ..
            },
            Frame::Mapping {
                key: Some(name), ..
            },
        ] if items == "items" && metadata == "metadata" && name == "name" => Some(*index),
        _ => None,
    }
}

/// After a value or an item: the mapping waits for its next key, the sequence counts on.
fn node_done(stack: &mut [Frame]) {
    match stack.last_mut() {
        Some(Frame::Mapping { key, .. }) => *key = None,
        Some(Frame::Sequence { index, .. }) => *index += 1,
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_of_path(text: &str, path: &str, name: Option<&str>) -> Option<usize> {
        places_of_paths(text, &[path], name)[0].map(|(line, _)| line)
    }

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
    fn unknown_paths_and_broken_text_find_nothing() {
        assert_eq!(line_of_path(SCHEDULE, "status.x[y]", None), None);
        assert_eq!(line_of_path("a: [\n", "b", None), None);
    }

    #[test]
    fn columns_are_given_for_written_paths_only() {
        let paths = [
            "spec.template.hooks.resources[1].pre[1].exec.timeout",
            "spec.template.hooks.resources[1].pre[1]",
            "spec.template.hooks.resources[1].pre[0].exec.onError",
        ];
        assert_eq!(
            places_of_paths(SCHEDULE, &paths, None),
            vec![Some((19, Some(17))), Some((17, Some(15))), Some((15, None))]
        );
        // Quoted keys, as in JSON, are placed on the key's first character.
        let json = "{\"spec\": {\"ttl\": \"1h\",\n  \"hooks\": {}}}";
        assert_eq!(
            places_of_paths(json, &["spec.hooks", "spec.ttl"], None),
            vec![Some((2, Some(4))), Some((1, Some(12)))]
        );
    }

    #[test]
    fn many_paths_are_found_in_one_pass() {
        let mut text = String::from("spec:\n  hooks:\n    resources:\n");
        for i in 0..20_000 {
            text.push_str(&format!(
                "    - name: h{i}\n      pre:\n      - exec:\n          timeout: x\n"
            ));
        }
        let paths: Vec<String> = (0..20_000)
            .map(|i| format!("spec.hooks.resources[{i}].pre[0].exec.timeout"))
            .collect();
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        let places = places_of_paths(&text, &paths, None);
        assert_eq!(places[0], Some((7, Some(11))));
        assert_eq!(places[19_999], Some((4 + 4 * 19_999 + 3, Some(11))));
    }
}
