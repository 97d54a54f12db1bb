//! The web UI: ES modules and a stylesheet embedded in the binary and served as they are (no
//! build step), with a Content-Security-Policy that allows only same-origin scripts, styles
//! and API calls (no inline script, no framing).

use poem::{
    IntoResponse, Response, handler,
    http::{StatusCode, header},
    web::Path,
};

const INDEX: &str = include_str!("../ui/index.html");

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../ui/", $path)))),*]
    };
}

/// Every file under `ui/` besides the page itself, by its path below `/ui/`. A unit test
/// fails when a file in the directory is missing here.
const ASSETS: &[(&str, &str)] = assets!(
    "app.css",
    "main.js",
    "router.js",
    "api.js",
    "dom.js",
    "session.js",
    "live.js",
    "components/field.js",
    "components/live-badge.js",
    "components/notice.js",
    "components/pager.js",
    "components/print.js",
    "components/quotes.js",
    "components/conversation.js",
    "components/files.js",
    "views/account.js",
    "views/assignment.js",
    "views/customers.js",
    "views/deliveries.js",
    "views/intake.js",
    "views/login.js",
    "views/password.js",
    "views/stages.js",
    "views/stats.js",
    "views/submit.js",
    "views/ticket.js",
    "views/tickets.js",
    "views/track.js",
    "views/webhooks.js",
    "views/workers.js",
);

/// The policy on every UI response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
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

/// `GET /track/{code}`: the short tracking link printed on receipts and in QR codes, sent on
/// to the tracking page. Anything but a code's characters is 404.
#[handler]
pub fn track_link(Path(code): Path<String>) -> poem::Result<Response> {
    if code.is_empty()
        || code.len() > 64
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
    }
    Ok(Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, format!("/#/track/{code}"))
        .header(header::REFERRER_POLICY, "no-referrer")
        .finish())
}

/// `GET /`: the single page.
pub fn page() -> Response {
    file(INDEX, "text/html; charset=utf-8")
}

/// `GET /ui/{path}`: one embedded file, or 404.
#[handler]
pub fn asset(Path(path): Path<String>) -> poem::Result<Response> {
    let (name, body) = ASSETS
        .iter()
        .find(|(name, _)| *name == path)
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let content_type = if name.ends_with(".css") {
        "text/css; charset=utf-8"
    } else {
        "text/javascript; charset=utf-8"
    };
    Ok(file(body, content_type).into_response())
}

#[cfg(test)]
mod tests {
    use super::ASSETS;

    #[test]
    fn every_file_of_the_ui_directory_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if rel != "index.html" {
                    assert!(
                        ASSETS.iter().any(|(name, _)| *name == rel),
                        "ui/{rel} is not embedded"
                    );
                }
            }
        }
    }
}
