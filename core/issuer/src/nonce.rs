//! Self-verifying `c_nonce` values.
//!
//! A nonce is `base64url(expiry ‖ 16 random bytes ‖ tag)`, where the tag is
//! an HMAC-SHA256 over the tenant and the first two
//! parts. The nonce endpoint therefore writes nothing; the credential
//! endpoint checks the tag and the expiry and then *spends* the nonce with
//! one insert that fails on a second use (see `sigil_store::Store::spend_nonce`).
//! Every instance behind one load balancer must share the key (it is derived
//! from the offer secret). See `docs/adr/0007-stateless-nonces-and-one-transaction-per-issuance.md`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use ring::hmac;

const RANDOM_LEN: usize = 16;
const TAG_LEN: usize = 32;
const LEN: usize = 8 + RANDOM_LEN + TAG_LEN;

/// Issues and checks nonces of every tenant with one key.
#[derive(Clone)]
pub struct NonceKey {
    key: hmac::Key,
}

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(<redacted>)")
    }
}

impl NonceKey {
    /// A key derived from `secret` (at least 32 bytes of entropy expected).
    pub fn derive(secret: &[u8]) -> Self {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derived = hmac::sign(&root, b"sigil c_nonce key v1");
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    /// What the tag covers: the tenant, a separator, expiry and randomness.
    fn message(tenant: &str, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(tenant.len() + 1 + body.len());
        m.extend_from_slice(tenant.as_bytes());
        m.push(0);
        m.extend_from_slice(body);
        m
    }

    /// A fresh nonce of `tenant` that expires at `expires_at` (Unix seconds).
    pub fn issue(&self, tenant: &str, expires_at: i64) -> String {
        let mut raw = [0u8; LEN];
        raw[..8].copy_from_slice(&expires_at.to_be_bytes());
        rand::thread_rng().fill_bytes(&mut raw[8..8 + RANDOM_LEN]);
        let tag = hmac::sign(&self.key, &Self::message(tenant, &raw[..8 + RANDOM_LEN]));
        raw[8 + RANDOM_LEN..].copy_from_slice(tag.as_ref());
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The expiry of `nonce` when this key issued it for `tenant` and it has
    /// not expired at `now`; `None` otherwise. Whether it was already used
    /// is the store's decision.
    pub fn check(&self, tenant: &str, nonce: &str, now: i64) -> Option<i64> {
        let raw = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        if raw.len() != LEN {
            return None;
        }
        let (body, tag) = raw.split_at(8 + RANDOM_LEN);
        hmac::verify(&self.key, &Self::message(tenant, body), tag).ok()?;
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(&body[..8]);
        let expires_at = i64::from_be_bytes(expiry);
        (expires_at > now).then_some(expires_at)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_checks_only_for_its_tenant_key_and_lifetime() {
        let key = NonceKey::derive(b"0123456789abcdef0123456789abcdef");
        let n = key.issue("default", 1_000);
        assert_eq!(key.check("default", &n, 999), Some(1_000));
        assert_eq!(key.check("default", &n, 1_000), None, "expired");
        assert_eq!(key.check("acme", &n, 10), None, "other tenant");
        let other = NonceKey::derive(b"another secret of thirty-two bytes!");
        assert_eq!(other.check("default", &n, 10), None, "other key");
        assert_ne!(key.issue("default", 1_000), n, "fresh randomness");
        // Flip one bit anywhere: refused.
        let mut raw = URL_SAFE_NO_PAD.decode(&n).unwrap();
        for i in 0..raw.len() {
            raw[i] ^= 1;
            assert_eq!(
                key.check("default", &URL_SAFE_NO_PAD.encode(&raw), 10),
                None
            );
            raw[i] ^= 1;
        }
        assert_eq!(key.check("default", "short", 10), None);
        assert_eq!(key.check("default", "!!not base64!!", 10), None);
    }
}
