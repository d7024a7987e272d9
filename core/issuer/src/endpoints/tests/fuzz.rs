//! Fuzz tests (ADR 0016): the proof JWT verifier, and the credential and
//! token requests from their bytes through the endpoints' rules, on the
//! in-memory fakes. Inputs are valid requests and proofs mutated
//! structurally, so they get past the parsers. Properties: nothing panics,
//! every refusal maps to a 4xx code with a description (the fakes never
//! fail, so a 5xx is a bug), and what is accepted obeys the rules.
//!
//! A short run is part of `cargo test`; `SIGIL_FUZZ_CASES=1000000` (or
//! `cargo xtask fuzz --long`) runs a million inputs per target.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self as sig, KeyPair as _};
use serde_json::{Value, json};
use sigil_fuzz::{Fuzz, Rng, mutate};

use super::fakes::{ISSUER, NOW, World};
use crate::endpoints::credential::CredentialRequest;
use crate::endpoints::token::{TokenCause, TokenRequest};
use crate::model::RedeemRefusal;
use crate::proof::{self, PROOF_TYP, ProofCheck, audience_matches};

/// Names and values the proof mutator splices in.
const PROOF_WORDS: &[&str] = &[
    "typ",
    "alg",
    "jwk",
    "kid",
    "x5c",
    "crit",
    "b64",
    "kty",
    "crv",
    "x",
    "y",
    "d",
    "aud",
    "iat",
    "exp",
    "nbf",
    "nonce",
    "iss",
    "EC",
    "OKP",
    "P-256",
    "P-384",
    "Ed25519",
    "ES256",
    "ES384",
    "EdDSA",
    "HS256",
    "none",
    PROOF_TYP,
    ISSUER,
    "https://issuer.example/",
];

/// Signs a message with a holder's private key.
pub(super) type SignFn = Box<dyn Fn(&[u8]) -> Vec<u8>>;

/// A holder key signing with `ring` (fast enough for a million proofs).
pub(super) struct FastHolder {
    pub(super) alg: &'static str,
    pub(super) jwk: Value,
    sign: SignFn,
}

pub(super) fn holders() -> Vec<FastHolder> {
    let rng = ring::rand::SystemRandom::new();
    let a = &sig::ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = sig::EcdsaKeyPair::generate_pkcs8(a, &rng).unwrap();
    let ec = sig::EcdsaKeyPair::from_pkcs8(a, pkcs8.as_ref(), &rng).unwrap();
    let point = ec.public_key().as_ref().to_vec();
    let ec_jwk = json!({"kty": "EC", "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])});
    let pkcs8 = sig::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let ed = sig::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let ed_jwk = json!({"kty": "OKP", "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(ed.public_key().as_ref())});
    vec![
        FastHolder {
            alg: "ES256",
            jwk: ec_jwk,
            sign: Box::new(move |m| ec.sign(&rng, m).unwrap().as_ref().to_vec()),
        },
        FastHolder {
            alg: "EdDSA",
            jwk: ed_jwk,
            sign: Box::new(move |m| ed.sign(m).as_ref().to_vec()),
        },
    ]
}

impl FastHolder {
    fn header(&self) -> Value {
        json!({ "typ": PROOF_TYP, "alg": self.alg, "jwk": self.jwk })
    }

    pub(super) fn sign_raw(&self, header: &[u8], claims: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = (self.sign)(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    pub(super) fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(header.to_string().as_bytes(), claims.to_string().as_bytes())
    }

    fn proof(&self, nonce: &str) -> String {
        self.sign(
            &self.header(),
            &json!({ "aud": ISSUER, "iat": NOW, "nonce": nonce }),
        )
    }
}

/// A proof JWT derived from a valid one: header and claims mutated as
/// JSON (and then signed, so the claim checks run), the compact string
/// edited, the key given as a `did:jwk` kid, or parts swapped in.
fn mutated_proof(rng: &mut Rng, holder: &FastHolder, nonce: &str) -> String {
    let header = holder.header();
    let claims = json!({ "aud": ISSUER, "iat": NOW, "nonce": nonce, "exp": NOW + 600 });
    match rng.below(8) {
        0 | 1 => holder.sign(&mutate::json(rng, &header, PROOF_WORDS, 3), &claims),
        2 | 3 => holder.sign(&header, &mutate::json(rng, &claims, PROOF_WORDS, 3)),
        4 => {
            let h = mutate::json_bytes(rng, &header, PROOF_WORDS);
            let c = mutate::json_bytes(rng, &claims, PROOF_WORDS);
            holder.sign_raw(&h, &c)
        }
        5 => {
            let jwk = mutate::json(rng, &holder.jwk, PROOF_WORDS, 2);
            let kid = format!(
                "did:jwk:{}{}",
                URL_SAFE_NO_PAD.encode(jwk.to_string()),
                if rng.one_in(2) { "#0" } else { "" }
            );
            let header = json!({ "typ": PROOF_TYP, "alg": holder.alg, "kid": kid });
            holder.sign(&header, &claims)
        }
        6 => {
            let valid = holder.sign(&header, &claims);
            let edited = mutate::bytes(rng, valid.as_bytes(), &[b".", b"eyJ", b"=", b"+/"]);
            String::from_utf8_lossy(&edited).into_owned()
        }
        _ => {
            let valid = holder.sign(&header, &claims);
            let parts: Vec<&str> = valid.split('.').collect();
            let mut picked: Vec<String> = (0..rng.below(5))
                .map(|_| (*rng.pick(&parts)).to_owned())
                .collect();
            if rng.one_in(2) {
                let n = rng.below(80);
                picked.push(URL_SAFE_NO_PAD.encode(rng.bytes(n)));
            }
            picked.join(".")
        }
    }
}

fn decode_part(part: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

#[test]
fn fuzz_proof_jwt() {
    let holders = holders();
    let check = ProofCheck {
        audience: ISSUER,
        audience_trailing_slash: true,
        now: NOW,
        max_age: 300,
        max_skew: 60,
    };
    let (mut accepted, mut refused) = (0u64, 0u64);
    let mut fuzz = Fuzz::new("proof-jwt", 4_000);
    while let Some(rng) = fuzz.next_case() {
        let holder = rng.pick(&holders);
        let jwt = mutated_proof(rng, holder, "n-1");
        let result = proof::verify(&jwt, check);
        assert_eq!(
            result,
            proof::verify(&jwt, check),
            "verify is deterministic"
        );
        match result {
            Ok(p) => {
                accepted += 1;
                let mut parts = jwt.split('.');
                let header = parts.next().and_then(decode_part).unwrap();
                let claims = parts.next().and_then(decode_part).unwrap();
                assert_eq!(header["typ"], PROOF_TYP, "{jwt}");
                assert!(header.get("crit").is_none(), "{jwt}");
                let aud = match &claims["aud"] {
                    Value::Array(a) => a[0].as_str().unwrap(),
                    a => a.as_str().unwrap(),
                };
                assert!(audience_matches(aud, ISSUER, true), "{jwt}");
                assert!(!p.nonce.is_empty());
                let key = p.holder_key.as_object().unwrap();
                assert!(
                    key.keys()
                        .all(|k| ["kty", "crv", "x", "y"].contains(&k.as_str()))
                );
            }
            Err(e) => {
                refused += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    // The generator must reach both sides, or it is not testing much.
    assert!(
        fuzz.replaying() || (accepted > 0 && refused > accepted),
        "{accepted} accepted, {refused} refused"
    );
    fuzz.finish(&format!("{accepted} accepted, {refused} refused"));
}

/// Names and values the credential request mutator splices in.
const REQUEST_WORDS: &[&str] = &[
    "credential_configuration_id",
    "credential_identifier",
    "proofs",
    "proof",
    "jwt",
    "attestation",
    "proof_type",
    "credential_response_encryption",
    "badge",
    "static_badge",
    "hr_badge",
    "hook_badge",
    "custom_badge",
    "nope",
];

#[tokio::test]
async fn fuzz_credential_request() {
    let w = World::new();
    let holders = holders();
    let mut token = w
        .token_for("o1", &["badge"], |o| {
            World::inline(o, "badge", json!({ "given_name": "Ada" }));
        })
        .await;
    let (mut issued, mut refused) = (0u64, 0u64);
    let mut fuzz = Fuzz::new("credential-request", 3_000);
    while let Some(rng) = fuzz.next_case() {
        let case = issued + refused;
        if case % 5_000 == 4_999 {
            // Keep the fakes' records small on long runs; new offer, new token.
            w.plugins().issued.lock().unwrap().clear();
            w.plugins().claim_calls.lock().unwrap().clear();
            w.store().issuances.lock().unwrap().clear();
            token = w
                .token_for(&format!("o{case}"), &["badge"], |o| {
                    World::inline(o, "badge", json!({ "given_name": "Ada" }));
                })
                .await;
        }
        let nonce = w.issuer.nonce(&w.tenant).c_nonce;
        let jwts: Vec<String> = (0..rng.below(3) + 1)
            .map(|_| {
                let holder = rng.pick(&holders);
                if rng.one_in(3) {
                    mutated_proof(rng, holder, &nonce)
                } else {
                    holder.proof(&nonce)
                }
            })
            .collect();
        let seed = json!({ "credential_configuration_id": "badge", "proofs": { "jwt": jwts } });
        let body = mutate::json_bytes(rng, &seed, REQUEST_WORDS);
        let authorization = match rng.below(12) {
            0 => None,
            1 => Some(mutate::edit_string(
                rng,
                &format!("Bearer {token}"),
                &["Bearer "],
            )),
            _ => Some(format!("Bearer {token}")),
        };
        let request = CredentialRequest::from_json(&body);
        match w
            .issuer
            .credential(&w.tenant, authorization.as_deref(), request)
            .await
        {
            Ok(r) => {
                let r = r.into_issued().expect("no deferred offers here");
                issued += 1;
                assert!(!r.credentials.is_empty() && r.credentials.len() <= 10);
            }
            Err(e) => {
                refused += 1;
                let status = e.code().status();
                assert!(
                    (400..500).contains(&status),
                    "{status} for {:?}: {e:?}",
                    String::from_utf8_lossy(&body)
                );
                assert!(!e.description().is_empty());
            }
        }
    }
    assert!(
        fuzz.replaying() || (issued > 0 && refused > 0),
        "{issued} issued, {refused} refused"
    );
    fuzz.finish(&format!("{issued} issued, {refused} refused"));
}

/// A fresh offer `id` (every other one with the transaction code
/// `1234`): its pre-authorized code, and whether it needs the tx code.
fn fresh_code(w: &World, id: u64) -> (String, bool) {
    let tx = id.is_multiple_of(2);
    let code = w.offer(&format!("t{id}"), &["badge"], |o| {
        if tx {
            World::with_tx_code(o, &format!("t{id}-code"), "1234");
        }
    });
    (code, tx)
}

#[tokio::test]
async fn fuzz_token_request() {
    let mut w = World::new();
    let mut next_offer = 0u64;
    let mut codes: Vec<(String, bool)> = (0..64)
        .map(|_| {
            next_offer += 1;
            fresh_code(&w, next_offer)
        })
        .collect();
    const TYPES: &[&str] = &[
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "APPLICATION/X-WWW-FORM-URLENCODED",
        "application/json",
        "multipart/form-data; boundary=x",
        "",
        ";",
    ];
    const WORDS: &[&str] = &[
        "grant_type",
        "pre-authorized_code",
        "tx_code",
        "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        "authorization_code",
        "1234",
    ];
    let (mut granted, mut refused) = (0u64, 0u64);
    let mut fuzz = Fuzz::new("token-request", 4_000);
    while let Some(rng) = fuzz.next_case() {
        if (granted + refused) % 10_000 == 9_999 {
            // Keep the fake store small on long runs.
            w = World::new();
            for code in &mut codes {
                next_offer += 1;
                *code = fresh_code(&w, next_offer);
            }
        }
        let slot = rng.below(codes.len());
        let (code, tx) = codes[slot].clone();
        let mut pairs = vec![
            ("grant_type", crate::offer::PRE_AUTHORIZED_GRANT.to_owned()),
            ("pre-authorized_code", code),
        ];
        // Mostly what the offer asks for; sometimes the opposite.
        if tx != rng.one_in(8) {
            pairs.push(("tx_code", "1234".into()));
        }
        if rng.one_in(3) {
            let i = rng.below(pairs.len());
            pairs[i].1 = mutate::edit_string(rng, &pairs[i].1, WORDS);
        }
        if rng.one_in(6) {
            let i = rng.below(pairs.len());
            pairs.push(pairs[i].clone());
        }
        let form = serde_urlencoded::to_string(&pairs).unwrap();
        let tokens: Vec<&[u8]> = vec![b"&", b"=", b"%", b"+", b"%FF", b"%00", b"grant_type="];
        let body = if rng.one_in(3) {
            mutate::bytes(rng, form.as_bytes(), &tokens)
        } else {
            form.into_bytes()
        };
        let content_type = if rng.one_in(8) {
            None
        } else if rng.one_in(6) {
            let base = *rng.pick(TYPES);
            Some(mutate::edit_string(rng, base, WORDS))
        } else {
            Some(TYPES[rng.below(3)].to_owned())
        };
        let result = match TokenRequest::from_form(content_type.as_deref(), &body) {
            Ok(request) => w.issuer.token(&w.tenant, &request).await,
            Err(e) => Err(e),
        };
        // A spent or invalidated code is replaced, so codes keep being granted.
        if matches!(
            &result,
            Ok(_)
                | Err(TokenCause::Refused(
                    RedeemRefusal::AlreadyUsed | RedeemRefusal::Invalidated
                ))
        ) {
            next_offer += 1;
            codes[slot] = fresh_code(&w, next_offer);
        }
        match result {
            Ok(t) => {
                granted += 1;
                assert!(!t.access_token.is_empty() && t.expires_in == 300);
            }
            Err(e) => {
                refused += 1;
                let status = e.code().status();
                assert!((400..500).contains(&status), "{status}: {e:?}");
                assert!(!e.description().is_empty());
            }
        }
    }
    assert!(
        fuzz.replaying() || (granted > 0 && refused > 0),
        "{granted} granted, {refused} refused"
    );
    fuzz.finish(&format!("{granted} granted, {refused} refused"));
}
