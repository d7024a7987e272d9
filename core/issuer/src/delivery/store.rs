//! The port the delivery engine needs from the store.

use std::future::Future;

use super::model::PendingDelivery;
use crate::model::EventRecord;
use crate::ports::StoreFailure;

/// Delivery positions, leases and pending deliveries of event endpoints
/// (ADR 0021). The log of events is the outbox: an event is written in the
/// transaction of the change it describes, and each endpoint keeps a
/// position in that log. Every write names the lease `holder` and changes
/// nothing when another instance holds the endpoint's lease (fencing).
pub trait DeliveryStore: Send + Sync {
    /// Take or renew `endpoint`'s lease for `holder` until `until_ms` (Unix
    /// milliseconds) when it is free, expired at `now_ms` or `holder`'s
    /// already; an endpoint seen for the first time starts at position
    /// `start`. The position when `holder` holds the lease, `None` when
    /// another instance does.
    fn lease_endpoint(
        &self,
        endpoint: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
        start: i64,
    ) -> impl Future<Output = Result<Option<i64>, StoreFailure>> + Send;

    /// Give `endpoint`'s lease up, if `holder` holds it.
    fn release_endpoint(
        &self,
        endpoint: &str,
        holder: &str,
    ) -> impl Future<Output = Result<(), StoreFailure>> + Send;

    /// The highest event id (0 when there are none).
    fn last_event_id(&self) -> impl Future<Output = Result<i64, StoreFailure>> + Send;

    /// Up to `limit` events with an id above `after`, by id, each with the
    /// `webhook_endpoint_id` of its offer (`None` when the offer names none
    /// or is gone).
    fn events_to_deliver(
        &self,
        after: i64,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<(EventRecord, Option<String>)>, StoreFailure>> + Send;

    /// If `holder` holds `endpoint`'s lease: in one transaction, move its
    /// position to `position` and insert `pending` (rows already there are
    /// kept). `false`, with nothing written, when the lease is lost.
    fn advance_endpoint(
        &self,
        endpoint: &str,
        holder: &str,
        position: i64,
        pending: &[PendingDelivery],
    ) -> impl Future<Output = Result<bool, StoreFailure>> + Send;

    /// Up to `limit` of `endpoint`'s deliveries in state retrying, by event
    /// id, each with its event (a row whose event is gone is left out).
    fn pending_deliveries(
        &self,
        endpoint: &str,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<(PendingDelivery, EventRecord)>, StoreFailure>> + Send;

    /// If `holder` holds `endpoint`'s lease: delete the pending delivery of
    /// `event_id` (`None`: it was delivered), or replace its attempts, next
    /// attempt, last error and state with `update`'s. `false` when the lease
    /// is lost.
    fn settle_delivery(
        &self,
        endpoint: &str,
        holder: &str,
        event_id: i64,
        update: Option<&PendingDelivery>,
    ) -> impl Future<Output = Result<bool, StoreFailure>> + Send;
}
