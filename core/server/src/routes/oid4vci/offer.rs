//! `GET /credential-offer/{id}`: the offer by reference (OID4VCI §4.1.3).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use sigil_store::{NewEvent, OfferStatus};

use super::reply;
use crate::routes::admin::offers::offer_object;
use crate::state::{AppState, now};

/// Serve the offer object; marks the offer `resolved`.
pub async fn by_reference(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let not_found = || {
        reply::no_store(
            StatusCode::NOT_FOUND,
            &json!({ "error": "not_found", "error_description": "no such credential offer, or it expired or was revoked" }),
        )
    };
    let id = req.match_info().get("offer").unwrap_or_default().to_owned();
    let offer = match state.store.get_offer(&t.id, &id).await {
        Ok(Some(o)) => o,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "reading an offer failed");
            return HttpResponse::InternalServerError().finish();
        }
    };
    if !matches!(offer.status, OfferStatus::Created | OfferStatus::Resolved) {
        return not_found();
    }
    if offer.status == OfferStatus::Created {
        let n = now();
        let resolved = NewEvent {
            tenant: t.id.clone(),
            offer_id: offer.id.clone(),
            kind: "offer_resolved".into(),
            detail: json!({}),
            created_at: n,
        };
        if let Err(e) = state.store.resolve_offer(&offer.id, n, resolved).await {
            tracing::warn!(error = %e, "marking an offer resolved failed");
        }
    }
    reply::no_store(StatusCode::OK, &offer_object(&state, t, &offer))
}
