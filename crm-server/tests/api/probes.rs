//! Probes, the OpenAPI document, the UI files and unknown routes.

use crate::helpers::TestApp;
use poem::http::StatusCode;

on_both_stores!(probes_docs_and_unknown_routes,);

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
    for path in ["/", "/ui/main.js", "/ui/views/ticket.js", "/ui/app.css"] {
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
    assert!(html.contains(r#"<script type="module" src="/ui/main.js"></script>"#));
    assert!(!html.contains("<script>"), "no inline script");
}
