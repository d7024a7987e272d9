//! Resource folders next to `sigil.toml`: credential configurations and
//! profiles, one file each (TOML or JSON), named by their `id`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::SettingsError;

/// A display entry (OID4VCI `display` object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Display {
    /// Display name.
    pub name: String,
    /// BCP 47 language tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Background colour (CSS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
    /// Text colour (CSS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<String>,
    /// Logo `{uri, alt_text}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<Value>,
}

/// A claim's description (OID4VCI claims path pointer plus Sigil's `sd`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimDescription {
    /// Claims path pointer: strings (members), integers (array index), null (all elements).
    pub path: Vec<Value>,
    /// Whether the issuer always includes the claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandatory: Option<bool>,
    /// Whether the claim is selectively disclosable (SD-JWT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd: Option<bool>,
    /// Display names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<ClaimDisplay>,
}

/// Display of one claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimDisplay {
    /// Display name.
    pub name: String,
    /// BCP 47 language tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// Where a configuration's claims come from when the offer gives none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ClaimSource {
    /// Fixed claims (plugin `claims-static`).
    Static {
        /// The claims.
        claims: Map<String, Value>,
    },
    /// A named webhook endpoint (`webhook-endpoints/<id>.toml`).
    Webhook {
        /// Endpoint id.
        id: String,
    },
    /// A custom claim-provider plugin with its settings.
    Plugin {
        /// Plugin id.
        plugin: String,
        /// Settings passed to the plugin as `source`.
        #[serde(default)]
        settings: Value,
    },
}

/// One credential configuration (`credential-configurations/<id>.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfiguration {
    /// Id: the key in `credential_configurations_supported`.
    pub id: String,
    /// Credential format (`dc+sd-jwt`, `jwt_vc_json`, `mso_mdoc`, or a plugin's own).
    pub format: String,
    /// Format plugin id (default: the built-in plugin for the format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_plugin: Option<String>,
    /// SD-JWT VC type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct: Option<String>,
    /// mdoc document type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctype: Option<String>,
    /// W3C VC `credential_definition` (JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_definition: Option<Value>,
    /// OAuth scope for the authorization code flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Validity of issued credentials in seconds (none: no expiry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_seconds: Option<u64>,
    /// Whether its credentials get a Token Status List entry (default:
    /// `[status_lists] enabled`).
    #[serde(default, skip_serializing)]
    pub status_list: Option<bool>,
    /// Display of the credential.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<Display>,
    /// Claims descriptions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<ClaimDescription>,
    /// Format-specific options for the format plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_options: Option<Value>,
    /// Attribute provider (`attribute-providers/<id>.toml`) asked for the
    /// claims when the offer gives none; it takes precedence over `source`
    /// (DESIGN §1; EUDIPLO's `attributeProviderId` is accepted as the key).
    #[serde(default, alias = "attributeProviderId", skip_serializing)]
    pub attribute_provider: Option<String>,
    /// Default claim source (static claims, a webhook endpoint or a plugin).
    #[serde(default, skip_serializing)]
    pub source: Option<ClaimSource>,
    /// Claims set after resolution, whatever the source: claim path
    /// (`a.b`) → value, with data functions (`<uuid>`, `<timestamp>`, ...).
    /// An offer's `runtimeOverrides.mapping` replaces it.
    #[serde(default, skip_serializing)]
    pub mapping: Option<Map<String, Value>>,
    /// The event endpoint (`event-endpoints/<id>.toml`) that gets the events
    /// of offers of this configuration, unless the offer names one
    /// (`webhookEndpointId`).
    #[serde(default, skip_serializing)]
    pub webhook_endpoint_id: Option<String>,
}

impl CredentialConfiguration {
    /// The format plugin that issues this configuration.
    pub fn format_plugin_id(&self) -> Option<&str> {
        if let Some(p) = &self.format_plugin {
            return Some(p);
        }
        match self.format.as_str() {
            "dc+sd-jwt" => Some("format-sd-jwt-vc"),
            "jwt_vc_json" => Some("format-jwt-vc-json"),
            "mso_mdoc" => Some("format-mso-mdoc"),
            _ => None,
        }
    }
}

/// Transaction code defaults of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxCodeDefaults {
    /// `numeric` or `text`.
    #[serde(default = "numeric")]
    pub input_mode: String,
    /// Length of generated codes.
    #[serde(default)]
    pub length: Option<u32>,
    /// Description shown by the wallet.
    #[serde(default)]
    pub description: Option<String>,
}

fn numeric() -> String {
    "numeric".into()
}

/// An offer profile (`profiles/<id>.toml`): configurations plus defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Id, referenced by `profile` in offers.
    pub id: String,
    /// Configurations the offer contains.
    pub credential_configuration_ids: Vec<String>,
    /// Default offer lifetime in seconds (-1: never expires).
    #[serde(default)]
    pub expires_in_seconds: Option<i64>,
    /// Default transaction code.
    #[serde(default)]
    pub tx_code: Option<TxCodeDefaults>,
    /// Default `valueMode` (`by_reference` or `by_value`).
    #[serde(default)]
    pub value_mode: Option<String>,
}

/// Load every `*.toml` / `*.json` in `dir` as `T`, keyed by `id(&T)`.
/// A missing folder is empty.
pub(crate) fn load_dir<T: DeserializeOwned>(
    dir: &Path,
    id: impl Fn(&T) -> &str,
) -> Result<BTreeMap<String, (T, std::path::PathBuf)>, SettingsError> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if ext != "toml" && ext != "json" {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            SettingsError::new(
                &path,
                "-",
                format!("cannot read: {e}"),
                "check the file's permissions",
            )
        })?;
        let value: T = if ext == "toml" {
            toml::from_str(&text).map_err(|e| {
                let key = e.message().split('`').nth(1).unwrap_or("-").to_owned();
                SettingsError::new(
                    &path,
                    key,
                    e.to_string().replace('\n', " "),
                    "correct the key or value shown",
                )
            })?
        } else {
            serde_json::from_str(&text).map_err(|e| {
                SettingsError::new(
                    &path,
                    "-",
                    e.to_string(),
                    "correct the JSON at the position shown",
                )
            })?
        };
        let key = id(&value).to_owned();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if stem != key {
            return Err(SettingsError::new(
                &path,
                "id",
                format!("id '{key}' does not match the file name '{stem}'"),
                format!("rename the file to {key}.{ext} or set id = \"{stem}\""),
            ));
        }
        if let Some((_, other)) = out.get(&key) {
            let other: &std::path::PathBuf = other;
            return Err(SettingsError::new(
                &path,
                "id",
                format!("id '{key}' is also defined in {}", other.display()),
                "keep one file per id",
            ));
        }
        out.insert(key, (value, path));
    }
    Ok(out)
}
