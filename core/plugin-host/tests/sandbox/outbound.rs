use std::collections::BTreeMap;

use serde_json::json;
use sigil_plugin_host::{ClaimFailure, ClaimOutcome, PluginError, PluginPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::{PluginDir, request, runtime};

/// A one-route HTTP server on 127.0.0.1 that answers every request with `body`.
pub async fn serve(body: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = socket.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(body.as_bytes()).await;
            });
        }
    });
    port
}

fn grant(origin: String) -> BTreeMap<String, PluginPolicy> {
    BTreeMap::from([(
        "outbound-http".into(),
        PluginPolicy {
            allowed_hosts: vec![origin],
            ..Default::default()
        },
    )])
}

fn with_url(url: &str) -> sigil_plugin_host::ClaimRequest {
    let mut req = request();
    req.source = json!({ "url": url });
    req
}

#[tokio::test]
async fn granted_origin_is_reachable() {
    let port = serve(r#"{"given_name":"Ada"}"#.into()).await;
    let dir = PluginDir::with(&["outbound-http"]);
    let rt = runtime(&dir, grant(format!("http://127.0.0.1:{port}")));
    let out = rt
        .resolve_claims(
            "outbound-http",
            &with_url(&format!("http://127.0.0.1:{port}/people/1")),
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        ClaimOutcome::Claims(json!({"given_name": "Ada"}).as_object().unwrap().clone())
    );
}

#[tokio::test]
async fn origin_not_granted_is_denied_and_attributed() {
    let port = serve("{}".into()).await;
    let dir = PluginDir::with(&["outbound-http"]);
    let rt = runtime(&dir, grant(format!("http://127.0.0.1:{port}")));
    for url in [
        format!("http://127.0.0.2:{port}/"),
        format!("http://127.0.0.1:{}/", port.wrapping_add(1)),
        "http://169.254.169.254/latest/meta-data".to_string(),
    ] {
        let err = rt
            .resolve_claims("outbound-http", &with_url(&url))
            .await
            .unwrap_err();
        match &err {
            PluginError::CapabilityDenied { plugin, capability } => {
                assert_eq!(plugin, "outbound-http");
                assert!(capability.contains("outbound HTTP to"), "{capability}");
            }
            other => panic!("{url}: {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with("plugin 'outbound-http' was denied outbound HTTP to http://"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn no_grant_means_no_outbound_http() {
    let port = serve("{}".into()).await;
    let dir = PluginDir::with(&["outbound-http"]);
    let rt = runtime(&dir, BTreeMap::new());
    let err = rt
        .resolve_claims(
            "outbound-http",
            &with_url(&format!("http://127.0.0.1:{port}/")),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, PluginError::CapabilityDenied { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn oversized_response_is_cut_off() {
    let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(2 << 20));
    let port = serve(big).await;
    let dir = PluginDir::with(&["outbound-http"]);
    let rt = runtime(&dir, grant(format!("http://127.0.0.1:{port}")));
    let err = rt
        .resolve_claims(
            "outbound-http",
            &with_url(&format!("http://127.0.0.1:{port}/")),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, PluginError::Claim { error: ClaimFailure::Upstream(ref m), .. } if m.contains("size exceeds limit: 1048576 bytes")),
        "{err:?}"
    );
}
