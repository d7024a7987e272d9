//! Which endpoint gets an offer's events, and what each endpoint takes.

use std::collections::BTreeMap;
use std::sync::Arc;

use sigil_settings::{EventEndpoint, Settings, SettingsError};

use crate::model::EventKind;

/// The event endpoint of a new offer: the one the offer names, else the
/// first of its credential configurations (in the offer's order) that
/// names one, else none.
pub fn endpoint_of_offer(
    settings: &Settings,
    named: Option<String>,
    configuration_ids: &[String],
) -> Option<String> {
    named.or_else(|| {
        configuration_ids.iter().find_map(|id| {
            settings
                .credential_configurations
                .get(id)
                .and_then(|c| c.webhook_endpoint_id.clone())
        })
    })
}

/// One endpoint as the engine uses it.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its id.
    pub id: String,
    /// Where events are posted.
    pub url: String,
    /// The HMAC secret.
    secret: Arc<str>,
    /// The kinds it takes; `None`: all.
    kinds: Option<Vec<EventKind>>,
    /// Timeout of one delivery, milliseconds.
    pub timeout_ms: u64,
}

impl Target {
    /// A target (tests and tools).
    pub fn new(id: &str, url: &str, secret: &str, kinds: Option<Vec<EventKind>>) -> Self {
        Self {
            id: id.to_owned(),
            url: url.to_owned(),
            secret: Arc::from(secret),
            kinds,
            timeout_ms: 5_000,
        }
    }

    /// Whether it takes events of `kind`.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.kinds.as_ref().is_none_or(|k| k.contains(&kind))
    }

    /// The signing secret.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

/// Every configured endpoint, by id; each kind it names checked against
/// the catalogue.
pub fn targets(settings: &Settings) -> Result<BTreeMap<String, Target>, SettingsError> {
    settings
        .event_endpoints
        .values()
        .map(|e| target(settings, e).map(|t| (t.id.clone(), t)))
        .collect()
}

fn target(settings: &Settings, e: &EventEndpoint) -> Result<Target, SettingsError> {
    let kinds = match &e.events {
        None => None,
        Some(names) => Some(
            names
                .iter()
                .map(|name| {
                    EventKind::parse(name).ok_or_else(|| {
                        let file = settings
                            .resource_files
                            .get(&format!("event-endpoint:{}", e.id))
                            .cloned()
                            .unwrap_or_else(|| settings.source.clone());
                        let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                        SettingsError::new(
                            file,
                            "events",
                            format!("'{name}' is not an event kind"),
                            format!(
                                "use kinds of docs/events.md: {}, or remove events for all",
                                known.join(", ")
                            ),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(Target {
        id: e.id.clone(),
        url: e.url.clone(),
        secret: Arc::from(e.signing_secret()),
        kinds,
        timeout_ms: e.timeout_ms,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use serde_json::json;

    use super::*;

    fn settings() -> Settings {
        let mut s: Settings = serde_json::from_value(json!({
            "server": { "public_url": "https://issuer.example" },
        }))
        .unwrap();
        for (id, endpoint) in [
            ("plain", None),
            ("badge", Some("from-config")),
            ("other", Some("second")),
        ] {
            let c: sigil_settings::CredentialConfiguration = serde_json::from_value(json!({
                "id": id, "format": "dc+sd-jwt", "webhook_endpoint_id": endpoint
            }))
            .unwrap();
            s.credential_configurations.insert(id.into(), c);
        }
        s
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_offer_wins_then_the_first_configuration_naming_one() {
        let s = settings();
        let named = Some("offer's".to_owned());
        assert_eq!(
            endpoint_of_offer(&s, named, &ids(&["badge"])).as_deref(),
            Some("offer's")
        );
        assert_eq!(
            endpoint_of_offer(&s, None, &ids(&["plain", "other", "badge"])).as_deref(),
            Some("second")
        );
        assert_eq!(endpoint_of_offer(&s, None, &ids(&["plain"])), None);
    }

    #[test]
    fn an_unknown_kind_in_an_endpoints_filter_is_a_settings_error() {
        let mut s = settings();
        let endpoint: EventEndpoint = serde_json::from_value(json!({
            "id": "rp", "url": "https://rp.example/events",
            "events": ["credential_issued", "credential_isued"]
        }))
        .unwrap();
        s.event_endpoints.insert("rp".into(), endpoint);
        s.resource_files.insert(
            "event-endpoint:rp".into(),
            "config/event-endpoints/rp.toml".into(),
        );
        let e = targets(&s).unwrap_err();
        assert_eq!(e.key, "events");
        assert!(e.file.ends_with("event-endpoints/rp.toml"), "{e}");
        assert!(e.problem.contains("credential_isued"), "{e}");
        assert!(e.fix.contains("credential_issued"), "{e}");
        s.event_endpoints.get_mut("rp").unwrap().events = Some(vec!["credential_issued".into()]);
        let t = &targets(&s).unwrap()["rp"];
        assert!(t.wants(EventKind::CredentialIssued) && !t.wants(EventKind::OfferCreated));
    }
}
