//! HTTP routes.

pub mod admin;
pub mod health;
pub mod oid4vci;

use actix_web::web;

/// Mount every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::health))
        .route("/ready", web::get().to(health::ready))
        .route("/metrics", web::get().to(crate::metrics::scrape))
        .configure(crate::openapi::configure)
        .configure(admin::configure)
        .configure(oid4vci::configure);
}
