//! Pushing an offer to a wallet (OID4VCI §4.1, `POST /admin/v1/offers/{id}/send`):
//! a wallet endpoint on 127.0.0.1 gets `GET …?credential_offer_uri=…`, and
//! the independent wallet claims that very offer; origins not allowed,
//! wallets that refuse or cannot be reached, and offers that cannot be
//! sent any more are answered with problems, and each call of a wallet is
//! an `offer_sent` event.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sigil_tests::{Spawn, TestApp, wallet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::offers::{badge_offer, create, pre_authorized_code};

/// A wallet's HTTP side on 127.0.0.1: `/offer` takes offers (204),
/// `/refuse` refuses them (400), `/metadata.json` names `/offer?wallet=w1`
/// as `credential_offer_endpoint`; it records each request target.
struct WalletHost {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl WalletHost {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let line = head.lines().next().unwrap_or_default().to_owned();
                    let target = line.split(' ').nth(1).unwrap_or_default().to_owned();
                    record.lock().unwrap().push(format!(
                        "{} {target}",
                        line.split(' ').next().unwrap_or_default()
                    ));
                    let path = target.split('?').next().unwrap_or_default();
                    let (status, body) = match path {
                        "/offer" => ("204 No Content", String::new()),
                        "/refuse" => ("400 Bad Request", "{\"error\":\"not now\"}".to_owned()),
                        "/metadata.json" => (
                            "200 OK",
                            json!({ "credential_offer_endpoint":
                                format!("http://127.0.0.1:{port}/offer?wallet=w1") })
                            .to_string(),
                        ),
                        _ => ("404 Not Found", String::new()),
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { port, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The requests seen so far (`GET /offer?…`), and forget them.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// A port nothing listens on.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An issuer that may push to these origins.
async fn issuer_allowing(origins: &[String]) -> TestApp {
    let list: Vec<String> = origins.iter().map(|o| format!("\"{o}\"")).collect();
    Spawn::default()
        .issuer()
        .toml(&format!(
            "[offer_push]\nallowed_origins = [{}]\n",
            list.join(", ")
        ))
        .start()
        .await
}

async fn send(app: &TestApp, path: &str, body: Value) -> (u16, Value, String) {
    let r = app.admin_post(path, &body).await;
    let status = r.status().as_u16();
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    (status, r.json().await.unwrap(), content_type)
}

/// `send` expecting a problem of `status` and type `…/slug`.
async fn problem(app: &TestApp, path: &str, body: Value, status: u16, slug: &str) -> String {
    let (got, p, content_type) = send(app, path, body).await;
    assert_eq!(got, status, "{p}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(
        p["type"],
        format!("https://sigil.dev/problems/{slug}"),
        "{p}"
    );
    p["detail"].as_str().unwrap().to_owned()
}

/// The `offer_sent` details of offer `id`, oldest first.
async fn sent_events(app: &TestApp, id: &str) -> Vec<Value> {
    let view: Value = app
        .admin_get(&format!("/admin/v1/offers/{id}"))
        .await
        .json()
        .await
        .unwrap();
    view["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "offer_sent")
        .map(|e| e["detail"].clone())
        .collect()
}

#[tokio::test]
async fn a_pushed_offer_is_one_the_wallet_can_claim() {
    let host = WalletHost::start().await;
    let app = issuer_allowing(&[host.url("")]).await;
    let created = create(&app, &badge_offer()).await;
    let id = created["offerId"].as_str().unwrap();
    let path = format!("/admin/v1/offers/{id}/send");

    let (status, body, _) = send(
        &app,
        &path,
        json!({ "walletEndpoint": host.url("/offer?wallet=w1") }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "sent": true, "offerId": id, "endpoint": host.url("/offer"), "status": 204 })
    );
    // One GET with the wallet's own parameter, then the offer's.
    let seen = host.take();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let reference = seen[0]
        .strip_prefix("GET /offer?wallet=w1&credential_offer_uri=")
        .unwrap_or_else(|| panic!("not an offer by reference: {seen:?}"));
    // The very link of the offer: the wallet claims it.
    let pushed = format!("openid-credential-offer://?credential_offer_uri={reference}");
    assert_eq!(pushed, created["credentialOffer"]);
    let code = pre_authorized_code(&app, &created).await;
    let report = wallet::claim(json!({ "offer": pushed })).await;
    assert_eq!(report["ok"], true, "{report}");

    let events = sent_events(&app, id).await;
    assert_eq!(
        events,
        [
            json!({ "endpoint": host.url("/offer"), "delivered": true, "status": 204, "error": null })
        ]
    );
    // The event holds neither the offer link nor the code.
    let view = app
        .admin_get(&format!("/admin/v1/offers/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!view.contains(&code) && !view.contains("wallet=w1"));

    // Claimed: it starts no wallet's flow any more.
    let detail = problem(
        &app,
        &path,
        json!({ "walletEndpoint": host.url("/offer") }),
        409,
        "offer-not-sendable",
    )
    .await;
    assert!(detail.contains("Create a new offer"), "{detail}");
    assert!(host.take().is_empty());
}

#[tokio::test]
async fn the_endpoint_can_come_from_wallet_metadata_and_tenant_routes_keep_to_their_tenant() {
    let host = WalletHost::start().await;
    let app = issuer_allowing(&[host.url("")]).await;
    let r = app
        .admin_post("/admin/v1/tenants/acme/offers", &badge_offer())
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["offerId"].as_str().unwrap();
    let by_metadata = json!({ "walletMetadataUrl": host.url("/metadata.json") });

    // Another tenant's path does not find it.
    problem(
        &app,
        &format!("/admin/v1/tenants/default/offers/{id}/send"),
        by_metadata.clone(),
        404,
        "not-found",
    )
    .await;
    let (status, body, _) = send(
        &app,
        &format!("/admin/v1/tenants/acme/offers/{id}/send"),
        by_metadata,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["endpoint"], host.url("/offer"));
    let seen = host.take();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0], "GET /metadata.json");
    assert!(
        seen[1].starts_with("GET /offer?wallet=w1&credential_offer_uri=http%3A%2F%2F127.0.0.1"),
        "{seen:?}"
    );
    assert_eq!(sent_events(&app, id).await.len(), 1);
}

#[tokio::test]
async fn refused_origins_wallets_and_offers_are_problems() {
    let host = WalletHost::start().await;
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let app = issuer_allowing(&[host.url(""), dead.clone()]).await;
    let created = create(&app, &badge_offer()).await;
    let id = created["offerId"].as_str().unwrap();
    let path = format!("/admin/v1/offers/{id}/send");

    // An origin not listed: nothing is called, nothing recorded.
    let elsewhere = format!("http://127.0.0.1:{}", dead_port());
    let detail = problem(
        &app,
        &path,
        json!({ "walletEndpoint": format!("{elsewhere}/offer") }),
        403,
        "origin-not-allowed",
    )
    .await;
    assert!(detail.contains(&elsewhere), "{detail}");
    assert!(detail.contains("allowed_origins"), "{detail}");
    assert!(sent_events(&app, id).await.is_empty());

    // A wallet that cannot be reached, then one that refuses: recorded.
    let detail = problem(
        &app,
        &path,
        json!({ "walletEndpoint": format!("{dead}/offer") }),
        502,
        "wallet-unreachable",
    )
    .await;
    assert!(detail.contains(&format!("{dead}/offer")), "{detail}");
    assert!(!detail.contains("credential_offer_uri="), "{detail}");
    problem(
        &app,
        &path,
        json!({ "walletEndpoint": host.url("/refuse") }),
        502,
        "wallet-refused-offer",
    )
    .await;
    let events = sent_events(&app, id).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["endpoint"], format!("{dead}/offer"));
    assert_eq!(events[0]["delivered"], false);
    assert_eq!(events[0]["status"], Value::Null);
    assert!(events[0]["error"].as_str().unwrap().contains("connection"));
    assert_eq!(
        events[1],
        json!({ "endpoint": host.url("/refuse"), "delivered": false, "status": 400,
                "error": "the wallet answered HTTP 400" })
    );

    // Bodies that do not say where the wallet is.
    for body in [
        json!({}),
        json!({ "walletEndpoint": host.url("/offer"), "walletMetadataUrl": host.url("/m") }),
        json!({ "walletEndpoint": host.url("/offer"), "wallet": "x" }),
        json!({ "walletEndpoint": "/offer" }),
    ] {
        problem(&app, &path, body, 400, "validation").await;
    }
    // A revoked offer is not sent.
    assert_eq!(
        app.admin_delete(&format!("/admin/v1/offers/{id}"))
            .await
            .status(),
        204
    );
    problem(
        &app,
        &path,
        json!({ "walletEndpoint": host.url("/offer") }),
        409,
        "offer-not-sendable",
    )
    .await;
    let seen = host.take();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with("GET /refuse?credential_offer_uri="),
        "{seen:?}"
    );

    // Without [offer_push], pushing is off and the problem says how to allow it.
    let closed = Spawn::default().issuer().start().await;
    let created = create(&closed, &badge_offer()).await;
    let detail = problem(
        &closed,
        &format!(
            "/admin/v1/offers/{}/send",
            created["offerId"].as_str().unwrap()
        ),
        json!({ "walletEndpoint": host.url("/offer") }),
        403,
        "origin-not-allowed",
    )
    .await;
    assert!(detail.contains("[offer_push] allowed_origins"), "{detail}");
    assert!(host.take().is_empty());
}
