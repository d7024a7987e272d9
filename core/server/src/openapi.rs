//! The admin API's OpenAPI 3.1 document, generated from the handlers'
//! `#[utoipa::path]` annotations and the types they read and answer, and
//! Swagger UI to read it:
//!
//! - `GET /admin/openapi.json`: the document ([`document`]);
//! - `GET /admin/docs/`: Swagger UI (`/admin/docs` redirects there), its
//!   assets served from the binary (the crates.io package
//!   `utoipa-swagger-ui-vendored`), so the page needs no internet.
//!
//! Both answer without a token: they describe the API and reveal no data.
//! `docs/openapi.json` is the committed copy; a test fails when it differs
//! (`SIGIL_WRITE_OPENAPI=1 cargo test -p sigil --lib openapi` rewrites it).

use std::sync::{Arc, OnceLock};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, Resource, ResponseError, web};
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::problem::{Problem, ProblemType};
use crate::routes::admin::access::printable;

/// The name of the security scheme every admin operation requires.
pub const SECURITY_SCHEME: &str = "adminToken";

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/admin/openapi.json";

/// Where Swagger UI is served.
pub const DOCS_PATH: &str = "/admin/docs";

/// What the document says about the API as a whole.
const DESCRIPTION: &str = "The admin API of Sigil, an OpenID4VCI 1.0 credential issuer: create and push credential offers, read them and their events, change the status of issued credentials, settle deferred issuances, watch webhook delivery, rotate issuer keys and try plugins.

**Access.** Every operation under `/admin/v1` needs `Authorization: Bearer <token>` (the scheme in any case): the global admin token (`SIGIL_ADMIN_TOKEN`) reaches every tenant; a tenant key (`[tenants.<id>] admin_keys`) reaches that tenant only, and gets 404 for the resources of other tenants as if they did not exist. Routes without a tenant in the path act on the default tenant (creating offers, listing keys and credentials) or find the resource in any tenant the caller sees (an offer, a credential, a deferred transaction). This document (`/admin/openapi.json`) and its Swagger UI (`/admin/docs`) need no token.

**Requests.** Bodies are JSON (`application/json` or another `+json` type, else 415), members camelCase, at most 256 KiB (413, refused from `Content-Length` before it is read); a member name may not repeat and no string may contain U+0000 (400). Request heads are at most 32 KiB (431).

**Errors.** Every error is RFC 9457 `application/problem+json` (schema `Problem`); its `type` is one of the URIs of schema `ProblemType`, which lists every problem type with its status, title and meaning. An unknown path under `/admin` answers 404 `not-found`; a method a resource does not have answers 405 `method-not-allowed` with `Allow`.

**Events** (`events` of an offer, the event streams and webhooks) are described in `docs/events.md` with `docs/events.schema.json`.";

/// Common problem responses every operation under `/admin/v1` may give:
/// component name, problem type, description, an example detail.
const COMMON_RESPONSES: &[(&str, ProblemType, &str, &str)] = &[
    (
        "Unauthorized",
        ProblemType::Unauthorized,
        "`unauthorized`: no bearer token, or not a valid one (sent with `WWW-Authenticate: Bearer`)",
        "send Authorization: Bearer <admin token>",
    ),
    (
        "BadBody",
        ProblemType::BadBody,
        "`bad-body`: the body is not JSON or repeats a member name; `validation`: members are invalid (`errors` names each)",
        "the body is not valid JSON: expected value at line 1 column 1",
    ),
    (
        "TooLarge",
        ProblemType::TooLarge,
        "`too-large`: the body is larger than 256 KiB",
        "the body may have at most 262144 bytes",
    ),
    (
        "UnsupportedMediaType",
        ProblemType::UnsupportedMediaType,
        "`unsupported-media-type`: the body is not sent as JSON",
        "the body is sent as text/plain; send it as application/json",
    ),
];

/// The admin API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sigil admin API",
        version = env!("CARGO_PKG_VERSION"),
        description = DESCRIPTION,
    ),
    paths(
        crate::routes::admin::offers::create::create_default,
        crate::routes::admin::offers::create::create_for_tenant,
        crate::routes::admin::offers::view::get,
        crate::routes::admin::offers::view::delete,
        crate::routes::admin::offers::view::qr_svg,
        crate::routes::admin::offers::view::qr_png,
        crate::routes::admin::offers::send::send_default,
        crate::routes::admin::offers::send::send_for_tenant,
        crate::routes::admin::credentials::list_default,
        crate::routes::admin::credentials::list_for_tenant,
        crate::routes::admin::credentials::change_default,
        crate::routes::admin::credentials::change_for_tenant,
        crate::routes::admin::credentials::change_offer_default,
        crate::routes::admin::credentials::change_offer_for_tenant,
        crate::routes::admin::deferred::complete_default,
        crate::routes::admin::deferred::complete_for_tenant,
        crate::routes::admin::deferred::deny_default,
        crate::routes::admin::deferred::deny_for_tenant,
        crate::routes::admin::events::offer_stream,
        crate::routes::admin::events::visible_stream,
        crate::routes::admin::events::tenant_stream,
        crate::routes::admin::deliveries::list,
        crate::routes::admin::deliveries::dead_letters,
        crate::routes::admin::deliveries::discard,
        crate::routes::admin::deliveries::redeliver,
        crate::routes::admin::keys::list_default,
        crate::routes::admin::keys::list_for_tenant,
        crate::routes::admin::keys::rotate_default,
        crate::routes::admin::keys::rotate_for_tenant,
        crate::routes::admin::keys::reload_default,
        crate::routes::admin::keys::reload_for_tenant,
        crate::routes::admin::plugins::list,
        crate::routes::admin::plugins::reload,
        crate::routes::admin::plugins::resolve,
        openapi_json,
    ),
    components(schemas(Problem, ProblemType)),
    modifiers(&Common),
    security(("adminToken" = [])),
    tags(
        (name = "offers", description = "Credential offers: create, read, revoke, QR codes, push to a wallet"),
        (name = "credentials", description = "Issuance records (never claim values) and their status: revoke, suspend, reinstate"),
        (name = "deferred", description = "The operator's side of deferred issuance (OID4VCI §9): complete or deny"),
        (name = "events", description = "Server-sent event streams of offers and tenants (`docs/events.md`)"),
        (name = "event endpoints", description = "Webhook delivery of events: progress, dead letters (global token for the list)"),
        (name = "keys", description = "Issuer signing keys of a tenant: list, rotate, reload without restart"),
        (name = "plugins", description = "Loaded WebAssembly plugins and a dry run of a claim provider"),
        (name = "openapi", description = "This document"),
    ),
)]
struct AdminApi;

/// The security scheme and the problem responses common to every
/// operation (401 everywhere, 400/413/415 where there is a body).
struct Common;

impl Modify for Common {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SECURITY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The global admin token (`SIGIL_ADMIN_TOKEN`, every tenant) or a tenant key (`[tenants.<id>] admin_keys`, that tenant only).",
                    ))
                    .build(),
            ),
        );
        for (name, kind, description, detail) in COMMON_RESPONSES {
            components.responses.insert(
                (*name).to_owned(),
                problem_response(*kind, description, detail),
            );
        }
        for (path, item) in &mut api.paths.paths {
            if !path.starts_with("/admin/v1/") {
                continue;
            }
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                add_common(op);
            }
        }
    }
}

/// The common responses an operation does not give itself.
fn add_common(op: &mut Operation) {
    let mut add = |status: &str, name: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| Ref::from_response_name(name).into());
    };
    add("401", "Unauthorized");
    if op.request_body.is_some() {
        add("400", "BadBody");
        add("413", "TooLarge");
        add("415", "UnsupportedMediaType");
    }
}

/// A problem+json response of type `kind` with an example.
fn problem_response(
    kind: ProblemType,
    description: &str,
    detail: &str,
) -> RefOr<utoipa::openapi::Response> {
    let example = Problem::new(kind, detail);
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .example(serde_json::to_value(&example).ok())
                .build(),
        )
        .build()
        .into()
}

/// A string with one of `values`.
fn one_of(description: &str, values: impl IntoIterator<Item = &'static str>) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// The schema of an offer's `status` (every [`sigil_issuer::model::OfferStatus`]).
pub fn offer_status() -> Schema {
    one_of(
        "Where the offer is in its life cycle.",
        sigil_issuer::model::OfferStatus::ALL.map(|s| s.as_str()),
    )
}

/// The schema of an event's `type` (every [`sigil_issuer::model::EventKind`]).
pub fn event_type() -> Schema {
    one_of(
        "The event's type (`docs/events.md`).",
        sigil_issuer::model::EventKind::ALL.map(|k| k.as_str()),
    )
}

/// The schema of a credential's `status` (every
/// [`sigil_issuer::model::CredentialStatus`]).
pub fn credential_status() -> Schema {
    one_of(
        "The credential's status on its status list.",
        sigil_issuer::model::CredentialStatus::ALL.map(|s| s.as_str()),
    )
}

/// The schema of a deferred transaction's `status` (every
/// [`sigil_issuer::model::DeferredStatus`]).
pub fn deferred_status() -> Schema {
    one_of(
        "Where the deferred transaction is: `pending` (waiting for the operator or the source), `ready` (the wallet's next poll gets the credential), `denied`, `collected`.",
        sigil_issuer::model::DeferredStatus::ALL.map(|s| s.as_str()),
    )
}

/// The document, as built from the annotations.
pub fn document() -> utoipa::openapi::OpenApi {
    AdminApi::openapi()
}

/// The document as served and committed: pretty JSON and a final newline.
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut text = serde_json::to_string_pretty(&document())
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        text.push('\n');
        text
    })
}

/// The OpenAPI document of the admin API.
///
/// Needs no token: it describes the API and reveals no data. The same
/// document is committed as `docs/openapi.json`.
#[utoipa::path(
    get,
    path = "/admin/openapi.json",
    tag = "openapi",
    operation_id = "getOpenApi",
    security(()),
    responses(
        (status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json", body = Object),
    ),
)]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(document_json())
}

/// `/admin/docs` without its slash: the page's assets are relative, so
/// send the browser to `/admin/docs/` (relative, so it works behind a
/// path prefix too).
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "docs/"))
        .finish()
}

/// Swagger UI's configuration: the document next to the page, no call to
/// the online validator.
fn swagger_config() -> Arc<utoipa_swagger_ui::Config<'static>> {
    static CONFIG: OnceLock<Arc<utoipa_swagger_ui::Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            Arc::new(
                utoipa_swagger_ui::Config::new(["../openapi.json"])
                    .validator_url("none")
                    .display_operation_id(true)
                    .persist_authorization(false),
            )
        })
        .clone()
}

/// `GET /admin/docs/{file}`: Swagger UI (the page for an empty `file`).
async fn docs_file(req: HttpRequest) -> HttpResponse {
    let file = req.match_info().get("file").unwrap_or_default();
    match utoipa_swagger_ui::serve(file, swagger_config()) {
        Ok(Some(f)) => {
            let mut response = HttpResponse::Ok();
            if f.gzpipped {
                response.insert_header((header::CONTENT_ENCODING, "gzip"));
            }
            response
                .content_type(f.content_type)
                .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .insert_header((header::CACHE_CONTROL, "no-cache"))
                .body(f.bytes.into_owned())
        }
        Ok(None) => Problem::not_found(format!(
            "no Swagger UI file '{}'; the page is at {DOCS_PATH}/",
            printable(file)
        ))
        .error_response(),
        Err(e) => {
            tracing::error!(error = %e, "serving Swagger UI failed");
            Problem::not_found("Swagger UI could not be served").error_response()
        }
    }
}

/// A GET resource whose other methods get 405 problem+json.
fn get_only(path: &str) -> Resource {
    web::resource(path).default_service(web::to(|req: HttpRequest| async move {
        Problem::method_not_allowed(req.method().as_str(), "GET").error_response()
    }))
}

/// Mount the document and Swagger UI (before the admin fallback, which
/// answers 404 for every other path under `/admin`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_only(DOCUMENT_PATH).route(web::get().to(openapi_json)))
        .service(get_only(DOCS_PATH).route(web::get().to(docs_redirect)))
        .service(get_only(&format!("{DOCS_PATH}/{{file:.*}}")).route(web::get().to(docs_file)));
}

#[cfg(test)]
pub(crate) mod tests;
