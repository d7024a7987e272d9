//! `claims-attribute-provider`: asks an attribute provider for the claims of
//! a credential (contract version 1, `docs/claims-contract.md`). The host
//! passes the provider's settings, secrets resolved, in `source`.

use sigil_plugin_sdk::claims::{ClaimContext, ClaimError, ClaimProvider, Resolution};

struct AttributeProvider;

impl ClaimProvider for AttributeProvider {
    fn resolve(ctx: ClaimContext) -> Result<Resolution, ClaimError> {
        claims_common::remote::resolve(&ctx)
    }
}

sigil_plugin_sdk::export_claim_provider!(AttributeProvider);
