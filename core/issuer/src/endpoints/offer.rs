//! `GET /credential-offer/{id}`: the offer by reference (OID4VCI §4.1.3).

use serde_json::Value;

use crate::model::{EventKind, NewEvent, OfferStatus};
use crate::offer::offer_object;
use crate::ports::{IssuanceStore, IssuerTenant, StoreFailure};
use crate::service::Issuer;

/// Why an offer cannot be served.
#[derive(Debug)]
pub enum OfferCause {
    /// No such offer for this tenant, or it expired, was revoked or used.
    NotFound,
    /// Reading it failed.
    Store(StoreFailure),
}

impl OfferCause {
    /// The `error` member.
    pub fn error(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Store(_) => "server_error",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::Store(_) => 500,
        }
    }

    /// What the wallet is told.
    pub fn description(&self) -> String {
        match self {
            Self::NotFound => "no such credential offer, or it expired or was revoked".to_owned(),
            Self::Store(_) => "the offer could not be read; try again".to_owned(),
        }
    }
}

impl<S: IssuanceStore, P> Issuer<S, P> {
    /// The offer object of `offer_id`; the first fetch marks the offer
    /// `resolved`. Only offers that can still be redeemed are served.
    #[tracing::instrument(name = "issuer.credential_offer", skip_all, fields(tenant = tenant.id(), offer = offer_id))]
    pub async fn credential_offer<T: IssuerTenant>(
        &self,
        tenant: &T,
        offer_id: &str,
    ) -> Result<Value, OfferCause> {
        if !crate::offer::plausible_offer_id(offer_id) {
            return Err(OfferCause::NotFound);
        }
        let now = self.now();
        let offer = self
            .store
            .offer(tenant.id(), offer_id)
            .await
            .map_err(OfferCause::Store)?
            .ok_or(OfferCause::NotFound)?;
        match offer.status() {
            OfferStatus::Created => {
                let event = NewEvent::bare(tenant.id(), &offer.id, EventKind::OfferResolved, now);
                if let Err(e) = self.store.resolve_offer(&offer.id, now, event).await {
                    // Serving the offer matters more than its status.
                    tracing::warn!(error = %e, offer = %offer.id, "marking an offer resolved failed");
                }
            }
            OfferStatus::Resolved => {}
            OfferStatus::TokenIssued
            | OfferStatus::CredentialIssued
            | OfferStatus::Deferred
            | OfferStatus::Consumed
            | OfferStatus::Expired
            | OfferStatus::Revoked
            | OfferStatus::Invalidated => return Err(OfferCause::NotFound),
        }
        let several_servers = !self
            .settings
            .tenant_authorization_servers(tenant.id())
            .is_empty();
        Ok(offer_object(
            tenant.issuer(),
            &offer,
            &self.codes.code(&offer.id),
            several_servers,
        ))
    }
}
