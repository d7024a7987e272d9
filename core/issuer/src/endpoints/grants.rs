//! The token endpoint's authorization code grant (RFC 6749 §4.1.3,
//! RFC 7636 §4.6) and refresh token grant (RFC 6749 §6, rotated on use,
//! RFC 9700 §4.14.2), for public wallet clients identified by `client_id`.

use serde_json::{Value, json};

use super::token::{TokenCause, TokenRequest, TokenResponse, token_type};
use crate::model::{Authorization, AuthorizationStatus, EventKind, GrantTokens, NewEvent};
use crate::ports::{AuthorizationStore, IssuanceStore, IssuerTenant};
use crate::secrets;
use crate::service::Issuer;

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
    /// single-use redemption; a code presented again revokes its grant.
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
            .ok_or_else(|| TokenCause::Grant("the authorization code is unknown".into()))?;
        if matches!(
            a.status,
            AuthorizationStatus::Redeemed | AuthorizationStatus::Revoked
        ) {
            if a.status == AuthorizationStatus::Redeemed {
                self.revoke(tenant, &a, now, "authorization_code").await?;
            }
            return Err(TokenCause::Replayed("authorization code"));
        }
        if a.code_expires_at.is_none_or(|e| e <= now) || a.status != AuthorizationStatus::Code {
            return Err(TokenCause::Grant(
                "the authorization code has expired".into(),
            ));
        }
        if a.client_id != client_id {
            return Err(TokenCause::Grant(
                "the authorization code was issued to another client".into(),
            ));
        }
        if a.redirect_uri != redirect_uri {
            return Err(TokenCause::Grant(
                "redirect_uri differs from the one of the authorization request".into(),
            ));
        }
        if !crate::pkce::valid_verifier(verifier) {
            return Err(TokenCause::Grant(
                "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~".into(),
            ));
        }
        if !crate::pkce::matches(verifier, &a.code_challenge) {
            return Err(TokenCause::Grant(
                "code_verifier does not match the code_challenge".into(),
            ));
        }
        self.exchange_grant(tenant, &a, jkt, Exchange::Code, now)
            .await
    }

    /// Exchange a refresh token for a new access token and a new refresh
    /// token; the old one stops working, and presenting it again revokes
    /// the grant.
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
            .ok_or_else(|| TokenCause::Grant("the refresh token is unknown".into()))?;
        if a.previous_refresh_hash.as_deref() == Some(hash.as_str())
            || a.status == AuthorizationStatus::Revoked
        {
            if a.status != AuthorizationStatus::Revoked {
                self.revoke(tenant, &a, now, "refresh_token").await?;
            }
            return Err(TokenCause::Replayed("refresh token"));
        }
        if a.refresh_expires_at.is_none_or(|e| e <= now) {
            return Err(TokenCause::Grant("the refresh token has expired".into()));
        }
        if a.client_id != client_id {
            return Err(TokenCause::Grant(
                "the refresh token was issued to another client".into(),
            ));
        }
        self.exchange_grant(tenant, &a, jkt, Exchange::Refresh(&hash), now)
            .await
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
