//! HTTP calls Sigil makes out (upstream logins, offer push, event
//! delivery): one way to build their clients and to describe a failure.

use std::time::Duration;

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
