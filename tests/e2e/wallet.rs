//! Offers claimed by the independent wallet (OWF `@openid4vc/openid4vci`)
//! and verified with `@sd-jwt/sd-jwt-vc` — none of Sigil's code checks them.

use serde_json::{Value, json};
use sigil_tests::wallet;

use crate::offers::{badge_offer, create, issuer};

fn assert_verified(report: &Value, count: usize, given_name: &str) {
    assert_eq!(report["ok"], true, "{report}");
    let creds = report["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), count, "{report}");
    let mut thumbprints: Vec<&str> = Vec::new();
    for c in creds {
        assert_eq!(c["format"], "dc+sd-jwt");
        assert_eq!(c["header"]["typ"], "dc+sd-jwt");
        assert_eq!(
            c["payload"]["vct"],
            "https://credentials.sigil.example/employee_badge"
        );
        assert_eq!(c["cnfMatchesHolderKey"], true);
        assert_eq!(c["claims"]["given_name"], given_name);
        assert!(
            c["disclosureCount"].as_u64().unwrap() >= 2,
            "claims are selectively disclosable"
        );
        thumbprints.push(c["holderKeyThumbprint"].as_str().unwrap());
    }
    thumbprints.sort_unstable();
    thumbprints.dedup();
    assert_eq!(
        thumbprints.len(),
        count,
        "each credential is bound to its own key"
    );
}

#[tokio::test]
async fn by_reference_with_tx_code_batch_of_three() {
    let app = issuer().await;
    let mut body = badge_offer();
    body["txCode"] = json!({ "length": 6, "description": "PIN" });
    let created = create(&app, &body).await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "txCode": created["txCodeValue"], "batch": 3
    }))
    .await;
    assert_verified(&report, 3, "Ada");
    assert_eq!(report["credentialIssuer"], app.address);
    let view: Value = app
        .admin_get(&format!(
            "/admin/v1/offers/{}",
            created["offerId"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["status"], "consumed");
    let kinds: Vec<&str> = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "offer_created",
            "offer_resolved",
            "token_issued",
            "credential_issued"
        ]
    );
}

#[tokio::test]
async fn by_value_without_tx_code() {
    let app = issuer().await;
    let mut body = badge_offer();
    body["valueMode"] = json!("by_value");
    let created = create(&app, &body).await;
    let report = wallet::claim(json!({ "offer": created["credentialOffer"] })).await;
    assert_verified(&report, 1, "Ada");
}

#[tokio::test]
async fn claims_come_from_the_configuration_when_the_offer_has_none() {
    let app = issuer().await;
    let created = create(
        &app,
        &json!({ "credentialConfigurationIds": ["employee_badge_sd_jwt"] }),
    )
    .await;
    let report = wallet::claim(json!({ "offer": created["credentialOffer"] })).await;
    assert_verified(&report, 1, "Ada");
    assert_eq!(
        report["credentials"][0]["claims"]["employee_id"], "E-1815",
        "the static source of the example configuration"
    );
}

#[tokio::test]
async fn second_tenant_by_reference() {
    let app = issuer().await;
    let r = app
        .admin_post("/admin/v1/tenants/acme/offers", &badge_offer())
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let report = wallet::claim(json!({ "offer": created["credentialOffer"], "batch": 2 })).await;
    assert_verified(&report, 2, "Ada");
    assert_eq!(report["credentialIssuer"], format!("{}/acme", app.address));
    assert_eq!(
        report["credentials"][0]["payload"]["iss"],
        format!("{}/acme", app.address)
    );
}

#[tokio::test]
async fn wallet_sees_spec_errors() {
    let app = issuer().await;
    let mut body = badge_offer();
    body["txCode"] = json!({ "value": "123456" });
    let created = create(&app, &body).await;
    let report =
        wallet::claim(json!({ "offer": created["credentialOffer"], "txCode": "000000" })).await;
    assert_eq!(report["ok"], false);
    assert_eq!(report["stage"], "token");
    assert_eq!(report["status"], 400);
    assert_eq!(report["error"], "invalid_grant");
    // The wrong code did not burn the offer.
    let report =
        wallet::claim(json!({ "offer": created["credentialOffer"], "txCode": "123456" })).await;
    assert_verified(&report, 1, "Ada");
}
