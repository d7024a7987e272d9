//! The credential endpoint: every error code in the order the spec checks
//! them, and that nothing is handed out unrecorded.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::fakes::{DS_COUNTRY, Holder, ISSUER, NOW, World};
use crate::endpoints::credential::{CredentialCause, CredentialRequest, CredentialResponse};
use crate::errors::CredentialErrorCode as Code;
use crate::model::{ClaimSourceSpec, EventKind, Offer, OfferStatus};
use crate::ports::{ClaimFailure, ClaimOutcome, FormatFailure, PluginFailure, PluginFault};
use crate::proof::PROOF_TYP;

fn body(v: &Value) -> Result<CredentialRequest, CredentialCause> {
    CredentialRequest::from_json(v.to_string().as_bytes())
}

fn request(configuration: &str, proofs: &[String]) -> Result<CredentialRequest, CredentialCause> {
    body(&json!({ "credential_configuration_id": configuration, "proofs": { "jwt": proofs } }))
}

async fn call(
    w: &World,
    token: &str,
    request: Result<CredentialRequest, CredentialCause>,
) -> Result<CredentialResponse, CredentialCause> {
    w.issuer
        .credential(&w.tenant, Some(&format!("Bearer {token}")), request)
        .await
        .map(|o| o.into_issued().expect("issued, not deferred"))
}

/// A holder's proof over a fresh nonce.
fn proof(w: &World, holder: &Holder) -> String {
    holder.proof(&w.issuer.nonce(&w.tenant).c_nonce, NOW)
}

fn inline_badge(o: &mut Offer) {
    World::inline(o, "badge", json!({ "given_name": "Ada" }));
}

#[tokio::test]
async fn a_good_request_issues_records_and_consumes() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], inline_badge).await;
    let holder = Holder::new();
    let r = call(&w, &token, request("badge", &[proof(&w, &holder)]))
        .await
        .unwrap();
    assert_eq!(r.credentials.len(), 1);
    assert_eq!(r.credentials[0].credential, "format-sd-jwt-vc:active:0");
    assert_eq!(w.store().status("o1"), OfferStatus::Consumed);
    assert_eq!(
        w.store().event_kinds(),
        [EventKind::TokenIssued, EventKind::CredentialIssued]
    );
    let issuances = w.store().issuances.lock().unwrap().clone();
    assert_eq!(
        (
            issuances.len(),
            issuances[0].count,
            issuances[0].format.as_str()
        ),
        (1, 1, "dc+sd-jwt")
    );
}

/// The `data` of the offer's `credential_issued` event after one issuance.
async fn issued_event(w: World) -> serde_json::Value {
    let token = w.token_for("o1", &["badge"], inline_badge).await;
    call(&w, &token, request("badge", &[proof(&w, &Holder::new())]))
        .await
        .unwrap();
    let events = w.store().events.lock().unwrap().clone();
    events
        .into_iter()
        .find(|e| e.kind == EventKind::CredentialIssued)
        .expect("a credential_issued event")
        .detail
}

#[tokio::test]
async fn claim_values_reach_the_event_only_when_the_operator_turns_them_on() {
    let off = issued_event(World::new()).await;
    assert!(off.get("claims").is_none(), "{off}");
    assert!(!off.to_string().contains("Ada"), "{off}");
    let on = issued_event(World::with_settings(|s| s.events.claim_values = true)).await;
    assert_eq!(on["claims"]["given_name"], "Ada", "{on}");
    assert_eq!(on["count"], 1);
}

#[tokio::test]
async fn a_refused_request_of_a_live_token_is_an_event() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], inline_badge).await;
    // No token: no offer to tell.
    let e = w
        .issuer
        .credential(&w.tenant, None, request("badge", &[]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidToken);
    assert_eq!(w.store().event_kinds(), [EventKind::TokenIssued]);
    // A live token, a request without proofs: refused, and recorded with
    // its code and what it asked for.
    let no_proofs = || body(&json!({ "credential_configuration_id": "badge" }));
    let e = call(&w, &token, no_proofs()).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidProof);
    let events = w.store().events.lock().unwrap().clone();
    let refused = events.last().unwrap();
    assert_eq!(refused.kind, EventKind::CredentialRefused);
    assert_eq!(refused.offer_id, "o1");
    assert_eq!(
        refused.detail,
        json!({"error": "invalid_proof", "credentialConfigurationId": "badge", "format": "dc+sd-jwt"})
    );
    // A body that names nothing: no configuration, no format.
    let e = call(&w, &token, body(&json!("x"))).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidCredentialRequest);
    let events = w.store().events.lock().unwrap().clone();
    assert_eq!(
        events.last().unwrap().detail,
        json!({"error": "invalid_credential_request", "credentialConfigurationId": null, "format": null})
    );
    // A store that fails is no refusal to record.
    let recorded = w.store().events.lock().unwrap().len();
    w.store().broken.store(true, Ordering::Relaxed);
    let e = call(&w, &token, no_proofs()).await.unwrap_err();
    assert_eq!(e.code(), Code::ServerError);
    w.store().broken.store(false, Ordering::Relaxed);
    assert_eq!(w.store().events.lock().unwrap().len(), recorded);
}

#[tokio::test]
async fn bearer_token_errors_are_invalid_token() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], inline_badge).await;
    let good = || request("badge", &[]);
    for header in [
        None,
        Some(String::new()),
        Some("Basic abc".into()),
        Some("Bearer ".into()),
        Some("Bearer nope".into()),
    ] {
        let e = w
            .issuer
            .credential(&w.tenant, header.as_deref(), good())
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidToken, "{header:?}");
        assert_eq!(e.code().status(), 401);
    }
    // The scheme is case-insensitive (RFC 7235 §2.1).
    let e = w
        .issuer
        .credential(&w.tenant, Some(&format!("bearer {token}")), good())
        .await
        .unwrap_err();
    assert_ne!(e.code(), Code::InvalidToken);
    // Another tenant's token is unknown here, even with a bad body.
    let e = w
        .issuer
        .credential(&w.acme, Some(&format!("Bearer {token}")), body(&json!("x")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidToken);
    // An expired token.
    w.advance(301);
    let e = call(&w, &token, good()).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidToken);
}

#[tokio::test]
async fn request_errors_use_the_spec_codes() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], inline_badge).await;
    let holder = Holder::new();
    let good = proof(&w, &holder);
    let header = json!({ "typ": PROOF_TYP, "alg": "ES256", "jwk": holder.jwk });
    let n = w.issuer.nonce(&w.tenant).c_nonce;
    let cases: Vec<(Result<CredentialRequest, CredentialCause>, Code)> = vec![
        (
            body(&json!("not an object")),
            Code::InvalidCredentialRequest,
        ),
        (
            body(&json!({ "credential_configuration_id": 7 })),
            Code::InvalidCredentialRequest,
        ),
        (
            body(&json!({ "proofs": { "jwt": [good] } })),
            Code::InvalidCredentialRequest,
        ),
        (
            request("nope", std::slice::from_ref(&good)),
            Code::UnknownCredentialConfiguration,
        ),
        (
            request("static_badge", std::slice::from_ref(&good)),
            Code::InsufficientScope,
        ),
        (
            body(&json!({ "credential_identifier": "x", "proofs": { "jwt": [good] } })),
            Code::UnknownCredentialIdentifier,
        ),
        (
            body(
                &json!({ "credential_configuration_id": "badge", "credential_identifier": "x", "proofs": { "jwt": [good] } }),
            ),
            Code::InvalidCredentialRequest,
        ),
        (
            request(
                "badge",
                &[holder.sign(
                    &header,
                    &json!({ "aud": ISSUER, "iat": NOW, "exp": NOW - 3600, "nonce": n }),
                )],
            ),
            Code::InvalidProof,
        ),
        (
            request(
                "badge",
                &[holder.sign(
                    &header,
                    &json!({ "aud": ISSUER, "iat": NOW, "nbf": NOW + 3600, "nonce": n }),
                )],
            ),
            Code::InvalidProof,
        ),
        (
            request(
                "badge",
                &[holder.sign(
                    &json!({ "typ": PROOF_TYP, "alg": "ES256", "jwk": holder.jwk, "crit": ["b64"], "b64": false }),
                    &json!({ "aud": ISSUER, "iat": NOW, "nonce": n }),
                )],
            ),
            Code::InvalidProof,
        ),
        (
            body(&json!({ "credential_configuration_id": "badge" })),
            Code::InvalidProof,
        ),
        (
            body(
                &json!({ "credential_configuration_id": "badge", "proof": { "proof_type": "jwt", "jwt": good } }),
            ),
            Code::InvalidCredentialRequest,
        ),
        (
            body(
                &json!({ "credential_configuration_id": "badge", "proofs": { "jwt": [good], "attestation": ["x"] } }),
            ),
            Code::InvalidCredentialRequest,
        ),
        (
            body(&json!({ "credential_configuration_id": "badge", "proofs": {} })),
            Code::InvalidCredentialRequest,
        ),
        (
            body(
                &json!({ "credential_configuration_id": "badge", "proofs": { "attestation": ["x"] } }),
            ),
            Code::InvalidProof,
        ),
        (request("badge", &[]), Code::InvalidCredentialRequest),
        (
            request("badge", &vec![good.clone(); 11]),
            Code::InvalidCredentialRequest,
        ),
        (
            body(
                &json!({ "credential_configuration_id": "badge", "proofs": { "jwt": [good] },
            "credential_response_encryption": { "jwk": {}, "enc": "A128GCM" } }),
            ),
            Code::InvalidEncryptionParameters,
        ),
        (
            request(
                "badge",
                &[holder.sign(
                    &json!({ "typ": "JWT", "alg": "ES256", "jwk": holder.jwk }),
                    &json!({ "aud": ISSUER, "iat": NOW, "nonce": n }),
                )],
            ),
            Code::InvalidProof,
        ),
        (
            request(
                "badge",
                &[holder.sign(
                    &header,
                    &json!({ "aud": "https://elsewhere", "iat": NOW, "nonce": n }),
                )],
            ),
            Code::InvalidProof,
        ),
        (
            request(
                "badge",
                &[holder.sign(
                    &header,
                    &json!({ "aud": ISSUER, "iat": NOW - 3600, "nonce": n }),
                )],
            ),
            Code::InvalidProof,
        ),
        (
            request(
                "badge",
                &[holder.sign(&header, &json!({ "aud": ISSUER, "iat": NOW }))],
            ),
            Code::InvalidProof,
        ),
        (
            request(
                "badge",
                &[Holder::new().sign(&header, &json!({ "aud": ISSUER, "iat": NOW, "nonce": n }))],
            ),
            Code::InvalidProof,
        ),
        (
            request("badge", &[holder.proof("never-issued", NOW)]),
            Code::InvalidNonce,
        ),
        (
            request(
                "badge",
                &[holder.proof(&w.issuer.nonce(&w.acme).c_nonce, NOW)],
            ),
            Code::InvalidNonce,
        ),
    ];
    for (i, (req, code)) in cases.into_iter().enumerate() {
        let e = call(&w, &token, req).await.unwrap_err();
        assert_eq!(e.code(), code, "case {i}: {e:?}");
        assert_eq!(
            e.code().status(),
            if code == Code::InsufficientScope {
                403
            } else {
                400
            },
            "case {i}"
        );
        assert!(!e.description().is_empty());
    }
    // A proof error names the proof it is about.
    let e = call(
        &w,
        &token,
        request("badge", &[good.clone(), "x.y.z".into()]),
    )
    .await
    .unwrap_err();
    assert!(
        e.description().starts_with("proofs.jwt[1]: "),
        "{}",
        e.description()
    );
    // None of that spent the nonce or the token: the good proof still works, once.
    assert!(
        call(&w, &token, request("badge", std::slice::from_ref(&good)))
            .await
            .is_ok()
    );
    let e = call(&w, &token, request("badge", &[good]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidNonce);
    // An expired nonce, in an otherwise fresh proof.
    let nonce = w.issuer.nonce(&w.tenant).c_nonce;
    w.advance(301);
    let late = holder.proof(&nonce, NOW + 301);
    let token = w.token_for("o2", &["badge"], inline_badge).await;
    let e = call(&w, &token, request("badge", &[late]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidNonce);
}

/// Impierce `oid4vci` 0.4 sends `aud` with a trailing slash (ADR 0015):
/// accepted by default, refused when the operator turns the leniency off.
#[tokio::test]
async fn proof_aud_with_a_trailing_slash_follows_the_setting() {
    for lenient in [true, false] {
        let w = World::with_settings(|s| s.issuance.proof_aud_trailing_slash = lenient);
        let token = w.token_for("o1", &["badge"], inline_badge).await;
        let holder = Holder::new();
        let header = json!({ "typ": PROOF_TYP, "alg": "ES256", "jwk": holder.jwk });
        let nonce = w.issuer.nonce(&w.tenant).c_nonce;
        let jwt = holder.sign(
            &header,
            &json!({ "aud": format!("{ISSUER}/"), "iat": NOW, "nonce": nonce }),
        );
        let result = call(&w, &token, request("badge", &[jwt])).await;
        match result {
            Ok(r) => assert!(lenient && r.credentials.len() == 1),
            Err(e) => {
                assert!(!lenient, "{e:?}");
                assert_eq!(e.code(), Code::InvalidProof);
            }
        }
    }
}

#[tokio::test]
async fn batches_issue_one_credential_per_distinct_key() {
    let w = World::new();
    let token = w.token_for("o1", &["badge"], inline_badge).await;
    let holders = [Holder::new(), Holder::new(), Holder::new()];
    let n = w.issuer.nonce(&w.tenant).c_nonce;
    let mut proofs: Vec<String> = holders.iter().map(|h| h.proof(&n, NOW)).collect();
    proofs.push(holders[0].proof(&n, NOW));
    let r = call(&w, &token, request("badge", &proofs)).await.unwrap();
    assert_eq!(r.credentials.len(), 3);
    let issued = w.plugins().issued.lock().unwrap();
    let slots: Vec<&Value> = issued[0]
        .1
        .slots
        .iter()
        .filter_map(|s| s.holder_key.as_ref())
        .collect();
    assert_eq!(slots, holders.iter().map(|h| &h.jwk).collect::<Vec<_>>());
}

fn failure(fault: PluginFault) -> PluginFailure {
    PluginFailure {
        plugin: "p".into(),
        fault,
        message: "plugin 'p' failed".into(),
    }
}

#[tokio::test]
async fn plugin_and_claim_failures_map_to_denied_proof_or_server_error() {
    use ClaimFailure as C;
    use FormatFailure as F;
    let claim = |f: C| failure(PluginFault::Claim(f));
    let format = |f: F| failure(PluginFault::Format(f));
    let runtime = failure(PluginFault::Runtime);
    let claim_cases = [
        (claim(C::Denied("no".into())), Code::CredentialRequestDenied),
        (
            claim(C::NotFound("who".into())),
            Code::CredentialRequestDenied,
        ),
        (claim(C::Upstream("down".into())), Code::ServerError),
        (claim(C::InvalidInput("bad".into())), Code::ServerError),
        (claim(C::Internal("bug".into())), Code::ServerError),
        (runtime.clone(), Code::ServerError),
    ];
    let format_cases = [
        (
            format(F::UnsupportedHolderKey("P-384 only".into())),
            Code::InvalidProof,
        ),
        (
            format(F::InvalidClaims("given_name".into())),
            Code::CredentialRequestDenied,
        ),
        (format(F::Signing("hsm".into())), Code::ServerError),
        (
            format(F::InvalidConfiguration("vct".into())),
            Code::ServerError,
        ),
        (format(F::Internal("bug".into())), Code::ServerError),
        (runtime, Code::ServerError),
    ];
    let w = World::new();
    let holder = Holder::new();
    let token = w.token_for("o1", &["badge"], inline_badge).await;
    for (f, code) in claim_cases {
        w.plugins()
            .claim_answers
            .lock()
            .unwrap()
            .insert("claims-inline".into(), Err(f.clone()));
        let e = call(&w, &token, request("badge", &[proof(&w, &holder)]))
            .await
            .unwrap_err();
        assert_eq!(e.code(), code, "{f:?}");
        if code == Code::ServerError {
            assert!(
                e.description()
                    .contains("retried with the same access token"),
                "{}",
                e.description()
            );
        }
    }
    w.plugins().claim_answers.lock().unwrap().clear();
    for (f, code) in format_cases {
        *w.plugins().format_failure.lock().unwrap() = Some(f.clone());
        let e = call(&w, &token, request("badge", &[proof(&w, &holder)]))
            .await
            .unwrap_err();
        assert_eq!(e.code(), code, "{f:?}");
        assert_eq!(
            e.code().status(),
            if code == Code::ServerError { 500 } else { 400 }
        );
    }
    *w.plugins().format_failure.lock().unwrap() = None;
    // No failure consumed the offer or recorded anything.
    assert_eq!(w.store().status("o1"), OfferStatus::TokenIssued);
    assert!(w.store().issuances.lock().unwrap().is_empty());
    assert!(
        call(&w, &token, request("badge", &[proof(&w, &holder)]))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn offers_that_cannot_be_served_are_denied_or_server_errors() {
    let w = World::new();
    let holder = Holder::new();
    // The code and description of a request for a fresh offer made by `edit`.
    let refused = async |id: &str, edit: &dyn Fn(&mut Offer)| {
        let token = w.token_for(id, &["badge"], edit).await;
        let e = call(&w, &token, request("badge", &[proof(&w, &holder)]))
            .await
            .unwrap_err();
        (e.code(), e.description())
    };
    // No claims anywhere.
    let (code, _) = refused("none", &|_| {}).await;
    assert_eq!(code, Code::CredentialRequestDenied);
    // A retired issuer key.
    let (code, text) = refused("retired", &|o| {
        inline_badge(o);
        o.runtime_overrides.issuer_key_id = Some("old".into());
    })
    .await;
    assert_eq!(code, Code::CredentialRequestDenied);
    assert!(text.contains("'old'"), "{text}");
    // An attribute provider removed from the configuration since the offer.
    let (code, text) = refused("gone", &|o| {
        let gone = ClaimSourceSpec::AttributeProvider { id: "ldap".into() };
        o.credential_claims.insert("badge".into(), gone);
    })
    .await;
    assert_eq!(code, Code::ServerError);
    assert!(text.contains("attribute provider 'ldap'"), "{text}");
    // An inline webhook to an origin the operator no longer allows.
    let (code, text) = refused("hook", &|o| {
        let webhook = Some(json!({ "url": "https://evil.example/x" }));
        let hook = ClaimSourceSpec::Webhook { webhook, id: None };
        o.credential_claims.insert("badge".into(), hook);
    })
    .await;
    assert_eq!(code, Code::ServerError);
    assert!(text.contains("https://evil.example"), "{text}");
    // Data functions that fail.
    let (code, text) = refused("datafn", &|o| {
        World::inline(o, "badge", json!({ "n": "<nope>" }));
    })
    .await;
    assert_eq!(code, Code::ServerError);
    assert!(
        text.starts_with("the claims could not be completed"),
        "{text}"
    );
}

#[tokio::test]
async fn nothing_is_handed_out_that_was_not_recorded() {
    let w = World::new();
    let holder = Holder::new();
    let token = w.token_for("o1", &["badge"], inline_badge).await;
    let n = w.issuer.nonce(&w.tenant).c_nonce;
    // Spent by a racing request after the tag check: refused at recording.
    w.store().spent.lock().unwrap().insert(n.clone());
    let e = call(&w, &token, request("badge", &[holder.proof(&n, NOW)]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidNonce);
    assert_eq!(
        w.plugins().issued.lock().unwrap().len(),
        1,
        "issued, then not handed out"
    );
    // The store fails at reading the token, then at recording.
    w.store().broken.store(true, Ordering::Relaxed);
    let e = call(&w, &token, request("badge", &[proof(&w, &holder)]))
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.code().status()), (Code::ServerError, 500));
    assert!(matches!(e, CredentialCause::TokenLookup(_)));
    w.store().broken.store(false, Ordering::Relaxed);
    w.store().broken_finish.store(true, Ordering::Relaxed);
    let e = call(&w, &token, request("badge", &[proof(&w, &holder)]))
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.code().status()), (Code::ServerError, 500));
    assert!(
        e.description().contains("could not be recorded"),
        "{}",
        e.description()
    );
    w.store().broken_finish.store(false, Ordering::Relaxed);
    assert_eq!(w.store().status("o1"), OfferStatus::TokenIssued);
    assert!(w.store().issuances.lock().unwrap().is_empty());
}

#[test]
fn a_proof_error_names_its_proof() {
    let e = CredentialCause::Proof {
        index: 2,
        error: crate::proof::ProofError::Typ("JWT".into()),
    };
    assert_eq!(
        e.description(),
        "proofs.jwt[2]: proof typ must be openid4vci-proof+jwt, got JWT"
    );
    let body = crate::errors::ErrorBody::new(e.code().as_str(), &e.description());
    assert_eq!(body.error, "invalid_proof");
}

// --- mDLs and the document signer certificate (ISO/IEC 18013-5 §9.3.1) ---

const PROVIDER_PLUGIN: &str = "claims-attribute-provider";

fn mdl_claims(country: Option<&str>) -> serde_json::Map<String, Value> {
    let mut m = json!({ "given_name": "Ada", "family_name": "Lovelace" });
    if let Some(c) = country {
        m["issuing_country"] = json!(c);
    }
    m.as_object().unwrap().clone()
}

#[tokio::test]
async fn an_mdl_from_a_provider_with_another_country_is_denied_naming_the_mismatch() {
    let w = World::new();
    w.plugins().claim_answers.lock().unwrap().insert(
        PROVIDER_PLUGIN.into(),
        Ok(ClaimOutcome::Claims(mdl_claims(Some("FR")))),
    );
    let token = w.token_for("o1", &["mdl"], |_| {}).await;
    let e = call(&w, &token, request("mdl", &[proof(&w, &Holder::new())]))
        .await
        .unwrap_err();
    assert!(matches!(&e, CredentialCause::SignerMismatch(_)), "{e:?}");
    assert_eq!(e.code(), Code::CredentialRequestDenied);
    let text = e.description();
    assert!(
        text.contains("issuing_country") && text.contains(&format!("'{DS_COUNTRY}'")),
        "{text}"
    );
    assert!(!text.contains("FR"), "no claim values on the wire: {text}");
    assert!(
        w.plugins().issued.lock().unwrap().is_empty(),
        "nothing signed"
    );
    assert!(
        w.store().issuances.lock().unwrap().is_empty(),
        "nothing recorded"
    );
    // The same claims with the certificate's country are issued.
    w.plugins().claim_answers.lock().unwrap().insert(
        PROVIDER_PLUGIN.into(),
        Ok(ClaimOutcome::Claims(mdl_claims(Some(DS_COUNTRY)))),
    );
    call(&w, &token, request("mdl", &[proof(&w, &Holder::new())]))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_mdl_without_issuing_country_gets_the_certificates() {
    let w = World::new();
    let token = w
        .token_for("o1", &["mdl"], |o| {
            World::inline(o, "mdl", Value::Object(mdl_claims(None)));
        })
        .await;
    call(&w, &token, request("mdl", &[proof(&w, &Holder::new())]))
        .await
        .unwrap();
    let issued = w.plugins().issued.lock().unwrap().clone();
    assert_eq!(issued[0].1.claims["issuing_country"], DS_COUNTRY);
    assert_eq!(issued[0].1.claims["given_name"], "Ada");
}

#[tokio::test]
async fn without_a_document_signer_certificate_the_claims_go_as_given() {
    let w = World::new();
    let code = w.offer("o1", &["mdl"], |o| {
        o.tenant = "acme".into();
        World::inline(o, "mdl", Value::Object(mdl_claims(Some("FR"))));
    });
    let token = w
        .issuer
        .token(
            &w.acme,
            &crate::endpoints::token::TokenRequest {
                grant_type: crate::offer::PRE_AUTHORIZED_GRANT.into(),
                pre_authorized_code: Some(code),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .access_token;
    let nonce = w.issuer.nonce(&w.acme).c_nonce;
    let proof = Holder::new().proof(&nonce, NOW);
    w.issuer
        .credential(
            &w.acme,
            Some(&format!("Bearer {token}")),
            request("mdl", &[proof]),
        )
        .await
        .unwrap();
    let issued = w.plugins().issued.lock().unwrap().clone();
    assert_eq!(issued[0].1.claims["issuing_country"], "FR");
}
