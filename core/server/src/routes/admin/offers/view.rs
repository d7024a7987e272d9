//! Reading and revoking offers; QR codes.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::Value;
use sigil_issuer::model::{EventKind, NewEvent, Offer, OfferStatus, TxCode, ValueMode};
use sigil_time::rfc3339;
use utoipa::ToSchema;

use super::links::offer_links;
use crate::problem::{Problem, ProblemType};
use crate::routes::admin::access::{Admin, printable};
use crate::routes::admin::credentials::CredentialView;
use crate::routes::admin::deferred::DeferredView;
use crate::state::{AppState, now};

/// The offer `id`, when this caller may see its tenant; 404 otherwise (a
/// tenant key is not told that another tenant's offer exists).
pub(crate) async fn load(state: &AppState, admin: &Admin, id: &str) -> Result<Offer, Problem> {
    let missing = || Problem::not_found(format!("no offer '{}'", printable(id)));
    if !sigil_issuer::offer::plausible_offer_id(id) {
        return Err(missing());
    }
    match state.store.get_offer_by_id(id).await {
        Ok(Some(o)) if admin.sees(&o.tenant) => Ok(o),
        Ok(_) => Err(missing()),
        Err(e) => {
            tracing::error!(error = %e, "reading an offer failed");
            Err(Problem::store_unavailable(
                "the offer could not be read; try again",
            ))
        }
    }
}

/// An offer as the admin API shows it: status, timestamps, events, the
/// credentials and deferred transactions of it; never a secret (codes,
/// transaction code) and never claim values.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({
    "consumedAt": null,
    "createdAt": "2026-11-22T12:00:00Z",
    "credentialConfigurationIds": ["employee_badge_sd_jwt"],
    "credentialIssuedAt": null,
    "credentialOffer": "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fissuer.example.com%2Fcredential-offer%2F0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77",
    "credentialOfferUri": "https://issuer.example.com/credential-offer/0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77",
    "credentials": [],
    "deferredTransactions": [],
    "events": [
        {"at": "2026-11-22T12:00:00Z", "detail": {}, "type": "offer_created"},
        {"at": "2026-11-22T12:01:10Z", "detail": {}, "type": "offer_resolved"}
    ],
    "expiresAt": "2026-11-22T12:05:00Z",
    "flow": "pre_authorized_code",
    "issuanceMode": "immediate",
    "offerId": "0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77",
    "profile": null,
    "resolvedAt": "2026-11-22T12:01:10Z",
    "revokedAt": null,
    "scheme": "openid-credential-offer",
    "status": "resolved",
    "tenant": "default",
    "tokenIssuedAt": null,
    "txCode": {"description": "PIN from the e-mail", "inputMode": "numeric", "length": 6},
    "txCodeAttempts": 0,
    "valueMode": "by_reference"
})))]
pub struct OfferView {
    /// When it was used up (RFC 3339).
    pub consumed_at: Option<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// The configurations offered.
    pub credential_configuration_ids: Vec<String>,
    /// When its first credential was issued (RFC 3339).
    pub credential_issued_at: Option<String>,
    /// The offer as the wallet gets it (`valueMode` `by_reference` only:
    /// an offer by value carries its pre-authorized code and is shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_offer: Option<String>,
    /// Where the offer is served (`valueMode` `by_reference` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_offer_uri: Option<String>,
    /// Every credential issued for the offer, with the wallet's last
    /// notification about it.
    pub credentials: Vec<CredentialView>,
    /// Its deferred issuances.
    pub deferred_transactions: Vec<DeferredView>,
    /// Its events, oldest first (`docs/events.md`).
    pub events: Vec<EventView>,
    /// When it expires (RFC 3339); `null`: never.
    pub expires_at: Option<String>,
    /// `pre_authorized_code`, `authorization_code` or `both`.
    pub flow: String,
    /// `immediate` or `deferred`.
    pub issuance_mode: String,
    /// The offer's id.
    pub offer_id: String,
    /// The profile it was created from.
    pub profile: Option<String>,
    /// When a wallet first fetched it (RFC 3339).
    pub resolved_at: Option<String>,
    /// When it was revoked (RFC 3339).
    pub revoked_at: Option<String>,
    /// `openid-credential-offer` or `haip`.
    pub scheme: String,
    /// Where the offer is in its life cycle.
    #[schema(schema_with = crate::openapi::offer_status)]
    pub status: String,
    /// The offer's tenant.
    pub tenant: String,
    /// When its pre-authorized code or authorization was first redeemed
    /// for an access token (RFC 3339).
    pub token_issued_at: Option<String>,
    /// The transaction code as announced to the wallet (never its value).
    pub tx_code: Option<TxCodeView>,
    /// Wrong transaction codes sent so far.
    pub tx_code_attempts: u32,
    /// `by_reference` or `by_value`.
    pub value_mode: String,
}

/// An offer's transaction code as announced to the wallet.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TxCodeView {
    /// Guidance for the user.
    pub description: Option<String>,
    /// `numeric` or `text`.
    pub input_mode: String,
    /// Number of characters, if announced.
    pub length: Option<u32>,
}

impl TxCodeView {
    fn of(t: &TxCode) -> Self {
        Self {
            description: t.description.clone(),
            input_mode: t.input_mode.as_str().to_owned(),
            length: t.length,
        }
    }
}

/// One event of an offer.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// When it happened (RFC 3339).
    pub at: String,
    /// The event's data (`docs/events.md`, schema version 1).
    #[schema(value_type = Object)]
    pub detail: Value,
    /// The event's type.
    #[serde(rename = "type")]
    #[schema(schema_with = crate::openapi::event_type)]
    pub kind: String,
}

/// Read an offer: status, timestamps, events; never secrets.
#[utoipa::path(
    get,
    path = "/admin/v1/offers/{offerId}",
    tag = "offers",
    operation_id = "getOffer",
    params(("offerId" = String, Path, description = "The offer's id (of any tenant the caller sees)")),
    responses(
        (status = 200, description = "The offer", body = OfferView),
        (status = 404, description = "`not-found`: no such offer, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: the offer could not be read", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let o = load(&state, &admin, &path).await?;
    let events: Vec<EventView> = state
        .store
        .events(&o.id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|e| EventView {
            at: rfc3339(e.created_at),
            detail: e.detail,
            kind: e.kind.as_str().to_owned(),
        })
        .collect();
    // Every credential issued for the offer (never its claims), with the
    // wallet's last notification about it.
    let credentials: Vec<CredentialView> = state
        .store
        .credentials(&o.id)
        .await
        .unwrap_or_default()
        .iter()
        .map(|c| crate::routes::admin::credentials::credential_view(&state, c))
        .collect();
    // Deferred issuances of the offer (never their claims).
    let deferred: Vec<DeferredView> = state
        .store
        .deferred_of_offer(&o.id)
        .await
        .unwrap_or_default()
        .iter()
        .map(DeferredView::of)
        .collect();
    let links = state
        .tenants
        .get(&o.tenant)
        .filter(|_| o.value_mode == ValueMode::ByReference)
        .map(|t| offer_links(&state, t, &o));
    let (credential_offer, credential_offer_uri) = match links {
        Some(l) => (Some(l.uri), l.reference),
        None => (None, None),
    };
    let body = OfferView {
        consumed_at: o.progress.consumed_at.map(rfc3339),
        created_at: rfc3339(o.created_at),
        credential_issued_at: o.progress.credential_issued_at.map(rfc3339),
        credential_offer,
        credential_offer_uri,
        credentials,
        deferred_transactions: deferred,
        events,
        expires_at: o.expires_at.map(rfc3339),
        flow: o.flow.as_str().to_owned(),
        issuance_mode: o.issuance_mode.as_str().to_owned(),
        offer_id: o.id.clone(),
        resolved_at: o.progress.resolved_at.map(rfc3339),
        revoked_at: o.progress.revoked_at.map(rfc3339),
        scheme: o.scheme.as_str().to_owned(),
        status: o.status().as_str().to_owned(),
        token_issued_at: o.progress.token_issued_at.map(rfc3339),
        tx_code: o.tx_code.as_ref().map(TxCodeView::of),
        tx_code_attempts: o.progress.tx_attempts,
        value_mode: o.value_mode.as_str().to_owned(),
        credential_configuration_ids: o.credential_configuration_ids,
        profile: o.profile,
        tenant: o.tenant,
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body))
}

/// Revoke an offer: its codes and tokens stop working.
///
/// Idempotent (RFC 9110 §9.2.2): an offer already revoked answers 204
/// again and nothing changes; an offer whose credentials were all issued
/// (consumed) has nothing left to revoke: 409. An `offer_revoked` event is
/// written only by the request that revoked it, in the same transaction.
#[utoipa::path(
    delete,
    path = "/admin/v1/offers/{offerId}",
    tag = "offers",
    operation_id = "revokeOffer",
    params(("offerId" = String, Path, description = "The offer's id (of any tenant the caller sees)")),
    responses(
        (status = 204, description = "The offer is revoked (now or before)"),
        (status = 404, description = "`not-found`: no such offer, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the offer is consumed (every credential issued), nothing left to revoke", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn delete(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let o = load(&state, &admin, &path).await?;
    let n = now();
    let event = NewEvent::bare(&o.tenant, &o.id, EventKind::OfferRevoked, n);
    let revoked = state
        .store
        .revoke_offer_with_event(&o.tenant, &o.id, n, event)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "revoking an offer failed");
            Problem::store_unavailable("the offer could not be revoked; nothing changed, try again")
        })?;
    if revoked {
        return Ok(HttpResponse::NoContent().finish());
    }
    // Not changed: read why (a concurrent request may have won).
    match load(&state, &admin, &o.id).await?.status() {
        OfferStatus::Revoked => Ok(HttpResponse::NoContent().finish()),
        OfferStatus::Consumed => Err(Problem::conflict(format!(
            "offer '{}' is consumed: every credential it offered was issued, so there is nothing left to revoke",
            o.id
        ))),
        other => Err(Problem::conflict(format!(
            "offer '{}' is {} and could not be revoked; read it again and retry",
            o.id,
            other.as_str()
        ))),
    }
}

async fn offer_uri(state: &AppState, admin: &Admin, id: &str) -> Result<String, Problem> {
    let o = load(state, admin, id).await?;
    let t = state
        .tenants
        .get(&o.tenant)
        .ok_or_else(|| Problem::not_found("the offer's tenant is gone"))?;
    Ok(offer_links(state, t, &o).uri)
}

type Render = fn(&str) -> Result<Vec<u8>, String>;

async fn qr(
    admin: &Admin,
    state: &AppState,
    id: &str,
    render: Render,
    content_type: &str,
) -> Result<HttpResponse, Problem> {
    let uri = offer_uri(state, admin, id).await?;
    let image = render(&uri).map_err(|e| Problem::new(ProblemType::QrTooLong, e))?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "no-store"))
        .body(image))
}

/// A PNG image (the schema of a binary answer).
#[derive(ToSchema)]
#[schema(value_type = String, content_media_type = "image/png")]
#[allow(dead_code, reason = "the schema of the PNG answer")]
pub struct PngImage(Vec<u8>);

/// The offer's URI as a QR code (SVG).
#[utoipa::path(
    get,
    path = "/admin/v1/offers/{offerId}/qr.svg",
    tag = "offers",
    operation_id = "getOfferQrSvg",
    params(("offerId" = String, Path, description = "The offer's id (of any tenant the caller sees)")),
    responses(
        (status = 200, description = "The QR code of `credentialOffer`", content_type = "image/svg+xml", body = String),
        (status = 404, description = "`not-found`: no such offer, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`qr-too-long`: the offer's URI is too long for a QR code", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: the offer could not be read", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn qr_svg(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    qr(
        &admin,
        &state,
        &path,
        |uri| crate::qr::svg(uri).map(String::into_bytes),
        "image/svg+xml",
    )
    .await
}

/// The offer's URI as a QR code (PNG).
#[utoipa::path(
    get,
    path = "/admin/v1/offers/{offerId}/qr.png",
    tag = "offers",
    operation_id = "getOfferQrPng",
    params(("offerId" = String, Path, description = "The offer's id (of any tenant the caller sees)")),
    responses(
        (status = 200, description = "The QR code of `credentialOffer`", content_type = "image/png", body = inline(PngImage)),
        (status = 404, description = "`not-found`: no such offer, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`qr-too-long`: the offer's URI is too long for a QR code", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: the offer could not be read", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn qr_png(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    qr(&admin, &state, &path, crate::qr::png, "image/png").await
}
