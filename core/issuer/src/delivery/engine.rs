//! The delivery engine of one event endpoint on one instance.
//!
//! Each [`Deliverer::step`] takes or renews the endpoint's lease (only the
//! holder delivers), retries the pending deliveries that are due, then
//! reads the event log after the endpoint's position and posts the events
//! meant for it. Events of one offer go out in order: while an event of an
//! offer is pending, the offer's later events wait behind it (as pending
//! rows with no attempt). Events of different offers go out concurrently.
//! A failure is retried with exponential backoff and jitter until the
//! retry horizon, counted from the event, has passed; then it is a dead
//! letter and the offer's later events go on.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use sigil_settings::EventDeliverySettings;

use super::backoff::delay_ms;
use super::model::{DeliveryState, PendingDelivery};
use super::route::Target;
use super::signature::sign;
use super::store::DeliveryStore;
use super::transport::{Post, WebhookTransport};
use crate::event_feed::FeedCursor;
use crate::model::EventRecord;
use crate::ports::StoreFailure;

/// Events read from the log per step.
pub const BATCH: u64 = 200;
/// Pending deliveries read per step. While an endpoint has this many, it
/// reads no new events (they wait in the log, which is the outbox), so that
/// every offer with a pending event is known when new events are posted.
pub const PENDING_LIMIT: u64 = 1_000;

/// The time of a step.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    /// Unix milliseconds.
    pub ms: i64,
    /// The monotonic clock.
    pub instant: Instant,
}

impl Now {
    /// The system's time.
    pub fn system() -> Self {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        Self {
            ms,
            instant: Instant::now(),
        }
    }

    fn secs(self) -> i64 {
        self.ms.div_euclid(1_000)
    }
}

/// What a step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Whether this instance holds the endpoint.
    pub holding: bool,
    /// Events posted and acknowledged.
    pub delivered: u64,
    /// Attempts that failed.
    pub failed: u64,
    /// Deliveries given up (dead letters).
    pub dead: u64,
    /// Whether more events are waiting (step again at once).
    pub more: bool,
}

/// One endpoint's deliverer on this instance.
pub struct Deliverer<S, T> {
    store: S,
    transport: T,
    target: Target,
    holder: String,
    settings: EventDeliverySettings,
    cursor: Option<FeedCursor>,
    random: fn() -> u64,
}

/// The outcome of posting one offer's events in order.
struct OfferRun {
    delivered: u64,
    failed: u64,
    dead: u64,
    /// Rows to write (failures, and events queued behind them).
    rows: Vec<PendingDelivery>,
    /// Whether the offer still has a pending event.
    blocked: bool,
    /// The lease was lost while settling.
    lost: bool,
}

impl<S: DeliveryStore, T: WebhookTransport> Deliverer<S, T> {
    /// A deliverer of `target` for the instance `holder`; `random` draws
    /// the jitter.
    pub fn new(
        store: S,
        transport: T,
        target: Target,
        holder: String,
        settings: EventDeliverySettings,
        random: fn() -> u64,
    ) -> Self {
        Self {
            store,
            transport,
            target,
            holder,
            settings,
            cursor: None,
            random,
        }
    }

    /// How long to wait before the next step after `report`.
    pub fn pause(&self, report: &StepReport) -> Duration {
        if report.more {
            Duration::ZERO
        } else if report.holding {
            Duration::from_millis(self.settings.poll_ms)
        } else {
            // Standing by: look again well within a lease.
            Duration::from_millis(self.settings.lease_seconds * 1_000 / 3)
        }
    }

    /// Give the lease up (when the instance stops).
    pub async fn release(&mut self) -> Result<(), StoreFailure> {
        self.cursor = None;
        self.store
            .release_endpoint(&self.target.id, &self.holder)
            .await
    }

    /// One round: lease, retries, new events.
    pub async fn step(&mut self, now: Now) -> Result<StepReport, StoreFailure> {
        let mut report = StepReport::default();
        let start = match &self.cursor {
            Some(_) => 0,
            None => self.store.last_event_id().await?,
        };
        let until = now.ms + (self.settings.lease_seconds as i64) * 1_000;
        let Some(position) = self
            .store
            .lease_endpoint(&self.target.id, &self.holder, now.ms, until, start)
            .await?
        else {
            self.cursor = None;
            return Ok(report);
        };
        report.holding = true;
        if self.cursor.as_ref().map(FeedCursor::position) != Some(position) {
            self.cursor = Some(FeedCursor::new(position));
        }
        let pending = self
            .store
            .pending_deliveries(&self.target.id, PENDING_LIMIT)
            .await?;
        let full = pending.len() as u64 >= PENDING_LIMIT;
        let blocked = match self.retry(pending, now, &mut report).await? {
            Some(blocked) => blocked,
            None => return self.lost(report),
        };
        if full || self.over_budget(now) {
            return Ok(report);
        }
        self.feed(blocked, now, report).await
    }

    fn lost(&mut self, mut report: StepReport) -> Result<StepReport, StoreFailure> {
        tracing::info!(endpoint = %self.target.id, "lost the lease of an event endpoint");
        self.cursor = None;
        report.holding = false;
        Ok(report)
    }

    /// Retry the due pending deliveries; the offers that still have one
    /// pending, or `None` when the lease was lost.
    async fn retry(
        &mut self,
        pending: Vec<(PendingDelivery, EventRecord)>,
        now: Now,
        report: &mut StepReport,
    ) -> Result<Option<BTreeSet<String>>, StoreFailure> {
        let groups = by_offer(pending, |(row, _)| row.offer_id.clone());
        let jitter: Vec<u64> = (0..groups.len()).map(|_| (self.random)()).collect();
        let this = &*self;
        let runs: Vec<Result<(String, OfferRun), StoreFailure>> =
            futures_util::stream::iter(groups.into_iter().zip(jitter))
                .map(|((offer, rows), random)| async move {
                    this.retry_offer(rows, now, random)
                        .await
                        .map(|run| (offer, run))
                })
                .buffer_unordered(this.settings.concurrency)
                .collect()
                .await;
        let mut blocked = BTreeSet::new();
        let mut lost = false;
        for run in runs {
            let (offer, run) = run?;
            report.delivered += run.delivered;
            report.failed += run.failed;
            report.dead += run.dead;
            lost |= run.lost;
            if run.blocked {
                blocked.insert(offer);
            }
        }
        Ok((!lost).then_some(blocked))
    }

    /// Retry one offer's pending deliveries in event order, while they
    /// succeed.
    async fn retry_offer(
        &self,
        rows: Vec<(PendingDelivery, EventRecord)>,
        now: Now,
        random: u64,
    ) -> Result<OfferRun, StoreFailure> {
        let mut run = OfferRun::new();
        for (row, event) in rows {
            if (row.attempts > 0 && row.next_attempt_ms > now.ms) || self.over_budget(now) {
                run.blocked = true;
                break;
            }
            let outcome = if self.target.wants(event.kind) {
                self.post(&event, now).await
            } else {
                // The endpoint's filter changed since: nothing to send.
                Ok(())
            };
            let update = match outcome {
                Ok(()) => {
                    run.delivered += 1;
                    None
                }
                Err(reason) => {
                    run.failed += 1;
                    Some(self.failed(row.clone(), reason, now, random))
                }
            };
            if !self
                .store
                .settle_delivery(&self.target.id, &self.holder, event.id, update.as_ref())
                .await?
            {
                run.lost = true;
                break;
            }
            match update {
                Some(u) if u.state == DeliveryState::Retrying => {
                    run.blocked = true;
                    break;
                }
                Some(_) => run.dead += 1,
                None => {}
            }
        }
        Ok(run)
    }

    /// Read the log after the position, post what is meant for this
    /// endpoint, record what failed, and move the position.
    async fn feed(
        &mut self,
        blocked: BTreeSet<String>,
        now: Now,
        mut report: StepReport,
    ) -> Result<StepReport, StoreFailure> {
        let Some(mut cursor) = self.cursor.clone() else {
            return Ok(report);
        };
        let rows = self
            .store
            .events_to_deliver(cursor.position(), BATCH)
            .await?;
        let ids: Vec<(i64, i64)> = rows.iter().map(|(e, _)| (e.id, e.created_at)).collect();
        let settled = cursor.settle(&ids, now.secs(), now.instant);
        report.more = rows.len() as u64 == BATCH && settled == rows.len();
        if cursor.position() == self.cursor.as_ref().map_or(0, FeedCursor::position) {
            return Ok(report);
        }
        let mine: Vec<EventRecord> = rows
            .into_iter()
            .take(settled)
            .filter(|(e, endpoint)| {
                endpoint.as_deref() == Some(self.target.id.as_str()) && self.target.wants(e.kind)
            })
            .map(|(e, _)| e)
            .collect();
        let mut pending = Vec::new();
        let mut fresh = Vec::new();
        for (offer, events) in by_offer(mine, |e| e.offer_id.clone()) {
            if blocked.contains(&offer) {
                pending.extend(events.iter().map(|e| self.queued(e)));
            } else {
                fresh.push(events);
            }
        }
        let jitter: Vec<u64> = (0..fresh.len()).map(|_| (self.random)()).collect();
        let this = &*self;
        let runs: Vec<OfferRun> = futures_util::stream::iter(fresh.into_iter().zip(jitter))
            .map(|(events, random)| this.post_offer(events, now, random))
            .buffer_unordered(this.settings.concurrency)
            .collect()
            .await;
        for run in runs {
            report.delivered += run.delivered;
            report.failed += run.failed;
            report.dead += run.dead;
            pending.extend(run.rows);
        }
        if !self
            .store
            .advance_endpoint(&self.target.id, &self.holder, cursor.position(), &pending)
            .await?
        {
            return self.lost(report);
        }
        self.cursor = Some(cursor);
        Ok(report)
    }

    /// Post one offer's new events in order; after a failure the rest
    /// wait behind it.
    async fn post_offer(&self, events: Vec<EventRecord>, now: Now, random: u64) -> OfferRun {
        let mut run = OfferRun::new();
        for event in events {
            if !run.blocked && self.over_budget(now) {
                // Out of time: the rest waits for the next step.
                run.blocked = true;
            }
            if run.blocked {
                run.rows.push(self.queued(&event));
                continue;
            }
            if let Err(reason) = self.post(&event, now).await {
                run.failed += 1;
                let row = self.failed(self.queued(&event), reason, now, random);
                if row.state == DeliveryState::Dead {
                    run.dead += 1;
                } else {
                    run.blocked = true;
                }
                run.rows.push(row);
            } else {
                run.delivered += 1;
            }
        }
        run
    }

    /// Whether the step has run for a third of the lease: it starts no
    /// more deliveries, so that it renews the lease long before it ends.
    fn over_budget(&self, now: Now) -> bool {
        now.instant.elapsed() >= Duration::from_millis(self.settings.lease_seconds * 1_000 / 3)
    }

    /// `row` after a failed attempt: retried later, or dead once the
    /// horizon has passed.
    fn failed(
        &self,
        mut row: PendingDelivery,
        reason: String,
        now: Now,
        random: u64,
    ) -> PendingDelivery {
        row.attempts = row.attempts.saturating_add(1);
        row.last_error = Some(reason);
        if now.secs() - row.since >= self.settings.retry_horizon_seconds {
            row.state = DeliveryState::Dead;
            tracing::warn!(
                endpoint = %self.target.id,
                event = row.event_id,
                attempts = row.attempts,
                "an event was not delivered within the retry horizon: dead letter"
            );
        } else {
            let wait = delay_ms(
                row.attempts,
                self.settings.initial_backoff_ms,
                self.settings.max_backoff_seconds.saturating_mul(1_000),
                random,
            );
            row.next_attempt_ms = now.ms + wait as i64;
        }
        row
    }

    /// The row of `event` waiting behind an earlier event of its offer.
    fn queued(&self, event: &EventRecord) -> PendingDelivery {
        PendingDelivery {
            endpoint_id: self.target.id.clone(),
            event_id: event.id,
            offer_id: event.offer_id.clone(),
            tenant: event.tenant.clone(),
            state: DeliveryState::Retrying,
            attempts: 0,
            next_attempt_ms: 0,
            since: event.created_at,
            last_error: None,
        }
    }

    /// Sign and post one event.
    async fn post(&self, event: &EventRecord, now: Now) -> Result<(), String> {
        let body = serde_json::to_vec(&event.envelope()).map_err(|e| e.to_string())?;
        let id = event.id.to_string();
        let request = Post {
            url: self.target.url.clone(),
            headers: vec![
                ("Content-Type", "application/json".to_owned()),
                (
                    "Sigil-Signature",
                    sign(self.target.secret(), now.secs(), &body),
                ),
                ("Idempotency-Key", id.clone()),
                ("Sigil-Event-Id", id),
                ("Sigil-Event-Type", event.kind.as_str().to_owned()),
            ],
            body,
            timeout_ms: self.target.timeout_ms,
        };
        self.transport.post(request).await
    }
}

impl OfferRun {
    fn new() -> Self {
        Self {
            delivered: 0,
            failed: 0,
            dead: 0,
            rows: Vec::new(),
            blocked: false,
            lost: false,
        }
    }
}

/// `items` grouped by offer, each group in the items' order, the groups in
/// the order of their first item.
fn by_offer<I>(items: Vec<I>, offer: impl Fn(&I) -> String) -> Vec<(String, Vec<I>)> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<(String, Vec<I>)> = Vec::new();
    for item in items {
        let key = offer(&item);
        match index.get(&key) {
            Some(&i) => groups[i].1.push(item),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((key, vec![item]));
            }
        }
    }
    groups
}
