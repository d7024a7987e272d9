//! The admin API (`/admin/v1`), bearer-authenticated, every error as
//! RFC 9457 problem+json: a wrong method is 405 with `Allow`, an unknown
//! path 404.

pub mod access;
pub mod body;
pub mod credentials;
pub mod deferred;
pub mod deliveries;
pub mod events;
pub mod keys;
pub mod offers;
pub mod plugins;

use actix_web::{HttpRequest, HttpResponse, Resource, ResponseError, web};

use sigil_issuer::errors::ErrorBody;

use crate::problem::Problem;

/// A resource whose other methods get 405 with `Allow: <allow>`. Every
/// admin route is made here (tests read what was made: see `made`).
fn resource(path: &str, allow: &'static str) -> Resource {
    #[cfg(test)]
    made::record(path, allow);
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        Problem::method_not_allowed(req.method().as_str(), allow).error_response()
    }))
}

/// 404 for a path no admin route has.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    Problem::not_found(format!(
        "no admin API resource at {}; the routes are under /admin/v1 (offers, credentials, deferred, events, event-endpoints, keys, plugins, and tenants/{{tenant}}/… for each)",
        access::printable(req.path())
    ))
    .error_response()
}

/// Mount the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/v1")
            .service(resource("/plugins", "GET").route(web::get().to(plugins::list)))
            .service(resource("/plugins/reload", "POST").route(web::post().to(plugins::reload)))
            .service(
                resource("/plugins/{id}/resolve", "POST").route(web::post().to(plugins::resolve)),
            )
            .service(resource("/keys", "GET").route(web::get().to(keys::list_default)))
            .service(resource("/keys/rotate", "POST").route(web::post().to(keys::rotate_default)))
            .service(resource("/keys/reload", "POST").route(web::post().to(keys::reload_default)))
            .service(
                resource("/tenants/{tenant}/keys", "GET")
                    .route(web::get().to(keys::list_for_tenant)),
            )
            .service(
                resource("/tenants/{tenant}/keys/rotate", "POST")
                    .route(web::post().to(keys::rotate_for_tenant)),
            )
            .service(
                resource("/tenants/{tenant}/keys/reload", "POST")
                    .route(web::post().to(keys::reload_for_tenant)),
            )
            .service(resource("/offers", "POST").route(web::post().to(offers::create_default)))
            .service(
                resource("/tenants/{tenant}/offers", "POST")
                    .route(web::post().to(offers::create_for_tenant)),
            )
            .service(
                resource("/offers/{id}", "GET, DELETE")
                    .route(web::get().to(offers::get))
                    .route(web::delete().to(offers::delete)),
            )
            .service(resource("/offers/{id}/qr.svg", "GET").route(web::get().to(offers::qr_svg)))
            .service(resource("/offers/{id}/qr.png", "GET").route(web::get().to(offers::qr_png)))
            .configure(offers::send::configure)
            .configure(credentials::configure)
            .configure(deferred::configure)
            .configure(deliveries::configure)
            .configure(events::configure)
            .default_service(web::to(not_found)),
    );
}

/// The answer for a path no route has: problem+json under `/admin`, the
/// OAuth-style JSON error elsewhere.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    let path = req.path();
    if path == "/admin" || path.starts_with("/admin/") {
        return not_found(req).await;
    }
    HttpResponse::NotFound().json(ErrorBody::new(
        "not_found",
        &format!("no resource at {}", access::printable(path)),
    ))
}

/// The admin routes made on this thread (tests compare them with the
/// OpenAPI document).
#[cfg(test)]
pub(crate) mod made {
    use std::cell::RefCell;

    thread_local! {
        static MADE: RefCell<Vec<(String, &'static str)>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn record(path: &str, allow: &'static str) {
        MADE.with(|m| m.borrow_mut().push((path.to_owned(), allow)));
    }

    /// Every route `configure` makes under `/admin/v1`: its full path
    /// pattern and its methods (the `Allow` of its 405).
    pub(crate) fn routes() -> Vec<(String, &'static str)> {
        MADE.with(|m| m.borrow_mut().clear());
        let _app = actix_web::App::new().configure(super::configure);
        MADE.with(|m| {
            m.borrow()
                .iter()
                .map(|(path, allow)| (format!("/admin/v1{path}"), *allow))
                .collect()
        })
    }
}
