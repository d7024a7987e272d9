//! Issuer keys of a tenant, without restart (default tenant at
//! `/admin/v1/keys...`, others at `/admin/v1/tenants/{tenant}/keys...`):
//! - `GET  .../keys`: the active, standby and retired keys;
//! - `POST .../keys/rotate`: retire the active key (it stays published in
//!   the JWKS and DID document), generate a new one and make it active;
//! - `POST .../keys/reload`: re-read the tenant's key folder (after
//!   `sigil keys activate`, a new standby key, or a rotation done by
//!   another instance sharing the folder). SIGHUP reloads every tenant.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};
use sigil_settings::DEFAULT_TENANT;

use super::access::Admin;
use crate::problem::Problem;
use crate::state::AppState;
use crate::tenants::{SigningKey, Tenant};

/// What to do with a tenant's keys.
#[derive(Debug, Clone, Copy)]
enum Action {
    List,
    Rotate,
    Reload,
}

/// `GET /admin/v1/keys`.
pub async fn list_default(
    admin: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    act(&admin, &state, DEFAULT_TENANT, Action::List).await
}

/// `GET /admin/v1/tenants/{tenant}/keys`.
pub async fn list_for_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    tenant: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    act(&admin, &state, &tenant, Action::List).await
}

/// Rotate the default tenant's key.
pub async fn rotate_default(
    admin: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    act(&admin, &state, DEFAULT_TENANT, Action::Rotate).await
}

/// Rotate a tenant's key.
pub async fn rotate_for_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    tenant: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    act(&admin, &state, &tenant, Action::Rotate).await
}

/// Reload the default tenant's keys.
pub async fn reload_default(
    admin: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    act(&admin, &state, DEFAULT_TENANT, Action::Reload).await
}

/// Reload a tenant's keys.
pub async fn reload_for_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    tenant: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    act(&admin, &state, &tenant, Action::Reload).await
}

async fn act(
    admin: &Admin,
    state: &AppState,
    id: &str,
    action: Action,
) -> Result<HttpResponse, Problem> {
    let tenant = admin.tenant(state, id)?;
    // One change at a time: rotation rewrites the tenant's key folder.
    let _guard = KEY_CHANGES.lock().await;
    let changed = match action {
        Action::List => Ok(()),
        Action::Rotate => crate::tenants::rotate_key(&state.settings, &state.plugins, tenant)
            .await
            .map(drop),
        Action::Reload => crate::tenants::reload_keys(&state.settings, &state.plugins, tenant)
            .await
            .map(drop),
    };
    changed.map_err(|e| {
        tracing::error!(error = %e, tenant = id, ?action, "key change failed; the keys in use are unchanged");
        Problem::new(
            actix_web::http::StatusCode::CONFLICT,
            "key-folder",
            "The key folder cannot be used",
            format!(
                "{} failed, the keys in use are unchanged: {e}",
                format!("{action:?}").to_lowercase()
            ),
        )
    })?;
    Ok(HttpResponse::Ok().json(describe(tenant)))
}

/// The tenant's keys as the admin API shows them.
fn describe(tenant: &Tenant) -> Value {
    let keys = tenant.keys.load();
    let entry = |k: &SigningKey, status: &str| {
        let chain: Vec<Value> = k
            .key
            .certificate_chain()
            .iter()
            .filter_map(|der| sigil_keys::x509::certificate_info(der).ok())
            .map(|c| {
                json!({
                    "subject": c.subject,
                    "issuer": c.issuer,
                    "notAfter": sigil_time::rfc3339_system(c.not_after),
                })
            })
            .collect();
        json!({
            "kid": k.key.key_id(),
            "name": k.name,
            "status": status,
            "alg": k.key.algorithm().jose_name(),
            "presentedKid": k.presented_kid,
            "issuerId": k.issuer_id,
            "x5Chain": chain,
        })
    };
    let mut list = vec![entry(&keys.active, "active")];
    list.extend(keys.standby.iter().map(|k| entry(k, "standby")));
    list.extend(
        keys.retired
            .iter()
            .map(|kid| json!({ "kid": kid, "status": "retired" })),
    );
    json!({
        "tenant": tenant.id,
        "activeKid": keys.active.key.key_id(),
        "publishedKids": keys.published.iter().filter_map(|k| k.get("kid").cloned()).collect::<Vec<_>>(),
        "keys": list,
    })
}

static KEY_CHANGES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Reload every tenant's keys (on SIGHUP). Failures are logged; the keys
/// in use then stay as they are.
pub async fn reload_all(state: &AppState) {
    let _guard = KEY_CHANGES.lock().await;
    for tenant in state.tenants.iter() {
        match crate::tenants::reload_keys(&state.settings, &state.plugins, tenant).await {
            Ok(kid) => tracing::info!(tenant = %tenant.id, active = %kid, "reloaded issuer keys"),
            Err(e) => {
                tracing::error!(tenant = %tenant.id, error = %e, "reloading issuer keys failed; the keys in use are unchanged")
            }
        }
    }
}
