//! Event endpoints (`config/event-endpoints/<id>.toml`): where Sigil posts
//! the events of the offers that name them, signed, and `[event_delivery]`:
//! how it retries.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::SettingsError;
use crate::providers::{Secret, resolve_secrets, secret_from_env};

/// One event endpoint: a URL Sigil posts events to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventEndpoint {
    /// Id, named by offers (`webhookEndpointId`) and credential
    /// configurations (`webhook_endpoint_id`).
    pub id: String,
    /// The URL each event is posted to.
    pub url: String,
    /// The HMAC-SHA256 secret of the `Sigil-Signature` header.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Shorthand for `secret = { env = "NAME" }`.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The event kinds to post (`docs/events.md`); absent: every kind.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Timeout of one delivery in milliseconds (default 5000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    5_000
}

impl EventEndpoint {
    /// The signing secret.
    pub fn signing_secret(&self) -> &str {
        self.secret.as_ref().map(Secret::expose).unwrap_or_default()
    }

    /// Resolve `secret_env` and the secret of an endpoint loaded from `file`.
    pub(crate) fn resolve(
        &mut self,
        file: &Path,
        base: &Path,
        env: &BTreeMap<String, String>,
    ) -> Result<(), SettingsError> {
        secret_from_env(file, &mut self.secret, self.secret_env.as_deref())?;
        let Some(secret) = self.secret.as_mut() else {
            return Err(SettingsError::new(
                file,
                "secret",
                "an event endpoint needs a signing secret (every delivery is signed)",
                "add secret_env = \"NAME\" (the variable holding the secret) or, for development, secret = \"...\"",
            ));
        };
        resolve_secrets(file, base, env, None, vec![("secret", secret)])?;
        if self.signing_secret().len() < 16 {
            return Err(SettingsError::new(
                file,
                "secret",
                "the signing secret is shorter than 16 characters",
                "use a random secret of at least 32 characters",
            ));
        }
        Ok(())
    }

    /// Check the URL and the timeout of an endpoint loaded from `file`.
    pub(crate) fn validate(&self, file: &Path) -> Result<(), SettingsError> {
        let fix = "write an absolute http:// or https:// URL";
        let parsed = url::Url::parse(&self.url).map_err(|e| {
            SettingsError::new(
                file,
                "url",
                format!("'{}' is not a URL ({e})", self.url),
                fix,
            )
        })?;
        if (parsed.scheme() != "http" && parsed.scheme() != "https") || parsed.host().is_none() {
            return Err(SettingsError::new(
                file,
                "url",
                format!("'{}' is not an http(s) URL", self.url),
                fix,
            ));
        }
        if !(1..=60_000).contains(&self.timeout_ms) {
            return Err(SettingsError::new(
                file,
                "timeout_ms",
                format!("{} ms is not between 1 and 60000", self.timeout_ms),
                "set timeout_ms to the longest a receiver may take, e.g. 5000",
            ));
        }
        Ok(())
    }
}

/// `[events]`: what events carry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventSettings {
    /// Whether `credential_issued` events carry the claim values that were
    /// issued (`data.claims`), default false. On, the values are stored in
    /// the event log and reach every event stream and webhook: turn it on
    /// only where those are as protected as the credentials.
    pub claim_values: bool,
}

/// `[event_delivery]`: how events are posted to event endpoints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventDeliverySettings {
    /// Whether this instance delivers events (default true). Instances that
    /// do not still write events; another instance delivers them.
    pub enabled: bool,
    /// How long a delivery is retried, counted from the event, in seconds
    /// (default 86,400); after that it is a dead letter.
    pub retry_horizon_seconds: i64,
    /// The wait before the first retry, in milliseconds (default 1000); it
    /// doubles with each attempt, with jitter.
    pub initial_backoff_ms: u64,
    /// The longest wait between two retries, in seconds (default 600).
    pub max_backoff_seconds: u64,
    /// How long an instance holds an endpoint (only the holder delivers its
    /// events), in seconds (default 30); it renews the lease while it runs.
    pub lease_seconds: u64,
    /// How often an idle endpoint looks for new events, in milliseconds
    /// (default 500).
    pub poll_ms: u64,
    /// Deliveries in flight per endpoint, each of a different offer
    /// (default 8).
    pub concurrency: usize,
}

impl Default for EventDeliverySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            retry_horizon_seconds: 86_400,
            initial_backoff_ms: 1_000,
            max_backoff_seconds: 600,
            lease_seconds: 30,
            poll_ms: 500,
            concurrency: 8,
        }
    }
}

impl EventDeliverySettings {
    /// Check the numbers; `file` is the main config file.
    pub(crate) fn validate(&self, file: &Path) -> Result<(), SettingsError> {
        let bad = |key: &str, problem: String, fix: &str| {
            Err(SettingsError::new(
                file,
                format!("event_delivery.{key}"),
                problem,
                fix,
            ))
        };
        if self.retry_horizon_seconds < 1 {
            return bad(
                "retry_horizon_seconds",
                format!("{} is not positive", self.retry_horizon_seconds),
                "give the retry horizon in seconds, e.g. 86400",
            );
        }
        if self.initial_backoff_ms == 0 || self.max_backoff_seconds == 0 {
            return bad(
                "initial_backoff_ms",
                "the backoff must be positive".into(),
                "set initial_backoff_ms and max_backoff_seconds above 0",
            );
        }
        if self.lease_seconds < 2 {
            return bad(
                "lease_seconds",
                format!("{} s is shorter than 2 s", self.lease_seconds),
                "use at least 2 seconds (default 30)",
            );
        }
        if self.poll_ms == 0 || self.poll_ms >= self.lease_seconds * 500 {
            return bad(
                "poll_ms",
                format!("{} ms is not between 1 and half the lease", self.poll_ms),
                "poll more often than every lease_seconds / 2",
            );
        }
        if !(1..=256).contains(&self.concurrency) {
            return bad(
                "concurrency",
                format!("{} is not between 1 and 256", self.concurrency),
                "use a small number, e.g. 8",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use crate::Settings;
    use crate::providers::tests::setup;

    const GOOD: &str =
        "id = \"rp\"\nurl = \"https://rp.example/events\"\nsecret = \"0123456789abcdef0123\"\n";

    #[test]
    fn an_endpoint_loads_with_its_secret_from_the_environment() {
        let (_d, p) = setup(
            "",
            &[(
                "event-endpoints/rp.toml",
                "id = \"rp\"\nurl = \"https://rp.example/events\"\nsecret_env = \"RP_SECRET\"\nevents = [\"credential_issued\"]\n",
            )],
        );
        let s = Settings::load_with_env(&p, [("RP_SECRET".into(), "s3cret-s3cret-s3cret".into())])
            .unwrap();
        let e = &s.event_endpoints["rp"];
        assert_eq!(e.signing_secret(), "s3cret-s3cret-s3cret");
        assert_eq!(
            e.events.as_deref(),
            Some(&["credential_issued".to_owned()][..])
        );
        assert_eq!(e.timeout_ms, 5_000);
    }

    #[test]
    fn bad_endpoints_name_the_file_the_key_and_the_fix() {
        let cases = [
            (
                "id = \"rp\"\nurl = \"https://rp.example/events\"\n",
                "secret",
                "secret_env",
            ),
            (
                "id = \"rp\"\nurl = \"https://rp.example/events\"\nsecret = \"short\"\n",
                "secret",
                "32 characters",
            ),
            (
                "id = \"rp\"\nurl = \"ftp://rp.example/events\"\nsecret = \"0123456789abcdef0123\"\n",
                "url",
                "http",
            ),
            (
                "id = \"rp\"\nurl = \"https://rp.example/events\"\nsecret = \"0123456789abcdef0123\"\nsecret_env = \"X\"\n",
                "secret_env",
                "keep one",
            ),
            (
                "id = \"rp\"\nurl = \"https://rp.example/events\"\nsecret = \"0123456789abcdef0123\"\ntimeout_ms = 0\n",
                "timeout_ms",
                "timeout_ms",
            ),
        ];
        for (text, key, fix) in cases {
            let (_d, p) = setup("", &[("event-endpoints/rp.toml", text)]);
            let e = Settings::load_with_env(&p, []).unwrap_err();
            assert!(e.file.ends_with("event-endpoints/rp.toml"), "{e}");
            assert_eq!(e.key, key, "{e}");
            assert!(e.fix.contains(fix), "{e}");
        }
    }

    #[test]
    fn a_configuration_must_name_a_known_endpoint_and_delivery_numbers_are_checked() {
        let (_d, p) = setup(
            "",
            &[
                ("event-endpoints/rp.toml", GOOD),
                (
                    "credential-configurations/badge.toml",
                    "id = \"badge\"\nformat = \"dc+sd-jwt\"\nvct = \"https://example.com/badge\"\nwebhook_endpoint_id = \"nope\"\n",
                ),
            ],
        );
        let e = Settings::load_with_env(&p, []).unwrap_err();
        assert!(
            e.file.ends_with("credential-configurations/badge.toml"),
            "{e}"
        );
        assert_eq!(e.key, "webhook_endpoint_id");
        assert!(e.fix.contains("rp"), "{e}");
        let (_d, p) = setup("[event_delivery]\nlease_seconds = 1\n", &[]);
        let e = Settings::load_with_env(&p, []).unwrap_err();
        assert_eq!(e.key, "event_delivery.lease_seconds", "{e}");
    }
}
