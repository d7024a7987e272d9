//! Peer mode: the same pre-authorized flow against another OpenID4VCI
//! issuer on this machine (`bench/peer/`), so Sigil's figures can stand next
//! to a peer's. Only the offer creation differs (each issuer has its own
//! admin API); the token, nonce and credential endpoints come from the
//! peer's metadata, and the wallet's requests are the ones Sigil gets.

use clap::ValueEnum;
use serde_json::{Value, json};

use crate::stats::{Endpoint, Samples};
use crate::{Ctx, GRANT, Instance, call_owned};

/// A peer issuer `sigil-load --peer` can drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Peer {
    /// `@sphereon/oid4vci-issuer-server` (npm) as `bench/peer/sphereon-issuer.mjs`
    /// runs it: offers are created with `POST /webapp/credential-offers`.
    Sphereon,
}

impl Peer {
    /// Its name in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Sphereon => "sphereon",
        }
    }

    /// The body of the request that creates one pre-authorized offer of
    /// `configuration` with `claims`, by reference.
    pub fn offer_body(self, configuration: &str, claims: &Value) -> Value {
        match self {
            Peer::Sphereon => json!({
                "credential_configuration_ids": [configuration],
                "offerMode": "REFERENCE",
                "grants": { GRANT: {} },
                "credentialDataSupplierInput": claims,
            }),
        }
    }
}

/// Where a wallet sends each request, as paths on an instance's base URL.
pub struct Paths {
    /// Creates an offer (the issuer's admin API).
    pub offer: String,
    /// The token endpoint.
    pub token: String,
    /// The nonce endpoint.
    pub nonce: String,
    /// The credential endpoint.
    pub credential: String,
}

impl Paths {
    /// Sigil's endpoints.
    pub fn sigil() -> Self {
        Self {
            offer: "/admin/v1/offers".into(),
            token: "/token".into(),
            nonce: "/nonce".into(),
            credential: "/credential".into(),
        }
    }

    /// A peer's endpoints, from its credential issuer `metadata` and the
    /// metadata of its authorization server (fetched from `at`).
    pub async fn discover(
        peer: Peer,
        client: &reqwest::Client,
        at: &Instance,
        metadata: &Value,
    ) -> Result<Self, String> {
        let offer = match peer {
            Peer::Sphereon => "/webapp/credential-offers".to_owned(),
        };
        // The token endpoint is the authorization server's (the issuer's own
        // when the metadata names none).
        let server = metadata
            .get("authorization_servers")
            .and_then(|a| a.get(0))
            .and_then(Value::as_str)
            .or_else(|| metadata.get("credential_issuer")?.as_str())
            .ok_or("the peer's metadata has no credential_issuer")?;
        let server = path_of(server)?;
        let as_url = at.url(&format!(
            "/.well-known/oauth-authorization-server{}",
            server.trim_end_matches('/')
        ));
        let authorization = crate::get_json(client, &as_url, &as_url).await?;
        let endpoint = |doc: &Value, key: &str| -> Result<String, String> {
            doc.get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("the peer's metadata has no {key}"))
                .and_then(path_of)
        };
        Ok(Self {
            offer,
            token: endpoint(&authorization, "token_endpoint")?,
            nonce: endpoint(metadata, "nonce_endpoint")?,
            credential: endpoint(metadata, "credential_endpoint")?,
        })
    }
}

/// The path (and query) of an absolute URL: the load generator sends it to
/// the worker's instance.
fn path_of(url: &str) -> Result<String, String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    Ok(match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    })
}

/// Creates one offer at the peer and returns its `credential_offer_uri`
/// (the peer answers with an `openid-credential-offer://` URI carrying it).
pub async fn create_offer(ctx: &Ctx, at: &Instance, s: &mut Samples) -> Option<String> {
    call_owned(
        ctx,
        s,
        Endpoint::Offer,
        ctx.client
            .post(at.url(&ctx.paths.offer))
            .json(&ctx.offer_body),
        |v| offer_uri(v.get("uri")?.as_str()?),
    )
    .await
}

/// The `credential_offer_uri` parameter of a credential offer URI.
fn offer_uri(uri: &str) -> Option<String> {
    reqwest::Url::parse(uri)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "credential_offer_uri")
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_uri_is_read_from_the_deep_link() {
        let uri = "openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A8123%2Fcredential-offers%2Fabc";
        assert_eq!(
            offer_uri(uri).as_deref(),
            Some("http://127.0.0.1:8123/credential-offers/abc")
        );
        assert_eq!(
            offer_uri("openid-credential-offer://?credential_offer=%7B%7D"),
            None
        );
    }

    #[test]
    fn paths_keep_the_query() {
        assert_eq!(path_of("http://127.0.0.1:1/token").as_deref(), Ok("/token"));
        assert_eq!(
            path_of("http://127.0.0.1:1/a/b?x=1").as_deref(),
            Ok("/a/b?x=1")
        );
        assert!(path_of("/relative").is_err());
    }

    #[test]
    fn sphereon_offers_are_pre_authorized_by_reference() {
        let body = Peer::Sphereon.offer_body("cfg", &json!({ "given_name": "Ada" }));
        assert_eq!(body["credential_configuration_ids"], json!(["cfg"]));
        assert_eq!(body["offerMode"], "REFERENCE");
        assert!(body["grants"].get(GRANT).is_some());
        assert_eq!(body["credentialDataSupplierInput"]["given_name"], "Ada");
    }
}
