//! Origin patterns for outbound HTTP allow-lists: `https://api.example.com`,
//! `https://*.example.com`, `http://127.0.0.1:*`. The operator writes them
//! in the configuration (checked there) and the plugin runtime matches
//! requests against them; both use this one parser.

use std::net::IpAddr;

use url::Url;

/// A parsed origin pattern: scheme, host (possibly `*.suffix`), port (possibly any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: String,
    host: HostPattern,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    Subdomains(String),
}

impl OriginPattern {
    /// Parse `scheme://host[:port]`, where host may start with `*.` and port may be `*`.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let (scheme, rest) = pattern.split_once("://").ok_or_else(|| {
            format!("'{pattern}' is not an origin: expected scheme://host[:port]")
        })?;
        if scheme != "http" && scheme != "https" {
            return Err(format!("'{pattern}': scheme must be http or https"));
        }
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            return Err(format!("'{pattern}': an origin has no path"));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => {
                let port = if p == "*" {
                    None
                } else {
                    Some(
                        p.parse::<u16>()
                            .map_err(|_| format!("'{pattern}': invalid port '{p}'"))?,
                    )
                };
                (h, port)
            }
            _ => (rest, Some(default_port(scheme))),
        };
        if host.is_empty() {
            return Err(format!("'{pattern}': missing host"));
        }
        let host = host.to_ascii_lowercase();
        let host = match host.strip_prefix("*.") {
            Some(suffix) => HostPattern::Subdomains(suffix.to_owned()),
            None => HostPattern::Exact(
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned(),
            ),
        };
        Ok(Self {
            scheme: scheme.to_owned(),
            host,
            port,
        })
    }

    /// Whether `url` is inside this origin pattern.
    pub fn matches(&self, url: &Url) -> bool {
        if url.scheme() != self.scheme {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let host_ok = match &self.host {
            HostPattern::Exact(h) => *h == host,
            HostPattern::Subdomains(suffix) => host
                .strip_suffix(suffix.as_str())
                .is_some_and(|prefix| prefix.ends_with('.') && prefix.len() > 1),
        };
        let port_ok = match self.port {
            None => true,
            Some(p) => url.port_or_known_default() == Some(p),
        };
        host_ok && port_ok
    }

    /// Whether the operator explicitly named a loopback or private host, which
    /// allows requests to such addresses (they are blocked otherwise).
    pub fn names_private_host(&self) -> bool {
        match &self.host {
            HostPattern::Exact(h) => h == "localhost" || h.parse::<IpAddr>().is_ok_and(is_private),
            HostPattern::Subdomains(_) => false,
        }
    }
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

/// Loopback, private, link-local, unique-local, unspecified or otherwise
/// non-public addresses: SSRF targets unless the operator names them.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // 100.64/10 CGNAT
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // fc00::/7
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // fe80::/10
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn exact_origin_with_default_port() {
        let p = OriginPattern::parse("https://api.example.com").expect("parse");
        assert!(p.matches(&url("https://api.example.com/x?y")));
        assert!(p.matches(&url("https://api.example.com:443/")));
        assert!(!p.matches(&url("https://api.example.com:8443/")));
        assert!(!p.matches(&url("http://api.example.com/")));
        assert!(!p.matches(&url("https://evil.com/?api.example.com")));
    }

    #[test]
    fn wildcard_subdomains_and_ports() {
        let p = OriginPattern::parse("https://*.example.com").expect("parse");
        assert!(p.matches(&url("https://a.example.com/")));
        assert!(!p.matches(&url("https://example.com/")));
        assert!(!p.matches(&url("https://aexample.com/")));
        let p = OriginPattern::parse("http://127.0.0.1:*").expect("parse");
        assert!(p.matches(&url("http://127.0.0.1:9999/")));
        assert!(p.names_private_host());
    }

    #[test]
    fn rejects_malformed_patterns() {
        assert!(OriginPattern::parse("example.com").is_err());
        assert!(OriginPattern::parse("ftp://example.com").is_err());
        assert!(OriginPattern::parse("https://example.com/path").is_err());
        assert!(OriginPattern::parse("https://example.com:99999").is_err());
    }

    #[test]
    fn private_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["8.8.8.8", "2001:4860:4860::8888"] {
            assert!(!is_private(ip.parse().expect("ip")), "{ip}");
        }
    }
}
