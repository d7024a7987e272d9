//! Issuer keys of a tenant, without restart (default tenant at
//! `/admin/v1/keys...`, others at `/admin/v1/tenants/{tenant}/keys...`):
//! - `GET  .../keys`: the active, standby and retired keys;
//! - `POST .../keys/rotate`: retire the active key (it stays published in
//!   the JWKS and DID document), generate a new one and make it active;
//! - `POST .../keys/reload`: re-read the tenant's key folder (after
//!   `sigil keys activate`, a new standby key, or a rotation done by
//!   another instance sharing the folder). SIGHUP reloads every tenant.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::Value;
use sigil_settings::DEFAULT_TENANT;
use utoipa::ToSchema;

use super::access::Admin;
use crate::problem::{Problem, ProblemType};
use crate::state::AppState;
use crate::tenants::{SigningKey, Tenant};

/// A tenant's signing keys, as every keys route answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({
    "activeKid": "kGx3Zf1qL7mYw2aV9pRt0s5uJd8cEh4nB6oXyQiTlMk",
    "keys": [
        {
            "alg": "ES256",
            "issuerId": "https://issuer.example.com",
            "kid": "kGx3Zf1qL7mYw2aV9pRt0s5uJd8cEh4nB6oXyQiTlMk",
            "name": "issuer-2026-05",
            "presentedKid": null,
            "status": "active",
            "x5Chain": [{"issuer": "CN=Sigil demo IACA", "notAfter": "2027-05-01T00:00:00Z", "subject": "CN=Sigil demo document signer"}]
        },
        {"kid": "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0u1V", "status": "retired"}
    ],
    "publishedKids": ["kGx3Zf1qL7mYw2aV9pRt0s5uJd8cEh4nB6oXyQiTlMk", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0u1V"],
    "tenant": "default"
})))]
pub struct TenantKeys {
    /// The kid of the key that signs now.
    pub active_kid: String,
    /// The active key, then standby keys, then retired keys.
    pub keys: Vec<KeyView>,
    /// The kids of every key in the JWKS and DID document (the active,
    /// standby and retired keys), so what they signed still verifies.
    #[schema(value_type = Vec<String>)]
    pub published_kids: Vec<Value>,
    /// The tenant.
    pub tenant: String,
}

/// One key of a tenant: a signing key (active or standby) or a retired one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum KeyView {
    /// An active or standby key.
    Signing(SigningKeyView),
    /// A retired key: published, no longer signing.
    Retired(RetiredKeyView),
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Signs now.
    Active,
    /// Ready to be activated (`sigil keys activate`, or the next rotation).
    Standby,
    /// Published so what it signed still verifies; signs no more.
    Retired,
}

/// An active or standby key.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningKeyView {
    /// JOSE algorithm (`ES256`, `ES384`, `EdDSA`).
    pub alg: &'static str,
    /// `iss` of what it signs.
    pub issuer_id: String,
    /// The key's own kid (its JWK thumbprint).
    pub kid: String,
    /// File name stem in the tenant's key folder.
    pub name: String,
    /// The kid credentials carry when it is not `kid` (a DID URL).
    pub presented_kid: Option<String>,
    /// `active` or `standby`.
    pub status: KeyStatus,
    /// The key's certificate chain, leaf first (empty without one).
    pub x5_chain: Vec<CertificateView>,
}

/// A retired key.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetiredKeyView {
    /// Its kid.
    pub kid: String,
    /// `retired`.
    pub status: KeyStatus,
}

/// A certificate of a key's chain.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateView {
    /// Issuer distinguished name.
    pub issuer: String,
    /// End of validity (RFC 3339).
    pub not_after: String,
    /// Subject distinguished name.
    pub subject: String,
}

/// What to do with a tenant's keys.
#[derive(Debug, Clone, Copy)]
enum Action {
    List,
    Rotate,
    Reload,
}

/// List the default tenant's keys.
#[utoipa::path(
    get,
    path = "/admin/v1/keys",
    tag = "keys",
    operation_id = "listKeys",
    responses(
        (status = 200, description = "The default tenant's keys", body = TenantKeys),
        (status = 404, description = "`not-found`: a tenant key of another tenant", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list_default(
    admin: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    act(&admin, &state, DEFAULT_TENANT, Action::List).await
}

/// List a tenant's keys.
#[utoipa::path(
    get,
    path = "/admin/v1/tenants/{tenant}/keys",
    tag = "keys",
    operation_id = "listTenantKeys",
    params(("tenant" = String, Path, description = "Tenant id (`[tenants.<id>]`)", example = "acme")),
    responses(
        (status = 200, description = "The tenant's keys", body = TenantKeys),
        (status = 404, description = "`not-found`: no such tenant, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list_for_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    tenant: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    act(&admin, &state, &tenant, Action::List).await
}

/// Rotate the default tenant's key.
///
/// Retires the active key (it stays published in the JWKS and DID
/// document), generates a new one in the key folder and makes it active.
#[utoipa::path(
    post,
    path = "/admin/v1/keys/rotate",
    tag = "keys",
    operation_id = "rotateKeys",
    responses(
        (status = 200, description = "The keys after the rotation", body = TenantKeys),
        (status = 404, description = "`not-found`: a tenant key of another tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`key-folder`: the key folder could not be changed; the keys in use are unchanged", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn rotate_default(
    admin: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    act(&admin, &state, DEFAULT_TENANT, Action::Rotate).await
}

/// Rotate a tenant's key.
///
/// Retires the active key (it stays published in the JWKS and DID
/// document), generates a new one in the key folder and makes it active.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant}/keys/rotate",
    tag = "keys",
    operation_id = "rotateTenantKeys",
    params(("tenant" = String, Path, description = "Tenant id (`[tenants.<id>]`)", example = "acme")),
    responses(
        (status = 200, description = "The keys after the rotation", body = TenantKeys),
        (status = 404, description = "`not-found`: no such tenant, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`key-folder`: the key folder could not be changed; the keys in use are unchanged", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn rotate_for_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    tenant: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    act(&admin, &state, &tenant, Action::Rotate).await
}

/// Reload the default tenant's keys.
///
/// Re-reads the key folder (after `sigil keys activate`, a new standby
/// key, or a rotation by another instance sharing the folder).
#[utoipa::path(
    post,
    path = "/admin/v1/keys/reload",
    tag = "keys",
    operation_id = "reloadKeys",
    responses(
        (status = 200, description = "The keys as now read", body = TenantKeys),
        (status = 404, description = "`not-found`: a tenant key of another tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`key-folder`: the key folder cannot be used; the keys in use are unchanged", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn reload_default(
    admin: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    act(&admin, &state, DEFAULT_TENANT, Action::Reload).await
}

/// Reload a tenant's keys.
///
/// Re-reads the key folder (after `sigil keys activate`, a new standby
/// key, or a rotation by another instance sharing the folder).
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant}/keys/reload",
    tag = "keys",
    operation_id = "reloadTenantKeys",
    params(("tenant" = String, Path, description = "Tenant id (`[tenants.<id>]`)", example = "acme")),
    responses(
        (status = 200, description = "The keys as now read", body = TenantKeys),
        (status = 404, description = "`not-found`: no such tenant, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`key-folder`: the key folder cannot be used; the keys in use are unchanged", body = Problem, content_type = "application/problem+json"),
    ),
)]
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
            ProblemType::KeyFolder,
            format!(
                "{} failed, the keys in use are unchanged: {e}",
                format!("{action:?}").to_lowercase()
            ),
        )
    })?;
    Ok(HttpResponse::Ok().json(describe(tenant)))
}

/// The tenant's keys as the admin API shows them.
fn describe(tenant: &Tenant) -> TenantKeys {
    let keys = tenant.keys.load();
    let entry = |k: &SigningKey, status: KeyStatus| {
        let x5_chain = k
            .key
            .certificate_chain()
            .iter()
            .filter_map(|der| sigil_keys::x509::certificate_info(der).ok())
            .map(|c| CertificateView {
                issuer: c.issuer,
                not_after: sigil_time::rfc3339_system(c.not_after),
                subject: c.subject,
            })
            .collect();
        KeyView::Signing(SigningKeyView {
            alg: k.key.algorithm().jose_name(),
            issuer_id: k.issuer_id.clone(),
            kid: k.key.key_id().to_owned(),
            name: k.name.clone(),
            presented_kid: k.presented_kid.clone(),
            status,
            x5_chain,
        })
    };
    let mut list = vec![entry(&keys.active, KeyStatus::Active)];
    list.extend(keys.standby.iter().map(|k| entry(k, KeyStatus::Standby)));
    list.extend(keys.retired.iter().map(|kid| {
        KeyView::Retired(RetiredKeyView {
            kid: kid.clone(),
            status: KeyStatus::Retired,
        })
    }));
    TenantKeys {
        active_kid: keys.active.key.key_id().to_owned(),
        keys: list,
        published_kids: keys
            .published
            .iter()
            .filter_map(|k| k.get("kid").cloned())
            .collect(),
        tenant: tenant.id.clone(),
    }
}

/// One change at a time of what a tenant's `TenantKeys` hold: key changes,
/// and plugin reloads (which rebuild the metadata when format plugins change).
pub(crate) static KEY_CHANGES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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
