//! The operator's side of deferred issuance: complete a transaction (its
//! claims from the offer's source, or given) or deny it. The wallet's side
//! is [`super`].

use serde_json::{Map, Value};

use super::super::credential::CredentialCause;
use super::super::issuance::Resolved;
use crate::model::{
    DeferredStatus, DeferredTransaction, EventKind, NewEvent, OfferStatus, Settlement,
};
use crate::ports::{
    AuthorizationStore, ClaimSources, CredentialFormats, IssuanceStore, IssuerTenant,
    LifecycleStore, StoreFailure,
};
use crate::service::Issuer;

/// Longest deny reason the operator may give, in characters.
pub const MAX_REASON: usize = 500;

/// How the operator completes a deferred transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    /// Ask the offer's claim source for the claims now.
    Resolve,
    /// Use these claims (completed as a source's would be).
    Claims(Map<String, Value>),
}

/// Why the operator could not complete or deny a deferred transaction.
#[derive(Debug)]
pub enum SettleCause {
    /// No transaction with this id in the tenant (or its offer is gone).
    Unknown,
    /// The transaction expired.
    Expired,
    /// The transaction is denied or collected already.
    Closed(DeferredStatus),
    /// The transaction changed while this request settled it (a poll
    /// collected it, or another request settled it first).
    Changed,
    /// The transaction's offer was revoked.
    OfferRevoked,
    /// The transaction's configuration is no longer offered.
    ConfigurationGone(String),
    /// The claim source still answers `pending` (its reason).
    SourcePending(String),
    /// The claims could not be resolved or completed: the claim source
    /// failed or refused, or data functions or the mapping failed.
    Claims(CredentialCause),
    /// The deny reason is empty or longer than [`MAX_REASON`] characters.
    Reason,
    /// The store failed.
    Store(StoreFailure),
}

impl SettleCause {
    /// What the operator is told (no claim values).
    pub fn description(&self) -> String {
        match self {
            Self::Unknown => "no deferred transaction with this id".into(),
            Self::Expired => {
                "the deferred transaction has expired; the wallet must start again".into()
            }
            Self::Closed(status) => format!(
                "the deferred transaction is {status}; only pending or ready ones can be completed or denied"
            ),
            Self::Changed => {
                "the deferred transaction changed meanwhile; read the offer and retry".into()
            }
            Self::OfferRevoked => "the deferred transaction's offer is revoked".into(),
            Self::ConfigurationGone(id) => format!(
                "credential configuration '{id}' of the transaction is no longer offered by its tenant"
            ),
            Self::SourcePending(reason) => format!(
                "the claim source still answers pending ({}); complete it with claims, or later",
                reason.chars().take(200).collect::<String>()
            ),
            Self::Claims(c) => format!("the claims could not be resolved: {}", c.description()),
            Self::Reason => format!("reason must be 1 to {MAX_REASON} characters"),
            Self::Store(_) => {
                "the deferred transaction could not be read or stored; nothing changed, try again"
                    .into()
            }
        }
    }
}

impl<S, P> Issuer<S, P>
where
    S: IssuanceStore + AuthorizationStore + LifecycleStore,
    P: ClaimSources + CredentialFormats,
{
    /// Complete transaction `id` of `tenant`: resolve its claims from the
    /// offer's source now, or take the operator's, and store them `Ready`
    /// for the wallet's next poll (event `deferred_completed`). Answers the
    /// transaction as stored (without its claims).
    #[tracing::instrument(name = "issuer.complete_deferred", skip_all, fields(tenant = tenant.id()))]
    pub async fn complete_deferred<T: IssuerTenant>(
        &self,
        tenant: &T,
        id: &str,
        completion: Completion,
    ) -> Result<DeferredTransaction, SettleCause> {
        let now = self.now();
        let mut t = self.open_transaction(tenant, id, now).await?;
        let config = self
            .deferred_configuration(tenant, &t)
            .ok_or_else(|| SettleCause::ConfigurationGone(t.credential_configuration_id.clone()))?;
        let offer = match IssuanceStore::offer(&self.store, tenant.id(), &t.offer_id).await {
            Ok(Some(o)) if o.status() == OfferStatus::Revoked => {
                return Err(SettleCause::OfferRevoked);
            }
            Ok(Some(o)) => o,
            Ok(None) => return Err(SettleCause::Unknown),
            Err(e) => return Err(SettleCause::Store(e)),
        };
        let authorization = self
            .transaction_authorization(&t)
            .await
            .map_err(SettleCause::Store)?;
        let (claims, how) = match completion {
            Completion::Resolve => match self
                .resolve(
                    tenant,
                    &offer,
                    authorization.as_ref(),
                    config,
                    &t.holder_keys,
                )
                .await
                .map_err(SettleCause::Claims)?
            {
                Resolved::Claims(claims) => (claims, "source"),
                Resolved::Pending { reason, .. } => return Err(SettleCause::SourcePending(reason)),
            },
            Completion::Claims(given) => (
                self.given_claims(
                    tenant,
                    &offer,
                    authorization.as_ref(),
                    config,
                    &t.holder_keys,
                    given,
                )
                .map_err(SettleCause::Claims)?,
                "claims",
            ),
        };
        let mut event = settle_event(tenant, &t, EventKind::DeferredCompleted, None, now);
        event.detail["claimsFrom"] = how.into();
        let ready = Settlement::Ready(claims);
        self.settle(tenant, &t, &ready, now, event).await?;
        t.status = DeferredStatus::Ready;
        t.updated_at = now;
        Ok(t)
    }

    /// Deny transaction `id` of `tenant` for `reason`: the wallet's next
    /// poll gets `credential_request_denied` (event `issuance_denied`).
    /// Answers the transaction as stored.
    #[tracing::instrument(name = "issuer.deny_deferred", skip_all, fields(tenant = tenant.id()))]
    pub async fn deny_deferred<T: IssuerTenant>(
        &self,
        tenant: &T,
        id: &str,
        reason: &str,
    ) -> Result<DeferredTransaction, SettleCause> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON {
            return Err(SettleCause::Reason);
        }
        let now = self.now();
        let mut t = self.open_transaction(tenant, id, now).await?;
        let event = settle_event(tenant, &t, EventKind::IssuanceDenied, Some(reason), now);
        let denied = Settlement::Denied(reason.to_owned());
        self.settle(tenant, &t, &denied, now, event).await?;
        t.status = DeferredStatus::Denied;
        t.reason = Some(reason.to_owned());
        t.claims = None;
        t.updated_at = now;
        Ok(t)
    }

    /// Transaction `id` of `tenant`, unexpired and `Pending` or `Ready`.
    async fn open_transaction<T: IssuerTenant>(
        &self,
        tenant: &T,
        id: &str,
        now: i64,
    ) -> Result<DeferredTransaction, SettleCause> {
        if !super::plausible_transaction_id(id) {
            return Err(SettleCause::Unknown);
        }
        let mut t = match self.store.deferred(tenant.id(), id).await {
            Ok(Some(t)) => t,
            Ok(None) => return Err(SettleCause::Unknown),
            Err(e) => {
                tracing::error!(error = %e, "reading a deferred transaction failed");
                return Err(SettleCause::Store(e));
            }
        };
        if t.expires_at <= now {
            return Err(SettleCause::Expired);
        }
        match t.status {
            DeferredStatus::Pending | DeferredStatus::Ready => {
                // Claims never leave the issuer through the admin API.
                t.claims = None;
                Ok(t)
            }
            closed => Err(SettleCause::Closed(closed)),
        }
    }

    /// Store `settlement` on `t`; [`SettleCause::Changed`] when a poll or
    /// another request got there first.
    async fn settle<T: IssuerTenant>(
        &self,
        tenant: &T,
        t: &DeferredTransaction,
        settlement: &Settlement,
        now: i64,
        event: NewEvent,
    ) -> Result<(), SettleCause> {
        match self
            .store
            .settle_deferred(tenant.id(), &t.id, settlement, now, event)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(SettleCause::Changed),
            Err(e) => {
                tracing::error!(error = %e, "settling a deferred transaction failed");
                Err(SettleCause::Store(e))
            }
        }
    }
}

/// The event of settling `t`: its id and configuration, and the deny
/// reason; never claim values.
pub(super) fn settle_event<T: IssuerTenant>(
    tenant: &T,
    t: &DeferredTransaction,
    kind: EventKind,
    reason: Option<&str>,
    now: i64,
) -> NewEvent {
    let mut detail = serde_json::json!({
        "transactionId": t.id,
        "credentialConfigurationId": t.credential_configuration_id,
    });
    if let Some(reason) = reason {
        detail["reason"] = reason.into();
    }
    NewEvent {
        tenant: tenant.id().to_owned(),
        offer_id: t.offer_id.clone(),
        kind,
        detail,
        created_at: now,
    }
}
