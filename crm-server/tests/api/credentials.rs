//! API keys, two-factor sign-in and the CSV export over HTTP, on both stores; the
//! `REQUIRE_TOTP_FOR_ADMINS` policy on the memory store (it is the server's, not the store's).

use crate::helpers::{TestApp, memory_app_with};
use chrono::{TimeDelta, Utc};
use crm_core::credential::code_at;
use poem::http::StatusCode;
use serde_json::{Value, json};

on_both_stores!(
    api_keys_act_as_their_account,
    a_read_key_is_refused_on_every_change,
    two_factor_sign_in_over_http,
    export_is_csv_with_the_list_filters,
);

async fn make_key(app: &TestApp, user: i64, scope: &str) -> (i64, String) {
    let r = app
        .post(
            &format!("/users/{user}/api-keys"),
            &app.admin,
            json!({"name": format!("{scope} key"), "scope": scope}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    (
        r.body["id"].as_i64().unwrap(),
        r.body["key"].as_str().unwrap().to_owned(),
    )
}

async fn admin_id(app: &TestApp) -> i64 {
    app.get("/auth/me", &app.admin).await.body["id"]
        .as_i64()
        .unwrap()
}

async fn api_keys_act_as_their_account(app: &TestApp) {
    let worker = app.worker_id().await;
    let body = json!({"name": "Accounting", "scope": "write"});
    let r = app
        .post(
            &format!("/users/{worker}/api-keys"),
            &app.worker,
            body.clone(),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = app
        .post(
            &format!("/users/{worker}/api-keys"),
            &app.admin,
            json!({"name": "Old", "scope": "read", "expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["fields"][0]["field"], "expires_at");
    let r = app
        .post("/users/99999/api-keys", &app.admin, body.clone())
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));

    let expires = (Utc::now() + TimeDelta::days(30)).to_rfc3339();
    let r = app
        .post(
            &format!("/users/{worker}/api-keys"),
            &app.admin,
            json!({"name": "Accounting", "scope": "write", "expires_at": expires}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        r.keys(),
        [
            "created_at",
            "expires_at",
            "id",
            "key",
            "last_used_at",
            "name",
            "scope",
            "user_id"
        ]
    );
    let key = r.body["key"].as_str().unwrap().to_owned();
    let kid = r.body["id"].as_i64().unwrap();
    assert!(key.starts_with("crm_") && key.len() == 44, "{key}");

    // It acts as the worker: its own list, its own account.
    let me = app.get("/auth/me", &key).await;
    assert_eq!(me.body["id"], worker, "{:?}", me.body);
    let id = app.submit_id("Laptop").await;
    assert_eq!(app.assign(id, worker).await.status, StatusCode::OK);
    assert_eq!(
        app.set_status(&key, id, "in_progress").await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/users", &key).await.status,
        StatusCode::FORBIDDEN,
        "a worker's key is a worker"
    );
    // What only a person's sign-in does.
    for path in ["/auth/logout", "/events/ticket"] {
        let r = app.post(path, &key, json!({})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {:?}", r.body);
    }

    let listed = app
        .get(&format!("/users/{worker}/api-keys"), &app.admin)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    let item = &listed.body["items"][0];
    assert_eq!(item["name"], "Accounting");
    assert!(item.get("key").is_none(), "{item}");
    assert!(item["last_used_at"].is_string(), "{item}");
    assert!(!listed.body.to_string().contains(&key[4..]));
    assert_eq!(
        app.get(&format!("/users/{worker}/api-keys"), &app.worker)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Revoked: refused from the next request on.
    let r = app
        .delete_path(&format!("/users/{worker}/api-keys/{kid}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = app.get("/auth/me", &key).await;
    crate::helpers::assert_401(&r);
    assert_eq!(r.code(), "not_authenticated");
    assert_eq!(
        app.delete_path(&format!("/users/{worker}/api-keys/{kid}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let kinds: Vec<Value> = app
        .get(&format!("/users/{worker}/history"), &app.admin)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert!(kinds.contains(&json!("api_key_created")), "{kinds:?}");
    assert!(kinds.contains(&json!("api_key_revoked")), "{kinds:?}");

    // A deleted account's keys stop with it.
    let r = app.create_user("temp", "temp-pass-123", "worker").await;
    let temp = r.body["id"].as_i64().unwrap();
    let (_, temp_key) = make_key(app, temp, "write").await;
    assert_eq!(app.get("/auth/me", &temp_key).await.status, StatusCode::OK);
    assert_eq!(app.delete_user(temp).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/auth/me", &temp_key).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// Every operation of the document that is not a read, walked from `/openapi.json` so a new
/// endpoint cannot forget the scope: an admin's read key gets 403 on each, before its path,
/// query or body is looked at; and no read is refused for the scope.
async fn a_read_key_is_refused_on_every_change(app: &TestApp) {
    let (_, read) = make_key(app, admin_id(app).await, "read").await;
    let doc = app.call("GET", "/openapi.json", None, None).await.body;
    let mut changes = 0;
    let mut reads = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if !secured {
                continue;
            }
            let concrete = path
                .split('/')
                .map(|s| if s.starts_with('{') { "1" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let m = method.to_uppercase();
            // A stream that is let in stays open: reads of streams are the live tests'.
            let stream = op
                .pointer("/responses/200/content/text~1event-stream")
                .is_some();
            if m == "GET" && stream {
                continue;
            }
            let body = (m != "GET" && m != "DELETE").then(|| json!({}));
            let r = app.call(&m, &concrete, Some(&read), body).await;
            if m == "GET" {
                reads += 1;
                assert_ne!(r.status, StatusCode::FORBIDDEN, "{m} {path}: {:?}", r.body);
            } else {
                changes += 1;
                assert_eq!(
                    (r.status, r.code()),
                    (StatusCode::FORBIDDEN, "forbidden"),
                    "{m} {path}: {:?}",
                    r.body
                );
            }
        }
    }
    assert!(
        changes > 30 && reads > 15,
        "{changes} changes, {reads} reads"
    );
    // The same with a write key goes through to the operation.
    let (_, write) = make_key(app, admin_id(app).await, "write").await;
    let id = app.submit_id("Phone").await;
    let r = app
        .post(
            &format!("/tickets/{id}/assign"),
            &write,
            json!({"worker_id": app.worker_id().await}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

async fn login_with(
    app: &TestApp,
    user: &str,
    password: &str,
    code: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({"username": user, "password": password});
    if let Some(c) = code {
        body["totp_code"] = json!(c);
    }
    let r = app.call("POST", "/auth/login", None, Some(body)).await;
    (r.status, r.body)
}

async fn two_factor_sign_in_over_http(app: &TestApp) {
    let r = app.post("/auth/totp/setup", &app.worker, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    assert!(
        r.body["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert!(r.body["qr_svg"].as_str().unwrap().starts_with("<svg"));
    let r = app
        .post("/auth/totp/enable", &app.worker, json!({"code": "000000x"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["fields"][0]["field"], "code");
    let now = code_at(&secret, Utc::now()).unwrap();
    let r = app
        .post("/auth/totp/enable", &app.worker, json!({"code": now}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let recovery: Vec<String> = r.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    assert_eq!(
        app.get("/auth/me", &app.worker).await.body["totp_enabled"],
        true
    );
    let r = app.post("/auth/totp/setup", &app.worker, json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "totp_enabled"));

    let (status, body) = login_with(app, "worker", "worker123", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("totp_required"))
    );
    let (status, body) = login_with(app, "worker", "worker123", Some(&now)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("totp_invalid")),
        "the code that turned it on was used"
    );
    // The phone a step ahead: accepted once.
    let ahead = code_at(&secret, Utc::now() + TimeDelta::seconds(30)).unwrap();
    let (status, body) = login_with(app, "worker", "worker123", Some(&ahead)).await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    let (status, _) = login_with(app, "worker", "worker123", Some(&ahead)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = login_with(app, "worker", "worker123", Some(&recovery[0])).await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    let token = body["access_token"].as_str().unwrap().to_owned();

    let r = app
        .post(
            "/auth/totp/disable",
            &token,
            json!({"password": "nope-nope"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["fields"][0]["field"], "password");

    // The admin's reset, recorded; not for oneself.
    let worker = app.worker_id().await;
    let admin = admin_id(app).await;
    let r = app.delete_path(&format!("/users/{admin}/totp")).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "cannot_reset_self")
    );
    let r = app
        .call(
            "DELETE",
            &format!("/users/{admin}/totp"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.delete_path(&format!("/users/{worker}/totp")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let (status, _) = login_with(app, "worker", "worker123", None).await;
    assert_eq!(status, StatusCode::OK);
    let history = app
        .get(&format!("/users/{worker}/history"), &app.admin)
        .await
        .body;
    let kinds: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.ends_with(&["totp_enabled", "totp_reset"]),
        "{kinds:?}"
    );
    assert_eq!(
        history["items"].as_array().unwrap().last().unwrap()["actor_id"],
        admin
    );

    // Turning it off oneself needs the password.
    let r = app.post("/auth/totp/setup", &token, json!({})).await;
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    let code = code_at(&secret, Utc::now()).unwrap();
    assert_eq!(
        app.post("/auth/totp/enable", &token, json!({"code": code}))
            .await
            .status,
        StatusCode::OK
    );
    let r = app
        .post(
            "/auth/totp/disable",
            &token,
            json!({"password": "worker123"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(
        app.get("/auth/me", &token).await.body["totp_enabled"],
        false
    );
}

/// With `REQUIRE_TOTP_FOR_ADMINS`, an admin without a second factor can read who it is and
/// set one up, nothing else; workers are not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_without_a_second_factor_may_only_set_it_up() {
    let app = memory_app_with(|c| c.require_totp_for_admins = true).await;
    let r = app.get("/tickets", &app.admin).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "totp_setup_required"),
        "{:?}",
        r.body
    );
    assert!(r.body["detail"].as_str().unwrap().contains("two factors"));
    assert_eq!(app.get("/auth/me", &app.admin).await.status, StatusCode::OK);
    assert_eq!(
        app.get("/tickets", &app.worker).await.status,
        StatusCode::OK
    );
    let r = app.post("/auth/totp/setup", &app.admin, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let code = code_at(r.body["secret"].as_str().unwrap(), Utc::now()).unwrap();
    let r = app
        .post("/auth/totp/enable", &app.admin, json!({"code": code}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(app.get("/tickets", &app.admin).await.status, StatusCode::OK);
    app.finish().await;
}

async fn export_is_csv_with_the_list_filters(app: &TestApp) {
    let r = app
        .call(
            "POST",
            "/public/tickets",
            None,
            Some(json!({
                "title": "Formula",
                "description": "A name a spreadsheet would run",
                "client": {"name": "=HYPERLINK(\"http://evil.example\",\"x\")",
                           "email": "eve@example.com", "phone": "+44 20 7946 0000"}
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let evil = r.body["id"].as_i64().unwrap();
    let other = app.submit_id("Tablet, \"cracked\"\nand wet").await;
    assert_eq!(
        app.assign(other, app.worker_id().await).await.status,
        StatusCode::OK
    );

    let r = app.get("/tickets/export.csv", &app.worker).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.get("/tickets/export.csv", &app.admin).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    let disposition = r.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"tickets-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let text = r.body.as_str().unwrap().to_owned();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, crm_server::export::COLUMNS);
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (first, second) = (&records[0], &records[1]);
    assert_eq!(first[col("id")], other.to_string(), "newest first");
    assert_eq!(&first[col("title")], "Tablet, \"cracked\"\nand wet");
    assert_eq!(&first[col("worker")], "worker");
    assert_eq!(&first[col("status")], "new");
    assert_eq!(second[col("id")], evil.to_string());
    assert_eq!(
        &second[col("customer_name")],
        "'=HYPERLINK(\"http://evil.example\",\"x\")"
    );
    assert_eq!(&second[col("customer_phone")], "'+44 20 7946 0000");
    assert_eq!(&second[col("worker")], "");

    let r = app
        .get(
            &format!("/tickets/export.csv?worker_id={}", app.worker_id().await),
            &app.admin,
        )
        .await;
    assert_eq!(
        r.body.as_str().unwrap().lines().count(),
        1 + 2,
        "a header and one row over two lines"
    );
    let r = app.get("/tickets/export.csv?stage_id=0", &app.admin).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    // An admin's read key exports.
    let (_, read) = make_key(app, admin_id(app).await, "read").await;
    assert_eq!(
        app.get("/tickets/export.csv", &read).await.status,
        StatusCode::OK
    );
}
