//! `POST /admin/v1/offers` and `POST /admin/v1/tenants/{tenant}/offers`.

use actix_web::{HttpResponse, web};
use serde_json::json;
use sigil_issuer::model::{EventKind, NewEvent, Offer, OfferProgress};
use sigil_issuer::secrets;
use sigil_settings::DEFAULT_TENANT;
use sigil_time::rfc3339;

use super::links::offer_links;
use super::validate::{CreateOffer, validate};
use crate::problem::Problem;
use crate::routes::admin::access::Admin;
use crate::routes::admin::body::AdminJson;
use crate::state::{AppState, now};
use crate::tenants::Tenant;

/// `POST /admin/v1/offers`.
pub async fn create_default(
    admin: Admin,
    state: web::Data<AppState>,
    body: AdminJson<CreateOffer>,
) -> Result<HttpResponse, Problem> {
    let t = admin.tenant(&state, DEFAULT_TENANT)?;
    create(&state, t, body.into_inner()).await
}

/// `POST /admin/v1/tenants/{tenant}/offers`.
pub async fn create_for_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: AdminJson<CreateOffer>,
) -> Result<HttpResponse, Problem> {
    let t = admin.tenant(&state, &path)?;
    create(&state, t, body.into_inner()).await
}

async fn create(state: &AppState, t: &Tenant, body: CreateOffer) -> Result<HttpResponse, Problem> {
    let profile = body.profile.clone();
    let v = validate(state, t, body)?;
    let id = uuid::Uuid::new_v4().to_string();
    let n = now();
    let code = state.issuer.pre_authorized_code(&id);
    // `validate` bounds the lifetime (at most 10 years): no overflow.
    let expires_at = (v.expires_in > 0).then(|| n.saturating_add(v.expires_in));
    let offer = Offer {
        id: id.clone(),
        tenant: t.id.clone(),
        credential_configuration_ids: v.configuration_ids.clone(),
        flow: v.flow,
        value_mode: v.value_mode,
        scheme: v.scheme,
        pre_authorized_code_hash: v.flow.pre_authorized().then(|| secrets::hash(&code)),
        tx_code_hash: v
            .tx
            .as_ref()
            .map(|(_, value)| secrets::tx_code_hash(&code, value)),
        tx_code: v.tx.as_ref().map(|(announced, _)| announced.clone()),
        issuer_state: v.issuer_state.then(secrets::random_token),
        credential_claims: v.claims,
        runtime_overrides: v.overrides,
        issuance_mode: v.issuance_mode,
        webhook_endpoint_id: v.webhook_endpoint_id,
        profile,
        created_at: n,
        expires_at,
        progress: OfferProgress::new(n),
    };
    let created = NewEvent::bare(&t.id, &id, EventKind::OfferCreated, n);
    let record = state
        .store
        .create_offer(&offer, created)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "storing an offer failed");
            Problem::store_unavailable(
                "the offer could not be stored; nothing was created, try again",
            )
        })?;
    let links = offer_links(state, t, &record);
    let mut body = json!({
        "offerId": id,
        "tenant": t.id,
        "credentialConfigurationIds": v.configuration_ids,
        "flow": record.flow.as_str(),
        "expiresAt": expires_at.map(rfc3339),
        "credentialOffer": links.uri,
        "qr": { "svg": format!("/admin/v1/offers/{id}/qr.svg"), "png": format!("/admin/v1/offers/{id}/qr.png") },
    });
    if let Some(u) = links.reference {
        body["credentialOfferUri"] = u.into();
    }
    if let Some((_, value)) = v.tx {
        body["txCodeValue"] = value.into();
    }
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/admin/v1/offers/{}", record.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(body))
}
