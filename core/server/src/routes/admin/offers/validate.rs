//! Validating a create-offer request against configurations and profiles.

use serde::Deserialize;
use serde_json::{Map, Value};
use sigil_issuer::offer::{OfferScheme, TxCodeOffer};
use sigil_issuer::secrets;

use crate::problem::{FieldError, Problem};
use crate::state::AppState;
use crate::tenants::Tenant;

/// `txCode` in a create request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TxCodeInput {
    /// `numeric` (default) or `text`.
    #[serde(default)]
    pub input_mode: Option<String>,
    /// Length (default 6, or the given value's length).
    #[serde(default)]
    pub length: Option<u32>,
    /// Description for the wallet.
    #[serde(default)]
    pub description: Option<String>,
    /// The code; generated when absent.
    #[serde(default)]
    pub value: Option<String>,
}

/// Body of `POST /admin/v1/offers`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOffer {
    /// Configurations to offer (or `profile`).
    #[serde(default)]
    pub credential_configuration_ids: Option<Vec<String>>,
    /// A profile naming configurations and defaults.
    #[serde(default)]
    pub profile: Option<String>,
    /// `pre_authorized_code` (default) or `authorization_code`.
    #[serde(default)]
    pub flow: Option<String>,
    /// Transaction code.
    #[serde(default)]
    pub tx_code: Option<TxCodeInput>,
    /// `by_reference` (default) or `by_value`.
    #[serde(default)]
    pub value_mode: Option<String>,
    /// `omit` (default) or `include`.
    #[serde(default)]
    pub issuer_state_mode: Option<String>,
    /// Lifetime in seconds; -1 never expires; default 300.
    #[serde(default)]
    pub expires_in_seconds: Option<i64>,
    /// `openid-credential-offer` (default) or `haip`.
    #[serde(default)]
    pub scheme: Option<String>,
    /// Claims per configuration.
    #[serde(default)]
    pub credential_claims: Option<Map<String, Value>>,
    /// Runtime overrides (not supported yet; must be empty).
    #[serde(default)]
    pub runtime_overrides: Option<Map<String, Value>>,
    /// `immediate` (default) or `deferred`.
    #[serde(default)]
    pub issuance_mode: Option<String>,
    /// Webhook endpoint for events (not supported yet).
    #[serde(default)]
    pub webhook_endpoint_id: Option<String>,
    /// External authorization server (authorization code flow).
    #[serde(default)]
    pub authorization_server: Option<String>,
    /// Login hint (authorization code flow).
    #[serde(default)]
    pub login_hint: Option<String>,
}

fn field(errors: &mut Vec<FieldError>, field: &str, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

pub(super) struct Validated {
    pub(super) configuration_ids: Vec<String>,
    pub(super) tx: Option<(TxCodeOffer, String)>,
    pub(super) by_value: bool,
    pub(super) scheme: OfferScheme,
    pub(super) expires_in: i64,
    pub(super) claims: Map<String, Value>,
}

pub(super) fn validate(
    state: &AppState,
    t: &Tenant,
    body: CreateOffer,
) -> Result<Validated, Problem> {
    let mut errors = Vec::new();
    let profile = match &body.profile {
        Some(p) => match state.settings.profiles.get(p) {
            Some(p) => Some(p),
            None => {
                field(&mut errors, "profile", format!("unknown profile '{p}'"));
                None
            }
        },
        None => None,
    };
    let configuration_ids = match (&body.credential_configuration_ids, profile) {
        (Some(_), Some(_)) => {
            field(
                &mut errors,
                "profile",
                "give either credentialConfigurationIds or profile, not both",
            );
            Vec::new()
        }
        (Some(ids), None) => ids.clone(),
        (None, Some(p)) => p.credential_configuration_ids.clone(),
        (None, None) => {
            if body.profile.is_none() {
                field(
                    &mut errors,
                    "credentialConfigurationIds",
                    "give credentialConfigurationIds (non-empty) or profile",
                );
            }
            Vec::new()
        }
    };
    if body
        .credential_configuration_ids
        .as_ref()
        .is_some_and(Vec::is_empty)
    {
        field(
            &mut errors,
            "credentialConfigurationIds",
            "must not be empty",
        );
    }
    for (i, id) in configuration_ids.iter().enumerate() {
        if !t.offers(id) {
            field(
                &mut errors,
                &format!("credentialConfigurationIds[{i}]"),
                format!(
                    "tenant '{}' has no credential configuration '{id}'; it offers: {}",
                    t.id,
                    t.configurations.join(", ")
                ),
            );
        }
        if configuration_ids[..i].contains(id) {
            field(
                &mut errors,
                &format!("credentialConfigurationIds[{i}]"),
                format!("'{id}' is listed twice"),
            );
        }
    }
    match body.flow.as_deref() {
        None | Some("pre_authorized_code") => {}
        Some("authorization_code") => field(
            &mut errors,
            "flow",
            "the authorization code flow is not available on this server yet; use pre_authorized_code",
        ),
        Some(other) => field(
            &mut errors,
            "flow",
            format!("'{other}' is not a flow; use pre_authorized_code or authorization_code"),
        ),
    }
    let by_value = match body
        .value_mode
        .as_deref()
        .or(profile.and_then(|p| p.value_mode.as_deref()))
    {
        None | Some("by_reference") => false,
        Some("by_value") => true,
        Some(other) => {
            field(
                &mut errors,
                "valueMode",
                format!("'{other}' is not by_reference or by_value"),
            );
            false
        }
    };
    match body.issuer_state_mode.as_deref() {
        None | Some("omit") => {}
        Some("include") => field(
            &mut errors,
            "issuerStateMode",
            "issuer_state belongs to the authorization code flow, which is not available yet",
        ),
        Some(other) => field(
            &mut errors,
            "issuerStateMode",
            format!("'{other}' is not omit or include"),
        ),
    }
    let scheme = match body.scheme.as_deref() {
        None | Some("openid-credential-offer") => OfferScheme::OpenidCredentialOffer,
        Some("haip") => OfferScheme::Haip,
        Some(other) => {
            field(
                &mut errors,
                "scheme",
                format!("'{other}' is not openid-credential-offer or haip"),
            );
            OfferScheme::OpenidCredentialOffer
        }
    };
    let expires_in = body
        .expires_in_seconds
        .or(profile.and_then(|p| p.expires_in_seconds))
        .unwrap_or(300);
    if expires_in == 0 || expires_in < -1 {
        field(
            &mut errors,
            "expiresInSeconds",
            "use a positive number of seconds, or -1 for an offer that never expires",
        );
    }
    match body.issuance_mode.as_deref() {
        None | Some("immediate") => {}
        Some("deferred") => field(
            &mut errors,
            "issuanceMode",
            "deferred issuance is not available on this server yet",
        ),
        Some(other) => field(
            &mut errors,
            "issuanceMode",
            format!("'{other}' is not immediate or deferred"),
        ),
    }
    if body.webhook_endpoint_id.is_some() {
        field(
            &mut errors,
            "webhookEndpointId",
            "webhook endpoints are not available on this server yet",
        );
    }
    if body
        .runtime_overrides
        .as_ref()
        .is_some_and(|o| !o.is_empty())
    {
        field(
            &mut errors,
            "runtimeOverrides",
            "runtime overrides are not available on this server yet",
        );
    }
    if body.authorization_server.is_some() || body.login_hint.is_some() {
        field(
            &mut errors,
            "authorizationServer",
            "authorizationServer and loginHint belong to the authorization code flow, which is not available yet",
        );
    }
    let claims = body.credential_claims.unwrap_or_default();
    for (id, source) in &claims {
        let at = format!("credentialClaims.{id}");
        if !configuration_ids.contains(id) {
            field(
                &mut errors,
                &at,
                format!("'{id}' is not one of the offer's credential configurations"),
            );
            continue;
        }
        match source.get("type").and_then(Value::as_str) {
            Some("inline") => {
                if !source.get("claims").is_some_and(Value::is_object) {
                    field(
                        &mut errors,
                        &format!("{at}.claims"),
                        "an inline source needs a claims object",
                    );
                }
            }
            Some("attributeProvider") | Some("webhook") => field(
                &mut errors,
                &format!("{at}.type"),
                "attribute providers and webhooks are not available on this server yet; use inline",
            ),
            _ => field(
                &mut errors,
                &format!("{at}.type"),
                "use {\"type\": \"inline\", \"claims\": {...}}",
            ),
        }
    }
    for id in &configuration_ids {
        let has_source = state
            .settings
            .credential_configurations
            .get(id)
            .is_some_and(|c| c.source.is_some());
        if !claims.contains_key(id) && !has_source && t.offers(id) {
            field(
                &mut errors,
                &format!("credentialClaims.{id}"),
                format!("'{id}' has no claim source in its configuration; give its claims here"),
            );
        }
    }
    let tx_input = body.tx_code.or_else(|| {
        profile
            .and_then(|p| p.tx_code.as_ref())
            .map(|d| TxCodeInput {
                input_mode: Some(d.input_mode.clone()),
                length: d.length,
                description: d.description.clone(),
                value: None,
            })
    });
    let tx = tx_input.map(|tx| {
        let mode = tx.input_mode.unwrap_or_else(|| "numeric".into());
        if mode != "numeric" && mode != "text" {
            field(&mut errors, "txCode.inputMode", "use numeric or text");
        }
        if tx
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 300)
        {
            field(&mut errors, "txCode.description", "at most 300 characters");
        }
        let length = tx
            .length
            .or(tx.value.as_ref().map(|v| v.chars().count() as u32))
            .unwrap_or(6);
        if !(4..=32).contains(&length) {
            field(&mut errors, "txCode.length", "use 4 to 32 characters");
        }
        let value = match tx.value {
            Some(v) => {
                if v.chars().count() as u32 != length {
                    field(
                        &mut errors,
                        "txCode.value",
                        format!(
                            "has {} characters but length is {length}",
                            v.chars().count()
                        ),
                    );
                }
                if mode == "numeric" && !v.chars().all(|c| c.is_ascii_digit()) {
                    field(
                        &mut errors,
                        "txCode.value",
                        "a numeric code has only digits",
                    );
                }
                v
            }
            None => secrets::tx_code(&mode, length),
        };
        (
            TxCodeOffer {
                input_mode: mode,
                length: Some(length),
                description: tx.description,
            },
            value,
        )
    });
    if !errors.is_empty() {
        return Err(Problem::validation("the offer request is invalid", errors));
    }
    Ok(Validated {
        configuration_ids,
        tx,
        by_value,
        scheme,
        expires_in,
        claims,
    })
}
