//! Intake at the counter over HTTP: `POST /tickets/` with the device, priority and due date,
//! the fields in the staff and public views, the counter search and the new list filters.

use crate::helpers::{TestApp, assert_401};
use poem::http::StatusCode;
use serde_json::json;

on_both_stores!(
    staff_intake_over_http,
    counter_search_and_filters_over_http,
    receipt_and_label_print_escaped_with_the_tracking_link,
    edits_over_http,
);

fn walk_in(title: &str) -> serde_json::Value {
    json!({
        "title": title,
        "description": "Dropped; touch works in the lower half only",
        "client": {"name": "Anna Kowalska", "email": "anna@example.com", "phone": "+49 171 2345678"},
        "device": {"kind": "phone", "brand": "Fairphone", "model": "5", "serial": "IMEI 3520 9911",
                   "condition": "Cracked back glass", "accessories": "Case"},
        "priority": "urgent",
        "due_at": "2030-05-01T16:00:00Z"
    })
}

async fn staff_intake_over_http(app: &TestApp) {
    let worker = app.worker_id().await;
    let mut body = walk_in("Cracked screen");
    body["worker_id"] = json!(worker);
    let r = app.post("/tickets/", &app.admin, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["worker_id"], worker);
    assert_eq!(r.body["priority"], "urgent");
    assert_eq!(r.body["due_at"], "2030-05-01T16:00:00+00:00");
    assert_eq!(r.body["device"]["serial"], "IMEI 3520 9911");
    assert_eq!(r.body["device"]["kind"], "phone");
    assert!(r.body["tracking_code"].as_str().unwrap().len() == 19);
    let id = r.body["id"].as_i64().unwrap();
    let h = app.get(&format!("/tickets/{id}/history"), &app.admin).await;
    let admin_id = app.get("/auth/me", &app.admin).await.body["id"].clone();
    assert_eq!(h.body["items"][0]["kind"], "submitted");
    assert_eq!(h.body["items"][0]["actor_id"], admin_id);
    assert_eq!(h.body["items"][1]["kind"], "assigned");

    // The public view: kind, brand, model and due date; nothing of the shop's records.
    let code = r.body["tracking_code"].as_str().unwrap();
    let p = app
        .call("GET", &format!("/public/tickets/{code}"), None, None)
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(
        p.body["device"],
        json!({"kind": "phone", "brand": "Fairphone", "model": "5"})
    );
    assert_eq!(p.body["due_at"], "2030-05-01T16:00:00+00:00");
    let text = p.body.to_string();
    for secret in ["IMEI", "Cracked back", "Case", "Anna", "171"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }

    // A worker's intake is its own; naming someone else is 403; a customer cannot set shop
    // fields; no token is 401.
    let own = app
        .post("/tickets", &app.worker, walk_in("Battery swap"))
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{:?}", own.body);
    assert_eq!(own.body["worker_id"], worker);
    let mut other = walk_in("Port");
    other["worker_id"] = json!(worker + 1000);
    let refused = app.post("/tickets", &app.worker, other).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let mut bad_worker = walk_in("Port");
    bad_worker["worker_id"] = json!(worker + 1000);
    let r = app.post("/tickets", &app.admin, bad_worker).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_worker")
    );
    assert_401(
        &app.call("POST", "/tickets", None, Some(walk_in("Anon")))
            .await,
    );
    for field in ["priority", "due_at", "worker_id"] {
        let mut public = json!({
            "title": "Public", "description": "d",
            "client": {"name": "n", "email": "p@example.com"},
        });
        public[field] = walk_in("x")[field].clone();
        if field == "worker_id" {
            public[field] = json!(worker);
        }
        let r = app
            .call("POST", "/public/tickets", None, Some(public))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
    }
    let public = app
        .call(
            "POST",
            "/public/tickets",
            None,
            Some(json!({
                "title": "Public with device", "description": "d",
                "client": {"name": "n", "email": "p@example.com"},
                "device": {"kind": "laptop", "brand": "Lenovo"}
            })),
        )
        .await;
    assert_eq!(public.status, StatusCode::CREATED, "{:?}", public.body);
    let id = public.body["id"].as_i64().unwrap();
    let staff = app.get(&format!("/tickets/{id}"), &app.admin).await;
    assert_eq!(staff.body["device"]["brand"], "Lenovo");
    assert_eq!(staff.body["priority"], "normal");

    // Device limits are field errors with sentences.
    let mut long = walk_in("Long");
    long["device"]["brand"] = json!("b".repeat(65));
    long["device"]["serial"] = json!("IMEI#1");
    let r = app.post("/tickets", &app.admin, long).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = r.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["device.brand", "device.serial"]);
    let mut kind = walk_in("Kind");
    kind["device"]["kind"] = json!("toaster");
    let r = app.post("/tickets", &app.admin, kind).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["detail"].as_str().unwrap().contains("kind"),
        "{:?}",
        r.body
    );
}

async fn counter_search_and_filters_over_http(app: &TestApp) {
    let mut a = walk_in("Screen");
    a["due_at"] = json!("2020-01-01T00:00:00Z");
    let a = app.post("/tickets", &app.admin, a).await.body["id"]
        .as_i64()
        .unwrap();
    let b = app.submit_id("Kettle").await;
    let ids = |r: &crate::helpers::Reply| -> Vec<i64> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    for (q, want) in [
        ("0171%20234", vec![a]),
        ("kowalska", vec![a]),
        ("Anna", vec![a]),
        ("john%40example", vec![b]),
        ("imei%203520%209911", vec![a]),
        (&*format!("%23{b}"), vec![b]),
    ] {
        let r = app.get(&format!("/tickets/?q={q}"), &app.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(ids(&r), want, "q={q}");
    }
    let r = app.get("/tickets/?overdue=true", &app.admin).await;
    assert_eq!(ids(&r), [a]);
    let r = app.get("/tickets/?priority=urgent", &app.admin).await;
    assert_eq!(ids(&r), [a]);
    let r = app.get("/tickets/?serial=imei35209911", &app.admin).await;
    assert_eq!(ids(&r), [a]);
    let r = app.get("/tickets/?sort=due&size=1", &app.admin).await;
    assert_eq!(ids(&r), [a], "dated first");
    let next = r.body["next_cursor"].as_str().unwrap().to_owned();
    let r = app
        .get(
            &format!("/tickets/?sort=due&size=1&cursor={next}"),
            &app.admin,
        )
        .await;
    assert_eq!(ids(&r), [b]);
    assert!(r.body["next_cursor"].is_null());
    let client = app.get(&format!("/tickets/{b}"), &app.admin).await.body["client_id"].clone();
    let r = app
        .get(&format!("/tickets/?client_id={client}"), &app.admin)
        .await;
    assert_eq!(ids(&r), [b]);
    let r = app.get("/tickets/?client_id=0", &app.admin).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.get("/tickets/?priority=soon", &app.admin).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["detail"].as_str().unwrap().contains("priority"),
        "{:?}",
        r.body
    );
}

async fn receipt_and_label_print_escaped_with_the_tracking_link(app: &TestApp) {
    let mut body = walk_in("<script>alert(1)</script> screen");
    body["client"]["name"] = json!("Anna <b>K</b>");
    let r = app.post("/tickets", &app.admin, body).await;
    let id = r.body["id"].as_i64().unwrap();
    let code = r.body["tracking_code"].as_str().unwrap().to_owned();
    let page = app.get(&format!("/tickets/{id}/receipt"), &app.admin).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    let html = page.body.as_str().unwrap();
    assert!(!html.contains("<script>") && html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("Anna &lt;b&gt;K&lt;/b&gt;"));
    for text in [
        "Repair #",
        "IMEI 3520 9911",
        "Cracked back glass",
        "Urgent",
        "Customer signature",
        "<svg",
    ] {
        assert!(html.contains(text), "{text} missing");
    }
    assert!(
        html.contains(&format!("/track/{code}")),
        "the tracking link"
    );
    let label = app.get(&format!("/tickets/{id}/label"), &app.admin).await;
    assert_eq!(label.status, StatusCode::OK);
    let html = label.body.as_str().unwrap();
    assert!(
        html.contains(&format!("#{id}"))
            && html.contains("<svg")
            && html.contains("Anna &lt;b&gt;")
    );
    // Opened by a tab with a single-use ticket: once.
    let ticket = app.post("/events/ticket", &app.admin, json!({})).await.body["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/tickets/{id}/receipt?ticket={ticket}");
    assert_eq!(
        app.call("GET", &path, None, None).await.status,
        StatusCode::OK
    );
    assert_401(&app.call("GET", &path, None, None).await);
    assert_401(
        &app.call("GET", &format!("/tickets/{id}/receipt"), None, None)
            .await,
    );
    // A worker prints only its own tickets; printing marks nothing viewed.
    let r = app
        .get(&format!("/tickets/{id}/receipt"), &app.worker)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let t = app.get(&format!("/tickets/{id}/history"), &app.admin).await;
    assert!(
        t.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["kind"] != "viewed")
    );
    // The printed link leads to the tracking page.
    let r = app.call("GET", &format!("/track/{code}"), None, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], format!("/#/track/{code}").as_str());
    let r = app.call("GET", "/track/%3Cscript%3E", None, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn edits_over_http(app: &TestApp) {
    let worker = app.worker_id().await;
    let mut body = walk_in("Edit me");
    body["worker_id"] = json!(worker);
    let id = app.post("/tickets", &app.admin, body).await.body["id"]
        .as_i64()
        .unwrap();
    let path = format!("/tickets/{id}");
    let r = app
        .call(
            "PATCH",
            &path,
            Some(&app.worker),
            Some(json!({"device": {"serial": "SN 42", "condition": null}, "due_at": null, "priority": "low"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["device"]["serial"], "SN 42");
    assert!(r.body["device"]["condition"].is_null());
    assert_eq!(r.body["device"]["brand"], "Fairphone");
    assert!(r.body["due_at"].is_null());
    assert_eq!(r.body["priority"], "low");
    assert_eq!(r.body["title"], "Edit me");
    let h = app.get(&format!("/tickets/{id}/history"), &app.admin).await;
    let last = h.body["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "edited");
    let fields: Vec<&str> = last["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["device", "priority", "due_at"]);
    assert_eq!(last["changes"][1]["from"], "urgent");
    assert_eq!(last["changes"][1]["to"], "low");
    assert!(
        h.body["items"][0]["changes"].is_null(),
        "other kinds carry none"
    );
    // Refusals: unknown field, a title cleared, an id that is not there, no token.
    let r = app
        .call(
            "PATCH",
            &path,
            Some(&app.admin),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .call(
            "PATCH",
            &path,
            Some(&app.admin),
            Some(json!({"title": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let r = app
        .call(
            "PATCH",
            &path,
            Some(&app.admin),
            Some(json!({"title": "  "})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("title"))
    );
    let r = app
        .call(
            "PATCH",
            "/tickets/99999",
            Some(&app.admin),
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_401(
        &app.call("PATCH", &path, None, Some(json!({"title": "x"})))
            .await,
    );
    // A duplicate by edit.
    let other = app.submit_id("Other one").await;
    let r = app
        .call(
            "PATCH",
            &format!("/tickets/{other}"),
            Some(&app.admin),
            Some(json!({"title": "Edit me", "description": "Dropped; touch works in the lower half only"})),
        )
        .await;
    // Different customer e-mail: not a duplicate; the same customer would be.
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}
