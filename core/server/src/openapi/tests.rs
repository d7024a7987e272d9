//! The document cannot drift: it is the committed one, every `$ref`
//! resolves, every admin route is in it and every operation in it is
//! routed, and its examples fit its schemas and are read by the handlers'
//! types.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::{BTreeMap, BTreeSet};

use actix_web::test as web_test;
use actix_web::{App, web};
use serde_json::{Map, Value, json};

use super::*;

/// The committed copy, next to the workspace.
fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

/// The document as JSON.
fn doc() -> Value {
    serde_json::from_str(document_json()).unwrap()
}

#[test]
fn openapi_the_committed_document_is_the_generated_one() {
    let path = committed_path();
    if std::env::var_os("SIGIL_WRITE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&path, document_json()).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == document_json(),
        "docs/openapi.json differs from the document the admin handlers generate \
         (an annotation, a request or answer type, or a problem type changed). Regenerate it with \
         `SIGIL_WRITE_OPENAPI=1 cargo test -p sigil --lib openapi` and commit it."
    );
}

#[test]
fn openapi_is_3_1_and_every_ref_resolves() {
    let d = doc();
    assert_eq!(d["openapi"], "3.1.0");
    assert_eq!(d["info"]["title"], "Sigil admin API");
    assert_eq!(d["info"]["version"], env!("CARGO_PKG_VERSION"));
    let mut refs = Vec::new();
    collect_refs(&d, &mut refs);
    assert!(refs.len() > 50, "only {} $refs", refs.len());
    for r in refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("$ref {r} is not local"));
        assert!(d.pointer(pointer).is_some(), "$ref {r} does not resolve");
    }
    // Every operation id is unique, every operation has a tag and a summary.
    let mut ids = BTreeSet::new();
    for (path, method, op) in operations(&d) {
        let id = op["operationId"].as_str().unwrap();
        assert!(ids.insert(id.to_owned()), "operationId {id} twice");
        assert!(op["tags"][0].is_string(), "{method} {path} has no tag");
        assert!(op["summary"].is_string(), "{method} {path} has no summary");
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Every operation: path, method (upper case), operation object.
fn operations(d: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in d["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                out.push((path.clone(), method.to_uppercase(), op.clone()));
            }
        }
    }
    out
}

/// A path pattern with each parameter as `{}` (actix's `{id}` and
/// `{action:revoke|...}`, OpenAPI's `{offerId}`).
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push_str("{}");
                }
                depth += 1;
            }
            '}' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn openapi_every_admin_route_is_documented_and_every_documented_operation_is_a_route() {
    let routed: BTreeSet<(String, String)> = crate::routes::admin::made::routes()
        .into_iter()
        .flat_map(|(path, allow)| {
            allow
                .split(", ")
                .map(move |m| (shape(&path), m.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(routed.len() > 30, "{routed:?}");
    let documented: BTreeSet<(String, String)> = operations(&doc())
        .into_iter()
        .filter(|(path, _, _)| path.starts_with("/admin/v1/"))
        .map(|(path, method, _)| (shape(&path), method))
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "admin routes missing from the OpenAPI document (annotate the handler with #[utoipa::path] and list it in openapi.rs): {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "operations in the OpenAPI document that no admin route serves: {unrouted:?}"
    );
}

/// A concrete path for a documented pattern.
fn concrete(path: &str) -> String {
    path.replace("{action}", "revoke")
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "x"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every documented operation reaches its handler: without a token the
/// admin extractor answers 401 (an unknown route would be the admin 404,
/// a wrong method 405); the document itself answers 200 without one.
#[actix_web::test]
async fn openapi_every_documented_operation_is_served() {
    let app = web_test::init_service(
        App::new()
            .configure(crate::routes::configure)
            .default_service(web::to(crate::routes::admin::fallback)),
    )
    .await;
    let d = doc();
    for (path, method, op) in operations(&d) {
        let open = op["security"] == json!([{}]);
        let req = web_test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri(&concrete(&path))
            .to_request();
        let res = web_test::call_service(&app, req).await;
        let status = res.status().as_u16();
        let body: Value =
            serde_json::from_slice(&web_test::read_body(res).await).unwrap_or_default();
        if open {
            assert_eq!(status, 200, "{method} {path}: {body}");
        } else {
            assert_eq!(
                (status, body["type"].as_str()),
                (401, Some("https://sigil.dev/problems/unauthorized")),
                "{method} {path} does not reach an authenticated handler: {body}"
            );
        }
    }
}

#[actix_web::test]
async fn openapi_the_document_and_swagger_ui_are_served_without_a_token() {
    let app = web_test::init_service(
        App::new()
            .configure(crate::routes::configure)
            .default_service(web::to(crate::routes::admin::fallback)),
    )
    .await;
    let get = |uri: &str| web_test::TestRequest::get().uri(uri).to_request();
    let res = web_test::call_service(&app, get("/admin/openapi.json")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(web_test::read_body(res).await, document_json().as_bytes());

    let res = web_test::call_service(&app, get("/admin/docs")).await;
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers().get("location").unwrap(), "docs/");
    let res = web_test::call_service(&app, get("/admin/docs/")).await;
    assert_eq!(res.status(), 200);
    let page = String::from_utf8(web_test::read_body(res).await.to_vec()).unwrap();
    assert!(page.contains("swagger-ui-bundle.js"), "{page}");
    let res = web_test::call_service(&app, get("/admin/docs/swagger-initializer.js")).await;
    assert_eq!(res.status(), 200);
    let init = String::from_utf8(web_test::read_body(res).await.to_vec()).unwrap();
    assert!(init.contains("\"../openapi.json\""), "{init}");
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    assert!(!init.contains("petstore"), "{init}");

    let res = web_test::call_service(&app, get("/admin/docs/nothing.js")).await;
    assert_eq!(res.status(), 404);
    let res = web_test::call_service(
        &app,
        web_test::TestRequest::post()
            .uri("/admin/openapi.json")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers().get("allow").unwrap(), "GET");
}

#[test]
fn openapi_every_problem_type_is_listed_with_its_status() {
    let d = doc();
    let listed: Vec<&str> = d["components"]["schemas"]["ProblemType"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let all: Vec<String> = ProblemType::ALL.iter().map(|t| t.uri()).collect();
    assert_eq!(listed, all);
    let table = d["components"]["schemas"]["ProblemType"]["description"]
        .as_str()
        .unwrap();
    let mut slugs = BTreeSet::new();
    for t in ProblemType::ALL {
        assert!(slugs.insert(t.slug()), "slug {} twice", t.slug());
        let row = format!(
            "| `{}` | {} | {} |",
            t.slug(),
            t.status().as_u16(),
            t.title()
        );
        assert!(table.contains(&row), "{row} missing");
        assert!(t.status().is_client_error() || t.status().is_server_error());
    }
    assert_eq!(
        d["components"]["schemas"]["Problem"]["properties"]["type"]["$ref"],
        "#/components/schemas/ProblemType"
    );
    // Every problem answer is problem+json with the Problem schema.
    for (path, method, op) in operations(&d) {
        for (status, response) in op["responses"].as_object().unwrap() {
            let response = resolve(&d, response);
            if status.starts_with('4') || status.starts_with('5') {
                let content = response["content"].as_object().unwrap();
                assert_eq!(
                    content.keys().collect::<Vec<_>>(),
                    ["application/problem+json"],
                    "{method} {path} {status}"
                );
                assert_eq!(
                    content["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
        }
        if op["security"] != json!([{}]) {
            assert!(
                op["responses"]["401"].is_object(),
                "{method} {path} has no 401"
            );
        }
    }
}

/// `v`, or what its `$ref` names.
fn resolve<'a>(d: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => d.pointer(&r[1..]).unwrap(),
        None => v,
    }
}

/// Why `value` does not fit `schema` (a check of what the document's
/// schemas use: `$ref`, `type` (with `null`), `enum`, `properties`,
/// `required`, `items`, `additionalProperties`, `oneOf`, `minimum`,
/// `maximum`); unknown members of an object are errors.
fn misfit(d: &Value, schema: &Value, value: &Value, at: &str) -> Option<String> {
    let schema = resolve(d, schema);
    if let Some(options) = schema["oneOf"].as_array() {
        let fits = options
            .iter()
            .filter(|s| misfit(d, s, value, at).is_none())
            .count();
        return (fits != 1).then(|| format!("{at}: {fits} of oneOf fit {value}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let typed = types.contains(&kind) || (kind == "integer" && types.contains(&"number"));
    if !types.is_empty() && !typed {
        return Some(format!("{at}: {value} is not {types:?}"));
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(value)
    {
        return Some(format!("{at}: {value} is not one of {values:?}"));
    }
    if let (Some(n), Some(min)) = (value.as_f64(), schema["minimum"].as_f64())
        && n < min
    {
        return Some(format!("{at}: {n} < {min}"));
    }
    if let (Some(n), Some(max)) = (value.as_f64(), schema["maximum"].as_f64())
        && n > max
    {
        return Some(format!("{at}: {n} > {max}"));
    }
    match value {
        Value::Array(items) if schema["items"].is_object() => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| misfit(d, &schema["items"], v, &format!("{at}[{i}]"))),
        Value::Object(members) => {
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap();
                if !members.contains_key(name) {
                    return Some(format!("{at}: required member {name} missing"));
                }
            }
            let properties = schema["properties"].as_object();
            let extra = &schema["additionalProperties"];
            for (name, v) in members {
                let at = format!("{at}.{name}");
                let found = match properties.and_then(|p| p.get(name)) {
                    Some(s) => misfit(d, s, v, &at),
                    None if extra.is_object() => misfit(d, extra, v, &at),
                    None if properties.is_some() || extra == &json!(false) => {
                        Some(format!("{at}: not a member of the schema"))
                    }
                    None => None,
                };
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        _ => None,
    }
}

/// Every example in the document, with the schema it illustrates and
/// where it is.
fn examples(d: &Value) -> Vec<(Value, Value, String)> {
    let mut out = Vec::new();
    for (name, schema) in d["components"]["schemas"].as_object().unwrap() {
        for example in schema["examples"].as_array().into_iter().flatten() {
            out.push((schema.clone(), example.clone(), format!("schema {name}")));
        }
    }
    let mut media = |content: &Value, at: String| {
        for (media_type, m) in content.as_object().into_iter().flatten() {
            if let Some(example) = m.get("example") {
                out.push((
                    m["schema"].clone(),
                    example.clone(),
                    format!("{at} {media_type}"),
                ));
            }
        }
    };
    for (name, response) in d["components"]["responses"].as_object().unwrap() {
        media(&response["content"], format!("response {name}"));
    }
    for (path, method, op) in operations(d) {
        media(
            &op["requestBody"]["content"],
            format!("{method} {path} body"),
        );
        for (status, response) in op["responses"].as_object().unwrap() {
            media(&response["content"], format!("{method} {path} {status}"));
        }
    }
    out
}

#[test]
fn openapi_every_example_fits_its_schema() {
    let d = doc();
    let all = examples(&d);
    assert!(all.len() >= 15, "only {} examples", all.len());
    for (schema, example, at) in all {
        if let Some(why) = misfit(&d, &schema, &example, "$") {
            panic!("the example of {at} does not fit its schema: {why}");
        }
    }
    // The checker itself finds a misfit.
    let problem = &d["components"]["schemas"]["Problem"];
    assert!(misfit(&d, problem, &json!({"type": "x"}), "$").is_some());
    assert!(misfit(&d, problem, &json!({"type": ProblemType::Conflict.uri(), "title": "t", "status": 409, "detail": "d", "extra": 1}), "$").is_some());
}

/// The example of schema `name`.
fn example_of(d: &Value, name: &str) -> Value {
    d["components"]["schemas"][name]["examples"][0].clone()
}

#[test]
fn openapi_request_examples_are_read_by_the_handlers_types() {
    use crate::routes::admin::body::read;
    let d = doc();
    let bytes = |name: &str| serde_json::to_vec(&example_of(&d, name)).unwrap();
    read::<crate::routes::admin::offers::CreateOffer>(&bytes("CreateOffer")).unwrap();
    read::<crate::routes::admin::offers::send::SendOffer>(&bytes("SendOffer")).unwrap();
    read::<crate::routes::admin::deferred::CompleteBody>(&bytes("CompleteBody")).unwrap();
    read::<crate::routes::admin::deferred::DenyBody>(&bytes("DenyBody")).unwrap();
    read::<crate::routes::admin::plugins::ResolveBody>(&bytes("ResolveBody")).unwrap();
    // Every request body of the document is one of these.
    let bodies: BTreeSet<String> = operations(&d)
        .iter()
        .filter_map(|(_, _, op)| {
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .map(|r| r.rsplit('/').next().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        bodies,
        [
            "CompleteBody",
            "CreateOffer",
            "DenyBody",
            "ResolveBody",
            "SendOffer"
        ]
        .map(String::from)
        .into()
    );
}

/// A value of each property of schema `name`, by its type.
fn every_member(d: &Value, name: &str) -> Map<String, Value> {
    let schema = &d["components"]["schemas"][name];
    schema["properties"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, s)| {
            let types = s["type"].to_string();
            let v = if types.contains("integer") {
                json!(6)
            } else if types.contains("boolean") {
                json!(true)
            } else if types.contains("array") {
                json!([])
            } else if types.contains("string") {
                json!("text")
            } else {
                json!({})
            };
            (k.clone(), v)
        })
        .collect()
}

#[test]
fn openapi_schemas_of_json_read_or_built_elsewhere_match_it() {
    let d = doc();
    // txCode is read by the issuer's TxCodeRequest (unknown members refused).
    let tx = Value::Object(every_member(&d, "TxCodeInput"));
    assert_eq!(tx.as_object().unwrap().len(), 4);
    serde_json::from_value::<sigil_issuer::model::TxCodeRequest>(tx).unwrap();
    // runtimeOverrides: the members the validation knows.
    let overrides: BTreeSet<String> = every_member(&d, "RuntimeOverridesInput")
        .keys()
        .cloned()
        .collect();
    let known: BTreeSet<String> = crate::routes::admin::offers::validate::OVERRIDES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(overrides, known);
    // The event envelope: the members EventRecord::envelope builds.
    let record = sigil_issuer::model::EventRecord {
        id: 7,
        tenant: "default".into(),
        offer_id: "o".into(),
        kind: sigil_issuer::model::EventKind::OfferCreated,
        detail: json!({}),
        created_at: 0,
    };
    let envelope = record.envelope();
    let built: BTreeSet<&String> = envelope.as_object().unwrap().keys().collect();
    let documented = every_member(&d, "EventEnvelope");
    assert_eq!(built, documented.keys().collect());
    assert!(
        misfit(
            &d,
            &d["components"]["schemas"]["EventEnvelope"],
            &envelope,
            "$"
        )
        .is_none()
    );
    // The `{action}` of the credential routes: every status action.
    let actions: Vec<&str> = sigil_issuer::status_list::StatusAction::ALL
        .iter()
        .map(|a| a.as_str())
        .collect();
    for (path, method, op) in operations(&d) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["name"] == "action" {
                assert_eq!(p["schema"]["enum"], json!(actions), "{method} {path}");
            }
        }
    }
}

/// The query parameters documented for `path` (GET).
pub(crate) fn query_parameters(path: &str) -> Vec<(String, String)> {
    let d = doc();
    d["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| {
            let types = p["schema"]["type"].to_string();
            let sample = if types.contains("integer") { "1" } else { "x" };
            (p["name"].as_str().unwrap().to_owned(), sample.to_owned())
        })
        .collect()
}

#[test]
fn openapi_common_responses_are_added_once() {
    let d = doc();
    let responses: BTreeMap<&String, &Value> = d["components"]["responses"]
        .as_object()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(responses.len(), COMMON_RESPONSES.len());
    let create = &d["paths"]["/admin/v1/offers"]["post"]["responses"];
    // The operation's own 400 stays; 413 and 415 are the common ones.
    assert!(create["400"]["description"].is_string());
    assert_eq!(create["413"]["$ref"], "#/components/responses/TooLarge");
    assert_eq!(
        create["415"]["$ref"],
        "#/components/responses/UnsupportedMediaType"
    );
    let keys = &d["paths"]["/admin/v1/keys"]["get"]["responses"];
    assert!(keys["413"].is_null());
    assert_eq!(keys["401"]["$ref"], "#/components/responses/Unauthorized");
}
