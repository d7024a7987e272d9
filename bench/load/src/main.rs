//! `sigil-load`: drives a running Sigil over HTTP on the loopback interface
//! with N concurrent workers for a fixed time, and reports throughput,
//! latency percentiles, errors, and the server process's CPU time per
//! operation and peak RSS (from `/proc`).
//!
//! Several instances of one Sigil (one database, one public URL) can be
//! driven at once: `--url` and `--server-pid` once per instance. Worker `i`
//! sends every request to instance `i % N`, as a load balancer with sticky
//! connections would spread wallets; their CPU is reported summed and per
//! instance.
//!
//! Modes:
//! * `flow`: offer → credential_offer_uri → token → nonce → credential, per iteration;
//! * `credential`: nonce → credential with access tokens created beforehand;
//! * `auth-code`: the authorization code flow with a login at an upstream
//!   OpenID provider: offer → offer by reference → PAR → authorize → the
//!   provider (each worker logs in once during set-up, then its session
//!   cookie sends it straight back) → login callback → token → nonce →
//!   credential, per iteration;
//! * `auth-code-nologin`: the same against a tenant without a login, where
//!   `/authorize` answers with the code (Sigil's authorization server alone);
//! * diagnostics, one request per operation: `nonce`, `metadata` (HTTP only),
//!   `resolve` (one claim-plugin call through the admin dry run).
//!
//! `--peer sphereon` drives another issuer instead (`bench/peer/`) with the
//! same `flow`, `credential`, `nonce` and `metadata` operations: see `peer`.

mod authcode;
mod holder;
mod peer;
mod procstat;
mod stats;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::holder::Holder;
use crate::stats::{Endpoint, Samples, Window, summarize};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const KEEP_ERROR_BODIES: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// The whole pre-authorized flow: 5 HTTP exchanges per operation.
    Flow,
    /// The authorization code flow with a login at an upstream provider
    /// (`tests/wallet/op.mjs`): 9+ HTTP exchanges per operation.
    AuthCode,
    /// The authorization code flow against a tenant without a login:
    /// `/authorize` answers with the code (7 HTTP exchanges).
    AuthCodeNologin,
    /// `POST /nonce` + `POST /credential` per operation, pooled access tokens.
    Credential,
    /// Diagnostic: `POST /nonce` alone (one SQLite insert).
    Nonce,
    /// Diagnostic: `GET /.well-known/openid-credential-issuer` (no database, no plugin).
    Metadata,
    /// Diagnostic: one `claims-inline` plugin call via the admin dry run (no database).
    Resolve,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Flow => "flow",
            Mode::AuthCode => "auth-code",
            Mode::AuthCodeNologin => "auth-code-nologin",
            Mode::Credential => "credential",
            Mode::Nonce => "nonce",
            Mode::Metadata => "metadata",
            Mode::Resolve => "resolve",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Mode::Flow | Mode::AuthCode | Mode::AuthCodeNologin => "flows",
            Mode::Credential => "credentials",
            _ => "requests",
        }
    }

    fn endpoints(self) -> &'static [Endpoint] {
        match self {
            Mode::Flow => &[
                Endpoint::Offer,
                Endpoint::OfferUri,
                Endpoint::Token,
                Endpoint::Nonce,
                Endpoint::Credential,
            ],
            Mode::AuthCode => &[
                Endpoint::Offer,
                Endpoint::OfferUri,
                Endpoint::Par,
                Endpoint::Authorize,
                Endpoint::Provider,
                Endpoint::Callback,
                Endpoint::Token,
                Endpoint::Nonce,
                Endpoint::Credential,
            ],
            Mode::AuthCodeNologin => &[
                Endpoint::Offer,
                Endpoint::OfferUri,
                Endpoint::Par,
                Endpoint::Authorize,
                Endpoint::Token,
                Endpoint::Nonce,
                Endpoint::Credential,
            ],
            Mode::Credential => &[Endpoint::Nonce, Endpoint::Credential],
            Mode::Nonce => &[Endpoint::Nonce],
            Mode::Metadata => &[Endpoint::Metadata],
            Mode::Resolve => &[Endpoint::Resolve],
        }
    }

    fn login(self) -> Option<authcode::Login> {
        match self {
            Mode::AuthCode => Some(authcode::Login::Provider),
            Mode::AuthCodeNologin => Some(authcode::Login::None),
            _ => None,
        }
    }
}

/// Load generator for Sigil (loopback only).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// What one operation is.
    #[arg(long, value_enum, default_value = "flow")]
    mode: Mode,
    /// Base URL of the server (its default tenant); must be a loopback
    /// address. Give it once per instance of a server run as several
    /// instances on one database: worker i then talks to instance i % N
    /// only. The instances must share one public URL (credential issuer
    /// identifier); URLs on it in their answers (`credentialOfferUri`, the
    /// login callback) are fetched from the worker's own instance.
    #[arg(long, default_value = "http://127.0.0.1:8099")]
    url: Vec<String>,
    /// Concurrent workers (each runs one operation at a time).
    #[arg(long, short = 'c', default_value_t = 32)]
    concurrency: usize,
    /// Measured seconds, after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Warm-up seconds (same load, not counted).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Admin bearer token; defaults to $SIGIL_ADMIN_TOKEN.
    #[arg(long)]
    admin_token: Option<String>,
    /// `credential` mode: access tokens to create beforehand (default: one per worker).
    #[arg(long)]
    tokens: Option<usize>,
    /// Pre-generated holder keys (default: one per worker).
    #[arg(long)]
    holders: Option<usize>,
    /// PID of the server process: report its CPU time per operation and peak
    /// RSS. With several `--url`, one per instance in the same order: the
    /// report gives their sum and each instance's own figures.
    #[arg(long)]
    server_pid: Vec<u32>,
    /// `auth-code` mode: PID of the upstream provider (it shares the
    /// machine): report its CPU time per operation too.
    #[arg(long)]
    provider_pid: Option<u32>,
    /// `auth-code` mode: the account to log in with at the provider.
    #[arg(long, default_value = "bench-user")]
    login_user: String,
    /// `auth-code` mode: its password.
    #[arg(long, default_value = "bench-password")]
    login_password: String,
    /// Per-request timeout, seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Print one JSON line on stdout (the table goes to stderr).
    #[arg(long)]
    json: bool,
    /// Credential configuration to issue. `employee_badge_*` offers carry
    /// inline claims; any other configuration uses its configured claim
    /// source (the example `mdl_mdoc` has static claims).
    #[arg(long, default_value = "employee_badge_sd_jwt")]
    configuration: String,
    /// Where an `employee_badge_*` offer's claims come from: `inline`, or a
    /// remote source of the example configuration (`attribute-provider`:
    /// hr-directory, `webhook`: hr-claims; run
    /// `node docs/examples/claims-receiver.mjs` beside the server).
    #[arg(long, default_value = "inline")]
    claims_source: String,
    /// Proofs per credential request, each for its own holder key: the
    /// wallet asks for a batch of this many credentials (at most the
    /// issuer's `batch_size`). Throughput is then also reported in
    /// credentials/s.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Drive a peer issuer instead of Sigil (`bench/peer/`): the same wallet
    /// requests, offers created through the peer's own API, its token, nonce
    /// and credential endpoints read from its metadata. Modes `flow`,
    /// `credential`, `nonce` and `metadata`; no admin token.
    #[arg(long, value_enum)]
    peer: Option<peer::Peer>,
}

/// One server instance: where the workers assigned to it send everything.
struct Instance {
    /// Its base URL, without a trailing slash.
    base: String,
    base_url: reqwest::Url,
}

impl Instance {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// What every worker shares.
struct Ctx {
    client: reqwest::Client,
    /// The instances, in `--url` order; worker i uses `instances[i % N]`.
    instances: Vec<Instance>,
    /// The credential issuer identifier (the instances' shared public URL),
    /// parsed: URLs on its origin are moved to the worker's instance.
    public: Option<reqwest::Url>,
    admin_token: String,
    /// The peer driven instead of Sigil, if any.
    peer: Option<peer::Peer>,
    /// Where the wallet's requests go (Sigil's paths, or the peer's).
    paths: peer::Paths,
    audience: String,
    configuration: String,
    offer_body: Value,
    /// The offer of the authorization code modes (`flow: authorization_code`).
    auth_offer_body: Value,
    login_user: String,
    login_password: String,
    resolve_body: Value,
    window: Window,
    error_bodies: Mutex<Vec<String>>,
}

impl Ctx {
    /// The instance of worker `i`.
    fn instance(&self, i: usize) -> &Instance {
        &self.instances[i % self.instances.len()]
    }

    /// `url` as a worker of instance `at` fetches it: on the public origin
    /// (scheme, host and port of the credential issuer identifier), it is
    /// moved to the instance's own; any other URL is kept.
    fn local(&self, at: &Instance, url: reqwest::Url) -> reqwest::Url {
        match &self.public {
            Some(public) if public.origin() == url.origin() => {
                move_origin(url.clone(), &at.base_url).unwrap_or(url)
            }
            _ => url,
        }
    }

    /// [`Ctx::local`] of a URL as the server wrote it; kept as it is when it
    /// does not parse (the request then fails and says so).
    fn local_str(&self, at: &Instance, url: &str) -> String {
        match reqwest::Url::parse(url) {
            Ok(u) => self.local(at, u).into(),
            Err(_) => url.to_owned(),
        }
    }

    fn note_error(&self, message: String) {
        if let Ok(mut bodies) = self.error_bodies.lock()
            && bodies.len() < KEEP_ERROR_BODIES
        {
            bodies.push(message);
        }
    }
}

/// Send one request; a non-2xx status, a transport error, or a 2xx without
/// the expected field is an error. Returns the field `pick` extracts.
async fn call(
    ctx: &Ctx,
    samples: &mut Samples,
    endpoint: Endpoint,
    request: reqwest::RequestBuilder,
    pick: impl for<'a> Fn(&'a Value) -> Option<&'a str>,
) -> Option<String> {
    call_owned(ctx, samples, endpoint, request, |v| {
        pick(v).map(str::to_owned)
    })
    .await
}

/// [`call`] with a `pick` that makes its value (e.g. from part of a field).
async fn call_owned(
    ctx: &Ctx,
    samples: &mut Samples,
    endpoint: Endpoint,
    request: reqwest::RequestBuilder,
    pick: impl Fn(&Value) -> Option<String>,
) -> Option<String> {
    let started = Instant::now();
    let result = match request.send().await {
        Ok(response) => {
            let status = response.status();
            match response.bytes().await {
                Ok(body) if status.is_success() => serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| pick(&v))
                    .ok_or_else(|| {
                        format!(
                            "{} {status}: unexpected body: {}",
                            endpoint.name(),
                            clip(&body)
                        )
                    }),
                Ok(body) => Err(format!("{} {status}: {}", endpoint.name(), clip(&body))),
                Err(e) => Err(format!(
                    "{} {status}: reading the body: {e}",
                    endpoint.name()
                )),
            }
        }
        Err(e) => Err(format!("{}: {e}", endpoint.name())),
    };
    let done = Instant::now();
    samples.request(&ctx.window, endpoint, done - started, done, result.is_ok());
    match result {
        Ok(v) => Some(v),
        Err(message) => {
            ctx.note_error(message);
            None
        }
    }
}

/// `url` with the scheme, host and port of `to`.
fn move_origin(mut url: reqwest::Url, to: &reqwest::Url) -> Option<reqwest::Url> {
    url.set_scheme(to.scheme()).ok()?;
    url.set_host(to.host_str()).ok()?;
    url.set_port(to.port()).ok()?;
    Some(url)
}

fn clip(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(400).collect()
}

/// Offer → offer URI → token: a fresh access token, all at instance `at`.
async fn access_token(ctx: &Ctx, at: &Instance, s: &mut Samples) -> Option<String> {
    let uri = match ctx.peer {
        Some(_) => peer::create_offer(ctx, at, s).await?,
        None => {
            call(
                ctx,
                s,
                Endpoint::Offer,
                ctx.client
                    .post(at.url(&ctx.paths.offer))
                    .bearer_auth(&ctx.admin_token)
                    .json(&ctx.offer_body),
                |v| v.get("credentialOfferUri")?.as_str(),
            )
            .await?
        }
    };
    let uri = ctx.local_str(at, &uri);
    let code = call(ctx, s, Endpoint::OfferUri, ctx.client.get(&uri), |v| {
        v.get("grants")?
            .get(GRANT)?
            .get("pre-authorized_code")?
            .as_str()
    })
    .await?;
    call(
        ctx,
        s,
        Endpoint::Token,
        ctx.client
            .post(at.url(&ctx.paths.token))
            .form(&[("grant_type", GRANT), ("pre-authorized_code", &code)]),
        |v| v.get("access_token")?.as_str(),
    )
    .await
}

/// A fresh `c_nonce`.
async fn nonce(ctx: &Ctx, at: &Instance, s: &mut Samples) -> Option<String> {
    call(
        ctx,
        s,
        Endpoint::Nonce,
        ctx.client.post(at.url(&ctx.paths.nonce)),
        |v| v.get("c_nonce")?.as_str(),
    )
    .await
}

/// The diagnostic single-request modes.
async fn diagnostic(ctx: &Ctx, at: &Instance, s: &mut Samples, mode: Mode) -> Option<()> {
    let (endpoint, request, pick): (_, _, fn(&Value) -> Option<&str>) = match mode {
        Mode::Metadata => (
            Endpoint::Metadata,
            ctx.client
                .get(at.url("/.well-known/openid-credential-issuer")),
            |v| v.get("credential_issuer")?.as_str(),
        ),
        _ => (
            Endpoint::Resolve,
            ctx.client
                .post(at.url("/admin/v1/plugins/claims-inline/resolve"))
                .bearer_auth(&ctx.admin_token)
                .json(&ctx.resolve_body),
            |v| v.get("claims")?.get("given_name")?.as_str(),
        ),
    };
    call(ctx, s, endpoint, request, pick).await.map(drop)
}

/// Nonce → credential with one ES256 proof per holder key (a batch when
/// there are several).
async fn credential(
    ctx: &Ctx,
    at: &Instance,
    s: &mut Samples,
    holders: &[Arc<Holder>],
    token: &str,
) -> Option<()> {
    let nonce = nonce(ctx, at, s).await?;
    let proofs: Vec<String> = holders
        .iter()
        .map(|h| h.proof(&ctx.audience, &nonce))
        .collect();
    let body = json!({
        "credential_configuration_id": ctx.configuration,
        "proofs": { "jwt": proofs },
    });
    call(
        ctx,
        s,
        Endpoint::Credential,
        ctx.client
            .post(at.url(&ctx.paths.credential))
            .bearer_auth(token)
            .json(&body),
        |v| {
            v.get("credentials")?
                .as_array()
                .filter(|list| list.len() == holders.len())?
                .first()?
                .get("credential")?
                .as_str()
        },
    )
    .await
    .map(drop)
}

/// One authorization code flow: the token, then nonce + credential.
async fn auth_code_flow(
    ctx: &Ctx,
    at: &Instance,
    s: &mut Samples,
    holders: &[Arc<Holder>],
    jar: &mut authcode::Jar,
    login: authcode::Login,
) -> Option<()> {
    let token = authcode::access_token(ctx, at, s, jar, login).await?;
    credential(ctx, at, s, holders, &token).await
}

/// Worker `i`: operations at its instance (`i % N`) until the window ends.
async fn worker(
    ctx: Arc<Ctx>,
    i: usize,
    mode: Mode,
    holders: Vec<Arc<Holder>>,
    token: Option<String>,
    mut jar: authcode::Jar,
) -> Samples {
    let ctx = &*ctx;
    let at = ctx.instance(i);
    let mut s = Samples::default();
    while Instant::now() < ctx.window.end {
        let started = Instant::now();
        let ok = match (mode, &token) {
            (Mode::Credential, Some(t)) => credential(ctx, at, &mut s, &holders, t).await,
            (Mode::AuthCode | Mode::AuthCodeNologin, _) => {
                let login = mode.login().unwrap_or(authcode::Login::None);
                auth_code_flow(ctx, at, &mut s, &holders, &mut jar, login).await
            }
            (Mode::Nonce, _) => nonce(ctx, at, &mut s).await.map(drop),
            (Mode::Metadata | Mode::Resolve, _) => diagnostic(ctx, at, &mut s, mode).await,
            _ => match access_token(ctx, at, &mut s).await {
                Some(t) => credential(ctx, at, &mut s, &holders, &t).await,
                None => None,
            },
        };
        let done = Instant::now();
        if ok.is_some() {
            s.op(&ctx.window, done - started, done);
        } else {
            // Do not spin on a failing server.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    s
}

/// Jiffies of the whole machine (`/proc/stat`): busy (user, nice, system,
/// irq, softirq), steal (taken by the hypervisor), and total.
#[derive(Clone, Copy)]
struct Machine {
    busy: u64,
    steal: u64,
    total: u64,
}

fn machine_ticks() -> Option<Machine> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let (idle, steal) = (v.get(3)? + v.get(4)?, *v.get(7)?);
    Some(Machine {
        busy: total - idle - steal,
        steal,
        total,
    })
}

/// One server process's counters at one moment.
struct ServerSnapshot {
    ticks: Option<procstat::Ticks>,
    threads: ThreadTicks,
    io: Option<procstat::Io>,
}

struct CpuSnapshot {
    at: Instant,
    /// One per `--server-pid`, in order.
    servers: Vec<ServerSnapshot>,
    provider: Option<procstat::Ticks>,
    client: Option<procstat::Ticks>,
    machine: Option<Machine>,
}

type ThreadTicks = std::collections::BTreeMap<String, procstat::Thread>;

fn snapshot(pids: &[String], provider: Option<&str>) -> CpuSnapshot {
    CpuSnapshot {
        at: Instant::now(),
        servers: pids
            .iter()
            .map(|pid| ServerSnapshot {
                ticks: procstat::process(pid),
                threads: procstat::threads(pid),
                io: procstat::io(pid),
            })
            .collect(),
        provider: provider.and_then(procstat::process),
        client: procstat::process("self"),
        machine: machine_ticks(),
    }
}

fn is_loopback(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    host == "localhost" || host == "[::1]" || host.starts_with("127.")
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("sigil-load: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let mut instances = Vec::new();
    for url in &args.url {
        let base = url.trim_end_matches('/').to_owned();
        if !is_loopback(&base) {
            return Err(format!(
                "{base} is not a loopback http:// URL; this tool only drives a local server"
            ));
        }
        let base_url = reqwest::Url::parse(&base).map_err(|e| format!("--url {base}: {e}"))?;
        instances.push(Instance { base, base_url });
    }
    if !args.server_pid.is_empty() && args.server_pid.len() != instances.len() {
        return Err(format!(
            "{} --server-pid for {} --url: give one per instance, in the same order, or none",
            args.server_pid.len(),
            instances.len()
        ));
    }
    if args.concurrency == 0
        || !args.duration.is_finite()
        || args.duration <= 0.0
        || args.warmup < 0.0
    {
        return Err("concurrency and duration must be positive, warmup not negative".into());
    }
    if args.peer.is_some()
        && !matches!(
            args.mode,
            Mode::Flow | Mode::Credential | Mode::Nonce | Mode::Metadata
        )
    {
        return Err(format!(
            "--peer runs the modes flow, credential, nonce and metadata, not {}",
            args.mode.name()
        ));
    }
    // A peer's offer API takes no token.
    let admin_token = args
        .admin_token
        .clone()
        .or_else(|| std::env::var("SIGIL_ADMIN_TOKEN").ok())
        .filter(|t| !t.is_empty())
        .or_else(|| args.peer.map(|_| String::new()))
        .ok_or("give --admin-token or set SIGIL_ADMIN_TOKEN")?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency * 2)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        // The authorization code modes follow every redirect by hand, with
        // their cookie jar; no other request is answered with a redirect.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(args.timeout))
        .build()
        .map_err(|e| format!("building the HTTP client: {e}"))?;

    // The credential issuer identifier is the proofs' audience. Instances
    // of one issuer share it (their public URL).
    let mut audience = String::new();
    let mut paths = peer::Paths::sigil();
    for at in &instances {
        let base = &at.base;
        let metadata = get_json(
            &client,
            &at.url("/.well-known/openid-credential-issuer"),
            &format!("the issuer metadata of {base}"),
        )
        .await?;
        let issuer = metadata
            .get("credential_issuer")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the issuer metadata of {base} has no credential_issuer"))?;
        if audience.is_empty() {
            issuer.clone_into(&mut audience);
            if let Some(p) = args.peer {
                paths = peer::Paths::discover(p, &client, at, &metadata).await?;
            }
        } else if issuer != audience {
            return Err(format!(
                "{base} is credential issuer {issuer}, {} is {audience}: instances must share one public URL",
                instances[0].base
            ));
        }
    }
    let public = reqwest::Url::parse(&audience).ok();

    // ES256 cost on this machine, measured before any load.
    let crypto_us = holder::calibrate(200);
    let batch = args.batch.max(1);
    let holders: Vec<Arc<Holder>> =
        (0..args.holders.unwrap_or(args.concurrency * batch).max(batch))
            .map(|_| Arc::new(Holder::new()))
            .collect();
    let claims = json!({
        "given_name": "Ada", "family_name": "Lovelace",
        "employee_id": "E-1", "department": "Engines",
    });
    let configuration = args.configuration.clone();
    let mut offer_body = json!({ "credentialConfigurationIds": [configuration] });
    if let Some(p) = args.peer {
        offer_body = p.offer_body(&configuration, &claims);
    } else if configuration.starts_with("employee_badge") {
        let source = match args.claims_source.as_str() {
            "inline" => json!({ "type": "inline", "claims": claims }),
            "attribute-provider" => json!({ "type": "attributeProvider", "id": "hr-directory" }),
            "webhook" => json!({ "type": "webhook", "id": "hr-claims" }),
            other => {
                return Err(format!(
                    "--claims-source {other}: use inline, attribute-provider or webhook"
                ));
            }
        };
        offer_body["credentialClaims"] = json!({ configuration.as_str(): source });
    }
    let mut auth_offer_body = offer_body.clone();
    auth_offer_body["flow"] = json!("authorization_code");
    let resolve_body = json!({
        "credentialConfigurationId": "employee_badge_sd_jwt",
        "format": "dc+sd-jwt",
        "source": { "type": "inline", "claims": claims },
        "inlineClaims": claims,
    });
    let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
    let mut ctx = Ctx {
        client,
        instances,
        public,
        admin_token,
        peer: args.peer,
        paths,
        audience,
        configuration,
        offer_body,
        auth_offer_body,
        login_user: args.login_user.clone(),
        login_password: args.login_password.clone(),
        resolve_body,
        window: Window {
            start: far,
            end: far,
        },
        error_bodies: Mutex::new(Vec::new()),
    };

    // Access tokens for `credential` mode, created before the clock starts:
    // token j at instance j % N, and used there (at least one each).
    let n_instances = ctx.instances.len();
    let mut tokens: Vec<Vec<String>> = vec![Vec::new(); n_instances];
    if args.mode == Mode::Credential {
        let wanted = args.tokens.unwrap_or(args.concurrency).max(n_instances);
        let shared = Arc::new(ctx);
        let mut set = JoinSet::new();
        let mut keep = |r: Result<(usize, Option<String>), _>| {
            if let Ok((k, Some(token))) = r {
                tokens[k].push(token);
            }
        };
        for j in 0..wanted {
            let c = shared.clone();
            let k = j % n_instances;
            set.spawn(async move {
                (
                    k,
                    access_token(&c, c.instance(k), &mut Samples::default()).await,
                )
            });
            if (j + 1) % args.concurrency == 0 {
                while let Some(r) = set.join_next().await {
                    keep(r);
                }
            }
        }
        while let Some(r) = set.join_next().await {
            keep(r);
        }
        ctx = Arc::try_unwrap(shared).map_err(|_| "set-up tasks still running")?;
        if let Some(k) = tokens.iter().position(Vec::is_empty) {
            let bodies = ctx
                .error_bodies
                .lock()
                .map(|b| b.join("\n"))
                .unwrap_or_default();
            return Err(format!(
                "could not create any access token at {}:\n{bodies}",
                ctx.instances[k].base
            ));
        }
        let made: usize = tokens.iter().map(Vec::len).sum();
        if made < wanted {
            eprintln!("sigil-load: only {made} of {wanted} access tokens created");
        }
    }

    let holders_of = |i: usize| -> Vec<Arc<Holder>> {
        (0..batch)
            .map(|k| holders[(i * batch + k) % holders.len()].clone())
            .collect()
    };

    // Authorization code modes: every worker's browser runs one whole flow
    // before the clock starts, so it logs in at the provider (login and
    // consent forms) once; later flows reuse its session.
    let mut jars: Vec<authcode::Jar> = (0..args.concurrency)
        .map(|_| authcode::Jar::default())
        .collect();
    let mut setup_interactions = 0;
    if let Some(login) = args.mode.login() {
        let shared = Arc::new(ctx);
        let mut set = JoinSet::new();
        for (i, mut jar) in std::mem::take(&mut jars).into_iter().enumerate() {
            let c = shared.clone();
            let mine = holders_of(i);
            set.spawn(async move {
                let mut s = Samples::default();
                let ok = auth_code_flow(&c, c.instance(i), &mut s, &mine, &mut jar, login).await;
                (i, jar, ok.is_some(), s.interactions_outside)
            });
        }
        let mut done: Vec<(usize, authcode::Jar, bool)> = Vec::new();
        while let Some(r) = set.join_next().await {
            let (i, jar, ok, interactions) = r.map_err(|e| format!("a set-up task failed: {e}"))?;
            setup_interactions += interactions;
            done.push((i, jar, ok));
        }
        ctx = Arc::try_unwrap(shared).map_err(|_| "set-up tasks still running")?;
        let failed = done.iter().filter(|d| !d.2).count();
        if failed > 0 {
            let bodies = ctx
                .error_bodies
                .lock()
                .map(|b| b.join("\n"))
                .unwrap_or_default();
            return Err(format!(
                "{failed} of {} set-up flows (one per worker) failed:\n{bodies}",
                args.concurrency
            ));
        }
        done.sort_by_key(|d| d.0);
        jars = done.into_iter().map(|d| d.1).collect();
        eprintln!(
            "sigil-load: set-up: {} authorization code flows, {setup_interactions} login/consent forms filled in at the provider",
            args.concurrency
        );
    }

    let begin = Instant::now();
    let warmup = Duration::from_secs_f64(args.warmup);
    let duration = Duration::from_secs_f64(args.duration);
    ctx.window = Window {
        start: begin + warmup,
        end: begin + warmup + duration,
    };
    let ctx = Arc::new(ctx);
    let mut workers = JoinSet::new();
    for (i, jar) in jars.into_iter().enumerate() {
        let k = i % n_instances;
        let mine = &tokens[k];
        let token = (!mine.is_empty()).then(|| mine[(i / n_instances) % mine.len()].clone());
        let w = worker(ctx.clone(), i, args.mode, holders_of(i), token, jar);
        workers.spawn(async move { (k, w.await) });
    }

    let pids: Vec<String> = args.server_pid.iter().map(u32::to_string).collect();
    for p in &pids {
        if procstat::process(p).is_none() {
            eprintln!("sigil-load: cannot read /proc/{p}/stat; server CPU will not be reported");
        }
    }
    let provider_pid = args.provider_pid.map(|p| p.to_string());
    if let Some(p) = &provider_pid
        && procstat::process(p).is_none()
    {
        eprintln!("sigil-load: cannot read /proc/{p}/stat; provider CPU will not be reported");
    }
    tokio::time::sleep_until(ctx.window.start.into()).await;
    let first = snapshot(&pids, provider_pid.as_deref());
    tokio::time::sleep_until(ctx.window.end.into()).await;
    let last = snapshot(&pids, provider_pid.as_deref());

    // Workers stop starting operations at the window's end; give the last
    // ones time to finish, then abandon them.
    let mut samples = Samples::default();
    // Operations and errors in the window, per instance.
    let mut shares = vec![Share::default(); n_instances];
    let grace = Duration::from_secs(args.timeout * 6 + 1);
    let joined = tokio::time::timeout(grace, async {
        let mut all = Samples::default();
        let mut shares = vec![Share::default(); n_instances];
        while let Some(r) = workers.join_next().await {
            if let Ok((k, s)) = r {
                shares[k].ops += s.op_latency.len();
                shares[k].errors += s.errors.iter().sum::<u64>();
                all.merge(s);
            }
        }
        (all, shares)
    })
    .await;
    match joined {
        Ok((s, per)) => {
            samples.merge(s);
            shares = per;
        }
        Err(_) => {
            workers.abort_all();
            eprintln!("sigil-load: some workers did not finish within {grace:?}");
        }
    }

    let mut report = Report::new(&args, &ctx, &samples, &first, &last, &pids, &shares);
    report.crypto_us = crypto_us;
    report.setup_interactions = setup_interactions;
    if args.json {
        eprint!("{}", report.table());
        println!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
    if report.ops == 0 {
        return Err("no operation completed in the measured window".into());
    }
    Ok(())
}

/// Operations and errors of the workers of one instance, in the window.
#[derive(Clone, Copy, Default)]
struct Share {
    ops: usize,
    errors: u64,
}

/// One server instance's figures over the window.
struct InstanceReport {
    url: String,
    pid: Option<String>,
    share: Share,
    ticks: Option<procstat::Ticks>,
    threads: Vec<procstat::Group>,
    io: Option<procstat::Io>,
    vm_hwm_kb: Option<u64>,
    vm_rss_kb: Option<u64>,
    thread_count: Option<u64>,
}

/// The sum of every item, or `None` when there is none or one is unknown.
fn sum_all<T>(items: impl Iterator<Item = Option<T>>, add: impl Fn(T, T) -> T) -> Option<T> {
    let mut total: Option<T> = None;
    for item in items {
        let item = item?;
        total = Some(match total {
            Some(t) => add(t, item),
            None => item,
        });
    }
    total
}

/// Thread groups of several processes, summed by thread name, most CPU first.
fn merge_groups<'a>(lists: impl Iterator<Item = &'a [procstat::Group]>) -> Vec<procstat::Group> {
    let mut by_name: std::collections::BTreeMap<String, procstat::Group> = Default::default();
    for g in lists.flatten() {
        let m = by_name
            .entry(g.name.clone())
            .or_insert_with(|| procstat::Group {
                name: g.name.clone(),
                ..procstat::Group::default()
            });
        m.threads += g.threads;
        m.ticks.user += g.ticks.user;
        m.ticks.system += g.ticks.system;
        m.wait_ns += g.wait_ns;
    }
    let mut list: Vec<procstat::Group> = by_name.into_values().collect();
    list.sort_by_key(|g| std::cmp::Reverse(g.ticks.total()));
    list
}

struct Report {
    mode: Mode,
    /// The peer driven instead of Sigil, if any.
    peer: Option<peer::Peer>,
    concurrency: usize,
    /// Credentials per operation (the batch size of each credential request).
    batch: usize,
    warmup: f64,
    measured: f64,
    tokens: usize,
    ops: usize,
    rows: Vec<(&'static str, stats::Summary, u64)>,
    op: stats::Summary,
    errors: u64,
    errors_outside: u64,
    error_bodies: Vec<String>,
    tick_ms: f64,
    cpu_seconds: f64,
    /// Every instance, in `--url` order; the `server*` and RSS fields below
    /// are their sums (one instance: its own figures).
    instances: Vec<InstanceReport>,
    /// The server pids, comma-separated.
    server_pid: Option<String>,
    server: Option<procstat::Ticks>,
    server_threads: Vec<procstat::Group>,
    server_io: Option<procstat::Io>,
    client: Option<procstat::Ticks>,
    machine_busy_cores: Option<f64>,
    machine_steal_cores: Option<f64>,
    cores: usize,
    vm_hwm_kb: Option<u64>,
    vm_rss_kb: Option<u64>,
    threads: Option<u64>,
    crypto_us: (f64, f64),
    provider_pid: Option<String>,
    provider: Option<procstat::Ticks>,
    provider_vm_hwm_kb: Option<u64>,
    /// Login/consent forms filled in during the window, and before it
    /// (warm-up; set-up is counted apart).
    interactions: u64,
    interactions_outside: u64,
    setup_interactions: u64,
    /// Requests at the provider in the window.
    provider_requests: usize,
}

impl Report {
    fn new(
        args: &Args,
        ctx: &Ctx,
        samples: &Samples,
        first: &CpuSnapshot,
        last: &CpuSnapshot,
        pids: &[String],
        shares: &[Share],
    ) -> Self {
        let rows: Vec<_> = args
            .mode
            .endpoints()
            .iter()
            .map(|&e| {
                let (lat, errs) = samples.of(e);
                (e.name(), summarize(lat), errs)
            })
            .collect();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let machine = match (first.machine, last.machine) {
            (Some(a), Some(b)) if b.total > a.total => {
                let total = (b.total - a.total) as f64;
                Some((
                    (b.busy - a.busy) as f64 / total * cores as f64,
                    (b.steal - a.steal) as f64 / total * cores as f64,
                ))
            }
            _ => None,
        };
        let since = |a: Option<procstat::Ticks>, b: Option<procstat::Ticks>| Some(b?.since(a?));
        let instances: Vec<InstanceReport> = ctx
            .instances
            .iter()
            .enumerate()
            .map(|(k, at)| {
                let pid = pids.get(k);
                let a = first.servers.get(k);
                let b = last.servers.get(k);
                let status = |key| pid.and_then(|p| procstat::status_value(p, key));
                InstanceReport {
                    url: at.base.clone(),
                    pid: pid.cloned(),
                    share: shares.get(k).copied().unwrap_or_default(),
                    ticks: since(a.and_then(|a| a.ticks), b.and_then(|b| b.ticks)),
                    threads: match (a, b) {
                        (Some(a), Some(b)) => procstat::by_name(&a.threads, &b.threads),
                        _ => Vec::new(),
                    },
                    io: match (a.and_then(|a| a.io), b.and_then(|b| b.io)) {
                        (Some(a), Some(b)) => Some(procstat::Io {
                            wchar: b.wchar.saturating_sub(a.wchar),
                            syscw: b.syscw.saturating_sub(a.syscw),
                            write_bytes: b.write_bytes.saturating_sub(a.write_bytes),
                        }),
                        _ => None,
                    },
                    vm_hwm_kb: status("VmHWM"),
                    vm_rss_kb: status("VmRSS"),
                    thread_count: status("Threads"),
                }
            })
            .collect();
        // The sums: unknown (`None`) without pids, or when one is unreadable.
        let sum_u64 =
            |f: fn(&InstanceReport) -> Option<u64>| sum_all(instances.iter().map(f), |a, b| a + b);
        let server = sum_all(instances.iter().map(|i| i.ticks), |a, b| procstat::Ticks {
            user: a.user + b.user,
            system: a.system + b.system,
        });
        let server_io = sum_all(instances.iter().map(|i| i.io), |a, b| procstat::Io {
            wchar: a.wchar + b.wchar,
            syscw: a.syscw + b.syscw,
            write_bytes: a.write_bytes + b.write_bytes,
        });
        let server_threads = merge_groups(instances.iter().map(|i| i.threads.as_slice()));
        let vm_hwm_kb = sum_u64(|i| i.vm_hwm_kb);
        let vm_rss_kb = sum_u64(|i| i.vm_rss_kb);
        let threads = sum_u64(|i| i.thread_count);
        Self {
            mode: args.mode,
            peer: args.peer,
            concurrency: args.concurrency,
            batch: args.batch.max(1),
            warmup: args.warmup,
            measured: (ctx.window.end - ctx.window.start).as_secs_f64(),
            tokens: if args.mode == Mode::Credential {
                args.tokens
                    .unwrap_or(args.concurrency)
                    .max(ctx.instances.len())
            } else {
                0
            },
            ops: samples.op_latency.len(),
            errors: rows.iter().map(|r| r.2).sum(),
            rows,
            op: summarize(&samples.op_latency),
            errors_outside: samples.errors_outside,
            error_bodies: ctx
                .error_bodies
                .lock()
                .map(|b| b.clone())
                .unwrap_or_default(),
            tick_ms: 1000.0 / procstat::clock_ticks() as f64,
            cpu_seconds: (last.at - first.at).as_secs_f64(),
            server_pid: (!pids.is_empty()).then(|| pids.join(",")),
            server,
            server_threads,
            server_io,
            client: since(first.client, last.client),
            machine_busy_cores: machine.map(|m| m.0),
            machine_steal_cores: machine.map(|m| m.1),
            cores,
            vm_hwm_kb,
            vm_rss_kb,
            threads,
            instances,
            crypto_us: (f64::NAN, f64::NAN),
            provider_pid: args.provider_pid.map(|p| p.to_string()),
            provider: since(first.provider, last.provider),
            provider_vm_hwm_kb: args
                .provider_pid
                .and_then(|p| procstat::status_value(&p.to_string(), "VmHWM")),
            interactions: samples.interactions,
            interactions_outside: samples.interactions_outside,
            setup_interactions: 0,
            provider_requests: samples.of(Endpoint::Provider).0.len(),
        }
    }

    fn rate(&self) -> f64 {
        self.ops as f64 / self.measured
    }

    fn ms(&self, ticks: u64) -> f64 {
        ticks as f64 * self.tick_ms
    }

    fn per_op(&self, ticks: Option<u64>) -> Option<f64> {
        self.per(ticks, self.ops)
    }

    /// Milliseconds of `ticks` per one of `ops` operations.
    fn per(&self, ticks: Option<u64>, ops: usize) -> Option<f64> {
        ticks.filter(|_| ops > 0).map(|t| self.ms(t) / ops as f64)
    }

    fn wait_per_op(&self, ns: u64) -> f64 {
        if self.ops == 0 {
            return 0.0;
        }
        ns as f64 / 1e6 / self.ops as f64
    }

    fn busy_cores(&self, ticks: Option<u64>) -> Option<f64> {
        ticks.map(|t| self.ms(t) / 1000.0 / self.cpu_seconds)
    }

    fn table(&self) -> String {
        let mut out = String::new();
        let unit = if self.batch > 1 && self.mode == Mode::Credential {
            "requests"
        } else {
            self.mode.unit()
        };
        let one = unit.trim_end_matches('s');
        let fmt =
            |v: Option<f64>, prec: usize| v.map_or("n/a".to_owned(), |x| format!("{x:.prec$}"));
        out += &format!(
            "sigil-load {}mode={} concurrency={}{} warmup={:.0}s measured={:.1}s{}\n",
            self.peer
                .map_or(String::new(), |p| format!("peer={} ", p.name())),
            self.mode.name(),
            self.concurrency,
            if self.instances.len() > 1 {
                format!(
                    " instances={} (worker i at instance i % {0})",
                    self.instances.len()
                )
            } else {
                String::new()
            },
            self.warmup,
            self.measured,
            if self.tokens > 0 {
                format!(" access_tokens={}", self.tokens)
            } else {
                String::new()
            }
        );
        out += &format!(
            "  throughput   {:>10.1} {unit}/s   ({} {unit}, {} errors in window, {} outside)\n",
            self.rate(),
            self.ops,
            self.errors,
            self.errors_outside
        );
        if self.mode == Mode::Credential {
            out += "               (each = one POST /nonce + one POST /credential)\n";
        }
        if self.batch > 1 {
            out += &format!(
                "  credentials  {:>10.1} credentials/s ({} per POST /credential, one proof each)\n",
                self.rate() * self.batch as f64,
                self.batch
            );
        }
        out += &format!(
            "  {:<14} {:>8} {:>8} {:>8} {:>8} {:>7}\n",
            "request", "count", "p50 ms", "p99 ms", "max ms", "errors"
        );
        let op_name = match self.mode {
            Mode::Flow | Mode::AuthCode | Mode::AuthCodeNologin => "= flow",
            Mode::Credential => "= nonce+cred",
            _ => "= request",
        };
        for (name, s, errs) in self
            .rows
            .iter()
            .copied()
            .chain(std::iter::once((op_name, self.op, 0)))
        {
            out += &format!(
                "  {:<14} {:>8} {:>8.2} {:>8.2} {:>8.1} {:>7}\n",
                name, s.count, s.p50, s.p99, s.max, errs
            );
        }
        let several = self.instances.len() > 1;
        if let Some(pid) = &self.server_pid {
            let total = self.server.map(procstat::Ticks::total);
            let who = if several {
                format!(
                    "server, {} instances (pids {}), summed",
                    self.instances.len(),
                    pid.replace(',', ", ")
                )
            } else {
                format!("server pid {pid}")
            };
            out += &format!(
                "  {who}: CPU {} ms ({} user, {} sys) = {} cores; {} ms CPU per {one}\n",
                fmt(total.map(|t| self.ms(t)), 0),
                fmt(self.server.map(|t| self.ms(t.user)), 0),
                fmt(self.server.map(|t| self.ms(t.system)), 0),
                fmt(self.busy_cores(total), 2),
                fmt(self.per_op(total), 3),
            );
            out += &format!(
                "    {}peak RSS (VmHWM) {} MB, RSS {} MB, {} threads\n",
                if several {
                    "summed over the instances (I/O and threads too): "
                } else {
                    ""
                },
                fmt(self.vm_hwm_kb.map(|k| k as f64 / 1024.0), 1),
                fmt(self.vm_rss_kb.map(|k| k as f64 / 1024.0), 1),
                self.threads.map_or("?".to_owned(), |t| t.to_string()),
            );
            if let Some(io) = self.server_io.filter(|_| self.ops > 0) {
                let n = self.ops as f64;
                out += &format!(
                    "    I/O per {one}: {:.1} write calls, {:.1} KB written, {:.1} KB to the block device (socket sends not counted)\n",
                    io.syscw as f64 / n,
                    io.wchar as f64 / 1024.0 / n,
                    io.write_bytes as f64 / 1024.0 / n,
                );
            }
            for g in self.server_threads.iter().filter(|g| g.ticks.total() > 0) {
                out += &format!(
                    "    thread {:<16} x{:<2} CPU {:.3} ms/{one} ({:.0}% sys); waited for a CPU {:.3} ms/{one}\n",
                    g.name,
                    g.threads,
                    self.per_op(Some(g.ticks.total())).unwrap_or_default(),
                    100.0 * g.ticks.system as f64 / g.ticks.total() as f64,
                    self.wait_per_op(g.wait_ns),
                );
            }
        }
        if several {
            for (k, i) in self.instances.iter().enumerate() {
                let total = i.ticks.map(procstat::Ticks::total);
                let cpu = if i.pid.is_some() {
                    format!(
                        "; CPU {} ms = {} cores, {} ms per {one} of its own; peak RSS {} MB",
                        fmt(total.map(|t| self.ms(t)), 0),
                        fmt(self.busy_cores(total), 2),
                        fmt(self.per(total, i.share.ops), 3),
                        fmt(i.vm_hwm_kb.map(|k| k as f64 / 1024.0), 1),
                    )
                } else {
                    String::new()
                };
                out += &format!(
                    "    instance {} {}{}: {:.1} {unit}/s, {} errors{cpu}\n",
                    k + 1,
                    i.url,
                    i.pid
                        .as_ref()
                        .map_or(String::new(), |p| format!(" (pid {p})")),
                    i.share.ops as f64 / self.measured,
                    i.share.errors,
                );
            }
        }
        if self.mode == Mode::AuthCode {
            let total = self.provider.map(procstat::Ticks::total);
            out += &format!(
                "  provider pid {}: CPU {} ms ({} user, {} sys) = {} cores; {} ms CPU per {one}; peak RSS {} MB\n",
                self.provider_pid.as_deref().unwrap_or("?"),
                fmt(total.map(|t| self.ms(t)), 0),
                fmt(self.provider.map(|t| self.ms(t.user)), 0),
                fmt(self.provider.map(|t| self.ms(t.system)), 0),
                fmt(self.busy_cores(total), 2),
                fmt(self.per_op(total), 3),
                fmt(self.provider_vm_hwm_kb.map(|k| k as f64 / 1024.0), 1),
            );
            out += &format!(
                "    browser: {:.2} provider requests per {one}; login/consent forms filled in: {} in the window, {} in warm-up, {} in set-up (one login per worker)\n",
                if self.ops > 0 {
                    self.provider_requests as f64 / self.ops as f64
                } else {
                    0.0
                },
                self.interactions,
                self.interactions_outside,
                self.setup_interactions,
            );
        }
        let client = self.client.map(procstat::Ticks::total);
        out += &format!(
            "  load generator: CPU {} ms = {} cores; {} ms CPU per {one}; machine busy {} (+{} stolen by the hypervisor) of {} cores\n",
            fmt(client.map(|t| self.ms(t)), 0),
            fmt(self.busy_cores(client), 2),
            fmt(self.per_op(client), 3),
            fmt(self.machine_busy_cores, 2),
            fmt(self.machine_steal_cores, 2),
            self.cores,
        );
        out += &format!(
            "  ring ES256 on this machine: sign {:.0} µs, verify {:.0} µs\n",
            self.crypto_us.0, self.crypto_us.1
        );
        for body in &self.error_bodies {
            out += &format!("  error: {body}\n");
        }
        out
    }

    fn json(&self) -> String {
        let mut latency = serde_json::Map::new();
        for (name, s, errs) in &self.rows {
            latency.insert(
                (*name).to_owned(),
                json!({ "count": s.count, "p50_ms": s.p50, "p99_ms": s.p99, "max_ms": s.max, "errors": errs }),
            );
        }
        latency.insert(
            "op".into(),
            json!({ "count": self.op.count, "p50_ms": self.op.p50, "p99_ms": self.op.p99, "max_ms": self.op.max }),
        );
        let total = self.server.map(procstat::Ticks::total);
        let client = self.client.map(procstat::Ticks::total);
        let threads: Vec<Value> = self
            .server_threads
            .iter()
            .map(|g| {
                json!({
                    "name": g.name,
                    "threads": g.threads,
                    "cpu_ms": self.ms(g.ticks.total()),
                    "sys_ms": self.ms(g.ticks.system),
                    "cpu_ms_per_op": self.per_op(Some(g.ticks.total())),
                    "runqueue_wait_ms_per_op": self.wait_per_op(g.wait_ns),
                })
            })
            .collect();
        let io_json = |io: Option<procstat::Io>| {
            io.map(|io| {
                json!({
                    "write_calls": io.syscw,
                    "wchar_bytes": io.wchar,
                    "block_write_bytes": io.write_bytes,
                })
            })
        };
        let instances: Vec<Value> = self
            .instances
            .iter()
            .map(|i| {
                let total = i.ticks.map(procstat::Ticks::total);
                json!({
                    "url": i.url,
                    "pid": i.pid,
                    "ops": i.share.ops,
                    "ops_per_s": i.share.ops as f64 / self.measured,
                    "errors": i.share.errors,
                    "cpu_ms": total.map(|t| self.ms(t)),
                    "user_ms": i.ticks.map(|t| self.ms(t.user)),
                    "sys_ms": i.ticks.map(|t| self.ms(t.system)),
                    "cpu_ms_per_op": self.per(total, i.share.ops),
                    "cores": self.busy_cores(total),
                    "vm_hwm_kb": i.vm_hwm_kb,
                    "vm_rss_kb": i.vm_rss_kb,
                    "threads": i.thread_count,
                    "io": io_json(i.io),
                })
            })
            .collect();
        json!({
            "target": self.peer.map_or("sigil", peer::Peer::name),
            "mode": self.mode.name(),
            "concurrency": self.concurrency,
            "instances": self.instances.len(),
            "warmup_s": self.warmup,
            "measured_s": self.measured,
            "access_tokens": self.tokens,
            "ops": self.ops,
            "ops_per_s": self.rate(),
            "batch": self.batch,
            "credentials_per_s": self.rate() * self.batch as f64,
            "errors": self.errors,
            "errors_outside_window": self.errors_outside,
            "error_bodies": self.error_bodies,
            "latency": latency,
            "steps": self.rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "server": {
                "pid": self.server_pid,
                "cpu_ms": total.map(|t| self.ms(t)),
                "user_ms": self.server.map(|t| self.ms(t.user)),
                "sys_ms": self.server.map(|t| self.ms(t.system)),
                "cpu_ms_per_op": self.per_op(total),
                "cores": self.busy_cores(total),
                "vm_hwm_kb": self.vm_hwm_kb,
                "vm_rss_kb": self.vm_rss_kb,
                "threads": self.threads,
                "by_thread": threads,
                "io": io_json(self.server_io),
                "instances": instances,
            },
            "provider": self.provider_pid.as_ref().map(|pid| {
                let total = self.provider.map(procstat::Ticks::total);
                json!({
                    "pid": pid,
                    "cpu_ms": total.map(|t| self.ms(t)),
                    "cpu_ms_per_op": self.per_op(total),
                    "cores": self.busy_cores(total),
                    "vm_hwm_kb": self.provider_vm_hwm_kb,
                    "requests": self.provider_requests,
                })
            }),
            "interactions": self.interactions,
            "interactions_warmup": self.interactions_outside,
            "interactions_setup": self.setup_interactions,
            "client": {
                "cpu_ms": client.map(|t| self.ms(t)),
                "cpu_ms_per_op": self.per_op(client),
                "cores": self.busy_cores(client),
            },
            "machine_busy_cores": self.machine_busy_cores,
            "machine_steal_cores": self.machine_steal_cores,
            "machine_cores": self.cores,
            "clock_tick_ms": self.tick_ms,
            "es256_sign_us": self.crypto_us.0,
            "es256_verify_us": self.crypto_us.1,
        })
        .to_string()
    }
}

/// GET `url` and parse its JSON body; an error names `what`.
async fn get_json(client: &reqwest::Client, url: &str, what: &str) -> Result<Value, String> {
    client
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("fetching {what}: {e}"))?
        .json()
        .await
        .map_err(|e| format!("reading {what}: {e}"))
}
