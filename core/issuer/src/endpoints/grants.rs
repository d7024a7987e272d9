//! The token endpoint's authorization code grant (RFC 6749 §4.1.3,
//! RFC 7636 §4.6) and refresh token grant (RFC 6749 §6, rotated on use,
//! RFC 9700 §4.14.2), for public wallet clients identified by `client_id`.

use serde_json::{Value, json};

use super::token::{
    AUTHORIZATION_CODE_GRANT, REFRESH_TOKEN_GRANT, TokenCause, TokenRequest, TokenResponse,
    token_type,
};
use crate::model::{Authorization, AuthorizationStatus, EventKind, GrantTokens, NewEvent};
use crate::ports::{AuthorizationStore, IssuanceStore, IssuerTenant};
use crate::secrets;
use crate::service::Issuer;

/// Why a code or refresh token cannot be exchanged (`invalid_grant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantFault {
    /// No authorization of the tenant has that code.
    UnknownCode,
    /// No authorization of the tenant has that refresh token.
    UnknownRefreshToken,
    /// Unknown, expired or already used (the store's last word).
    Gone,
    /// The code expired.
    CodeExpired,
    /// The refresh token expired.
    RefreshTokenExpired,
    /// The code was issued to another client.
    CodeOfOtherClient,
    /// The refresh token was issued to another client.
    RefreshTokenOfOtherClient,
    /// `redirect_uri` is not the authorization request's.
    RedirectUriMismatch,
    /// `code_verifier` is not a PKCE verifier.
    MalformedVerifier,
    /// `code_verifier` does not match the `code_challenge`.
    PkceMismatch,
    /// The offer was revoked or already used.
    OfferUnavailable,
}

impl GrantFault {
    /// What the wallet is told.
    pub fn description(self) -> &'static str {
        match self {
            Self::UnknownCode => "the authorization code is unknown",
            Self::UnknownRefreshToken => "the refresh token is unknown",
            Self::Gone => "the code or refresh token is unknown, expired or already used",
            Self::CodeExpired => "the authorization code has expired",
            Self::RefreshTokenExpired => "the refresh token has expired",
            Self::CodeOfOtherClient => "the authorization code was issued to another client",
            Self::RefreshTokenOfOtherClient => "the refresh token was issued to another client",
            Self::RedirectUriMismatch => {
                "redirect_uri differs from the one of the authorization request"
            }
            Self::MalformedVerifier => {
                "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~"
            }
            Self::PkceMismatch => "code_verifier does not match the code_challenge",
            Self::OfferUnavailable => "the offer was revoked or already used",
        }
    }

    /// The `reason` of its `token_refused` event; `None` when no
    /// authorization (so no offer) is known.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Self::UnknownCode | Self::UnknownRefreshToken | Self::Gone => None,
            Self::CodeExpired => Some("code_expired"),
            Self::RefreshTokenExpired => Some("refresh_token_expired"),
            Self::CodeOfOtherClient | Self::RefreshTokenOfOtherClient => Some("client_mismatch"),
            Self::RedirectUriMismatch => Some("redirect_uri_mismatch"),
            Self::MalformedVerifier => Some("code_verifier_malformed"),
            Self::PkceMismatch => Some("pkce_mismatch"),
            Self::OfferUnavailable => Some("offer_unavailable"),
        }
    }
}

/// Which grant is exchanged: a code, or the refresh token of this hash.
#[derive(Clone, Copy)]
enum Exchange<'a> {
    Code,
    Refresh(&'a str),
}

fn param<'a>(value: &'a Option<String>, name: &'static str) -> Result<&'a str, TokenCause> {
    value
        .as_deref()
        .filter(|v| !v.is_empty() && v.len() <= 4096)
        .ok_or(TokenCause::Missing(name))
}

/// The `authorization_details` of a token response: one entry per
/// configuration, whose one credential identifier is the configuration id
/// (one dataset per configuration; stable across refreshes).
pub fn credential_identifiers(a: &Authorization) -> Option<Value> {
    a.details.then(|| {
        Value::Array(
            a.credential_configuration_ids
                .iter()
                .map(|id| {
                    json!({
                        "type": "openid_credential",
                        "credential_configuration_id": id,
                        "credential_identifiers": [id],
                    })
                })
                .collect(),
        )
    })
}

impl<S: IssuanceStore + AuthorizationStore, P> Issuer<S, P> {
    /// Exchange an authorization code. Every check of the code's bindings
    /// (client, redirect URI, PKCE verifier, DPoP key) happens before the
    /// single-use redemption; a code presented again revokes its grant. A
    /// refusal of a known authorization is recorded on its offer.
    pub(crate) async fn code_grant<T: IssuerTenant>(
        &self,
        tenant: &T,
        request: &TokenRequest,
        jkt: Option<String>,
    ) -> Result<TokenResponse, TokenCause> {
        let code = param(&request.code, "code")?;
        let client_id = param(&request.client_id, "client_id")?;
        let redirect_uri = param(&request.redirect_uri, "redirect_uri")?;
        let verifier = param(&request.code_verifier, "code_verifier")?;
        let now = self.now();
        let a = self
            .store
            .authorization_by_code(tenant.id(), &secrets::hash(code))
            .await
            .map_err(TokenCause::Store)?
            .ok_or(TokenCause::Grant(GrantFault::UnknownCode))?;
        let presented = Presented {
            client_id,
            redirect_uri,
            verifier,
        };
        let answer = self.exchange_code(tenant, &a, presented, jkt, now).await;
        self.record_token_refusal(tenant, &a, AUTHORIZATION_CODE_GRANT, answer, now)
            .await
    }

    /// [`Issuer::code_grant`] once the code's authorization `a` is found.
    async fn exchange_code<T: IssuerTenant>(
        &self,
        tenant: &T,
        a: &Authorization,
        presented: Presented<'_>,
        jkt: Option<String>,
        now: i64,
    ) -> Result<TokenResponse, TokenCause> {
        let Presented {
            client_id,
            redirect_uri,
            verifier,
        } = presented;
        if matches!(
            a.status,
            AuthorizationStatus::Redeemed | AuthorizationStatus::Revoked
        ) {
            if a.status == AuthorizationStatus::Redeemed {
                self.revoke(tenant, a, now, "authorization_code").await?;
            }
            return Err(TokenCause::Replayed("authorization code"));
        }
        let fault = if a.code_expires_at.is_none_or(|e| e <= now)
            || a.status != AuthorizationStatus::Code
        {
            Some(GrantFault::CodeExpired)
        } else if a.client_id != client_id {
            Some(GrantFault::CodeOfOtherClient)
        } else if a.redirect_uri != redirect_uri {
            Some(GrantFault::RedirectUriMismatch)
        } else if !crate::pkce::valid_verifier(verifier) {
            Some(GrantFault::MalformedVerifier)
        } else if !crate::pkce::matches(verifier, &a.code_challenge) {
            Some(GrantFault::PkceMismatch)
        } else {
            None
        };
        if let Some(fault) = fault {
            return Err(TokenCause::Grant(fault));
        }
        self.exchange_grant(tenant, a, jkt, Exchange::Code, now)
            .await
    }

    /// Exchange a refresh token for a new access token and a new refresh
    /// token; the old one stops working, and presenting it again revokes
    /// the grant. A refusal of a known authorization is recorded on its
    /// offer.
    pub(crate) async fn refresh_grant<T: IssuerTenant>(
        &self,
        tenant: &T,
        request: &TokenRequest,
        jkt: Option<String>,
    ) -> Result<TokenResponse, TokenCause> {
        let presented = param(&request.refresh_token, "refresh_token")?;
        let client_id = param(&request.client_id, "client_id")?;
        let hash = secrets::hash(presented);
        let now = self.now();
        let a = self
            .store
            .authorization_by_refresh(tenant.id(), &hash)
            .await
            .map_err(TokenCause::Store)?
            .ok_or(TokenCause::Grant(GrantFault::UnknownRefreshToken))?;
        let answer = self
            .exchange_refresh(tenant, &a, &hash, client_id, jkt, now)
            .await;
        self.record_token_refusal(tenant, &a, REFRESH_TOKEN_GRANT, answer, now)
            .await
    }

    /// [`Issuer::refresh_grant`] once the refresh token's authorization `a`
    /// is found; `hash` is the token's hash.
    async fn exchange_refresh<T: IssuerTenant>(
        &self,
        tenant: &T,
        a: &Authorization,
        hash: &str,
        client_id: &str,
        jkt: Option<String>,
        now: i64,
    ) -> Result<TokenResponse, TokenCause> {
        if a.previous_refresh_hash.as_deref() == Some(hash)
            || a.status == AuthorizationStatus::Revoked
        {
            if a.status != AuthorizationStatus::Revoked {
                self.revoke(tenant, a, now, "refresh_token").await?;
            }
            return Err(TokenCause::Replayed("refresh token"));
        }
        if a.refresh_expires_at.is_none_or(|e| e <= now) {
            return Err(TokenCause::Grant(GrantFault::RefreshTokenExpired));
        }
        if a.client_id != client_id {
            return Err(TokenCause::Grant(GrantFault::RefreshTokenOfOtherClient));
        }
        self.exchange_grant(tenant, a, jkt, Exchange::Refresh(hash), now)
            .await
    }

    /// Records the `token_refused` event of `answer` on the offer of `a`
    /// (the authorization of the code or refresh token presented with
    /// `grant_type`) when it is a refusal with a reason, and returns it. A
    /// replay on a grant already revoked is recorded as `grant_revoked`
    /// (the first replay, which revoked it, is `grant_replayed`). Nothing
    /// is recorded when `a` names no offer; failing to record only logs.
    async fn record_token_refusal<T: IssuerTenant>(
        &self,
        tenant: &T,
        a: &Authorization,
        grant_type: &str,
        answer: Result<TokenResponse, TokenCause>,
        now: i64,
    ) -> Result<TokenResponse, TokenCause> {
        let Err(cause) = &answer else {
            return answer;
        };
        let reason = match cause {
            TokenCause::Replayed(_) if a.status == AuthorizationStatus::Revoked => {
                Some("grant_revoked")
            }
            other => other.refusal_reason(),
        };
        let offer = a.offer_id.as_deref().filter(|id| !id.is_empty());
        if let (Some(reason), Some(offer)) = (reason, offer) {
            let event = cause.refused_event(tenant.id(), offer, grant_type, reason, now);
            if let Err(e) = self.store.record_event(event).await {
                tracing::warn!(error = %e, offer, "recording a refused token request failed");
            }
        }
        answer
    }

    /// The tokens of a checked code or refresh token: stored by the
    /// single-use redemption or rotation (a lost race means the grant was
    /// used twice, which revokes it), then handed out.
    async fn exchange_grant<T: IssuerTenant>(
        &self,
        tenant: &T,
        a: &Authorization,
        jkt: Option<String>,
        exchange: Exchange<'_>,
        now: i64,
    ) -> Result<TokenResponse, TokenCause> {
        let bound = bound_key(a, jkt)?;
        let (tokens, access_token, refresh_token) = self.new_tokens(bound.clone(), now);
        let (kind, grant, what) = match exchange {
            Exchange::Code => (
                EventKind::TokenIssued,
                "authorization_code",
                "authorization code",
            ),
            Exchange::Refresh(_) => (EventKind::TokenRefreshed, "refresh_token", "refresh token"),
        };
        let event = self.grant_event(tenant, a, kind, now, bound.is_some());
        let stored = match exchange {
            Exchange::Code => self.store.redeem_code(&a.id, tokens, now, event).await,
            Exchange::Refresh(old) => self.store.refresh(&a.id, old, tokens, now, event).await,
        };
        match stored.map_err(TokenCause::Store)? {
            Ok(()) => {}
            Err(crate::model::GrantRefusal::Unknown) => {
                // Another request used it between our read and write.
                self.revoke(tenant, a, now, grant).await?;
                return Err(TokenCause::Replayed(what));
            }
            Err(other) => return Err(other.into()),
        }
        Ok(TokenResponse {
            access_token,
            token_type: token_type(bound.as_deref()),
            expires_in: self.settings.issuance.access_token_seconds,
            refresh_token,
            authorization_details: credential_identifiers(a),
        })
    }

    /// A new access token and, when configured, a new refresh token.
    fn new_tokens(&self, jkt: Option<String>, now: i64) -> (GrantTokens, String, Option<String>) {
        let access_token = secrets::random_token();
        let lifetime = self.settings.authorization.refresh_token_seconds;
        let refresh = (lifetime > 0).then(secrets::random_token);
        let tokens = GrantTokens {
            token_hash: secrets::hash(&access_token),
            expires_at: now + self.settings.issuance.access_token_seconds,
            dpop_jkt: jkt,
            refresh: refresh.as_ref().map(|r| (secrets::hash(r), now + lifetime)),
        };
        (tokens, access_token, refresh)
    }

    fn grant_event<T: IssuerTenant>(
        &self,
        tenant: &T,
        a: &Authorization,
        kind: EventKind,
        now: i64,
        dpop: bool,
    ) -> NewEvent {
        NewEvent {
            tenant: tenant.id().to_owned(),
            offer_id: a.offer_id.clone().unwrap_or_default(),
            kind,
            detail: json!({ "grant": "authorization_code", "clientId": a.client_id, "dpop": dpop }),
            created_at: now,
        }
    }

    /// Revoke a replayed grant and its offer (and so every token of it).
    async fn revoke<T: IssuerTenant>(
        &self,
        tenant: &T,
        a: &Authorization,
        now: i64,
        what: &str,
    ) -> Result<(), TokenCause> {
        tracing::warn!(tenant = tenant.id(), offer = ?a.offer_id, what, "replayed grant: revoking it");
        let event = a.offer_id.as_ref().map(|id| NewEvent {
            tenant: tenant.id().to_owned(),
            offer_id: id.clone(),
            kind: EventKind::GrantReplayed,
            detail: json!({ "replayed": what }),
            created_at: now,
        });
        self.store
            .revoke_grant(&a.id, now, event)
            .await
            .map_err(TokenCause::Store)
    }
}

/// What the wallet presented with an authorization code.
#[derive(Clone, Copy)]
struct Presented<'a> {
    client_id: &'a str,
    redirect_uri: &'a str,
    verifier: &'a str,
}

/// The key the new tokens are bound to: the authorization's (then the
/// request must prove it), else the request's proof key, if any.
fn bound_key(a: &Authorization, jkt: Option<String>) -> Result<Option<String>, TokenCause> {
    match (&a.dpop_jkt, jkt) {
        (Some(bound), Some(proof)) if *bound == proof => Ok(Some(proof)),
        (Some(_), Some(_)) => Err(TokenCause::Dpop(super::dpop::DpopFault::OtherKey)),
        (Some(_), None) => Err(TokenCause::Dpop(super::dpop::DpopFault::Missing)),
        (None, proof) => Ok(proof),
    }
}
