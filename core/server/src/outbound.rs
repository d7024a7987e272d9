//! HTTP calls Sigil makes out (upstream logins, offer push, event
//! delivery): one way to build their clients and to describe a failure.

use std::time::{Duration, Instant};

use sigil_metrics::Metrics;

/// A client that follows no redirect and names Sigil as user agent; with
/// `timeout`, every request gives up after it.
pub fn client(timeout: Option<Duration>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("sigil/", env!("CARGO_PKG_VERSION")));
    if let Some(t) = timeout {
        builder = builder.timeout(t);
    }
    builder.build().unwrap_or_default()
}

/// Why a call failed, in words that never hold its URL (which may carry a
/// secret or an offer): the kind of failure and its innermost cause.
/// `timeout` is the deadline the call had.
pub fn failure(e: reqwest::Error, timeout: Duration) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        return format!("no answer within {} ms", timeout.as_millis());
    }
    let what = if e.is_connect() {
        "the connection failed"
    } else {
        "the request failed"
    };
    let mut cause: &dyn std::error::Error = &e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    format!("{what}: {cause}")
}

/// Send `request` and record it under `purpose` (`upstream`, `offer_push`,
/// `event_delivery`): its origin (`scheme://host:port`, never the path or
/// query), and its status class or why it got no answer.
pub async fn send(
    metrics: &Metrics,
    purpose: &'static str,
    request: reqwest::RequestBuilder,
) -> reqwest::Result<reqwest::Response> {
    if !metrics.is_enabled() {
        return request.send().await;
    }
    let (client, request) = request.build_split();
    let request = request?;
    let origin = origin(request.url());
    let started = Instant::now();
    let result = client.execute(request).await;
    let outcome = match &result {
        Ok(response) => sigil_metrics::status_outcome(response.status().as_u16()),
        Err(e) if e.is_timeout() => "timeout",
        Err(e) if e.is_connect() => "connect_error",
        Err(_) => "error",
    };
    metrics.outbound(purpose, &origin, outcome, started.elapsed());
    result
}

/// `scheme://host:port` of `url`, the port always written.
fn origin(url: &reqwest::Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn an_origin_has_its_port_and_nothing_of_the_path() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        assert_eq!(
            origin(&url("https://op.example/token?code=SECRET")),
            "https://op.example:443"
        );
        assert_eq!(origin(&url("http://[::1]:8080/x#y")), "http://[::1]:8080");
    }

    #[tokio::test]
    async fn a_call_is_recorded_by_origin_and_outcome() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let metrics = Metrics::new();
        let request =
            client(Some(Duration::from_secs(5))).get(format!("http://127.0.0.1:{port}/x"));
        send(&metrics, "offer_push", request).await.unwrap_err();
        let text = metrics.render().unwrap();
        let line = format!(
            "sigil_outbound_requests_total{{purpose=\"offer_push\",origin=\"http://127.0.0.1:{port}\",outcome=\"connect_error\"}} 1"
        );
        assert!(text.lines().any(|l| l == line), "{text}");
    }
}
