//! Token Status Lists end to end: the independent wallet claims `dc+sd-jwt`
//! and `mso_mdoc` credentials; `tests/wallet/status-list.mjs` reads their
//! `status.status_list` (the SD-JWT payload, the mdoc MSO), fetches the list,
//! checks its signature with `jose` (JWT) and `node:crypto` (COSE_Sign1 of
//! the CWT form, decoded by the CBOR of `@animo-id/mdoc`) against the
//! tenant's published key, and decodes it with `@sd-jwt/jwt-status-list`.
//! The admin API revokes, suspends and reinstates; the next fetch shows it.
//! Two instances on one PostgreSQL never hand out one index twice.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::future::join_all;
use serde_json::{Value, json};
use sigil_tests::holder::Holder;
use sigil_tests::{Spawn, TestApp, root, wallet};

use crate::credential::{access_token, nonce};
use crate::format_mdoc::mdl_claims;
use crate::offers::{badge_offer, create, issuer};

/// Run `tests/wallet/status-list.mjs` with `input`; its JSON report.
async fn check_status(input: Value) -> Value {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new("node")
            .arg(root().join("tests/wallet/status-list.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node must be installed");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "status-list.mjs printed no JSON ({e}): stdout={stdout} stderr={}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    })
    .await
    .unwrap()
}

/// The value of `credential`'s entry in its JWT status list (and in the
/// CWT form, which must agree), checked by the independent script.
async fn value_of(app: &TestApp, credential: &str, format: &str) -> u64 {
    let r = check_status(json!({
        "credential": credential, "format": format, "issuer": app.address, "cwt": true
    }))
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["cwt"]["value"], r["value"], "JWT and CWT agree: {r}");
    r["value"].as_u64().unwrap()
}

/// `POST` an admin status change; status and body.
async fn admin(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app.admin_post(path, &json!({})).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn offer_view(app: &TestApp, id: &str) -> Value {
    app.admin_get(&format!("/admin/v1/offers/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

/// The admin record of the credential whose status list index is `idx`.
fn record_at(view: &Value, idx: &Value) -> Value {
    view["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| &c["statusList"]["idx"] == idx)
        .cloned()
        .unwrap_or_else(|| panic!("no credential at index {idx}: {view}"))
}

fn events(view: &Value, kind: &str) -> Vec<Value> {
    view["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind)
        .cloned()
        .collect()
}

#[tokio::test]
async fn sd_jwt_revoke_suspend_reinstate_show_in_the_signed_list() {
    let app = issuer().await;
    let created = create(&app, &badge_offer()).await;
    let offer = created["offerId"].as_str().unwrap();
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "batch": 2, "includeRaw": true
    }))
    .await;
    assert_eq!(report["ok"], true, "{report}");
    let issued = report["credentials"].as_array().unwrap();
    assert_eq!(issued.len(), 2);
    // The wallet's SD-JWT VC library fetched and checked the list already.
    for c in issued {
        assert_eq!(c["statusValue"], 0, "{c}");
    }
    let raw = |i: usize| issued[i]["credential"].as_str().unwrap();
    let reference = |i: usize| issued[i]["payload"]["status"]["status_list"].clone();
    let uri = format!("{}/statuslists/1", app.address);
    assert_eq!(reference(0)["uri"], uri);
    assert_ne!(reference(0)["idx"], reference(1)["idx"]);

    // The list as a verifier gets it: both forms, signed by the tenant's key.
    let r = check_status(json!({
        "credential": raw(0), "format": "dc+sd-jwt", "issuer": app.address, "cwt": true
    }))
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        (r["value"].as_u64(), r["bits"].as_u64()),
        (Some(0), Some(2))
    );
    let jwt = &r["jwt"];
    assert_eq!(jwt["contentType"], "application/statuslist+jwt");
    assert_eq!(jwt["cacheControl"], "max-age=300");
    assert_eq!(jwt["allowOrigin"], "*");
    assert_eq!(jwt["keySource"], "jwt-vc-issuer");
    assert_eq!(jwt["claims"]["sub"], uri);
    assert_eq!(jwt["claims"]["ttl"], 300);
    assert_eq!(
        jwt["claims"]["exp"].as_i64().unwrap() - jwt["claims"]["iat"].as_i64().unwrap(),
        86_400
    );
    let cwt = &r["cwt"];
    assert_eq!(cwt["contentType"], "application/statuslist+cwt");
    assert_eq!(cwt["header"]["alg"], "ES256");
    // The key's chain when it has one (x5c, x5chain), else its kid.
    match jwt["header"]["x5c"].as_array() {
        Some(chain) => assert_eq!(cwt["header"]["x5chain"], chain.len(), "{r}"),
        None => assert_eq!(cwt["header"]["kid"], jwt["header"]["kid"], "{r}"),
    }
    assert_eq!(cwt["claims"]["sub"], uri);
    assert_eq!(
        (cwt["value"].as_u64(), cwt["bits"].as_u64()),
        (Some(0), Some(2))
    );

    let view = offer_view(&app, offer).await;
    let a = record_at(&view, &reference(0)["idx"]);
    let b = record_at(&view, &reference(1)["idx"]);
    assert_eq!(a["status"], "valid");
    assert_eq!(a["statusList"]["uri"], uri);
    assert!(a["identifier"].is_null(), "an SD-JWT VC has no jti: {a}");
    let path = |c: &Value, action: &str| {
        format!(
            "/admin/v1/credentials/{}/{action}",
            c["credentialId"].as_str().unwrap()
        )
    };

    // Revoke: the next fetch shows INVALID (1), for this library and for the
    // wallet's SD-JWT VC verifier.
    let (s, body) = admin(&app, &path(&a, "revoke")).await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("revoked")),
        "{body}"
    );
    assert_eq!(body["statusList"], a["statusList"]);
    assert_eq!(value_of(&app, raw(0), "dc+sd-jwt").await, 1);
    let verified = wallet::claim(json!({
        "mode": "verify-only", "credential": raw(0), "issuer": app.address,
        "format": "dc+sd-jwt", "status": { "expect": 1 }
    }))
    .await;
    assert_eq!(verified["ok"], true, "{verified}");
    assert_eq!(verified["credentials"][0]["statusValue"], 1);

    // Suspend the other: SUSPENDED (2); reinstate: VALID again.
    let (s, body) = admin(&app, &path(&b, "suspend")).await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("suspended")),
        "{body}"
    );
    assert_eq!(value_of(&app, raw(1), "dc+sd-jwt").await, 2);
    assert_eq!(value_of(&app, raw(0), "dc+sd-jwt").await, 1);
    let (s, body) = admin(&app, &path(&b, "reinstate")).await;
    assert_eq!((s, body["status"].as_str()), (200, Some("valid")), "{body}");
    assert_eq!(value_of(&app, raw(1), "dc+sd-jwt").await, 0);

    // Repeating is a no-op; revoked is final.
    let (s, body) = admin(&app, &path(&a, "revoke")).await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("revoked")),
        "{body}"
    );
    for action in ["reinstate", "suspend"] {
        let (s, body) = admin(&app, &path(&a, action)).await;
        assert_eq!(s, 409, "{body}");
        assert_eq!(
            body["type"], "https://sigil.dev/problems/revoked-is-final",
            "{body}"
        );
    }
    let view = offer_view(&app, offer).await;
    let revoked = events(&view, "credential_revoked");
    assert_eq!(revoked.len(), 1, "one event, not two: {view}");
    assert_eq!(revoked[0]["detail"]["credentialId"], a["credentialId"]);
    assert_eq!(revoked[0]["detail"]["statusList"], a["statusList"]);
    assert_eq!(events(&view, "credential_suspended").len(), 1);
    assert_eq!(events(&view, "credential_reinstated").len(), 1);
    assert_eq!(record_at(&view, &reference(0)["idx"])["status"], "revoked");
    assert_eq!(record_at(&view, &reference(1)["idx"])["status"], "valid");
}

/// The IACA the server wrote beside the default tenant's key, and its country.
fn server_iaca(app: &TestApp) -> (String, String) {
    let pem = std::fs::read_to_string(app.dir.path().join("keys/default/iaca.pem")).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let country = cert
        .subject()
        .iter_country()
        .next()
        .and_then(|c| c.as_str().ok())
        .unwrap()
        .to_owned();
    (pem, country)
}

#[tokio::test]
async fn an_mdoc_carries_its_entry_in_the_mso_and_revocation_shows() {
    let app = issuer().await;
    let (iaca, country) = server_iaca(&app);
    let created = create(
        &app,
        &json!({
            "credentialConfigurationIds": ["mdl_mdoc"],
            "credentialClaims": { "mdl_mdoc": { "type": "inline", "claims": mdl_claims("Ada", &country) } }
        }),
    )
    .await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "trustAnchors": [iaca], "includeRaw": true
    }))
    .await;
    assert_eq!(report["ok"], true, "{report}");
    let raw = report["credentials"][0]["credential"].as_str().unwrap();
    let r = check_status(json!({
        "credential": raw, "format": "mso_mdoc", "issuer": app.address, "cwt": true
    }))
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["uri"], format!("{}/statuslists/1", app.address));
    assert_eq!(
        (r["value"].as_u64(), r["cwt"]["value"].as_u64()),
        (Some(0), Some(0))
    );
    let view = offer_view(&app, created["offerId"].as_str().unwrap()).await;
    let record = record_at(&view, &r["idx"]);
    assert_eq!(record["format"], "mso_mdoc");
    assert!(
        record["identifier"].is_null(),
        "an mdoc has no jti: {record}"
    );
    let (s, body) = admin(
        &app,
        &format!(
            "/admin/v1/credentials/{}/revoke",
            record["credentialId"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(value_of(&app, raw, "mso_mdoc").await, 1);
}

#[tokio::test]
async fn offers_switch_lists_off_and_offer_wide_changes_and_the_records_list() {
    let app = issuer().await;
    let created = create(&app, &badge_offer()).await;
    let offer = created["offerId"].as_str().unwrap();
    let report = wallet::claim(json!({ "offer": created["credentialOffer"], "batch": 3 })).await;
    assert_eq!(report["ok"], true, "{report}");

    // All of the offer's credentials at once, also under the tenant path.
    let (s, body) = admin(
        &app,
        &format!("/admin/v1/offers/{offer}/credentials/suspend"),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let statuses = |body: &Value| -> Vec<String> {
        body["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["status"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(statuses(&body), ["suspended"; 3]);
    let (s, body) = admin(
        &app,
        &format!("/admin/v1/tenants/default/offers/{offer}/credentials/reinstate"),
    )
    .await;
    assert_eq!(
        (s, statuses(&body)),
        (200, vec!["valid".to_owned(); 3]),
        "{body}"
    );
    let (s, _) = admin(
        &app,
        &format!("/admin/v1/tenants/acme/offers/{offer}/credentials/revoke"),
    )
    .await;
    assert_eq!(s, 404, "another tenant's offer");
    let first = body["credentials"][0]["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = admin(&app, &format!("/admin/v1/credentials/{first}/revoke")).await;
    assert_eq!(s, 200);

    // The issuance records: filtered and paged, never claims.
    let list = |query: String| {
        let app = &app;
        async move {
            let r = app
                .admin_get(&format!("/admin/v1/credentials?{query}"))
                .await;
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (s, page) = list(format!("offerId={offer}&status=valid")).await;
    assert_eq!(
        (s, page["credentials"].as_array().unwrap().len()),
        (200, 2),
        "{page}"
    );
    let (_, page) = list(format!("offerId={offer}&status=revoked")).await;
    assert_eq!(page["credentials"][0]["credentialId"], first.as_str());
    assert!(page["credentials"][0].get("claims").is_none());
    let (_, page1) = list(format!("offerId={offer}&limit=2")).await;
    assert_eq!(page1["credentials"].as_array().unwrap().len(), 2);
    let cursor = page1["nextCursor"].as_str().unwrap();
    let (_, page2) = list(format!("offerId={offer}&limit=2&cursor={cursor}")).await;
    assert_eq!(page2["credentials"].as_array().unwrap().len(), 1);
    assert_eq!(page2["nextCursor"], Value::Null);
    let ids: BTreeSet<&str> = page1["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["credentials"].as_array().unwrap())
        .map(|c| c["credentialId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    let (s, problem) = list("limit=0&status=lost".to_owned()).await;
    assert_eq!(s, 400, "{problem}");
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2, "{problem}");
    let r = app
        .admin_get(&format!(
            "/admin/v1/tenants/acme/credentials?offerId={offer}"
        ))
        .await;
    let acme: Value = r.json().await.unwrap();
    assert_eq!(acme["credentials"], json!([]), "{acme}");

    // An offer that switches status lists off: no entry, nothing to revoke.
    let mut plain = badge_offer();
    plain["runtimeOverrides"] = json!({ "statusList": false });
    let created = create(&app, &plain).await;
    let report = wallet::claim(json!({ "offer": created["credentialOffer"] })).await;
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["credentials"][0]["payload"].get("status").is_none());
    let view = offer_view(&app, created["offerId"].as_str().unwrap()).await;
    let record = &view["credentials"][0];
    assert_eq!(record["statusList"], Value::Null);
    let (s, body) = admin(
        &app,
        &format!(
            "/admin/v1/credentials/{}/revoke",
            record["credentialId"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["type"], "https://sigil.dev/problems/no-status-entry");

    // Unknown things, wrong methods.
    let (s, _) = admin(&app, "/admin/v1/credentials/nope/revoke").await;
    assert_eq!(s, 404);
    let (s, _) = admin(&app, &format!("/admin/v1/credentials/{first}/destroy")).await;
    assert_eq!(s, 404);
    let r = app
        .admin_get(&format!("/admin/v1/credentials/{first}/revoke"))
        .await;
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    for path in [
        "/statuslists/2",
        "/statuslists/01",
        "/statuslists/x",
        "/acme/statuslists/1",
    ] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
}

/// One credential request of `batch` proofs on `app`; the credentials.
async fn issue_batch(app: &TestApp, batch: usize) -> Vec<String> {
    let token = access_token(app).await;
    let n = nonce(app).await;
    let proofs: Vec<String> = (0..batch)
        .map(|_| Holder::new().proof(&app.address, &n))
        .collect();
    let r = app
        .client
        .post(format!("{}/credential", app.address))
        .bearer_auth(&token)
        .json(&json!({ "credential_configuration_id": "employee_badge_sd_jwt", "proofs": { "jwt": proofs } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["credential"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn two_instances_on_one_postgres_never_hand_out_an_index_twice() {
    let Some(url) = sigil_store::testing::fresh_postgres_url().await else {
        eprintln!("PostgreSQL tests skipped");
        return;
    };
    // A small list, so that the instances' random candidates collide often
    // and the database has to decide.
    let spawn = || {
        Spawn::default()
            .issuer()
            .database(&url)
            .toml("[status_lists]\nsize = 1024\n")
    };
    let a = spawn().start().await;
    let b = spawn().share_keys_with(&a).start().await;
    let batches = join_all((0..24).map(|i| issue_batch(if i % 2 == 0 { &a } else { &b }, 5))).await;
    let credentials: Vec<String> = batches.into_iter().flatten().collect();
    assert_eq!(credentials.len(), 120);

    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=500&cursor={c}"),
            None => "?limit=500".to_owned(),
        };
        let page: Value = a
            .admin_get(&format!("/admin/v1/credentials{query}"))
            .await
            .json()
            .await
            .unwrap();
        for c in page["credentials"].as_array().unwrap() {
            let entry = (
                c["statusList"]["uri"].as_str().unwrap().to_owned(),
                c["statusList"]["idx"].as_u64().unwrap(),
            );
            assert!(seen.insert(entry.clone()), "{entry:?} handed out twice");
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    // 24 offers, 120 credentials, every one with its own entry.
    assert_eq!(seen.len(), 120);
    // The indices in the credentials themselves are the recorded ones.
    let in_credentials: BTreeSet<(String, u64)> = credentials
        .iter()
        .map(|c| {
            let payload = c.split('.').nth(1).unwrap();
            let claims: Value = serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(payload)
                    .unwrap(),
            )
            .unwrap();
            let s = &claims["status"]["status_list"];
            (
                s["uri"].as_str().unwrap().to_owned(),
                s["idx"].as_u64().unwrap(),
            )
        })
        .collect();
    // Each instance names its lists under its own public URL.
    let normalize =
        |(uri, idx): (String, u64)| (uri.replace(&a.address, "").replace(&b.address, ""), idx);
    let recorded: BTreeSet<(String, u64)> = seen.into_iter().map(normalize).collect();
    let issued: BTreeSet<(String, u64)> = in_credentials.into_iter().map(normalize).collect();
    assert_eq!(recorded, issued);

    // A change made through one instance shows in the other's list at once.
    let page: Value = a
        .admin_get("/admin/v1/credentials?limit=1")
        .await
        .json()
        .await
        .unwrap();
    let c = &page["credentials"][0];
    let (s, _) = admin(
        &a,
        &format!(
            "/admin/v1/credentials/{}/revoke",
            c["credentialId"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(s, 200);
    let uri = c["statusList"]["uri"]
        .as_str()
        .unwrap()
        .replace(&a.address, &b.address);
    let r = check_status(json!({
        "uri": uri, "idx": c["statusList"]["idx"], "issuer": b.address
    }))
    .await;
    assert_eq!(
        (r["ok"].as_bool(), r["value"].as_u64()),
        (Some(true), Some(1)),
        "{r}"
    );
    let _ = sigil_store::testing::drop_postgres_schema(&url).await;
}
