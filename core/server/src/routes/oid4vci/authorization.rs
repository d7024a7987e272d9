//! The authorization code flow's browser and wallet endpoints: `POST /par`,
//! `GET /authorize` and `GET /login/callback` (each also under
//! `/<tenant>`). The rules are the issuer's; this is the HTTP around them.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use sigil_issuer::endpoints::authorize::{AuthorizeError, LoginCallback};
use sigil_issuer::endpoints::dpop::DpopTarget;
use sigil_issuer::endpoints::par::{AuthorizationCause, AuthorizationRequest};
use sigil_issuer::errors::ErrorBody;

use super::reply;
use crate::state::AppState;

/// The values of every `DPoP` header of `req`.
pub fn dpop_headers(req: &HttpRequest) -> Vec<&str> {
    req.headers()
        .get_all("dpop")
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .collect()
}

/// `POST /par` (RFC 9126): 201 with the `request_uri`.
pub async fn par(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    let request = match AuthorizationRequest::from_form(content_type, &body) {
        Ok(r) => r,
        Err(cause) => return par_error(&state, &t.id, &cause),
    };
    let url = format!("{}/par", t.issuer);
    let target = DpopTarget {
        method: "POST",
        url: &url,
        access_token: None,
    };
    let jkt = match state.issuer.dpop(&t.id, &dpop_headers(&req), target).await {
        Ok(p) => p.map(|p| p.jkt),
        Err(f) => return par_error(&state, &t.id, &AuthorizationCause::Dpop(f)),
    };
    match state.issuer.push_authorization(t, &request, jkt).await {
        Ok(pushed) => {
            let mut r = reply::no_store(StatusCode::CREATED, &pushed);
            with_dpop_nonce(&state, &t.id, &mut r);
            r
        }
        Err(cause) => par_error(&state, &t.id, &cause),
    }
}

fn par_error(state: &AppState, tenant: &str, cause: &AuthorizationCause) -> HttpResponse {
    let code = cause.code();
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let status = if status == StatusCode::FORBIDDEN {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let mut r = reply::no_store(status, &ErrorBody::new(code.as_str(), &cause.description()));
    with_dpop_nonce(state, tenant, &mut r);
    r
}

/// Adds a fresh `DPoP-Nonce` when the configuration uses them.
pub fn with_dpop_nonce(state: &AppState, tenant: &str, r: &mut HttpResponse) {
    if let Some(nonce) = state.issuer.dpop_nonce(tenant)
        && let Ok(v) = actix_web::http::header::HeaderValue::from_str(&nonce)
    {
        r.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("dpop-nonce"),
            v,
        );
    }
}

fn query_pairs(req: &HttpRequest) -> Option<Vec<(String, String)>> {
    serde_urlencoded::from_str(req.query_string()).ok()
}

/// `GET /authorize`: to the provider's login, or back to the wallet.
pub async fn authorize(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let request = query_pairs(&req)
        .ok_or_else(|| AuthorizationCause::Invalid("the query is not valid URL encoding".into()))
        .and_then(AuthorizationRequest::from_pairs);
    let answer = match request {
        Ok(r) => {
            state
                .issuer
                .authorize(t, &r, state.providers.as_ref())
                .await
        }
        Err(cause) => Err(cause.into()),
    };
    browser(answer)
}

/// `GET /login/callback`: the provider's answer, then back to the wallet.
pub async fn login_callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let callback = LoginCallback::from_pairs(query_pairs(&req).unwrap_or_default());
    browser(
        state
            .issuer
            .login_callback(t, &callback, state.providers.as_ref())
            .await,
    )
}

/// A redirect (303 for the browser), or a page that says what went wrong.
fn browser(answer: Result<String, AuthorizeError>) -> HttpResponse {
    match answer {
        Ok(location)
        | Err(AuthorizeError {
            redirect: Some(location),
            ..
        }) => HttpResponse::Found()
            .insert_header(("Location", location))
            .insert_header(("Cache-Control", "no-store"))
            .finish(),
        Err(AuthorizeError {
            cause,
            redirect: None,
        }) => error_page(&cause),
    }
}

/// The page a person sees when the wallet cannot be told (RFC 6749 §4.1.2.1).
fn error_page(cause: &AuthorizationCause) -> HttpResponse {
    let code = cause.code();
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let message = html_escape(&cause.description());
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in failed</title>\
<meta name=\"viewport\" content=\"width=device-width\"></head>\n<body style=\"font-family:sans-serif;max-width:36em;margin:3em auto\">\
<h1>Sign-in failed</h1>\n<p>{message}</p>\n<p>Go back to your wallet and start again. (Error: <code>{}</code>)</p>\n</body></html>\n",
        code.as_str()
    );
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ))
        .content_type("text/html; charset=utf-8")
        .body(body)
}

fn html_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}
