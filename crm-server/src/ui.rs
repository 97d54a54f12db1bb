//! The web UI: three files embedded in the binary, served with a Content-Security-Policy that
//! allows only same-origin scripts, styles and API calls (no inline script, no framing).

use poem::{
    IntoResponse, Response, handler,
    http::{StatusCode, header},
};

const INDEX: &str = include_str!("../ui/index.html");
const APP_JS: &str = include_str!("../ui/app.js");
const APP_CSS: &str = include_str!("../ui/app.css");

/// The policy on every UI response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn file(body: &'static str, content_type: &'static str) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_SECURITY_POLICY, CSP)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::X_FRAME_OPTIONS, "DENY")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(body)
}

/// `GET /`: the single page.
pub fn page() -> Response {
    file(INDEX, "text/html; charset=utf-8")
}

/// `GET /ui/app.js`.
#[handler]
pub fn app_js() -> impl IntoResponse {
    file(APP_JS, "text/javascript; charset=utf-8")
}

/// `GET /ui/app.css`.
#[handler]
pub fn app_css() -> impl IntoResponse {
    file(APP_CSS, "text/css; charset=utf-8")
}
