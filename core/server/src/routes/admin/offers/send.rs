//! `POST /admin/v1/offers/{id}/send` and
//! `POST /admin/v1/tenants/{tenant}/offers/{id}/send`: push an offer to a
//! wallet's Credential Offer Endpoint (OID4VCI 1.0 §4.1), given directly
//! (`walletEndpoint`) or read from the wallet's metadata
//! (`walletMetadataUrl`), to `[offer_push] allowed_origins` only. The rules
//! are [`sigil_issuer::offer_push`]; here are the body, the HTTP client
//! ([`Wallets`], no redirects, a deadline, a size cap) and the answers.
//!
//! Every attempt that reached the point of calling the endpoint records an
//! `offer_sent` event, delivered or not. The URL called carries the offer
//! (by value, with its pre-authorized code): it is never logged, recorded or
//! echoed; answers and events name the endpoint without its query.

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use sigil_issuer::model::{Offer, OfferStatus};
use sigil_issuer::offer_push::{
    Delivery, HttpFailure, MAX_METADATA_BYTES, PushRefusal, PushTarget, TIMEOUT, WalletHttp,
    push_offer,
};
use utoipa::ToSchema;

use super::links::offer_links;
use super::view::load;
use crate::problem::{FieldError, Problem, ProblemType};
use crate::routes::admin::access::{Admin, printable};
use crate::routes::admin::body::AdminJson;
use crate::state::{AppState, now};

/// Mount the two routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use crate::routes::admin::resource;
    cfg.service(resource("/offers/{id}/send", "POST").route(web::post().to(send_default)))
        .service(
            resource("/tenants/{tenant}/offers/{id}/send", "POST")
                .route(web::post().to(send_for_tenant)),
        );
}

/// The body: exactly one of the two members.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(examples(json!({"walletEndpoint": "https://wallet.example.com/credential-offer"})))]
pub struct SendOffer {
    /// The wallet's Credential Offer Endpoint.
    #[serde(default)]
    pub wallet_endpoint: Option<String>,
    /// A JSON document (wallet metadata) with `credential_offer_endpoint`.
    #[serde(default)]
    pub wallet_metadata_url: Option<String>,
}

/// An offer delivered to a wallet.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({
    "endpoint": "https://wallet.example.com/credential-offer",
    "offerId": "0f8e2c1a-5b7d-4e0f-9a41-3c2d1e0b9f77",
    "sent": true,
    "status": 200
})))]
pub struct OfferSent {
    /// The endpoint called, without its query (which carries the offer).
    pub endpoint: String,
    /// The offer.
    pub offer_id: String,
    /// `true`.
    pub sent: bool,
    /// The wallet's HTTP status.
    pub status: Option<u16>,
}

impl SendOffer {
    fn target(self) -> Result<PushTarget, Problem> {
        match (self.wallet_endpoint, self.wallet_metadata_url) {
            (Some(e), None) => Ok(PushTarget::Endpoint(e)),
            (None, Some(m)) => Ok(PushTarget::Metadata(m)),
            (e, _) => Err(Problem::validation(
                "the body must name exactly one wallet URL",
                vec![FieldError {
                    field: "$".into(),
                    message: format!(
                        "{}; give exactly one of walletEndpoint (the wallet's credential offer endpoint) and walletMetadataUrl (a JSON document with credential_offer_endpoint)",
                        if e.is_some() {
                            "both members are given"
                        } else {
                            "neither member is given"
                        }
                    ),
                }],
            )),
        }
    }
}

/// Push an offer to a wallet's credential offer endpoint (OID4VCI §4.1).
///
/// The endpoint is given (`walletEndpoint`) or read from the wallet's
/// metadata (`walletMetadataUrl`); only origins of `[offer_push]
/// allowed_origins` are called. The offer may be of any tenant the caller
/// sees.
#[utoipa::path(
    post,
    path = "/admin/v1/offers/{offerId}/send",
    tag = "offers",
    operation_id = "sendOffer",
    params(("offerId" = String, Path, description = "The offer's id (of any tenant the caller sees)")),
    request_body = SendOffer,
    responses(
        (status = 200, description = "The wallet accepted the offer (event `offer_sent`, delivered true)", body = OfferSent),
        (status = 400, description = "`validation`: not exactly one wallet URL, or one that cannot be used", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`origin-not-allowed`: the wallet's origin is not in `[offer_push] allowed_origins`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`offer-not-sendable`: the offer is used, expired or revoked", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`wallet-refused-offer`, `wallet-unreachable` or `wallet-metadata-unusable`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such offer, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn send_default(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: AdminJson<SendOffer>,
) -> Result<HttpResponse, Problem> {
    let offer = load(&state, &admin, &path).await?;
    send(&state, offer, body.into_inner().target()?).await
}

/// Push a tenant's offer to a wallet's credential offer endpoint.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant}/offers/{offerId}/send",
    tag = "offers",
    operation_id = "sendTenantOffer",
    params(("tenant" = String, Path, description = "Tenant id (`[tenants.<id>]`)", example = "acme"), ("offerId" = String, Path, description = "The offer's id")),
    request_body = SendOffer,
    responses(
        (status = 200, description = "The wallet accepted the offer (event `offer_sent`, delivered true)", body = OfferSent),
        (status = 400, description = "`validation`: not exactly one wallet URL, or one that cannot be used", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`origin-not-allowed`: the wallet's origin is not in `[offer_push] allowed_origins`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`offer-not-sendable`: the offer is used, expired or revoked", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`wallet-refused-offer`, `wallet-unreachable` or `wallet-metadata-unusable`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such tenant or offer, or a tenant the caller may not see", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn send_for_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: AdminJson<SendOffer>,
) -> Result<HttpResponse, Problem> {
    let (tenant, id) = path.into_inner();
    let t = admin.tenant(&state, &tenant)?;
    let offer = load(&state, &admin, &id).await?;
    if offer.tenant != t.id {
        return Err(Problem::not_found(format!("no offer '{}'", printable(&id))));
    }
    send(&state, offer, body.into_inner().target()?).await
}

async fn send(state: &AppState, offer: Offer, target: PushTarget) -> Result<HttpResponse, Problem> {
    let t = state
        .tenants
        .get(&offer.tenant)
        .ok_or_else(|| Problem::not_found("the offer's tenant is gone"))?;
    let links = offer_links(state, t, &offer);
    let n = now();
    let d = push_offer(
        &Wallets(state.metrics.clone()),
        &state.settings.offer_push,
        &offer,
        &links,
        &target,
        n,
    )
    .await
    .map_err(|e| refused(&offer.id, e))?;
    tracing::info!(
        offer = %offer.id,
        endpoint = %d.endpoint,
        delivered = d.delivered,
        status = ?d.status,
        "offer pushed to a wallet"
    );
    if let Err(e) = state.store.append_event(d.event(&offer, n)).await {
        // The wallet has the offer (or refused it) either way; say so.
        tracing::error!(error = %e, offer = %offer.id, "recording offer_sent failed");
    }
    answer(&offer.id, &d)
}

/// 200 when delivered, else the wallet's refusal or silence as a 502.
fn answer(offer_id: &str, d: &Delivery) -> Result<HttpResponse, Problem> {
    let endpoint = printable(&d.endpoint);
    match (d.delivered, d.status) {
        (true, _) => Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(OfferSent {
                endpoint: d.endpoint.clone(),
                offer_id: offer_id.to_owned(),
                sent: true,
                status: d.status,
            })),
        (false, Some(status)) => Err(Problem::new(
            ProblemType::WalletRefusedOffer,
            format!(
                "the wallet at {endpoint} answered HTTP {status}{}. The offer was not delivered (event offer_sent, delivered false); check that this is the wallet's credential offer endpoint and that it accepts a GET with credential_offer_uri or credential_offer, then send again",
                if (300..400).contains(&status) {
                    ", a redirect, which Sigil does not follow: give the URL it redirects to"
                } else {
                    ""
                }
            ),
        )),
        (false, None) => Err(Problem::new(
            ProblemType::WalletUnreachable,
            format!(
                "the wallet at {endpoint} could not be reached: {}. The offer was not delivered (event offer_sent, delivered false); check the URL and that the wallet is up, then send again",
                d.error.as_deref().unwrap_or("no answer")
            ),
        )),
    }
}

/// The problem for a push that sent nothing.
fn refused(offer_id: &str, e: PushRefusal) -> Problem {
    match e {
        PushRefusal::NotSendable(status) => Problem::new(
            ProblemType::OfferNotSendable,
            format!(
                "offer '{offer_id}' {}; only an offer no wallet has used yet (created or resolved, not expired) can be sent. Create a new offer and send that",
                match status {
                    OfferStatus::Expired => "has expired".to_owned(),
                    OfferStatus::Revoked => "was revoked".to_owned(),
                    OfferStatus::Consumed =>
                        "is consumed: every credential it offered was issued".to_owned(),
                    OfferStatus::Invalidated =>
                        "is invalidated: too many wrong transaction codes were sent".to_owned(),
                    other => format!("is {other}: a wallet already redeemed it"),
                }
            ),
        ),
        PushRefusal::Disabled => Problem::new(
            ProblemType::OriginNotAllowed,
            "pushing offers is off: no wallet origin is allowed. Add the wallet's origin to the configuration, e.g. [offer_push] allowed_origins = [\"https://wallet.example.com\"], and restart",
        ),
        PushRefusal::OriginNotAllowed { role, origin } => Problem::new(
            ProblemType::OriginNotAllowed,
            format!(
                "{} is at {}, which [offer_push] allowed_origins does not include; if this wallet is trusted, add \"{}\" there and restart",
                role.as_str(),
                printable(&origin),
                printable(&origin)
            ),
        ),
        PushRefusal::BadUrl { role, reason } => Problem::validation(
            "the wallet's URL cannot be used",
            vec![FieldError {
                field: role.as_str().into(),
                message: format!("the URL {reason}"),
            }],
        ),
        PushRefusal::MetadataUnusable { url, reason } => Problem::new(
            ProblemType::WalletMetadataUnusable,
            format!(
                "the wallet metadata at {} cannot be used: {reason}. Nothing was sent; check walletMetadataUrl, or give walletEndpoint instead",
                printable(&url)
            ),
        ),
    }
}

/// The [`WalletHttp`] port over `reqwest`: no redirects followed, every
/// call within [`TIMEOUT`], metadata read up to [`MAX_METADATA_BYTES`];
/// each call recorded in its metrics (`offer_push`).
#[derive(Debug, Clone)]
pub struct Wallets(pub sigil_metrics::Metrics);

/// The client of every push (one connection pool).
fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| crate::outbound::client(Some(TIMEOUT)))
}

/// Why a call failed, in words that never hold the URL (which may carry
/// the offer): the kind of failure and its innermost cause.
fn failure(e: reqwest::Error) -> HttpFailure {
    let text = crate::outbound::failure(e, TIMEOUT);
    match text.split_once(": ") {
        // A cause quoting the offer is left out.
        Some((what, cause)) if cause.contains("credential_offer") => HttpFailure(what.to_owned()),
        _ => HttpFailure(text),
    }
}

impl WalletHttp for Wallets {
    async fn deliver(&self, url: &Url) -> Result<u16, HttpFailure> {
        let request = client().get(url.as_str());
        let response = crate::outbound::send(&self.0, "offer_push", request)
            .await
            .map_err(failure)?;
        Ok(response.status().as_u16())
    }

    async fn fetch(&self, url: &Url) -> Result<(u16, Vec<u8>), HttpFailure> {
        let request = client()
            .get(url.as_str())
            .header("accept", "application/json");
        let mut response = crate::outbound::send(&self.0, "offer_push", request)
            .await
            .map_err(failure)?;
        let status = response.status().as_u16();
        let too_large = || HttpFailure(format!("it is larger than {MAX_METADATA_BYTES} bytes"));
        if response
            .content_length()
            .is_some_and(|n| n > MAX_METADATA_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failure)? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_METADATA_BYTES {
                return Err(too_large());
            }
        }
        Ok((status, body))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn the_body_names_exactly_one_wallet_url() {
        let read = |body: &str| {
            crate::routes::admin::body::read::<SendOffer>(body.as_bytes())
                .and_then(SendOffer::target)
        };
        assert_eq!(
            read(r#"{"walletEndpoint": "https://w.example/o"}"#).unwrap(),
            PushTarget::Endpoint("https://w.example/o".into())
        );
        assert_eq!(
            read(r#"{"walletMetadataUrl": "https://w.example/m"}"#).unwrap(),
            PushTarget::Metadata("https://w.example/m".into())
        );
        for bad in [
            "{}",
            r#"{"walletEndpoint": "a", "walletMetadataUrl": "b"}"#,
            r#"{"walletEndpoint": "a", "wallet": "b"}"#,
            r#"{"walletEndpoint": 7}"#,
        ] {
            let p = read(bad).unwrap_err();
            assert_eq!(p.status, 400, "{bad}");
        }
    }

    /// A wallet that cannot be reached: the failure names the cause and
    /// never the URL called, which carries the offer.
    #[tokio::test]
    async fn an_unreachable_wallet_is_named_without_the_offer() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = Url::parse(&format!(
            "http://127.0.0.1:{port}/offer?credential_offer=%7B%22pre-authorized_code%22%3A%22SECRET%22%7D"
        ))
        .unwrap();
        let HttpFailure(reason) = Wallets(sigil_metrics::Metrics::new())
            .deliver(&url)
            .await
            .unwrap_err();
        assert!(reason.starts_with("the connection failed"), "{reason}");
        assert!(
            !reason.contains("SECRET") && !reason.contains("127.0.0.1"),
            "{reason}"
        );
    }
}
