//! Request middleware: the body size limit, the access log, CORS, and the 405 answer.

use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response, Result, http::StatusCode};
use std::{sync::Arc, time::Instant};

/// Refuses bodies over the limit with 413, whether announced by `Content-Length` or streamed.
/// File uploads (`POST .../attachments`) are left to their operation, which streams them
/// into the object store and counts `ATTACHMENT_MAX_BYTES` as they arrive.
pub struct BodyLimit(pub usize);

/// Whether the request is a file upload, whose body is limited by its own operation.
fn is_upload(req: &Request) -> bool {
    req.method() == poem::http::Method::POST
        && req
            .uri()
            .path()
            .trim_end_matches('/')
            .ends_with("/attachments")
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint { inner, max: self.0 }
    }
}

/// See [`BodyLimit`].
pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
}

fn too_large() -> poem::Error {
    poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE)
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        if is_upload(&req) {
            return self.inner.call(req).await;
        }
        let declared = req
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match declared {
            Some(n) if n > self.max as u64 => return Err(too_large()),
            Some(_) => {}
            None => {
                // No length announced (chunked): read at most the limit.
                let body = req.take_body();
                let bytes = body
                    .into_bytes_limit(self.max)
                    .await
                    .map_err(|_| too_large())?;
                req.set_body(Body::from(bytes));
            }
        }
        self.inner.call(req).await
    }
}

/// One line per request, and its count in the metrics: method, path (never the query, which may carry customer text or a
/// stream ticket; a tracking code in the path shows as `{tracking_code}`), status and
/// latency. Headers, bodies and tokens are never logged.
/// The same request is counted in `metrics`, under the route `doc` says served it.
pub struct AccessLog {
    pub metrics: Arc<crate::metrics::Metrics>,
    pub doc: Arc<crate::openapi::Document>,
}

impl<E: Endpoint> Middleware<E> for AccessLog {
    type Output = AccessLogEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        AccessLogEndpoint {
            inner,
            metrics: self.metrics.clone(),
            doc: self.doc.clone(),
        }
    }
}

/// See [`AccessLog`].
pub struct AccessLogEndpoint<E> {
    inner: E,
    metrics: Arc<crate::metrics::Metrics>,
    doc: Arc<crate::openapi::Document>,
}

impl<E: Endpoint> Endpoint for AccessLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let method = req.method().clone();
        let path = loggable_path(req.uri().path()).into_owned();
        let route = crate::metrics::route_of(&self.doc, req.uri().path());
        let started = Instant::now();
        let resp = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let seconds = started.elapsed().as_secs_f64();
        let status = resp.status().as_u16();
        self.metrics.observe(&method, route, status, seconds);
        tracing::info!(
            target: "crm_server::access",
            %method,
            %path,
            status,
            latency_ms = format!("{:.2}", seconds * 1000.0),
        );
        Ok(resp)
    }
}

/// Serves `/tickets/` as `/tickets` (the seed's paths end in a slash, the routes do not),
/// leaving `/` alone.
pub struct TrimTrailingSlash;

impl<E: Endpoint> Middleware<E> for TrimTrailingSlash {
    type Output = TrimTrailingSlashEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        TrimTrailingSlashEndpoint { inner }
    }
}

/// See [`TrimTrailingSlash`].
pub struct TrimTrailingSlashEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for TrimTrailingSlashEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let path = req.uri().path();
        if path.len() > 1 && path.ends_with('/') {
            let trimmed = path.trim_end_matches('/');
            let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
            let new = match req.uri().query() {
                Some(q) => format!("{trimmed}?{q}"),
                None => trimmed.to_owned(),
            };
            if let Ok(uri) = new.parse() {
                *req.uri_mut() = uri;
            }
        }
        self.inner.call(req).await
    }
}

/// Adds CORS headers for the origins listed in `CORS_ORIGINS`, and answers their preflight
/// requests. A request from any other origin (the server's own UI included) is served exactly
/// as if it had no `Origin` header: never refused, only without CORS headers.
pub struct CorsPolicy {
    origins: Vec<String>,
}

impl CorsPolicy {
    /// The policy for these exact origins (`scheme://host[:port]`).
    pub fn new(origins: &[String]) -> Self {
        Self {
            origins: origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_owned())
                .collect(),
        }
    }

    fn allowed(&self, req: &Request) -> Option<poem::http::HeaderValue> {
        let origin = req.headers().get(poem::http::header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.origins
            .iter()
            .any(|o| o == text)
            .then(|| origin.clone())
    }
}

/// See [`CorsPolicy`]; `ep` must answer every request with a response (errors rendered).
pub async fn cors<E: Endpoint<Output = Response>>(
    policy: std::sync::Arc<CorsPolicy>,
    ep: E,
    req: Request,
) -> Result<Response> {
    use poem::http::{Method, header};
    let allowed = policy.allowed(&req);
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut resp = match (&allowed, preflight) {
        (Some(_), true) => Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                "GET, POST, PUT, DELETE, OPTIONS",
            )
            .header(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "authorization, content-type, last-event-id",
            )
            .header(header::ACCESS_CONTROL_MAX_AGE, "600")
            .finish(),
        _ => ep.call(req).await?,
    };
    if let Some(origin) = allowed {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            poem::http::HeaderValue::from_static("retry-after, www-authenticate"),
        );
        h.append(header::VARY, poem::http::HeaderValue::from_static("origin"));
    }
    Ok(resp)
}

/// Turns a 405 into our error body with the `Allow` header the document says the path takes.
pub async fn method_check<E: Endpoint>(
    doc: std::sync::Arc<crate::openapi::Document>,
    ep: E,
    req: Request,
) -> Result<Response> {
    let path = req.uri().path().to_owned();
    match ep.call(req).await {
        Ok(r) => Ok(r.into_response()),
        Err(e) if e.status() == StatusCode::METHOD_NOT_ALLOWED => {
            let allow = doc.allowed(&path).unwrap_or_else(|| "GET, HEAD".to_owned());
            let mut resp = (
                StatusCode::METHOD_NOT_ALLOWED,
                crate::error::ErrorBody::json(
                    "This method is not allowed here.",
                    "method_not_allowed",
                ),
            )
                .into_response();
            if let Ok(v) = allow.parse() {
                resp.headers_mut().insert(poem::http::header::ALLOW, v);
            }
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

/// The path as the access log shows it: secrets in a path (a tracking code) become the
/// route's parameter name.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    const SECRET_PREFIX: &str = "/public/tickets/";
    match path.strip_prefix(SECRET_PREFIX) {
        Some(rest) if !rest.is_empty() => {
            let tail = rest.split_once('/').map_or("", |(_, t)| t);
            if tail.is_empty() {
                format!("{SECRET_PREFIX}{{tracking_code}}").into()
            } else {
                format!("{SECRET_PREFIX}{{tracking_code}}/{tail}").into()
            }
        }
        _ => path.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn tracking_codes_never_reach_the_log() {
        assert_eq!(
            loggable_path("/public/tickets/AbCdEfGhIjKlMnOpQrStUv"),
            "/public/tickets/{tracking_code}"
        );
        assert_eq!(
            loggable_path("/public/tickets/AbCdEfGhIjKlMnOpQrStUv/events"),
            "/public/tickets/{tracking_code}/events"
        );
        assert_eq!(loggable_path("/public/tickets"), "/public/tickets");
        assert_eq!(loggable_path("/tickets/5"), "/tickets/5");
    }
}
