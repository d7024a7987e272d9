//! Webhook delivery on this instance: one task per event endpoint running
//! the issuer's [`Deliverer`] over the store, posting with reqwest.

use std::time::Duration;

use sigil_issuer::delivery::{Deliverer, Now, Post, Target, WebhookTransport};
use sigil_metrics::Metrics;
use sigil_settings::EventDeliverySettings;
use sigil_store::Store;

/// Posts over HTTP(S): no redirects followed, the endpoint's timeout.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    metrics: Metrics,
}

impl HttpTransport {
    /// A transport with its own connection pool, recording each post in
    /// `metrics` (`event_delivery`).
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            client: crate::outbound::client(None),
            metrics: metrics.clone(),
        }
    }
}

impl Default for HttpTransport {
    fn default() -> Self {
        Self::new(&Metrics::disabled())
    }
}

impl WebhookTransport for HttpTransport {
    async fn post(&self, request: Post) -> Result<(), String> {
        let mut builder = self
            .client
            .post(&request.url)
            .timeout(Duration::from_millis(request.timeout_ms));
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let sent =
            crate::outbound::send(&self.metrics, "event_delivery", builder.body(request.body));
        match sent.await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("HTTP {}", response.status().as_u16())),
            Err(e) => Err(crate::outbound::failure(
                e,
                Duration::from_millis(request.timeout_ms),
            )),
        }
    }
}

/// This instance's name in delivery leases: process id and a random part.
fn holder() -> String {
    format!(
        "pid{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The delivery tasks of this instance, to stop them on shutdown.
#[derive(Debug, Default)]
pub struct Deliveries {
    stop: Option<tokio::sync::watch::Sender<bool>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Deliveries {
    /// Ask every task to stop after its current step and give its lease up,
    /// waiting at most `within`; a task still busy then is abandoned (its
    /// lease expires, and the next holder delivers again what it had not
    /// recorded: delivery is at least once).
    pub async fn stop(self, within: Duration) {
        let Some(stop) = self.stop else { return };
        let _ = stop.send(true);
        let all = futures_util::future::join_all(self.tasks);
        if tokio::time::timeout(within, all).await.is_err() {
            tracing::warn!(
                "event delivery did not stop within {within:?}; its leases expire by themselves"
            );
        }
    }
}

/// Start one delivery task per endpoint (none when `[event_delivery]
/// enabled = false`).
pub fn spawn(
    store: &Store,
    targets: Vec<Target>,
    settings: &EventDeliverySettings,
    metrics: &Metrics,
) -> Deliveries {
    if !settings.enabled || targets.is_empty() {
        return Deliveries::default();
    }
    let transport = HttpTransport::new(metrics);
    let holder = holder();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let tasks = targets
        .into_iter()
        .map(|target| {
            let deliverer = Deliverer::new(
                store.clone(),
                transport.clone(),
                target,
                holder.clone(),
                settings.clone(),
                || uuid::Uuid::new_v4().as_u64_pair().0,
            );
            tokio::spawn(deliver(deliverer, stopping.clone()))
        })
        .collect();
    Deliveries {
        stop: Some(stop),
        tasks,
    }
}

/// One endpoint's loop: step, pause, until asked to stop; then release.
async fn deliver(
    mut deliverer: Deliverer<Store, HttpTransport>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    while !*stopping.borrow() {
        let pause = match deliverer.step(Now::system()).await {
            Ok(report) => {
                if report.failed > 0 || report.dead > 0 {
                    tracing::debug!(?report, "event delivery step");
                }
                deliverer.pause(&report)
            }
            Err(e) => {
                tracing::warn!(error = %e, "event delivery could not reach the store");
                Duration::from_secs(1)
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stopping.changed() => {}
            }
        }
    }
    if let Err(e) = deliverer.release().await {
        tracing::warn!(error = %e, "could not give the event delivery lease up; it expires by itself");
    }
}
