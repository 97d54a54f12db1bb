//! The staff ticket workflow, for admins and for workers.

use crate::helpers::TestApp;
use poem::http::StatusCode;
use serde_json::json;

on_both_stores!(admin_ticket_workflow, worker_sees_and_does_only_its_own,);

async fn admin_ticket_workflow(app: &TestApp) {
    let id = app.submit_id("Tablet").await;
    let wid = app.worker_id().await;
    let t = app.get(&format!("/tickets/{id}"), &app.admin).await;
    assert_eq!(t.status, StatusCode::OK);
    assert_eq!(t.body["viewed"], true);
    assert_eq!(t.body["client"]["email"], "john@example.com");
    assert_eq!(t.body["client_id"], t.body["client"]["id"]);
    assert!(t.body["tracking_code"].is_string());

    let r = app.set_status(&app.admin, id, "done").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "invalid_transition")
    );
    assert_eq!(r.body["allowed_next"], json!(["in_progress"]));
    let r = app.set_status(&app.admin, id, "in_progress").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "invalid_transition"),
        "starting an unassigned ticket"
    );
    assert_eq!(r.body["allowed_next"], json!([]));
    assert!(r.body["detail"].as_str().unwrap().contains("Assign"));
    let r = app.set_status(&app.admin, id, "closed").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let r = app.assign(id, 9999).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_worker")
    );
    let r = app.assign(9999, wid).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app.assign(id, wid).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (r.body["worker_id"].as_i64(), r.body["status"].as_str()),
        (Some(wid), Some("new"))
    );
    assert!(r.body["assigned_at"].is_string());

    for s in ["in_progress", "in_progress", "done"] {
        let r = app.set_status(&app.admin, id, s).await;
        assert_eq!(r.status, StatusCode::OK, "{s}: {:?}", r.body);
    }
    let r = app.assign(id, wid).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "ticket_closed")
    );

    let h = app.get(&format!("/tickets/{id}/history"), &app.admin).await;
    let kinds: Vec<&str> = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "submitted",
            "viewed",
            "assigned",
            "status_changed",
            "status_changed"
        ]
    );
    assert_eq!(h.body["items"][4]["to_status"], "done");
    assert_eq!(
        app.get("/tickets/424242/history", &app.admin).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/tickets/424242", &app.admin).await.code(),
        "not_found"
    );

    let s = app
        .get(&format!("/tickets/stats?worker_id={wid}"), &app.admin)
        .await;
    assert_eq!(s.status, StatusCode::OK);
    assert_eq!(
        (s.body["total"].as_u64(), s.body["done"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(s.body["avg_resolution_seconds"].is_number());
    let all = app.get("/tickets/stats", &app.admin).await;
    assert_eq!(
        (all.body["worker_id"].clone(), all.body["total"].as_u64()),
        (serde_json::Value::Null, Some(1))
    );
    assert_eq!(
        app.get("/tickets/stats?worker_id=4242", &app.admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn worker_sees_and_does_only_its_own(app: &TestApp) {
    let wid = app.worker_id().await;
    let mine = app.submit_id("Mine").await;
    let other = app.submit_id("Not mine").await;
    app.assign(mine, wid).await;

    let l = app.get("/tickets/", &app.worker).await;
    assert_eq!(l.body["total"], 1);
    assert_eq!(l.body["items"][0]["id"], mine);
    assert_eq!(
        app.get(&format!("/tickets/?worker_id={wid}"), &app.worker)
            .await
            .body["total"],
        1
    );
    let r = app
        .get(&format!("/tickets/?worker_id={}", wid + 100), &app.worker)
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    for path in [
        format!("/tickets/{other}"),
        format!("/tickets/{other}/history"),
    ] {
        let r = app.get(&path, &app.worker).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    let r = app.set_status(&app.worker, other, "in_progress").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for (m, path, body) in [
        (
            "POST",
            format!("/tickets/{mine}/assign"),
            Some(json!({"worker_id": wid})),
        ),
        ("GET", "/tickets/stats".to_owned(), None),
        ("GET", "/users/".to_owned(), None),
        (
            "POST",
            "/users/".to_owned(),
            Some(json!({"username": "x123", "password": "password1", "role": "admin"})),
        ),
        ("DELETE", "/users/1".to_owned(), None),
    ] {
        let r = app.call(m, &path, Some(&app.worker), body).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{m} {path}"
        );
    }
    let r = app.set_status(&app.worker, mine, "in_progress").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.set_status(&app.worker, mine, "done").await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("done"))
    );
    assert_eq!(
        app.get(&format!("/tickets/{mine}"), &app.admin).await.body["status"],
        "done"
    );
}
