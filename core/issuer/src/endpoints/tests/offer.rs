//! The offer by reference and the nonce endpoint.

use std::sync::atomic::Ordering;

use super::fakes::{ISSUER, NOW, World};
use crate::endpoints::offer::OfferCause;
use crate::model::{EventKind, OfferStatus};
use crate::offer::PRE_AUTHORIZED_GRANT;

#[tokio::test]
async fn the_first_fetch_resolves_the_offer() {
    let w = World::new();
    let code = w.offer("o1", &["badge"], |o| {
        World::with_tx_code(o, &w.issuer.pre_authorized_code("o1"), "1234")
    });
    let body = w.issuer.credential_offer(&w.tenant, "o1").await.unwrap();
    assert_eq!(body["credential_issuer"], ISSUER);
    assert_eq!(body["credential_configuration_ids"][0], "badge");
    let grant = &body["grants"][PRE_AUTHORIZED_GRANT];
    assert_eq!(grant["pre-authorized_code"], code.as_str());
    assert_eq!(grant["tx_code"]["input_mode"], "numeric");
    assert_eq!(w.store().status("o1"), OfferStatus::Resolved);
    // A second fetch serves it again and records nothing more.
    assert_eq!(
        w.issuer.credential_offer(&w.tenant, "o1").await.unwrap(),
        body
    );
    assert_eq!(w.store().event_kinds(), [EventKind::OfferResolved]);
}

#[tokio::test]
async fn used_revoked_unknown_and_foreign_offers_are_not_found() {
    let w = World::new();
    w.offer("used", &["badge"], |o| {
        o.progress.status = OfferStatus::TokenIssued
    });
    w.offer("revoked", &["badge"], |o| {
        o.progress.status = OfferStatus::Revoked
    });
    w.offer("expired", &["badge"], |o| {
        o.progress.status = OfferStatus::Expired
    });
    for (tenant, id) in [
        (&w.tenant, "used"),
        (&w.tenant, "revoked"),
        (&w.tenant, "expired"),
        (&w.tenant, "nope"),
        (&w.acme, "used"),
    ] {
        let e = w.issuer.credential_offer(tenant, id).await.unwrap_err();
        assert!(matches!(e, OfferCause::NotFound), "{id}");
        assert_eq!((e.status(), e.error()), (404, "not_found"));
    }
    w.store().broken.store(true, Ordering::Relaxed);
    let e = w
        .issuer
        .credential_offer(&w.tenant, "used")
        .await
        .unwrap_err();
    assert_eq!((e.status(), e.error()), (500, "server_error"));
}

#[tokio::test]
async fn ids_no_offer_can_have_are_not_looked_up() {
    let w = World::new();
    // A broken store answers 500 to any lookup: these must not reach it.
    w.store().broken.store(true, Ordering::Relaxed);
    let long = "a".repeat(65);
    for id in ["", "o\u{0}1", "o 1", "é", long.as_str()] {
        let e = w.issuer.credential_offer(&w.tenant, id).await.unwrap_err();
        assert!(matches!(e, OfferCause::NotFound), "{id:?}");
    }
}

#[test]
fn nonces_are_fresh_and_bound_to_their_tenant() {
    let w = World::new();
    let a = w.issuer.nonce(&w.tenant).c_nonce;
    assert_ne!(a, w.issuer.nonce(&w.tenant).c_nonce);
    assert_eq!(
        w.issuer.nonce_key.check("default", &a, NOW),
        Some(NOW + 300)
    );
    assert_eq!(w.issuer.nonce_key.check("acme", &a, NOW), None);
}
