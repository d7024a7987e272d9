//! The token endpoint's errors (RFC 6749 §5.2, OID4VCI §6.3).

use serde_json::{Value, json};
use sigil_tests::TestApp;

use crate::offers::{badge_offer, create, issuer, pre_authorized_code};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

async fn token(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let r = app.post_form("/token", form).await;
    let status = r.status().as_u16();
    assert_eq!(r.headers()["cache-control"], "no-store");
    (status, r.json().await.unwrap())
}

fn assert_error(result: &(u16, Value), status: u16, code: &str) {
    assert_eq!(result.0, status, "{}", result.1);
    assert_eq!(result.1["error"], code, "{}", result.1);
    assert!(!result.1["error_description"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn success_then_reuse_is_invalid_grant() {
    let app = issuer().await;
    let created = create(&app, &badge_offer()).await;
    let code = pre_authorized_code(&app, &created).await;
    let (status, body) = token(
        &app,
        &[("grant_type", GRANT), ("pre-authorized_code", &code)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert!(
        body.get("c_nonce").is_none(),
        "c_nonce is not part of 1.0 token responses"
    );
    assert_error(
        &token(
            &app,
            &[("grant_type", GRANT), ("pre-authorized_code", &code)],
        )
        .await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let app = issuer().await;
    assert_error(
        &token(&app, &[("pre-authorized_code", "x")]).await,
        400,
        "invalid_request",
    );
    assert_error(
        &token(&app, &[("grant_type", GRANT)]).await,
        400,
        "invalid_request",
    );
    assert_error(
        &token(
            &app,
            &[("grant_type", "password"), ("pre-authorized_code", "x")],
        )
        .await,
        400,
        "unsupported_grant_type",
    );
    assert_error(
        &token(
            &app,
            &[("grant_type", GRANT), ("pre-authorized_code", "unknown")],
        )
        .await,
        400,
        "invalid_grant",
    );
    let r = app
        .client
        .post(format!("{}/token", app.address))
        .json(&json!({"grant_type": GRANT}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
}

#[tokio::test]
async fn tx_code_rules() {
    let app = issuer().await;
    let mut body = badge_offer();
    body["txCode"] = json!({ "value": "123456" });
    let created = create(&app, &body).await;
    let code = pre_authorized_code(&app, &created).await;
    // Missing: invalid_request, and it does not count.
    assert_error(
        &token(
            &app,
            &[("grant_type", GRANT), ("pre-authorized_code", &code)],
        )
        .await,
        400,
        "invalid_request",
    );
    // Wrong twice: invalid_grant, the code survives.
    for _ in 0..2 {
        assert_error(
            &token(
                &app,
                &[
                    ("grant_type", GRANT),
                    ("pre-authorized_code", &code),
                    ("tx_code", "000000"),
                ],
            )
            .await,
            400,
            "invalid_grant",
        );
    }
    let (status, _) = token(
        &app,
        &[
            ("grant_type", GRANT),
            ("pre-authorized_code", &code),
            ("tx_code", "123456"),
        ],
    )
    .await;
    assert_eq!(status, 200);

    // Three wrong codes kill the offer: even the right one fails afterwards.
    let created = create(&app, &body).await;
    let code = pre_authorized_code(&app, &created).await;
    for _ in 0..3 {
        assert_error(
            &token(
                &app,
                &[
                    ("grant_type", GRANT),
                    ("pre-authorized_code", &code),
                    ("tx_code", "999999"),
                ],
            )
            .await,
            400,
            "invalid_grant",
        );
    }
    assert_error(
        &token(
            &app,
            &[
                ("grant_type", GRANT),
                ("pre-authorized_code", &code),
                ("tx_code", "123456"),
            ],
        )
        .await,
        400,
        "invalid_grant",
    );
    let view: Value = app
        .admin_get(&format!(
            "/admin/v1/offers/{}",
            created["offerId"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["status"], "invalidated");
    // Each refusal is on the offer's record with its reason, never with a code.
    let refusals: Vec<&Value> = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "token_refused")
        .map(|e| &e["detail"])
        .collect();
    let reasons: Vec<&str> = refusals
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "tx_code_mismatch",
            "tx_code_mismatch",
            "tx_code_mismatch",
            "attempts_exhausted"
        ]
    );
    assert_eq!(
        (&refusals[2]["attemptsLeft"], &refusals[2]["grantType"]),
        (&json!(0), &json!(GRANT))
    );
    for d in &refusals {
        assert_eq!(d["error"], "invalid_grant", "{d}");
        let text = d.to_string();
        for secret in [code.as_str(), "999999", "123456"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    // A tx_code for an offer without one: invalid_request.
    let created = create(&app, &badge_offer()).await;
    let code = pre_authorized_code(&app, &created).await;
    assert_error(
        &token(
            &app,
            &[
                ("grant_type", GRANT),
                ("pre-authorized_code", &code),
                ("tx_code", "1"),
            ],
        )
        .await,
        400,
        "invalid_request",
    );
}

#[tokio::test]
async fn revoked_and_expired_offers_are_invalid_grant() {
    let app = issuer().await;
    let created = create(&app, &badge_offer()).await;
    let code = pre_authorized_code(&app, &created).await;
    let id = created["offerId"].as_str().unwrap();
    assert_eq!(
        app.admin_delete(&format!("/admin/v1/offers/{id}"))
            .await
            .status(),
        204
    );
    assert_error(
        &token(
            &app,
            &[("grant_type", GRANT), ("pre-authorized_code", &code)],
        )
        .await,
        400,
        "invalid_grant",
    );
    let view: Value = app
        .admin_get(&format!("/admin/v1/offers/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["status"], "revoked");

    // By value: the code is read from the offer URI, not fetched, so no request races the one-second expiry
    // (fetching a by-reference offer could land after it and get 404).
    let mut body = badge_offer();
    body["expiresInSeconds"] = json!(1);
    body["valueMode"] = json!("by_value");
    let created = create(&app, &body).await;
    let code = pre_authorized_code(&app, &created).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_error(
        &token(
            &app,
            &[("grant_type", GRANT), ("pre-authorized_code", &code)],
        )
        .await,
        400,
        "invalid_grant",
    );
}
