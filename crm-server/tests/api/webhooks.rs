//! Webhook endpoints over HTTP: who may manage them, what is refused, the secret shown once,
//! the delivery log, and retries of pending deliveries refused.

use crate::helpers::TestApp;
use poem::http::StatusCode;
use serde_json::json;

on_both_stores!(webhook_endpoints_and_their_log,);

const URL: &str = "https://hooks.example.test/in";

async fn webhook_endpoints_and_their_log(app: &TestApp) {
    let body = json!({"url": URL, "events": ["ticket.submitted", "ticket.status_changed"]});
    let r = app.post("/webhooks", &app.worker, body.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    for (bad, field) in [
        (
            json!({"url": "http://127.0.0.1:9/x", "events": ["ticket.submitted"]}),
            Some("url"),
        ),
        (
            json!({"url": "http://10.0.0.7/x", "events": ["ticket.submitted"]}),
            Some("url"),
        ),
        (
            json!({"url": "http://[::1]/x", "events": ["ticket.submitted"]}),
            Some("url"),
        ),
        (
            json!({"url": "ftp://hooks.example.test/", "events": ["ticket.submitted"]}),
            Some("url"),
        ),
        (
            json!({"url": "https://u:p@hooks.example.test/", "events": ["ticket.submitted"]}),
            Some("url"),
        ),
        (json!({"url": URL, "events": ["ticket.viewed"]}), None),
        (json!({"url": URL, "events": []}), None),
        (json!({"url": URL}), None),
        (json!({"url": true, "events": ["ticket.submitted"]}), None),
        (
            json!({"url": URL, "events": ["ticket.submitted"], "secret": "mine"}),
            None,
        ),
    ] {
        let r = app.post("/webhooks", &app.admin, bad.clone()).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
            "{bad}"
        );
        if let Some(f) = field {
            assert_eq!(r.body["fields"][0]["field"], f, "{bad}: {:?}", r.body);
        }
    }
    assert_eq!(
        app.get("/webhooks", &app.admin).await.body["items"],
        json!([])
    );

    let r = app.post("/webhooks", &app.admin, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        r.keys(),
        ["created_at", "enabled", "events", "id", "secret", "url"]
    );
    assert!(r.body["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(
        r.body["events"],
        json!(["ticket.submitted", "ticket.status_changed"])
    );
    let id = r.body["id"].as_i64().unwrap();
    // One endpoint may take every event type there is (an accounting tool wants them all).
    let every: Vec<&str> = crm_core::notify::Topic::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    let r = app
        .post(
            "/webhooks",
            &app.admin,
            json!({"url": URL, "events": every}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["events"].as_array().unwrap().len(), every.len());
    let all = r.body["id"].as_i64().unwrap();
    assert_eq!(
        app.delete_path(&format!("/webhooks/{all}")).await.status,
        StatusCode::NO_CONTENT
    );
    let l = app.get("/webhooks", &app.admin).await;
    assert_eq!(l.status, StatusCode::OK);
    let item = &l.body["items"][0];
    assert_eq!((item["id"].as_i64(), &item["url"]), (Some(id), &json!(URL)));
    assert!(item.get("secret").is_none(), "the secret is shown once");
    assert_eq!(
        app.get("/webhooks", &app.worker).await.status,
        StatusCode::FORBIDDEN
    );

    let ticket = app.submit_id("Webhook me").await;
    let log = app
        .get(&format!("/webhooks/{id}/deliveries"), &app.admin)
        .await;
    assert_eq!(log.status, StatusCode::OK, "{:?}", log.body);
    assert_eq!(log.body["total"], 1);
    let d = &log.body["items"][0];
    assert_eq!(
        (
            &d["event_type"],
            &d["status"],
            &d["ticket_id"],
            &d["attempts"],
            &d["log"]
        ),
        (
            &json!("ticket.submitted"),
            &json!("pending"),
            &json!(ticket),
            &json!(0),
            &json!([])
        )
    );
    assert!(d["next_attempt_at"].is_string());
    let did = d["id"].as_i64().unwrap();
    let r = app
        .post(
            &format!("/webhooks/{id}/deliveries/{did}/retry"),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "delivery_pending")
    );
    let r = app
        .post(
            &format!("/webhooks/{id}/deliveries/{}/retry", did + 100),
            &app.admin,
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app
        .get(&format!("/webhooks/{id}/deliveries?size=0"), &app.admin)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(
        app.delete_path(&format!("/webhooks/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete_path(&format!("/webhooks/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .get(&format!("/webhooks/{id}/deliveries"), &app.admin)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
