//! The rules of an offer's transaction code (OID4VCI §4.1.1 `tx_code`):
//! what the admin asks for becomes the announced [`TxCode`] and its value.

use serde::Deserialize;

use super::offer::{TxCode, TxInputMode};
use crate::secrets;

/// The most characters of a `tx_code` description (§4.1.1).
pub const MAX_DESCRIPTION_CHARS: usize = 300;

/// The shortest and the longest transaction code.
pub const LENGTHS: std::ops::RangeInclusive<u32> = 4..=32;

/// What an admin asks for (the admin API's `txCode`): each member optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TxCodeRequest {
    /// `numeric` (default) or `text`.
    #[serde(default)]
    pub input_mode: Option<String>,
    /// Length (default: the value's, else 6).
    #[serde(default)]
    pub length: Option<u32>,
    /// Guidance for the user.
    #[serde(default)]
    pub description: Option<String>,
    /// The code itself; generated when absent.
    #[serde(default)]
    pub value: Option<String>,
}

/// One member of a [`TxCodeRequest`] that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxCodeFault {
    /// `inputMode`, `length`, `description` or `value`.
    pub member: &'static str,
    /// What is wrong, for a human to fix.
    pub message: String,
}

impl TxCodeRequest {
    /// The announced code and its value, or every member that breaks a rule.
    pub fn announce(self) -> Result<(TxCode, String), Vec<TxCodeFault>> {
        let mut faults = Vec::new();
        let mut fault = |member, message: String| faults.push(TxCodeFault { member, message });
        let mode = match self.input_mode.as_deref() {
            None => TxInputMode::Numeric,
            Some(given) => TxInputMode::parse(given).unwrap_or_else(|| {
                fault("inputMode", "use numeric or text".into());
                TxInputMode::Numeric
            }),
        };
        if self
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
        {
            fault(
                "description",
                format!("at most {MAX_DESCRIPTION_CHARS} characters"),
            );
        }
        let given_length = self.value.as_ref().map(|v| v.chars().count());
        let length = self
            .length
            .or(given_length.and_then(|n| u32::try_from(n).ok()))
            .unwrap_or(6);
        if !LENGTHS.contains(&length) {
            fault(
                "length",
                format!("use {} to {} characters", LENGTHS.start(), LENGTHS.end()),
            );
        }
        if let (Some(v), Some(n)) = (&self.value, given_length) {
            if n != length as usize {
                fault(
                    "value",
                    format!("has {n} characters but length is {length}"),
                );
            }
            if mode == TxInputMode::Numeric && !v.chars().all(|c| c.is_ascii_digit()) {
                fault("value", "a numeric code has only digits".into());
            }
        }
        if !faults.is_empty() {
            return Err(faults);
        }
        let value = self.value.unwrap_or_else(|| secrets::tx_code(mode, length));
        Ok((
            TxCode {
                input_mode: mode,
                length: Some(length),
                description: self.description,
            },
            value,
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn members(r: TxCodeRequest) -> Vec<&'static str> {
        r.announce()
            .unwrap_err()
            .into_iter()
            .map(|f| f.member)
            .collect()
    }

    #[test]
    fn defaults_give_a_six_digit_code() {
        let (tx, value) = TxCodeRequest::default().announce().unwrap();
        assert_eq!((tx.input_mode, tx.length), (TxInputMode::Numeric, Some(6)));
        assert!(value.len() == 6 && value.chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn a_given_value_sets_the_length() {
        let r = TxCodeRequest {
            input_mode: Some("text".into()),
            value: Some("abcde".into()),
            ..Default::default()
        };
        let (tx, value) = r.announce().unwrap();
        assert_eq!((tx.length, value.as_str()), (Some(5), "abcde"));
    }

    #[test]
    fn each_broken_rule_names_its_member() {
        assert_eq!(
            members(TxCodeRequest {
                input_mode: Some("emoji".into()),
                ..Default::default()
            }),
            ["inputMode"]
        );
        assert_eq!(
            members(TxCodeRequest {
                description: Some("x".repeat(301)),
                length: Some(3),
                ..Default::default()
            }),
            ["description", "length"]
        );
        assert_eq!(
            members(TxCodeRequest {
                length: Some(6),
                value: Some("12a4".into()),
                ..Default::default()
            }),
            ["value", "value"]
        );
        assert!(
            TxCodeRequest {
                description: Some("é".repeat(300)),
                ..Default::default()
            }
            .announce()
            .is_ok()
        );
    }
}
