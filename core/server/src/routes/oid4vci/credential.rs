//! `POST /credential` (OID4VCI §8): validate token, request and proofs in the
//! order the spec and the conformance suite expect, then issue.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use sigil_issuer::errors::CredentialErrorCode as Code;
use sigil_issuer::proof::{self, ProofCheck, ProofError};
use sigil_issuer::secrets;
use sigil_store::{Finish, NewEvent, NewIssuance};

use super::reply::{self, credential_error as error};
use crate::issuance;
use crate::state::{AppState, now};

/// Issue credentials for one configuration.
pub async fn credential(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    // 1. The access token.
    let Some(token) = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|v| !v.is_empty())
    else {
        return error(
            Code::InvalidToken,
            "send the access token as Authorization: Bearer <token>",
        );
    };
    let n = now();
    let (grant, offer) = match state
        .store
        .find_access_token_and_offer(&secrets::hash(token), n)
        .await
    {
        Ok(Some((g, offer))) if g.tenant == t.id => (g, offer),
        Ok(_) => {
            return error(
                Code::InvalidToken,
                "the access token is unknown, expired or revoked",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "reading an access token failed");
            return error(
                Code::ServerError,
                "the request could not be processed; try again",
            );
        }
    };
    // 2. The request body.
    let request: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(m)) => Value::Object(m),
        _ => {
            return error(
                Code::InvalidCredentialRequest,
                "the body must be a JSON object",
            );
        }
    };
    // 3. Which credential.
    let configuration_id = request.get("credential_configuration_id");
    if let Some(identifier) = request.get("credential_identifier") {
        let _ = identifier;
        return error(
            Code::UnknownCredentialIdentifier,
            "this issuer returned no credential_identifiers; use credential_configuration_id",
        );
    }
    let Some(configuration_id) = configuration_id else {
        return error(
            Code::InvalidCredentialRequest,
            "credential_configuration_id is missing",
        );
    };
    let Some(configuration_id) = configuration_id.as_str() else {
        return error(
            Code::InvalidCredentialRequest,
            "credential_configuration_id must be a string",
        );
    };
    let Some(config) = state
        .settings
        .credential_configurations
        .get(configuration_id)
        .filter(|_| t.offers(configuration_id))
    else {
        return error(
            Code::UnknownCredentialConfiguration,
            &format!("unknown credential configuration {configuration_id}"),
        );
    };
    if !grant
        .credential_configuration_ids
        .iter()
        .any(|c| c == configuration_id)
    {
        return error(
            Code::InsufficientScope,
            &format!("the access token does not cover {configuration_id}"),
        );
    }
    // 4. Response encryption is not offered by this issuer.
    if request.get("credential_response_encryption").is_some() {
        return error(
            Code::InvalidEncryptionParameters,
            "this issuer does not support credential response encryption",
        );
    }
    if request.get("proof").is_some() {
        return error(
            Code::InvalidCredentialRequest,
            "the singular proof parameter is not part of OID4VCI 1.0; use proofs",
        );
    }
    // 5. Proofs.
    let jwts = match proofs(&request, state.settings.issuance.batch_size) {
        Ok(j) => j,
        Err((code, text)) => return error(code, &text),
    };
    let check = ProofCheck {
        audience: &t.issuer,
        now: n,
        max_age: state.settings.issuance.proof_max_age_seconds,
        max_skew: 60,
    };
    let mut holder_keys: Vec<Value> = Vec::new();
    let mut nonces = BTreeSet::new();
    for (i, jwt) in jwts.iter().enumerate() {
        match proof::verify(jwt, check) {
            Ok(p) => {
                nonces.insert(p.nonce);
                if !holder_keys.contains(&p.holder_key) {
                    holder_keys.push(p.holder_key);
                }
            }
            Err(e) => return proof_error(&e, i),
        }
    }
    // Tag and expiry now; the nonce is spent when the issuance is recorded,
    // in the same transaction, so a replay that got this far is refused
    // there and its credentials are never handed out.
    let mut spend = Vec::with_capacity(nonces.len());
    for nonce in nonces {
        let Some(expires_at) = state.nonce_key.check(&t.id, &nonce, n) else {
            return proof_error(&ProofError::Nonce, 0);
        };
        spend.push((nonce, expires_at));
    }
    // 6. Issue.
    let count = holder_keys.len();
    let credentials = match issuance::issue(&state, t, &offer, config, holder_keys, n).await {
        Ok(c) => c,
        Err(f) => return error(f.code, &f.description),
    };
    let recorded = record(
        &state,
        &t.id,
        &spend,
        &offer,
        (configuration_id, &config.format),
        count,
        n,
    )
    .await;
    if let Ok(Finish::NonceSpent) = recorded {
        return proof_error(&ProofError::Nonce, 0);
    }
    if let Err(e) = recorded {
        // Nothing is handed out that was not recorded; the wallet retries
        // with the same access token and a fresh nonce.
        tracing::error!(error = %e, offer = %offer.id, "recording an issuance failed");
        return error(
            Code::ServerError,
            "the credential could not be recorded; retry with the same access token and a fresh nonce",
        );
    }
    let list: Vec<Value> = credentials
        .into_iter()
        .map(|c| json!({ "credential": c }))
        .collect();
    reply::no_store(StatusCode::OK, &json!({ "credentials": list }))
}

fn proofs(request: &Value, batch_size: u32) -> Result<Vec<String>, (Code, String)> {
    let bad = |code, text: &str| Err((code, text.to_owned()));
    let Some(proofs) = request.get("proofs") else {
        return bad(
            Code::InvalidProof,
            "proofs is missing; send proofs.jwt with a key proof signed over a c_nonce",
        );
    };
    let Some(obj) = proofs.as_object() else {
        return bad(Code::InvalidCredentialRequest, "proofs must be an object");
    };
    if obj.len() != 1 {
        return bad(
            Code::InvalidCredentialRequest,
            "proofs must have exactly one proof type",
        );
    }
    let Some(list) = obj.get("jwt") else {
        return bad(Code::InvalidProof, "only the jwt proof type is supported");
    };
    let Some(list) = list.as_array().filter(|l| !l.is_empty()) else {
        return bad(
            Code::InvalidCredentialRequest,
            "proofs.jwt must be a non-empty array",
        );
    };
    if list.len() > batch_size as usize {
        return bad(
            Code::InvalidCredentialRequest,
            &format!("at most {batch_size} proofs per request (batch_size)"),
        );
    }
    list.iter()
        .map(|p| {
            p.as_str().map(str::to_owned).ok_or_else(|| {
                (
                    Code::InvalidCredentialRequest,
                    "each proof must be a JWT string".to_owned(),
                )
            })
        })
        .collect()
}

fn proof_error(e: &ProofError, index: usize) -> HttpResponse {
    match e {
        ProofError::Nonce => error(Code::InvalidNonce, &e.to_string()),
        _ => error(Code::InvalidProof, &format!("proofs.jwt[{index}]: {e}")),
    }
}

/// Spend the nonces and record the issuance, the offer's status and the
/// event in one transaction.
async fn record(
    state: &AppState,
    tenant: &str,
    nonces: &[(String, i64)],
    offer: &sigil_store::OfferRecord,
    (configuration_id, format): (&str, &str),
    count: usize,
    n: i64,
) -> Result<Finish, sigil_store::StoreError> {
    let issuance = NewIssuance {
        id: secrets::random_token(),
        tenant: tenant.to_owned(),
        offer_id: offer.id.clone(),
        credential_configuration_id: configuration_id.to_owned(),
        format: format.to_owned(),
        count: count as u32,
        created_at: n,
    };
    let event = NewEvent {
        tenant: tenant.to_owned(),
        offer_id: offer.id.clone(),
        kind: "credential_issued".into(),
        detail: json!({ "credentialConfigurationId": configuration_id, "format": format, "count": count }),
        created_at: n,
    };
    state
        .store
        .finish_credential(nonces, issuance, &offer.credential_configuration_ids, event)
        .await
}
