//! The `sigil` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sigil_settings::Settings;

use crate::startup::{Application, load_plugins};

/// Sigil, an OpenID4VCI 1.0 credential issuer.
#[derive(Debug, Parser)]
#[command(name = "sigil", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the issuer.
    Serve {
        /// The configuration file.
        #[arg(long, default_value = "config/sigil.toml")]
        config: PathBuf,
    },
    /// Plugin commands.
    Plugins {
        /// What to do with plugins.
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Configuration commands.
    Config {
        /// What to do with the configuration.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Issuer key commands (a running server picks changes up on SIGHUP or
    /// `POST /admin/v1/tenants/{tenant}/keys/reload`).
    Keys {
        /// What to do with keys.
        #[command(subcommand)]
        command: crate::keys_cli::KeysCommand,
    },
}

/// `sigil plugins ...`
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List plugins: name, kind, version, capabilities, load errors.
    List {
        /// The configuration file.
        #[arg(long, default_value = "config/sigil.toml")]
        config: PathBuf,
    },
}

/// `sigil config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and plugins without serving.
    Check {
        /// The configuration file.
        #[arg(long, default_value = "config/sigil.toml")]
        config: PathBuf,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve { .. }) {
        crate::telemetry::init_plain();
    }
    let result = match cli.command {
        Command::Serve { config } => serve(&config),
        Command::Plugins {
            command: PluginsCommand::List { config },
        } => list_plugins(&config),
        Command::Config {
            command: ConfigCommand::Check { config },
        } => check(&config),
        Command::Keys { command } => crate::keys_cli::run(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: &std::path::Path) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(config)?;
    crate::telemetry::init(&settings)?;
    let served: anyhow::Result<ExitCode> = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await?;
        tracing::info!(port = app.port(), "sigil listening");
        app.run_until_signalled().await?;
        Ok(ExitCode::SUCCESS)
    });
    crate::telemetry::shutdown();
    served
}

fn list_plugins(config: &std::path::Path) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(config)?;
    let runtime = load_plugins(&settings, &sigil_metrics::Metrics::disabled())?;
    println!(
        "{:<24} {:<18} {:<9} {:<20} capabilities",
        "NAME", "KIND", "VERSION", "API"
    );
    for p in runtime.plugins() {
        let http = if p.requested_hosts.is_empty() {
            "none".to_owned()
        } else {
            format!(
                "http requested {:?}, granted {:?}",
                p.requested_hosts, p.allowed_hosts
            )
        };
        println!(
            "{:<24} {:<18} {:<9} {:<20} {http}",
            p.id,
            p.kind.as_str(),
            p.version,
            p.api
        );
    }
    for e in runtime.load_errors() {
        println!("error: {e}");
    }
    Ok(if runtime.load_errors().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn check(config: &std::path::Path) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(config)?;
    let runtime = load_plugins(&settings, &sigil_metrics::Metrics::disabled())?;
    for id in settings.plugins.grants.keys() {
        if runtime.plugin(id).is_none()
            && !runtime
                .load_errors()
                .iter()
                .any(|e| e.to_string().contains(id.as_str()))
        {
            eprintln!(
                "error: {}: plugins.grants.{id}: no plugin '{id}' in {}. Fix: correct the id or add the plugin",
                settings.source.display(),
                settings.plugins.dir.display()
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    if !runtime.load_errors().is_empty() {
        for e in runtime.load_errors() {
            eprintln!("error: {e}");
        }
        return Ok(ExitCode::FAILURE);
    }
    if let Err(e) = crate::tenants::check_plugins(&settings, &runtime) {
        eprintln!("error: {e:#}");
        return Ok(ExitCode::FAILURE);
    }
    if let Err(e) = crate::tenants::check_keys(&settings) {
        eprintln!("error: {e}");
        return Ok(ExitCode::FAILURE);
    }
    // [telemetry] as `serve` reads it (with the environment's overrides).
    if let Err(e) = crate::telemetry::Options::from_settings(&settings) {
        eprintln!("error: {e}");
        return Ok(ExitCode::FAILURE);
    }
    if let Err(e) = sigil_issuer::delivery::targets(&settings) {
        eprintln!("error: {e}");
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "{}: configuration valid; {} plugins loaded, {} credential configurations, {} tenants",
        settings.source.display(),
        runtime.plugins().count(),
        settings.credential_configurations.len(),
        settings.tenant_ids().len()
    );
    for tenant in settings.tenant_ids() {
        if let Some(login) = settings.tenants.get(&tenant).and_then(|t| t.login.as_ref()) {
            let issuer = crate::tenants::issuer_url(&settings, &tenant);
            println!(
                "tenant {tenant}: login at {}; register Sigil there as client '{}' with redirect URI {}",
                login.issuer,
                login.client_id,
                sigil_issuer::endpoints::authorize::login_redirect_uri(&issuer)
            );
        }
        let issuer = crate::tenants::issuer_url(&settings, &tenant);
        for (id, server) in settings.tenant_authorization_servers(&tenant) {
            println!(
                "tenant {tenant}: accepts access tokens of authorization server {id} ({}) for audience {}, checked by {}",
                server.issuer,
                server.audience_for(&issuer),
                server.verification.as_str()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
