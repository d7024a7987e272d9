//! The built-in `format-sd-jwt-vc` plugin, loaded in the real plugin runtime
//! and checked with an SD-JWT verifier written here, independently of the
//! plugin's code: ES256 signature, header, disclosure digests in the right
//! `_sd` arrays, reconstructed claims, holder binding, fresh salts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use sigil_keys::{IssuerKey, Signer as _};
use sigil_plugin_host::{
    CredentialSlot, FormatConfiguration, FormatFailure, IssueInput, PluginError, StatusReference,
};
use sigil_tests::plugins::LoadedPlugin;

const PLUGIN: &str = "format-sd-jwt-vc";
const ISSUER: &str = "https://issuer.example.com";
const VCT: &str = "https://credentials.example.com/employee_badge";
const STATUS_URI: &str = "https://issuer.example.com/status/1";
/// Unpredictable (non-arithmetic) status list indices, one per credential.
const STATUS_INDICES: [u64; 3] = [4711, 93, 20_260];
/// Claims the issuer sets in every SD-JWT VC payload.
const ISSUER_CLAIMS: [&str; 7] = ["iss", "iat", "exp", "vct", "cnf", "status", "_sd_alg"];

fn plugin() -> LoadedPlugin {
    sigil_tests::plugins::load_only(PLUGIN)
}

fn settings() -> Value {
    json!({
        "id": "employee_badge_sd_jwt",
        "format": "dc+sd-jwt",
        "vct": VCT,
        "scope": "employee_badge",
        "validity_seconds": 31_536_000,
        "display": [{
            "name": "Employee Badge", "locale": "en-US", "description": "Proof of employment",
            "background_color": "#12107c", "text_color": "#ffffff",
            "logo": {"uri": "https://issuer.example.com/logo.png", "alt_text": "Example logo"}
        }],
        "claims": [
            {"path": ["given_name"], "mandatory": true, "sd": true, "display": [{"name": "Given name", "locale": "en-US"}]},
            {"path": ["family_name"], "mandatory": true, "display": [{"name": "Family name", "locale": "en-US"}]},
            {"path": ["employee_id"], "sd": false},
            {"path": ["address", "locality"], "sd": true},
            {"path": ["address", "country"]},
            {"path": ["department"], "sd": false},
            {"path": ["department", "unit", "code"], "sd": true},
            {"path": ["roles", null], "display": [{"name": "Roles"}]}
        ],
        "signing_algorithms": ["ES256"]
    })
}

fn configuration(settings: Value) -> FormatConfiguration {
    sigil_tests::plugins::configuration("employee_badge_sd_jwt", "dc+sd-jwt", settings)
}

fn claims() -> Map<String, Value> {
    json!({
        "given_name": "Ada",
        "family_name": "Lovelace",
        "employee_id": "E-1815",
        "address": {"street_address": "12 St James's Square", "locality": "London", "country": "GB"},
        "department": {"name": "Analytical Engines", "unit": {"code": "AE-1", "floor": 3}},
        "roles": ["engineer", "mathematician"],
        "clearance": 2
    })
    .as_object()
    .unwrap()
    .clone()
}

/// A fresh P-256 public JWK (`kty`, `crv`, `x`, `y`), as a wallet's proof carries it.
fn holder_jwk() -> Value {
    let jwk = IssuerKey::generate_p256().public_jwk();
    json!({"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"], "y": jwk["y"]})
}

fn input(settings: Value, claims: Map<String, Value>, slots: Vec<CredentialSlot>) -> IssueInput {
    IssueInput {
        configuration: configuration(settings),
        claims,
        issuer: ISSUER.into(),
        issued_at: 1_767_225_600,
        expires_at: Some(1_798_761_600),
        slots,
    }
}

fn verifying_key(key: &IssuerKey) -> VerifyingKey {
    let jwk = key.public_jwk();
    let public = p256::PublicKey::from_jwk_str(
        &json!({"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]}).to_string(),
    )
    .unwrap();
    VerifyingKey::from(public)
}

fn b64_json(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// An SD-JWT taken apart and checked.
struct Verified {
    header: Value,
    /// The issuer-signed payload as it is (digests, no disclosed claims).
    payload: Map<String, Value>,
    /// The payload with every disclosure put back and `_sd` removed.
    claims: Map<String, Value>,
    /// Paths of the members that came from disclosures.
    disclosed: BTreeSet<Vec<String>>,
    salts: Vec<String>,
    disclosures: Vec<String>,
}

/// Verify an issuance-form SD-JWT: signature, disclosure digests, and that
/// every disclosure is referenced from an `_sd` array exactly once.
fn verify(sd_jwt: &str, issuer: &VerifyingKey) -> Verified {
    let mut parts: Vec<&str> = sd_jwt.split('~').collect();
    assert_eq!(
        parts.pop(),
        Some(""),
        "issuance form ends with `~` and has no key binding JWT"
    );
    let jwt = parts.remove(0);
    let segments: Vec<&str> = jwt.split('.').collect();
    assert_eq!(segments.len(), 3, "compact JWS");
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(segments[2]).unwrap()).unwrap();
    issuer
        .verify(
            format!("{}.{}", segments[0], segments[1]).as_bytes(),
            &signature,
        )
        .expect("ES256 signature over header.payload verifies with the issuer key");
    let header = b64_json(segments[0]);
    let payload = b64_json(segments[1]).as_object().unwrap().clone();

    let mut pool = BTreeMap::new();
    let mut salts = Vec::new();
    for disclosure in &parts {
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(disclosure.as_bytes()));
        let array = b64_json(disclosure);
        let [salt, name, value] =
            <[Value; 3]>::try_from(array.as_array().unwrap().clone()).unwrap();
        let salt = salt.as_str().unwrap().to_owned();
        assert!(
            URL_SAFE_NO_PAD.decode(&salt).unwrap().len() >= 16,
            "salt has at least 128 bits"
        );
        salts.push(salt);
        let name = name.as_str().unwrap().to_owned();
        assert!(
            pool.insert(digest, (name, value)).is_none(),
            "duplicate disclosure"
        );
    }
    let mut disclosed = BTreeSet::new();
    let claims = unfold(&payload, &mut pool, &mut Vec::new(), &mut disclosed);
    assert!(
        pool.is_empty(),
        "disclosures referenced from no `_sd` array: {pool:?}"
    );
    Verified {
        header,
        payload,
        claims,
        disclosed,
        salts,
        disclosures: parts.iter().map(|d| (*d).to_owned()).collect(),
    }
}

fn unfold(
    obj: &Map<String, Value>,
    pool: &mut BTreeMap<String, (String, Value)>,
    path: &mut Vec<String>,
    disclosed: &mut BTreeSet<Vec<String>>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, value) in obj {
        if name != "_sd" {
            path.push(name.clone());
            out.insert(name.clone(), unfold_value(value, pool, path, disclosed));
            path.pop();
        }
    }
    if let Some(sd) = obj.get("_sd") {
        let digests: Vec<&str> = sd
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        let mut sorted = digests.clone();
        sorted.sort_unstable();
        assert_eq!(digests, sorted, "`_sd` is sorted");
        let mut decoys = 0;
        for digest in digests {
            let Some((name, value)) = pool.remove(digest) else {
                decoys += 1;
                continue;
            };
            assert!(!out.contains_key(&name), "disclosed `{name}` is also plain");
            path.push(name.clone());
            disclosed.insert(path.clone());
            let value = unfold_value(&value, pool, path, disclosed);
            path.pop();
            out.insert(name, value);
        }
        assert!(
            (1..=3).contains(&decoys),
            "{decoys} decoy digests at {path:?}"
        );
    }
    out
}

fn unfold_value(
    value: &Value,
    pool: &mut BTreeMap<String, (String, Value)>,
    path: &mut Vec<String>,
    disclosed: &mut BTreeSet<Vec<String>>,
) -> Value {
    match value {
        Value::Object(o) => Value::Object(unfold(o, pool, path, disclosed)),
        Value::Array(a) => {
            assert!(
                a.iter().all(|v| v.get("...").is_none()),
                "arrays are disclosed as whole values"
            );
            Value::Array(
                a.iter()
                    .map(|v| unfold_value(v, pool, path, disclosed))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

#[test]
fn the_verifier_hashes_disclosures_like_rfc_9901() {
    // RFC 9901 §4.2.1 example: the digest is over the encoded disclosure string.
    let disclosure = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0";
    assert_eq!(
        URL_SAFE_NO_PAD.encode(Sha256::digest(disclosure.as_bytes())),
        "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
    );
    assert_eq!(
        b64_json(disclosure),
        json!(["_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"])
    );
}

fn path(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn format_failure(result: Result<impl std::fmt::Debug, PluginError>) -> FormatFailure {
    sigil_tests::plugins::format_failure(PLUGIN, result)
}

#[tokio::test]
async fn metadata_has_vct_algorithms_binding_and_claims_without_sd() {
    let p = plugin();
    let meta =
        p.rt.format_metadata(PLUGIN, &configuration(settings()))
            .await
            .unwrap();
    let expected = json!({
        "vct": VCT,
        "credential_signing_alg_values_supported": ["ES256"],
        "cryptographic_binding_methods_supported": ["jwk"],
        "credential_metadata": {
            "display": settings()["display"],
            "claims": [
                {"path": ["given_name"], "mandatory": true, "display": [{"name": "Given name", "locale": "en-US"}]},
                {"path": ["family_name"], "mandatory": true, "display": [{"name": "Family name", "locale": "en-US"}]},
                {"path": ["employee_id"]},
                {"path": ["address", "locality"]},
                {"path": ["address", "country"]},
                {"path": ["department"]},
                {"path": ["department", "unit", "code"]},
                {"path": ["roles", null], "display": [{"name": "Roles"}]}
            ]
        }
    });
    assert_eq!(Value::Object(meta), expected);

    // Only id, format and vct are required.
    let minimal = json!({"id": "badge", "format": "dc+sd-jwt", "vct": "urn:example:badge"});
    let meta =
        p.rt.format_metadata(PLUGIN, &configuration(minimal))
            .await
            .unwrap();
    assert_eq!(
        Value::Object(meta),
        json!({
            "vct": "urn:example:badge",
            "credential_signing_alg_values_supported": ["ES256"],
            "cryptographic_binding_methods_supported": ["jwk"]
        })
    );
}

#[tokio::test]
async fn missing_vct_is_an_invalid_configuration() {
    let p = plugin();
    let mut s = settings();
    s.as_object_mut().unwrap().remove("vct");
    let error = format_failure(
        p.rt.format_metadata(PLUGIN, &configuration(s.clone()))
            .await,
    );
    assert!(
        matches!(&error, FormatFailure::InvalidConfiguration(m) if m.contains("`vct`")),
        "{error:?}"
    );

    let key = Arc::new(IssuerKey::generate_p256());
    let slots = vec![CredentialSlot {
        holder_key: Some(holder_jwk()),
        status: None,
    }];
    let error = format_failure(p.rt.issue(PLUGIN, &input(s, claims(), slots), key).await);
    assert!(
        matches!(&error, FormatFailure::InvalidConfiguration(m) if m.contains("`vct`")),
        "{error:?}"
    );
}

#[tokio::test]
async fn issues_one_verifiable_sd_jwt_vc_per_holder_key() {
    let p = plugin();
    let chain = vec![
        b"leaf certificate DER".to_vec(),
        b"intermediate certificate DER".to_vec(),
    ];
    let key = Arc::new(IssuerKey::generate_p256().with_certificate_chain(chain.clone()));
    let holders: Vec<Value> = (0..3).map(|_| holder_jwk()).collect();
    assert_eq!(
        holders
            .iter()
            .map(Value::to_string)
            .collect::<BTreeSet<_>>()
            .len(),
        3,
        "distinct holder keys"
    );
    let slots = holders
        .iter()
        .enumerate()
        .map(|(i, jwk)| CredentialSlot {
            holder_key: Some(jwk.clone()),
            status: Some(StatusReference {
                uri: STATUS_URI.into(),
                index: STATUS_INDICES[i],
            }),
        })
        .collect();
    let credentials =
        p.rt.issue(PLUGIN, &input(settings(), claims(), slots), key.clone())
            .await
            .unwrap();
    assert_eq!(credentials.len(), 3);

    let verifying = verifying_key(&key);
    {
        // The signature covers the payload: change one claim and it fails.
        let (jwt, _) = credentials[0].split_once('~').unwrap();
        let segments: Vec<&str> = jwt.split('.').collect();
        let mut payload = b64_json(segments[1]);
        payload["vct"] = json!("urn:example:forged");
        let forged = format!(
            "{}.{}",
            segments[0],
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let signature =
            Signature::from_slice(&URL_SAFE_NO_PAD.decode(segments[2]).unwrap()).unwrap();
        assert!(verifying.verify(forged.as_bytes(), &signature).is_err());
    }
    let mut all_salts = Vec::new();
    let mut all_disclosures = Vec::new();
    for (i, credential) in credentials.iter().enumerate() {
        let v = verify(credential, &verifying);

        assert_eq!(
            v.header,
            json!({
                "alg": "ES256",
                "typ": "dc+sd-jwt",
                "kid": key.key_id(),
                "x5c": chain.iter().map(|c| STANDARD.encode(c)).collect::<Vec<_>>()
            })
        );

        // Issuer claims: plain, never disclosed.
        assert_eq!(v.payload["iss"], ISSUER);
        assert_eq!(v.payload["iat"], 1_767_225_600);
        assert_eq!(v.payload["exp"], 1_798_761_600);
        assert_eq!(v.payload["vct"], VCT);
        assert_eq!(v.payload["_sd_alg"], "sha-256");
        assert_eq!(
            v.payload["cnf"],
            json!({"jwk": holders[i]}),
            "bound to the slot's holder key"
        );
        assert_eq!(
            v.payload["status"],
            json!({"status_list": {"idx": STATUS_INDICES[i], "uri": STATUS_URI}})
        );

        // What is disclosable, and where each digest sits.
        let expected: BTreeSet<Vec<String>> = [
            path(&["given_name"]),
            path(&["family_name"]),
            path(&["address"]),
            path(&["address", "locality"]),
            path(&["department", "unit", "code"]),
            path(&["roles"]),
            path(&["clearance"]),
        ]
        .into_iter()
        .collect();
        assert_eq!(v.disclosed, expected);

        // `sd: false` and unconfigured nested members stay plain in the signed payload.
        assert_eq!(v.payload["employee_id"], "E-1815");
        let department = v.payload["department"].as_object().unwrap();
        assert_eq!(department["name"], "Analytical Engines");
        assert_eq!(department["unit"]["floor"], 3);
        assert!(department["unit"].get("code").is_none());
        assert_eq!(
            department["unit"]["_sd"]
                .as_array()
                .map(|sd| !sd.is_empty()),
            Some(true)
        );
        assert!(
            department.get("_sd").is_none(),
            "nothing in `department` itself is disclosable"
        );
        for name in ["given_name", "family_name", "address", "roles", "clearance"] {
            assert!(
                v.payload.get(name).is_none(),
                "`{name}` is only in a disclosure"
            );
        }

        // Reconstructed claims are exactly the input plus the issuer's claims.
        let mut reconstructed = v.claims.clone();
        for name in ISSUER_CLAIMS {
            assert!(reconstructed.remove(name).is_some(), "`{name}` present");
        }
        assert_eq!(reconstructed, claims());

        all_salts.extend(v.salts);
        all_disclosures.extend(v.disclosures);
    }
    let distinct: BTreeSet<_> = all_salts.iter().collect();
    assert_eq!(all_salts.len(), 3 * 7);
    assert_eq!(
        distinct.len(),
        all_salts.len(),
        "fresh salts for every disclosure of every credential"
    );
    let distinct: BTreeSet<_> = all_disclosures.iter().collect();
    assert_eq!(
        distinct.len(),
        all_disclosures.len(),
        "no disclosure is shared between credentials"
    );
}

#[tokio::test]
async fn without_disclosable_claims_there_is_no_sd_and_no_disclosure() {
    let p = plugin();
    let key = Arc::new(IssuerKey::generate_p256());
    let settings = json!({
        "id": "plain", "format": "dc+sd-jwt", "vct": "urn:example:plain",
        "claims": [{"path": ["given_name"], "sd": false}, {"path": ["address"], "sd": false}]
    });
    let claims = json!({"given_name": "Ada", "address": {"locality": "London"}})
        .as_object()
        .unwrap()
        .clone();
    let mut input = input(
        settings,
        claims.clone(),
        vec![CredentialSlot {
            holder_key: None,
            status: None,
        }],
    );
    input.expires_at = None;
    let credentials = p.rt.issue(PLUGIN, &input, key.clone()).await.unwrap();
    let credential = &credentials[0];
    assert_eq!(
        credential.matches('~').count(),
        1,
        "only the closing `~`: {credential}"
    );
    let v = verify(credential, &verifying_key(&key));
    assert_eq!(
        v.header,
        json!({"alg": "ES256", "typ": "dc+sd-jwt", "kid": key.key_id()}),
        "no chain, no x5c"
    );
    assert!(v.disclosed.is_empty());
    assert_eq!(
        Value::Object(v.payload),
        json!({
            "iss": ISSUER, "iat": 1_767_225_600, "vct": "urn:example:plain", "_sd_alg": "sha-256",
            "given_name": "Ada", "address": {"locality": "London"}
        }),
        "no `_sd`, `cnf`, `status` or `exp`"
    );
}

#[tokio::test]
async fn reserved_claim_names_are_rejected() {
    let p = plugin();
    let key = Arc::new(IssuerKey::generate_p256());
    let slot = || {
        vec![CredentialSlot {
            holder_key: Some(holder_jwk()),
            status: None,
        }]
    };
    for name in [
        "iss",
        "iat",
        "nbf",
        "exp",
        "vct",
        "vct#integrity",
        "cnf",
        "status",
        "_sd",
        "_sd_alg",
        "...",
    ] {
        let mut claims = claims();
        claims.insert(name.into(), json!("attacker-chosen"));
        let error = format_failure(
            p.rt.issue(PLUGIN, &input(settings(), claims, slot()), key.clone())
                .await,
        );
        assert!(
            matches!(&error, FormatFailure::InvalidClaims(m) if m.contains(&format!("`{name}`"))),
            "{name}: {error:?}"
        );
    }
    // `_sd` inside a nested object would smuggle digests in.
    let mut claims = claims();
    claims.insert(
        "address".into(),
        json!({"locality": "London", "_sd": ["forged"]}),
    );
    let error = format_failure(
        p.rt.issue(PLUGIN, &input(settings(), claims, slot()), key.clone())
            .await,
    );
    assert!(
        matches!(&error, FormatFailure::InvalidClaims(m) if m.contains("address._sd")),
        "{error:?}"
    );
}

#[tokio::test]
async fn unusable_holder_keys_claims_and_settings_are_rejected() {
    let p = plugin();
    let key = Arc::new(IssuerKey::generate_p256());

    // A holder key with private material.
    let private = IssuerKey::generate_p256().to_private_jwk();
    let slots = vec![
        CredentialSlot {
            holder_key: Some(holder_jwk()),
            status: None,
        },
        CredentialSlot {
            holder_key: Some(private),
            status: None,
        },
    ];
    let error = format_failure(
        p.rt.issue(PLUGIN, &input(settings(), claims(), slots), key.clone())
            .await,
    );
    assert!(
        matches!(&error, FormatFailure::UnsupportedHolderKey(m) if m.contains("holder key 1")),
        "{error:?}"
    );

    // A mandatory claim is missing.
    let slot = || {
        vec![CredentialSlot {
            holder_key: Some(holder_jwk()),
            status: None,
        }]
    };
    let mut without = claims();
    without.remove("family_name");
    let error = format_failure(
        p.rt.issue(PLUGIN, &input(settings(), without, slot()), key.clone())
            .await,
    );
    assert!(
        matches!(&error, FormatFailure::InvalidClaims(m) if m.contains("family_name")),
        "{error:?}"
    );

    // The issuer key's algorithm is not among the advertised ones.
    let mut s = settings();
    s["signing_algorithms"] = json!(["ES384"]);
    let error = format_failure(
        p.rt.issue(PLUGIN, &input(s, claims(), slot()), key.clone())
            .await,
    );
    assert!(
        matches!(&error, FormatFailure::InvalidConfiguration(m) if m.contains("signing_algorithms")),
        "{error:?}"
    );

    // `sd: true` on an issuer claim, and on an array element.
    for (claim, needle) in [
        (json!({"path": ["iss"], "sd": true}), "`iss`"),
        (json!({"path": ["roles", 0], "sd": true}), "array"),
    ] {
        let mut s = settings();
        s["claims"].as_array_mut().unwrap().push(claim);
        let error = format_failure(p.rt.format_metadata(PLUGIN, &configuration(s)).await);
        assert!(
            matches!(&error, FormatFailure::InvalidConfiguration(m) if m.contains(needle)),
            "{error:?}"
        );
    }
}
