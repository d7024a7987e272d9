//! Deferred issuance (OID4VCI 1.0 §9) with the independent wallet: an offer
//! with `issuanceMode: "deferred"` and a webhook claim source answering
//! `pending` get `202 {transaction_id, interval}`; the operator completes or
//! denies through the admin API; the wallet polls the deferred credential
//! endpoint with oid4vc-ts `retrieveDeferredCredentials` (one run of the
//! wallet script before the operator acts, one after, sharing a session)
//! and verifies the credential as at the credential endpoint. The offer view
//! lists the transactions.

use serde_json::{Value, json};
use sigil_tests::holder::Holder;
use sigil_tests::{TestApp, wallet};

use crate::claims::{Behaviour, Mock, contract_claims, spawn};
use crate::offers::{access_token, badge_offer, create, issuer};

const BADGE: &str = "employee_badge_sd_jwt";

fn deferred_offer() -> Value {
    let mut offer = badge_offer();
    offer["issuanceMode"] = json!("deferred");
    offer
}

/// The claim run of `created`'s offer: the credential request is deferred,
/// and the wallet polls `polls` times at once.
async fn claim_deferred(created: &Value, polls: u32) -> Value {
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "deferred": { "polls": polls }
    }))
    .await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["credentials"], json!([]), "{report}");
    let deferred = &report["deferred"][0];
    assert!(deferred["transactionId"].is_string(), "{report}");
    report
}

/// A later run of the wallet resuming `session`.
async fn resume(session: &Value, extra: Value) -> Value {
    let mut input = json!({ "mode": "deferred-poll", "session": session });
    input
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let report = wallet::claim(input).await;
    assert_eq!(report["ok"], true, "{report}");
    report
}

async fn view(app: &TestApp, created: &Value) -> Value {
    let id = created["offerId"].as_str().unwrap();
    app.admin_get(&format!("/admin/v1/offers/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

async fn admin(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let r = app.admin_post(path, body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn event_types(view: &Value) -> Vec<String> {
    view["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_offer_in_deferred_mode_is_completed_by_the_operator_and_collected_once() {
    let app = issuer().await;
    let meta: Value = app
        .get("/.well-known/openid-credential-issuer")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["deferred_credential_endpoint"],
        format!("{}/deferred_credential", app.address)
    );
    let created = create(&app, &deferred_offer()).await;
    let report = claim_deferred(&created, 1).await;
    let deferred = &report["deferred"][0];
    let id = deferred["transactionId"].as_str().unwrap();
    assert_eq!(
        deferred["interval"], 5,
        "[deferred] interval_seconds: {report}"
    );
    // Still pending: 202 with the same id.
    let poll = &deferred["polls"][0];
    assert_eq!(
        (poll["status"].as_u64(), poll["sameTransactionId"].as_bool()),
        (Some(202), Some(true)),
        "{report}"
    );
    let v = view(&app, &created).await;
    assert_eq!(v["status"], "deferred", "{v}");
    assert_eq!(v["issuanceMode"], "deferred", "{v}");
    let t = &v["deferredTransactions"][0];
    assert_eq!(
        (
            t["transactionId"].as_str(),
            t["credentialConfigurationId"].as_str(),
            t["status"].as_str(),
            t["origin"].as_str()
        ),
        (Some(id), Some(BADGE), Some("pending"), Some("offer")),
        "{v}"
    );
    // The operator gives the claims.
    let claims = json!({ "given_name": "Grace", "family_name": "Hopper", "employee_id": "E-1906", "department": "Navy" });
    let (status, done) = admin(
        &app,
        &format!("/admin/v1/deferred/{id}/complete"),
        &json!({ "claims": claims }),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "ready", "{done}");
    assert!(
        !done.to_string().contains("Grace"),
        "never the claims: {done}"
    );
    // The wallet polls, gets the credential, verifies it, notifies; the id is spent.
    let later = resume(
        &report["session"],
        json!({ "polls": 1, "notify": [{ "event": "credential_accepted" }], "after": 1 }),
    )
    .await;
    let got = &later["polls"][0];
    assert_eq!(got["status"], 200, "{later}");
    let credential = &later["credentials"][0];
    assert_eq!(credential["claims"]["given_name"], "Grace", "{later}");
    assert_eq!(credential["notificationId"], got["notificationId"]);
    let notified = &later["notifications"][0];
    assert_eq!(
        (notified["ok"].as_bool(), notified["status"].as_u64()),
        (Some(true), Some(204)),
        "{later}"
    );
    let spent = &later["after"][0];
    assert_eq!(
        (spent["status"].as_u64(), spent["error"].as_str()),
        (Some(400), Some("invalid_transaction_id")),
        "{later}"
    );
    let v = view(&app, &created).await;
    assert_eq!(v["deferredTransactions"][0]["status"], "collected", "{v}");
    assert_eq!(v["status"], "consumed", "{v}");
    let issued = v["credentials"].as_array().unwrap();
    assert_eq!(issued.len(), 1, "{v}");
    assert_eq!(issued[0]["notification"]["event"], "credential_accepted");
    let events = event_types(&v);
    for kind in [
        "credential_deferred",
        "deferred_completed",
        "credential_issued",
    ] {
        assert!(events.iter().any(|e| e == kind), "{kind}: {events:?}");
    }
    assert!(!v.to_string().contains("Grace"), "never the claims: {v}");
    // Completed transactions are closed to the operator too.
    let (status, p) = admin(
        &app,
        &format!("/admin/v1/deferred/{id}/complete"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 409, "{p}");
}

#[tokio::test]
async fn a_pending_claim_source_is_asked_again_and_the_operator_resolves_it() {
    let pending = json!({ "status": "pending", "intervalSeconds": 7, "reason": "HR review" });
    let mock = Mock::start(Behaviour::Json(pending.clone()));
    let app = spawn(&mock).start().await;
    let offer = json!({
        "credentialConfigurationIds": [BADGE],
        "credentialClaims": { BADGE: { "type": "webhook", "id": "hr" } }
    });
    // Source pending at the request and at the first poll: 202 twice.
    let created = create(&app, &offer).await;
    let report = claim_deferred(&created, 1).await;
    let deferred = &report["deferred"][0];
    let id = deferred["transactionId"].as_str().unwrap();
    assert_eq!(deferred["interval"], 7, "the source's interval: {report}");
    assert_eq!(deferred["polls"][0]["status"], 202, "{report}");
    let t = &view(&app, &created).await["deferredTransactions"][0];
    assert_eq!(
        (t["status"].as_str(), t["origin"].as_str()),
        (Some("pending"), Some("source")),
        "{t}"
    );
    assert!(t["reason"].as_str().unwrap().contains("HR review"), "{t}");
    // `{}` resolves from the source: still pending is a conflict.
    let (status, p) = admin(
        &app,
        &format!("/admin/v1/deferred/{id}/complete"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 409, "{p}");
    assert_eq!(
        p["type"], "https://sigil.dev/problems/claims-pending",
        "{p}"
    );
    assert!(p["detail"].as_str().unwrap().contains("HR review"), "{p}");
    // Ready now: the operator resolves, the wallet collects.
    mock.set(Behaviour::Json(contract_claims("Resolved")));
    let (status, done) = admin(
        &app,
        &format!("/admin/v1/tenants/default/deferred/{id}/complete"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "ready", "{done}");
    let later = resume(&report["session"], json!({ "after": 1 })).await;
    assert_eq!(later["polls"][0]["status"], 200, "{later}");
    assert_eq!(
        later["credentials"][0]["claims"]["given_name"], "Resolved",
        "{later}"
    );
    assert_eq!(
        later["after"][0]["error"], "invalid_transaction_id",
        "{later}"
    );

    // Without the operator: a poll once the source is ready gets the credential.
    mock.set(Behaviour::Json(pending));
    let created = create(&app, &offer).await;
    let report = claim_deferred(&created, 1).await;
    assert_eq!(report["deferred"][0]["polls"][0]["status"], 202, "{report}");
    mock.set(Behaviour::Json(contract_claims("Polled")));
    let later = resume(&report["session"], json!({})).await;
    assert_eq!(later["polls"][0]["status"], 200, "{later}");
    assert_eq!(
        later["credentials"][0]["claims"]["given_name"], "Polled",
        "{later}"
    );
    let v = view(&app, &created).await;
    assert_eq!(v["deferredTransactions"][0]["status"], "collected", "{v}");
    assert!(
        !event_types(&v).iter().any(|e| e == "deferred_completed"),
        "the source finished it: {v}"
    );
}

#[tokio::test]
async fn a_denied_issuance_stops_the_wallet() {
    let app = issuer().await;
    let created = create(&app, &deferred_offer()).await;
    let report = claim_deferred(&created, 0).await;
    let id = report["deferred"][0]["transactionId"].as_str().unwrap();
    let deny = format!("/admin/v1/deferred/{id}/deny");
    for (body, field) in [
        (json!({}), "reason"),
        (json!({ "reason": "" }), "reason"),
        (json!({ "reason": "x".repeat(501) }), "reason"),
        (json!({ "reason": "ok", "extra": 1 }), "extra"),
    ] {
        let (status, p) = admin(&app, &deny, &body).await;
        assert_eq!(status, 400, "{body}: {p}");
        assert!(p.to_string().contains(field), "{body}: {p}");
    }
    // Another tenant's admin path does not find it; an unknown id is 404.
    let (status, _) = admin(
        &app,
        &format!("/admin/v1/tenants/acme/deferred/{id}/deny"),
        &json!({ "reason": "no" }),
    )
    .await;
    assert_eq!(status, 404);
    let (status, p) = admin(
        &app,
        "/admin/v1/deferred/unknown/deny",
        &json!({ "reason": "no" }),
    )
    .await;
    assert_eq!(status, 404, "{p}");
    assert_eq!(p["status"], 404);
    let r = app.admin_get(&deny).await;
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    let (status, done) = admin(&app, &deny, &json!({ "reason": "documents not verified" })).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (done["status"].as_str(), done["reason"].as_str()),
        (Some("denied"), Some("documents not verified"))
    );
    let later = resume(&report["session"], json!({})).await;
    let poll = &later["polls"][0];
    assert_eq!(
        (poll["status"].as_u64(), poll["error"].as_str()),
        (Some(400), Some("credential_request_denied")),
        "{later}"
    );
    assert!(
        !later.to_string().contains("documents not verified"),
        "the reason is the operator's: {later}"
    );
    let v = view(&app, &created).await;
    assert_eq!(v["deferredTransactions"][0]["status"], "denied", "{v}");
    let denied = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "issuance_denied")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(denied["detail"]["reason"], "documents not verified");
    assert_eq!(denied["detail"]["transactionId"], id);
    let (status, _) = admin(
        &app,
        &format!("/admin/v1/deferred/{id}/complete"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 409);
}

/// What the wallet library does not show: the raw HTTP of both endpoints.
#[tokio::test]
async fn the_endpoints_answer_as_the_spec_says_over_http() {
    let app = issuer().await;
    let created = create(&app, &deferred_offer()).await;
    let token = &access_token(&app, &created).await;
    let holder = Holder::new();
    let nonce = crate::credential::nonce(&app).await;
    let r = app
        .client
        .post(format!("{}/credential", app.address))
        .bearer_auth(token)
        .json(&json!({ "credential_configuration_id": BADGE,
                       "proofs": { "jwt": [holder.proof(&app.address, &nonce)] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    let mut members: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(members, ["interval", "transaction_id"], "{body}");
    let id = body["transaction_id"].as_str().unwrap();
    let poll = |path: &str, token: Option<&str>, body: Value| {
        let mut r = app
            .client
            .post(format!("{}{path}", app.address))
            .json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move {
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            let challenge = r
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, challenge, r.json::<Value>().await.unwrap())
        }
    };
    let (status, challenge, b) = poll(
        "/deferred_credential",
        Some(token),
        json!({ "transaction_id": id }),
    )
    .await;
    assert_eq!((status, &b), (202, &body), "same id and interval");
    assert!(challenge.is_none());
    let (status, challenge, b) = poll(
        "/deferred_credential",
        None,
        json!({ "transaction_id": id }),
    )
    .await;
    assert_eq!(
        (status, b["error"].as_str()),
        (401, Some("invalid_token")),
        "{b}"
    );
    assert!(challenge.unwrap().starts_with("Bearer "));
    let (status, _, b) = poll(
        "/deferred_credential",
        Some(token),
        json!({ "transaction_id": "nope" }),
    )
    .await;
    assert_eq!(
        (status, b["error"].as_str()),
        (400, Some("invalid_transaction_id")),
        "{b}"
    );
    let (status, _, b) = poll("/deferred_credential", Some(token), json!({ "id": id })).await;
    assert_eq!(
        (status, b["error"].as_str()),
        (400, Some("invalid_credential_request")),
        "{b}"
    );
    // Another tenant's endpoint knows neither.
    let (status, _, b) = poll(
        "/acme/deferred_credential",
        Some(token),
        json!({ "transaction_id": id }),
    )
    .await;
    assert_eq!(
        (status, b["error"].as_str()),
        (401, Some("invalid_token")),
        "{b}"
    );
}
