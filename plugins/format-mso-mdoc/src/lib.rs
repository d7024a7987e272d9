//! `format-mso-mdoc`: the built-in format plugin for ISO/IEC 18013-5 mdocs
//! (OID4VCI format `mso_mdoc`, Appendix A.2).
//!
//! # Settings
//!
//! The host passes the credential configuration as `settings`:
//!
//! ```json
//! { "id": "mdl_mdoc", "format": "mso_mdoc", "doctype": "org.iso.18013.5.1.mDL",
//!   "validity_seconds": 31536000,
//!   "display": [{"name": "Mobile Driving Licence", "locale": "en-US"}],
//!   "claims": [ {"path": ["org.iso.18013.5.1", "given_name"], "mandatory": true,
//!                "display": [{"name": "Given name", "locale": "en-US"}]} ],
//!   "format_options": { "namespace": "org.iso.18013.5.1",
//!                       "element_types": { "org.iso.18013.5.1": { "birth_date": "full-date" } } },
//!   "signing_algorithms": ["ES256"] }
//! ```
//!
//! * `id`, `format` (must be `mso_mdoc`) and `doctype` are required.
//! * `signing_algorithms`: JOSE names of the algorithms the issuer key may
//!   use (default `["ES256"]`); published as COSE integers in
//!   `credential_signing_alg_values_supported` (`ES256` → -7, `ES384` → -35,
//!   `ES512` → -36, `EdDSA` → -8). The issuer key's COSE algorithm must be
//!   one of them.
//! * `claims`: claims descriptions. A path is `[namespace, element, ...]`; a
//!   one-component path `[element]` means the default namespace.
//!   `mandatory: true` claims must be present when issuing.
//! * `format_options` (all optional):
//!   * `namespace`: the default namespace for top-level claims (default: the
//!     first namespace named in `claims`, else `org.iso.18013.5.1` for the
//!     mDL doctype, else the doctype itself);
//!   * `element_types`: `{ namespace: { element: type } }` with `type` one of
//!     `full-date` (CBOR tag 1004, `"YYYY-MM-DD"`), `tdate` (tag 0, RFC 3339),
//!     `bytes` (a byte string from base64, base64url or a `data:` URI),
//!     `driving-privileges` (an array of objects whose `issue_date` and
//!     `expiry_date` members become full-dates), or `json` (no conversion).
//!     For `org.iso.18013.5.1` the mDL types are built in: `birth_date`,
//!     `issue_date`, `expiry_date` (full-date), `portrait`,
//!     `signature_usual_mark` (bytes) and `driving_privileges`; entries here
//!     override them.
//!
//! # Claims: namespace mapping
//!
//! Claims arrive as one JSON object. A top-level member whose value is an
//! object and whose name is a namespace (the default namespace, the first
//! component of a configured claim path, or any name with a dot: data
//! element identifiers have none) holds that namespace's elements
//! (`{"org.iso.18013.5.1": {"given_name": "Ada"}}`).
//! Every other top-level member is an element of the default namespace
//! (`{"given_name": "Ada"}`). Both forms can be mixed; an element given
//! twice is refused. Other JSON values map to CBOR as text, integers,
//! floats, booleans, null, arrays and text-keyed maps.
//!
//! # Metadata
//!
//! `doctype`, `credential_signing_alg_values_supported` (COSE integers),
//! `cryptographic_binding_methods_supported: ["cose_key"]` and, when there is
//! something to put in it, `credential_metadata {display, claims}` with
//! namespace-qualified paths. The host adds `format`, `scope` and
//! `proof_types_supported`.
//!
//! # Credentials
//!
//! One base64url (no padding) CBOR `IssuerSigned` per slot:
//!
//! * `nameSpaces`: per namespace, a list of tag-24 `IssuerSignedItem`s
//!   (`digestID`, `random` = 32 fresh random bytes, `elementIdentifier`,
//!   `elementValue`), in random order with randomly assigned digest ids;
//! * `issuerAuth`: an untagged `COSE_Sign1` whose payload is the tag-24
//!   `MobileSecurityObject` (`version` 1.0, `digestAlgorithm` SHA-256,
//!   `valueDigests` = SHA-256 of each tag-24 item as encoded,
//!   `deviceKeyInfo.deviceKey` = the slot's holder key as a COSE_Key,
//!   `docType`, `validityInfo`, and `status.status_list {idx, uri}` when the
//!   slot has a status entry). Protected header: `alg` (the key's COSE
//!   algorithm). Unprotected header: `x5chain` (label 33: one DER
//!   certificate as a byte string, several as an array, leaf first) when
//!   the issuer key has a certificate chain, else `kid` (label 4).
//!
//! `validityInfo`: `signed` = `validFrom` = the issuance time rounded down
//! to the hour (but not before the document signer certificate's
//! `notBefore`, read from the leaf's DER), `validUntil` = the request's expiry (or one year after
//! `signed`) rounded down to the hour, all as tag-0 date-times without
//! fractional seconds — no precise shared timestamp across a batch.
//! Every credential of a batch gets its own salts, digest ids and device key.
//!
//! # Implementation note
//!
//! The mdoc structures are written by hand on `ciborium` values, with
//! `coset` for the COSE_Sign1: `isomdl` (the Rust mdoc library) pulls an
//! older `coset`, its own JWK and crypto stacks and signs with local private
//! keys, while a format plugin must sign through the host's key handle and
//! stay small. The hand-written part is the CDDL of ISO/IEC 18013-5 §8.3.2.1.2
//! (IssuerSigned, MSO), a few maps.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use ciborium::value::Value as Cbor;
use coset::{AsCborValue as _, CoseSign1Builder, HeaderBuilder, iana};
use sha2::{Digest as _, Sha256};
use sigil_plugin_sdk::format::{
    ClaimEntry, Configuration, CredentialFormat, FormatError, IssueRequest, SettingsReader,
    SigningKey, claim_description, holder_key_error, insert_credential_metadata, rfc3339,
    unix_seconds,
};
use sigil_plugin_sdk::serde_json::{Map, Value};

/// The only format this plugin issues.
const FORMAT: &str = "mso_mdoc";
/// The mDL namespace and doctype (ISO/IEC 18013-5).
const MDL_NAMESPACE: &str = "org.iso.18013.5.1";
const MDL_DOCTYPE: &str = "org.iso.18013.5.1.mDL";
/// COSE header label of `x5chain` (RFC 9360).
const X5CHAIN: i64 = 33;
/// Validity when the configuration sets none: one year.
const DEFAULT_VALIDITY: u64 = 365 * 24 * 3600;
/// Bytes of `random` (salt) per item; ISO requires at least 16.
const SALT_BYTES: usize = 32;

struct MsoMdoc;

fn invalid_claims(message: String) -> FormatError {
    FormatError::InvalidClaims(message)
}

/// How a data element's JSON value becomes CBOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ElementType {
    /// Plain JSON → CBOR.
    Json,
    /// `full-date`: tag 1004 over `"YYYY-MM-DD"`.
    FullDate,
    /// `tdate`: tag 0 over an RFC 3339 date-time.
    DateTime,
    /// A byte string from base64 / base64url / data URI.
    Bytes,
    /// mDL `driving_privileges`: array of objects with full-date dates.
    DrivingPrivileges,
}

impl ElementType {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "json" => Self::Json,
            "full-date" => Self::FullDate,
            "tdate" => Self::DateTime,
            "bytes" => Self::Bytes,
            "driving-privileges" => Self::DrivingPrivileges,
            _ => return None,
        })
    }
}

/// The built-in types of the mDL namespace.
fn mdl_types() -> BTreeMap<String, ElementType> {
    [
        ("birth_date", ElementType::FullDate),
        ("issue_date", ElementType::FullDate),
        ("expiry_date", ElementType::FullDate),
        ("portrait", ElementType::Bytes),
        ("signature_usual_mark", ElementType::Bytes),
        ("driving_privileges", ElementType::DrivingPrivileges),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// One `claims` entry of the settings, with its path made namespace-qualified.
struct ClaimSpec {
    path: Vec<Value>,
    mandatory: Option<bool>,
    display: Option<Vec<Value>>,
}

/// The settings this plugin uses.
struct Settings {
    doctype: String,
    /// JOSE names, in configuration order.
    algorithms: Vec<String>,
    namespace: String,
    namespaces: BTreeSet<String>,
    types: BTreeMap<String, BTreeMap<String, ElementType>>,
    display: Option<Vec<Value>>,
    claims: Vec<ClaimSpec>,
}

/// COSE algorithm identifier of a JOSE algorithm name.
fn cose_algorithm(jose: &str) -> Option<i64> {
    Some(match jose {
        "ES256" => -7,
        "ES384" => -35,
        "ES512" => -36,
        "EdDSA" => -8,
        _ => return None,
    })
}

impl Settings {
    fn parse(c: &Configuration) -> Result<Self, FormatError> {
        let s = SettingsReader::new(c, FORMAT)?;
        let doctype = s.required_string("doctype", &format!(", e.g. \"{MDL_DOCTYPE}\""))?;
        let algorithms = s.signing_algorithms(
            |a| cose_algorithm(a).is_some(),
            "must name ES256, ES384, ES512 or EdDSA",
        )?;
        let display = s.array("display")?.map(<[Value]>::to_vec);
        let options = s.format_options(&["namespace", "element_types"])?;
        let raw_claims = s.array("claims")?.unwrap_or_default();
        let first_configured_namespace = raw_claims.iter().find_map(|claim| {
            let path = claim.get("path")?.as_array()?;
            match path.as_slice() {
                [Value::String(ns), _, ..] => Some(ns.clone()),
                _ => None,
            }
        });
        let namespace = options.string("namespace")?.unwrap_or_else(|| {
            first_configured_namespace.unwrap_or_else(|| {
                if doctype == MDL_DOCTYPE {
                    MDL_NAMESPACE.to_owned()
                } else {
                    doctype.clone()
                }
            })
        });
        let claims = s.claims(|entry| ClaimSpec::parse(entry, &namespace), |c| &c.path)?;
        let mut namespaces: BTreeSet<String> = claims
            .iter()
            .filter_map(|c| c.path.first().and_then(Value::as_str).map(str::to_owned))
            .collect();
        namespaces.insert(namespace.clone());

        let mut types: BTreeMap<String, BTreeMap<String, ElementType>> = BTreeMap::new();
        types.insert(MDL_NAMESPACE.to_owned(), mdl_types());
        for (ns, elements) in options.object("element_types")?.into_iter().flatten() {
            let name = format!("element_types.{ns}");
            let elements = elements
                .as_object()
                .ok_or_else(|| options.invalid(&name, "must map element names to types"))?;
            let entry = types.entry(ns.clone()).or_default();
            for (element, t) in elements {
                let t = t.as_str().and_then(ElementType::parse).ok_or_else(|| {
                    options.invalid(
                        &format!("{name}.{element}"),
                        "must be one of full-date, tdate, bytes, driving-privileges, json",
                    )
                })?;
                entry.insert(element.clone(), t);
            }
        }
        Ok(Self {
            doctype,
            algorithms,
            namespace,
            namespaces,
            types,
            display,
            claims,
        })
    }

    fn element_type(&self, namespace: &str, element: &str) -> ElementType {
        self.types
            .get(namespace)
            .and_then(|t| t.get(element))
            .copied()
            .unwrap_or(ElementType::Json)
    }

    /// The claims grouped by namespace (see the crate docs: namespace mapping).
    fn group(
        &self,
        claims: &Map<String, Value>,
    ) -> Result<BTreeMap<String, Map<String, Value>>, FormatError> {
        let mut out: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        let mut put = |ns: &str, element: &str, value: &Value| {
            if element.is_empty() {
                return Err(invalid_claims(format!(
                    "an element of namespace `{ns}` has an empty name"
                )));
            }
            let elements = out.entry(ns.to_owned()).or_default();
            if elements.insert(element.to_owned(), value.clone()).is_some() {
                return Err(invalid_claims(format!(
                    "element `{element}` of namespace `{ns}` is given twice (top-level and nested)"
                )));
            }
            Ok(())
        };
        for (name, value) in claims {
            match value {
                Value::Object(elements) if self.namespaces.contains(name) || name.contains('.') => {
                    for (element, v) in elements {
                        put(name, element, v)?;
                    }
                }
                _ => put(&self.namespace, name, value)?,
            }
        }
        Ok(out)
    }

    /// Refuse to issue without a claim the metadata calls mandatory.
    fn check_mandatory(
        &self,
        grouped: &BTreeMap<String, Map<String, Value>>,
    ) -> Result<(), FormatError> {
        for spec in self.claims.iter().filter(|s| s.mandatory == Some(true)) {
            let (Some(ns), Some(element)) = (
                spec.path.first().and_then(Value::as_str),
                spec.path.get(1).and_then(Value::as_str),
            ) else {
                continue;
            };
            let present = grouped
                .get(ns)
                .and_then(|e| e.get(element))
                .is_some_and(|v| !v.is_null());
            if !present {
                return Err(invalid_claims(format!(
                    "the mandatory claim {} is missing",
                    Value::Array(spec.path.clone())
                )));
            }
        }
        Ok(())
    }
}

impl ClaimSpec {
    fn parse(entry: ClaimEntry<'_>, namespace: &str) -> Result<Self, FormatError> {
        let path = match entry.path() {
            [Value::String(_)] => {
                let mut qualified = vec![Value::String(namespace.to_owned())];
                qualified.extend_from_slice(entry.path());
                qualified
            }
            path @ [Value::String(_), Value::String(_), ..] => path.to_vec(),
            _ => {
                return Err(entry.invalid(
                    "path",
                    &format!(
                        "must start with a namespace and a data element identifier, \
                         e.g. [\"{MDL_NAMESPACE}\", \"given_name\"]"
                    ),
                ));
            }
        };
        let mandatory = entry.flag("mandatory")?;
        entry.refuse(
            "sd",
            &Value::Bool(false),
            "every mdoc data element is selectively disclosable; remove `sd = false`",
        )?;
        let display = entry.array("display")?.map(<[Value]>::to_vec);
        Ok(Self {
            path,
            mandatory,
            display,
        })
    }

    /// The claims description for metadata.
    fn description(&self) -> Value {
        claim_description(self.path.clone(), self.mandatory, self.display.as_deref())
    }
}

/// Plain JSON → CBOR.
fn json_to_cbor(v: &Value) -> Cbor {
    match v {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Cbor::Integer(i.into())
            } else if let Some(u) = n.as_u64() {
                Cbor::Integer(u.into())
            } else {
                Cbor::Float(n.as_f64().unwrap_or_default())
            }
        }
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Array(a) => Cbor::Array(a.iter().map(json_to_cbor).collect()),
        Value::Object(o) => Cbor::Map(
            o.iter()
                .map(|(k, v)| (Cbor::Text(k.clone()), json_to_cbor(v)))
                .collect(),
        ),
    }
}

/// Whether `s` is a calendar date `YYYY-MM-DD`.
fn is_full_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && digits(5..7) && digits(8..10)) {
        return false;
    }
    let month: u32 = s[5..7].parse().unwrap_or(0);
    let day: u32 = s[8..10].parse().unwrap_or(0);
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// Whether `s` looks like an RFC 3339 date-time in UTC without fractions.
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && s.get(..10).is_some_and(is_full_date)
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
        && [11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
}

fn decode_bytes(s: &str) -> Option<Vec<u8>> {
    let data = match s.strip_prefix("data:") {
        Some(rest) => rest.split_once(";base64,")?.1,
        None => s,
    };
    let data: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(&data).ok())
}

fn typed_value(ns: &str, element: &str, t: ElementType, v: &Value) -> Result<Cbor, FormatError> {
    let wrong = |what: &str| {
        Err(invalid_claims(format!(
            "claim `{element}` of namespace `{ns}` must be {what}"
        )))
    };
    match t {
        ElementType::Json => Ok(json_to_cbor(v)),
        ElementType::FullDate => match v.as_str() {
            Some(s) if is_full_date(s) => Ok(Cbor::Tag(1004, Box::new(Cbor::Text(s.to_owned())))),
            _ => wrong("a full-date \"YYYY-MM-DD\""),
        },
        ElementType::DateTime => match v.as_str() {
            Some(s) if is_date_time(s) => Ok(Cbor::Tag(0, Box::new(Cbor::Text(s.to_owned())))),
            _ => wrong("a date-time \"YYYY-MM-DDThh:mm:ssZ\""),
        },
        ElementType::Bytes => match v.as_str().and_then(decode_bytes) {
            Some(bytes) => Ok(Cbor::Bytes(bytes)),
            None => wrong("base64, base64url or a data: URI"),
        },
        ElementType::DrivingPrivileges => {
            let Some(list) = v.as_array() else {
                return wrong("an array of driving privileges");
            };
            list.iter()
                .enumerate()
                .map(|(i, p)| {
                    let Some(p) = p.as_object() else {
                        return wrong("an array of objects");
                    };
                    let entries = p
                        .iter()
                        .map(|(k, v)| {
                            let value = if k == "issue_date" || k == "expiry_date" {
                                typed_value(
                                    ns,
                                    &format!("{element}[{i}].{k}"),
                                    ElementType::FullDate,
                                    v,
                                )?
                            } else {
                                json_to_cbor(v)
                            };
                            Ok((Cbor::Text(k.clone()), value))
                        })
                        .collect::<Result<Vec<_>, FormatError>>()?;
                    Ok(Cbor::Map(entries))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Cbor::Array)
        }
    }
}

/// The holder's JWK as a COSE_Key (RFC 9053 §7).
fn device_key(i: usize, key: Option<&Value>) -> Result<Cbor, FormatError> {
    let refuse = |why: String| Err(holder_key_error(i, &why));
    let Some(Value::Object(jwk)) = key else {
        return refuse("is missing: an mdoc is always bound to a device key (cose_key)".into());
    };
    if jwk.contains_key("d") {
        return refuse("contains private key material; send the public key only".into());
    }
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let coordinate = |name: &str, len: usize| -> Result<Vec<u8>, FormatError> {
        match text(name).and_then(|s| URL_SAFE_NO_PAD.decode(s).ok()) {
            Some(bytes) if bytes.len() == len => Ok(bytes),
            _ => Err(FormatError::UnsupportedHolderKey(format!(
                "holder key {i}: `{name}` must be {len} base64url bytes"
            ))),
        }
    };
    let int = |v: i64| Cbor::Integer(v.into());
    match (text("kty"), text("crv")) {
        (Some("EC"), Some(crv)) => {
            let (cose_crv, len) = match crv {
                "P-256" => (1, 32),
                "P-384" => (2, 48),
                "P-521" => (3, 66),
                other => return refuse(format!("uses curve {other}, not P-256, P-384 or P-521")),
            };
            Ok(Cbor::Map(vec![
                (int(1), int(2)),
                (int(-1), int(cose_crv)),
                (int(-2), Cbor::Bytes(coordinate("x", len)?)),
                (int(-3), Cbor::Bytes(coordinate("y", len)?)),
            ]))
        }
        (Some("OKP"), Some("Ed25519")) => Ok(Cbor::Map(vec![
            (int(1), int(1)),
            (int(-1), int(6)),
            (int(-2), Cbor::Bytes(coordinate("x", 32)?)),
        ])),
        (kty, crv) => refuse(format!(
            "({} {}) cannot be a device key; use EC P-256/P-384/P-521 or OKP Ed25519",
            kty.unwrap_or("no kty"),
            crv.unwrap_or("no crv")
        )),
    }
}

fn random_bytes(n: usize) -> Result<Vec<u8>, FormatError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)
        .map_err(|e| FormatError::Internal(format!("no randomness from the host: {e}")))?;
    Ok(bytes)
}

/// A uniformly random permutation of `0..n` (Fisher–Yates).
fn permutation(n: usize) -> Result<Vec<usize>, FormatError> {
    let mut p: Vec<usize> = (0..n).collect();
    let noise = random_bytes(8 * n)?;
    for i in (1..n).rev() {
        let mut r = [0u8; 8];
        r.copy_from_slice(&noise[8 * i..8 * i + 8]);
        let j = (u64::from_le_bytes(r) % (i as u64 + 1)) as usize;
        p.swap(i, j);
    }
    Ok(p)
}

fn encode(value: &Cbor) -> Result<Vec<u8>, FormatError> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out)
        .map_err(|e| FormatError::Internal(format!("CBOR encoding failed: {e}")))?;
    Ok(out)
}

/// `#6.24(bstr .cbor value)`.
fn tag24(value: &Cbor) -> Result<Cbor, FormatError> {
    Ok(Cbor::Tag(24, Box::new(Cbor::Bytes(encode(value)?))))
}

/// One DER TLV: tag, contents, and what follows.
fn der(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&first, b) = b.split_first()?;
    let (len, b) = if first < 0x80 {
        (usize::from(first), b)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let len = b[..n]
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
        (len, &b[n..])
    };
    (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
}

/// `notBefore` of a DER X.509 certificate (RFC 5280 §4.1), Unix seconds.
fn certificate_not_before(cert: &[u8]) -> Option<u64> {
    let (_, certificate, _) = der(cert)?;
    let (_, tbs, _) = der(certificate)?;
    let mut rest = tbs;
    let (tag, _, after) = der(rest)?;
    if tag == 0xa0 {
        rest = after; // [0] version
    }
    for _ in 0..3 {
        rest = der(rest)?.2; // serialNumber, signature, issuer
    }
    let (_, validity, _) = der(rest)?;
    let (tag, time, _) = der(validity)?;
    let time = std::str::from_utf8(time).ok()?;
    let digits = time.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: i64 = digits.get(..2)?.parse().ok()?;
            (
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                digits.get(2..)?,
            )
        }
        0x18 => (digits.get(..4)?.parse().ok()?, digits.get(4..)?),
        _ => return None,
    };
    let field = |i: usize| -> Option<i64> { rest.get(i..i + 2)?.parse().ok() };
    let secs = unix_seconds(year, field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    u64::try_from(secs).ok()
}

fn tdate(secs: u64) -> Cbor {
    Cbor::Tag(0, Box::new(Cbor::Text(rfc3339(secs))))
}

fn text(s: &str) -> Cbor {
    Cbor::Text(s.to_owned())
}

/// The namespaces of one credential: items with fresh salts and digest ids.
struct NameSpaces {
    /// `nameSpaces` of `IssuerSigned`.
    items: Vec<(Cbor, Cbor)>,
    /// `valueDigests` of the MSO.
    digests: Vec<(Cbor, Cbor)>,
}

fn name_spaces(typed: &BTreeMap<String, Vec<(String, Cbor)>>) -> Result<NameSpaces, FormatError> {
    let mut items = Vec::new();
    let mut digests = Vec::new();
    for (ns, elements) in typed {
        // Random digest ids and a random item order, so neither tells which
        // element an id stands for.
        let ids = permutation(elements.len())?;
        let order = permutation(elements.len())?;
        let mut ns_items = Vec::with_capacity(elements.len());
        let mut ns_digests = Vec::with_capacity(elements.len());
        for &k in &order {
            let (element, value) = &elements[k];
            let item = Cbor::Map(vec![
                (text("digestID"), Cbor::Integer(ids[k].into())),
                (text("random"), Cbor::Bytes(random_bytes(SALT_BYTES)?)),
                (text("elementIdentifier"), text(element)),
                (text("elementValue"), value.clone()),
            ]);
            let wrapped = tag24(&item)?;
            let digest = Sha256::digest(encode(&wrapped)?).to_vec();
            ns_digests.push((Cbor::Integer(ids[k].into()), Cbor::Bytes(digest)));
            ns_items.push(wrapped);
        }
        items.push((text(ns), Cbor::Array(ns_items)));
        digests.push((text(ns), Cbor::Map(ns_digests)));
    }
    Ok(NameSpaces { items, digests })
}

impl CredentialFormat for MsoMdoc {
    fn metadata(configuration: &Configuration) -> Result<Map<String, Value>, FormatError> {
        let s = Settings::parse(configuration)?;
        let mut m = Map::new();
        m.insert("doctype".into(), s.doctype.clone().into());
        let algorithms: Vec<Value> = s
            .algorithms
            .iter()
            .filter_map(|a| cose_algorithm(a))
            .map(Value::from)
            .collect();
        m.insert(
            "credential_signing_alg_values_supported".into(),
            Value::Array(algorithms),
        );
        m.insert(
            "cryptographic_binding_methods_supported".into(),
            Value::Array(vec!["cose_key".into()]),
        );
        let claims = s.claims.iter().map(ClaimSpec::description).collect();
        insert_credential_metadata(&mut m, s.display, claims);
        Ok(m)
    }

    fn issue(request: IssueRequest, key: &SigningKey<'_>) -> Result<Vec<String>, FormatError> {
        let s = Settings::parse(&request.configuration)?;
        let alg = i64::from(key.cose_algorithm());
        if !s.algorithms.iter().any(|a| cose_algorithm(a) == Some(alg)) {
            return Err(FormatError::InvalidConfiguration(format!(
                "`signing_algorithms` of '{}' ({}) does not include COSE algorithm {alg} of the issuer key",
                request.configuration.id,
                s.algorithms.join(", ")
            )));
        }
        let algorithm = <iana::Algorithm as iana::EnumI64>::from_i64(alg).ok_or_else(|| {
            FormatError::Signing(format!("the issuer key's COSE algorithm {alg} is unknown"))
        })?;

        let grouped = s.group(&request.claims)?;
        s.check_mandatory(&grouped)?;
        if grouped.is_empty() {
            return Err(invalid_claims("an mdoc needs at least one claim".into()));
        }
        let typed: BTreeMap<String, Vec<(String, Cbor)>> = grouped
            .iter()
            .map(|(ns, elements)| {
                let list = elements
                    .iter()
                    .map(|(element, v)| {
                        Ok((
                            element.clone(),
                            typed_value(ns, element, s.element_type(ns, element), v)?,
                        ))
                    })
                    .collect::<Result<Vec<_>, FormatError>>()?;
                Ok((ns.clone(), list))
            })
            .collect::<Result<_, FormatError>>()?;
        let device_keys = request
            .slots
            .iter()
            .enumerate()
            .map(|(i, slot)| device_key(i, slot.holder_key.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;

        // Rounded to the hour: no precise timestamp shared across a batch.
        // Never before the document signer certificate's notBefore, which
        // verifiers check `signed` against (a per-key constant, so it links
        // nothing either).
        let chain = key.certificate_chain();
        let not_before = chain
            .first()
            .and_then(|leaf| certificate_not_before(leaf))
            .unwrap_or(0);
        let signed = (request.issued_at - request.issued_at % 3600).max(not_before);
        let until = request
            .expires_at
            .unwrap_or(signed + DEFAULT_VALIDITY)
            .max(signed + 3600);
        let until = until - until % 3600;
        let validity = Cbor::Map(vec![
            (text("signed"), tdate(signed)),
            (text("validFrom"), tdate(signed)),
            (text("validUntil"), tdate(until)),
        ]);

        let protected = HeaderBuilder::new().algorithm(algorithm).build();
        let unprotected = match chain.as_slice() {
            [] => HeaderBuilder::new()
                .key_id(key.key_id().into_bytes())
                .build(),
            [leaf] => HeaderBuilder::new()
                .value(X5CHAIN, Cbor::Bytes(leaf.clone()))
                .build(),
            certs => HeaderBuilder::new()
                .value(
                    X5CHAIN,
                    Cbor::Array(certs.iter().cloned().map(Cbor::Bytes).collect()),
                )
                .build(),
        };

        request
            .slots
            .iter()
            .zip(device_keys)
            .map(|(slot, device_key)| {
                let spaces = name_spaces(&typed)?;
                let mut mso = vec![
                    (text("version"), text("1.0")),
                    (text("digestAlgorithm"), text("SHA-256")),
                    (text("valueDigests"), Cbor::Map(spaces.digests)),
                    (
                        text("deviceKeyInfo"),
                        Cbor::Map(vec![(text("deviceKey"), device_key)]),
                    ),
                    (text("docType"), text(&s.doctype)),
                    (text("validityInfo"), validity.clone()),
                ];
                if let Some(status) = &slot.status {
                    mso.push((
                        text("status"),
                        Cbor::Map(vec![(
                            text("status_list"),
                            Cbor::Map(vec![
                                (text("idx"), Cbor::Integer(status.index.into())),
                                (text("uri"), text(&status.uri)),
                            ]),
                        )]),
                    ));
                }
                let payload = encode(&tag24(&Cbor::Map(mso))?)?;
                let sign1 = CoseSign1Builder::new()
                    .protected(protected.clone())
                    .unprotected(unprotected.clone())
                    .payload(payload)
                    .try_create_signature(&[], |data| key.sign(data))?
                    .build();
                let issuer_auth = sign1
                    .to_cbor_value()
                    .map_err(|e| FormatError::Internal(format!("COSE encoding failed: {e}")))?;
                let issuer_signed = Cbor::Map(vec![
                    (text("nameSpaces"), Cbor::Map(spaces.items)),
                    (text("issuerAuth"), issuer_auth),
                ]);
                Ok(URL_SAFE_NO_PAD.encode(encode(&issuer_signed)?))
            })
            .collect()
    }
}

sigil_plugin_sdk::export_credential_format!(MsoMdoc);

#[cfg(test)]
mod fuzz_tests;
