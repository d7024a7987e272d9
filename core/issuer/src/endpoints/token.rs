//! `POST /token` (OID4VCI §6, RFC 6749 §3.2, §5): the pre-authorized code grant.

use serde::Serialize;

use crate::errors::TokenErrorCode;
use crate::model::{IssuedToken, Redeem, RedeemRefusal};
use crate::offer::PRE_AUTHORIZED_GRANT;
use crate::ports::{IssuanceStore, IssuerTenant, RedeemError, StoreFailure};
use crate::secrets;
use crate::service::Issuer;

/// A token request (RFC 6749 §4.1.3, OID4VCI §6.1), parsed from its form.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct TokenRequest {
    /// `grant_type`.
    pub grant_type: String,
    /// `pre-authorized_code`.
    pub pre_authorized_code: Option<String>,
    /// `tx_code`.
    pub tx_code: Option<String>,
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
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime in seconds.
    pub expires_in: i64,
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
            ) => TokenErrorCode::InvalidGrant,
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
                format!("grant_type {other} is not supported; use {PRE_AUTHORIZED_GRANT}")
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
            Self::Store(_) => "the request could not be processed; try again".to_owned(),
        }
    }
}

impl<S: IssuanceStore, P> Issuer<S, P> {
    /// Exchange a pre-authorized code (and `tx_code`) for an access token.
    /// The code is redeemed, and the token and its event stored, in one
    /// transaction: a code is never spent without a token to show for it.
    pub async fn token<T: IssuerTenant>(
        &self,
        tenant: &T,
        request: &TokenRequest,
    ) -> Result<TokenResponse, TokenCause> {
        if request.grant_type != PRE_AUTHORIZED_GRANT {
            return Err(TokenCause::UnsupportedGrantType(request.grant_type.clone()));
        }
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
                },
                IssuedToken {
                    token_hash: &token_hash,
                    expires_at: now + expires_in,
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
            token_type: "Bearer",
            expires_in,
        })
    }
}
