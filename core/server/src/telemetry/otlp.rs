//! The OTLP/HTTP span exporter: protobuf bodies POSTed to
//! `<endpoint>/v1/traces` by a batch processor on a thread of its own
//! (a blocking client: no async runtime of the server's is involved).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

/// The traces URL of an OTLP/HTTP endpoint: `base` + `/v1/traces` (as
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is read), kept when `base` names it already.
pub(super) fn traces_url(base: &str) -> Result<String, &'static str> {
    let base = base.trim();
    let rest = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"))
        .ok_or("is not an http:// or https:// URL")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("names no host");
    }
    if base.contains(['?', '#']) {
        return Err("has a query or fragment");
    }
    let base = base.trim_end_matches('/');
    Ok(if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    })
}

/// `url` without credentials (`user:password@`), fit for a log line.
pub(super) fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            let path = path.split(['?', '#']).next().unwrap_or_default();
            format!("{scheme}://{host}{path}")
        }
        None => String::new(),
    }
}

/// The tracing layer that turns spans into OTLP spans, and its provider
/// (flushed and stopped by [`super::shutdown`]).
pub(super) fn layer<S>(
    url: &str,
    service_name: &str,
) -> anyhow::Result<(OpenTelemetryLayer<S, SdkTracer>, SdkTracerProvider)>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .build()
        .map_err(|e| anyhow::anyhow!("the OTLP exporter for {}: {e}", redacted(url)))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build();
    let tracer = provider.tracer("sigil");
    Ok((tracing_opentelemetry::layer().with_tracer(tracer), provider))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::sync::{Arc, Mutex};

    use actix_web::test as http_test;
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    use sigil_settings::LogFormat;
    use tracing::Instrument as _;

    use super::*;

    #[test]
    fn traces_url_appends_the_signal_path_once() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url(" https://otel.example/base/ ").unwrap(),
            "https://otel.example/base/v1/traces"
        );
        assert_eq!(
            traces_url("http://c:4318/v1/traces").unwrap(),
            "http://c:4318/v1/traces"
        );
        assert!(traces_url("127.0.0.1:4318").is_err());
        assert!(traces_url("http://").is_err());
        assert!(traces_url("http://c/?token=x").is_err());
    }

    #[test]
    fn logged_urls_lose_credentials_and_query() {
        assert_eq!(
            redacted("https://user:pw@otel.example:4318/v1/traces?k=v"),
            "https://otel.example:4318/v1/traces"
        );
        assert_eq!(redacted("nonsense"), "");
    }

    /// What the test collector received: (path, content type, body).
    type Received = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

    async fn collect(
        req: HttpRequest,
        body: web::Bytes,
        seen: web::Data<Received>,
    ) -> HttpResponse {
        let content_type = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        seen.lock()
            .unwrap()
            .push((req.path().to_owned(), content_type, body.to_vec()));
        HttpResponse::Ok()
            .content_type("application/x-protobuf")
            .finish()
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    async fn handler() -> HttpResponse {
        async { tracing::info!("inside") }
            .instrument(tracing::info_span!("issuer.step", tenant = "acme"))
            .await;
        HttpResponse::Ok().body("done")
    }

    /// A real OTLP/HTTP exchange: a collector on 127.0.0.1 gets the spans
    /// of a request, in the trace its `traceparent` named.
    #[actix_web::test]
    async fn spans_reach_the_collector_in_the_callers_trace() {
        let seen: Received = Arc::default();
        let data = web::Data::new(seen.clone());
        let collector = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(collect))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .unwrap();
        let port = collector.addrs()[0].port();
        let collector = collector.run();
        let stop = collector.handle();
        actix_web::rt::spawn(collector);

        let options = crate::telemetry::Options {
            format: LogFormat::Json,
            filter: "info".into(),
            traces_url: Some(traces_url(&format!("http://127.0.0.1:{port}")).unwrap()),
            service_name: "sigil-otlp-test".into(),
            ansi: false,
            span_events: false,
        };
        let (subscriber, provider) = crate::telemetry::subscriber(&options, std::io::sink).unwrap();
        let provider = provider.unwrap();
        let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let parent = "00f067aa0ba902b7";
        {
            let _default = tracing::subscriber::set_default(subscriber);
            let app = http_test::init_service(
                App::new()
                    .wrap(actix_web::middleware::from_fn(
                        crate::request_id::middleware,
                    ))
                    .route("/things/{id}", web::get().to(handler)),
            )
            .await;
            let req = http_test::TestRequest::get()
                .uri("/things/7?token=never-exported")
                .insert_header(("traceparent", format!("00-{trace_id}-{parent}-01")))
                .to_request();
            let res = http_test::call_service(&app, req).await;
            assert_eq!(res.headers().get("x-request-id").unwrap(), trace_id);
        }
        // The exporter's thread posts to the collector, served by this
        // test's runtime: wait for it off that runtime.
        let flushed = provider.clone();
        actix_web::rt::task::spawn_blocking(move || flushed.force_flush())
            .await
            .unwrap()
            .unwrap();
        let received = seen.lock().unwrap().clone();
        actix_web::rt::task::spawn_blocking(move || provider.shutdown())
            .await
            .unwrap()
            .unwrap();
        stop.stop(false).await;

        assert!(!received.is_empty(), "the collector got nothing");
        for (path, content_type, _) in &received {
            assert_eq!(path, "/v1/traces");
            assert_eq!(content_type, "application/x-protobuf");
        }
        let body: Vec<u8> = received.into_iter().flat_map(|(_, _, b)| b).collect();
        assert!(contains(&body, &hex(trace_id)), "the caller's trace id");
        assert!(contains(&body, &hex(parent)), "the caller's span as parent");
        for text in [
            "sigil-otlp-test",
            "http.request",
            "issuer.step",
            "/things/{id}",
            trace_id,
        ] {
            assert!(contains(&body, text.as_bytes()), "{text} exported");
        }
        assert!(
            !contains(&body, b"never-exported"),
            "the query string is not exported"
        );
    }
}
