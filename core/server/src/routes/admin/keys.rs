//! `POST /admin/v1/keys/rotate` (default tenant) and
//! `POST /admin/v1/tenants/{tenant}/keys/rotate`: rotate the issuer key
//! without restart. The old key is retired (moved to `retired/` in the
//! tenant's key folder) and stays published in the JWKS and DID document.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use sigil_settings::DEFAULT_TENANT;

use crate::problem::Problem;
use crate::state::AppState;

/// Rotate the default tenant's key.
pub async fn rotate_default(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    rotate(&req, &state, DEFAULT_TENANT)
}

/// Rotate a tenant's key.
pub async fn rotate_for_tenant(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    rotate(&req, &state, &tenant)
}

fn rotate(req: &HttpRequest, state: &AppState, id: &str) -> Result<HttpResponse, Problem> {
    state.admin.check(req)?;
    let Some(tenant) = state.tenants.get(id) else {
        return Err(Problem::validation(
            format!("unknown tenant '{id}'"),
            Vec::new(),
        ));
    };
    // One rotation at a time: each one rewrites the tenant's key folder.
    let _guard = ROTATION
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let kid = crate::tenants::rotate_key(&state.settings, tenant).map_err(|e| {
        tracing::error!(error = %e, tenant = id, "key rotation failed");
        Problem::validation(format!("rotation failed: {e}"), Vec::new())
    })?;
    let published: Vec<Value> = tenant
        .published()
        .iter()
        .filter_map(|k| k.get("kid").cloned())
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "tenant": id, "activeKid": kid, "publishedKids": published,
    })))
}

static ROTATION: std::sync::Mutex<()> = std::sync::Mutex::new(());
