//! List parameters and path normalisation.

use crate::helpers::TestApp;
use poem::http::StatusCode;

on_both_stores!(lists_validate_and_normalise_paths,);

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
