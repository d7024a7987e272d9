//! The offer as one typed record: from the admin request to the store to
//! issuance. The store keeps exactly this type; its columns are this
//! record's fields.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::status::OfferStatus;

/// Which grant the offer carries (API `flow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// `pre_authorized_code` (default).
    PreAuthorizedCode,
    /// `authorization_code`.
    AuthorizationCode,
    /// `both`: the offer carries both grants.
    Both,
}

impl Flow {
    /// Whether the offer carries the pre-authorized code grant.
    pub fn pre_authorized(self) -> bool {
        self != Self::AuthorizationCode
    }

    /// Whether the offer carries the authorization code grant.
    pub fn authorization_code(self) -> bool {
        self != Self::PreAuthorizedCode
    }
}

/// How the wallet receives the offer (API `valueMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueMode {
    /// `credential_offer_uri` pointing at this server (default).
    ByReference,
    /// The offer object inside the URI.
    ByValue,
}

/// The URI scheme of an offer link (API `scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OfferScheme {
    /// `openid-credential-offer://` (default).
    #[serde(rename = "openid-credential-offer")]
    OpenidCredentialOffer,
    /// `haip-vci://` (HAIP 1.0).
    #[serde(rename = "haip")]
    Haip,
}

/// When the credential is issued (API `issuanceMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuanceMode {
    /// In the credential response (default).
    Immediate,
    /// Later, through the deferred credential endpoint.
    Deferred,
}

/// How the wallet asks the user for the transaction code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxInputMode {
    /// Digits only (default).
    Numeric,
    /// Letters and digits.
    Text,
}

/// The four string-valued offer options, each with its stored (and API) name.
macro_rules! named {
    ($($ty:ident { $($variant:ident => $name:literal),+ $(,)? })+) => {$(
        impl $ty {
            /// The stored and API name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
            /// The value of a stored or API name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Self::$variant),)+ _ => None }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )+};
}

named! {
    Flow { PreAuthorizedCode => "pre_authorized_code", AuthorizationCode => "authorization_code", Both => "both" }
    ValueMode { ByReference => "by_reference", ByValue => "by_value" }
    OfferScheme { OpenidCredentialOffer => "openid-credential-offer", Haip => "haip" }
    IssuanceMode { Immediate => "immediate", Deferred => "deferred" }
    TxInputMode { Numeric => "numeric", Text => "text" }
}

impl OfferScheme {
    /// The URI prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::OpenidCredentialOffer => "openid-credential-offer://",
            Self::Haip => "haip-vci://",
        }
    }
}

/// The `tx_code` object announced in the offer (OID4VCI §4.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxCode {
    /// `numeric` or `text`.
    pub input_mode: TxInputMode,
    /// Number of characters, if announced.
    pub length: Option<u32>,
    /// Guidance for the user (at most 300 characters).
    pub description: Option<String>,
}

/// Where the claims of one offered configuration come from (API
/// `credentialClaims.<id>`): it takes precedence over the configuration's
/// own source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ClaimSourceSpec {
    /// The claims themselves (data functions apply).
    Inline {
        /// The claims.
        claims: Map<String, Value>,
    },
    /// A configured attribute provider.
    AttributeProvider {
        /// Its id (EUDIPLO's `attributeProviderId` is accepted).
        #[serde(alias = "attributeProviderId")]
        id: String,
    },
    /// A webhook: either inline (`webhook`: `{url, method?, auth?}`) or a
    /// configured endpoint (`id`).
    Webhook {
        /// The inline webhook.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        webhook: Option<Value>,
        /// A configured webhook endpoint (`webhookEndpointId` is accepted).
        #[serde(
            default,
            alias = "webhookEndpointId",
            skip_serializing_if = "Option::is_none"
        )]
        id: Option<String>,
    },
}

/// `runtimeOverrides`: per-offer changes to what the configuration says.
/// Unknown members are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeOverrides {
    /// Sign with this key (active or standby) instead of the active one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_key_id: Option<String>,
    /// The chain to carry (base64 DER, leaf first), in every format.
    #[serde(default, rename = "x5Chain", skip_serializing_if = "Option::is_none")]
    pub x5_chain: Option<Vec<String>>,
    /// The subject id (`sub`, `credentialSubject.id`); default the holder key's `did:jwk`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<String>,
    /// Replaces the configuration's static claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_data: Option<Map<String, Value>>,
    /// Replaces the configuration's `mapping` (claim path → template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<Map<String, Value>>,
    /// Replaces the configuration's `validity_seconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_seconds: Option<u64>,
    /// Replaces the configuration's `status_list`: whether the offer's
    /// credentials get a status list entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_list: Option<bool>,
    /// Claim path → disclosable, on top of the configuration's `claims[].sd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selective_disclosure: Option<BTreeMap<String, bool>>,
    /// A webhook that is the claim source of every configuration the offer
    /// gives no `credentialClaims` entry for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Value>,
    /// `login_hint` for the upstream login (authorization code flow; the
    /// offer's `loginHint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// Replaces the `mapping` (JSON pointer into the ID token → claim path)
    /// of configurations whose claims come from `claims-id-token` (walt.id's
    /// `idTokenClaimsMapping`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_claims_mapping: Option<BTreeMap<String, String>>,
    /// Further OpenID Connect authentication request parameters for the
    /// upstream login (`prompt`, `acr_values`, `ui_locales`, `max_age`,
    /// `display`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_parameters: Option<BTreeMap<String, String>>,
    /// The issuer identifier of the external authorization server the
    /// offer's `authorization_code` grant names (the offer's
    /// `authorizationServer`); on an offer recorded for an external access
    /// token, the server that issued it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

/// The upstream login parameters an offer may set (OpenID Connect Core §3.1.2.1).
pub const LOGIN_PARAMETERS: &[&str] = &["prompt", "acr_values", "ui_locales", "max_age", "display"];

/// Where an offer is in its life: status and when each step happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferProgress {
    /// Current status; `Expired` is reported for created/resolved offers past their expiry.
    pub status: OfferStatus,
    /// Wrong transaction codes sent so far.
    pub tx_attempts: u32,
    /// When a wallet fetched the offer.
    pub resolved_at: Option<i64>,
    /// When the pre-authorized code was redeemed.
    pub token_issued_at: Option<i64>,
    /// When a credential was last issued.
    pub credential_issued_at: Option<i64>,
    /// When the offer was used up.
    pub consumed_at: Option<i64>,
    /// When the offer was revoked.
    pub revoked_at: Option<i64>,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

impl OfferProgress {
    /// A new offer's progress: created at `now`, nothing happened yet.
    pub fn new(now: i64) -> Self {
        Self {
            status: OfferStatus::Created,
            tx_attempts: 0,
            resolved_at: None,
            token_issued_at: None,
            credential_issued_at: None,
            consumed_at: None,
            revoked_at: None,
            updated_at: now,
        }
    }
}

/// One credential offer. Codes are kept only as hashes (hex SHA-256); never
/// serialize it to a client as is.
#[derive(Clone, PartialEq)]
pub struct Offer {
    /// Offer id (unique across tenants).
    pub id: String,
    /// Tenant the offer belongs to.
    pub tenant: String,
    /// Credential configurations offered.
    pub credential_configuration_ids: Vec<String>,
    /// Grant flow.
    pub flow: Flow,
    /// By value or by reference.
    pub value_mode: ValueMode,
    /// URI scheme of the offer link.
    pub scheme: OfferScheme,
    /// Hash of the pre-authorized code, if the offer has one.
    pub pre_authorized_code_hash: Option<String>,
    /// Hash of the transaction code (bound to the pre-authorized code).
    pub tx_code_hash: Option<String>,
    /// The transaction code as announced to the wallet.
    pub tx_code: Option<TxCode>,
    /// `issuer_state` for the authorization code flow.
    pub issuer_state: Option<String>,
    /// Offer-level claim sources per credential configuration.
    pub credential_claims: BTreeMap<String, ClaimSourceSpec>,
    /// Per-offer overrides.
    pub runtime_overrides: RuntimeOverrides,
    /// Immediate or deferred.
    pub issuance_mode: IssuanceMode,
    /// Webhook endpoint notified of events, if any.
    pub webhook_endpoint_id: Option<String>,
    /// Profile the offer was made from, if any.
    pub profile: Option<String>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds; `None` means never.
    pub expires_at: Option<i64>,
    /// Status and timestamps.
    pub progress: OfferProgress,
}

/// Prints `<redacted>` for a present hash: a short tx code's hash is as good as the code.
fn redacted(v: Option<&String>) -> &'static str {
    if v.is_some() {
        "Some(<redacted>)"
    } else {
        "None"
    }
}

impl fmt::Debug for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Offer")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field(
                "credential_configuration_ids",
                &self.credential_configuration_ids,
            )
            .field("flow", &self.flow)
            .field("value_mode", &self.value_mode)
            .field("scheme", &self.scheme)
            .field(
                "pre_authorized_code_hash",
                &format_args!("{}", redacted(self.pre_authorized_code_hash.as_ref())),
            )
            .field(
                "tx_code_hash",
                &format_args!("{}", redacted(self.tx_code_hash.as_ref())),
            )
            .field("tx_code", &self.tx_code)
            .field("issuer_state", &self.issuer_state)
            .field("issuance_mode", &self.issuance_mode)
            .field("webhook_endpoint_id", &self.webhook_endpoint_id)
            .field("profile", &self.profile)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

impl Offer {
    /// An offer Sigil makes itself for an authorization no admin offer was
    /// bound to (a login without `issuer_state`, an external authorization
    /// server's token): the code flow, the configurations granted, nothing
    /// else; the caller sets overrides, expiry and progress.
    pub fn implicit(id: String, tenant: &str, configurations: Vec<String>, now: i64) -> Self {
        Self {
            id,
            tenant: tenant.to_owned(),
            credential_configuration_ids: configurations,
            flow: Flow::AuthorizationCode,
            value_mode: ValueMode::ByReference,
            scheme: OfferScheme::OpenidCredentialOffer,
            pre_authorized_code_hash: None,
            tx_code_hash: None,
            tx_code: None,
            issuer_state: None,
            credential_claims: BTreeMap::new(),
            runtime_overrides: RuntimeOverrides::default(),
            issuance_mode: IssuanceMode::Immediate,
            webhook_endpoint_id: None,
            profile: None,
            created_at: now,
            expires_at: None,
            progress: OfferProgress::new(now),
        }
    }

    /// The offer's status.
    pub fn status(&self) -> OfferStatus {
        self.progress.status
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_round_trip() {
        for f in [Flow::PreAuthorizedCode, Flow::AuthorizationCode, Flow::Both] {
            assert_eq!(Flow::parse(f.as_str()), Some(f));
            assert_eq!(serde_json::to_value(f).unwrap(), json!(f.as_str()));
        }
        for s in [OfferScheme::OpenidCredentialOffer, OfferScheme::Haip] {
            assert_eq!(OfferScheme::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
        assert_eq!(ValueMode::parse("by_value"), Some(ValueMode::ByValue));
        assert_eq!(IssuanceMode::parse("later"), None);
    }

    #[test]
    fn overrides_refuse_unknown_members() {
        let ok: RuntimeOverrides = serde_json::from_value(
            json!({"issuerKeyId": "k", "x5Chain": ["MII"], "validitySeconds": 60}),
        )
        .unwrap();
        assert_eq!(ok.issuer_key_id.as_deref(), Some("k"));
        assert_eq!(ok.x5_chain, Some(vec!["MII".to_owned()]));
        assert_eq!(
            serde_json::to_value(&ok).unwrap(),
            json!({"issuerKeyId": "k", "x5Chain": ["MII"], "validitySeconds": 60})
        );
        assert!(serde_json::from_value::<RuntimeOverrides>(json!({"issuerkeyid": "k"})).is_err());
    }

    #[test]
    fn claim_sources_accept_the_documented_aliases() {
        let a: ClaimSourceSpec = serde_json::from_value(
            json!({"type": "attributeProvider", "attributeProviderId": "hr"}),
        )
        .unwrap();
        assert_eq!(a, ClaimSourceSpec::AttributeProvider { id: "hr".into() });
        let w: ClaimSourceSpec =
            serde_json::from_value(json!({"type": "webhook", "webhookEndpointId": "crm"})).unwrap();
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            json!({"type": "webhook", "id": "crm"})
        );
        assert!(serde_json::from_value::<ClaimSourceSpec>(json!({"type": "ldap"})).is_err());
    }
}
