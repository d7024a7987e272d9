//! Pre-authorized codes derived from offer ids.
//!
//! The code of an offer is `base64url(HMAC-SHA256(secret, "sigil
//! pre-authorized code\0" ‖ offer id))`, so an offer served by reference
//! can show its code while the store keeps only the code's hash. Every
//! instance behind one load balancer must share the secret.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;

/// Derives the pre-authorized code of an offer.
#[derive(Clone)]
pub struct PreAuthorizedCodes {
    key: hmac::Key,
}

impl std::fmt::Debug for PreAuthorizedCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreAuthorizedCodes(<redacted>)")
    }
}

impl PreAuthorizedCodes {
    /// Codes under `secret` (the offer secret, at least 32 bytes of entropy).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// The pre-authorized code of offer `offer_id`.
    pub fn code(&self, offer_id: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(b"sigil pre-authorized code\0");
        ctx.update(offer_id.as_bytes());
        URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_depend_on_secret_and_offer() {
        let a = PreAuthorizedCodes::new(b"0123456789abcdef0123456789abcdef");
        let b = PreAuthorizedCodes::new(b"another secret of thirty-two bytes");
        assert_eq!(a.code("o1"), a.code("o1"));
        assert_ne!(a.code("o1"), a.code("o2"));
        assert_ne!(a.code("o1"), b.code("o1"));
        assert_eq!(a.code("o1").len(), 43);
    }
}
