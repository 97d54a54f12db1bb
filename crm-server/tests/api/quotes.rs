//! Quotes over HTTP: the staff endpoints with their refusals, the customer's view (without
//! the staff's parts), the decision once, and the list filter.

use crate::helpers::TestApp;
use poem::http::StatusCode;
use serde_json::{Value, json};

on_both_stores!(quotes_over_http,);

async fn quotes_over_http(app: &TestApp) {
    let r = app.submit("Quoted tablet").await;
    let (id, code) = (
        r.body["id"].as_i64().unwrap(),
        r.body["tracking_code"].as_str().unwrap().to_owned(),
    );
    let path = format!("/tickets/{id}/quotes");
    let body = json!({
        "lines": [
            {"kind": "part", "description": "Display", "quantity": 1, "unit_price": 8999},
            {"kind": "labour", "description": "Fitting", "quantity": 2, "unit_price": 1250}
        ],
        "tax_rate": 1900, "valid_days": 10, "note": "Warranty 6 months."
    });
    // Not the worker's ticket yet.
    let r = app.post(&path, &app.worker, body.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    app.assign(id, app.worker_id().await).await;
    let r = app
        .post(
            &path,
            &app.worker,
            json!({"lines": [{"kind": "part", "description": "", "quantity": 0, "unit_price": 5}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let bad: Vec<&str> = r.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(bad, ["lines[0].description", "lines[0].quantity"]);
    let r = app.post(&path, &app.worker, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        (
            r.body["state"].clone(),
            r.body["currency"].clone(),
            r.body["subtotal"].clone(),
            r.body["tax"].clone(),
            r.body["total"].clone(),
            r.body["lines"][1]["total"].clone()
        ),
        (
            json!("draft"),
            json!("EUR"),
            json!(11499),
            json!(2185),
            json!(13684),
            json!(2500)
        )
    );
    let q = r.body["id"].as_i64().unwrap();
    let r = app
        .call("GET", &format!("/public/tickets/{code}/quote"), None, None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "a draft is not public");
    let r = app
        .call(
            "PATCH",
            &format!("{path}/{q}"),
            Some(&app.worker),
            Some(json!({"tax_rate": 700, "note": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (r.body["tax"].clone(), r.body["note"].clone()),
        (json!(805), Value::Null)
    );
    let r = app
        .post(&format!("{path}/{q}/send"), &app.worker, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "sent");
    let r = app
        .post(&format!("{path}/{q}/send"), &app.worker, json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "quote_not_open")
    );
    let r = app
        .call(
            "PATCH",
            &format!("{path}/{q}"),
            Some(&app.worker),
            Some(json!({"tax_rate": 0})),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "quote_not_open")
    );

    let r = app
        .call("GET", &format!("/public/tickets/{code}/quote"), None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.keys(),
        [
            "currency",
            "decision",
            "expires_at",
            "id",
            "lines",
            "note",
            "sent_at",
            "state",
            "subtotal",
            "tax",
            "tax_rate",
            "total",
            "version"
        ]
    );
    let r = app.get("/tickets/?quote=awaiting", &app.admin).await;
    assert_eq!(r.body["total"], 1, "{:?}", r.body);
    assert_eq!(r.body["items"][0]["quote"]["state"], "sent");

    let decide = format!("/public/tickets/{code}/quote/decision");
    let r = app
        .call(
            "POST",
            &decide,
            None,
            Some(json!({"quote_id": q, "decision": "approve", "name": " "})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["fields"][0]["field"], "name");
    let r = app
        .call(
            "POST",
            &decide,
            None,
            Some(json!({"quote_id": q, "decision": "approve", "name": "Jane Customer"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "approved");
    assert_eq!(
        r.body["decision"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["at", "decision", "name"],
        "the public view has no address or browser"
    );
    let r = app
        .call(
            "POST",
            &decide,
            None,
            Some(json!({"quote_id": q, "decision": "decline", "name": "Jane Customer"})),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "quote_decided")
    );
    let r = app.get(&path, &app.admin).await;
    let staff = &r.body["items"][0];
    assert_eq!(staff["state"], "approved");
    assert_eq!(staff["decision"]["name"], "Jane Customer");
    assert!(staff["decision"].get("ip").is_some());
    let r = app.get("/tickets/?quote=approved", &app.admin).await;
    assert_eq!(r.body["total"], 1);
    let r = app.get("/tickets/?quote=awaiting", &app.admin).await;
    assert_eq!(r.body["total"], 0);
    let r = app.get(&format!("/tickets/{id}/history"), &app.admin).await;
    let kinds: Vec<(Value, Value)> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"].as_str().unwrap().starts_with("quote_"))
        .map(|e| (e["kind"].clone(), e["quote_id"].clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (json!("quote_sent"), json!(q)),
            (json!("quote_decided"), json!(q))
        ]
    );
}
