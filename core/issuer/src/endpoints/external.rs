//! Access tokens of external authorization servers at the credential
//! endpoint (OID4VCI §12.2.4 `authorization_servers`): a token Sigil's store
//! does not know is checked at the tenant's external server that issued it
//! (RFC 9068 JWT access tokens, or RFC 7662 introspection), and its first
//! use is recorded as an offer of the configurations it grants for its
//! `sub` plus an access token row, so the rest of the credential endpoint
//! (DPoP binding, coverage, proofs, issuance, records) runs unchanged.
//!
//! The external server knows nothing of Sigil's offers, so such a token is
//! tied to no offer of the integrator: the credential's claims come from
//! the configuration's claim source, with the token's `sub` as the subject.

use serde_json::{Value, json};
use sigil_settings::{AuthorizationServerSettings, TokenVerification};

use super::credential::CredentialCause;
use crate::access_token::{self, AccessTokenCheck, AccessTokenError};
use crate::errors::CredentialErrorCode as Code;
use crate::model::{
    AccessToken, EventKind, NewEvent, Offer, OfferProgress, OfferStatus, RuntimeOverrides,
};
use crate::ports::{AuthorizationStore, IssuanceStore, IssuerTenant, OpenIdProviders};
use crate::service::Issuer;

/// Accepted clock skew of an access token's times, seconds.
const TOKEN_SKEW: i64 = 60;

/// The longest token sent to an authorization server for checking.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why an external access token was refused.
#[derive(Debug)]
pub enum ExternalCause {
    /// A JWT whose `iss` is none of the tenant's authorization servers.
    UnknownIssuer {
        /// The token's `iss` (`nothing` when absent).
        got: String,
        /// The issuers the tenant accepts.
        accepted: Vec<String>,
    },
    /// The token failed a check of the server `server` (its issuer).
    Refused {
        /// The authorization server's issuer identifier.
        server: String,
        /// What is wrong.
        error: AccessTokenError,
    },
    /// The token grants none of this tenant's credential configurations.
    NothingGranted {
        /// The authorization server's issuer identifier.
        server: String,
        /// The scopes of the tenant's configurations.
        scopes: Vec<String>,
    },
    /// The authorization server could not be asked (metadata, JWKS,
    /// introspection).
    Upstream {
        /// The authorization server's issuer identifier.
        server: String,
        /// What failed (for the wallet and the logs; no token).
        error: String,
    },
}

impl ExternalCause {
    /// The credential endpoint's error code (RFC 6750 §3.1).
    pub fn code(&self) -> Code {
        match self {
            Self::UnknownIssuer { .. } | Self::Refused { .. } => Code::InvalidToken,
            Self::NothingGranted { .. } => Code::InsufficientScope,
            Self::Upstream { .. } => Code::ServerError,
        }
    }

    /// What the wallet developer is told.
    pub fn description(&self) -> String {
        match self {
            Self::UnknownIssuer { got, accepted } => format!(
                "the access token was issued by {got}, which this credential issuer does not accept; its authorization servers are {}",
                accepted.join(", ")
            ),
            Self::Refused { server, error } => {
                format!("the access token of the authorization server {server} {error}")
            }
            Self::NothingGranted { server, scopes } => {
                let scopes = if scopes.is_empty() {
                    String::new()
                } else {
                    format!(" or the scope of one ({})", scopes.join(", "))
                };
                format!(
                    "the access token of the authorization server {server} grants no credential configuration of this credential issuer; ask for authorization_details of type openid_credential with a credential_configuration_id{scopes}"
                )
            }
            Self::Upstream { server, error } => format!(
                "the authorization server {server} could not be asked about the access token ({error}); try again later"
            ),
        }
    }
}

impl From<ExternalCause> for CredentialCause {
    fn from(c: ExternalCause) -> Self {
        Self::External(c)
    }
}

/// A verified external token: who issued it and its claims.
struct Verified<'s> {
    server: &'s AuthorizationServerSettings,
    claims: serde_json::Map<String, Value>,
}

impl<S: IssuanceStore + AuthorizationStore, P> Issuer<S, P> {
    /// An access token Sigil's store does not know. When the tenant accepts
    /// external authorization servers, check it at the one that issued it
    /// (a JWT names it in `iss`; an opaque token is introspected at the
    /// tenant's introspection servers in the order it lists them) and record
    /// its first use; otherwise it is unknown.
    pub(crate) async fn external_token<T: IssuerTenant, O: OpenIdProviders>(
        &self,
        tenant: &T,
        token: &str,
        token_hash: &str,
        providers: &O,
    ) -> Result<(AccessToken, Offer), CredentialCause> {
        let servers = self.settings.tenant_authorization_servers(tenant.id());
        if servers.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(CredentialCause::UnknownToken);
        }
        let verified = match access_token::unverified_claims(token) {
            Some(peek) => {
                let iss = peek.get("iss").and_then(Value::as_str);
                let Some((_, server)) =
                    servers.iter().find(|(_, s)| Some(s.issuer.as_str()) == iss)
                else {
                    return Err(ExternalCause::UnknownIssuer {
                        got: iss.unwrap_or("nothing").chars().take(200).collect(),
                        accepted: servers.iter().map(|(_, s)| s.issuer.clone()).collect(),
                    }
                    .into());
                };
                let claims = self.check_at(tenant, server, token, providers).await?;
                Verified { server, claims }
            }
            None => {
                self.introspect_opaque(tenant, &servers, token, providers)
                    .await?
            }
        };
        self.record_first_use(tenant, token_hash, verified).await
    }

    /// Check `token` at `server` as its configuration says.
    async fn check_at<T: IssuerTenant, O: OpenIdProviders>(
        &self,
        tenant: &T,
        server: &AuthorizationServerSettings,
        token: &str,
        providers: &O,
    ) -> Result<serde_json::Map<String, Value>, ExternalCause> {
        let upstream = |error: String| ExternalCause::Upstream {
            server: server.issuer.clone(),
            error,
        };
        let refused = |error: AccessTokenError| {
            tracing::info!(tenant = tenant.id(), server = %server.issuer, %error, "external access token refused");
            ExternalCause::Refused {
                server: server.issuer.clone(),
                error,
            }
        };
        let algorithms: Vec<&str> = server.algorithms.iter().map(String::as_str).collect();
        let check = AccessTokenCheck {
            issuer: &server.issuer,
            audience: server.audience_for(tenant.issuer()),
            now: self.now(),
            max_skew: TOKEN_SKEW,
            algorithms: &algorithms,
        };
        let metadata = providers
            .authorization_server(&server.issuer)
            .await
            .map_err(|e| upstream(e.0))?;
        match server.verification {
            TokenVerification::Jwt => {
                let uri = metadata
                    .jwks_uri
                    .ok_or_else(|| upstream("its metadata has no jwks_uri".into()))?;
                super::with_fresh_keys(
                    providers,
                    &uri,
                    |jwks| access_token::verify_jwt(token, jwks, check),
                    |e| matches!(e, AccessTokenError::UnknownKey(_)),
                )
                .await
                .map_err(|e| upstream(e.0))?
                .map_err(refused)
            }
            TokenVerification::Introspection => {
                let endpoint = metadata
                    .introspection_endpoint
                    .ok_or_else(|| upstream("its metadata has no introspection_endpoint".into()))?;
                let client = (
                    server.client_id.as_deref().unwrap_or_default(),
                    server
                        .client_secret
                        .as_ref()
                        .map(|s| s.expose())
                        .unwrap_or_default(),
                );
                let answer = providers
                    .introspect(&endpoint, token, client)
                    .await
                    .map_err(|e| upstream(e.0))?;
                access_token::check_introspection(&answer, check).map_err(refused)
            }
        }
    }

    /// An opaque token: introspected at the tenant's introspection servers
    /// in order until one calls it active. A server that cannot be asked
    /// wins over the others' "inactive": the token may be its.
    async fn introspect_opaque<'s, T: IssuerTenant, O: OpenIdProviders>(
        &self,
        tenant: &T,
        servers: &[(&str, &'s AuthorizationServerSettings)],
        token: &str,
        providers: &O,
    ) -> Result<Verified<'s>, CredentialCause> {
        let mut unreachable = None;
        let mut inactive = None;
        for (_, server) in servers
            .iter()
            .filter(|(_, s)| s.verification == TokenVerification::Introspection)
        {
            match self.check_at(tenant, server, token, providers).await {
                Ok(claims) => return Ok(Verified { server, claims }),
                Err(
                    e @ ExternalCause::Refused {
                        error: AccessTokenError::Inactive,
                        ..
                    },
                ) => {
                    inactive.get_or_insert(e);
                }
                Err(e @ ExternalCause::Upstream { .. }) => {
                    unreachable.get_or_insert(e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(unreachable
            .or(inactive)
            .map_or(CredentialCause::UnknownToken, CredentialCause::External))
    }

    /// The tenant's configurations a token's claims grant: its
    /// `authorization_details` of type `openid_credential` (RFC 9396,
    /// OID4VCI §5.1.1; entries whose `locations` do not name this issuer are
    /// for another) and the configurations whose `scope` it carries.
    fn granted<T: IssuerTenant>(
        &self,
        tenant: &T,
        claims: &serde_json::Map<String, Value>,
    ) -> Vec<String> {
        let offered = |id: &str| {
            tenant.offers(id) && self.settings.credential_configurations.contains_key(id)
        };
        let mut ids: Vec<String> = Vec::new();
        for detail in claims
            .get("authorization_details")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if detail.get("type").and_then(Value::as_str) != Some("openid_credential") {
                continue;
            }
            let here = detail
                .get("locations")
                .and_then(Value::as_array)
                .is_none_or(|l| l.iter().any(|l| l.as_str() == Some(tenant.issuer())));
            if let Some(id) = detail
                .get("credential_configuration_id")
                .and_then(Value::as_str)
                && here
                && offered(id)
                && !ids.iter().any(|i| i == id)
            {
                ids.push(id.to_owned());
            }
        }
        let scopes = claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default();
        for scope in scopes.split(' ').filter(|s| !s.is_empty()) {
            for c in self.settings.credential_configurations.values() {
                if c.scope.as_deref() == Some(scope) && offered(&c.id) && !ids.contains(&c.id) {
                    ids.push(c.id.clone());
                }
            }
        }
        ids
    }

    /// Record a verified token's first use: an offer of what it grants for
    /// its `sub`, already `token_issued`, and its access token row (with its
    /// expiry and `cnf.jkt`), in one transaction; a concurrent first use of
    /// the same token finds the row the other stored.
    async fn record_first_use<T: IssuerTenant>(
        &self,
        tenant: &T,
        token_hash: &str,
        verified: Verified<'_>,
    ) -> Result<(AccessToken, Offer), CredentialCause> {
        let Verified { server, claims } = verified;
        let granted = self.granted(tenant, &claims);
        if granted.is_empty() {
            let scopes = self
                .settings
                .credential_configurations
                .values()
                .filter(|c| tenant.offers(&c.id))
                .filter_map(|c| c.scope.clone())
                .collect();
            return Err(ExternalCause::NothingGranted {
                server: server.issuer.clone(),
                scopes,
            }
            .into());
        }
        let now = self.now();
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let jkt = claims
            .get("cnf")
            .and_then(|c| c.get("jkt"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        // Within the clock skew a token may be used a little past its exp.
        let expires_at = access_token::expiry(&claims).max(now + 1);
        let mut progress = OfferProgress::new(now);
        progress.status = OfferStatus::TokenIssued;
        progress.token_issued_at = Some(now);
        let mut offer = Offer::implicit(
            super::authorize::uuid_like(),
            tenant.id(),
            granted.clone(),
            now,
        );
        offer.runtime_overrides = RuntimeOverrides {
            subject_id: text("sub"),
            authorization_server: Some(server.issuer.clone()),
            ..RuntimeOverrides::default()
        };
        offer.expires_at = Some(expires_at);
        offer.progress = progress;
        let row = AccessToken {
            token_hash: token_hash.to_owned(),
            tenant: tenant.id().to_owned(),
            offer_id: offer.id.clone(),
            credential_configuration_ids: granted,
            created_at: now,
            expires_at,
            authorization_id: None,
            dpop_jkt: jkt.clone(),
        };
        let event = NewEvent {
            tenant: tenant.id().to_owned(),
            offer_id: offer.id.clone(),
            kind: EventKind::TokenIssued,
            detail: json!({
                "grant": "external",
                "authorizationServer": server.issuer,
                "clientId": text("client_id"),
                "dpop": jkt.is_some(),
            }),
            created_at: now,
        };
        match self
            .store
            .record_external_token(&offer, row, event, now)
            .await
        {
            Ok(Some((g, o))) if g.tenant == tenant.id() => Ok((g, o)),
            // Another tenant's, expired, or its offer revoked.
            Ok(_) => Err(CredentialCause::UnknownToken),
            Err(e) => {
                tracing::error!(error = %e, "recording an external access token failed");
                Err(CredentialCause::TokenLookup(e))
            }
        }
    }
}
