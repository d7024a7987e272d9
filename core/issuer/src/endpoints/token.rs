//! `POST /token` (OID4VCI §6, RFC 6749 §3.2, §5): the pre-authorized code
//! grant here; the authorization code and refresh token grants in
//! [`super::grants`]. DPoP (RFC 9449) binds the token of any grant.

use serde::Serialize;
use serde_json::{Value, json};

use super::dpop::{DpopFault, DpopTarget};
use super::grants::GrantFault;
use crate::errors::TokenErrorCode;
use crate::model::{EventKind, GrantRefusal, IssuedToken, NewEvent, Redeem, RedeemRefusal};
use crate::observe::Endpoint;
use crate::offer::PRE_AUTHORIZED_GRANT;
use crate::ports::{AuthorizationStore, IssuanceStore, IssuerTenant, RedeemError, StoreFailure};
use crate::secrets;
use crate::service::Issuer;

/// The authorization code grant type.
pub const AUTHORIZATION_CODE_GRANT: &str = "authorization_code";
/// The refresh token grant type.
pub const REFRESH_TOKEN_GRANT: &str = "refresh_token";

/// A token request (RFC 6749 §4.1.3, OID4VCI §6.1), parsed from its form.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct TokenRequest {
    /// `grant_type`.
    pub grant_type: String,
    /// `pre-authorized_code`.
    pub pre_authorized_code: Option<String>,
    /// `tx_code`.
    pub tx_code: Option<String>,
    /// `code`.
    pub code: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `code_verifier`.
    pub code_verifier: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `refresh_token`.
    pub refresh_token: Option<String>,
}

/// Where the token request arrived and the `DPoP` headers it carried.
#[derive(Debug, Clone, Copy)]
pub struct TokenContext<'a> {
    /// The token endpoint URL (the tenant's public URL).
    pub url: &'a str,
    /// The `DPoP` header values.
    pub dpop: &'a [&'a str],
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .finish_non_exhaustive()
    }
}

impl TokenRequest {
    /// Parse a request body of `content_type`: it must be form-encoded and
    /// no parameter may repeat (RFC 6749 §3.2); unknown parameters are
    /// ignored.
    pub fn from_form(content_type: Option<&str>, body: &[u8]) -> Result<Self, TokenCause> {
        let media = super::media_type(content_type);
        if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(TokenCause::NotFormEncoded);
        }
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|_| TokenCause::MalformedForm)?;
        let mut seen = std::collections::BTreeSet::new();
        let mut request = TokenRequest::default();
        let mut grant_type = None;
        for (name, value) in pairs {
            if !seen.insert(name.clone()) {
                return Err(TokenCause::RepeatedParameter(name));
            }
            match name.as_str() {
                "grant_type" => grant_type = Some(value),
                "pre-authorized_code" => request.pre_authorized_code = Some(value),
                "tx_code" => request.tx_code = Some(value),
                "code" => request.code = Some(value),
                "redirect_uri" => request.redirect_uri = Some(value),
                "code_verifier" => request.code_verifier = Some(value),
                "client_id" => request.client_id = Some(value),
                "refresh_token" => request.refresh_token = Some(value),
                _ => {}
            }
        }
        request.grant_type = grant_type.ok_or(TokenCause::MissingGrantType)?;
        Ok(request)
    }
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// `Bearer`, or `DPoP` for a DPoP-bound token.
    pub token_type: &'static str,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// A refresh token (authorization code flow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// `authorization_details` with `credential_identifiers` (OID4VCI §6.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_details: Option<Value>,
}

/// Why a token request failed.
#[derive(Debug)]
pub enum TokenCause {
    /// The body is not `application/x-www-form-urlencoded`.
    NotFormEncoded,
    /// The body is not valid form encoding.
    MalformedForm,
    /// A parameter appears twice.
    RepeatedParameter(String),
    /// No `grant_type`.
    MissingGrantType,
    /// A grant type this issuer does not support.
    UnsupportedGrantType(String),
    /// No (or an empty) `pre-authorized_code`.
    MissingPreAuthorizedCode,
    /// The store refused the code.
    Refused(RedeemRefusal),
    /// A parameter the grant needs is missing or malformed.
    Missing(&'static str),
    /// The code or refresh token cannot be used.
    Grant(GrantFault),
    /// A replayed code or refresh token: the grant is now revoked.
    Replayed(&'static str),
    /// DPoP failed.
    Dpop(DpopFault),
    /// The store failed.
    Store(StoreFailure),
}

impl TokenCause {
    /// The spec's error code (RFC 6749 §5.2, OID4VCI §6.3).
    pub fn code(&self) -> TokenErrorCode {
        use RedeemRefusal as R;
        match self {
            Self::NotFormEncoded
            | Self::MalformedForm
            | Self::RepeatedParameter(_)
            | Self::MissingGrantType
            | Self::MissingPreAuthorizedCode
            | Self::Missing(_)
            | Self::Refused(R::TxCodeRequired | R::TxCodeNotExpected) => {
                TokenErrorCode::InvalidRequest
            }
            Self::UnsupportedGrantType(_) => TokenErrorCode::UnsupportedGrantType,
            Self::Refused(
                R::UnknownCode
                | R::Expired
                | R::Revoked
                | R::AlreadyUsed
                | R::Invalidated
                | R::WrongTxCode { .. },
            )
            | Self::Grant(_)
            | Self::Replayed(_) => TokenErrorCode::InvalidGrant,
            Self::Dpop(f) => f.token_code(),
            Self::Store(_) => TokenErrorCode::ServerError,
        }
    }

    /// What the wallet is told.
    pub fn description(&self) -> String {
        use RedeemRefusal as R;
        match self {
            Self::NotFormEncoded => {
                "the token request must be application/x-www-form-urlencoded".to_owned()
            }
            Self::MalformedForm => "the body is not valid form encoding".to_owned(),
            Self::RepeatedParameter(name) => format!("parameter {name} is repeated"),
            Self::MissingGrantType => "grant_type is missing".to_owned(),
            Self::UnsupportedGrantType(other) => {
                format!(
                    "grant_type {} is not supported; use {PRE_AUTHORIZED_GRANT}, {AUTHORIZATION_CODE_GRANT} or {REFRESH_TOKEN_GRANT}",
                    other.chars().take(80).collect::<String>()
                )
            }
            Self::MissingPreAuthorizedCode => "pre-authorized_code is missing".to_owned(),
            Self::Refused(R::UnknownCode) => "the pre-authorized code is unknown".to_owned(),
            Self::Refused(R::Expired) => "the pre-authorized code has expired".to_owned(),
            Self::Refused(R::Revoked) => "the offer was revoked".to_owned(),
            Self::Refused(R::AlreadyUsed) => "the pre-authorized code was already used".to_owned(),
            Self::Refused(R::Invalidated) => {
                "too many wrong transaction codes; the offer is no longer valid".to_owned()
            }
            Self::Refused(R::TxCodeRequired) => "this offer requires a tx_code".to_owned(),
            Self::Refused(R::TxCodeNotExpected) => {
                "this offer has no tx_code; do not send one".to_owned()
            }
            Self::Refused(R::WrongTxCode { remaining }) => {
                format!("the tx_code is wrong; {remaining} attempts left")
            }
            Self::Missing(name) => format!("{name} is missing or malformed"),
            Self::Grant(why) => why.description().to_owned(),
            Self::Replayed(what) => {
                format!("the {what} was already used; everything it granted is now revoked")
            }
            Self::Dpop(f) => f.description(),
            Self::Store(_) => "the request could not be processed; try again".to_owned(),
        }
    }

    /// The `reason` of the `token_refused` event of this refusal
    /// (`docs/events.md`), or `None` when it is not recorded as one: a
    /// malformed request or an unknown code names no offer, a replay is a
    /// `grant_replayed` event, and a store failure is not a refusal.
    pub fn refusal_reason(&self) -> Option<&'static str> {
        use RedeemRefusal as R;
        match self {
            Self::Refused(r) => match r {
                R::UnknownCode => None,
                R::Expired => Some("offer_expired"),
                R::Revoked => Some("offer_revoked"),
                R::AlreadyUsed => Some("code_redeemed"),
                R::Invalidated => Some("attempts_exhausted"),
                R::TxCodeRequired => Some("tx_code_missing"),
                R::TxCodeNotExpected => Some("tx_code_unexpected"),
                R::WrongTxCode { .. } => Some("tx_code_mismatch"),
            },
            Self::Grant(fault) => fault.reason(),
            Self::Dpop(DpopFault::OtherKey) => Some("dpop_key_mismatch"),
            Self::Dpop(DpopFault::Missing) => Some("dpop_proof_missing"),
            _ => None,
        }
    }

    /// The `token_refused` event of this refusal of a `grant_type` request
    /// on offer `offer_id`, with `reason`: `{error, reason, grantType}`,
    /// and `attemptsLeft` after a wrong transaction code. Never the code,
    /// transaction code or token.
    pub fn refused_event(
        &self,
        tenant: &str,
        offer_id: &str,
        grant_type: &str,
        reason: &str,
        now: i64,
    ) -> NewEvent {
        let mut detail = json!({
            "error": self.code().as_str(),
            "reason": reason,
            "grantType": grant_type,
        });
        if let Self::Refused(RedeemRefusal::WrongTxCode { remaining }) = self {
            detail["attemptsLeft"] = json!(remaining);
        }
        NewEvent {
            tenant: tenant.to_owned(),
            offer_id: offer_id.to_owned(),
            kind: EventKind::TokenRefused,
            detail,
            created_at: now,
        }
    }
}

/// The event a refused pre-authorized code records on its offer
/// ([`Redeem::refused`]): `token_refused`, for every refusal that names an
/// offer.
pub fn redemption_refused(
    tenant: &str,
    offer_id: &str,
    refusal: RedeemRefusal,
    now: i64,
) -> Option<NewEvent> {
    let cause = TokenCause::Refused(refusal);
    let reason = cause.refusal_reason()?;
    Some(cause.refused_event(tenant, offer_id, PRE_AUTHORIZED_GRANT, reason, now))
}

impl<S: IssuanceStore + AuthorizationStore, P> Issuer<S, P> {
    /// [`Issuer::token_with`] for a request without DPoP.
    pub async fn token<T: IssuerTenant>(
        &self,
        tenant: &T,
        request: &TokenRequest,
    ) -> Result<TokenResponse, TokenCause> {
        let url = format!("{}/token", tenant.issuer());
        let ctx = TokenContext {
            url: &url,
            dpop: &[],
        };
        self.token_with(tenant, request, ctx).await
    }

    /// The token endpoint: one of the three grants, with the token bound to
    /// the request's DPoP key when it sent a proof (or must, by config).
    #[tracing::instrument(name = "issuer.token", skip_all, fields(tenant = tenant.id()))]
    pub async fn token_with<T: IssuerTenant>(
        &self,
        tenant: &T,
        request: &TokenRequest,
        ctx: TokenContext<'_>,
    ) -> Result<TokenResponse, TokenCause> {
        let answer = self.token_answer(tenant, request, ctx).await;
        if let Err(cause) = &answer {
            self.observer
                .refused(Endpoint::Token, cause.code().as_str());
        }
        answer
    }

    /// [`Issuer::token_with`], unobserved.
    async fn token_answer<T: IssuerTenant>(
        &self,
        tenant: &T,
        request: &TokenRequest,
        ctx: TokenContext<'_>,
    ) -> Result<TokenResponse, TokenCause> {
        let grant = request.grant_type.as_str();
        if ![
            PRE_AUTHORIZED_GRANT,
            AUTHORIZATION_CODE_GRANT,
            REFRESH_TOKEN_GRANT,
        ]
        .contains(&grant)
        {
            return Err(TokenCause::UnsupportedGrantType(request.grant_type.clone()));
        }
        let proof = self
            .dpop(
                tenant.id(),
                ctx.dpop,
                DpopTarget {
                    method: "POST",
                    url: ctx.url,
                    access_token: None,
                },
            )
            .await
            .map_err(TokenCause::Dpop)?;
        if proof.is_none() && self.settings.authorization.dpop == sigil_settings::DpopMode::Required
        {
            return Err(TokenCause::Dpop(DpopFault::Missing));
        }
        let jkt = proof.map(|p| p.jkt);
        match grant {
            AUTHORIZATION_CODE_GRANT => self.code_grant(tenant, request, jkt).await,
            REFRESH_TOKEN_GRANT => self.refresh_grant(tenant, request, jkt).await,
            _ => self.pre_authorized(tenant, request, jkt).await,
        }
    }

    /// Exchange a pre-authorized code (and `tx_code`) for an access token.
    /// The code is redeemed, and the token and its event stored, in one
    /// transaction: a code is never spent without a token to show for it.
    /// A refusal of a code that names an offer is recorded on it
    /// ([`redemption_refused`]).
    async fn pre_authorized<T: IssuerTenant>(
        &self,
        tenant: &T,
        request: &TokenRequest,
        jkt: Option<String>,
    ) -> Result<TokenResponse, TokenCause> {
        let code = request
            .pre_authorized_code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(TokenCause::MissingPreAuthorizedCode)?;
        let code_hash = secrets::hash(code);
        let tx_hash = request
            .tx_code
            .as_deref()
            .map(|tx| secrets::tx_code_hash(code, tx));
        let now = self.now();
        let access_token = secrets::random_token();
        let token_hash = secrets::hash(&access_token);
        let issuance = &self.settings.issuance;
        let expires_in = issuance.access_token_seconds;
        self.store
            .redeem_for_token(
                Redeem {
                    tenant: tenant.id(),
                    code_hash: &code_hash,
                    tx_code_hash: tx_hash.as_deref(),
                    max_tx_attempts: issuance.max_tx_code_attempts,
                    now,
                    refused: Some(redemption_refused),
                },
                IssuedToken {
                    token_hash: &token_hash,
                    expires_at: now + expires_in,
                    dpop_jkt: jkt.as_deref(),
                },
            )
            .await
            .map_err(|e| match e {
                RedeemError::Refused(r) => TokenCause::Refused(r),
                RedeemError::Store(e) => {
                    tracing::error!(error = %e, "redeeming a code failed");
                    TokenCause::Store(e)
                }
            })?;
        Ok(TokenResponse {
            access_token,
            token_type: token_type(jkt.as_deref()),
            expires_in,
            refresh_token: None,
            authorization_details: None,
        })
    }
}

/// `DPoP` for a bound token, else `Bearer`.
pub(crate) fn token_type(jkt: Option<&str>) -> &'static str {
    if jkt.is_some() { "DPoP" } else { "Bearer" }
}

impl From<GrantRefusal> for TokenCause {
    fn from(r: GrantRefusal) -> Self {
        match r {
            GrantRefusal::Unknown => Self::Grant(GrantFault::Gone),
            GrantRefusal::Replayed => Self::Replayed("code or refresh token"),
            GrantRefusal::OfferUnavailable => Self::Grant(GrantFault::OfferUnavailable),
        }
    }
}
