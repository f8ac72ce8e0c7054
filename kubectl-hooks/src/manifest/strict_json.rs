//! JSON with duplicate keys refused: a key given twice in one object is an input error,
//! as it is in YAML, instead of serde_json's silent last-wins.
//!
//! The API server's strict field validation (kubectl's default `--validate=strict`)
//! refuses a duplicated field; lenient readers keep one of the values (Go's decoder the
//! last one). Either way one value the author wrote is lost, so a duplicate is an input
//! error here, worded the same for YAML and JSON.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses one JSON document into a `Value`, refusing duplicated object keys.
pub fn from_str(text: &str) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = StrictValue.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Parses JSON documents written one after the other without `---` (what `jq -c` and
/// concatenated `kubectl get -o json` outputs give, and what kubectl's decoder reads), each
/// with the byte offset it starts at.
pub fn stream(text: &str) -> Result<Vec<(usize, Value)>, serde_json::Error> {
    // serde_json finds where each value ends; each is then read with duplicates refused.
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<de::IgnoredAny>();
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(value) = values.next() {
        value?;
        let end = values.byte_offset();
        let piece = &text[start..end];
        let lead = piece.len() - piece.trim_start().len();
        out.push((start + lead, from_str(piece)?));
        start = end;
    }
    Ok(out)
}

/// The message both parsers give for a key written twice; for a hook key it says how to
/// run more than one command, which is why people write one twice.
pub fn duplicate_key_message(key: &str) -> String {
    let hint = if velero_hooks::keys::looks_like_hook_key(key) {
        " (Velero runs one command per hook phase: chain commands as \
         [\"/bin/sh\", \"-c\", \"a && b\"])"
    } else {
        ""
    };
    format!(
        "key `{key}` is written twice in one mapping: YAML forbids it, the API server's strict \
         field validation refuses it, and lenient readers keep only one of the values; keep \
         one{hint}"
    )
}

struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // Checked before the value is read, so that the error points at the key.
            if object.contains_key(&key) {
                return Err(de::Error::custom(duplicate_key_message(&key)));
            }
            let value = map.next_value_seed(StrictValue)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_serde_json_reads() {
        let text = r#"{"a": [1, -2, 2.5, "x", null, true, {"b": {}}], "c": 18446744073709551615}"#;
        assert_eq!(
            from_str(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn refuses_a_key_twice_with_its_line() {
        let err = from_str("{\"metadata\": {\n \"a\": \"1\",\n \"a\": \"2\"}}").unwrap_err();
        assert!(
            err.to_string().contains("key `a` is written twice"),
            "{err}"
        );
        assert_eq!(err.line(), 3);
        assert!(from_str(r#"{"a": {"x": 1}, "b": {"x": 2}}"#).is_ok());
    }

    #[test]
    fn refuses_trailing_content() {
        assert!(from_str("{} {}").is_err());
    }
}
