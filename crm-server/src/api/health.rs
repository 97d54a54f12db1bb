//! Probes for orchestrators and load balancers.

use super::{AppState, Tag, dto::HealthBody};
use crate::error::{ErrorBody, RETRY_AFTER_UNAVAILABLE_SECS};
use crm_core::Store;
use poem_openapi::{ApiResponse, OpenApi, payload::Json};

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
}
