//! The admin API (`/admin/v1`), bearer-authenticated, errors as problem+json.

pub mod plugins;

use actix_web::web;

/// Mount the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/v1")
            .route("/plugins", web::get().to(plugins::list))
            .route("/plugins/{id}/resolve", web::post().to(plugins::resolve)),
    );
}
