//! Outbound HTTP for plugins: `wasi:http` requests pass only to origins the
//! plugin requested and the operator granted, never to private addresses the
//! operator did not name, with timeouts and a response-size cap.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use url::Url;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::grants::HttpGrant;
use sigil_metrics::Metrics;
use sigil_origin::is_private;

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

/// The outbound HTTP policy of one call.
pub struct Outbound {
    grant: Arc<HttpGrant>,
    timeout: Duration,
    max_body: usize,
    denied: Arc<Mutex<Vec<String>>>,
    metrics: Metrics,
}

impl Outbound {
    pub(crate) fn new(
        grant: Arc<HttpGrant>,
        timeout: Duration,
        max_body: usize,
        metrics: Metrics,
    ) -> Self {
        Self {
            grant,
            timeout,
            max_body,
            denied: Arc::default(),
            metrics,
        }
    }

    /// Requests refused during the call, as `origin (reason)` strings.
    pub(crate) fn denied(&self) -> Vec<String> {
        self.denied.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

fn deny(denied: &Mutex<Vec<String>>, what: String) -> HttpError {
    tracing::warn!(target: "sigil::plugin", denied = %what, "outbound HTTP denied");
    if let Ok(mut d) = denied.lock() {
        d.push(what);
    }
    HttpError::HttpRequestDenied
}

fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        drop(fut);
        let denied = self.denied.clone();
        let url = match Url::parse(&request.uri().to_string()) {
            Ok(url) => url,
            Err(_) => return Box::new(async { Err(HttpError::HttpRequestUriInvalid) }),
        };
        let allow_private = match self.grant.check(&url) {
            Some(pattern) => pattern.names_private_host(),
            None => {
                crate::observe::denied(&self.metrics);
                let err = deny(
                    &denied,
                    format!("outbound HTTP to {} (origin not allowed)", origin_of(&url)),
                );
                return Box::new(async move { Err(err) });
            }
        };
        let timeout = self.timeout;
        let max_body = self.max_body;
        let metrics = self.metrics.clone();
        Box::new(async move {
            let origin = crate::observe::origin(&url);
            if !allow_private && let Err(e) = check_resolved_addresses(&url, &denied).await {
                // Refused (a non-public address) or not resolved.
                crate::observe::sent(&metrics, &origin, Err(&e), Duration::ZERO);
                return Err(e);
            }
            let started = Instant::now();
            let cap =
                |requested: Option<Duration>| Some(requested.map_or(timeout, |r| r.min(timeout)));
            let options = RequestOptions {
                connect_timeout: cap(options.and_then(|o| o.connect_timeout)),
                first_byte_timeout: cap(options.and_then(|o| o.first_byte_timeout)),
                between_bytes_timeout: cap(options.and_then(|o| o.between_bytes_timeout)),
            };
            let sent = wasmtime_wasi_http::default_send_request(request, Some(options)).await;
            let status = sent.as_ref().map(|(r, _)| r.status().as_u16());
            crate::observe::sent(&metrics, &origin, status, started.elapsed());
            let (response, io) = sent?;
            let response = response.map(|body| limit_body(body, max_body));
            Ok((response, Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

async fn check_resolved_addresses(url: &Url, denied: &Mutex<Vec<String>>) -> Result<(), HttpError> {
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(80);
    let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| HttpError::DnsError {
                rcode: None,
                info_code: None,
            })?
            .map(|a| a.ip())
            .collect(),
    };
    if let Some(ip) = addresses.into_iter().find(|ip| is_private(*ip)) {
        deny(
            denied,
            format!(
                "outbound HTTP to {} (resolves to non-public address {ip})",
                origin_of(url)
            ),
        );
        return Err(HttpError::DestinationIpProhibited);
    }
    Ok(())
}

fn limit_body<B>(body: B, max: usize) -> WasiBody
where
    B: http_body::Body<Data = Bytes, Error = HttpError> + Send + 'static,
{
    http_body_util::Limited::new(body, max)
        .map_err(move |e| match e.downcast::<HttpError>() {
            Ok(inner) => *inner,
            Err(_) => HttpError::HttpResponseBodySize(Some(max as u64)),
        })
        .boxed_unsync()
}
