//! `POST /nonce` (OID4VCI §7): a fresh, unpredictable, single-use `c_nonce`.
//!
//! Nonces are self-verifying ([`crate::nonce`]): issuing one writes
//! nothing; the credential endpoint spends it exactly once.

use serde::Serialize;

use crate::ports::IssuerTenant;
use crate::service::Issuer;

/// The nonce response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NonceResponse {
    /// The nonce.
    pub c_nonce: String,
}

impl<S, P> Issuer<S, P> {
    /// A nonce of `tenant`, valid for `issuance.nonce_seconds`.
    #[tracing::instrument(name = "issuer.nonce", skip_all, fields(tenant = tenant.id()))]
    pub fn nonce<T: IssuerTenant>(&self, tenant: &T) -> NonceResponse {
        let expires = self.now() + self.settings.issuance.nonce_seconds;
        NonceResponse {
            c_nonce: self.nonce_key.issue(tenant.id(), expires),
        }
    }
}
