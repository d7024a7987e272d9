//! `format-jwt-vc-json`: the built-in format plugin for W3C Verifiable
//! Credentials secured as JWTs (OID4VCI format `jwt_vc_json`, Appendix A.1.1;
//! the JWT encoding of VCDM 1.1 §6.3.1).
//!
//! # Settings
//!
//! The host passes the credential configuration as `settings`:
//!
//! ```json
//! { "id": "employee_badge_jwt_vc", "format": "jwt_vc_json",
//!   "credential_definition": { "type": ["VerifiableCredential", "EmployeeBadge"] },
//!   "validity_seconds": 31536000,
//!   "display": [{"name": "Employee Badge", "locale": "en-US"}],
//!   "claims": [ {"path": ["given_name"], "mandatory": true,
//!                "display": [{"name": "Given name", "locale": "en-US"}]} ],
//!   "format_options": { "vcdm": "1.1", "context": ["https://example.com/contexts/badge/v1"],
//!                       "evidence": [...], "terms_of_use": [...] },
//!   "signing_algorithms": ["ES256"] }
//! ```
//!
//! * `id`, `format` (must be `jwt_vc_json`) and `credential_definition.type`
//!   (a non-empty array of strings that contains `VerifiableCredential`) are
//!   required.
//! * `signing_algorithms`: JOSE algorithms advertised in
//!   `credential_signing_alg_values_supported` (default `["ES256"]`); the
//!   issuer key's algorithm must be one of them.
//! * `claims`: claims descriptions. A path is relative to
//!   `credentialSubject` (`["given_name"]`); the metadata publishes it from
//!   the credential root (`["credentialSubject", "given_name"]`), as
//!   OID4VCI App. A.1.1 shows. A path may also be written with the
//!   `credentialSubject` prefix. `mandatory: true` claims must be present.
//! * `format_options` (all optional):
//!   * `vcdm`: `"1.1"` (default) or `"2.0"`. 1.1 uses the context
//!     `https://www.w3.org/2018/credentials/v1` and `issuanceDate` /
//!     `expirationDate`; 2.0 uses `https://www.w3.org/ns/credentials/v2` and
//!     `validFrom` / `validUntil`. Both are carried in the `vc` claim of a JWT
//!     with `typ: JWT`, the `jwt_vc_json` encoding wallets expect;
//!   * `context`: more `@context` entries, appended after the base context;
//!   * `evidence`, `terms_of_use`: copied into `vc.evidence` and
//!     `vc.termsOfUse`;
//!   * `status_type`: the `credentialStatus.type` used when the credential
//!     has a status list entry (default `TokenStatusListEntry`).
//!
//! # Metadata
//!
//! `credential_definition {type}` (no `@context`: `jwt_vc_json` metadata
//! carries `type` only, App. A.1.1.2),
//! `credential_signing_alg_values_supported` (JOSE names),
//! `cryptographic_binding_methods_supported: ["did:jwk", "jwk"]` and, when
//! there is something to put in it, `credential_metadata {display, claims}`.
//!
//! # Credentials
//!
//! One compact JWS per slot. Header: `alg`, `typ: JWT`, `kid`. Payload:
//!
//! * `iss` = the credential issuer; `nbf` = the issuance time (the host
//!   rounds it down to the hour); `exp` when the request has an expiry;
//!   `jti` = a fresh `urn:uuid:` per credential;
//! * `sub` = the holder's `did:jwk` (the slot's key, public members only) and
//!   `cnf.jwk` = the same key, so verifiers can bind either way;
//! * `status.status_list {idx, uri}` (Token Status List) when the slot has a
//!   status entry, mirrored as `vc.credentialStatus`;
//! * `vc`: `@context`, `type` (= `credential_definition.type`), `id`,
//!   `issuer`, the dates, `credentialSubject` (`id` = the holder's did:jwk,
//!   then the claims), and the optional `evidence` / `termsOfUse`.
//!
//! Claims named `id` (the subject id is the holder's DID) are refused when
//! the credential is bound.
//!
//! # Implementation note
//!
//! The JWT is written by hand (base64url over JSON): JOSE libraries sign
//! with local keys, and a format plugin signs through the host's key handle.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sigil_plugin_sdk::format::{
    ClaimEntry, Configuration, CredentialFormat, FormatError, HolderJwk, IssueRequest,
    SettingsReader, SigningKey, check_key_algorithm, claim_description, holder_jwks,
    insert_credential_metadata, path_selects, rfc3339,
};
use sigil_plugin_sdk::serde_json::{Map, Value};

/// The only format this plugin issues.
const FORMAT: &str = "jwt_vc_json";
const CONTEXT_V1: &str = "https://www.w3.org/2018/credentials/v1";
const CONTEXT_V2: &str = "https://www.w3.org/ns/credentials/v2";
const SUBJECT: &str = "credentialSubject";
/// Public JWK members kept in `cnf.jwk` and the did:jwk.
const PUBLIC_JWK_MEMBERS: [&str; 6] = ["kty", "crv", "x", "y", "n", "e"];

struct JwtVcJson;

/// Which VC data model the credential follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vcdm {
    V1_1,
    V2_0,
}

/// One `claims` entry: the path below `credentialSubject`.
struct ClaimSpec {
    path: Vec<Value>,
    mandatory: Option<bool>,
    display: Option<Vec<Value>>,
}

/// The settings this plugin uses.
struct Settings {
    types: Vec<String>,
    algorithms: Vec<String>,
    vcdm: Vcdm,
    contexts: Vec<Value>,
    evidence: Option<Value>,
    terms_of_use: Option<Value>,
    status_type: String,
    display: Option<Vec<Value>>,
    claims: Vec<ClaimSpec>,
}

impl Settings {
    fn parse(c: &Configuration) -> Result<Self, FormatError> {
        let s = SettingsReader::new(c, FORMAT)?;
        let types = s
            .get("credential_definition")
            .and_then(|d| d.get("type"))
            .and_then(Value::as_array)
            .filter(|t| !t.is_empty())
            .and_then(|t| {
                t.iter()
                    .map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| {
                s.missing(
                    "credential_definition.type",
                    ": a non-empty array of strings, e.g. [\"VerifiableCredential\", \"EmployeeBadge\"]",
                )
            })?;
        if !types.iter().any(|t| t == "VerifiableCredential") {
            return Err(s.invalid(
                "credential_definition.type",
                "must contain \"VerifiableCredential\"",
            ));
        }
        let algorithms = s.signing_algorithms(
            |a| !a.starts_with("HS"),
            "must hold asymmetric JOSE algorithm names",
        )?;
        let display = s.array("display")?.map(<[Value]>::to_vec);
        let options =
            s.format_options(&["vcdm", "context", "evidence", "terms_of_use", "status_type"])?;
        let vcdm = match options.get("vcdm") {
            None => Vcdm::V1_1,
            Some(Value::String(v)) if v == "1.1" => Vcdm::V1_1,
            Some(Value::String(v)) if v == "2.0" => Vcdm::V2_0,
            Some(_) => return Err(options.invalid("vcdm", "must be \"1.1\" or \"2.0\"")),
        };
        let contexts = match options.get("context") {
            None => Vec::new(),
            Some(Value::Array(list)) if list.iter().all(|v| v.is_string() || v.is_object()) => {
                list.clone()
            }
            Some(_) => {
                return Err(
                    options.invalid("context", "must be an array of URLs (or context objects)")
                );
            }
        };
        let structured = |name: &str| match options.get(name) {
            None => Ok(None),
            Some(v @ (Value::Array(_) | Value::Object(_))) => Ok(Some(v.clone())),
            Some(_) => Err(options.invalid(name, "must be an object or an array of objects")),
        };
        let evidence = structured("evidence")?;
        let terms_of_use = structured("terms_of_use")?;
        let status_type = options
            .string("status_type")?
            .unwrap_or_else(|| "TokenStatusListEntry".to_owned());
        let claims = s.claims(ClaimSpec::parse, |c| &c.path)?;
        Ok(Self {
            types,
            algorithms,
            vcdm,
            contexts,
            evidence,
            terms_of_use,
            status_type,
            display,
            claims,
        })
    }

    /// Refuse to issue without a claim the metadata calls mandatory.
    fn check_mandatory(&self, claims: &Map<String, Value>) -> Result<(), FormatError> {
        let root = Value::Object(claims.clone());
        for spec in self.claims.iter().filter(|s| s.mandatory == Some(true)) {
            if !path_selects(&root, &spec.path) {
                let mut full = vec![Value::from(SUBJECT)];
                full.extend(spec.path.iter().cloned());
                return Err(FormatError::InvalidClaims(format!(
                    "the mandatory claim {} is missing",
                    Value::Array(full)
                )));
            }
        }
        Ok(())
    }

    fn contexts(&self) -> Value {
        let base = match self.vcdm {
            Vcdm::V1_1 => CONTEXT_V1,
            Vcdm::V2_0 => CONTEXT_V2,
        };
        let mut list = vec![Value::from(base)];
        list.extend(
            self.contexts
                .iter()
                .filter(|c| c.as_str() != Some(base))
                .cloned(),
        );
        Value::Array(list)
    }
}

impl ClaimSpec {
    fn parse(entry: ClaimEntry<'_>) -> Result<Self, FormatError> {
        let mut path = entry.path().to_vec();
        if path.first().and_then(Value::as_str) == Some(SUBJECT) {
            path.remove(0);
        }
        if !path.first().is_some_and(Value::is_string) {
            return Err(entry.invalid("path", "must name a member of credentialSubject"));
        }
        let mandatory = entry.flag("mandatory")?;
        entry.refuse(
            "sd",
            &Value::Bool(true),
            &format!("{FORMAT} has no selective disclosure; use dc+sd-jwt or mso_mdoc"),
        )?;
        let display = entry.array("display")?.map(<[Value]>::to_vec);
        Ok(Self {
            path,
            mandatory,
            display,
        })
    }

    /// The claims description for metadata: the path from the credential root.
    fn description(&self) -> Value {
        let mut path = vec![Value::from(SUBJECT)];
        path.extend(self.path.iter().cloned());
        claim_description(path, self.mandatory, self.display.as_deref())
    }
}

/// The holder's public JWK (private members refused, others dropped).
fn holder_jwk(jwk: HolderJwk<'_>) -> Result<Map<String, Value>, FormatError> {
    match jwk.kty() {
        Some("EC" | "OKP" | "RSA") => {}
        Some("oct") => return Err(jwk.refuse("is a symmetric key")),
        _ => return Err(jwk.refuse("has no supported `kty` (EC, OKP, RSA)")),
    }
    jwk.check_public()?;
    let jwk = jwk.members();
    Ok(PUBLIC_JWK_MEMBERS
        .iter()
        .filter_map(|m| jwk.get(*m).map(|v| ((*m).to_owned(), v.clone())))
        .collect())
}

/// `did:jwk:<base64url(JSON)>` of a public JWK.
fn did_jwk(jwk: &Map<String, Value>) -> String {
    format!(
        "did:jwk:{}",
        URL_SAFE_NO_PAD.encode(Value::Object(jwk.clone()).to_string())
    )
}

/// A random (version 4) UUID URN.
fn urn_uuid() -> Result<String, FormatError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| FormatError::Internal(format!("no randomness from the host: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

impl CredentialFormat for JwtVcJson {
    fn metadata(configuration: &Configuration) -> Result<Map<String, Value>, FormatError> {
        let s = Settings::parse(configuration)?;
        let mut m = Map::new();
        let mut definition = Map::new();
        definition.insert("type".into(), s.types.clone().into());
        m.insert("credential_definition".into(), Value::Object(definition));
        m.insert(
            "credential_signing_alg_values_supported".into(),
            s.algorithms.clone().into(),
        );
        m.insert(
            "cryptographic_binding_methods_supported".into(),
            Value::Array(vec!["did:jwk".into(), "jwk".into()]),
        );
        let claims = s.claims.iter().map(ClaimSpec::description).collect();
        insert_credential_metadata(&mut m, s.display, claims);
        Ok(m)
    }

    fn issue(request: IssueRequest, key: &SigningKey<'_>) -> Result<Vec<String>, FormatError> {
        let s = Settings::parse(&request.configuration)?;
        let alg = key.algorithm();
        check_key_algorithm(&request.configuration.id, &s.algorithms, &alg)?;
        s.check_mandatory(&request.claims)?;
        let holder_keys = holder_jwks(&request.slots, holder_jwk)?;
        if holder_keys.iter().any(Option::is_some) && request.claims.contains_key("id") {
            return Err(FormatError::InvalidClaims(
                "claim `id` is reserved: credentialSubject.id is the holder's did:jwk".into(),
            ));
        }

        let mut header = Map::new();
        header.insert("alg".into(), alg.into());
        header.insert("typ".into(), "JWT".into());
        let kid = key.key_id();
        if !kid.is_empty() {
            header.insert("kid".into(), kid.into());
        }
        let header = URL_SAFE_NO_PAD.encode(Value::Object(header).to_string());
        let (from_name, until_name) = match s.vcdm {
            Vcdm::V1_1 => ("issuanceDate", "expirationDate"),
            Vcdm::V2_0 => ("validFrom", "validUntil"),
        };

        request
            .slots
            .iter()
            .zip(holder_keys)
            .map(|(slot, holder)| {
                let jti = urn_uuid()?;
                let did = holder.as_ref().map(did_jwk);
                let mut subject = Map::new();
                if let Some(did) = &did {
                    subject.insert("id".into(), did.clone().into());
                }
                subject.extend(request.claims.clone());

                let mut vc = Map::new();
                vc.insert("@context".into(), s.contexts());
                vc.insert("type".into(), s.types.clone().into());
                vc.insert("id".into(), jti.clone().into());
                vc.insert("issuer".into(), request.issuer.clone().into());
                vc.insert(from_name.into(), rfc3339(request.issued_at).into());
                if let Some(exp) = request.expires_at {
                    vc.insert(until_name.into(), rfc3339(exp).into());
                }
                vc.insert(SUBJECT.into(), Value::Object(subject));
                let mut payload = Map::new();
                if let Some(status) = &slot.status {
                    let mut entry = Map::new();
                    entry.insert(
                        "id".into(),
                        format!("{}#{}", status.uri, status.index).into(),
                    );
                    entry.insert("type".into(), s.status_type.clone().into());
                    entry.insert("statusListIndex".into(), status.index.into());
                    entry.insert("statusListCredential".into(), status.uri.clone().into());
                    vc.insert("credentialStatus".into(), Value::Object(entry));
                    let mut list = Map::new();
                    list.insert("idx".into(), status.index.into());
                    list.insert("uri".into(), status.uri.clone().into());
                    let mut st = Map::new();
                    st.insert("status_list".into(), Value::Object(list));
                    payload.insert("status".into(), Value::Object(st));
                }
                if let Some(evidence) = &s.evidence {
                    vc.insert("evidence".into(), evidence.clone());
                }
                if let Some(terms) = &s.terms_of_use {
                    vc.insert("termsOfUse".into(), terms.clone());
                }

                payload.insert("iss".into(), request.issuer.clone().into());
                payload.insert("nbf".into(), request.issued_at.into());
                if let Some(exp) = request.expires_at {
                    payload.insert("exp".into(), exp.into());
                }
                payload.insert("jti".into(), jti.into());
                if let (Some(did), Some(jwk)) = (did, holder) {
                    payload.insert("sub".into(), did.into());
                    let mut cnf = Map::new();
                    cnf.insert("jwk".into(), Value::Object(jwk));
                    payload.insert("cnf".into(), Value::Object(cnf));
                }
                payload.insert("vc".into(), Value::Object(vc));
                let payload = URL_SAFE_NO_PAD.encode(Value::Object(payload).to_string());
                let signing_input = format!("{header}.{payload}");
                let signature = URL_SAFE_NO_PAD.encode(key.sign(signing_input.as_bytes())?);
                Ok(format!("{signing_input}.{signature}"))
            })
            .collect()
    }
}

sigil_plugin_sdk::export_credential_format!(JwtVcJson);
