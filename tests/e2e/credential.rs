//! The nonce and credential endpoints' error paths (OID4VCI §7, §8.3.1).

use serde_json::{Value, json};
use sigil_tests::TestApp;
use sigil_tests::holder::{Holder, now};

use crate::offers::{badge_offer, create, issuer, pre_authorized_code};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

pub async fn access_token(app: &TestApp) -> String {
    let created = create(app, &badge_offer()).await;
    let code = pre_authorized_code(app, &created).await;
    let r = app
        .post_form(
            "/token",
            &[("grant_type", GRANT), ("pre-authorized_code", &code)],
        )
        .await;
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn nonce(app: &TestApp) -> String {
    let r = app
        .client
        .post(format!("{}/nonce", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json::<Value>().await.unwrap()["c_nonce"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn credential(
    app: &TestApp,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value, Option<String>) {
    let mut req = app
        .client
        .post(format!("{}/credential", app.address))
        .json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let www = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, r.json().await.unwrap(), www)
}

fn request(proofs: &[String]) -> Value {
    json!({ "credential_configuration_id": "employee_badge_sd_jwt", "proofs": { "jwt": proofs } })
}

#[tokio::test]
async fn bad_tokens_are_401_with_www_authenticate() {
    let app = issuer().await;
    for token in [None, Some("not-a-token")] {
        let (status, body, www) = credential(&app, token, &request(&[])).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"], "invalid_token");
        assert!(www.unwrap().starts_with("Bearer error=\"invalid_token\""));
    }
}

#[tokio::test]
async fn request_errors_use_the_spec_codes() {
    let app = issuer().await;
    let token = access_token(&app).await;
    let holder = Holder::new();
    let aud = app.address.clone();
    let n = nonce(&app).await;
    let good = holder.proof(&aud, &n);
    let header = json!({ "typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": holder.jwk });
    let cases: Vec<(Value, &str)> = vec![
        (json!("not an object"), "invalid_credential_request"),
        (
            json!({ "proofs": { "jwt": [good] } }),
            "invalid_credential_request",
        ),
        (
            json!({ "credential_configuration_id": "nope", "proofs": { "jwt": [good] } }),
            "unknown_credential_configuration",
        ),
        (
            json!({ "credential_identifier": "nope", "proofs": { "jwt": [good] } }),
            "unknown_credential_identifier",
        ),
        (
            json!({ "credential_configuration_id": "employee_badge_sd_jwt" }),
            "invalid_proof",
        ),
        (
            json!({ "credential_configuration_id": "employee_badge_sd_jwt", "proof": { "proof_type": "jwt", "jwt": good } }),
            "invalid_credential_request",
        ),
        (
            json!({ "credential_configuration_id": "employee_badge_sd_jwt", "proofs": { "jwt": [good], "attestation": ["x"] } }),
            "invalid_credential_request",
        ),
        (
            json!({ "credential_configuration_id": "employee_badge_sd_jwt", "proofs": { "jwt": [] } }),
            "invalid_credential_request",
        ),
        (
            json!({ "credential_configuration_id": "employee_badge_sd_jwt", "proofs": { "jwt": vec![good.clone(); 11] } }),
            "invalid_credential_request",
        ),
        (
            json!({ "credential_configuration_id": "employee_badge_sd_jwt", "proofs": { "jwt": [good] }, "credential_response_encryption": { "jwk": {}, "enc": "A128GCM" } }),
            "invalid_encryption_parameters",
        ),
        (
            request(&[holder.sign(
                &json!({ "typ": "JWT", "alg": "ES256", "jwk": holder.jwk }),
                &json!({ "aud": aud, "iat": now(), "nonce": n }),
            )]),
            "invalid_proof",
        ),
        (
            request(&[holder.sign(
                &header,
                &json!({ "aud": "https://elsewhere", "iat": now(), "nonce": n }),
            )]),
            "invalid_proof",
        ),
        (
            request(&[holder.sign(
                &header,
                &json!({ "aud": aud, "iat": now() - 3600, "nonce": n }),
            )]),
            "invalid_proof",
        ),
        (
            request(&[holder.sign(&header, &json!({ "aud": aud, "iat": now() }))]),
            "invalid_proof",
        ),
        (
            request(&[
                Holder::new().sign(&header, &json!({ "aud": aud, "iat": now(), "nonce": n }))
            ]),
            "invalid_proof",
        ),
        (
            request(&[holder.proof(&aud, "never-issued")]),
            "invalid_nonce",
        ),
    ];
    for (body, code) in cases {
        let (status, reply, _) = credential(&app, Some(&token), &body).await;
        assert_eq!(status, 400, "{body}: {reply}");
        assert_eq!(reply["error"], code, "{body}: {reply}");
    }
    // None of that consumed the nonce or the token: the good proof still works.
    let (status, reply, _) =
        credential(&app, Some(&token), &request(std::slice::from_ref(&good))).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["credentials"].as_array().unwrap().len(), 1);
    // A nonce is single use.
    let (status, reply, _) = credential(&app, Some(&token), &request(&[good])).await;
    assert_eq!(
        (status, reply["error"].as_str()),
        (400, Some("invalid_nonce"))
    );
}

#[tokio::test]
async fn token_of_another_tenant_is_refused() {
    let app = issuer().await;
    let token = access_token(&app).await;
    let r = app
        .client
        .post(format!("{}/acme/credential", app.address))
        .bearer_auth(&token)
        .json(&request(&[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn batch_issues_one_credential_per_distinct_key() {
    let app = issuer().await;
    let token = access_token(&app).await;
    let n = nonce(&app).await;
    let holders: Vec<Holder> = (0..3).map(|_| Holder::new()).collect();
    let proofs: Vec<String> = holders.iter().map(|h| h.proof(&app.address, &n)).collect();
    let (status, reply, _) = credential(&app, Some(&token), &request(&proofs)).await;
    assert_eq!(status, 200, "{reply}");
    let creds = reply["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 3);
    assert!(reply.get("transaction_id").is_none());
    assert!(
        creds
            .iter()
            .all(|c| c["credential"].as_str().unwrap().ends_with('~'))
    );
}

/// Impierce `oid4vci` 0.4 writes the proof `aud` with a trailing slash
/// (ADR 0015): accepted by default, `invalid_proof` when
/// `[issuance] proof_aud_trailing_slash = false`.
#[tokio::test]
async fn proof_aud_with_a_trailing_slash_is_accepted() {
    for lenient in [true, false] {
        let mut spawn = sigil_tests::Spawn::default().issuer();
        if !lenient {
            spawn = spawn.toml("[issuance]\nproof_aud_trailing_slash = false\n");
        }
        let app = spawn.start().await;
        let token = access_token(&app).await;
        let proof = Holder::new().proof(&format!("{}/", app.address), &nonce(&app).await);
        let body = json!({ "credential_configuration_id": "employee_badge_sd_jwt",
                           "proofs": { "jwt": [proof] } });
        let (status, body, _) = credential(&app, Some(&token), &body).await;
        if lenient {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["credentials"].as_array().unwrap().len(), 1);
        } else {
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_proof")),
                "{body}"
            );
        }
    }
}
