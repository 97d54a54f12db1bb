//! Automatic assignment over HTTP: the settings, availability, and who may change them.

use crate::helpers::TestApp;
use poem::http::StatusCode;
use serde_json::json;

on_both_stores!(settings_and_availability,);

async fn settings_and_availability(app: &TestApp) {
    let r = app.get("/settings/assignment", &app.admin).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"mode": "off", "max_open_per_worker": null}));
    for (body, field) in [
        (
            json!({"mode": "least_open", "max_open_per_worker": 0}),
            Some("max_open_per_worker"),
        ),
        (
            json!({"mode": "sometimes", "max_open_per_worker": null}),
            None,
        ),
        (json!({"mode": "least_open", "extra": 1}), None),
    ] {
        let r = app
            .call("PUT", "/settings/assignment", Some(&app.admin), Some(body))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_error")
        );
        if let Some(f) = field {
            assert_eq!(r.body["fields"][0]["field"], f);
        }
    }
    for (m, path) in [
        ("GET", "/settings/assignment"),
        ("PUT", "/settings/assignment"),
    ] {
        let r = app
            .call(
                m,
                path,
                Some(&app.worker),
                Some(json!({"mode": "off", "max_open_per_worker": null})),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{m}"
        );
    }
    // A ticket waits; switching automatic assignment on assigns it at once.
    let id = app.submit_id("Waiting for a worker").await;
    let r = app
        .call(
            "PUT",
            "/settings/assignment",
            Some(&app.admin),
            Some(json!({"mode": "least_open", "max_open_per_worker": 5})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["mode"], "least_open");
    let wid = app.worker_id().await;
    let t = app.get(&format!("/tickets/{id}"), &app.admin).await;
    assert_eq!(t.body["worker_id"], wid);
    let h = app.get(&format!("/tickets/{id}/history"), &app.admin).await;
    let assigned = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "assigned")
        .unwrap()
        .clone();
    assert_eq!(assigned["actor_id"], serde_json::Value::Null, "automatic");

    // Availability: a worker sets its own, not another's; an admin sets anyone's.
    let me = app.get("/auth/me", &app.worker).await;
    assert_eq!(me.body["available"], true);
    let r = app
        .call(
            "PUT",
            &format!("/users/{wid}/availability"),
            Some(&app.worker),
            Some(json!({"available": false})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["available"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    let admin_id = app.get("/auth/me", &app.admin).await.body["id"]
        .as_i64()
        .unwrap();
    let r = app
        .call(
            "PUT",
            &format!("/users/{admin_id}/availability"),
            Some(&app.worker),
            Some(json!({"available": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            "PUT",
            "/users/4242/availability",
            Some(&app.admin),
            Some(json!({"available": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Unavailable: a new ticket waits; available again: it is assigned.
    let later = app.submit_id("While away").await;
    assert_eq!(
        app.get(&format!("/tickets/{later}"), &app.admin).await.body["worker_id"],
        serde_json::Value::Null
    );
    let r = app
        .call(
            "PUT",
            &format!("/users/{wid}/availability"),
            Some(&app.admin),
            Some(json!({"available": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        app.get(&format!("/tickets/{later}"), &app.admin).await.body["worker_id"],
        wid
    );
}
