//! The authorization code flow's one record: a wallet's authorization
//! request from its push (PAR) through the person's login to the code, the
//! tokens and the refresh token it grants. Secrets (request URI, login
//! state, code, refresh token) are kept only as hashes.

use std::fmt;

use serde_json::{Map, Value};

/// Where an authorization is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthorizationStatus {
    /// Pushed (PAR); the wallet has not sent the person to `/authorize` yet.
    Pushed,
    /// The person was sent to the upstream provider to log in.
    Login,
    /// An authorization code was issued and not redeemed yet.
    Code,
    /// The code was redeemed for tokens.
    Redeemed,
    /// Revoked (a replayed code or refresh token, or the offer revoked).
    Revoked,
}

impl AuthorizationStatus {
    /// Every status.
    pub const ALL: [Self; 5] = [
        Self::Pushed,
        Self::Login,
        Self::Code,
        Self::Redeemed,
        Self::Revoked,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pushed => "pushed",
            Self::Login => "login",
            Self::Code => "code",
            Self::Redeemed => "redeemed",
            Self::Revoked => "revoked",
        }
    }

    /// The status of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The upstream login in progress: what the callback checks the provider's
/// answer against.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginState {
    /// Hash of the `state` sent to the provider (the callback's lookup key).
    pub state_hash: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier of Sigil's own code flow at the provider.
    pub verifier: String,
    /// When the login is given up, Unix seconds.
    pub expires_at: i64,
}

impl fmt::Debug for LoginState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginState")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// One authorization (see the module documentation).
#[derive(Clone, PartialEq)]
pub struct Authorization {
    /// Internal id (never sent to a wallet).
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// The offer it is bound to: by `issuer_state`, or the one made for it
    /// when the person logged in.
    pub offer_id: Option<String>,
    /// The wallet's `client_id`.
    pub client_id: String,
    /// The wallet's `redirect_uri`.
    pub redirect_uri: String,
    /// PKCE S256 `code_challenge`.
    pub code_challenge: String,
    /// The wallet's `state`, echoed in the authorization response.
    pub state: Option<String>,
    /// Credential configurations asked for and granted.
    pub credential_configuration_ids: Vec<String>,
    /// Whether the wallet asked with `authorization_details` (the token
    /// response then carries `credential_identifiers`).
    pub details: bool,
    /// The DPoP key thumbprint the code (and its tokens) are bound to.
    pub dpop_jkt: Option<String>,
    /// Hash of the PAR `request_uri`.
    pub request_uri_hash: String,
    /// When the `request_uri` expires, Unix seconds.
    pub request_expires_at: i64,
    /// The upstream login in progress.
    pub login: Option<LoginState>,
    /// The upstream `sub` of the person who logged in.
    pub subject: Option<String>,
    /// The ID token's claims handed to claim plugins.
    pub claims: Option<Map<String, Value>>,
    /// Hash of the authorization code, once issued.
    pub code_hash: Option<String>,
    /// When the code expires, Unix seconds.
    pub code_expires_at: Option<i64>,
    /// Hash of the current refresh token.
    pub refresh_hash: Option<String>,
    /// Hash of the refresh token it replaced (a reuse revokes the grant).
    pub previous_refresh_hash: Option<String>,
    /// When the refresh token expires, Unix seconds.
    pub refresh_expires_at: Option<i64>,
    /// Status.
    pub status: AuthorizationStatus,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field("offer_id", &self.offer_id)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field(
                "credential_configuration_ids",
                &self.credential_configuration_ids,
            )
            .field("details", &self.details)
            .field("dpop_jkt", &self.dpop_jkt)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// The code to store when the person has logged in (or the offer alone
/// authorizes).
#[derive(Clone)]
pub struct CodeIssue {
    /// Hash of the new authorization code.
    pub code_hash: String,
    /// Its expiry, Unix seconds.
    pub expires_at: i64,
    /// Upstream `sub`.
    pub subject: Option<String>,
    /// ID token claims.
    pub claims: Option<Map<String, Value>>,
    /// The offer to create for an authorization no offer was bound to.
    pub new_offer: Option<super::Offer>,
}

impl fmt::Debug for CodeIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeIssue")
            .field("expires_at", &self.expires_at)
            .field("new_offer", &self.new_offer.as_ref().map(|o| &o.id))
            .finish_non_exhaustive()
    }
}

/// The tokens a code or refresh token is exchanged for.
#[derive(Clone)]
pub struct GrantTokens {
    /// Hash of the access token.
    pub token_hash: String,
    /// Its expiry, Unix seconds.
    pub expires_at: i64,
    /// The DPoP key thumbprint it is bound to.
    pub dpop_jkt: Option<String>,
    /// Hash and expiry of the new refresh token, if one is issued.
    pub refresh: Option<(String, i64)>,
}

impl fmt::Debug for GrantTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantTokens")
            .field("expires_at", &self.expires_at)
            .field("dpop_jkt", &self.dpop_jkt)
            .field("refresh", &self.refresh.as_ref().map(|(_, e)| e))
            .finish_non_exhaustive()
    }
}

/// Why a code or refresh token exchange was refused by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantRefusal {
    /// Unknown, expired, or another request won the race.
    Unknown,
    /// Used before: the authorization and its offer are now revoked.
    Replayed,
    /// The offer was revoked or already used by another authorization.
    OfferUnavailable,
}
