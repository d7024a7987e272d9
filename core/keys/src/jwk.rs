//! JWK helpers shared by the key types.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn member(jwk: &Value, name: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(jwk.get(name)?.as_str()?).ok()
}

/// The raw public key of a public JWK: the uncompressed point
/// `0x04 || x || y` for `EC`, the 32-byte key for `OKP` Ed25519.
pub fn public_key_bytes(jwk: &Value) -> Option<Vec<u8>> {
    match jwk.get("kty")?.as_str()? {
        "EC" => {
            let mut out = vec![0x04];
            out.extend(member(jwk, "x")?);
            out.extend(member(jwk, "y")?);
            Some(out)
        }
        "OKP" if jwk.get("crv")?.as_str()? == "Ed25519" => member(jwk, "x"),
        _ => None,
    }
}

/// The required public members of a JWK in lexicographic order, no
/// whitespace (RFC 7638 §3.2): the input of a thumbprint and of `did:jwk`.
pub fn canonical_public_jwk(jwk: &Value) -> Option<String> {
    let s = |k: &str| jwk.get(k).and_then(Value::as_str);
    match s("kty")? {
        "EC" => Some(format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            s("crv")?,
            s("x")?,
            s("y")?
        )),
        "OKP" => Some(format!(
            r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
            s("crv")?,
            s("x")?
        )),
        _ => None,
    }
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url).
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let canonical = canonical_public_jwk(jwk)?;
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}
