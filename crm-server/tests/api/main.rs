//! In-process API tests: every endpoint, every role and every documented error, on the memory
//! store and on PostgreSQL (one fresh database per test; reads `TEST_DATABASE_URL`).

mod helpers;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use helpers::{SECRET, TestApp, memory_app, pg_app};
use poem::http::StatusCode;
use serde_json::json;

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = super::memory_app().await;
                    super::$name(&app).await;
                    app.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = super::pg_app().await;
                    super::$name(&app).await;
                    app.finish().await;
                }
            )*
        }
    };
}

on_both_stores!(
    login_me_and_every_kind_of_bad_token,
    public_submission_tracking_and_input_errors,
    admin_ticket_workflow,
    worker_sees_and_does_only_its_own,
    user_accounts_and_deletion,
    lists_validate_and_normalise_paths,
    probes_docs_and_unknown_routes,
);

fn assert_401(r: &helpers::Reply) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.body);
    assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer");
    assert!(r.body["detail"].is_string());
}

fn forge(claims: serde_json::Value, alg: jsonwebtoken::Algorithm, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .unwrap()
}

async fn login_me_and_every_kind_of_bad_token(app: &TestApp) {
    let r = app
        .call(
            "POST",
            "/auth/login",
            None,
            Some(json!({"username": "admin", "password": "admin123"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["token_type"], "bearer");
    assert_eq!(r.body["expires_in"], 3600);
    for (u, p) in [("admin", "wrong-password"), ("nobody", "admin123")] {
        let r = app
            .call(
                "POST",
                "/auth/login",
                None,
                Some(json!({"username": u, "password": p})),
            )
            .await;
        assert_401(&r);
        assert_eq!(r.code(), "invalid_credentials");
    }
    let me = app.get("/auth/me", &app.admin).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        (me.body["username"].as_str(), me.body["role"].as_str()),
        (Some("admin"), Some("admin"))
    );
    assert!(me.body.get("password_hash").is_none() && me.body.get("password").is_none());

    let admin_id = me.body["id"].as_i64().unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": admin_id.to_string(), "iat": now, "exp": now + 600});
    let other_key = forge(
        claims.clone(),
        jsonwebtoken::Algorithm::HS256,
        b"another key entirely, 32+ bytes long",
    );
    let hs512 = forge(claims.clone(), jsonwebtoken::Algorithm::HS512, SECRET);
    let expired = forge(
        json!({"sub": admin_id.to_string(), "iat": now - 100, "exp": now - 10}),
        jsonwebtoken::Algorithm::HS256,
        SECRET,
    );
    let no_exp = forge(
        json!({"sub": admin_id.to_string()}),
        jsonwebtoken::Algorithm::HS256,
        SECRET,
    );
    let payload = app.admin.split('.').nth(1).unwrap().to_owned();
    let none = format!("{}.{payload}.", B64.encode(r#"{"alg":"none","typ":"JWT"}"#));
    let good = forge(claims, jsonwebtoken::Algorithm::HS256, SECRET);
    assert_eq!(
        app.get("/auth/me", &good).await.status,
        StatusCode::OK,
        "a correctly signed token works"
    );
    for bad in [
        other_key,
        hs512,
        expired,
        no_exp,
        none,
        "garbage".into(),
        String::new(),
    ] {
        assert_401(&app.get("/auth/me", &bad).await);
        assert_401(&app.get("/tickets", &bad).await);
    }
    assert_401(&app.call("GET", "/auth/me", None, None).await);
    assert_401(&app.call("GET", "/tickets/", None, None).await);
    let basic = app
        .cli
        .get("/auth/me")
        .header("Authorization", "Basic YWRtaW46YWRtaW4xMjM=")
        .send()
        .await;
    basic.assert_status(StatusCode::UNAUTHORIZED);
    basic.assert_header("www-authenticate", "Bearer");
}

async fn public_submission_tracking_and_input_errors(app: &TestApp) {
    let r = app.submit("Broken laptop screen").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let keys: Vec<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
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

async fn admin_ticket_workflow(app: &TestApp) {
    let id = app.submit("Tablet").await.body["id"].as_i64().unwrap();
    let wid = app.worker_id().await;
    let t = app.get(&format!("/tickets/{id}"), &app.admin).await;
    assert_eq!(t.status, StatusCode::OK);
    assert_eq!(t.body["viewed"], true);
    assert_eq!(t.body["client"]["email"], "john@example.com");
    assert_eq!(t.body["client_id"], t.body["client"]["id"]);
    assert!(t.body["tracking_code"].is_string());

    let r = app
        .post(
            &format!("/tickets/{id}/status"),
            &app.admin,
            json!({"new_status": "done"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "invalid_transition")
    );
    assert_eq!(r.body["allowed_next"], json!(["in_progress"]));
    let r = app
        .post(
            &format!("/tickets/{id}/status"),
            &app.admin,
            json!({"new_status": "in_progress"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_error")
    );
    let r = app
        .post(
            &format!("/tickets/{id}/status"),
            &app.admin,
            json!({"new_status": "closed"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let r = app
        .post(
            &format!("/tickets/{id}/assign"),
            &app.admin,
            json!({"worker_id": 9999}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_worker")
    );
    let r = app
        .post(
            "/tickets/9999/assign",
            &app.admin,
            json!({"worker_id": wid}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app
        .post(
            &format!("/tickets/{id}/assign"),
            &app.admin,
            json!({"worker_id": wid}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (r.body["worker_id"].as_i64(), r.body["status"].as_str()),
        (Some(wid), Some("new"))
    );
    assert!(r.body["assigned_at"].is_string());

    for s in ["in_progress", "in_progress", "done"] {
        let r = app
            .post(
                &format!("/tickets/{id}/status"),
                &app.admin,
                json!({"new_status": s}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{s}: {:?}", r.body);
    }
    let r = app
        .post(
            &format!("/tickets/{id}/assign"),
            &app.admin,
            json!({"worker_id": wid}),
        )
        .await;
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
    let mine = app.submit("Mine").await.body["id"].as_i64().unwrap();
    let other = app.submit("Not mine").await.body["id"].as_i64().unwrap();
    app.post(
        &format!("/tickets/{mine}/assign"),
        &app.admin,
        json!({"worker_id": wid}),
    )
    .await;

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
    let r = app
        .post(
            &format!("/tickets/{other}/status"),
            &app.worker,
            json!({"new_status": "in_progress"}),
        )
        .await;
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
    let r = app
        .post(
            &format!("/tickets/{mine}/status"),
            &app.worker,
            json!({"new_status": "in_progress"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .post(
            &format!("/tickets/{mine}/status"),
            &app.worker,
            json!({"new_status": "done"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("done"))
    );
    assert_eq!(
        app.get(&format!("/tickets/{mine}"), &app.admin).await.body["status"],
        "done"
    );
}

async fn user_accounts_and_deletion(app: &TestApp) {
    let r = app
        .post(
            "/users/",
            &app.admin,
            json!({"username": "worker1", "password": "worker123", "role": "worker"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let keys: Vec<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["created_at", "id", "role", "username"]);
    let w1 = r.body["id"].as_i64().unwrap();
    let r = app
        .post(
            "/users",
            &app.admin,
            json!({"username": "WORKER1", "password": "worker123", "role": "worker"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "username_taken")
    );
    let r = app
        .post(
            "/users",
            &app.admin,
            json!({"username": "x", "password": "short", "role": "worker"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["fields"].as_array().unwrap().len(), 2);
    let r = app
        .post(
            "/users",
            &app.admin,
            json!({"username": "okname", "password": "password1", "role": "root"}),
        )
        .await;
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
    let t = app.submit("Released").await.body["id"].as_i64().unwrap();
    app.post(
        &format!("/tickets/{t}/assign"),
        &app.admin,
        json!({"worker_id": w1}),
    )
    .await;
    let r = app
        .call("DELETE", &format!("/users/{w1}"), Some(&app.admin), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.body, serde_json::Value::Null);
    assert_401(&app.get("/auth/me", &w1_token).await);
    let tk = app.get(&format!("/tickets/{t}"), &app.admin).await;
    assert_eq!(
        (tk.body["status"].as_str(), tk.body["worker_id"].clone()),
        (Some("new"), serde_json::Value::Null)
    );
    let r = app
        .call("DELETE", &format!("/users/{w1}"), Some(&app.admin), None)
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let me = app.get("/auth/me", &app.admin).await.body["id"]
        .as_i64()
        .unwrap();
    let r = app
        .call("DELETE", &format!("/users/{me}"), Some(&app.admin), None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "cannot_delete_self")
    );
    let r = app
        .post(
            "/users",
            &app.admin,
            json!({"username": "worker1", "password": "worker123", "role": "worker"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "the name is free again");
}

async fn lists_validate_and_normalise_paths(app: &TestApp) {
    for i in 0..3 {
        app.submit(&format!("Kettle {i}")).await;
    }
    app.submit("Toaster").await;
    for path in [
        "/tickets",
        "/tickets/",
        "/tickets/?page=1&size=10",
        "/tickets?search=KETTLE&status=new",
    ] {
        let r = app.get(path, &app.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
    }
    let r = app
        .get("/tickets/?search=kettle&size=2&page=2", &app.admin)
        .await;
    assert_eq!(
        (
            r.body["total"].as_u64(),
            r.body["pages"].as_u64(),
            r.body["items"].as_array().unwrap().len()
        ),
        (Some(3), Some(2), 1)
    );
    assert_eq!(r.body["items"][0]["title"], "Kettle 0", "newest first");
    for bad in [
        "/tickets?page=0",
        "/tickets?size=101",
        "/tickets?page=abc",
        "/tickets?status=open",
        "/tickets?worker_id=x",
    ] {
        let r = app.get(bad, &app.admin).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_error"),
            "{bad}"
        );
    }
    let long = "s".repeat(201);
    assert_eq!(
        app.get(&format!("/tickets?search={long}"), &app.admin)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let r = app.get("/tickets?page=99", &app.admin).await;
    assert_eq!(
        (
            r.body["items"].as_array().unwrap().len(),
            r.body["total"].as_u64()
        ),
        (0, Some(4))
    );
}

async fn probes_docs_and_unknown_routes(app: &TestApp) {
    assert_eq!(
        app.call("GET", "/healthz", None, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.call("GET", "/readyz", None, None).await.body["status"],
        "ok"
    );
    let r = app.call("GET", "/no/such/path", None, None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app
        .call("PUT", "/tickets/1/status", Some(&app.admin), None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let spec = app.call("GET", "/openapi.json", None, None).await;
    assert_eq!(spec.status, StatusCode::OK);
    assert_eq!(
        spec.body["components"]["securitySchemes"]["BearerAuth"]["scheme"],
        "bearer"
    );
    for p in [
        "/auth/login",
        "/tickets",
        "/tickets/{id}/assign",
        "/users/{id}",
        "/public/tickets/{tracking_code}",
    ] {
        assert!(spec.body["paths"][p].is_object(), "{p}");
    }
    let submit = &spec.body["paths"]["/public/tickets"]["post"];
    assert!(submit["responses"]["409"].is_object() && submit["responses"]["422"].is_object());
    let docs = app.cli.get("/docs").send().await;
    docs.assert_status_is_ok();
    // The UI: same origin, no inline script allowed.
    for path in ["/", "/ui/app.js", "/ui/app.css"] {
        let r = app.cli.get(path).send().await;
        r.assert_status_is_ok();
        let csp =
            r.0.headers()
                .get("content-security-policy")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        r.assert_header("x-content-type-options", "nosniff");
    }
    let page = app.cli.get("/").send().await;
    page.assert_content_type("text/html; charset=utf-8");
    let html = page.0.into_body().into_string().await.unwrap();
    assert!(html.contains(r#"<script src="/ui/app.js" defer></script>"#));
    assert!(!html.contains("<script>"), "no inline script");
}

/// Failures only a broken store produces: 503 when it is unreachable, 500 with a generic
/// sentence (never the cause) for anything else, and `/readyz` reporting it.
#[tokio::test]
async fn store_failures_become_503_and_500_without_leaking_the_cause() {
    use crm_core::{Crm, PasswordCost, StoreError, store::MockStore};
    use poem::EndpointExt;
    let mut store = MockStore::new();
    store.expect_ping().returning(|| {
        Err(StoreError::Unavailable(
            "cannot reach PostgreSQL at db:5432: timed out".into(),
        ))
    });
    store.expect_create_ticket().times(1).returning(|_| {
        Err(StoreError::Unavailable(
            "cannot reach PostgreSQL at db:5432: timed out".into(),
        ))
    });
    store.expect_create_ticket().times(1).returning(|_| {
        Err(StoreError::Backend(
            "disk full on /var/lib/postgresql".into(),
        ))
    });
    let crm = Crm::new(store).with_password_cost(PasswordCost::Fast);
    let ep = crm_server::app(crm_server::state(crm, &helpers::config()), &[]).map_to_response();
    let cli = poem::test::TestClient::new(ep);
    let ready = cli.get("/readyz").send().await;
    ready.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    let body =
        json!({"title": "t", "description": "d", "client": {"name": "n", "email": "a@b.co"}});
    let r = cli.post("/public/tickets").body_json(&body).send().await;
    r.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    r.assert_json(
        json!({"detail": "The service is temporarily unavailable.", "code": "unavailable"}),
    )
    .await;
    let r = cli.post("/public/tickets").body_json(&body).send().await;
    r.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    r.assert_json(json!({"detail": "Internal error.", "code": "internal_error"}))
        .await;
}
