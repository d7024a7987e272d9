//! `claims-inline`: the claims an integrator put on the offer
//! (`credentialClaims.{configuration} = {"type": "inline", "claims": {...}}`).

use sigil_plugin_sdk::claims::{ClaimContext, ClaimError, ClaimProvider, Resolution};

struct Inline;

impl ClaimProvider for Inline {
    fn resolve(ctx: ClaimContext) -> Result<Resolution, ClaimError> {
        match ctx.inline_claims {
            Some(claims) => Resolution::claims(claims),
            None => Err(ClaimError::InvalidInput(format!(
                "offer {} has no inline claims for configuration '{}'",
                ctx.offer_id, ctx.credential_configuration_id
            ))),
        }
    }
}

sigil_plugin_sdk::export_claim_provider!(Inline);
