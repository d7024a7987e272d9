//! The OpenAPI document and Swagger UI of a running server: the document
//! served is the committed `docs/openapi.json`, every operation in it is
//! routed, and the UI page loads only its own assets, served by the binary.

use reqwest::StatusCode;
use serde_json::Value;
use sigil_tests::{Spawn, root};

#[tokio::test]
async fn the_served_document_is_the_committed_one() {
    let app = Spawn::default().start().await;
    // No token: the document describes, it reveals no data.
    let r = app.get("/admin/openapi.json").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let served = r.text().await.unwrap();
    let committed = std::fs::read_to_string(root().join("docs/openapi.json")).unwrap();
    assert!(
        served == committed,
        "GET /admin/openapi.json differs from docs/openapi.json; regenerate it with \
         `SIGIL_WRITE_OPENAPI=1 cargo test -p sigil --lib openapi` and commit it"
    );
    let doc: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
}

/// Every documented operation reaches an authenticated handler of the
/// running server: 401 without a token (never the admin 404 or a 405),
/// and answers with the token (never the 404 "no admin API resource").
#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = Spawn::default().start().await;
    let doc: Value = app.get("/admin/openapi.json").await.json().await.unwrap();
    let mut count = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let url = format!("{}{}", app.address, concrete(path));
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let open = op["security"] == serde_json::json!([{}]);
            let r = app
                .client
                .request(method.clone(), &url)
                .send()
                .await
                .unwrap();
            if open {
                assert_eq!(r.status(), 200, "{method} {path}");
                continue;
            }
            assert_eq!(r.status(), 401, "{method} {path}");
            assert_eq!(r.headers()["www-authenticate"], "Bearer", "{method} {path}");
            // With the token, the handler answers (a stream is not read).
            let mut req = app
                .client
                .request(method.clone(), &url)
                .bearer_auth(sigil_tests::ADMIN_TOKEN);
            if op["requestBody"].is_object() {
                req = req.json(&serde_json::json!({}));
            }
            let r = req.send().await.unwrap();
            assert_ne!(
                r.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            if r.status() == 404 {
                let p: Value = r.json().await.unwrap();
                let detail = p["detail"].as_str().unwrap();
                assert!(
                    !detail.starts_with("no admin API resource"),
                    "{method} {path}: {detail}"
                );
            }
            count += 1;
        }
    }
    assert!(count > 30, "only {count} operations");
}

/// The path of a documented pattern with every parameter filled in.
fn concrete(path: &str) -> String {
    path.replace("{action}", "revoke")
        .split('/')
        .map(|s| if s.starts_with('{') { "x" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = Spawn::default().start().await;
    // /admin/docs redirects to /admin/docs/, which reqwest follows.
    let r = app.get("/admin/docs").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.url().path(), "/admin/docs/");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        r.headers()
    );
    let page = r.text().await.unwrap();
    assert!(page.contains("<div id=\"swagger-ui\">"), "{page}");
    let assets = references(&page);
    assert!(assets.len() >= 5, "{assets:?}");
    for asset in &assets {
        // Only the page's own files: no URL of another host, no CDN.
        assert!(
            !asset.contains("//") && !asset.contains(':'),
            "the page loads {asset} from elsewhere"
        );
        let r = app
            .get(&format!("/admin/docs/{}", asset.trim_start_matches("./")))
            .await;
        assert_eq!(r.status(), 200, "{asset}");
        let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
        let expected = match asset.rsplit('.').next().unwrap() {
            "css" => "text/css",
            "js" => "javascript",
            "png" => "image/png",
            other => panic!("unexpected asset type {other}"),
        };
        assert!(content_type.contains(expected), "{asset}: {content_type}");
        assert!(!r.bytes().await.unwrap().is_empty(), "{asset}");
    }
    // The configuration points at the document next to the page and at no
    // online validator.
    let init = app
        .get("/admin/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("\"url\": \"../openapi.json\""), "{init}");
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    assert!(!init.contains("http"), "{init}");
}

/// Every `href="…"` and `src="…"` of an HTML page.
fn references(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attribute in ["href=\"", "src=\""] {
        for (i, _) in page.match_indices(attribute) {
            let rest = &page[i + attribute.len()..];
            out.push(rest[..rest.find('"').unwrap()].to_owned());
        }
    }
    out
}
