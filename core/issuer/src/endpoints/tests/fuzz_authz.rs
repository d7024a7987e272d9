//! Fuzz tests (ADR 0016) of the authorization code flow's wallet input:
//! DPoP proofs through their verifier, and pushed authorization requests
//! from their bytes through the PAR rules, on the in-memory fakes.
//! Properties as in `fuzz.rs`: nothing panics, every refusal is a 4xx with
//! a description, and what is accepted obeys the rules.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sigil_fuzz::{Fuzz, Rng, mutate};

use super::fakes::{ISSUER, NOW, World};
use super::fuzz::{FastHolder, holders};
use crate::dpop::{self, DpopCheck};
use crate::endpoints::par::AuthorizationRequest;
use crate::errors::AuthorizationErrorCode;

const HTU: &str = "https://issuer.example/token";
const TOKEN: &str = "an-access-token";

/// Names and values the DPoP mutator splices in.
const DPOP_WORDS: &[&str] = &[
    "typ",
    "alg",
    "jwk",
    "kid",
    "crit",
    "jti",
    "htm",
    "htu",
    "iat",
    "ath",
    "nonce",
    "kty",
    "crv",
    "x",
    "y",
    "d",
    "EC",
    "OKP",
    "P-256",
    "Ed25519",
    "ES256",
    "EdDSA",
    "RS256",
    "HS256",
    "none",
    "dpop+jwt",
    "POST",
    "GET",
    HTU,
    "HTTPS://ISSUER.EXAMPLE:443/token",
    "https://issuer.example/token?x#y",
    "https://other.example/token",
];

fn ath() -> String {
    crate::jws::sha256_b64url(TOKEN.as_bytes())
}

/// A DPoP proof derived from a valid one: header or claims mutated as JSON
/// (then signed, so the claim rules run), or the compact string edited.
fn mutated_dpop(rng: &mut Rng, holder: &FastHolder) -> String {
    let header = json!({ "typ": "dpop+jwt", "alg": holder.alg, "jwk": holder.jwk });
    let claims = json!({ "jti": format!("j-{}", rng.next_u64()), "htm": "POST", "htu": HTU, "iat": NOW, "ath": ath() });
    match rng.below(6) {
        0 | 1 => holder.sign(&mutate::json(rng, &header, DPOP_WORDS, 3), &claims),
        2 | 3 => holder.sign(&header, &mutate::json(rng, &claims, DPOP_WORDS, 3)),
        4 => {
            let h = mutate::json_bytes(rng, &header, DPOP_WORDS);
            let c = mutate::json_bytes(rng, &claims, DPOP_WORDS);
            holder.sign_raw(&h, &c)
        }
        _ => {
            let valid = holder.sign(&header, &claims);
            let edited = mutate::bytes(rng, valid.as_bytes(), &[b".", b"eyJ", b"=", b"+/"]);
            String::from_utf8_lossy(&edited).into_owned()
        }
    }
}

fn decode_part(part: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

#[test]
fn fuzz_dpop_proof() {
    let holders = holders();
    let check = DpopCheck {
        method: "POST",
        url: HTU,
        now: NOW,
        max_age: 300,
        max_skew: 60,
        access_token: Some(TOKEN),
        nonce: None,
    };
    let (mut accepted, mut refused) = (0u64, 0u64);
    let mut fuzz = Fuzz::new("dpop-proof", 4_000);
    while let Some(rng) = fuzz.next_case() {
        let holder = rng.pick(&holders);
        let proof = mutated_dpop(rng, holder);
        let result = dpop::verify(&proof, check);
        assert_eq!(
            result.as_ref().map(|p| p.jkt.clone()).ok(),
            dpop::verify(&proof, check).map(|p| p.jkt).ok(),
            "verify is deterministic"
        );
        match result {
            Ok(p) => {
                accepted += 1;
                let mut parts = proof.split('.');
                let header = parts.next().and_then(decode_part).unwrap();
                let claims = parts.next().and_then(decode_part).unwrap();
                assert_eq!(header["typ"], "dpop+jwt", "{proof}");
                assert_eq!(claims["htm"], "POST", "{proof}");
                assert_eq!(claims["ath"], ath(), "{proof}");
                assert!(!p.jti.is_empty());
                assert!((NOW - 300..=NOW + 60).contains(&p.iat), "{proof}");
                assert_eq!(
                    p.jkt,
                    crate::jws::thumbprint(&holder.jwk).unwrap(),
                    "{proof}"
                );
                assert!(p.jwk.get("d").is_none());
            }
            Err(e) => {
                refused += 1;
                assert!(!e.description().is_empty());
            }
        }
    }
    assert!(
        fuzz.replaying() || (accepted > 0 && refused > accepted),
        "{accepted} accepted, {refused} refused"
    );
    fuzz.finish(&format!("{accepted} accepted, {refused} refused"));
}

/// Names and values the PAR mutator splices in.
const PAR_WORDS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "authorization_details",
    "issuer_state",
    "state",
    "dpop_jkt",
    "request_uri",
    "request",
    "code",
    "token",
    "S256",
    "plain",
    "http://127.0.0.1:1/cb",
    "http://127.0.0.1/cb#f",
    "https://evil.example/cb",
    "badge_scope",
    "st-1",
    "openid_credential",
    "badge",
    "mdl",
    "[{\"type\":\"openid_credential\",\"credential_configuration_id\":\"badge\"}]",
    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "&",
    "=",
    "%00",
    "%",
    "+",
];

fn par_pairs() -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", "wallet".into()),
        ("redirect_uri", "http://127.0.0.1:4711/cb".into()),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        ),
        ("code_challenge_method", "S256".into()),
        ("issuer_state", "st-1".into()),
        ("state", "s".into()),
    ]
}

/// A PAR body derived from a valid one: a parameter edited, dropped or
/// repeated, or the encoded bytes edited.
fn mutated_par(rng: &mut Rng) -> Vec<u8> {
    let mut pairs = par_pairs();
    match rng.below(5) {
        0 | 1 => {
            let i = rng.below(pairs.len());
            pairs[i].1 = mutate::edit_string(rng, &pairs[i].1, PAR_WORDS);
        }
        2 => {
            let i = rng.below(pairs.len());
            pairs.remove(i);
        }
        3 => {
            let name = *rng.pick(PAR_WORDS);
            pairs.push((name, mutate::string(rng, PAR_WORDS)));
        }
        _ => {
            let form = serde_urlencoded::to_string(&pairs).unwrap();
            return mutate::bytes(rng, form.as_bytes(), &[b"&", b"=", b"%", b"%00", b"+"]);
        }
    }
    serde_urlencoded::to_string(&pairs).unwrap().into_bytes()
}

#[tokio::test]
async fn fuzz_pushed_authorization_request() {
    let w = World::with_settings(|s| {
        s.tenants.entry("default".into()).or_default().redirect_uris =
            vec!["http://127.0.0.1/*".into()];
        s.credential_configurations.get_mut("badge").unwrap().scope = Some("badge_scope".into());
    });
    w.offer("o1", &["badge"], |o| {
        o.flow = crate::model::Flow::AuthorizationCode;
        o.issuer_state = Some("st-1".into());
    });
    let (mut pushed, mut refused) = (0u64, 0u64);
    let mut fuzz = Fuzz::new("pushed-authorization-request", 3_000);
    while let Some(rng) = fuzz.next_case() {
        let body = mutated_par(rng);
        let result =
            match AuthorizationRequest::from_form(Some("application/x-www-form-urlencoded"), &body)
            {
                Ok(r) => w
                    .issuer
                    .push_authorization(&w.tenant, &r, None)
                    .await
                    .map(|p| (r, p)),
                Err(e) => Err(e),
            };
        match result {
            Ok((request, p)) => {
                pushed += 1;
                assert!(
                    p.request_uri
                        .starts_with("urn:ietf:params:oauth:request_uri:")
                );
                assert_eq!(request.code_challenge_method.as_deref(), Some("S256"));
                assert!(crate::pkce::valid_challenge(
                    request.code_challenge.as_deref().unwrap()
                ));
                let uri = request.redirect_uri.as_deref().unwrap();
                assert!(
                    sigil_settings::redirect_uri_allowed("http://127.0.0.1/*", uri),
                    "{uri}"
                );
                assert_eq!(request.response_type.as_deref(), Some("code"));
            }
            Err(e) => {
                refused += 1;
                assert_ne!(e.code(), AuthorizationErrorCode::ServerError, "{e:?}");
                assert!(e.code().status() < 500);
                assert!(!e.description().is_empty());
            }
        }
    }
    let stored = w.store().authorizations.lock().unwrap().len() as u64;
    assert!(
        fuzz.replaying() || stored == pushed,
        "{stored} stored, {pushed} pushed"
    );
    for a in w.store().authorizations.lock().unwrap().values() {
        assert!(
            a.credential_configuration_ids.iter().all(|c| c == "badge"),
            "{a:?}"
        );
        assert_eq!(a.offer_id.as_deref(), Some("o1"));
    }
    assert!(
        fuzz.replaying() || (pushed > 0 && refused > 0),
        "{pushed} pushed, {refused} refused"
    );
    fuzz.finish(&format!("{pushed} pushed, {refused} refused"));
}

#[test]
fn the_fuzzed_issuer_is_the_fakes_issuer() {
    // The DPoP target above is this issuer's token endpoint.
    assert_eq!(HTU, format!("{ISSUER}/token"));
}
