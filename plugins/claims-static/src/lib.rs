//! `claims-static`: fixed claims from the credential configuration's claim
//! source (`source = { type = "static", claims = { ... } }`).

use sigil_plugin_sdk::claims::{ClaimContext, ClaimError, ClaimProvider, Resolution};

struct Static;

impl ClaimProvider for Static {
    fn resolve(ctx: ClaimContext) -> Result<Resolution, ClaimError> {
        match ctx.source.get("claims") {
            Some(claims) if claims.is_object() => Resolution::claims(claims.clone()),
            Some(_) => Err(ClaimError::InvalidInput(format!(
                "the static claim source of '{}' must have a `claims` table",
                ctx.credential_configuration_id
            ))),
            None => Err(ClaimError::InvalidInput(format!(
                "the static claim source of '{}' has no `claims`",
                ctx.credential_configuration_id
            ))),
        }
    }
}

sigil_plugin_sdk::export_claim_provider!(Static);
