//! Offer creation: mDL claims the offer writes itself are checked against
//! the certificate the tenant would sign them with.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::fakes::{DS_COUNTRY, World, settings};
use crate::mdl::offer_disagreements;
use crate::model::{ClaimSourceSpec, RuntimeOverrides};

fn inline(claims: Value) -> BTreeMap<String, ClaimSourceSpec> {
    let Value::Object(claims) = claims else {
        panic!("an object")
    };
    BTreeMap::from([("mdl".to_owned(), ClaimSourceSpec::Inline { claims })])
}

#[test]
fn inline_claims_with_another_country_are_named_field_by_field() {
    let w = World::new();
    let ids = ["mdl".to_owned()];
    let none = RuntimeOverrides::default();
    let found = offer_disagreements(
        &w.tenant,
        &settings(),
        &ids,
        &inline(json!({ "issuing_country": "FR" })),
        &none,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "credentialClaims.mdl.claims.issuing_country");
    assert!(
        found[0].1.contains(&format!("'{DS_COUNTRY}'")),
        "{}",
        found[0].1
    );
    // Nested under the namespace, the path says so.
    let found = offer_disagreements(
        &w.tenant,
        &settings(),
        &ids,
        &inline(json!({ "org.iso.18013.5.1": { "issuing_country": "FR" } })),
        &none,
    );
    assert_eq!(
        found[0].0,
        "credentialClaims.mdl.claims.org.iso.18013.5.1.issuing_country"
    );
}

#[test]
fn agreeing_missing_or_unchecked_claims_pass() {
    let w = World::new();
    let ids = ["mdl".to_owned()];
    let none = RuntimeOverrides::default();
    for claims in [
        json!({ "issuing_country": DS_COUNTRY }),
        json!({ "given_name": "Ada" }),
        json!({ "issuing_country": "<issuer-id>" }),
    ] {
        let found = offer_disagreements(&w.tenant, &settings(), &ids, &inline(claims), &none);
        assert!(found.is_empty(), "{found:?}");
    }
    // A provider's claims are checked at issuance, not here.
    let provider = BTreeMap::from([(
        "mdl".to_owned(),
        ClaimSourceSpec::AttributeProvider { id: "hr".into() },
    )]);
    assert!(offer_disagreements(&w.tenant, &settings(), &ids, &provider, &none).is_empty());
    // No certificate (acme signs without a chain): nothing to agree with.
    let found = offer_disagreements(
        &w.acme,
        &settings(),
        &ids,
        &inline(json!({ "issuing_country": "FR" })),
        &none,
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn credential_data_that_replaces_static_claims_is_checked_too() {
    let w = World::new();
    let mut s = settings();
    let c: sigil_settings::CredentialConfiguration = serde_json::from_value(json!({
        "id": "static_mdl", "format": "mso_mdoc", "doctype": "org.iso.18013.5.1.mDL",
        "source": { "type": "static", "claims": { "issuing_country": DS_COUNTRY } }
    }))
    .unwrap();
    s.credential_configurations.insert(c.id.clone(), c);
    let overrides: RuntimeOverrides =
        serde_json::from_value(json!({ "credentialData": { "issuing_country": "FR" } })).unwrap();
    let found = offer_disagreements(
        &w.tenant,
        &s,
        &["static_mdl".to_owned()],
        &BTreeMap::new(),
        &overrides,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].0,
        "runtimeOverrides.credentialData.issuing_country"
    );
}
