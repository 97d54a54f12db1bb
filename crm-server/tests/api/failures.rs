//! Failures only a mocked store can produce.

use crate::helpers;
use poem::http::StatusCode;
use serde_json::json;

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
