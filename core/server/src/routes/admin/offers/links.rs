//! The offer object and its URIs.

use serde_json::Value;
use sigil_issuer::offer::{self, OfferContent, OfferScheme, TxCodeOffer};
use sigil_store::OfferRecord;

use crate::state::AppState;
use crate::tenants::Tenant;

/// The offer URI and, by reference, the offer's URL.
pub struct OfferLinks {
    /// `openid-credential-offer://?...`
    pub uri: String,
    /// `credential_offer_uri`, when by reference.
    pub reference: Option<String>,
}

/// The offer object wallets receive.
pub fn offer_object(state: &AppState, t: &Tenant, o: &OfferRecord) -> Value {
    let code = state.pre_authorized_code(&o.id);
    let tx = o.tx_code.as_ref().map(|s| TxCodeOffer {
        input_mode: s.input_mode.clone(),
        length: s.length,
        description: s.description.clone(),
    });
    offer::credential_offer(&OfferContent {
        credential_issuer: &t.issuer,
        credential_configuration_ids: &o.credential_configuration_ids,
        pre_authorized_code: Some(&code),
        tx_code: tx.as_ref(),
        issuer_state: None,
    })
}

pub(super) fn offer_links(state: &AppState, t: &Tenant, o: &OfferRecord) -> OfferLinks {
    let scheme = if o.scheme == "haip" {
        OfferScheme::Haip
    } else {
        OfferScheme::OpenidCredentialOffer
    };
    if o.value_mode == "by_value" {
        OfferLinks {
            uri: offer::offer_uri_by_value(scheme, &offer_object(state, t, o)),
            reference: None,
        }
    } else {
        let url = t.endpoint(&format!("/credential-offer/{}", o.id));
        OfferLinks {
            uri: offer::offer_uri_by_reference(scheme, &url),
            reference: Some(url),
        }
    }
}
