//! The admin API (`/admin/v1`), bearer-authenticated, errors as problem+json.

pub mod keys;
pub mod offers;
pub mod plugins;

use actix_web::web;

/// Mount the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/v1")
            .route("/plugins", web::get().to(plugins::list))
            .route("/plugins/{id}/resolve", web::post().to(plugins::resolve))
            .route("/keys", web::get().to(keys::list_default))
            .route("/keys/rotate", web::post().to(keys::rotate_default))
            .route("/keys/reload", web::post().to(keys::reload_default))
            .route(
                "/tenants/{tenant}/keys",
                web::get().to(keys::list_for_tenant),
            )
            .route(
                "/tenants/{tenant}/keys/rotate",
                web::post().to(keys::rotate_for_tenant),
            )
            .route(
                "/tenants/{tenant}/keys/reload",
                web::post().to(keys::reload_for_tenant),
            )
            .route("/offers", web::post().to(offers::create_default))
            .route(
                "/tenants/{tenant}/offers",
                web::post().to(offers::create_for_tenant),
            )
            .route("/offers/{id}", web::get().to(offers::get))
            .route("/offers/{id}", web::delete().to(offers::delete))
            .route("/offers/{id}/qr.svg", web::get().to(offers::qr_svg))
            .route("/offers/{id}/qr.png", web::get().to(offers::qr_png)),
    );
}
