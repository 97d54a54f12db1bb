//! Accounts: changing one's password, an admin's reset, signing out, the audit trail.

use crate::helpers::{TestApp, assert_401};
use poem::http::StatusCode;
use serde_json::json;

on_both_stores!(
    changing_a_password_ends_older_tokens,
    an_admin_resets_a_password_and_its_owner_must_change_it,
    signing_out_ends_the_presented_token,
    the_account_history_shows_every_change,
);

async fn changing_a_password_ends_older_tokens(app: &TestApp) {
    let me = app.get("/auth/me", &app.admin).await;
    assert_eq!(
        me.body["must_change_password"], true,
        "a documented default"
    );
    let other_session = app.login("admin", "admin123").await;
    for (body, field) in [
        (
            json!({"current_password": "nope-nope", "new_password": "a-new-passphrase"}),
            "current_password",
        ),
        (
            json!({"current_password": "admin123", "new_password": "admin123"}),
            "new_password",
        ),
        (
            json!({"current_password": "admin123", "new_password": "ADMIN"}),
            "new_password",
        ),
    ] {
        let r = app.post("/auth/password", &app.admin, body).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_error")
        );
        assert_eq!(r.body["fields"][0]["field"], field);
    }
    assert_401(
        &app.call(
            "POST",
            "/auth/password",
            None,
            Some(json!({"current_password": "admin123", "new_password": "a-new-passphrase"})),
        )
        .await,
    );
    let r = app
        .post(
            "/auth/password",
            &app.admin,
            json!({"current_password": "admin123", "new_password": "a-new-passphrase"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let fresh = r.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(r.body["token_type"], "bearer");
    // Every token issued before is refused at once; the fresh one works.
    assert_401(&app.get("/auth/me", &app.admin).await);
    assert_401(&app.get("/tickets", &other_session).await);
    let me = app.get("/auth/me", &fresh).await;
    assert_eq!(
        (me.status, me.body["must_change_password"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    assert_eq!(
        app.try_login("admin", "admin123").await.status,
        StatusCode::UNAUTHORIZED
    );
    app.login("admin", "a-new-passphrase").await;
}

async fn an_admin_resets_a_password_and_its_owner_must_change_it(app: &TestApp) {
    let wid = app.worker_id().await;
    for (path, body, token, status, code) in [
        (
            format!("/users/{wid}/password"),
            json!({"new_password": "x"}),
            &app.admin,
            422,
            "validation_error",
        ),
        (
            "/users/4242/password".to_owned(),
            json!({"new_password": "temporary-1"}),
            &app.admin,
            404,
            "not_found",
        ),
        (
            format!("/users/{wid}/password"),
            json!({"new_password": "temporary-1"}),
            &app.worker,
            403,
            "forbidden",
        ),
    ] {
        let r = app.post(&path, token, body).await;
        assert_eq!((r.status.as_u16(), r.code()), (status, code), "{path}");
    }
    let admin_id = app.get("/auth/me", &app.admin).await.body["id"]
        .as_i64()
        .unwrap();
    let r = app
        .post(
            &format!("/users/{admin_id}/password"),
            &app.admin,
            json!({"new_password": "temporary-1"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "cannot_reset_self")
    );
    let r = app
        .post(
            &format!("/users/{wid}/password"),
            &app.admin,
            json!({"new_password": "temporary-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_401(&app.get("/auth/me", &app.worker).await);
    let t = app.login("worker", "temporary-1").await;
    assert_eq!(
        app.get("/auth/me", &t).await.body["must_change_password"],
        true
    );
    // The API does not block other calls meanwhile.
    assert_eq!(app.get("/tickets", &t).await.status, StatusCode::OK);
    let r = app
        .post(
            "/auth/password",
            &t,
            json!({"current_password": "temporary-1", "new_password": "my-own-secret"}),
        )
        .await;
    let t = r.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/auth/me", &t).await.body["must_change_password"],
        false
    );
}

async fn signing_out_ends_the_presented_token(app: &TestApp) {
    let second = app.login("worker", "worker123").await;
    let r = app
        .call("POST", "/auth/logout", Some(&app.worker), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_401(&app.get("/auth/me", &app.worker).await);
    assert_401(
        &app.call("POST", "/auth/logout", Some(&app.worker), None)
            .await,
    );
    assert_eq!(app.get("/auth/me", &second).await.status, StatusCode::OK);
}

async fn the_account_history_shows_every_change(app: &TestApp) {
    let created = app.create_user("audited", "password123", "worker").await;
    let id = created.body["id"].as_i64().unwrap();
    app.post(
        &format!("/users/{id}/password"),
        &app.admin,
        json!({"new_password": "temporary-9"}),
    )
    .await;
    app.delete_user(id).await;
    let admin_id = app.get("/auth/me", &app.admin).await.body["id"]
        .as_i64()
        .unwrap();
    let h = app.get(&format!("/users/{id}/history"), &app.admin).await;
    assert_eq!(h.status, StatusCode::OK, "{:?}", h.body);
    let kinds: Vec<(&str, Option<i64>)> = h.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["actor_id"].as_i64()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("created", Some(admin_id)),
            ("password_reset", Some(admin_id)),
            ("deleted", Some(admin_id))
        ]
    );
    let seeded = app
        .get(&format!("/users/{admin_id}/history"), &app.admin)
        .await;
    assert_eq!(seeded.body["items"][0]["actor_id"], serde_json::Value::Null);
    assert_eq!(
        app.get("/users/4242/history", &app.admin).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/users/{id}/history"), &app.worker)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}
