use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::JwkEcKey;
use sha2::{Digest, Sha256};

use crate::{Algorithm, KeyError, SignError, Signer};

/// An ES256 (P-256) issuer key held in memory.
pub struct IssuerKey {
    kid: String,
    key: SigningKey,
    public_jwk: serde_json::Value,
    chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKey")
            .field("kid", &self.kid)
            .field("key", &"***")
            .finish_non_exhaustive()
    }
}

impl IssuerKey {
    /// Generate a fresh P-256 key. Its `kid` is the RFC 7638 JWK thumbprint.
    pub fn generate_p256() -> Self {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        Self::from_signing_key(key, None)
    }

    /// Load a key from a private JWK (`kty: EC`, `crv: P-256`, `d` present).
    /// The JWK's `kid` is kept; without one the thumbprint is used.
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<Self, KeyError> {
        let kty = jwk.get("kty").and_then(|v| v.as_str()).unwrap_or_default();
        let crv = jwk.get("crv").and_then(|v| v.as_str()).unwrap_or_default();
        if kty != "EC" || crv != "P-256" {
            return Err(KeyError::Unsupported(format!("kty '{kty}', crv '{crv}'")));
        }
        let ec: JwkEcKey = serde_json::from_value(ec_members(jwk))
            .map_err(|e| KeyError::InvalidJwk(e.to_string()))?;
        let secret = p256::SecretKey::from_jwk(&ec)
            .map_err(|_| KeyError::InvalidJwk("no usable private member `d`".into()))?;
        let kid = jwk.get("kid").and_then(|v| v.as_str()).map(str::to_owned);
        Ok(Self::from_signing_key(SigningKey::from(secret), kid))
    }

    /// Attach an X.509 chain (leaf first, DER).
    pub fn with_certificate_chain(mut self, chain: Vec<Vec<u8>>) -> Self {
        self.chain = chain;
        self
    }

    /// The private JWK, for writing a generated dev key to disk.
    pub fn to_private_jwk(&self) -> serde_json::Value {
        let secret = p256::SecretKey::from(&self.key);
        let mut jwk: serde_json::Value =
            serde_json::from_str(&secret.to_jwk_string()).unwrap_or_default();
        if let Some(map) = jwk.as_object_mut() {
            map.insert("kid".into(), self.kid.clone().into());
            map.insert("alg".into(), "ES256".into());
        }
        jwk
    }

    fn from_signing_key(key: SigningKey, kid: Option<String>) -> Self {
        let point = key.verifying_key().to_encoded_point(false);
        let x = point
            .x()
            .map(|x| URL_SAFE_NO_PAD.encode(x))
            .unwrap_or_default();
        let y = point
            .y()
            .map(|y| URL_SAFE_NO_PAD.encode(y))
            .unwrap_or_default();
        // RFC 7638 thumbprint: required members in lexicographic order, no spaces.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let kid = kid.unwrap_or(thumbprint);
        let public_jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"
        });
        Self {
            kid,
            key,
            public_jwk,
            chain: Vec::new(),
        }
    }
}

/// The members `JwkEcKey` accepts (it refuses `kid`, `alg`, `use`, ...).
fn ec_members(jwk: &serde_json::Value) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for k in ["kty", "crv", "x", "y", "d"] {
        if let Some(v) = jwk.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    out.into()
}

impl Signer for IssuerKey {
    fn key_id(&self) -> &str {
        &self.kid
    }

    fn algorithm(&self) -> Algorithm {
        Algorithm::Es256
    }

    fn public_jwk(&self) -> serde_json::Value {
        self.public_jwk.clone()
    }

    fn certificate_chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        let sig: Signature = self
            .key
            .try_sign(data)
            .map_err(|e| SignError::Failed(e.to_string()))?;
        Ok(sig.to_bytes().to_vec())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;

    #[test]
    fn signature_verifies_with_public_jwk() {
        let key = IssuerKey::generate_p256();
        let sig = key.sign(b"hello").expect("sign");
        assert_eq!(sig.len(), 64);
        let jwk: JwkEcKey = serde_json::from_value(ec_members(&key.public_jwk())).expect("jwk");
        let public = p256::PublicKey::from_jwk(&jwk).expect("public");
        let vk = p256::ecdsa::VerifyingKey::from(public);
        let sig = Signature::from_slice(&sig).expect("sig");
        assert!(vk.verify(b"hello", &sig).is_ok());
        assert!(vk.verify(b"tampered", &sig).is_err());
    }

    #[test]
    fn private_jwk_round_trips_and_keeps_kid() {
        let key = IssuerKey::generate_p256();
        let again = IssuerKey::from_jwk(&key.to_private_jwk()).expect("load");
        assert_eq!(again.key_id(), key.key_id());
        assert_eq!(again.public_jwk(), key.public_jwk());
        assert!(key.public_jwk().get("d").is_none());
    }

    #[test]
    fn rejects_other_curves() {
        let jwk = serde_json::json!({"kty": "EC", "crv": "P-521", "x": "", "y": "", "d": ""});
        assert!(matches!(
            IssuerKey::from_jwk(&jwk),
            Err(KeyError::Unsupported(_))
        ));
    }
}
