//! The in-memory [`LifecycleStore`]: status lists, credential status and
//! deferred transactions, with the store's single-use rules.

use crate::model::{
    CredentialFilter, CredentialRecord, CredentialStatus, DeferredStatus, DeferredTransaction,
    Finish, Issuance, NewEvent, OfferStatus, Settlement, StatusChange, StatusList,
};
use crate::ports::{LifecycleStore, StoreFailure};

use super::fakes::{FakeStore, lock};

impl LifecycleStore for FakeStore {
    async fn open_status_list(
        &self,
        tenant: &str,
        size: u64,
        bits: u8,
        now: i64,
    ) -> Result<StatusList, StoreFailure> {
        self.check()?;
        let mut lists = lock(&self.status_lists);
        if let Some(l) = lists.iter().find(|l| l.tenant == tenant && l.open) {
            return Ok(l.clone());
        }
        let number = lists
            .iter()
            .filter(|l| l.tenant == tenant)
            .map(|l| l.number)
            .max()
            .unwrap_or(0)
            + 1;
        let list = StatusList {
            tenant: tenant.to_owned(),
            number,
            size,
            bits,
            version: 0,
            open: true,
            created_at: now,
        };
        lists.push(list.clone());
        Ok(list)
    }

    async fn reserve_status_indices(
        &self,
        tenant: &str,
        list: u32,
        candidates: &[u64],
        _now: i64,
    ) -> Result<Vec<u64>, StoreFailure> {
        self.check()?;
        let mut reserved = lock(&self.reserved);
        Ok(candidates
            .iter()
            .copied()
            .filter(|&i| reserved.insert((tenant.to_owned(), list, i)))
            .collect())
    }

    async fn close_status_list(&self, tenant: &str, list: u32) -> Result<(), StoreFailure> {
        self.check()?;
        for l in lock(&self.status_lists).iter_mut() {
            if l.tenant == tenant && l.number == list {
                l.open = false;
            }
        }
        Ok(())
    }

    async fn status_list(
        &self,
        tenant: &str,
        number: u32,
    ) -> Result<Option<StatusList>, StoreFailure> {
        self.check()?;
        Ok(lock(&self.status_lists)
            .iter()
            .find(|l| l.tenant == tenant && l.number == number)
            .cloned())
    }

    async fn status_entries(
        &self,
        tenant: &str,
        number: u32,
    ) -> Result<Vec<(u64, CredentialStatus)>, StoreFailure> {
        self.check()?;
        Ok(lock(&self.credentials)
            .iter()
            .filter(|c| c.tenant == tenant && c.status != CredentialStatus::Valid)
            .filter_map(|c| {
                c.status_entry
                    .filter(|e| e.list == number)
                    .map(|e| (e.index, c.status))
            })
            .collect())
    }

    async fn credential(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<CredentialRecord>, StoreFailure> {
        self.check()?;
        Ok(lock(&self.credentials)
            .iter()
            .find(|c| c.tenant == tenant && c.id == id)
            .cloned())
    }

    async fn find_credentials(
        &self,
        f: &CredentialFilter,
    ) -> Result<Vec<CredentialRecord>, StoreFailure> {
        self.check()?;
        let mut found: Vec<CredentialRecord> = lock(&self.credentials)
            .iter()
            .filter(|c| c.tenant == f.tenant)
            .filter(|c| f.offer_id.as_ref().is_none_or(|o| &c.offer_id == o))
            .filter(|c| {
                f.credential_configuration_id
                    .as_ref()
                    .is_none_or(|o| &c.credential_configuration_id == o)
            })
            .filter(|c| f.format.as_ref().is_none_or(|o| &c.format == o))
            .filter(|c| f.status.is_none_or(|s| c.status == s))
            .filter(|c| {
                f.holder_key_thumbprint
                    .as_ref()
                    .is_none_or(|t| c.holder_key_thumbprint.as_ref() == Some(t))
            })
            .filter(|c| {
                f.identifier
                    .as_ref()
                    .is_none_or(|i| c.identifier.as_ref() == Some(i))
            })
            .filter(|c| f.issued_from.is_none_or(|t| c.created_at >= t))
            .filter(|c| f.issued_until.is_none_or(|t| c.created_at < t))
            .filter(|c| {
                f.after
                    .as_ref()
                    .is_none_or(|(t, id)| (c.created_at, &c.id) > (*t, id))
            })
            .cloned()
            .collect();
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        found.truncate(f.limit as usize);
        Ok(found)
    }

    async fn change_status(
        &self,
        tenant: &str,
        changes: &[StatusChange],
        _now: i64,
    ) -> Result<Vec<bool>, StoreFailure> {
        self.check()?;
        let mut credentials = lock(&self.credentials);
        let mut applied = Vec::with_capacity(changes.len());
        for change in changes {
            let hit = credentials.iter_mut().find(|c| {
                c.tenant == tenant && c.id == change.credential_id && c.status == change.from
            });
            let Some(c) = hit else {
                applied.push(false);
                continue;
            };
            c.status = change.to;
            if let Some(entry) = c.status_entry {
                for l in lock(&self.status_lists).iter_mut() {
                    if l.tenant == tenant && l.number == entry.list {
                        l.version += 1;
                    }
                }
            }
            lock(&self.events).push(change.event.clone());
            applied.push(true);
        }
        Ok(applied)
    }

    async fn defer(
        &self,
        nonces: &[(String, i64)],
        transaction: &DeferredTransaction,
        event: NewEvent,
    ) -> Result<Finish, StoreFailure> {
        self.check()?;
        let mut spent = lock(&self.spent);
        if nonces.iter().any(|(n, _)| spent.contains(n)) {
            return Ok(Finish::NonceSpent);
        }
        spent.extend(nonces.iter().map(|(n, _)| n.clone()));
        lock(&self.deferred).insert(transaction.id.clone(), transaction.clone());
        if let Some(o) = lock(&self.offers).get_mut(&transaction.offer_id) {
            o.progress.status = OfferStatus::Deferred;
        }
        lock(&self.events).push(event);
        Ok(Finish::Recorded)
    }

    async fn deferred(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<DeferredTransaction>, StoreFailure> {
        self.check()?;
        Ok(lock(&self.deferred)
            .get(id)
            .filter(|t| t.tenant == tenant)
            .cloned())
    }

    async fn deferred_of_offer(
        &self,
        offer_id: &str,
    ) -> Result<Vec<DeferredTransaction>, StoreFailure> {
        self.check()?;
        let mut found: Vec<_> = lock(&self.deferred)
            .values()
            .filter(|t| t.offer_id == offer_id)
            .cloned()
            .collect();
        found.sort_by_key(|t| t.created_at);
        Ok(found)
    }

    async fn settle_deferred(
        &self,
        tenant: &str,
        id: &str,
        settlement: &Settlement,
        now: i64,
        event: NewEvent,
    ) -> Result<bool, StoreFailure> {
        self.check()?;
        let mut all = lock(&self.deferred);
        let Some(t) = all.get_mut(id).filter(|t| {
            t.tenant == tenant
                && t.expires_at > now
                && matches!(t.status, DeferredStatus::Pending | DeferredStatus::Ready)
        }) else {
            return Ok(false);
        };
        match settlement {
            Settlement::Ready(claims) => {
                t.status = DeferredStatus::Ready;
                t.claims = Some(claims.clone());
            }
            Settlement::Denied(reason) => {
                t.status = DeferredStatus::Denied;
                t.claims = None;
                t.reason = Some(reason.clone());
            }
        }
        t.updated_at = now;
        lock(&self.events).push(event);
        Ok(true)
    }

    async fn collect_deferred(
        &self,
        id: &str,
        issuance: Issuance,
        credentials: &[CredentialRecord],
        offered: &[String],
        event: NewEvent,
    ) -> Result<bool, StoreFailure> {
        self.check()?;
        {
            let mut all = lock(&self.deferred);
            let Some(t) = all
                .get_mut(id)
                .filter(|t| matches!(t.status, DeferredStatus::Pending | DeferredStatus::Ready))
            else {
                return Ok(false);
            };
            t.status = DeferredStatus::Collected;
            t.claims = None;
            t.updated_at = issuance.created_at;
        }
        self.record_issuance(issuance, credentials, offered, event);
        Ok(true)
    }
}
