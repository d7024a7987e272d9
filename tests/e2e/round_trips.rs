//! Database round trips per endpoint on PostgreSQL (#19), counted on the
//! wire by a relay in front of the real server (`sigil_tests::pg_wire`), so
//! they cannot creep back: each endpoint of the pre-authorized flow is held
//! to the fewest the rules allow (ADR 0024).
//!
//! The server gets one pooled connection, so after one warm-up flow every
//! statement it sends is prepared and cached on that connection: the counts
//! are those of a warm instance, without prepares.

use serde_json::{Value, json};
use sigil_tests::holder::Holder;
use sigil_tests::pg_wire::{Counts, WireCounter};
use sigil_tests::{Spawn, TestApp};

use crate::offers::{badge_offer, create};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// The round trips and statements of each step of one pre-authorized flow.
#[derive(Debug, PartialEq, Eq)]
struct Flow {
    create_offer: Counts,
    resolve_offer: Counts,
    token: Counts,
    nonce: Counts,
    credential: Counts,
}

/// Runs one flow against `app`, reading `wire` around each request.
async fn flow(app: &TestApp, wire: &WireCounter) -> Flow {
    let at = wire.counts();
    let created = create(app, &badge_offer()).await;
    let create_offer = wire.counts() - at;

    let at = wire.counts();
    let offer: Value = app
        .client
        .get(created["credentialOfferUri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resolve_offer = wire.counts() - at;
    let code = offer["grants"][GRANT]["pre-authorized_code"]
        .as_str()
        .unwrap();

    let at = wire.counts();
    let r = app
        .post_form(
            "/token",
            &[("grant_type", GRANT), ("pre-authorized_code", code)],
        )
        .await;
    assert_eq!(r.status(), 200);
    let token: Value = r.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let token_counts = wire.counts() - at;

    let at = wire.counts();
    let r = app
        .client
        .post(format!("{}/nonce", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let nonce: Value = r.json().await.unwrap();
    let nonce_counts = wire.counts() - at;

    let proof = Holder::new().proof(&app.address, nonce["c_nonce"].as_str().unwrap());
    let at = wire.counts();
    let r = app
        .client
        .post(format!("{}/credential", app.address))
        .bearer_auth(&token)
        .json(&json!({
            "credential_configuration_id": "employee_badge_sd_jwt",
            "proofs": { "jwt": [proof] }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let credential = wire.counts() - at;
    Flow {
        create_offer,
        resolve_offer,
        token: token_counts,
        nonce: nonce_counts,
        credential,
    }
}

/// The round trips and statements a request waited for (sqlx's release
/// pings run after the answer and are left out: see `pg_wire`).
fn waited(c: Counts) -> (u64, u64) {
    (c.round_trips, c.statements)
}

/// A fresh schema on the test PostgreSQL (its URL), and the example issuer
/// on it through a wire counter, with one pooled connection.
async fn counted_issuer() -> Option<(String, WireCounter, TestApp)> {
    let url = sigil_store::testing::fresh_postgres_url().await?;
    let upstream = sigil_store::testing::postgres_base_url();
    let host = upstream
        .split_once('@')
        .map_or("127.0.0.1:5432", |(_, rest)| {
            rest.split('/').next().unwrap()
        });
    let wire = WireCounter::start(host).await;
    let app = Spawn::default()
        .issuer()
        .database(&wire.url(&url))
        .database_toml("max_connections = 1")
        .start()
        .await;
    Some((url, wire, app))
}

#[tokio::test]
async fn each_endpoint_of_the_pre_authorized_flow_takes_its_fewest_round_trips() {
    let Some((url, wire, app)) = counted_issuer().await else {
        return;
    };
    flow(&app, &wire).await;
    let warm = flow(&app, &wire).await;
    println!("PostgreSQL round trips (statements) per endpoint: {warm:#?}");
    // One insert of the offer and its event.
    assert_eq!(waited(warm.create_offer), (1, 1), "offer");
    // Read the offer; mark it resolved with its event.
    assert_eq!(waited(warm.resolve_offer), (2, 2), "offer URI");
    // Redeem the code, store the token and its event.
    assert_eq!(waited(warm.token), (1, 1), "token");
    // Nonces verify themselves: nothing stored.
    assert_eq!(waited(warm.nonce), (0, 0), "nonce");
    // Read the token and offer; spend the nonce and record the issuance,
    // the offer's status, the credential and the event.
    assert_eq!(waited(warm.credential), (2, 2), "credential");
    for c in [
        warm.create_offer,
        warm.resolve_offer,
        warm.token,
        warm.credential,
    ] {
        assert_eq!(c.prepares, 0, "a warm connection prepares nothing");
    }
    drop(app);
    let _ = sigil_store::testing::drop_postgres_schema(&url).await;
}

/// Every statement a flow runs (the hot path) reads its rows through an
/// index: with sequential scans disabled, PostgreSQL's generic plan of each
/// (the one a cached prepared statement runs whatever the values) has no
/// `Seq Scan` left, so the cost of a flow does not grow with the rows
/// stored.
#[tokio::test]
async fn every_statement_of_the_flow_reads_through_an_index() {
    let Some((url, wire, app)) = counted_issuer().await else {
        return;
    };
    flow(&app, &wire).await;
    let before = wire.executed().len();
    flow(&app, &wire).await;
    let mut ran = wire.executed().split_off(before);
    ran.dedup_by(|a, b| a.sql == b.sql);
    let mut explained = 0;
    for p in ran {
        let first = p.sql.split_whitespace().next().unwrap_or("");
        let dml = ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"]
            .iter()
            .any(|k| first.eq_ignore_ascii_case(k));
        if !dml {
            continue;
        }
        let plan = sigil_store::testing::explain_prepared(&url, &p.sql, &p.parameter_types)
            .await
            .unwrap_or_else(|e| panic!("EXPLAIN of {}: {e}", p.sql));
        assert!(
            !plan.contains("Seq Scan"),
            "a statement of the flow reads a table without an index:\n{}\n{plan}",
            p.sql
        );
        explained += 1;
    }
    // Create, read and resolve the offer, redeem, read the token, finish.
    assert_eq!(explained, 6, "statements explained");
    drop(app);
    let _ = sigil_store::testing::drop_postgres_schema(&url).await;
}
