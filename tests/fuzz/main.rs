//! Fuzz test of the admin offer API (ADR 0016): create-offer requests —
//! valid ones from the documented examples, mutated as JSON structure, as
//! bytes, with members repeated, other content types and tenants — sent
//! to a real Sigil (the example issuer with its built-in plugins) running
//! in this process on 127.0.0.1. Properties: never a 5xx; every refusal is
//! well-formed `application/problem+json` whose `status` is the HTTP
//! status; every success is a created offer.
//!
//! A short run is part of `cargo test`; `SIGIL_FUZZ_CASES=1000000` (or
//! `cargo xtask fuzz --long`) runs a million requests.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use serde_json::{Value, json};
use sigil_fuzz::{Fuzz, Rng, mutate};
use sigil_tests::{ADMIN_TOKEN, Spawn, TestApp};

const BADGE: &str = "employee_badge_sd_jwt";

/// Members and values the mutator splices in.
const WORDS: &[&str] = &[
    "credentialConfigurationIds",
    "profile",
    "flow",
    "txCode",
    "inputMode",
    "length",
    "description",
    "value",
    "valueMode",
    "issuerStateMode",
    "expiresInSeconds",
    "scheme",
    "credentialClaims",
    "runtimeOverrides",
    "issuanceMode",
    "webhookEndpointId",
    "authorizationServer",
    "loginHint",
    "type",
    "inline",
    "static",
    "webhook",
    "attributeProvider",
    "id",
    "url",
    "auth",
    "claims",
    "issuerKeyId",
    "x5Chain",
    "subjectId",
    "credentialData",
    "mapping",
    "validitySeconds",
    "selectiveDisclosure",
    "numeric",
    "text",
    "by_value",
    "by_reference",
    "haip",
    "openid-credential-offer",
    "pre_authorized_code",
    "authorization_code",
    "immediate",
    "deferred",
    "include",
    "omit",
    BADGE,
    "employee_badge_jwt_vc",
    "mdl_mdoc",
    "employee-badge",
    "all-formats",
    "hr-directory",
    "hr-claims",
    "http://127.0.0.1:8787/claims",
    "https://evil.example/hook",
    "$now",
    "$uuid",
    "$expiry(1y)",
    "given_name",
    "org.iso.18013.5.1",
    "-----BEGIN CERTIFICATE-----",
];

fn seeds() -> Vec<Value> {
    vec![
        json!({ "credentialConfigurationIds": [BADGE], "txCode": { "length": 6 },
                "credentialClaims": { BADGE: { "type": "inline",
                    "claims": { "given_name": "Ada", "family_name": "Lovelace" } } } }),
        json!({ "profile": "employee-badge", "valueMode": "by_value", "scheme": "haip",
                "expiresInSeconds": 600 }),
        json!({ "credentialConfigurationIds": [BADGE, "employee_badge_jwt_vc"],
                "txCode": { "inputMode": "text", "value": "s3cret", "description": "from the mail" },
                "runtimeOverrides": { "validitySeconds": 3600, "subjectId": "did:example:1",
                    "credentialData": { "given_name": "X" }, "mapping": { "iat2": "$now" },
                    "selectiveDisclosure": { "given_name": false } } }),
        // The demo document signer certificate is issued for UT (ISO test country).
        json!({ "credentialConfigurationIds": ["mdl_mdoc"], "expiresInSeconds": -1,
                "credentialClaims": { "mdl_mdoc": { "type": "inline", "claims": {
                    "family_name": "Lovelace", "given_name": "Ada", "birth_date": "1815-12-10",
                    "issue_date": "2026-01-01", "expiry_date": "2036-01-01",
                    "issuing_country": "UT", "issuing_authority": "Sigil",
                    "document_number": "D-1", "portrait": "AAEC",
                    "driving_privileges": [], "un_distinguishing_sign": "GB" } } } }),
        json!({ "credentialConfigurationIds": [BADGE],
                "credentialClaims": { BADGE: { "type": "webhook",
                    "webhook": { "url": "http://127.0.0.1:8787/claims",
                                 "auth": { "type": "bearer", "token": "t" } } } },
                "runtimeOverrides": { "issuerKeyId": "issuer-p256" } }),
        json!({ "credentialConfigurationIds": [BADGE],
                "credentialClaims": { BADGE: { "type": "attributeProvider", "id": "hr-directory" } },
                "issuerStateMode": "omit", "issuanceMode": "immediate" }),
    ]
}

/// One generated request.
struct Case {
    path: &'static str,
    content_type: Option<String>,
    authorized: bool,
    body: Vec<u8>,
}

fn case(rng: &mut Rng, seeds: &[Value]) -> Case {
    let seed = rng.pick(seeds);
    let path = *rng.pick(&[
        "/admin/v1/offers",
        "/admin/v1/offers",
        "/admin/v1/tenants/acme/offers",
        "/admin/v1/tenants/default/offers",
    ]);
    let content_type = match rng.below(16) {
        0 => None,
        1 => Some("text/plain".to_owned()),
        // Only what an HTTP client can send as a header value.
        2 => Some(
            mutate::edit_string(rng, "application/json", &["; charset=utf-8"])
                .chars()
                .filter(|c| (' '..='~').contains(c))
                .collect(),
        ),
        _ => Some("application/json".to_owned()),
    };
    Case {
        path,
        content_type,
        authorized: !rng.one_in(32),
        body: mutate::json_bytes(rng, seed, WORDS),
    }
}

/// Send `case`; return the status, content type and body.
async fn send(app: &TestApp, case: &Case) -> (u16, String, Vec<u8>) {
    let mut request = app
        .client
        .post(format!("{}{}", app.address, case.path))
        .body(case.body.clone());
    if let Some(t) = &case.content_type {
        request = request.header("content-type", t);
    }
    if case.authorized {
        request = request.bearer_auth(ADMIN_TOKEN);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.bytes().await.expect("a body").to_vec();
    (status, content_type, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_admin_offer_create() {
    let provider = std::fs::read_to_string(
        sigil_tests::root().join("config/attribute-providers/hr-directory.toml"),
    )
    .unwrap();
    let app = Spawn::default()
        .issuer()
        .plugins(&[
            "claims-inline",
            "claims-static",
            "claims-id-token",
            "claims-webhook",
            "claims-attribute-provider",
            "format-sd-jwt-vc",
            "format-jwt-vc-json",
            "format-mso-mdoc",
        ])
        .toml(
            "[plugins.grants.claims-webhook]\nallowed_hosts = [\"http://127.0.0.1:*\"]\n\
             limits = { timeout_ms = 10_000 }\n\
             [plugins.grants.claims-attribute-provider]\nallowed_hosts = [\"http://127.0.0.1:*\"]\n\
             limits = { timeout_ms = 10_000 }\n\
             [claims]\ninline_webhook_secret = \"fuzz-secret\"\n",
        )
        .file("attribute-providers/hr-directory.toml", &provider)
        .start()
        .await;
    let seeds = seeds();
    // Every seed is a valid request, or the generator tests little.
    for seed in &seeds {
        let r = app.admin_post("/admin/v1/offers", seed).await;
        assert_eq!(r.status(), 201, "seed {seed}: {}", r.text().await.unwrap());
    }
    let (mut created, mut refused) = (0u64, 0u64);
    let mut fuzz = Fuzz::new("admin-offer-create", 1_500);
    loop {
        // A batch of cases at a time, sent concurrently.
        let mut batch = Vec::new();
        while batch.len() < 16 {
            let Some(rng) = fuzz.next_case() else { break };
            batch.push(case(rng, &seeds));
        }
        if batch.is_empty() {
            break;
        }
        let started = std::time::Instant::now();
        let answers = futures::future::join_all(batch.iter().map(|c| send(&app, c))).await;
        if started.elapsed() > std::time::Duration::from_secs(2) {
            // Slow inputs are findings too: show the batch.
            for c in &batch {
                eprintln!(
                    "slow batch ({:?}): {} {}",
                    started.elapsed(),
                    c.path,
                    String::from_utf8_lossy(&c.body)
                        .chars()
                        .take(400)
                        .collect::<String>()
                );
            }
        }
        for (c, (status, content_type, body)) in batch.iter().zip(answers) {
            let shown = || {
                format!(
                    "{} {status} for {:?} ({:?}): {}",
                    c.path,
                    String::from_utf8_lossy(&c.body),
                    c.content_type,
                    String::from_utf8_lossy(&body)
                )
            };
            assert!(status < 500, "{}", shown());
            let json: Value =
                serde_json::from_slice(&body).unwrap_or_else(|_| panic!("{}", shown()));
            if status == 201 {
                created += 1;
                assert!(
                    json["offerId"].is_string() && json["credentialOffer"].is_string(),
                    "{}",
                    shown()
                );
            } else {
                refused += 1;
                assert!((400..500).contains(&status), "{}", shown());
                assert_eq!(content_type, "application/problem+json", "{}", shown());
                assert_eq!(json["status"], status, "{}", shown());
                assert!(
                    json["type"].is_string() && json["title"].is_string(),
                    "{}",
                    shown()
                );
                assert!(
                    json["detail"].as_str().is_some_and(|d| !d.is_empty()),
                    "{}",
                    shown()
                );
            }
        }
    }
    assert!(
        fuzz.replaying() || (created > 0 && refused > 0),
        "{created} created, {refused} refused"
    );
    fuzz.finish(&format!("{created} created, {refused} refused"));
}
