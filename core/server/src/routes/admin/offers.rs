//! The admin offers API (`shared/API.md`): create, read, revoke, QR codes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sigil_issuer::offer::{self, OfferContent, OfferScheme, TxCodeOffer};
use sigil_issuer::secrets;
use sigil_settings::DEFAULT_TENANT;
use sigil_store::{NewEvent, NewOffer, OfferRecord, TxCodeSpec};

use crate::problem::{FieldError, Problem};
use crate::state::{AppState, now};
use crate::tenants::Tenant;

/// `txCode` in a create request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TxCodeInput {
    /// `numeric` (default) or `text`.
    #[serde(default)]
    pub input_mode: Option<String>,
    /// Length (default 6, or the given value's length).
    #[serde(default)]
    pub length: Option<u32>,
    /// Description for the wallet.
    #[serde(default)]
    pub description: Option<String>,
    /// The code; generated when absent.
    #[serde(default)]
    pub value: Option<String>,
}

/// Body of `POST /admin/v1/offers`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOffer {
    /// Configurations to offer (or `profile`).
    #[serde(default)]
    pub credential_configuration_ids: Option<Vec<String>>,
    /// A profile naming configurations and defaults.
    #[serde(default)]
    pub profile: Option<String>,
    /// `pre_authorized_code` (default) or `authorization_code`.
    #[serde(default)]
    pub flow: Option<String>,
    /// Transaction code.
    #[serde(default)]
    pub tx_code: Option<TxCodeInput>,
    /// `by_reference` (default) or `by_value`.
    #[serde(default)]
    pub value_mode: Option<String>,
    /// `omit` (default) or `include`.
    #[serde(default)]
    pub issuer_state_mode: Option<String>,
    /// Lifetime in seconds; -1 never expires; default 300.
    #[serde(default)]
    pub expires_in_seconds: Option<i64>,
    /// `openid-credential-offer` (default) or `haip`.
    #[serde(default)]
    pub scheme: Option<String>,
    /// Claims per configuration.
    #[serde(default)]
    pub credential_claims: Option<Map<String, Value>>,
    /// Runtime overrides (not supported yet; must be empty).
    #[serde(default)]
    pub runtime_overrides: Option<Map<String, Value>>,
    /// `immediate` (default) or `deferred`.
    #[serde(default)]
    pub issuance_mode: Option<String>,
    /// Webhook endpoint for events (not supported yet).
    #[serde(default)]
    pub webhook_endpoint_id: Option<String>,
    /// External authorization server (authorization code flow).
    #[serde(default)]
    pub authorization_server: Option<String>,
    /// Login hint (authorization code flow).
    #[serde(default)]
    pub login_hint: Option<String>,
}

fn field(errors: &mut Vec<FieldError>, field: &str, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

fn tenant<'a>(state: &'a AppState, id: &str) -> Result<&'a Tenant, Problem> {
    state
        .tenants
        .get(id)
        .ok_or_else(|| Problem::not_found(format!("no tenant '{id}'")))
}

/// `POST /admin/v1/offers`.
pub async fn create_default(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CreateOffer>,
) -> Result<HttpResponse, Problem> {
    state.admin.check(&req)?;
    create(&state, tenant(&state, DEFAULT_TENANT)?, body.into_inner()).await
}

/// `POST /admin/v1/tenants/{tenant}/offers`.
pub async fn create_for_tenant(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<CreateOffer>,
) -> Result<HttpResponse, Problem> {
    state.admin.check(&req)?;
    create(&state, tenant(&state, &path)?, body.into_inner()).await
}

struct Validated {
    configuration_ids: Vec<String>,
    tx: Option<(TxCodeOffer, String)>,
    by_value: bool,
    scheme: OfferScheme,
    expires_in: i64,
    claims: Map<String, Value>,
}

fn validate(state: &AppState, t: &Tenant, body: CreateOffer) -> Result<Validated, Problem> {
    let mut errors = Vec::new();
    let profile = match &body.profile {
        Some(p) => match state.settings.profiles.get(p) {
            Some(p) => Some(p),
            None => {
                field(&mut errors, "profile", format!("unknown profile '{p}'"));
                None
            }
        },
        None => None,
    };
    let configuration_ids = match (&body.credential_configuration_ids, profile) {
        (Some(_), Some(_)) => {
            field(
                &mut errors,
                "profile",
                "give either credentialConfigurationIds or profile, not both",
            );
            Vec::new()
        }
        (Some(ids), None) => ids.clone(),
        (None, Some(p)) => p.credential_configuration_ids.clone(),
        (None, None) => {
            if body.profile.is_none() {
                field(
                    &mut errors,
                    "credentialConfigurationIds",
                    "give credentialConfigurationIds (non-empty) or profile",
                );
            }
            Vec::new()
        }
    };
    if body
        .credential_configuration_ids
        .as_ref()
        .is_some_and(Vec::is_empty)
    {
        field(
            &mut errors,
            "credentialConfigurationIds",
            "must not be empty",
        );
    }
    for (i, id) in configuration_ids.iter().enumerate() {
        if !t.offers(id) {
            field(
                &mut errors,
                &format!("credentialConfigurationIds[{i}]"),
                format!(
                    "tenant '{}' has no credential configuration '{id}'; it offers: {}",
                    t.id,
                    t.configurations.join(", ")
                ),
            );
        }
        if configuration_ids[..i].contains(id) {
            field(
                &mut errors,
                &format!("credentialConfigurationIds[{i}]"),
                format!("'{id}' is listed twice"),
            );
        }
    }
    match body.flow.as_deref() {
        None | Some("pre_authorized_code") => {}
        Some("authorization_code") => field(
            &mut errors,
            "flow",
            "the authorization code flow is not available on this server yet; use pre_authorized_code",
        ),
        Some(other) => field(
            &mut errors,
            "flow",
            format!("'{other}' is not a flow; use pre_authorized_code or authorization_code"),
        ),
    }
    let by_value = match body
        .value_mode
        .as_deref()
        .or(profile.and_then(|p| p.value_mode.as_deref()))
    {
        None | Some("by_reference") => false,
        Some("by_value") => true,
        Some(other) => {
            field(
                &mut errors,
                "valueMode",
                format!("'{other}' is not by_reference or by_value"),
            );
            false
        }
    };
    match body.issuer_state_mode.as_deref() {
        None | Some("omit") => {}
        Some("include") => field(
            &mut errors,
            "issuerStateMode",
            "issuer_state belongs to the authorization code flow, which is not available yet",
        ),
        Some(other) => field(
            &mut errors,
            "issuerStateMode",
            format!("'{other}' is not omit or include"),
        ),
    }
    let scheme = match body.scheme.as_deref() {
        None | Some("openid-credential-offer") => OfferScheme::OpenidCredentialOffer,
        Some("haip") => OfferScheme::Haip,
        Some(other) => {
            field(
                &mut errors,
                "scheme",
                format!("'{other}' is not openid-credential-offer or haip"),
            );
            OfferScheme::OpenidCredentialOffer
        }
    };
    let expires_in = body
        .expires_in_seconds
        .or(profile.and_then(|p| p.expires_in_seconds))
        .unwrap_or(300);
    if expires_in == 0 || expires_in < -1 {
        field(
            &mut errors,
            "expiresInSeconds",
            "use a positive number of seconds, or -1 for an offer that never expires",
        );
    }
    match body.issuance_mode.as_deref() {
        None | Some("immediate") => {}
        Some("deferred") => field(
            &mut errors,
            "issuanceMode",
            "deferred issuance is not available on this server yet",
        ),
        Some(other) => field(
            &mut errors,
            "issuanceMode",
            format!("'{other}' is not immediate or deferred"),
        ),
    }
    if body.webhook_endpoint_id.is_some() {
        field(
            &mut errors,
            "webhookEndpointId",
            "webhook endpoints are not available on this server yet",
        );
    }
    if body
        .runtime_overrides
        .as_ref()
        .is_some_and(|o| !o.is_empty())
    {
        field(
            &mut errors,
            "runtimeOverrides",
            "runtime overrides are not available on this server yet",
        );
    }
    if body.authorization_server.is_some() || body.login_hint.is_some() {
        field(
            &mut errors,
            "authorizationServer",
            "authorizationServer and loginHint belong to the authorization code flow, which is not available yet",
        );
    }
    let claims = body.credential_claims.unwrap_or_default();
    for (id, source) in &claims {
        let at = format!("credentialClaims.{id}");
        if !configuration_ids.contains(id) {
            field(
                &mut errors,
                &at,
                format!("'{id}' is not one of the offer's credential configurations"),
            );
            continue;
        }
        match source.get("type").and_then(Value::as_str) {
            Some("inline") => {
                if !source.get("claims").is_some_and(Value::is_object) {
                    field(
                        &mut errors,
                        &format!("{at}.claims"),
                        "an inline source needs a claims object",
                    );
                }
            }
            Some("attributeProvider") | Some("webhook") => field(
                &mut errors,
                &format!("{at}.type"),
                "attribute providers and webhooks are not available on this server yet; use inline",
            ),
            _ => field(
                &mut errors,
                &format!("{at}.type"),
                "use {\"type\": \"inline\", \"claims\": {...}}",
            ),
        }
    }
    for id in &configuration_ids {
        let has_source = state
            .settings
            .credential_configurations
            .get(id)
            .is_some_and(|c| c.source.is_some());
        if !claims.contains_key(id) && !has_source && t.offers(id) {
            field(
                &mut errors,
                &format!("credentialClaims.{id}"),
                format!("'{id}' has no claim source in its configuration; give its claims here"),
            );
        }
    }
    let tx_input = body.tx_code.or_else(|| {
        profile
            .and_then(|p| p.tx_code.as_ref())
            .map(|d| TxCodeInput {
                input_mode: Some(d.input_mode.clone()),
                length: d.length,
                description: d.description.clone(),
                value: None,
            })
    });
    let tx = tx_input.map(|tx| {
        let mode = tx.input_mode.unwrap_or_else(|| "numeric".into());
        if mode != "numeric" && mode != "text" {
            field(&mut errors, "txCode.inputMode", "use numeric or text");
        }
        if tx
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 300)
        {
            field(&mut errors, "txCode.description", "at most 300 characters");
        }
        let length = tx
            .length
            .or(tx.value.as_ref().map(|v| v.chars().count() as u32))
            .unwrap_or(6);
        if !(4..=32).contains(&length) {
            field(&mut errors, "txCode.length", "use 4 to 32 characters");
        }
        let value = match tx.value {
            Some(v) => {
                if v.chars().count() as u32 != length {
                    field(
                        &mut errors,
                        "txCode.value",
                        format!(
                            "has {} characters but length is {length}",
                            v.chars().count()
                        ),
                    );
                }
                if mode == "numeric" && !v.chars().all(|c| c.is_ascii_digit()) {
                    field(
                        &mut errors,
                        "txCode.value",
                        "a numeric code has only digits",
                    );
                }
                v
            }
            None => secrets::tx_code(&mode, length),
        };
        (
            TxCodeOffer {
                input_mode: mode,
                length: Some(length),
                description: tx.description,
            },
            value,
        )
    });
    if !errors.is_empty() {
        return Err(Problem::validation("the offer request is invalid", errors));
    }
    Ok(Validated {
        configuration_ids,
        tx,
        by_value,
        scheme,
        expires_in,
        claims,
    })
}

async fn create(state: &AppState, t: &Tenant, body: CreateOffer) -> Result<HttpResponse, Problem> {
    let profile = body.profile.clone();
    let v = validate(state, t, body)?;
    let id = uuid::Uuid::new_v4().to_string();
    let n = now();
    let code = state.pre_authorized_code(&id);
    let expires_at = (v.expires_in > 0).then(|| n + v.expires_in);
    let record = state
        .store
        .insert_offer(NewOffer {
            id: id.clone(),
            tenant: t.id.clone(),
            credential_configuration_ids: v.configuration_ids.clone(),
            flow: "pre_authorized_code".into(),
            value_mode: if v.by_value {
                "by_value"
            } else {
                "by_reference"
            }
            .into(),
            scheme: match v.scheme {
                OfferScheme::Haip => "haip",
                OfferScheme::OpenidCredentialOffer => "openid-credential-offer",
            }
            .into(),
            pre_authorized_code_hash: Some(secrets::hash(&code)),
            tx_code_hash: v
                .tx
                .as_ref()
                .map(|(_, value)| secrets::tx_code_hash(&code, value)),
            tx_code: v.tx.as_ref().map(|(o, _)| TxCodeSpec {
                input_mode: o.input_mode.clone(),
                length: o.length,
                description: o.description.clone(),
            }),
            issuer_state: None,
            credential_claims: Value::Object(v.claims),
            runtime_overrides: json!({}),
            issuance_mode: "immediate".into(),
            webhook_endpoint_id: None,
            profile,
            created_at: n,
            expires_at,
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "storing an offer failed");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store-unavailable",
                "Store unavailable",
                "the offer could not be stored; nothing was created, try again",
            )
        })?;
    let _ = state
        .store
        .append_event(NewEvent {
            tenant: t.id.clone(),
            offer_id: id.clone(),
            kind: "offer_created".into(),
            detail: json!({}),
            created_at: n,
        })
        .await;
    let links = offer_links(state, t, &record);
    let mut body = json!({
        "offerId": id,
        "tenant": t.id,
        "credentialConfigurationIds": v.configuration_ids,
        "flow": "pre_authorized_code",
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

/// The offer URI and, by reference, the offer's URL.
pub struct OfferLinks {
    /// `openid-credential-offer://?...`
    pub uri: String,
    /// `credential_offer_uri`, when by reference.
    pub reference: Option<String>,
}

/// The offer object wallets receive.
pub fn offer_object(state: &AppState, t: &Tenant, o: &OfferRecord) -> Value {
    let code = state.pre_authorized_code(&o.id);
    let tx = o.tx_code.as_ref().map(|s| TxCodeOffer {
        input_mode: s.input_mode.clone(),
        length: s.length,
        description: s.description.clone(),
    });
    offer::credential_offer(&OfferContent {
        credential_issuer: &t.issuer,
        credential_configuration_ids: &o.credential_configuration_ids,
        pre_authorized_code: Some(&code),
        tx_code: tx.as_ref(),
        issuer_state: None,
    })
}

fn offer_links(state: &AppState, t: &Tenant, o: &OfferRecord) -> OfferLinks {
    let scheme = if o.scheme == "haip" {
        OfferScheme::Haip
    } else {
        OfferScheme::OpenidCredentialOffer
    };
    if o.value_mode == "by_value" {
        OfferLinks {
            uri: offer::offer_uri_by_value(scheme, &offer_object(state, t, o)),
            reference: None,
        }
    } else {
        let url = t.endpoint(&format!("/credential-offer/{}", o.id));
        OfferLinks {
            uri: offer::offer_uri_by_reference(scheme, &url),
            reference: Some(url),
        }
    }
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

async fn load(state: &AppState, id: &str) -> Result<OfferRecord, Problem> {
    match state.store.get_offer_by_id(id).await {
        Ok(Some(o)) => Ok(o),
        Ok(None) => Err(Problem::not_found(format!("no offer '{id}'"))),
        Err(e) => {
            tracing::error!(error = %e, "reading an offer failed");
            Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store-unavailable",
                "Store unavailable",
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
        .map(|e| json!({ "type": e.kind, "at": rfc3339(e.created_at), "detail": e.detail }))
        .collect();
    let mut body = json!({
        "offerId": o.id,
        "tenant": o.tenant,
        "status": o.status.as_str(),
        "credentialConfigurationIds": o.credential_configuration_ids,
        "flow": o.flow,
        "valueMode": o.value_mode,
        "scheme": o.scheme,
        "profile": o.profile,
        "txCode": o.tx_code.as_ref().map(|t| json!({ "inputMode": t.input_mode, "length": t.length, "description": t.description })),
        "txCodeAttempts": o.tx_attempts,
        "createdAt": rfc3339(o.created_at),
        "expiresAt": o.expires_at.map(rfc3339),
        "resolvedAt": o.resolved_at.map(rfc3339),
        "tokenIssuedAt": o.token_issued_at.map(rfc3339),
        "credentialIssuedAt": o.credential_issued_at.map(rfc3339),
        "consumedAt": o.consumed_at.map(rfc3339),
        "revokedAt": o.revoked_at.map(rfc3339),
        "events": events,
    });
    if let Some(t) = state.tenants.get(&o.tenant) {
        let links = offer_links(&state, t, &o);
        if o.value_mode != "by_value" {
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
                .append_event(NewEvent {
                    tenant: o.tenant.clone(),
                    offer_id: o.id.clone(),
                    kind: "offer_revoked".into(),
                    detail: json!({}),
                    created_at: n,
                })
                .await;
            Ok(HttpResponse::NoContent().finish())
        }
        Err(e) => {
            tracing::error!(error = %e, "revoking an offer failed");
            Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store-unavailable",
                "Store unavailable",
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

/// `GET /admin/v1/offers/{id}/qr.svg`.
pub async fn qr_svg(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    state.admin.check(&req)?;
    let uri = offer_uri(&state, &path).await?;
    let svg = crate::qr::svg(&uri).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "qr-too-long",
            "QR code not possible",
            e,
        )
    })?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "no-store"))
        .body(svg))
}

/// `GET /admin/v1/offers/{id}/qr.png`.
pub async fn qr_png(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    state.admin.check(&req)?;
    let uri = offer_uri(&state, &path).await?;
    let png = crate::qr::png(&uri).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "qr-too-long",
            "QR code not possible",
            e,
        )
    })?;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header(("Cache-Control", "no-store"))
        .body(png))
}
