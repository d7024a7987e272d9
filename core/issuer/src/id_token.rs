//! ID token validation for a relying party (OpenID Connect Core 1.0
//! §3.1.3.7): Sigil logging a user in at an external OpenID provider
//! before issuing a credential. The token comes from the provider's token
//! endpoint over TLS, but it is verified anyway: signature against the
//! provider's JWKS, issuer, audience, authorized party, times and nonce.

use serde_json::{Map, Value};
use thiserror::Error;

use crate::jws::{self, JwsError, KeySetError, TimeFault};

/// The algorithms a caller normally accepts (pass as
/// [`IdTokenCheck::algorithms`]): RS256, the OpenID default, first.
pub const DEFAULT_ALGORITHMS: &[&str] = &["RS256", "ES256", "PS256", "ES384", "EdDSA"];

/// Why an ID token was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IdTokenError {
    /// Not a compact JWS, undecodable parts, or a required claim (`exp`,
    /// `iat`) missing or not a number.
    #[error("the ID token is not a well-formed JWT: {0}")]
    Malformed(String),
    /// `alg` is not among the accepted algorithms (`none` and `HS*` never are).
    #[error("the ID token is signed with alg {0}, which this client does not accept")]
    UnsupportedAlgorithm(String),
    /// No usable key in the provider's JWKS: none with the token's `kid`
    /// (`Some`), or, for a token without `kid` (`None`), not exactly one
    /// signing key for its algorithm. The caller should fetch the JWKS again
    /// (once): the provider may have rotated its keys.
    #[error("{}", unknown_key(.0))]
    UnknownKey(Option<String>),
    /// The selected key is not a usable public key.
    #[error("the provider's signing key is unusable: {0}")]
    InvalidKey(String),
    /// The signature does not verify with the selected key.
    #[error("the ID token's signature does not verify with the provider's key")]
    BadSignature,
    /// `iss` is not the provider.
    #[error("the ID token was issued by {got}, not by the configured provider {expected}")]
    WrongIssuer {
        /// The configured issuer.
        expected: String,
        /// The token's `iss` (`nothing` when absent).
        got: String,
    },
    /// `aud` does not name this client.
    #[error("the ID token is not meant for this client: its aud does not contain {0}")]
    WrongAudience(String),
    /// `aud` has several entries and there is no `azp`.
    #[error("the ID token has several audiences but no azp naming this client")]
    MissingAzp,
    /// `azp` is not this client.
    #[error("the ID token was issued to the party {0}, not to this client")]
    WrongAzp(String),
    /// `exp` has passed, beyond the allowed clock skew.
    #[error("the ID token expired at {exp} (server time {now}); log in again")]
    Expired {
        /// The token's `exp` (whole seconds).
        exp: i64,
        /// The server time.
        now: i64,
    },
    /// `iat` lies in the future, beyond the allowed clock skew.
    #[error(
        "the ID token was issued at {iat}, after the server time {now}; the provider's or this server's clock is wrong"
    )]
    IssuedInFuture {
        /// The token's `iat` (whole seconds).
        iat: i64,
        /// The server time.
        now: i64,
    },
    /// `nbf` lies in the future, beyond the allowed clock skew.
    #[error(
        "the ID token is not valid before {nbf} (server time {now}); the provider's or this server's clock is wrong"
    )]
    NotYetValid {
        /// The token's `nbf` (whole seconds).
        nbf: i64,
        /// The server time.
        now: i64,
    },
    /// `nonce` missing or not the one sent with the authentication request.
    #[error("the ID token's nonce does not match the login this callback belongs to")]
    WrongNonce,
    /// `sub` missing or empty.
    #[error("the ID token has no sub, so it does not say who logged in")]
    MissingSubject,
}

fn unknown_key(kid: &Option<String>) -> String {
    match kid {
        Some(kid) => format!(
            "the ID token is signed with key {kid}, which is not among the provider's signing keys"
        ),
        None => "the ID token names no kid, and the provider does not publish exactly one signing key for its alg".to_owned(),
    }
}

impl IdTokenError {
    /// The plain-words explanation, for logs and the error page.
    pub fn description(&self) -> String {
        self.to_string()
    }
}

/// What an ID token is checked against.
#[derive(Debug, Clone, Copy)]
pub struct IdTokenCheck<'a> {
    /// The provider's issuer identifier, compared exactly with `iss`.
    pub issuer: &'a str,
    /// This client's `client_id` at the provider.
    pub client_id: &'a str,
    /// The nonce sent with the authentication request (never empty).
    pub nonce: &'a str,
    /// Current time (Unix seconds).
    pub now: i64,
    /// Accepted clock skew, in seconds, for `exp`, `iat` and `nbf`.
    pub max_skew: i64,
    /// Accepted signing algorithms, usually [`DEFAULT_ALGORITHMS`] or the
    /// client's `id_token_signed_response_alg`.
    pub algorithms: &'a [&'a str],
}

type Claims = Map<String, Value>;

/// Verify an ID token against the provider's JWKS (`{"keys": [...]}`) and
/// return its claims. The key is the one whose `kid` is the token's, or,
/// when the token has no `kid`, the only key fitting its algorithm; keys
/// whose `use` is not `sig`, or whose `alg` is another algorithm, are never
/// used.
pub fn verify(
    id_token: &str,
    jwks: &Value,
    check: IdTokenCheck<'_>,
) -> Result<Claims, IdTokenError> {
    let parts = jws::split(id_token).map_err(|e| match e {
        JwsError::Malformed(why) => IdTokenError::Malformed(why),
        other => IdTokenError::Malformed(other.to_string()),
    })?;
    jws::verify_with_jwks(&parts, jwks, check.algorithms).map_err(|e| match e {
        KeySetError::UnsupportedAlgorithm(alg) => IdTokenError::UnsupportedAlgorithm(alg),
        KeySetError::Malformed(why) => IdTokenError::Malformed(why),
        KeySetError::UnknownKey(kid) => IdTokenError::UnknownKey(kid),
        KeySetError::InvalidKey(why) => IdTokenError::InvalidKey(why),
        KeySetError::BadSignature => IdTokenError::BadSignature,
    })?;
    let claims = parts.claims;
    check_parties(&claims, check)?;
    jws::check_times(&claims, check.now, check.max_skew, true).map_err(|f| match f {
        TimeFault::Malformed(why) => IdTokenError::Malformed(why),
        TimeFault::Missing(name) => IdTokenError::Malformed(format!("the {name} claim is missing")),
        TimeFault::Expired { exp } => IdTokenError::Expired {
            exp,
            now: check.now,
        },
        TimeFault::IssuedInFuture { iat } => IdTokenError::IssuedInFuture {
            iat,
            now: check.now,
        },
        TimeFault::NotYetValid { nbf } => IdTokenError::NotYetValid {
            nbf,
            now: check.now,
        },
    })?;
    let nonce_ok = claims
        .get("nonce")
        .and_then(Value::as_str)
        .is_some_and(|n| !check.nonce.is_empty() && jws::constant_time_eq(n, check.nonce));
    if !nonce_ok {
        return Err(IdTokenError::WrongNonce);
    }
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() => {}
        _ => return Err(IdTokenError::MissingSubject),
    }
    Ok(claims)
}

/// `iss`, `aud` and `azp` (§3.1.3.7 points 2 to 5).
fn check_parties(claims: &Claims, check: IdTokenCheck<'_>) -> Result<(), IdTokenError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(check.issuer) {
        return Err(IdTokenError::WrongIssuer {
            expected: check.issuer.to_owned(),
            got: text("iss").unwrap_or("nothing").to_owned(),
        });
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&check.client_id) {
        return Err(IdTokenError::WrongAudience(check.client_id.to_owned()));
    }
    match claims.get("azp") {
        Some(azp) if azp.as_str() == Some(check.client_id) => Ok(()),
        Some(azp) => Err(IdTokenError::WrongAzp(
            azp.as_str().map_or_else(|| azp.to_string(), str::to_owned),
        )),
        None if audiences.len() > 1 => Err(IdTokenError::MissingAzp),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::jws::test_keys::{TestKey, b64, with};
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;
    const ISSUER: &str = "https://login.example.com";
    const CLIENT: &str = "sigil";
    const NONCE: &str = "n-0S6_WzA2Mj";

    fn check() -> IdTokenCheck<'static> {
        IdTokenCheck {
            issuer: ISSUER,
            client_id: CLIENT,
            nonce: NONCE,
            now: NOW,
            max_skew: 60,
            algorithms: DEFAULT_ALGORITHMS,
        }
    }

    fn claims() -> Value {
        json!({"iss": ISSUER, "aud": CLIENT, "sub": "248289761001", "nonce": NONCE,
            "iat": NOW - 5, "exp": NOW + 600, "email": "jane@example.com"})
    }

    /// The provider: an RSA key `r1` and two P-256 keys `e1` and `e2`.
    struct Provider {
        rsa: TestKey,
        e1: TestKey,
        e2: TestKey,
    }

    impl Provider {
        fn new() -> Self {
            Self {
                rsa: TestKey::new("RS256"),
                e1: TestKey::new("ES256"),
                e2: TestKey::new("ES256"),
            }
        }

        fn jwks(&self) -> Value {
            let kid =
                |key: &TestKey, kid: &str| with(key.jwk.clone(), json!({"kid": kid, "use": "sig"}));
            json!({"keys": [kid(&self.rsa, "r1"), kid(&self.e1, "e1"), kid(&self.e2, "e2")]})
        }

        fn token(&self, key: &TestKey, kid: &str, claims: &Value) -> String {
            key.jwt(&json!({"alg": key.alg, "kid": kid, "typ": "JWT"}), claims)
        }
    }

    #[test]
    fn a_valid_rs256_or_es256_token_yields_its_claims() {
        let p = Provider::new();
        let verified = verify(&p.token(&p.rsa, "r1", &claims()), &p.jwks(), check()).unwrap();
        assert_eq!(Value::Object(verified), claims());
        let verified = verify(&p.token(&p.e2, "e2", &claims()), &p.jwks(), check()).unwrap();
        assert_eq!(verified["email"], "jane@example.com");
    }

    #[test]
    fn every_default_algorithm_verifies() {
        for alg in DEFAULT_ALGORITHMS {
            let key = TestKey::new(alg);
            let jwks = json!({"keys": [with(key.jwk.clone(), json!({"kid": "k", "alg": alg}))]});
            let token = key.jwt(&json!({"alg": alg, "kid": "k"}), &claims());
            assert!(verify(&token, &jwks, check()).is_ok(), "{alg}");
        }
    }

    #[test]
    fn the_key_is_chosen_by_kid() {
        let p = Provider::new();
        // Signed by e2 but naming e1, or naming the RSA key.
        assert_eq!(
            verify(&p.token(&p.e2, "e1", &claims()), &p.jwks(), check()),
            Err(IdTokenError::BadSignature)
        );
        assert_eq!(
            verify(&p.token(&p.e2, "r1", &claims()), &p.jwks(), check()),
            Err(IdTokenError::UnknownKey(Some("r1".into())))
        );
        assert_eq!(
            verify(&p.token(&p.e1, "e3", &claims()), &p.jwks(), check()),
            Err(IdTokenError::UnknownKey(Some("e3".into())))
        );
        let e = verify(
            &p.token(&p.e1, "e3", &claims()),
            &json!({"keys": []}),
            check(),
        )
        .unwrap_err();
        assert_eq!(
            e.description(),
            "the ID token is signed with key e3, which is not among the provider's signing keys"
        );
        for jwks in [json!({}), json!([]), json!({"keys": "x"})] {
            assert!(matches!(
                verify(&p.token(&p.e1, "e1", &claims()), &jwks, check()),
                Err(IdTokenError::UnknownKey(_))
            ));
        }
        let kid_number = p.e1.jwt(&json!({"alg": "ES256", "kid": 1}), &claims());
        assert!(matches!(
            verify(&kid_number, &p.jwks(), check()),
            Err(IdTokenError::Malformed(_))
        ));
    }

    #[test]
    fn without_kid_the_only_fitting_key_is_used() {
        let p = Provider::new();
        let rsa = p.rsa.jwt(&json!({"alg": "RS256"}), &claims());
        assert!(verify(&rsa, &p.jwks(), check()).is_ok());
        // Two P-256 keys: ambiguous.
        let ec = p.e1.jwt(&json!({"alg": "ES256"}), &claims());
        assert_eq!(
            verify(&ec, &p.jwks(), check()),
            Err(IdTokenError::UnknownKey(None))
        );
        let only_e1 = json!({"keys": [p.rsa.jwk, p.e1.jwk]});
        assert!(verify(&ec, &only_e1, check()).is_ok());
    }

    #[test]
    fn keys_for_encryption_or_another_alg_are_skipped() {
        let p = Provider::new();
        let token = p.token(&p.rsa, "r1", &claims());
        for extra in [
            json!({"use": "enc"}),
            json!({"alg": "PS256"}),
            json!({"alg": "RSA-OAEP"}),
            json!({"use": 1}),
        ] {
            let jwks = json!({"keys": [with(with(p.rsa.jwk.clone(), json!({"kid": "r1"})), extra.clone())]});
            assert_eq!(
                verify(&token, &jwks, check()),
                Err(IdTokenError::UnknownKey(Some("r1".into()))),
                "{extra}"
            );
        }
        let jwks = json!({"keys": [with(p.rsa.jwk.clone(), json!({"kid": "r1", "use": "sig", "alg": "RS256"}))]});
        assert!(verify(&token, &jwks, check()).is_ok());
    }

    #[test]
    fn an_unusable_key_is_reported() {
        let p = Provider::new();
        let weak = json!({"keys": [{"kty": "RSA", "kid": "r1", "e": "AQAB", "n": b64(&json!("x".repeat(120)))}]});
        let r = verify(&p.token(&p.rsa, "r1", &claims()), &weak, check());
        assert!(matches!(r, Err(IdTokenError::InvalidKey(_))), "{r:?}");
    }

    #[test]
    fn only_accepted_algorithms_are_verified() {
        let p = Provider::new();
        let es_only = IdTokenCheck {
            algorithms: &["ES256"],
            ..check()
        };
        assert_eq!(
            verify(&p.token(&p.rsa, "r1", &claims()), &p.jwks(), es_only),
            Err(IdTokenError::UnsupportedAlgorithm("RS256".into()))
        );
        let reckless = IdTokenCheck {
            algorithms: &["none", "HS256", "RS256"],
            ..check()
        };
        let unsigned = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims()));
        assert_eq!(
            verify(&unsigned, &p.jwks(), reckless),
            Err(IdTokenError::UnsupportedAlgorithm("none".into()))
        );
        let hs = format!(
            "{}.{}.AAAA",
            b64(&json!({"alg": "HS256", "kid": "r1"})),
            b64(&claims())
        );
        assert_eq!(
            verify(&hs, &p.jwks(), reckless),
            Err(IdTokenError::UnsupportedAlgorithm("HS256".into()))
        );
        let no_alg = p.e1.jwt(&json!({"kid": "e1"}), &claims());
        assert_eq!(
            verify(&no_alg, &p.jwks(), check()),
            Err(IdTokenError::UnsupportedAlgorithm("nothing".into()))
        );
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let p = Provider::new();
        let token = p.token(&p.rsa, "r1", &claims());
        let mut pieces: Vec<String> = token.split('.').map(str::to_owned).collect();
        pieces[1] = b64(&with(claims(), json!({"sub": "admin"})));
        assert_eq!(
            verify(&pieces.join("."), &p.jwks(), check()),
            Err(IdTokenError::BadSignature)
        );
        assert!(matches!(
            verify("x.y", &p.jwks(), check()),
            Err(IdTokenError::Malformed(_))
        ));
    }

    #[test]
    fn each_claim_rule_is_enforced() {
        let p = Provider::new();
        let run = |extra: Value| {
            verify(
                &p.token(&p.e1, "e1", &with(claims(), extra)),
                &p.jwks(),
                check(),
            )
            .map(|_| ())
        };
        let wrong_issuer = |got: &str| {
            Err(IdTokenError::WrongIssuer {
                expected: ISSUER.into(),
                got: got.into(),
            })
        };
        let cases: Vec<(Value, Result<(), IdTokenError>)> = vec![
            (
                json!({"iss": "https://login.example.com/"}),
                wrong_issuer("https://login.example.com/"),
            ),
            (
                json!({"iss": "https://LOGIN.example.com"}),
                wrong_issuer("https://LOGIN.example.com"),
            ),
            (json!({"iss": null}), wrong_issuer("nothing")),
            (
                json!({"aud": "other"}),
                Err(IdTokenError::WrongAudience(CLIENT.into())),
            ),
            (
                json!({"aud": ["other"]}),
                Err(IdTokenError::WrongAudience(CLIENT.into())),
            ),
            (
                json!({"aud": []}),
                Err(IdTokenError::WrongAudience(CLIENT.into())),
            ),
            (
                json!({"aud": null}),
                Err(IdTokenError::WrongAudience(CLIENT.into())),
            ),
            (
                json!({"aud": "SIGIL"}),
                Err(IdTokenError::WrongAudience(CLIENT.into())),
            ),
            (json!({"aud": [CLIENT]}), Ok(())),
            (
                json!({"aud": [CLIENT, "other"]}),
                Err(IdTokenError::MissingAzp),
            ),
            (json!({"aud": [CLIENT, "other"], "azp": CLIENT}), Ok(())),
            (
                json!({"aud": [CLIENT, "other"], "azp": "other"}),
                Err(IdTokenError::WrongAzp("other".into())),
            ),
            (
                json!({"azp": "other"}),
                Err(IdTokenError::WrongAzp("other".into())),
            ),
            (json!({"azp": CLIENT}), Ok(())),
            (
                json!({"exp": NOW - 61}),
                Err(IdTokenError::Expired {
                    exp: NOW - 61,
                    now: NOW,
                }),
            ),
            (
                json!({"exp": NOW - 60}),
                Err(IdTokenError::Expired {
                    exp: NOW - 60,
                    now: NOW,
                }),
            ),
            (json!({"exp": NOW - 59}), Ok(())),
            (
                json!({"exp": NOW - 3600}),
                Err(IdTokenError::Expired {
                    exp: NOW - 3600,
                    now: NOW,
                }),
            ),
            (json!({"iat": NOW + 60}), Ok(())),
            (
                json!({"iat": NOW + 61}),
                Err(IdTokenError::IssuedInFuture {
                    iat: NOW + 61,
                    now: NOW,
                }),
            ),
            (
                json!({"nbf": NOW + 61}),
                Err(IdTokenError::NotYetValid {
                    nbf: NOW + 61,
                    now: NOW,
                }),
            ),
            (json!({"nbf": NOW + 30}), Ok(())),
            (json!({"nonce": "n-other"}), Err(IdTokenError::WrongNonce)),
            (json!({"nonce": null}), Err(IdTokenError::WrongNonce)),
            (
                json!({"nonce": NONCE.to_uppercase()}),
                Err(IdTokenError::WrongNonce),
            ),
            (json!({"sub": ""}), Err(IdTokenError::MissingSubject)),
            (json!({"sub": null}), Err(IdTokenError::MissingSubject)),
            (json!({"sub": 42}), Err(IdTokenError::MissingSubject)),
        ];
        for (extra, expected) in cases {
            assert_eq!(run(extra.clone()), expected, "{extra}");
        }
        for extra in [
            json!({"exp": null}),
            json!({"iat": null}),
            json!({"exp": "tomorrow"}),
            json!({"nbf": "soon"}),
        ] {
            assert!(
                matches!(run(extra.clone()), Err(IdTokenError::Malformed(_))),
                "{extra}"
            );
        }
    }

    #[test]
    fn an_empty_expected_nonce_matches_nothing() {
        let p = Provider::new();
        let token = p.token(&p.e1, "e1", &with(claims(), json!({"nonce": ""})));
        let no_nonce = IdTokenCheck {
            nonce: "",
            ..check()
        };
        assert_eq!(
            verify(&token, &p.jwks(), no_nonce),
            Err(IdTokenError::WrongNonce)
        );
        assert_eq!(
            IdTokenError::WrongNonce.description(),
            "the ID token's nonce does not match the login this callback belongs to"
        );
    }
}
