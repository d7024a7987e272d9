//! The metadata documents: credential issuer (OID4VCI §12.2), authorization
//! server (RFC 8414, the issuer is its own AS) and JWT VC issuer (SD-JWT VC
//! §5). The format plugins contribute each configuration's format-specific
//! members; everything the protocol fixes is decided here.

use serde_json::{Map, Value, json};
use sigil_settings::{AuthorizationSettings, CredentialConfiguration};

use crate::offer::PRE_AUTHORIZED_GRANT;
use crate::proof::PROOF_ALGORITHMS;

/// One `credential_configurations_supported` entry: the format, the scope,
/// the proof types this issuer verifies, then the plugin's `fragment`.
pub fn configuration_entry(
    config: &CredentialConfiguration,
    fragment: Map<String, Value>,
) -> Value {
    let mut entry = Map::new();
    entry.insert("format".into(), config.format.clone().into());
    if let Some(scope) = &config.scope {
        entry.insert("scope".into(), scope.clone().into());
    }
    entry.insert(
        "proof_types_supported".into(),
        json!({ "jwt": { "proof_signing_alg_values_supported": PROOF_ALGORITHMS } }),
    );
    entry.extend(fragment);
    Value::Object(entry)
}

/// The credential issuer metadata of `issuer` with its `supported`
/// configurations; `batch_credential_issuance` when `batch_size` is 2 or
/// more; `display` when given. With `external` authorization servers (their
/// issuer identifiers), `authorization_servers` lists Sigil's own first
/// (`issuer`, so its pre-authorized and authorization code grants keep
/// working), then those (§12.2.4); offers then name the server of each
/// grant ([`crate::offer::OfferContent`]).
pub fn credential_issuer(
    issuer: &str,
    supported: Map<String, Value>,
    batch_size: u32,
    display: Option<Value>,
    external: &[&str],
) -> Value {
    let mut metadata = json!({
        "credential_issuer": issuer,
        "credential_endpoint": format!("{issuer}/credential"),
        "nonce_endpoint": format!("{issuer}/nonce"),
        "notification_endpoint": format!("{issuer}/notification"),
        "deferred_credential_endpoint": format!("{issuer}/deferred_credential"),
        "credential_configurations_supported": Value::Object(supported),
    });
    if batch_size >= 2 {
        metadata["batch_credential_issuance"] = json!({ "batch_size": batch_size });
    }
    if let Some(display) = display {
        metadata["display"] = display;
    }
    if !external.is_empty() {
        let mut servers = vec![issuer];
        servers.extend(external.iter().copied().filter(|s| *s != issuer));
        metadata["authorization_servers"] = json!(servers);
    }
    metadata
}

/// The authorization server metadata of `issuer` (RFC 8414): the
/// pre-authorized code grant with anonymous access, the authorization code
/// grant with PAR (RFC 9126), PKCE S256, `iss` in the response (RFC 9207),
/// `authorization_details` (RFC 9396) and refresh tokens, public clients,
/// and DPoP (RFC 9449). `scopes` are the tenant's configurations' scopes.
pub fn authorization_server(
    issuer: &str,
    settings: &AuthorizationSettings,
    scopes: &[&str],
) -> Value {
    let mut grants = vec![PRE_AUTHORIZED_GRANT, "authorization_code"];
    if settings.refresh_token_seconds > 0 {
        grants.push("refresh_token");
    }
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "pushed_authorization_request_endpoint": format!("{issuer}/par"),
        "require_pushed_authorization_requests": settings.require_par,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "authorization_details_types_supported": ["openid_credential"],
        "scopes_supported": scopes,
        "dpop_signing_alg_values_supported": crate::dpop::DPOP_ALGORITHMS,
        "pre-authorized_grant_anonymous_access_supported": true,
        "token_endpoint_auth_methods_supported": ["none"],
    })
}

/// The JWT VC issuer metadata: `issuer` and its published keys.
pub fn jwt_vc_issuer(issuer: &str, keys: &[Value]) -> Value {
    json!({ "issuer": issuer, "jwks": { "keys": keys } })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn issuer_metadata_names_the_endpoints_and_the_batch_size() {
        let config: CredentialConfiguration = serde_json::from_value(
            json!({ "id": "badge", "format": "dc+sd-jwt", "scope": "badge" }),
        )
        .unwrap();
        let fragment = json!({ "vct": "urn:badge" });
        let entry = configuration_entry(&config, fragment.as_object().unwrap().clone());
        assert_eq!(entry["scope"], "badge");
        assert_eq!(entry["vct"], "urn:badge");
        assert_eq!(
            entry["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"],
            json!(["ES256", "ES384", "EdDSA"])
        );
        let supported: Map<String, Value> = [("badge".to_owned(), entry)].into_iter().collect();
        let m = credential_issuer("https://i.example/acme", supported.clone(), 10, None, &[]);
        assert_eq!(
            m["credential_endpoint"],
            "https://i.example/acme/credential"
        );
        assert_eq!(m["nonce_endpoint"], "https://i.example/acme/nonce");
        assert_eq!(
            m["deferred_credential_endpoint"],
            "https://i.example/acme/deferred_credential"
        );
        assert_eq!(m["batch_credential_issuance"]["batch_size"], 10);
        assert!(m.get("display").is_none());
        assert!(
            m.get("authorization_servers").is_none(),
            "Sigil alone: omitted (§12.2.4)"
        );
        let with_corp = credential_issuer(
            "https://i.example/acme",
            supported.clone(),
            10,
            None,
            &["https://login.corp.example"],
        );
        assert_eq!(
            with_corp["authorization_servers"],
            json!(["https://i.example/acme", "https://login.corp.example"])
        );
        let single = credential_issuer(
            "https://i.example",
            supported,
            1,
            Some(json!([{"name": "I"}])),
            &[],
        );
        assert!(single.get("batch_credential_issuance").is_none());
        assert_eq!(single["display"][0]["name"], "I");
        let a = authorization_server(
            "https://i.example",
            &AuthorizationSettings::default(),
            &["badge"],
        );
        assert_eq!(a["token_endpoint"], "https://i.example/token");
        assert_eq!(
            a["pushed_authorization_request_endpoint"],
            "https://i.example/par"
        );
        assert_eq!(
            a["grant_types_supported"],
            json!([PRE_AUTHORIZED_GRANT, "authorization_code", "refresh_token"])
        );
        assert_eq!(a["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(a["require_pushed_authorization_requests"], true);
    }
}
