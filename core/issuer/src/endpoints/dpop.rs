//! DPoP (RFC 9449) at the PAR, token and credential endpoints: the proof
//! rules of [`crate::dpop`], the server nonce, and `jti` replay refused
//! across instances through the store.

use crate::dpop::{DpopCheck, DpopError, VerifiedDpop};
use crate::errors::{AuthorizationErrorCode, CredentialErrorCode, TokenErrorCode};
use crate::ports::{AuthorizationStore, StoreFailure};
use crate::secrets;
use crate::service::Issuer;

/// Accepted clock skew of a proof's `iat` into the future, seconds.
const DPOP_MAX_SKEW: i64 = 60;

/// Lifetime of a server-provided DPoP nonce, seconds.
const DPOP_NONCE_SECONDS: i64 = 300;

/// Why a DPoP proof was refused.
#[derive(Debug)]
pub enum DpopFault {
    /// More than one `DPoP` header.
    Several,
    /// A proof is needed and none was sent.
    Missing,
    /// The proof breaks a rule.
    Invalid(DpopError),
    /// The proof lacks the server's current nonce.
    UseNonce,
    /// Its `jti` was seen before.
    Replayed,
    /// The proof's key is not the one the grant is bound to.
    OtherKey,
    /// The store failed.
    Store(StoreFailure),
}

impl DpopFault {
    /// The token endpoint's error code.
    pub fn token_code(&self) -> TokenErrorCode {
        match self {
            Self::UseNonce => TokenErrorCode::UseDpopNonce,
            Self::Store(_) => TokenErrorCode::ServerError,
            Self::OtherKey => TokenErrorCode::InvalidGrant,
            _ => TokenErrorCode::InvalidDpopProof,
        }
    }

    /// The credential endpoint's error code.
    pub fn credential_code(&self) -> CredentialErrorCode {
        match self {
            Self::UseNonce => CredentialErrorCode::UseDpopNonce,
            Self::Store(_) => CredentialErrorCode::ServerError,
            Self::OtherKey => CredentialErrorCode::InvalidToken,
            _ => CredentialErrorCode::InvalidDpopProof,
        }
    }

    /// The PAR endpoint's error code.
    pub fn authorization_code(&self) -> AuthorizationErrorCode {
        match self {
            Self::UseNonce => AuthorizationErrorCode::UseDpopNonce,
            Self::Store(_) => AuthorizationErrorCode::ServerError,
            _ => AuthorizationErrorCode::InvalidDpopProof,
        }
    }

    /// What the wallet developer is told.
    pub fn description(&self) -> String {
        match self {
            Self::Several => "send exactly one DPoP header".into(),
            Self::Missing => "this request needs a DPoP proof (DPoP header)".into(),
            Self::Invalid(e) => e.description(),
            Self::UseNonce => {
                "the DPoP proof must carry the nonce from the DPoP-Nonce header".into()
            }
            Self::Replayed => {
                "this DPoP proof (jti) was already used; make a new one for each request".into()
            }
            Self::OtherKey => {
                "the DPoP proof is signed by another key than the one the grant is bound to".into()
            }
            Self::Store(_) => "the request could not be processed; try again".into(),
        }
    }
}

/// Where the proof was sent and what it must cover.
#[derive(Debug, Clone, Copy)]
pub struct DpopTarget<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The endpoint URL as the wallet addressed it (the tenant's public URL).
    pub url: &'a str,
    /// The access token (`ath`), at resource endpoints.
    pub access_token: Option<&'a str>,
}

impl<S: AuthorizationStore, P> Issuer<S, P> {
    /// Verify the `DPoP` header values `headers` (none, one, or several)
    /// for `target`; `Ok(None)` when none was sent. The proof's `jti` is
    /// spent, so a replay on any instance is refused.
    #[tracing::instrument(name = "issuer.dpop", skip_all, fields(tenant = %tenant))]
    pub async fn dpop(
        &self,
        tenant: &str,
        headers: &[&str],
        target: DpopTarget<'_>,
    ) -> Result<Option<VerifiedDpop>, DpopFault> {
        let proof = match headers {
            [] => return Ok(None),
            [one] => *one,
            _ => return Err(DpopFault::Several),
        };
        let now = self.now();
        let max_age = self.settings.authorization.dpop_max_age_seconds;
        let verified = crate::dpop::verify(
            proof,
            DpopCheck {
                method: target.method,
                url: target.url,
                now,
                max_age,
                max_skew: DPOP_MAX_SKEW,
                access_token: target.access_token,
                nonce: None,
            },
        )
        .map_err(DpopFault::Invalid)?;
        if self.settings.authorization.dpop_nonce {
            let fresh = verified
                .nonce
                .as_deref()
                .and_then(|n| self.nonce_key.check(&dpop_nonce_scope(tenant), n, now));
            if fresh.is_none() {
                return Err(DpopFault::UseNonce);
            }
        }
        let key = secrets::hash(&format!("dpop\u{0}{}\u{0}{}", verified.jkt, verified.jti));
        let spent = self
            .store
            .spend_once(tenant, &key, verified.iat + max_age + DPOP_MAX_SKEW, now)
            .await
            .map_err(DpopFault::Store)?;
        if !spent {
            return Err(DpopFault::Replayed);
        }
        Ok(Some(verified))
    }

    /// A fresh `DPoP-Nonce` value when the configuration asks for them.
    pub fn dpop_nonce(&self, tenant: &str) -> Option<String> {
        self.settings.authorization.dpop_nonce.then(|| {
            self.nonce_key
                .issue(&dpop_nonce_scope(tenant), self.now() + DPOP_NONCE_SECONDS)
        })
    }
}

/// DPoP nonces are scoped apart from `c_nonce` values.
fn dpop_nonce_scope(tenant: &str) -> String {
    format!("dpop\u{0}{tenant}")
}
