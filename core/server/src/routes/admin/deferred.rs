//! The operator's side of deferred issuance (OID4VCI §9):
//! - `POST .../deferred/{transactionId}/complete`: body `{}` resolves the
//!   claims from the offer's claim source now, `{"claims": {...}}` gives them;
//! - `POST .../deferred/{transactionId}/deny`: body `{"reason": "..."}`.
//!
//! Each under `/admin/v1` and `/admin/v1/tenants/{tenant}`; at `/admin/v1`
//! the transaction is found in whichever tenant the caller sees has it. The
//! answer is the transaction as the offer view lists it (never its claims).
//! The rules are [`Issuer::complete_deferred`]'s and [`Issuer::deny_deferred`]'s.
//!
//! [`Issuer::complete_deferred`]: sigil_issuer::Issuer::complete_deferred
//! [`Issuer::deny_deferred`]: sigil_issuer::Issuer::deny_deferred

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sigil_issuer::endpoints::deferred::{Completion, SettleCause, plausible_transaction_id};
use sigil_issuer::errors::CredentialErrorCode;
use sigil_issuer::model::DeferredTransaction;
use sigil_time::rfc3339;

use super::access::{Admin, printable};
use super::body::AdminJson;
use crate::problem::{FieldError, Problem};
use crate::state::AppState;
use crate::tenants::Tenant;

/// Mount the routes in the `/admin/v1` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource("/deferred/{id}/complete", "POST").route(web::post().to(complete_default)),
    )
    .service(
        super::resource("/tenants/{tenant}/deferred/{id}/complete", "POST")
            .route(web::post().to(complete_for_tenant)),
    )
    .service(super::resource("/deferred/{id}/deny", "POST").route(web::post().to(deny_default)))
    .service(
        super::resource("/tenants/{tenant}/deferred/{id}/deny", "POST")
            .route(web::post().to(deny_for_tenant)),
    );
}

/// A deferred transaction as the admin API shows it (the offer view's
/// `deferredTransactions[]` and the answer of complete and deny): never
/// its claims.
pub fn deferred_json(t: &DeferredTransaction) -> Value {
    json!({
        "transactionId": t.id,
        "offerId": t.offer_id,
        "credentialConfigurationId": t.credential_configuration_id,
        "status": t.status.as_str(),
        "origin": t.origin.as_str(),
        "interval": t.interval_seconds,
        "createdAt": rfc3339(t.created_at),
        "updatedAt": rfc3339(t.updated_at),
        "expiresAt": rfc3339(t.expires_at),
        "reason": t.reason,
    })
}

/// Body of `complete`: no member resolves the claims from the source.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    /// The claims of the credential (a JSON object).
    #[serde(default)]
    pub claims: Option<Map<String, Value>>,
}

/// Body of `deny`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenyBody {
    /// Why (for the operator and the events; the wallet is not told).
    pub reason: String,
}

/// `POST /admin/v1/deferred/{id}/complete`.
async fn complete_default(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: AdminJson<CompleteBody>,
) -> Result<HttpResponse, Problem> {
    let t = holder_of(&admin, &state, &path).await?;
    complete(&state, t, &path, body.into_inner()).await
}

/// `POST /admin/v1/tenants/{tenant}/deferred/{id}/complete`.
async fn complete_for_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: AdminJson<CompleteBody>,
) -> Result<HttpResponse, Problem> {
    let t = admin.tenant(&state, &path.0)?;
    complete(&state, t, &path.1, body.into_inner()).await
}

/// `POST /admin/v1/deferred/{id}/deny`.
async fn deny_default(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: AdminJson<DenyBody>,
) -> Result<HttpResponse, Problem> {
    let t = holder_of(&admin, &state, &path).await?;
    deny(&state, t, &path, &body.into_inner().reason).await
}

/// `POST /admin/v1/tenants/{tenant}/deferred/{id}/deny`.
async fn deny_for_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: AdminJson<DenyBody>,
) -> Result<HttpResponse, Problem> {
    let t = admin.tenant(&state, &path.0)?;
    deny(&state, t, &path.1, &body.into_inner().reason).await
}

async fn complete(
    state: &AppState,
    t: &Tenant,
    id: &str,
    body: CompleteBody,
) -> Result<HttpResponse, Problem> {
    let completion = match body.claims {
        Some(claims) => Completion::Claims(claims),
        None => Completion::Resolve,
    };
    let done = state
        .issuer
        .complete_deferred(t, id, completion)
        .await
        .map_err(|e| refused(&e, id))?;
    Ok(ok(&done))
}

async fn deny(
    state: &AppState,
    t: &Tenant,
    id: &str,
    reason: &str,
) -> Result<HttpResponse, Problem> {
    let done = state
        .issuer
        .deny_deferred(t, id, reason)
        .await
        .map_err(|e| refused(&e, id))?;
    Ok(ok(&done))
}

fn ok(t: &DeferredTransaction) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(deferred_json(t))
}

/// The tenant among those the caller sees that has transaction `id`.
async fn holder_of<'s>(
    admin: &Admin,
    state: &'s AppState,
    id: &str,
) -> Result<&'s Tenant, Problem> {
    if !plausible_transaction_id(id) {
        return Err(refused(&SettleCause::Unknown, id));
    }
    admin
        .tenant_having(state, |t| state.issuer.store().deferred(&t.id, id))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "reading a deferred transaction failed");
            Problem::store_unavailable(
                "the deferred transaction could not be read; nothing changed, try again",
            )
        })?
        .ok_or_else(|| refused(&SettleCause::Unknown, id))
}

/// The problem of a refused complete or deny of transaction `id`.
fn refused(cause: &SettleCause, id: &str) -> Problem {
    let detail = format!(
        "deferred transaction '{}': {}",
        printable(id),
        cause.description()
    );
    let conflict =
        |slug: &str, title: &str| Problem::new(StatusCode::CONFLICT, slug, title, detail.clone());
    match cause {
        SettleCause::Unknown => Problem::not_found(detail.clone()),
        SettleCause::Expired
        | SettleCause::Closed(_)
        | SettleCause::Changed
        | SettleCause::OfferRevoked
        | SettleCause::ConfigurationGone(_) => {
            conflict("deferred-closed", "Deferred transaction closed")
        }
        SettleCause::SourcePending(_) => conflict("claims-pending", "Claims still pending"),
        SettleCause::Claims(c) if c.code() == CredentialErrorCode::ServerError => Problem::new(
            StatusCode::BAD_GATEWAY,
            "claims-failed",
            "Claims could not be resolved",
            detail.clone(),
        ),
        SettleCause::Claims(_) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "claims-refused",
            "Claims refused",
            detail.clone(),
        ),
        SettleCause::Reason => Problem::validation(
            "the deny request is invalid",
            vec![FieldError {
                field: "reason".into(),
                message: cause.description(),
            }],
        ),
        SettleCause::Store(e) => {
            tracing::error!(error = %e, "settling a deferred transaction failed");
            Problem::store_unavailable(detail.clone())
        }
    }
}
