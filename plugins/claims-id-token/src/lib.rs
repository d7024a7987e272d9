//! `claims-id-token`: maps the claims of the upstream ID token
//! (authorization code flow; `id-token-claims` in the context) to credential
//! claims. Settings (`source = { type = "plugin", plugin = "claims-id-token",
//! settings = { ... } }`):
//!
//! ```toml
//! [source.settings.mapping]      # JSON pointer into the ID token -> claim path
//! "/given_name" = "given_name"
//! "/address/locality" = "address.locality"
//! [source.settings]
//! required = ["given_name"]      # claim paths that must be present
//! ```

use std::collections::BTreeMap;

use sigil_plugin_sdk::claims::{ClaimContext, ClaimError, ClaimProvider, Resolution};
use sigil_plugin_sdk::serde_json::{Map, Value};

struct IdToken;

fn get_path<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut v = claims.get(parts.next()?)?;
    for p in parts {
        v = v.get(p)?;
    }
    Some(v)
}

impl ClaimProvider for IdToken {
    fn resolve(ctx: ClaimContext) -> Result<Resolution, ClaimError> {
        let Some(token) = ctx.id_token_claims.as_ref() else {
            return Err(ClaimError::InvalidInput(
                "no ID-token claims: this source serves the authorization code flow".into(),
            ));
        };
        let mapping: BTreeMap<String, String> = match ctx.source.get("mapping") {
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v.as_str() {
                    Some(path) if k.is_empty() || k.starts_with('/') => {
                        Ok((k.clone(), path.to_owned()))
                    }
                    _ => Err(ClaimError::InvalidInput(format!(
                        "mapping.\"{k}\": the key must be a JSON pointer and the value a claim path"
                    ))),
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(ClaimError::InvalidInput(
                    "settings.mapping (JSON pointer -> claim path) is missing".into(),
                ));
            }
        };
        let claims = claims_common::mapping::apply(&mapping, token)
            .map_err(|e| ClaimError::InvalidInput(format!("mapping: {e}")))?;
        for required in ctx
            .source
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if get_path(&claims, required).is_none() {
                return Err(ClaimError::NotFound(format!(
                    "the ID token has no value for required claim '{required}'"
                )));
            }
        }
        Ok(Resolution::Claims(claims))
    }
}

sigil_plugin_sdk::export_claim_provider!(IdToken);
