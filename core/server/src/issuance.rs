//! Issuing one batch of credentials: claims by priority, then the format plugin.

use serde_json::{Map, Value, json};
use sigil_issuer::errors::CredentialErrorCode;
use sigil_plugin_host::{
    ClaimFailure, ClaimOutcome, ClaimRequest, CredentialSlot, FormatConfiguration, FormatFailure,
    IssueInput, PluginError,
};
use sigil_settings::{ClaimSource, CredentialConfiguration};
use sigil_store::OfferRecord;

use crate::state::AppState;
use crate::tenants::Tenant;

/// Why issuance failed, with the wallet-facing code.
#[derive(Debug)]
pub struct IssueFailure {
    /// Wallet-facing error code.
    pub code: CredentialErrorCode,
    /// Description (no claim values, no secrets).
    pub description: String,
}

fn fail(code: CredentialErrorCode, description: impl Into<String>) -> IssueFailure {
    IssueFailure {
        code,
        description: description.into(),
    }
}

fn plugin_failure(e: &PluginError) -> IssueFailure {
    tracing::warn!(error = %e, plugin = e.plugin(), "plugin call failed during issuance");
    match e {
        PluginError::Claim {
            error: ClaimFailure::Denied(_) | ClaimFailure::NotFound(_),
            ..
        } => fail(
            CredentialErrorCode::CredentialRequestDenied,
            "the issuer will not issue this credential to this holder",
        ),
        // The proved key cannot carry this format (OID4VCI §8.3.1.2: the
        // proof is unusable); the wallet may retry with another key.
        PluginError::Format {
            error: FormatFailure::UnsupportedHolderKey(m),
            ..
        } => fail(
            CredentialErrorCode::InvalidProof,
            format!("the proof key cannot be bound to this credential: {m}"),
        ),
        // The offer's claims do not fit the configuration: nothing the
        // wallet can fix. Names the claim, never its value.
        PluginError::Format {
            error: FormatFailure::InvalidClaims(m),
            ..
        } => fail(
            CredentialErrorCode::CredentialRequestDenied,
            format!("the claims for this credential do not fit its configuration: {m}"),
        ),
        _ => fail(
            CredentialErrorCode::ServerError,
            format!("{e}; the request can be retried with the same access token"),
        ),
    }
}

/// The claim plugin and request for a configuration: the offer's
/// `credentialClaims` first, else the configuration's source (DESIGN §1).
fn claim_call(
    offer: &OfferRecord,
    config: &CredentialConfiguration,
    tenant: &Tenant,
    holder_keys: &[Value],
) -> Result<(String, ClaimRequest), IssueFailure> {
    let mut request = ClaimRequest {
        tenant: tenant.id.clone(),
        issuer: tenant.issuer.clone(),
        offer_id: offer.id.clone(),
        credential_configuration_id: config.id.clone(),
        format: config.format.clone(),
        source: json!({}),
        holder_keys: holder_keys.to_vec(),
        ..Default::default()
    };
    if let Some(entry) = offer.credential_claims.get(&config.id) {
        match entry.get("type").and_then(Value::as_str) {
            Some("inline") => {
                request.inline_claims = entry.get("claims").cloned();
                request.source = entry.clone();
                return Ok(("claims-inline".into(), request));
            }
            other => {
                return Err(fail(
                    CredentialErrorCode::ServerError,
                    format!(
                        "claim source type {other:?} of this offer is not available on this server"
                    ),
                ));
            }
        }
    }
    match &config.source {
        Some(ClaimSource::Static { claims }) => {
            request.source = json!({ "type": "static", "claims": claims });
            Ok(("claims-static".into(), request))
        }
        Some(ClaimSource::Plugin { plugin, settings }) => {
            request.source = settings.clone();
            Ok((plugin.clone(), request))
        }
        None => Err(fail(
            CredentialErrorCode::CredentialRequestDenied,
            "the offer has no claims for this credential and its configuration has no claim source",
        )),
    }
}

/// Resolve claims and issue one credential per holder key.
pub async fn issue(
    state: &AppState,
    tenant: &Tenant,
    offer: &OfferRecord,
    config: &CredentialConfiguration,
    holder_keys: Vec<Value>,
    now: i64,
) -> Result<Vec<String>, IssueFailure> {
    let (plugin, request) = claim_call(offer, config, tenant, &holder_keys)?;
    let claims: Map<String, Value> = match state.plugins.resolve_claims(&plugin, &request).await {
        Ok(ClaimOutcome::Claims(c)) => c,
        Ok(ClaimOutcome::Pending { .. }) => {
            return Err(fail(
                CredentialErrorCode::ServerError,
                format!(
                    "plugin '{plugin}' deferred the claims, and deferred issuance is not enabled on this server; retry later"
                ),
            ));
        }
        Err(e) => return Err(plugin_failure(&e)),
    };
    // Round the issuance time down to the hour so batch credentials do not
    // carry a precise shared timestamp (OID4VCI §14.6, unlinkability).
    let issued_at = now - now.rem_euclid(3600);
    let input = IssueInput {
        configuration: FormatConfiguration {
            id: config.id.clone(),
            format: config.format.clone(),
            settings: tenant
                .format_settings
                .get(&config.id)
                .cloned()
                .unwrap_or_else(|| json!({})),
        },
        claims,
        issuer: tenant.issuer.clone(),
        issued_at: issued_at as u64,
        expires_at: config.validity_seconds.map(|v| issued_at as u64 + v),
        slots: holder_keys
            .into_iter()
            .map(|k| CredentialSlot {
                holder_key: Some(k),
                status: None,
            })
            .collect(),
    };
    let format_plugin = config.format_plugin_id().unwrap_or_default();
    state
        .plugins
        .issue(format_plugin, &input, tenant.signer_for(&config.format))
        .await
        .map_err(|e| plugin_failure(&e))
}
