//! Issuer metadata (OID4VCI §12.2), authorization server metadata (RFC 8414)
//! and the JWT VC issuer metadata with the issuer's JWKS (SD-JWT VC §5).

use actix_web::{HttpRequest, HttpResponse, web};
use sigil_issuer::metadata;

use super::reply;
use crate::state::AppState;

/// `GET /.well-known/openid-credential-issuer[/<tenant>]`.
pub async fn issuer(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match reply::tenant(&state, &req) {
        Ok(t) => reply::metadata(&t.keys.load().metadata),
        Err(e) => e.response(),
    }
}

/// `GET /.well-known/oauth-authorization-server[/<tenant>]`: the issuer is its own AS.
pub async fn authorization_server(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let scopes: Vec<&str> = state
        .settings
        .tenant_configurations(&t.id)
        .into_iter()
        .filter_map(|c| c.scope.as_deref())
        .collect();
    reply::metadata(&metadata::authorization_server(
        &t.issuer,
        &state.settings.authorization,
        &scopes,
    ))
}

/// `GET /.well-known/jwt-vc-issuer[/<tenant>]`.
pub async fn jwt_vc_issuer(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    reply::metadata(&metadata::jwt_vc_issuer(&t.issuer, &t.published()))
}

/// `GET /.well-known/did.json` (default tenant) and `GET /<tenant>/did.json`:
/// the `did:web` document of the tenant's URL, listing its keys.
pub async fn did_web(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let Some(did) = &t.did_web else {
        return HttpResponse::NotFound().finish();
    };
    let doc = sigil_keys::did::did_document(did, &t.published());
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=60"))
        .content_type("application/did+json")
        .json(doc)
}
