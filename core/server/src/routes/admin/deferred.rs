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

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sigil_issuer::endpoints::deferred::{Completion, SettleCause, plausible_transaction_id};
use sigil_issuer::errors::CredentialErrorCode;
use sigil_issuer::model::DeferredTransaction;
use sigil_time::rfc3339;
use utoipa::ToSchema;

use super::access::{Admin, printable};
use super::body::AdminJson;
use crate::problem::{FieldError, Problem, ProblemType};
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
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({
    "createdAt": "2026-11-22T12:02:00Z",
    "credentialConfigurationId": "employee_badge_sd_jwt",
    "expiresAt": "2026-11-29T12:02:00Z",
    "interval": 5,
    "offerId": "0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77",
    "origin": "offer",
    "reason": null,
    "status": "ready",
    "transactionId": "8Yq3vZr0Tn6wKp1sXa4bLm9cDf2gHj5e",
    "updatedAt": "2026-11-22T12:30:00Z"
})))]
pub struct DeferredView {
    /// When the wallet's request was deferred (RFC 3339).
    pub created_at: String,
    /// The configuration requested.
    pub credential_configuration_id: String,
    /// When the transaction expires (RFC 3339).
    pub expires_at: String,
    /// Seconds the wallet is told to wait between polls.
    pub interval: u32,
    /// The offer.
    pub offer_id: String,
    /// Why it was deferred: `offer` (`issuanceMode` `deferred`) or
    /// `source` (the claim source answered pending).
    pub origin: String,
    /// Why it was denied.
    pub reason: Option<String>,
    /// Where it is.
    #[schema(schema_with = crate::openapi::deferred_status)]
    pub status: String,
    /// The wallet's `transaction_id`.
    pub transaction_id: String,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
}

impl DeferredView {
    /// The view of transaction `t`.
    pub fn of(t: &DeferredTransaction) -> Self {
        Self {
            created_at: rfc3339(t.created_at),
            credential_configuration_id: t.credential_configuration_id.clone(),
            expires_at: rfc3339(t.expires_at),
            interval: t.interval_seconds,
            offer_id: t.offer_id.clone(),
            origin: t.origin.as_str().to_owned(),
            reason: t.reason.clone(),
            status: t.status.as_str().to_owned(),
            transaction_id: t.id.clone(),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

/// Body of `complete`: `{}` resolves the claims from the offer's claim
/// source now; `{"claims": {...}}` gives them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"claims": {"given_name": "Ada", "family_name": "Lovelace"}})))]
pub struct CompleteBody {
    /// The claims of the credential (a JSON object).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub claims: Option<Map<String, Value>>,
}

/// Body of `deny`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"reason": "the applicant's documents could not be verified"})))]
pub struct DenyBody {
    /// Why (for the operator and the events; the wallet is not told).
    pub reason: String,
}

/// Complete a deferred issuance: the wallet's next poll gets the credential.
///
/// The transaction is found in whichever tenant the caller sees has it.
#[utoipa::path(
    post,
    path = "/admin/v1/deferred/{transactionId}/complete",
    tag = "deferred",
    operation_id = "completeDeferred",
    params(("transactionId" = String, Path, description = "The wallet's `transaction_id`")),
    request_body = CompleteBody,
    responses(
        (status = 200, description = "The transaction, now ready", body = DeferredView),
        (status = 404, description = "`not-found`: no such transaction in a tenant the caller sees", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`deferred-closed`: no longer waiting; `claims-pending`: the source still answers pending", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`claims-refused`: the claims do not make a credential of the configuration", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`claims-failed`: the claim source failed", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn complete_default(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: AdminJson<CompleteBody>,
) -> Result<HttpResponse, Problem> {
    let t = holder_of(&admin, &state, &path).await?;
    complete(&state, t, &path, body.into_inner()).await
}

/// Complete a tenant's deferred issuance.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant}/deferred/{transactionId}/complete",
    tag = "deferred",
    operation_id = "completeTenantDeferred",
    params(("tenant" = String, Path, description = "Tenant id (`[tenants.<id>]`)", example = "acme"), ("transactionId" = String, Path, description = "The wallet's `transaction_id`")),
    request_body = CompleteBody,
    responses(
        (status = 200, description = "The transaction, now ready", body = DeferredView),
        (status = 404, description = "`not-found`: no such tenant or transaction, or a tenant the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`deferred-closed`: no longer waiting; `claims-pending`: the source still answers pending", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`claims-refused`: the claims do not make a credential of the configuration", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`claims-failed`: the claim source failed", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn complete_for_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: AdminJson<CompleteBody>,
) -> Result<HttpResponse, Problem> {
    let t = admin.tenant(&state, &path.0)?;
    complete(&state, t, &path.1, body.into_inner()).await
}

/// Deny a deferred issuance: the wallet's next poll gets `credential_request_denied`.
///
/// The transaction is found in whichever tenant the caller sees has it.
#[utoipa::path(
    post,
    path = "/admin/v1/deferred/{transactionId}/deny",
    tag = "deferred",
    operation_id = "denyDeferred",
    params(("transactionId" = String, Path, description = "The wallet's `transaction_id`")),
    request_body = DenyBody,
    responses(
        (status = 200, description = "The transaction, now denied", body = DeferredView),
        (status = 404, description = "`not-found`: no such transaction in a tenant the caller sees", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "`validation`: `reason` is missing or invalid", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`deferred-closed`: no longer waiting", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn deny_default(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: AdminJson<DenyBody>,
) -> Result<HttpResponse, Problem> {
    let t = holder_of(&admin, &state, &path).await?;
    deny(&state, t, &path, &body.into_inner().reason).await
}

/// Deny a tenant's deferred issuance.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant}/deferred/{transactionId}/deny",
    tag = "deferred",
    operation_id = "denyTenantDeferred",
    params(("tenant" = String, Path, description = "Tenant id (`[tenants.<id>]`)", example = "acme"), ("transactionId" = String, Path, description = "The wallet's `transaction_id`")),
    request_body = DenyBody,
    responses(
        (status = 200, description = "The transaction, now denied", body = DeferredView),
        (status = 404, description = "`not-found`: no such tenant or transaction, or a tenant the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "`validation`: `reason` is missing or invalid", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`deferred-closed`: no longer waiting", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn deny_for_tenant(
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
        .json(DeferredView::of(t))
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
    match cause {
        SettleCause::Unknown => Problem::not_found(detail.clone()),
        SettleCause::Expired
        | SettleCause::Closed(_)
        | SettleCause::Changed
        | SettleCause::OfferRevoked
        | SettleCause::ConfigurationGone(_) => {
            Problem::new(ProblemType::DeferredClosed, detail.clone())
        }
        SettleCause::SourcePending(_) => Problem::new(ProblemType::ClaimsPending, detail.clone()),
        SettleCause::Claims(c) if c.code() == CredentialErrorCode::ServerError => {
            Problem::new(ProblemType::ClaimsFailed, detail.clone())
        }
        SettleCause::Claims(_) => Problem::new(ProblemType::ClaimsRefused, detail.clone()),
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
