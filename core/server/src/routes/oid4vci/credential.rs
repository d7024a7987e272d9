//! `POST /credential`: the `Authorization` header and the JSON body in,
//! [`sigil_issuer::Issuer::credential_with`] (with HTTP to the tenant's
//! external authorization servers), the answer out: `200` with the
//! credentials or `202` with a `transaction_id` (deferred issuance).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use sigil_issuer::endpoints::credential::{CredentialAccess, CredentialOutcome, CredentialRequest};

use super::reply;
use crate::state::AppState;
use crate::tenants::Tenant;

/// What the credential and deferred credential endpoints read besides the
/// body: the `Authorization`, `Content-Type` and `DPoP` headers, and the
/// endpoint's own URL (the `htu` of DPoP proofs).
pub(super) struct WalletHeaders<'r> {
    /// The `Content-Type` header.
    pub(super) content_type: Option<&'r str>,
    authorization: Option<&'r str>,
    dpop: Vec<&'r str>,
    url: String,
}

impl<'r> WalletHeaders<'r> {
    /// The headers of `req` to `endpoint` (a path segment) of tenant `t`.
    pub(super) fn read(req: &'r HttpRequest, t: &Tenant, endpoint: &str) -> Self {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        Self {
            content_type: header("content-type"),
            authorization: header("authorization"),
            dpop: super::authorization::dpop_headers(req),
            url: format!("{}/{endpoint}", t.issuer),
        }
    }

    /// The access the issuer checks.
    pub(super) fn access(&self) -> CredentialAccess<'_> {
        CredentialAccess {
            authorization: self.authorization,
            dpop: &self.dpop,
            url: &self.url,
        }
    }
}

/// `200` with the credentials (§8.3), or `202 Accepted` with the
/// `transaction_id` and `interval` of a deferred issuance (§9); never cached.
pub(super) fn outcome(outcome: &CredentialOutcome) -> HttpResponse {
    match outcome {
        CredentialOutcome::Issued(r) => reply::no_store(StatusCode::OK, r),
        CredentialOutcome::Deferred(d) => reply::no_store(StatusCode::ACCEPTED, d),
    }
}

/// Issue credentials for one configuration.
pub async fn credential(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let headers = WalletHeaders::read(&req, t, "credential");
    let request = CredentialRequest::from_body(headers.content_type, &body);
    let providers = state.providers.as_ref();
    let mut r = match state
        .issuer
        .credential_with(t, headers.access(), request, providers)
        .await
    {
        Ok(o) => outcome(&o),
        Err(cause) => reply::credential_error(cause.code(), &cause.description()),
    };
    super::authorization::with_dpop_nonce(&state, &t.id, &mut r);
    r
}
