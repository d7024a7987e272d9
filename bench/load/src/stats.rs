//! Per-worker samples, merged into per-endpoint latency percentiles.

use std::time::{Duration, Instant};

/// How many kinds of exchange there are.
pub const COUNT: usize = 11;

/// The HTTP exchanges the load generator makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /admin/v1/offers`.
    Offer,
    /// `GET` of the `credential_offer_uri`.
    OfferUri,
    /// `POST /token`.
    Token,
    /// `POST /nonce`.
    Nonce,
    /// `POST /credential`.
    Credential,
    /// `GET /.well-known/openid-credential-issuer` (diagnostic mode).
    Metadata,
    /// `POST /admin/v1/plugins/claims-inline/resolve` (diagnostic mode).
    Resolve,
    /// `POST /par` (authorization code flow).
    Par,
    /// `GET /authorize`.
    Authorize,
    /// A request of the browser at the upstream provider (its `/auth`
    /// redirects, and the login and consent forms when they appear).
    Provider,
    /// `GET /login/callback`: Sigil redeems the provider's code and checks
    /// its ID token.
    Callback,
}

impl Endpoint {
    /// A short name for tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Offer => "offer",
            Endpoint::OfferUri => "offer_uri",
            Endpoint::Token => "token",
            Endpoint::Nonce => "nonce",
            Endpoint::Credential => "credential",
            Endpoint::Metadata => "metadata",
            Endpoint::Resolve => "resolve",
            Endpoint::Par => "par",
            Endpoint::Authorize => "authorize",
            Endpoint::Provider => "provider",
            Endpoint::Callback => "callback",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The measured window: samples count when they complete inside it.
#[derive(Clone, Copy)]
pub struct Window {
    /// End of the warm-up.
    pub start: Instant,
    /// End of the measurement; no iteration starts after it.
    pub end: Instant,
}

impl Window {
    /// Whether `t` lies in the window.
    pub fn contains(&self, t: Instant) -> bool {
        t >= self.start && t < self.end
    }
}

/// What one worker saw.
#[derive(Default)]
pub struct Samples {
    /// Latency in µs per endpoint, measured window only.
    pub latency: [Vec<u32>; COUNT],
    /// Non-2xx or failed requests per endpoint, measured window only.
    pub errors: [u64; COUNT],
    /// Failed requests during warm-up and set-up.
    pub errors_outside: u64,
    /// Latency in µs of whole operations (flow, or nonce + credential).
    pub op_latency: Vec<u32>,
    /// Login or consent forms filled in at the upstream provider, measured
    /// window only.
    pub interactions: u64,
    /// The same, during set-up and warm-up.
    pub interactions_outside: u64,
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

impl Samples {
    /// Record one request that completed at `done`.
    pub fn request(&mut self, w: &Window, e: Endpoint, took: Duration, done: Instant, ok: bool) {
        if !w.contains(done) {
            if !ok {
                self.errors_outside += 1;
            }
            return;
        }
        self.latency[e.index()].push(micros(took));
        if !ok {
            self.errors[e.index()] += 1;
        }
    }

    /// Record one completed operation.
    pub fn op(&mut self, w: &Window, took: Duration, done: Instant) {
        if w.contains(done) {
            self.op_latency.push(micros(took));
        }
    }

    /// Record a login or consent form filled in at `done`.
    pub fn interaction(&mut self, w: &Window, done: Instant) {
        if w.contains(done) {
            self.interactions += 1;
        } else {
            self.interactions_outside += 1;
        }
    }

    /// Add another worker's samples.
    pub fn merge(&mut self, other: Samples) {
        for (mine, theirs) in self.latency.iter_mut().zip(other.latency) {
            mine.extend(theirs);
        }
        for (mine, theirs) in self.errors.iter_mut().zip(other.errors) {
            *mine += theirs;
        }
        self.errors_outside += other.errors_outside;
        self.op_latency.extend(other.op_latency);
        self.interactions += other.interactions;
        self.interactions_outside += other.interactions_outside;
    }

    /// Samples of one endpoint.
    pub fn of(&self, e: Endpoint) -> (&[u32], u64) {
        (&self.latency[e.index()], self.errors[e.index()])
    }
}

/// Count, p50 and p99 (ms) of latency samples.
#[derive(Clone, Copy, Default)]
pub struct Summary {
    /// Number of samples.
    pub count: usize,
    /// Median, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Largest, ms.
    pub max: f64,
}

/// Summarise latency samples in µs.
pub fn summarize(samples: &[u32]) -> Summary {
    if samples.is_empty() {
        return Summary::default();
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let at = |q: f64| {
        let rank = (q * sorted.len() as f64).ceil() as usize;
        f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
    };
    Summary {
        count: sorted.len(),
        p50: at(0.50),
        p99: at(0.99),
        max: f64::from(sorted[sorted.len() - 1]) / 1000.0,
    }
}
