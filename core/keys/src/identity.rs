//! Who signs: the `iss` of credentials and the `kid` their headers carry,
//! per the issuer identifier kind (`https`, `did:web`, `did:jwk`,
//! `did:key`).

use crate::Signer;
use crate::did;

/// The `iss` of credentials and the `kid` their headers carry.
#[derive(Debug, Clone)]
pub struct Identity {
    /// `iss`.
    pub issuer_id: String,
    /// `kid` when it is not the key's own (a DID URL).
    pub kid: Option<String>,
}

/// Identity of an issuer at `issuer` (its HTTPS URL) whose identifier kind
/// is `kind`, signing with `key`. An unknown kind, or a key a DID cannot
/// name, keeps the URL and the key's own kid.
pub fn identity(kind: &str, issuer: &str, key: &dyn Signer) -> Identity {
    let jwk = key.public_jwk();
    let did = match kind {
        "did:web" => did::did_web(issuer).map(|d| {
            let kid = format!("{d}#{}", key.key_id());
            (d, kid)
        }),
        "did:jwk" => did::did_jwk(&jwk).map(|d| {
            let kid = format!("{d}#0");
            (d, kid)
        }),
        "did:key" => did::did_key(&jwk).and_then(|d| {
            let multikey = did::multikey(&jwk)?;
            let kid = format!("{d}#{multikey}");
            Some((d, kid))
        }),
        _ => None,
    };
    match did {
        Some((d, kid)) => Identity {
            issuer_id: d,
            kid: Some(kid),
        },
        None => Identity {
            issuer_id: issuer.to_owned(),
            kid: None,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::IssuerKey;

    #[test]
    fn identity_follows_the_identifier_kind() {
        let key = IssuerKey::generate_p256();
        let url = "https://issuer.example.com/acme";
        let https = identity("https", url, &key);
        assert_eq!(https.issuer_id, url);
        assert!(https.kid.is_none());
        let web = identity("did:web", url, &key);
        assert_eq!(web.issuer_id, "did:web:issuer.example.com:acme");
        assert_eq!(
            web.kid.unwrap(),
            format!("did:web:issuer.example.com:acme#{}", key.key_id())
        );
        let jwk = identity("did:jwk", url, &key);
        assert!(jwk.issuer_id.starts_with("did:jwk:ey"));
        assert_eq!(jwk.kid.unwrap(), format!("{}#0", jwk.issuer_id));
        let dk = identity("did:key", url, &key);
        assert!(dk.issuer_id.starts_with("did:key:zDn"), "{}", dk.issuer_id);
        let fragment = dk.issuer_id.trim_start_matches("did:key:").to_owned();
        assert_eq!(dk.kid.unwrap(), format!("{}#{fragment}", dk.issuer_id));
    }
}
