//! The token endpoint: every error code, and what each refusal leaves behind.

use std::sync::atomic::Ordering;

use super::fakes::{NOW, World};
use crate::endpoints::token::{TokenCause, TokenRequest};
use crate::errors::TokenErrorCode as Code;
use crate::model::{EventKind, OfferStatus};
use crate::offer::PRE_AUTHORIZED_GRANT;

const FORM: Option<&str> = Some("application/x-www-form-urlencoded; charset=UTF-8");

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(pairs).unwrap().into_bytes()
}

fn grant(code: &str, tx: Option<&str>) -> TokenRequest {
    TokenRequest {
        grant_type: PRE_AUTHORIZED_GRANT.into(),
        pre_authorized_code: Some(code.to_owned()),
        tx_code: tx.map(str::to_owned),
        ..Default::default()
    }
}

fn parse_error(content_type: Option<&str>, body: &[u8]) -> TokenCause {
    TokenRequest::from_form(content_type, body).unwrap_err()
}

#[test]
fn the_form_is_parsed_once_with_rfc_6749_rules() {
    let ok = TokenRequest::from_form(
        FORM,
        &form(&[
            ("grant_type", PRE_AUTHORIZED_GRANT),
            ("pre-authorized_code", "c"),
            ("tx_code", "1234"),
            ("extra", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(
        ok,
        grant("c", Some("1234")),
        "unknown parameters are ignored"
    );
    let cases = [
        (
            parse_error(Some("application/json"), b"{}"),
            "application/x-www-form-urlencoded",
        ),
        (
            parse_error(None, b"grant_type=x"),
            "application/x-www-form-urlencoded",
        ),
        (
            parse_error(FORM, &form(&[("grant_type", "a"), ("grant_type", "b")])),
            "grant_type is repeated",
        ),
        (
            parse_error(FORM, &form(&[("pre-authorized_code", "c")])),
            "grant_type is missing",
        ),
    ];
    for (cause, text) in cases {
        assert_eq!(cause.code(), Code::InvalidRequest, "{cause:?}");
        assert_eq!(cause.code().status(), 400);
        assert!(
            cause.description().contains(text),
            "{}",
            cause.description()
        );
    }
}

#[tokio::test]
async fn a_code_buys_one_token_and_its_event() {
    let w = World::new();
    let code = w.offer("o1", &["badge"], |_| {});
    let r = w
        .issuer
        .token(&w.tenant, &grant(&code, None))
        .await
        .unwrap();
    assert_eq!((r.token_type, r.expires_in), ("Bearer", 300));
    assert_eq!(r.access_token.len(), 43);
    assert_eq!(w.store().status("o1"), OfferStatus::TokenIssued);
    assert_eq!(w.store().event_kinds(), [EventKind::TokenIssued]);
    let again = w
        .issuer
        .token(&w.tenant, &grant(&code, None))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::InvalidGrant);
    assert_eq!(
        again.description(),
        "the pre-authorized code was already used"
    );
}

#[tokio::test]
async fn grant_and_code_errors() {
    let w = World::new();
    let mut other = grant("c", None);
    other.grant_type = "client_credentials".into();
    let e = w.issuer.token(&w.tenant, &other).await.unwrap_err();
    assert_eq!(e.code(), Code::UnsupportedGrantType);
    assert_eq!(e.code().status(), 400);
    assert!(e.description().contains(PRE_AUTHORIZED_GRANT));
    assert!(e.description().contains("authorization_code"));
    // The code grant needs its parameters.
    other.grant_type = "authorization_code".into();
    let e = w.issuer.token(&w.tenant, &other).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidRequest);
    assert_eq!(e.description(), "code is missing or malformed");
    for missing in [None, Some(String::new())] {
        let mut r = grant("c", None);
        r.pre_authorized_code = missing;
        let e = w.issuer.token(&w.tenant, &r).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidRequest);
        assert_eq!(e.description(), "pre-authorized_code is missing");
    }
    let e = w
        .issuer
        .token(&w.tenant, &grant("never-issued", None))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.description().as_str()),
        (Code::InvalidGrant, "the pre-authorized code is unknown")
    );
    // A code is only good at its own tenant.
    let code = w.offer("o1", &["badge"], |_| {});
    let e = w
        .issuer
        .token(&w.acme, &grant(&code, None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidGrant);
}

#[tokio::test]
async fn expired_and_revoked_offers_are_invalid_grants() {
    let w = World::new();
    let expired = w.offer("old", &["badge"], |o| o.expires_at = Some(NOW - 1));
    let revoked = w.offer("gone", &["badge"], |o| {
        o.progress.status = OfferStatus::Revoked
    });
    for (code, text) in [(expired, "has expired"), (revoked, "was revoked")] {
        let e = w
            .issuer
            .token(&w.tenant, &grant(&code, None))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidGrant);
        assert!(e.description().contains(text), "{}", e.description());
    }
}

#[tokio::test]
async fn transaction_codes() {
    let w = World::new();
    let code = w.offer("o1", &["badge"], |o| {
        World::with_tx_code(o, &w.issuer.pre_authorized_code("o1"), "4711")
    });
    let e = w
        .issuer
        .token(&w.tenant, &grant(&code, None))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.description().as_str()),
        (Code::InvalidRequest, "this offer requires a tx_code")
    );
    for left in [2, 1] {
        let e = w
            .issuer
            .token(&w.tenant, &grant(&code, Some("0000")))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidGrant);
        assert_eq!(
            e.description(),
            format!("the tx_code is wrong; {left} attempts left")
        );
    }
    let e = w
        .issuer
        .token(&w.tenant, &grant(&code, Some("0000")))
        .await
        .unwrap_err();
    assert_eq!(e.description(), "the tx_code is wrong; 0 attempts left");
    let e = w
        .issuer
        .token(&w.tenant, &grant(&code, Some("4711")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidGrant, "the right code is too late");
    assert!(e.description().contains("too many wrong transaction codes"));
    assert_eq!(w.store().status("o1"), OfferStatus::Invalidated);

    let plain = w.offer("o2", &["badge"], |_| {});
    let e = w
        .issuer
        .token(&w.tenant, &grant(&plain, Some("1234")))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.description().as_str()),
        (
            Code::InvalidRequest,
            "this offer has no tx_code; do not send one"
        )
    );
    let good = w.offer("o3", &["badge"], |o| {
        World::with_tx_code(o, &w.issuer.pre_authorized_code("o3"), "4711")
    });
    assert!(
        w.issuer
            .token(&w.tenant, &grant(&good, Some("4711")))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_store_failure_is_a_server_error_and_spends_nothing() {
    let w = World::new();
    let code = w.offer("o1", &["badge"], |_| {});
    w.store().broken.store(true, Ordering::Relaxed);
    let e = w
        .issuer
        .token(&w.tenant, &grant(&code, None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ServerError);
    assert_eq!(e.code().status(), 500);
    w.store().broken.store(false, Ordering::Relaxed);
    assert!(w.issuer.token(&w.tenant, &grant(&code, None)).await.is_ok());
}

/// The `data` of every `token_refused` event, checked for its offer and
/// for the secrets it must never hold.
fn refusals(w: &World, offer: &str, secrets: &[&str]) -> Vec<serde_json::Value> {
    let events = super::fakes::lock(&w.store().events).clone();
    events
        .into_iter()
        .filter(|e| e.kind == EventKind::TokenRefused)
        .map(|e| {
            assert_eq!((e.tenant.as_str(), e.offer_id.as_str()), ("default", offer));
            let text = e.detail.to_string();
            for secret in secrets {
                assert!(!text.contains(secret), "{text} holds {secret}");
            }
            e.detail
        })
        .collect()
}

fn refused(error: &str, reason: &str) -> serde_json::Value {
    serde_json::json!({ "error": error, "reason": reason, "grantType": PRE_AUTHORIZED_GRANT })
}

#[tokio::test]
async fn each_refusal_of_a_code_with_an_offer_is_recorded_on_it() {
    let w = World::new();
    let code = w.offer("o1", &["badge"], |o| {
        World::with_tx_code(o, &w.issuer.pre_authorized_code("o1"), "4711")
    });
    let secrets = [code.as_str(), "4711", "0000"];
    let token = |tx: Option<&'static str>| {
        let r = grant(&code, tx);
        let w = &w;
        async move { w.issuer.token(&w.tenant, &r).await.unwrap_err() }
    };
    token(None).await;
    for _ in 0..3 {
        token(Some("0000")).await;
    }
    token(Some("4711")).await;
    let wrong = |left: u32| {
        let mut d = refused("invalid_grant", "tx_code_mismatch");
        d["attemptsLeft"] = left.into();
        d
    };
    assert_eq!(
        refusals(&w, "o1", &secrets),
        [
            refused("invalid_request", "tx_code_missing"),
            wrong(2),
            wrong(1),
            wrong(0),
            refused("invalid_grant", "attempts_exhausted"),
        ]
    );
    assert_eq!(w.store().status("o1"), OfferStatus::Invalidated);
}

#[tokio::test]
async fn refusals_name_the_offer_state_that_caused_them() {
    type Edit = fn(&mut crate::model::Offer);
    let cases: [(&str, Edit, Option<&str>, serde_json::Value); 3] = [
        (
            "old",
            |o| o.expires_at = Some(NOW - 1),
            None,
            refused("invalid_grant", "offer_expired"),
        ),
        (
            "gone",
            |o| o.progress.status = OfferStatus::Revoked,
            None,
            refused("invalid_grant", "offer_revoked"),
        ),
        (
            "plain",
            |_| {},
            Some("1234"),
            refused("invalid_request", "tx_code_unexpected"),
        ),
    ];
    for (id, edit, tx, want) in cases {
        let w = World::new();
        let code = w.offer(id, &["badge"], edit);
        let e = w
            .issuer
            .token(&w.tenant, &grant(&code, tx))
            .await
            .unwrap_err();
        assert_eq!(refusals(&w, id, &[&code]), [want], "{e:?}");
    }
    // A code redeemed before.
    let w = World::new();
    let code = w.offer("o1", &["badge"], |_| {});
    w.issuer
        .token(&w.tenant, &grant(&code, None))
        .await
        .unwrap();
    w.issuer
        .token(&w.tenant, &grant(&code, None))
        .await
        .unwrap_err();
    assert_eq!(
        refusals(&w, "o1", &[&code]),
        [refused("invalid_grant", "code_redeemed")]
    );
}

#[tokio::test]
async fn a_code_without_an_offer_or_a_failed_store_records_nothing() {
    let w = World::new();
    let code = w.offer("o1", &["badge"], |_| {});
    let e = w
        .issuer
        .token(&w.tenant, &grant("never-issued", None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidGrant);
    // The right code at another tenant names no offer there.
    w.issuer
        .token(&w.acme, &grant(&code, None))
        .await
        .unwrap_err();
    w.store().broken.store(true, Ordering::Relaxed);
    let e = w
        .issuer
        .token(&w.tenant, &grant(&code, None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ServerError);
    w.store().broken.store(false, Ordering::Relaxed);
    assert!(w.store().event_kinds().is_empty());
}
