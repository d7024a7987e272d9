//! `POST /par` (RFC 9126) and the authorization request it carries
//! (RFC 6749 §4.1.1, RFC 7636, RFC 9396, OID4VCI §5.1): checked once here,
//! stored, and referred to by a single-use `request_uri`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sigil_settings::redirect_uri_allowed;

use super::dpop::DpopFault;
use crate::errors::AuthorizationErrorCode as Code;
use crate::model::{
    Authorization, AuthorizationStatus, EventKind, Flow, NewEvent, Offer, OfferStatus,
};
use crate::ports::{AuthorizationStore, IssuerTenant, StoreFailure};
use crate::secrets;
use crate::service::Issuer;

/// The prefix of every `request_uri` (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// An authorization request's parameters, from a PAR body or (without
/// PAR) the authorization endpoint's query. Unknown parameters are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// `response_type`.
    pub response_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `authorization_details` (a JSON array, as sent).
    pub authorization_details: Option<String>,
    /// `issuer_state`.
    pub issuer_state: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `dpop_jkt` (RFC 9449 §10).
    pub dpop_jkt: Option<String>,
    /// `request_uri` (refused inside a PAR body).
    pub request_uri: Option<String>,
    /// `request` (request objects are not supported).
    pub request: Option<String>,
}

impl AuthorizationRequest {
    /// Parse `application/x-www-form-urlencoded` `pairs`; a repeated
    /// parameter is refused (RFC 6749 §3.1).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, AuthorizationCause> {
        let mut seen = std::collections::BTreeSet::new();
        let mut r = Self::default();
        for (name, value) in pairs {
            if !seen.insert(name.clone()) {
                return Err(AuthorizationCause::Repeated(name));
            }
            let slot = match name.as_str() {
                "response_type" => &mut r.response_type,
                "client_id" => &mut r.client_id,
                "redirect_uri" => &mut r.redirect_uri,
                "code_challenge" => &mut r.code_challenge,
                "code_challenge_method" => &mut r.code_challenge_method,
                "scope" => &mut r.scope,
                "authorization_details" => &mut r.authorization_details,
                "issuer_state" => &mut r.issuer_state,
                "state" => &mut r.state,
                "dpop_jkt" => &mut r.dpop_jkt,
                "request_uri" => &mut r.request_uri,
                "request" => &mut r.request,
                _ => continue,
            };
            *slot = Some(value);
        }
        Ok(r)
    }

    /// Parse a PAR body of `content_type`.
    pub fn from_form(content_type: Option<&str>, body: &[u8]) -> Result<Self, AuthorizationCause> {
        let media = super::media_type(content_type);
        if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(AuthorizationCause::NotFormEncoded);
        }
        let pairs = serde_urlencoded::from_bytes(body).map_err(|_| {
            AuthorizationCause::Invalid("the body is not valid form encoding".into())
        })?;
        Self::from_pairs(pairs)
    }
}

/// One `authorization_details` entry of type `openid_credential` (OID4VCI §5.1.1).
#[derive(Debug, Deserialize)]
struct Detail {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    credential_configuration_id: Option<String>,
    #[serde(default)]
    locations: Option<Vec<String>>,
}

/// The PAR response (RFC 9126 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushedResponse {
    /// The reference to send to the authorization endpoint.
    pub request_uri: String,
    /// Its lifetime in seconds.
    pub expires_in: i64,
}

/// Why an authorization request (PAR, authorization endpoint, login
/// callback) failed.
#[derive(Debug)]
pub enum AuthorizationCause {
    /// The PAR body is not form-encoded.
    NotFormEncoded,
    /// A parameter appears twice.
    Repeated(String),
    /// A parameter is missing or malformed (the message says which).
    Invalid(String),
    /// `response_type` is not `code`.
    UnsupportedResponseType(String),
    /// PKCE is missing, or not S256.
    Pkce(String),
    /// The redirect URI is not in the tenant's allow-list.
    RedirectUri(String),
    /// An `authorization_details` entry is unusable.
    Details(String),
    /// Neither scope nor details name a credential this tenant offers.
    NothingRequested,
    /// The `issuer_state` is unknown, expired or used.
    IssuerState,
    /// The offer does not cover a requested configuration.
    NotOffered(String),
    /// Without an offer there is nobody to issue to, and no login.
    NoLogin,
    /// DPoP at PAR failed.
    Dpop(DpopFault),
    /// `dpop_jkt` differs from the PAR's DPoP proof key.
    DpopJktMismatch,
    /// The `request_uri` is unknown, expired, used or another client's.
    RequestUri,
    /// A direct authorization request while PAR is required.
    ParRequired,
    /// The person cancelled or the provider refused the login.
    AccessDenied(String),
    /// The login callback is unknown or expired.
    UnknownLogin,
    /// The upstream provider failed (unreachable, bad answer, bad ID token).
    Upstream(String),
    /// The store failed.
    Store(StoreFailure),
}

impl AuthorizationCause {
    /// The error code (RFC 6749 §4.1.2.1, RFC 9126 §2.3, RFC 9396 §5).
    pub fn code(&self) -> Code {
        match self {
            Self::NotFormEncoded
            | Self::Repeated(_)
            | Self::Invalid(_)
            | Self::Pkce(_)
            | Self::RedirectUri(_)
            | Self::IssuerState
            | Self::NoLogin
            | Self::DpopJktMismatch
            | Self::RequestUri
            | Self::ParRequired
            | Self::UnknownLogin => Code::InvalidRequest,
            Self::UnsupportedResponseType(_) => Code::UnsupportedResponseType,
            Self::Details(_) | Self::NotOffered(_) => Code::InvalidAuthorizationDetails,
            Self::NothingRequested => Code::InvalidScope,
            Self::Dpop(f) => f.authorization_code(),
            Self::AccessDenied(_) => Code::AccessDenied,
            Self::Upstream(_) | Self::Store(_) => Code::ServerError,
        }
    }

    /// What the wallet developer (or the person, on the error page) is told.
    pub fn description(&self) -> String {
        match self {
            Self::NotFormEncoded => "the request must be application/x-www-form-urlencoded".into(),
            Self::Repeated(n) => format!("parameter {n} is repeated"),
            Self::Invalid(m) | Self::Pkce(m) | Self::Details(m) => m.clone(),
            Self::UnsupportedResponseType(t) => format!("response_type '{t}' is not supported; use code"),
            Self::RedirectUri(u) => format!("redirect_uri '{u}' is not registered for this issuer"),
            Self::NothingRequested => "ask for a credential with scope or authorization_details (type openid_credential)".into(),
            Self::IssuerState => "the issuer_state is unknown, expired or already used; ask the issuer for a new offer".into(),
            Self::NotOffered(id) => format!("the offer does not include credential configuration '{id}'"),
            Self::NoLogin => "this issuer issues only from its offers: send the offer's issuer_state".into(),
            Self::Dpop(f) => f.description(),
            Self::DpopJktMismatch => "dpop_jkt does not match the key of the DPoP proof".into(),
            Self::RequestUri => "the request_uri is unknown, expired or already used, or was pushed by another client; push the request again".into(),
            Self::ParRequired => "this issuer requires pushed authorization requests: POST the request to the pushed_authorization_request_endpoint and send its request_uri".into(),
            Self::AccessDenied(m) => m.clone(),
            Self::UnknownLogin => "this sign-in is unknown or has expired; start again from your wallet".into(),
            Self::Upstream(m) => format!("the sign-in service failed: {m}; try again later"),
            Self::Store(_) => "the request could not be processed; try again".into(),
        }
    }
}

impl From<StoreFailure> for AuthorizationCause {
    fn from(e: StoreFailure) -> Self {
        tracing::error!(error = %e, "authorization store failed");
        Self::Store(e)
    }
}

/// Printable ASCII of at most `max` characters.
fn printable(value: &str, max: usize) -> bool {
    !value.is_empty() && value.len() <= max && value.bytes().all(|b| (0x20..0x7f).contains(&b))
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, AuthorizationCause> {
    match value.as_deref() {
        Some(v) if printable(v, 2048) => Ok(v),
        Some(_) => Err(AuthorizationCause::Invalid(format!(
            "{name} must be printable ASCII of at most 2048 characters"
        ))),
        None => Err(AuthorizationCause::Invalid(format!("{name} is missing"))),
    }
}

impl<S: AuthorizationStore, P> Issuer<S, P> {
    /// Check an authorization request and store it: the PAR endpoint's
    /// rules, also used for a direct request when PAR is not required.
    /// `dpop_jkt` is the key of a verified DPoP proof sent with it.
    #[tracing::instrument(name = "issuer.push_authorization", skip_all, fields(tenant = tenant.id()))]
    pub async fn push_authorization<T: IssuerTenant>(
        &self,
        tenant: &T,
        request: &AuthorizationRequest,
        dpop_jkt: Option<String>,
    ) -> Result<PushedResponse, AuthorizationCause> {
        if request.request_uri.is_some() {
            return Err(AuthorizationCause::Invalid(
                "request_uri must not be sent to the pushed authorization request endpoint".into(),
            ));
        }
        if request.request.is_some() {
            return Err(AuthorizationCause::Invalid(
                "request objects are not supported; send the parameters in the form".into(),
            ));
        }
        let client_id = required(&request.client_id, "client_id")?;
        let response_type = required(&request.response_type, "response_type")?;
        if response_type != "code" {
            return Err(AuthorizationCause::UnsupportedResponseType(
                response_type.chars().take(40).collect(),
            ));
        }
        let redirect_uri = required(&request.redirect_uri, "redirect_uri")?;
        let patterns = self
            .settings
            .tenants
            .get(tenant.id())
            .map(|t| t.redirect_uris.as_slice())
            .unwrap_or_default();
        if !patterns
            .iter()
            .any(|p| redirect_uri_allowed(p, redirect_uri))
        {
            return Err(AuthorizationCause::RedirectUri(
                redirect_uri.chars().take(200).collect(),
            ));
        }
        let challenge = pkce_challenge(request)?;
        let dpop_jkt = match (dpop_jkt, request.dpop_jkt.as_deref()) {
            (Some(proof), Some(param)) if proof != param => {
                return Err(AuthorizationCause::DpopJktMismatch);
            }
            (Some(proof), _) => Some(proof),
            (None, Some(param)) if printable(param, 128) => Some(param.to_owned()),
            (None, Some(_)) => {
                return Err(AuthorizationCause::Invalid("dpop_jkt is malformed".into()));
            }
            (None, None) => None,
        };
        if let Some(state) = &request.state
            && !printable(state, 2048)
        {
            return Err(AuthorizationCause::Invalid(
                "state must be printable ASCII of at most 2048 characters".into(),
            ));
        }
        let now = self.now();
        let (mut ids, details) = self.requested(tenant, request)?;
        let offer = match request.issuer_state.as_deref() {
            Some(s) => Some(self.offer_of_state(tenant, s, now).await?),
            None => None,
        };
        match &offer {
            Some(o) => {
                if let Some(id) = ids
                    .iter()
                    .find(|id| !o.credential_configuration_ids.contains(id))
                {
                    return Err(AuthorizationCause::NotOffered(id.clone()));
                }
                if ids.is_empty() {
                    ids.clone_from(&o.credential_configuration_ids);
                }
            }
            None if self.login(tenant.id()).is_none() => return Err(AuthorizationCause::NoLogin),
            None => {}
        }
        if ids.is_empty() {
            return Err(AuthorizationCause::NothingRequested);
        }
        let request_uri = format!("{REQUEST_URI_PREFIX}{}", secrets::random_token());
        let lifetime = self.settings.authorization.request_uri_seconds;
        let authorization = Authorization {
            id: secrets::random_token(),
            tenant: tenant.id().to_owned(),
            offer_id: offer.as_ref().map(|o| o.id.clone()),
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            code_challenge: challenge.to_owned(),
            state: request.state.clone(),
            credential_configuration_ids: ids,
            details,
            dpop_jkt,
            request_uri_hash: secrets::hash(&request_uri),
            request_expires_at: now + lifetime,
            login: None,
            subject: None,
            claims: None,
            code_hash: None,
            code_expires_at: None,
            refresh_hash: None,
            previous_refresh_hash: None,
            refresh_expires_at: None,
            status: AuthorizationStatus::Pushed,
            created_at: now,
            updated_at: now,
        };
        let event = offer.as_ref().map(|o| NewEvent {
            tenant: tenant.id().to_owned(),
            offer_id: o.id.clone(),
            kind: EventKind::AuthorizationRequested,
            detail: serde_json::json!({
                "clientId": client_id,
                "credentialConfigurationIds": authorization.credential_configuration_ids,
                "dpop": authorization.dpop_jkt.is_some(),
            }),
            created_at: now,
        });
        self.store.push_authorization(&authorization, event).await?;
        Ok(PushedResponse {
            request_uri,
            expires_in: lifetime,
        })
    }

    /// The configurations asked for by `authorization_details` and `scope`,
    /// and whether details were used. Unknown scope values are ignored
    /// (OID4VCI §5.1.2); unknown details are errors.
    fn requested<T: IssuerTenant>(
        &self,
        tenant: &T,
        request: &AuthorizationRequest,
    ) -> Result<(Vec<String>, bool), AuthorizationCause> {
        let mut ids: Vec<String> = Vec::new();
        let details = request.authorization_details.is_some();
        if let Some(raw) = &request.authorization_details {
            let entries: Vec<Value> = serde_json::from_str(raw).map_err(|e| {
                AuthorizationCause::Details(format!(
                    "authorization_details is not a JSON array: {e}"
                ))
            })?;
            if entries.is_empty() {
                return Err(AuthorizationCause::Details(
                    "authorization_details is empty".into(),
                ));
            }
            for (i, entry) in entries.into_iter().enumerate() {
                let d: Detail = serde_json::from_value(entry).map_err(|e| {
                    AuthorizationCause::Details(format!("authorization_details[{i}]: {e}"))
                })?;
                if d.kind != "openid_credential" {
                    return Err(AuthorizationCause::Details(format!(
                        "authorization_details[{i}].type '{}' is not supported; use openid_credential",
                        d.kind.chars().take(60).collect::<String>()
                    )));
                }
                if let Some(locations) = &d.locations
                    && !locations.iter().any(|l| l == tenant.issuer())
                {
                    return Err(AuthorizationCause::Details(format!(
                        "authorization_details[{i}].locations does not name this credential issuer {}",
                        tenant.issuer()
                    )));
                }
                let id = d.credential_configuration_id.ok_or_else(|| {
                    AuthorizationCause::Details(format!(
                        "authorization_details[{i}].credential_configuration_id is missing"
                    ))
                })?;
                if !tenant.offers(&id) || !self.settings.credential_configurations.contains_key(&id)
                {
                    return Err(AuthorizationCause::Details(format!(
                        "authorization_details[{i}]: unknown credential configuration '{}'",
                        id.chars().take(100).collect::<String>()
                    )));
                }
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        for scope in request.scope.as_deref().unwrap_or_default().split(' ') {
            let found = self
                .settings
                .credential_configurations
                .values()
                .find(|c| c.scope.as_deref() == Some(scope) && tenant.offers(&c.id));
            if let Some(c) = found
                && !ids.contains(&c.id)
            {
                ids.push(c.id.clone());
            }
        }
        Ok((ids, details))
    }

    /// The live authorization-code offer `issuer_state` names.
    async fn offer_of_state<T: IssuerTenant>(
        &self,
        tenant: &T,
        state: &str,
        now: i64,
    ) -> Result<Offer, AuthorizationCause> {
        if !printable(state, 512) {
            return Err(AuthorizationCause::IssuerState);
        }
        let offer = self
            .store
            .offer_by_issuer_state(tenant.id(), state)
            .await?
            .ok_or(AuthorizationCause::IssuerState)?;
        let live = matches!(offer.status(), OfferStatus::Created | OfferStatus::Resolved)
            && offer.expires_at.is_none_or(|e| e > now)
            && offer.flow != Flow::PreAuthorizedCode;
        if live {
            Ok(offer)
        } else {
            Err(AuthorizationCause::IssuerState)
        }
    }

    /// The tenant's upstream login, if it has one.
    pub(crate) fn login(&self, tenant: &str) -> Option<&sigil_settings::LoginSettings> {
        self.settings
            .tenants
            .get(tenant)
            .and_then(|t| t.login.as_ref())
    }
}

/// The S256 `code_challenge` (RFC 7636 §4.3; `plain` is refused).
fn pkce_challenge(request: &AuthorizationRequest) -> Result<&str, AuthorizationCause> {
    let challenge = request.code_challenge.as_deref().ok_or_else(|| {
        AuthorizationCause::Pkce("code_challenge is missing: PKCE with S256 is required".into())
    })?;
    match request.code_challenge_method.as_deref() {
        Some("S256") => {}
        Some("plain") => {
            return Err(AuthorizationCause::Pkce(
                "code_challenge_method plain is not allowed; use S256".into(),
            ));
        }
        Some(other) => {
            return Err(AuthorizationCause::Pkce(format!(
                "code_challenge_method '{}' is not supported; use S256",
                other.chars().take(20).collect::<String>()
            )));
        }
        None => {
            return Err(AuthorizationCause::Pkce(
                "code_challenge_method is missing; send S256 (plain is not allowed)".into(),
            ));
        }
    }
    if !crate::pkce::valid_challenge(challenge) {
        return Err(AuthorizationCause::Pkce(
            "code_challenge must be the 43-character base64url SHA-256 of the verifier".into(),
        ));
    }
    Ok(challenge)
}
