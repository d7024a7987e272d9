//! Data functions (walt.id style) in static claims, mappings and runtime
//! overrides: `<uuid>`, `<timestamp>`, `<timestamp-in-seconds>`, offsets such
//! as `<timestamp-in-seconds:+365d>` or `<timestamp:-1h>`, `<subject-id>`,
//! `<issuer-id>` and `<offer-id>`.
//!
//! A function is written inside a JSON string, alone (`"<uuid>"`) or within
//! text (`"urn:uuid:<uuid>"`). A string that is exactly one
//! `<timestamp-in-seconds…>` becomes a JSON number; everything else stays a
//! string. Text between `<` and `>` that is not a name (`a < b > c`) is left
//! alone; a name that is not a known function is an error that names it.
//! The clock is a parameter, so tests use a fixed one.

use serde_json::Value;

/// The names of the known functions.
pub const FUNCTIONS: &[&str] = &[
    "uuid",
    "timestamp",
    "timestamp-in-seconds",
    "subject-id",
    "issuer-id",
    "offer-id",
];

/// What the functions evaluate against.
#[derive(Debug, Clone, Copy)]
pub struct DataContext<'a> {
    /// Now, Unix seconds (the clock).
    pub now: i64,
    /// Subject id, when known.
    pub subject_id: Option<&'a str>,
    /// Credential issuer identifier of the tenant.
    pub issuer_id: &'a str,
    /// Offer id.
    pub offer_id: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Function {
    Uuid,
    Timestamp(i64),
    TimestampSeconds(i64),
    SubjectId,
    IssuerId,
    OfferId,
}

enum Piece<'a> {
    Text(&'a str),
    Call(Function),
}

fn is_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn offset(arg: &str) -> Result<i64, String> {
    let bad = || format!("'{arg}' is not an offset; write e.g. +365d, -1h, +30m, +10s or +2w");
    let (sign, rest) = match arg.as_bytes().first() {
        Some(b'+') => (1, &arg[1..]),
        Some(b'-') => (-1, &arg[1..]),
        _ => return Err(bad()),
    };
    let unit = rest.chars().last().ok_or_else(bad)?;
    let n: i64 = rest[..rest.len() - unit.len_utf8()]
        .parse()
        .map_err(|_| bad())?;
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return Err(bad()),
    };
    n.checked_mul(secs)
        .filter(|v| v.abs() <= 200 * 365 * 86_400)
        .map(|v| sign * v)
        .ok_or_else(bad)
}

fn function(name: &str, arg: Option<&str>) -> Result<Function, String> {
    let no_arg = |f: Function| match arg {
        None => Ok(f),
        Some(a) => Err(format!("<{name}> takes no argument (got ':{a}')")),
    };
    match name {
        "uuid" => no_arg(Function::Uuid),
        "subject-id" => no_arg(Function::SubjectId),
        "issuer-id" => no_arg(Function::IssuerId),
        "offer-id" => no_arg(Function::OfferId),
        "timestamp" => Ok(Function::Timestamp(
            arg.map(offset).transpose()?.unwrap_or(0),
        )),
        "timestamp-in-seconds" => Ok(Function::TimestampSeconds(
            arg.map(offset).transpose()?.unwrap_or(0),
        )),
        other => Err(format!(
            "unknown data function <{other}>; known: {}",
            FUNCTIONS
                .iter()
                .map(|f| format!("<{f}>"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn parse(s: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        let inner = &rest[start + 1..start + len];
        let (name, arg) = match inner.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (inner, None),
        };
        if !is_name(name) {
            out.push(Piece::Text(&rest[..start + 1]));
            rest = &rest[start + 1..];
            continue;
        }
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        out.push(Piece::Call(function(name, arg)?));
        rest = &rest[start + len + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// Whether `value` is a string that calls a data function (evaluated only
/// at issuance): `"<uuid>"` does, `"a < b > c"` does not.
pub fn calls_function(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        parse(s).is_ok_and(|pieces| pieces.iter().any(|p| matches!(p, Piece::Call(_))))
    })
}

/// Check every string in `value` for unknown or malformed functions.
/// The error names the JSON path (`at` is the path of `value`).
pub fn check(value: &Value, at: &str) -> Result<(), String> {
    match value {
        Value::String(s) => parse(s).map(|_| ()).map_err(|e| format!("{at}: {e}")),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check(v, &format!("{at}[{i}]"))),
        Value::Object(o) => o
            .iter()
            .try_for_each(|(k, v)| check(v, &format!("{at}.{k}"))),
        _ => Ok(()),
    }
}

fn eval(f: &Function, ctx: &DataContext<'_>) -> Result<Value, String> {
    Ok(match f {
        Function::Uuid => uuid::Uuid::new_v4().to_string().into(),
        Function::Timestamp(off) => sigil_time::rfc3339(ctx.now + off).into(),
        Function::TimestampSeconds(off) => (ctx.now + off).into(),
        Function::SubjectId => ctx
            .subject_id
            .ok_or("<subject-id>: no subject id is known for this issuance")?
            .into(),
        Function::IssuerId => ctx.issuer_id.into(),
        Function::OfferId => ctx.offer_id.into(),
    })
}

fn text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Evaluate every function in `value`.
pub fn expand(value: &Value, ctx: &DataContext<'_>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => {
            let pieces = parse(s)?;
            match pieces.as_slice() {
                [Piece::Call(f)] => eval(f, ctx)?,
                _ if !pieces.iter().any(|p| matches!(p, Piece::Call(_))) => value.clone(),
                _ => {
                    let mut out = String::new();
                    for p in &pieces {
                        match p {
                            Piece::Text(t) => out.push_str(t),
                            Piece::Call(f) => out.push_str(&text(eval(f, ctx)?)),
                        }
                    }
                    out.into()
                }
            }
        }
        Value::Array(a) => a
            .iter()
            .map(|v| expand(v, ctx))
            .collect::<Result<Vec<_>, _>>()?
            .into(),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| Ok((k.clone(), expand(v, ctx)?)))
            .collect::<Result<serde_json::Map<_, _>, String>>()?
            .into(),
        other => other.clone(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_700_000_000; // 2023-11-14T22:13:20Z

    fn ctx() -> DataContext<'static> {
        DataContext {
            now: NOW,
            subject_id: Some("did:example:alice"),
            issuer_id: "https://issuer.example",
            offer_id: "offer-1",
        }
    }

    #[test]
    fn every_function_with_a_fixed_clock() {
        let v = json!({
            "id": "urn:uuid:<uuid>",
            "raw": "<uuid>",
            "iat": "<timestamp-in-seconds>",
            "exp": "<timestamp-in-seconds:+365d>",
            "issued": "<timestamp>",
            "later": "<timestamp:+1h>",
            "earlier": "<timestamp:-30m>",
            "nested": [{ "sub": "<subject-id>" }, "by <issuer-id> for <offer-id>"],
            "text": "a < b > c",
            "n": 3,
        });
        let out = expand(&v, &ctx()).unwrap();
        assert_eq!(out["iat"], json!(NOW));
        assert_eq!(out["exp"], json!(NOW + 365 * 86_400));
        assert_eq!(out["issued"], "2023-11-14T22:13:20Z");
        assert_eq!(out["later"], "2023-11-14T23:13:20Z");
        assert_eq!(out["earlier"], "2023-11-14T21:43:20Z");
        assert_eq!(out["nested"][0]["sub"], "did:example:alice");
        assert_eq!(out["nested"][1], "by https://issuer.example for offer-1");
        assert_eq!(out["text"], "a < b > c");
        assert_eq!(out["n"], 3);
        let id = out["id"].as_str().unwrap();
        assert!(id.starts_with("urn:uuid:"));
        assert!(uuid::Uuid::parse_str(&id[9..]).is_ok(), "{id}");
        assert!(uuid::Uuid::parse_str(out["raw"].as_str().unwrap()).is_ok());
        let again = expand(&v, &ctx()).unwrap();
        assert_ne!(again["raw"], out["raw"], "a fresh uuid every time");
    }

    #[test]
    fn calls_are_told_from_angle_brackets_in_text() {
        for v in [
            json!("<uuid>"),
            json!("urn:<subject-id>"),
            json!("<timestamp:+1h>"),
        ] {
            assert!(calls_function(&v), "{v}");
        }
        for v in [json!("a < b > c"), json!("UT"), json!(3), json!("<nope>")] {
            assert!(!calls_function(&v), "{v}");
        }
    }

    #[test]
    fn unknown_and_malformed_functions_are_named() {
        let e = check(&json!({ "a": ["x", "<uuidd>"] }), "claims").unwrap_err();
        assert!(e.contains("claims.a[1]") && e.contains("<uuidd>"), "{e}");
        let e = check(&json!("<timestamp:+3x>"), "m").unwrap_err();
        assert!(e.contains("+3x"), "{e}");
        let e = check(&json!("<uuid:1>"), "m").unwrap_err();
        assert!(e.contains("no argument"), "{e}");
        assert!(check(&json!({"a": "<timestamp-in-seconds:-2w>"}), "m").is_ok());
    }

    #[test]
    fn subject_id_must_be_known() {
        let mut c = ctx();
        c.subject_id = None;
        assert!(expand(&json!("<subject-id>"), &c).is_err());
    }
}
