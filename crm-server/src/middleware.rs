//! Request middleware: the body size limit and the access log.

use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response, Result, http::StatusCode};
use std::time::Instant;

/// Refuses bodies over the limit with 413, whether announced by `Content-Length` or streamed.
pub struct BodyLimit(pub usize);

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

/// One line per request: method, path (never the query, which may carry customer text),
/// status and latency. Headers, bodies and tokens are never logged.
pub struct AccessLog;

impl<E: Endpoint> Middleware<E> for AccessLog {
    type Output = AccessLogEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        AccessLogEndpoint { inner }
    }
}

/// See [`AccessLog`].
pub struct AccessLogEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for AccessLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let started = Instant::now();
        let resp = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        tracing::info!(
            target: "crm_server::access",
            %method,
            %path,
            status = resp.status().as_u16(),
            latency_ms = format!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
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
