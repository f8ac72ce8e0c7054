//! YAML documents read into JSON values the way `kubectl apply -f` reads them.
//!
//! kubectl turns YAML into JSON with `sigs.k8s.io/yaml`, which resolves plain scalars by
//! YAML 1.1 rules (its `goyaml.v2/resolve.go`): `yes`/`on`/`y` are booleans, `0755` is the
//! octal number 493, `~` and an empty value are null, timestamps stay strings. The rules
//! depend on those types (an unquoted `timeout: 30` is a number, which the API server
//! refuses as an annotation value), so this reader resolves scalars exactly that way. The
//! syntax itself is parsed by `granit-parser` (the parser under serde-saphyr); building the
//! value from its events directly is about three times faster than going through serde.
//!
//! Guarded against hostile input: nesting is limited, and aliases may not expand to more
//! than a fixed number of nodes (the "billion laughs") nor copy more than a fixed number of
//! bytes (a few aliases of one long string).

use std::borrow::Cow;

use granit_parser::{Event, Options, Parser, ScalarStyle, Tag};
use serde_json::{Map, Number, Value};

use super::strict_json::duplicate_key_message;

/// Deeper nesting than any Kubernetes object has; refuses stack-exhausting input.
const MAX_DEPTH: usize = 256;
/// Nodes that aliases may add in one document.
const MAX_ALIAS_NODES: usize = 1_000_000;
/// Bytes of text that aliases may copy in one document: several times what the API server
/// accepts in a whole object (3 MiB), so no object it could store is refused.
const MAX_ALIAS_BYTES: usize = 16 << 20;
/// The API server refuses requests over 3 MiB, so no real object holds a longer value.
const MAX_SCALAR_BYTES: usize = 3 << 20;

/// Why a document cannot be read: the 1-based line and column within the parsed text, and
/// a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses every document of `text` into a value, with the 1-based line it starts on.
pub fn parse(text: &str) -> Result<Vec<(usize, Value)>, YamlError> {
    parse_with(text, None)
}

/// Like [`parse`], but keeps of each object only what the rules and the planner read
/// ([`OBJECT`]): everything is still parsed (a syntax error anywhere is found), but the
/// rest is never allocated. Velero's own objects, whose whole spec matters, and documents
/// with anchors (an alias may copy a skipped node) are read whole.
pub fn parse_pruned(text: &str) -> Result<Vec<(usize, Value)>, YamlError> {
    match parse_with(text, Some(&OBJECT)) {
        Ok(documents)
            if !documents.iter().any(|(_, v)| {
                v.pointer("/apiVersion").and_then(Value::as_str) == Some(VELERO_API)
            }) =>
        {
            Ok(documents)
        }
        Err(err) if err.message != RESTART => Err(err),
        _ => parse_with(text, None),
    }
}

const VELERO_API: &str = "velero.io/v1";
/// Not an error: the pruned reading met an anchor in a skipped node.
const RESTART: &str = "\0restart";

fn parse_with(text: &str, shape: Option<&'static Shape>) -> Result<Vec<(usize, Value)>, YamlError> {
    let mut options = Options::default();
    // As libyaml (and so kubectl's go-yaml) reads a block scalar that ends the input.
    options.block_scalar_eof_without_line_feed = true;
    // Comments carry nothing kubectl reads; not emitting them saves an event per comment.
    options.set_emit_comments(false);
    let mut builder = Builder {
        pruning: shape.is_some(),
        root: shape.unwrap_or(&Shape::All),
        documents: Vec::new(),
        document_line: 0,
        stack: Vec::new(),
        anchors: Vec::new(),
        alias_nodes: 0,
        alias_bytes: 0,
    };
    for event in Parser::new_from_str_with_options(text, options) {
        let (event, span) = event.map_err(|err| YamlError {
            line: err.marker().line(),
            column: err.marker().col() + 1,
            message: err.info().to_owned(),
        })?;
        builder
            .event(event, span.start.line())
            .map_err(|message| YamlError {
                line: span.start.line(),
                column: span.start.col() + 1,
                message,
            })?;
    }
    Ok(builder.documents)
}

/// What to keep of a value while reading it.
#[derive(Debug)]
pub enum Shape {
    All,
    /// Of a mapping, these keys (each by its own shape); other keys are read and dropped.
    Fields(&'static [(&'static str, Shape)]),
    /// Of a sequence, every item by this shape.
    Each(&'static Shape),
    /// Read and dropped.
    Skip,
}

use Shape::{All, Each, Fields};

const METADATA: Shape = Fields(&[
    ("name", All),
    ("generateName", All),
    ("namespace", All),
    ("uid", All),
    ("labels", All),
    ("annotations", All),
    ("ownerReferences", All),
    ("deletionTimestamp", All),
]);
const CONTAINERS: Shape = Each(&Fields(&[("name", All)]));
const INIT_CONTAINERS: Shape = Each(&Fields(&[("name", All), ("restartPolicy", All)]));
const TEMPLATE: Shape = Fields(&[
    ("metadata", METADATA),
    (
        "spec",
        Fields(&[
            ("containers", CONTAINERS),
            ("initContainers", INIT_CONTAINERS),
        ]),
    ),
]);
/// What the rules and the planner read of any object, whatever its kind (the kind may come
/// after the spec): the places a pod template can be, as in the library's `pruned` module,
/// plus labels, `deletionTimestamp` and `status.phase` for the planner. A `List` is kept
/// whole.
pub const OBJECT: Shape = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", METADATA),
    ("items", All),
    ("template", TEMPLATE),
    (
        "spec",
        Fields(&[
            ("containers", CONTAINERS),
            ("initContainers", INIT_CONTAINERS),
            ("template", TEMPLATE),
            (
                "jobTemplate",
                Fields(&[("spec", Fields(&[("template", TEMPLATE)]))]),
            ),
        ]),
    ),
    ("status", Fields(&[("phase", All)])),
]);

impl Shape {
    fn field(&'static self, key: &str) -> &'static Shape {
        match self {
            All => &All,
            Fields(fields) => fields
                .iter()
                .find(|(name, _)| *name == key)
                .map_or(&Shape::Skip, |(_, shape)| shape),
            Each(_) | Shape::Skip => &Shape::Skip,
        }
    }

    fn item(&'static self) -> &'static Shape {
        match self {
            All => &All,
            Each(shape) => shape,
            Fields(_) | Shape::Skip => &Shape::Skip,
        }
    }
}

struct Builder {
    /// The shape of each document; `None`: keep everything.
    pruning: bool,
    root: &'static Shape,
    documents: Vec<(usize, Value)>,
    document_line: usize,
    stack: Vec<Frame>,
    /// Anchored values of the current document by anchor id, with their node counts.
    anchors: Vec<Option<(Value, usize)>>,
    alias_nodes: usize,
    alias_bytes: usize,
}

/// The text a value holds (strings and keys), which copying it copies.
fn text_bytes(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(text_bytes).sum(),
        Value::Object(map) => map.iter().map(|(k, v)| k.len() + text_bytes(v)).sum(),
        _ => 0,
    }
}

enum Frame {
    Sequence {
        items: Vec<Value>,
        anchor: usize,
        nodes: usize,
        item_shape: &'static Shape,
    },
    Mapping {
        map: Map<String, Value>,
        anchor: usize,
        nodes: usize,
        key: Option<Key>,
        merges: Vec<Value>,
        shape: &'static Shape,
        /// Keys whose values were read and dropped (a key given twice is still an error).
        dropped: Vec<String>,
    },
    /// A collection read and dropped, nested in other dropped ones or in a kept mapping.
    Dropped,
}

enum Key {
    Name(String),
    /// `<<`: the value's mappings are merged into this one.
    Merge,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, line: usize) -> Result<(), String> {
        match event {
            Event::DocumentStart(..) => {
                self.document_line = line;
                self.anchors.clear();
                self.alias_nodes = 0;
                self.alias_bytes = 0;
            }
            Event::Scalar(text, style, anchor, tag) => {
                if text.len() > MAX_SCALAR_BYTES {
                    return Err(format!(
                        "a value of {} MiB: longer than any Kubernetes object can hold (the \
                         API server refuses requests over 3 MiB)",
                        text.len() >> 20
                    ));
                }
                if self.expects_key() && style == ScalarStyle::Plain && tag.is_none() {
                    let key = if text == "<<" {
                        Key::Merge
                    } else {
                        Key::Name(plain_key(&text)?)
                    };
                    return self.set_key(key);
                }
                if self.pruning && anchor != 0 {
                    return Err(RESTART.to_owned());
                }
                if matches!(self.next_shape(), Shape::Skip) {
                    return self.drop_value();
                }
                let value = scalar(text, style, tag.as_deref())?;
                self.remember(anchor, &value, 1);
                self.add(value, 1)?;
            }
            Event::Alias(_) if matches!(self.next_shape(), Shape::Skip) => self.drop_value()?,
            Event::Alias(id) => {
                let Some(Some((value, nodes))) = self.anchors.get(id) else {
                    return Err("alias to an anchor that is not defined before it".to_owned());
                };
                self.alias_nodes += nodes;
                // Counted before the copy is made, so the limit holds memory too.
                self.alias_bytes += text_bytes(value);
                if self.alias_nodes > MAX_ALIAS_NODES || self.alias_bytes > MAX_ALIAS_BYTES {
                    return Err(format!(
                        "aliases expand to more than {MAX_ALIAS_NODES} nodes or {} MiB of \
                         text; refusing a document that would exhaust memory",
                        MAX_ALIAS_BYTES >> 20
                    ));
                }
                let (value, nodes) = (value.clone(), *nodes);
                self.add(value, nodes)?;
            }
            Event::SequenceStart(_, anchor, tag) => {
                self.check_collection_tag(tag.as_deref(), "seq")?;
                if self.pruning && anchor != 0 {
                    return Err(RESTART.to_owned());
                }
                let shape = self.next_shape();
                self.push(match shape {
                    Shape::Skip => Frame::Dropped,
                    _ => Frame::Sequence {
                        items: Vec::new(),
                        anchor,
                        nodes: 1,
                        item_shape: shape.item(),
                    },
                })?;
            }
            Event::MappingStart(_, anchor, tag) => {
                self.check_collection_tag(tag.as_deref(), "map")?;
                if self.pruning && anchor != 0 {
                    return Err(RESTART.to_owned());
                }
                let shape = self.next_shape();
                self.push(match shape {
                    Shape::Skip => Frame::Dropped,
                    _ => Frame::Mapping {
                        map: Map::new(),
                        anchor,
                        nodes: 1,
                        key: None,
                        merges: Vec::new(),
                        shape,
                        dropped: Vec::new(),
                    },
                })?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor, nodes) = match self.stack.pop() {
                    Some(Frame::Sequence {
                        items,
                        anchor,
                        nodes,
                        ..
                    }) => (Value::Array(items), anchor, nodes),
                    Some(Frame::Mapping {
                        mut map,
                        anchor,
                        nodes,
                        merges,
                        ..
                    }) => {
                        merge_into(&mut map, merges)?;
                        (Value::Object(map), anchor, nodes)
                    }
                    Some(Frame::Dropped) => return self.drop_value(),
                    None => return Err("unbalanced collection end".to_owned()),
                };
                self.remember(anchor, &value, nodes);
                self.add(value, nodes)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The shape of the node that comes next.
    fn next_shape(&self) -> &'static Shape {
        match self.stack.last() {
            None => self.root,
            Some(Frame::Sequence { item_shape, .. }) => item_shape,
            Some(Frame::Mapping {
                key: Some(Key::Name(name)),
                shape,
                ..
            }) => shape.field(name),
            // A key that is not a plain scalar, or a merge source: kept whole.
            Some(Frame::Mapping { .. }) => &All,
            Some(Frame::Dropped) => &Shape::Skip,
        }
    }

    /// A value read and dropped: its key still counts, so that a key given twice is found.
    fn drop_value(&mut self) -> Result<(), String> {
        if let Some(Frame::Mapping { key, dropped, .. }) = self.stack.last_mut()
            && let Some(Key::Name(name)) = key.take()
        {
            dropped.push(name);
        }
        Ok(())
    }

    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. }))
    }

    /// Takes the key of the next value, refused when the mapping already has it: checked
    /// here, while the parser is at the key, so that the error points at the second key.
    fn set_key(&mut self, new: Key) -> Result<(), String> {
        if let Some(Frame::Mapping {
            key, map, dropped, ..
        }) = self.stack.last_mut()
        {
            if let Key::Name(name) = &new
                && (map.contains_key(name) || dropped.contains(name))
            {
                return Err(duplicate_key_message(name));
            }
            *key = Some(new);
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame) -> Result<(), String> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(format!("nested more than {MAX_DEPTH} levels deep"));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn remember(&mut self, anchor: usize, value: &Value, nodes: usize) {
        if anchor == 0 {
            return;
        }
        if self.anchors.len() <= anchor {
            self.anchors.resize(anchor + 1, None);
        }
        self.anchors[anchor] = Some((value.clone(), nodes));
    }

    /// Adds a finished node to its parent (or makes it the document).
    fn add(&mut self, value: Value, added: usize) -> Result<(), String> {
        match self.stack.last_mut() {
            None => self.documents.push((self.document_line, value)),
            Some(Frame::Sequence { items, nodes, .. }) => {
                *nodes += added;
                items.push(value);
            }
            Some(Frame::Dropped) => {}
            Some(Frame::Mapping {
                map,
                key,
                nodes,
                merges,
                ..
            }) => {
                *nodes += added;
                match key.take() {
                    // A key that is not a plain scalar: quoted, tagged, or a collection.
                    None => return self.set_key(Key::Name(key_text(&value)?)),
                    Some(Key::Merge) => merges.push(value),
                    Some(Key::Name(name)) => {
                        map.insert(name, value);
                    }
                }
            }
        }
        Ok(())
    }

    fn check_collection_tag(&self, tag: Option<&Tag>, expected: &str) -> Result<(), String> {
        match tag.and_then(Tag::core_suffix) {
            Some(suffix) if suffix != expected && suffix != "omap" && suffix != "set" => {
                Err(format!("a {expected} cannot have the tag !!{suffix}"))
            }
            _ => Ok(()),
        }
    }
}

/// `<<: *base` or `<<: [*a, *b]`: keys written in the mapping win, then earlier sources.
fn merge_into(map: &mut Map<String, Value>, merges: Vec<Value>) -> Result<(), String> {
    for source in merges {
        let sources = match source {
            Value::Array(items) => items,
            other => vec![other],
        };
        for source in sources {
            let Value::Object(entries) = source else {
                return Err("a merge key `<<` needs a mapping or a list of mappings".to_owned());
            };
            for (key, value) in entries {
                map.entry(key).or_insert(value);
            }
        }
    }
    Ok(())
}

/// A plain scalar in key position, as a JSON object key (the text, unless YAML 1.1 reads it
/// as a number, boolean or null: `1: a` has the key "1", `on: x` the key "true").
fn plain_key(text: &str) -> Result<String, String> {
    match text.as_bytes().first() {
        Some(b) if b.is_ascii_digit() || b"+-.yYnNtTfFoO~".contains(b) => {
            key_text(&resolve_plain(text)?)
        }
        Some(_) => Ok(text.to_owned()),
        None => Ok("null".to_owned()),
    }
}

/// A key's value as the JSON object key sigs.k8s.io/yaml makes of it.
fn key_text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok("null".to_owned()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err("a mapping key must be a scalar, not a list or a mapping".to_owned()),
    }
}

/// A scalar node's value: quoted and block scalars are strings; plain ones are resolved
/// by YAML 1.1 rules; core tags (`!!str`, `!!int`, ...) force their type, other tags are
/// strings (go-yaml's `resolvableTag`).
fn scalar(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    match tag.map(|t| t.core_suffix()) {
        Some(Some("str" | "binary")) | Some(None) => Ok(Value::String(text.into_owned())),
        Some(Some(wanted @ ("int" | "float" | "bool" | "null"))) => {
            let value = resolve_plain(&text)?;
            let matches = match wanted {
                "int" => value.is_i64() || value.is_u64(),
                "float" => value.is_number(),
                "bool" => value.is_boolean(),
                _ => value.is_null(),
            };
            if matches {
                Ok(value)
            } else {
                Err(format!("cannot read `{text}` as !!{wanted}"))
            }
        }
        Some(Some(other)) => Err(format!("a scalar cannot have the tag !!{other}")),
        None if style == ScalarStyle::Plain => resolve_plain(&text),
        None => Ok(Value::String(text.into_owned())),
    }
}

/// go-yaml v2's `resolve` for an untagged plain scalar, then sigs.k8s.io/yaml's conversion
/// to JSON (which has no NaN or infinity).
fn resolve_plain(text: &str) -> Result<Value, String> {
    let Some(&first) = text.as_bytes().first() else {
        return Ok(Value::Null);
    };
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Ok(Value::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Ok(Value::Bool(false));
        }
        "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF"
        | "-.inf" | "-.Inf" | "-.INF" => {
            return Err(format!("`{text}` is not a number JSON can hold; quote it"));
        }
        _ => {}
    }
    let number = match first {
        b'.' => text.parse::<f64>().ok().and_then(Number::from_f64),
        b'0'..=b'9' | b'+' | b'-' if !looks_like_timestamp(text) => {
            let plain = text.replace('_', "");
            go_int(&plain)
                .or_else(|| {
                    is_yaml_float(&plain)
                        .then(|| plain.parse::<f64>().ok().and_then(Number::from_f64))
                        .flatten()
                })
                .or_else(|| {
                    // Beyond 64 bits: go-yaml makes a big integer; JSON holds it as a float.
                    let digits = plain.strip_prefix(['+', '-']).unwrap_or(&plain);
                    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                        .then(|| plain.parse::<f64>().ok().and_then(Number::from_f64))
                        .flatten()
                })
        }
        _ => None,
    };
    Ok(number.map_or_else(|| Value::String(text.to_owned()), Value::Number))
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint`: a sign, then `0x`/`0o`/`0b`/`0`
/// prefixes for hex, octal (`0755` is 493) and binary.
fn go_int(text: &str) -> Option<Number> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(d) = rest.strip_prefix("0x").or(rest.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = rest.strip_prefix("0o").or(rest.strip_prefix("0O")) {
        (8, d)
    } else if let Some(d) = rest.strip_prefix("0b").or(rest.strip_prefix("0B")) {
        (2, d)
    } else if rest.len() > 1 && rest.starts_with('0') {
        (8, &rest[1..])
    } else {
        (10, rest)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        let value = 0i64.checked_sub_unsigned(magnitude)?;
        Some(Number::from(value))
    } else {
        Some(Number::from(magnitude))
    }
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(text: &str) -> bool {
    let s = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => digits(fraction),
        Some((whole, fraction)) => digits(whole) && fraction.bytes().all(|b| b.is_ascii_digit()),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// go-yaml's `parseTimestamp` quick check and formats: such plain scalars stay strings
/// when decoded into an untyped value, as kubectl decodes them.
fn looks_like_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() > 4 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-'
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn one(text: &str) -> Value {
        let mut docs = parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        assert_eq!(docs.len(), 1);
        docs.remove(0).1
    }

    #[test]
    fn resolves_plain_scalars_as_kubectl_does() {
        // Cases from go-yaml v2's resolve table and strconv semantics.
        let cases = [
            ("30", json!(30)),
            ("0755", json!(493)),
            ("0o17", json!(15)),
            ("0x1F", json!(31)),
            ("0b101", json!(5)),
            ("-0b101", json!(-5)),
            ("1_000", json!(1000)),
            ("08", json!(8.0)),
            ("1.5", json!(1.5)),
            (".5", json!(0.5)),
            ("1e3", json!(1000.0)),
            ("-12", json!(-12)),
            ("18446744073709551615", json!(18446744073709551615u64)),
            ("yes", json!(true)),
            ("On", json!(true)),
            ("n", json!(false)),
            ("OFF", json!(false)),
            ("~", json!(null)),
            ("Null", json!(null)),
            ("2024-01-02", json!("2024-01-02")),
            ("30s", json!("30s")),
            ("1.2.3", json!("1.2.3")),
            ("+", json!("+")),
            ("0x", json!("0x")),
            ("True-ish", json!("True-ish")),
            (".Nan", json!(".Nan")),
        ];
        for (text, expected) in cases {
            assert_eq!(one(&format!("v: {text}\n"))["v"], expected, "{text}");
        }
        assert_eq!(one("v:\n")["v"], json!(null));
        assert!(parse("v: .inf\n").is_err());
    }

    #[test]
    fn quoted_block_and_tagged_scalars() {
        let value =
            one("a: '0755'\nb: \"yes\"\nc: |\n  x\nd: !!str 30\ne: !!int \"30\"\nf: !custom 1\n");
        assert_eq!(
            value,
            json!({"a": "0755", "b": "yes", "c": "x\n", "d": "30", "e": 30, "f": "1"})
        );
        assert!(parse("a: !!int x\n").is_err());
    }

    #[test]
    fn keys_merges_and_aliases() {
        let value = one("base: &b {x: 1, z: 2}\nm:\n  <<: *b\n  z: 3\n1: one\non: two\n");
        assert_eq!(value["m"], json!({"x": 1, "z": 3}));
        assert_eq!(value["1"], json!("one"));
        assert_eq!(value["true"], json!("two"));
        // `y` and `on` are both booleans to YAML 1.1: both keys are "true", a duplicate.
        assert!(
            parse("on: a\ny: b\n")
                .unwrap_err()
                .message
                .contains("`true`")
        );
        let value = one("l: &l [a, b]\nc: *l\n");
        assert_eq!(value["c"], json!(["a", "b"]));
    }

    #[test]
    fn refuses_duplicates_bombs_and_depth() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("key `a` is written twice"), "{err:?}");

        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = i - 1
            ));
        }
        let err = parse(&bomb).unwrap_err();
        assert!(err.message.contains("aliases expand"), "{err:?}");
        // Few nodes, but each copies a long string: 2,000 copies of 100 kB are refused
        // before they are made.
        let long = format!(
            "a: &a \"{}\"\nb: [{}]\n",
            "x".repeat(100_000),
            vec!["*a"; 2000].join(", ")
        );
        let err = parse(&long).unwrap_err();
        assert!(err.message.contains("MiB of text"), "{err:?}");

        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn pruned_objects_keep_what_the_rules_read_and_nothing_else() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {a: b}\n  annotations: {x: z}\n  managedFields: [{manager: kubectl}]\nspec:\n  replicas: 2\n  template:\n    metadata:\n      labels: {app: web}\n      annotations: {pre.hook.backup.velero.io/command: '[\"a\"]'}\n    spec:\n      containers:\n      - name: app\n        image: nginx\n        env: [{name: A, value: '1'}]\n      initContainers: [{name: i, image: busybox, restartPolicy: Always}]\nstatus: {phase: Running, replicas: 2}\n";
        let pruned = parse_pruned(text).unwrap().remove(0).1;
        assert_eq!(
            pruned,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "labels": {"a": "b"}, "annotations": {"x": "z"}},
                "spec": {"template": {
                    "metadata": {"labels": {"app": "web"}, "annotations": {"pre.hook.backup.velero.io/command": "[\"a\"]"}},
                    "spec": {"containers": [{"name": "app"}], "initContainers": [{"name": "i", "restartPolicy": "Always"}]}}},
                "status": {"phase": "Running"}
            })
        );
    }

    #[test]
    fn pruning_still_finds_every_error_and_keeps_what_needs_the_whole() {
        // A syntax error in a dropped part, and a key given twice beside a dropped value.
        assert!(parse_pruned("kind: Pod\nspec:\n  x: [\n").is_err());
        let err = parse_pruned("kind: Pod\nspec:\n  replicas: 1\n  replicas: 2\n").unwrap_err();
        assert!(
            err.message.contains("`replicas` is written twice"),
            "{err:?}"
        );
        // Velero's objects and documents with anchors are read whole.
        let velero = "apiVersion: velero.io/v1\nkind: Schedule\nspec:\n  template:\n    hooks: {resources: [{name: a}]}\n";
        assert_eq!(parse_pruned(velero).unwrap(), parse(velero).unwrap());
        let anchored = "kind: Pod\nx: &a {name: c}\nspec:\n  containers: [*a]\n";
        assert_eq!(parse_pruned(anchored).unwrap(), parse(anchored).unwrap());
    }

    #[test]
    fn reports_syntax_errors_with_their_line() {
        let err = parse("a: 1\nb: [\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }

    #[test]
    fn several_documents_keep_their_lines() {
        let docs = parse("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [1, 2]);
    }
}
