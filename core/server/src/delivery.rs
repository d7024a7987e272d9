//! Webhook delivery on this instance: one task per event endpoint running
//! the issuer's [`Deliverer`] over the store, posting with reqwest.

use std::time::Duration;

use sigil_issuer::delivery::{Deliverer, Now, Post, Target, WebhookTransport};
use sigil_settings::EventDeliverySettings;
use sigil_store::Store;

/// Posts over HTTP(S): no redirects followed, the endpoint's timeout.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    /// A transport with its own connection pool.
    pub fn new() -> Self {
        Self {
            client: crate::outbound::client(None),
        }
    }
}

impl Default for HttpTransport {
    fn default() -> Self {
        Self::new()
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
        match builder.body(request.body).send().await {
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

/// Start one delivery task per endpoint (none when `[event_delivery]
/// enabled = false`).
pub fn spawn(store: &Store, targets: Vec<Target>, settings: &EventDeliverySettings) {
    if !settings.enabled || targets.is_empty() {
        return;
    }
    let transport = HttpTransport::new();
    let holder = holder();
    for target in targets {
        let mut deliverer = Deliverer::new(
            store.clone(),
            transport.clone(),
            target,
            holder.clone(),
            settings.clone(),
            || uuid::Uuid::new_v4().as_u64_pair().0,
        );
        tokio::spawn(async move {
            loop {
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
                    tokio::time::sleep(pause).await;
                }
            }
        });
    }
}
