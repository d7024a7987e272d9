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

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use sigil_issuer::delivery::PendingDelivery;
use sigil_issuer::model::EventRecord;
use sigil_time::rfc3339;

use super::access::{Admin, printable};
use crate::problem::{FieldError, Problem};
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

/// `GET /admin/v1/event-endpoints`.
async fn list(admin: Admin, state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    if admin.scoped_tenant().is_some() {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "event endpoints serve every tenant; list them with the global admin token (a tenant key reads its dead letters at /admin/v1/event-endpoints/{id}/dead-letters)",
        ));
    }
    let progress = state
        .store
        .delivery_progress()
        .await
        .map_err(|e| store_problem(&e))?;
    let items: Vec<Value> = state
        .settings
        .event_endpoints
        .values()
        .map(|e| {
            let p = progress.iter().find(|p| p.endpoint_id == e.id);
            json!({
                "id": e.id,
                "url": e.url,
                "events": e.events,
                "position": p.map(|p| p.position.to_string()),
                "holder": p.and_then(|p| p.holder.clone()).filter(|_| {
                    p.is_some_and(|p| p.lease_until_ms > now() * 1_000)
                }),
                "retrying": p.map_or(0, |p| p.retrying),
                "dead": p.map_or(0, |p| p.dead),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
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

fn delivery_json(d: &PendingDelivery, e: &EventRecord) -> Value {
    json!({
        "eventId": e.id.to_string(),
        "type": e.kind.as_str(),
        "offerId": e.offer_id,
        "tenant": e.tenant,
        "occurredAt": rfc3339(e.created_at),
        "state": d.state.as_str(),
        "attempts": d.attempts,
        "lastError": d.last_error,
        "retriedSince": rfc3339(d.since),
        "event": e.envelope(),
    })
}

/// `GET /admin/v1/event-endpoints/{id}/dead-letters`.
async fn dead_letters(
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
    let items: Vec<Value> = rows.iter().map(|(d, e)| delivery_json(d, e)).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next": next })))
}

/// `DELETE /admin/v1/event-endpoints/{id}/dead-letters/{eventId}`.
async fn discard(
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

/// `POST /admin/v1/event-endpoints/{id}/dead-letters/{eventId}/redeliver`.
async fn redeliver(
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
    Ok(HttpResponse::Accepted().json(json!({
        "eventId": event_id.to_string(),
        "endpointId": id,
        "state": "retrying",
    })))
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
}
