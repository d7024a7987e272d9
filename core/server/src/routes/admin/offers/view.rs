//! Reading and revoking offers; QR codes.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};
use sigil_issuer::model::{EventKind, NewEvent, Offer, OfferStatus, ValueMode};
use sigil_time::rfc3339;

use super::links::offer_links;
use crate::problem::Problem;
use crate::routes::admin::access::{Admin, printable};
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

/// `GET /admin/v1/offers/{id}`: status, timestamps, events; never secrets.
pub async fn get(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let o = load(&state, &admin, &path).await?;
    let events: Vec<Value> = state
        .store
        .events(&o.id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(
            |e| json!({ "type": e.kind.as_str(), "at": rfc3339(e.created_at), "detail": e.detail }),
        )
        .collect();
    // Every credential issued for the offer (never its claims), with the
    // wallet's last notification about it.
    let credentials: Vec<Value> = state
        .store
        .credentials(&o.id)
        .await
        .unwrap_or_default()
        .iter()
        .map(|c| crate::routes::admin::credentials::credential_view(&state, c))
        .collect();
    // Deferred issuances of the offer (never their claims).
    let deferred: Vec<Value> = state
        .store
        .deferred_of_offer(&o.id)
        .await
        .unwrap_or_default()
        .iter()
        .map(crate::routes::admin::deferred::deferred_json)
        .collect();
    let mut body = json!({
        "offerId": o.id,
        "tenant": o.tenant,
        "status": o.status().as_str(),
        "credentialConfigurationIds": o.credential_configuration_ids,
        "flow": o.flow.as_str(),
        "valueMode": o.value_mode.as_str(),
        "scheme": o.scheme.as_str(),
        "issuanceMode": o.issuance_mode.as_str(),
        "profile": o.profile,
        "txCode": o.tx_code.as_ref().map(|t| json!({ "inputMode": t.input_mode.as_str(), "length": t.length, "description": t.description })),
        "txCodeAttempts": o.progress.tx_attempts,
        "createdAt": rfc3339(o.created_at),
        "expiresAt": o.expires_at.map(rfc3339),
        "resolvedAt": o.progress.resolved_at.map(rfc3339),
        "tokenIssuedAt": o.progress.token_issued_at.map(rfc3339),
        "credentialIssuedAt": o.progress.credential_issued_at.map(rfc3339),
        "consumedAt": o.progress.consumed_at.map(rfc3339),
        "revokedAt": o.progress.revoked_at.map(rfc3339),
        "events": events,
        "credentials": credentials,
        "deferredTransactions": deferred,
    });
    if let Some(t) = state.tenants.get(&o.tenant) {
        let links = offer_links(&state, t, &o);
        if o.value_mode == ValueMode::ByReference {
            body["credentialOffer"] = links.uri.into();
            body["credentialOfferUri"] = links.reference.into();
        }
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body))
}

/// `DELETE /admin/v1/offers/{id}`: revoke; its codes and tokens stop
/// working. Idempotent (RFC 9110 §9.2.2): an offer already revoked answers
/// 204 again and nothing changes; an offer whose credentials were all
/// issued (consumed) has nothing left to revoke: 409. An `offer_revoked`
/// event is written only by the request that revoked it, in the same
/// transaction.
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
    let image = render(&uri).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "qr-too-long",
            "QR code not possible",
            e,
        )
    })?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "no-store"))
        .body(image))
}

/// `GET /admin/v1/offers/{id}/qr.svg`.
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

/// `GET /admin/v1/offers/{id}/qr.png`.
pub async fn qr_png(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    qr(&admin, &state, &path, crate::qr::png, "image/png").await
}
