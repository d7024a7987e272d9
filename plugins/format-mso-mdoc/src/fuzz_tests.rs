//! Host-side fuzz tests of the CBOR and DER code (ADR 0016): mutated
//! configurations and claims through the namespace mapping, element types
//! and `IssuerSigned` namespaces, checked by decoding what was encoded;
//! mutated holder JWKs to COSE_Keys; and certificate-shaped DER, valid and
//! mutated, through the `notBefore` reader, checked against the date it
//! was built with. Properties: nothing panics (a panic traps the plugin
//! and fails the credential request), CBOR round-trips, digests match.
//!
//! Run on the host: `cargo test --manifest-path plugins/Cargo.toml -p
//! format-mso-mdoc` (`cargo xtask test` does); `SIGIL_FUZZ_CASES=1000000`
//! (or `cargo xtask fuzz --long`) runs a million inputs per target.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use sigil_fuzz::{Fuzz, Rng, mutate};
use sigil_plugin_sdk::serde_json::{Value, json};

use super::*;

const WORDS: &[&str] = &[
    MDL_NAMESPACE,
    MDL_DOCTYPE,
    "org.iso.18013.5.1.aamva",
    "given_name",
    "family_name",
    "birth_date",
    "issue_date",
    "expiry_date",
    "portrait",
    "driving_privileges",
    "vehicle_category_code",
    "full-date",
    "tdate",
    "bytes",
    "driving-privileges",
    "json",
    "namespace",
    "element_types",
    "path",
    "mandatory",
    "claims",
    "ES256",
    "EdDSA",
    "2024-02-29",
    "2024-13-01",
    "1815-12-10T00:00:00Z",
    "2026-01-01T00:00:00Z",
    "data:image/jpeg;base64,/9j/4AAQ",
    "AAEC",
    "AA==",
    "éééééééééé",
    "2026-01-01Té0:00:00Z",
    "2026-01-0éT00:00:0Z",
];

fn configuration_seed() -> Value {
    json!({
        "id": "mdl", "format": "mso_mdoc", "doctype": MDL_DOCTYPE,
        "claims": [
            { "path": [MDL_NAMESPACE, "family_name"], "mandatory": true },
            { "path": [MDL_NAMESPACE, "given_name"], "display": [{ "name": "Given name" }] },
            { "path": ["age_over_18"] },
            { "path": ["org.iso.18013.5.1.aamva", "DHS_compliance"] }
        ],
        "format_options": {
            "namespace": MDL_NAMESPACE,
            "element_types": { "org.iso.18013.5.1.aamva": { "issued": "tdate", "photo": "bytes" } }
        },
        "signing_algorithms": ["ES256"]
    })
}

fn claims_seed() -> Value {
    json!({
        "family_name": "Lovelace", "given_name": "Ada", "birth_date": "1815-12-10",
        "issue_date": "2026-01-01", "expiry_date": "2036-01-01", "portrait": "AAECAw",
        "driving_privileges": [
            { "vehicle_category_code": "B", "issue_date": "2026-01-01", "expiry_date": "2036-01-01",
              "codes": [{ "code": "01" }] }
        ],
        "age_over_18": true, "height": 170, "weight": 62.5,
        "org.iso.18013.5.1.aamva": { "DHS_compliance": "F", "issued": "2026-01-01T00:00:00Z",
                                     "photo": "data:image/png;base64,AAEC" }
    })
}

fn decode(bytes: &[u8]) -> Cbor {
    ciborium::de::from_reader(bytes).expect("what was encoded decodes")
}

/// The claims of one credential, as `issue` turns them into namespaces,
/// encoded and decoded again.
fn claims_round_trip(s: &Settings, claims: &Map<String, Value>) -> Result<usize, FormatError> {
    let grouped = s.group(claims)?;
    s.check_mandatory(&grouped)?;
    let mut typed: BTreeMap<String, Vec<(String, Cbor)>> = BTreeMap::new();
    for (ns, elements) in &grouped {
        for (element, v) in elements {
            let value = typed_value(ns, element, s.element_type(ns, element), v)?;
            typed
                .entry(ns.clone())
                .or_default()
                .push((element.clone(), value));
        }
    }
    let spaces = name_spaces(&typed)?;
    let issuer_signed = Cbor::Map(spaces.items.clone());
    let bytes = encode(&issuer_signed)?;
    assert_eq!(
        decode(&bytes),
        issuer_signed,
        "IssuerSigned nameSpaces round-trip"
    );
    let mut items = 0;
    for ((ns, list), (ns2, digests)) in spaces.items.iter().zip(&spaces.digests) {
        assert_eq!(ns, ns2);
        let (Cbor::Array(list), Cbor::Map(digests)) = (list, digests) else {
            panic!("namespaces hold an array of items and a map of digests");
        };
        assert_eq!(list.len(), digests.len());
        for wrapped in list {
            let Cbor::Tag(24, inner) = wrapped else {
                panic!("items are tag 24")
            };
            let Cbor::Bytes(inner) = inner.as_ref() else {
                panic!("tag 24 wraps bytes")
            };
            let Cbor::Map(item) = decode(inner) else {
                panic!("an item is a map")
            };
            let id = item
                .iter()
                .find(|(k, _)| *k == text("digestID"))
                .map(|(_, v)| v.clone())
                .unwrap();
            let digest = Sha256::digest(encode(wrapped)?).to_vec();
            assert!(
                digests.contains(&(id, Cbor::Bytes(digest))),
                "the MSO digest of each item is the SHA-256 of its tag-24 encoding"
            );
            items += 1;
        }
    }
    Ok(items)
}

/// Found by `fuzz_mdoc_claims_to_cbor`: a 20-byte tdate value whose 10th
/// byte is inside a multi-byte character made `is_date_time` slice off a
/// char boundary and panic (a trap of the plugin, a failed request).
#[test]
fn tdate_values_with_multibyte_characters_are_refused_not_a_panic() {
    for value in [
        "2026-01-0\u{e9}T00:00:0Z",
        "\u{c39a8}\u{c39a8}\u{c39a8}\u{c39a8}\u{c39a8}",
    ] {
        assert_eq!(value.len(), 20);
        assert!(!is_date_time(value));
        assert!(typed_value("ns", "issued", ElementType::DateTime, &json!(value)).is_err());
    }
    assert!(is_date_time("2026-01-01T00:00:00Z"));
}

#[test]
fn fuzz_mdoc_claims_to_cbor() {
    let (config_seed, claims_seed) = (configuration_seed(), claims_seed());
    let (mut encoded, mut refused) = (0u64, 0u64);
    let mut fuzz = Fuzz::new("mdoc-claims-cbor", 3_000);
    while let Some(rng) = fuzz.next_case() {
        let settings = if rng.one_in(4) {
            mutate::json(rng, &config_seed, WORDS, 3)
        } else {
            config_seed.clone()
        };
        let claims = mutate::json(rng, &claims_seed, WORDS, 4);
        let parsed = Settings::parse(&Configuration::new("mdl", FORMAT, settings));
        let result = parsed.and_then(|s| match claims.as_object() {
            Some(c) => claims_round_trip(&s, c),
            None => Err(invalid_claims("not an object".into())),
        });
        match result {
            Ok(_) => encoded += 1,
            Err(
                FormatError::InvalidClaims(m)
                | FormatError::InvalidConfiguration(m)
                | FormatError::UnsupportedHolderKey(m),
            ) => {
                refused += 1;
                assert!(!m.is_empty());
            }
            Err(e) => panic!("only claims or configuration are refused here: {e:?}"),
        }
    }
    assert!(
        fuzz.replaying() || (encoded > 0 && refused > 0),
        "{encoded} encoded, {refused} refused"
    );
    fuzz.finish(&format!("{encoded} encoded, {refused} refused"));
}

#[test]
fn fuzz_mdoc_device_key() {
    let seeds = [
        json!({"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode([1u8; 32]),
               "y": URL_SAFE_NO_PAD.encode([2u8; 32])}),
        json!({"kty": "EC", "crv": "P-384", "x": URL_SAFE_NO_PAD.encode([1u8; 48]),
               "y": URL_SAFE_NO_PAD.encode([2u8; 48])}),
        json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([3u8; 32])}),
    ];
    let words = [
        "kty", "crv", "x", "y", "d", "EC", "OKP", "P-256", "P-384", "P-521", "Ed25519",
    ];
    let (mut bound, mut refused) = (0u64, 0u64);
    let mut fuzz = Fuzz::new("mdoc-device-key", 20_000);
    while let Some(rng) = fuzz.next_case() {
        let seed = rng.pick(&seeds);
        let jwk = mutate::json(rng, seed, &words, 2);
        match device_key(0, Some(&jwk)) {
            Ok(key) => {
                bound += 1;
                assert_eq!(decode(&encode(&key).unwrap()), key);
                let Cbor::Map(members) = &key else {
                    panic!("a COSE_Key is a map")
                };
                let kty = &members[0];
                assert_eq!(kty.0, Cbor::Integer(1.into()));
                let len = match jwk["crv"].as_str() {
                    Some("P-256" | "Ed25519") => 32,
                    Some("P-384") => 48,
                    _ => 66,
                };
                assert!(
                    members[2..]
                        .iter()
                        .all(|(_, v)| matches!(v, Cbor::Bytes(b) if b.len() == len))
                );
            }
            Err(e) => {
                refused += 1;
                assert!(matches!(e, FormatError::UnsupportedHolderKey(_)), "{e:?}");
            }
        }
    }
    assert!(
        fuzz.replaying() || (bound > 0 && refused > 0),
        "{bound} bound, {refused} refused"
    );
    fuzz.finish(&format!("{bound} bound, {refused} refused"));
}

/// DER TLV with a definite length (short or long form).
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A certificate-shaped DER with a random notBefore (UTCTime for
/// 1950–2049, else GeneralizedTime), and that time in Unix seconds (`None`
/// before 1970, which the reader does not represent).
fn certificate(rng: &mut Rng) -> (Vec<u8>, Option<u64>) {
    let year = 1950 + rng.below(150) as i64;
    let (month, day) = (1 + rng.below(12) as i64, 1 + rng.below(28) as i64);
    let (h, m, s) = (
        rng.below(24) as i64,
        rng.below(60) as i64,
        rng.below(60) as i64,
    );
    let secs = unix_seconds(year, month, day, h, m, s);
    let time = if year < 2050 {
        tlv(
            0x17,
            format!("{:02}{month:02}{day:02}{h:02}{m:02}{s:02}Z", year % 100).as_bytes(),
        )
    } else {
        tlv(
            0x18,
            format!("{year:04}{month:02}{day:02}{h:02}{m:02}{s:02}Z").as_bytes(),
        )
    };
    let validity = tlv(0x30, &[time.clone(), time].concat());
    let mut tbs = Vec::new();
    if rng.one_in(4) {
        tbs.extend(tlv(0xa0, &tlv(0x02, &[2])));
    }
    let (serial, issuer, subject) = (rng.below(20) + 1, rng.below(300), rng.below(40));
    tbs.extend(tlv(0x02, &rng.bytes(serial)));
    tbs.extend(tlv(
        0x30,
        &tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]),
    ));
    tbs.extend(tlv(0x30, &rng.bytes(issuer)));
    tbs.extend(validity);
    tbs.extend(tlv(0x30, &rng.bytes(subject)));
    let cert = tlv(0x30, &[tlv(0x30, &tbs), tlv(0x30, &[1, 2, 3])].concat());
    (cert, u64::try_from(secs).ok())
}

#[test]
fn fuzz_mdoc_certificate_not_before() {
    let (mut read, mut unread) = (0u64, 0u64);
    let mut fuzz = Fuzz::new("mdoc-der-not-before", 20_000);
    while let Some(rng) = fuzz.next_case() {
        let (cert, not_before) = certificate(rng);
        if rng.one_in(3) {
            // Unmutated: the reader must find exactly the date written.
            assert_eq!(certificate_not_before(&cert), not_before);
            read += 1;
            continue;
        }
        let tokens: Vec<&[u8]> = vec![
            &[0x30, 0x82],
            &[0x17, 0x0d],
            &[0x18, 0x0f],
            &[0xa0],
            &[0x84, 0xff, 0xff, 0xff, 0xff],
        ];
        let mutated = mutate::bytes(rng, &cert, &tokens);
        match certificate_not_before(&mutated) {
            Some(_) => read += 1,
            None => unread += 1,
        }
    }
    assert!(
        fuzz.replaying() || (read > 0 && unread > 0),
        "{read} read, {unread} unread"
    );
    fuzz.finish(&format!("{read} read, {unread} unread"));
}
