//! Strict reading of JSON request bodies.
//!
//! RFC 8259 §4 leaves duplicate member names to the reader ("names SHOULD be
//! unique"); "last one wins" lets two parties read one body differently, so
//! every JSON body Sigil accepts is refused when an object repeats a name.
//! Text a database cannot store (U+0000) is found here too, with the path of
//! each member that carries it, so a caller can refuse it before any work.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a body is not strict JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonFault {
    /// Not JSON, or an object names a member twice (the message says which
    /// and where).
    Syntax(String),
}

impl fmt::Display for JsonFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax(m) => f.write_str(m),
        }
    }
}

/// Parse `body` as JSON, refusing an object that repeats a member name.
pub fn parse_strict(body: &[u8]) -> Result<Value, JsonFault> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Unique::deserialize(&mut de)
        .and_then(|u| de.end().map(|()| u.0))
        .map_err(|e| JsonFault::Syntax(e.to_string()))?;
    Ok(value)
}

/// The paths (`a.b[2].c`; a member name that carries the NUL is given as
/// the path of its object plus the name) of every string or member name in
/// `value` that contains U+0000, at most `limit` of them, and how many
/// there are in all.
pub fn nul_paths(value: &Value, limit: usize) -> (Vec<String>, usize) {
    let mut found = Vec::new();
    let mut total = 0;
    walk(value, &mut String::new(), limit, &mut found, &mut total);
    (found, total)
}

fn walk(value: &Value, at: &mut String, limit: usize, found: &mut Vec<String>, total: &mut usize) {
    let hit = |path: String, found: &mut Vec<String>, total: &mut usize| {
        *total += 1;
        if found.len() < limit {
            found.push(if path.is_empty() { "$".into() } else { path });
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => hit(at.clone(), found, total),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = at.len();
                at.push_str(&format!("[{i}]"));
                walk(item, at, limit, found, total);
                at.truncate(len);
            }
        }
        Value::Object(map) => {
            for (name, item) in map {
                let len = at.len();
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(&name.replace('\0', "\\u0000"));
                if name.contains('\0') {
                    hit(at.clone(), found, total);
                }
                walk(item, at, limit, found, total);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// A JSON value whose objects never repeat a member name.
struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
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

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Unique::deserialize(d).map(|u| u.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        let mut seen = BTreeSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if !seen.insert(name.clone()) {
                return Err(de::Error::custom(format!(
                    "the member name \"{}\" appears twice in one object; send each member once",
                    name.escape_debug()
                )));
            }
            let Unique(v) = map.next_value()?;
            members.insert(name, v);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_repeated_member_is_refused_at_any_depth() {
        for body in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"x": {"b": true, "b": true}}"#,
            r#"[{"c": null}, {"d": 1, "d": 1}]"#,
        ] {
            let e = parse_strict(body.as_bytes()).unwrap_err();
            assert!(e.to_string().contains("appears twice"), "{body}: {e}");
        }
    }

    #[test]
    fn distinct_members_and_numbers_read_as_serde_json_reads_them() {
        let body = r#"{"a": [1, -2, 3.5, 18446744073709551615], "b": {"a": "é"}, "c": null}"#;
        assert_eq!(
            parse_strict(body.as_bytes()).unwrap(),
            serde_json::from_str::<Value>(body).unwrap()
        );
    }

    #[test]
    fn trailing_text_and_bad_json_are_refused() {
        assert!(parse_strict(b"{} {}").is_err());
        assert!(parse_strict(b"{\"a\": }").is_err());
        assert!(parse_strict(b"").is_err());
    }

    #[test]
    fn nul_is_found_in_values_and_member_names_with_its_path() {
        let v = json!({"a": ["ok", "b\u{0}"], "n\u{0}": 1, "o": {"p": "\u{0}"}});
        let (paths, total) = nul_paths(&v, 10);
        assert_eq!(total, 3);
        assert_eq!(paths, ["a[1]", "n\\u0000", "o.p"]);
        let (paths, total) = nul_paths(&v, 1);
        assert_eq!((paths.len(), total), (1, 3));
        assert_eq!(nul_paths(&json!({"a": "fine"}), 10), (vec![], 0));
    }
}
