//! Webhook endpoints and their delivery logs, for admins.

use super::{
    AppState, Tag,
    dto::{CreatedWebhookBody, DeliveryBody, PageBody, WebhookBody, WebhookList, WebhookRequest},
};
use crate::{auth::AdminAuth, error::ApiError};
use crm_core::{CoreError, Store, input::ValidationErrors, notify::Topic};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Json,
};

/// The outcome of adding an endpoint.
#[derive(ApiResponse)]
pub enum CreateWebhookResponse {
    /// Added; the secret is in this answer only.
    #[oai(status = 201)]
    Created(Json<CreatedWebhookBody>),
}

/// The outcome of removing an endpoint.
#[derive(ApiResponse)]
pub enum DeleteWebhookResponse {
    /// Removed, with its delivery log; nothing more is sent to it.
    #[oai(status = 204)]
    Deleted,
}

/// Webhook endpoints.
pub struct WebhooksApi<S>(pub AppState<S>);

#[OpenApi(tag = "Tag::Webhooks")]
impl<S: Store> WebhooksApi<S> {
    /// Add a webhook endpoint
    ///
    /// Every later event of the chosen types is POSTed to the URL as
    /// `{"type", "timestamp", "data": {the ticket as staff see it, "seq"}}`, signed per
    /// Standard Webhooks with the secret in this answer (`webhook-id`, `webhook-timestamp`,
    /// `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`). Non-2xx answers
    /// and silences over 15 s are retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
    /// (each ±20%); a 410 answer disables the endpoint.
    #[oai(path = "/webhooks", method = "post")]
    async fn create(
        &self,
        auth: AdminAuth,
        body: Json<WebhookRequest>,
    ) -> Result<CreateWebhookResponse, ApiError> {
        let actor = auth.0.actor;
        // Role first: a worker learns nothing about which hosts resolve where.
        self.0.crm.list_webhooks(&actor).await?;
        let url = self
            .0
            .webhooks
            .policy()
            .check(&body.url.0)
            .await
            .map_err(|e| CoreError::from(ValidationErrors::one("url", e)))?;
        let events: Vec<String> = body
            .events
            .iter()
            .map(|&e| Topic::from(e).as_str().to_owned())
            .collect();
        let ep = self
            .0
            .crm
            .create_webhook(&actor, url.as_str(), &events)
            .await?;
        Ok(CreateWebhookResponse::Created(Json(ep.into())))
    }

    /// List webhook endpoints
    ///
    /// Every endpoint, oldest first, without secrets.
    #[oai(path = "/webhooks", method = "get")]
    async fn list(&self, auth: AdminAuth) -> Result<Json<WebhookList>, ApiError> {
        let items = self.0.crm.list_webhooks(&auth.0.actor).await?;
        Ok(Json(WebhookList {
            items: items.into_iter().map(WebhookBody::from).collect(),
        }))
    }

    /// Remove a webhook endpoint
    #[oai(path = "/webhooks/:id", method = "delete")]
    async fn delete(
        &self,
        auth: AdminAuth,
        id: Path<i64>,
    ) -> Result<DeleteWebhookResponse, ApiError> {
        self.0.crm.delete_webhook(&auth.0.actor, id.0).await?;
        Ok(DeleteWebhookResponse::Deleted)
    }

    /// An endpoint's deliveries
    ///
    /// Newest first, each with its status and every attempt (time, HTTP status, error).
    #[oai(path = "/webhooks/:id/deliveries", method = "get")]
    async fn deliveries(
        &self,
        auth: AdminAuth,
        id: Path<i64>,
        /// Page number, 1 or more (default 1).
        page: Query<Option<i64>>,
        /// Page size, 1-100 (default 10).
        size: Query<Option<i64>>,
        /// Walk on from an earlier page's `next_cursor` (instead of `page`): constant cost
        /// however deep.
        cursor: Query<Option<String>>,
    ) -> Result<Json<PageBody<DeliveryBody>>, ApiError> {
        let p = self
            .0
            .crm
            .webhook_deliveries(&auth.0.actor, id.0, page.0, size.0, cursor.0.as_deref())
            .await?;
        Ok(Json(PageBody {
            items: p
                .items
                .into_iter()
                .filter_map(DeliveryBody::of_webhook)
                .collect(),
            total: p.total,
            page: p.page,
            size: p.size,
            pages: p.pages,
            next_cursor: p.next_cursor.map(crm_core::Cursor::encode),
        }))
    }

    /// Retry a delivery
    ///
    /// Queues a delivered, failed or disabled delivery for one more attempt now, with the
    /// same id and body; a disabled endpoint is enabled again. A pending delivery is refused
    /// with 409 `delivery_pending`: it is attempted on schedule.
    #[oai(path = "/webhooks/:id/deliveries/:delivery_id/retry", method = "post")]
    async fn retry(
        &self,
        auth: AdminAuth,
        id: Path<i64>,
        delivery_id: Path<i64>,
    ) -> Result<Json<DeliveryBody>, ApiError> {
        let d = self
            .0
            .crm
            .retry_delivery(&auth.0.actor, id.0, delivery_id.0)
            .await?;
        DeliveryBody::of_webhook(d)
            .map(Json)
            .ok_or_else(|| CoreError::NotFound("Delivery").into())
    }
}
