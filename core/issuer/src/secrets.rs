//! Random secrets and their storage hashes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::model::TxInputMode;

/// A random URL-safe token of 256 bits (codes, access tokens, nonces).
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::thread_rng().r#gen();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex SHA-256: how codes, tokens and transaction codes are stored.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// How a transaction code is stored: hashed together with its (256-bit)
/// pre-authorized code, so a database dump does not let anyone brute-force
/// the few digits of a PIN.
pub fn tx_code_hash(pre_authorized_code: &str, tx_code: &str) -> String {
    hash(&format!("{pre_authorized_code}\0{tx_code}"))
}

/// The longest transaction code generated.
pub const MAX_TX_CODE_LENGTH: u32 = 32;

/// A transaction code: `length` digits (`numeric`) or letters and digits
/// (`text`), at most [`MAX_TX_CODE_LENGTH`] characters whatever `length`
/// asks for (the admin API generated a code of the requested length before
/// refusing a length of 4294967295: 4 GB and minutes per request, found by
/// fuzz_admin_offer_create).
pub fn tx_code(input_mode: TxInputMode, length: u32) -> String {
    let length = length.min(MAX_TX_CODE_LENGTH);
    const TEXT: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..length)
        .map(|_| {
            if input_mode == TxInputMode::Text {
                TEXT[rng.gen_range(0..TEXT.len())] as char
            } else {
                char::from(b'0' + rng.gen_range(0..10u8))
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_url_safe() {
        let a = random_token();
        assert_ne!(a, random_token());
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn tx_codes_follow_the_mode() {
        assert!(
            tx_code(TxInputMode::Numeric, 6)
                .chars()
                .all(|c| c.is_ascii_digit())
        );
        assert_eq!(tx_code(TxInputMode::Text, 8).len(), 8);
        assert_eq!(tx_code(TxInputMode::Numeric, u32::MAX).len(), 32);
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
