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

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sigil_issuer::model::{CredentialFilter, CredentialRecord, CredentialStatus};
use sigil_issuer::status_list::{StatusAction, StatusChangeCause, status_list_uri};
use sigil_settings::DEFAULT_TENANT;
use sigil_time::rfc3339;

use super::access::{Admin, printable};
use super::offers::view::load;
use crate::problem::{FieldError, Problem};
use crate::state::AppState;
use crate::tenants::{Tenant, issuer_url};

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

/// A credential's record as the admin API shows it (the offer view's
/// `credentials[]`, the list, and the answer of a status change); the
/// tenant's issuer identifier `issuer` makes the status list URI.
pub fn credential_json(c: &CredentialRecord, issuer: &str) -> Value {
    json!({
        "credentialId": c.id,
        "offerId": c.offer_id,
        "credentialConfigurationId": c.credential_configuration_id,
        "format": c.format,
        "status": c.status.as_str(),
        "statusList": c.status_entry.map(|e| json!({
            "uri": status_list_uri(issuer, e.list), "idx": e.index
        })),
        "holderKeyThumbprint": c.holder_key_thumbprint,
        "identifier": c.identifier,
        "issuedAt": rfc3339(c.created_at),
        "expiresAt": c.expires_at.map(rfc3339),
        "notification": c.notification.as_ref().map(|n| json!({
            "event": n.event, "description": n.description, "at": rfc3339(n.at)
        })),
    })
}

/// [`credential_json`] with the issuer identifier of the record's tenant.
pub fn credential_view(state: &AppState, c: &CredentialRecord) -> Value {
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
    let conflict = |slug: &str, title: &str, detail: String| {
        Problem::new(StatusCode::CONFLICT, slug, title, detail)
    };
    let act = action.as_str();
    match cause {
        StatusChangeCause::UnknownCredential => {
            Problem::not_found(format!("no credential '{}'", printable(subject)))
        }
        StatusChangeCause::UnknownOffer => {
            Problem::not_found(format!("no offer '{}'", printable(subject)))
        }
        StatusChangeCause::NoStatusEntry => conflict(
            "no-status-entry",
            "No status list entry",
            format!(
                "{subject} has no status list entry (status lists were off for its configuration or offer when it was issued), so it cannot be {}",
                past(action)
            ),
        ),
        StatusChangeCause::SuspendNeedsTwoBits => conflict(
            "suspension-unsupported",
            "Suspension not supported",
            format!(
                "{subject} is on a status list of 1 bit per entry, which can say valid or revoked only; revoke it, or set [status_lists] bits = 2 for credentials issued from now on"
            ),
        ),
        StatusChangeCause::RevokedIsFinal => conflict(
            "revoked-is-final",
            "Credential revoked",
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

fn json_ok(body: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

/// `POST /admin/v1/credentials/{id}/{action}`: the credential in whichever
/// tenant the caller sees that has it.
async fn change_default(
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

/// `POST /admin/v1/tenants/{tenant}/credentials/{id}/{action}`.
async fn change_for_tenant(
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

/// `POST /admin/v1/offers/{id}/credentials/{action}`: the offer's tenant.
async fn change_offer_default(
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

/// `POST /admin/v1/tenants/{tenant}/offers/{id}/credentials/{action}`.
async fn change_offer_for_tenant(
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
    let credentials: Vec<Value> = records.iter().map(|c| credential_view(state, c)).collect();
    Ok(json_ok(
        &json!({ "offerId": id, "credentials": credentials }),
    ))
}

/// `GET /admin/v1/credentials`: the default tenant's.
async fn list_default(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let t = admin.tenant(&state, DEFAULT_TENANT)?;
    list(&state, t, req.query_string()).await
}

/// `GET /admin/v1/tenants/{tenant}/credentials`.
async fn list_for_tenant(
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
    let credentials: Vec<Value> = records.iter().map(|c| credential_view(state, c)).collect();
    Ok(json_ok(
        &json!({ "credentials": credentials, "nextCursor": next.flatten() }),
    ))
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
}
