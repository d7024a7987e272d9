//! Compact JWS (RFC 7515) verification against a JWK, with `ring`: the
//! shared ground of DPoP proofs ([`crate::dpop`]) and ID tokens
//! ([`crate::id_token`]).
//!
//! Only asymmetric algorithms are verified (ES256, ES384, EdDSA/Ed25519,
//! RS256, PS256). `none` and the HMAC algorithms (`HS256`…) are refused
//! whatever the caller asks, so a public key can never be used as an HMAC
//! secret, and the key type must match the algorithm.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Signing algorithms this module verifies (JOSE names).
pub const ALGORITHMS: &[&str] = &["ES256", "ES384", "EdDSA", "RS256", "PS256"];

/// JWK members that carry private or symmetric key material (RFC 7518
/// §6.2.2, §6.3.2 and §6.4.1, RFC 8037 §2).
pub const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

/// The smallest RSA modulus accepted, in bits.
pub const RSA_MIN_BITS: usize = 2048;

/// The largest RSA modulus accepted, in bits.
pub const RSA_MAX_BITS: usize = 8192;

/// Why a JWS or a JWK was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum JwsError {
    /// Not three base64url parts, or a header or payload that is not a
    /// JSON object.
    #[error("not a well-formed compact JWS: {0}")]
    Malformed(String),
    /// `alg` is `none`, symmetric (`HS*`) or otherwise not verified here.
    #[error("alg {0} is not supported; sign with ES256, ES384, EdDSA, RS256 or PS256")]
    UnsupportedAlgorithm(String),
    /// The key cannot verify this algorithm (wrong `kty` or `crv`, or a
    /// key `alg` member naming another algorithm).
    #[error(
        "alg {alg} cannot be verified with {key}; ES256 needs an EC P-256 key, ES384 an EC P-384 key, EdDSA an OKP Ed25519 key, RS256 and PS256 an RSA key"
    )]
    KeyMismatch {
        /// The algorithm of the JWS.
        alg: String,
        /// What the key is, in words ("an EC P-521 key").
        key: String,
    },
    /// The JWK lacks a member, or a member is not a valid value.
    #[error("the JWK is not a usable public key: {0}")]
    InvalidKey(String),
    /// The JWK carries private key material (the named member).
    #[error("the JWK contains the private member {0}; send only the public key")]
    PrivateKey(String),
    /// The signature does not verify with the key.
    #[error("the signature does not verify with the key")]
    BadSignature,
}

/// A compact JWS taken apart; nothing in it is verified yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Parts {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The payload, which must be a JSON object (JWT claims).
    pub claims: Map<String, Value>,
    /// What was signed: the encoded header, `.`, the encoded payload.
    pub signing_input: String,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

fn malformed(why: &str) -> JwsError {
    JwsError::Malformed(why.to_owned())
}

/// Take a compact JWS apart: three parts of unpadded base64url (padding,
/// whitespace and non-canonical trailing bits are refused) whose first two
/// decode to JSON objects.
pub fn split(jwt: &str) -> Result<Parts, JwsError> {
    let mut parts = jwt.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("a compact JWS has three parts separated by dots"));
    };
    let signature = URL_SAFE_NO_PAD
        .decode(s64)
        .map_err(|_| malformed("the signature is not unpadded base64url"))?;
    Ok(Parts {
        header: json_object(h64, "header")?,
        claims: json_object(p64, "payload")?,
        signing_input: format!("{h64}.{p64}"),
        signature,
    })
}

/// The longest `jti` [`jti`] takes (a `urn:uuid:` is 45 characters).
pub const JTI_MAX_CHARS: usize = 200;

/// The `jti` of a credential that is a compact JWS (a `jwt_vc_json`
/// credential): its payload's `jti` when that is a string of at most
/// [`JTI_MAX_CHARS`] characters. Nothing is verified: this reads what the
/// issuer itself just signed. `None` for anything else (an SD-JWT with its
/// disclosures, an mdoc, a payload without a string `jti`).
pub fn jti(credential: &str) -> Option<String> {
    let parts = split(credential).ok()?;
    match parts.claims.get("jti") {
        Some(Value::String(jti)) if jti.chars().count() <= JTI_MAX_CHARS => Some(jti.clone()),
        _ => None,
    }
}

/// One base64url part decoded as a JSON object.
fn json_object(part: &str, name: &str) -> Result<Map<String, Value>, JwsError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwsError::Malformed(format!("the {name} is not unpadded base64url")))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| JwsError::Malformed(format!("the {name} is not a JSON object")))
}

/// RFC 7515 §4.1.11: a JWS whose `crit` names an extension the recipient
/// does not understand must be refused. This module understands none, so a
/// header with `crit` is refused (a malformed `crit` as well).
pub fn refuse_critical(header: &Map<String, Value>) -> Result<(), JwsError> {
    if header.contains_key("crit") {
        return Err(malformed(
            "the header lists crit extensions, which this server does not understand",
        ));
    }
    Ok(())
}

/// The `kty` and (for EC and OKP) `crv` that `alg` needs.
fn required_key(alg: &str) -> Option<(&'static str, Option<&'static str>)> {
    match alg {
        "ES256" => Some(("EC", Some("P-256"))),
        "ES384" => Some(("EC", Some("P-384"))),
        "EdDSA" => Some(("OKP", Some("Ed25519"))),
        "RS256" | "PS256" => Some(("RSA", None)),
        _ => None,
    }
}

/// Whether `jwk` can verify `alg`: its `kty` and `crv` are the ones the
/// algorithm needs, and its `alg` member, if any, names `alg`. The key
/// material itself is not checked.
pub fn key_fits(alg: &str, jwk: &Value) -> bool {
    check_fit(alg, jwk).is_ok()
}

fn check_fit(alg: &str, jwk: &Value) -> Result<(), JwsError> {
    let (kty, crv) =
        required_key(alg).ok_or_else(|| JwsError::UnsupportedAlgorithm(alg.to_owned()))?;
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    let mismatch = |key: String| JwsError::KeyMismatch {
        alg: alg.to_owned(),
        key,
    };
    if member("kty") != Some(kty) || (crv.is_some() && member("crv") != crv) {
        let what = [member("kty"), member("crv")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        return Err(mismatch(if what.is_empty() {
            "a key without kty".to_owned()
        } else {
            format!("an {what} key")
        }));
    }
    match jwk.get("alg") {
        Some(declared) if declared.as_str() != Some(alg) => {
            let declared = declared
                .as_str()
                .map_or_else(|| declared.to_string(), str::to_owned);
            Err(mismatch(format!("a key declared for alg {declared}")))
        }
        _ => Ok(()),
    }
}

/// The key of `jwks` (`{"keys": [...]}`) that verifies a JWS signed with
/// `alg` under `kid`: the one with that `kid`, or, when the JWS names none,
/// the only one fitting `alg`. Keys whose `use` is not `sig`, or that do not
/// fit `alg` ([`key_fits`]), are never chosen. `None`: no usable key (the
/// caller may fetch the JWKS again, once: the keys may have rotated).
pub fn select_key<'k>(jwks: &'k Value, kid: Option<&str>, alg: &str) -> Option<&'k Value> {
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let usable = |key: &&Value| {
        key.get("use").is_none_or(|u| u.as_str() == Some("sig")) && key_fits(alg, key)
    };
    let candidates: Vec<&Value> = keys
        .iter()
        .filter(|key| kid.is_none_or(|kid| key.get("kid").and_then(Value::as_str) == Some(kid)))
        .filter(usable)
        .collect();
    match (candidates.as_slice(), kid) {
        ([key], _) => Some(key),
        // The same kid on several fitting keys: the issuer's mistake; the
        // first is taken.
        ([key, ..], Some(_)) => Some(key),
        _ => None,
    }
}

/// Why a JWS did not verify against a key set ([`verify_with_jwks`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySetError {
    /// `alg` missing, not accepted, or not asymmetric.
    UnsupportedAlgorithm(String),
    /// A `crit` header, or a `kid` that is not a string.
    Malformed(String),
    /// No usable key for the `kid` (or, without one, not exactly one).
    UnknownKey(Option<String>),
    /// The selected key is unusable.
    InvalidKey(String),
    /// The signature does not verify.
    BadSignature,
}

/// Verify the signature of `parts` with the key of `jwks` its header names
/// ([`select_key`]), for an `alg` among `algorithms` (and [`ALGORITHMS`]);
/// a `crit` header is refused. Shared by ID tokens and JWT access tokens.
pub fn verify_with_jwks(
    parts: &Parts,
    jwks: &Value,
    algorithms: &[&str],
) -> Result<(), KeySetError> {
    let alg = match parts.header.get("alg").and_then(Value::as_str) {
        Some(alg) if algorithms.contains(&alg) && ALGORITHMS.contains(&alg) => alg,
        other => {
            return Err(KeySetError::UnsupportedAlgorithm(
                other.unwrap_or("nothing").chars().take(20).collect(),
            ));
        }
    };
    refuse_critical(&parts.header).map_err(|e| KeySetError::Malformed(e.to_string()))?;
    let kid = match parts.header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(KeySetError::Malformed("kid must be a string".into())),
    };
    let key = select_key(jwks, kid, alg)
        .ok_or_else(|| KeySetError::UnknownKey(kid.map(|k| k.chars().take(100).collect())))?;
    verify_with_jwk(alg, key, parts.signing_input.as_bytes(), &parts.signature).map_err(|e| match e
    {
        JwsError::BadSignature => KeySetError::BadSignature,
        other => KeySetError::InvalidKey(other.to_string()),
    })
}

/// Why a token's `exp`, `iat` or `nbf` is refused ([`check_times`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeFault {
    /// A time claim that is not a number of seconds.
    Malformed(String),
    /// A required time claim (`exp`, or `iat` when required) is missing.
    Missing(&'static str),
    /// `exp` has passed, beyond the skew.
    Expired {
        /// Whole seconds.
        exp: i64,
    },
    /// `iat` lies in the future, beyond the skew.
    IssuedInFuture {
        /// Whole seconds.
        iat: i64,
    },
    /// `nbf` lies in the future, beyond the skew.
    NotYetValid {
        /// Whole seconds.
        nbf: i64,
    },
}

/// `exp` (required, not passed), `iat` (required when `iat_required`, not
/// in the future) and `nbf` (optional, not in the future) of `claims`, with
/// `skew` seconds of clock skew around `now`.
pub fn check_times(
    claims: &Map<String, Value>,
    now: i64,
    skew: i64,
    iat_required: bool,
) -> Result<(), TimeFault> {
    let time = |name: &str| -> Result<Option<f64>, TimeFault> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .filter(|t| t.is_finite())
                .map(Some)
                .ok_or_else(|| {
                    TimeFault::Malformed(format!(
                        "{name} must be a number of seconds since the epoch"
                    ))
                }),
        }
    };
    let (now, skew) = (now as f64, skew as f64);
    let exp = time("exp")?.ok_or(TimeFault::Missing("exp"))?;
    if exp <= now - skew {
        return Err(TimeFault::Expired {
            exp: exp.floor() as i64,
        });
    }
    match time("iat")? {
        Some(iat) if iat > now + skew => {
            return Err(TimeFault::IssuedInFuture {
                iat: iat.floor() as i64,
            });
        }
        None if iat_required => return Err(TimeFault::Missing("iat")),
        _ => {}
    }
    if let Some(nbf) = time("nbf")?
        && nbf > now + skew
    {
        return Err(TimeFault::NotYetValid {
            nbf: nbf.floor() as i64,
        });
    }
    Ok(())
}

/// Verify `signature` over `signing_input` with the public members of
/// `jwk` for `alg`. Private members, if any, are ignored here; use
/// [`public_jwk`] to refuse them. RSA moduli of 2048 to 8192 bits are
/// accepted; ECDSA signatures are the fixed-size `r || s` of RFC 7518 §3.4.
pub fn verify_with_jwk(
    alg: &str,
    jwk: &Value,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<(), JwsError> {
    check_fit(alg, jwk)?;
    let member = |name: &str| -> Result<Vec<u8>, JwsError> {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .ok_or_else(|| JwsError::InvalidKey(format!("member {name} must be base64url")))
    };
    let sized = |name: &str, len: usize| -> Result<Vec<u8>, JwsError> {
        Some(member(name)?)
            .filter(|b| b.len() == len)
            .ok_or_else(|| JwsError::InvalidKey(format!("member {name} must be {len} bytes")))
    };
    let ec_point = |len: usize| -> Result<Vec<u8>, JwsError> {
        let mut point = vec![0x04];
        point.extend(sized("x", len)?);
        point.extend(sized("y", len)?);
        Ok(point)
    };
    let with = |algorithm: &'static dyn VerificationAlgorithm, key: Vec<u8>| {
        UnparsedPublicKey::new(algorithm, key)
            .verify(signing_input, signature)
            .map_err(|_| JwsError::BadSignature)
    };
    match alg {
        "ES256" => with(&signature::ECDSA_P256_SHA256_FIXED, ec_point(32)?),
        "ES384" => with(&signature::ECDSA_P384_SHA384_FIXED, ec_point(48)?),
        "EdDSA" => with(&signature::ED25519, sized("x", 32)?),
        "RS256" | "PS256" => {
            let (n, e) = (member("n")?, member("e")?);
            let (n, e) = (rsa_modulus(&n)?, rsa_exponent(&e)?);
            let params = if alg == "RS256" {
                &signature::RSA_PKCS1_2048_8192_SHA256
            } else {
                &signature::RSA_PSS_2048_8192_SHA256
            };
            RsaPublicKeyComponents { n, e }
                .verify(params, signing_input, signature)
                .map_err(|_| JwsError::BadSignature)
        }
        _ => Err(JwsError::UnsupportedAlgorithm(alg.to_owned())),
    }
}

/// The modulus without leading zero octets (which RFC 7518 §6.3.1.1
/// forbids but some providers send), checked for size.
fn rsa_modulus(n: &[u8]) -> Result<&[u8], JwsError> {
    let n = without_leading_zeros(n);
    let bits = n
        .first()
        .map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize);
    if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        return Err(JwsError::InvalidKey(format!(
            "the RSA modulus has {bits} bits; {RSA_MIN_BITS} to {RSA_MAX_BITS} are accepted"
        )));
    }
    Ok(n)
}

/// The public exponent without leading zero octets: odd, at least 3 and at
/// most 32 bits (65537 in practice).
fn rsa_exponent(e: &[u8]) -> Result<&[u8], JwsError> {
    let e = without_leading_zeros(e);
    let value = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    if e.len() > 4 || value < 3 || value % 2 == 0 {
        return Err(JwsError::InvalidKey(
            "the RSA exponent must be odd, at least 3 and at most 32 bits".into(),
        ));
    }
    Ok(e)
}

fn without_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// The members RFC 7638 §3.2 requires for the key's `kty`, in
/// lexicographic order, with their (string) values.
fn required_members(jwk: &Value) -> Result<Vec<(&'static str, &str)>, JwsError> {
    let obj = jwk
        .as_object()
        .ok_or_else(|| JwsError::InvalidKey("a JWK must be a JSON object".into()))?;
    let names: &[&'static str] = match obj.get("kty").and_then(Value::as_str) {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("OKP") => &["crv", "kty", "x"],
        Some("RSA") => &["e", "kty", "n"],
        Some(other) => {
            return Err(JwsError::InvalidKey(format!(
                "kty {other} is not supported; use EC, OKP or RSA"
            )));
        }
        None => return Err(JwsError::InvalidKey("kty is missing".into())),
    };
    names
        .iter()
        .map(|name| match obj.get(*name).and_then(Value::as_str) {
            Some(value) => Ok((*name, value)),
            None => Err(JwsError::InvalidKey(format!(
                "member {name} is missing or not a string"
            ))),
        })
        .collect()
}

/// The public key of `jwk`: refuses private members ([`PRIVATE_MEMBERS`])
/// and returns only the members that make up the public key (EC: `crv`,
/// `kty`, `x`, `y`; OKP: `crv`, `kty`, `x`; RSA: `e`, `kty`, `n`), dropping
/// `kid`, `alg`, `use` and any other metadata.
pub fn public_jwk(jwk: &Value) -> Result<Value, JwsError> {
    if let Some(obj) = jwk.as_object()
        && let Some(private) = PRIVATE_MEMBERS.iter().find(|m| obj.contains_key(**m))
    {
        return Err(JwsError::PrivateKey((*private).to_owned()));
    }
    let public = required_members(jwk)?
        .into_iter()
        .map(|(name, value)| (name.to_owned(), Value::String(value.to_owned())))
        .collect();
    Ok(Value::Object(public))
}

/// The RFC 7638 JWK SHA-256 thumbprint of `jwk`, base64url: the hash of
/// its required members in lexicographic order, without whitespace. Other
/// members (including private ones) do not change it.
pub fn thumbprint(jwk: &Value) -> Result<String, JwsError> {
    let members = required_members(jwk)?
        .into_iter()
        .map(|(name, value)| format!("\"{name}\":{}", Value::String(value.to_owned())))
        .collect::<Vec<_>>()
        .join(",");
    Ok(sha256_b64url(format!("{{{members}}}").as_bytes()))
}

/// base64url (unpadded) of the SHA-256 of `data`: PKCE S256, DPoP `ath`,
/// JWK thumbprints.
pub fn sha256_b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(data))
}

/// Compares two strings in time that depends only on their lengths.
#[inline(never)]
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Keys and signing helpers for the tests of this module and of
/// [`crate::dpop`] and [`crate::id_token`].
#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
pub(crate) mod test_keys {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
    use serde_json::json;

    /// A fixed 2048-bit RSA key (PKCS#8 DER, base64): `ring` cannot
    /// generate RSA keys. Made with `openssl genpkey -algorithm RSA -pkeyopt
    /// rsa_keygen_bits:2048` and `openssl pkcs8 -topk8 -nocrypt`.
    const RSA_PKCS8: &[&str] = &[
        "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCoAX6hduA/Kt+pa8CfKhTrjaax",
        "2DynUNczfkQLA9JzkBKHynB1hbNw2FseP8s/mDOuZrk4Ay0Fl81hpoUUW1FOlUf7fBaCO1L3iyLn",
        "tgW1mdhfRP2U4giYcCj4UtlfNugBoua8FDCL/LZWUqFzYUJkxqJGNGmzhOUbz4quArvBwqBGcqBE",
        "VShyCkmYOVnPeImcf6Z748xxzwcwzrvlvbLU+pwNlm76S/iBhBV5WG5Sln41fQeqtwuT0rbDPm9e",
        "DmbPF/fV+q7pOlNPbWlOICIdIafxHZgbuWmSD56YShj+7cMVuiyMcyl1Ssa+WgAUiYa4DL6Gpimq",
        "sKkRoWWESBVTAgMBAAECggEAGHAnOFtvYSDeaemHml9nrZ/sOIBoyjnDI/Vg9m025qJ1X5U96Ipr",
        "QKXoEy1aZkTAd8TvektT+DVNpb+wKfbii9jBIL67E3SHrARsLmJW0ESxqaICdO6wK2RdQUnj3qrA",
        "8sP8Zi1Vpnc7GrFoVL04CCqwnh+vpHJXVUVKOeeh4hwtsvx5Abzux7YpRWKwmNzx35Mw3iPizhvs",
        "Mjqrh1LY0vm+eaz3FEWj7OtUEBRQrOAEsjUYLHtTWO3SwE8lRolQniSXKT5xW0YZ9qhlT72P8Y20",
        "YtHnsU+3GB7pJ7R6pfuN+iQDCWvxwXKseLqwqhof9A0vMSrGeRdA9W7THVMM+QKBgQDol7xepYMK",
        "B0mqxcq/ABqpZbCq6oju0rLjv2q+gk4YRXFyqDrZU0+d7h8d6j3jiM/uytVqdsY2MWna43vtrU9Q",
        "5TIZJoGQDUX02Et7PSH4Dnz9Kt/I1NjAHj+iUkCxkLDVo0S5Mh0NMUbCBTMgbmZH+bXxx8O/3GLD",
        "nwCin/r0twKBgQC46dArs6lChLjOa2u7V6L6fYN75QMUx6q5tt2eUzucOvveyLS/KY7PiYFaLuAW",
        "XuCzZSDge9ez4/naST7TSBtn4wtnWa9ZhCEg3lmZaywX37Y0VXJLr5/aJKxemMHUEeGf7XNnqOKU",
        "UdxiTIXRsMAtyzmu9HxuX+oa7DPF0JzgRQKBgQDlpLrFL+E7S4q+Y18UScQJMG/HsJzWP42EM3/u",
        "7LSyXg3uyI6h+BGJuotae+Xy+ydhez5PSUnWQ99h0GyRdCX1lvVpw4z0b0Z8wfl0ih05zwQ06dnd",
        "bdk7hiIJ3/Aj4NnXdMXrm8D3P4m/EmcyRA4UTkYHm9Z3Xd7dieWUqyOZ7QKBgF1Ekdt5I0aJ6y0y",
        "wYQdD/eIl2lGeedhTpudwOq60LZcie41DfXd4EqN8NCsFBs0f+H8gDi6PnJd6whPKYEoPaqIupfG",
        "hMuB+bO6czcO946TKDP9ZUkHrHk7RjXwltOAsW0ZN7xxUte88owiTN0XadevSckVSC3j8xDhUrvU",
        "HUyBAoGBALnQO5W218uzjwcjW+XbxuhApDTLnEEnesq+LDR6f/qCmcCBFYo0iX+z9++njg1XIqv3",
        "t8Ws57JDUVKn8cOVRcrxOebEcc8iHOuXjjGszvJfoVg9+kZbJpCODsJcKdIcdbTCJVIna2ERaHPq",
        "bx3u1+CC826g6kLgZpKHxMlatHQh",
    ];

    type SignFn = Box<dyn Fn(&[u8]) -> Vec<u8>>;

    /// A private key for one algorithm and its public JWK.
    pub(crate) struct TestKey {
        /// The JOSE algorithm the key signs with.
        pub(crate) alg: &'static str,
        /// The public JWK (no `kid`).
        pub(crate) jwk: Value,
        sign: SignFn,
    }

    impl TestKey {
        /// A fresh key for `alg` (ES256, ES384, EdDSA), or the fixed RSA
        /// key for RS256 and PS256.
        pub(crate) fn new(alg: &'static str) -> Self {
            use ring::signature as sig;
            let rng = SystemRandom::new();
            let (jwk, sign): (Value, SignFn) = match alg {
                "ES256" | "ES384" => {
                    let (signing, len) = if alg == "ES256" {
                        (&sig::ECDSA_P256_SHA256_FIXED_SIGNING, 32)
                    } else {
                        (&sig::ECDSA_P384_SHA384_FIXED_SIGNING, 48)
                    };
                    let pkcs8 = EcdsaKeyPair::generate_pkcs8(signing, &rng).unwrap();
                    let pair = EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref(), &rng).unwrap();
                    let point = pair.public_key().as_ref().to_vec();
                    let crv = if len == 32 { "P-256" } else { "P-384" };
                    let jwk = json!({"kty": "EC", "crv": crv,
                        "x": URL_SAFE_NO_PAD.encode(&point[1..=len]),
                        "y": URL_SAFE_NO_PAD.encode(&point[len + 1..])});
                    (
                        jwk,
                        Box::new(move |m| pair.sign(&rng, m).unwrap().as_ref().to_vec()),
                    )
                }
                "EdDSA" => {
                    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
                    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
                    let jwk = json!({"kty": "OKP", "crv": "Ed25519",
                        "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())});
                    (jwk, Box::new(move |m| pair.sign(m).as_ref().to_vec()))
                }
                "RS256" | "PS256" => {
                    let der = base64::engine::general_purpose::STANDARD
                        .decode(RSA_PKCS8.concat())
                        .unwrap();
                    let pair = RsaKeyPair::from_pkcs8(&der).unwrap();
                    let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
                    let jwk = json!({"kty": "RSA",
                        "n": URL_SAFE_NO_PAD.encode(&public.n),
                        "e": URL_SAFE_NO_PAD.encode(&public.e)});
                    let padding: &'static dyn sig::RsaEncoding = if alg == "RS256" {
                        &sig::RSA_PKCS1_SHA256
                    } else {
                        &sig::RSA_PSS_SHA256
                    };
                    let sign = move |m: &[u8]| {
                        let mut out = vec![0; pair.public().modulus_len()];
                        pair.sign(padding, &rng, m, &mut out).unwrap();
                        out
                    };
                    (jwk, Box::new(sign))
                }
                _ => panic!("no test key for {alg}"),
            };
            Self { alg, jwk, sign }
        }

        /// The raw signature of `input`.
        pub(crate) fn sign(&self, input: &[u8]) -> Vec<u8> {
            (self.sign)(input)
        }

        /// A compact JWS of `claims` under `header` (taken as given).
        pub(crate) fn jwt(&self, header: &Value, claims: &Value) -> String {
            let input = format!("{}.{}", b64(header), b64(claims));
            let sig = self.sign(input.as_bytes());
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
        }
    }

    /// `base` (an object) with the members of `extra` set, and those
    /// `extra` sets to `null` removed.
    pub(crate) fn with(mut base: Value, extra: Value) -> Value {
        let (Some(out), Value::Object(extra)) = (base.as_object_mut(), extra) else {
            panic!("with() takes two objects");
        };
        for (k, v) in extra {
            if v.is_null() {
                out.remove(&k);
            } else {
                out.insert(k, v);
            }
        }
        base
    }

    /// base64url of a JSON value.
    pub(crate) fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::test_keys::{TestKey, b64};
    use super::*;
    use serde_json::json;

    fn verify(alg: &str, jwk: &Value, jwt: &str) -> Result<(), JwsError> {
        let parts = split(jwt)?;
        verify_with_jwk(alg, jwk, parts.signing_input.as_bytes(), &parts.signature)
    }

    #[test]
    fn split_takes_a_compact_jws_apart() {
        let key = TestKey::new("ES256");
        let jwt = key.jwt(&json!({"alg": "ES256"}), &json!({"sub": "a"}));
        let parts = split(&jwt).unwrap();
        assert_eq!(parts.header["alg"], "ES256");
        assert_eq!(parts.claims["sub"], "a");
        assert_eq!(parts.signature.len(), 64);
        assert_eq!(
            jwt,
            format!(
                "{}.{}",
                parts.signing_input,
                URL_SAFE_NO_PAD.encode(&parts.signature)
            )
        );
    }

    #[test]
    fn jti_is_read_from_a_compact_jws_payload_only() {
        let key = TestKey::new("ES256");
        let header = json!({"alg": "ES256", "typ": "JWT"});
        let jwt = |claims: Value| key.jwt(&header, &claims);
        let uuid = "urn:uuid:0b7e4c4e-54a3-4b8c-9a3c-2f1d0c6f1a2b";
        assert_eq!(
            jti(&jwt(json!({"jti": uuid, "sub": "a"}))).as_deref(),
            Some(uuid)
        );
        let longest = "a".repeat(JTI_MAX_CHARS);
        assert_eq!(jti(&jwt(json!({"jti": longest}))), Some(longest));
        for claims in [
            json!({"sub": "a"}),
            json!({"jti": 7}),
            json!({"jti": null}),
            json!({"jti": ["a"]}),
            json!({"jti": "a".repeat(JTI_MAX_CHARS + 1)}),
        ] {
            assert_eq!(jti(&jwt(claims.clone())), None, "{claims}");
        }
        // An SD-JWT (disclosures after `~`) and an mdoc (base64url CBOR) have none.
        let with_jti = jwt(json!({"jti": uuid}));
        assert_eq!(jti(&format!("{with_jti}~WyJzYWx0IiwiYSIsMV0~")), None);
        assert_eq!(jti("omdkb2NUeXBldW9yZy5pc28uMTgwMTMuNS4xLm1ETA"), None);
        assert_eq!(jti(""), None);
    }

    #[test]
    fn split_refuses_what_is_not_a_compact_jws() {
        let (h, c) = (b64(&json!({"alg": "ES256"})), b64(&json!({"sub": "a"})));
        let cases = [
            "".to_owned(),
            format!("{h}.{c}"),
            format!("{h}.{c}.AAAA.AAAA"),
            format!("{h}.{c}.AAAA.AAAA.AAAA"),
            format!("{h}=.{c}.AAAA"),
            format!("{h}.{c}.AA=="),
            format!("{h}.{c}.AB"),
            format!("{h}.{c}.+/"),
            format!(" {h}.{c}.AAAA"),
            format!("{h}.{}.AAAA", b64(&json!(["sub"]))),
            format!("{h}.{}.AAAA", b64(&json!("sub"))),
            format!("{}.{c}.AAAA", URL_SAFE_NO_PAD.encode("not json")),
            format!(".{c}.AAAA"),
        ];
        for jwt in cases {
            assert!(matches!(split(&jwt), Err(JwsError::Malformed(_))), "{jwt}");
        }
        // An empty signature splits (alg none); verification refuses it.
        assert!(split(&format!("{h}.{c}.")).unwrap().signature.is_empty());
    }

    #[test]
    fn every_algorithm_verifies_and_detects_tampering() {
        for alg in ALGORITHMS {
            let key = TestKey::new(alg);
            let jwt = key.jwt(&json!({"alg": alg}), &json!({"sub": "a"}));
            assert_eq!(verify(alg, &key.jwk, &jwt), Ok(()), "{alg}");
            let parts = split(&jwt).unwrap();
            let mut sig = parts.signature.clone();
            sig[10] ^= 1;
            assert_eq!(
                verify_with_jwk(alg, &key.jwk, parts.signing_input.as_bytes(), &sig),
                Err(JwsError::BadSignature),
                "{alg}"
            );
            let other = key.jwt(&json!({"alg": alg}), &json!({"sub": "b"}));
            let forged = format!(
                "{}.{}",
                split(&other).unwrap().signing_input,
                jwt.rsplit('.').next().unwrap()
            );
            assert_eq!(
                verify(alg, &key.jwk, &forged),
                Err(JwsError::BadSignature),
                "{alg}"
            );
            assert_eq!(
                verify_with_jwk(alg, &key.jwk, parts.signing_input.as_bytes(), &[]),
                Err(JwsError::BadSignature),
                "{alg}"
            );
        }
        // A signature by another key of the same type.
        let (a, b) = (TestKey::new("ES256"), TestKey::new("ES256"));
        let jwt = a.jwt(&json!({"alg": "ES256"}), &json!({}));
        assert_eq!(verify("ES256", &b.jwk, &jwt), Err(JwsError::BadSignature));
        // RS256 and PS256 signatures are not interchangeable.
        let rs = TestKey::new("RS256");
        let jwt = rs.jwt(&json!({"alg": "PS256"}), &json!({}));
        assert_eq!(verify("PS256", &rs.jwk, &jwt), Err(JwsError::BadSignature));
    }

    #[test]
    fn none_symmetric_and_unknown_algorithms_are_refused() {
        let key = TestKey::new("RS256");
        for alg in [
            "none", "HS256", "HS384", "HS512", "RS512", "ES512", "Ed25519", "",
        ] {
            assert_eq!(
                verify_with_jwk(alg, &key.jwk, b"x", b""),
                Err(JwsError::UnsupportedAlgorithm(alg.into()))
            );
        }
        let oct = json!({"kty": "oct", "k": "c2VjcmV0"});
        assert_eq!(
            verify_with_jwk("HS256", &oct, b"x", b""),
            Err(JwsError::UnsupportedAlgorithm("HS256".into()))
        );
    }

    #[test]
    fn the_key_type_must_match_the_algorithm() {
        let (p256, p384, ed, rsa) = (
            TestKey::new("ES256"),
            TestKey::new("ES384"),
            TestKey::new("EdDSA"),
            TestKey::new("RS256"),
        );
        let mismatch = |alg: &str, key: &str| {
            Err(JwsError::KeyMismatch {
                alg: alg.into(),
                key: key.into(),
            })
        };
        let cases = [
            ("ES256", &p384.jwk, "an EC P-384 key"),
            ("ES384", &p256.jwk, "an EC P-256 key"),
            ("ES256", &ed.jwk, "an OKP Ed25519 key"),
            ("EdDSA", &p256.jwk, "an EC P-256 key"),
            ("RS256", &p256.jwk, "an EC P-256 key"),
            ("PS256", &ed.jwk, "an OKP Ed25519 key"),
            ("ES256", &rsa.jwk, "an RSA key"),
        ];
        for (alg, jwk, key) in cases {
            assert_eq!(verify_with_jwk(alg, jwk, b"x", b""), mismatch(alg, key));
            assert!(!key_fits(alg, jwk));
        }
        assert_eq!(
            verify_with_jwk("ES256", &json!({}), b"x", b""),
            mismatch("ES256", "a key without kty")
        );
        let mut declared = rsa.jwk.clone();
        declared["alg"] = json!("PS256");
        assert!(key_fits("PS256", &declared));
        assert!(!key_fits("RS256", &declared));
        assert_eq!(
            verify_with_jwk("RS256", &declared, b"x", b""),
            mismatch("RS256", "a key declared for alg PS256")
        );
        let jwt = rsa.jwt(&json!({}), &json!({}));
        declared["alg"] = json!("RS256");
        assert_eq!(verify("RS256", &declared, &jwt), Ok(()));
    }

    #[test]
    fn unusable_key_material_is_refused() {
        let invalid = |jwk: Value, alg: &str| {
            let r = verify_with_jwk(alg, &jwk, b"x", &[0; 64]);
            assert!(matches!(r, Err(JwsError::InvalidKey(_))), "{jwk}: {r:?}");
        };
        let ec = TestKey::new("ES256").jwk;
        let mut short = ec.clone();
        short["x"] = json!("AAAA");
        invalid(short, "ES256");
        let mut padded = ec.clone();
        padded["y"] = json!(format!("{}=", ec["y"].as_str().unwrap()));
        invalid(padded, "ES256");
        let mut missing = ec.clone();
        missing.as_object_mut().unwrap().remove("y");
        invalid(missing, "ES256");
        invalid(json!({"kty": "OKP", "crv": "Ed25519", "x": 1}), "EdDSA");
        // RSA: 1024-bit and 8200-bit moduli, bad exponents.
        let modulus = |bytes: usize| URL_SAFE_NO_PAD.encode(vec![0xc5; bytes]);
        invalid(
            json!({"kty": "RSA", "n": modulus(128), "e": "AQAB"}),
            "RS256",
        );
        invalid(
            json!({"kty": "RSA", "n": modulus(1025), "e": "AQAB"}),
            "RS256",
        );
        for e in ["", "AA", "AQ", "Ag", "AAE", "AQAAAAE"] {
            invalid(json!({"kty": "RSA", "n": modulus(256), "e": e}), "PS256");
        }
        // A leading zero octet in n (forbidden, but seen) is tolerated.
        let key = TestKey::new("RS256");
        let n = URL_SAFE_NO_PAD
            .decode(key.jwk["n"].as_str().unwrap())
            .unwrap();
        let mut zeroed = key.jwk.clone();
        zeroed["n"] = json!(URL_SAFE_NO_PAD.encode([&[0u8][..], &n].concat()));
        let jwt = key.jwt(&json!({"alg": "RS256"}), &json!({}));
        assert_eq!(verify("RS256", &zeroed, &jwt), Ok(()));
    }

    #[test]
    fn public_jwk_keeps_the_public_key_and_refuses_private_members() {
        for alg in ["ES256", "ES384", "EdDSA", "RS256"] {
            let key = TestKey::new(alg);
            let mut decorated = key.jwk.clone();
            decorated["kid"] = json!("k1");
            decorated["use"] = json!("sig");
            decorated["x5c"] = json!(["MIIB"]);
            assert_eq!(public_jwk(&decorated), Ok(key.jwk.clone()), "{alg}");
            for member in PRIVATE_MEMBERS {
                let mut private = key.jwk.clone();
                private[*member] = json!("AAAA");
                assert_eq!(
                    public_jwk(&private),
                    Err(JwsError::PrivateKey((*member).into()))
                );
            }
        }
        for jwk in [
            json!("EC"),
            json!({}),
            json!({"kty": "EC", "crv": "P-256", "x": "AAAA"}),
            json!({"kty": "RSA", "n": 5, "e": "AQAB"}),
            json!({"kty": "foo"}),
        ] {
            assert!(
                matches!(public_jwk(&jwk), Err(JwsError::InvalidKey(_))),
                "{jwk}"
            );
        }
    }

    /// RFC 7638 §3.1.
    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Ok("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn thumbprint_uses_only_the_required_members() {
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "BBBB"});
        let expected = sha256_b64url(br#"{"crv":"P-256","kty":"EC","x":"AAAA","y":"BBBB"}"#);
        assert_eq!(thumbprint(&jwk), Ok(expected.clone()));
        let reordered =
            json!({"y": "BBBB", "kid": "k", "d": "CCCC", "x": "AAAA", "kty": "EC", "crv": "P-256"});
        assert_eq!(thumbprint(&reordered), Ok(expected));
        let okp = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert_eq!(
            thumbprint(&okp),
            Ok(sha256_b64url(br#"{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#))
        );
        assert!(thumbprint(&json!({"kty": "EC", "crv": "P-256", "x": "AAAA"})).is_err());
        assert!(thumbprint(&json!({"kty": "oct", "k": "AAAA"})).is_err());
    }

    #[test]
    fn refuse_critical_refuses_any_crit() {
        let header = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(refuse_critical(&header(json!({"alg": "ES256"}))), Ok(()));
        for crit in [json!(["b64"]), json!([]), json!("x")] {
            let h = header(json!({"alg": "ES256", "crit": crit, "b64": false}));
            assert!(matches!(refuse_critical(&h), Err(JwsError::Malformed(_))));
        }
    }

    #[test]
    fn helpers() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        assert!(constant_time_eq("", ""));
        assert_eq!(
            sha256_b64url(b""),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }
}
