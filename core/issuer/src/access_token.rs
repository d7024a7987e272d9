//! Access tokens of external authorization servers, checked as a resource
//! server checks them: RFC 9068 JWT access tokens (signature by the
//! server's JWKS, `typ`, `iss`, `aud`, times and the claims the profile
//! requires) and RFC 7662 introspection answers (`active`, then the same
//! claims). What the token grants is the caller's business.

use serde_json::{Map, Value};
use thiserror::Error;

use crate::jws::{self, JwsError, KeySetError, TimeFault};

/// The `typ` values of an RFC 9068 access token (§2.1, §4), compared
/// without regard to ASCII case.
pub const JWT_TYPES: &[&str] = &["at+jwt", "application/at+jwt"];

/// What a token is checked against.
#[derive(Debug, Clone, Copy)]
pub struct AccessTokenCheck<'a> {
    /// The authorization server's issuer identifier, compared exactly with `iss`.
    pub issuer: &'a str,
    /// The audience the token must name for Sigil (`aud`).
    pub audience: &'a str,
    /// Current time (Unix seconds).
    pub now: i64,
    /// Accepted clock skew, in seconds, for `exp`, `iat` and `nbf`.
    pub max_skew: i64,
    /// Accepted signing algorithms of JWT access tokens.
    pub algorithms: &'a [&'a str],
}

/// Why an access token was refused. The messages complete "the access token
/// ..." for a developer.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AccessTokenError {
    /// Not a compact JWS, undecodable parts, or a claim of the wrong type.
    #[error("is not a well-formed JWT: {0}")]
    Malformed(String),
    /// `typ` is not `at+jwt` (RFC 9068 §4: ID tokens and other JWTs must
    /// not be taken for access tokens).
    #[error(
        "has typ {0}, not at+jwt: it is not an RFC 9068 access token (an ID token or another JWT is no access token)"
    )]
    WrongType(String),
    /// `alg` is not among the accepted algorithms (`none` and `HS*` never are).
    #[error("is signed with alg {0}, which is not accepted for this authorization server")]
    UnsupportedAlgorithm(String),
    /// No usable key in the server's JWKS (see [`jws::select_key`]).
    #[error("{}", unknown_key(.0))]
    UnknownKey(Option<String>),
    /// The selected key is not a usable public key.
    #[error("cannot be verified: the authorization server's signing key is unusable: {0}")]
    InvalidKey(String),
    /// The signature does not verify with the selected key.
    #[error("has a signature that does not verify with the authorization server's keys")]
    BadSignature,
    /// `iss` is not the authorization server.
    #[error("was issued by {got}, not by the authorization server {expected}")]
    WrongIssuer {
        /// The server's issuer identifier.
        expected: String,
        /// The token's `iss` (`nothing` when absent).
        got: String,
    },
    /// `aud` does not name Sigil.
    #[error(
        "is meant for {got}, not for this credential issuer: its aud does not contain {expected}; ask the authorization server for a token for resource {expected}"
    )]
    WrongAudience {
        /// The audience Sigil expects.
        expected: String,
        /// The token's audiences (`nothing` when absent).
        got: String,
    },
    /// `exp` has passed, beyond the allowed clock skew.
    #[error("expired at {exp} (server time {now}); get a new one")]
    Expired {
        /// The token's `exp` (whole seconds).
        exp: i64,
        /// The server time.
        now: i64,
    },
    /// `iat` lies in the future, beyond the allowed clock skew.
    #[error(
        "was issued at {iat}, after the server time {now}; the authorization server's or this server's clock is wrong"
    )]
    IssuedInFuture {
        /// The token's `iat` (whole seconds).
        iat: i64,
        /// The server time.
        now: i64,
    },
    /// `nbf` lies in the future, beyond the allowed clock skew.
    #[error(
        "is not valid before {nbf} (server time {now}); the authorization server's or this server's clock is wrong"
    )]
    NotYetValid {
        /// The token's `nbf` (whole seconds).
        nbf: i64,
        /// The server time.
        now: i64,
    },
    /// A claim the profile requires is missing or empty.
    #[error("has no {0} claim, which an access token for this credential issuer needs")]
    MissingClaim(&'static str),
    /// The introspection answer says `active: false` (or not `true`).
    #[error("is not active at the authorization server (expired, revoked or unknown there)")]
    Inactive,
}

fn unknown_key(kid: &Option<String>) -> String {
    match kid {
        Some(kid) => format!(
            "is signed with key {kid}, which is not among the authorization server's signing keys"
        ),
        None => "names no kid, and the authorization server does not publish exactly one signing key for its alg".to_owned(),
    }
}

type Claims = Map<String, Value>;

/// The claims of a token that looks like a JWT, unverified: to tell which
/// authorization server to ask. `None` for anything else (an opaque token).
pub fn unverified_claims(token: &str) -> Option<Claims> {
    jws::split(token).ok().map(|parts| parts.claims)
}

/// Verify an RFC 9068 JWT access token against the authorization server's
/// JWKS (`{"keys": [...]}`) and return its claims: `typ` `at+jwt`, an
/// accepted `alg`, the signature, `iss`, `aud`, `exp`, `iat`, `nbf` and the
/// required `sub`, `client_id` and `jti`.
pub fn verify_jwt(
    token: &str,
    jwks: &Value,
    check: AccessTokenCheck<'_>,
) -> Result<Claims, AccessTokenError> {
    let parts = jws::split(token).map_err(|e| match e {
        JwsError::Malformed(why) => AccessTokenError::Malformed(why),
        other => AccessTokenError::Malformed(other.to_string()),
    })?;
    match parts.header.get("typ").and_then(Value::as_str) {
        Some(typ) if JWT_TYPES.iter().any(|t| t.eq_ignore_ascii_case(typ)) => {}
        other => {
            return Err(AccessTokenError::WrongType(
                other.unwrap_or("nothing").chars().take(60).collect(),
            ));
        }
    }
    jws::verify_with_jwks(&parts, jwks, check.algorithms).map_err(|e| match e {
        KeySetError::UnsupportedAlgorithm(alg) => AccessTokenError::UnsupportedAlgorithm(alg),
        KeySetError::Malformed(why) => AccessTokenError::Malformed(why),
        KeySetError::UnknownKey(kid) => AccessTokenError::UnknownKey(kid),
        KeySetError::InvalidKey(why) => AccessTokenError::InvalidKey(why),
        KeySetError::BadSignature => AccessTokenError::BadSignature,
    })?;
    let claims = parts.claims;
    check_claims(&claims, check, true)?;
    Ok(claims)
}

/// Check an RFC 7662 introspection answer and return it: `active` must be
/// `true`; `iss`, when present, the server; `aud` must name the audience;
/// `exp` is required, `iat` and `nbf` are checked when present; `sub` is
/// required (`client_id` and `jti` are optional in RFC 7662).
pub fn check_introspection(
    answer: &Value,
    check: AccessTokenCheck<'_>,
) -> Result<Claims, AccessTokenError> {
    let claims = answer.as_object().ok_or_else(|| {
        AccessTokenError::Malformed("the introspection answer is not a JSON object".into())
    })?;
    if claims.get("active") != Some(&Value::Bool(true)) {
        return Err(AccessTokenError::Inactive);
    }
    check_claims(claims, check, false)?;
    Ok(claims.clone())
}

/// `iss`, `aud`, the times and the required claims; `jwt` for an RFC 9068
/// token (everything required), else for an introspection answer.
fn check_claims(
    claims: &Claims,
    check: AccessTokenCheck<'_>,
    jwt: bool,
) -> Result<(), AccessTokenError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    match text("iss") {
        Some(iss) if iss == check.issuer => {}
        None if !jwt && !claims.contains_key("iss") => {}
        other => {
            return Err(AccessTokenError::WrongIssuer {
                expected: check.issuer.to_owned(),
                got: other.unwrap_or("nothing").chars().take(200).collect(),
            });
        }
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&check.audience) {
        let got = if audiences.is_empty() {
            "nothing".to_owned()
        } else {
            audiences.join(", ").chars().take(300).collect()
        };
        return Err(AccessTokenError::WrongAudience {
            expected: check.audience.to_owned(),
            got,
        });
    }
    jws::check_times(claims, check.now, check.max_skew, jwt).map_err(|f| match f {
        TimeFault::Malformed(why) => AccessTokenError::Malformed(why),
        TimeFault::Missing(name) => AccessTokenError::MissingClaim(name),
        TimeFault::Expired { exp } => AccessTokenError::Expired {
            exp,
            now: check.now,
        },
        TimeFault::IssuedInFuture { iat } => AccessTokenError::IssuedInFuture {
            iat,
            now: check.now,
        },
        TimeFault::NotYetValid { nbf } => AccessTokenError::NotYetValid {
            nbf,
            now: check.now,
        },
    })?;
    let required: &[&'static str] = if jwt {
        &["sub", "client_id", "jti"]
    } else {
        &["sub"]
    };
    for name in required {
        if text(name).is_none_or(str::is_empty) {
            return Err(AccessTokenError::MissingClaim(name));
        }
    }
    Ok(())
}

/// The `exp` of checked claims, whole seconds.
pub fn expiry(claims: &Claims) -> i64 {
    claims
        .get("exp")
        .and_then(Value::as_f64)
        .map_or(0, |e| e.floor() as i64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::jws::test_keys::{TestKey, b64, with};
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;
    const AS: &str = "https://as.example";
    const AUD: &str = "https://issuer.example";

    fn check() -> AccessTokenCheck<'static> {
        AccessTokenCheck {
            issuer: AS,
            audience: AUD,
            now: NOW,
            max_skew: 60,
            algorithms: &["RS256", "ES256"],
        }
    }

    fn claims() -> Value {
        json!({"iss": AS, "aud": AUD, "sub": "user-42", "client_id": "wallet", "jti": "j1",
            "iat": NOW - 5, "exp": NOW + 600, "scope": "badge"})
    }

    fn jwks(key: &TestKey) -> Value {
        json!({"keys": [with(key.jwk.clone(), json!({"kid": "k1", "use": "sig"}))]})
    }

    fn token(key: &TestKey, typ: &str, claims: &Value) -> String {
        key.jwt(&json!({"alg": key.alg, "kid": "k1", "typ": typ}), claims)
    }

    #[test]
    fn a_valid_token_yields_its_claims_with_either_typ() {
        for alg in ["RS256", "ES256"] {
            let key = TestKey::new(alg);
            for typ in ["at+jwt", "application/at+JWT"] {
                let c = verify_jwt(&token(&key, typ, &claims()), &jwks(&key), check()).unwrap();
                assert_eq!(Value::Object(c), claims(), "{alg} {typ}");
            }
        }
        // aud as an array, nbf in the past.
        let key = TestKey::new("ES256");
        let c = with(
            claims(),
            json!({"aud": ["https://other.example", AUD], "nbf": NOW - 1}),
        );
        assert!(verify_jwt(&token(&key, "at+jwt", &c), &jwks(&key), check()).is_ok());
        assert_eq!(expiry(&c.as_object().unwrap().clone()), NOW + 600);
    }

    #[test]
    fn every_refusal_says_what_is_wrong() {
        let key = TestKey::new("ES256");
        let keys = jwks(&key);
        let refused = |t: &str| verify_jwt(t, &keys, check()).unwrap_err();
        let e = refused(&token(&key, "JWT", &claims()));
        assert_eq!(e, AccessTokenError::WrongType("JWT".into()));
        assert!(e.to_string().contains("at+jwt"), "{e}");
        let untyped = key.jwt(&json!({"alg": "ES256", "kid": "k1"}), &claims());
        assert_eq!(
            refused(&untyped),
            AccessTokenError::WrongType("nothing".into())
        );
        let es384 = TestKey::new("ES384");
        assert_eq!(
            refused(&token(&es384, "at+jwt", &claims())),
            AccessTokenError::UnsupportedAlgorithm("ES384".into())
        );
        let none = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "at+jwt"})),
            b64(&claims())
        );
        assert_eq!(
            refused(&none),
            AccessTokenError::UnsupportedAlgorithm("none".into())
        );
        let other = TestKey::new("ES256");
        assert_eq!(
            refused(&token(&other, "at+jwt", &claims())),
            AccessTokenError::BadSignature
        );
        let unknown = other.jwt(
            &json!({"alg": "ES256", "kid": "k9", "typ": "at+jwt"}),
            &claims(),
        );
        assert_eq!(
            refused(&unknown),
            AccessTokenError::UnknownKey(Some("k9".into()))
        );
        let case = |extra: Value| refused(&token(&key, "at+jwt", &with(claims(), extra)));
        assert_eq!(
            case(json!({"iss": "https://evil.example"})),
            AccessTokenError::WrongIssuer {
                expected: AS.into(),
                got: "https://evil.example".into()
            }
        );
        let e = case(json!({"aud": "https://other.example"}));
        assert_eq!(
            e,
            AccessTokenError::WrongAudience {
                expected: AUD.into(),
                got: "https://other.example".into()
            }
        );
        assert!(
            e.to_string().contains("resource https://issuer.example"),
            "{e}"
        );
        assert_eq!(
            case(json!({"aud": null})),
            AccessTokenError::WrongAudience {
                expected: AUD.into(),
                got: "nothing".into()
            }
        );
        assert_eq!(
            case(json!({"exp": NOW - 61})),
            AccessTokenError::Expired {
                exp: NOW - 61,
                now: NOW
            }
        );
        assert!(
            verify_jwt(
                &token(&key, "at+jwt", &with(claims(), json!({"exp": NOW - 59}))),
                &keys,
                check()
            )
            .is_ok()
        );
        assert_eq!(
            case(json!({"exp": null})),
            AccessTokenError::MissingClaim("exp")
        );
        assert_eq!(
            case(json!({"iat": NOW + 61})),
            AccessTokenError::IssuedInFuture {
                iat: NOW + 61,
                now: NOW
            }
        );
        assert_eq!(
            case(json!({"iat": null})),
            AccessTokenError::MissingClaim("iat")
        );
        assert_eq!(
            case(json!({"nbf": NOW + 61})),
            AccessTokenError::NotYetValid {
                nbf: NOW + 61,
                now: NOW
            }
        );
        assert!(matches!(
            case(json!({"exp": "soon"})),
            AccessTokenError::Malformed(_)
        ));
        for name in ["sub", "client_id", "jti"] {
            assert_eq!(
                case(json!({ name: null })),
                AccessTokenError::MissingClaim(name)
            );
        }
        assert_eq!(
            case(json!({"sub": ""})),
            AccessTokenError::MissingClaim("sub")
        );
        assert!(matches!(
            refused("opaque-token"),
            AccessTokenError::Malformed(_)
        ));
        let crit = key.jwt(
            &json!({"alg": "ES256", "kid": "k1", "typ": "at+jwt", "crit": ["x"]}),
            &claims(),
        );
        assert!(matches!(refused(&crit), AccessTokenError::Malformed(_)));
    }

    #[test]
    fn introspection_answers_need_active_and_the_same_claims() {
        let active = with(
            claims(),
            json!({"active": true, "client_id": null, "jti": null, "iat": null}),
        );
        let c = check_introspection(&active, check()).unwrap();
        assert_eq!(c["sub"], "user-42");
        // Without iss (RFC 7662 makes it optional) it is the server asked.
        assert!(check_introspection(&with(active.clone(), json!({"iss": null})), check()).is_ok());
        for inactive in [
            json!({"active": false}),
            json!({"active": "true"}),
            json!({}),
            with(claims(), json!({})),
        ] {
            assert_eq!(
                check_introspection(&inactive, check()),
                Err(AccessTokenError::Inactive)
            );
        }
        let refused =
            |extra: Value| check_introspection(&with(active.clone(), extra), check()).unwrap_err();
        assert!(matches!(
            refused(json!({"iss": "https://evil.example"})),
            AccessTokenError::WrongIssuer { .. }
        ));
        assert!(matches!(
            refused(json!({"aud": "https://other.example"})),
            AccessTokenError::WrongAudience { .. }
        ));
        assert!(matches!(
            refused(json!({"exp": NOW - 100})),
            AccessTokenError::Expired { .. }
        ));
        assert_eq!(
            refused(json!({"exp": null})),
            AccessTokenError::MissingClaim("exp")
        );
        assert_eq!(
            refused(json!({"sub": null})),
            AccessTokenError::MissingClaim("sub")
        );
        assert!(matches!(
            check_introspection(&json!("yes"), check()),
            Err(AccessTokenError::Malformed(_))
        ));
    }

    #[test]
    fn unverified_claims_peek_into_jwts_only() {
        let key = TestKey::new("ES256");
        assert_eq!(
            unverified_claims(&token(&key, "at+jwt", &claims())).unwrap()["iss"],
            AS
        );
        assert!(unverified_claims("2YotnFZFEjr1zCsicMWpAA").is_none());
    }
}
