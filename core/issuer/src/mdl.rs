//! mDLs that strict verifiers accept (ADR 0014): ISO/IEC 18013-5 §9.3.1
//! has the reader check that an mDL's `issuing_country` equals the
//! `countryName` of the document signer (DS) certificate in its `x5chain`,
//! and `issuing_jurisdiction`, when present, its `stateOrProvinceName`.
//! An mDL that breaks this fails verification, so Sigil does not issue it:
//!
//! * at offer creation, claims written into the offer (inline
//!   `credentialClaims`, `runtimeOverrides.credentialData`) are checked
//!   against the certificate the offer would be signed with
//!   ([`offer_disagreements`]);
//! * at the credential endpoint, the finished claims from any source are
//!   checked, and a missing `issuing_country` of an mDL is filled in from
//!   the certificate ([`reconcile`]).
//!
//! The rule applies to `mso_mdoc` configurations signed with a certificate
//! chain, to the elements of namespace `org.iso.18013.5.1`: nested under
//! that name, or top-level when it is the configuration's default
//! namespace (the format plugin's rule: `format_options.namespace`, else
//! the first namespace of a configured claim path, else this namespace for
//! the mDL doctype).

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sigil_settings::datafn;
use sigil_settings::{ClaimSource, CredentialConfiguration, Settings};

use crate::model::{ClaimSourceSpec, RuntimeOverrides};
use crate::ports::{DocumentSigner, IssuerTenant};

/// The mDL namespace.
pub const NAMESPACE: &str = "org.iso.18013.5.1";
/// The mDL doctype.
pub const DOCTYPE: &str = "org.iso.18013.5.1.mDL";
/// The format the rule applies to.
const FORMAT: &str = "mso_mdoc";
const COUNTRY: &str = "issuing_country";
const JURISDICTION: &str = "issuing_jurisdiction";

/// An mDL element that disagrees with the document signer certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// `issuing_country` is not the certificate's `countryName`.
    Country {
        /// The element's path in the claims (`issuing_country` or
        /// `org.iso.18013.5.1.issuing_country`).
        path: String,
        /// The certificate's `countryName`, if it has one.
        certificate: Option<String>,
    },
    /// `issuing_jurisdiction` is not the certificate's `stateOrProvinceName`.
    Jurisdiction {
        /// The element's path in the claims.
        path: String,
        /// The certificate's `stateOrProvinceName`, if it has one.
        certificate: Option<String>,
    },
}

impl Mismatch {
    /// The element's path in the claims.
    pub fn path(&self) -> &str {
        match self {
            Self::Country { path, .. } | Self::Jurisdiction { path, .. } => path,
        }
    }

    /// What is wrong and the fix; names the certificate's value (public),
    /// never the claim's.
    pub fn describe(&self) -> String {
        match self {
            Self::Country {
                path,
                certificate: Some(c),
            } => format!(
                "{path} must be '{c}', the countryName (C) of the document signer certificate that signs this mDL: ISO/IEC 18013-5 verifiers refuse an mDL whose issuing_country differs (leave issuing_country out and it is filled in from the certificate)"
            ),
            Self::Country {
                path,
                certificate: None,
            } => format!(
                "{path} cannot match the document signer certificate: it has no countryName (C), which ISO/IEC 18013-5 requires; sign with a certificate that names its country"
            ),
            Self::Jurisdiction {
                path,
                certificate: Some(st),
            } => format!(
                "{path} must be '{st}', the stateOrProvinceName (ST) of the document signer certificate that signs this mDL: ISO/IEC 18013-5 verifiers refuse an mDL whose issuing_jurisdiction differs"
            ),
            Self::Jurisdiction {
                path,
                certificate: None,
            } => format!(
                "{path} is given, but the document signer certificate has no stateOrProvinceName (ST) to match it, so ISO/IEC 18013-5 verifiers refuse the mDL; leave issuing_jurisdiction out, or sign with a certificate that names the state"
            ),
        }
    }
}

/// Whether top-level claims of `config` are elements of the mDL namespace
/// (the format plugin's default namespace rule).
fn top_level_is_mdl(config: &CredentialConfiguration) -> bool {
    let option = config
        .format_options
        .as_ref()
        .and_then(|o| o.get("namespace"))
        .and_then(Value::as_str);
    let first_configured = config.claims.iter().find_map(|c| match c.path.as_slice() {
        [Value::String(ns), _, ..] => Some(ns.as_str()),
        _ => None,
    });
    match option.or(first_configured) {
        Some(ns) => ns == NAMESPACE,
        None => config.doctype.as_deref() == Some(DOCTYPE),
    }
}

/// Element `name` of the mDL namespace: its path and value.
fn element<'a>(
    claims: &'a Map<String, Value>,
    top_level: bool,
    name: &str,
) -> Option<(String, &'a Value)> {
    let nested = claims
        .get(NAMESPACE)
        .and_then(Value::as_object)
        .and_then(|ns| ns.get(name))
        .map(|v| (format!("{NAMESPACE}.{name}"), v));
    nested.or_else(|| {
        top_level
            .then(|| claims.get(name).map(|v| (name.to_owned(), v)))
            .flatten()
    })
}

/// Check the mDL elements of `claims` against `signer`; with `templates`,
/// values with data functions are left for issuance.
fn check(
    top_level: bool,
    claims: &Map<String, Value>,
    signer: &DocumentSigner,
    templates: bool,
) -> Result<(), Mismatch> {
    let agrees = |value: &Value, certificate: &Option<String>| {
        (templates && datafn::calls_function(value))
            || certificate
                .as_deref()
                .is_some_and(|c| value.as_str() == Some(c))
    };
    if let Some((path, value)) = element(claims, top_level, COUNTRY)
        && !agrees(value, &signer.country)
    {
        return Err(Mismatch::Country {
            path,
            certificate: signer.country.clone(),
        });
    }
    if let Some((path, value)) = element(claims, top_level, JURISDICTION)
        && !agrees(value, &signer.state_or_province)
    {
        return Err(Mismatch::Jurisdiction {
            path,
            certificate: signer.state_or_province.clone(),
        });
    }
    Ok(())
}

/// The finished claims of one credential of `config`, as it will be signed
/// with the certificate `signer` (none: no chain, nothing to agree with):
/// a disagreement is refused; an mDL without `issuing_country` gets the
/// certificate's `countryName`.
pub fn reconcile(
    config: &CredentialConfiguration,
    claims: &mut Map<String, Value>,
    signer: Option<&DocumentSigner>,
) -> Result<(), Mismatch> {
    let Some(signer) = signer.filter(|_| config.format == FORMAT) else {
        return Ok(());
    };
    let top_level = top_level_is_mdl(config);
    check(top_level, claims, signer, false)?;
    let is_mdl = config.doctype.as_deref() == Some(DOCTYPE);
    if let Some(country) = &signer.country
        && is_mdl
        && element(claims, top_level, COUNTRY).is_none()
    {
        let value = Value::String(country.clone());
        if top_level {
            claims.insert(COUNTRY.to_owned(), value);
        } else if let Some(ns) = claims
            .entry(NAMESPACE)
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
        {
            ns.insert(COUNTRY.to_owned(), value);
        }
    }
    Ok(())
}

/// The claims an offer writes itself for `config`, and where: its inline
/// `credentialClaims`, or `runtimeOverrides.credentialData` when that
/// replaces the configuration's static claims.
fn offered_claims<'a>(
    config: &CredentialConfiguration,
    claims: &'a BTreeMap<String, ClaimSourceSpec>,
    overrides: &'a RuntimeOverrides,
) -> Option<(String, &'a Map<String, Value>)> {
    match claims.get(&config.id) {
        Some(ClaimSourceSpec::Inline { claims }) => {
            Some((format!("credentialClaims.{}.claims", config.id), claims))
        }
        Some(_) => None,
        None => {
            let replaces_static = config.attribute_provider.is_none()
                && matches!(config.source, None | Some(ClaimSource::Static { .. }));
            overrides
                .credential_data
                .as_ref()
                .filter(|_| replaces_static)
                .map(|data| ("runtimeOverrides.credentialData".to_owned(), data))
        }
    }
}

/// At offer creation: the claims the offer writes itself that disagree with
/// the document signer certificate it would be signed with, as (field,
/// problem) pairs for a 400 problem. Claims from providers and the
/// configuration's static claims are checked at issuance ([`reconcile`]).
pub fn offer_disagreements<T: IssuerTenant>(
    tenant: &T,
    settings: &Settings,
    configuration_ids: &[String],
    claims: &BTreeMap<String, ClaimSourceSpec>,
    overrides: &RuntimeOverrides,
) -> Vec<(String, String)> {
    configuration_ids
        .iter()
        .filter_map(|id| settings.credential_configurations.get(id))
        .filter(|config| config.format == FORMAT)
        .filter_map(|config| {
            let (at, offered) = offered_claims(config, claims, overrides)?;
            // A key that no longer signs is reported by the offer checks.
            let signing = tenant.signing(&config.id, &config.format, overrides).ok()?;
            let signer = signing.document_signer?;
            check(top_level_is_mdl(config), offered, &signer, true)
                .err()
                .map(|m| (format!("{at}.{}", m.path()), m.describe()))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(extra: Value) -> CredentialConfiguration {
        let mut c = json!({ "id": "mdl", "format": "mso_mdoc", "doctype": DOCTYPE });
        let Value::Object(extra) = extra else {
            panic!("an object")
        };
        for (k, v) in extra {
            c[k] = v;
        }
        serde_json::from_value(c).unwrap()
    }

    fn claims(v: Value) -> Map<String, Value> {
        let Value::Object(m) = v else {
            panic!("an object")
        };
        m
    }

    fn signer(country: &str, state: Option<&str>) -> DocumentSigner {
        DocumentSigner {
            country: Some(country.into()),
            state_or_province: state.map(Into::into),
        }
    }

    #[test]
    fn an_mdl_whose_country_is_the_certificates_passes_unchanged() {
        let mut c = claims(json!({ "given_name": "Ada", "issuing_country": "UT" }));
        let before = c.clone();
        reconcile(&config(json!({})), &mut c, Some(&signer("UT", None))).unwrap();
        assert_eq!(c, before);
    }

    #[test]
    fn another_country_is_refused_naming_the_element_and_the_certificates_country() {
        for (given, path) in [
            (json!({ "issuing_country": "FR" }), "issuing_country"),
            (
                json!({ NAMESPACE: { "issuing_country": "FR" } }),
                "org.iso.18013.5.1.issuing_country",
            ),
            (json!({ "issuing_country": 33 }), "issuing_country"),
        ] {
            let mut c = claims(given);
            let e = reconcile(&config(json!({})), &mut c, Some(&signer("UT", None))).unwrap_err();
            assert_eq!(
                e,
                Mismatch::Country {
                    path: path.into(),
                    certificate: Some("UT".into())
                }
            );
            let text = e.describe();
            assert!(text.starts_with(path) && text.contains("'UT'"), "{text}");
            assert!(!text.contains("FR"), "no claim values: {text}");
        }
    }

    #[test]
    fn a_missing_country_is_filled_in_where_the_plugin_looks() {
        let mut c = claims(json!({ "given_name": "Ada" }));
        reconcile(&config(json!({})), &mut c, Some(&signer("FR", None))).unwrap();
        assert_eq!(c["issuing_country"], "FR");
        // Default namespace elsewhere: the mDL element goes under its namespace.
        let other = config(json!({ "format_options": { "namespace": "org.example.1" } }));
        let mut c = claims(json!({ "given_name": "Ada" }));
        reconcile(&other, &mut c, Some(&signer("FR", None))).unwrap();
        assert_eq!(c[NAMESPACE]["issuing_country"], "FR");
        assert!(c.get("issuing_country").is_none());
        // ...where a top-level issuing_country is not an mDL element at all.
        let mut c = claims(json!({ "issuing_country": "XX" }));
        reconcile(&other, &mut c, Some(&signer("FR", None))).unwrap();
        assert_eq!(c[NAMESPACE]["issuing_country"], "FR");
        // Not an mDL: nothing is added.
        let mut c = claims(json!({ "given_name": "Ada" }));
        let pid = config(json!({ "doctype": "eu.europa.ec.eudi.pid.1" }));
        reconcile(&pid, &mut c, Some(&signer("FR", None))).unwrap();
        assert!(c.get("issuing_country").is_none() && c.get(NAMESPACE).is_none());
    }

    #[test]
    fn jurisdiction_must_be_the_certificates_state_or_absent() {
        let good = claims(json!({ "issuing_country": "US", "issuing_jurisdiction": "US-CA" }));
        let mut c = good.clone();
        reconcile(
            &config(json!({})),
            &mut c,
            Some(&signer("US", Some("US-CA"))),
        )
        .unwrap();
        let mut c = good.clone();
        let e = reconcile(
            &config(json!({})),
            &mut c,
            Some(&signer("US", Some("US-NY"))),
        )
        .unwrap_err();
        assert!(matches!(&e, Mismatch::Jurisdiction { certificate: Some(s), .. } if s == "US-NY"));
        let mut c = good;
        let e = reconcile(&config(json!({})), &mut c, Some(&signer("US", None))).unwrap_err();
        assert!(matches!(
            &e,
            Mismatch::Jurisdiction {
                certificate: None,
                ..
            }
        ));
        assert!(e.describe().contains("stateOrProvinceName"));
        // A certificate that names a state does not force the element.
        let mut c = claims(json!({ "issuing_country": "US" }));
        reconcile(
            &config(json!({})),
            &mut c,
            Some(&signer("US", Some("US-CA"))),
        )
        .unwrap();
    }

    #[test]
    fn without_a_chain_or_outside_mso_mdoc_nothing_is_checked() {
        let mut c = claims(json!({ "issuing_country": "FR" }));
        reconcile(&config(json!({})), &mut c, None).unwrap();
        let sd_jwt = config(json!({ "format": "dc+sd-jwt", "vct": "urn:x" }));
        reconcile(&sd_jwt, &mut c, Some(&signer("UT", None))).unwrap();
        assert_eq!(c["issuing_country"], "FR");
    }

    #[test]
    fn a_certificate_without_country_refuses_a_given_issuing_country() {
        let mut c = claims(json!({ "issuing_country": "UT" }));
        let none = DocumentSigner::default();
        let e = reconcile(&config(json!({})), &mut c, Some(&none)).unwrap_err();
        assert!(matches!(
            e,
            Mismatch::Country {
                certificate: None,
                ..
            }
        ));
    }

    #[test]
    fn offer_checks_leave_data_functions_for_issuance() {
        let c = claims(json!({ "issuing_country": "<issuer-id>" }));
        check(true, &c, &signer("UT", None), true).unwrap();
        assert!(check(true, &c, &signer("UT", None), false).is_err());
    }
}
