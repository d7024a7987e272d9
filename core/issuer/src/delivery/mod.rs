//! Webhook delivery of the event log to event endpoints
//! (`config/event-endpoints/<id>.toml`), through the log as outbox, with
//! leases, retries, dead letters and per-offer order (ADR 0021).

pub mod backoff;
pub mod engine;
pub mod model;
pub mod route;
pub mod signature;
pub mod store;
pub mod transport;

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod engine_tests;

pub use engine::{Deliverer, Now, StepReport};
pub use model::{DeliveryState, EndpointProgress, PendingDelivery};
pub use route::{Target, endpoint_of_offer, targets};
pub use store::DeliveryStore;
pub use transport::{Post, WebhookTransport};
