//! Build and run the server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
pub use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use sigil_plugin_host::{Limits, PluginPolicy, PluginRuntime, RuntimeConfig};
use sigil_settings::{PluginGrant, PluginLimits, Settings};
use sigil_store::Store;

use crate::auth::AdminToken;
use crate::state::AppState;

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    background: Background,
}

/// Work this instance runs beside the HTTP server.
struct Background {
    deliveries: crate::delivery::Deliveries,
    purge: tokio::task::JoinHandle<()>,
}

/// Load the plugin runtime described by the settings; its calls are
/// recorded in `metrics`.
pub fn load_plugins(
    settings: &Settings,
    metrics: &sigil_metrics::Metrics,
) -> anyhow::Result<PluginRuntime> {
    let config = RuntimeConfig {
        dir: settings.plugins.dir.clone(),
        limits: runtime_limits(&settings.plugins.limits),
        policies: settings
            .plugins
            .grants
            .iter()
            .map(|(id, grant)| (id.clone(), runtime_policy(grant)))
            .collect(),
        max_concurrent_calls: settings.plugins.max_concurrent_calls,
        metrics: metrics.clone(),
        compile_cache: Some(settings.plugins.compile_cache.clone())
            .filter(|dir| !dir.as_os_str().is_empty()),
    };
    PluginRuntime::load(&config).with_context(|| {
        format!(
            "{}: plugins.dir: cannot load plugins from {}. Fix: run `cargo xtask build-plugins` or point plugins.dir at a plugin directory",
            settings.source.display(),
            settings.plugins.dir.display()
        )
    })
}

/// The listener of `server.host` and `server.port`.
fn bind(settings: &Settings) -> anyhow::Result<TcpListener> {
    let address = format!("{}:{}", settings.server.host, settings.server.port);
    TcpListener::bind(&address).with_context(|| {
        format!(
            "{}: server.port: cannot listen on {address}. Fix: choose a free port (SIGIL__SERVER__PORT=...)",
            settings.source.display()
        )
    })
}

/// `[plugins.limits]` (or a grant's `limits`) as the plugin runtime's limits.
fn runtime_limits(l: &PluginLimits) -> Limits {
    Limits {
        fuel: l.fuel,
        timeout_ms: l.timeout_ms,
        max_memory_bytes: l.max_memory_bytes,
        max_output_bytes: l.max_output_bytes,
        max_http_response_bytes: l.max_http_response_bytes,
    }
}

/// `[plugins.grants.<id>]` as the plugin runtime's policy for that plugin.
fn runtime_policy(g: &PluginGrant) -> PluginPolicy {
    PluginPolicy {
        allowed_hosts: g.allowed_hosts.clone(),
        config: g.config.clone(),
        sha256: g.sha256.clone(),
        limits: g.limits.as_ref().map(runtime_limits),
    }
}

impl Application {
    /// Load plugins, keys and the store, bind the listener; the admin token
    /// comes from `SIGIL_ADMIN_TOKEN`.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let admin = AdminToken::new(std::env::var("SIGIL_ADMIN_TOKEN").ok().as_deref());
        Self::build_with(settings, admin).await
    }

    /// Like [`Application::build`] with an explicit global admin credential
    /// (tenant keys come from the settings).
    pub async fn build_with(settings: Settings, admin: AdminToken) -> anyhow::Result<Self> {
        Self::assemble(settings, admin, None).await
    }

    /// Like [`Application::build_with`] on a listener the caller bound
    /// already: `server.host` and `server.port` are not bound again. For a
    /// caller that must know the port before it writes the settings (the
    /// public URL names it), without the race of probing a free port and
    /// binding it later.
    pub async fn build_on(
        settings: Settings,
        admin: AdminToken,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        Self::assemble(settings, admin, Some(listener)).await
    }

    /// Everything but the listener is built first, so a port is bound
    /// (and starts accepting) only once the application can serve.
    async fn assemble(
        settings: Settings,
        admin: AdminToken,
        listener: Option<TcpListener>,
    ) -> anyhow::Result<Self> {
        let admin = admin.with_tenant_keys(&settings);
        let metrics = crate::metrics::for_settings(&settings);
        let plugins = load_plugins(&settings, &metrics)?;
        for e in plugins.load_errors() {
            tracing::error!(error = %e, "plugin not loaded");
        }
        let tenants = crate::tenants::build(&settings, &plugins).await?;
        let offer_secret =
            crate::tenants::offer_secret(&settings.keys.dir, settings.keys.generate_if_missing)?;
        let store = Store::connect_with(&settings.database.url, &metrics, pool_options(&settings))
            .await
            .with_context(|| {
                format!(
                    "{}: database.url: cannot open the database. Fix: check the URL (SQLite: a writable path; PostgreSQL: a reachable server)",
                    settings.source.display()
                )
            })?;
        let targets = sigil_issuer::delivery::targets(&settings)?;
        let background = Background {
            purge: spawn_purge(store.clone()),
            deliveries: crate::delivery::spawn(
                &store,
                targets.into_values().collect(),
                &settings.event_delivery,
                &metrics,
            ),
        };
        if let Some(server) = crate::metrics::listener(&settings, &metrics)? {
            tokio::spawn(server);
        }
        let listener = match listener {
            Some(listener) => listener,
            None => bind(&settings)?,
        };
        let port = listener.local_addr()?.port();
        let workers = settings.server.workers;
        let grace = settings.server.shutdown_grace_seconds;
        let settings = Arc::new(settings);
        let plugins = Arc::new(plugins);
        let issuer = sigil_issuer::Issuer::new(
            store.clone(),
            plugins.clone(),
            settings.clone(),
            &offer_secret,
            Arc::new(sigil_issuer::ports::SystemClock),
        )
        .observed_by(crate::metrics::observer(&metrics));
        let state = AppState {
            settings,
            plugins,
            tenants: Arc::new(tenants),
            store,
            admin,
            issuer: Arc::new(issuer),
            providers: Arc::new(crate::upstream::Providers::new(&metrics)),
            lifecycle: Arc::new(crate::shutdown::Lifecycle::default()),
            metrics,
        };
        spawn_reload_on_hangup(state.clone());
        crate::plugin_reload::spawn(&state);
        let data = web::Data::new(state.clone());
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(crate::limits::BODY_LIMIT))
                .wrap(actix_web::middleware::from_fn(crate::limits::check_head))
                .wrap(actix_web::middleware::from_fn(
                    crate::shutdown::close_when_draining,
                ))
                .wrap(actix_web::middleware::from_fn(crate::metrics::middleware))
                // Outermost: every response, refusals included, carries the id.
                .wrap(actix_web::middleware::from_fn(
                    crate::request_id::middleware,
                ))
                .configure(crate::routes::configure)
                .default_service(web::to(crate::routes::admin::fallback))
        })
        // Signals are this application's (`run_until_signalled`), not actix's.
        .disable_signals()
        .shutdown_timeout(grace)
        .listen(listener)?;
        if let Some(w) = workers {
            server = server.workers(w);
        }
        Ok(Self {
            port,
            server: server.run(),
            state,
            background,
        })
    }

    /// A handle that stops the HTTP server (tests and tools).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (for tests and tools).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve until [`Application::handle`] stops the server; background
    /// work is left running (tests and tools).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serve until SIGTERM or SIGINT, then shut down gracefully (see
    /// [`crate::shutdown`]): drain (SIGTERM), stop accepting, let requests in
    /// flight finish within the grace period, stop event delivery (giving
    /// its leases up), stop the purge and close the store (flushing the
    /// SQLite writer).
    pub async fn run_until_signalled(self) -> anyhow::Result<()> {
        let Self {
            server,
            state,
            background,
            ..
        } = self;
        let handle = server.handle();
        let lifecycle = state.lifecycle.clone();
        let drain_ms = state.settings.server.shutdown_drain_ms;
        let grace = std::time::Duration::from_secs(state.settings.server.shutdown_grace_seconds);
        let stopper = tokio::spawn(async move {
            let signal = crate::shutdown::stop_signal().await;
            lifecycle.start_draining();
            let drain = crate::shutdown::drain_for(signal, drain_ms);
            tracing::info!(
                signal = signal.as_str(),
                drain_ms = drain.as_millis() as u64,
                grace_seconds = grace.as_secs(),
                "shutting down: /ready answers 503, then no new connections, then requests in flight get the grace period"
            );
            tokio::time::sleep(drain).await;
            handle.stop(true).await;
        });
        let served = server.await;
        stopper.abort();
        tracing::info!("HTTP server stopped; stopping background work");
        background.purge.abort();
        background.deliveries.stop(grace).await;
        state
            .store
            .close()
            .await
            .context("closing the database at shutdown")?;
        tracing::info!("shut down");
        served.context("the HTTP server failed")
    }
}

/// Reload every tenant's issuer keys, then the plugins, on SIGHUP (several
/// instances sharing one key folder: rotate on one, `kill -HUP` the others).
fn spawn_reload_on_hangup(state: AppState) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; reload keys with POST /admin/v1/keys/reload");
                return;
            }
        };
        while hangup.recv().await.is_some() {
            crate::routes::admin::keys::reload_all(&state).await;
            let _ =
                crate::plugin_reload::reload(&state, crate::plugin_reload::Trigger::Signal).await;
        }
    });
    #[cfg(not(unix))]
    drop(state);
}

/// The connection pool `[database]` asks for.
fn pool_options(settings: &Settings) -> sigil_store::PoolOptions {
    let d = &settings.database;
    sigil_store::PoolOptions {
        max_connections: d.max_connections,
        acquire_timeout: std::time::Duration::from_millis(d.acquire_timeout_ms),
        statement_timeout: (d.statement_timeout_ms > 0)
            .then(|| std::time::Duration::from_millis(d.statement_timeout_ms)),
    }
}

/// How often an instance offers to purge expired rows.
const PURGE_EVERY_SECONDS: u64 = 60;

/// Delete expired nonces, tokens and offers once a minute across every
/// instance on the database: each instance asks every minute, and the one
/// that takes the `purge` lease (held a little under a minute) does it.
fn spawn_purge(store: Store) -> tokio::task::JoinHandle<()> {
    let holder = uuid::Uuid::new_v4().to_string();
    let lease = i64::try_from(PURGE_EVERY_SECONDS).unwrap_or(60) - 5;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(PURGE_EVERY_SECONDS));
        loop {
            tick.tick().await;
            let now = crate::state::now();
            match store.take_lease("purge", &holder, now, lease).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "taking the purge lease failed");
                    continue;
                }
            }
            match store.purge_expired(now, 86_400).await {
                Ok(counts) => tracing::debug!(?counts, "purged expired rows"),
                Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
            }
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn settings_and_runtime_agree_on_default_limits() {
        assert_eq!(runtime_limits(&PluginLimits::default()), Limits::default());
        assert_eq!(
            runtime_policy(&PluginGrant::default()),
            PluginPolicy::default()
        );
    }

    #[test]
    fn a_grant_reaches_the_runtime_whole() {
        let grant = PluginGrant {
            allowed_hosts: vec!["https://*.example.com".into()],
            config: [("k".to_owned(), "v".to_owned())].into(),
            sha256: Some("ab".into()),
            limits: Some(PluginLimits {
                timeout_ms: 500,
                ..PluginLimits::default()
            }),
        };
        let policy = runtime_policy(&grant);
        assert_eq!(policy.allowed_hosts, grant.allowed_hosts);
        assert_eq!(policy.config, grant.config);
        assert_eq!(policy.sha256, grant.sha256);
        assert_eq!(policy.limits.unwrap().timeout_ms, 500);
    }
}
