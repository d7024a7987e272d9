//! `sigil keys ...`: list, generate and activate issuer keys, and create a
//! demo IACA + document signer chain, in a tenant's key folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use sigil_keys::{Algorithm, IssuerKey, Signer as _};
use sigil_settings::{DEFAULT_TENANT, Settings};

use sigil_keys::folder::{self, CHAIN_SUFFIX, IACA_FILE};
use sigil_keys::keyring::{self, KeyFolder};

/// `sigil keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List a tenant's keys: active, standby and retired, with their chains.
    List {
        /// The configuration file.
        #[arg(long, default_value = "config/sigil.toml")]
        config: PathBuf,
        /// The tenant.
        #[arg(long, default_value = DEFAULT_TENANT)]
        tenant: String,
    },
    /// Generate a key into the tenant's folder (on standby unless --activate).
    Generate {
        /// The configuration file.
        #[arg(long, default_value = "config/sigil.toml")]
        config: PathBuf,
        /// The tenant.
        #[arg(long, default_value = DEFAULT_TENANT)]
        tenant: String,
        /// The key's name (its files' stem).
        #[arg(long)]
        name: String,
        /// `ES256` (P-256), `ES384` (P-384) or `EdDSA` (Ed25519).
        #[arg(long, default_value = "ES256")]
        alg: String,
        /// Also make it the active key.
        #[arg(long)]
        activate: bool,
    },
    /// Make a key of the tenant's folder the active one (writes keys.toml).
    Activate {
        /// The configuration file.
        #[arg(long, default_value = "config/sigil.toml")]
        config: PathBuf,
        /// The tenant.
        #[arg(long, default_value = DEFAULT_TENANT)]
        tenant: String,
        /// The key's name (its files' stem, as `sigil keys list` shows).
        name: String,
    },
    /// Create a demo IACA root (iaca.pem, once per tenant) and a document
    /// signer certificate for a key (`<name>.chain.pem`). For development
    /// and interoperability tests only: production chains come from your
    /// IACA.
    DemoChain {
        /// The configuration file.
        #[arg(long, default_value = "config/sigil.toml")]
        config: PathBuf,
        /// The tenant.
        #[arg(long, default_value = DEFAULT_TENANT)]
        tenant: String,
        /// The key (default: the active key).
        #[arg(long)]
        key: Option<String>,
        /// Document signer validity in days (ISO/IEC 18013-5 allows at most 457).
        #[arg(long, default_value_t = 457)]
        days: u32,
        /// ISO 3166-1 alpha-2 country of the demo IACA and the document
        /// signer (`countryName`; mDL `issuing_country` must equal it).
        /// Default: the existing demo IACA's, else `UT`.
        #[arg(long, value_name = "XX")]
        country: Option<String>,
        /// Replace an existing chain file.
        #[arg(long)]
        force: bool,
    },
}

/// Run a `sigil keys` command.
pub fn run(command: KeysCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeysCommand::List { config, tenant } => list(&config, &tenant),
        KeysCommand::Generate {
            config,
            tenant,
            name,
            alg,
            activate,
        } => generate(&config, &tenant, &name, &alg, activate),
        KeysCommand::Activate {
            config,
            tenant,
            name,
        } => {
            let (_, dir) = tenant_folder(&config, &tenant)?;
            keyring::activate(&dir, &name).map_err(anyhow::Error::msg)?;
            println!(
                "{}: '{name}' is the active key; running servers switch on SIGHUP or POST /admin/v1/tenants/{tenant}/keys/reload",
                dir.join(keyring::MANIFEST_FILE).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::DemoChain {
            config,
            tenant,
            key,
            days,
            country,
            force,
        } => demo_chain(
            &config,
            &tenant,
            key.as_deref(),
            days,
            country.as_deref(),
            force,
        ),
    }
}

/// The settings and the key folder of `tenant`.
fn tenant_folder(config: &Path, tenant: &str) -> anyhow::Result<(Settings, PathBuf)> {
    let settings = Settings::load(config)?;
    if !settings.tenant_ids().iter().any(|t| t == tenant) {
        bail!(
            "{}: no tenant '{tenant}'. Fix: use one of {}",
            settings.source.display(),
            settings.tenant_ids().join(", ")
        );
    }
    let dir = settings.keys.dir.join(tenant);
    Ok((settings, dir))
}

fn load_ring(settings: &Settings, tenant: &str) -> anyhow::Result<keyring::KeyRing> {
    let folder = KeyFolder {
        generate: false,
        ..crate::tenants::key_folder(settings, tenant)
    };
    Ok(folder.load()?)
}

fn list(config: &Path, tenant: &str) -> anyhow::Result<ExitCode> {
    let (settings, dir) = tenant_folder(config, tenant)?;
    let ring = load_ring(&settings, tenant)?;
    println!("{}", dir.display());
    println!(
        "{:<24} {:<8} {:<7} {:<45} chain",
        "NAME", "STATUS", "ALG", "KID"
    );
    let chain = |k: &dyn sigil_keys::Signer| {
        k.certificate_chain()
            .first()
            .and_then(|der| sigil_keys::x509::certificate_info(der).ok())
            .map(|c| {
                format!(
                    "{} (until {})",
                    c.subject,
                    sigil_time::rfc3339_system(c.not_after)
                )
            })
            .unwrap_or_else(|| "none".into())
    };
    for (k, status) in
        std::iter::once((&ring.active, "active")).chain(ring.standby.iter().map(|k| (k, "standby")))
    {
        println!(
            "{:<24} {:<8} {:<7} {:<45} {}",
            k.name,
            status,
            k.signer.algorithm().jose_name(),
            k.signer.key_id(),
            chain(k.signer.as_ref())
        );
    }
    for k in &ring.retired {
        println!(
            "{:<24} {:<8} {:<7} {:<45} -",
            "-",
            "retired",
            k.algorithm().jose_name(),
            k.key_id()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn generate(
    config: &Path,
    tenant: &str,
    name: &str,
    alg: &str,
    activate: bool,
) -> anyhow::Result<ExitCode> {
    let (_, dir) = tenant_folder(config, tenant)?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("--name '{name}': use letters, digits, '-' and '_' only");
    }
    let Some(alg) = Algorithm::from_jose_name(alg) else {
        bail!("--alg '{alg}': use ES256, ES384 or EdDSA");
    };
    if keyring::key_names(&dir).iter().any(|n| n == name) {
        bail!(
            "{}: a key named '{name}' exists. Fix: choose another --name",
            dir.display()
        );
    }
    let key = IssuerKey::generate(alg).context("generating the key")?;
    folder::write_key(&dir, name, &key)
        .with_context(|| format!("writing the key to {}", dir.display()))?;
    if activate {
        keyring::activate(&dir, name).map_err(anyhow::Error::msg)?;
    }
    println!(
        "{}: key '{name}' ({}, kid {}) {}; add a chain with `sigil keys demo-chain --key {name}` or your own {name}{CHAIN_SUFFIX}",
        dir.display(),
        alg.jose_name(),
        key.key_id(),
        if activate {
            "is active"
        } else {
            "is on standby (published, not signing unless an offer chooses it)"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// The IACA's country for `--country`: an ISO 3166-1 alpha-2 code, and the
/// existing demo IACA's when there is one (a document signer carries its
/// IACA's country, ISO/IEC 18013-5 Annex B).
fn demo_country(dir: &Path, country: Option<&str>) -> anyhow::Result<Option<String>> {
    let existing = folder::iaca_country(dir).map_err(anyhow::Error::msg)?;
    let Some(wanted) = country else {
        return Ok(existing);
    };
    if wanted.len() != 2 || !wanted.bytes().all(|b| b.is_ascii_uppercase()) {
        bail!(
            "--country {wanted}: not an ISO 3166-1 alpha-2 code. Fix: use two capital letters, e.g. --country UT (ISO's test country), FR or US"
        );
    }
    if let Some(existing) = existing
        && existing != wanted
    {
        bail!(
            "--country {wanted}: the demo IACA {} is for {existing}, and a document signer carries its IACA's country. Fix: move {} and {} away so a new demo IACA for {wanted} is made (then renew the other keys' demo chains with --force and give verifiers the new iaca.pem), or pass --country {existing}",
            dir.join(IACA_FILE).display(),
            dir.join(IACA_FILE).display(),
            dir.join(folder::IACA_KEY_FILE).display()
        );
    }
    Ok(Some(wanted.to_owned()))
}

fn demo_chain(
    config: &Path,
    tenant: &str,
    key: Option<&str>,
    days: u32,
    country: Option<&str>,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let (settings, dir) = tenant_folder(config, tenant)?;
    let ring = load_ring(&settings, tenant)?;
    let named = match key {
        None => &ring.active,
        Some(name) => ring
            .signing_keys()
            .find(|k| k.name == name || k.signer.key_id() == name)
            .with_context(|| {
                format!(
                    "{}: no key '{name}'. Fix: use one of {}",
                    dir.display(),
                    ring.signing_keys()
                        .map(|k| k.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?,
    };
    if !(1..=457).contains(&days) {
        bail!("--days {days}: ISO/IEC 18013-5 allows a document signer certificate 1 to 457 days");
    }
    let longest = crate::tenants::longest_validity(&settings, tenant);
    if let Some((secs, file)) = &longest
        && u64::from(days) * 86_400 < *secs
    {
        bail!(
            "--days {days}: {file} issues credentials valid {secs} s, longer than the certificate. Fix: pass --days {} or more (at most 457), or shorten validity_seconds",
            secs.div_ceil(86_400)
        );
    }
    let path = named.chain_path(&dir);
    if path.is_file() && !force {
        bail!(
            "{}: exists. Fix: pass --force to replace it",
            path.display()
        );
    }
    let mut opts = crate::tenants::key_folder(&settings, tenant).chain;
    opts.ds_days = days;
    if let Some(country) = demo_country(&dir, country)? {
        opts.country = country;
    }
    folder::write_demo_chain(&dir, &path, named.signer.as_ref(), &opts)
        .map_err(anyhow::Error::msg)?;
    let reloaded = load_ring(&settings, tenant)?;
    let signer = reloaded
        .signing_keys()
        .find(|k| k.name == named.name)
        .map(|k| k.signer.clone())
        .context("the key vanished while writing its chain")?;
    folder::check_chain(
        &path,
        signer.as_ref(),
        longest.as_ref().map(|(v, f)| (*v, f.as_str())),
        std::time::SystemTime::now(),
    )?;
    println!(
        "{}: document signer certificate for key '{}' ({} days, country {}), issued by the demo IACA {}; give verifiers {} as their trust anchor",
        path.display(),
        named.name,
        days,
        opts.country,
        dir.join(IACA_FILE).display(),
        dir.join(IACA_FILE).display()
    );
    Ok(ExitCode::SUCCESS)
}
