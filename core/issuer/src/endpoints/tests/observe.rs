//! What the issuer reports to its observer: each credential request's
//! outcome with its tenant, configuration and format, and each error
//! answer of the token, credential and deferred credential endpoints with
//! its code; nothing for answers that are no error.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::fakes::{Holder, NOW, World};
use crate::endpoints::credential::{
    CredentialAccess, CredentialCause, CredentialOutcome, CredentialRequest,
};
use crate::endpoints::deferred::{Completion, DeferredRequest};
use crate::endpoints::token::TokenRequest;
use crate::model::{IssuanceMode, Offer};
use crate::observe::{Endpoint, Issuance, IssuanceOutcome, Observe};
use crate::offer::PRE_AUTHORIZED_GRANT;
use crate::ports::NoProviders;

/// One report, as the fake observer keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Report {
    Issuance(String, String, String, IssuanceOutcome),
    Refused(Endpoint, &'static str),
}

#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<Report>>);

impl Observe for Recorder {
    fn issuance(&self, i: Issuance<'_>) {
        self.0.lock().unwrap().push(Report::Issuance(
            i.tenant.into(),
            i.configuration.into(),
            i.format.into(),
            i.outcome,
        ));
    }

    fn refused(&self, endpoint: Endpoint, error: &'static str) {
        self.0
            .lock()
            .unwrap()
            .push(Report::Refused(endpoint, error));
    }
}

impl Recorder {
    /// The reports since the last call.
    fn take(&self) -> Vec<Report> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn observed() -> (World, Arc<Recorder>) {
    let mut w = World::new();
    let recorder = Arc::new(Recorder::default());
    w.issuer.observer = recorder.clone();
    (w, recorder)
}

fn issuance(configuration: &str, format: &str, outcome: IssuanceOutcome) -> Report {
    Report::Issuance(
        "default".into(),
        configuration.into(),
        format.into(),
        outcome,
    )
}

fn inline_badge(o: &mut Offer) {
    World::inline(o, "badge", json!({ "given_name": "Ada" }));
}

fn body(v: &Value) -> Result<CredentialRequest, CredentialCause> {
    CredentialRequest::from_json(v.to_string().as_bytes())
}

async fn credential(
    w: &World,
    authorization: Option<&str>,
    request: Result<CredentialRequest, CredentialCause>,
) -> Result<CredentialOutcome, CredentialCause> {
    w.issuer.credential(&w.tenant, authorization, request).await
}

/// A request for `configuration` with one fresh proof.
fn proven(w: &World, configuration: &str) -> Result<CredentialRequest, CredentialCause> {
    let nonce = w.issuer.nonce(&w.tenant).c_nonce;
    body(&json!({
        "credential_configuration_id": configuration,
        "proofs": { "jwt": [Holder::new().proof(&nonce, NOW)] }
    }))
}

#[tokio::test]
async fn the_token_endpoint_reports_its_error_codes_only() {
    let (w, seen) = observed();
    w.token_for("o1", &["badge"], inline_badge).await;
    assert_eq!(seen.take(), [], "a token issued is no error");
    let unknown = TokenRequest {
        grant_type: PRE_AUTHORIZED_GRANT.into(),
        pre_authorized_code: Some("never-issued".into()),
        ..Default::default()
    };
    w.issuer.token(&w.tenant, &unknown).await.unwrap_err();
    let other = TokenRequest {
        grant_type: "password".into(),
        ..Default::default()
    };
    w.issuer.token(&w.tenant, &other).await.unwrap_err();
    assert_eq!(
        seen.take(),
        [
            Report::Refused(Endpoint::Token, "invalid_grant"),
            Report::Refused(Endpoint::Token, "unsupported_grant_type"),
        ]
    );
}

#[tokio::test]
async fn each_credential_request_reports_its_outcome_and_error_code() {
    let (w, seen) = observed();
    let token = w.token_for("o1", &["badge"], inline_badge).await;
    let bearer = format!("Bearer {token}");
    // Issued: the configuration and its format, no error.
    credential(&w, Some(&bearer), proven(&w, "badge"))
        .await
        .unwrap();
    assert_eq!(
        seen.take(),
        [issuance("badge", "dc+sd-jwt", IssuanceOutcome::Issued)]
    );
    // Refused: without proofs, and without a token (checked first).
    let no_proofs = || body(&json!({ "credential_configuration_id": "badge" }));
    credential(&w, Some(&bearer), no_proofs())
        .await
        .unwrap_err();
    credential(&w, None, no_proofs()).await.unwrap_err();
    assert_eq!(
        seen.take(),
        [
            issuance("badge", "dc+sd-jwt", IssuanceOutcome::Refused),
            Report::Refused(Endpoint::Credential, "invalid_proof"),
            issuance("badge", "dc+sd-jwt", IssuanceOutcome::Refused),
            Report::Refused(Endpoint::Credential, "invalid_token"),
        ]
    );
    // A configuration this server does not have is no label value.
    credential(&w, Some(&bearer), proven(&w, "made-up"))
        .await
        .unwrap_err();
    assert_eq!(
        seen.take(),
        [
            issuance("", "", IssuanceOutcome::Refused),
            Report::Refused(Endpoint::Credential, "unknown_credential_configuration"),
        ]
    );
    // Failed: the store does not answer.
    w.store().broken.store(true, Ordering::Relaxed);
    credential(&w, Some(&bearer), proven(&w, "badge"))
        .await
        .unwrap_err();
    w.store().broken.store(false, Ordering::Relaxed);
    assert_eq!(
        seen.take(),
        [
            issuance("badge", "dc+sd-jwt", IssuanceOutcome::Failed),
            Report::Refused(Endpoint::Credential, "server_error"),
        ]
    );
}

async fn poll(
    w: &World,
    bearer: &str,
    id: &str,
) -> Result<CredentialOutcome, crate::endpoints::deferred::DeferredCause> {
    let body = json!({ "transaction_id": id }).to_string();
    let access = CredentialAccess {
        authorization: Some(bearer),
        dpop: &[],
        url: "https://issuer.example/deferred_credential",
    };
    let request = DeferredRequest::from_body(Some("application/json"), body.as_bytes());
    w.issuer
        .deferred_credential(&w.tenant, access, request, &NoProviders)
        .await
}

#[tokio::test]
async fn a_deferred_issuance_reports_deferred_then_issued_when_collected() {
    let (w, seen) = observed();
    let deferred_badge = |o: &mut Offer| {
        o.issuance_mode = IssuanceMode::Deferred;
        inline_badge(o);
    };
    let token = w.token_for("o1", &["badge"], deferred_badge).await;
    let bearer = format!("Bearer {token}");
    let CredentialOutcome::Deferred(d) = credential(&w, Some(&bearer), proven(&w, "badge"))
        .await
        .unwrap()
    else {
        panic!("deferred")
    };
    assert_eq!(
        seen.take(),
        [issuance("badge", "dc+sd-jwt", IssuanceOutcome::Deferred)]
    );
    // Pending: no issuance yet, and no error.
    poll(&w, &bearer, &d.transaction_id).await.unwrap();
    poll(&w, &bearer, "unknown").await.unwrap_err();
    assert_eq!(
        seen.take(),
        [Report::Refused(
            Endpoint::DeferredCredential,
            "invalid_transaction_id"
        )]
    );
    w.issuer
        .complete_deferred(&w.tenant, &d.transaction_id, Completion::Resolve)
        .await
        .unwrap();
    poll(&w, &bearer, &d.transaction_id)
        .await
        .unwrap()
        .into_issued()
        .expect("issued");
    assert_eq!(
        seen.take(),
        [issuance("badge", "dc+sd-jwt", IssuanceOutcome::Issued)]
    );
}
