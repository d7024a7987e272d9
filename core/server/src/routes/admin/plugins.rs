//! `GET /admin/v1/plugins` and `POST /admin/v1/plugins/{id}/resolve`: what is
//! loaded, and a dry run of a claim provider, so integrators can try their
//! plugin against the real sandbox before wiring it to a configuration.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use sigil_plugin_host::{ClaimFailure, ClaimOutcome, ClaimRequest, PluginError, PluginInfo};

use super::access::{Admin, printable};
use super::body::AdminJson;
use crate::problem::Problem;
use crate::state::AppState;

fn info_json(p: &PluginInfo) -> Value {
    json!({
        "id": p.id, "version": p.version, "kind": p.kind.as_str(), "api": p.api,
        "description": p.description, "sha256": p.sha256,
        "loadedAt": sigil_time::rfc3339(p.loaded_at),
        "requestedHosts": p.requested_hosts, "allowedHosts": p.allowed_hosts,
        "limits": {
            "fuel": p.limits.fuel, "timeoutMs": p.limits.timeout_ms,
            "maxMemoryBytes": p.limits.max_memory_bytes, "maxOutputBytes": p.limits.max_output_bytes,
        },
    })
}

/// List loaded plugins and load errors.
///
/// A tenant key sees the plugins its tenant issues with
/// ([`sigil_settings::Settings::tenant_plugins`]) and no load errors.
pub async fn list(admin: Admin, state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let visible = visible_plugins(&admin, &state);
    let plugins: Vec<Value> = state
        .plugins
        .plugins()
        .filter(|p| visible.as_ref().is_none_or(|v| v.contains(&p.id)))
        .map(|p| info_json(&p))
        .collect();
    let errors: Vec<String> = match visible {
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
    Ok(HttpResponse::Ok().json(json!({ "plugins": plugins, "loadErrors": errors })))
}

/// The plugins `admin` may see: `None` for all (the global token), else
/// those its tenant issues with.
fn visible_plugins(admin: &Admin, state: &AppState) -> Option<BTreeSet<String>> {
    admin
        .scoped_tenant()
        .map(|t| state.settings.tenant_plugins(t))
}

/// Body of a dry run.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResolveBody {
    /// Credential configuration id to pretend to issue.
    #[serde(default)]
    pub credential_configuration_id: String,
    /// Format of that configuration.
    #[serde(default)]
    pub format: String,
    /// Claim source settings.
    #[serde(default)]
    pub source: Value,
    /// Inline claims.
    #[serde(default)]
    pub inline_claims: Option<Value>,
    /// ID-token claims.
    #[serde(default)]
    pub id_token_claims: Option<Value>,
    /// Subject id.
    #[serde(default)]
    pub subject_id: Option<String>,
}

/// Run a claim provider once in the sandbox and return what it produced.
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
    let body = body.into_inner();
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
        Ok(ClaimOutcome::Claims(claims)) => {
            Ok(HttpResponse::Ok().json(json!({ "claims": claims })))
        }
        Ok(ClaimOutcome::Pending {
            interval_seconds,
            reason,
        }) => Ok(HttpResponse::Ok()
            .json(json!({ "pending": { "intervalSeconds": interval_seconds, "reason": reason } }))),
        Err(e) => Err(plugin_problem(&e)),
    }
}

/// Map a plugin failure to a problem: the plugin's fault is a 502 (a
/// misbehaving upstream component), a missing plugin a 404.
pub fn plugin_problem(e: &PluginError) -> Problem {
    let (status, slug) = match e {
        PluginError::NotLoaded { .. } => (StatusCode::NOT_FOUND, "plugin-not-loaded"),
        PluginError::WrongKind { .. } => (StatusCode::BAD_REQUEST, "plugin-wrong-kind"),
        PluginError::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "plugin-timeout"),
        PluginError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "plugin-unavailable"),
        PluginError::Claim {
            error: ClaimFailure::Denied(_),
            ..
        } => (StatusCode::FORBIDDEN, "claims-denied"),
        PluginError::Claim {
            error: ClaimFailure::NotFound(_),
            ..
        } => (StatusCode::NOT_FOUND, "claims-not-found"),
        PluginError::Claim {
            error: ClaimFailure::InvalidInput(_),
            ..
        } => (StatusCode::BAD_REQUEST, "claims-invalid-input"),
        PluginError::FuelExhausted { .. } => (StatusCode::BAD_GATEWAY, "plugin-fuel-exhausted"),
        PluginError::MemoryExceeded { .. } => (StatusCode::BAD_GATEWAY, "plugin-memory-exceeded"),
        PluginError::CapabilityDenied { .. } => {
            (StatusCode::BAD_GATEWAY, "plugin-capability-denied")
        }
        PluginError::Trap { .. } => (StatusCode::BAD_GATEWAY, "plugin-crashed"),
        PluginError::InvalidOutput { .. } => (StatusCode::BAD_GATEWAY, "plugin-invalid-output"),
        PluginError::Claim {
            error: ClaimFailure::Upstream(_) | ClaimFailure::Internal(_),
            ..
        }
        | PluginError::Format { .. } => (StatusCode::BAD_GATEWAY, "plugin-failed"),
    };
    Problem::new(status, slug, "Plugin call failed", e.to_string())
}
