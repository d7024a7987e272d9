//! The `claims` entries of a configuration (claims descriptions) and the
//! metadata built from them.

use serde_json::{Map, Value};

use super::FormatError;
use super::settings::member;

/// One entry of a configuration's `claims` array, as
/// [`SettingsReader::claims`](super::SettingsReader::claims) hands it to the
/// plugin: a JSON object with a valid claims path pointer in `path`. Other
/// members are read with the getters, whose errors name the entry:
/// ``"`claims[2].mandatory` of 'id' ..."``.
#[derive(Debug, Clone, Copy)]
pub struct ClaimEntry<'a> {
    id: &'a str,
    index: usize,
    entry: &'a Map<String, Value>,
    path: &'a [Value],
}

impl<'a> ClaimEntry<'a> {
    /// Reads entry `index` of the `claims` of configuration `configuration_id`:
    /// it must be an object whose `path` is a non-empty array of strings,
    /// nulls and non-negative integers.
    pub(super) fn parse(
        configuration_id: &'a str,
        index: usize,
        value: &'a Value,
    ) -> Result<Self, FormatError> {
        let name = |member: &str| entry_name(configuration_id, index, member);
        let entry = value.as_object().ok_or_else(|| {
            FormatError::InvalidConfiguration(format!("{} must be an object", name("")))
        })?;
        let path = match entry.get("path") {
            Some(Value::Array(p))
                if !p.is_empty()
                    && p.iter().all(|c| c.is_string() || c.is_null() || c.is_u64()) =>
            {
                p
            }
            _ => {
                return Err(FormatError::InvalidConfiguration(format!(
                    "{} must be a non-empty array of strings, nulls and non-negative integers",
                    name("path")
                )));
            }
        };
        Ok(Self {
            id: configuration_id,
            index,
            entry,
            path,
        })
    }

    /// The claims path pointer, as configured.
    pub fn path(&self) -> &'a [Value] {
        self.path
    }

    /// How errors name `member` of this entry: ``"`claims[i].member` of 'id'"``
    /// (``"`claims[i]` of 'id'"`` for an empty `member`).
    pub fn name(&self, member: &str) -> String {
        entry_name(self.id, self.index, member)
    }

    /// An `InvalidConfiguration` error: ``"`claims[i].member` of 'id' {problem}"``.
    pub fn invalid(&self, member: &str, problem: &str) -> FormatError {
        FormatError::InvalidConfiguration(format!("{} {problem}", self.name(member)))
    }

    /// The member `name`; `None` when it is absent or `null`.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        member(self.entry, name)
    }

    /// Refuses `member` when it is `value`, e.g. `sd: false` where every
    /// claim is selectively disclosable: ``"`claims[i].member` of 'id': {why}"``.
    pub fn refuse(&self, member: &str, value: &Value, why: &str) -> Result<(), FormatError> {
        if self.get(member) == Some(value) {
            return Err(FormatError::InvalidConfiguration(format!(
                "{}: {why}",
                self.name(member)
            )));
        }
        Ok(())
    }

    /// An optional boolean (`mandatory`, `sd`, ...).
    pub fn flag(&self, name: &str) -> Result<Option<bool>, FormatError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.invalid(name, "must be true or false")),
        }
    }

    /// An optional array (`display`, ...).
    pub fn array(&self, name: &str) -> Result<Option<&'a [Value]>, FormatError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(list)) => Ok(Some(list)),
            Some(_) => Err(self.invalid(name, "must be an array")),
        }
    }
}

fn entry_name(id: &str, index: usize, member: &str) -> String {
    let dot = if member.is_empty() { "" } else { "." };
    format!("`claims[{index}]{dot}{member}` of '{id}'")
}

/// A claims description for `credential_metadata.claims`: `path`, then
/// `mandatory` and `display` when set.
pub fn claim_description(
    path: Vec<Value>,
    mandatory: Option<bool>,
    display: Option<&[Value]>,
) -> Value {
    let mut d = Map::new();
    d.insert("path".into(), Value::Array(path));
    if let Some(m) = mandatory {
        d.insert("mandatory".into(), m.into());
    }
    if let Some(display) = display {
        d.insert("display".into(), Value::Array(display.to_vec()));
    }
    Value::Object(d)
}

/// Adds `credential_metadata {display, claims}` to `metadata`, leaving out
/// what is empty (and the whole member when both are).
pub fn insert_credential_metadata(
    metadata: &mut Map<String, Value>,
    display: Option<Vec<Value>>,
    claims: Vec<Value>,
) {
    let mut credential_metadata = Map::new();
    if let Some(display) = display {
        credential_metadata.insert("display".into(), Value::Array(display));
    }
    if !claims.is_empty() {
        credential_metadata.insert("claims".into(), Value::Array(claims));
    }
    if !credential_metadata.is_empty() {
        metadata.insert(
            "credential_metadata".into(),
            Value::Object(credential_metadata),
        );
    }
}

/// Whether the claims path pointer `path` selects a non-null value in
/// `value`. `null` selects every element of an array (so an empty array
/// counts).
pub fn path_selects(value: &Value, path: &[Value]) -> bool {
    let Some((head, rest)) = path.split_first() else {
        return !value.is_null();
    };
    match (head, value) {
        (Value::String(name), Value::Object(o)) => {
            o.get(name).is_some_and(|v| path_selects(v, rest))
        }
        (Value::Number(n), Value::Array(a)) => n
            .as_u64()
            .and_then(|i| a.get(usize::try_from(i).ok()?))
            .is_some_and(|v| path_selects(v, rest)),
        (Value::Null, Value::Array(a)) => a.iter().all(|v| path_selects(v, rest)),
        _ => false,
    }
}
