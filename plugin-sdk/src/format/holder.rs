//! Checks on the holder keys (JWKs) of a request's slots.

use serde_json::{Map, Value};

use super::{FormatError, Slot};

/// An `UnsupportedHolderKey` error for the key of slot `index`:
/// `"holder key {index} {why}"`.
pub fn holder_key_error(index: usize, why: &str) -> FormatError {
    FormatError::UnsupportedHolderKey(format!("holder key {index} {why}"))
}

/// The holder key of every slot, read as a [`HolderJwk`] and turned into the
/// plugin's form by `convert`; `None` for a slot without a holder key.
pub fn holder_jwks<T>(
    slots: &[Slot],
    convert: impl Fn(HolderJwk<'_>) -> Result<T, FormatError>,
) -> Result<Vec<Option<T>>, FormatError> {
    slots
        .iter()
        .enumerate()
        .map(|(i, slot)| {
            slot.holder_key
                .as_ref()
                .map(|key| convert(HolderJwk::new(i, key)?))
                .transpose()
        })
        .collect()
}

/// The holder key (JWK) of slot `index`, known to be a JSON object.
#[derive(Debug, Clone, Copy)]
pub struct HolderJwk<'a> {
    index: usize,
    jwk: &'a Map<String, Value>,
}

impl<'a> HolderJwk<'a> {
    /// Reads the holder key of slot `index`; refuses anything but a JSON object.
    pub fn new(index: usize, key: &'a Value) -> Result<Self, FormatError> {
        match key {
            Value::Object(jwk) => Ok(Self { index, jwk }),
            _ => Err(holder_key_error(index, "is not a JWK object")),
        }
    }

    /// The JWK's members.
    pub fn members(&self) -> &'a Map<String, Value> {
        self.jwk
    }

    /// `kty`, when it is a string.
    pub fn kty(&self) -> Option<&'a str> {
        self.jwk.get("kty").and_then(Value::as_str)
    }

    /// An `UnsupportedHolderKey` error for this key: `"holder key {index} {why}"`.
    pub fn refuse(&self, why: &str) -> FormatError {
        holder_key_error(self.index, why)
    }

    /// Refuses a key with private key material (`d`, or a symmetric `k`).
    pub fn check_public(&self) -> Result<(), FormatError> {
        if self.jwk.contains_key("d") || self.jwk.contains_key("k") {
            return Err(self.refuse("contains private key material; send the public key only"));
        }
        Ok(())
    }
}
