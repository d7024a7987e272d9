//! Deferred issuance (§9) on fakes: an offer's `issuanceMode: deferred` and
//! a claim source's `pending`, the operator's complete and deny, the
//! wallet's polls, and the transaction id's single use and expiry.

use serde_json::{Value, json};

use super::fakes::{Holder, NOW, World};
use crate::endpoints::credential::{
    CredentialAccess, CredentialCause, CredentialOutcome, CredentialRequest, DeferredResponse,
};
use crate::endpoints::deferred::{Completion, DeferredCause, DeferredRequest, SettleCause};
use crate::errors::{CredentialErrorCode, DeferredErrorCode as Code};
use crate::model::{DeferredOrigin, DeferredStatus, EventKind, IssuanceMode, Offer, OfferStatus};
use crate::ports::{ClaimFailure, ClaimOutcome, NoProviders, PluginFailure, PluginFault};

const WEBHOOK: &str = sigil_settings::WEBHOOK_PLUGIN;

fn deferred_badge(o: &mut Offer) {
    o.issuance_mode = IssuanceMode::Deferred;
    World::inline(o, "badge", json!({ "given_name": "Ada" }));
}

/// Make the webhook claim source answer `answer` from now on.
fn source_answers(w: &World, answer: Result<ClaimOutcome, PluginFailure>) {
    w.plugins()
        .claim_answers
        .lock()
        .unwrap()
        .insert(WEBHOOK.into(), answer);
}

fn source_pending(w: &World) {
    source_answers(
        w,
        Ok(ClaimOutcome::Pending {
            interval_seconds: 30,
            reason: "record under review".into(),
        }),
    );
}

fn source_ready(w: &World) {
    let claims = json!({ "given_name": "Grace" });
    source_answers(
        w,
        Ok(ClaimOutcome::Claims(claims.as_object().unwrap().clone())),
    );
}

/// A credential request for `configuration` with one fresh proof by `holder`.
async fn request(
    w: &World,
    token: &str,
    configuration: &str,
    holder: &Holder,
) -> Result<CredentialOutcome, CredentialCause> {
    let nonce = w.issuer.nonce(&w.tenant).c_nonce;
    let body = json!({ "credential_configuration_id": configuration, "proofs": { "jwt": [holder.proof(&nonce, NOW)] } });
    w.issuer
        .credential(
            &w.tenant,
            Some(&format!("Bearer {token}")),
            CredentialRequest::from_json(body.to_string().as_bytes()),
        )
        .await
}

/// A credential request that must be deferred: its 202.
async fn deferred(w: &World, token: &str, configuration: &str) -> DeferredResponse {
    match request(w, token, configuration, &Holder::new())
        .await
        .unwrap()
    {
        CredentialOutcome::Deferred(d) => d,
        CredentialOutcome::Issued(_) => panic!("issued, not deferred"),
    }
}

async fn poll_body(
    w: &World,
    token: &str,
    body: Result<DeferredRequest, DeferredCause>,
) -> Result<CredentialOutcome, DeferredCause> {
    let authorization = format!("Bearer {token}");
    let access = CredentialAccess {
        authorization: Some(&authorization),
        dpop: &[],
        url: "https://issuer.example/deferred_credential",
    };
    w.issuer
        .deferred_credential(&w.tenant, access, body, &NoProviders)
        .await
}

async fn poll(w: &World, token: &str, id: &str) -> Result<CredentialOutcome, DeferredCause> {
    let body = json!({ "transaction_id": id }).to_string();
    poll_body(
        w,
        token,
        DeferredRequest::from_body(Some("application/json"), body.as_bytes()),
    )
    .await
}

fn status_of(w: &World, id: &str) -> DeferredStatus {
    w.store().deferred.lock().unwrap()[id].status
}

fn events_of(w: &World, kind: EventKind) -> Vec<Value> {
    w.store()
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.detail.clone())
        .collect()
}

#[tokio::test]
async fn an_offer_in_deferred_mode_waits_for_the_operator_then_issues_once() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], deferred_badge).await;
    let d = deferred(&w, &token, "badge").await;
    assert_eq!(d.interval, 5, "[deferred] interval_seconds");
    assert_eq!(w.store().status("o1"), OfferStatus::Deferred);
    assert!(
        w.plugins().claim_calls.lock().unwrap().is_empty(),
        "no claims asked before the operator completes"
    );
    // Pending: 202 with the same id, as often as the wallet asks.
    for _ in 0..2 {
        let again = poll(&w, &token, &d.transaction_id).await.unwrap();
        assert_eq!(again, CredentialOutcome::Deferred(d.clone()));
    }
    let completed = w
        .issuer
        .complete_deferred(
            &w.tenant,
            &d.transaction_id,
            Completion::Claims(
                json!({ "given_name": "Operator" })
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(completed.status, DeferredStatus::Ready);
    assert_eq!(completed.claims, None, "the admin answer carries no claims");
    let detail = &events_of(&w, EventKind::DeferredCompleted)[0];
    assert_eq!(
        (
            &detail["transactionId"],
            &detail["credentialConfigurationId"],
            &detail["claimsFrom"]
        ),
        (&json!(d.transaction_id), &json!("badge"), &json!("claims"))
    );
    assert!(
        !detail.to_string().contains("Operator"),
        "no claim values in events"
    );
    let issued = poll(&w, &token, &d.transaction_id)
        .await
        .unwrap()
        .into_issued()
        .expect("the credential");
    assert_eq!(issued.credentials.len(), 1);
    assert!(!issued.notification_id.is_empty());
    let (_, input) = w.plugins().issued.lock().unwrap().last().cloned().unwrap();
    assert_eq!(input.claims["given_name"], "Operator");
    assert_eq!(status_of(&w, &d.transaction_id), DeferredStatus::Collected);
    assert_eq!(
        w.store().deferred.lock().unwrap()[&d.transaction_id].claims,
        None,
        "claims are cleared once collected"
    );
    assert_eq!(w.store().status("o1"), OfferStatus::Consumed);
    let credentials = w.store().credentials.lock().unwrap().clone();
    assert_eq!(credentials.len(), 1);
    assert_eq!(credentials[0].notification_id, issued.notification_id);
    assert_eq!(
        events_of(&w, EventKind::CredentialIssued)[0]["transactionId"],
        json!(d.transaction_id)
    );
    // Single use.
    let e = poll(&w, &token, &d.transaction_id).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidTransactionId);
    assert_eq!(e.code().status(), 400);
    // And no more completing it.
    let e = w
        .issuer
        .complete_deferred(&w.tenant, &d.transaction_id, Completion::Resolve)
        .await
        .unwrap_err();
    assert!(
        matches!(e, SettleCause::Closed(DeferredStatus::Collected)),
        "{e:?}"
    );
}

#[tokio::test]
async fn complete_with_resolve_asks_the_offer_source_now() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], deferred_badge).await;
    let d = deferred(&w, &token, "badge").await;
    w.issuer
        .complete_deferred(&w.tenant, &d.transaction_id, Completion::Resolve)
        .await
        .unwrap();
    assert_eq!(w.plugins().claim_calls.lock().unwrap().len(), 1);
    assert_eq!(
        events_of(&w, EventKind::DeferredCompleted)[0]["claimsFrom"],
        "source"
    );
    // The access token expired meanwhile: the one live when the
    // transaction was created still collects it.
    w.advance(301);
    let issued = poll(&w, &token, &d.transaction_id)
        .await
        .unwrap()
        .into_issued()
        .unwrap();
    assert_eq!(issued.credentials.len(), 1);
    let (_, input) = w.plugins().issued.lock().unwrap().last().cloned().unwrap();
    assert_eq!(input.claims["given_name"], "Ada");
    // The expired token does nothing else.
    let e = request(&w, &token, "badge", &Holder::new())
        .await
        .unwrap_err();
    assert_eq!(e.code(), CredentialErrorCode::InvalidToken);
}

#[tokio::test]
async fn a_pending_source_is_asked_again_on_each_poll() {
    let w = World::new();
    source_pending(&w);
    let token = w.token_for("o1", &["hook_badge"], |_| {}).await;
    let d = deferred(&w, &token, "hook_badge").await;
    assert_eq!(d.interval, 30, "the source's interval");
    {
        let all = w.store().deferred.lock().unwrap();
        let t = &all[&d.transaction_id];
        assert_eq!(t.origin, DeferredOrigin::Source);
        assert_eq!(t.reason.as_deref(), Some("record under review"));
        assert_eq!(t.holder_keys.len(), 1);
    }
    let again = poll(&w, &token, &d.transaction_id).await.unwrap();
    assert_eq!(again, CredentialOutcome::Deferred(d.clone()));
    assert_eq!(w.plugins().claim_calls.lock().unwrap().len(), 2);
    // The operator cannot resolve it either while the source is pending.
    let e = w
        .issuer
        .complete_deferred(&w.tenant, &d.transaction_id, Completion::Resolve)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SettleCause::SourcePending(r) if r == "record under review"),
        "{e:?}"
    );
    source_ready(&w);
    let issued = poll(&w, &token, &d.transaction_id)
        .await
        .unwrap()
        .into_issued()
        .unwrap();
    assert_eq!(issued.credentials.len(), 1);
    let (_, input) = w.plugins().issued.lock().unwrap().last().cloned().unwrap();
    assert_eq!(input.claims["given_name"], "Grace");
    assert_eq!(status_of(&w, &d.transaction_id), DeferredStatus::Collected);
    let e = poll(&w, &token, &d.transaction_id).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidTransactionId);
}

#[tokio::test]
async fn a_source_that_refuses_on_a_poll_denies_the_transaction() {
    let w = World::new();
    source_pending(&w);
    let token = w.token_for("o1", &["hook_badge"], |_| {}).await;
    let d = deferred(&w, &token, "hook_badge").await;
    source_answers(
        &w,
        Err(PluginFailure {
            plugin: WEBHOOK.into(),
            fault: PluginFault::Claim(ClaimFailure::Denied("employee has left".into())),
            message: "claims-webhook: denied: employee has left".into(),
        }),
    );
    let e = poll(&w, &token, &d.transaction_id).await.unwrap_err();
    assert_eq!(
        e.code(),
        Code::Credential(CredentialErrorCode::CredentialRequestDenied)
    );
    assert_eq!(status_of(&w, &d.transaction_id), DeferredStatus::Denied);
    let detail = &events_of(&w, EventKind::IssuanceDenied)[0];
    assert!(
        detail["reason"]
            .as_str()
            .unwrap()
            .contains("employee has left")
    );
    // Later polls do not ask the source again.
    let calls = w.plugins().claim_calls.lock().unwrap().len();
    let e = poll(&w, &token, &d.transaction_id).await.unwrap_err();
    assert!(matches!(e, DeferredCause::Denied));
    assert_eq!(w.plugins().claim_calls.lock().unwrap().len(), calls);
}

#[tokio::test]
async fn a_denied_transaction_tells_the_wallet_to_stop() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], deferred_badge).await;
    let d = deferred(&w, &token, "badge").await;
    for bad in ["", "   ", &"x".repeat(501)] {
        let e = w
            .issuer
            .deny_deferred(&w.tenant, &d.transaction_id, bad)
            .await
            .unwrap_err();
        assert!(matches!(e, SettleCause::Reason), "{bad:?}: {e:?}");
    }
    let t = w
        .issuer
        .deny_deferred(&w.tenant, &d.transaction_id, "documents not verified")
        .await
        .unwrap();
    assert_eq!(
        (t.status, t.reason.as_deref()),
        (DeferredStatus::Denied, Some("documents not verified"))
    );
    let detail = &events_of(&w, EventKind::IssuanceDenied)[0];
    assert_eq!(
        (&detail["transactionId"], &detail["reason"]),
        (&json!(d.transaction_id), &json!("documents not verified"))
    );
    let e = poll(&w, &token, &d.transaction_id).await.unwrap_err();
    assert_eq!(
        e.code(),
        Code::Credential(CredentialErrorCode::CredentialRequestDenied)
    );
    assert!(
        !e.description().contains("documents"),
        "the operator's reason stays with the operator"
    );
    // Denied is final.
    let e = w
        .issuer
        .complete_deferred(&w.tenant, &d.transaction_id, Completion::Resolve)
        .await
        .unwrap_err();
    assert!(
        matches!(e, SettleCause::Closed(DeferredStatus::Denied)),
        "{e:?}"
    );
    let e = w
        .issuer
        .deny_deferred(&w.tenant, &d.transaction_id, "again")
        .await
        .unwrap_err();
    assert!(matches!(e, SettleCause::Closed(DeferredStatus::Denied)));
}

#[tokio::test]
async fn the_transaction_belongs_to_its_offer_and_tenant() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], deferred_badge).await;
    let other = w.token_for("o2", &["badge"], deferred_badge).await;
    let d = deferred(&w, &token, "badge").await;
    w.issuer
        .complete_deferred(&w.tenant, &d.transaction_id, Completion::Resolve)
        .await
        .unwrap();
    // Another offer's token, live or expired.
    let e = poll(&w, &other, &d.transaction_id).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidTransactionId);
    w.advance(301);
    let e = poll(&w, &other, &d.transaction_id).await.unwrap_err();
    assert_eq!(
        e.code(),
        Code::Credential(CredentialErrorCode::InvalidToken),
        "an expired token only counts for its own offer's transactions"
    );
    // An unknown id with an expired token: the token is unknown.
    let e = poll(&w, &token, "nope").await.unwrap_err();
    assert_eq!(
        e.code(),
        Code::Credential(CredentialErrorCode::InvalidToken)
    );
    // Another tenant knows neither the token nor the transaction.
    let authorization = format!("Bearer {token}");
    let access = CredentialAccess {
        authorization: Some(&authorization),
        dpop: &[],
        url: "https://issuer.example/acme/deferred_credential",
    };
    let body = json!({ "transaction_id": d.transaction_id }).to_string();
    let e = w
        .issuer
        .deferred_credential(
            &w.acme,
            access,
            DeferredRequest::from_json(body.as_bytes()),
            &NoProviders,
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Code::Credential(CredentialErrorCode::InvalidToken)
    );
    let e = w
        .issuer
        .complete_deferred(&w.acme, &d.transaction_id, Completion::Resolve)
        .await
        .unwrap_err();
    assert!(matches!(e, SettleCause::Unknown), "{e:?}");
    // Its own token still collects it.
    assert!(
        poll(&w, &token, &d.transaction_id)
            .await
            .unwrap()
            .into_issued()
            .is_some()
    );
}

#[tokio::test]
async fn a_live_token_of_another_offer_gets_invalid_transaction_id() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], deferred_badge).await;
    let d = deferred(&w, &token, "badge").await;
    w.advance(200);
    let other = w.token_for("o2", &["badge"], deferred_badge).await;
    w.advance(200);
    // `token` expired, `other` is live: another offer's.
    let e = poll(&w, &other, &d.transaction_id).await.unwrap_err();
    assert!(matches!(e, DeferredCause::UnknownTransaction), "{e:?}");
    let e = poll(&w, &other, "unknown").await.unwrap_err();
    assert!(matches!(e, DeferredCause::UnknownTransaction), "{e:?}");
}

#[tokio::test]
async fn transactions_expire() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], deferred_badge).await;
    let d = deferred(&w, &token, "badge").await;
    w.advance(604_800);
    let e = poll(&w, &token, &d.transaction_id).await.unwrap_err();
    assert!(matches!(e, DeferredCause::Expired), "{e:?}");
    assert_eq!(e.code(), Code::InvalidTransactionId);
    let e = w
        .issuer
        .complete_deferred(&w.tenant, &d.transaction_id, Completion::Resolve)
        .await
        .unwrap_err();
    assert!(matches!(e, SettleCause::Expired), "{e:?}");
    let e = w
        .issuer
        .deny_deferred(&w.tenant, &d.transaction_id, "late")
        .await
        .unwrap_err();
    assert!(matches!(e, SettleCause::Expired), "{e:?}");
}

#[tokio::test]
async fn the_proofs_are_spent_at_deferral() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], deferred_badge).await;
    let holder = Holder::new();
    let nonce = w.issuer.nonce(&w.tenant).c_nonce;
    let body = json!({ "credential_configuration_id": "badge", "proofs": { "jwt": [holder.proof(&nonce, NOW)] } });
    let authorization = format!("Bearer {token}");
    let send = || {
        w.issuer.credential(
            &w.tenant,
            Some(&authorization),
            CredentialRequest::from_json(body.to_string().as_bytes()),
        )
    };
    let CredentialOutcome::Deferred(d) = send().await.unwrap() else {
        panic!("deferred")
    };
    let e = send().await.unwrap_err();
    assert_eq!(e.code(), CredentialErrorCode::InvalidNonce);
    assert_eq!(w.store().deferred.lock().unwrap().len(), 1);
    // The kept key is the one proven.
    let t = w.store().deferred.lock().unwrap()[&d.transaction_id].clone();
    assert_eq!(t.holder_keys, vec![holder.jwk.clone()]);
    w.issuer
        .complete_deferred(&w.tenant, &d.transaction_id, Completion::Resolve)
        .await
        .unwrap();
    poll(&w, &token, &d.transaction_id).await.unwrap();
    let (_, input) = w.plugins().issued.lock().unwrap().last().cloned().unwrap();
    assert_eq!(input.slots[0].holder_key, Some(holder.jwk));
}

#[tokio::test]
async fn request_errors_use_the_spec_codes() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], deferred_badge).await;
    let d = deferred(&w, &token, "badge").await;
    let invalid = Code::Credential(CredentialErrorCode::InvalidCredentialRequest);
    let cases: Vec<(Option<&str>, String, Code)> = vec![
        (
            Some("text/plain"),
            json!({ "transaction_id": d.transaction_id }).to_string(),
            invalid,
        ),
        (
            None,
            json!({ "transaction_id": d.transaction_id }).to_string(),
            invalid,
        ),
        (Some("application/json"), "{".into(), invalid),
        (Some("application/json"), json!({}).to_string(), invalid),
        (
            Some("application/json"),
            json!({ "transaction_id": 7 }).to_string(),
            invalid,
        ),
        (
            Some("application/json"),
            format!(
                r#"{{"transaction_id":"{0}","transaction_id":"{0}"}}"#,
                d.transaction_id
            ),
            invalid,
        ),
        (
            Some("application/json"),
            json!({ "transaction_id": d.transaction_id, "credential_response_encryption": {} })
                .to_string(),
            Code::Credential(CredentialErrorCode::InvalidEncryptionParameters),
        ),
        (
            Some("application/json"),
            json!({ "transaction_id": "" }).to_string(),
            Code::InvalidTransactionId,
        ),
        (
            Some("application/json"),
            json!({ "transaction_id": "x".repeat(500) }).to_string(),
            Code::InvalidTransactionId,
        ),
    ];
    for (content_type, body, code) in cases {
        let e = poll_body(
            &w,
            &token,
            DeferredRequest::from_body(content_type, body.as_bytes()),
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), code, "{content_type:?} {body}");
        assert!(!e.description().is_empty());
    }
    // Unknown members are ignored.
    let body = json!({ "transaction_id": d.transaction_id, "extra": [1] }).to_string();
    let r = poll_body(
        &w,
        &token,
        DeferredRequest::from_body(Some("application/json; charset=utf-8"), body.as_bytes()),
    )
    .await
    .unwrap();
    assert_eq!(r, CredentialOutcome::Deferred(d.clone()));
    // The token is checked before the body.
    let e = w
        .issuer
        .deferred_credential(
            &w.tenant,
            CredentialAccess {
                authorization: None,
                dpop: &[],
                url: "https://issuer.example/deferred_credential",
            },
            DeferredRequest::from_json(b"{"),
            &NoProviders,
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Code::Credential(CredentialErrorCode::InvalidToken)
    );
    assert_eq!(e.code().status(), 401);
}

#[tokio::test]
async fn ready_claims_can_be_replaced_until_collected() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], deferred_badge).await;
    let d = deferred(&w, &token, "badge").await;
    for name in ["First", "Second"] {
        w.issuer
            .complete_deferred(
                &w.tenant,
                &d.transaction_id,
                Completion::Claims(json!({ "given_name": name }).as_object().unwrap().clone()),
            )
            .await
            .unwrap();
    }
    poll(&w, &token, &d.transaction_id).await.unwrap();
    let (_, input) = w.plugins().issued.lock().unwrap().last().cloned().unwrap();
    assert_eq!(input.claims["given_name"], "Second");
    assert_eq!(events_of(&w, EventKind::DeferredCompleted).len(), 2);
}

#[tokio::test]
async fn a_revoked_offer_cannot_be_completed_or_collected() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], deferred_badge).await;
    let d = deferred(&w, &token, "badge").await;
    w.store()
        .offers
        .lock()
        .unwrap()
        .get_mut("o1")
        .unwrap()
        .progress
        .status = OfferStatus::Revoked;
    let e = w
        .issuer
        .complete_deferred(&w.tenant, &d.transaction_id, Completion::Resolve)
        .await
        .unwrap_err();
    assert!(matches!(e, SettleCause::OfferRevoked), "{e:?}");
    let e = poll(&w, &token, &d.transaction_id).await.unwrap_err();
    assert_eq!(
        e.code(),
        Code::Credential(CredentialErrorCode::InvalidToken)
    );
}

#[tokio::test]
async fn store_failures_are_server_errors_and_change_nothing() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], deferred_badge).await;
    let d = deferred(&w, &token, "badge").await;
    w.store()
        .broken
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let e = poll(&w, &token, &d.transaction_id).await.unwrap_err();
    assert_eq!(e.code(), Code::Credential(CredentialErrorCode::ServerError));
    let e = w
        .issuer
        .deny_deferred(&w.tenant, &d.transaction_id, "no")
        .await
        .unwrap_err();
    assert!(matches!(e, SettleCause::Store(_)), "{e:?}");
    w.store()
        .broken
        .store(false, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(status_of(&w, &d.transaction_id), DeferredStatus::Pending);
}

#[tokio::test]
async fn any_live_token_of_the_offer_polls_but_only_one_live_at_creation_once_expired() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], deferred_badge).await;
    let d = deferred(&w, &token, "badge").await;
    // A second token of the same offer (as a refresh gives), issued after
    // the transaction, living 20 seconds.
    let grant = w.store().tokens.lock().unwrap()[&crate::secrets::hash(&token)].clone();
    let later = crate::model::AccessToken {
        token_hash: crate::secrets::hash("later"),
        created_at: NOW + 10,
        expires_at: NOW + 30,
        ..grant
    };
    w.store()
        .tokens
        .lock()
        .unwrap()
        .insert(later.token_hash.clone(), later);
    w.advance(20);
    let r = poll(&w, "later", &d.transaction_id).await.unwrap();
    assert_eq!(r, CredentialOutcome::Deferred(d.clone()), "live: accepted");
    w.advance(20);
    let e = poll(&w, "later", &d.transaction_id).await.unwrap_err();
    assert_eq!(
        e.code(),
        Code::Credential(CredentialErrorCode::InvalidToken),
        "expired, and not live when the transaction was created"
    );
}
