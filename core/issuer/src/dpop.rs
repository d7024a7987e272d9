//! DPoP proofs (RFC 9449): checking the `DPoP` header of a request as §4.3
//! prescribes. Remembering `jti`s against replay and issuing server nonces
//! are the caller's job (they need a store); this module checks one proof
//! and returns what the caller needs for that (`jti`, `iat`, `jkt`).

use serde_json::{Map, Value};
use thiserror::Error;

use crate::jws::{self, JwsError};

/// The `typ` every DPoP proof must carry.
pub const DPOP_TYP: &str = "dpop+jwt";

/// DPoP signing algorithms accepted (`dpop_signing_alg_values_supported`).
pub const DPOP_ALGORITHMS: &[&str] = &["ES256", "ES384", "EdDSA", "RS256", "PS256"];

/// The longest `jti` accepted, in characters.
pub const MAX_JTI_LEN: usize = 256;

/// Why a DPoP proof was refused. [`DpopError::UseNonce`] asks the client to
/// retry with the nonce the server sends back; everything else is
/// `invalid_dpop_proof`.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DpopError {
    /// Not a compact JWS, or undecodable parts.
    #[error("the DPoP proof is not a well-formed JWT: {0}")]
    Malformed(String),
    /// `typ` missing or not `dpop+jwt`.
    #[error("the DPoP proof's typ must be dpop+jwt, got {0}")]
    Typ(String),
    /// `alg` not accepted.
    #[error(
        "the DPoP proof's alg {0} is not supported; sign with ES256, ES384, EdDSA, RS256 or PS256"
    )]
    Alg(String),
    /// No usable public key in the header, or one that cannot verify `alg`.
    #[error("the DPoP proof's header must carry the public key as jwk: {0}")]
    Key(String),
    /// The header key carries private members.
    #[error("the DPoP proof's jwk contains private key material ({0}); send only the public key")]
    PrivateKey(String),
    /// The signature does not verify with the header key.
    #[error("the DPoP proof's signature does not verify with its jwk")]
    Signature,
    /// `jti` missing, empty, not a string or too long.
    #[error("the DPoP proof needs a jti: a unique string of 1 to 256 characters")]
    Jti,
    /// `htm` is not the request's method.
    #[error("the DPoP proof's htm {got} is not this request's method {expected} (case matters)")]
    Htm {
        /// The request's method.
        expected: String,
        /// The proof's `htm` (`nothing` when absent).
        got: String,
    },
    /// `htu` is not the endpoint's URL.
    #[error("the DPoP proof's htu {got} is not this endpoint {expected}")]
    Htu {
        /// The endpoint's URL.
        expected: String,
        /// The proof's `htu` (`nothing` when absent).
        got: String,
    },
    /// `iat` missing or not a number.
    #[error("the DPoP proof needs iat, the time it was made in seconds since the epoch")]
    MissingIat,
    /// `iat` further in the past than the accepted age.
    #[error(
        "the DPoP proof's iat {iat} is too old for the server time {now}; make a fresh proof for every request"
    )]
    TooOld {
        /// The proof's `iat` (whole seconds).
        iat: i64,
        /// The server time.
        now: i64,
    },
    /// `iat` further in the future than the accepted clock skew.
    #[error(
        "the DPoP proof's iat {iat} is ahead of the server time {now}; check the client's clock"
    )]
    TooNew {
        /// The proof's `iat` (whole seconds).
        iat: i64,
        /// The server time.
        now: i64,
    },
    /// `ath` missing or not the hash of the access token sent along.
    #[error(
        "the DPoP proof's ath must be base64url(SHA-256(access token)) of the access token sent with it"
    )]
    Ath,
    /// `nonce` missing or not the server's current nonce: answer
    /// `use_dpop_nonce` with a fresh `DPoP-Nonce` header.
    #[error(
        "the DPoP proof must carry the nonce from the server's latest DPoP-Nonce header; retry with that nonce"
    )]
    UseNonce,
}

impl DpopError {
    /// The plain-words explanation for the `error_description` member, one a
    /// client developer can act on.
    pub fn description(&self) -> String {
        self.to_string()
    }

    /// The OAuth error code: `use_dpop_nonce` for [`DpopError::UseNonce`]
    /// (RFC 9449 §8 and §9), `invalid_dpop_proof` otherwise (§5 and §7.1).
    pub fn error_code(&self) -> &'static str {
        match self {
            DpopError::UseNonce => "use_dpop_nonce",
            _ => "invalid_dpop_proof",
        }
    }
}

/// What a proof is checked against.
#[derive(Debug, Clone, Copy)]
pub struct DpopCheck<'a> {
    /// The request's HTTP method (`htm`), e.g. `POST`.
    pub method: &'a str,
    /// The endpoint's URL (`htu`), as the client addresses it.
    pub url: &'a str,
    /// Current time (Unix seconds).
    pub now: i64,
    /// Oldest accepted `iat`, in seconds before now.
    pub max_age: i64,
    /// How far `iat` may lie in the future, in seconds.
    pub max_skew: i64,
    /// The access token presented with the proof, whose hash `ath` must be
    /// (resource requests); `None` at the token endpoint.
    pub access_token: Option<&'a str>,
    /// The nonce the server requires, if any.
    pub nonce: Option<&'a str>,
}

/// A verified proof.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedDpop {
    /// The RFC 7638 SHA-256 thumbprint of the proof key (`cnf.jkt`).
    pub jkt: String,
    /// The proof's `jti`, to be refused if seen again within `max_age`.
    pub jti: String,
    /// The proof's `iat` (whole seconds).
    pub iat: i64,
    /// The proof's `nonce`, if it carried one.
    pub nonce: Option<String>,
    /// The proof key (public members only).
    pub jwk: Value,
}

/// A [`JwsError`] in the terms of a DPoP proof.
fn from_jws(e: JwsError) -> DpopError {
    match e {
        JwsError::Malformed(why) => DpopError::Malformed(why),
        JwsError::UnsupportedAlgorithm(alg) => DpopError::Alg(alg),
        JwsError::PrivateKey(member) => DpopError::PrivateKey(member),
        JwsError::BadSignature => DpopError::Signature,
        e @ (JwsError::KeyMismatch { .. } | JwsError::InvalidKey(_)) => {
            DpopError::Key(e.to_string())
        }
    }
}

/// A string member of the header or claims.
fn string<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m str> {
    map.get(name).and_then(Value::as_str)
}

/// Verify one DPoP proof (RFC 9449 §4.3): typ, alg, jwk, signature, jti,
/// htm, htu, iat, then ath and nonce when the check asks for them. The
/// nonce is checked last, so that [`DpopError::UseNonce`] is only returned
/// for a proof that retrying with a fresh nonce will fix.
pub fn verify(proof: &str, check: DpopCheck<'_>) -> Result<VerifiedDpop, DpopError> {
    let parts = jws::split(proof).map_err(from_jws)?;
    let (header, claims) = (&parts.header, &parts.claims);
    match string(header, "typ") {
        Some(DPOP_TYP) => {}
        other => return Err(DpopError::Typ(other.unwrap_or("nothing").to_owned())),
    }
    let alg = match string(header, "alg") {
        Some(alg) if DPOP_ALGORITHMS.contains(&alg) => alg,
        other => return Err(DpopError::Alg(other.unwrap_or("nothing").to_owned())),
    };
    jws::refuse_critical(header).map_err(from_jws)?;
    let jwk = match header.get("jwk") {
        Some(jwk @ Value::Object(_)) => jws::public_jwk(jwk).map_err(from_jws)?,
        Some(_) => return Err(DpopError::Key("jwk must be a JSON object".into())),
        None => return Err(DpopError::Key("there is no jwk".into())),
    };
    jws::verify_with_jwk(alg, &jwk, parts.signing_input.as_bytes(), &parts.signature)
        .map_err(from_jws)?;
    let jti = string(claims, "jti")
        .filter(|j| !j.is_empty() && j.chars().count() <= MAX_JTI_LEN)
        .ok_or(DpopError::Jti)?;
    match string(claims, "htm") {
        Some(htm) if htm == check.method => {}
        other => {
            return Err(DpopError::Htm {
                expected: check.method.to_owned(),
                got: other.unwrap_or("nothing").to_owned(),
            });
        }
    }
    match string(claims, "htu") {
        Some(htu) if normalise(htu).is_some_and(|u| Some(u) == normalise(check.url)) => {}
        other => {
            return Err(DpopError::Htu {
                expected: check.url.to_owned(),
                got: other.unwrap_or("nothing").to_owned(),
            });
        }
    }
    let iat = check_iat(claims, check)?;
    if let Some(token) = check.access_token {
        let expected = jws::sha256_b64url(token.as_bytes());
        if !string(claims, "ath").is_some_and(|ath| jws::constant_time_eq(ath, &expected)) {
            return Err(DpopError::Ath);
        }
    }
    let nonce = string(claims, "nonce");
    if let Some(expected) = check.nonce
        && !nonce.is_some_and(|n| jws::constant_time_eq(n, expected))
    {
        return Err(DpopError::UseNonce);
    }
    Ok(VerifiedDpop {
        jkt: jws::thumbprint(&jwk).map_err(from_jws)?,
        jti: jti.to_owned(),
        iat,
        nonce: nonce.map(str::to_owned),
        jwk,
    })
}

/// `iat` (a number, possibly fractional) within `[now - max_age, now +
/// max_skew]`; returned in whole seconds.
fn check_iat(claims: &Map<String, Value>, check: DpopCheck<'_>) -> Result<i64, DpopError> {
    let iat = claims
        .get("iat")
        .and_then(Value::as_f64)
        .filter(|t| t.is_finite())
        .ok_or(DpopError::MissingIat)?;
    let now = check.now as f64;
    let whole = iat.floor() as i64;
    if iat < now - check.max_age as f64 {
        return Err(DpopError::TooOld {
            iat: whole,
            now: check.now,
        });
    }
    if iat > now + check.max_skew as f64 {
        return Err(DpopError::TooNew {
            iat: whole,
            now: check.now,
        });
    }
    Ok(whole)
}

/// `url` reduced for comparing `htu` (RFC 9449 §4.3, RFC 3986 §6.2.2 and
/// §6.2.3): scheme and host lower-cased, an empty or default port (80 for
/// http, 443 for https) removed, an empty path made `/`, query and fragment
/// dropped; the path is kept exactly. `None` for what is not an absolute
/// URL with a host, or has user information or a bad port.
fn normalise(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.');
    if !scheme.starts_with(|c: char| c.is_ascii_alphabetic()) || !scheme.bytes().all(scheme_char) {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let rest = rest.find(['?', '#']).map_or(rest, |end| &rest[..end]);
    let (authority, path) = rest
        .find('/')
        .map_or((rest, "/"), |start| (&rest[..start], &rest[start..]));
    if authority.contains('@') {
        return None;
    }
    // The port follows the last colon, unless that colon is inside an IPv6
    // literal (`[::1]`).
    let (host, port) = match authority.rfind(':') {
        Some(colon) if !authority[colon..].contains(']') => {
            (&authority[..colon], &authority[colon + 1..])
        }
        _ => (authority, ""),
    };
    if host.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port = match port {
        "" => None,
        digits => Some(digits.parse::<u16>().ok()?),
    };
    let default = match scheme.as_str() {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    };
    let host = host.to_ascii_lowercase();
    Some(match port.filter(|p| Some(*p) != default) {
        Some(port) => format!("{scheme}://{host}:{port}{path}"),
        None => format!("{scheme}://{host}{path}"),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::jws::test_keys::{TestKey, b64, with};
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;
    const URL: &str = "https://issuer.example/token";

    fn check() -> DpopCheck<'static> {
        DpopCheck {
            method: "POST",
            url: URL,
            now: NOW,
            max_age: 300,
            max_skew: 60,
            access_token: None,
            nonce: None,
        }
    }

    fn header(key: &TestKey) -> Value {
        json!({"typ": DPOP_TYP, "alg": key.alg, "jwk": key.jwk})
    }

    fn claims() -> Value {
        json!({"jti": "j-1", "htm": "POST", "htu": URL, "iat": NOW})
    }

    /// A proof by a fresh ES256 key with `claims()` changed by `extra`.
    fn proof(extra: Value) -> String {
        let key = TestKey::new("ES256");
        key.jwt(&header(&key), &with(claims(), extra))
    }

    #[test]
    fn a_valid_proof_yields_its_key_thumbprint_and_jti() {
        for alg in DPOP_ALGORITHMS {
            let key = TestKey::new(alg);
            let proof = key.jwt(&header(&key), &claims());
            let verified = verify(&proof, check()).unwrap();
            assert_eq!(
                verified,
                VerifiedDpop {
                    jkt: jws::thumbprint(&key.jwk).unwrap(),
                    jti: "j-1".into(),
                    iat: NOW,
                    nonce: None,
                    jwk: key.jwk.clone(),
                },
                "{alg}"
            );
        }
    }

    #[test]
    fn the_header_must_be_a_dpop_header() {
        let key = TestKey::new("ES256");
        let sign = |h: Value| verify(&key.jwt(&h, &claims()), check());
        let h = header(&key);
        assert_eq!(
            sign(with(h.clone(), json!({"typ": "JWT"}))),
            Err(DpopError::Typ("JWT".into()))
        );
        assert_eq!(
            sign(with(h.clone(), json!({"typ": null}))),
            Err(DpopError::Typ("nothing".into()))
        );
        assert_eq!(
            sign(with(h.clone(), json!({"typ": "DPoP+JWT"}))),
            Err(DpopError::Typ("DPoP+JWT".into()))
        );
        for alg in ["none", "HS256", "RS512", "ES512"] {
            assert_eq!(
                sign(with(h.clone(), json!({"alg": alg}))),
                Err(DpopError::Alg(alg.into()))
            );
        }
        assert!(matches!(
            sign(with(h.clone(), json!({"alg": "ES384"}))),
            Err(DpopError::Key(_))
        ));
        assert!(matches!(
            sign(with(h.clone(), json!({"jwk": null}))),
            Err(DpopError::Key(_))
        ));
        assert!(matches!(
            sign(with(h.clone(), json!({"jwk": "AAAA"}))),
            Err(DpopError::Key(_))
        ));
        assert!(matches!(
            sign(with(h.clone(), json!({"crit": ["x"], "x": 1}))),
            Err(DpopError::Malformed(_))
        ));
        let mut private = key.jwk.clone();
        private["d"] = json!("AAAA");
        assert_eq!(
            sign(with(h, json!({"jwk": private}))),
            Err(DpopError::PrivateKey("d".into()))
        );
        // An unsigned proof.
        let none = format!(
            "{}.{}.",
            b64(&json!({"typ": DPOP_TYP, "alg": "none", "jwk": key.jwk})),
            b64(&claims())
        );
        assert_eq!(verify(&none, check()), Err(DpopError::Alg("none".into())));
        assert!(matches!(
            verify("a.b", check()),
            Err(DpopError::Malformed(_))
        ));
    }

    #[test]
    fn the_signature_must_be_by_the_header_key() {
        let (key, other) = (TestKey::new("ES256"), TestKey::new("ES256"));
        let proof = key.jwt(&header(&other), &claims());
        assert_eq!(verify(&proof, check()), Err(DpopError::Signature));
        let proof = key.jwt(&header(&key), &claims());
        let tampered = format!(
            "{}.{}.{}",
            proof.split('.').next().unwrap(),
            b64(&with(claims(), json!({"jti": "j-2"}))),
            proof.rsplit('.').next().unwrap()
        );
        assert_eq!(verify(&tampered, check()), Err(DpopError::Signature));
    }

    #[test]
    fn jti_must_be_a_short_non_empty_string() {
        assert!(verify(&proof(json!({"jti": "j".repeat(256)})), check()).is_ok());
        for jti in [json!(null), json!(""), json!(7), json!("j".repeat(257))] {
            assert_eq!(
                verify(&proof(json!({"jti": jti})), check()),
                Err(DpopError::Jti),
                "{jti}"
            );
        }
    }

    #[test]
    fn htm_must_be_the_method_exactly() {
        for htm in ["post", "GET", "POST "] {
            assert_eq!(
                verify(&proof(json!({"htm": htm})), check()),
                Err(DpopError::Htm {
                    expected: "POST".into(),
                    got: htm.into()
                })
            );
        }
        assert_eq!(
            verify(&proof(json!({"htm": null})), check()),
            Err(DpopError::Htm {
                expected: "POST".into(),
                got: "nothing".into()
            })
        );
    }

    #[test]
    fn htu_is_compared_after_normalisation() {
        let accepted = [
            URL,
            "HTTPS://Issuer.Example/token",
            "https://issuer.example:443/token",
            "https://issuer.example:/token",
            "https://issuer.example/token?x=1",
            "https://issuer.example/token#f",
            "https://issuer.example/token?",
        ];
        for htu in accepted {
            assert!(
                verify(&proof(json!({"htu": htu})), check()).is_ok(),
                "{htu}"
            );
        }
        let refused = [
            "http://issuer.example/token",
            "https://issuer.example:8443/token",
            "https://issuer.example/Token",
            "https://issuer.example/token/",
            "https://issuer.example/%74oken",
            "https://other.example/token",
            "https://user@issuer.example/token",
            "https://issuer.example:+443/token",
            "https://issuer.example:99999/token",
            "issuer.example/token",
            "/token",
            "",
        ];
        for htu in refused {
            assert_eq!(
                verify(&proof(json!({"htu": htu})), check()),
                Err(DpopError::Htu {
                    expected: URL.into(),
                    got: htu.into()
                }),
                "{htu}"
            );
        }
        // Default ports on either side, for either scheme.
        let http = DpopCheck {
            url: "http://LOCALHOST:80/token",
            ..check()
        };
        for htu in [
            "http://localhost/token",
            "http://localhost:80/token",
            "http://localhost:0080/token",
        ] {
            assert!(verify(&proof(json!({"htu": htu})), http).is_ok(), "{htu}");
        }
        assert!(verify(&proof(json!({"htu": "http://localhost:443/token"})), http).is_err());
        let ipv6 = DpopCheck {
            url: "https://[::1]:8443",
            ..check()
        };
        assert!(verify(&proof(json!({"htu": "https://[::1]:8443/"})), ipv6).is_ok());
        assert!(verify(&proof(json!({"htu": "https://[::1]/"})), ipv6).is_err());
        assert_eq!(
            verify(&proof(json!({"htu": null})), check()),
            Err(DpopError::Htu {
                expected: URL.into(),
                got: "nothing".into()
            })
        );
        assert_eq!(
            normalise("HTTPS://Issuer.Example:443?q#f").as_deref(),
            Some("https://issuer.example/")
        );
    }

    #[test]
    fn iat_must_be_recent() {
        for iat in [
            json!(NOW - 10),
            json!(NOW + 10),
            json!(NOW - 300),
            json!(NOW + 60),
            json!(NOW as f64 + 0.5),
        ] {
            assert!(
                verify(&proof(json!({"iat": iat})), check()).is_ok(),
                "{iat}"
            );
        }
        let too_old = |iat| Err(DpopError::TooOld { iat, now: NOW });
        let too_new = |iat| Err(DpopError::TooNew { iat, now: NOW });
        assert_eq!(
            verify(&proof(json!({"iat": NOW - 3600})), check()),
            too_old(NOW - 3600)
        );
        assert_eq!(
            verify(&proof(json!({"iat": NOW - 301})), check()),
            too_old(NOW - 301)
        );
        assert_eq!(
            verify(&proof(json!({"iat": NOW + 3600})), check()),
            too_new(NOW + 3600)
        );
        assert_eq!(
            verify(&proof(json!({"iat": NOW + 61})), check()),
            too_new(NOW + 61)
        );
        for iat in [json!(null), json!("1700000000"), json!([NOW])] {
            assert_eq!(
                verify(&proof(json!({"iat": iat})), check()),
                Err(DpopError::MissingIat),
                "{iat}"
            );
        }
    }

    #[test]
    fn ath_must_hash_the_access_token() {
        let token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
        let ath = jws::sha256_b64url(token.as_bytes());
        let with_token = DpopCheck {
            access_token: Some(token),
            ..check()
        };
        assert!(verify(&proof(json!({"ath": ath})), with_token).is_ok());
        for wrong in [
            json!(null),
            json!(jws::sha256_b64url(b"other")),
            json!(token),
            json!(ath.to_uppercase()),
        ] {
            assert_eq!(
                verify(&proof(json!({"ath": wrong})), with_token),
                Err(DpopError::Ath),
                "{wrong}"
            );
        }
        // Without an access token (token endpoint), ath is not looked at.
        assert!(verify(&proof(json!({"ath": "whatever"})), check()).is_ok());
    }

    #[test]
    fn a_required_nonce_must_be_carried() {
        let with_nonce = DpopCheck {
            nonce: Some("n-1"),
            ..check()
        };
        let verified = verify(&proof(json!({"nonce": "n-1"})), with_nonce).unwrap();
        assert_eq!(verified.nonce.as_deref(), Some("n-1"));
        for nonce in [json!(null), json!("n-2"), json!(""), json!(1)] {
            let e = verify(&proof(json!({"nonce": nonce})), with_nonce).unwrap_err();
            assert_eq!(e, DpopError::UseNonce, "{nonce}");
            assert_eq!(e.error_code(), "use_dpop_nonce");
        }
        // A nonce is reported even when none is required.
        let verified = verify(&proof(json!({"nonce": "n-9"})), check()).unwrap();
        assert_eq!(verified.nonce.as_deref(), Some("n-9"));
        // Other faults come first: a fresh nonce would not fix them.
        assert!(matches!(
            verify(&proof(json!({"htm": "GET"})), with_nonce),
            Err(DpopError::Htm { .. })
        ));
    }

    #[test]
    fn descriptions_say_what_to_fix() {
        let e = DpopError::Htu {
            expected: "http://y/token".into(),
            got: "http://x/token".into(),
        };
        assert_eq!(
            e.description(),
            "the DPoP proof's htu http://x/token is not this endpoint http://y/token"
        );
        assert_eq!(e.error_code(), "invalid_dpop_proof");
        let e = verify(&proof(json!({"jti": null})), check()).unwrap_err();
        assert_eq!(
            e.description(),
            "the DPoP proof needs a jti: a unique string of 1 to 256 characters"
        );
    }
}
