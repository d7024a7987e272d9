//! `POST /admin/v1/offers` and `POST /admin/v1/tenants/{tenant}/offers`.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use sigil_issuer::model::{EventKind, NewEvent, Offer, OfferProgress};
use sigil_issuer::secrets;
use sigil_settings::DEFAULT_TENANT;
use sigil_time::rfc3339;
use utoipa::ToSchema;

use super::links::offer_links;
use super::validate::{CreateOffer, validate};
use crate::problem::Problem;
use crate::routes::admin::access::Admin;
use crate::routes::admin::body::AdminJson;
use crate::state::{AppState, now};
use crate::tenants::Tenant;

/// The answer to a created offer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({
    "credentialConfigurationIds": ["employee_badge_sd_jwt"],
    "credentialOffer": "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fissuer.example.com%2Fcredential-offer%2F0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77",
    "credentialOfferUri": "https://issuer.example.com/credential-offer/0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77",
    "expiresAt": "2026-11-22T12:05:00Z",
    "flow": "pre_authorized_code",
    "offerId": "0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77",
    "qr": {
        "png": "/admin/v1/offers/0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77/qr.png",
        "svg": "/admin/v1/offers/0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77/qr.svg"
    },
    "tenant": "default",
    "txCodeValue": "493817"
})))]
pub struct CreatedOffer {
    /// The configurations offered.
    pub credential_configuration_ids: Vec<String>,
    /// The offer as the wallet gets it (`openid-credential-offer://?...`
    /// or `haip-vci://?...`), e.g. for a link or QR code.
    pub credential_offer: String,
    /// Where the offer is served (`valueMode` `by_reference` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_offer_uri: Option<String>,
    /// When the offer expires (RFC 3339); `null`: never.
    pub expires_at: Option<String>,
    /// `pre_authorized_code`, `authorization_code` or `both`.
    pub flow: String,
    /// The offer's id.
    pub offer_id: String,
    /// Admin paths of the offer's QR code.
    pub qr: QrLinks,
    /// The offer's tenant.
    pub tenant: String,
    /// The transaction code, answered this once (Sigil keeps only its
    /// hash): give it to the user through another channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_code_value: Option<String>,
}

/// The admin paths of an offer's QR code.
#[derive(Debug, Serialize, ToSchema)]
pub struct QrLinks {
    /// `image/png`.
    pub png: String,
    /// `image/svg+xml`.
    pub svg: String,
}

/// Create an offer for the default tenant.
#[utoipa::path(
    post,
    path = "/admin/v1/offers",
    tag = "offers",
    operation_id = "createOffer",
    request_body = CreateOffer,
    responses(
        (status = 201, description = "The offer was created", body = CreatedOffer,
            headers(("Location" = String, description = "The offer's admin path, `/admin/v1/offers/{offerId}`"))),
        (status = 400, description = "`validation`: `errors` names each invalid member; `bad-body`: not JSON or a member repeated", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: a tenant key of another tenant", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: nothing was created", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn create_default(
    admin: Admin,
    state: web::Data<AppState>,
    body: AdminJson<CreateOffer>,
) -> Result<HttpResponse, Problem> {
    let t = admin.tenant(&state, DEFAULT_TENANT)?;
    create(&state, t, body.into_inner()).await
}

/// Create an offer for a tenant.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant}/offers",
    tag = "offers",
    operation_id = "createTenantOffer",
    params(("tenant" = String, Path, description = "Tenant id (`[tenants.<id>]`)", example = "acme")),
    request_body = CreateOffer,
    responses(
        (status = 201, description = "The offer was created", body = CreatedOffer,
            headers(("Location" = String, description = "The offer's admin path, `/admin/v1/offers/{offerId}`"))),
        (status = 400, description = "`validation`: `errors` names each invalid member; `bad-body`: not JSON or a member repeated", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such tenant, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: nothing was created", body = Problem, content_type = "application/problem+json"),
    ),
)]
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
    let body = CreatedOffer {
        credential_configuration_ids: v.configuration_ids,
        credential_offer: links.uri,
        credential_offer_uri: links.reference,
        expires_at: expires_at.map(rfc3339),
        flow: record.flow.as_str().to_owned(),
        offer_id: id.clone(),
        qr: QrLinks {
            png: format!("/admin/v1/offers/{id}/qr.png"),
            svg: format!("/admin/v1/offers/{id}/qr.svg"),
        },
        tenant: t.id.clone(),
        tx_code_value: v.tx.map(|(_, value)| value),
    };
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/admin/v1/offers/{}", record.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(body))
}
