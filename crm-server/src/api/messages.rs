//! The conversation on a ticket: staff notes and replies, and the customer's side under the
//! tracking code.

use super::{
    AppState, Tag,
    dto::{MessageBody, PageBody, PostMessageRequest, PublicMessageRequest},
};
use crate::{auth::StaffAuth, error::ApiError, request_meta};
use crm_core::{ListMessages, Store, TicketId};
use poem::Request;
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Json,
};

/// A message was stored.
#[derive(ApiResponse)]
pub enum MessageCreated {
    /// Stored, with its event on the streams (and, for a staff message to the customer,
    /// the customer's e-mail in the outbox).
    #[oai(status = 201)]
    Created(Json<MessageBody>),
}

/// Conversations.
pub struct MessagesApi<S>(pub AppState<S>);

/// A conversation's (or a ticket's files') paging as the query gave it.
pub(crate) fn paging(
    page: Query<Option<i64>>,
    size: Query<Option<i64>>,
    cursor: Query<Option<String>>,
) -> ListMessages {
    ListMessages {
        page: page.0,
        size: size.0,
        cursor: cursor.0,
    }
}

#[OpenApi]
impl<S: Store> MessagesApi<S> {
    /// Write on a ticket
    ///
    /// An admin or the ticket's worker. `visibility` is required: `internal` is a note
    /// among staff, never shown to or e-mailed to the customer; `customer` is read by the
    /// customer under the tracking code and e-mailed to them.
    #[oai(path = "/tickets/:id/messages", method = "post", tag = "Tag::Tickets")]
    async fn post(
        &self,
        auth: StaffAuth,
        id: Path<i64>,
        body: Json<PostMessageRequest>,
    ) -> Result<MessageCreated, ApiError> {
        let m = self
            .0
            .crm
            .post_message(
                &auth.0.actor,
                TicketId(id.0),
                &body.0.body.0,
                &body.0.visibility.0,
            )
            .await?;
        Ok(MessageCreated::Created(Json(m.into())))
    }

    /// A ticket's conversation
    ///
    /// Every message, internal notes included, oldest first (staff who may see the ticket).
    #[oai(path = "/tickets/:id/messages", method = "get", tag = "Tag::Tickets")]
    async fn list(
        &self,
        auth: StaffAuth,
        id: Path<i64>,
        /// Page number, 1 or more (default 1).
        page: Query<Option<i64>>,
        /// Page size, 1-100 (default 10).
        size: Query<Option<i64>>,
        /// Walk on from an earlier page's `next_cursor` (instead of `page`).
        cursor: Query<Option<String>>,
    ) -> Result<Json<PageBody<MessageBody>>, ApiError> {
        Ok(Json(
            self.0
                .crm
                .list_messages(&auth.0.actor, TicketId(id.0), paging(page, size, cursor))
                .await?
                .into(),
        ))
    }

    /// Read the conversation on a request
    ///
    /// For whoever holds the tracking code: the messages between the customer and the shop,
    /// oldest first (never internal notes); staff are named by username.
    #[oai(
        path = "/public/tickets/:tracking_code/messages",
        method = "get",
        tag = "Tag::Public"
    )]
    async fn public_list(
        &self,
        tracking_code: Path<String>,
        /// Page number, 1 or more (default 1).
        page: Query<Option<i64>>,
        /// Page size, 1-100 (default 10).
        size: Query<Option<i64>>,
        /// Walk on from an earlier page's `next_cursor` (instead of `page`).
        cursor: Query<Option<String>>,
    ) -> Result<Json<PageBody<MessageBody>>, ApiError> {
        Ok(Json(
            self.0
                .crm
                .public_messages(&tracking_code.0, paging(page, size, cursor))
                .await?
                .into(),
        ))
    }

    /// Write to the shop about a request
    ///
    /// For whoever holds the tracking code. Rate-limited per address like submissions, at
    /// most 20 a day per request (`429 rate_limited`), and closed 30 days after the request
    /// is done (`409 ticket_closed`). Reaches the ticket's worker and admins at once.
    #[oai(
        path = "/public/tickets/:tracking_code/messages",
        method = "post",
        tag = "Tag::Public"
    )]
    async fn public_post(
        &self,
        req: &Request,
        tracking_code: Path<String>,
        body: Json<PublicMessageRequest>,
    ) -> Result<MessageCreated, ApiError> {
        let ip = request_meta::client_ip(req, &self.0.trusted_proxies);
        self.0.limits.public_messages.check(ip)?;
        let m = self
            .0
            .crm
            .post_public_message(&tracking_code.0, &body.0.body.0)
            .await?;
        Ok(MessageCreated::Created(Json(m.into())))
    }
}
