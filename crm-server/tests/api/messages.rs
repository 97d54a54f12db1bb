//! The conversation over HTTP: staff notes and replies, the customer's side under the code,
//! the documented refusals, and `awaiting_reply` on tickets and lists.

use crate::helpers::TestApp;
use poem::http::StatusCode;
use serde_json::json;

on_both_stores!(conversation_over_http,);

async fn conversation_over_http(app: &TestApp) {
    let r = app.submit("Fan noise").await;
    let (id, code) = (
        r.body["id"].as_i64().unwrap(),
        r.body["tracking_code"].as_str().unwrap().to_owned(),
    );
    let path = format!("/tickets/{id}/messages");
    let public = format!("/public/tickets/{code}/messages");
    // Not the worker's ticket yet.
    let r = app
        .post(
            &path,
            &app.worker,
            json!({"body": "x", "visibility": "internal"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    app.assign(id, app.worker_id().await).await;
    let r = app
        .post(
            &path,
            &app.worker,
            json!({"body": "Fan bearing worn; part cost 4 EUR", "visibility": "internal"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["visibility"], "internal");
    assert_eq!(r.body["author"]["kind"], "staff");
    assert_eq!(r.body["author"]["name"], "worker");
    let r = app
        .call(
            "POST",
            &public,
            None,
            Some(json!({"body": "<img src=x onerror=alert(1)> is it loud?"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["author"]["kind"], "customer");
    assert_eq!(r.body["author"]["user_id"], json!(null));

    let t = app.get(&format!("/tickets/{id}"), &app.admin).await;
    assert_eq!(t.body["awaiting_reply"], true);
    let l = app.get("/tickets?awaiting_reply=true", &app.admin).await;
    assert_eq!(
        (l.body["total"].as_u64(), &l.body["items"][0]["id"]),
        (Some(1), &json!(id))
    );

    let staff = app.get(&path, &app.admin).await;
    assert_eq!(staff.body["total"], 2);
    let theirs = app.call("GET", &public, None, None).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_eq!(theirs.body["total"], 1);
    assert!(
        !theirs.body.to_string().contains("bearing"),
        "{:?}",
        theirs.body
    );
    let progress = app
        .call("GET", &format!("/public/tickets/{code}"), None, None)
        .await;
    assert_eq!(progress.body["messages"], 1);

    // Refusals, each a sentence naming the field.
    let r = app
        .post(
            &path,
            &app.admin,
            json!({"body": "  ", "visibility": "everyone"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = r.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["body", "visibility"]);
    let r = app
        .post(&path, &app.admin, json!({"body": "No audience"}))
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the audience is required"
    );
    let r = app
        .call(
            "POST",
            "/public/tickets/AAAA-AAAA-AAAA-AAAA/messages",
            None,
            Some(json!({"body": "Hello"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/tickets/999999/messages", &app.admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A staff reply to the customer ends the wait.
    let r = app
        .post(
            &path,
            &app.admin,
            json!({"body": "It is the fan; fixed tomorrow.", "visibility": "customer"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let t = app.get(&format!("/tickets/{id}"), &app.admin).await;
    assert_eq!(t.body["awaiting_reply"], false);
    let h = app.get(&format!("/tickets/{id}/history"), &app.admin).await;
    let kinds: Vec<(&str, &str)> = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message_added")
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["visibility"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("message_added", "internal"),
            ("message_added", "customer"),
            ("message_added", "customer")
        ]
    );
}
