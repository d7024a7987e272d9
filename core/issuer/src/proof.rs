//! Verification of `jwt` key proofs (OID4VCI 1.0 App. F.1 and F.4).
//!
//! The compact JWS is taken apart here and its signature checked with
//! `ring` (ES256, ES384, EdDSA/Ed25519): every proof costs one verification on
//! the hot path of the credential endpoint, and `ring`'s assembly
//! implementations are several times faster than the pure-Rust ones.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use serde_json::{Map, Value};
use thiserror::Error;

/// The `typ` every proof must carry.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// Proof signing algorithms Sigil accepts (JOSE names).
pub const PROOF_ALGORITHMS: &[&str] = &["ES256", "ES384", "EdDSA"];

/// Why a proof was rejected (`invalid_proof`). Whether its nonce was
/// issued and is unspent is checked apart (`invalid_nonce`).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// Not a compact JWS, or undecodable parts.
    #[error("proof is not a well-formed JWT: {0}")]
    Malformed(String),
    /// `typ` missing or not `openid4vci-proof+jwt`.
    #[error("proof typ must be openid4vci-proof+jwt, got {0}")]
    Typ(String),
    /// `alg` not accepted.
    #[error("proof alg {0} is not supported; use one of ES256, ES384, EdDSA")]
    Alg(String),
    /// No usable key in the header.
    #[error("proof header must carry the holder key as jwk (or a did:jwk kid): {0}")]
    Key(String),
    /// The header key carries private members.
    #[error("proof jwk contains private key material")]
    PrivateKey,
    /// Signature does not verify.
    #[error("proof signature does not verify with the header key")]
    Signature,
    /// `aud` is not this credential issuer.
    #[error("proof aud must be the credential issuer {0}")]
    Audience(String),
    /// `iat` missing or outside the accepted window.
    #[error("proof iat is missing or outside the accepted window")]
    IssuedAt,
    /// `exp` has passed (RFC 7519 §4.1.4), beyond the accepted clock skew.
    #[error("proof exp has passed")]
    Expired,
    /// `nbf` is in the future (RFC 7519 §4.1.5), beyond the accepted clock skew.
    #[error("proof nbf is in the future")]
    NotYetValid,
    /// A time claim (`iat`, `exp`, `nbf`) is not a NumericDate.
    #[error("proof {0} must be a NumericDate (seconds since the epoch)")]
    NumericDate(&'static str),
    /// A `crit` header that is malformed or names an extension Sigil does
    /// not understand (RFC 7515 §4.1.11).
    #[error("proof crit header: {0}")]
    Critical(String),
    /// `nonce` missing.
    #[error("proof has no nonce; get one from the nonce endpoint")]
    MissingNonce,
}

/// A verified proof.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedProof {
    /// The holder's public key (public members only).
    pub holder_key: Value,
    /// The proof's nonce.
    pub nonce: String,
}

/// Header parameters registered by RFC 7515 §4.1 and RFC 7518 §4 (JWE
/// key management). `crit` must not name them (RFC 7515 §4.1.11).
pub const REGISTERED_HEADERS: &[&str] = &[
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "enc",
    "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c",
];

/// Extensions Sigil understands when a proof lists them in `crit`: none.
/// A proof whose `crit` names any extension is refused, as RFC 7515
/// §4.1.11 requires of a recipient that does not understand it.
pub const UNDERSTOOD_CRITICAL: &[&str] = &[];

/// What a proof is checked against.
#[derive(Debug, Clone, Copy)]
pub struct ProofCheck<'a> {
    /// The credential issuer identifier (`aud`).
    pub audience: &'a str,
    /// Also accept `aud` with one trailing `/` added to or removed from the
    /// identifier (Impierce `oid4vci` sends `http://host/` for
    /// `http://host`; ADR 0015).
    pub audience_trailing_slash: bool,
    /// Current time (Unix seconds).
    pub now: i64,
    /// Oldest accepted `iat`, in seconds before now.
    pub max_age: i64,
    /// Accepted clock skew, in seconds: how far `iat` and `nbf` may lie in
    /// the future and how long after `exp` a proof is still accepted.
    pub max_skew: i64,
}

/// The proof's claims, read as raw JSON: a claim given as `null` is
/// present (and wrong), not absent.
type Claims = Map<String, Value>;

/// A NumericDate claim (RFC 7519 §2: a JSON number, possibly fractional).
fn numeric_date(value: Option<&Value>, name: &'static str) -> Result<Option<f64>, ProofError> {
    match value {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|t| t.is_finite())
            .map(Some)
            .ok_or(ProofError::NumericDate(name)),
    }
}

/// Whether `aud` names `issuer`: exactly, or (when `trailing_slash`) with
/// one trailing `/` added (to an identifier without one) or removed (from
/// an identifier with one). No other normalisation.
pub fn audience_matches(aud: &str, issuer: &str, trailing_slash: bool) -> bool {
    fn without_one_slash(s: &str) -> &str {
        s.strip_suffix('/').unwrap_or(s)
    }
    aud == issuer || (trailing_slash && without_one_slash(aud) == without_one_slash(issuer))
}

/// RFC 7515 §4.1.11: `crit`, when present, is a non-empty array of
/// distinct header names, none registered, each present in the header and
/// understood by the recipient.
fn check_critical(header: &Map<String, Value>) -> Result<(), ProofError> {
    let Some(crit) = header.get("crit") else {
        return Ok(());
    };
    let refuse = |why: String| Err(ProofError::Critical(why));
    let Some(names) = crit.as_array() else {
        return refuse("must be an array of header parameter names".into());
    };
    if names.is_empty() {
        return refuse("must not be an empty array".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        let Some(name) = name.as_str() else {
            return refuse("must contain only header parameter names (strings)".into());
        };
        if name.is_empty() {
            return refuse("must not name an empty header parameter".into());
        }
        if !seen.insert(name) {
            return refuse(format!("names {name} twice"));
        }
        if REGISTERED_HEADERS.contains(&name) {
            return refuse(format!(
                "must not name {name}, a header parameter registered by RFC 7515/7518"
            ));
        }
        if !header.contains_key(name) {
            return refuse(format!("names {name}, which is not in the header"));
        }
    }
    // Well formed; now every extension named must be understood.
    if let Some(name) = seen.iter().find(|n| !UNDERSTOOD_CRITICAL.contains(n)) {
        return refuse(format!(
            "names the extension {name}, which this issuer does not understand"
        ));
    }
    Ok(())
}

fn malformed(what: &str) -> ProofError {
    ProofError::Malformed(what.to_owned())
}

/// Verify one proof JWT: typ, alg, crit, key, signature, aud, iat, exp,
/// nbf, presence of a nonce. Checking that the nonce was issued and is unused is the caller's
/// job (it needs the store).
pub fn verify(jwt: &str, check: ProofCheck<'_>) -> Result<VerifiedProof, ProofError> {
    let mut parts = jwt.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("a compact JWS has three parts"));
    };
    // The header is read as raw JSON: typed JWK structs drop unknown members,
    // and a private `d` must be seen to be refused.
    let header: Map<String, Value> = URL_SAFE_NO_PAD
        .decode(h64)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| malformed("the header is not base64url JSON"))?;
    match header.get("typ").and_then(Value::as_str) {
        Some(PROOF_TYP) => {}
        other => return Err(ProofError::Typ(other.unwrap_or("nothing").to_owned())),
    }
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some(a) if PROOF_ALGORITHMS.contains(&a) => a,
        other => return Err(ProofError::Alg(other.unwrap_or("nothing").to_owned())),
    };
    check_critical(&header)?;
    let (jwk, kid, x5c) = (
        header.get("jwk"),
        header.get("kid").and_then(Value::as_str),
        header.get("x5c"),
    );
    if x5c.is_some() && (jwk.is_some() || kid.is_some()) {
        return Err(ProofError::Key(
            "x5c must not appear with jwk or kid".into(),
        ));
    }
    if jwk.is_some() && kid.is_some() {
        return Err(ProofError::Key(
            "jwk and kid must not appear together".into(),
        ));
    }
    let jwk: Value = match (jwk, kid) {
        (Some(jwk), None) => jwk.clone(),
        (None, Some(kid)) if kid.starts_with("did:jwk:") => {
            sigil_keys::did::decode_did_jwk(kid).map_err(|e| ProofError::Key(e.to_string()))?
        }
        _ => return Err(ProofError::Key("no jwk".into())),
    };
    let public = public_members(&jwk)?;
    let (algorithm, point) = verification_key(alg, &public)?;
    let sig = URL_SAFE_NO_PAD
        .decode(s64)
        .map_err(|_| malformed("the signature is not base64url"))?;
    let input = &jwt[..h64.len() + 1 + p64.len()];
    UnparsedPublicKey::new(algorithm, point)
        .verify(input.as_bytes(), &sig)
        .map_err(|_| ProofError::Signature)?;
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(p64)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| malformed("the payload is not a base64url JSON object"))?;
    let aud_ok = |a: &Value| {
        a.as_str()
            .is_some_and(|a| audience_matches(a, check.audience, check.audience_trailing_slash))
    };
    let aud_ok = match claims.get("aud") {
        Some(Value::Array(a)) => a.len() == 1 && aud_ok(&a[0]),
        Some(a) => aud_ok(a),
        None => false,
    };
    if !aud_ok {
        return Err(ProofError::Audience(check.audience.to_owned()));
    }
    check_times(&claims, check)?;
    let nonce = claims
        .get("nonce")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or(ProofError::MissingNonce)?;
    Ok(VerifiedProof {
        holder_key: public,
        nonce: nonce.to_owned(),
    })
}

/// `iat` (required), `exp` and `nbf` (optional) against the current time,
/// all with the same clock skew (RFC 7519 §4.1.4–4.1.6).
fn check_times(claims: &Claims, check: ProofCheck<'_>) -> Result<(), ProofError> {
    let now = check.now as f64;
    let skew = check.max_skew as f64;
    match numeric_date(claims.get("iat"), "iat")? {
        Some(iat) if iat >= now - check.max_age as f64 && iat <= now + skew => {}
        _ => return Err(ProofError::IssuedAt),
    }
    // The current time must be before exp (RFC 7519 §4.1.4).
    if let Some(exp) = numeric_date(claims.get("exp"), "exp")?
        && now >= exp + skew
    {
        return Err(ProofError::Expired);
    }
    if let Some(nbf) = numeric_date(claims.get("nbf"), "nbf")?
        && nbf > now + skew
    {
        return Err(ProofError::NotYetValid);
    }
    Ok(())
}

/// The `ring` algorithm and public key bytes for `alg` and a public JWK; the
/// key type must match the algorithm.
fn verification_key(
    alg: &str,
    jwk: &Value,
) -> Result<(&'static dyn VerificationAlgorithm, Vec<u8>), ProofError> {
    let member = |name: &str, len: usize| -> Result<Vec<u8>, ProofError> {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .filter(|b| b.len() == len)
            .ok_or_else(|| ProofError::Key(format!("jwk member {name} must be {len} bytes")))
    };
    let (kty, crv) = (
        jwk.get("kty").and_then(Value::as_str).unwrap_or_default(),
        jwk.get("crv").and_then(Value::as_str).unwrap_or_default(),
    );
    let ec_point = |len: usize| -> Result<Vec<u8>, ProofError> {
        let mut point = vec![0x04];
        point.extend(member("x", len)?);
        point.extend(member("y", len)?);
        Ok(point)
    };
    match (alg, kty, crv) {
        ("ES256", "EC", "P-256") => Ok((&signature::ECDSA_P256_SHA256_FIXED, ec_point(32)?)),
        ("ES384", "EC", "P-384") => Ok((&signature::ECDSA_P384_SHA384_FIXED, ec_point(48)?)),
        ("EdDSA", "OKP", "Ed25519") => Ok((&signature::ED25519, member("x", 32)?)),
        _ => Err(ProofError::Key(format!(
            "a {kty} {crv} key cannot verify alg {alg}; use ES256 with P-256, ES384 with P-384 or EdDSA with Ed25519"
        ))),
    }
}

/// Only the public members of an EC/OKP JWK; refuses private ones.
fn public_members(jwk: &Value) -> Result<Value, ProofError> {
    let obj = jwk
        .as_object()
        .ok_or_else(|| ProofError::Key("jwk is not an object".into()))?;
    if ["d", "p", "q", "dp", "dq", "qi", "k"]
        .iter()
        .any(|m| obj.contains_key(*m))
    {
        return Err(ProofError::PrivateKey);
    }
    let mut out = Map::new();
    for m in ["kty", "crv", "x", "y"] {
        if let Some(v) = obj.get(m) {
            out.insert(m.into(), v.clone());
        }
    }
    match (
        out.get("kty").and_then(Value::as_str),
        out.get("crv").and_then(Value::as_str),
    ) {
        (Some("EC"), Some("P-256" | "P-384")) | (Some("OKP"), Some("Ed25519")) => {
            Ok(Value::Object(out))
        }
        _ => Err(ProofError::Key(
            "the proof key must be EC P-256, EC P-384 or OKP Ed25519".into(),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::{Signature, SigningKey};
    use serde_json::json;

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    fn holder() -> (SigningKey, Value) {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let p = key.verifying_key().to_encoded_point(false);
        let jwk = json!({"kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(p.x().unwrap()), "y": URL_SAFE_NO_PAD.encode(p.y().unwrap())});
        (key, jwk)
    }

    fn sign(key: &SigningKey, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header), b64(claims));
        let sig: Signature = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    const AUD: &str = "https://issuer.example";
    fn check() -> ProofCheck<'static> {
        ProofCheck {
            audience: AUD,
            audience_trailing_slash: true,
            now: 1_000_000,
            max_age: 300,
            max_skew: 60,
        }
    }

    #[test]
    fn valid_proof_yields_key_and_nonce() {
        let (key, jwk) = holder();
        let jwt = sign(
            &key,
            &json!({"typ": PROOF_TYP, "alg": "ES256", "jwk": jwk}),
            &json!({"aud": AUD, "iat": 1_000_000, "nonce": "n1"}),
        );
        let p = verify(&jwt, check()).unwrap();
        assert_eq!(p.holder_key, jwk);
        assert_eq!(p.nonce, "n1");
    }

    #[test]
    fn did_jwk_kid_is_accepted() {
        let (key, jwk) = holder();
        let kid = format!("did:jwk:{}#0", b64(&jwk));
        let jwt = sign(
            &key,
            &json!({"typ": PROOF_TYP, "alg": "ES256", "kid": kid}),
            &json!({"aud": [AUD], "iat": 1_000_000, "nonce": "n1"}),
        );
        assert_eq!(verify(&jwt, check()).unwrap().holder_key, jwk);
    }

    type SignFn = Box<dyn Fn(&[u8]) -> Vec<u8>>;

    /// A ring key pair for `alg` and its public JWK.
    fn ring_holder(alg: &str) -> (SignFn, Value) {
        use ring::signature::{self as sig, KeyPair as _};
        let rng = ring::rand::SystemRandom::new();
        if alg == "EdDSA" {
            let pkcs8 = sig::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
            let pair = sig::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
            let jwk = json!({"kty": "OKP", "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())});
            return (Box::new(move |m| pair.sign(m).as_ref().to_vec()), jwk);
        }
        let a = &sig::ECDSA_P384_SHA384_FIXED_SIGNING;
        let pkcs8 = sig::EcdsaKeyPair::generate_pkcs8(a, &rng).unwrap();
        let pair = sig::EcdsaKeyPair::from_pkcs8(a, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let jwk = json!({"kty": "EC", "crv": "P-384",
            "x": URL_SAFE_NO_PAD.encode(&point[1..49]), "y": URL_SAFE_NO_PAD.encode(&point[49..])});
        (
            Box::new(move |m| pair.sign(&rng, m).unwrap().as_ref().to_vec()),
            jwk,
        )
    }

    #[test]
    fn es384_and_eddsa_proofs_verify_and_must_match_their_key() {
        for alg in ["ES384", "EdDSA"] {
            let (sign_with, jwk) = ring_holder(alg);
            let input = format!(
                "{}.{}",
                b64(&json!({"typ": PROOF_TYP, "alg": alg, "jwk": jwk})),
                b64(&json!({"aud": AUD, "iat": 1_000_000, "nonce": "n1"}))
            );
            let jwt = format!(
                "{input}.{}",
                URL_SAFE_NO_PAD.encode(sign_with(input.as_bytes()))
            );
            assert_eq!(verify(&jwt, check()).unwrap().holder_key, jwk, "{alg}");
            let tampered = format!("{}x", &jwt[..jwt.len() - 1]);
            assert!(verify(&tampered, check()).is_err(), "{alg}");
        }
        // An ES256 header over an Ed25519 key is refused before any signature check.
        let (_, jwk) = ring_holder("EdDSA");
        let (key, _) = holder();
        let jwt = sign(
            &key,
            &json!({"typ": PROOF_TYP, "alg": "ES256", "jwk": jwk}),
            &json!({"aud": AUD, "iat": 1_000_000, "nonce": "n1"}),
        );
        assert!(matches!(verify(&jwt, check()), Err(ProofError::Key(_))));
    }

    #[test]
    fn each_rule_is_enforced() {
        let (key, jwk) = holder();
        let (other, _) = holder();
        let h = json!({"typ": PROOF_TYP, "alg": "ES256", "jwk": jwk});
        let c = json!({"aud": AUD, "iat": 1_000_000, "nonce": "n1"});
        let cases: Vec<(String, ProofError)> = vec![
            (
                sign(&key, &json!({"typ": "JWT", "alg": "ES256", "jwk": jwk}), &c),
                ProofError::Typ("JWT".into()),
            ),
            (sign(&other, &h, &c), ProofError::Signature),
            (
                sign(
                    &key,
                    &h,
                    &json!({"aud": "https://evil", "iat": 1_000_000, "nonce": "n"}),
                ),
                ProofError::Audience(AUD.into()),
            ),
            (
                sign(
                    &key,
                    &h,
                    &json!({"aud": AUD, "iat": 1_000_000 - 301, "nonce": "n"}),
                ),
                ProofError::IssuedAt,
            ),
            (
                sign(
                    &key,
                    &h,
                    &json!({"aud": AUD, "iat": 1_000_000 + 61, "nonce": "n"}),
                ),
                ProofError::IssuedAt,
            ),
            (
                sign(&key, &h, &json!({"aud": AUD, "iat": 1_000_000})),
                ProofError::MissingNonce,
            ),
        ];
        for (jwt, expected) in cases {
            assert_eq!(verify(&jwt, check()).unwrap_err(), expected);
        }
        let mut private = jwk.clone();
        private["d"] = json!("AAAA");
        let jwt = sign(
            &key,
            &json!({"typ": PROOF_TYP, "alg": "ES256", "jwk": private}),
            &c,
        );
        assert_eq!(verify(&jwt, check()).unwrap_err(), ProofError::PrivateKey);
        let jwt = sign(
            &key,
            &json!({"typ": PROOF_TYP, "alg": "HS256", "jwk": jwk}),
            &c,
        );
        assert_eq!(
            verify(&jwt, check()).unwrap_err(),
            ProofError::Alg("HS256".into())
        );
        assert!(matches!(
            verify("not.a.jwt", check()),
            Err(ProofError::Malformed(_))
        ));
    }

    /// A proof over `claims` with `extra` header members.
    fn proof_with(extra: &Value, claims: &Value) -> String {
        let (key, jwk) = holder();
        let mut header = json!({"typ": PROOF_TYP, "alg": "ES256", "jwk": jwk});
        for (k, v) in extra.as_object().unwrap() {
            header[k] = v.clone();
        }
        sign(&key, &header, claims)
    }

    fn claims_with(extra: &Value) -> Value {
        let mut c = json!({"aud": AUD, "iat": 1_000_000, "nonce": "n1"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    }

    #[test]
    fn exp_and_nbf_are_checked_with_the_clock_skew() {
        let now = check().now;
        let skew = check().max_skew;
        let cases: Vec<(Value, Result<(), ProofError>)> = vec![
            (json!({"exp": now + 1}), Ok(())),
            (json!({"exp": now - skew + 1}), Ok(())),
            (json!({"exp": now - skew}), Err(ProofError::Expired)),
            (json!({"exp": now - 3600}), Err(ProofError::Expired)),
            (
                json!({"exp": (now - skew) as f64 - 0.5}),
                Err(ProofError::Expired),
            ),
            (json!({"nbf": now}), Ok(())),
            (json!({"nbf": now + skew}), Ok(())),
            (json!({"nbf": now + skew + 1}), Err(ProofError::NotYetValid)),
            (json!({"nbf": now + 3600}), Err(ProofError::NotYetValid)),
            (json!({"nbf": now - 10, "exp": now + 10}), Ok(())),
            (
                json!({"exp": "tomorrow"}),
                Err(ProofError::NumericDate("exp")),
            ),
            (json!({"nbf": null}), Err(ProofError::NumericDate("nbf"))),
            (
                json!({"iat": "1000000"}),
                Err(ProofError::NumericDate("iat")),
            ),
            (json!({"iat": 1_000_000.25}), Ok(())),
        ];
        for (extra, expected) in cases {
            let jwt = proof_with(&json!({}), &claims_with(&extra));
            assert_eq!(verify(&jwt, check()).map(|_| ()), expected, "{extra}");
        }
    }

    #[test]
    fn crit_is_refused_unless_well_formed_and_understood() {
        let critical = |why: &str| Err(ProofError::Critical(why.to_owned()));
        let cases: Vec<(Value, Result<(), ProofError>)> = vec![
            (json!({}), Ok(())),
            (
                json!({"crit": ["b64"], "b64": false}),
                critical("names the extension b64, which this issuer does not understand"),
            ),
            (
                json!({"crit": ["exp"], "exp": 1}),
                critical("names the extension exp, which this issuer does not understand"),
            ),
            (json!({"crit": []}), critical("must not be an empty array")),
            (
                json!({"crit": "b64", "b64": false}),
                critical("must be an array of header parameter names"),
            ),
            (
                json!({"crit": [1]}),
                critical("must contain only header parameter names (strings)"),
            ),
            (
                json!({"crit": ["alg"]}),
                critical("must not name alg, a header parameter registered by RFC 7515/7518"),
            ),
            (
                json!({"crit": ["x5t#S256"], "x5t#S256": "AA"}),
                critical("must not name x5t#S256, a header parameter registered by RFC 7515/7518"),
            ),
            (
                json!({"crit": ["ext"]}),
                critical("names ext, which is not in the header"),
            ),
            (
                json!({"crit": ["ext", "ext"], "ext": 1}),
                critical("names ext twice"),
            ),
            (
                json!({"crit": [""]}),
                critical("must not name an empty header parameter"),
            ),
        ];
        for (extra, expected) in cases {
            let jwt = proof_with(&extra, &claims_with(&json!({})));
            assert_eq!(verify(&jwt, check()).map(|_| ()), expected, "{extra}");
        }
    }

    #[test]
    fn aud_may_differ_by_one_trailing_slash_unless_turned_off() {
        let strict = ProofCheck {
            audience_trailing_slash: false,
            ..check()
        };
        let with_slash = ProofCheck {
            audience: "https://issuer.example/tenant/",
            ..check()
        };
        let cases: Vec<(Value, ProofCheck<'_>, bool)> = vec![
            (json!(AUD), check(), true),
            (json!(AUD), strict, true),
            (json!(format!("{AUD}/")), check(), true),
            (json!([format!("{AUD}/")]), check(), true),
            (json!(format!("{AUD}/")), strict, false),
            (json!(format!("{AUD}//")), check(), false),
            (json!("https://ISSUER.example"), check(), false),
            (json!("https://issuer.example:443"), check(), false),
            (json!(format!("{AUD}/x")), check(), false),
            (json!("https://issuer.example/tenant"), with_slash, true),
            (json!("https://issuer.example/tenant/"), with_slash, true),
            (json!("https://issuer.example/tenant//"), with_slash, false),
            (json!("https://issuer.example/tenan"), with_slash, false),
            (json!([AUD, "https://other.example"]), check(), false),
            (json!(42), check(), false),
        ];
        for (aud, c, accepted) in cases {
            let jwt = proof_with(&json!({}), &claims_with(&json!({"aud": aud})));
            let result = verify(&jwt, c);
            assert_eq!(
                result.is_ok(),
                accepted,
                "{aud} against {}: {result:?}",
                c.audience
            );
            if !accepted {
                assert_eq!(
                    result.unwrap_err(),
                    ProofError::Audience(c.audience.to_owned())
                );
            }
        }
    }

    /// Proof shapes of wallet libraries (ADR 0015): which are accepted
    /// and which refused.
    #[test]
    fn wallet_library_proof_shapes() {
        let (key, jwk) = holder();
        let claims = claims_with(&json!({}));
        let header = |extra: Value| {
            let mut h = json!({"typ": PROOF_TYP, "alg": "ES256", "jwk": jwk});
            for (k, v) in extra.as_object().unwrap() {
                h[k] = v.clone();
            }
            h
        };
        let mut decorated = jwk.clone();
        for (k, v) in [
            ("kid", json!("key-1")),
            ("alg", json!("ES256")),
            ("use", json!("sig")),
            ("key_ops", json!("[sign, verify]")),
        ] {
            decorated[k] = v;
        }
        let accepted: Vec<(&str, Value, Value)> = vec![
            (
                "Impierce/walt.id: iss, sub, jti and exp in the claims",
                header(json!({})),
                claims_with(&json!({"iss": "did:key:z6Mk", "sub": "did:key:z6Mk",
                    "jti": "1", "exp": 1_000_300})),
            ),
            (
                "Sphereon: fractional iat and exp",
                header(json!({})),
                claims_with(&json!({"iat": 999_940.123, "exp": 1_000_600.123})),
            ),
            (
                "walt.id: extra JWK members",
                json!({"typ": PROOF_TYP, "alg": "ES256", "jwk": decorated}),
                claims.clone(),
            ),
            (
                "walt.id: trust_chain header",
                header(json!({"trust_chain": ["eyJ..."]})),
                claims.clone(),
            ),
            (
                "oid4vc-ts: key_attestation header",
                header(json!({"key_attestation": "eyJ..."})),
                claims.clone(),
            ),
        ];
        for (quirk, h, c) in accepted {
            let p = verify(&sign(&key, &h, &c), check());
            assert_eq!(p.map(|p| p.holder_key), Ok(jwk.clone()), "{quirk}");
        }
        let refused: Vec<(&str, Value)> = vec![
            (
                "walt.id: kid and jwk together",
                header(json!({"kid": "did:key:z6Mk#z6Mk"})),
            ),
            (
                "walt.id: x5c only",
                json!({"typ": PROOF_TYP, "alg": "ES256", "x5c": ["MIIB"]}),
            ),
            (
                "Impierce: a did:key kid",
                json!({"typ": PROOF_TYP, "alg": "ES256", "kid": "did:key:zDnae#zDnae"}),
            ),
        ];
        for (quirk, h) in refused {
            let e = verify(&sign(&key, &h, &claims), check()).unwrap_err();
            assert!(matches!(e, ProofError::Key(_)), "{quirk}: {e:?}");
        }
    }
}
