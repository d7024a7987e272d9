//! Issuing one batch of credentials: claims by priority, then the format plugin.

use serde_json::{Map, Value, json};
use sigil_issuer::errors::CredentialErrorCode;
use sigil_plugin_host::{
    ClaimFailure, ClaimOutcome, ClaimRequest, CredentialSlot, FormatConfiguration, FormatFailure,
    IssueInput, PluginError,
};
use sigil_settings::datafn::{self, DataContext};
use sigil_settings::{ClaimSource, CredentialConfiguration, WEBHOOK_PLUGIN};
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

/// Where the claims of one issuance come from, and whether data functions
/// apply to them (claims written by the operator or integrator: static,
/// inline, `runtimeOverrides.credentialData`; never to what a remote
/// provider returns, which is data, not a template).
struct ClaimCall {
    plugin: String,
    request: ClaimRequest,
    templates: bool,
}

fn remote_source(state: &AppState, entry: &Value) -> Result<(String, Value), IssueFailure> {
    let settings = &state.settings;
    let gone = |what: &str, id: &str| {
        fail(
            CredentialErrorCode::ServerError,
            format!("{what} '{id}' of this offer is no longer configured on this server"),
        )
    };
    match entry.get("type").and_then(Value::as_str) {
        Some("attributeProvider") => {
            let id = entry
                .get("id")
                .or_else(|| entry.get("attributeProviderId"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let p = settings
                .attribute_providers
                .get(id)
                .ok_or_else(|| gone("attribute provider", id))?;
            Ok((p.plugin_id().to_owned(), p.to_source()))
        }
        Some("webhook") => match entry.get("webhook") {
            Some(inline) => {
                let url = inline
                    .get("url")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                settings
                    .check_outbound(WEBHOOK_PLUGIN, url)
                    .map_err(|(problem, _)| fail(CredentialErrorCode::ServerError, problem))?;
                Ok((
                    WEBHOOK_PLUGIN.to_owned(),
                    settings.claims.inline_webhook_source(inline),
                ))
            }
            None => {
                let id = entry
                    .get("id")
                    .or_else(|| entry.get("webhookEndpointId"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let w = settings
                    .webhook_endpoints
                    .get(id)
                    .ok_or_else(|| gone("webhook endpoint", id))?;
                Ok((WEBHOOK_PLUGIN.to_owned(), w.to_source()))
            }
        },
        other => Err(fail(
            CredentialErrorCode::ServerError,
            format!("claim source type {other:?} of this offer is not available on this server"),
        )),
    }
}

/// The claim plugin and request for a configuration, by priority (DESIGN
/// §1, no merging): the offer's `credentialClaims` for it, else the
/// configuration's attribute provider (or webhook endpoint, or plugin), else
/// its static claims (which `runtimeOverrides.credentialData` replaces).
fn claim_call(
    state: &AppState,
    offer: &OfferRecord,
    config: &CredentialConfiguration,
    tenant: &Tenant,
    holder_keys: &[Value],
) -> Result<ClaimCall, IssueFailure> {
    let overrides = &offer.runtime_overrides;
    let request = ClaimRequest {
        tenant: tenant.id.clone(),
        issuer: tenant.issuer.clone(),
        offer_id: offer.id.clone(),
        credential_configuration_id: config.id.clone(),
        format: config.format.clone(),
        source: json!({}),
        holder_keys: holder_keys.to_vec(),
        subject_id: overrides
            .get("subjectId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..Default::default()
    };
    let call = |plugin: &str, source: Value, templates: bool| {
        let mut request = request.clone();
        request.source = source;
        ClaimCall {
            plugin: plugin.to_owned(),
            request,
            templates,
        }
    };
    if let Some(entry) = offer.credential_claims.get(&config.id) {
        if entry.get("type").and_then(Value::as_str) == Some("inline") {
            let mut c = call("claims-inline", entry.clone(), true);
            c.request.inline_claims = entry.get("claims").cloned();
            return Ok(c);
        }
        let (plugin, source) = remote_source(state, entry)?;
        return Ok(call(&plugin, source, false));
    }
    if let Some(id) = &config.attribute_provider {
        let (plugin, source) =
            remote_source(state, &json!({ "type": "attributeProvider", "id": id }))?;
        return Ok(call(&plugin, source, false));
    }
    let credential_data = overrides.get("credentialData").filter(|v| v.is_object());
    match &config.source {
        Some(ClaimSource::Webhook { id }) => {
            let (plugin, source) = remote_source(state, &json!({ "type": "webhook", "id": id }))?;
            Ok(call(&plugin, source, false))
        }
        Some(ClaimSource::Plugin { plugin, settings }) => Ok(call(plugin, settings.clone(), false)),
        Some(ClaimSource::Static { claims }) => {
            let claims = credential_data.cloned().unwrap_or_else(|| json!(claims));
            Ok(call(
                "claims-static",
                json!({ "type": "static", "claims": claims }),
                true,
            ))
        }
        None => match credential_data {
            Some(claims) => Ok(call(
                "claims-static",
                json!({ "type": "static", "claims": claims }),
                true,
            )),
            None => Err(fail(
                CredentialErrorCode::CredentialRequestDenied,
                "the offer has no claims for this credential and its configuration has no claim source",
            )),
        },
    }
}

/// `did:jwk` of a holder key: the subject id when the offer names none.
fn did_jwk(key: &Value) -> String {
    use base64::Engine as _;
    format!(
        "did:jwk:{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.to_string())
    )
}

/// Data functions, then the mapping (the offer's `runtimeOverrides.mapping`
/// replaces the configuration's `mapping`).
fn finish_claims(
    claims: Map<String, Value>,
    templates: bool,
    offer: &OfferRecord,
    config: &CredentialConfiguration,
    ctx: &DataContext<'_>,
) -> Result<Map<String, Value>, String> {
    let mut claims = if templates {
        match datafn::expand(&Value::Object(claims), ctx)? {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    } else {
        claims
    };
    let mapping = offer
        .runtime_overrides
        .get("mapping")
        .and_then(Value::as_object)
        .or(config.mapping.as_ref());
    for (path, template) in mapping.into_iter().flatten() {
        let value = datafn::expand(template, ctx).map_err(|e| format!("mapping.{path}: {e}"))?;
        set_path(&mut claims, path, value)?;
    }
    Ok(claims)
}

fn set_path(claims: &mut Map<String, Value>, path: &str, value: Value) -> Result<(), String> {
    let mut parts = path.split('.').peekable();
    let mut node = claims;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            node.insert(part.to_owned(), value);
            return Ok(());
        }
        node = node
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .ok_or_else(|| format!("mapping.{path}: '{part}' is not an object"))?;
    }
    Ok(())
}

/// The format settings with the offer's `runtimeOverrides.selectiveDisclosure`
/// (claim path → disclosable) applied to `claims[].sd`.
fn with_disclosure(mut settings: Value, overrides: &Value) -> Value {
    let Some(map) = overrides
        .get("selectiveDisclosure")
        .and_then(Value::as_object)
    else {
        return settings;
    };
    let Some(obj) = settings.as_object_mut() else {
        return settings;
    };
    let list = obj.entry("claims").or_insert_with(|| json!([]));
    let Some(list) = list.as_array_mut() else {
        return settings;
    };
    for (name, sd) in map {
        let path: Vec<Value> = name.split('.').map(|p| Value::from(p.to_owned())).collect();
        match list
            .iter_mut()
            .find(|c| c.get("path") == Some(&Value::Array(path.clone())))
        {
            Some(entry) => entry["sd"] = sd.clone(),
            None => list.push(json!({ "path": path, "sd": sd })),
        }
    }
    settings
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
    let ClaimCall {
        plugin,
        request,
        templates,
    } = claim_call(state, offer, config, tenant, &holder_keys)?;
    let claims: Map<String, Value> = match state.plugins.resolve_claims(&plugin, &request).await {
        Ok(ClaimOutcome::Claims(c)) => c,
        Ok(ClaimOutcome::Pending {
            interval_seconds,
            reason,
        }) => {
            tracing::info!(plugin = %plugin, offer = %offer.id, %reason, "claims pending");
            // OID4VCI's `issuance_pending` belongs to the deferred endpoint,
            // which this server does not have yet; `server_error` tells the
            // wallet the failure is transient and the access token stays
            // valid, so it can retry (with a fresh c_nonce).
            return Err(fail(
                CredentialErrorCode::ServerError,
                format!(
                    "issuance_pending: the claims of this credential are not ready yet and deferred issuance is not enabled on this server; retry with the same access token in {interval_seconds} s"
                ),
            ));
        }
        Err(e) => return Err(plugin_failure(&e)),
    };
    let subject = request
        .subject_id
        .clone()
        .or_else(|| holder_keys.first().map(did_jwk));
    let ctx = DataContext {
        now,
        subject_id: subject.as_deref(),
        issuer_id: &tenant.issuer,
        offer_id: &offer.id,
    };
    let claims = finish_claims(claims, templates, offer, config, &ctx).map_err(|e| {
        tracing::warn!(offer = %offer.id, error = %e, "data functions failed");
        fail(
            CredentialErrorCode::ServerError,
            format!("the claims could not be completed: {e}"),
        )
    })?;
    let keys = tenant.keys.load();
    let (signer, issuer) = tenant
        .signing_for(&keys, &config.format, &offer.runtime_overrides)
        .map_err(|e| {
            tracing::warn!(offer = %offer.id, error = %e, "issuer key of the offer");
            fail(CredentialErrorCode::CredentialRequestDenied, e)
        })?;
    // Round the issuance time down to the hour so batch credentials do not
    // carry a precise shared timestamp (OID4VCI §14.6, unlinkability).
    let issued_at = now - now.rem_euclid(3600);
    let input = IssueInput {
        configuration: FormatConfiguration {
            id: config.id.clone(),
            format: config.format.clone(),
            settings: with_disclosure(
                keys.format_settings
                    .get(&config.id)
                    .cloned()
                    .unwrap_or_else(|| json!({})),
                &offer.runtime_overrides,
            ),
        },
        claims,
        issuer,
        issued_at: issued_at as u64,
        expires_at: offer
            .runtime_overrides
            .get("validitySeconds")
            .and_then(Value::as_u64)
            .or(config.validity_seconds)
            .map(|v| issued_at as u64 + v),
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
        .issue(format_plugin, &input, signer)
        .await
        .map_err(|e| plugin_failure(&e))
}
