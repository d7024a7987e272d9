//! Plugin hot reload (issue #18 item 4, ADR 0022): a plugin's component is
//! swapped while credentials are issued, with no failed request; a broken
//! component is refused while the version before keeps serving; a reload
//! that would leave a configuration without its plugin swaps nothing.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{Value, json};
use sigil_tests::holder::Holder;
use sigil_tests::{ADMIN_TOKEN, Spawn, TestApp};

use crate::offers::{badge_offer, pre_authorized_code};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// Concurrent wallets while a swap happens.
const WALLETS: usize = 16;

/// Credentials issued on the old component before the swap starts, and on
/// the new one after it.
const BEFORE: usize = 100;
const AFTER: usize = 150;

/// The tenant key of `acme` in [`server`].
const ACME_KEY: &str = "acme-admin-key-for-plugin-reload-0123";

/// The example issuer; `plugins` is the `[plugins]` table's extra lines
/// (the generated config ends with that table).
async fn server(plugins: &str) -> TestApp {
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(ACME_KEY.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Spawn::default()
        .toml(plugins)
        .issuer()
        // `issuer()` ends with the `[tenants.acme]` table.
        .toml(&format!("admin_keys = [\"sha256:{digest}\"]"))
        .start()
        .await
}

fn plugin_dir(app: &TestApp, id: &str) -> PathBuf {
    app.dir.path().join("plugins").join(id)
}

fn component(app: &TestApp, id: &str) -> PathBuf {
    std::fs::read_dir(plugin_dir(app, id))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "wasm"))
        .unwrap()
}

/// A new build of a plugin: the same component with a custom section
/// appended (still valid, another sha256), written first, then its
/// manifest with `version`.
fn new_build(app: &TestApp, id: &str, version: &str) {
    let path = component(app, id);
    let mut bytes = std::fs::read(&path).unwrap();
    let name = b"sigil-reload-test";
    let payload = version.as_bytes();
    bytes.push(0);
    bytes.push(u8::try_from(1 + name.len() + payload.len()).unwrap());
    bytes.push(u8::try_from(name.len()).unwrap());
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(payload);
    std::fs::write(&path, bytes).unwrap();
    set_manifest(app, id, version, None);
}

/// Rewrite a plugin's manifest with `version` (and `kind`, when given).
fn set_manifest(app: &TestApp, id: &str, version: &str, kind: Option<&str>) {
    let path = plugin_dir(app, id).join("plugin.toml");
    let text: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("version =") {
                format!("version = \"{version}\"")
            } else if let (Some(kind), true) = (kind, l.starts_with("kind =")) {
                format!("kind = \"{kind}\"")
            } else {
                l.to_owned()
            }
        })
        .collect();
    std::fs::write(path, text.join("\n")).unwrap();
}

/// The entry of plugin `id` in `GET /admin/v1/plugins`, and the load errors.
async fn listed(app: &TestApp, id: &str) -> (Value, Vec<String>) {
    let body: Value = app
        .admin_get("/admin/v1/plugins")
        .await
        .json()
        .await
        .unwrap();
    let plugin = body["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .cloned()
        .unwrap_or(Value::Null);
    let errors = body["loadErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect();
    (plugin, errors)
}

async fn reload(app: &TestApp, key: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/admin/v1/plugins/reload", app.address))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

/// Wallets issuing credentials until told to stop: counted, and every
/// failure kept with what failed.
#[derive(Default)]
struct Load {
    issued: AtomicUsize,
    stop: AtomicBool,
    failures: Mutex<Vec<String>>,
}

impl Load {
    fn issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    async fn until(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.issued() < count {
            assert!(
                Instant::now() < deadline,
                "only {} credentials issued",
                self.issued()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn run(&self, app: &TestApp) {
        join_all((0..WALLETS).map(|_| async {
            let holder = Holder::new();
            while !self.stop.load(Ordering::SeqCst) {
                match issue(app, &holder).await {
                    Ok(()) => {
                        self.issued.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => self.failures.lock().unwrap().push(e),
                }
            }
        }))
        .await;
    }

    fn assert_no_failure(&self) {
        let failures = self.failures.lock().unwrap();
        assert!(
            failures.is_empty(),
            "{} of {} credential flows failed, e.g. {:?}",
            failures.len(),
            failures.len() + self.issued(),
            failures.iter().take(3).collect::<Vec<_>>()
        );
    }
}

/// One pre-authorized flow: offer, token, nonce, credential (which calls
/// the claim provider `claims-inline` and the format plugin `format-sd-jwt-vc`).
async fn issue(app: &TestApp, holder: &Holder) -> Result<(), String> {
    let r = app.admin_post("/admin/v1/offers", &badge_offer()).await;
    if r.status() != 201 {
        return Err(format!("offer: {} {:?}", r.status(), r.text().await));
    }
    let created: Value = r.json().await.map_err(|e| e.to_string())?;
    let code = pre_authorized_code(app, &created).await;
    let r = app
        .post_form(
            "/token",
            &[("grant_type", GRANT), ("pre-authorized_code", &code)],
        )
        .await;
    if r.status() != 200 {
        return Err(format!("token: {} {:?}", r.status(), r.text().await));
    }
    let token: Value = r.json().await.map_err(|e| e.to_string())?;
    let token = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let r = app
        .client
        .post(format!("{}/nonce", app.address))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status() != 200 {
        return Err(format!("nonce: {} {:?}", r.status(), r.text().await));
    }
    let nonce: Value = r.json().await.map_err(|e| e.to_string())?;
    let proof = holder.proof(&app.address, nonce["c_nonce"].as_str().unwrap_or_default());
    let r = app
        .client
        .post(format!("{}/credential", app.address))
        .bearer_auth(&token)
        .json(&json!({
            "credential_configuration_id": "employee_badge_sd_jwt",
            "proofs": { "jwt": [proof] },
        }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let body: Value = r.json().await.map_err(|e| e.to_string())?;
    match body["credentials"][0]["credential"].as_str() {
        Some(c) if status == 200 && c.contains('~') => Ok(()),
        _ => Err(format!("credential: {status} {body}")),
    }
}

/// Run `load` against `app` while `during` runs; stop the load when
/// `during` is done.
async fn under_load<F: std::future::Future<Output = ()>>(app: &TestApp, load: &Load, during: F) {
    let stop = async {
        during.await;
        load.stop.store(true, Ordering::SeqCst);
    };
    tokio::join!(load.run(app), stop);
}

#[tokio::test]
async fn a_component_swapped_by_the_admin_api_under_load_fails_no_request_and_a_broken_one_is_refused()
 {
    let app = server("watch = false").await;
    let (before, _) = listed(&app, "format-sd-jwt-vc").await;
    assert_eq!(before["version"], "0.1.0");
    // The new version's load time must be visibly later.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let load = Load::default();
    under_load(&app, &load, async {
        load.until(BEFORE).await;
        new_build(&app, "format-sd-jwt-vc", "0.1.1");
        let r = reload(&app, ADMIN_TOKEN).await;
        let at_swap = load.issued();
        assert_eq!(r.status(), 200);
        let report: Value = r.json().await.unwrap();
        assert_eq!(
            report["replaced"],
            json!([{
                "id": "format-sd-jwt-vc", "from": "0.1.0", "to": "0.1.1",
                "sha256": report["replaced"][0]["sha256"], "loadedAt": report["replaced"][0]["loadedAt"],
            }]),
            "{report}"
        );
        assert!(
            report["unchanged"]
                .as_array()
                .unwrap()
                .contains(&json!("claims-inline")),
            "{report}"
        );
        load.until(at_swap + AFTER).await;
    })
    .await;
    load.assert_no_failure();
    let (after, errors) = listed(&app, "format-sd-jwt-vc").await;
    assert_eq!(after["version"], "0.1.1");
    assert_ne!(after["sha256"], before["sha256"]);
    assert!(
        after["loadedAt"].as_str().unwrap() > before["loadedAt"].as_str().unwrap(),
        "{before} then {after}"
    );
    assert!(errors.is_empty(), "{errors:?}");

    // A broken component: refused with the file and the problem; 0.1.1
    // keeps serving, and credentials keep being issued meanwhile.
    let load = Load::default();
    under_load(&app, &load, async {
        load.until(20).await;
        std::fs::write(component(&app, "format-sd-jwt-vc"), b"\0asm garbage").unwrap();
        set_manifest(&app, "format-sd-jwt-vc", "0.1.2", None);
        let r = reload(&app, ADMIN_TOKEN).await;
        assert_eq!(r.status(), 422);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["type"], "https://sigil.dev/problems/plugin-refused");
        assert_eq!(
            problem["errors"][0]["field"], "format-sd-jwt-vc",
            "{problem}"
        );
        let message = problem["errors"][0]["message"].as_str().unwrap();
        for part in [
            "format_sd_jwt_vc.wasm",
            "not a valid WebAssembly component",
            "version 0.1.1",
            "keeps serving",
        ] {
            assert!(message.contains(part), "{part}: {message}");
        }
        let at_refusal = load.issued();
        load.until(at_refusal + 50).await;
    })
    .await;
    load.assert_no_failure();
    let (serving, errors) = listed(&app, "format-sd-jwt-vc").await;
    assert_eq!(serving["version"], "0.1.1");
    assert_eq!(serving["loadedAt"], after["loadedAt"]);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("format_sd_jwt_vc.wasm") && e.contains("keeps serving")),
        "{errors:?}"
    );
    // The instance still serves: a refused new version does not make it unready.
    assert_eq!(app.get("/ready").await.status(), 200);

    // A reload that would leave configurations without their claim
    // provider swaps nothing.
    std::fs::remove_dir_all(plugin_dir(&app, "claims-static")).unwrap();
    let r = reload(&app, ADMIN_TOKEN).await;
    assert_eq!(r.status(), 409);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "https://sigil.dev/problems/plugin-reload-refused"
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("claims-static"), "{detail}");
    assert!(detail.contains("keep serving"), "{detail}");
    let (kept, _) = listed(&app, "claims-static").await;
    assert_eq!(kept["version"], "0.1.0");

    // Plugins serve every tenant: a tenant key may not reload them.
    let r = reload(&app, ACME_KEY).await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn the_watcher_swaps_a_changed_component_under_load_and_refuses_a_broken_one() {
    let app = server("watch_interval_ms = 100").await;
    let (before, _) = listed(&app, "claims-inline").await;
    assert_eq!(before["version"], "0.1.0");
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let load = Load::default();
    under_load(&app, &load, async {
        load.until(BEFORE).await;
        new_build(&app, "claims-inline", "0.1.1");
        let seen = wait_for(&app, "claims-inline", |plugin, _| {
            plugin["version"] == "0.1.1"
        })
        .await;
        assert!(
            seen["loadedAt"].as_str().unwrap() > before["loadedAt"].as_str().unwrap(),
            "{before} then {seen}"
        );
        let at_swap = load.issued();
        load.until(at_swap + AFTER).await;
    })
    .await;
    load.assert_no_failure();

    // A manifest whose kind does not match its component: refused, 0.1.1
    // keeps serving.
    let load = Load::default();
    under_load(&app, &load, async {
        load.until(20).await;
        set_manifest(&app, "claims-inline", "0.1.2", Some("credential-format"));
        wait_for(&app, "claims-inline", |_, errors| {
            errors
                .iter()
                .any(|e| e.contains("implements claim-provider") && e.contains("version 0.1.1"))
        })
        .await;
        let at_refusal = load.issued();
        load.until(at_refusal + 50).await;
    })
    .await;
    load.assert_no_failure();
    let (serving, _) = listed(&app, "claims-inline").await;
    assert_eq!(serving["version"], "0.1.1");
}

/// Poll `GET /admin/v1/plugins` until `done` holds for plugin `id` and the
/// load errors; the plugin's entry then.
async fn wait_for(app: &TestApp, id: &str, done: impl Fn(&Value, &[String]) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (plugin, errors) = listed(app, id).await;
        if done(&plugin, &errors) {
            return plugin;
        }
        assert!(
            Instant::now() < deadline,
            "the watcher did not reload: {plugin} {errors:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
