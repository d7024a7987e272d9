//! The authorization code flow against fakes: PAR rules, the login at a
//! fake OpenID provider, the code and refresh grants, DPoP binding, and the
//! credential endpoint's `credential_identifier`.

use std::sync::Mutex;

use serde_json::{Value, json};
use sigil_settings::{LoginSettings, Settings};

use super::fakes::{Holder, ISSUER, NOW, World};
use crate::endpoints::authorize::LoginCallback;
use crate::endpoints::credential::{CredentialAccess, CredentialCause, CredentialRequest};
use crate::endpoints::par::{AuthorizationCause, AuthorizationRequest};
use crate::endpoints::token::{TokenCause, TokenContext, TokenRequest};
use crate::errors::{AuthorizationErrorCode, CredentialErrorCode, TokenErrorCode};
use crate::model::{EventKind, Flow, OfferStatus};
use crate::ports::{
    AuthorizationServerMetadata, NoProviders, OpenIdProviders, ProviderFailure, ProviderMetadata,
};

const OP: &str = "https://op.example";
const REDIRECT: &str = "http://127.0.0.1:4711/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// An OpenID provider that signs ID tokens with a P-256 key.
struct FakeProvider {
    key: Holder,
    /// Claims of the next ID token (the test sets `nonce`).
    claims: Mutex<Value>,
    forms: Mutex<Vec<Vec<(String, String)>>>,
}

impl FakeProvider {
    fn new() -> Self {
        Self {
            key: Holder::new(),
            claims: Mutex::new(Value::Null),
            forms: Mutex::new(Vec::new()),
        }
    }

    fn next(&self, claims: Value) {
        *self.claims.lock().unwrap() = claims;
    }
}

impl OpenIdProviders for FakeProvider {
    async fn metadata(&self, issuer: &str) -> Result<ProviderMetadata, ProviderFailure> {
        Ok(ProviderMetadata {
            issuer: issuer.to_owned(),
            authorization_endpoint: format!("{issuer}/auth"),
            token_endpoint: format!("{issuer}/token"),
            jwks_uri: format!("{issuer}/jwks"),
        })
    }

    async fn jwks(&self, _uri: &str, _refresh: bool) -> Result<Value, ProviderFailure> {
        let mut jwk = self.key.jwk.clone();
        jwk["kid"] = "k1".into();
        Ok(json!({ "keys": [jwk] }))
    }

    async fn token(
        &self,
        _endpoint: &str,
        form: &[(&str, &str)],
        _basic: Option<(&str, &str)>,
    ) -> Result<Value, ProviderFailure> {
        self.forms.lock().unwrap().push(
            form.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        let claims = self.claims.lock().unwrap().clone();
        let token = self
            .key
            .sign(&json!({ "alg": "ES256", "kid": "k1" }), &claims);
        Ok(json!({ "id_token": token, "token_type": "Bearer", "access_token": "x" }))
    }

    async fn authorization_server(
        &self,
        _issuer: &str,
    ) -> Result<AuthorizationServerMetadata, ProviderFailure> {
        Err(ProviderFailure("not an authorization server".into()))
    }

    async fn introspect(
        &self,
        _endpoint: &str,
        _token: &str,
        _client: (&str, &str),
    ) -> Result<Value, ProviderFailure> {
        Err(ProviderFailure("not an authorization server".into()))
    }
}

fn with_redirects(s: &mut Settings) {
    s.tenants.entry("default".into()).or_default().redirect_uris =
        vec!["http://127.0.0.1/*".into()];
    s.credential_configurations.get_mut("badge").unwrap().scope = Some("badge_scope".into());
}

fn with_login(s: &mut Settings) {
    with_redirects(s);
    let login: LoginSettings = serde_json::from_value(json!({
        "issuer": OP, "client_id": "sigil", "claims": ["given_name", "email"]
    }))
    .unwrap();
    s.tenants.get_mut("default").unwrap().login = Some(login);
}

fn par_request(extra: &[(&str, &str)]) -> AuthorizationRequest {
    let mut pairs: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", "wallet"),
        ("redirect_uri", REDIRECT),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", "w-state"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (k, v) in extra {
        pairs.retain(|(name, _)| name != k);
        if !v.is_empty() {
            pairs.push(((*k).to_owned(), (*v).to_owned()));
        }
    }
    AuthorizationRequest::from_pairs(pairs).unwrap()
}

fn query(url: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(url.split_once('?').unwrap().1).unwrap()
}

fn get<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn authorize_request(request_uri: &str, client: &str) -> AuthorizationRequest {
    AuthorizationRequest::from_pairs(vec![
        ("client_id".into(), client.into()),
        ("request_uri".into(), request_uri.into()),
    ])
    .unwrap()
}

fn code_request(code: &str, verifier: &str) -> TokenRequest {
    TokenRequest {
        grant_type: "authorization_code".into(),
        code: Some(code.into()),
        code_verifier: Some(verifier.into()),
        redirect_uri: Some(REDIRECT.into()),
        client_id: Some("wallet".into()),
        ..Default::default()
    }
}

/// An offer for the code flow with `issuer_state` "st-1" and inline claims.
fn code_offer(w: &World) {
    w.offer("o1", &["badge"], |o| {
        o.flow = Flow::AuthorizationCode;
        o.pre_authorized_code_hash = None;
        o.issuer_state = Some("st-1".into());
        o.runtime_overrides.login_hint = Some("user-42".into());
        World::inline(o, "badge", json!({ "given_name": "Ada" }));
    });
}

/// PAR and authorization without a login: straight back with a code.
async fn code_without_login(w: &World, extra: &[(&str, &str)]) -> String {
    let pushed = w
        .issuer
        .push_authorization(&w.tenant, &par_request(extra), None)
        .await
        .unwrap();
    let provider = FakeProvider::new();
    let location = w
        .issuer
        .authorize(
            &w.tenant,
            &authorize_request(&pushed.request_uri, "wallet"),
            &provider,
        )
        .await
        .unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    let q = query(&location);
    assert_eq!(get(&q, "state"), Some("w-state"));
    assert_eq!(get(&q, "iss"), Some(ISSUER));
    get(&q, "code").unwrap().to_owned()
}

#[tokio::test]
async fn par_requires_s256_pkce_a_listed_redirect_and_a_known_credential() {
    let w = World::with_settings(with_redirects);
    code_offer(&w);
    let cause = |extra: &[(&str, &str)]| {
        let r = par_request(extra);
        let issuer = &w.issuer;
        let tenant = &w.tenant;
        async move {
            issuer
                .push_authorization(tenant, &r, None)
                .await
                .unwrap_err()
        }
    };
    let e = cause(&[("code_challenge_method", "plain"), ("issuer_state", "st-1")]).await;
    assert!(matches!(e, AuthorizationCause::Pkce(_)), "{e:?}");
    assert!(e.description().contains("plain"));
    let e = cause(&[("code_challenge", ""), ("issuer_state", "st-1")]).await;
    assert!(matches!(e, AuthorizationCause::Pkce(_)), "{e:?}");
    let e = cause(&[
        ("redirect_uri", "https://evil.example/cb"),
        ("issuer_state", "st-1"),
    ])
    .await;
    assert!(matches!(e, AuthorizationCause::RedirectUri(_)), "{e:?}");
    assert_eq!(e.code(), AuthorizationErrorCode::InvalidRequest);
    let e = cause(&[("issuer_state", "nope")]).await;
    assert!(matches!(e, AuthorizationCause::IssuerState), "{e:?}");
    let e = cause(&[("response_type", "token"), ("issuer_state", "st-1")]).await;
    assert_eq!(e.code(), AuthorizationErrorCode::UnsupportedResponseType);
    let details = r#"[{"type":"openid_credential","credential_configuration_id":"mdl"}]"#;
    let e = cause(&[("authorization_details", details), ("issuer_state", "st-1")]).await;
    assert!(matches!(e, AuthorizationCause::NotOffered(_)), "{e:?}");
    assert_eq!(
        e.code(),
        AuthorizationErrorCode::InvalidAuthorizationDetails
    );
    // No offer and no login: nobody to issue to.
    let e = cause(&[("scope", "badge_scope")]).await;
    assert!(matches!(e, AuthorizationCause::NoLogin), "{e:?}");
}

#[tokio::test]
async fn an_offer_alone_authorizes_and_its_code_is_single_use() {
    let w = World::with_settings(with_redirects);
    code_offer(&w);
    let code = code_without_login(&w, &[("issuer_state", "st-1")]).await;
    // Wrong verifier, client or redirect: refused, the code survives.
    let other = "x".repeat(43);
    let e = w
        .issuer
        .token(&w.tenant, &code_request(&code, &other))
        .await
        .unwrap_err();
    assert_eq!(e.code(), TokenErrorCode::InvalidGrant);
    assert!(
        e.description().contains("code_verifier"),
        "{}",
        e.description()
    );
    let mut r = code_request(&code, VERIFIER);
    r.client_id = Some("another".into());
    assert_eq!(
        w.issuer.token(&w.tenant, &r).await.unwrap_err().code(),
        TokenErrorCode::InvalidGrant
    );
    let token = w
        .issuer
        .token(&w.tenant, &code_request(&code, VERIFIER))
        .await
        .unwrap();
    assert_eq!(token.token_type, "Bearer");
    assert!(token.refresh_token.is_some());
    assert!(
        token.authorization_details.is_none(),
        "scope/issuer_state requests get none"
    );
    assert_eq!(w.store().status("o1"), OfferStatus::TokenIssued);
    // The credential comes from the offer's inline claims.
    let holder = Holder::new();
    let nonce = w.issuer.nonce(&w.tenant).c_nonce;
    let body = json!({ "credential_configuration_id": "badge", "proofs": { "jwt": [holder.proof(&nonce, NOW)] } });
    let issued = w
        .issuer
        .credential(
            &w.tenant,
            Some(&format!("Bearer {}", token.access_token)),
            CredentialRequest::from_json(body.to_string().as_bytes()),
        )
        .await
        .unwrap()
        .into_issued()
        .unwrap();
    assert_eq!(issued.credentials.len(), 1);
    // The code again: refused, and everything it gave is revoked.
    let e = w
        .issuer
        .token(&w.tenant, &code_request(&code, VERIFIER))
        .await
        .unwrap_err();
    assert!(matches!(e, TokenCause::Replayed(_)), "{e:?}");
    assert_eq!(w.store().status("o1"), OfferStatus::Revoked);
    assert!(w.store().event_kinds().contains(&EventKind::GrantReplayed));
    let refresh = TokenRequest {
        grant_type: "refresh_token".into(),
        refresh_token: token.refresh_token,
        client_id: Some("wallet".into()),
        ..Default::default()
    };
    assert_eq!(
        w.issuer
            .token(&w.tenant, &refresh)
            .await
            .unwrap_err()
            .code(),
        TokenErrorCode::InvalidGrant
    );
}

#[tokio::test]
async fn request_uris_are_bound_to_the_client_expire_and_end_with_the_code() {
    let w = World::with_settings(with_redirects);
    code_offer(&w);
    let provider = FakeProvider::new();
    let pushed = w
        .issuer
        .push_authorization(&w.tenant, &par_request(&[("issuer_state", "st-1")]), None)
        .await
        .unwrap();
    assert_eq!(pushed.expires_in, 60);
    assert!(
        pushed
            .request_uri
            .starts_with("urn:ietf:params:oauth:request_uri:")
    );
    let foreign = w
        .issuer
        .authorize(
            &w.tenant,
            &authorize_request(&pushed.request_uri, "other"),
            &provider,
        )
        .await
        .unwrap_err();
    assert!(
        foreign.redirect.is_none(),
        "an unverified client is not redirected to"
    );
    assert!(matches!(foreign.cause, AuthorizationCause::RequestUri));
    let ok = w
        .issuer
        .authorize(
            &w.tenant,
            &authorize_request(&pushed.request_uri, "wallet"),
            &provider,
        )
        .await;
    assert!(ok.is_ok());
    let again = w
        .issuer
        .authorize(
            &w.tenant,
            &authorize_request(&pushed.request_uri, "wallet"),
            &provider,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(again.cause, AuthorizationCause::RequestUri),
        "single use"
    );
    // Expiry.
    let late = w
        .issuer
        .push_authorization(&w.tenant, &par_request(&[("issuer_state", "st-1")]), None)
        .await
        .unwrap();
    w.advance(61);
    let e = w
        .issuer
        .authorize(
            &w.tenant,
            &authorize_request(&late.request_uri, "wallet"),
            &provider,
        )
        .await
        .unwrap_err();
    assert!(matches!(e.cause, AuthorizationCause::RequestUri));
    // Without PAR, when PAR is required.
    let direct = par_request(&[("issuer_state", "st-1")]);
    let e = w
        .issuer
        .authorize(&w.tenant, &direct, &provider)
        .await
        .unwrap_err();
    assert!(matches!(e.cause, AuthorizationCause::ParRequired));
}

/// A login at the fake provider: the authorization URL it gets, then the
/// callback with an ID token of `claims` (plus the nonce it was sent).
async fn login(
    w: &World,
    provider: &FakeProvider,
    extra: &[(&str, &str)],
    claims: Value,
) -> (
    Vec<(String, String)>,
    Result<String, crate::endpoints::authorize::AuthorizeError>,
) {
    let pushed = w
        .issuer
        .push_authorization(&w.tenant, &par_request(extra), None)
        .await
        .unwrap();
    let to_provider = w
        .issuer
        .authorize(
            &w.tenant,
            &authorize_request(&pushed.request_uri, "wallet"),
            provider,
        )
        .await
        .unwrap();
    assert!(
        to_provider.starts_with("https://op.example/auth?"),
        "{to_provider}"
    );
    let sent = query(&to_provider);
    let mut claims = claims;
    if claims.get("nonce").is_none() {
        claims["nonce"] = get(&sent, "nonce").unwrap().into();
    }
    provider.next(claims);
    let callback = LoginCallback {
        state: get(&sent, "state").map(str::to_owned),
        code: Some("op-code".into()),
        iss: Some(OP.into()),
        ..Default::default()
    };
    let back = w
        .issuer
        .login_callback(&w.tenant, &callback, provider)
        .await;
    (sent, back)
}

fn id_claims() -> Value {
    json!({ "iss": OP, "aud": "sigil", "sub": "user-42", "iat": NOW, "exp": NOW + 300,
            "given_name": "Katherine", "email": "kj@example.org", "phone_number": "+1 555" })
}

#[tokio::test]
async fn a_login_maps_id_token_claims_into_the_credential_by_identifier() {
    let w = World::with_settings(with_login);
    code_offer(&w);
    let provider = FakeProvider::new();
    let details = r#"[{"type":"openid_credential","credential_configuration_id":"badge"}]"#;
    let (sent, back) = login(
        &w,
        &provider,
        &[("issuer_state", "st-1"), ("authorization_details", details)],
        id_claims(),
    )
    .await;
    // What went to the provider: PKCE S256, the offer's login_hint, openid scope.
    assert_eq!(get(&sent, "code_challenge_method"), Some("S256"));
    assert_eq!(get(&sent, "login_hint"), Some("user-42"));
    assert_eq!(
        get(&sent, "redirect_uri"),
        Some("https://issuer.example/login/callback")
    );
    assert!(get(&sent, "scope").unwrap().starts_with("openid"));
    let form = provider.forms.lock().unwrap()[0].clone();
    let verifier = get(&form, "code_verifier").unwrap();
    assert_eq!(
        crate::pkce::s256(verifier),
        get(&sent, "code_challenge").unwrap()
    );
    let location = back.unwrap();
    let q = query(&location);
    assert_eq!(get(&q, "iss"), Some(ISSUER));
    let code = get(&q, "code").unwrap();
    let token = w
        .issuer
        .token(&w.tenant, &code_request(code, VERIFIER))
        .await
        .unwrap();
    assert_eq!(
        token.authorization_details.clone().unwrap(),
        json!([{ "type": "openid_credential", "credential_configuration_id": "badge", "credential_identifiers": ["badge"] }])
    );
    let holder = Holder::new();
    let bearer = format!("Bearer {}", token.access_token);
    let nonce = w.issuer.nonce(&w.tenant).c_nonce;
    // With identifiers given, credential_configuration_id is refused...
    let by_config = json!({ "credential_configuration_id": "badge", "proofs": { "jwt": [holder.proof(&nonce, NOW)] } });
    let e = w
        .issuer
        .credential(
            &w.tenant,
            Some(&bearer),
            CredentialRequest::from_json(by_config.to_string().as_bytes()),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), CredentialErrorCode::InvalidCredentialRequest);
    let unknown =
        json!({ "credential_identifier": "mdl", "proofs": { "jwt": [holder.proof(&nonce, NOW)] } });
    let e = w
        .issuer
        .credential(
            &w.tenant,
            Some(&bearer),
            CredentialRequest::from_json(unknown.to_string().as_bytes()),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), CredentialErrorCode::UnknownCredentialIdentifier);
    // ...and the identifier works, the claim source seeing the login.
    let by_id = json!({ "credential_identifier": "badge", "proofs": { "jwt": [holder.proof(&nonce, NOW)] } });
    w.issuer
        .credential(
            &w.tenant,
            Some(&bearer),
            CredentialRequest::from_json(by_id.to_string().as_bytes()),
        )
        .await
        .unwrap()
        .into_issued()
        .unwrap();
    let calls = w.plugins().claim_calls.lock().unwrap().clone();
    let (_, request) = calls.last().unwrap();
    let seen = request.id_token_claims.clone().unwrap();
    assert_eq!(seen["given_name"], "Katherine");
    assert!(
        seen.get("phone_number").is_none(),
        "only the configured claims pass"
    );
    assert_eq!(request.subject_id.as_deref(), Some("user-42"));
    let kinds = w.store().event_kinds();
    for k in [
        EventKind::AuthorizationRequested,
        EventKind::LoginStarted,
        EventKind::CodeIssued,
        EventKind::TokenIssued,
    ] {
        assert!(kinds.contains(&k), "{k:?} in {kinds:?}");
    }
}

#[tokio::test]
async fn a_login_without_an_offer_makes_one_from_the_scope() {
    let w = World::with_settings(with_login);
    let provider = FakeProvider::new();
    let (_, back) = login(
        &w,
        &provider,
        &[("scope", "openid badge_scope")],
        id_claims(),
    )
    .await;
    let code = get(&query(&back.unwrap()), "code").unwrap().to_owned();
    let token = w
        .issuer
        .token(&w.tenant, &code_request(&code, VERIFIER))
        .await
        .unwrap();
    let offers = w.store().offers.lock().unwrap().clone();
    let offer = offers.values().next().unwrap();
    assert_eq!(offer.credential_configuration_ids, ["badge"]);
    assert_eq!(offer.flow, Flow::AuthorizationCode);
    assert_eq!(offer.progress.status, OfferStatus::TokenIssued);
    assert!(!token.access_token.is_empty());
}

#[tokio::test]
async fn id_tokens_with_a_wrong_nonce_audience_or_expiry_send_the_wallet_an_error() {
    for (what, claims) in [
        (
            "nonce",
            json!({ "iss": OP, "aud": "sigil", "sub": "u", "iat": NOW, "exp": NOW + 300, "nonce": "other" }),
        ),
        (
            "audience",
            json!({ "iss": OP, "aud": "someone", "sub": "u", "iat": NOW, "exp": NOW + 300 }),
        ),
        (
            "expired",
            json!({ "iss": OP, "aud": "sigil", "sub": "u", "iat": NOW - 900, "exp": NOW - 600 }),
        ),
    ] {
        let w = World::with_settings(with_login);
        code_offer(&w);
        let provider = FakeProvider::new();
        let (_, back) = login(&w, &provider, &[("issuer_state", "st-1")], claims).await;
        let e = back.unwrap_err();
        let q = query(e.redirect.as_deref().unwrap());
        assert_eq!(get(&q, "error"), Some("server_error"), "{what}");
        assert_eq!(get(&q, "state"), Some("w-state"));
        assert!(
            get(&q, "error_description").unwrap().contains("ID token"),
            "{what}: {q:?}"
        );
        assert!(w.store().event_kinds().contains(&EventKind::LoginFailed));
    }
}

#[tokio::test]
async fn a_cancelled_login_is_access_denied_and_unknown_callbacks_get_a_page() {
    let w = World::with_settings(with_login);
    code_offer(&w);
    let provider = FakeProvider::new();
    let pushed = w
        .issuer
        .push_authorization(&w.tenant, &par_request(&[("issuer_state", "st-1")]), None)
        .await
        .unwrap();
    let to = w
        .issuer
        .authorize(
            &w.tenant,
            &authorize_request(&pushed.request_uri, "wallet"),
            &provider,
        )
        .await
        .unwrap();
    let state = get(&query(&to), "state").unwrap().to_owned();
    let cancelled = LoginCallback {
        state: Some(state.clone()),
        error: Some("access_denied".into()),
        error_description: Some("End-User aborted interaction".into()),
        ..Default::default()
    };
    let e = w
        .issuer
        .login_callback(&w.tenant, &cancelled, &provider)
        .await
        .unwrap_err();
    let q = query(e.redirect.as_deref().unwrap());
    assert_eq!(get(&q, "error"), Some("access_denied"));
    // The same state again, or a made-up one: an error page, no redirect.
    let e = w
        .issuer
        .login_callback(&w.tenant, &cancelled, &provider)
        .await
        .unwrap_err();
    assert!(e.redirect.is_none());
    assert!(matches!(e.cause, AuthorizationCause::UnknownLogin));
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_grant() {
    let w = World::with_settings(with_redirects);
    code_offer(&w);
    let code = code_without_login(&w, &[("issuer_state", "st-1")]).await;
    let first = w
        .issuer
        .token(&w.tenant, &code_request(&code, VERIFIER))
        .await
        .unwrap();
    let refresh = |token: &Option<String>| TokenRequest {
        grant_type: "refresh_token".into(),
        refresh_token: token.clone(),
        client_id: Some("wallet".into()),
        ..Default::default()
    };
    let second = w
        .issuer
        .token(&w.tenant, &refresh(&first.refresh_token))
        .await
        .unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert!(w.store().event_kinds().contains(&EventKind::TokenRefreshed));
    let third = w
        .issuer
        .token(&w.tenant, &refresh(&second.refresh_token))
        .await
        .unwrap();
    let e = w
        .issuer
        .token(&w.tenant, &refresh(&second.refresh_token))
        .await
        .unwrap_err();
    assert!(matches!(e, TokenCause::Replayed(_)), "{e:?}");
    assert_eq!(w.store().status("o1"), OfferStatus::Revoked);
    // Revoked with the offer: the newest refresh token is dead too.
    let e = w
        .issuer
        .token(&w.tenant, &refresh(&third.refresh_token))
        .await
        .unwrap_err();
    assert_eq!(e.code(), TokenErrorCode::InvalidGrant);
}

/// A DPoP proof by `holder` for `url`.
fn dpop_proof(holder: &Holder, url: &str, jti: &str, access_token: Option<&str>) -> String {
    let mut claims = json!({ "jti": jti, "htm": "POST", "htu": url, "iat": NOW });
    if let Some(t) = access_token {
        claims["ath"] = crate::jws::sha256_b64url(t.as_bytes()).into();
    }
    holder.sign(
        &json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": holder.jwk }),
        &claims,
    )
}

#[tokio::test]
async fn dpop_binds_tokens_to_the_key_and_refuses_replays_and_other_keys() {
    let w = World::with_settings(with_redirects);
    code_offer(&w);
    let code = code_without_login(&w, &[("issuer_state", "st-1")]).await;
    let key = Holder::new();
    let token_url = format!("{ISSUER}/token");
    let proof = dpop_proof(&key, &token_url, "j1", None);
    let ctx = TokenContext {
        url: &token_url,
        dpop: &[&proof],
    };
    let token = w
        .issuer
        .token_with(&w.tenant, &code_request(&code, VERIFIER), ctx)
        .await
        .unwrap();
    assert_eq!(token.token_type, "DPoP");
    let credential_url = format!("{ISSUER}/credential");
    let holder = Holder::new();
    let nonce = w.issuer.nonce(&w.tenant).c_nonce;
    let body = || {
        let b = json!({ "credential_configuration_id": "badge", "proofs": { "jwt": [holder.proof(&nonce, NOW)] } });
        CredentialRequest::from_json(b.to_string().as_bytes())
    };
    let call = |scheme: &str, proofs: Vec<String>| {
        let authorization = format!("{scheme} {}", token.access_token);
        let issuer = &w.issuer;
        let tenant = &w.tenant;
        let url = credential_url.clone();
        let request = body();
        async move {
            let refs: Vec<&str> = proofs.iter().map(String::as_str).collect();
            let access = CredentialAccess {
                authorization: Some(&authorization),
                dpop: &refs,
                url: &url,
            };
            issuer
                .credential_with(tenant, access, request, &NoProviders)
                .await
        }
    };
    // Downgraded to Bearer, no proof, another key, wrong ath: refused.
    let e = call("Bearer", vec![]).await.unwrap_err();
    assert_eq!(e.code(), CredentialErrorCode::InvalidToken);
    let e = call("DPoP", vec![]).await.unwrap_err();
    assert_eq!(e.code(), CredentialErrorCode::InvalidDpopProof);
    let other = Holder::new();
    let e = call(
        "DPoP",
        vec![dpop_proof(
            &other,
            &credential_url,
            "j2",
            Some(&token.access_token),
        )],
    )
    .await
    .unwrap_err();
    assert!(matches!(e, CredentialCause::Dpop(_)), "{e:?}");
    let e = call(
        "DPoP",
        vec![dpop_proof(&key, &credential_url, "j3", Some("other token"))],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), CredentialErrorCode::InvalidDpopProof);
    // The right proof works once; its replay is refused.
    let good = dpop_proof(&key, &credential_url, "j4", Some(&token.access_token));
    call("dpop", vec![good.clone()]).await.unwrap();
    let e = call("DPoP", vec![good]).await.unwrap_err();
    assert!(
        e.description().contains("already used"),
        "{}",
        e.description()
    );
    // The refresh token is bound to the key too.
    let refresh = TokenRequest {
        grant_type: "refresh_token".into(),
        refresh_token: token.refresh_token.clone(),
        client_id: Some("wallet".into()),
        ..Default::default()
    };
    let e = w.issuer.token(&w.tenant, &refresh).await.unwrap_err();
    assert_eq!(e.code(), TokenErrorCode::InvalidDpopProof);
    let p = dpop_proof(&other, &token_url, "j5", None);
    let e = w
        .issuer
        .token_with(
            &w.tenant,
            &refresh,
            TokenContext {
                url: &token_url,
                dpop: &[&p],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), TokenErrorCode::InvalidGrant);
    let p = dpop_proof(&key, &token_url, "j6", None);
    let fresh = w
        .issuer
        .token_with(
            &w.tenant,
            &refresh,
            TokenContext {
                url: &token_url,
                dpop: &[&p],
            },
        )
        .await
        .unwrap();
    assert_eq!(fresh.token_type, "DPoP");
}

#[tokio::test]
async fn required_dpop_refuses_a_token_request_without_a_proof() {
    let w = World::with_settings(|s| {
        with_redirects(s);
        s.authorization.dpop = sigil_settings::DpopMode::Required;
    });
    code_offer(&w);
    let code = code_without_login(&w, &[("issuer_state", "st-1")]).await;
    let e = w
        .issuer
        .token(&w.tenant, &code_request(&code, VERIFIER))
        .await
        .unwrap_err();
    assert_eq!(e.code(), TokenErrorCode::InvalidDpopProof);
}

#[tokio::test]
async fn without_required_par_a_direct_request_gets_the_same_checks() {
    let w = World::with_settings(|s| {
        with_redirects(s);
        s.authorization.require_par = false;
    });
    code_offer(&w);
    let provider = FakeProvider::new();
    let plain = par_request(&[("issuer_state", "st-1"), ("code_challenge_method", "plain")]);
    let e = w
        .issuer
        .authorize(&w.tenant, &plain, &provider)
        .await
        .unwrap_err();
    assert!(matches!(e.cause, AuthorizationCause::Pkce(_)), "{e:?}");
    assert!(
        e.redirect.is_none(),
        "an unchecked request is not redirected to"
    );
    let direct = par_request(&[("issuer_state", "st-1")]);
    let location = w
        .issuer
        .authorize(&w.tenant, &direct, &provider)
        .await
        .unwrap();
    let q = query(&location);
    assert!(location.starts_with(REDIRECT), "{location}");
    let code = get(&q, "code").unwrap();
    let token = w
        .issuer
        .token(&w.tenant, &code_request(code, VERIFIER))
        .await
        .unwrap();
    assert_eq!(token.token_type, "Bearer");
}

/// The `(reason, grantType)` of every `token_refused` event, all on "o1";
/// none holds the code, verifier or refresh token.
fn token_refusals(w: &World, secrets: &[&str]) -> Vec<(String, String)> {
    let events = super::fakes::lock(&w.store().events).clone();
    events
        .into_iter()
        .filter(|e| e.kind == EventKind::TokenRefused)
        .map(|e| {
            assert_eq!(e.offer_id, "o1");
            assert_eq!(e.detail["error"], "invalid_grant", "{}", e.detail);
            let text = e.detail.to_string();
            for secret in secrets {
                assert!(!text.contains(secret), "{text} holds {secret}");
            }
            let field = |name: &str| e.detail[name].as_str().unwrap().to_owned();
            (field("reason"), field("grantType"))
        })
        .collect()
}

#[tokio::test]
async fn refused_codes_and_refresh_tokens_of_an_offer_are_recorded() {
    let w = World::with_settings(with_redirects);
    code_offer(&w);
    let code = code_without_login(&w, &[("issuer_state", "st-1")]).await;
    let refuse = |r: TokenRequest| {
        let w = &w;
        async move { w.issuer.token(&w.tenant, &r).await.unwrap_err() }
    };
    refuse(code_request(&code, &"x".repeat(43))).await;
    refuse(code_request(&code, "short")).await;
    let mut r = code_request(&code, VERIFIER);
    r.client_id = Some("another".into());
    refuse(r).await;
    let mut r = code_request(&code, VERIFIER);
    r.redirect_uri = Some("http://127.0.0.1:4711/other".into());
    refuse(r).await;
    // Unknown: no authorization, so no offer to record it on.
    refuse(code_request("never-issued", VERIFIER)).await;
    let token = w
        .issuer
        .token(&w.tenant, &code_request(&code, VERIFIER))
        .await
        .unwrap();
    let refresh = token.refresh_token.unwrap();
    let mut r = TokenRequest {
        grant_type: "refresh_token".into(),
        refresh_token: Some(refresh.clone()),
        client_id: Some("another".into()),
        ..Default::default()
    };
    refuse(r.clone()).await;
    // The first replay revokes the grant (grant_replayed); a code or
    // refresh token of the revoked grant is then refused as such.
    refuse(code_request(&code, VERIFIER)).await;
    refuse(code_request(&code, VERIFIER)).await;
    r.client_id = Some("wallet".into());
    refuse(r).await;
    let code_grant = |reason: &str| (reason.to_owned(), "authorization_code".to_owned());
    let refresh_grant = |reason: &str| (reason.to_owned(), "refresh_token".to_owned());
    assert_eq!(
        token_refusals(&w, &[&code, VERIFIER, &refresh]),
        [
            code_grant("pkce_mismatch"),
            code_grant("code_verifier_malformed"),
            code_grant("client_mismatch"),
            code_grant("redirect_uri_mismatch"),
            refresh_grant("client_mismatch"),
            code_grant("grant_revoked"),
            refresh_grant("grant_revoked"),
        ]
    );
    let replays = w.store().event_kinds();
    assert_eq!(
        replays
            .iter()
            .filter(|k| **k == EventKind::GrantReplayed)
            .count(),
        1
    );
}

#[tokio::test]
async fn an_expired_code_is_recorded_as_such() {
    let w = World::with_settings(with_redirects);
    code_offer(&w);
    let code = code_without_login(&w, &[("issuer_state", "st-1")]).await;
    w.advance(w.issuer.settings.authorization.code_seconds);
    let e = w
        .issuer
        .token(&w.tenant, &code_request(&code, VERIFIER))
        .await
        .unwrap_err();
    assert_eq!(e.description(), "the authorization code has expired");
    assert_eq!(
        token_refusals(&w, &[&code]),
        [("code_expired".to_owned(), "authorization_code".to_owned())]
    );
}
