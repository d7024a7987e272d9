//! Status list entries for new credentials. Indices are random and
//! unpredictable (HAIP): each instance reserves batches of random
//! candidates of its tenant's open list in the store, whose unique key
//! decides between instances, and hands them out in random order. An index
//! reserved and never used stays VALID and is never handed out again.

use std::collections::HashSet;

use rand::Rng as _;
use rand::rngs::OsRng;
use rand::seq::SliceRandom as _;
use sigil_settings::CredentialConfiguration;

use super::{StatusLists, lock};
use crate::endpoints::credential::CredentialCause;
use crate::model::{Offer, StatusEntry};
use crate::ports::{IssuerTenant, LifecycleStore, StoreFailure};
use crate::service::Issuer;

/// Candidates reserved per refill (at least as many as one request needs):
/// one store round trip per this many credentials.
pub const REFILL: usize = 256;

/// Refills one allocation may try (each may find the list full and open
/// the next) before giving up.
const MAX_REFILLS: usize = 4;

impl StatusLists {
    /// Move up to `want` entries of `tenant`'s pool to `into`.
    fn take(&self, tenant: &str, want: usize, into: &mut Vec<StatusEntry>) {
        let mut pools = lock(&self.pools);
        if let Some(pool) = pools.get_mut(tenant) {
            let keep = pool.len().saturating_sub(want);
            into.extend(pool.drain(keep..));
        }
    }

    /// Add `indices` of list `list` to `tenant`'s pool, in random order.
    fn add(&self, tenant: &str, list: u32, indices: &[u64]) {
        let mut entries: Vec<StatusEntry> = indices
            .iter()
            .map(|&index| StatusEntry { list, index })
            .collect();
        entries.shuffle(&mut OsRng);
        let mut pools = lock(&self.pools);
        let pool = pools.entry(tenant.to_owned()).or_default();
        pool.extend(entries);
        // Interleave with what a concurrent refill added.
        pool.shuffle(&mut OsRng);
    }

    /// Put `entries` taken from `tenant`'s pool back.
    fn restore(&self, tenant: &str, entries: Vec<StatusEntry>) {
        if !entries.is_empty() {
            lock(&self.pools)
                .entry(tenant.to_owned())
                .or_default()
                .extend(entries);
        }
    }

    /// How many entries `tenant`'s pool holds.
    #[cfg(test)]
    pub(crate) fn pooled(&self, tenant: &str) -> usize {
        lock(&self.pools).get(tenant).map_or(0, Vec::len)
    }
}

/// `count` distinct random indices below `size` (`count` at most `size`),
/// from the operating system's generator.
pub fn random_candidates(size: u64, count: usize) -> Vec<u64> {
    let count = count.min(usize::try_from(size).unwrap_or(usize::MAX));
    let mut seen = HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let i = OsRng.gen_range(0..size);
        if seen.insert(i) {
            out.push(i);
        }
    }
    out
}

impl<S: LifecycleStore, P> Issuer<S, P> {
    /// Whether credentials of `config` from `offer` get a status list
    /// entry: the offer's `runtimeOverrides.statusList`, else the
    /// configuration's `status_list`, else `[status_lists] enabled`.
    pub fn wants_status_entry(&self, offer: &Offer, config: &CredentialConfiguration) -> bool {
        offer
            .runtime_overrides
            .status_list
            .or(config.status_list)
            .unwrap_or(self.settings.status_lists.enabled)
    }

    /// A status list entry for each of `count` credentials of `config`
    /// from `offer`, or `None` each when they get none.
    pub(crate) async fn status_entries<T: IssuerTenant>(
        &self,
        tenant: &T,
        offer: &Offer,
        config: &CredentialConfiguration,
        count: usize,
    ) -> Result<Vec<Option<StatusEntry>>, CredentialCause> {
        if !self.wants_status_entry(offer, config) {
            return Ok(vec![None; count]);
        }
        let entries = self.allocate(tenant.id(), count).await.map_err(|e| {
            tracing::error!(tenant = tenant.id(), offer = %offer.id, error = %e, "status list entries could not be reserved");
            CredentialCause::Record(e)
        })?;
        Ok(entries.into_iter().map(Some).collect())
    }

    /// `count` unused entries of `tenant`'s lists, from this instance's
    /// pool, refilled from the store when it runs dry.
    pub(crate) async fn allocate(
        &self,
        tenant: &str,
        count: usize,
    ) -> Result<Vec<StatusEntry>, StoreFailure> {
        let mut got = Vec::with_capacity(count);
        let mut refills = 0;
        loop {
            self.status_lists.take(tenant, count - got.len(), &mut got);
            if got.len() == count {
                return Ok(got);
            }
            let refilled = if refills == MAX_REFILLS {
                Err(StoreFailure(
                    format!("no free status list index for tenant '{tenant}' after {MAX_REFILLS} refills").into(),
                ))
            } else {
                self.refill(tenant, count - got.len()).await
            };
            if let Err(e) = refilled {
                // Still reserved and unused: the next request may have them.
                self.status_lists.restore(tenant, got);
                return Err(e);
            }
            refills += 1;
        }
    }

    /// Reserve a batch of random candidates of `tenant`'s open list (at
    /// least `need`) and pool those this instance got. When fewer than half
    /// came back, the list is too full for random allocation: close it, so
    /// the next refill opens a new one.
    async fn refill(&self, tenant: &str, need: usize) -> Result<(), StoreFailure> {
        let lists = &self.settings.status_lists;
        let now = self.now();
        let list = self
            .store
            .open_status_list(tenant, lists.size, lists.bits, now)
            .await?;
        // A quarter of the list at most, so drawing distinct candidates
        // stays cheap.
        let quarter = usize::try_from(list.size / 4).unwrap_or(usize::MAX).max(1);
        let candidates = random_candidates(list.size, need.max(REFILL).min(quarter));
        let reserved = self
            .store
            .reserve_status_indices(tenant, list.number, &candidates, now)
            .await?;
        if reserved.len() * 2 < candidates.len() {
            tracing::info!(
                tenant,
                list = list.number,
                reserved = reserved.len(),
                candidates = candidates.len(),
                "status list too full for random allocation; closing it"
            );
            self.store.close_status_list(tenant, list.number).await?;
        }
        self.status_lists.add(tenant, list.number, &reserved);
        Ok(())
    }
}
