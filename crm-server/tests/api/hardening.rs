//! Hostile requests: authentication before parsing, paths that name nothing, CORS that never
//! refuses, 405 with `Allow`, and the truthful document.

use crate::helpers::{TestApp, assert_401};
use poem::http::StatusCode;
use serde_json::json;

on_both_stores!(
    authentication_and_role_come_before_parsing,
    bad_paths_and_ids,
    the_document_declares_what_the_service_does,
    malformed_values_get_a_sentence_naming_the_field,
);

/// A value of the wrong kind for what `schema` declares.
fn wrong_for(schema: &serde_json::Value) -> Option<serde_json::Value> {
    if schema.get("enum").is_some() {
        return Some(json!("not-one-of-them"));
    }
    match schema["type"].as_str()? {
        "string" => Some(json!(12345)),
        "integer" => Some(json!(if schema.get("minimum").is_some() {
            json!(-3)
        } else {
            json!("x")
        })),
        "boolean" => Some(json!("maybe")),
        "array" => Some(json!("not a list")),
        "object" => Some(json!(7)),
        _ => None,
    }
}

/// Every operation of the document, every body field and query parameter in turn given a
/// value of the wrong kind: the 422 names that field in `fields` with a sentence, and no
/// parser's text reaches `detail` (a field added later is walked too).
async fn malformed_values_get_a_sentence_naming_the_field(app: &TestApp) {
    let spec = app.call("GET", "/openapi.json", None, None).await.body;
    let schemas = &spec["components"]["schemas"];
    let resolve = |v: &serde_json::Value| -> serde_json::Value {
        match v["$ref"]
            .as_str()
            .or_else(|| v["allOf"][0]["$ref"].as_str())
        {
            Some(r) => schemas[r.trim_start_matches("#/components/schemas/")].clone(),
            None => v.clone(),
        }
    };
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{id}", "1")
            .replace("{delivery_id}", "1")
            .replace("{tracking_code}", "0000-0000-0000-0000");
        for (method, op) in item.as_object().unwrap() {
            let method = method.to_uppercase();
            let mut tries: Vec<(String, Option<serde_json::Value>, String)> = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let schema = resolve(&p["schema"]);
                if p["in"] != "query" || schema["type"] == "string" && schema.get("enum").is_none()
                {
                    continue;
                }
                let name = p["name"].as_str().unwrap().to_owned();
                let bad = match wrong_for(&schema) {
                    Some(serde_json::Value::Number(n)) => n.to_string(),
                    Some(serde_json::Value::String(s)) => s,
                    _ => continue,
                };
                tries.push((
                    format!("{concrete}?{name}={}", bad.replace(' ', "+")),
                    None,
                    name,
                ));
            }
            let body = op
                .pointer("/requestBody/content/application~1json; charset=utf-8/schema")
                .map(&resolve);
            for (name, prop) in body
                .iter()
                .flat_map(|b| b["properties"].as_object())
                .flatten()
            {
                if let Some(bad) = wrong_for(&resolve(prop)) {
                    tries.push((
                        concrete.clone(),
                        Some(json!({ name.clone(): bad })),
                        name.clone(),
                    ));
                }
            }
            for (url, body, name) in tries {
                let body =
                    body.or_else(|| (method != "GET" && method != "DELETE").then(|| json!({})));
                let r = app.call(&method, &url, Some(&app.admin), body).await;
                if r.status == StatusCode::NOT_FOUND || r.status == StatusCode::UNAUTHORIZED {
                    continue; // refused before parsing (an event stream's ticket, say)
                }
                assert_eq!(
                    r.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{method} {url} ({name}): {}",
                    r.body
                );
                let fields = r.body["fields"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{method} {url}: no fields: {}", r.body));
                // Named in `fields`, with a sentence (the core's, or one read off the document).
                assert!(
                    fields.iter().any(|f| f["field"] == *name
                        && f["message"]
                            .as_str()
                            .is_some_and(|m| m.ends_with('.') && m.len() > name.len())),
                    "{method} {url}: {name} is not named: {}",
                    r.body
                );
                let detail = r.body["detail"].as_str().unwrap();
                for parser in [
                    "failed to parse",
                    "Expected input type",
                    "occurred while parsing",
                ] {
                    assert!(!detail.contains(parser), "{method} {url}: {detail}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "only {checked} malformed values tried");
}

async fn authentication_and_role_come_before_parsing(app: &TestApp) {
    // A forged token with a malformed query: 401, not 422.
    assert_401(
        &app.get("/tickets?page=abc&size=x", "forged.token.here")
            .await,
    );
    assert_401(
        &app.call("POST", "/tickets/1/status", None, Some(json!({"nope": 1})))
            .await,
    );
    let r = app
        .cli
        .post("/users/")
        .header("Authorization", "Bearer not-a-jwt")
        .content_type("text/plain")
        .body("garbage")
        .send()
        .await;
    r.assert_status(StatusCode::UNAUTHORIZED);
    // A worker posting nonsense to an admin operation: 403, not 422.
    for (method, path, body) in [
        ("POST", "/users/", Some(json!({}))),
        ("POST", "/tickets/1/assign", Some(json!({"worker_id": "x"}))),
        ("GET", "/tickets/stats?worker_id=abc", None),
        ("GET", "/users?page=0", None),
        ("DELETE", "/users/abc", None),
    ] {
        let r = app.call(method, path, Some(&app.worker), body).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{method} {path}"
        );
    }
}

async fn bad_paths_and_ids(app: &TestApp) {
    for path in [
        "/tickets/abc",
        "/tickets/abc/history",
        "/tickets/0",
        "/tickets/-5",
        "/tickets/99999999999999999999",
    ] {
        let r = app.get(path, &app.admin).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    let r = app.delete_path("/users/abc").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for bad in ["/tickets?worker_id=0", "/tickets/stats?worker_id=-1"] {
        let r = app.get(bad, &app.admin).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
            "{bad}"
        );
        assert_eq!(r.body["fields"][0]["field"], "worker_id");
    }
    let id = app.submit_id("Assign zero").await;
    let r = app.assign(id, 0).await;
    assert_eq!(r.body["fields"][0]["field"], "worker_id");
    // Control characters in a query or a body: a validation error naming the field.
    let r = app.get("/tickets?search=%00", &app.admin).await;
    assert_eq!(
        (r.status, r.body["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("search"))
    );
    let r = app
        .call(
            "POST",
            "/public/tickets",
            None,
            Some(json!({"title": "a\u{0}b", "description": "d", "client": {"name": "n", "email": "a@b.co"}})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("title"))
    );
    // A JSON value that is not a string is refused, not turned into text.
    let r = app
        .call(
            "POST",
            "/public/tickets",
            None,
            Some(json!({"title": false, "description": "d", "client": {"name": "n", "email": "a@b.co"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // 405 names the methods the path takes.
    let r = app
        .call("PUT", "/tickets/1/status", Some(&app.admin), None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    assert_eq!(r.headers.get("allow").unwrap(), "POST");
    let r = app.call("DELETE", "/tickets", Some(&app.admin), None).await;
    assert_eq!(r.headers.get("allow").unwrap(), "GET, POST, HEAD");
}

/// Every text a request may carry has a declared limit (a length, a pattern or a set of
/// values), in every request body and every parameter; a field added without one fails here.
fn every_request_text_is_limited(spec: &serde_json::Value) {
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let resolve = |v: &serde_json::Value| -> serde_json::Value {
        let r = v["$ref"]
            .as_str()
            .or_else(|| v["allOf"][0]["$ref"].as_str());
        match r {
            Some(r) => schemas[r.trim_start_matches("#/components/schemas/")].clone(),
            None => v.clone(),
        }
    };
    let limited = |v: &serde_json::Value| {
        ["maxLength", "pattern", "enum", "format"]
            .iter()
            .any(|k| v.get(k).is_some())
    };
    let mut checked = 0;
    for (name, schema) in schemas.iter().filter(|(n, _)| n.ends_with("Request")) {
        for (field, prop) in schema["properties"].as_object().into_iter().flatten() {
            let prop = resolve(prop);
            let texts = match prop["type"].as_str() {
                Some("string") => vec![prop.clone()],
                Some("array") if resolve(&prop["items"])["type"] == "string" => {
                    vec![resolve(&prop["items"])]
                }
                _ => Vec::new(),
            };
            for t in texts {
                checked += 1;
                assert!(limited(&t), "{name}.{field} has no declared limit: {t}");
            }
        }
    }
    assert!(checked >= 12, "only {checked} request texts found");
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let schema = resolve(&p["schema"]);
                if schema["type"] == "string" {
                    assert!(
                        limited(&schema),
                        "{method} {path} parameter {} has no declared limit",
                        p["name"]
                    );
                }
            }
        }
    }
}

async fn the_document_declares_what_the_service_does(app: &TestApp) {
    let spec = app.call("GET", "/openapi.json", None, None).await.body;
    every_request_text_is_limited(&spec);
    let ticket = &spec["components"]["schemas"]["TicketBody"]["properties"];
    assert_eq!(ticket["worker_id"]["nullable"], true);
    assert_eq!(ticket["done_at"]["nullable"], true);
    assert!(
        ticket["title"].get("nullable").is_none(),
        "required fields are not"
    );
    let event = &spec["components"]["schemas"]["EventBody"]["properties"];
    assert_eq!(event["from_status"]["nullable"], true);
    assert!(
        event["from_status"]["allOf"].is_array(),
        "a nullable $ref is wrapped"
    );
    let submit = &spec["components"]["schemas"]["SubmitRequest"];
    assert_eq!(submit["additionalProperties"], false);
    assert!(submit["properties"]["title"]["pattern"].is_string());
    let login = &spec["paths"]["/auth/login"]["post"]["responses"];
    let headers = login["429"]["headers"].as_object().unwrap();
    assert!(
        headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("retry-after"))
    );
    assert!(login["403"].is_null(), "sign-in never answers 403");
    let me = &spec["paths"]["/auth/me"]["get"]["responses"];
    assert!(me["422"].is_null() && me["401"].is_object());
    let size = spec["paths"]["/tickets"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "size")
        .unwrap()
        .clone();
    assert_eq!(
        (
            size["schema"]["minimum"].as_u64(),
            size["schema"]["maximum"].as_u64()
        ),
        (Some(1), Some(100))
    );
}

/// CORS only adds headers for listed origins; any other origin, the server's own UI
/// included, is served normally, never refused.
#[tokio::test]
async fn cors_adds_headers_for_listed_origins_and_never_refuses() {
    let app = crate::helpers::memory_app_with(|c| {
        c.cors_origins = vec!["https://shop.example".into()];
    })
    .await;
    let listed = app
        .cli
        .get("/tickets")
        .header("Origin", "https://shop.example")
        .header("Authorization", format!("Bearer {}", app.admin))
        .send()
        .await;
    listed.assert_status_is_ok();
    listed.assert_header("access-control-allow-origin", "https://shop.example");
    let own = app
        .cli
        .post("/auth/login")
        .header("Origin", "http://127.0.0.1:8000")
        .body_json(&json!({"username": "admin", "password": "admin123"}))
        .send()
        .await;
    own.assert_status_is_ok();
    assert!(own.0.headers().get("access-control-allow-origin").is_none());
    let preflight = app
        .cli
        .request(poem::http::Method::OPTIONS, "/tickets")
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await;
    preflight.assert_status(StatusCode::NO_CONTENT);
    preflight.assert_header("access-control-allow-origin", "https://shop.example");
    app.finish().await;
}
