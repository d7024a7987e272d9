//! A minimal holder for error-path tests: P-256 keys and proof JWTs built by
//! hand, so tests can send exactly the malformed proof they need. Happy paths
//! use the independent Node wallet (`tests/wallet`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};

/// A holder key pair.
pub struct Holder {
    key: SigningKey,
    /// Public JWK.
    pub jwk: Value,
}

impl Holder {
    /// A fresh P-256 key.
    pub fn new() -> Self {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let p = key.verifying_key().to_encoded_point(false);
        let jwk = json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(p.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(p.y().unwrap()),
        });
        Self { key, jwk }
    }

    /// Sign any header and claims.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig: Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    /// A well-formed proof for `aud` and `nonce`.
    pub fn proof(&self, aud: &str, nonce: &str) -> String {
        let proof = self.sign(
            &json!({ "typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": self.jwk }),
            &json!({ "aud": aud, "iat": now(), "nonce": nonce }),
        );
        crate::capture::secret("key proof", &proof);
        proof
    }
}

impl Holder {
    /// A DPoP proof (RFC 9449) for `POST url`, over `access_token` when given.
    pub fn dpop(&self, url: &str, jti: &str, access_token: Option<&str>) -> String {
        use sha2::Digest as _;
        let mut claims = json!({ "jti": jti, "htm": "POST", "htu": url, "iat": now() });
        if let Some(t) = access_token {
            claims["ath"] = URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(t.as_bytes()))
                .into();
        }
        let proof = self.sign(
            &json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk }),
            &claims,
        );
        crate::capture::secret("dpop proof", &proof);
        proof
    }
}

impl Default for Holder {
    fn default() -> Self {
        Self::new()
    }
}

/// Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
