//! Hostile requests: authentication before parsing, paths that name nothing, CORS that never
//! refuses, 405 with `Allow`, and the truthful document.

use crate::helpers::{TestApp, assert_401};
use poem::http::StatusCode;
use serde_json::json;

on_both_stores!(
    authentication_and_role_come_before_parsing,
    bad_paths_and_ids,
    the_document_declares_what_the_service_does,
);

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
    assert_eq!(r.headers.get("allow").unwrap(), "GET, HEAD");
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
