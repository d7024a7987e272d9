//! Reading and revoking offers; QR codes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use sigil_issuer::model::{EventKind, NewEvent, Offer, ValueMode};
use sigil_time::rfc3339;

use super::links::offer_links;
use crate::problem::Problem;
use crate::state::{AppState, now};

async fn load(state: &AppState, id: &str) -> Result<Offer, Problem> {
    match state.store.get_offer_by_id(id).await {
        Ok(Some(o)) => Ok(o),
        Ok(None) => Err(Problem::not_found(format!("no offer '{id}'"))),
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
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    state.admin.check(&req)?;
    let o = load(&state, &path).await?;
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
    let mut body = json!({
        "offerId": o.id,
        "tenant": o.tenant,
        "status": o.status().as_str(),
        "credentialConfigurationIds": o.credential_configuration_ids,
        "flow": o.flow.as_str(),
        "valueMode": o.value_mode.as_str(),
        "scheme": o.scheme.as_str(),
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

/// `DELETE /admin/v1/offers/{id}`: revoke; its codes and tokens stop working.
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    state.admin.check(&req)?;
    let o = load(&state, &path).await?;
    let n = now();
    match state.store.revoke_offer(&o.tenant, &o.id, n).await {
        Ok(_) => {
            let _ = state
                .store
                .append_event(NewEvent::bare(&o.tenant, &o.id, EventKind::OfferRevoked, n))
                .await;
            Ok(HttpResponse::NoContent().finish())
        }
        Err(e) => {
            tracing::error!(error = %e, "revoking an offer failed");
            Err(Problem::store_unavailable(
                "the offer could not be revoked; try again",
            ))
        }
    }
}

async fn offer_uri(state: &AppState, id: &str) -> Result<String, Problem> {
    let o = load(state, id).await?;
    let t = state
        .tenants
        .get(&o.tenant)
        .ok_or_else(|| Problem::not_found("the offer's tenant is gone"))?;
    Ok(offer_links(state, t, &o).uri)
}

type Render = fn(&str) -> Result<Vec<u8>, String>;

async fn qr(
    req: &HttpRequest,
    state: &AppState,
    id: &str,
    render: Render,
    content_type: &str,
) -> Result<HttpResponse, Problem> {
    state.admin.check(req)?;
    let uri = offer_uri(state, id).await?;
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
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    qr(
        &req,
        &state,
        &path,
        |uri| crate::qr::svg(uri).map(String::into_bytes),
        "image/svg+xml",
    )
    .await
}

/// `GET /admin/v1/offers/{id}/qr.png`.
pub async fn qr_png(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    qr(&req, &state, &path, crate::qr::png, "image/png").await
}
