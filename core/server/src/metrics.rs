//! Prometheus metrics of this instance (`[metrics]`, the families in
//! [`sigil_metrics`]).
//!
//! * One registry per [`crate::startup::Application`] ([`for_settings`]),
//!   held in [`AppState::metrics`] and handed to the plugin runtime, the
//!   store, the issuer ([`observer`]) and the outbound HTTP clients.
//! * [`middleware`] counts every request by method, matched route pattern
//!   (never the path) and status, with its latency.
//! * `GET /metrics` ([`scrape`]) on the main listener answers with the
//!   global admin token or the dedicated token of `metrics.token_env`
//!   (401 problem+json otherwise; 404 when `[metrics] enabled = false`).
//! * `metrics.listen` ([`listener`]): a separate listener serving
//!   `/metrics` without authentication, for a scraper on a private network.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use sigil_issuer::observe::{Endpoint, Issuance, Observe};
use sigil_metrics::Metrics;
use sigil_settings::Settings;
use sigil_settings::admin_keys::{KeyDigest, digest};

use crate::auth::AdminScope;
use crate::problem::{Problem, ProblemType};
use crate::state::AppState;

/// The registry of an application configured by `settings` (disabled when
/// `[metrics] enabled = false`).
pub fn for_settings(settings: &Settings) -> Metrics {
    Metrics::when(settings.metrics.enabled)
}

/// The issuer's outcomes as counters.
#[derive(Debug)]
struct IssuerMetrics(Metrics);

impl Observe for IssuerMetrics {
    fn issuance(&self, i: Issuance<'_>) {
        self.0
            .issuance(i.tenant, i.configuration, i.format, i.outcome.as_str());
    }

    fn refused(&self, endpoint: Endpoint, error: &'static str) {
        self.0.oauth_error(endpoint.as_str(), error);
    }
}

/// The issuer's observer recording into `metrics`.
pub fn observer(metrics: &Metrics) -> Arc<dyn Observe> {
    Arc::new(IssuerMetrics(metrics.clone()))
}

/// Middleware (`middleware::from_fn`): count the request and time it, by
/// method, matched route pattern (`unmatched` when no route matched) and
/// status. Nothing when metrics are off.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone())
        .filter(Metrics::is_enabled);
    let Some(metrics) = metrics else {
        return next.call(req).await;
    };
    let method = sigil_metrics::method_label(req.method().as_str());
    let started = Instant::now();
    let res = next.call(req).await;
    // After routing: the pattern of the resource that matched, read from
    // the matched path rather than searched for again.
    let (route, status) = match &res {
        Ok(r) => (r.request().match_pattern(), r.status()),
        Err(e) => (None, e.as_response_error().status_code()),
    };
    metrics.http_request(
        method,
        route.as_deref().unwrap_or("unmatched"),
        status.as_u16(),
        started.elapsed(),
    );
    res
}

/// `GET /metrics` on the main listener: the text exposition for the
/// global admin token or the dedicated metrics token.
pub async fn scrape(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    if !state.metrics.is_enabled() {
        return Err(off());
    }
    authorize(&req, &state)?;
    Ok(exposition(&state.metrics))
}

/// 404 while metrics are off.
fn off() -> Problem {
    Problem::not_found(
        "metrics are off ([metrics] enabled = false); set enabled = true to serve /metrics",
    )
}

/// The registry as Prometheus text, never cached.
fn exposition(metrics: &Metrics) -> HttpResponse {
    match metrics.render() {
        Some(text) => HttpResponse::Ok()
            .content_type(sigil_metrics::CONTENT_TYPE)
            .insert_header(("Cache-Control", "no-store"))
            .body(text),
        None => actix_web::ResponseError::error_response(&off()),
    }
}

/// The dedicated token (constant-time against its digest), else the global
/// admin token; a tenant's admin key sees one tenant, and metrics cover all.
fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), Problem> {
    let presented = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(bearer);
    if let (Some(token), Some(expected)) = (presented, &state.settings.metrics.token_digest)
        && same(&digest(token), expected)
    {
        return Ok(());
    }
    match state.admin.check(req) {
        Ok(AdminScope::All) => Ok(()),
        Ok(AdminScope::Tenant(_)) => Err(Problem::new(
            ProblemType::Forbidden,
            "a tenant's admin key cannot read metrics (they cover every tenant); use the admin token or the metrics token",
        )),
        Err(_) => Err(Problem::unauthorized(
            "send Authorization: Bearer <metrics token or admin token> (SIGIL_ADMIN_TOKEN, or the variable [metrics] token_env names), or scrape the separate [metrics] listen address",
        )),
    }
}

/// The token of a `Bearer` credential (the scheme in any case).
fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Constant-time equality of two digests.
fn same(a: &KeyDigest, b: &KeyDigest) -> bool {
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// `GET /metrics` on the separate listener: no authentication.
async fn open_scrape(metrics: web::Data<Metrics>) -> HttpResponse {
    exposition(&metrics)
}

/// The separate listener of `metrics.listen` serving `/metrics` without
/// authentication, bound and ready to run; `None` when there is none (or
/// metrics are off).
pub fn listener(settings: &Settings, metrics: &Metrics) -> anyhow::Result<Option<Server>> {
    let Some(address) = settings.metrics.listen_address() else {
        return Ok(None);
    };
    if !metrics.is_enabled() {
        return Ok(None);
    }
    let socket = TcpListener::bind(address).with_context(|| {
        format!(
            "{}: metrics.listen: cannot listen on {address}. Fix: choose a free address and port, or remove metrics.listen",
            settings.source.display()
        )
    })?;
    let data = web::Data::new(metrics.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(open_scrape))
    })
    .workers(1)
    .disable_signals()
    .listen(socket)?
    .run();
    Ok(Some(server))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_needs_a_token() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert!(same(&digest("a"), &digest("a")));
        assert!(!same(&digest("a"), &digest("b")));
    }
}
