//! Server-sent event streams (`text/event-stream`) of the admin API:
//!
//! - `GET /admin/v1/offers/{offerId}/events/stream`: one offer's events,
//!   its history first;
//! - `GET /admin/v1/events/stream`: the events of every tenant the caller
//!   sees, from now;
//! - `GET /admin/v1/tenants/{tenant}/events/stream`: one tenant's, from now.
//!
//! Each event is `id: <event id>`, `event: <type>`, `data: <envelope>`
//! (`docs/events.md`). The stream reads the shared store, so it carries
//! the events caused on every instance; it resumes after `Last-Event-ID`
//! without gaps ([`FeedCursor`]); a comment line every
//! [`HEARTBEAT`] keeps proxies from closing an idle stream.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use sigil_issuer::event_feed::FeedCursor;
use sigil_store::EventRecord;
use utoipa::ToSchema;

use super::access::Admin;
use super::offers::view::load;
use crate::problem::{Problem, ProblemType};
use crate::state::{AppState, now};

/// How often a stream looks for new events.
const POLL: Duration = Duration::from_millis(500);
/// The longest silence before a heartbeat comment.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// Events read per store query.
const PAGE: u64 = 500;

/// Mount the streams.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource("/offers/{id}/events/stream", "GET").route(web::get().to(offer_stream)),
    )
    .service(super::resource("/events/stream", "GET").route(web::get().to(visible_stream)))
    .service(
        super::resource("/tenants/{tenant}/events/stream", "GET")
            .route(web::get().to(tenant_stream)),
    );
}

/// An event as streams and webhooks carry it (`docs/events.md`,
/// `docs/events.schema.json`): the `data` of a server-sent event, and the
/// `event` of a dead letter.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({
    "data": {},
    "id": "1841",
    "occurredAt": "2026-11-22T12:00:00Z",
    "offerId": "0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77",
    "tenant": "default",
    "type": "offer_created"
})))]
#[allow(
    dead_code,
    reason = "the schema of EventRecord::envelope, which is built as JSON"
)]
pub struct EventEnvelope {
    /// What happened, by type (`docs/events.md`, schema version 1).
    #[schema(value_type = Object)]
    data: serde_json::Value,
    /// The event's id (the `id` of the server-sent event, for `Last-Event-ID`).
    id: String,
    /// When it happened (RFC 3339).
    occurred_at: String,
    /// The event's offer.
    offer_id: String,
    /// The event's tenant.
    tenant: String,
    /// The event's type.
    #[schema(rename = "type", schema_with = crate::openapi::event_type)]
    kind: String,
}

/// What a stream answers: `text/event-stream` (the schema describes each
/// event's `data`).
const STREAM: &str = "A `text/event-stream`: first `retry: 2000`, then each event as `id: <event id>`, `event: <type>`, `data: <EventEnvelope as JSON>`; a `: heartbeat` comment after 15 s of silence. The stream stays open.";

/// Which events a stream carries.
#[derive(Debug, Clone)]
enum Scope {
    /// One offer's.
    Offer(String),
    /// One tenant's.
    Tenant(String),
    /// Every tenant's the caller sees.
    Visible(Admin),
}

impl Scope {
    fn covers(&self, e: &EventRecord) -> bool {
        match self {
            Self::Offer(id) => &e.offer_id == id,
            Self::Tenant(t) => &e.tenant == t,
            Self::Visible(admin) => admin.sees(&e.tenant),
        }
    }
}

/// Stream an offer's events: its history first, then as they happen.
///
/// The stream reads the shared store, so it carries the events caused on
/// every instance; `Last-Event-ID` resumes without gaps.
#[utoipa::path(
    get,
    path = "/admin/v1/offers/{offerId}/events/stream",
    tag = "events",
    operation_id = "streamOfferEvents",
    params(
        ("offerId" = String, Path, description = "The offer's id (of any tenant the caller sees)"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (the `id` of the last event received)"),
    ),
    responses(
        (status = 200, description = STREAM, body = EventEnvelope, content_type = "text/event-stream"),
        (status = 404, description = "`not-found`: no such offer, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "`bad-last-event-id`: `Last-Event-ID` is not an event id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: the events could not be read", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn offer_stream(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let offer = load(&state, &admin, &path).await?;
    let resume = last_event_id(&req)?;
    let (cursor, backlog) = match resume {
        Some(after) => (FeedCursor::new(after), Vec::new()),
        None => {
            // The history up to now, then the feed from there.
            let last = state
                .store
                .last_event_id()
                .await
                .map_err(|e| store_problem(&e))?;
            let mut history = state
                .store
                .events(&offer.id)
                .await
                .map_err(|e| store_problem(&e))?;
            history.retain(|e| e.id <= last);
            history.sort_by_key(|e| e.id);
            (FeedCursor::new(last), history)
        }
    };
    Ok(stream(state, Scope::Offer(offer.id), cursor, &backlog))
}

/// Stream the events of every tenant the caller sees, from now.
#[utoipa::path(
    get,
    path = "/admin/v1/events/stream",
    tag = "events",
    operation_id = "streamEvents",
    params(("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (the `id` of the last event received)")),
    responses(
        (status = 200, description = STREAM, body = EventEnvelope, content_type = "text/event-stream"),
        (status = 400, description = "`bad-last-event-id`: `Last-Event-ID` is not an event id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: the events could not be read", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn visible_stream(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let cursor = start(&state, &req).await?;
    Ok(stream(state, Scope::Visible(admin), cursor, &[]))
}

/// Stream a tenant's events, from now.
#[utoipa::path(
    get,
    path = "/admin/v1/tenants/{tenant}/events/stream",
    tag = "events",
    operation_id = "streamTenantEvents",
    params(
        ("tenant" = String, Path, description = "Tenant id (`[tenants.<id>]`)", example = "acme"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (the `id` of the last event received)"),
    ),
    responses(
        (status = 200, description = STREAM, body = EventEnvelope, content_type = "text/event-stream"),
        (status = 404, description = "`not-found`: no such tenant, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "`bad-last-event-id`: `Last-Event-ID` is not an event id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`store-unavailable`: the events could not be read", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn tenant_stream(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let tenant = admin.tenant(&state, &path)?.id.clone();
    let cursor = start(&state, &req).await?;
    Ok(stream(state, Scope::Tenant(tenant), cursor, &[]))
}

/// After `Last-Event-ID`, or from now.
async fn start(state: &AppState, req: &HttpRequest) -> Result<FeedCursor, Problem> {
    match last_event_id(req)? {
        Some(after) => Ok(FeedCursor::new(after)),
        None => Ok(FeedCursor::new(
            state
                .store
                .last_event_id()
                .await
                .map_err(|e| store_problem(&e))?,
        )),
    }
}

/// The `Last-Event-ID` header: an event id this server gave.
fn last_event_id(req: &HttpRequest) -> Result<Option<i64>, Problem> {
    let Some(value) = req.headers().get("Last-Event-ID") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|id| *id >= 0)
        .map(Some)
        .ok_or_else(|| {
            Problem::new(
                ProblemType::BadLastEventId,
                "Last-Event-ID must be the id of an event this stream sent (a non-negative integer)",
            )
        })
}

fn store_problem(e: &sigil_store::StoreError) -> Problem {
    tracing::error!(error = %e, "reading events failed");
    Problem::store_unavailable("the events could not be read; try again")
}

/// One event as a server-sent event: its id, its type, and the envelope.
fn frame(e: &EventRecord) -> Bytes {
    let envelope = e.envelope();
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {envelope}\n\n",
        e.id,
        e.kind.as_str()
    ))
}

/// A stream's state between polls.
struct Feed {
    state: web::Data<AppState>,
    scope: Scope,
    cursor: FeedCursor,
    out: VecDeque<Bytes>,
    last_sent: Instant,
}

impl Feed {
    /// Read what settled after the cursor; `true` when a full page came
    /// (read again at once).
    async fn read(&mut self) -> bool {
        let rows = match self
            .state
            .store
            .events_after(self.cursor.position(), PAGE)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                // Transient: the stream stays open and tries again.
                tracing::warn!(error = %e, "an event stream could not read events");
                return false;
            }
        };
        let ids: Vec<(i64, i64)> = rows.iter().map(|e| (e.id, e.created_at)).collect();
        let settled = self.cursor.settle(&ids, now(), Instant::now());
        for e in rows.iter().take(settled) {
            if self.scope.covers(e) {
                self.out.push_back(frame(e));
            }
        }
        rows.len() as u64 == PAGE && settled == rows.len()
    }

    /// The next chunk to send.
    async fn next(mut self) -> Option<(Result<Bytes, actix_web::Error>, Self)> {
        loop {
            if let Some(chunk) = self.out.pop_front() {
                self.last_sent = Instant::now();
                return Some((Ok(chunk), self));
            }
            if self.state.lifecycle.draining() {
                // Shutting down: what was read is sent; the client
                // reconnects elsewhere with `Last-Event-ID` and misses nothing.
                return None;
            }
            if self.read().await {
                continue;
            }
            if self.out.is_empty() {
                if self.last_sent.elapsed() >= HEARTBEAT {
                    self.out.push_back(Bytes::from_static(b": heartbeat\n\n"));
                } else {
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }
}

/// The streaming response: `retry`, then `backlog`, then the feed.
fn stream(
    state: web::Data<AppState>,
    scope: Scope,
    cursor: FeedCursor,
    backlog: &[EventRecord],
) -> HttpResponse {
    let mut out: VecDeque<Bytes> = VecDeque::new();
    out.push_back(Bytes::from_static(b"retry: 2000\n\n"));
    out.extend(backlog.iter().map(frame));
    let feed = Feed {
        state,
        scope,
        cursor,
        out,
        last_sent: Instant::now(),
    };
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(futures_util::stream::unfold(feed, Feed::next))
}
