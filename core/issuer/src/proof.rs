//! Verification of `jwt` key proofs (OID4VCI 1.0 App. F.1 and F.4).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use thiserror::Error;

/// The `typ` every proof must carry.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// Proof signing algorithms Sigil accepts.
pub const PROOF_ALGORITHMS: &[&str] = &["ES256"];

/// Why a proof was rejected. [`ProofError::Nonce`] maps to `invalid_nonce`,
/// everything else to `invalid_proof`.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    /// Not a compact JWS, or undecodable parts.
    #[error("proof is not a well-formed JWT: {0}")]
    Malformed(String),
    /// `typ` missing or not `openid4vci-proof+jwt`.
    #[error("proof typ must be openid4vci-proof+jwt, got {0}")]
    Typ(String),
    /// `alg` not accepted.
    #[error("proof alg {0} is not supported; use one of ES256")]
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
    /// `nonce` missing.
    #[error("proof has no nonce; get one from the nonce endpoint")]
    MissingNonce,
    /// `nonce` is not a valid, unused c_nonce.
    #[error("proof nonce is invalid or expired; get a fresh one from the nonce endpoint")]
    Nonce,
}

/// A verified proof.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedProof {
    /// The holder's public key (public members only).
    pub holder_key: Value,
    /// The proof's nonce.
    pub nonce: String,
}

/// What a proof is checked against.
#[derive(Debug, Clone, Copy)]
pub struct ProofCheck<'a> {
    /// The credential issuer identifier (`aud`).
    pub audience: &'a str,
    /// Current time (Unix seconds).
    pub now: i64,
    /// Oldest accepted `iat`, in seconds before now.
    pub max_age: i64,
    /// Accepted clock skew into the future, in seconds.
    pub max_skew: i64,
}

#[derive(Deserialize)]
struct Claims {
    iat: Option<i64>,
    nonce: Option<String>,
}

/// Verify one proof JWT: typ, alg, key, signature, aud, iat, presence of a
/// nonce. Checking that the nonce was issued and is unused is the caller's
/// job (it needs the store).
pub fn verify(jwt: &str, check: ProofCheck<'_>) -> Result<VerifiedProof, ProofError> {
    // The header is read as raw JSON: typed JWK structs drop unknown members,
    // and a private `d` must be seen to be refused.
    let header: Map<String, Value> = jwt
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| ProofError::Malformed("the header is not base64url JSON".into()))?;
    match header.get("typ").and_then(Value::as_str) {
        Some(PROOF_TYP) => {}
        other => return Err(ProofError::Typ(other.unwrap_or("nothing").to_owned())),
    }
    match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => {}
        other => return Err(ProofError::Alg(other.unwrap_or("nothing").to_owned())),
    }
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
        (None, Some(kid)) if kid.starts_with("did:jwk:") => did_jwk(kid)?,
        _ => return Err(ProofError::Key("no jwk".into())),
    };
    let public = public_members(&jwk)?;
    let typed: Jwk =
        serde_json::from_value(public.clone()).map_err(|e| ProofError::Key(e.to_string()))?;
    let key = DecodingKey::from_jwk(&typed).map_err(|e| ProofError::Key(e.to_string()))?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data =
        jsonwebtoken::decode::<Map<String, Value>>(jwt, &key, &validation).map_err(|e| match e
            .kind()
        {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => ProofError::Signature,
            _ => ProofError::Malformed(e.to_string()),
        })?;
    let aud_ok = match data.claims.get("aud") {
        Some(Value::String(a)) => a == check.audience,
        Some(Value::Array(a)) => a.len() == 1 && a[0] == check.audience,
        _ => false,
    };
    if !aud_ok {
        return Err(ProofError::Audience(check.audience.to_owned()));
    }
    let claims: Claims = serde_json::from_value(Value::Object(data.claims))
        .map_err(|e| ProofError::Malformed(e.to_string()))?;
    match claims.iat {
        Some(iat) if iat >= check.now - check.max_age && iat <= check.now + check.max_skew => {}
        _ => return Err(ProofError::IssuedAt),
    }
    let nonce = claims
        .nonce
        .filter(|n| !n.is_empty())
        .ok_or(ProofError::MissingNonce)?;
    Ok(VerifiedProof {
        holder_key: public,
        nonce,
    })
}

/// The JWK inside a `did:jwk:<base64url JSON>` (optionally with `#0`).
fn did_jwk(kid: &str) -> Result<Value, ProofError> {
    let encoded = kid
        .trim_start_matches("did:jwk:")
        .split('#')
        .next()
        .unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| ProofError::Key("did:jwk is not base64url".into()))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| ProofError::Key("did:jwk does not hold a JWK".into()))
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
    for m in ["kty", "crv", "x", "y", "n", "e"] {
        if let Some(v) = obj.get(m) {
            out.insert(m.into(), v.clone());
        }
    }
    if out.get("kty").and_then(Value::as_str) != Some("EC")
        || out.get("crv").and_then(Value::as_str) != Some("P-256")
    {
        return Err(ProofError::Key(
            "the proof key must be an EC P-256 key (ES256)".into(),
        ));
    }
    Ok(Value::Object(out))
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
}
