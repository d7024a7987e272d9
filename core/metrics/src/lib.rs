//! Sigil's Prometheus metrics.
//!
//! A [`Metrics`] is one registry with every family Sigil records (see
//! [`families`] for the names, labels and buckets), cheap to clone (the
//! clones share it). The server makes one per running application and
//! hands clones to the parts that record: the HTTP middleware, the issuer's
//! observer, the plugin runtime, the store and the outbound HTTP clients.
//! There is no process-wide registry, so two applications in one process
//! (the end-to-end tests run dozens) count apart.
//!
//! [`Metrics::disabled`] (`[metrics] enabled = false`) records nothing:
//! every recording method returns at its first instruction, and
//! [`Metrics::render`] answers `None`.
//!
//! Label values are bounded by the callers: routes are matched patterns,
//! origins are `scheme://host:port`, plugin, tenant and configuration ids
//! come from the configuration, and every other label is one of a few
//! fixed words.

mod families;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::prometheus_text;

use families::{
    DbLabels, Families, HttpLabels, HttpRouteLabels, IssuanceLabels, OauthLabels, OutboundLabels,
    OutboundOriginLabels, OutcomeLabels, PluginCallLabels, PluginLabels, TrapLabels,
};

/// The `Content-Type` of [`Metrics::render`]'s output: the Prometheus text
/// exposition format, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Sigil's version, as `sigil_build_info` reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why a plugin call was stopped by the host (`sigil_plugin_traps_total{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapKind {
    /// The call used up its fuel (CPU budget).
    Fuel,
    /// The call ran past its wall-clock deadline.
    Timeout,
    /// The call tried to grow its memory past the cap.
    Memory,
}

impl TrapKind {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fuel => "fuel",
            Self::Timeout => "timeout",
            Self::Memory => "memory",
        }
    }
}

/// Every family Sigil records, or nothing (disabled). Cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Option<Arc<Families>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Metrics(enabled: {})", self.is_enabled())
    }
}

impl Metrics {
    /// A fresh registry that records (with `sigil_build_info` set).
    pub fn new() -> Self {
        Self {
            inner: Some(Arc::new(Families::new())),
        }
    }

    /// Records nothing and renders nothing (`[metrics] enabled = false`).
    pub fn disabled() -> Self {
        Self { inner: None }
    }

    /// [`Metrics::new`] when `enabled`, else [`Metrics::disabled`].
    pub fn when(enabled: bool) -> Self {
        if enabled {
            Self::new()
        } else {
            Self::disabled()
        }
    }

    /// Whether this records.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Every family in the Prometheus text format ([`CONTENT_TYPE`]);
    /// `None` when disabled.
    pub fn render(&self) -> Option<String> {
        let families = self.inner.as_deref()?;
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail; an encoder error would be a
        // bug in a label value, and what was written so far is still text.
        let _ = prometheus_text::encode(&mut out, &families.registry);
        Some(out)
    }

    /// One HTTP request answered: `method` (see [`method_label`]), `route`
    /// (the matched pattern, `unmatched` for none), `status`, how long it took.
    pub fn http_request(&self, method: &'static str, route: &str, status: u16, elapsed: Duration) {
        let Some(f) = &self.inner else { return };
        let route = route.to_owned();
        f.http_requests
            .get_or_create(&HttpLabels {
                method,
                route: route.clone(),
                status,
            })
            .inc();
        f.http_duration
            .get_or_create(&HttpRouteLabels { method, route })
            .observe(elapsed.as_secs_f64());
    }

    /// A credential request of `tenant` for `configuration` (of `format`)
    /// ended with `outcome` (`issued`, `deferred`, `refused`, `failed`).
    pub fn issuance(&self, tenant: &str, configuration: &str, format: &str, outcome: &'static str) {
        let Some(f) = &self.inner else { return };
        f.issuances
            .get_or_create(&IssuanceLabels {
                tenant: tenant.to_owned(),
                configuration: configuration.to_owned(),
                format: format.to_owned(),
                outcome,
            })
            .inc();
    }

    /// A wallet-facing `endpoint` (`token`, `credential`,
    /// `deferred_credential`) answered with the OAuth error code `error`.
    pub fn oauth_error(&self, endpoint: &'static str, error: &'static str) {
        let Some(f) = &self.inner else { return };
        f.oauth_errors
            .get_or_create(&OauthLabels { endpoint, error })
            .inc();
    }

    /// A call of `plugin` (`call`: `resolve_claims`, `format_metadata`,
    /// `issue`) ended with `outcome` after `elapsed` (sandbox set-up included).
    pub fn plugin_call(
        &self,
        plugin: &str,
        call: &'static str,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        let Some(f) = &self.inner else { return };
        let plugin = plugin.to_owned();
        f.plugin_calls
            .get_or_create(&PluginCallLabels {
                plugin: plugin.clone(),
                call,
                outcome,
            })
            .inc();
        f.plugin_duration
            .get_or_create(&PluginLabels { plugin, call })
            .observe(elapsed.as_secs_f64());
    }

    /// A call of `plugin` was stopped by the host for `kind`.
    pub fn plugin_trap(&self, plugin: &str, kind: TrapKind) {
        let Some(f) = &self.inner else { return };
        f.plugin_traps
            .get_or_create(&TrapLabels {
                plugin: plugin.to_owned(),
                kind: kind.as_str(),
            })
            .inc();
    }

    /// The plugins were reloaded with `outcome` (`ok`, `failed`).
    pub fn plugin_reload(&self, outcome: &'static str) {
        let Some(f) = &self.inner else { return };
        f.plugin_reloads
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// An HTTP request Sigil sent for `purpose` (`login`, `offer_push`,
    /// `event_delivery`, `plugin`) to `origin` (`scheme://host:port`) ended
    /// with `outcome` ([`status_outcome`], `timeout`, `connect_error`,
    /// `error`, `denied`) after `elapsed`.
    pub fn outbound(
        &self,
        purpose: &'static str,
        origin: &str,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        let Some(f) = &self.inner else { return };
        let origin = origin.to_owned();
        f.outbound
            .get_or_create(&OutboundLabels {
                purpose,
                origin: origin.clone(),
                outcome,
            })
            .inc();
        f.outbound_duration
            .get_or_create(&OutboundOriginLabels { purpose, origin })
            .observe(elapsed.as_secs_f64());
    }

    /// One database statement (or, for `batch`, one write transaction)
    /// took `elapsed`; `operation` as [`sql_operation`] names it.
    pub fn db_query(&self, operation: &'static str, elapsed: Duration) {
        let Some(f) = &self.inner else { return };
        f.db_duration
            .get_or_create(&DbLabels { operation })
            .observe(elapsed.as_secs_f64());
    }

    /// Write batches were queued for (`delta` > 0) or taken by (`delta` <
    /// 0) the SQLite writer thread.
    pub fn sqlite_queue_changed(&self, delta: i64) {
        let Some(f) = &self.inner else { return };
        f.sqlite_queue.inc_by(delta);
    }
}

/// The `method` label of an HTTP method: the standard ones as they are,
/// anything else `other` (a client may send any token as a method).
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The `outcome` of an answered outbound request: its status class.
pub fn status_outcome(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other_status",
    }
}

/// The `operation` label of a SQL statement: its first keyword (`select`,
/// `insert`, `update`, `delete`), `other` for anything else. Never the text.
pub fn sql_operation(sql: &str) -> &'static str {
    let word = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default();
    for op in ["select", "insert", "update", "delete"] {
        if word.eq_ignore_ascii_case(op) {
            return op;
        }
    }
    "other"
}

#[cfg(test)]
mod tests;
