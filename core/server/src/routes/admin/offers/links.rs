//! The offer object and its URIs, for the admin API.

use sigil_issuer::model::Offer;
use sigil_issuer::offer::{self, OfferLinks};

use crate::state::AppState;
use crate::tenants::Tenant;

pub(super) fn offer_links(state: &AppState, t: &Tenant, o: &Offer) -> OfferLinks {
    let several_servers = !state
        .settings
        .tenant_authorization_servers(&t.id)
        .is_empty();
    offer::offer_links(
        &t.issuer,
        o,
        &state.issuer.pre_authorized_code(&o.id),
        several_servers,
    )
}
