//! Dates as credentials write them ([`sigil_time`], the one implementation
//! the host uses too).

pub use sigil_time::unix_seconds;

/// RFC 3339 UTC date-time without fractional seconds
/// (`2024-01-31T12:00:00Z`) of `secs` seconds since the Unix epoch.
pub fn rfc3339(secs: u64) -> String {
    sigil_time::rfc3339(i64::try_from(secs).unwrap_or(i64::MAX))
}
