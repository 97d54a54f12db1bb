//! Staff accounts: creation, listing, deletion.

use crate::helpers::TestApp;
use crate::helpers::assert_401;
use poem::http::StatusCode;

on_both_stores!(user_accounts_and_deletion,);

async fn user_accounts_and_deletion(app: &TestApp) {
    let r = app.create_user("worker1", "worker123", "worker").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let keys = r.keys();
    assert_eq!(
        keys,
        [
            "available",
            "created_at",
            "id",
            "must_change_password",
            "role",
            "totp_enabled",
            "username"
        ]
    );
    assert_eq!(r.body["must_change_password"], false);
    let w1 = r.body["id"].as_i64().unwrap();
    let r = app.create_user("WORKER1", "worker123", "worker").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "username_taken")
    );
    let r = app.create_user("x", "short", "worker").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["fields"].as_array().unwrap().len(), 2);
    let r = app.create_user("okname", "password1", "root").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let l = app
        .get("/users/?role=worker&search=ORKER1", &app.admin)
        .await;
    assert_eq!(
        (l.body["total"].as_u64(), l.body["items"][0]["id"].as_i64()),
        (Some(1), Some(w1))
    );
    assert_eq!(
        app.get("/users?size=1&page=2", &app.admin).await.body["pages"],
        3
    );

    // Its open ticket goes back to the queue, its token stops working at once.
    let w1_token = app.login("worker1", "worker123").await;
    let t = app.submit_id("Released").await;
    app.assign(t, w1).await;
    let r = app.delete_user(w1).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.body, serde_json::Value::Null);
    assert_401(&app.get("/auth/me", &w1_token).await);
    let tk = app.get(&format!("/tickets/{t}"), &app.admin).await;
    assert_eq!(
        (tk.body["status"].as_str(), tk.body["worker_id"].clone()),
        (Some("new"), serde_json::Value::Null)
    );
    let r = app.delete_user(w1).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let me = app.get("/auth/me", &app.admin).await.body["id"]
        .as_i64()
        .unwrap();
    let r = app.delete_user(me).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "cannot_delete_self")
    );
    let r = app.create_user("worker1", "worker123", "worker").await;
    assert_eq!(r.status, StatusCode::CREATED, "the name is free again");
}
