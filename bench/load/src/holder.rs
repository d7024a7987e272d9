//! Pre-generated holder keys and ES256 key proofs (`openid4vci-proof+jwt`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::json;

/// A P-256 holder key with its proof header already encoded.
pub struct Holder {
    key: SigningKey,
    header_b64: String,
}

impl Holder {
    /// A fresh random key.
    pub fn new() -> Self {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let point = key.verifying_key().to_encoded_point(false);
        let coord = |c: Option<&p256::FieldBytes>| c.map(|b| URL_SAFE_NO_PAD.encode(b));
        let jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": coord(point.x()),
            "y": coord(point.y()),
        });
        let header = json!({ "typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": jwk });
        Self {
            key,
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
        let sig: Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }
}

/// Time one ES256 signature and one verification with the `p256` crate
/// (what the server's proof check and issuer key use), in µs: (sign, verify).
pub fn calibrate(rounds: u32) -> (f64, f64) {
    use p256::ecdsa::signature::Verifier as _;
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let public = *key.verifying_key();
    let message = b"eyJ0eXAiOiJvcGVuaWQ0dmNpLXByb29mK2p3dCJ9.eyJub25jZSI6IngifQ";
    let started = std::time::Instant::now();
    let mut sig: Signature = key.sign(message);
    for _ in 1..rounds {
        sig = key.sign(message);
    }
    let sign = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    let started = std::time::Instant::now();
    let ok = (0..rounds).all(|_| public.verify(message, &sig).is_ok());
    let verify = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    (sign, if ok { verify } else { f64::NAN })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
