//! Pre-generated holder keys and ES256 key proofs (`openid4vci-proof+jwt`),
//! signed with `ring` so the load generator spends as little of the shared
//! CPU as possible.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    UnparsedPublicKey,
};
use serde_json::json;

/// A P-256 holder key with its proof header already encoded.
pub struct Holder {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    header_b64: String,
}

fn generate(rng: &SystemRandom) -> EcdsaKeyPair {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, rng)
        .unwrap_or_else(|e| panic!("generating a P-256 key: {e}"));
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), rng)
        .unwrap_or_else(|e| panic!("loading a P-256 key: {e}"))
}

impl Holder {
    /// A fresh random key.
    pub fn new() -> Self {
        let rng = SystemRandom::new();
        let key = generate(&rng);
        let point = key.public_key().as_ref();
        let jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        let header = json!({ "typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": jwk });
        Self {
            key,
            rng,
            header_b64: URL_SAFE_NO_PAD.encode(header.to_string()),
        }
    }

    /// A key proof for `aud` over `nonce`, issued now.
    pub fn proof(&self, aud: &str, nonce: &str) -> String {
        let claims = json!({ "aud": aud, "iat": unix_now(), "nonce": nonce });
        let input = format!(
            "{}.{}",
            self.header_b64,
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self
            .key
            .sign(&self.rng, input.as_bytes())
            .unwrap_or_else(|e| panic!("signing a proof: {e}"));
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

/// Time one ES256 signature and one verification with `ring` (what the
/// server's proof check uses), in µs: (sign, verify).
pub fn calibrate(rounds: u32) -> (f64, f64) {
    let rng = SystemRandom::new();
    let key = generate(&rng);
    let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.public_key().as_ref());
    let message = b"eyJ0eXAiOiJvcGVuaWQ0dmNpLXByb29mK2p3dCJ9.eyJub25jZSI6IngifQ";
    let sign_once = || {
        key.sign(&rng, message)
            .unwrap_or_else(|e| panic!("signing: {e}"))
    };
    let started = std::time::Instant::now();
    let mut sig = sign_once();
    for _ in 1..rounds {
        sig = sign_once();
    }
    let sign = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    let started = std::time::Instant::now();
    let ok = (0..rounds).all(|_| public.verify(message, sig.as_ref()).is_ok());
    let verify = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    (sign, if ok { verify } else { f64::NAN })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
