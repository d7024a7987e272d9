//! Sign time per algorithm: `cargo run --release -p sigil-keys --example sign_timing`.
//!
//! Compares the RustCrypto `p256` signer Sigil used before with `ring`
//! (what `IssuerKey` signs with now) on a credential-sized input.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "example"
)]

use std::time::Instant;

use p256::ecdsa::signature::Signer as _;
use sigil_keys::{Algorithm, IssuerKey, Signer};

fn time(label: &str, iterations: u32, mut f: impl FnMut()) {
    for _ in 0..iterations / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let per = start.elapsed() / iterations;
    println!("{label:<28} {:>8.1} µs/sign", per.as_secs_f64() * 1e6);
}

fn main() {
    // About the signing input of an SD-JWT VC: header.payload, ~1 KB.
    let data = vec![b'a'; 1024];
    let n = 2000;
    let rc = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    time("ES256 RustCrypto p256", n, || {
        let _: p256::ecdsa::Signature = rc.sign(&data);
    });
    for alg in [Algorithm::Es256, Algorithm::Es384, Algorithm::EdDsa] {
        let key = IssuerKey::generate(alg).unwrap();
        time(&format!("{} ring", alg.jose_name()), n, || {
            key.sign(&data).unwrap();
        });
    }
}
