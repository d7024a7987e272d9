//! Access tokens of external authorization servers at the credential
//! endpoint: RFC 9068 JWTs and RFC 7662 introspection at a fake
//! authorization server, each refusal, DPoP binding, and the record of the
//! first use.

use std::sync::Mutex;

use serde_json::{Value, json};
use sigil_settings::{AuthorizationServerSettings, Settings, TenantSettings};

use super::fakes::{Holder, ISSUER, NOW, World};
use crate::endpoints::credential::{
    CredentialAccess, CredentialCause, CredentialRequest, CredentialResponse,
};
use crate::endpoints::external::ExternalCause;
use crate::errors::CredentialErrorCode as Code;
use crate::jws::test_keys::{TestKey, with};
use crate::model::{EventKind, Flow, OfferStatus};
use crate::ports::{
    AuthorizationServerMetadata, OpenIdProviders, ProviderFailure, ProviderMetadata,
};

const CORP: &str = "https://login.corp.example";
const HR: &str = "https://hr.example";
const SUB: &str = "employee-7";

/// An authorization server: JWKS of `keys` (the ones after a rotation in
/// `rotated`, served on a refresh), introspection answers by token, and a
/// log of what it was asked.
struct FakeAs {
    keys: Mutex<Value>,
    rotated: Mutex<Option<Value>>,
    answers: Mutex<Vec<(String, Value)>>,
    calls: Mutex<Vec<String>>,
    down: bool,
}

impl FakeAs {
    fn new(key: &TestKey) -> Self {
        Self {
            keys: Mutex::new(jwks(key, "k1")),
            rotated: Mutex::new(None),
            answers: Mutex::new(Vec::new()),
            calls: Mutex::new(Vec::new()),
            down: false,
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn answer(&self, token: &str, answer: Value) {
        self.answers
            .lock()
            .unwrap()
            .push((token.to_owned(), answer));
    }
}

fn jwks(key: &TestKey, kid: &str) -> Value {
    json!({ "keys": [with(key.jwk.clone(), json!({ "kid": kid, "use": "sig" }))] })
}

impl OpenIdProviders for FakeAs {
    async fn metadata(&self, _issuer: &str) -> Result<ProviderMetadata, ProviderFailure> {
        Err(ProviderFailure("not an OpenID provider".into()))
    }

    async fn jwks(&self, uri: &str, refresh: bool) -> Result<Value, ProviderFailure> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("jwks {uri} refresh={refresh}"));
        if refresh && let Some(fresh) = self.rotated.lock().unwrap().take() {
            *self.keys.lock().unwrap() = fresh;
        }
        Ok(self.keys.lock().unwrap().clone())
    }

    async fn token(
        &self,
        _endpoint: &str,
        _form: &[(&str, &str)],
        _basic: Option<(&str, &str)>,
    ) -> Result<Value, ProviderFailure> {
        Err(ProviderFailure("no token endpoint".into()))
    }

    async fn authorization_server(
        &self,
        issuer: &str,
    ) -> Result<AuthorizationServerMetadata, ProviderFailure> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("metadata {issuer}"));
        if self.down {
            return Err(ProviderFailure(format!(
                "its metadata at {issuer} cannot be reached"
            )));
        }
        Ok(AuthorizationServerMetadata {
            issuer: issuer.to_owned(),
            jwks_uri: Some(format!("{issuer}/jwks")),
            introspection_endpoint: Some(format!("{issuer}/introspect")),
        })
    }

    async fn introspect(
        &self,
        endpoint: &str,
        token: &str,
        client: (&str, &str),
    ) -> Result<Value, ProviderFailure> {
        self.calls.lock().unwrap().push(format!(
            "introspect {endpoint} as {}:{}",
            client.0, client.1
        ));
        Ok(self
            .answers
            .lock()
            .unwrap()
            .iter()
            .find(|(t, _)| t == token)
            .map_or_else(|| json!({ "active": false }), |(_, a)| a.clone()))
    }
}

/// The default tenant accepts `corp` (JWT) and `hr` (introspection);
/// `static_badge` has the scope `static`.
fn external(s: &mut Settings) {
    let server = |v: Value| serde_json::from_value::<AuthorizationServerSettings>(v).unwrap();
    s.authorization_servers.insert(
        "corp".into(),
        server(json!({ "issuer": CORP, "algorithms": ["RS256", "ES256"] })),
    );
    s.authorization_servers.insert(
        "hr".into(),
        server(
            json!({ "issuer": HR, "verification": "introspection", "client_id": "sigil",
                       "client_secret": "hr-secret", "audience": "urn:sigil" }),
        ),
    );
    let tenant: TenantSettings =
        serde_json::from_value(json!({ "authorization_servers": ["corp", "hr"] })).unwrap();
    s.tenants.insert("default".into(), tenant);
    if let Some(c) = s.credential_configurations.get_mut("static_badge") {
        c.scope = Some("static".into());
    }
}

fn claims() -> Value {
    json!({ "iss": CORP, "aud": ISSUER, "sub": SUB, "client_id": "wallet", "jti": "j-1",
            "iat": NOW - 5, "exp": NOW + 600,
            "authorization_details": [{ "type": "openid_credential", "credential_configuration_id": "static_badge" }] })
}

fn jwt(key: &TestKey, claims: &Value) -> String {
    key.jwt(
        &json!({ "alg": key.alg, "kid": "k1", "typ": "at+jwt" }),
        claims,
    )
}

fn request(
    w: &World,
    configuration: &str,
    holder: &Holder,
) -> Result<CredentialRequest, CredentialCause> {
    let nonce = w.issuer.nonce(&w.tenant).c_nonce;
    let body = json!({ "credential_configuration_id": configuration, "proofs": { "jwt": [holder.proof(&nonce, NOW)] } });
    CredentialRequest::from_json(body.to_string().as_bytes())
}

async fn present(
    w: &World,
    provider: &FakeAs,
    authorization: &str,
    dpop: &[&str],
    configuration: &str,
) -> Result<CredentialResponse, CredentialCause> {
    let url = format!("{ISSUER}/credential");
    let access = CredentialAccess {
        authorization: Some(authorization),
        dpop,
        url: &url,
    };
    let holder = Holder::new();
    w.issuer
        .credential_with(
            &w.tenant,
            access,
            request(w, configuration, &holder),
            provider,
        )
        .await
        .map(|o| o.into_issued().expect("issued, not deferred"))
}

async fn bearer(
    w: &World,
    provider: &FakeAs,
    token: &str,
    configuration: &str,
) -> Result<CredentialResponse, CredentialCause> {
    present(w, provider, &format!("Bearer {token}"), &[], configuration).await
}

#[tokio::test]
async fn a_jwt_access_token_is_verified_recorded_once_and_issues_from_the_configuration() {
    let w = World::with_settings(external);
    let key = TestKey::new("RS256");
    let corp = FakeAs::new(&key);
    let token = jwt(&key, &claims());
    let r = bearer(&w, &corp, &token, "static_badge").await.unwrap();
    assert_eq!(r.credentials.len(), 1);
    // The configuration's static claims, for the token's sub.
    let calls = w.plugins().claim_calls.lock().unwrap().clone();
    assert_eq!(calls[0].0, "claims-static");
    assert_eq!(calls[0].1.subject_id.as_deref(), Some(SUB));
    // The first use is recorded: an offer of what the token grants, for its sub.
    let offers = w.store().offers.lock().unwrap().clone();
    let offer = offers.values().next().unwrap();
    assert_eq!(offer.credential_configuration_ids, ["static_badge"]);
    assert_eq!(offer.flow, Flow::AuthorizationCode);
    assert_eq!(offer.runtime_overrides.subject_id.as_deref(), Some(SUB));
    assert_eq!(
        offer.runtime_overrides.authorization_server.as_deref(),
        Some(CORP)
    );
    assert_eq!(offer.expires_at, Some(NOW + 600));
    assert_eq!(w.store().status(&offer.id), OfferStatus::Consumed);
    assert_eq!(
        w.store().event_kinds(),
        [EventKind::TokenIssued, EventKind::CredentialIssued]
    );
    let event = w.store().events.lock().unwrap()[0].clone();
    assert_eq!(
        event.detail,
        json!({ "grant": "external", "authorizationServer": CORP, "clientId": "wallet", "dpop": false })
    );
    let row = w
        .store()
        .tokens
        .lock()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(
        (
            row.expires_at,
            row.dpop_jkt.as_deref(),
            row.authorization_id.as_deref()
        ),
        (NOW + 600, None, None)
    );
    assert_eq!(
        corp.calls(),
        [
            format!("metadata {CORP}"),
            format!("jwks {CORP}/jwks refresh=false")
        ]
    );
    // The next use finds the row: the server is not asked again.
    let _ = bearer(&w, &corp, &token, "static_badge").await;
    assert_eq!(corp.calls().len(), 2);
    assert_eq!(w.store().offers.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn scope_grants_configurations_and_a_configuration_not_granted_is_insufficient_scope() {
    let w = World::with_settings(external);
    let key = TestKey::new("ES256");
    let corp = FakeAs::new(&key);
    let token = jwt(
        &key,
        &with(
            claims(),
            json!({ "authorization_details": null, "scope": "openid static" }),
        ),
    );
    let e = bearer(&w, &corp, &token, "badge").await.unwrap_err();
    assert_eq!(e.code(), Code::InsufficientScope, "{}", e.description());
    bearer(&w, &corp, &token, "static_badge").await.unwrap();
    // A token that grants nothing of this issuer: insufficient_scope, saying how to ask.
    let nothing = jwt(
        &key,
        &with(
            claims(),
            json!({ "jti": "j-2", "scope": "openid",
        "authorization_details": [{ "type": "openid_credential", "credential_configuration_id": "unknown" },
                                  { "type": "openid_credential", "credential_configuration_id": "static_badge",
                                    "locations": ["https://other-issuer.example"] }] }),
        ),
    );
    let e = bearer(&w, &corp, &nothing, "static_badge")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            CredentialCause::External(ExternalCause::NothingGranted { .. })
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), Code::InsufficientScope);
    assert!(
        e.description().contains("scope of one (static)"),
        "{}",
        e.description()
    );
}

#[tokio::test]
async fn every_refusal_is_invalid_token_with_a_reason() {
    let w = World::with_settings(external);
    let key = TestKey::new("RS256");
    let corp = FakeAs::new(&key);
    let refused = async |token: String, says: &str| {
        let e = bearer(&w, &corp, &token, "static_badge")
            .await
            .expect_err(says);
        assert_eq!(e.code(), Code::InvalidToken, "{}", e.description());
        assert!(
            e.description().contains(says),
            "{says}: {}",
            e.description()
        );
    };
    refused(
        jwt(
            &key,
            &with(claims(), json!({ "aud": "https://other.example" })),
        ),
        "its aud does not contain https://issuer.example",
    )
    .await;
    refused(
        jwt(&key, &with(claims(), json!({ "exp": NOW - 100 }))),
        " expired at",
    )
    .await;
    refused(
        jwt(
            &key,
            &with(claims(), json!({ "iss": "https://evil.example" })),
        ),
        "issued by https://evil.example, which this credential issuer does not accept",
    )
    .await;
    refused(
        jwt(&key, &with(claims(), json!({ "iss": null }))),
        "issued by nothing",
    )
    .await;
    // The payload of another token under this one's signature.
    let good: Vec<String> = jwt(&key, &claims()).split('.').map(str::to_owned).collect();
    let other = jwt(&key, &with(claims(), json!({ "sub": "someone-else" })));
    let forged = format!(
        "{}.{}.{}",
        good[0],
        other.split('.').nth(1).unwrap(),
        good[2]
    );
    refused(forged, "signature that does not verify").await;
    refused(
        key.jwt(
            &json!({ "alg": "RS256", "kid": "k1", "typ": "JWT" }),
            &claims(),
        ),
        "not at+jwt",
    )
    .await;
    refused(
        jwt(&key, &with(claims(), json!({ "sub": null }))),
        "no sub claim",
    )
    .await;
    refused(
        jwt(&key, &with(claims(), json!({ "iat": NOW + 3600 }))),
        "clock",
    )
    .await;
    refused(jwt(&TestKey::new("ES384"), &claims()), "alg ES384").await;
    // Nothing was recorded.
    assert!(w.store().offers.lock().unwrap().is_empty());
    assert!(w.store().tokens.lock().unwrap().is_empty());
    // An opaque token while no introspection server answers for it: inactive.
    refused("2YotnFZFEjr1zCsicMWpAA".into(), "not active").await;
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_keys_once_more() {
    let w = World::with_settings(external);
    let (old, new) = (TestKey::new("ES256"), TestKey::new("ES256"));
    let corp = FakeAs::new(&old);
    *corp.rotated.lock().unwrap() = Some(jwks(&new, "k2"));
    let token = new.jwt(
        &json!({ "alg": "ES256", "kid": "k2", "typ": "at+jwt" }),
        &claims(),
    );
    bearer(&w, &corp, &token, "static_badge").await.unwrap();
    assert_eq!(
        corp.calls()[1..],
        [
            format!("jwks {CORP}/jwks refresh=false"),
            format!("jwks {CORP}/jwks refresh=true")
        ]
    );
    // A kid unknown after the refresh too is refused.
    let stray = new.jwt(
        &json!({ "alg": "ES256", "kid": "k9", "typ": "at+jwt" }),
        &with(claims(), json!({ "jti": "j-9" })),
    );
    let e = bearer(&w, &corp, &stray, "static_badge").await.unwrap_err();
    assert!(e.description().contains("key k9"), "{}", e.description());
}

#[tokio::test]
async fn introspection_decides_opaque_tokens() {
    let w = World::with_settings(external);
    let hr = FakeAs::new(&TestKey::new("ES256"));
    let active = json!({ "active": true, "iss": HR, "aud": "urn:sigil", "sub": SUB, "exp": NOW + 300,
                         "scope": "static", "client_id": "wallet" });
    hr.answer("opaque-1", active.clone());
    bearer(&w, &hr, "opaque-1", "static_badge").await.unwrap();
    assert!(
        hr.calls()
            .contains(&format!("introspect {HR}/introspect as sigil:hr-secret")),
        "{:?}",
        hr.calls()
    );
    let offer = w
        .store()
        .offers
        .lock()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(
        offer.runtime_overrides.authorization_server.as_deref(),
        Some(HR)
    );
    assert_eq!(offer.expires_at, Some(NOW + 300));
    // Inactive, or active for another audience.
    let e = bearer(&w, &hr, "opaque-2", "static_badge")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidToken);
    assert!(
        e.description()
            .contains(&format!("authorization server {HR} is not active")),
        "{}",
        e.description()
    );
    hr.answer("opaque-3", with(active, json!({ "aud": ISSUER })));
    let e = bearer(&w, &hr, "opaque-3", "static_badge")
        .await
        .unwrap_err();
    assert!(
        e.description()
            .contains("its aud does not contain urn:sigil"),
        "{}",
        e.description()
    );
}

#[tokio::test]
async fn a_dpop_bound_external_token_needs_a_proof_by_its_key() {
    let w = World::with_settings(external);
    let key = TestKey::new("ES256");
    let corp = FakeAs::new(&key);
    let holder = Holder::new();
    let jkt = crate::jws::thumbprint(&holder.jwk).unwrap();
    let token = jwt(&key, &with(claims(), json!({ "cnf": { "jkt": jkt } })));
    let url = format!("{ISSUER}/credential");
    let proof = |by: &Holder, jti: &str| {
        let claims = json!({ "jti": jti, "htm": "POST", "htu": url, "iat": NOW,
                             "ath": crate::jws::sha256_b64url(token.as_bytes()) });
        by.sign(
            &json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": by.jwk }),
            &claims,
        )
    };
    let e = bearer(&w, &corp, &token, "static_badge").await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidToken);
    assert!(
        e.description().contains("DPoP-bound"),
        "{}",
        e.description()
    );
    let row = w
        .store()
        .tokens
        .lock()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(row.dpop_jkt.as_deref(), Some(jkt.as_str()));
    let dpop = format!("DPoP {token}");
    let e = present(
        &w,
        &corp,
        &dpop,
        &[&proof(&Holder::new(), "d1")],
        "static_badge",
    )
    .await
    .unwrap_err();
    assert!(matches!(e, CredentialCause::Dpop(_)), "{e:?}");
    present(&w, &corp, &dpop, &[&proof(&holder, "d2")], "static_badge")
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unreachable_server_is_a_server_error_and_tenants_without_servers_know_only_their_tokens()
 {
    let w = World::with_settings(external);
    let key = TestKey::new("RS256");
    let corp = FakeAs {
        down: true,
        ..FakeAs::new(&key)
    };
    let e = bearer(&w, &corp, &jwt(&key, &claims()), "static_badge")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ServerError);
    assert!(
        e.description().contains("cannot be reached"),
        "{}",
        e.description()
    );
    // The acme tenant accepts no external server: the same token is just unknown.
    let plain = World::new();
    let corp = FakeAs::new(&key);
    let url = format!("{ISSUER}/credential");
    let authorization = format!("Bearer {}", jwt(&key, &claims()));
    let access = CredentialAccess {
        authorization: Some(&authorization),
        dpop: &[],
        url: &url,
    };
    let e = plain
        .issuer
        .credential_with(
            &plain.acme,
            access,
            request(&plain, "static_badge", &Holder::new()),
            &corp,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, CredentialCause::UnknownToken), "{e:?}");
    assert!(corp.calls().is_empty());
}
