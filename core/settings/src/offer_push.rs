//! `[offer_push]`: which wallets the admin API may push offers to
//! (`POST /admin/v1/offers/{id}/send`, OID4VCI 1.0 §4.1). Sigil calls no
//! wallet the operator did not list: the wallet's credential offer
//! endpoint, and the metadata document it is read from, must each match
//! one of [`OfferPushSettings::allowed_origins`] ([`OriginPattern`], the
//! parser of the plugins' `allowed_hosts`). The list is empty by default,
//! so pushing is off until the operator names origins.
//!
//! [`OfferPushSettings::check`] (part of `Settings::validate`) refuses a
//! pattern that is not an origin, naming the file, the key
//! (`offer_push.allowed_origins[i]`) and the fix.

use std::path::Path;

use serde::Deserialize;
use sigil_origin::OriginPattern;
use url::Url;

use crate::SettingsError;

/// What to write instead of a pattern that is not an origin.
const ORIGIN_FIX: &str = "write an origin: scheme://host[:port], e.g. https://wallet.example.com, https://*.wallet.example.com or http://127.0.0.1:*";

/// `[offer_push]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OfferPushSettings {
    /// Origins of the wallets offers may be pushed to (`https://wallet.example.com`,
    /// `https://*.wallet.example.com`, `http://127.0.0.1:*`). Empty (the
    /// default): pushing is refused.
    pub allowed_origins: Vec<String>,
}

impl OfferPushSettings {
    /// Whether `url` is inside one of the allowed origins (a pattern that
    /// is not an origin, which [`OfferPushSettings::check`] refuses,
    /// allows nothing).
    pub fn allows(&self, url: &Url) -> bool {
        self.allowed_origins
            .iter()
            .filter_map(|o| OriginPattern::parse(o).ok())
            .any(|p| p.matches(url))
    }

    /// Whether any origin is allowed (pushing is on).
    pub fn enabled(&self) -> bool {
        !self.allowed_origins.is_empty()
    }

    /// Every pattern is an origin; `file` is the configuration file.
    pub fn check(&self, file: &Path) -> Result<(), SettingsError> {
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            OriginPattern::parse(origin).map_err(|problem| {
                SettingsError::new(
                    file,
                    format!("offer_push.allowed_origins[{i}]"),
                    problem,
                    ORIGIN_FIX,
                )
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::path::Path;

    use crate::Settings;

    fn load(extra: &str) -> Result<Settings, crate::SettingsError> {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("sigil.toml");
        std::fs::write(
            &path,
            format!("[server]\npublic_url = \"http://127.0.0.1:8099\"\n{extra}"),
        )
        .expect("write");
        Settings::load_with_env(&path, [])
    }

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn off_by_default() {
        let s = load("").unwrap();
        assert!(!s.offer_push.enabled());
        assert!(
            !s.offer_push
                .allows(&url("https://wallet.example.com/offer"))
        );
    }

    #[test]
    fn listed_origins_are_allowed_and_no_others() {
        let s = load(
            "[offer_push]\nallowed_origins = [\"https://wallet.example.com\", \"http://127.0.0.1:*\"]\n",
        )
        .unwrap();
        assert!(s.offer_push.enabled());
        assert!(
            s.offer_push
                .allows(&url("https://wallet.example.com/cb?x=1"))
        );
        assert!(s.offer_push.allows(&url("http://127.0.0.1:4001/offer")));
        assert!(!s.offer_push.allows(&url("http://wallet.example.com/offer")));
        assert!(!s.offer_push.allows(&url("https://evil.example/offer")));
    }

    #[test]
    fn a_bad_pattern_names_file_key_and_fix() {
        for bad in [
            "wallet.example.com",
            "ftp://wallet.example.com",
            "https://w.example/offer",
        ] {
            let e = load(&format!(
                "[offer_push]\nallowed_origins = [\"https://ok.example\", \"{bad}\"]\n"
            ))
            .expect_err(bad);
            let text = e.to_string();
            assert_eq!(e.key, "offer_push.allowed_origins[1]", "{text}");
            assert_eq!(e.file.file_name(), Path::new("sigil.toml").file_name());
            assert!(text.contains(bad), "{text}");
            assert!(e.fix.contains("scheme://host[:port]"), "{text}");
        }
        let e = load("[offer_push]\nallowed_hosts = []\n").expect_err("unknown key");
        assert!(e.to_string().contains("allowed_hosts"), "{e}");
    }
}
