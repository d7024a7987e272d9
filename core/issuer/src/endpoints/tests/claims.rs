//! Claim priority (DESIGN §1, no merging between levels) and what the
//! format plugin is given.

use serde_json::{Value, json};

use super::fakes::{Holder, ISSUER, NOW, World};
use crate::endpoints::credential::CredentialRequest;
use crate::model::{ClaimSourceSpec, Offer};
use crate::ports::{ClaimRequest, IssueInput};

/// Issue `configuration` of an offer made by `edit`; the claim call and
/// the format input it led to.
async fn issue(
    configuration: &str,
    edit: impl FnOnce(&mut Offer),
) -> (String, ClaimRequest, IssueInput, Holder) {
    let w = World::new();
    let token = w.token_for("o1", &[configuration], edit).await;
    let holder = Holder::new();
    let nonce = w.issuer.nonce(&w.tenant).c_nonce;
    let body = json!({ "credential_configuration_id": configuration, "proofs": { "jwt": [holder.proof(&nonce, NOW)] } });
    let request = CredentialRequest::from_json(body.to_string().as_bytes());
    w.issuer
        .credential(&w.tenant, Some(&format!("Bearer {token}")), request)
        .await
        .unwrap();
    let (plugin, claim_request) = w.plugins().claim_calls.lock().unwrap()[0].clone();
    let input = w.plugins().issued.lock().unwrap()[0].1.clone();
    (plugin, claim_request, input, holder)
}

fn claims(input: &IssueInput) -> Value {
    Value::Object(input.claims.clone())
}

#[tokio::test]
async fn offer_claims_come_first() {
    // Inline claims beat the configuration's attribute provider and static claims.
    let (plugin, request, input, _) = issue("hr_badge", |o| {
        World::inline(o, "hr_badge", json!({ "given_name": "Ada" }))
    })
    .await;
    assert_eq!(plugin, "claims-inline");
    assert_eq!(request.inline_claims, Some(json!({ "given_name": "Ada" })));
    assert_eq!(claims(&input), json!({ "given_name": "Ada" }));
    // The offer's attribute provider beats the configuration's static claims.
    let (plugin, request, _, _) = issue("static_badge", |o| {
        o.credential_claims.insert(
            "static_badge".into(),
            ClaimSourceSpec::AttributeProvider { id: "hr".into() },
        );
    })
    .await;
    assert_eq!(plugin, "claims-attribute-provider");
    assert_eq!(request.source["url"], "https://hr.example/attributes");
    // The offer's inline webhook, then a configured endpoint.
    let (plugin, request, _, _) = issue("badge", |o| {
        o.credential_claims.insert(
            "badge".into(),
            ClaimSourceSpec::Webhook {
                webhook: Some(json!({ "url": "https://hooks.example/c" })),
                id: None,
            },
        );
    })
    .await;
    assert_eq!(
        (plugin.as_str(), &request.source["url"]),
        ("claims-webhook", &json!("https://hooks.example/c"))
    );
    let (_, request, _, _) = issue("badge", |o| {
        o.credential_claims.insert(
            "badge".into(),
            ClaimSourceSpec::Webhook {
                webhook: None,
                id: Some("crm".into()),
            },
        );
    })
    .await;
    assert_eq!(request.source["url"], "https://crm.example/claims");
}

#[tokio::test]
async fn then_the_configuration_provider_then_its_source() {
    let (plugin, _, input, _) = issue("hr_badge", |_| {}).await;
    assert_eq!(
        plugin, "claims-attribute-provider",
        "the provider beats static claims"
    );
    assert_eq!(
        claims(&input),
        json!({ "source": "claims-attribute-provider" })
    );
    let (plugin, request, _, _) = issue("hook_badge", |_| {}).await;
    assert_eq!(
        (plugin.as_str(), &request.source["url"]),
        ("claims-webhook", &json!("https://crm.example/claims"))
    );
    let (plugin, request, _, _) = issue("custom_badge", |_| {}).await;
    assert_eq!(
        (plugin.as_str(), &request.source),
        ("claims-ldap", &json!({ "base": "dc=example" }))
    );
    let (plugin, _, input, _) = issue("static_badge", |_| {}).await;
    assert_eq!(plugin, "claims-static");
    assert_eq!(claims(&input), json!({ "given_name": "Static" }));
}

#[tokio::test]
async fn credential_data_replaces_static_claims_only() {
    let data = |o: &mut Offer| {
        o.runtime_overrides.credential_data =
            json!({ "given_name": "Override" }).as_object().cloned();
    };
    let (plugin, _, input, _) = issue("static_badge", data).await;
    assert_eq!(plugin, "claims-static");
    assert_eq!(claims(&input), json!({ "given_name": "Override" }));
    let (_, _, input, _) = issue("badge", data).await;
    assert_eq!(
        claims(&input),
        json!({ "given_name": "Override" }),
        "a configuration without a source"
    );
    let (plugin, _, _, _) = issue("hr_badge", data).await;
    assert_eq!(
        plugin, "claims-attribute-provider",
        "a provider is not replaced"
    );
}

#[tokio::test]
async fn templates_apply_to_written_claims_not_to_provider_data() {
    let (_, request, input, holder) = issue("badge", |o| {
        World::inline(
            o,
            "badge",
            json!({ "id": "<subject-id>", "iss": "<issuer-id>", "offer": "<offer-id>" }),
        );
    })
    .await;
    let did = sigil_keys::did::did_jwk(&holder.jwk).unwrap();
    assert_eq!(
        claims(&input),
        json!({ "id": did, "iss": ISSUER, "offer": "o1" })
    );
    assert_eq!(request.subject_id, None);
    assert_eq!(request.holder_keys, vec![holder.jwk.clone()]);
    // The offer's subject id wins over the holder key's did:jwk.
    let (_, request, input, _) = issue("badge", |o| {
        World::inline(o, "badge", json!({ "id": "<subject-id>" }));
        o.runtime_overrides.subject_id = Some("urn:employee:42".into());
    })
    .await;
    assert_eq!(request.subject_id.as_deref(), Some("urn:employee:42"));
    assert_eq!(claims(&input), json!({ "id": "urn:employee:42" }));
}

#[tokio::test]
async fn mapping_validity_and_disclosure_overrides_reach_the_format() {
    let (_, _, input, _) = issue("badge", |o| {
        World::inline(o, "badge", json!({ "given_name": "Ada" }));
        o.runtime_overrides.mapping =
            json!({ "address.locality": "Berlin", "since": "<timestamp-in-seconds>" })
                .as_object()
                .cloned();
        o.runtime_overrides.validity_seconds = Some(60);
        o.runtime_overrides.selective_disclosure = Some([("given_name".to_owned(), false)].into());
    })
    .await;
    assert_eq!(
        claims(&input),
        json!({ "given_name": "Ada", "address": { "locality": "Berlin" }, "since": NOW })
    );
    let hour = NOW - NOW.rem_euclid(3600);
    assert_eq!(
        input.issued_at, hour as u64,
        "rounded down to the hour (§14.6)"
    );
    assert_eq!(input.expires_at, Some(hour as u64 + 60));
    assert_eq!(
        input.configuration.settings["claims"],
        json!([{ "path": ["given_name"], "sd": false }])
    );
    assert_eq!(input.configuration.settings["configuration"], "badge");
    assert_eq!(input.issuer, ISSUER);
    // Without overrides: the configuration's validity.
    let (_, _, input, _) = issue("badge", |o| World::inline(o, "badge", json!({ "a": 1 }))).await;
    assert_eq!(input.expires_at, Some(hour as u64 + 86_400));
}

#[tokio::test]
async fn a_standby_key_chosen_by_the_offer_signs() {
    let w = World::new();
    let token = w
        .token_for("o1", &["badge"], |o| {
            World::inline(o, "badge", json!({ "a": 1 }));
            o.runtime_overrides.issuer_key_id = Some("standby".into());
        })
        .await;
    let holder = Holder::new();
    let nonce = w.issuer.nonce(&w.tenant).c_nonce;
    let body = json!({ "credential_configuration_id": "badge", "proofs": { "jwt": [holder.proof(&nonce, NOW)] } });
    let r = w
        .issuer
        .credential(
            &w.tenant,
            Some(&format!("Bearer {token}")),
            CredentialRequest::from_json(body.to_string().as_bytes()),
        )
        .await
        .unwrap()
        .into_issued()
        .unwrap();
    assert_eq!(r.credentials[0].credential, "format-sd-jwt-vc:standby:0");
}
