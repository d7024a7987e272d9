//! PKCE (RFC 7636) with the `S256` method: the client sends
//! `code_challenge = base64url(SHA-256(code_verifier))` with the
//! authorization request and the verifier with the token request.
//! `plain` is not offered (RFC 9700 §2.1.1).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::jws::{constant_time_eq, sha256_b64url};

/// The only `code_challenge_method` accepted.
pub const METHOD: &str = "S256";

/// The shortest `code_verifier` (RFC 7636 §4.1).
pub const MIN_VERIFIER_LEN: usize = 43;

/// The longest `code_verifier` (RFC 7636 §4.1).
pub const MAX_VERIFIER_LEN: usize = 128;

/// Whether `v` is a `code_verifier` as RFC 7636 §4.1 defines it: 43 to
/// 128 characters of ALPHA / DIGIT / "-" / "." / "_" / "~".
pub fn valid_verifier(v: &str) -> bool {
    (MIN_VERIFIER_LEN..=MAX_VERIFIER_LEN).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `c` can be an `S256` `code_challenge`: exactly 43 base64url
/// characters that decode to the 32 bytes of a SHA-256 hash (a challenge
/// with non-zero trailing bits could never match, so it is refused up
/// front).
pub fn valid_challenge(c: &str) -> bool {
    c.len() == 43 && URL_SAFE_NO_PAD.decode(c).is_ok_and(|hash| hash.len() == 32)
}

/// The `S256` challenge of `verifier`: base64url(SHA-256(ASCII(verifier))).
pub fn s256(verifier: &str) -> String {
    sha256_b64url(verifier.as_bytes())
}

/// Whether `verifier` is well formed and its `S256` challenge is
/// `challenge`, compared in constant time.
pub fn matches(verifier: &str, challenge: &str) -> bool {
    valid_verifier(verifier) & constant_time_eq(&s256(verifier), challenge)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_appendix_b() {
        assert!(valid_verifier(VERIFIER));
        assert!(valid_challenge(CHALLENGE));
        assert_eq!(s256(VERIFIER), CHALLENGE);
        assert!(matches(VERIFIER, CHALLENGE));
    }

    #[test]
    fn verifier_grammar() {
        assert!(valid_verifier(&"a".repeat(43)));
        assert!(valid_verifier(&"Z".repeat(128)));
        assert!(valid_verifier(&format!("{}-._~09", "a".repeat(40))));
        for bad in [
            "a".repeat(42),
            "a".repeat(129),
            String::new(),
            format!("{}+", "a".repeat(42)),
            format!("{}/", "a".repeat(42)),
            format!("{}=", "a".repeat(42)),
            format!("{} ", "a".repeat(42)),
            format!("{}%41", "a".repeat(40)),
            format!("{}é", "a".repeat(41)),
        ] {
            assert!(!valid_verifier(&bad), "{bad}");
        }
    }

    #[test]
    fn challenge_grammar() {
        assert!(valid_challenge(&s256(&"x".repeat(60))));
        for bad in [
            &CHALLENGE[..42],
            &format!("{CHALLENGE}A"),
            &format!("{CHALLENGE}="),
            &CHALLENGE.replace('-', "+"),
            // 43 base64url characters whose last one carries stray bits.
            &format!("{}N", &CHALLENGE[..42]),
            "",
        ] {
            assert!(!valid_challenge(bad), "{bad}");
        }
    }

    #[test]
    fn matching() {
        assert!(!matches(
            VERIFIER,
            &s256("another verifier of enough length 0123456789")
        ));
        assert!(!matches(&format!("{VERIFIER}x"), CHALLENGE));
        assert!(!matches(VERIFIER, &CHALLENGE.to_lowercase()));
        assert!(!matches(VERIFIER, ""));
        // A verifier outside the grammar never matches, even its own hash.
        let short = "too-short";
        assert!(!matches(short, &s256(short)));
    }
}
