//! Token Status Lists (IETF OAuth Status List): an entry per issued
//! credential at a random, unpredictable index, and the signed list tokens.
//!
//! * [`allocate`]: whether a credential gets an entry, and the per-tenant
//!   pool of reserved random indices it is taken from.
//! * [`serve`]: the list token at `{issuer}/statuslists/{n}`, cached per
//!   instance and re-signed when the list changes or nears expiry.
//! * [`change`]: the operator's revoke, suspend and reinstate.
//! * [`encoding`], [`token`], [`cbor`]: the list's bytes and its JWT and
//!   CWT forms.

pub mod allocate;
pub mod cbor;
pub mod change;
pub mod encoding;
pub mod serve;
pub mod token;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

pub use change::{StatusAction, StatusChangeCause};
pub use serve::{StatusListCause, StatusListToken};
pub use token::TokenForm;

use crate::model::StatusEntry;
use crate::ports::{IssuerTenant, StatusReference};
use crate::service::Issuer;

/// What one instance keeps about its tenants' status lists: the pools of
/// reserved indices and the signed tokens. Its locks are never held across
/// an await.
#[derive(Debug, Default)]
pub struct StatusLists {
    /// Tenant → entries reserved by this instance and not handed out yet,
    /// in random order.
    pools: Mutex<HashMap<String, Vec<StatusEntry>>>,
    /// (tenant, list, form) → the token served.
    tokens: Mutex<HashMap<(String, u32, TokenForm), serve::Cached>>,
}

/// `m` locked; a panic elsewhere leaves the data usable (every update
/// is a single insert or removal).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<S, P> Issuer<S, P> {
    /// The `status.status_list` reference of `entry`.
    pub(crate) fn status_reference<T: IssuerTenant>(
        &self,
        tenant: &T,
        entry: StatusEntry,
    ) -> StatusReference {
        StatusReference {
            uri: status_list_uri(tenant.issuer(), entry.list),
            index: entry.index,
        }
    }
}

/// The URI of list `number` of the tenant whose issuer identifier is `issuer`.
pub fn status_list_uri(issuer: &str, number: u32) -> String {
    format!("{}/statuslists/{number}", issuer.trim_end_matches('/'))
}
