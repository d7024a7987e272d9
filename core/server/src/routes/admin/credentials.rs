//! Issued credentials (issuance records, never claim values: Sigil does
//! not store them) and their status:
//! - `GET .../credentials`: the records of a tenant, filtered and paged;
//! - `POST .../credentials/{credentialId}/revoke|suspend|reinstate`;
//! - `POST .../offers/{offerId}/credentials/revoke|suspend|reinstate`: all
//!   of an offer's credentials the action applies to.
//!
//! Each under `/admin/v1` and `/admin/v1/tenants/{tenant}`. A credential or
//! offer id at `/admin/v1` is found in any tenant the caller sees (as
//! `GET /admin/v1/offers/{offerId}` does); the list at `/admin/v1` is the
//! default tenant's. The rules are [`Issuer::change_credential_status`]'s.
//!
//! [`Issuer::change_credential_status`]: sigil_issuer::Issuer::change_credential_status

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sigil_issuer::model::{CredentialFilter, CredentialRecord, CredentialStatus};
use sigil_issuer::status_list::{StatusAction, StatusChangeCause, status_list_uri};
use sigil_settings::DEFAULT_TENANT;
use sigil_time::rfc3339;
use utoipa::ToSchema;

use super::access::{Admin, printable};
use super::offers::view::load;
use crate::problem::{FieldError, Problem, ProblemType};
use crate::state::AppState;
use crate::tenants::{Tenant, issuer_url};

/// A status change, as the last path segment (the path pattern [`ACTIONS`]
/// and [`StatusAction::parse`] read it).
#[derive(Debug, Clone, Copy, ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code, reason = "the schema of the `{action}` path segment")]
pub enum CredentialAction {
    /// Revoke: final.
    Revoke,
    /// Suspend (a status list of 2 bits per entry).
    Suspend,
    /// Reinstate a suspended credential.
    Reinstate,
}

/// The actions, as the last path segment.
const ACTIONS: &str = "{action:revoke|suspend|reinstate}";

/// Mount the routes in the `/admin/v1` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/credentials", "GET").route(web::get().to(list_default)))
        .service(
            super::resource("/tenants/{tenant}/credentials", "GET")
                .route(web::get().to(list_for_tenant)),
        )
        .service(
            super::resource(&format!("/credentials/{{id}}/{ACTIONS}"), "POST")
                .route(web::post().to(change_default)),
        )
        .service(
            super::resource(
                &format!("/tenants/{{tenant}}/credentials/{{id}}/{ACTIONS}"),
                "POST",
            )
            .route(web::post().to(change_for_tenant)),
        )
        .service(
            super::resource(&format!("/offers/{{id}}/credentials/{ACTIONS}"), "POST")
                .route(web::post().to(change_offer_default)),
        )
        .service(
            super::resource(
                &format!("/tenants/{{tenant}}/offers/{{id}}/credentials/{ACTIONS}"),
                "POST",
            )
            .route(web::post().to(change_offer_for_tenant)),
        );
}

/// A credential's issuance record as the admin API shows it (the offer
/// view's `credentials[]`, the list, and the answer of a status change):
/// never its claim values, which Sigil does not keep.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({
    "credentialConfigurationId": "employee_badge_sd_jwt",
    "credentialId": "c7b1d2e3-4f50-4a6b-8c9d-0e1f2a3b4c5d",
    "expiresAt": "2027-11-22T12:02:00Z",
    "format": "dc+sd-jwt",
    "holderKeyThumbprint": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    "identifier": null,
    "issuedAt": "2026-11-22T12:02:00Z",
    "notification": {"at": "2026-11-22T12:02:05Z", "description": null, "event": "credential_accepted"},
    "offerId": "0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77",
    "status": "valid",
    "statusList": {"idx": 48213, "uri": "https://issuer.example.com/statuslists/1"}
})))]
pub struct CredentialView {
    /// The configuration it was issued from.
    pub credential_configuration_id: String,
    /// The record's id (the admin API's credential id).
    pub credential_id: String,
    /// When the credential expires (RFC 3339).
    pub expires_at: Option<String>,
    /// Its format (`dc+sd-jwt`, `jwt_vc_json`, `mso_mdoc`).
    pub format: String,
    /// JWK thumbprint of the holder key it is bound to.
    pub holder_key_thumbprint: Option<String>,
    /// The credential's own identifier (e.g. the `jti` of a `jwt_vc_json`).
    pub identifier: Option<String>,
    /// When it was issued (RFC 3339).
    pub issued_at: String,
    /// The wallet's last notification about it (OID4VCI §11).
    pub notification: Option<NotificationView>,
    /// The offer it was issued for.
    pub offer_id: String,
    /// Its status on its status list.
    #[schema(schema_with = crate::openapi::credential_status)]
    pub status: String,
    /// Its status list entry; `null`: none (it cannot be revoked).
    pub status_list: Option<StatusListEntry>,
}

/// A credential's entry on a status list.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusListEntry {
    /// The entry's index.
    pub idx: u64,
    /// The status list.
    pub uri: String,
}

/// A wallet's notification about a credential.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    /// When it came (RFC 3339).
    pub at: String,
    /// The wallet's `event_description`.
    pub description: Option<String>,
    /// `credential_accepted`, `credential_failure` or `credential_deleted`.
    pub event: String,
}

/// A page of issuance records.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialList {
    /// The records, newest first.
    pub credentials: Vec<CredentialView>,
    /// `cursor` of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The credentials of an offer whose status changed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfferCredentials {
    /// The credentials the action applied to, as they are now.
    pub credentials: Vec<CredentialView>,
    /// The offer.
    pub offer_id: String,
}

/// A credential's record as the admin API shows it; the tenant's issuer
/// identifier `issuer` makes the status list URI.
pub fn credential_json(c: &CredentialRecord, issuer: &str) -> CredentialView {
    CredentialView {
        credential_configuration_id: c.credential_configuration_id.clone(),
        credential_id: c.id.clone(),
        expires_at: c.expires_at.map(rfc3339),
        format: c.format.clone(),
        holder_key_thumbprint: c.holder_key_thumbprint.clone(),
        identifier: c.identifier.clone(),
        issued_at: rfc3339(c.created_at),
        notification: c.notification.as_ref().map(|n| NotificationView {
            at: rfc3339(n.at),
            description: n.description.clone(),
            event: n.event.clone(),
        }),
        offer_id: c.offer_id.clone(),
        status: c.status.as_str().to_owned(),
        status_list: c.status_entry.map(|e| StatusListEntry {
            idx: e.index,
            uri: status_list_uri(issuer, e.list),
        }),
    }
}

/// [`credential_json`] with the issuer identifier of the record's tenant.
pub fn credential_view(state: &AppState, c: &CredentialRecord) -> CredentialView {
    let issuer = state.tenants.get(&c.tenant).map_or_else(
        || issuer_url(&state.settings, &c.tenant),
        |t| t.issuer.clone(),
    );
    credential_json(c, &issuer)
}

fn action_of(req: &HttpRequest) -> Result<StatusAction, Problem> {
    req.match_info()
        .get("action")
        .and_then(StatusAction::parse)
        .ok_or_else(|| Problem::not_found("no such action; use revoke, suspend or reinstate"))
}

fn store_problem(what: &str, e: &impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "{what} failed");
    Problem::store_unavailable(format!(
        "{what} failed in the store; nothing changed, try again"
    ))
}

/// The problem of a refused change of `subject` (a credential or offer).
fn refused(cause: &StatusChangeCause, subject: &str, action: StatusAction) -> Problem {
    let act = action.as_str();
    match cause {
        StatusChangeCause::UnknownCredential => {
            Problem::not_found(format!("no credential '{}'", printable(subject)))
        }
        StatusChangeCause::UnknownOffer => {
            Problem::not_found(format!("no offer '{}'", printable(subject)))
        }
        StatusChangeCause::NoStatusEntry => Problem::new(
            ProblemType::NoStatusEntry,
            format!(
                "{subject} has no status list entry (status lists were off for its configuration or offer when it was issued), so it cannot be {}",
                past(action)
            ),
        ),
        StatusChangeCause::SuspendNeedsTwoBits => Problem::new(
            ProblemType::SuspensionUnsupported,
            format!(
                "{subject} is on a status list of 1 bit per entry, which can say valid or revoked only; revoke it, or set [status_lists] bits = 2 for credentials issued from now on"
            ),
        ),
        StatusChangeCause::RevokedIsFinal => Problem::new(
            ProblemType::RevokedIsFinal,
            format!(
                "{subject} is revoked, which is final: it cannot be {}",
                past(action)
            ),
        ),
        StatusChangeCause::Store(e) => store_problem(&format!("{act} of {subject}"), e),
    }
}

fn past(action: StatusAction) -> &'static str {
    match action {
        StatusAction::Revoke => "revoked",
        StatusAction::Suspend => "suspended",
        StatusAction::Reinstate => "reinstated",
    }
}

fn json_ok(body: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

/// Revoke, suspend or reinstate a credential.
///
/// The credential is found in whichever tenant the caller sees that has it.
#[utoipa::path(
    post,
    path = "/admin/v1/credentials/{credentialId}/{action}",
    tag = "credentials",
    operation_id = "changeCredentialStatus",
    params(
        ("credentialId" = String, Path, description = "The credential's id (`credentialId` of its record)"),
        ("action" = inline(CredentialAction), Path, description = "What to do: `revoke` (final), `suspend` (needs a status list of 2 bits per entry) or `reinstate` (a suspended credential)"),
    ),
    responses(
        (status = 200, description = "The credential as it is now", body = CredentialView),
        (status = 404, description = "`not-found`: no such credential in a tenant the caller sees", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no-status-entry`, `suspension-unsupported` or `revoked-is-final`: the status cannot change so", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn change_default(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let action = action_of(&req)?;
    let id = &path.0;
    let t = admin
        .tenant_having(&state, |t| state.issuer.store().credential(&t.id, id))
        .await
        .map_err(|e| store_problem("reading the credential", &e))?
        .ok_or_else(|| refused(&StatusChangeCause::UnknownCredential, id, action))?;
    change(&state, t, id, action).await
}

/// Revoke, suspend or reinstate a tenant's credential.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant}/credentials/{credentialId}/{action}",
    tag = "credentials",
    operation_id = "changeTenantCredentialStatus",
    params(
        ("tenant" = String, Path, description = "Tenant id (`[tenants.<id>]`)", example = "acme"),
        ("credentialId" = String, Path, description = "The credential's id (`credentialId` of its record)"),
        ("action" = inline(CredentialAction), Path, description = "What to do: `revoke` (final), `suspend` (needs a status list of 2 bits per entry) or `reinstate` (a suspended credential)"),
    ),
    responses(
        (status = 200, description = "The credential as it is now", body = CredentialView),
        (status = 404, description = "`not-found`: no such tenant or credential, or a tenant the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no-status-entry`, `suspension-unsupported` or `revoked-is-final`: the status cannot change so", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn change_for_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, Problem> {
    let action = action_of(&req)?;
    let t = admin.tenant(&state, &path.0)?;
    change(&state, t, &path.1, action).await
}

async fn change(
    state: &AppState,
    t: &Tenant,
    id: &str,
    action: StatusAction,
) -> Result<HttpResponse, Problem> {
    let record = state
        .issuer
        .change_credential_status(t, id, action)
        .await
        .map_err(|e| refused(&e, &format!("credential '{}'", printable(id)), action))?;
    Ok(json_ok(&credential_view(state, &record)))
}

/// Revoke, suspend or reinstate every credential of an offer the action
/// applies to.
#[utoipa::path(
    post,
    path = "/admin/v1/offers/{offerId}/credentials/{action}",
    tag = "credentials",
    operation_id = "changeOfferCredentialsStatus",
    params(
        ("offerId" = String, Path, description = "The offer's id (of any tenant the caller sees)"),
        ("action" = inline(CredentialAction), Path, description = "What to do: `revoke` (final), `suspend` (needs a status list of 2 bits per entry) or `reinstate` (a suspended credential)"),
    ),
    responses(
        (status = 200, description = "The credentials the action applied to, as they are now", body = OfferCredentials),
        (status = 404, description = "`not-found`: no such offer, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no-status-entry`, `suspension-unsupported` or `revoked-is-final`: the status cannot change so", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn change_offer_default(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let action = action_of(&req)?;
    let id = &path.0;
    let offer = load(&state, &admin, id).await?;
    let t = state
        .tenants
        .get(&offer.tenant)
        .ok_or_else(|| refused(&StatusChangeCause::UnknownOffer, id, action))?;
    change_offer(&state, t, id, action).await
}

/// Revoke, suspend or reinstate every credential of a tenant's offer the
/// action applies to.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant}/offers/{offerId}/credentials/{action}",
    tag = "credentials",
    operation_id = "changeTenantOfferCredentialsStatus",
    params(
        ("tenant" = String, Path, description = "Tenant id (`[tenants.<id>]`)", example = "acme"),
        ("offerId" = String, Path, description = "The offer's id"),
        ("action" = inline(CredentialAction), Path, description = "What to do: `revoke` (final), `suspend` (needs a status list of 2 bits per entry) or `reinstate` (a suspended credential)"),
    ),
    responses(
        (status = 200, description = "The credentials the action applied to, as they are now", body = OfferCredentials),
        (status = 404, description = "`not-found`: no such tenant or offer, or a tenant the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no-status-entry`, `suspension-unsupported` or `revoked-is-final`: the status cannot change so", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn change_offer_for_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, Problem> {
    let action = action_of(&req)?;
    let t = admin.tenant(&state, &path.0)?;
    if !sigil_issuer::offer::plausible_offer_id(&path.1) {
        return Err(refused(&StatusChangeCause::UnknownOffer, &path.1, action));
    }
    change_offer(&state, t, &path.1, action).await
}

async fn change_offer(
    state: &AppState,
    t: &Tenant,
    id: &str,
    action: StatusAction,
) -> Result<HttpResponse, Problem> {
    let subject = format!("offer '{}'", printable(id));
    let records = state
        .issuer
        .change_offer_status(t, id, action)
        .await
        .map_err(|e| match e {
            StatusChangeCause::UnknownOffer => refused(&e, id, action),
            StatusChangeCause::NoStatusEntry => {
                refused(&e, &format!("no credential of {subject}"), action)
            }
            e => refused(&e, &format!("a credential of {subject}"), action),
        })?;
    let credentials = records.iter().map(|c| credential_view(state, c)).collect();
    Ok(json_ok(&OfferCredentials {
        credentials,
        offer_id: id.to_owned(),
    }))
}

/// List the default tenant's issuance records, newest first.
///
/// Never claim values: Sigil does not keep them.
#[utoipa::path(
    get,
    path = "/admin/v1/credentials",
    tag = "credentials",
    operation_id = "listCredentials",
    params(
        ("offerId" = Option<String>, Query, description = "Only the credentials of this offer"),
        ("credentialConfigurationId" = Option<String>, Query, description = "Only those of this configuration"),
        ("format" = Option<String>, Query, description = "Only those of this format, e.g. `dc+sd-jwt`"),
        ("status" = Option<String>, Query, description = "Only those with this status: `valid`, `suspended` or `revoked`"),
        ("holderKeyThumbprint" = Option<String>, Query, description = "Only those bound to this holder key (JWK thumbprint)"),
        ("identifier" = Option<String>, Query, description = "Only the one with this identifier (e.g. a `jti`)"),
        ("issuedFrom" = Option<i64>, Query, description = "Only those issued at or after this time (Unix seconds)"),
        ("issuedUntil" = Option<i64>, Query, description = "Only those issued before this time (Unix seconds)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Records per page, 1 to 500 (default 100)"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of records", body = CredentialList),
        (status = 400, description = "`validation`: `errors` names each bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: a tenant key of another tenant", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: the records could not be read", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn list_default(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let t = admin.tenant(&state, DEFAULT_TENANT)?;
    list(&state, t, req.query_string()).await
}

/// List a tenant's issuance records, newest first.
///
/// Never claim values: Sigil does not keep them.
#[utoipa::path(
    get,
    path = "/admin/v1/tenants/{tenant}/credentials",
    tag = "credentials",
    operation_id = "listTenantCredentials",
    params(
        ("tenant" = String, Path, description = "Tenant id (`[tenants.<id>]`)", example = "acme"),
        ("offerId" = Option<String>, Query, description = "Only the credentials of this offer"),
        ("credentialConfigurationId" = Option<String>, Query, description = "Only those of this configuration"),
        ("format" = Option<String>, Query, description = "Only those of this format, e.g. `dc+sd-jwt`"),
        ("status" = Option<String>, Query, description = "Only those with this status: `valid`, `suspended` or `revoked`"),
        ("holderKeyThumbprint" = Option<String>, Query, description = "Only those bound to this holder key (JWK thumbprint)"),
        ("identifier" = Option<String>, Query, description = "Only the one with this identifier (e.g. a `jti`)"),
        ("issuedFrom" = Option<i64>, Query, description = "Only those issued at or after this time (Unix seconds)"),
        ("issuedUntil" = Option<i64>, Query, description = "Only those issued before this time (Unix seconds)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Records per page, 1 to 500 (default 100)"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of records", body = CredentialList),
        (status = 400, description = "`validation`: `errors` names each bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such tenant, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: the records could not be read", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn list_for_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let t = admin.tenant(&state, &path)?;
    list(&state, t, req.query_string()).await
}

/// The most records per page, and the default.
const MAX_LIMIT: u32 = 500;
const DEFAULT_LIMIT: u32 = 100;

async fn list(state: &AppState, t: &Tenant, query: &str) -> Result<HttpResponse, Problem> {
    let mut filter = parse_query(&t.id, query)?;
    let limit = filter.limit;
    // One more than asked tells whether there is a next page.
    filter.limit = limit + 1;
    let mut records = state
        .issuer
        .store()
        .find_credentials(&filter)
        .await
        .map_err(|e| store_problem("listing credentials", &e))?;
    let next = (records.len() > limit as usize).then(|| {
        records.truncate(limit as usize);
        records.last().map(|c| cursor(c.created_at, &c.id))
    });
    let credentials = records.iter().map(|c| credential_view(state, c)).collect();
    Ok(json_ok(&CredentialList {
        credentials,
        next_cursor: next.flatten(),
    }))
}

/// The opaque cursor after the record issued at `at` with id `id`.
fn cursor(at: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{at}.{id}"))
}

fn parse_cursor(s: &str) -> Option<(i64, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
    let (at, id) = text.split_once('.')?;
    Some((at.parse().ok()?, id.to_owned()))
}

/// The filter of a list query; 400 naming every bad parameter.
fn parse_query(tenant: &str, query: &str) -> Result<CredentialFilter, Problem> {
    let mut filter = CredentialFilter {
        tenant: tenant.to_owned(),
        limit: DEFAULT_LIMIT,
        ..CredentialFilter::default()
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|e| {
        Problem::validation(format!("the query string is not valid: {e}"), Vec::new())
    })?;
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (key, value) in pairs {
        let mut bad = |message: &str| {
            errors.push(FieldError {
                field: printable(&key),
                message: message.to_owned(),
            });
        };
        if !seen.insert(key.clone()) {
            bad("given more than once");
            continue;
        }
        let time = |v: &str| v.parse::<i64>().ok();
        match key.as_str() {
            "offerId" => filter.offer_id = Some(value),
            "credentialConfigurationId" => filter.credential_configuration_id = Some(value),
            "format" => filter.format = Some(value),
            "holderKeyThumbprint" => filter.holder_key_thumbprint = Some(value),
            "identifier" => filter.identifier = Some(value),
            "status" => match CredentialStatus::parse(&value) {
                Some(s) => filter.status = Some(s),
                None => bad("use valid, suspended or revoked"),
            },
            "issuedFrom" => match time(&value) {
                Some(t) => filter.issued_from = Some(t),
                None => bad("give Unix seconds"),
            },
            "issuedUntil" => match time(&value) {
                Some(t) => filter.issued_until = Some(t),
                None => bad("give Unix seconds"),
            },
            "limit" => match value.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => filter.limit = n,
                _ => bad("give 1 to 500 (default 100)"),
            },
            "cursor" => match parse_cursor(&value) {
                Some(c) => filter.after = Some(c),
                None => bad("give the nextCursor of the previous page"),
            },
            _ => bad(
                "unknown parameter; use offerId, credentialConfigurationId, format, status, holderKeyThumbprint, identifier, issuedFrom, issuedUntil, limit or cursor",
            ),
        }
    }
    if errors.is_empty() {
        Ok(filter)
    } else {
        Err(Problem::validation(
            "the query has invalid parameters",
            errors,
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn queries_become_filters_and_bad_parameters_are_named() {
        let f = parse_query(
            "acme",
            "offerId=o1&status=revoked&issuedFrom=10&issuedUntil=20&limit=5&format=dc%2Bsd-jwt",
        )
        .unwrap();
        assert_eq!(
            (f.tenant.as_str(), f.offer_id.as_deref(), f.status, f.limit),
            ("acme", Some("o1"), Some(CredentialStatus::Revoked), 5)
        );
        assert_eq!((f.issued_from, f.issued_until), (Some(10), Some(20)));
        assert_eq!(f.format.as_deref(), Some("dc+sd-jwt"));
        assert_eq!(parse_query("t", "").unwrap().limit, DEFAULT_LIMIT);
        let c = cursor(1_700_000_000, "abc.def");
        let f = parse_query("t", &format!("cursor={c}")).unwrap();
        assert_eq!(f.after, Some((1_700_000_000, "abc.def".to_owned())));
        let e = parse_query(
            "t",
            "limit=0&status=gone&nope=1&cursor=%21&offerId=a&offerId=b",
        )
        .unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["limit", "status", "nope", "cursor", "offerId"]);
        assert!(parse_query("t", "limit=501").is_err());
    }

    /// Every query parameter the OpenAPI document lists is read.
    #[test]
    fn every_documented_query_parameter_is_read() {
        for path in [
            "/admin/v1/credentials",
            "/admin/v1/tenants/{tenant}/credentials",
        ] {
            let params = crate::openapi::tests::query_parameters(path);
            assert_eq!(params.len(), 10, "{path}");
            for (name, sample) in params {
                let sample = match name.as_str() {
                    "status" => "valid".to_owned(),
                    "cursor" => cursor(1, "a"),
                    _ => sample,
                };
                parse_query("t", &format!("{name}={sample}"))
                    .unwrap_or_else(|e| panic!("{path} {name}: {e:?}"));
            }
        }
    }
}
