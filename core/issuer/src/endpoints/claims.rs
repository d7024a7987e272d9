//! The claims of one issuance: which source, by priority (DESIGN §1, no
//! merging between levels), then data functions and the mapping.

use serde_json::{Map, Value, json};
use sigil_settings::datafn::{self, DataContext};
use sigil_settings::{
    ClaimSource, CredentialConfiguration, INLINE_PLUGIN, STATIC_PLUGIN, Settings, WEBHOOK_PLUGIN,
};

use crate::model::{ClaimSourceSpec, Offer};
use crate::ports::ClaimRequest;

/// Why no claim call could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceCause {
    /// An attribute provider or webhook endpoint of the offer is no longer configured.
    Gone {
        /// `attribute provider` or `webhook endpoint`.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The offer's inline webhook is not (or no longer) allowed.
    WebhookNotAllowed(String),
    /// The offer has no claims for the configuration and it has no source.
    None,
}

/// Where the claims of one issuance come from, and whether data functions
/// apply to them (claims written by the operator or integrator: static,
/// inline, `runtimeOverrides.credentialData`; never to what a remote
/// provider returns, which is data, not a template).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimCall {
    /// Claim plugin id.
    pub plugin: String,
    /// The request.
    pub request: ClaimRequest,
    /// Whether data functions apply to the result.
    pub templates: bool,
}

fn attribute_provider(settings: &Settings, id: &str) -> Result<(String, Value), SourceCause> {
    let p = settings
        .attribute_providers
        .get(id)
        .ok_or_else(|| SourceCause::Gone {
            what: "attribute provider",
            id: id.to_owned(),
        })?;
    Ok((p.plugin_id().to_owned(), p.to_source()))
}

fn webhook_endpoint(settings: &Settings, id: &str) -> Result<(String, Value), SourceCause> {
    let w = settings
        .webhook_endpoints
        .get(id)
        .ok_or_else(|| SourceCause::Gone {
            what: "webhook endpoint",
            id: id.to_owned(),
        })?;
    Ok((WEBHOOK_PLUGIN.to_owned(), w.to_source()))
}

fn inline_webhook(settings: &Settings, webhook: &Value) -> Result<(String, Value), SourceCause> {
    let url = webhook
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default();
    settings
        .check_outbound(WEBHOOK_PLUGIN, url)
        .map_err(|(problem, _)| SourceCause::WebhookNotAllowed(problem))?;
    Ok((
        WEBHOOK_PLUGIN.to_owned(),
        settings.claims.inline_webhook_source(webhook),
    ))
}

/// The claim plugin and request for `config`, by priority: the offer's
/// `credentialClaims` for it, else the configuration's attribute provider,
/// else its webhook endpoint or plugin, else its static claims (which
/// `runtimeOverrides.credentialData` replaces).
pub fn claim_call(
    settings: &Settings,
    (tenant, issuer): (&str, &str),
    offer: &Offer,
    config: &CredentialConfiguration,
    holder_keys: &[Value],
) -> Result<ClaimCall, SourceCause> {
    let overrides = &offer.runtime_overrides;
    let call = |plugin: String, source: Value, inline: Option<Value>, templates: bool| ClaimCall {
        plugin,
        request: ClaimRequest {
            tenant: tenant.to_owned(),
            issuer: issuer.to_owned(),
            offer_id: offer.id.clone(),
            credential_configuration_id: config.id.clone(),
            format: config.format.clone(),
            source,
            inline_claims: inline,
            id_token_claims: None,
            subject_id: overrides.subject_id.clone(),
            holder_keys: holder_keys.to_vec(),
        },
        templates,
    };
    let remote = |(plugin, source): (String, Value)| call(plugin, source, None, false);
    if let Some(entry) = offer.credential_claims.get(&config.id) {
        return match entry {
            ClaimSourceSpec::Inline { claims } => {
                let claims = Value::Object(claims.clone());
                let source = json!({ "type": "inline", "claims": claims });
                Ok(call(INLINE_PLUGIN.to_owned(), source, Some(claims), true))
            }
            ClaimSourceSpec::AttributeProvider { id } => {
                attribute_provider(settings, id).map(remote)
            }
            ClaimSourceSpec::Webhook {
                webhook: Some(inline),
                ..
            } => inline_webhook(settings, inline).map(remote),
            ClaimSourceSpec::Webhook {
                webhook: None,
                id: Some(id),
            } => webhook_endpoint(settings, id).map(remote),
            ClaimSourceSpec::Webhook {
                webhook: None,
                id: None,
            } => Err(SourceCause::Gone {
                what: "webhook endpoint",
                id: String::new(),
            }),
        };
    }
    if let Some(id) = &config.attribute_provider {
        return attribute_provider(settings, id).map(remote);
    }
    let static_call = |claims: Value| {
        call(
            STATIC_PLUGIN.to_owned(),
            json!({ "type": "static", "claims": claims }),
            None,
            true,
        )
    };
    let credential_data = overrides.credential_data.as_ref();
    match &config.source {
        Some(ClaimSource::Webhook { id }) => webhook_endpoint(settings, id).map(remote),
        Some(ClaimSource::Plugin { plugin, settings }) => {
            Ok(call(plugin.clone(), settings.clone(), None, false))
        }
        Some(ClaimSource::Static { claims }) => Ok(static_call(Value::Object(
            credential_data.unwrap_or(claims).clone(),
        ))),
        None => credential_data
            .map(|claims| static_call(Value::Object(claims.clone())))
            .ok_or(SourceCause::None),
    }
}

/// Data functions (when `templates`), then the mapping (the offer's
/// `runtimeOverrides.mapping` replaces the configuration's `mapping`).
pub fn finish_claims(
    claims: Map<String, Value>,
    templates: bool,
    offer: &Offer,
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
        .mapping
        .as_ref()
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
pub fn with_disclosure(mut settings: Value, offer: &Offer) -> Value {
    let Some(map) = &offer.runtime_overrides.selective_disclosure else {
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
            Some(entry) => entry["sd"] = Value::Bool(*sd),
            None => list.push(json!({ "path": path, "sd": sd })),
        }
    }
    settings
}
