//! Stages over HTTP: the settings endpoints with their roles and refusals, a ticket's stage
//! beside its status and on its own, the list filter and the per-stage statistics.

use crate::helpers::TestApp;
use poem::http::StatusCode;
use serde_json::{Value, json};

on_both_stores!(stages_over_http,);

fn stage_id(list: &Value, name: &str) -> i64 {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))["id"]
        .as_i64()
        .unwrap()
}

async fn stages_over_http(app: &TestApp) {
    let r = app.get("/settings/stages", &app.worker).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 6);
    assert_eq!(
        r.body["items"][4],
        json!({"id": r.body["items"][4]["id"], "status": "done", "name": "Ready for pickup",
               "notify_customer": true, "position": 0})
    );
    let diag = stage_id(&r.body, "Diagnosing");
    let ready = stage_id(&r.body, "Ready for pickup");

    let new = json!({"status": "in_progress", "name": "Waiting for courier"});
    let r = app.post("/settings/stages", &app.worker, new.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = app
        .post(
            "/settings/stages",
            &app.admin,
            json!({"status": "in_progress", "name": " "}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["fields"][0]["field"], "name");
    let r = app.post("/settings/stages", &app.admin, new).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        (
            r.body["position"].clone(),
            r.body["notify_customer"].clone()
        ),
        (json!(4), json!(false))
    );
    let courier = r.body["id"].as_i64().unwrap();
    let r = app
        .call(
            "PATCH",
            &format!("/settings/stages/{courier}"),
            Some(&app.admin),
            Some(json!({"name": "Courier booked", "position": 0, "notify_customer": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (r.body["name"].clone(), r.body["position"].clone()),
        (json!("Courier booked"), json!(0))
    );
    let r = app
        .call(
            "PATCH",
            "/settings/stages/99999",
            Some(&app.admin),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));

    let id = app.submit_id("Router").await;
    app.assign(id, app.worker_id().await).await;
    let r = app
        .post(
            &format!("/tickets/{id}/status"),
            &app.worker,
            json!({"new_status": "in_progress", "stage_id": diag}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["stage"], json!({"id": diag, "name": "Diagnosing"}));
    let r = app
        .post(
            &format!("/tickets/{id}/stage"),
            &app.worker,
            json!({"stage_id": ready}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["fields"][0]["field"], "stage_id");
    let r = app
        .post(
            &format!("/tickets/{id}/stage"),
            &app.worker,
            json!({"stage_id": courier}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["stage"]["name"], "Courier booked");

    let r = app
        .get(&format!("/tickets?stage_id={courier}"), &app.admin)
        .await;
    assert_eq!(r.body["total"], 1, "{:?}", r.body);
    let r = app.get("/tickets?stage_id=0", &app.admin).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.get("/tickets/stats", &app.admin).await;
    let line = r.body["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == courier)
        .unwrap()
        .clone();
    assert_eq!(line["tickets"], 1);
    assert_eq!(line["name"], "Courier booked");

    let r = app
        .delete_path(&format!("/settings/stages/{courier}"))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "stage_in_use"));
    let r = app.get(&format!("/tickets/{id}/history"), &app.admin).await;
    let kinds: Vec<(Value, Value, Value)> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["to_stage"] != Value::Null || e["from_stage"] != Value::Null)
        .map(|e| {
            (
                e["kind"].clone(),
                e["from_stage"]["name"].clone(),
                e["to_stage"]["name"].clone(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (json!("status_changed"), Value::Null, json!("Diagnosing")),
            (json!("stage_changed"), Value::Null, json!("Diagnosing")),
            (
                json!("stage_changed"),
                json!("Diagnosing"),
                json!("Courier booked")
            ),
        ]
    );
    let r = app
        .post(
            &format!("/tickets/{id}/stage"),
            &app.worker,
            json!({"stage_id": null}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["stage"].clone()),
        (StatusCode::OK, Value::Null)
    );
    let r = app
        .delete_path(&format!("/settings/stages/{courier}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
}
