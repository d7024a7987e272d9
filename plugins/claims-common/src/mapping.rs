//! Mapping JSON documents to claims: JSON pointer (RFC 6901) → claim path.

use std::collections::BTreeMap;

use sigil_plugin_sdk::serde_json::{Map, Value};

/// Set `path` (`a.b.c`: nested object members) in `claims` to `value`.
/// Fails when a member on the way is not an object.
pub fn set_path(claims: &mut Map<String, Value>, path: &str, value: Value) -> Result<(), String> {
    let mut parts = path.split('.').peekable();
    let mut node = claims;
    while let Some(part) = parts.next() {
        if part.is_empty() {
            return Err(format!("claim path '{path}' has an empty segment"));
        }
        if parts.peek().is_none() {
            node.insert(part.to_owned(), value);
            return Ok(());
        }
        let next = node
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        node = next
            .as_object_mut()
            .ok_or_else(|| format!("claim path '{path}': '{part}' is not an object"))?;
    }
    Ok(())
}

/// Build claims from `doc`: every pointer that resolves is copied to its
/// claim path; pointers that do not resolve are skipped (the format plugin
/// rejects missing mandatory claims).
pub fn apply(
    mapping: &BTreeMap<String, String>,
    doc: &Value,
) -> Result<Map<String, Value>, String> {
    let mut claims = Map::new();
    for (pointer, path) in mapping {
        if let Some(v) = doc.pointer(pointer) {
            set_path(&mut claims, path, v.clone())?;
        }
    }
    Ok(claims)
}
