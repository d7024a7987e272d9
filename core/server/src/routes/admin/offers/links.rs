//! The offer object and its URIs, for the admin API.

use serde_json::Value;
use sigil_issuer::model::Offer;
use sigil_issuer::offer::{self, OfferLinks};

use crate::state::AppState;
use crate::tenants::Tenant;

/// The offer object wallets receive.
pub fn offer_object(state: &AppState, t: &Tenant, o: &Offer) -> Value {
    offer::offer_object(&t.issuer, o, &state.issuer.pre_authorized_code(&o.id))
}

pub(super) fn offer_links(state: &AppState, t: &Tenant, o: &Offer) -> OfferLinks {
    offer::offer_links(&t.issuer, o, &state.issuer.pre_authorized_code(&o.id))
}
