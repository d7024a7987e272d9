//! Loading plugins from the plugin directory: manifest, integrity pin, API
//! version check, compile once, link once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasSelf, Linker};

use crate::bindings::{WIT_PACKAGE, WIT_VERSION, claims, format};
use crate::grants::HttpGrant;
use crate::state::CallState;
use crate::{Limits, LoadError, Manifest, PluginKind, PluginPolicy};

/// Public facts about a loaded plugin (for `sigil plugins list`, `/ready`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Plugin id.
    pub id: String,
    /// Plugin version.
    pub version: String,
    /// Kind.
    pub kind: PluginKind,
    /// WIT package it targets.
    pub api: String,
    /// Description from the manifest.
    pub description: String,
    /// The component file.
    pub path: PathBuf,
    /// sha256 of the component (hex).
    pub sha256: String,
    /// Outbound origins the operator granted (effective only if requested).
    pub allowed_hosts: Vec<String>,
    /// Origins the plugin requested.
    pub requested_hosts: Vec<String>,
    /// Limits of each call.
    pub limits: Limits,
    /// When this version was loaded (Unix seconds): at start-up, or by the
    /// reload that swapped it in. An unchanged plugin keeps its time.
    pub loaded_at: i64,
}

pub(crate) enum Pre {
    Claims(claims::ClaimProviderPre<CallState>),
    Format(format::CredentialFormatPre<CallState>),
}

pub(crate) struct LoadedPlugin {
    pub(crate) info: PluginInfo,
    /// The `plugin.toml` it was loaded from, and what it said (a reload
    /// keeps the plugin when both and the component's sha256 are unchanged).
    pub(crate) manifest_path: PathBuf,
    pub(crate) manifest: Manifest,
    pub(crate) id: Arc<str>,
    pub(crate) pre: Pre,
    pub(crate) grant: Arc<HttpGrant>,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    pub(crate) limits: Limits,
}

pub(crate) struct Linkers {
    claims: Linker<CallState>,
    format: Linker<CallState>,
}

impl Linkers {
    pub(crate) fn new(engine: &wasmtime::Engine) -> wasmtime::Result<Self> {
        let mut claims = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut claims)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut claims)?;
        let mut format = claims.clone();
        claims::ClaimProvider::add_to_linker::<_, HasSelf<_>>(&mut claims, |s| s)?;
        format::CredentialFormat::add_to_linker::<_, HasSelf<_>>(&mut format, |s| s)?;
        Ok(Self { claims, format })
    }
}

/// Find `plugin.toml` files: each direct subdirectory of `dir` holding one.
pub(crate) fn manifests(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError::Io {
        path: dir.to_owned(),
        message: format!("cannot read the plugin directory: {e}"),
    })?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path().join("plugin.toml"))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    Ok(found)
}

fn component_path(manifest_path: &Path, manifest: &Manifest) -> Result<PathBuf, LoadError> {
    let folder = manifest_path.parent().unwrap_or(Path::new("."));
    if let Some(file) = &manifest.component {
        return Ok(folder.join(file));
    }
    let wasm: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|e| LoadError::Io {
            path: folder.to_owned(),
            message: e.to_string(),
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    match wasm.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(LoadError::Manifest {
            path: manifest_path.to_owned(),
            message: "no .wasm component next to the manifest; set `component = \"file.wasm\"`"
                .into(),
        }),
        _ => Err(LoadError::Manifest {
            path: manifest_path.to_owned(),
            message: "several .wasm files next to the manifest; set `component = \"file.wasm\"`"
                .into(),
        }),
    }
}

/// The exported `sigil:plugin/...@version` interfaces of a component.
fn exported_api(engine: &wasmtime::Engine, component: &Component) -> Vec<(PluginKind, String)> {
    component
        .component_type()
        .exports(engine)
        .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
        .filter_map(|(name, _)| {
            let (iface, version) = name.split_once('@')?;
            let kind = match iface {
                "sigil:plugin/claims" => PluginKind::ClaimProvider,
                "sigil:plugin/format" => PluginKind::CredentialFormat,
                _ => return None,
            };
            Some((kind, version.to_owned()))
        })
        .collect()
}

/// Whether a plugin built against `version` runs on this host: same 0.x minor
/// (or same major from 1.0 on), not newer than this host.
fn version_supported(version: &str) -> bool {
    let parse = |v: &str| -> Option<(u64, u64, u64)> {
        let mut it = v.split('.').map(|p| p.parse::<u64>().ok());
        Some((it.next()??, it.next()??, it.next()??))
    };
    match (parse(version), parse(WIT_VERSION)) {
        (Some(p), Some(h)) => {
            let compatible = if h.0 == 0 {
                p.0 == 0 && p.1 == h.1
            } else {
                p.0 == h.0
            };
            compatible && p <= h
        }
        _ => false,
    }
}

fn supported_range() -> String {
    let minor = WIT_VERSION.rsplit_once('.').map_or(WIT_VERSION, |(m, _)| m);
    format!("sigil:plugin@{minor}.0 up to {WIT_PACKAGE}")
}

/// A plugin as read from disk, before it is compiled: its manifest, its
/// component's bytes and their sha256.
pub(crate) struct Source {
    pub(crate) manifest_path: PathBuf,
    pub(crate) manifest: Manifest,
    pub(crate) path: PathBuf,
    pub(crate) bytes: Vec<u8>,
    pub(crate) sha256: String,
}

/// Read the manifest at `manifest_path` and its component.
pub(crate) fn read(manifest_path: &Path) -> Result<Source, LoadError> {
    let manifest = Manifest::from_file(manifest_path)?;
    let path = component_path(manifest_path, &manifest)?;
    let bytes = std::fs::read(&path).map_err(|e| LoadError::Io {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(Source {
        manifest_path: manifest_path.to_owned(),
        manifest,
        path,
        bytes,
        sha256,
    })
}

/// Check (sha256 pin, WIT version, kind), compile and link a plugin read
/// from disk.
pub(crate) fn compile(
    engine: &wasmtime::Engine,
    linkers: &Linkers,
    source: Source,
    policies: &BTreeMap<String, PluginPolicy>,
    default_limits: Limits,
) -> Result<LoadedPlugin, LoadError> {
    let Source {
        manifest_path,
        manifest,
        path,
        bytes,
        sha256,
    } = source;
    let manifest_path = manifest_path.as_path();
    let policy = policies.get(&manifest.id).cloned().unwrap_or_default();
    if let Some(expected) = &policy.sha256
        && !expected.eq_ignore_ascii_case(&sha256)
    {
        return Err(LoadError::HashMismatch {
            path,
            expected: expected.clone(),
            actual: sha256,
        });
    }
    let manifest_api = manifest
        .api
        .strip_prefix("sigil:plugin@")
        .unwrap_or_default()
        .to_owned();
    if !version_supported(&manifest_api) {
        return Err(LoadError::UnsupportedApi {
            path: manifest_path.to_owned(),
            message: format!(
                "plugin '{}' declares api = \"{}\"; this host supports {}",
                manifest.id,
                manifest.api,
                supported_range()
            ),
        });
    }
    let component = Component::new(engine, &bytes).map_err(|e| LoadError::Compile {
        path: path.clone(),
        message: format!("not a valid WebAssembly component: {e}"),
    })?;
    let exported = exported_api(engine, &component);
    let Some((kind, version)) = exported.first().cloned() else {
        return Err(LoadError::UnsupportedApi {
            path,
            message: format!(
                "plugin '{}' exports neither sigil:plugin/claims nor sigil:plugin/format; build it with sigil-plugin-sdk",
                manifest.id
            ),
        });
    };
    if !version_supported(&version) {
        return Err(LoadError::UnsupportedApi {
            path,
            message: format!(
                "plugin '{}' targets sigil:plugin@{version}; this host supports {}",
                manifest.id,
                supported_range()
            ),
        });
    }
    if kind != manifest.kind {
        return Err(LoadError::UnsupportedApi {
            path,
            message: format!(
                "plugin '{}' is declared as kind = \"{}\" but its component implements {}",
                manifest.id,
                manifest.kind.as_str(),
                kind.as_str()
            ),
        });
    }
    let link_error = |e: wasmtime::Error| LoadError::Compile {
        path: path.clone(),
        message: format!("cannot link plugin '{}': {e:#}", manifest.id),
    };
    let pre = match kind {
        PluginKind::ClaimProvider => Pre::Claims(
            claims::ClaimProviderPre::new(
                linkers
                    .claims
                    .instantiate_pre(&component)
                    .map_err(link_error)?,
            )
            .map_err(link_error)?,
        ),
        PluginKind::CredentialFormat => Pre::Format(
            format::CredentialFormatPre::new(
                linkers
                    .format
                    .instantiate_pre(&component)
                    .map_err(link_error)?,
            )
            .map_err(link_error)?,
        ),
    };
    let grant =
        HttpGrant::new(&manifest.requests.http, &policy.allowed_hosts).map_err(|message| {
            LoadError::Manifest {
                path: manifest_path.to_owned(),
                message: format!(
                    "outbound HTTP origins of plugin '{}': {message}",
                    manifest.id
                ),
            }
        })?;
    let limits = policy.limits.unwrap_or(default_limits);
    let id: Arc<str> = Arc::from(manifest.id.as_str());
    Ok(LoadedPlugin {
        info: PluginInfo {
            id: manifest.id.clone(),
            version: manifest.version.clone(),
            kind,
            api: manifest.api.clone(),
            description: manifest.description.clone(),
            path,
            sha256,
            allowed_hosts: policy.allowed_hosts.clone(),
            requested_hosts: manifest.requests.http.clone(),
            limits,
            loaded_at: sigil_time::unix_time(std::time::SystemTime::now()),
        },
        manifest_path: manifest_path.to_owned(),
        manifest,
        id,
        pre,
        grant: Arc::new(grant),
        config: Arc::new(policy.config),
        limits,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::version_supported;

    #[test]
    fn version_window() {
        assert!(version_supported("0.1.0"));
        assert!(!version_supported("0.2.0"));
        assert!(!version_supported("0.0.9"));
        assert!(!version_supported("1.0.0"));
        assert!(!version_supported("garbage"));
    }
}
