//! OpenID4VCI 1.0 endpoints, for the default tenant at the root and for
//! every other tenant under `/<tenant>` (well-known paths insert the tenant
//! after the well-known segment, RFC 8414 §3.1).

mod authorization;
mod credential;
mod deferred;
mod metadata;
mod nonce;
mod notification;
mod offer;
mod reply;
mod status_list;
mod token;

use actix_web::web;

/// Mount the wallet-facing routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/.well-known/openid-credential-issuer",
        web::get().to(metadata::issuer),
    )
    .route(
        "/.well-known/openid-credential-issuer/{tenant}",
        web::get().to(metadata::issuer),
    )
    .route(
        "/.well-known/oauth-authorization-server",
        web::get().to(metadata::authorization_server),
    )
    .route(
        "/.well-known/oauth-authorization-server/{tenant}",
        web::get().to(metadata::authorization_server),
    )
    .route(
        "/.well-known/jwt-vc-issuer",
        web::get().to(metadata::jwt_vc_issuer),
    )
    .route(
        "/.well-known/jwt-vc-issuer/{tenant}",
        web::get().to(metadata::jwt_vc_issuer),
    )
    .route("/.well-known/did.json", web::get().to(metadata::did_web))
    .route("/{tenant}/did.json", web::get().to(metadata::did_web))
    .route(
        "/credential-offer/{offer}",
        web::get().to(offer::by_reference),
    )
    .route(
        "/{tenant}/credential-offer/{offer}",
        web::get().to(offer::by_reference),
    )
    .route("/par", web::post().to(authorization::par))
    .route("/{tenant}/par", web::post().to(authorization::par))
    .route("/authorize", web::get().to(authorization::authorize))
    .route(
        "/{tenant}/authorize",
        web::get().to(authorization::authorize),
    )
    .route(
        "/login/callback",
        web::get().to(authorization::login_callback),
    )
    .route(
        "/{tenant}/login/callback",
        web::get().to(authorization::login_callback),
    )
    .route("/token", web::post().to(token::token))
    .route("/{tenant}/token", web::post().to(token::token))
    .route("/notification", web::post().to(notification::notification))
    .route(
        "/{tenant}/notification",
        web::post().to(notification::notification),
    )
    .route("/statuslists/{n}", web::get().to(status_list::status_list))
    .route(
        "/{tenant}/statuslists/{n}",
        web::get().to(status_list::status_list),
    )
    .route("/nonce", web::post().to(nonce::nonce))
    .route("/{tenant}/nonce", web::post().to(nonce::nonce))
    .route("/credential", web::post().to(credential::credential))
    .route(
        "/{tenant}/credential",
        web::post().to(credential::credential),
    )
    .route(
        "/deferred_credential",
        web::post().to(deferred::deferred_credential),
    )
    .route(
        "/{tenant}/deferred_credential",
        web::post().to(deferred::deferred_credential),
    );
}
