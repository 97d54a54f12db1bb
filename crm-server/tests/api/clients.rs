//! Customers over HTTP: the list and its search, one customer, corrections and history.

use crate::helpers::TestApp;
use poem::http::StatusCode;
use serde_json::json;

on_both_stores!(customers_over_http,);

async fn customers_over_http(app: &TestApp) {
    let id = app.submit_id("Kettle").await;
    let client = app.get(&format!("/tickets/{id}"), &app.admin).await.body["client_id"]
        .as_i64()
        .unwrap();
    let r = app.get("/clients/?search=0999%20888", &app.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["total"], 0);
    let r = app.get("/clients/?search=234%20567", &app.admin).await;
    assert_eq!(r.body["items"][0]["id"], client, "phone digits");
    assert_eq!(r.body["items"][0]["ticket_count"], 1);
    assert_eq!(r.body["items"][0]["open_ticket_count"], 1);
    let r = app.get("/clients", &app.worker).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let path = format!("/clients/{client}");
    let r = app.get(&path, &app.worker).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "not a customer of the worker's tickets"
    );
    let r = app
        .call(
            "PATCH",
            &path,
            Some(&app.admin),
            Some(json!({"name": "John Q. Doe", "phone": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (r.body["name"].as_str(), r.body["phone"].is_null()),
        (Some("John Q. Doe"), true)
    );
    let other = app
        .call(
            "POST",
            "/public/tickets",
            None,
            Some(json!({"title": "Other", "description": "d", "client": {"name": "Eve", "email": "eve@example.com"}})),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED);
    let r = app
        .call(
            "PATCH",
            &path,
            Some(&app.admin),
            Some(json!({"email": "EVE@example.com"})),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "email_taken"));
    let r = app
        .call(
            "PATCH",
            &path,
            Some(&app.admin),
            Some(json!({"email": "nope"})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("email"))
    );
    let r = app
        .call(
            "PATCH",
            &path,
            Some(&app.worker),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let h = app
        .get(&format!("/clients/{client}/history"), &app.admin)
        .await;
    assert_eq!(h.status, StatusCode::OK);
    let kinds: Vec<&str> = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "edited"]);
    assert_eq!(h.body["items"][1]["changes"][0]["field"], "name");
    assert_eq!(h.body["items"][1]["changes"][0]["from"], "John Doe");
    let r = app.get("/clients/99999/history", &app.admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Tickets show the corrected customer.
    let t = app.get(&format!("/tickets/{id}"), &app.admin).await;
    assert_eq!(t.body["client"]["name"], "John Q. Doe");
}
