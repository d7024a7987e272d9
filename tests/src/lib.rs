//! Test harness: start a real Sigil server on 127.0.0.1 with a temporary
//! configuration, plugin directory and database, and talk to it over HTTP.

#![allow(clippy::unwrap_used, reason = "test harness")]

pub mod capture;
pub mod holder;
pub mod op;
pub mod pg_wire;
pub mod plugins;
pub mod wallet;

use std::path::{Path, PathBuf};

use sigil::auth::AdminToken;
use sigil::startup::Application;
use sigil_settings::{ClaimSource, CredentialConfiguration, Settings};

/// The admin token every test server accepts.
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where a built plugin or fixture lives.
pub fn plugin_source(name: &str) -> PathBuf {
    for base in ["plugins/dist", "target/fixtures"] {
        let dir = root().join(base).join(name);
        if dir.join("plugin.toml").is_file() {
            return dir;
        }
    }
    panic!(
        "plugin '{name}' is not built: run `cargo xtask build-plugins` and `cargo xtask build-fixtures`"
    );
}

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// HTTP client.
    pub client: reqwest::Client,
    /// Keeps the temporary config, keys, database and plugins alive.
    pub dir: tempfile::TempDir,
}

/// Builder for a test server.
#[derive(Default)]
pub struct Spawn {
    plugins: Vec<String>,
    extra_toml: String,
    example_resources: bool,
    database_url: Option<String>,
    database_toml: String,
    offer_secret_from: Option<PathBuf>,
    files: Vec<(String, String)>,
    public_url: Option<String>,
    env: Vec<(String, String)>,
}

impl Spawn {
    /// A server with these plugins (built-in or fixtures) in its plugin directory.
    pub fn plugins(mut self, names: &[&str]) -> Self {
        self.plugins = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// These plugins as well as those chosen already (e.g. by
    /// [`Spawn::issuer`]).
    pub fn more_plugins(mut self, names: &[&str]) -> Self {
        self.plugins.extend(names.iter().map(|s| s.to_string()));
        self
    }

    /// Extra TOML appended to the generated `sigil.toml`.
    pub fn toml(mut self, extra: &str) -> Self {
        self.extra_toml.push_str(extra);
        self.extra_toml.push('\n');
        self
    }

    /// The issuer as the example configuration ships it: built-in plugins,
    /// `config/credential-configurations`, `config/profiles`, tenant `acme`.
    pub fn issuer(self) -> Self {
        let mut s = self.plugins(&[
            "claims-inline",
            "claims-static",
            "claims-id-token",
            "format-sd-jwt-vc",
            "format-jwt-vc-json",
            "format-mso-mdoc",
        ]);
        s.example_resources = true;
        s.toml("[tenants.acme]\ncredential_configurations = [\"employee_badge_sd_jwt\"]\n")
    }

    /// A file next to the generated `sigil.toml` (e.g. a resource such as
    /// `attribute-providers/crm.toml`), written before the server starts.
    pub fn file(mut self, relative: &str, contents: &str) -> Self {
        self.files.push((relative.to_owned(), contents.to_owned()));
        self
    }

    /// Use this database instead of a fresh SQLite file.
    pub fn database(mut self, url: &str) -> Self {
        self.database_url = Some(url.to_owned());
        self
    }

    /// Lines added to the `[database]` table (pool settings).
    pub fn database_toml(mut self, lines: &str) -> Self {
        self.database_toml.push_str(lines);
        self.database_toml.push('\n');
        self
    }

    /// Serve under another public URL (two instances behind one load
    /// balancer share one).
    pub fn public_url(mut self, url: &str) -> Self {
        self.public_url = Some(url.to_owned());
        self
    }

    /// An environment variable the configuration may name (`token_env`,
    /// `secret_env`, `{ env = "..." }`), seen by this server only.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Share keys and the offer secret with another test server (two
    /// instances behind one load balancer).
    pub fn share_keys_with(mut self, other: &TestApp) -> Self {
        self.offer_secret_from = Some(other.dir.path().join("keys"));
        self
    }

    /// Write the config, start the server on a free port, return a client.
    pub async fn start(self) -> TestApp {
        self.launch().await.0
    }

    /// Like [`Spawn::start`], on a runtime and thread of its own, so that
    /// [`Killable::kill`] can stop the instance at once: its HTTP workers
    /// and every task it runs (event delivery, purge) end mid-flight, its
    /// database connections drop, nothing is released or flushed.
    pub async fn start_killable(self) -> Killable {
        let (started, app) = std::sync::mpsc::channel();
        let (kill, killed) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let (app, handle) = runtime.block_on(self.launch());
            started.send(app).unwrap();
            let _ = killed.recv();
            runtime.block_on(handle.stop(false));
            runtime.shutdown_background();
        });
        let app = tokio::task::spawn_blocking(move || app.recv().unwrap())
            .await
            .unwrap();
        Killable {
            app,
            kill: Some(kill),
            thread: Some(thread),
        }
    }

    async fn launch(self) -> (TestApp, sigil::startup::ServerHandle) {
        capture::start();
        capture::secret("admin token", ADMIN_TOKEN);
        capture::secret("client secret", op::CLIENT_SECRET);
        capture::admin_request(&serde_json::json!({ "claims": op::account_claims() }));
        capture::config(&self.extra_toml);
        for (name, value) in &self.env {
            let name = name.to_ascii_uppercase();
            if ["TOKEN", "SECRET", "KEY", "PASSWORD"]
                .iter()
                .any(|w| name.contains(w))
            {
                capture::secret("secret from the environment", value);
            }
        }
        for (relative, contents) in &self.files {
            capture::config(contents);
            if relative.starts_with("secrets/") {
                capture::secret("secret file", contents);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        if self.example_resources {
            copy_dir(
                &root().join("config/profiles"),
                &dir.path().join("profiles"),
            );
            // The example configurations, but those whose claims come from a
            // plugin this server does not load (the Python and JavaScript
            // examples, which only their own tests load).
            let to = dir.path().join("credential-configurations");
            std::fs::create_dir_all(&to).unwrap();
            for entry in std::fs::read_dir(root().join("config/credential-configurations")).unwrap()
            {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                let parsed: CredentialConfiguration =
                    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let loaded = match &parsed.source {
                    Some(ClaimSource::Plugin { plugin, .. }) => self.plugins.contains(plugin),
                    _ => true,
                };
                if loaded {
                    std::fs::write(to.join(path.file_name().unwrap()), text).unwrap();
                }
            }
        }
        if let Some(keys) = &self.offer_secret_from {
            copy_tree(keys, &dir.path().join("keys"));
        }
        for (relative, contents) in &self.files {
            let path = dir.path().join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
        let plugin_dir = dir.path().join("plugins");
        for name in &self.plugins {
            copy_dir(&plugin_source(name), &plugin_dir.join(name));
        }
        std::fs::create_dir_all(&plugin_dir).unwrap();
        let config = dir.path().join("sigil.toml");
        let database_url = match &self.database_url {
            Some(url) => url.clone(),
            None if std::env::var("SIGIL_TEST_DATABASE").as_deref() == Ok("postgres") => {
                sigil_store::testing::fresh_postgres_url()
                    .await
                    .expect("PostgreSQL for SIGIL_TEST_DATABASE=postgres")
            }
            None => "sqlite://sigil.db?mode=rwc".to_owned(),
        };
        std::fs::write(
            &config,
            format!(
                "[server]\nport = 0\npublic_url = \"http://127.0.0.1:8099\"\nworkers = 2\n\n[database]\nurl = \"{}\"\n{}\n[plugins]\ndir = \"plugins\"\ncompile_cache = \"{}\"\n\n{}",
                database_url,
                self.database_toml,
                // One compile cache for every test server: each component
                // is compiled once per run, not at every start.
                root().join("target/plugin-compile-cache").display(),
                self.extra_toml
            ),
        )
        .unwrap();
        // The public URL must name the port, which is known only once bound:
        // bind first and keep the listener for the server. (Probing a free
        // port and binding it again later raced with other tests and with
        // outbound connections, which take their ports from the same range.)
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let address = format!("http://127.0.0.1:{port}");
        let env = [
            ("SIGIL__SERVER__PORT".to_string(), port.to_string()),
            (
                "SIGIL__SERVER__PUBLIC_URL".to_string(),
                self.public_url.clone().unwrap_or_else(|| address.clone()),
            ),
        ];
        let settings = Settings::load_with_env(&config, env.into_iter().chain(self.env)).unwrap();
        let app = Application::build_on(settings, AdminToken::new(Some(ADMIN_TOKEN)), listener)
            .await
            .unwrap();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        let app = TestApp {
            address,
            client: reqwest::Client::new(),
            dir,
        };
        (app, handle)
    }
}

/// A test server that can be killed (see [`Spawn::start_killable`]).
pub struct Killable {
    /// The server while it runs.
    pub app: TestApp,
    kill: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Killable {
    /// Stop the instance at once, as `kill -9` would: no graceful shutdown.
    pub async fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        if let Some(thread) = self.thread.take() {
            tokio::task::spawn_blocking(move || thread.join().unwrap())
                .await
                .unwrap();
        }
    }
}

impl TestApp {
    /// `GET {address}{path}`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        let r = self
            .client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap();
        capture::response(r).await
    }

    /// An admin `POST` with the bearer token and a JSON body.
    pub async fn admin_post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        capture::admin_request(body);
        let r = self
            .client
            .post(format!("{}{path}", self.address))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        capture::response(r).await
    }

    /// `POST` a form to `{address}{path}`.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        capture::form(form);
        let r = self
            .client
            .post(format!("{}{path}", self.address))
            .form(form)
            .send()
            .await
            .unwrap();
        capture::response(r).await
    }

    /// An admin `DELETE` with the bearer token.
    pub async fn admin_delete(&self, path: &str) -> reqwest::Response {
        self.client
            .delete(format!("{}{path}", self.address))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
    }

    /// An admin `GET` with the bearer token.
    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        let r = self
            .client
            .get(format!("{}{path}", self.address))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        capture::response(r).await
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &dest);
        } else {
            std::fs::copy(&path, dest).unwrap();
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}
