//! `GET /admin/v1/plugins` and `POST /admin/v1/plugins/{id}/resolve`: what is
//! loaded, and a dry run of a claim provider, so integrators can try their
//! plugin against the real sandbox before wiring it to a configuration.

use std::collections::BTreeSet;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sigil_plugin_host::{ClaimFailure, ClaimOutcome, ClaimRequest, PluginError, PluginInfo};
use sigil_settings::{ClaimSource, CredentialConfiguration};
use utoipa::ToSchema;

use super::access::{Admin, printable};
use super::body::AdminJson;
use crate::problem::{Problem, ProblemType};
use crate::state::AppState;

/// The loaded plugins and the plugins that failed to load.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({
    "loadErrors": [],
    "plugins": [{
        "allowedHosts": [],
        "api": "sigil:plugin@1.0.0",
        "description": "Claims given in the offer",
        "id": "claims-inline",
        "kind": "claim-provider",
        "limits": {"fuel": 100000000, "maxMemoryBytes": 67108864, "maxOutputBytes": 1048576, "timeoutMs": 2000},
        "loadedAt": "2025-06-01T12:00:00Z",
        "requestedHosts": [],
        "sha256": "9f2c4e0b1d7a3c5e8f6a2b4d0c9e7f1a3b5d7c9e1f3a5b7d9c1e3f5a7b9d1c3e",
        "version": "1.0.0"
    }]
})))]
pub struct PluginList {
    /// Why plugins failed to load, and new versions a reload refused while
    /// the version before keeps serving (global token only; empty for a
    /// tenant key).
    pub load_errors: Vec<String>,
    /// The loaded plugins the caller may see (a tenant key: those its
    /// tenant issues with).
    pub plugins: Vec<PluginView>,
}

/// A loaded plugin.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginView {
    /// Outbound hosts it was granted.
    pub allowed_hosts: Vec<String>,
    /// The plugin interface it targets (`sigil:plugin@<version>`).
    pub api: String,
    /// What it does.
    pub description: String,
    /// Its id.
    pub id: String,
    /// `claim-provider` or `credential-format`.
    pub kind: String,
    /// Its sandbox limits.
    pub limits: PluginLimitsView,
    /// When this version was loaded (RFC 3339, UTC): at start-up or by the
    /// reload that swapped it in.
    pub loaded_at: String,
    /// Outbound hosts its manifest asks for.
    pub requested_hosts: Vec<String>,
    /// SHA-256 of its component (hex).
    pub sha256: String,
    /// Its version.
    pub version: String,
}

/// A plugin's sandbox limits.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginLimitsView {
    /// Instruction budget per call.
    pub fuel: u64,
    /// Memory per instance, bytes.
    pub max_memory_bytes: usize,
    /// Output per call, bytes.
    pub max_output_bytes: usize,
    /// Time per call, milliseconds.
    pub timeout_ms: u64,
}

impl PluginView {
    fn of(p: &PluginInfo) -> Self {
        Self {
            allowed_hosts: p.allowed_hosts.clone(),
            api: p.api.clone(),
            description: p.description.clone(),
            id: p.id.clone(),
            kind: p.kind.as_str().to_owned(),
            limits: PluginLimitsView {
                fuel: p.limits.fuel,
                max_memory_bytes: p.limits.max_memory_bytes,
                max_output_bytes: p.limits.max_output_bytes,
                timeout_ms: p.limits.timeout_ms,
            },
            loaded_at: sigil_time::rfc3339(p.loaded_at),
            requested_hosts: p.requested_hosts.clone(),
            sha256: p.sha256.clone(),
            version: p.version.clone(),
        }
    }
}

/// What a dry run produced: the claims, or a pending answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum DryRun {
    /// The claim provider gave claims.
    Claims {
        /// The claims (a JSON object).
        #[schema(value_type = Object)]
        claims: Map<String, Value>,
    },
    /// The claim provider answered pending (deferred issuance).
    Pending {
        /// When and why.
        pending: PendingView,
    },
}

/// A pending answer of a claim provider.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingView {
    /// Seconds the wallet would be told to wait.
    pub interval_seconds: u32,
    /// Why.
    pub reason: String,
}

/// List loaded plugins and load errors.
///
/// A tenant key sees the plugins its tenant issues with
/// ([`sigil_settings::Settings::tenant_plugins`]) and no load errors.
#[utoipa::path(
    get,
    path = "/admin/v1/plugins",
    tag = "plugins",
    operation_id = "listPlugins",
    responses(
        (status = 200, description = "The plugins", body = PluginList),
    ),
)]
pub async fn list(admin: Admin, state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let visible = visible_plugins(&admin, &state);
    let plugins = state
        .plugins
        .plugins()
        .filter(|p| visible.as_ref().is_none_or(|v| v.contains(&p.id)))
        .map(|p| PluginView::of(&p))
        .collect();
    let load_errors = match visible {
        None => {
            let errors = state
                .plugins
                .load_errors()
                .into_iter()
                .map(|e| e.to_string());
            let refused = state.plugins.refused().into_iter().map(|r| r.to_string());
            errors.chain(refused).collect()
        }
        Some(_) => Vec::new(),
    };
    Ok(HttpResponse::Ok().json(PluginList {
        load_errors,
        plugins,
    }))
}

/// Reload the plugin directory now (also done on a change of it, with
/// `plugins.watch`, and on `SIGHUP`).
///
/// New and changed plugins are loaded with every check of a start and
/// swapped in at once once the configuration is checked against them;
/// requests in flight finish on the plugins they started with. Global
/// admin token only.
#[utoipa::path(
    post,
    path = "/admin/v1/plugins/reload",
    tag = "plugins",
    operation_id = "reloadPlugins",
    responses(
        (status = 200, description = "Every plugin of the directory loaded; what changed", body = crate::plugin_reload::ReloadView),
        (status = 403, description = "`forbidden`: a tenant key (plugins serve every tenant)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`plugin-reload-refused`: nothing was swapped; the plugins in use keep serving", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`plugin-refused`: plugins that did not load, each in `errors`; their versions in use keep serving, the rest was applied", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn reload(admin: Admin, state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    if admin.scoped_tenant().is_some() {
        return Err(Problem::new(
            ProblemType::Forbidden,
            "plugins serve every tenant; reload them with the global admin token",
        ));
    }
    let outcome = crate::plugin_reload::reload(&state, crate::plugin_reload::Trigger::Admin).await;
    Ok(HttpResponse::Ok().json(crate::plugin_reload::answer(outcome)?))
}

/// The plugins `admin` may see: `None` for all (the global token), else
/// those its tenant issues with.
fn visible_plugins(admin: &Admin, state: &AppState) -> Option<BTreeSet<String>> {
    admin
        .scoped_tenant()
        .map(|t| state.settings.tenant_plugins(t))
}

/// Body of a dry run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(examples(json!({
    "credentialConfigurationId": "employee_badge_sd_jwt",
    "format": "dc+sd-jwt",
    "source": {},
    "inlineClaims": {"given_name": "Ada", "family_name": "Lovelace"},
    "subjectId": "ada@example.com"
})))]
pub struct ResolveBody {
    /// Credential configuration id to pretend to issue.
    #[serde(default)]
    pub credential_configuration_id: String,
    /// Format of that configuration.
    #[serde(default)]
    pub format: String,
    /// Claim source settings. Absent: the settings of the credential
    /// configuration whose source is this plugin (the one named by
    /// `credentialConfigurationId`, else the first by id), which also fills
    /// `credentialConfigurationId` and `format` when they are absent.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub source: Value,
    /// Inline claims.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub inline_claims: Option<Value>,
    /// ID-token claims.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub id_token_claims: Option<Value>,
    /// Subject id.
    #[serde(default)]
    pub subject_id: Option<String>,
}

/// Run a claim provider once in the sandbox and return what it produced.
///
/// A dry run: nothing is issued or stored. A tenant key may run the
/// plugins its tenant issues with.
#[utoipa::path(
    post,
    path = "/admin/v1/plugins/{pluginId}/resolve",
    tag = "plugins",
    operation_id = "resolveClaims",
    params(("pluginId" = String, Path, description = "A loaded claim provider's id", example = "claims-static")),
    request_body = ResolveBody,
    responses(
        (status = 200, description = "The claims, or a pending answer", body = DryRun,
            example = json!({"claims": {"given_name": "Ada", "family_name": "Lovelace"}})),
        (status = 400, description = "`plugin-wrong-kind`: not a claim provider; `claims-invalid-input`: it refused its input", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`claims-denied`: it denied the claims", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found` or `plugin-not-loaded`: no such plugin (for the caller); `claims-not-found`: it found no claims", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The plugin failed: `plugin-fuel-exhausted`, `plugin-memory-exceeded`, `plugin-capability-denied`, `plugin-crashed`, `plugin-invalid-output` or `plugin-failed`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`plugin-unavailable`: it cannot take calls now", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "`plugin-timeout`: it did not finish in time", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn resolve(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: AdminJson<ResolveBody>,
) -> Result<HttpResponse, Problem> {
    if visible_plugins(&admin, &state).is_some_and(|v| !v.contains(id.as_str())) {
        return Err(Problem::not_found(format!(
            "no plugin '{}' is loaded",
            printable(&id)
        )));
    }
    let mut body = body.into_inner();
    if body.source.is_null() {
        configured_source(&admin, &state, &id, &mut body);
    }
    let request = ClaimRequest {
        tenant: "default".into(),
        issuer: state.settings.server.public_url.clone(),
        offer_id: "dry-run".into(),
        credential_configuration_id: body.credential_configuration_id,
        format: body.format,
        source: if body.source.is_null() {
            json!({})
        } else {
            body.source
        },
        inline_claims: body.inline_claims,
        id_token_claims: body.id_token_claims,
        subject_id: body.subject_id,
        holder_keys: Vec::new(),
    };
    match state.plugins.resolve_claims(&id, &request).await {
        Ok(ClaimOutcome::Claims(claims)) => Ok(HttpResponse::Ok().json(DryRun::Claims { claims })),
        Ok(ClaimOutcome::Pending {
            interval_seconds,
            reason,
        }) => Ok(HttpResponse::Ok().json(DryRun::Pending {
            pending: PendingView {
                interval_seconds,
                reason,
            },
        })),
        Err(e) => Err(plugin_problem(&e)),
    }
}

/// A dry run without `source` resolves as a credential configuration whose
/// claim source is this plugin would: the one named by
/// `credentialConfigurationId`, else the first (by id) the caller may see.
/// Its settings become `source`, and its id and format fill those left
/// empty. Nothing changes when no configuration uses the plugin.
fn configured_source(admin: &Admin, state: &AppState, plugin: &str, body: &mut ResolveBody) {
    let visible: Vec<&CredentialConfiguration> = match admin.scoped_tenant() {
        Some(tenant) => state.settings.tenant_configurations(tenant),
        None => state.settings.credential_configurations.values().collect(),
    };
    let mut candidates = visible.into_iter().filter_map(|c| match &c.source {
        Some(ClaimSource::Plugin {
            plugin: p,
            settings,
        }) if p == plugin => Some((c, settings)),
        _ => None,
    });
    let wanted = body.credential_configuration_id.clone();
    let found = if wanted.is_empty() {
        candidates.min_by(|a, b| a.0.id.cmp(&b.0.id))
    } else {
        candidates.find(|(c, _)| c.id == wanted)
    };
    if let Some((configuration, settings)) = found {
        body.source = settings.clone();
        if body.credential_configuration_id.is_empty() {
            body.credential_configuration_id = configuration.id.clone();
        }
        if body.format.is_empty() {
            body.format = configuration.format.clone();
        }
    }
}

/// Map a plugin failure to a problem: the plugin's fault is a 502 (a
/// misbehaving upstream component), a missing plugin a 404.
pub fn plugin_problem(e: &PluginError) -> Problem {
    let kind = match e {
        PluginError::NotLoaded { .. } => ProblemType::PluginNotLoaded,
        PluginError::WrongKind { .. } => ProblemType::PluginWrongKind,
        PluginError::Timeout { .. } => ProblemType::PluginTimeout,
        PluginError::Unavailable { .. } => ProblemType::PluginUnavailable,
        PluginError::Claim {
            error: ClaimFailure::Denied(_),
            ..
        } => ProblemType::ClaimsDenied,
        PluginError::Claim {
            error: ClaimFailure::NotFound(_),
            ..
        } => ProblemType::ClaimsNotFound,
        PluginError::Claim {
            error: ClaimFailure::InvalidInput(_),
            ..
        } => ProblemType::ClaimsInvalidInput,
        PluginError::FuelExhausted { .. } => ProblemType::PluginFuelExhausted,
        PluginError::MemoryExceeded { .. } => ProblemType::PluginMemoryExceeded,
        PluginError::CapabilityDenied { .. } => ProblemType::PluginCapabilityDenied,
        PluginError::Trap { .. } => ProblemType::PluginCrashed,
        PluginError::InvalidOutput { .. } => ProblemType::PluginInvalidOutput,
        PluginError::Claim {
            error: ClaimFailure::Upstream(_) | ClaimFailure::Internal(_),
            ..
        }
        | PluginError::Format { .. } => ProblemType::PluginFailed,
    };
    Problem::new(kind, e.to_string())
}
