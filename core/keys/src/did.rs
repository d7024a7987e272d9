//! Decentralized identifiers for issuer keys: `did:jwk`, `did:key` and
//! `did:web`, and the DID documents Sigil serves for `did:web`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::jwk::{canonical_public_jwk, public_key_bytes};

const BASE58_ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Base58 (Bitcoin alphabet) encoding.
pub fn base58btc(bytes: &[u8]) -> String {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    // Repeated division of the big-endian number by 58, digits little-endian.
    let mut digits: Vec<u8> = Vec::with_capacity(bytes.len() * 138 / 100 + 1);
    for &byte in &bytes[zeros..] {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut out = String::with_capacity(zeros + digits.len());
    out.extend(std::iter::repeat_n('1', zeros));
    out.extend(
        digits
            .iter()
            .rev()
            .map(|d| BASE58_ALPHABET[*d as usize] as char),
    );
    out
}

/// `did:jwk:<base64url(canonical public JWK)>` (the required members in
/// lexicographic order, as the did:jwk spec's examples); [`decode_did_jwk`]
/// reads one back.
pub fn did_jwk(public_jwk: &Value) -> Option<String> {
    let canonical = canonical_public_jwk(public_jwk)?;
    Some(format!("did:jwk:{}", URL_SAFE_NO_PAD.encode(canonical)))
}

/// Why a `did:jwk` does not name a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DidJwkError {
    /// It does not start with `did:jwk:`.
    #[error("not a did:jwk")]
    NotDidJwk,
    /// It has a fragment other than `#0`, the one verification method.
    #[error("did:jwk has no verification method '#{0}' (only '#0')")]
    Fragment(String),
    /// The method-specific id is not base64url.
    #[error("did:jwk is not base64url")]
    NotBase64url,
    /// The decoded bytes are not a JSON object with a `kty`.
    #[error("did:jwk does not hold a JWK")]
    NotJwk,
}

/// The JWK a `did:jwk:<base64url(JSON)>` holds, optionally as the DID URL
/// of its verification method (`#0`); the inverse of [`did_jwk`]. The JWK
/// comes back as written (any members, any order); callers that need a
/// public key check its members.
pub fn decode_did_jwk(did: &str) -> Result<Value, DidJwkError> {
    let rest = did.strip_prefix("did:jwk:").ok_or(DidJwkError::NotDidJwk)?;
    let encoded = match rest.split_once('#') {
        None | Some((_, "0")) => rest.split('#').next().unwrap_or_default(),
        Some((_, other)) => return Err(DidJwkError::Fragment(other.to_owned())),
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| DidJwkError::NotBase64url)?;
    let jwk: Value = serde_json::from_slice(&bytes).map_err(|_| DidJwkError::NotJwk)?;
    if !jwk.get("kty").is_some_and(Value::is_string) {
        return Err(DidJwkError::NotJwk);
    }
    Ok(jwk)
}

/// The multibase (base58btc, `z`) multicodec public key of `did:key`:
/// Ed25519 (`0xed`), P-256 (`0x1200`) and P-384 (`0x1201`), EC points
/// compressed.
pub fn multikey(public_jwk: &Value) -> Option<String> {
    let raw = public_key_bytes(public_jwk)?;
    let crv = public_jwk.get("crv")?.as_str()?;
    let mut bytes = match crv {
        "Ed25519" => vec![0xed, 0x01],
        "P-256" => vec![0x80, 0x24],
        "P-384" => vec![0x81, 0x24],
        _ => return None,
    };
    if crv == "Ed25519" {
        bytes.extend(raw);
    } else {
        // raw = 0x04 || x || y; compressed = (0x02 | y parity) || x.
        let n = (raw.len() - 1) / 2;
        let y_last = *raw.last()?;
        bytes.push(0x02 | (y_last & 1));
        bytes.extend(&raw[1..=n]);
    }
    Some(format!("z{}", base58btc(&bytes)))
}

/// `did:key:<multikey>`.
pub fn did_key(public_jwk: &Value) -> Option<String> {
    Some(format!("did:key:{}", multikey(public_jwk)?))
}

/// The `did:web` of an HTTPS URL: `https://host:8443/a/b` becomes
/// `did:web:host%3A8443:a:b`; it resolves to `https://host:8443/a/b/did.json`
/// (`/.well-known/did.json` without a path).
pub fn did_web(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let rest = rest.trim_end_matches('/');
    let mut parts = rest.split('/');
    let host = parts.next()?.replace(':', "%3A");
    if host.is_empty() {
        return None;
    }
    let mut did = format!("did:web:{host}");
    for p in parts {
        if p.is_empty() {
            return None;
        }
        did.push(':');
        did.push_str(p);
    }
    Some(did)
}

/// A DID document listing `keys` (public JWKs with `kid`) as
/// `JsonWebKey2020` verification methods `<did>#<kid>`, each usable for
/// `assertionMethod` and `authentication`.
pub fn did_document(did: &str, keys: &[Value]) -> Value {
    let mut methods = Vec::new();
    let mut refs = Vec::new();
    for k in keys {
        let kid = k.get("kid").and_then(Value::as_str).unwrap_or_default();
        let id = format!("{did}#{kid}");
        let mut jwk = k.clone();
        if let Some(map) = jwk.as_object_mut() {
            map.remove("use");
        }
        methods.push(json!({
            "id": id, "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": jwk,
        }));
        refs.push(Value::String(id));
    }
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": refs,
        "authentication": refs,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn base58_matches_known_values() {
        assert_eq!(base58btc(b""), "");
        assert_eq!(base58btc(&[0, 0, 1]), "112");
        assert_eq!(base58btc(b"hello world"), "StV1DL6CwTryKyV");
    }

    // Vectors from the did:key method's test-vectors (nist-curves.json,
    // ed25519-x25519.json) and the did:jwk specification.
    #[test]
    fn did_key_p256_vector() {
        let jwk = json!({"kty": "EC", "crv": "P-256",
            "x": "igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns",
            "y": "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM"});
        assert_eq!(
            did_key(&jwk).unwrap(),
            "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv"
        );
        let jwk = json!({"kty": "EC", "crv": "P-256",
            "x": "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI",
            "y": "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU"});
        assert_eq!(
            did_key(&jwk).unwrap(),
            "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169"
        );
    }

    #[test]
    fn did_key_p384_vector() {
        let jwk = json!({"kty": "EC", "crv": "P-384",
            "x": "lInTxl8fjLKp_UCrxI0WDklahi-7-_6JbtiHjiRvMvhedhKVdHBfi2HCY8t_QJyc",
            "y": "y6N1IC-2mXxHreETBW7K3mBcw0qGr3CWHCs-yl09yCQRLcyfGv7XhqAngHOu51Zv"});
        assert_eq!(
            did_key(&jwk).unwrap(),
            "did:key:z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9"
        );
    }

    #[test]
    fn did_key_ed25519_vector_from_seed() {
        // Seed 0x00…00 and 0x00…01 of the did:key test vectors.
        for (last, did) in [
            (
                0u8,
                "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            ),
            (
                1u8,
                "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
            ),
        ] {
            let mut seed = [0u8; 32];
            seed[31] = last;
            let key =
                crate::IssuerKey::from_parts(crate::Algorithm::EdDsa, &seed, None, None).unwrap();
            use crate::Signer as _;
            assert_eq!(did_key(&key.public_jwk()).unwrap(), did);
        }
    }

    #[test]
    fn did_jwk_vector() {
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "ignored", "use": "sig",
            "x": "acbIQiuMs3i8_uszEjJ2tpTtRM4EU3yz91PH6CdH2V0",
            "y": "_KcyLj9vWMptnmKtm46GqDz8wf74I5LKgrl2GzH3nSE"});
        assert_eq!(
            did_jwk(&jwk).unwrap(),
            "did:jwk:eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImFjYklRaXVNczNpOF91c3pFakoydHBUdFJNNEVVM3l6OTFQSDZDZEgyVjAiLCJ5IjoiX0tjeUxqOXZXTXB0bm1LdG00NkdxRHo4d2Y3NEk1TEtncmwyR3pIM25TRSJ9"
        );
    }

    #[test]
    fn did_jwk_decodes_to_the_jwk_it_encodes() {
        let jwk = json!({"crv": "P-256", "kty": "EC",
            "x": "acbIQiuMs3i8_uszEjJ2tpTtRM4EU3yz91PH6CdH2V0",
            "y": "_KcyLj9vWMptnmKtm46GqDz8wf74I5LKgrl2GzH3nSE"});
        let did = did_jwk(&jwk).unwrap();
        assert_eq!(decode_did_jwk(&did).unwrap(), jwk);
        assert_eq!(decode_did_jwk(&format!("{did}#0")).unwrap(), jwk);
        // A did:jwk written by someone else keeps its members as written.
        let okp = json!({"kty": "OKP", "crv": "Ed25519", "x": "AQ", "use": "sig"});
        let did = format!("did:jwk:{}", URL_SAFE_NO_PAD.encode(okp.to_string()));
        assert_eq!(decode_did_jwk(&did).unwrap(), okp);
        // An Ed25519 key of a signer round-trips through the canonical form.
        let key =
            crate::IssuerKey::from_parts(crate::Algorithm::EdDsa, &[7; 32], None, None).unwrap();
        use crate::Signer as _;
        let public = key.public_jwk();
        let decoded = decode_did_jwk(&did_jwk(&public).unwrap()).unwrap();
        assert_eq!(decoded["x"], public["x"]);
        assert_eq!(decoded["crv"], "Ed25519");
    }

    #[test]
    fn did_jwk_decoding_names_what_is_wrong() {
        let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
        assert_eq!(decode_did_jwk("did:key:z6Mk"), Err(DidJwkError::NotDidJwk));
        assert_eq!(
            decode_did_jwk(&format!("did:jwk:{}#1", b64(r#"{"kty":"EC"}"#))),
            Err(DidJwkError::Fragment("1".into()))
        );
        assert_eq!(
            decode_did_jwk("did:jwk:not base64!"),
            Err(DidJwkError::NotBase64url)
        );
        for text in ["not json", "[1]", r#"{"crv":"P-256"}"#, r#"{"kty":1}"#] {
            assert_eq!(
                decode_did_jwk(&format!("did:jwk:{}", b64(text))),
                Err(DidJwkError::NotJwk),
                "{text}"
            );
        }
    }

    #[test]
    fn did_web_follows_the_path_rules() {
        assert_eq!(
            did_web("https://issuer.example.com").unwrap(),
            "did:web:issuer.example.com"
        );
        assert_eq!(
            did_web("https://issuer.example.com/acme").unwrap(),
            "did:web:issuer.example.com:acme"
        );
        assert_eq!(
            did_web("http://127.0.0.1:8099/acme/").unwrap(),
            "did:web:127.0.0.1%3A8099:acme"
        );
        assert!(did_web("ftp://x").is_none());
    }

    #[test]
    fn document_lists_every_key_for_assertion() {
        let keys = [
            json!({"kty": "OKP", "crv": "Ed25519", "x": "AA", "kid": "a", "use": "sig"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": "AQ", "kid": "b"}),
        ];
        let doc = did_document("did:web:h", &keys);
        assert_eq!(doc["verificationMethod"][1]["id"], "did:web:h#b");
        assert_eq!(
            doc["assertionMethod"],
            json!(["did:web:h#a", "did:web:h#b"])
        );
        assert!(
            doc["verificationMethod"][0]["publicKeyJwk"]
                .get("use")
                .is_none()
        );
    }
}
