//! What customers use, without an account: submitting a request and following it.

use super::{
    AppState, Tag,
    dto::{ProgressBody, SubmitRequest, SubmittedTicket},
};
use crate::{error::ApiError, request_meta};
use crm_core::Store;
use poem::Request;
use poem_openapi::{ApiResponse, OpenApi, param::Path, payload::Json};

/// The outcome of a submission.
#[derive(ApiResponse)]
pub enum SubmitResponse {
    /// Stored; keep the tracking code.
    #[oai(status = 201)]
    Created(Json<SubmittedTicket>),
}

/// What customers use.
pub struct PublicApi<S>(pub AppState<S>);

#[OpenApi(tag = "Tag::Public")]
impl<S: Store> PublicApi<S> {
    /// Submit a repair request
    ///
    /// No account needed. An identical request (same title, description and e-mail) while the
    /// earlier one is open is refused with `duplicate_ticket`. The answer carries the tracking
    /// code, shown only this once.
    #[oai(path = "/public/tickets", method = "post")]
    async fn submit(
        &self,
        req: &Request,
        body: Json<SubmitRequest>,
    ) -> Result<SubmitResponse, ApiError> {
        let ip = request_meta::client_ip(req, &self.0.trusted_proxies);
        self.0.limits.submit.check(ip)?;
        let submission = body
            .0
            .into_submission(ip.map(|ip| ip.to_string()), request_meta::user_agent(req));
        let t = self.0.crm.submit(submission).await?;
        Ok(SubmitResponse::Created(Json(t.into())))
    }

    /// Follow a request
    ///
    /// The progress of the request holding this tracking code: status and times only.
    #[oai(path = "/public/tickets/:tracking_code", method = "get")]
    async fn track(&self, tracking_code: Path<String>) -> Result<Json<ProgressBody>, ApiError> {
        Ok(Json(self.0.crm.track(&tracking_code.0).await?.into()))
    }
}
