//! The families Sigil records: names, help, labels and buckets.
//!
//! | family | type | labels |
//! |---|---|---|
//! | `sigil_http_requests_total` | counter | `method`, `route`, `status` |
//! | `sigil_http_request_duration_seconds` | histogram | `method`, `route` |
//! | `sigil_issuances_total` | counter | `tenant`, `configuration`, `format`, `outcome` |
//! | `sigil_oauth_errors_total` | counter | `endpoint`, `error` |
//! | `sigil_plugin_calls_total` | counter | `plugin`, `call`, `outcome` |
//! | `sigil_plugin_call_duration_seconds` | histogram | `plugin`, `call` |
//! | `sigil_plugin_traps_total` | counter | `plugin`, `kind` |
//! | `sigil_plugin_reloads_total` | counter | `outcome` |
//! | `sigil_outbound_requests_total` | counter | `purpose`, `origin`, `outcome` |
//! | `sigil_outbound_request_duration_seconds` | histogram | `purpose`, `origin` |
//! | `sigil_db_query_duration_seconds` | histogram | `operation` |
//! | `sigil_sqlite_writer_queue_depth` | gauge | |
//! | `sigil_build_info` | gauge (info) | `version` |

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

/// Request latencies, seconds: 1 ms to 10 s.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Plugin calls, seconds: 0.5 ms to 5 s (the default deadline is 2 s).
const PLUGIN_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Database statements, seconds: 0.1 ms to 1 s.
const DB_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn http_histogram() -> Histogram {
    Histogram::new(HTTP_BUCKETS.iter().copied())
}

fn plugin_histogram() -> Histogram {
    Histogram::new(PLUGIN_BUCKETS.iter().copied())
}

fn db_histogram() -> Histogram {
    Histogram::new(DB_BUCKETS.iter().copied())
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct HttpLabels {
    pub(crate) method: &'static str,
    pub(crate) route: String,
    pub(crate) status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct HttpRouteLabels {
    pub(crate) method: &'static str,
    pub(crate) route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct IssuanceLabels {
    pub(crate) tenant: String,
    pub(crate) configuration: String,
    pub(crate) format: String,
    pub(crate) outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OauthLabels {
    pub(crate) endpoint: &'static str,
    pub(crate) error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PluginCallLabels {
    pub(crate) plugin: String,
    pub(crate) call: &'static str,
    pub(crate) outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PluginLabels {
    pub(crate) plugin: String,
    pub(crate) call: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TrapLabels {
    pub(crate) plugin: String,
    pub(crate) kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutcomeLabels {
    pub(crate) outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutboundLabels {
    pub(crate) purpose: &'static str,
    pub(crate) origin: String,
    pub(crate) outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutboundOriginLabels {
    pub(crate) purpose: &'static str,
    pub(crate) origin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DbLabels {
    pub(crate) operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// The registry and a handle on each family in it.
#[derive(Debug)]
pub(crate) struct Families {
    pub(crate) registry: Registry,
    pub(crate) http_requests: Family<HttpLabels, Counter>,
    pub(crate) http_duration: Histograms<HttpRouteLabels>,
    pub(crate) issuances: Family<IssuanceLabels, Counter>,
    pub(crate) oauth_errors: Family<OauthLabels, Counter>,
    pub(crate) plugin_calls: Family<PluginCallLabels, Counter>,
    pub(crate) plugin_duration: Histograms<PluginLabels>,
    pub(crate) plugin_traps: Family<TrapLabels, Counter>,
    pub(crate) plugin_reloads: Family<OutcomeLabels, Counter>,
    pub(crate) outbound: Family<OutboundLabels, Counter>,
    pub(crate) outbound_duration: Histograms<OutboundOriginLabels>,
    pub(crate) db_duration: Histograms<DbLabels>,
    pub(crate) sqlite_queue: Gauge,
}

impl Families {
    /// Every family, registered, with `sigil_build_info` set.
    pub(crate) fn new() -> Self {
        let f = Self {
            registry: Registry::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(http_histogram),
            issuances: Family::default(),
            oauth_errors: Family::default(),
            plugin_calls: Family::default(),
            plugin_duration: Family::new_with_constructor(plugin_histogram),
            plugin_traps: Family::default(),
            plugin_reloads: Family::default(),
            outbound: Family::default(),
            outbound_duration: Family::new_with_constructor(http_histogram),
            db_duration: Family::new_with_constructor(db_histogram),
            sqlite_queue: Gauge::default(),
        };
        let mut r = Registry::default();
        r.register(
            "sigil_http_requests",
            "HTTP requests answered, by method, matched route pattern and status",
            f.http_requests.clone(),
        );
        r.register_with_unit(
            "sigil_http_request_duration",
            "Time from receiving an HTTP request to its response, by method and matched route pattern",
            Unit::Seconds,
            f.http_duration.clone(),
        );
        r.register(
            "sigil_issuances",
            "Credential requests by tenant, credential configuration, format and outcome (issued, deferred, refused, failed); a deferred issuance counts issued again when collected",
            f.issuances.clone(),
        );
        r.register(
            "sigil_oauth_errors",
            "Error responses of the token, credential and deferred credential endpoints, by endpoint and OAuth error code",
            f.oauth_errors.clone(),
        );
        r.register(
            "sigil_plugin_calls",
            "Plugin calls by plugin, call and outcome (ok, error, timeout, fuel, memory, trap, unavailable)",
            f.plugin_calls.clone(),
        );
        r.register_with_unit(
            "sigil_plugin_call_duration",
            "Duration of plugin calls, sandbox set-up included, by plugin and call",
            Unit::Seconds,
            f.plugin_duration.clone(),
        );
        r.register(
            "sigil_plugin_traps",
            "Plugin calls stopped by the host, by plugin and kind (fuel, timeout, memory)",
            f.plugin_traps.clone(),
        );
        r.register(
            "sigil_plugin_reloads",
            "Plugin reloads by outcome",
            f.plugin_reloads.clone(),
        );
        r.register(
            "sigil_outbound_requests",
            "HTTP requests Sigil sent, by purpose, origin and outcome (status class or failure)",
            f.outbound.clone(),
        );
        r.register_with_unit(
            "sigil_outbound_request_duration",
            "Time until the answer's head arrived (or the request failed), by purpose and origin",
            Unit::Seconds,
            f.outbound_duration.clone(),
        );
        r.register_with_unit(
            "sigil_db_query_duration",
            "Duration of database statements by operation; batch is one write transaction (SQLite: queued for and committed by the writer thread)",
            Unit::Seconds,
            f.db_duration.clone(),
        );
        r.register(
            "sigil_sqlite_writer_queue_depth",
            "Write batches waiting for the SQLite writer thread",
            f.sqlite_queue.clone(),
        );
        r.register(
            "sigil_build",
            "Build information; the value is always 1",
            Info::new(BuildLabels {
                version: crate::VERSION,
            }),
        );
        Self { registry: r, ..f }
    }
}
