//! Token Status Lists (IETF OAuth Status List): an entry per issued
//! credential at a random, unpredictable index, and the signed list tokens.

use sigil_settings::CredentialConfiguration;

use crate::endpoints::credential::CredentialCause;
use crate::model::{Offer, StatusEntry};
use crate::ports::{IssuerTenant, LifecycleStore, StatusReference};
use crate::service::Issuer;

impl<S: LifecycleStore, P> Issuer<S, P> {
    /// A status list entry for each of `count` credentials of `config`
    /// from `offer`, or `None` each when they get none.
    pub(crate) async fn status_entries<T: IssuerTenant>(
        &self,
        _tenant: &T,
        _offer: &Offer,
        _config: &CredentialConfiguration,
        count: usize,
    ) -> Result<Vec<Option<StatusEntry>>, CredentialCause> {
        // TODO(#16 status lists): allocate.
        Ok(vec![None; count])
    }

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
