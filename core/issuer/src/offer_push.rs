//! Pushing an offer to a wallet (OID4VCI 1.0 §4.1): the issuer sends the
//! Credential Offer with an HTTP `GET` to the wallet's Credential Offer
//! Endpoint, `<endpoint>?credential_offer_uri=…` (by reference) or
//! `?credential_offer=…` (by value), the same query as the offer's
//! `openid-credential-offer://` link, after the endpoint's own query.
//!
//! The operator names the endpoint, or the URL of a wallet metadata
//! document whose `credential_offer_endpoint` (§12.2.2) is read. Every URL
//! Sigil would call (the endpoint, the metadata URL, the endpoint found in
//! the metadata) must be inside `[offer_push] allowed_origins`; only an
//! offer a wallet can still start with (`created`, `resolved`, not past
//! its expiry) is sent. The rules here are independent of HTTP: the calls
//! go through the [`WalletHttp`] port, which follows no redirects, waits
//! at most [`TIMEOUT`] and reads at most [`MAX_METADATA_BYTES`].
//!
//! The outcome of a delivery attempt, sent or not, is a [`Delivery`]; its
//! [`Delivery::event`] is the `offer_sent` event. It names the endpoint
//! without its query: the URL that was called carries the offer (by value,
//! with the pre-authorized code), which is never logged or recorded.

use std::future::Future;
use std::time::Duration;

use serde_json::{Value, json};
use sigil_settings::OfferPushSettings;
use url::Url;

use crate::model::{EventKind, NewEvent, Offer, OfferStatus};
use crate::offer::OfferLinks;

/// Deadline of each call to a wallet.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest wallet metadata document read.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;
/// Longest URL the operator may give.
pub const MAX_URL_CHARS: usize = 2048;
/// Longest `error` recorded in the event.
const MAX_ERROR_CHARS: usize = 200;

/// Where the operator says the wallet is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushTarget {
    /// The wallet's Credential Offer Endpoint (admin body `walletEndpoint`).
    Endpoint(String),
    /// A JSON document with `credential_offer_endpoint` (admin body
    /// `walletMetadataUrl`).
    Metadata(String),
}

/// Why a call to a wallet host got no HTTP answer, in a few words that
/// never contain the URL called (it may carry the offer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpFailure(pub String);

/// The HTTP calls of a push; the server implements it over its client.
/// Neither call follows a redirect, and each gives up after [`TIMEOUT`].
pub trait WalletHttp: Send + Sync {
    /// `GET url` (the offer to the wallet): the answer's status; the
    /// body is not needed.
    fn deliver(&self, url: &Url) -> impl Future<Output = Result<u16, HttpFailure>> + Send;

    /// `GET url` with `Accept: application/json`: the status and the body,
    /// or a failure when the body is larger than [`MAX_METADATA_BYTES`].
    fn fetch(&self, url: &Url) -> impl Future<Output = Result<(u16, Vec<u8>), HttpFailure>> + Send;
}

/// Which URL a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlRole {
    /// `walletEndpoint`.
    Endpoint,
    /// `walletMetadataUrl`.
    MetadataUrl,
    /// `credential_offer_endpoint` of the wallet metadata.
    EndpointInMetadata,
}

impl UrlRole {
    /// How the admin API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Endpoint => "walletEndpoint",
            Self::MetadataUrl => "walletMetadataUrl",
            Self::EndpointInMetadata => "the credential_offer_endpoint of the wallet metadata",
        }
    }
}

/// Why nothing was sent (no event is recorded: no wallet got the offer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushRefusal {
    /// The offer cannot start a wallet's flow any more.
    NotSendable(OfferStatus),
    /// `[offer_push] allowed_origins` is empty.
    Disabled,
    /// A URL the operator gave is not one Sigil can call.
    BadUrl {
        /// Which one.
        role: UrlRole,
        /// What is wrong, for a human.
        reason: String,
    },
    /// A URL is outside the allowed origins.
    OriginNotAllowed {
        /// Which one.
        role: UrlRole,
        /// Its origin (`scheme://host:port`).
        origin: String,
    },
    /// The wallet metadata could not be read or names no usable endpoint.
    MetadataUnusable {
        /// The metadata URL.
        url: String,
        /// What is wrong, for a human.
        reason: String,
    },
}

/// The outcome of sending the offer to the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The endpoint called, without query or fragment.
    pub endpoint: String,
    /// Whether the wallet answered 2xx.
    pub delivered: bool,
    /// The wallet's HTTP status; `None` when it did not answer.
    pub status: Option<u16>,
    /// Why it was not delivered, in a few words; `None` when it was.
    pub error: Option<String>,
}

impl Delivery {
    /// The `offer_sent` event of this attempt on `offer`.
    pub fn event(&self, offer: &Offer, now: i64) -> NewEvent {
        NewEvent {
            tenant: offer.tenant.clone(),
            offer_id: offer.id.clone(),
            kind: EventKind::OfferSent,
            detail: json!({
                "endpoint": self.endpoint,
                "delivered": self.delivered,
                "status": self.status,
                "error": self.error,
            }),
            created_at: now,
        }
    }
}

/// Whether `offer` can still start a wallet's flow at `now`: `Err` with
/// its status when it cannot (used, revoked, invalidated or expired).
pub fn sendable(offer: &Offer, now: i64) -> Result<(), OfferStatus> {
    let status = offer.status();
    if offer.expires_at.is_some_and(|at| at <= now) && status.is_redeemable() {
        return Err(OfferStatus::Expired);
    }
    if status.is_redeemable() {
        Ok(())
    } else {
        Err(status)
    }
}

/// Send `offer` (whose links are `links`) to the wallet named by `target`,
/// calling only origins `rules` allows. `Ok` once the endpoint was called,
/// whatever the wallet answered; `Err` when nothing was sent.
pub async fn push_offer<H: WalletHttp>(
    http: &H,
    rules: &OfferPushSettings,
    offer: &Offer,
    links: &OfferLinks,
    target: &PushTarget,
    now: i64,
) -> Result<Delivery, PushRefusal> {
    sendable(offer, now).map_err(PushRefusal::NotSendable)?;
    if !rules.enabled() {
        return Err(PushRefusal::Disabled);
    }
    let endpoint = match target {
        PushTarget::Endpoint(text) => allowed(rules, UrlRole::Endpoint, text)?,
        PushTarget::Metadata(text) => {
            let url = allowed(rules, UrlRole::MetadataUrl, text)?;
            let found = endpoint_in_metadata(http, &url).await?;
            allowed(rules, UrlRole::EndpointInMetadata, &found).map_err(|e| match e {
                PushRefusal::BadUrl { reason, .. } => PushRefusal::MetadataUnusable {
                    url: url.to_string(),
                    reason: format!("its credential_offer_endpoint {reason}"),
                },
                other => other,
            })?
        }
    };
    let target_url = offer_target(&endpoint, links);
    let shown = without_query(&endpoint);
    Ok(match http.deliver(&target_url).await {
        Ok(status) if (200..300).contains(&status) => Delivery {
            endpoint: shown,
            delivered: true,
            status: Some(status),
            error: None,
        },
        Ok(status) => Delivery {
            endpoint: shown,
            delivered: false,
            status: Some(status),
            error: Some(if (300..400).contains(&status) {
                format!(
                    "the wallet answered HTTP {status}, a redirect, which Sigil does not follow"
                )
            } else {
                format!("the wallet answered HTTP {status}")
            }),
        },
        Err(HttpFailure(reason)) => Delivery {
            endpoint: shown,
            delivered: false,
            status: None,
            error: Some(cut(&reason, MAX_ERROR_CHARS)),
        },
    })
}

/// `text` as a URL Sigil may call for `role`: absolute `http(s)`, no user
/// info or fragment, no offer parameter of its own, inside an allowed origin.
fn allowed(rules: &OfferPushSettings, role: UrlRole, text: &str) -> Result<Url, PushRefusal> {
    let bad = |reason: &str| PushRefusal::BadUrl {
        role,
        reason: reason.to_owned(),
    };
    if text.chars().count() > MAX_URL_CHARS {
        return Err(bad(&format!("is longer than {MAX_URL_CHARS} characters")));
    }
    let url = Url::parse(text).map_err(|e| bad(&format!("is not an absolute URL ({e})")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(bad("is not an http or https URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "carries a user name or password; remove it (it would be recorded in the event)",
        ));
    }
    if url.fragment().is_some() {
        return Err(bad("has a fragment (#…); remove it"));
    }
    if role != UrlRole::MetadataUrl
        && url
            .query_pairs()
            .any(|(k, _)| k == "credential_offer" || k == "credential_offer_uri")
    {
        return Err(bad(
            "already has a credential_offer or credential_offer_uri parameter; give the endpoint without it",
        ));
    }
    if !rules.allows(&url) {
        return Err(PushRefusal::OriginNotAllowed {
            role,
            origin: url.origin().ascii_serialization(),
        });
    }
    Ok(url)
}

/// The `credential_offer_endpoint` of the wallet metadata at `url`.
async fn endpoint_in_metadata<H: WalletHttp>(http: &H, url: &Url) -> Result<String, PushRefusal> {
    let unusable = |reason: String| PushRefusal::MetadataUnusable {
        url: url.to_string(),
        reason,
    };
    let (status, body) = http
        .fetch(url)
        .await
        .map_err(|HttpFailure(reason)| unusable(cut(&reason, MAX_ERROR_CHARS)))?;
    if status != 200 {
        return Err(unusable(format!("it answered HTTP {status}, not 200")));
    }
    let doc: Value = serde_json::from_slice(&body)
        .map_err(|_| unusable("it is not a JSON document".to_owned()))?;
    match doc.get("credential_offer_endpoint") {
        Some(Value::String(endpoint)) => Ok(endpoint.clone()),
        Some(_) => Err(unusable(
            "its credential_offer_endpoint is not a string".to_owned(),
        )),
        None => Err(unusable(
            "it has no credential_offer_endpoint member (the wallet has no endpoint Sigil can push to)"
                .to_owned(),
        )),
    }
}

/// `endpoint` with the offer's query (`credential_offer_uri=…` or
/// `credential_offer=…`, encoded as in its link) after its own.
pub fn offer_target(endpoint: &Url, links: &OfferLinks) -> Url {
    let offer_query = links
        .uri
        .split_once('?')
        .map_or(links.uri.as_str(), |(_, q)| q);
    let query = match endpoint.query() {
        Some(own) if !own.is_empty() => format!("{own}&{offer_query}"),
        _ => offer_query.to_owned(),
    };
    let mut url = endpoint.clone();
    url.set_query(Some(&query));
    url
}

/// `url` without query and fragment: what the event and answers show.
fn without_query(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// `text` cut to `max` characters.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
#[path = "offer_push_tests.rs"]
mod tests;
