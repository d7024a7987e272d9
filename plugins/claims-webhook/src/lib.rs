//! `claims-webhook`: asks a webhook for the claims of a credential (contract
//! version 1, `docs/claims-contract.md`), signing the request with
//! HMAC-SHA256 over `timestamp + "." + body` in `Sigil-Signature` when a
//! secret is configured. Named endpoints come from `webhook-endpoints/`,
//! inline ones from the offer (`credentialClaims.{id}.webhook`).

use sigil_plugin_sdk::claims::{ClaimContext, ClaimError, ClaimProvider, Resolution};

struct Webhook;

impl ClaimProvider for Webhook {
    fn resolve(ctx: ClaimContext) -> Result<Resolution, ClaimError> {
        claims_common::remote::resolve(&ctx)
    }
}

sigil_plugin_sdk::export_claim_provider!(Webhook);
