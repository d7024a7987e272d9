//! Bearer authentication of the admin API: the global token
//! (`SIGIL_ADMIN_TOKEN`, every tenant) and tenant-scoped keys
//! (`[tenants.<id>] admin_keys`).

use actix_web::HttpRequest;
use sigil_settings::Settings;
use sigil_settings::admin_keys::{KeyDigest, digest};

use crate::problem::Problem;

/// What an authenticated admin request may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminScope {
    /// The global token: every tenant.
    All,
    /// A tenant's key: that tenant only.
    Tenant(String),
}

impl AdminScope {
    /// Whether this scope covers `tenant`.
    pub fn covers(&self, tenant: &str) -> bool {
        match self {
            Self::All => true,
            Self::Tenant(t) => t == tenant,
        }
    }
}

/// The admin credentials, kept as SHA-256 digests so the keys themselves
/// are not held and comparisons take the same time whichever key matches.
#[derive(Clone)]
pub struct AdminToken {
    global: Option<KeyDigest>,
    tenants: Vec<(KeyDigest, String)>,
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AdminToken(global: {}, tenant keys: {})",
            self.global.is_some(),
            self.tenants.len()
        )
    }
}

/// Constant-time equality of two digests.
fn same(a: &KeyDigest, b: &KeyDigest) -> bool {
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

impl AdminToken {
    /// From the global token (`SIGIL_ADMIN_TOKEN`); with no token and no
    /// tenant keys the admin API is disabled.
    pub fn new(token: Option<&str>) -> Self {
        Self {
            global: token.filter(|t| !t.is_empty()).map(digest),
            tenants: Vec::new(),
        }
    }

    /// Add the tenant-scoped keys of the configuration.
    pub fn with_tenant_keys(mut self, settings: &Settings) -> Self {
        self.tenants = settings
            .tenants
            .iter()
            .flat_map(|(id, t)| t.admin_key_digests.iter().map(|d| (*d, id.clone())))
            .collect();
        self
    }

    /// Check the request's `Authorization: Bearer` header (the scheme is
    /// case-insensitive, RFC 9110 §11.1) and return what it may reach.
    pub fn check(&self, req: &HttpRequest) -> Result<AdminScope, Problem> {
        if self.global.is_none() && self.tenants.is_empty() {
            return Err(Problem::unauthorized(
                "the admin API is disabled: start Sigil with SIGIL_ADMIN_TOKEN set, or give a tenant admin_keys",
            ));
        }
        let presented = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
            .ok_or_else(|| Problem::unauthorized("send Authorization: Bearer <admin token>"))?;
        let presented = digest(presented);
        // Compare with every key, whichever matches, so the time taken does
        // not tell which kind of key (or whose) was close.
        let mut scope = None;
        if let Some(g) = &self.global
            && same(g, &presented)
        {
            scope = Some(AdminScope::All);
        }
        for (d, tenant) in &self.tenants {
            if same(d, &presented) && scope.is_none() {
                scope = Some(AdminScope::Tenant(tenant.clone()));
            }
        }
        scope.ok_or_else(|| Problem::unauthorized("the admin token is not valid"))
    }
}

/// The token of a `Bearer` credential, the scheme in any case.
fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn token() -> AdminToken {
        let mut t = AdminToken::new(Some("global-token"));
        t.tenants = vec![(digest("acme-key-0123456789"), "acme".into())];
        t
    }

    fn with(header: &str) -> Result<AdminScope, Problem> {
        token().check(
            &TestRequest::default()
                .insert_header(("Authorization", header))
                .to_http_request(),
        )
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        for h in [
            "Bearer global-token",
            "bearer global-token",
            "BEARER  global-token",
        ] {
            assert_eq!(with(h).unwrap(), AdminScope::All, "{h}");
        }
    }

    #[test]
    fn a_tenant_key_is_scoped_to_its_tenant() {
        let scope = with("Bearer acme-key-0123456789").unwrap();
        assert_eq!(scope, AdminScope::Tenant("acme".into()));
        assert!(scope.covers("acme"));
        assert!(!scope.covers("default"));
        assert!(AdminScope::All.covers("acme"));
    }

    #[test]
    fn other_schemes_and_wrong_keys_are_refused() {
        for h in [
            "Basic Z2xvYmFsLXRva2Vu",
            "Bearer",
            "Bearer wrong",
            "global-token",
        ] {
            assert_eq!(with(h).unwrap_err().status, 401, "{h}");
        }
        let disabled = AdminToken::new(None).check(
            &TestRequest::default()
                .insert_header(("Authorization", "Bearer x"))
                .to_http_request(),
        );
        assert!(disabled.unwrap_err().detail.contains("disabled"));
    }
}
