//! The Credential Offer object (OID4VCI §4.1) and its URIs.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

use crate::model::{Offer, OfferScheme, TxCode, ValueMode};

/// Grant type of the pre-authorized code flow.
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// What goes into an offer object.
#[derive(Debug, Clone)]
pub struct OfferContent<'a> {
    /// Credential issuer identifier.
    pub credential_issuer: &'a str,
    /// Offered configuration ids.
    pub credential_configuration_ids: &'a [String],
    /// The pre-authorized code, for that flow.
    pub pre_authorized_code: Option<&'a str>,
    /// The transaction code announcement.
    pub tx_code: Option<&'a TxCode>,
    /// Whether the offer carries the authorization code grant.
    pub authorization_code: bool,
    /// `issuer_state` for the authorization code flow.
    pub issuer_state: Option<&'a str>,
    /// The `authorization_server` of the pre-authorized code grant and of
    /// the authorization code grant, when the issuer metadata lists several
    /// (§4.1.1 allows it only then, and wallets need it then).
    pub grant_servers: Option<(&'a str, &'a str)>,
}

/// Build the offer object. Only the members OID4VCI defines are emitted.
pub fn credential_offer(content: &OfferContent<'_>) -> Value {
    let mut grants = Map::new();
    if let Some(code) = content.pre_authorized_code {
        let mut grant = Map::new();
        grant.insert("pre-authorized_code".into(), code.into());
        if let Some(tx) = content.tx_code {
            let mut t = Map::new();
            t.insert("input_mode".into(), tx.input_mode.as_str().into());
            if let Some(l) = tx.length {
                t.insert("length".into(), l.into());
            }
            if let Some(d) = &tx.description {
                t.insert("description".into(), d.clone().into());
            }
            grant.insert("tx_code".into(), t.into());
        }
        if let Some((server, _)) = content.grant_servers {
            grant.insert("authorization_server".into(), server.into());
        }
        grants.insert(PRE_AUTHORIZED_GRANT.into(), grant.into());
    }
    if content.authorization_code {
        let mut grant = Map::new();
        if let Some(state) = content.issuer_state {
            grant.insert("issuer_state".into(), state.into());
        }
        if let Some((_, server)) = content.grant_servers {
            grant.insert("authorization_server".into(), server.into());
        }
        grants.insert("authorization_code".into(), grant.into());
    }
    json!({
        "credential_issuer": content.credential_issuer,
        "credential_configuration_ids": content.credential_configuration_ids,
        "grants": grants,
    })
}

/// The offer object of a stored offer; `code` is its pre-authorized code.
/// `several_servers`: the issuer metadata lists external authorization
/// servers besides Sigil's own, so each grant names its server: Sigil
/// (`credential_issuer`) for the pre-authorized code, the offer's
/// `authorizationServer` or Sigil for the authorization code.
pub fn offer_object(
    credential_issuer: &str,
    offer: &Offer,
    code: &str,
    several_servers: bool,
) -> Value {
    let pre_authorized = offer.flow.pre_authorized();
    let code_server = offer
        .runtime_overrides
        .authorization_server
        .as_deref()
        .unwrap_or(credential_issuer);
    credential_offer(&OfferContent {
        credential_issuer,
        credential_configuration_ids: &offer.credential_configuration_ids,
        pre_authorized_code: pre_authorized.then_some(code),
        tx_code: offer.tx_code.as_ref().filter(|_| pre_authorized),
        authorization_code: offer.flow.authorization_code(),
        issuer_state: offer.issuer_state.as_deref(),
        grant_servers: several_servers.then_some((credential_issuer, code_server)),
    })
}

/// The offer link and, by reference, the URL the wallet fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferLinks {
    /// `openid-credential-offer://?...` (or `haip-vci://`).
    pub uri: String,
    /// `credential_offer_uri`, when by reference.
    pub reference: Option<String>,
}

/// Whether `id` can name an offer: Sigil's offer ids are UUIDs, so
/// anything empty, longer than 64 bytes or with a byte outside printable
/// ASCII (a NUL, which PostgreSQL refuses to compare) names none and is not
/// looked up.
pub fn plausible_offer_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The URL an offer is served at by reference: `<issuer>/credential-offer/<id>`.
pub fn offer_url(credential_issuer: &str, offer_id: &str) -> String {
    format!("{credential_issuer}/credential-offer/{offer_id}")
}

/// The links of a stored offer; `code` is its pre-authorized code, and
/// `several_servers` as for [`offer_object`].
pub fn offer_links(
    credential_issuer: &str,
    offer: &Offer,
    code: &str,
    several_servers: bool,
) -> OfferLinks {
    match offer.value_mode {
        ValueMode::ByValue => OfferLinks {
            uri: offer_uri_by_value(
                offer.scheme,
                &offer_object(credential_issuer, offer, code, several_servers),
            ),
            reference: None,
        },
        ValueMode::ByReference => {
            let url = offer_url(credential_issuer, &offer.id);
            OfferLinks {
                uri: offer_uri_by_reference(offer.scheme, &url),
                reference: Some(url),
            }
        }
    }
}

/// Everything but unreserved characters is percent-encoded in the query value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `scheme://?credential_offer_uri=<uri>`.
pub fn offer_uri_by_reference(scheme: OfferScheme, credential_offer_uri: &str) -> String {
    format!(
        "{}?credential_offer_uri={}",
        scheme.prefix(),
        utf8_percent_encode(credential_offer_uri, QUERY_VALUE)
    )
}

/// `scheme://?credential_offer=<url-encoded JSON>`.
pub fn offer_uri_by_value(scheme: OfferScheme, offer: &Value) -> String {
    format!(
        "{}?credential_offer={}",
        scheme.prefix(),
        utf8_percent_encode(&offer.to_string(), QUERY_VALUE)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::model::TxInputMode;

    #[test]
    fn pre_authorized_offer_with_tx_code() {
        let ids = vec!["employee_badge_sd_jwt".to_string()];
        let tx = TxCode {
            input_mode: TxInputMode::Numeric,
            length: Some(6),
            description: Some("PIN".into()),
        };
        let offer = credential_offer(&OfferContent {
            credential_issuer: "https://issuer.example",
            credential_configuration_ids: &ids,
            pre_authorized_code: Some("abc"),
            tx_code: Some(&tx),
            authorization_code: false,
            issuer_state: None,
            grant_servers: None,
        });
        assert_eq!(
            offer,
            json!({
                "credential_issuer": "https://issuer.example",
                "credential_configuration_ids": ["employee_badge_sd_jwt"],
                "grants": { PRE_AUTHORIZED_GRANT: {
                    "pre-authorized_code": "abc",
                    "tx_code": { "input_mode": "numeric", "length": 6, "description": "PIN" }
                }}
            })
        );
    }

    #[test]
    fn both_grants_with_issuer_state() {
        let ids = vec!["badge".to_string()];
        let offer = credential_offer(&OfferContent {
            credential_issuer: "https://issuer.example",
            credential_configuration_ids: &ids,
            pre_authorized_code: Some("abc"),
            tx_code: None,
            authorization_code: true,
            issuer_state: Some("st"),
            grant_servers: None,
        });
        assert_eq!(
            offer["grants"]["authorization_code"],
            json!({ "issuer_state": "st" })
        );
        assert_eq!(
            offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"],
            "abc"
        );
        let bare = credential_offer(&OfferContent {
            credential_issuer: "https://issuer.example",
            credential_configuration_ids: &ids,
            pre_authorized_code: None,
            tx_code: None,
            authorization_code: true,
            issuer_state: None,
            grant_servers: None,
        });
        assert_eq!(bare["grants"], json!({ "authorization_code": {} }));
        // With several authorization servers each grant names its own.
        let named = credential_offer(&OfferContent {
            credential_issuer: "https://issuer.example",
            credential_configuration_ids: &ids,
            pre_authorized_code: Some("abc"),
            tx_code: None,
            authorization_code: true,
            issuer_state: None,
            grant_servers: Some(("https://issuer.example", "https://login.corp.example")),
        });
        assert_eq!(
            named["grants"]["authorization_code"],
            json!({ "authorization_server": "https://login.corp.example" })
        );
        assert_eq!(
            named["grants"][PRE_AUTHORIZED_GRANT]["authorization_server"],
            "https://issuer.example"
        );
    }

    #[test]
    fn uris_are_percent_encoded() {
        let u = offer_uri_by_reference(
            OfferScheme::OpenidCredentialOffer,
            "http://127.0.0.1:8099/credential-offer/x",
        );
        assert_eq!(
            u,
            "openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A8099%2Fcredential-offer%2Fx"
        );
        let v = offer_uri_by_value(OfferScheme::Haip, &json!({"a": "b c"}));
        assert_eq!(
            v,
            "haip-vci://?credential_offer=%7B%22a%22%3A%22b%20c%22%7D"
        );
    }
}
