//! Probes for orchestrators and load balancers.

use super::{AppState, Tag, dto::HealthBody};
use crate::{
    error::{ApiError, ErrorBody, RETRY_AFTER_UNAVAILABLE_SECS},
    request_meta,
};
use crm_core::Store;
use poem::Request;
use poem_openapi::{
    ApiResponse, OpenApi,
    payload::{Json, PlainText},
};

/// The figures operators scrape.
#[derive(ApiResponse)]
pub enum MetricsResponse {
    /// The OpenMetrics text format (Prometheus scrapes it as is).
    #[oai(
        status = 200,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"
    )]
    Figures(PlainText<String>),
}

/// The outcome of a readiness probe.
#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// The store answers.
    #[oai(status = 200)]
    Ready(Json<HealthBody>),
    /// The store does not answer.
    #[oai(status = 503)]
    NotReady(
        Json<ErrorBody>,
        /// Seconds to wait before asking again.
        #[oai(header = "Retry-After")]
        String,
    ),
}

/// Probes.
pub struct HealthApi<S>(pub AppState<S>);

#[OpenApi(tag = "Tag::Health")]
impl<S: Store> HealthApi<S> {
    /// Liveness: the process is up
    #[oai(path = "/healthz", method = "get")]
    async fn healthz(&self) -> Json<HealthBody> {
        Json(HealthBody::ok())
    }

    /// Readiness: the store answers
    #[oai(path = "/readyz", method = "get")]
    async fn readyz(&self) -> ReadyResponse {
        match self.0.crm.ready().await {
            Ok(()) => ReadyResponse::Ready(Json(HealthBody::ok())),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                ReadyResponse::NotReady(
                    ErrorBody::json("The store does not answer.", "unavailable"),
                    RETRY_AFTER_UNAVAILABLE_SECS.to_string(),
                )
            }
        }
    }

    /// Metrics for Prometheus
    ///
    /// Requests by method, route and status with their latency; the database pool (size,
    /// idle, waiters); sign-ins throttled and requests rate-limited; live streams open; the
    /// notification backlog and delivery attempts by outcome. Answers only clients in
    /// `METRICS_ALLOW` (loopback by default); any other gets 403.
    #[oai(path = "/metrics", method = "get")]
    async fn metrics(&self, req: &Request) -> Result<MetricsResponse, ApiError> {
        let s = &self.0;
        let allowed = request_meta::client_ip(req, &s.trusted_proxies)
            .is_some_and(|ip| s.metrics_allow.contains(&ip));
        if !allowed {
            return Err(ApiError::forbidden(
                "Metrics are served only to the addresses in METRICS_ALLOW.",
            ));
        }
        Ok(MetricsResponse::Figures(PlainText(
            s.metrics.render(s).await,
        )))
    }
}
