//! A tenant as the issuer's [`IssuerTenant`] port: its identifier, what it
//! offers, and signers from one consistent load of its keys.

use serde_json::json;
use sigil_issuer::model::RuntimeOverrides;
use sigil_issuer::ports::{DocumentSigner, IssuerTenant, Signing};
use sigil_keys::SharedSigner;

use crate::tenants::Tenant;

impl IssuerTenant for Tenant {
    type Signer = SharedSigner;

    fn id(&self) -> &str {
        &self.id
    }

    fn issuer(&self) -> &str {
        &self.issuer
    }

    fn offers(&self, configuration_id: &str) -> bool {
        Tenant::offers(self, configuration_id)
    }

    fn signing(
        &self,
        configuration_id: &str,
        format: &str,
        overrides: &RuntimeOverrides,
    ) -> Result<Signing<SharedSigner>, String> {
        // One load: the signer and the format settings come from the same keys.
        let keys = self.keys.load();
        let (signer, issuer_id) = self.signing_for(&keys, format, overrides)?;
        let document_signer = signer
            .certificate_chain()
            .first()
            .and_then(|leaf| sigil_keys::x509::certificate_info(leaf).ok())
            .map(|info| DocumentSigner {
                country: info.country,
                state_or_province: info.state_or_province,
            });
        Ok(Signing {
            signer,
            issuer_id,
            format_settings: keys
                .format_settings
                .get(configuration_id)
                .cloned()
                .unwrap_or_else(|| json!({})),
            document_signer,
        })
    }

    fn status_list_signer(&self) -> Result<SharedSigner, String> {
        // The active key as credentials present it (a DID URL kid when the
        // issuer is a DID), with its chain when it has one (HAIP: x5c).
        Ok(self.keys.load().active.signer_for(true))
    }
}
