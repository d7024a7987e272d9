//! The port the engine posts through.

use std::future::Future;

/// One signed request to an event endpoint.
#[derive(Debug, Clone)]
pub struct Post {
    /// The endpoint URL.
    pub url: String,
    /// Headers: `Content-Type`, `Sigil-Signature`, `Idempotency-Key`,
    /// `Sigil-Event-Id`, `Sigil-Event-Type`.
    pub headers: Vec<(&'static str, String)>,
    /// The JSON envelope.
    pub body: Vec<u8>,
    /// How long to wait for the answer, milliseconds.
    pub timeout_ms: u64,
}

/// Posts to event endpoints (HTTP in the server, a fake in tests).
pub trait WebhookTransport: Send + Sync {
    /// Post `request`; `Ok` on a 2xx answer, else a short reason for the
    /// operator (`HTTP 503`, `connection refused`, `timed out`).
    fn post(&self, request: Post) -> impl Future<Output = Result<(), String>> + Send;
}
