//! `GET /health` (process up) and `GET /ready` (dependencies ready, and not
//! shutting down).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

/// The process is up.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready to serve: the database answers and every plugin in the plugin directory loaded.
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    if state.lifecycle.draining() {
        return HttpResponse::ServiceUnavailable().json(json!({
            "status": "draining",
            "errors": ["the instance is shutting down"],
        }));
    }
    let mut errors: Vec<String> = state
        .plugins
        .load_errors()
        .iter()
        .map(ToString::to_string)
        .collect();
    if let Err(e) = state.store.ping().await {
        errors.push(format!("database: {e}"));
    }
    let plugins = state.plugins.plugins().count();
    let pool = state.store.pool_status();
    // Saturation is reported, not judged: a busy pool still serves (callers
    // queue for up to `database.acquire_timeout_ms`).
    let database = json!({
        "connections": pool.open,
        "idle": pool.idle,
        "maxConnections": pool.max,
        "saturation": (pool.saturation() * 100.0).round() / 100.0,
    });
    if errors.is_empty() {
        HttpResponse::Ok()
            .json(json!({ "status": "ready", "plugins": plugins, "database": database }))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "status": "not_ready", "plugins": plugins, "database": database, "pluginErrors": errors.iter().filter(|e| !e.starts_with("database:")).collect::<Vec<_>>(), "errors": errors
        }))
    }
}
