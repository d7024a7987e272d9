//! Small helpers shared by the table modules.
//!
//! Reads by key use `.all()` and take the first row, not `.one()`: `.one()`
//! adds `LIMIT ?` with a bound value, and SQLite marks a statement whose
//! LIMIT is a bound parameter to be re-prepared every time that parameter is
//! bound again (`sqlite3ExprIsInteger` sets the statement's `expmask`), so
//! the cached statement was parsed and planned anew on every request (a fifth
//! of the SQLite threads' time under load).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::StoreError;

/// The system clock in Unix seconds (0 if the clock is before 1970).
pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Compares two strings in time that depends only on their lengths.
#[inline(never)]
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Encodes a list of strings as a JSON array.
pub(crate) fn strings_to_json(v: &[String]) -> serde_json::Value {
    serde_json::Value::Array(
        v.iter()
            .map(|s| serde_json::Value::String(s.clone()))
            .collect(),
    )
}

/// Decodes a JSON array of strings.
pub(crate) fn json_to_strings(v: serde_json::Value, what: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_value(v).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Converts a stored integer to `u32`.
pub(crate) fn to_u32(v: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what}: {v} is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        assert!(constant_time_eq("", ""));
    }
}
