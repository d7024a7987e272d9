use std::collections::BTreeMap;
use std::sync::Arc;

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{Map, Value, json};
use sigil_keys::{IssuerKey, Signer};
use sigil_plugin_host::{CredentialSlot, FormatConfiguration, IssueInput};

use crate::helpers::{PluginDir, runtime};

fn input(slots: usize) -> IssueInput {
    IssueInput {
        configuration: FormatConfiguration {
            id: "probe".into(),
            format: "probe".into(),
            settings: json!({}),
        },
        claims: Map::new(),
        issuer: "http://127.0.0.1:8099".into(),
        issued_at: 1_700_000_000,
        expires_at: None,
        slots: (0..slots)
            .map(|_| CredentialSlot {
                holder_key: None,
                status: None,
            })
            .collect(),
    }
}

#[tokio::test]
async fn plugin_signs_through_the_host_and_sees_no_secrets() {
    let dir = PluginDir::with(&["sign-probe"]);
    let rt = runtime(&dir, BTreeMap::new());
    let key = Arc::new(IssuerKey::generate_p256());
    let private_d = key.to_private_jwk()["d"].as_str().unwrap().to_owned();
    let credentials = rt
        .issue("sign-probe", &input(3), key.clone())
        .await
        .unwrap();
    assert_eq!(credentials.len(), 3);

    // Verify with the host's public key, independently of the plugin.
    let jwk = key.public_jwk();
    let public = p256::PublicKey::from_jwk_str(
        &json!({"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]}).to_string(),
    )
    .unwrap();
    let verifying = VerifyingKey::from(public);
    for (i, credential) in credentials.iter().enumerate() {
        assert!(
            !credential.contains(&private_d),
            "private key material leaked"
        );
        let report: Value = serde_json::from_str(credential).unwrap();
        assert_eq!(report["data"], format!("http://127.0.0.1:8099#{i}"));
        let sig: Vec<u8> = serde_json::from_value(report["signature"].clone()).unwrap();
        let sig = Signature::from_slice(&sig).unwrap();
        verifying
            .verify(report["data"].as_str().unwrap().as_bytes(), &sig)
            .unwrap();
        assert!(verifying.verify(b"something else", &sig).is_err());
        assert_eq!(report["jwk"], key.public_jwk());
        assert!(report["jwk"].get("d").is_none());
        assert_eq!(report["kid"], key.key_id());
        assert_eq!(report["alg"], "ES256");
        assert_eq!(report["cose_alg"], -7);
        assert_eq!(
            report["visible_files"],
            json!([]),
            "the sandbox has no filesystem"
        );
        assert_eq!(
            report["visible_env"],
            json!([]),
            "the sandbox has no environment"
        );
    }
}

#[tokio::test]
async fn format_metadata_comes_from_the_plugin() {
    let dir = PluginDir::with(&["sign-probe"]);
    let rt = runtime(&dir, BTreeMap::new());
    let meta = rt
        .format_metadata("sign-probe", &input(1).configuration)
        .await
        .unwrap();
    assert_eq!(
        meta["credential_signing_alg_values_supported"],
        json!(["ES256"])
    );
}
