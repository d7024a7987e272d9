//! Graceful shutdown (ADR 0023).
//!
//! On SIGTERM the instance first drains: `/ready` answers 503 and every
//! answer carries `Connection: close`, for `server.shutdown_drain_ms`, so a
//! load balancer polling `/ready` takes it out of rotation and clients do not
//! reuse its connections. Then it stops accepting connections and gives the
//! requests in flight `server.shutdown_grace_seconds` to finish. Last, with
//! no request left, background work stops: event delivery finishes its
//! step and gives its leases up, the purge stops, and the store is closed
//! (on a SQLite file: the group-commit writer's queue committed and the WAL
//! folded into the database file). SIGINT (Ctrl-C) skips the drain.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::web;

use crate::state::AppState;

/// Whether this instance is shutting down (shared by every worker).
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    /// Mark the instance as draining: `/ready` turns 503.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Whether the instance is draining.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

/// Middleware: while draining, every answer closes its connection, so
/// clients open their next request elsewhere instead of reusing this one.
pub async fn close_when_draining(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let draining = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.lifecycle.draining());
    let mut res = next.call(req).await?;
    if draining {
        res.response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}

/// The signal that asked the process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGTERM (an orchestrator or `kill`): drain first.
    Terminate,
    /// SIGINT (Ctrl-C): stop accepting at once.
    Interrupt,
}

impl StopSignal {
    /// The signal's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Terminate => "SIGTERM",
            Self::Interrupt => "SIGINT",
        }
    }
}

/// Wait for SIGTERM or SIGINT. If they cannot be listened to, never returns
/// (and logs why).
pub async fn stop_signal() -> StopSignal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => StopSignal::Terminate,
                _ = int.recv() => StopSignal::Interrupt,
            },
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM/SIGINT; stop the process with SIGKILL");
                std::future::pending().await
            }
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => StopSignal::Interrupt,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for Ctrl-C");
                std::future::pending().await
            }
        }
    }
}

/// How long the drain lasts after `signal`.
pub fn drain_for(signal: StopSignal, drain_ms: u64) -> Duration {
    match signal {
        StopSignal::Terminate => Duration::from_millis(drain_ms),
        StopSignal::Interrupt => Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sigterm_drains() {
        assert_eq!(
            drain_for(StopSignal::Terminate, 1500),
            Duration::from_millis(1500)
        );
        assert_eq!(drain_for(StopSignal::Interrupt, 1500), Duration::ZERO);
    }

    #[test]
    fn draining_is_one_way() {
        let l = Lifecycle::default();
        assert!(!l.draining());
        l.start_draining();
        assert!(l.draining());
    }
}
