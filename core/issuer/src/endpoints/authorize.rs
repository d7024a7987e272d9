//! `GET /authorize` (RFC 6749 §4.1.1 with RFC 9126 §4) and
//! `GET /login/callback`: the person is sent to the tenant's upstream
//! OpenID provider, Sigil runs its own code flow there (PKCE, state, nonce),
//! verifies the ID token, and answers the wallet's redirect URI with a
//! code, its `state` and `iss` (RFC 9207), or an error.

use serde_json::{Map, Value};
use sigil_settings::{ClientAuthMethod, LoginSettings};

use super::par::{AuthorizationCause, AuthorizationRequest};
use crate::id_token::{IdTokenCheck, IdTokenError};
use crate::model::{
    Authorization, AuthorizationStatus, CodeIssue, EventKind, LoginState, NewEvent, Offer,
};
use crate::ports::{
    AuthorizationStore, IssuanceStore, IssuerTenant, OpenIdProviders, ProviderMetadata,
};
use crate::secrets;
use crate::service::Issuer;

/// Accepted clock skew of an ID token's times, seconds.
const ID_TOKEN_SKEW: i64 = 60;

/// A failed authorization step: the wallet's redirect URI with the error
/// when the request is known and its redirect URI checked; otherwise the
/// person sees an error page (RFC 6749 §4.1.2.1).
#[derive(Debug)]
pub struct AuthorizeError {
    /// The cause.
    pub cause: AuthorizationCause,
    /// Where to send the browser with the error, if anywhere.
    pub redirect: Option<String>,
}

impl From<AuthorizationCause> for AuthorizeError {
    fn from(cause: AuthorizationCause) -> Self {
        Self {
            cause,
            redirect: None,
        }
    }
}

/// The login callback's query (OpenID Connect Core §3.1.2.5, .6; RFC 9207).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginCallback {
    /// `state`.
    pub state: Option<String>,
    /// `code`.
    pub code: Option<String>,
    /// `error`.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
    /// `iss`.
    pub iss: Option<String>,
}

impl LoginCallback {
    /// From the query pairs (the first of a repeated name wins).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut c = Self::default();
        for (name, value) in pairs {
            let slot = match name.as_str() {
                "state" => &mut c.state,
                "code" => &mut c.code,
                "error" => &mut c.error,
                "error_description" => &mut c.error_description,
                "iss" => &mut c.iss,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        c
    }
}

/// `redirect_uri` with `params` added to its query.
pub fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{sep}{query}")
}

/// Sigil's redirect URI at the upstream provider for a tenant's issuer.
pub fn login_redirect_uri(issuer: &str) -> String {
    format!("{issuer}/login/callback")
}

impl<S: IssuanceStore + AuthorizationStore, P> Issuer<S, P> {
    /// The authorization endpoint: `request` is its query. Returns where to
    /// send the browser: the provider's login, or the wallet with a code.
    #[tracing::instrument(name = "issuer.authorize", skip_all, fields(tenant = tenant.id()))]
    pub async fn authorize<T: IssuerTenant, O: OpenIdProviders>(
        &self,
        tenant: &T,
        request: &AuthorizationRequest,
        providers: &O,
    ) -> Result<String, AuthorizeError> {
        let request_uri = match &request.request_uri {
            Some(uri) => uri.clone(),
            None if self.settings.authorization.require_par => {
                return Err(AuthorizationCause::ParRequired.into());
            }
            None => {
                self.push_authorization(tenant, request, None)
                    .await?
                    .request_uri
            }
        };
        let now = self.now();
        let found = self
            .store
            .authorization_by_request(tenant.id(), &secrets::hash(&request_uri))
            .await
            .map_err(AuthorizationCause::from)?;
        let a = found
            .filter(|a| Some(a.client_id.as_str()) == request.client_id.as_deref())
            .filter(|a| a.request_expires_at > now)
            .filter(|a| {
                matches!(
                    a.status,
                    AuthorizationStatus::Pushed | AuthorizationStatus::Login
                )
            })
            .ok_or(AuthorizationCause::RequestUri)?;
        let offer = match &a.offer_id {
            Some(id) => self
                .store_offer(tenant.id(), id)
                .await
                .map_err(|c| self.to_wallet(tenant, &a, c))?,
            None => None,
        };
        match self.login(tenant.id()) {
            Some(login) => self
                .start_login(tenant, &a, login, offer.as_ref(), providers)
                .await
                .map_err(|c| self.to_wallet(tenant, &a, c)),
            None => self
                .grant_code(tenant, &a, None, None)
                .await
                .map_err(|c| self.to_wallet(tenant, &a, c)),
        }
    }

    /// The offer `id` of the tenant (by the issuance store's reader).
    async fn store_offer(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<Offer>, AuthorizationCause> {
        Ok(self.store.offer(tenant, id).await?)
    }

    /// Send the person to the provider: a fresh state, nonce and PKCE
    /// verifier, stored before the redirect.
    async fn start_login<T: IssuerTenant, O: OpenIdProviders>(
        &self,
        tenant: &T,
        a: &Authorization,
        login: &LoginSettings,
        offer: Option<&Offer>,
        providers: &O,
    ) -> Result<String, AuthorizationCause> {
        let metadata = providers
            .metadata(&login.issuer)
            .await
            .map_err(|e| AuthorizationCause::Upstream(e.0))?;
        let state = secrets::random_token();
        let nonce = secrets::random_token();
        let verifier = secrets::random_token();
        let now = self.now();
        let event = a
            .offer_id
            .as_ref()
            .map(|id| NewEvent::bare(tenant.id(), id, EventKind::LoginStarted, now));
        let started = self
            .store
            .begin_login(
                &a.id,
                &LoginState {
                    state_hash: secrets::hash(&state),
                    nonce: nonce.clone(),
                    verifier: verifier.clone(),
                    expires_at: now + self.settings.authorization.login_seconds,
                },
                now,
                event,
            )
            .await?;
        if !started {
            return Err(AuthorizationCause::RequestUri);
        }
        let challenge = crate::pkce::s256(&verifier);
        let redirect_uri = login_redirect_uri(tenant.issuer());
        let scope = login.scope();
        let mut params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &login.client_id),
            ("redirect_uri", &redirect_uri),
            ("scope", &scope),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ];
        let overrides = offer.map(|o| &o.runtime_overrides);
        if let Some(hint) = overrides.and_then(|o| o.login_hint.as_deref()) {
            params.push(("login_hint", hint));
        }
        for (name, value) in overrides
            .and_then(|o| o.login_parameters.as_ref())
            .into_iter()
            .flatten()
        {
            params.push((name, value));
        }
        Ok(redirect_with(&metadata.authorization_endpoint, &params))
    }

    /// The login callback: check the provider's answer, redeem its code,
    /// verify the ID token, and send the wallet its code.
    #[tracing::instrument(name = "issuer.login_callback", skip_all, fields(tenant = tenant.id()))]
    pub async fn login_callback<T: IssuerTenant, O: OpenIdProviders>(
        &self,
        tenant: &T,
        callback: &LoginCallback,
        providers: &O,
    ) -> Result<String, AuthorizeError> {
        let state = callback
            .state
            .as_deref()
            .filter(|s| !s.is_empty() && s.len() <= 512);
        let Some(state) = state else {
            return Err(AuthorizationCause::UnknownLogin.into());
        };
        let now = self.now();
        let a = self
            .store
            .authorization_by_login(tenant.id(), &secrets::hash(state))
            .await
            .map_err(AuthorizationCause::from)?
            .filter(|a| a.status == AuthorizationStatus::Login)
            .filter(|a| a.login.as_ref().is_some_and(|l| l.expires_at > now))
            .ok_or(AuthorizationCause::UnknownLogin)?;
        let login = self
            .login(tenant.id())
            .ok_or(AuthorizationCause::UnknownLogin)?;
        match self
            .finish_login(tenant, &a, login, callback, providers)
            .await
        {
            Ok((subject, claims)) => self
                .grant_code(tenant, &a, Some(subject), Some(claims))
                .await
                .map_err(|c| self.to_wallet(tenant, &a, c)),
            Err(cause) => {
                tracing::info!(tenant = tenant.id(), error = %cause.description(), "upstream login failed");
                let event = a.offer_id.as_ref().map(|id| NewEvent {
                    tenant: tenant.id().to_owned(),
                    offer_id: id.clone(),
                    kind: EventKind::LoginFailed,
                    detail: serde_json::json!({ "error": cause.code().as_str() }),
                    created_at: now,
                });
                if let Err(e) = self.store.fail_login(&a.id, now, event).await {
                    tracing::error!(error = %e, "recording a failed login failed");
                }
                Err(self.to_wallet(tenant, &a, cause))
            }
        }
    }

    /// The provider's answer to the login: the subject and the claims to
    /// keep, from a verified ID token.
    async fn finish_login<T: IssuerTenant, O: OpenIdProviders>(
        &self,
        tenant: &T,
        a: &Authorization,
        login: &LoginSettings,
        callback: &LoginCallback,
        providers: &O,
    ) -> Result<(String, Map<String, Value>), AuthorizationCause> {
        if let Some(error) = &callback.error {
            let said = callback.error_description.as_deref().unwrap_or_default();
            return Err(AuthorizationCause::AccessDenied(format!(
                "the sign-in at the identity provider did not complete ({}{}{})",
                error.chars().take(60).collect::<String>(),
                if said.is_empty() { "" } else { ": " },
                said.chars().take(200).collect::<String>()
            )));
        }
        if let Some(iss) = &callback.iss
            && iss != &login.issuer
        {
            return Err(AuthorizationCause::Upstream(
                "the login answer names another identity provider (iss); it was refused".into(),
            ));
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                AuthorizationCause::Upstream("the identity provider sent no code".into())
            })?;
        let l = a.login.as_ref().ok_or(AuthorizationCause::UnknownLogin)?;
        let metadata = providers
            .metadata(&login.issuer)
            .await
            .map_err(|e| AuthorizationCause::Upstream(e.0))?;
        let id_token = self
            .exchange(tenant, login, &metadata, code, &l.verifier, providers)
            .await?;
        let check = IdTokenCheck {
            issuer: &login.issuer,
            client_id: &login.client_id,
            nonce: &l.nonce,
            now: self.now(),
            max_skew: ID_TOKEN_SKEW,
            algorithms: &login
                .id_token_algorithms
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        };
        let claims = super::with_fresh_keys(
            providers,
            &metadata.jwks_uri,
            |jwks| crate::id_token::verify(&id_token, jwks, check),
            |e| matches!(e, IdTokenError::UnknownKey(_)),
        )
        .await
        .map_err(|e| AuthorizationCause::Upstream(e.0))?
        .map_err(|e| {
            AuthorizationCause::Upstream(format!("its ID token was refused: {}", e.description()))
        })?;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let kept = match &login.claims {
            Some(names) => claims
                .into_iter()
                .filter(|(k, _)| k == "sub" || names.contains(k))
                .collect(),
            None => claims,
        };
        Ok((subject, kept))
    }

    /// Redeem the provider's code for its ID token (OpenID Connect Core §3.1.3).
    async fn exchange<T: IssuerTenant, O: OpenIdProviders>(
        &self,
        tenant: &T,
        login: &LoginSettings,
        metadata: &ProviderMetadata,
        code: &str,
        verifier: &str,
        providers: &O,
    ) -> Result<String, AuthorizationCause> {
        let redirect_uri = login_redirect_uri(tenant.issuer());
        let secret = login.client_secret.as_ref().map(|s| s.expose());
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", verifier),
        ];
        let basic = match (secret, login.token_endpoint_auth) {
            (Some(s), ClientAuthMethod::ClientSecretBasic) => Some((login.client_id.as_str(), s)),
            (Some(s), ClientAuthMethod::ClientSecretPost) => {
                form.push(("client_id", &login.client_id));
                form.push(("client_secret", s));
                None
            }
            (None, _) => {
                form.push(("client_id", &login.client_id));
                None
            }
        };
        let answer = providers
            .token(&metadata.token_endpoint, &form, basic)
            .await
            .map_err(|e| AuthorizationCause::Upstream(e.0))?;
        answer
            .get("id_token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                AuthorizationCause::Upstream("its token response has no id_token".into())
            })
    }

    /// Issue the authorization code and build the wallet's redirect.
    async fn grant_code<T: IssuerTenant>(
        &self,
        tenant: &T,
        a: &Authorization,
        subject: Option<String>,
        claims: Option<Map<String, Value>>,
    ) -> Result<String, AuthorizationCause> {
        let now = self.now();
        let code = secrets::random_token();
        let new_offer = a
            .offer_id
            .is_none()
            .then(|| self.login_offer(tenant, a, now));
        let offer_id = a
            .offer_id
            .clone()
            .or_else(|| new_offer.as_ref().map(|o| o.id.clone()))
            .unwrap_or_default();
        let issued = self
            .store
            .issue_code(
                &a.id,
                CodeIssue {
                    code_hash: secrets::hash(&code),
                    expires_at: now + self.settings.authorization.code_seconds,
                    subject,
                    claims,
                    new_offer,
                },
                now,
                NewEvent {
                    tenant: tenant.id().to_owned(),
                    offer_id,
                    kind: EventKind::CodeIssued,
                    detail: serde_json::json!({ "login": self.login(tenant.id()).is_some() }),
                    created_at: now,
                },
            )
            .await?;
        if !issued {
            return Err(AuthorizationCause::RequestUri);
        }
        let mut params = vec![("code", code.as_str())];
        if let Some(state) = &a.state {
            params.push(("state", state));
        }
        params.push(("iss", tenant.issuer()));
        Ok(redirect_with(&a.redirect_uri, &params))
    }

    /// The offer a login without an offer issues under: the configurations
    /// asked for, claims from the configurations' sources and the ID token.
    fn login_offer<T: IssuerTenant>(&self, tenant: &T, a: &Authorization, now: i64) -> Offer {
        Offer::implicit(
            uuid_like(),
            tenant.id(),
            a.credential_configuration_ids.clone(),
            now,
        )
    }

    /// `cause` delivered to the wallet's (already checked) redirect URI.
    fn to_wallet<T: IssuerTenant>(
        &self,
        tenant: &T,
        a: &Authorization,
        cause: AuthorizationCause,
    ) -> AuthorizeError {
        let description = cause.description();
        let mut params = vec![
            ("error", cause.code().as_str()),
            ("error_description", description.as_str()),
        ];
        if let Some(state) = &a.state {
            params.push(("state", state));
        }
        params.push(("iss", tenant.issuer()));
        AuthorizeError {
            redirect: Some(redirect_with(&a.redirect_uri, &params)),
            cause,
        }
    }
}

/// A random offer id in the UUID shape the admin API uses.
pub(crate) fn uuid_like() -> String {
    let h = secrets::hash(&secrets::random_token());
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
