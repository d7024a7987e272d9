//! Webhook delivery as the operator sees it:
//! - `GET /admin/v1/event-endpoints`: each event endpoint, its position in
//!   the event log, the instance delivering it, and its retrying and dead
//!   deliveries (the global admin token only: endpoints serve every tenant);
//! - `GET /admin/v1/event-endpoints/{id}/dead-letters?after=&limit=`: the
//!   events given up after the retry horizon (a tenant key sees its
//!   tenant's);
//! - `POST /admin/v1/event-endpoints/{id}/dead-letters/{eventId}/redeliver`:
//!   retry one from now (with the same `Idempotency-Key`);
//! - `DELETE /admin/v1/event-endpoints/{id}/dead-letters/{eventId}`: give
//!   one up for good.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::Value;
use sigil_issuer::delivery::PendingDelivery;
use sigil_issuer::model::EventRecord;
use sigil_time::rfc3339;
use utoipa::ToSchema;

use super::access::{Admin, printable};
use crate::problem::{FieldError, Problem, ProblemType};
use crate::state::{AppState, now};

/// Dead letters per page, at most.
const MAX_PAGE: u64 = 200;

/// Mount the routes in the `/admin/v1` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/event-endpoints", "GET").route(web::get().to(list)))
        .service(
            super::resource("/event-endpoints/{id}/dead-letters", "GET")
                .route(web::get().to(dead_letters)),
        )
        .service(
            super::resource("/event-endpoints/{id}/dead-letters/{eventId}", "DELETE")
                .route(web::delete().to(discard)),
        )
        .service(
            super::resource(
                "/event-endpoints/{id}/dead-letters/{eventId}/redeliver",
                "POST",
            )
            .route(web::post().to(redeliver)),
        );
}

/// The event endpoints and their delivery.
#[derive(Debug, Serialize, ToSchema)]
#[schema(examples(json!({"items": [{
    "dead": 1,
    "events": ["offer_created", "credential_issued"],
    "holder": "sigil-7f9c-2",
    "id": "integrator-events",
    "position": "1841",
    "retrying": 0,
    "url": "https://integrator.example.com/sigil-events"
}]})))]
pub struct EndpointList {
    /// Every configured event endpoint (`config/event-endpoints/`).
    pub items: Vec<EndpointView>,
}

/// An event endpoint and its delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointView {
    /// Dead letters (events given up after the retry horizon).
    pub dead: u64,
    /// The event types it gets; `null`: every type.
    pub events: Option<Vec<String>>,
    /// The instance delivering it now (holding its lease), if any.
    pub holder: Option<String>,
    /// The endpoint's id (its file name).
    pub id: String,
    /// Every event up to this id was delivered, filtered out or is pending;
    /// `null`: nothing delivered yet.
    pub position: Option<String>,
    /// Deliveries being retried.
    pub retrying: u64,
    /// Where events are posted.
    pub url: String,
}

/// A page of dead letters.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterPage {
    /// Dead letters, oldest event first.
    pub items: Vec<DeadLetter>,
    /// `after` of the next page; `null` on the last.
    pub next: Option<String>,
}

/// An event given up after the retry horizon.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({
    "attempts": 14,
    "event": {
        "data": {},
        "id": "1841",
        "occurredAt": "2026-11-22T12:00:00Z",
        "offerId": "0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77",
        "tenant": "default",
        "type": "offer_created"
    },
    "eventId": "1841",
    "lastError": "HTTP 503",
    "occurredAt": "2026-11-22T12:00:00Z",
    "offerId": "0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77",
    "retriedSince": "2026-11-22T12:00:00Z",
    "state": "dead",
    "tenant": "default",
    "type": "offer_created"
})))]
pub struct DeadLetter {
    /// Attempts made.
    pub attempts: u32,
    /// The event as it is delivered.
    #[schema(value_type = crate::routes::admin::events::EventEnvelope)]
    pub event: Value,
    /// The event's id.
    pub event_id: String,
    /// The last failure (an HTTP status or a transport error).
    pub last_error: Option<String>,
    /// When the event happened (RFC 3339).
    pub occurred_at: String,
    /// The event's offer.
    pub offer_id: String,
    /// Since when it was retried (the event's time, or when an operator
    /// last redelivered it; RFC 3339).
    pub retried_since: String,
    /// `dead`.
    pub state: String,
    /// The event's tenant.
    pub tenant: String,
    /// The event's type.
    #[serde(rename = "type")]
    #[schema(schema_with = crate::openapi::event_type)]
    pub kind: String,
}

/// A dead letter put back for delivery.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({"endpointId": "integrator-events", "eventId": "1841", "state": "retrying"})))]
pub struct Redelivery {
    /// The event endpoint.
    pub endpoint_id: String,
    /// The event.
    pub event_id: String,
    /// `retrying`: it is delivered again from now, with the same
    /// `Idempotency-Key`.
    pub state: String,
}

fn store_problem(e: &impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "reading or changing deliveries failed");
    Problem::store_unavailable(
        "the deliveries could not be read or changed; nothing changed, try again",
    )
}

/// `Ok` when `id` is a configured event endpoint, else a 404 listing them.
fn known_endpoint(state: &AppState, id: &str) -> Result<(), Problem> {
    if state.settings.event_endpoints.contains_key(id) {
        Ok(())
    } else {
        Err(unknown_endpoint(state, id))
    }
}

fn unknown_endpoint(state: &AppState, id: &str) -> Problem {
    let known: Vec<&str> = state
        .settings
        .event_endpoints
        .keys()
        .map(String::as_str)
        .collect();
    Problem::not_found(format!(
        "no event endpoint '{}'; configured (config/event-endpoints/): {}",
        printable(id),
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    ))
}

/// List the event endpoints and their delivery (global admin token only).
#[utoipa::path(
    get,
    path = "/admin/v1/event-endpoints",
    tag = "event endpoints",
    operation_id = "listEventEndpoints",
    responses(
        (status = 200, description = "Every event endpoint", body = EndpointList),
        (status = 403, description = "`forbidden`: a tenant key (event endpoints serve every tenant)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: the deliveries could not be read", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn list(
    admin: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    if admin.scoped_tenant().is_some() {
        return Err(Problem::new(
            ProblemType::Forbidden,
            "event endpoints serve every tenant; list them with the global admin token (a tenant key reads its dead letters at /admin/v1/event-endpoints/{id}/dead-letters)",
        ));
    }
    let progress = state
        .store
        .delivery_progress()
        .await
        .map_err(|e| store_problem(&e))?;
    let items = state
        .settings
        .event_endpoints
        .values()
        .map(|e| {
            let p = progress.iter().find(|p| p.endpoint_id == e.id);
            EndpointView {
                dead: p.map_or(0, |p| p.dead),
                events: e.events.clone(),
                holder: p
                    .and_then(|p| p.holder.clone())
                    .filter(|_| p.is_some_and(|p| p.lease_until_ms > now() * 1_000)),
                id: e.id.clone(),
                position: p.map(|p| p.position.to_string()),
                retrying: p.map_or(0, |p| p.retrying),
                url: e.url.clone(),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(EndpointList { items }))
}

/// A page of the dead-letter list: after which event, how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Page {
    after: i64,
    limit: u64,
}

/// The query of the dead-letter list (`after`, `limit`); 400 naming every
/// bad parameter.
fn parse_page(query: &str) -> Result<Page, Problem> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|e| {
        Problem::validation(format!("the query string is not valid: {e}"), Vec::new())
    })?;
    let mut page = Page {
        after: 0,
        limit: MAX_PAGE,
    };
    let mut errors = Vec::new();
    for (key, value) in pairs {
        let message = match key.as_str() {
            "after" => match value.parse::<i64>() {
                Ok(a) if a >= 0 => {
                    page.after = a;
                    continue;
                }
                _ => "must be the `next` of a previous page (an event id)",
            },
            "limit" => match value.parse::<u64>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => {
                    page.limit = n;
                    continue;
                }
                _ => "must be a whole number from 1 to 200",
            },
            _ => "unknown parameter; use after or limit",
        };
        errors.push(FieldError {
            field: printable(&key),
            message: message.to_owned(),
        });
    }
    if errors.is_empty() {
        Ok(page)
    } else {
        Err(Problem::validation("the query is invalid", errors))
    }
}

fn dead_letter(d: &PendingDelivery, e: &EventRecord) -> DeadLetter {
    DeadLetter {
        attempts: d.attempts,
        event: e.envelope(),
        event_id: e.id.to_string(),
        last_error: d.last_error.clone(),
        occurred_at: rfc3339(e.created_at),
        offer_id: e.offer_id.clone(),
        retried_since: rfc3339(d.since),
        state: d.state.as_str().to_owned(),
        tenant: e.tenant.clone(),
        kind: e.kind.as_str().to_owned(),
    }
}

/// List an event endpoint's dead letters.
///
/// A tenant key sees its tenant's.
#[utoipa::path(
    get,
    path = "/admin/v1/event-endpoints/{endpointId}/dead-letters",
    tag = "event endpoints",
    operation_id = "listDeadLetters",
    params(
        ("endpointId" = String, Path, description = "The event endpoint's id (`config/event-endpoints/<id>.toml`)", example = "integrator-events"),
        ("after" = Option<i64>, Query, minimum = 0, description = "`next` of the previous page (an event id)"),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 200, description = "Dead letters per page, 1 to 200 (default 200)"),
    ),
    responses(
        (status = 200, description = "A page of dead letters", body = DeadLetterPage),
        (status = 400, description = "`validation`: `errors` names each bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such event endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: the deliveries could not be read", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn dead_letters(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let id = path.into_inner();
    known_endpoint(&state, &id)?;
    let page = parse_page(req.query_string())?;
    // One more than asked: whether a next page exists.
    let mut rows = state
        .store
        .dead_letters(&id, admin.scoped_tenant(), page.after, page.limit + 1)
        .await
        .map_err(|e| store_problem(&e))?;
    let next = (rows.len() as u64 > page.limit).then(|| {
        rows.truncate(page.limit as usize);
        rows.last().map(|(_, e)| e.id.to_string())
    });
    let next = next.flatten();
    let items = rows.iter().map(|(d, e)| dead_letter(d, e)).collect();
    Ok(HttpResponse::Ok().json(DeadLetterPage { items, next }))
}

/// Give a dead letter up for good.
#[utoipa::path(
    delete,
    path = "/admin/v1/event-endpoints/{endpointId}/dead-letters/{eventId}",
    tag = "event endpoints",
    operation_id = "discardDeadLetter",
    params(("endpointId" = String, Path, description = "The event endpoint's id (`config/event-endpoints/<id>.toml`)", example = "integrator-events"), ("eventId" = String, Path, description = "The event's id")),
    responses(
        (status = 204, description = "The dead letter is gone"),
        (status = 404, description = "`not-found`: no such event endpoint, or the event is not one of its dead letters (delivered, still retried, unknown, or of a tenant the caller may not see)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn discard(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (id, event) = path.into_inner();
    known_endpoint(&state, &id)?;
    let gone = match event.parse::<i64>() {
        Ok(event_id) => state
            .store
            .discard_dead_letter(&id, event_id, admin.scoped_tenant())
            .await
            .map_err(|e| store_problem(&e))?,
        Err(_) => false,
    };
    if !gone {
        return Err(not_a_dead_letter(&id, &event));
    }
    Ok(HttpResponse::NoContent().finish())
}

fn not_a_dead_letter(endpoint: &str, event: &str) -> Problem {
    Problem::not_found(format!(
        "event '{}' is not a dead letter of '{}' (delivered, still being retried, or unknown)",
        printable(event),
        printable(endpoint)
    ))
}

/// Deliver a dead letter again, from now (with the same `Idempotency-Key`).
#[utoipa::path(
    post,
    path = "/admin/v1/event-endpoints/{endpointId}/dead-letters/{eventId}/redeliver",
    tag = "event endpoints",
    operation_id = "redeliverDeadLetter",
    params(("endpointId" = String, Path, description = "The event endpoint's id (`config/event-endpoints/<id>.toml`)", example = "integrator-events"), ("eventId" = String, Path, description = "The event's id")),
    responses(
        (status = 202, description = "The event is being delivered again", body = Redelivery),
        (status = 404, description = "`not-found`: no such event endpoint, or the event is not one of its dead letters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn redeliver(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (id, event) = path.into_inner();
    known_endpoint(&state, &id)?;
    let not_dead = || not_a_dead_letter(&id, &event);
    let event_id = event.parse::<i64>().map_err(|_| not_dead())?;
    let requeued = state
        .store
        .redeliver(&id, event_id, admin.scoped_tenant(), now())
        .await
        .map_err(|e| store_problem(&e))?;
    if !requeued {
        return Err(not_dead());
    }
    Ok(HttpResponse::Accepted().json(Redelivery {
        endpoint_id: id,
        event_id: event_id.to_string(),
        state: "retrying".to_owned(),
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn the_page_query_names_every_bad_parameter() {
        assert_eq!(
            parse_page("after=41&limit=5").unwrap(),
            Page {
                after: 41,
                limit: 5
            }
        );
        assert_eq!(
            parse_page("").unwrap(),
            Page {
                after: 0,
                limit: MAX_PAGE
            }
        );
        let p = parse_page("after=-1&limit=0&nope=1").unwrap_err();
        let fields: Vec<&str> = p.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["after", "limit", "nope"]);
    }

    /// Every query parameter the OpenAPI document lists is read.
    #[test]
    fn every_documented_query_parameter_is_read() {
        let params = crate::openapi::tests::query_parameters(
            "/admin/v1/event-endpoints/{endpointId}/dead-letters",
        );
        assert_eq!(params.len(), 2);
        for (name, sample) in params {
            parse_page(&format!("{name}={sample}")).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
    }
}
