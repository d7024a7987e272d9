//! Validating a create-offer request against configurations and profiles.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use sigil_issuer::model::{
    ClaimSourceSpec, Flow, IssuanceMode, OfferScheme, RuntimeOverrides, TxCode, TxCodeRequest,
    ValueMode,
};
use sigil_settings::datafn;
use sigil_settings::{ClaimSource, WEBHOOK_PLUGIN};

use crate::problem::{FieldError, Problem};
use crate::state::AppState;
use crate::tenants::Tenant;

/// `txCode` in a create request: the issuer's transaction-code request.
pub type TxCodeInput = TxCodeRequest;

/// Body of `POST /admin/v1/offers` and `POST /admin/v1/tenants/{tenant}/offers`.
///
/// Give exactly one of `credentialConfigurationIds` and `profile`. No
/// string may contain U+0000; a JSON object may not repeat a member name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(examples(json!({
    "credentialConfigurationIds": ["employee_badge_sd_jwt"],
    "txCode": {"inputMode": "numeric", "length": 6, "description": "PIN from the e-mail"},
    "valueMode": "by_reference",
    "expiresInSeconds": 300,
    "scheme": "openid-credential-offer",
    "credentialClaims": {
        "employee_badge_sd_jwt": {"type": "inline", "claims": {"given_name": "Ada", "family_name": "Lovelace"}}
    },
    "runtimeOverrides": {}
})))]
pub struct CreateOffer {
    /// A non-empty list of the tenant's credential configurations to offer
    /// (or give `profile`).
    #[serde(default)]
    pub credential_configuration_ids: Option<Vec<String>>,
    /// A profile (`config/profiles/`) naming configurations and defaults
    /// (or give `credentialConfigurationIds`).
    #[serde(default)]
    pub profile: Option<String>,
    /// `pre_authorized_code` (default), `authorization_code`, or `both`
    /// (the offer carries both grants).
    #[serde(default)]
    #[schema(examples("pre_authorized_code"))]
    pub flow: Option<String>,
    /// Transaction code (pre-authorized code flow only).
    #[serde(default)]
    #[schema(value_type = Option<TxCodeInputSchema>)]
    pub tx_code: Option<TxCodeInput>,
    /// `by_reference` (default: the offer is served at `credential_offer_uri`)
    /// or `by_value`.
    #[serde(default)]
    #[schema(examples("by_reference"))]
    pub value_mode: Option<String>,
    /// `include` (default for the code flow: the wallet's authorization is
    /// tied to this offer by its `issuer_state`) or `omit` (needs a tenant
    /// login); only with the code flow.
    #[serde(default)]
    pub issuer_state_mode: Option<String>,
    /// Lifetime in seconds: 1 to the tenant's `max_offer_lifetime_seconds`
    /// (default 30 days), or -1 (never expires) unless the tenant sets
    /// `allow_non_expiring_offers = false`; default 300.
    #[serde(default)]
    #[schema(minimum = -1, examples(300))]
    pub expires_in_seconds: Option<i64>,
    /// `openid-credential-offer` (default) or `haip`.
    #[serde(default)]
    pub scheme: Option<String>,
    /// Claims per configuration: configuration id -> claim source.
    #[serde(default)]
    #[schema(value_type = Option<std::collections::HashMap<String, ClaimSourceInput>>)]
    pub credential_claims: Option<Map<String, Value>>,
    /// Per-offer changes to how its credentials are issued.
    #[serde(default)]
    #[schema(value_type = Option<RuntimeOverridesInput>)]
    pub runtime_overrides: Option<Map<String, Value>>,
    /// `immediate` (default) or `deferred`: every credential request of the
    /// offer answers `202` with a `transaction_id` and waits for the
    /// operator (`complete` or `deny`).
    #[serde(default)]
    pub issuance_mode: Option<String>,
    /// An event endpoint (`config/event-endpoints/<id>.toml`) that gets the
    /// offer's events as signed webhooks; default: the first of the offer's
    /// configurations' `webhook_endpoint_id`, else none.
    #[serde(default)]
    pub webhook_endpoint_id: Option<String>,
    /// An external authorization server of the tenant, by id or issuer URL
    /// (authorization code flow): the offer's `authorization_code` grant
    /// names it as `authorization_server`.
    #[serde(default)]
    pub authorization_server: Option<String>,
    /// Login hint (authorization code flow): passed to the upstream login
    /// as `login_hint`.
    #[serde(default)]
    pub login_hint: Option<String>,
}

/// `txCode`: a transaction code the wallet's user must enter with the
/// pre-authorized code (the schema of [`TxCodeRequest`], which reads it).
#[derive(ToSchema)]
#[schema(as = TxCodeInput, rename_all = "camelCase")]
#[allow(
    dead_code,
    reason = "the schema of TxCodeRequest, which has no utoipa derive"
)]
pub struct TxCodeInputSchema {
    /// `numeric` (default) or `text`.
    #[schema(examples("numeric"))]
    input_mode: Option<String>,
    /// Length, 4 to 32 (default: the value's, else 6).
    #[schema(minimum = 4, maximum = 32, examples(6))]
    length: Option<u32>,
    /// Guidance for the user, at most 300 characters.
    #[schema(max_length = 300, examples("PIN from the e-mail"))]
    description: Option<String>,
    /// The code itself; generated (and answered once as `txCodeValue`)
    /// when absent.
    value: Option<String>,
}

/// A claim source for one configuration (`credentialClaims.<configuration>`):
/// `{"type": "inline", "claims": {...}}`, `{"type": "attributeProvider",
/// "id": "..."}`, `{"type": "webhook", "webhook": {"url", "method"?,
/// "auth"?}}` or `{"type": "webhook", "id": "<webhook endpoint>"}`
/// (`docs/claims-contract.md`).
#[derive(ToSchema)]
#[schema(examples(json!({"type": "inline", "claims": {"given_name": "Ada", "family_name": "Lovelace"}})))]
#[allow(
    dead_code,
    reason = "the schema of a source the validation reads as JSON"
)]
pub struct ClaimSourceInput {
    /// `inline`, `attributeProvider` or `webhook`.
    #[schema(rename = "type", examples("inline"))]
    kind: String,
    /// The claims (`inline`); strings may be templates.
    #[schema(value_type = Option<Object>)]
    claims: Option<Value>,
    /// An attribute provider (`attributeProvider`) or a configured webhook
    /// endpoint (`webhook`).
    id: Option<String>,
    /// A webhook called for the claims: `url`, `method` (`GET` or `POST`),
    /// `auth` (`{"type": "bearer", "token"}`, `{"type": "basic",
    /// "username", "password"}` or `{"type": "api-key", "header"?,
    /// "value"}`).
    #[schema(value_type = Option<Object>)]
    webhook: Option<Value>,
}

/// `runtimeOverrides`: per-offer changes to how its credentials are issued
/// (`docs/claims-contract.md`).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(
    dead_code,
    reason = "the schema of the overrides the validation reads as JSON"
)]
pub struct RuntimeOverridesInput {
    /// Sign with this key of the tenant (active or standby).
    issuer_key_id: Option<String>,
    /// Certificate chain for the signing key: base64 (not URL-safe) DER,
    /// leaf first.
    x5_chain: Option<Vec<String>>,
    /// The credential's subject id.
    subject_id: Option<String>,
    /// Replaces the configuration's static claims (templates allowed).
    #[schema(value_type = Option<Object>)]
    credential_data: Option<Value>,
    /// Claim path -> value (templates allowed).
    #[schema(value_type = Option<std::collections::HashMap<String, Value>>)]
    mapping: Option<Value>,
    /// Validity of the credentials, 1 to 315360000 seconds.
    #[schema(minimum = 1, maximum = 315_360_000)]
    validity_seconds: Option<u64>,
    /// Whether the credentials get a status list entry (can be revoked).
    status_list: Option<bool>,
    /// Claim path -> disclosable (`true`) or always visible (`false`).
    #[schema(value_type = Option<std::collections::HashMap<String, bool>>)]
    selective_disclosure: Option<Value>,
    /// A webhook giving the claims of every configuration without
    /// `credentialClaims` (`url`, `method`?, `auth`?).
    #[schema(value_type = Option<Object>)]
    webhook: Option<Value>,
    /// Passed to the upstream login as `login_hint`.
    login_hint: Option<String>,
    /// Upstream login parameters (`prompt`, `acr_values`, `ui_locales`,
    /// `max_age`, `display`), each 1 to 256 characters.
    #[schema(value_type = Option<std::collections::HashMap<String, String>>)]
    login_parameters: Option<Value>,
    /// JSON pointer into the ID token -> claim path.
    #[schema(value_type = Option<std::collections::HashMap<String, String>>)]
    id_token_claims_mapping: Option<Value>,
}

fn field(errors: &mut Vec<FieldError>, field: &str, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

pub(super) struct Validated {
    pub(super) configuration_ids: Vec<String>,
    pub(super) tx: Option<(TxCode, String)>,
    pub(super) value_mode: ValueMode,
    pub(super) scheme: OfferScheme,
    pub(super) expires_in: i64,
    pub(super) claims: BTreeMap<String, ClaimSourceSpec>,
    pub(super) overrides: RuntimeOverrides,
    pub(super) webhook_endpoint_id: Option<String>,
    pub(super) flow: Flow,
    pub(super) issuer_state: bool,
    pub(super) issuance_mode: IssuanceMode,
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
    let flow = match body.flow.as_deref() {
        None => Flow::PreAuthorizedCode,
        Some(given) => Flow::parse(given).unwrap_or_else(|| {
            field(
                &mut errors,
                "flow",
                format!(
                    "'{given}' is not a flow; use pre_authorized_code, authorization_code or both"
                ),
            );
            Flow::PreAuthorizedCode
        }),
    };
    let code_flow = flow != Flow::PreAuthorizedCode;
    // An external authorization server (its issuer URL); `None`: Sigil's own.
    let external = body
        .authorization_server
        .as_deref()
        .and_then(|given| external_server(state, t, given, &mut errors));
    if external.is_some() && flow != Flow::AuthorizationCode {
        field(
            &mut errors,
            "flow",
            if code_flow {
                "an external authorization server serves only the authorization code grant (the pre-authorized code is always Sigil's own); use flow authorization_code, and another offer for the pre-authorized code"
            } else {
                "authorizationServer belongs to the authorization code flow; set flow to authorization_code"
            },
        );
    }
    let value_mode = match body
        .value_mode
        .as_deref()
        .or(profile.and_then(|p| p.value_mode.as_deref()))
    {
        None => ValueMode::ByReference,
        Some(given) => ValueMode::parse(given).unwrap_or_else(|| {
            field(
                &mut errors,
                "valueMode",
                format!("'{given}' is not by_reference or by_value"),
            );
            ValueMode::ByReference
        }),
    };
    // Without issuer_state nothing ties the wallet's authorization to this
    // offer, so a code-flow offer includes it unless told otherwise (ADR 0017).
    let issuer_state = match body.issuer_state_mode.as_deref() {
        None => code_flow && external.is_none(),
        Some("omit") => false,
        Some("include") if external.is_some() => {
            field(
                &mut errors,
                "issuerStateMode",
                "issuer_state ties the wallet's authorization at Sigil's own authorization server to the offer; the external authorization server does not know it, so use omit (or leave it out)",
            );
            false
        }
        Some("include") if code_flow => true,
        Some("include") => {
            field(
                &mut errors,
                "issuerStateMode",
                "issuer_state belongs to the authorization code flow; set flow to authorization_code or both",
            );
            false
        }
        Some(other) => {
            field(
                &mut errors,
                "issuerStateMode",
                format!("'{other}' is not omit or include"),
            );
            false
        }
    };
    let has_login = state
        .settings
        .tenants
        .get(&t.id)
        .is_some_and(|s| s.login.is_some());
    if code_flow && !issuer_state && !has_login && external.is_none() {
        field(
            &mut errors,
            "issuerStateMode",
            format!(
                "tenant '{}' has no login ([tenants.{}.login]), so a wallet's authorization can only be tied to the offer by its issuer_state; use include",
                t.id, t.id
            ),
        );
    }
    if external.is_some() {
        // The external server knows nothing of this offer: its access token
        // is tied to no offer, so nothing given here could ever be used
        // (ADR 0017).
        let unused = "is not used with an external authorization server: its access token is not tied to this offer (that server does not know it), so the credential is issued from the configuration's claim source for the token's sub; leave it out";
        if body.credential_claims.is_some() {
            field(&mut errors, "credentialClaims", unused);
        }
        if body
            .runtime_overrides
            .as_ref()
            .is_some_and(|o| !o.is_empty())
        {
            field(&mut errors, "runtimeOverrides", unused);
        }
        if body.login_hint.is_some() {
            field(
                &mut errors,
                "loginHint",
                "loginHint goes to the login at Sigil's own authorization server; the external authorization server runs its own login",
            );
        }
    } else if code_flow && !issuer_state && body.credential_claims.is_some() {
        field(
            &mut errors,
            "credentialClaims",
            "with issuerStateMode omit the wallet's authorization is not tied to this offer, so its credentialClaims would never be used; use include",
        );
    }
    if code_flow
        && external.is_none()
        && state
            .settings
            .tenants
            .get(&t.id)
            .is_none_or(|s| s.redirect_uris.is_empty())
    {
        field(
            &mut errors,
            "flow",
            format!(
                "tenant '{}' accepts no wallet redirect URIs; list them in [tenants.{}] redirect_uris",
                t.id, t.id
            ),
        );
    }
    if flow == Flow::AuthorizationCode && body.tx_code.is_some() {
        field(
            &mut errors,
            "txCode",
            "txCode belongs to the pre-authorized code flow; use flow pre_authorized_code or both",
        );
    }
    let scheme = match body.scheme.as_deref() {
        None => OfferScheme::OpenidCredentialOffer,
        Some(given) => OfferScheme::parse(given).unwrap_or_else(|| {
            field(
                &mut errors,
                "scheme",
                format!("'{given}' is not openid-credential-offer or haip"),
            );
            OfferScheme::OpenidCredentialOffer
        }),
    };
    let expires_in = body
        .expires_in_seconds
        .or(profile.and_then(|p| p.expires_in_seconds))
        .unwrap_or(300);
    let lifetime = state.settings.offer_lifetime(&t.id);
    let never = if lifetime.non_expiring {
        ", or -1 for an offer that never expires"
    } else {
        ""
    };
    if expires_in == -1 && !lifetime.non_expiring {
        field(
            &mut errors,
            "expiresInSeconds",
            format!(
                "tenant '{}' does not allow offers that never expire (allow_non_expiring_offers = false); use 1 to {} seconds",
                t.id, lifetime.max_seconds
            ),
        );
    } else if expires_in != -1 && !(1..=lifetime.max_seconds).contains(&expires_in) {
        field(
            &mut errors,
            "expiresInSeconds",
            format!(
                "{expires_in} is out of range: use 1 to {} seconds (the tenant's max_offer_lifetime_seconds){never}",
                lifetime.max_seconds
            ),
        );
    }
    let issuance_mode = match body.issuance_mode.as_deref() {
        None => IssuanceMode::Immediate,
        Some(given) => IssuanceMode::parse(given).unwrap_or_else(|| {
            field(
                &mut errors,
                "issuanceMode",
                format!("'{given}' is not immediate or deferred"),
            );
            IssuanceMode::Immediate
        }),
    };
    if let Some(id) = &body.webhook_endpoint_id
        && !state.settings.event_endpoints.contains_key(id)
    {
        field(
            &mut errors,
            "webhookEndpointId",
            format!(
                "unknown event endpoint '{id}'; configured (config/event-endpoints/): {}",
                names(state.settings.event_endpoints.keys())
            ),
        );
    }
    // With an external authorization server loginHint is refused above.
    if let Some(hint) = &body.login_hint
        && external.is_none()
    {
        if !code_flow {
            field(
                &mut errors,
                "loginHint",
                "loginHint belongs to the authorization code flow; set flow to authorization_code or both",
            );
        } else if hint.is_empty() || hint.len() > 256 || hint.chars().any(char::is_control) {
            field(
                &mut errors,
                "loginHint",
                "must be 1 to 256 characters without control characters",
            );
        }
    }
    let mut claims = body.credential_claims.unwrap_or_default();
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
        check_source(state, &at, source, &mut errors);
    }
    let overrides = body.runtime_overrides.unwrap_or_default();
    check_overrides(state, t, &overrides, &mut errors);
    // A per-offer webhook is the claim source of every configuration the
    // offer gives no credentialClaims entry for.
    if let Some(webhook) = overrides.get("webhook") {
        for id in &configuration_ids {
            claims
                .entry(id.clone())
                .or_insert_with(|| json!({ "type": "webhook", "webhook": webhook }));
        }
    }
    if overrides.contains_key("credentialData") {
        for id in &configuration_ids {
            let remote = state
                .settings
                .credential_configurations
                .get(id)
                .is_some_and(|c| {
                    c.attribute_provider.is_some()
                        || c.source
                            .as_ref()
                            .is_some_and(|s| !matches!(s, ClaimSource::Static { .. }))
                });
            if remote && !claims.contains_key(id) {
                field(
                    &mut errors,
                    "runtimeOverrides.credentialData",
                    format!(
                        "credentialData replaces static claims, but '{id}' gets its claims from a provider; give them as credentialClaims.{id} = {{\"type\": \"inline\", ...}} instead"
                    ),
                );
            }
        }
    }
    for id in &configuration_ids {
        let has_source = state
            .settings
            .credential_configurations
            .get(id)
            .is_some_and(|c| c.source.is_some() || c.attribute_provider.is_some());
        if !claims.contains_key(id)
            && !has_source
            && !overrides.contains_key("credentialData")
            && t.offers(id)
        {
            if external.is_some() {
                field(
                    &mut errors,
                    &format!(
                        "credentialConfigurationIds[{}]",
                        configuration_ids
                            .iter()
                            .position(|c| c == id)
                            .unwrap_or_default()
                    ),
                    format!(
                        "'{id}' has no claim source in its configuration, and with an external authorization server the credential's claims come only from there; give '{id}' a source (or an attribute provider), or offer it through Sigil's own authorization server"
                    ),
                );
            } else {
                field(
                    &mut errors,
                    &format!("credentialClaims.{id}"),
                    format!(
                        "'{id}' has no claim source in its configuration; give its claims here"
                    ),
                );
            }
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
    let tx = tx_input.and_then(|tx| {
        tx.announce()
            .map_err(|faults| {
                for f in faults {
                    field(&mut errors, &format!("txCode.{}", f.member), f.message);
                }
            })
            .ok()
    });
    // The checks above name each bad member; what passed them is read
    // into the typed model (a failure here is a check that is missing).
    let claims: BTreeMap<String, ClaimSourceSpec> = claims
        .into_iter()
        .filter_map(|(id, source)| match serde_json::from_value(source) {
            Ok(typed) => Some((id, typed)),
            Err(e) => {
                field(
                    &mut errors,
                    &format!("credentialClaims.{id}"),
                    e.to_string(),
                );
                None
            }
        })
        .collect();
    let mut overrides = serde_json::from_value::<RuntimeOverrides>(Value::Object(overrides))
        .unwrap_or_else(|e| {
            field(&mut errors, "runtimeOverrides", e.to_string());
            RuntimeOverrides::default()
        });
    if body.login_hint.is_some() {
        overrides.login_hint.clone_from(&body.login_hint);
    }
    overrides.authorization_server = external;
    // mDL claims the offer writes must agree with the signing certificate.
    errors.extend(
        sigil_issuer::mdl::offer_disagreements(
            t,
            &state.settings,
            &configuration_ids,
            &claims,
            &overrides,
        )
        .into_iter()
        .map(|(field, message)| FieldError { field, message }),
    );
    if !errors.is_empty() {
        return Err(Problem::validation("the offer request is invalid", errors));
    }
    let webhook_endpoint_id = sigil_issuer::delivery::endpoint_of_offer(
        &state.settings,
        body.webhook_endpoint_id,
        &configuration_ids,
    );
    Ok(Validated {
        configuration_ids,
        tx,
        value_mode,
        scheme,
        expires_in,
        claims,
        overrides,
        webhook_endpoint_id,
        flow,
        issuer_state,
        issuance_mode,
    })
}

/// The issuer URL of the tenant's external authorization server `given`
/// names (by id or issuer URL); `None` for Sigil's own (its issuer URL), or
/// with a field error when the tenant has no such server.
fn external_server(
    state: &AppState,
    t: &Tenant,
    given: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    if given == t.issuer {
        return None;
    }
    let servers = state.settings.tenant_authorization_servers(&t.id);
    if let Some((_, s)) = servers
        .iter()
        .find(|(id, s)| *id == given || s.issuer == given)
    {
        return Some(s.issuer.clone());
    }
    let message = if servers.is_empty() {
        format!(
            "tenant '{}' accepts no external authorization servers; define [authorization_servers.<id>] and list the id in [tenants.{}] authorization_servers, or leave authorizationServer out to use Sigil's own",
            t.id, t.id
        )
    } else {
        format!(
            "'{}' is not an authorization server of tenant '{}'; use one of: {}, or leave it out to use Sigil's own ({})",
            given.chars().take(200).collect::<String>(),
            t.id,
            servers
                .iter()
                .map(|(id, s)| format!("{id} ({})", s.issuer))
                .collect::<Vec<_>>()
                .join(", "),
            t.issuer
        )
    };
    field(errors, "authorizationServer", message);
    None
}

fn names<'a>(ids: impl Iterator<Item = &'a String>) -> String {
    let list: Vec<&str> = ids.map(String::as_str).collect();
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

fn unknown_keys(
    errors: &mut Vec<FieldError>,
    at: &str,
    obj: &Map<String, Value>,
    allowed: &[&str],
) {
    for k in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
        field(
            errors,
            &format!("{at}.{k}"),
            format!("unknown member; allowed: {}", allowed.join(", ")),
        );
    }
}

fn templates(errors: &mut Vec<FieldError>, at: &str, value: &Value) {
    if let Err(e) = datafn::check(value, at) {
        let (path, message) = e.split_once(": ").unwrap_or((at, e.as_str()));
        field(errors, path, message);
    }
}

/// An inline webhook `{url, method?, auth?}`: origin allowed, auth well-formed.
fn check_webhook(state: &AppState, at: &str, webhook: &Value, errors: &mut Vec<FieldError>) {
    let Some(obj) = webhook.as_object() else {
        field(
            errors,
            at,
            "must be an object {\"url\": ..., \"auth\": {...}}",
        );
        return;
    };
    unknown_keys(errors, at, obj, &["url", "method", "auth"]);
    match obj.get("url").and_then(Value::as_str) {
        None => field(errors, &format!("{at}.url"), "give the webhook URL"),
        Some(url) => {
            if let Err((problem, fix)) = state.settings.check_outbound(WEBHOOK_PLUGIN, url) {
                field(
                    errors,
                    &format!("{at}.url"),
                    format!("{problem}. Fix: {fix}"),
                );
            }
        }
    }
    match obj.get("method").map(Value::as_str) {
        None | Some(Some("GET" | "POST")) => {}
        _ => field(errors, &format!("{at}.method"), "use GET or POST"),
    }
    let Some(auth) = obj.get("auth") else {
        return;
    };
    let at = format!("{at}.auth");
    let Some(a) = auth.as_object() else {
        field(errors, &at, "must be an object with a type");
        return;
    };
    let needs: &[&str] = match a.get("type").and_then(Value::as_str) {
        Some("bearer") => &["token"],
        Some("basic") => &["username", "password"],
        Some("api-key") => &["value"],
        _ => {
            field(
                errors,
                &format!("{at}.type"),
                "use bearer {token}, basic {username, password} or api-key {header?, value}",
            );
            return;
        }
    };
    for k in needs {
        let given = a.get(*k).and_then(Value::as_str).unwrap_or_default();
        if given.is_empty() {
            field(errors, &format!("{at}.{k}"), "must be a non-empty string");
        }
    }
    unknown_keys(
        errors,
        &at,
        a,
        &["type", "token", "username", "password", "header", "value"],
    );
}

/// One `credentialClaims.{id}` value.
fn check_source(state: &AppState, at: &str, source: &Value, errors: &mut Vec<FieldError>) {
    let plugin_loaded = |errors: &mut Vec<FieldError>, plugin: &str| {
        if state.plugins.plugin(plugin).is_none() {
            field(
                errors,
                &format!("{at}.type"),
                format!("plugin '{plugin}' is not loaded on this server"),
            );
        }
    };
    match source.get("type").and_then(Value::as_str) {
        Some("inline") => match source.get("claims") {
            Some(c) if c.is_object() => templates(errors, &format!("{at}.claims"), c),
            _ => field(
                errors,
                &format!("{at}.claims"),
                "an inline source needs a claims object",
            ),
        },
        Some("attributeProvider") => {
            let id = source
                .get("id")
                .or_else(|| source.get("attributeProviderId"))
                .and_then(Value::as_str);
            match id.map(|id| (id, state.settings.attribute_providers.get(id))) {
                None => field(
                    errors,
                    &format!("{at}.id"),
                    "give the attribute provider's id",
                ),
                Some((id, None)) => field(
                    errors,
                    &format!("{at}.id"),
                    format!(
                        "unknown attribute provider '{id}'; configured: {}",
                        names(state.settings.attribute_providers.keys())
                    ),
                ),
                Some((_, Some(p))) => plugin_loaded(errors, p.plugin_id()),
            }
        }
        Some("webhook") => {
            match (
                source.get("webhook"),
                source
                    .get("id")
                    .or_else(|| source.get("webhookEndpointId"))
                    .and_then(Value::as_str),
            ) {
                (Some(w), None) => check_webhook(state, &format!("{at}.webhook"), w, errors),
                (None, Some(id)) => {
                    if !state.settings.webhook_endpoints.contains_key(id) {
                        field(
                            errors,
                            &format!("{at}.id"),
                            format!(
                                "unknown webhook endpoint '{id}'; configured: {}",
                                names(state.settings.webhook_endpoints.keys())
                            ),
                        );
                    }
                }
                _ => field(
                    errors,
                    &format!("{at}.webhook"),
                    "give either webhook {url, auth?} or the id of a configured webhook endpoint",
                ),
            }
            plugin_loaded(errors, WEBHOOK_PLUGIN);
        }
        _ => field(
            errors,
            &format!("{at}.type"),
            "use inline {claims}, attributeProvider {id} or webhook {webhook: {url, auth?}} / {id}",
        ),
    }
}

/// The members of `runtimeOverrides` (and of [`RuntimeOverridesInput`]).
pub(crate) const OVERRIDES: &[&str] = &[
    "issuerKeyId",
    "x5Chain",
    "subjectId",
    "credentialData",
    "mapping",
    "validitySeconds",
    "statusList",
    "selectiveDisclosure",
    "webhook",
    "loginHint",
    "loginParameters",
    "idTokenClaimsMapping",
];

/// Whether `chain` (an `x5Chain` override) can be carried with `key`: the
/// same check a key's chain file gets at start-up (its leaf certifies the
/// key, every certificate parses and is valid now).
fn leaf_certifies(chain: Vec<Vec<u8>>, key: &sigil_keys::SharedSigner) -> Result<(), String> {
    let given = sigil_keys::Presented::with_chain(key.clone(), None, chain);
    sigil_keys::folder::check_chain(
        std::path::Path::new("runtimeOverrides.x5Chain"),
        &given,
        None,
        std::time::SystemTime::now(),
    )
    .map_err(|e| {
        format!(
            "{}; put the signing key's certificate first (leaf first), or choose the key the chain certifies with issuerKeyId",
            e.problem
        )
    })
}

/// `runtimeOverrides`.
fn check_overrides(
    state: &AppState,
    t: &Tenant,
    o: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) {
    let at = |k: &str| format!("runtimeOverrides.{k}");
    unknown_keys(errors, "runtimeOverrides", o, OVERRIDES);
    let keys = t.keys.load();
    let mut key = Some(&keys.active);
    if let Some(v) = o.get("issuerKeyId") {
        key = v.as_str().and_then(|k| keys.find(k));
        match v.as_str() {
            Some(_) if key.is_some() => {}
            Some(k) if keys.retired.iter().any(|r| r == k) => field(
                errors,
                &at("issuerKeyId"),
                format!(
                    "key '{k}' of tenant '{}' is retired: it is published so what it signed still verifies, but it no longer signs",
                    t.id
                ),
            ),
            Some(k) => field(
                errors,
                &at("issuerKeyId"),
                format!(
                    "'{k}' is not a signing key of tenant '{}'; its keys: {} (GET /admin/v1/tenants/{}/keys lists them)",
                    t.id,
                    std::iter::once(&keys.active)
                        .chain(&keys.standby)
                        .map(|k| format!("'{}'", k.key.key_id()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    t.id
                ),
            ),
            None => field(errors, &at("issuerKeyId"), "must be a key id (string)"),
        }
    }
    if let Some(v) = o.get("x5Chain") {
        let given: Option<Vec<String>> = serde_json::from_value(v.clone()).ok();
        match given.as_deref().and_then(crate::tenants::decode_chain) {
            None => field(
                errors,
                &at("x5Chain"),
                "must be a non-empty array of base64 (not URL-safe) DER certificates, leaf first",
            ),
            Some(chain) => {
                if let Some(key) = key
                    && let Err(e) = leaf_certifies(chain, &key.key)
                {
                    field(errors, &at("x5Chain"), e);
                }
            }
        }
    }
    if let Some(v) = o.get("idTokenClaimsMapping") {
        let ok = v.as_object().is_some_and(|m| {
            !m.is_empty()
                && m.iter()
                    .all(|(k, v)| k.starts_with('/') && v.as_str().is_some_and(|p| !p.is_empty()))
        });
        if !ok {
            field(
                errors,
                &at("idTokenClaimsMapping"),
                "must be a non-empty object of JSON pointers into the ID token to claim paths, e.g. {\"/given_name\": \"given_name\"}",
            );
        }
    }
    if let Some(v) = o.get("loginParameters") {
        match v.as_object() {
            Some(m) => {
                for (name, value) in m {
                    if !sigil_issuer::model::LOGIN_PARAMETERS.contains(&name.as_str()) {
                        field(
                            errors,
                            &at(&format!("loginParameters.{name}")),
                            format!(
                                "not an upstream login parameter Sigil passes on; use {}",
                                sigil_issuer::model::LOGIN_PARAMETERS.join(", ")
                            ),
                        );
                    } else if !value
                        .as_str()
                        .is_some_and(|s| !s.is_empty() && s.len() <= 256)
                    {
                        field(
                            errors,
                            &at(&format!("loginParameters.{name}")),
                            "must be a string of 1 to 256 characters",
                        );
                    }
                }
            }
            None => field(
                errors,
                &at("loginParameters"),
                "must be an object of strings, e.g. {\"prompt\": \"login\"}",
            ),
        }
    }
    if let Some(v) = o.get("subjectId")
        && !v.as_str().is_some_and(|s| !s.is_empty() && s.len() <= 2048)
    {
        field(errors, &at("subjectId"), "must be a non-empty string");
    }
    if let Some(v) = o.get("credentialData") {
        if v.is_object() {
            templates(errors, &at("credentialData"), v);
        } else {
            field(errors, &at("credentialData"), "must be an object of claims");
        }
    }
    if let Some(v) = o.get("mapping") {
        match v.as_object() {
            Some(m) => {
                for k in m.keys() {
                    if k.is_empty() || k.split('.').any(str::is_empty) {
                        field(
                            errors,
                            &format!("{}.{k}", at("mapping")),
                            "a key is a claim path such as given_name or address.locality",
                        );
                    }
                }
                templates(errors, &at("mapping"), v);
            }
            None => field(
                errors,
                &at("mapping"),
                "must be an object: claim path -> value",
            ),
        }
    }
    if let Some(v) = o.get("validitySeconds")
        && !v
            .as_u64()
            .is_some_and(|s| (1..=10 * 365 * 86_400).contains(&s))
    {
        field(
            errors,
            &at("validitySeconds"),
            "must be a whole number of seconds from 1 to 315360000 (10 years)",
        );
    }
    if o.get("statusList").is_some_and(|v| !v.is_boolean()) {
        field(
            errors,
            &at("statusList"),
            "must be true (the credentials get a status list entry, so they can be revoked) or false",
        );
    }
    if let Some(v) = o.get("selectiveDisclosure")
        && !v
            .as_object()
            .is_some_and(|m| m.values().all(Value::is_boolean))
    {
        field(
            errors,
            &at("selectiveDisclosure"),
            "must be an object: claim path -> true (disclosable) or false (always visible)",
        );
    }
    if let Some(v) = o.get("webhook") {
        check_webhook(state, &at("webhook"), v, errors);
        if state.plugins.plugin(WEBHOOK_PLUGIN).is_none() {
            field(
                errors,
                &at("webhook"),
                format!("plugin '{WEBHOOK_PLUGIN}' is not loaded on this server"),
            );
        }
    }
}
