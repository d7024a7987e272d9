//! The operator's status changes: revoke (final), suspend (2-bit lists
//! only) and reinstate (from suspended). Repeating a change is a no-op
//! that answers the record unchanged, with no second event. The store
//! applies a change only if the credential still has the status it was
//! decided on, so concurrent changes cannot skip a rule.

use serde_json::json;
use thiserror::Error;

use super::status_list_uri;
use crate::model::{CredentialRecord, CredentialStatus, EventKind, NewEvent, StatusChange};
use crate::ports::{IssuanceStore, IssuerTenant, LifecycleStore, StoreFailure};
use crate::service::Issuer;

/// What the operator does to a credential's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusAction {
    /// Valid or suspended → revoked (INVALID), for good.
    Revoke,
    /// Valid → suspended.
    Suspend,
    /// Suspended → valid.
    Reinstate,
}

impl StatusAction {
    /// Every action.
    pub const ALL: [StatusAction; 3] = [Self::Revoke, Self::Suspend, Self::Reinstate];

    /// Its name in the admin API path: `revoke`, `suspend`, `reinstate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revoke => "revoke",
            Self::Suspend => "suspend",
            Self::Reinstate => "reinstate",
        }
    }

    /// The action named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The status it leads to.
    pub fn target(self) -> CredentialStatus {
        match self {
            Self::Revoke => CredentialStatus::Revoked,
            Self::Suspend => CredentialStatus::Suspended,
            Self::Reinstate => CredentialStatus::Valid,
        }
    }

    /// The event of the change.
    fn event(self) -> EventKind {
        match self {
            Self::Revoke => EventKind::CredentialRevoked,
            Self::Suspend => EventKind::CredentialSuspended,
            Self::Reinstate => EventKind::CredentialReinstated,
        }
    }
}

/// Why a status change was refused.
#[derive(Debug, Error)]
pub enum StatusChangeCause {
    /// The tenant has no credential with that id.
    #[error("no such credential")]
    UnknownCredential,
    /// The tenant has no offer with that id.
    #[error("no such offer")]
    UnknownOffer,
    /// The credential has no status list entry (status lists were off for
    /// its configuration or offer), so its status cannot change.
    #[error("the credential has no status list entry")]
    NoStatusEntry,
    /// Suspension needs a list of 2 bits per entry; the credential's has 1.
    #[error("the credential's status list has 1 bit per entry: it can be revoked, not suspended")]
    SuspendNeedsTwoBits,
    /// The credential is revoked; that is final.
    #[error("the credential is revoked, which is final")]
    RevokedIsFinal,
    /// The store failed; nothing changed.
    #[error("the store failed: {0}")]
    Store(#[from] StoreFailure),
}

/// What to do with one credential.
enum Decision {
    /// Nothing: it already has the action's status.
    Unchanged,
    /// Change it from its status to the action's.
    Change,
}

/// Attempts at one credential's change when concurrent changes keep
/// winning (each re-reads it).
const ATTEMPTS: usize = 3;

impl<S: IssuanceStore + LifecycleStore, P> Issuer<S, P> {
    /// Apply `action` to credential `credential_id` of `tenant` and answer
    /// its record as it is then.
    #[tracing::instrument(name = "issuer.change_credential_status", skip_all, fields(tenant = tenant.id()))]
    pub async fn change_credential_status<T: IssuerTenant>(
        &self,
        tenant: &T,
        credential_id: &str,
        action: StatusAction,
    ) -> Result<CredentialRecord, StatusChangeCause> {
        for _ in 0..ATTEMPTS {
            let mut record = self
                .store
                .credential(tenant.id(), credential_id)
                .await?
                .ok_or(StatusChangeCause::UnknownCredential)?;
            let Decision::Change = self.decide(&record, action).await? else {
                return Ok(record);
            };
            let change = self.status_change(tenant, &record, action);
            let applied = self
                .store
                .change_status(tenant.id(), &[change], self.now())
                .await?;
            if applied.first() == Some(&true) {
                tracing::info!(tenant = tenant.id(), credential = %record.id, action = action.as_str(), "credential status changed");
                record.status = action.target();
                return Ok(record);
            }
            // Another change came first: decide again on what it left.
        }
        Err(StatusChangeCause::Store(StoreFailure(
            format!("the status of credential '{credential_id}' kept changing concurrently").into(),
        )))
    }

    /// Apply `action` to every credential of offer `offer_id` of `tenant`
    /// it applies to (those with a status list entry whose status allows
    /// it; one already there, or revoked when suspending or reinstating,
    /// is left as it is), all in one store transaction; answer the offer's
    /// credentials as they are then. Refused as a whole when the offer's
    /// credentials have no status list entry, or when suspending one on a
    /// 1-bit list.
    #[tracing::instrument(name = "issuer.change_offer_status", skip_all, fields(tenant = tenant.id()))]
    pub async fn change_offer_status<T: IssuerTenant>(
        &self,
        tenant: &T,
        offer_id: &str,
        action: StatusAction,
    ) -> Result<Vec<CredentialRecord>, StatusChangeCause> {
        self.store
            .offer(tenant.id(), offer_id)
            .await?
            .ok_or(StatusChangeCause::UnknownOffer)?;
        let credentials: Vec<CredentialRecord> = self
            .store
            .credentials_of_offer(offer_id)
            .await?
            .into_iter()
            .filter(|c| c.tenant == tenant.id())
            .collect();
        if !credentials.is_empty() && credentials.iter().all(|c| c.status_entry.is_none()) {
            return Err(StatusChangeCause::NoStatusEntry);
        }
        let mut changes = Vec::new();
        for c in credentials.iter().filter(|c| c.status_entry.is_some()) {
            match self.decide(c, action).await {
                Ok(Decision::Change) => changes.push(self.status_change(tenant, c, action)),
                Ok(Decision::Unchanged) | Err(StatusChangeCause::RevokedIsFinal) => {}
                Err(e) => return Err(e),
            }
        }
        if !changes.is_empty() {
            let applied = self
                .store
                .change_status(tenant.id(), &changes, self.now())
                .await?;
            let count = applied.iter().filter(|a| **a).count();
            tracing::info!(
                tenant = tenant.id(),
                offer = offer_id,
                action = action.as_str(),
                count,
                "credential statuses changed"
            );
        }
        Ok(self
            .store
            .credentials_of_offer(offer_id)
            .await?
            .into_iter()
            .filter(|c| c.tenant == tenant.id())
            .collect())
    }

    /// The rules: what `action` does to `record`.
    async fn decide(
        &self,
        record: &CredentialRecord,
        action: StatusAction,
    ) -> Result<Decision, StatusChangeCause> {
        let entry = record
            .status_entry
            .ok_or(StatusChangeCause::NoStatusEntry)?;
        use CredentialStatus::{Revoked, Suspended, Valid};
        match (record.status, action) {
            (s, a) if s == a.target() => Ok(Decision::Unchanged),
            (Revoked, _) => Err(StatusChangeCause::RevokedIsFinal),
            (Valid | Suspended, StatusAction::Revoke) | (Suspended, StatusAction::Reinstate) => {
                Ok(Decision::Change)
            }
            (Valid, StatusAction::Suspend) => {
                let bits = self
                    .store
                    .status_list(&record.tenant, entry.list)
                    .await?
                    .map_or(self.settings.status_lists.bits, |l| l.bits);
                if bits < 2 {
                    Err(StatusChangeCause::SuspendNeedsTwoBits)
                } else {
                    Ok(Decision::Change)
                }
            }
            // Already there (the first arm).
            (Suspended, StatusAction::Suspend) | (Valid, StatusAction::Reinstate) => {
                Ok(Decision::Unchanged)
            }
        }
    }

    /// The store's change of `record` by `action`, with its event.
    fn status_change<T: IssuerTenant>(
        &self,
        tenant: &T,
        record: &CredentialRecord,
        action: StatusAction,
    ) -> StatusChange {
        let status_list = record
            .status_entry
            .map(|e| json!({ "uri": status_list_uri(tenant.issuer(), e.list), "idx": e.index }));
        StatusChange {
            credential_id: record.id.clone(),
            from: record.status,
            to: action.target(),
            event: NewEvent {
                tenant: tenant.id().to_owned(),
                offer_id: record.offer_id.clone(),
                kind: action.event(),
                detail: json!({
                    "credentialId": record.id,
                    "credentialConfigurationId": record.credential_configuration_id,
                    "statusList": status_list,
                }),
                created_at: self.now(),
            },
        }
    }
}
