//! Unit tests of the format helpers (run on the host: `cargo test -p sigil-plugin-sdk`).

#![allow(clippy::unwrap_used, reason = "tests")]

use serde_json::{Value, json};

use super::*;

fn configuration(settings: Value) -> Configuration {
    Configuration {
        id: "badge".into(),
        format: "dc+sd-jwt".into(),
        settings,
    }
}

fn message(e: FormatError) -> String {
    match e {
        FormatError::InvalidConfiguration(m) | FormatError::UnsupportedHolderKey(m) => m,
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn reader_checks_format_and_object() {
    let c = configuration(json!({}));
    let e = SettingsReader::new(&c, "mso_mdoc").unwrap_err();
    assert_eq!(
        message(e),
        "`format` of 'badge' is 'dc+sd-jwt'; this plugin issues 'mso_mdoc'"
    );
    let c = configuration(json!([]));
    let e = SettingsReader::new(&c, "dc+sd-jwt").unwrap_err();
    assert_eq!(message(e), "the settings of 'badge' must be a JSON object");
}

#[test]
fn reader_getters() {
    let c = configuration(json!({
        "vct": "", "display": null, "claims": {}, "signing_algorithms": ["ES256", "none"],
        "format_options": {"vcdm": "1.1", "other": 1},
    }));
    let s = SettingsReader::new(&c, "dc+sd-jwt").unwrap();
    let e = s.required_string("vct", "").unwrap_err();
    assert_eq!(message(e), "`vct` of 'badge' must be a non-empty string");
    let e = s.required_string("doctype", ", e.g. \"x\"").unwrap_err();
    assert_eq!(
        message(e),
        "`doctype` is required for 'badge' (format dc+sd-jwt), e.g. \"x\""
    );
    assert_eq!(s.array("display").unwrap(), None, "null is absent");
    let e = s.array("claims").unwrap_err();
    assert_eq!(message(e), "`claims` of 'badge' must be an array");
    let e = s
        .signing_algorithms(|_| true, "must hold names")
        .unwrap_err();
    assert_eq!(
        message(e),
        "`signing_algorithms` of 'badge' must hold names"
    );
    let e = s.format_options(&["vcdm"]).unwrap_err();
    assert_eq!(
        message(e),
        "`format_options.other` of 'badge' is not an option of dc+sd-jwt (vcdm)"
    );
    let options = s.format_options(&["vcdm", "other"]).unwrap();
    let e = options.string("other").unwrap_err();
    assert_eq!(
        message(e),
        "`format_options.other` of 'badge' must be a non-empty string"
    );

    let c = configuration(json!({"signing_algorithms": []}));
    let s = SettingsReader::new(&c, "dc+sd-jwt").unwrap();
    let e = s.signing_algorithms(|_| true, "-").unwrap_err();
    assert_eq!(
        message(e),
        "`signing_algorithms` of 'badge' must be a non-empty array"
    );
    let c = configuration(json!({}));
    let s = SettingsReader::new(&c, "dc+sd-jwt").unwrap();
    assert_eq!(s.signing_algorithms(|_| true, "-").unwrap(), ["ES256"]);
    assert!(s.format_options(&[]).unwrap().get("vcdm").is_none());
}

fn claims(settings: Value) -> Result<Vec<Vec<Value>>, FormatError> {
    let c = configuration(settings);
    let s = SettingsReader::new(&c, "dc+sd-jwt").unwrap();
    s.claims(|entry| Ok(entry.path().to_vec()), |path| path)
}

#[test]
fn claim_entries() {
    let e = claims(json!({"claims": [1]})).unwrap_err();
    assert_eq!(message(e), "`claims[0]` of 'badge' must be an object");
    let e = claims(json!({"claims": [{"path": ["a"]}, {"path": ["a", -1]}]})).unwrap_err();
    assert_eq!(
        message(e),
        "`claims[1].path` of 'badge' must be a non-empty array of strings, nulls and non-negative integers"
    );
    let e = claims(json!({"claims": [{"path": ["a"]}, {"path": ["b"]}, {"path": ["a"]}]}));
    assert_eq!(
        message(e.unwrap_err()),
        "`claims[2].path` of 'badge' repeats `claims[0].path`"
    );
    assert_eq!(
        claims(json!({"claims": null})).unwrap(),
        Vec::<Vec<Value>>::new()
    );

    let v = json!({"path": ["a", 0, null], "mandatory": "yes", "sd": false, "display": {}});
    let entry = ClaimEntry::parse("badge", 2, &v).unwrap();
    assert_eq!(entry.path(), [json!("a"), json!(0), Value::Null]);
    assert_eq!(entry.flag("sd").unwrap(), Some(false));
    assert_eq!(entry.flag("other").unwrap(), None);
    let e = entry.flag("mandatory").unwrap_err();
    assert_eq!(
        message(e),
        "`claims[2].mandatory` of 'badge' must be true or false"
    );
    let e = entry.array("display").unwrap_err();
    assert_eq!(
        message(e),
        "`claims[2].display` of 'badge' must be an array"
    );
    assert!(entry.refuse("sd", &json!(true), "no").is_ok());
    let e = entry.refuse("sd", &json!(false), "no").unwrap_err();
    assert_eq!(message(e), "`claims[2].sd` of 'badge': no");
}

#[test]
fn metadata_and_paths() {
    let d = claim_description(vec![json!("a")], Some(true), Some(&[json!({"name": "A"})]));
    assert_eq!(
        d,
        json!({"path": ["a"], "mandatory": true, "display": [{"name": "A"}]})
    );
    assert_eq!(
        claim_description(vec![json!("a")], None, None),
        json!({"path": ["a"]})
    );
    let mut m = serde_json::Map::new();
    insert_credential_metadata(&mut m, None, Vec::new());
    assert!(m.is_empty());
    insert_credential_metadata(&mut m, Some(Vec::new()), vec![d]);
    assert_eq!(m["credential_metadata"]["display"], json!([]));

    let claims = json!({"a": [{"b": 1}, {"b": 2}], "c": null, "e": []});
    assert!(path_selects(
        &claims,
        &[json!("a"), Value::Null, json!("b")]
    ));
    assert!(path_selects(&claims, &[json!("a"), json!(1)]));
    assert!(path_selects(&claims, &[json!("e"), Value::Null]));
    assert!(!path_selects(&claims, &[json!("c")]));
    assert!(!path_selects(&claims, &[json!("a"), json!(2)]));
}

#[test]
fn key_algorithm_and_holder_keys() {
    let algorithms = ["ES256".to_owned(), "EdDSA".to_owned()];
    assert!(check_key_algorithm("badge", &algorithms, "EdDSA").is_ok());
    let e = check_key_algorithm("badge", &algorithms, "ES384").unwrap_err();
    assert_eq!(
        message(e),
        "`signing_algorithms` of 'badge' (ES256, EdDSA) does not include ES384, the algorithm of the issuer key"
    );

    let e = HolderJwk::new(1, &json!("x")).unwrap_err();
    assert_eq!(message(e), "holder key 1 is not a JWK object");
    let key = json!({"kty": "EC", "d": "x"});
    let jwk = HolderJwk::new(0, &key).unwrap();
    assert_eq!(jwk.kty(), Some("EC"));
    let e = jwk.check_public().unwrap_err();
    assert_eq!(
        message(e),
        "holder key 0 contains private key material; send the public key only"
    );
}

#[test]
fn dates() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
}
