//! The customer endpoints: submission, tracking, and every input error.

use crate::helpers::TestApp;
use poem::http::StatusCode;
use serde_json::json;

on_both_stores!(public_submission_tracking_and_input_errors,);

async fn public_submission_tracking_and_input_errors(app: &TestApp) {
    let r = app.submit("Broken laptop screen").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let keys = r.keys();
    assert_eq!(
        keys,
        [
            "created_at",
            "description",
            "id",
            "status",
            "title",
            "tracking_code"
        ]
    );
    assert_eq!(r.body["status"], "new");
    let code = r.body["tracking_code"].as_str().unwrap().to_owned();

    let dup = app.submit("Broken laptop screen").await;
    assert_eq!(
        (dup.status, dup.code()),
        (StatusCode::CONFLICT, "duplicate_ticket")
    );

    let p = app
        .call("GET", &format!("/public/tickets/{code}"), None, None)
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(
        (p.body["status"].as_str(), p.body["assigned"].as_bool()),
        (Some("new"), Some(false))
    );
    assert!(p.body.get("client").is_none() && p.body.get("requester_ip").is_none());
    let missing = app
        .call("GET", "/public/tickets/AAAAAAAAAAAAAAAAAAAAAA", None, None)
        .await;
    assert_eq!(
        (missing.status, missing.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );

    let bad = app
        .call("POST", "/public/tickets", None, Some(json!({"title": " ", "description": "x", "client": {"name": "n", "email": "nope", "phone": "12"}})))
        .await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_error")
    );
    let fields: Vec<&str> = bad.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["title", "client.email", "client.phone"]);
    for body in [
        json!({"title": "t", "description": "d", "client": {"name": "n", "email": "a@b.co"}, "extra": 1}),
        json!({"title": "t", "description": "d", "client": {"name": "n", "email": "a@b.co", "admin": true}}),
        json!({"title": "t", "description": "d"}),
        json!({"title": ["t"], "description": "d", "client": {"name": "n", "email": "a@b.co"}}),
        json!({"title": "t", "description": "d", "client": "n"}),
    ] {
        let r = app.call("POST", "/public/tickets", None, Some(body)).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
            "{:?}",
            r.body
        );
    }
    let r = app
        .raw("/public/tickets", "application/json", b"{not json".to_vec())
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_error")
    );
    let r = app
        .raw("/public/tickets", "text/plain", b"hello".to_vec())
        .await;
    assert_eq!(r.code(), "validation_error");
    let big = format!(
        r#"{{"title":"t","description":"{}","client":{{"name":"n","email":"a@b.co"}}}}"#,
        "x".repeat(70_000)
    );
    let r = app
        .raw("/public/tickets", "application/json", big.into_bytes())
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    // Nothing of the refused requests was stored.
    let list = app.get("/tickets", &app.admin).await;
    assert_eq!(list.body["total"], 1);
}
