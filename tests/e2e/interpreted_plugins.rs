//! Claim providers written in Python and JavaScript (issue #20): the
//! example plugins `claims-example-python` and `claims-example-js`, built by
//! `cargo xtask build-plugins` with the SDKs, ask the example claims service
//! (`docs/examples/claims-receiver.mjs`, run with Node) through the
//! allow-list; the independent wallet claims a credential whose claims came
//! from them; a dry run answers with a typed error when the service is down.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use sigil_tests::{Spawn, TestApp, root, wallet};

use crate::offers::create;

/// (plugin id, credential configuration id) of each language.
const EXAMPLES: [(&str, &str); 2] = [
    ("claims-example-python", "employee_badge_python"),
    ("claims-example-js", "employee_badge_js"),
];

/// The example claims service on a free port of 127.0.0.1; stopped on drop.
struct ClaimsService {
    child: Child,
    url: String,
}

impl ClaimsService {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("node")
            .arg(root().join("docs/examples/claims-receiver.mjs"))
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node must be installed");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/claims"),
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ClaimsService {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The example configuration's file for `configuration`, with the service's
/// URL in place of the example's fixed port.
fn configuration_file(configuration: &str, url: &str) -> String {
    let path = root().join(format!(
        "config/credential-configurations/{configuration}.toml"
    ));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("http://127.0.0.1:8787/claims"), "{text}");
    text.replace("http://127.0.0.1:8787/claims", url)
}

/// The issuer with both example plugins, granted as `config/sigil.toml`
/// grants them (the loopback origins, the service's bearer token), and
/// the `extra` plugins (granted nothing but the limits `config/sigil.toml`
/// gives the examples).
async fn issuer(service: &ClaimsService, extra: &[&str]) -> TestApp {
    let mut spawn = Spawn::default()
        .issuer()
        .more_plugins(&["claims-example-python", "claims-example-js"])
        .more_plugins(extra);
    for plugin in extra {
        spawn = spawn.toml(&format!(
            "[plugins.grants.{plugin}]\nlimits = {{ timeout_ms = 5_000, fuel = 1_000_000_000, max_memory_bytes = 67_108_864 }}"
        ));
    }
    for (plugin, configuration) in EXAMPLES {
        spawn = spawn
            .file(
                &format!("credential-configurations/{configuration}.toml"),
                &configuration_file(configuration, &service.url),
            )
            .toml(&grant(plugin));
    }
    spawn.start().await
}

/// The grant of `plugin` in `config/sigil.toml`, as it stands there.
fn grant(plugin: &str) -> String {
    let config = std::fs::read_to_string(root().join("config/sigil.toml")).unwrap();
    let header = format!("[plugins.grants.{plugin}]");
    let start = config
        .find(&header)
        .unwrap_or_else(|| panic!("config/sigil.toml grants {plugin}"));
    let rest = &config[start + header.len()..];
    let end = rest.find("\n[").unwrap_or(rest.len());
    format!("{header}{}", &rest[..end])
}

async fn dry_run(app: &TestApp, plugin: &str, body: &Value) -> (u16, Value) {
    let r = app
        .admin_post(&format!("/admin/v1/plugins/{plugin}/resolve"), body)
        .await;
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn python_and_js_plugins_give_a_subjects_claims_to_the_wallet_and_fail_typed_when_the_service_is_down()
 {
    let mut service = ClaimsService::start().await;
    let app = issuer(&service, &[]).await;

    for (plugin, configuration) in EXAMPLES {
        // The dry run resolves as the configuration would: its source's url.
        let (status, body) =
            dry_run(&app, plugin, &json!({ "subjectId": "ada@example.com" })).await;
        assert_eq!(status, 200, "{plugin}: {body}");
        assert_eq!(
            body["claims"],
            json!({ "given_name": "Ada", "family_name": "Lovelace",
                    "employee_id": "E-1815", "department": "Analytical Engines" }),
            "{plugin}"
        );
        let (status, body) =
            dry_run(&app, plugin, &json!({ "subjectId": "nobody@example.com" })).await;
        assert_eq!(status, 404, "{plugin}: {body}");
        assert_eq!(
            body["type"], "https://sigil.dev/problems/claims-not-found",
            "{plugin}: {body}"
        );

        // The independent wallet claims a credential whose claims came from
        // the plugin, and verifies it.
        let created = create(
            &app,
            &json!({ "credentialConfigurationIds": [configuration],
                     "runtimeOverrides": { "subjectId": "grace@example.com" } }),
        )
        .await;
        let report = wallet::claim(json!({ "offer": created["credentialOffer"] })).await;
        assert_eq!(report["ok"], true, "{plugin}: {report}");
        let c = &report["credentials"][0];
        assert_eq!(c["cnfMatchesHolderKey"], true, "{plugin}: {report}");
        assert_eq!(c["claims"]["given_name"], "Grace", "{plugin}: {report}");
        assert_eq!(c["claims"]["employee_id"], "E-1906", "{plugin}: {report}");
    }

    // The service is down: a typed error that names what failed.
    service.stop();
    for (plugin, _) in EXAMPLES {
        let (status, body) =
            dry_run(&app, plugin, &json!({ "subjectId": "ada@example.com" })).await;
        assert_eq!(status, 502, "{plugin}: {body}");
        assert_eq!(
            body["type"], "https://sigil.dev/problems/plugin-failed",
            "{plugin}: {body}"
        );
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("did not answer"), "{plugin}: {detail}");
        assert!(detail.contains("http://127.0.0.1:"), "{plugin}: {detail}");
    }
}

/// Hostile Python and JavaScript plugins (tests/fixtures) called through
/// the admin dry run while the wallet claims from the examples: each
/// hostile call fails alone with its typed problem, and every claim
/// succeeds.
#[tokio::test]
async fn hostile_python_and_js_plugins_fail_alone_while_the_wallet_claims_from_the_examples() {
    let service = ClaimsService::start().await;
    let app = issuer(&service, &["hostile-python", "hostile-js"]).await;
    let hostile = [
        ("spin", "plugin-fuel-exhausted", "ran out of fuel"),
        (
            "memory-bomb",
            "plugin-memory-exceeded",
            "exceeded its memory limit of 67108864 bytes",
        ),
        (
            "forbidden-origin",
            "plugin-capability-denied",
            "was denied outbound HTTP to http://127.0.0.1:9",
        ),
    ];
    let app = &app;
    let cases: Vec<_> = ["hostile-python", "hostile-js"]
        .into_iter()
        .flat_map(|plugin| hostile.map(move |case| (plugin, case)))
        .collect();
    let attacks = cases
        .into_iter()
        .map(|(plugin, (behaviour, problem, detail))| async move {
            let body = json!({ "subjectId": "ada@example.com",
                "source": { "behaviour": behaviour, "url": "http://127.0.0.1:9/people" } });
            let (status, answer) = dry_run(app, plugin, &body).await;
            assert_eq!(status, 502, "{plugin} {behaviour}: {answer}");
            assert_eq!(
                answer["type"],
                format!("https://sigil.dev/problems/{problem}"),
                "{plugin} {behaviour}: {answer}"
            );
            let text = answer["detail"].as_str().unwrap();
            assert!(
                text.contains(&format!("plugin '{plugin}'")) && text.contains(detail),
                "{plugin} {behaviour}: {text}"
            );
        });
    let claims = EXAMPLES
        .into_iter()
        .map(|(plugin, configuration)| async move {
            let created = create(
                app,
                &json!({ "credentialConfigurationIds": [configuration],
                         "runtimeOverrides": { "subjectId": "ada@example.com" } }),
            )
            .await;
            let report = wallet::claim(json!({ "offer": created["credentialOffer"] })).await;
            assert_eq!(report["ok"], true, "{plugin}: {report}");
            assert_eq!(
                report["credentials"][0]["claims"]["given_name"], "Ada",
                "{plugin}: {report}"
            );
        });
    let (_, _) = tokio::join!(
        futures::future::join_all(attacks),
        futures::future::join_all(claims)
    );
    // And the hostile plugins still serve a behaving call.
    for plugin in ["hostile-python", "hostile-js"] {
        let (status, answer) =
            dry_run(app, plugin, &json!({ "source": { "behaviour": "behave" } })).await;
        assert_eq!(
            (status, &answer["claims"]),
            (200, &json!({ "given_name": "Ada" })),
            "{plugin}: {answer}"
        );
    }
}
