//! What the operator grants each plugin, and the outbound HTTP allow-list
//! built from it (origin patterns are [`sigil_origin::OriginPattern`]).

use std::collections::BTreeMap;

use serde::Deserialize;
use sigil_origin::OriginPattern;
use url::Url;

use crate::Limits;

/// The operator's grants for one plugin (`[plugins.<id>]` in the config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginPolicy {
    /// Origins the plugin may call (`https://api.example.com`,
    /// `https://*.example.com`, `http://127.0.0.1:*`). Empty: none.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Settings the plugin reads with `host::config`.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Expected sha256 (hex) of the component; the plugin is refused on mismatch.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Limits for this plugin, replacing the defaults where set.
    #[serde(default)]
    pub limits: Option<Limits>,
}

/// The effective outbound HTTP allow-list of one plugin: an origin must be
/// requested by the plugin's manifest and granted by the operator.
#[derive(Debug, Clone, Default)]
pub struct HttpGrant {
    granted: Vec<OriginPattern>,
    requested_any: bool,
    requested: Vec<OriginPattern>,
}

impl HttpGrant {
    /// Build from the manifest's requests and the operator's grants.
    pub fn new(requested: &[String], granted: &[String]) -> Result<Self, String> {
        let requested_any = requested.iter().any(|r| r == "*");
        let requested = requested
            .iter()
            .filter(|r| *r != "*")
            .map(|r| OriginPattern::parse(r))
            .collect::<Result<_, _>>()?;
        let granted = granted
            .iter()
            .map(|g| OriginPattern::parse(g))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            granted,
            requested_any,
            requested,
        })
    }

    /// The operator grant that lets `url` through, if any.
    pub fn check(&self, url: &Url) -> Option<&OriginPattern> {
        let requested = self.requested_any || self.requested.iter().any(|p| p.matches(url));
        if !requested {
            return None;
        }
        self.granted.iter().find(|p| p.matches(url))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn grant_needs_request_and_operator() {
        let url = |s: &str| Url::parse(s).expect("url");
        let g = HttpGrant::new(&["*".into()], &["https://a.example".into()]).expect("grant");
        assert!(g.check(&url("https://a.example/")).is_some());
        assert!(g.check(&url("https://b.example/")).is_none());
        let g = HttpGrant::new(&[], &["https://a.example".into()]).expect("grant");
        assert!(g.check(&url("https://a.example/")).is_none());
    }
}
