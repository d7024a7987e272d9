//! `format-sd-jwt-vc`: the built-in format plugin for SD-JWT VCs (OID4VCI
//! format `dc+sd-jwt`; RFC 9901 SD-JWT with the SD-JWT VC profile).
//!
//! # Settings
//!
//! The host passes the credential configuration as `settings`:
//!
//! ```json
//! { "id": "employee_badge_sd_jwt", "format": "dc+sd-jwt",
//!   "vct": "https://credentials.example.com/employee_badge",
//!   "scope": "employee_badge", "validity_seconds": 31536000,
//!   "display": [{"name": "Employee Badge", "locale": "en-US"}],
//!   "claims": [ {"path": ["given_name"], "mandatory": true, "sd": true,
//!                "display": [{"name": "Given name", "locale": "en-US"}]},
//!               {"path": ["address", "locality"], "sd": true} ],
//!   "signing_algorithms": ["ES256"] }
//! ```
//!
//! * `id`, `format` (must be `dc+sd-jwt`) and `vct` are required.
//! * `signing_algorithms`: JOSE algorithms advertised in
//!   `credential_signing_alg_values_supported` (default `["ES256"]`); the
//!   issuer key's algorithm must be one of them.
//! * `display`: copied to `credential_metadata.display`.
//! * `claims`: claims descriptions (`path`, `mandatory`, `display`) copied to
//!   `credential_metadata.claims`, plus Sigil's own `sd` (never published).
//!   A claim marked `mandatory: true` must be present when issuing.
//! * `scope` and `validity_seconds` are used by the host (`validity_seconds`
//!   becomes the request's `expires_at`); this plugin ignores them.
//!
//! # Metadata
//!
//! `vct`, `credential_signing_alg_values_supported`,
//! `cryptographic_binding_methods_supported: ["jwk"]` and, when there is
//! something to put in it, `credential_metadata {display, claims}`. The host
//! adds `format`, `scope` and `proof_types_supported`.
//!
//! # Credentials
//!
//! One SD-JWT per slot, in issuance form `<jwt>~<disclosure>~...~` (no key
//! binding JWT). Header: `alg`, `typ: dc+sd-jwt`, `kid`, and `x5c` (leaf
//! first) when the issuer key has a certificate chain. Payload: `iss`, `iat`,
//! `exp` (when the request has an expiry), `vct`, `cnf.jwk` (the slot's
//! holder key, private members refused or stripped), `status.status_list`
//! (when the slot has a status entry), `_sd_alg: sha-256`, and the claims.
//!
//! Selective disclosure:
//!
//! * every top-level claim is selectively disclosable unless its path
//!   `[name]` is configured with `"sd": false`;
//! * a nested object member `[a, b, ...]` is selectively disclosable inside
//!   its parent only when a path lists it with `"sd": true` (any depth; the
//!   parent may itself be disclosable, giving recursive disclosures);
//! * arrays are disclosed as whole values (no per-element disclosures);
//! * `iss`, `iat`, `nbf`, `exp`, `vct`, `vct#integrity`, `cnf`, `status`,
//!   `_sd` and `_sd_alg` are set by the issuer only: a claim with one of
//!   these names is refused, as is `_sd` or `...` as a member name anywhere.
//!
//! Every credential gets fresh 128-bit salts (batch unlinkability), every
//! `_sd` array gets 1–3 decoy digests and is sorted, so neither its length nor
//! its order tells which claims it hides.
//!
//! # Implementation note
//!
//! SD-JWT is written by hand here (SHA-256 digests, base64url, JSON arrays):
//! the `sd-jwt-payload` crate (0.5) pulls anyhow, async-trait, itertools,
//! json-pointer, multibase, strum, iota-crypto and rand 0.8, and signs through
//! an async trait: too much for a guest that should stay small.
//! Randomness comes from WASI (`wasi:random`, through `getrandom`).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use sigil_plugin_sdk::format::{
    ClaimEntry, Configuration, CredentialFormat, FormatError, HolderJwk, IssueRequest,
    SettingsReader, SigningKey, check_key_algorithm, claim_description, holder_jwks,
    insert_credential_metadata, path_selects,
};
use sigil_plugin_sdk::serde_json::{Map, Value};

/// The only format this plugin issues (also the JWT `typ`).
const FORMAT: &str = "dc+sd-jwt";

/// Claims the issuer sets; never selectively disclosable, never taken from claims.
const RESERVED: [&str; 10] = [
    "iss",
    "iat",
    "nbf",
    "exp",
    "vct",
    "vct#integrity",
    "cnf",
    "status",
    "_sd",
    "_sd_alg",
];

/// Private JWK members (besides `d`, which is refused) removed from holder keys.
const PRIVATE_JWK_MEMBERS: [&str; 6] = ["p", "q", "dp", "dq", "qi", "oth"];

struct SdJwtVc;

/// One `claims` entry of the settings.
struct ClaimSpec {
    path: Vec<Value>,
    mandatory: Option<bool>,
    sd: Option<bool>,
    display: Option<Vec<Value>>,
}

/// The settings this plugin uses.
struct Settings {
    vct: String,
    algorithms: Vec<String>,
    display: Option<Vec<Value>>,
    claims: Vec<ClaimSpec>,
}

/// Which members of an object are configured, and how.
#[derive(Default)]
struct SdNode {
    sd: Option<bool>,
    children: BTreeMap<String, SdNode>,
}

impl Settings {
    fn parse(c: &Configuration) -> Result<Self, FormatError> {
        let s = SettingsReader::new(c, FORMAT)?;
        let vct = s.required_string("vct", "")?;
        let algorithms = s.signing_algorithms(|_| true, "must hold JOSE algorithm names")?;
        let display = s.array("display")?.map(<[Value]>::to_vec);
        let claims = s.claims(ClaimSpec::parse, |c| &c.path)?;
        Ok(Self {
            vct,
            algorithms,
            display,
            claims,
        })
    }

    /// The `sd` settings of object-member paths, as a tree.
    fn sd_tree(&self) -> SdNode {
        let mut root = SdNode::default();
        for spec in self.claims.iter().filter(|s| s.sd.is_some()) {
            let mut node = &mut root;
            for name in spec.path.iter().filter_map(Value::as_str) {
                node = node.children.entry(name.to_owned()).or_default();
            }
            node.sd = spec.sd;
        }
        root
    }

    /// Refuse to issue without a claim the metadata calls mandatory.
    fn check_mandatory(&self, claims: &Map<String, Value>) -> Result<(), FormatError> {
        let mut mandatory = self
            .claims
            .iter()
            .filter(|s| s.mandatory == Some(true))
            .peekable();
        if mandatory.peek().is_none() {
            return Ok(());
        }
        let root = Value::Object(claims.clone());
        for spec in mandatory {
            if !path_selects(&root, &spec.path) {
                return Err(FormatError::InvalidClaims(format!(
                    "the mandatory claim {} is missing",
                    Value::Array(spec.path.clone())
                )));
            }
        }
        Ok(())
    }
}

impl ClaimSpec {
    fn parse(entry: ClaimEntry<'_>) -> Result<Self, FormatError> {
        let path = entry.path().to_vec();
        let mandatory = entry.flag("mandatory")?;
        let sd = entry.flag("sd")?;
        if sd == Some(true) {
            let invalid = |why: String| {
                FormatError::InvalidConfiguration(format!("{}: {why}", entry.name("sd")))
            };
            if !path.iter().all(Value::is_string) {
                return Err(invalid(
                    "only object members can be selectively disclosable; \
                     array elements are disclosed with their array"
                        .into(),
                ));
            }
            if let [Value::String(name)] = path.as_slice()
                && RESERVED.contains(&name.as_str())
            {
                return Err(invalid(format!(
                    "`{name}` is set by the issuer and never selectively disclosable"
                )));
            }
        }
        let display = entry.array("display")?.map(<[Value]>::to_vec);
        Ok(Self {
            path,
            mandatory,
            sd,
            display,
        })
    }

    /// The claims description for metadata (without `sd`).
    fn description(&self) -> Value {
        claim_description(self.path.clone(), self.mandatory, self.display.as_deref())
    }
}

/// Refuse reserved claim names, and SD-JWT's `_sd` / `...` as member names anywhere.
fn check_claims(claims: &Map<String, Value>) -> Result<(), FormatError> {
    for (name, value) in claims {
        if RESERVED.contains(&name.as_str()) {
            return Err(FormatError::InvalidClaims(format!(
                "claim `{name}` is reserved: the issuer sets it (SD-JWT VC / RFC 9901)"
            )));
        }
        if name == "..." {
            return Err(FormatError::InvalidClaims(
                "claim `...` is reserved by SD-JWT (RFC 9901)".into(),
            ));
        }
        check_nested(value, name)?;
    }
    Ok(())
}

fn check_nested(value: &Value, at: &str) -> Result<(), FormatError> {
    match value {
        Value::Object(o) => {
            for (name, v) in o {
                if name == "_sd" || name == "..." {
                    return Err(FormatError::InvalidClaims(format!(
                        "claim `{at}.{name}`: `{name}` is reserved by SD-JWT (RFC 9901)"
                    )));
                }
                check_nested(v, &format!("{at}.{name}"))?;
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                check_nested(v, &format!("{at}[{i}]"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The public JWK for `cnf`: private members refused (`d`, `k`) or stripped.
fn holder_jwk(jwk: HolderJwk<'_>) -> Result<Value, FormatError> {
    match jwk.kty() {
        None | Some("") => return Err(jwk.refuse("has no `kty`")),
        Some("oct") => return Err(jwk.refuse("is a symmetric key")),
        Some(_) => {}
    }
    jwk.check_public()?;
    let mut jwk = jwk.members().clone();
    for member in PRIVATE_JWK_MEMBERS {
        jwk.remove(member);
    }
    Ok(Value::Object(jwk))
}

fn random<const N: usize>() -> Result<[u8; N], FormatError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| FormatError::Internal(format!("no randomness from the host: {e}")))?;
    Ok(bytes)
}

/// A JSON object from `(name, value)` pairs.
fn object<const N: usize>(members: [(&str, Value); N]) -> Value {
    Value::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn sha256_b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

/// Builds the disclosures of one credential.
#[derive(Default)]
struct Discloser {
    disclosures: Vec<String>,
}

impl Discloser {
    /// `obj` with its disclosable members replaced by digests in `_sd`.
    fn conceal(
        &mut self,
        obj: &Map<String, Value>,
        node: &SdNode,
        top: bool,
    ) -> Result<Map<String, Value>, FormatError> {
        let unconfigured = SdNode::default();
        let mut out = Map::new();
        let mut digests = Vec::new();
        for (name, value) in obj {
            let child = node.children.get(name).unwrap_or(&unconfigured);
            let value = match value {
                Value::Object(inner) => Value::Object(self.conceal(inner, child, false)?),
                other => other.clone(),
            };
            let disclose = if top {
                child.sd != Some(false) && !RESERVED.contains(&name.as_str())
            } else {
                child.sd == Some(true)
            };
            if disclose {
                let salt = URL_SAFE_NO_PAD.encode(random::<16>()?);
                let array = Value::Array(vec![salt.into(), name.clone().into(), value]);
                let disclosure = URL_SAFE_NO_PAD.encode(array.to_string());
                digests.push(sha256_b64(&disclosure));
                self.disclosures.push(disclosure);
            } else {
                out.insert(name.clone(), value);
            }
        }
        if !digests.is_empty() {
            let [count] = random::<1>()?;
            for _ in 0..=(count % 3) {
                digests.push(sha256_b64(&URL_SAFE_NO_PAD.encode(random::<16>()?)));
            }
            digests.sort_unstable();
            out.insert("_sd".into(), digests.into());
        }
        Ok(out)
    }
}

impl CredentialFormat for SdJwtVc {
    fn metadata(configuration: &Configuration) -> Result<Map<String, Value>, FormatError> {
        let s = Settings::parse(configuration)?;
        let mut m = Map::new();
        m.insert("vct".into(), s.vct.into());
        m.insert(
            "credential_signing_alg_values_supported".into(),
            s.algorithms.into(),
        );
        m.insert(
            "cryptographic_binding_methods_supported".into(),
            Value::Array(vec!["jwk".into()]),
        );
        let claims = s.claims.iter().map(ClaimSpec::description).collect();
        insert_credential_metadata(&mut m, s.display, claims);
        Ok(m)
    }

    fn issue(request: IssueRequest, key: &SigningKey<'_>) -> Result<Vec<String>, FormatError> {
        let s = Settings::parse(&request.configuration)?;
        let alg = key.algorithm();
        check_key_algorithm(&request.configuration.id, &s.algorithms, &alg)?;
        check_claims(&request.claims)?;
        s.check_mandatory(&request.claims)?;
        let holder_keys = holder_jwks(&request.slots, holder_jwk)?;

        let mut header = Map::new();
        header.insert("alg".into(), alg.into());
        header.insert("typ".into(), FORMAT.into());
        let kid = key.key_id();
        if !kid.is_empty() {
            header.insert("kid".into(), kid.into());
        }
        let chain = key.certificate_chain();
        if !chain.is_empty() {
            let x5c: Vec<Value> = chain.iter().map(|c| STANDARD.encode(c).into()).collect();
            header.insert("x5c".into(), Value::Array(x5c));
        }
        let header = URL_SAFE_NO_PAD.encode(Value::Object(header).to_string());

        let tree = s.sd_tree();
        request
            .slots
            .iter()
            .zip(holder_keys)
            .map(|(slot, holder_key)| {
                let mut discloser = Discloser::default();
                let mut payload = discloser.conceal(&request.claims, &tree, true)?;
                payload.insert("iss".into(), request.issuer.clone().into());
                payload.insert("iat".into(), request.issued_at.into());
                if let Some(exp) = request.expires_at {
                    payload.insert("exp".into(), exp.into());
                }
                payload.insert("vct".into(), s.vct.clone().into());
                if let Some(jwk) = holder_key {
                    payload.insert("cnf".into(), object([("jwk", jwk)]));
                }
                if let Some(status) = &slot.status {
                    payload.insert(
                        "status".into(),
                        object([(
                            "status_list",
                            object([
                                ("idx", status.index.into()),
                                ("uri", status.uri.clone().into()),
                            ]),
                        )]),
                    );
                }
                payload.insert("_sd_alg".into(), "sha-256".into());
                let payload = URL_SAFE_NO_PAD.encode(Value::Object(payload).to_string());
                let signing_input = format!("{header}.{payload}");
                let signature = URL_SAFE_NO_PAD.encode(key.sign(signing_input.as_bytes())?);
                let mut sd_jwt = format!("{signing_input}.{signature}~");
                for disclosure in &discloser.disclosures {
                    sd_jwt.push_str(disclosure);
                    sd_jwt.push('~');
                }
                Ok(sd_jwt)
            })
            .collect()
    }
}

sigil_plugin_sdk::export_credential_format!(SdJwtVc);
