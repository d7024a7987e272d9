//! What the endpoints hand to the store and get back: events, access
//! tokens, issuances, and the redemption of a pre-authorized code.

use std::fmt;

use serde_json::Value;

use super::{CredentialStatus, StatusEntry};

/// What happened to an offer: the event catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The integrator created the offer.
    OfferCreated,
    /// A wallet fetched the offer by reference.
    OfferResolved,
    /// The pre-authorized code was redeemed for an access token.
    TokenIssued,
    /// Credentials of one configuration were issued.
    CredentialIssued,
    /// The integrator revoked the offer.
    OfferRevoked,
    /// A wallet pushed an authorization request for the offer (PAR).
    AuthorizationRequested,
    /// The person was sent to the upstream provider to log in.
    LoginStarted,
    /// The login ended and an authorization code was issued.
    CodeIssued,
    /// The login failed or was cancelled.
    LoginFailed,
    /// A refresh token was exchanged for a new access token.
    TokenRefreshed,
    /// A code or refresh token was replayed; the grant was revoked.
    GrantReplayed,
    /// The wallet sent a notification about credentials it received (§11).
    NotificationReceived,
    /// A credential request was deferred (§9): a transaction id was given.
    CredentialDeferred,
    /// The operator completed a deferred transaction (its claims are ready).
    DeferredCompleted,
    /// The operator denied a deferred transaction.
    IssuanceDenied,
    /// A credential was revoked (its status list entry is INVALID).
    CredentialRevoked,
    /// A credential was suspended.
    CredentialSuspended,
    /// A suspended credential was reinstated (VALID again).
    CredentialReinstated,
    /// A credential request with a live access token was refused (its
    /// error code, and the configuration when the request named one).
    CredentialRefused,
    /// A token request for the offer was refused (its error code and
    /// reason), when the request named an offer Sigil could find.
    TokenRefused,
    /// The offer passed its expiry before it was used up.
    OfferExpired,
    /// The operator pushed the offer to a wallet's credential offer
    /// endpoint (OID4VCI §4.1), with the result.
    OfferSent,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 22] = [
        Self::OfferCreated,
        Self::OfferResolved,
        Self::TokenIssued,
        Self::CredentialIssued,
        Self::OfferRevoked,
        Self::AuthorizationRequested,
        Self::LoginStarted,
        Self::CodeIssued,
        Self::LoginFailed,
        Self::TokenRefreshed,
        Self::GrantReplayed,
        Self::NotificationReceived,
        Self::CredentialDeferred,
        Self::DeferredCompleted,
        Self::IssuanceDenied,
        Self::CredentialRevoked,
        Self::CredentialSuspended,
        Self::CredentialReinstated,
        Self::CredentialRefused,
        Self::TokenRefused,
        Self::OfferExpired,
        Self::OfferSent,
    ];

    /// The stored (and API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OfferCreated => "offer_created",
            Self::OfferResolved => "offer_resolved",
            Self::TokenIssued => "token_issued",
            Self::CredentialIssued => "credential_issued",
            Self::OfferRevoked => "offer_revoked",
            Self::AuthorizationRequested => "authorization_requested",
            Self::LoginStarted => "login_started",
            Self::CodeIssued => "code_issued",
            Self::LoginFailed => "login_failed",
            Self::TokenRefreshed => "token_refreshed",
            Self::GrantReplayed => "grant_replayed",
            Self::NotificationReceived => "notification_received",
            Self::CredentialDeferred => "credential_deferred",
            Self::DeferredCompleted => "deferred_completed",
            Self::IssuanceDenied => "issuance_denied",
            Self::CredentialRevoked => "credential_revoked",
            Self::CredentialSuspended => "credential_suspended",
            Self::CredentialReinstated => "credential_reinstated",
            Self::CredentialRefused => "credential_refused",
            Self::TokenRefused => "token_refused",
            Self::OfferExpired => "offer_expired",
            Self::OfferSent => "offer_sent",
        }
    }

    /// The kind of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event to append to an offer's log.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// Tenant.
    pub tenant: String,
    /// Offer the event is about.
    pub offer_id: String,
    /// What happened.
    pub kind: EventKind,
    /// Details; never secrets or claim values.
    pub detail: Value,
    /// When it happened, Unix seconds.
    pub created_at: i64,
}

impl NewEvent {
    /// An event with no details.
    pub fn bare(tenant: &str, offer_id: &str, kind: EventKind, at: i64) -> Self {
        Self {
            tenant: tenant.to_owned(),
            offer_id: offer_id.to_owned(),
            kind,
            detail: Value::Object(serde_json::Map::new()),
            created_at: at,
        }
    }

    /// The `offer_expired` event of offer `offer_id`, whose `expires_at`
    /// passed before it was used up, as noticed at `now`.
    pub fn offer_expired(tenant: &str, offer_id: &str, expires_at: i64, now: i64) -> Self {
        Self {
            detail: serde_json::json!({ "expiresAt": sigil_time::rfc3339(expires_at) }),
            ..Self::bare(tenant, offer_id, EventKind::OfferExpired, now)
        }
    }
}

/// An event as stored in the log.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    /// Database id, increasing with insertion: the public event id.
    pub id: i64,
    /// Tenant.
    pub tenant: String,
    /// Offer the event is about.
    pub offer_id: String,
    /// What happened.
    pub kind: EventKind,
    /// Details.
    pub detail: Value,
    /// When it happened, Unix seconds.
    pub created_at: i64,
}

impl EventRecord {
    /// The published envelope (`docs/events.md`, schema version 1):
    /// `{id, type, offerId, tenant, occurredAt, data}`, the body of a
    /// webhook and the `data:` of a server-sent event.
    pub fn envelope(&self) -> Value {
        serde_json::json!({
            "id": self.id.to_string(),
            "type": self.kind.as_str(),
            "offerId": self.offer_id,
            "tenant": self.tenant,
            "occurredAt": sigil_time::rfc3339(self.created_at),
            "data": self.detail,
        })
    }
}

/// An access token as stored: its hash and what it grants.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// Hash of the token (hex SHA-256); the store never sees the token.
    pub token_hash: String,
    /// Tenant the token belongs to.
    pub tenant: String,
    /// Offer the token was issued for.
    pub offer_id: String,
    /// Credential configurations the token grants.
    pub credential_configuration_ids: Vec<String>,
    /// Issue time, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
    /// The authorization (code flow) it was issued for.
    pub authorization_id: Option<String>,
    /// The DPoP key thumbprint it is bound to (RFC 9449 `cnf.jkt`).
    pub dpop_jkt: Option<String>,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token_hash", &"<redacted>")
            .field("tenant", &self.tenant)
            .field("offer_id", &self.offer_id)
            .field(
                "credential_configuration_ids",
                &self.credential_configuration_ids,
            )
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("authorization_id", &self.authorization_id)
            .field("dpop_jkt", &self.dpop_jkt)
            .finish()
    }
}

/// One credential issuance (one per offer and configuration), as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuance {
    /// Issuance id.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Offer the credential was issued for.
    pub offer_id: String,
    /// Credential configuration issued.
    pub credential_configuration_id: String,
    /// Credential format (for example `dc+sd-jwt`).
    pub format: String,
    /// Number of credentials issued (one per proof key).
    pub count: u32,
    /// Issue time, Unix seconds.
    pub created_at: i64,
}

/// One issued credential, as recorded (never its claims): what the admin
/// API lists and what a notification refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialRecord {
    /// Credential id (the admin API's `credentialId`).
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Offer it was issued for.
    pub offer_id: String,
    /// Credential configuration.
    pub credential_configuration_id: String,
    /// Format.
    pub format: String,
    /// RFC 7638 thumbprint of the holder key it is bound to.
    pub holder_key_thumbprint: Option<String>,
    /// The `notification_id` of the response that carried it (one per response).
    pub notification_id: String,
    /// Issue time, Unix seconds.
    pub created_at: i64,
    /// The last notification about it, if any.
    pub notification: Option<NotificationRecord>,
    /// Its status (always `Valid` without a status list entry).
    pub status: CredentialStatus,
    /// Its status list entry, if it has one.
    pub status_entry: Option<StatusEntry>,
    /// Its expiry (`exp`, `validUntil`), Unix seconds, if it has one.
    pub expires_at: Option<i64>,
    /// The credential's own identifier, if its format has one: the `jti`
    /// of a JWT VC (`jwt_vc_json`); `None` for `dc+sd-jwt` and `mso_mdoc`.
    pub identifier: Option<String>,
}

/// A change of one credential's status, made only if the credential is
/// still in status `from`; `event` is stored with it.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusChange {
    /// Credential id.
    pub credential_id: String,
    /// The status it must have now.
    pub from: CredentialStatus,
    /// The status it gets.
    pub to: CredentialStatus,
    /// The event of the change.
    pub event: NewEvent,
}

/// A wallet's notification about the credentials of one response (§11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRecord {
    /// `credential_accepted`, `credential_failure` or `credential_deleted`.
    pub event: String,
    /// The wallet's `event_description`, if any.
    pub description: Option<String>,
    /// When it arrived, Unix seconds.
    pub at: i64,
}

/// How recording an issuance ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// Nonces spent; issuance, offer status and event stored.
    Recorded,
    /// A nonce of the request was already spent; nothing was stored.
    NonceSpent,
}

/// A request to redeem a pre-authorized code (token endpoint).
#[derive(Clone, Copy)]
pub struct Redeem<'a> {
    /// Tenant the token endpoint serves.
    pub tenant: &'a str,
    /// Hash of the pre-authorized code sent by the wallet.
    pub code_hash: &'a str,
    /// Hash of the transaction code sent by the wallet, if any.
    pub tx_code_hash: Option<&'a str>,
    /// Wrong transaction codes allowed before the offer is invalidated (values below 1 count as 1).
    pub max_tx_attempts: u32,
    /// Current time, Unix seconds.
    pub now: i64,
    /// The event a refusal records on the offer the code belongs to (the
    /// token endpoint's rule; `None` records nothing). The store calls it
    /// with that offer's tenant and id, the refusal and `now`, and stores
    /// what it returns: in the transaction of the refusal's state change
    /// when there is one (a counted wrong transaction code), else on its
    /// own. It is not called when no offer has the code or the store failed.
    pub refused: Option<RefusalEvent>,
}

/// What [`Redeem::refused`] is: `(tenant, offer_id, refusal, now)` to the
/// event to record, if any.
pub type RefusalEvent = fn(&str, &str, RedeemRefusal, i64) -> Option<NewEvent>;

impl fmt::Debug for Redeem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redeem")
            .field("tenant", &self.tenant)
            .field("code_hash", &"<redacted>")
            .field("tx_code_hash", &self.tx_code_hash.map(|_| "<redacted>"))
            .field("max_tx_attempts", &self.max_tx_attempts)
            .field("now", &self.now)
            .field("refused", &self.refused.is_some())
            .finish()
    }
}

/// The access token to store with a successful redemption.
#[derive(Clone, Copy)]
pub struct IssuedToken<'a> {
    /// Hash of the new access token.
    pub token_hash: &'a str,
    /// Its expiry, Unix seconds.
    pub expires_at: i64,
    /// The DPoP key thumbprint it is bound to.
    pub dpop_jkt: Option<&'a str>,
}

impl fmt::Debug for IssuedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token_hash", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why a pre-authorized code could not be redeemed (the store decides these
/// with atomic updates; the token endpoint maps them to OAuth errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedeemRefusal {
    /// No offer in that tenant has that code.
    UnknownCode,
    /// The offer has expired.
    Expired,
    /// The offer was revoked.
    Revoked,
    /// The code was already redeemed (or another redeemer won the race).
    AlreadyUsed,
    /// Too many wrong transaction codes invalidated the offer.
    Invalidated,
    /// The offer has a transaction code and none was sent (not counted).
    TxCodeRequired,
    /// A transaction code was sent but the offer has none.
    TxCodeNotExpected,
    /// The transaction code was wrong; `remaining` attempts are left.
    WrongTxCode {
        /// Attempts left; 0 means the offer is now invalidated.
        remaining: u32,
    },
}
