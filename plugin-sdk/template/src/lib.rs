//! `template-directory`: an example claim provider to copy and adapt.
//!
//! It works in one of two modes, chosen by the operator:
//!
//! * **Directory mode.** The operator set `directory_url` in
//!   `[plugins.grants.template-directory.config]` (and allowed that origin in
//!   `allowed_hosts`). The plugin fetches `{directory_url}/people/{subject_id}`
//!   and turns the person's fields into claims.
//! * **Offline mode.** No `directory_url` is set. The plugin returns the
//!   object `defaults` of the claim source, overlaid with the claims given
//!   inline on the offer. No network needed, handy for a first try.
//!
//! Sigil calls `resolve` on a fresh sandbox for every credential, so there is
//! no state to keep between calls.

use std::fmt::Write as _;

use sigil_plugin_sdk::claims::{ClaimContext, ClaimError, ClaimProvider, Resolution};
use sigil_plugin_sdk::host::{self, Level};
use sigil_plugin_sdk::http::Request;
use sigil_plugin_sdk::serde_json::{Map, Value};

/// Directory field -> claim name. Fields the person lacks are left out.
const FIELDS: &[(&str, &str)] = &[
    ("givenName", "given_name"),
    ("familyName", "family_name"),
    ("email", "email"),
    ("birthDate", "birthdate"),
];

struct Directory;

impl ClaimProvider for Directory {
    fn resolve(ctx: ClaimContext) -> Result<Resolution, ClaimError> {
        // Operator settings come from sigil.toml, never from the wallet.
        match host::config("directory_url") {
            Some(base) => from_directory(&base, &ctx),
            None => offline(&ctx),
        }
    }
}

/// Directory mode: one GET, then map fields to claims.
fn from_directory(base: &str, ctx: &ClaimContext) -> Result<Resolution, ClaimError> {
    let subject = ctx.subject_id.as_deref().ok_or_else(|| {
        ClaimError::InvalidInput("no subject id: the directory is looked up by subject".into())
    })?;
    let url = format!(
        "{}/people/{}",
        base.trim_end_matches('/'),
        path_segment(subject)
    );
    // Log what helps operators, never claim values or personal data.
    host::log(Level::Debug, &format!("looking up a subject in {base}"));

    // Transport failures (origin not allowed, timeout, ...) convert into
    // ClaimError::Upstream through `?`.
    let response = Request::get(url)
        .header("accept", "application/json")
        .send()?;
    match response.status {
        200..=299 => {}
        404 => {
            return Err(ClaimError::NotFound(
                "the directory has no entry for this subject".into(),
            ));
        }
        status => {
            return Err(ClaimError::Upstream(format!(
                "the directory answered HTTP {status}"
            )));
        }
    }
    let person: Value = response.json()?; // bad JSON -> Upstream

    // The directory may say a person must not get credentials.
    if person.get("active") == Some(&Value::Bool(false)) {
        return Err(ClaimError::Denied(
            "the directory marks this subject inactive".into(),
        ));
    }
    let Value::Object(person) = person else {
        return Err(ClaimError::Upstream(
            "the directory answered something other than a JSON object".into(),
        ));
    };
    let mut claims = Map::new();
    for (field, claim) in FIELDS {
        if let Some(value) = person.get(*field) {
            claims.insert((*claim).to_owned(), value.clone());
        }
    }
    Ok(Resolution::Claims(claims))
}

/// Offline mode: `source.defaults` overlaid with the offer's inline claims.
fn offline(ctx: &ClaimContext) -> Result<Resolution, ClaimError> {
    host::log(
        Level::Debug,
        "directory_url is not set; using source.defaults and inline claims",
    );
    let defaults = object(ctx.source.get("defaults"), "source.defaults")?;
    let inline = object(ctx.inline_claims.as_ref(), "the inline claims")?;
    if defaults.is_none() && inline.is_none() {
        return Err(ClaimError::InvalidInput(format!(
            "configuration '{}': no directory_url is configured and neither \
             source.defaults nor inline claims were given",
            ctx.credential_configuration_id
        )));
    }
    let mut claims = defaults.cloned().unwrap_or_default();
    for (name, value) in inline.into_iter().flatten() {
        claims.insert(name.clone(), value.clone()); // inline claims win
    }
    Ok(Resolution::Claims(claims))
}

/// `None` when absent, the map when it is a JSON object, an error otherwise.
fn object<'a>(
    value: Option<&'a Value>,
    what: &str,
) -> Result<Option<&'a Map<String, Value>>, ClaimError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(ClaimError::InvalidInput(format!(
            "{what} must be a JSON object"
        ))),
    }
}

/// Percent-encode a value for use as one URL path segment, so a subject id
/// such as `../admin` or `a/b` cannot change the path that is requested.
fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}"); // writing to a String cannot fail
        }
    }
    out
}

// Generates the `sigil:plugin/claims` export for `Directory`. Exactly once per crate.
sigil_plugin_sdk::export_claim_provider!(Directory);
