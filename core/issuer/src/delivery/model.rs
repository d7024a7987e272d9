//! What the delivery engine and its store exchange.

/// Where a delivery that is not done stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// To be tried again (or waiting behind an earlier event of its offer).
    Retrying,
    /// Given up after the retry horizon: a dead letter, redelivered only by
    /// an operator.
    Dead,
}

impl DeliveryState {
    /// The stored (and API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retrying => "retrying",
            Self::Dead => "dead",
        }
    }

    /// The state of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "retrying" => Some(Self::Retrying),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// An event of an endpoint that was not delivered yet: its first attempt
/// failed, or it waits behind an earlier event of its offer that failed.
/// Delivered events have no row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDelivery {
    /// The event endpoint (`config/event-endpoints/<id>.toml`).
    pub endpoint_id: String,
    /// The event.
    pub event_id: i64,
    /// The event's offer (deliveries of one offer go in event order).
    pub offer_id: String,
    /// The event's tenant (who may see the dead letter).
    pub tenant: String,
    /// Retrying or dead.
    pub state: DeliveryState,
    /// Attempts made; 0 when it only waits behind its offer's earlier event.
    pub attempts: u32,
    /// When to try next, Unix milliseconds; 0: as soon as it is the first
    /// pending event of its offer.
    pub next_attempt_ms: i64,
    /// Since when it is being retried, Unix seconds (the event's time, or
    /// the time an operator redelivered it): the horizon counts from here.
    pub since: i64,
    /// The last failure (an HTTP status or a transport error), for the
    /// operator.
    pub last_error: Option<String>,
}

/// One endpoint's delivery position, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointProgress {
    /// The endpoint.
    pub endpoint_id: String,
    /// Every event up to this id was delivered, filtered out, or is pending.
    pub position: i64,
    /// The instance holding the lease, if any.
    pub holder: Option<String>,
    /// Until when it holds it, Unix milliseconds.
    pub lease_until_ms: i64,
    /// Deliveries being retried.
    pub retrying: u64,
    /// Dead letters.
    pub dead: u64,
}
