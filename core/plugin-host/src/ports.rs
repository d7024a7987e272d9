//! The runtime as the issuer's [`ClaimSources`] and [`CredentialFormats`] ports.

use sigil_issuer::ports::{
    ClaimOutcome, ClaimRequest, ClaimSources, CredentialFormats, IssueInput, PluginFailure,
    PluginFault,
};
use sigil_keys::SharedSigner;

use crate::{PluginError, PluginRuntime};

impl From<PluginError> for PluginFailure {
    fn from(e: PluginError) -> Self {
        let message = e.to_string();
        let plugin = e.plugin().to_owned();
        let fault = match e {
            PluginError::Claim { error, .. } => PluginFault::Claim(error),
            PluginError::Format { error, .. } => PluginFault::Format(error),
            PluginError::NotLoaded { .. }
            | PluginError::WrongKind { .. }
            | PluginError::Timeout { .. }
            | PluginError::FuelExhausted { .. }
            | PluginError::MemoryExceeded { .. }
            | PluginError::CapabilityDenied { .. }
            | PluginError::Trap { .. }
            | PluginError::InvalidOutput { .. }
            | PluginError::Unavailable { .. } => PluginFault::Runtime,
        };
        PluginFailure {
            plugin,
            fault,
            message,
        }
    }
}

impl ClaimSources for PluginRuntime {
    async fn resolve_claims(
        &self,
        plugin: &str,
        request: &ClaimRequest,
    ) -> Result<ClaimOutcome, PluginFailure> {
        Ok(PluginRuntime::resolve_claims(self, plugin, request).await?)
    }
}

impl CredentialFormats for PluginRuntime {
    type Signer = SharedSigner;

    async fn issue(
        &self,
        plugin: &str,
        input: &IssueInput,
        signer: SharedSigner,
    ) -> Result<Vec<String>, PluginFailure> {
        Ok(PluginRuntime::issue(self, plugin, input, signer).await?)
    }
}
