//! The push rules against a fake wallet host.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::json;
use sigil_settings::OfferPushSettings;

use super::*;
use crate::model::{
    Flow, IssuanceMode, OfferProgress, OfferScheme, RuntimeOverrides, TxCode, TxInputMode,
    ValueMode,
};
use crate::offer::offer_links;

const ISSUER: &str = "https://issuer.example";
const NOW: i64 = 1_800_000_000;
const CODE: &str = "pre-authorized-code-secret";

/// A wallet host: answers by URL (without query), records every call.
#[derive(Default)]
struct FakeWallet {
    /// `deliver` answers by endpoint; missing: unreachable.
    endpoints: BTreeMap<String, Result<u16, HttpFailure>>,
    /// `fetch` answers by URL; missing: unreachable.
    documents: BTreeMap<String, (u16, Vec<u8>)>,
    delivered: Mutex<Vec<String>>,
    fetched: Mutex<Vec<String>>,
}

impl FakeWallet {
    fn endpoint(mut self, url: &str, answer: Result<u16, HttpFailure>) -> Self {
        self.endpoints.insert(url.to_owned(), answer);
        self
    }

    fn document(mut self, url: &str, status: u16, body: &str) -> Self {
        self.documents
            .insert(url.to_owned(), (status, body.as_bytes().to_vec()));
        self
    }

    fn delivered(&self) -> Vec<String> {
        self.delivered.lock().unwrap().clone()
    }

    fn fetched(&self) -> Vec<String> {
        self.fetched.lock().unwrap().clone()
    }
}

impl WalletHttp for FakeWallet {
    async fn deliver(&self, url: &Url) -> Result<u16, HttpFailure> {
        self.delivered.lock().unwrap().push(url.to_string());
        self.endpoints
            .get(&without_query(url))
            .cloned()
            .unwrap_or_else(|| Err(HttpFailure("connection refused".into())))
    }

    async fn fetch(&self, url: &Url) -> Result<(u16, Vec<u8>), HttpFailure> {
        self.fetched.lock().unwrap().push(url.to_string());
        self.documents
            .get(url.as_str())
            .cloned()
            .ok_or_else(|| HttpFailure("connection refused".into()))
    }
}

fn rules(origins: &[&str]) -> OfferPushSettings {
    OfferPushSettings {
        allowed_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
    }
}

fn allowed() -> OfferPushSettings {
    rules(&["https://wallet.example", "https://meta.example"])
}

fn offer(value_mode: ValueMode) -> Offer {
    Offer {
        id: "0f8e2c1a-5b7d-4e7c-9a51-2f3d8c6b9e10".into(),
        tenant: "default".into(),
        credential_configuration_ids: vec!["employee_badge_sd_jwt".into()],
        flow: Flow::PreAuthorizedCode,
        value_mode,
        scheme: OfferScheme::OpenidCredentialOffer,
        pre_authorized_code_hash: Some("hash".into()),
        tx_code_hash: Some("hash".into()),
        tx_code: Some(TxCode {
            input_mode: TxInputMode::Numeric,
            length: Some(6),
            description: Some("PIN from the e-mail".into()),
        }),
        issuer_state: None,
        credential_claims: BTreeMap::new(),
        runtime_overrides: RuntimeOverrides::default(),
        issuance_mode: IssuanceMode::Immediate,
        webhook_endpoint_id: None,
        profile: None,
        created_at: NOW - 10,
        expires_at: Some(NOW + 300),
        progress: OfferProgress::new(NOW - 10),
    }
}

async fn push(
    wallet: &FakeWallet,
    rules: &OfferPushSettings,
    offer: &Offer,
    target: PushTarget,
) -> Result<Delivery, PushRefusal> {
    let links = offer_links(ISSUER, offer, CODE, false);
    push_offer(wallet, rules, offer, &links, &target, NOW).await
}

fn endpoint(url: &str) -> PushTarget {
    PushTarget::Endpoint(url.into())
}

#[tokio::test]
async fn by_reference_the_endpoint_gets_the_offer_link_query_after_its_own() {
    let wallet = FakeWallet::default().endpoint("https://wallet.example/offer", Ok(204));
    let o = offer(ValueMode::ByReference);
    let d = push(
        &wallet,
        &allowed(),
        &o,
        endpoint("https://wallet.example/offer?session=abc"),
    )
    .await
    .unwrap();
    let links = offer_links(ISSUER, &o, CODE, false);
    let (_, link_query) = links.uri.split_once('?').unwrap();
    assert_eq!(
        wallet.delivered(),
        [format!(
            "https://wallet.example/offer?session=abc&{link_query}"
        )]
    );
    assert!(link_query.starts_with("credential_offer_uri=https%3A%2F%2Fissuer.example%2F"));
    assert_eq!(
        d,
        Delivery {
            endpoint: "https://wallet.example/offer".into(),
            delivered: true,
            status: Some(204),
            error: None,
        }
    );
    let e = d.event(&o, NOW);
    assert_eq!(e.kind, EventKind::OfferSent);
    assert_eq!(
        (e.tenant.as_str(), e.offer_id.as_str()),
        ("default", o.id.as_str())
    );
    assert_eq!(
        e.detail,
        json!({"endpoint": "https://wallet.example/offer", "delivered": true, "status": 204, "error": null})
    );
}

#[tokio::test]
async fn by_value_the_offer_object_is_sent_but_never_recorded() {
    let wallet = FakeWallet::default().endpoint("https://wallet.example/offer", Ok(200));
    let o = offer(ValueMode::ByValue);
    let d = push(
        &wallet,
        &allowed(),
        &o,
        endpoint("https://wallet.example/offer"),
    )
    .await
    .unwrap();
    let sent = wallet.delivered();
    assert!(sent[0].starts_with("https://wallet.example/offer?credential_offer=%7B"));
    // The wallet needs the code (that is the point of the push) ...
    let sent = Url::parse(&sent[0]).unwrap();
    let (_, object) = sent.query_pairs().next().unwrap();
    let object: Value = serde_json::from_str(&object).unwrap();
    assert_eq!(
        object["grants"][crate::offer::PRE_AUTHORIZED_GRANT]["pre-authorized_code"],
        CODE
    );
    assert_eq!(
        object["grants"][crate::offer::PRE_AUTHORIZED_GRANT]["tx_code"]["description"],
        "PIN from the e-mail"
    );
    // ... and the event never holds it.
    let recorded = d.event(&o, NOW).detail.to_string();
    assert!(!recorded.contains(CODE), "{recorded}");
    assert!(!recorded.contains("credential_offer"), "{recorded}");
    assert_eq!(d.endpoint, "https://wallet.example/offer");
}

#[tokio::test]
async fn a_refusal_or_no_answer_is_a_delivery_that_failed() {
    let wallet = FakeWallet::default()
        .endpoint("https://wallet.example/refuses", Ok(400))
        .endpoint("https://wallet.example/moved", Ok(302))
        .endpoint(
            "https://wallet.example/slow",
            Err(HttpFailure("timed out after 10 s".into())),
        );
    let o = offer(ValueMode::ByReference);
    let d = push(
        &wallet,
        &allowed(),
        &o,
        endpoint("https://wallet.example/refuses?k=v"),
    )
    .await
    .unwrap();
    assert_eq!(
        d.event(&o, NOW).detail,
        json!({"endpoint": "https://wallet.example/refuses", "delivered": false, "status": 400,
               "error": "the wallet answered HTTP 400"})
    );
    let d = push(
        &wallet,
        &allowed(),
        &o,
        endpoint("https://wallet.example/moved"),
    )
    .await
    .unwrap();
    assert!(!d.delivered);
    assert!(d.error.unwrap().contains("redirect"));
    let d = push(
        &wallet,
        &allowed(),
        &o,
        endpoint("https://wallet.example/slow"),
    )
    .await
    .unwrap();
    assert_eq!(
        (d.delivered, d.status, d.error.as_deref()),
        (false, None, Some("timed out after 10 s"))
    );
    let long = FakeWallet::default().endpoint(
        "https://wallet.example/x",
        Err(HttpFailure("e".repeat(1000))),
    );
    let d = push(&long, &allowed(), &o, endpoint("https://wallet.example/x"))
        .await
        .unwrap();
    assert_eq!(d.error.unwrap().chars().count(), MAX_ERROR_CHARS + 1);
}

#[tokio::test]
async fn nothing_is_sent_without_allowed_origins() {
    let wallet = FakeWallet::default().endpoint("https://wallet.example/offer", Ok(200));
    let o = offer(ValueMode::ByReference);
    let e = push(
        &wallet,
        &rules(&[]),
        &o,
        endpoint("https://wallet.example/offer"),
    )
    .await
    .unwrap_err();
    assert_eq!(e, PushRefusal::Disabled);
    let e = push(
        &wallet,
        &allowed(),
        &o,
        endpoint("https://wallet.example:8443/offer"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e,
        PushRefusal::OriginNotAllowed {
            role: UrlRole::Endpoint,
            origin: "https://wallet.example:8443".into()
        }
    );
    let e = push(
        &wallet,
        &allowed(),
        &o,
        endpoint("http://wallet.example/offer"),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, PushRefusal::OriginNotAllowed { .. }), "{e:?}");
    assert!(wallet.delivered().is_empty());
}

#[tokio::test]
async fn metadata_gives_the_endpoint_and_each_url_is_checked() {
    let meta = "https://meta.example/.well-known/openid-credential-wallet";
    let wallet = FakeWallet::default()
        .document(
            meta,
            200,
            r#"{"credential_offer_endpoint": "https://wallet.example/offer?w=1"}"#,
        )
        .endpoint("https://wallet.example/offer", Ok(200));
    let o = offer(ValueMode::ByReference);
    let d = push(&wallet, &allowed(), &o, PushTarget::Metadata(meta.into()))
        .await
        .unwrap();
    assert!(d.delivered);
    assert_eq!(d.endpoint, "https://wallet.example/offer");
    assert_eq!(wallet.fetched(), [meta]);
    assert!(
        wallet.delivered()[0].starts_with("https://wallet.example/offer?w=1&credential_offer_uri=")
    );

    // The metadata URL itself must be allowed: it is not even fetched.
    let wallet = FakeWallet::default().document(meta, 200, "{}");
    let e = push(
        &wallet,
        &rules(&["https://wallet.example"]),
        &o,
        PushTarget::Metadata(meta.into()),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e,
        PushRefusal::OriginNotAllowed {
            role: UrlRole::MetadataUrl,
            origin: "https://meta.example".into()
        }
    );
    assert!(wallet.fetched().is_empty());

    // So must the endpoint it names.
    let wallet = FakeWallet::default().document(
        meta,
        200,
        r#"{"credential_offer_endpoint": "https://elsewhere.example/offer"}"#,
    );
    let e = push(&wallet, &allowed(), &o, PushTarget::Metadata(meta.into()))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        PushRefusal::OriginNotAllowed {
            role: UrlRole::EndpointInMetadata,
            origin: "https://elsewhere.example".into()
        }
    );
    assert!(wallet.delivered().is_empty());
}

#[tokio::test]
async fn unusable_metadata_sends_nothing() {
    let meta = "https://meta.example/wallet.json";
    let o = offer(ValueMode::ByReference);
    for (status, body, says) in [
        (404, "{}", "HTTP 404"),
        (200, "<html>", "not a JSON document"),
        (
            200,
            r#"{"authorization_endpoint": "x"}"#,
            "no credential_offer_endpoint",
        ),
        (200, r#"{"credential_offer_endpoint": 7}"#, "not a string"),
        (
            200,
            r#"{"credential_offer_endpoint": "openid-credential-offer://"}"#,
            "http or https",
        ),
    ] {
        let wallet = FakeWallet::default().document(meta, status, body);
        let e = push(&wallet, &allowed(), &o, PushTarget::Metadata(meta.into()))
            .await
            .unwrap_err();
        match e {
            PushRefusal::MetadataUnusable { url, reason } => {
                assert_eq!(url, meta);
                assert!(reason.contains(says), "{reason}");
            }
            other => panic!("{body}: {other:?}"),
        }
        assert!(wallet.delivered().is_empty());
    }
    let e = push(
        &FakeWallet::default(),
        &allowed(),
        &o,
        PushTarget::Metadata(meta.into()),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, PushRefusal::MetadataUnusable { .. }), "{e:?}");
}

#[tokio::test]
async fn urls_sigil_cannot_call_are_refused() {
    let wallet = FakeWallet::default();
    let o = offer(ValueMode::ByReference);
    for (url, says) in [
        ("/offer", "absolute"),
        ("ftp://wallet.example/offer", "http or https"),
        (
            "https://user:pw@wallet.example/offer",
            "user name or password",
        ),
        ("https://wallet.example/offer#x", "fragment"),
        (
            "https://wallet.example/offer?credential_offer_uri=https%3A%2F%2Fevil",
            "credential_offer_uri",
        ),
    ] {
        match push(&wallet, &allowed(), &o, endpoint(url))
            .await
            .unwrap_err()
        {
            PushRefusal::BadUrl { role, reason } => {
                assert_eq!(role, UrlRole::Endpoint);
                assert!(reason.contains(says), "{url}: {reason}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
    let long = format!("https://wallet.example/{}", "a".repeat(MAX_URL_CHARS));
    assert!(matches!(
        push(&wallet, &allowed(), &o, endpoint(&long)).await,
        Err(PushRefusal::BadUrl { .. })
    ));
    assert!(wallet.delivered().is_empty());
}

#[tokio::test]
async fn only_an_offer_a_wallet_can_start_with_is_sent() {
    let wallet = FakeWallet::default().endpoint("https://wallet.example/offer", Ok(200));
    for status in [OfferStatus::Created, OfferStatus::Resolved] {
        let mut o = offer(ValueMode::ByReference);
        o.progress.status = status;
        assert!(
            push(
                &wallet,
                &allowed(),
                &o,
                endpoint("https://wallet.example/offer")
            )
            .await
            .is_ok()
        );
    }
    for status in [
        OfferStatus::TokenIssued,
        OfferStatus::CredentialIssued,
        OfferStatus::Deferred,
        OfferStatus::Consumed,
        OfferStatus::Expired,
        OfferStatus::Revoked,
        OfferStatus::Invalidated,
    ] {
        let mut o = offer(ValueMode::ByReference);
        o.progress.status = status;
        assert_eq!(
            push(
                &wallet,
                &allowed(),
                &o,
                endpoint("https://wallet.example/offer")
            )
            .await,
            Err(PushRefusal::NotSendable(status))
        );
    }
    // Past its expiry but not yet marked so.
    let mut o = offer(ValueMode::ByReference);
    o.expires_at = Some(NOW);
    assert_eq!(
        push(
            &wallet,
            &allowed(),
            &o,
            endpoint("https://wallet.example/offer")
        )
        .await,
        Err(PushRefusal::NotSendable(OfferStatus::Expired))
    );
    o.expires_at = None;
    assert!(
        push(
            &wallet,
            &allowed(),
            &o,
            endpoint("https://wallet.example/offer")
        )
        .await
        .is_ok()
    );
    assert_eq!(wallet.delivered().len(), 3);
}
