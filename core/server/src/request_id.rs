//! A request id per request, and the request's span.
//!
//! The id is the caller's `x-request-id` when it is sane (printable ASCII
//! without spaces, at most [`MAX_LEN`] characters), else the trace id of a
//! valid W3C `traceparent`, else a fresh one. Every response carries it in
//! `x-request-id`, errors and 404s included. The request runs in a span
//! `http.request` (fields `request_id`, `method`, `route` — the matched
//! pattern, never the path or query —, `status`, `latency_ms`) that ends
//! with one log line; with OTLP export the span continues the caller's
//! trace ([`crate::telemetry`]).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The request id header, read and echoed.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id taken from a caller.
pub const MAX_LEN: usize = 128;

/// The request id of a request with these headers.
pub fn request_id(headers: &HeaderMap) -> String {
    if let Some(id) = headers
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
    {
        return id.to_owned();
    }
    if let Some(trace) = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(trace_id)
    {
        return trace.to_owned();
    }
    uuid::Uuid::new_v4().simple().to_string()
}

/// A caller's id we keep: 1 to [`MAX_LEN`] visible ASCII characters.
fn sane(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The trace id of a valid W3C `traceparent`
/// (`00-<32 hex>-<16 hex>-<2 hex>`; lower-case hex, ids not all zeros;
/// a later version may append fields, version `ff` is invalid).
pub fn trace_id(traceparent: &str) -> Option<&str> {
    let value = traceparent.trim();
    let mut parts = value.split('-');
    let version = parts.next()?;
    let trace = parts.next()?;
    let parent = parts.next()?;
    let flags = parts.next()?;
    let more = parts.next().is_some();
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let zeros = |s: &str| s.bytes().all(|b| b == b'0');
    let valid = hex(version, 2)
        && version != "ff"
        && !(version == "00" && more)
        && hex(trace, 32)
        && !zeros(trace)
        && hex(parent, 16)
        && !zeros(parent)
        && hex(flags, 2);
    valid.then_some(trace)
}

/// Probes answered often (load balancers, Prometheus) log at debug.
fn probe(route: &str) -> bool {
    matches!(route, "/health" | "/ready" | "/metrics")
}

/// Middleware (`middleware::from_fn`, outermost): the request id, the
/// `http.request` span around everything inside, the `x-request-id` header
/// on every response, and one line per request.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request_id(req.headers());
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!(
        "http.request",
        request_id = %id,
        method = %req.method(),
        route = %route,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    if req.headers().contains_key("traceparent") {
        let parent = TraceContextPropagator::new().extract(&Headers(req.headers()));
        // Without span export there is no OpenTelemetry layer: nothing to join.
        let _ = span.set_parent(parent);
    }
    // Sane ids and trace ids are valid header values; a fresh one too.
    let value = HeaderValue::from_str(&id).ok();
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let latency_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    let (status, result) = match result {
        Ok(mut res) => {
            if let Some(v) = value {
                res.headers_mut().insert(HEADER, v);
            }
            (res.status().as_u16(), Ok(res))
        }
        // An error a middleware inside returned: actix answers it later;
        // its answer carries the id too.
        Err(e) => {
            let status = e.as_response_error().status_code().as_u16();
            (
                status,
                Err(WithRequestId {
                    error: e,
                    id: value,
                }
                .into()),
            )
        }
    };
    span.record("status", status);
    span.record("latency_ms", latency_ms);
    span.in_scope(|| {
        if probe(&route) {
            tracing::debug!("request");
        } else if status >= 500 {
            tracing::warn!("request");
        } else {
            tracing::info!("request");
        }
    });
    result
}

/// An error of an inner middleware whose answer carries the request id.
#[derive(Debug)]
struct WithRequestId {
    error: actix_web::Error,
    id: Option<HeaderValue>,
}

impl std::fmt::Display for WithRequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl actix_web::ResponseError for WithRequestId {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.error.as_response_error().status_code()
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        let mut res = self.error.error_response();
        if let Some(v) = &self.id {
            res.headers_mut().insert(HEADER, v.clone());
        }
        res
    }
}

/// Request headers as an OpenTelemetry propagation carrier.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use actix_web::dev::Service as _;
    use actix_web::http::StatusCode;
    use actix_web::test as http_test;
    use actix_web::{App, HttpResponse, web};

    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn traceparent_parsing_follows_w3c() {
        let ok = format!("00-{TRACE}-00f067aa0ba902b7-01");
        assert_eq!(trace_id(&ok), Some(TRACE));
        assert_eq!(
            trace_id(&format!("01-{TRACE}-00f067aa0ba902b7-00-later")),
            Some(TRACE),
            "a later version may add fields"
        );
        for bad in [
            "".to_owned(),
            format!("00-{TRACE}-00f067aa0ba902b7-01-extra"),
            format!("ff-{TRACE}-00f067aa0ba902b7-01"),
            format!("00-{}-00f067aa0ba902b7-01", TRACE.to_uppercase()),
            format!("00-{}-00f067aa0ba902b7-01", "0".repeat(32)),
            format!("00-{TRACE}-0000000000000000-01"),
            format!("00-{}-00f067aa0ba902b7-01", &TRACE[1..]),
            format!("00-{TRACE}-00f067aa0ba902b7-1"),
            format!("0-{TRACE}-00f067aa0ba902b7-01"),
            format!("00-{TRACE}-00f067aa0ba902bg-01"),
            format!("00_{TRACE}_00f067aa0ba902b7_01"),
        ] {
            assert_eq!(trace_id(&bad), None, "{bad}");
        }
    }

    #[test]
    fn a_sane_request_id_is_kept() {
        let id = "a".repeat(MAX_LEN);
        assert_eq!(request_id(&headers(&[("x-request-id", &id)])), id);
        assert_eq!(
            request_id(&headers(&[
                ("x-request-id", "req-42:abc/def"),
                ("traceparent", &format!("00-{TRACE}-00f067aa0ba902b7-01")),
            ])),
            "req-42:abc/def",
            "x-request-id wins over traceparent"
        );
    }

    #[test]
    fn an_insane_request_id_is_replaced() {
        let generated = |pairs: &[(&str, &str)]| {
            let id = request_id(&headers(pairs));
            assert!(
                id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
                "{id}"
            );
            id
        };
        generated(&[("x-request-id", &"a".repeat(MAX_LEN + 1))]);
        generated(&[("x-request-id", "two words")]);
        generated(&[("x-request-id", "tab\there")]);
        generated(&[("x-request-id", "")]);
        let mut map = HeaderMap::new();
        map.insert(
            HEADER,
            HeaderValue::from_bytes("caf\u{e9}".as_bytes()).unwrap(),
        );
        assert_eq!(request_id(&map).len(), 32, "not ASCII");
        assert_eq!(
            request_id(&headers(&[
                ("x-request-id", "two words"),
                ("traceparent", &format!("00-{TRACE}-00f067aa0ba902b7-01")),
            ])),
            TRACE,
            "then the traceparent's trace id"
        );
        let a = generated(&[("traceparent", "00-garbage")]);
        let b = generated(&[]);
        assert_ne!(a, b, "fresh each time");
    }

    async fn fails() -> Result<HttpResponse, actix_web::Error> {
        Err(actix_web::error::ErrorBadRequest("no"))
    }

    /// A middleware inside that refuses with an error, not a response.
    async fn refuses(
        req: ServiceRequest,
        next: Next<impl MessageBody>,
    ) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
        if req.path() == "/refused" {
            return Err(actix_web::error::ErrorForbidden("refused"));
        }
        next.call(req).await
    }

    #[actix_web::test]
    async fn every_response_carries_the_id() {
        let app = http_test::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(refuses))
                .wrap(actix_web::middleware::from_fn(middleware))
                .route("/ok/{id}", web::get().to(HttpResponse::Ok))
                .route("/fails", web::get().to(fails)),
        )
        .await;
        for (uri, status) in [
            ("/ok/1", StatusCode::OK),
            ("/fails", StatusCode::BAD_REQUEST),
            ("/missing", StatusCode::NOT_FOUND),
            ("/refused", StatusCode::FORBIDDEN),
        ] {
            let req = http_test::TestRequest::get()
                .uri(uri)
                .insert_header(("x-request-id", "given-id"))
                .to_request();
            let res = match app.call(req).await {
                Ok(res) => res.into_parts().1.map_into_boxed_body(),
                Err(e) => e.error_response(),
            };
            assert_eq!(res.status(), status, "{uri}");
            assert_eq!(
                res.headers().get("x-request-id").unwrap(),
                "given-id",
                "{uri}"
            );
        }
    }
}
