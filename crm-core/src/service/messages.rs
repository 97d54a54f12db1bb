//! The conversation on a ticket through the facade: staff notes and replies, and the
//! customer's side under the tracking code.

use super::{Crm, not_found};
use crate::{
    error::{CoreError, StoreError},
    ids::TicketId,
    input::{MessageBody, ValidationErrors},
    message::{Audience, Message, MessageReader, MessageTarget, NewMessage},
    page::{Page, parse_list},
    role::Actor,
    store::Store,
    ticket::TrackingCode,
};

/// Paging of a conversation as received, before validation.
#[derive(Debug, Clone, Default)]
pub struct ListMessages {
    /// 1-based page; default 1.
    pub page: Option<i64>,
    /// Page size 1-100; default 10.
    pub size: Option<i64>,
    /// Walk on from this `next_cursor` of an earlier page (instead of `page`).
    pub cursor: Option<String>,
}

impl<S: Store> Crm<S> {
    /// Writes on a ticket the actor may see (an admin, or the ticket's worker): an internal
    /// note or a message the customer reads and is e-mailed. `visibility` is `internal` or
    /// `customer`, chosen by the writer every time: nothing defaults to the customer.
    pub async fn post_message(
        &self,
        actor: &Actor,
        id: TicketId,
        body: &str,
        visibility: &str,
    ) -> Result<Message, CoreError> {
        let mut errs = ValidationErrors::default();
        let body = errs.check("body", MessageBody::parse(body));
        let audience = errs.check(
            "visibility",
            Audience::parse(visibility).ok_or_else(|| {
                "Visibility must be internal (staff only) or customer (the customer reads it)."
                    .to_owned()
            }),
        );
        let (Some(body), Some(audience)) = (body, audience) else {
            return Err(errs.into());
        };
        self.add_message(NewMessage {
            target: MessageTarget::Staff {
                id,
                author: actor.id,
                visibility: actor.visibility(),
                audience,
            },
            body,
            at: self.clock.now(),
        })
        .await
    }

    /// The customer holding `code` writes on their request (always customer-visible; at most
    /// [`crate::message::CUSTOMER_MESSAGES_PER_DAY`] a day, and not on a request done more
    /// than [`crate::message::CLOSED_AFTER`] ago).
    pub async fn post_public_message(&self, code: &str, body: &str) -> Result<Message, CoreError> {
        let code = TrackingCode::parse(code).ok_or(CoreError::NotFound("Request"))?;
        let body = MessageBody::parse(body).map_err(|m| ValidationErrors::one("body", m))?;
        self.add_message(NewMessage {
            target: MessageTarget::Customer(code),
            body,
            at: self.clock.now(),
        })
        .await
    }

    async fn add_message(&self, new: NewMessage) -> Result<Message, CoreError> {
        let what = match new.target {
            MessageTarget::Staff { .. } => "Ticket",
            MessageTarget::Customer(_) => "Request",
        };
        match self.store.add_message(new).await {
            Ok(m) => Ok(m),
            Err(StoreError::TicketClosed) => Err(CoreError::ConversationClosed),
            Err(StoreError::LimitReached) => Err(CoreError::TooManyMessages),
            Err(e) => Err(not_found(what)(e)),
        }
    }

    /// A ticket's whole conversation, internal notes included, oldest first (staff who may
    /// see the ticket).
    pub async fn list_messages(
        &self,
        actor: &Actor,
        id: TicketId,
        req: ListMessages,
    ) -> Result<Page<Message>, CoreError> {
        let (page, _) = parse_list(req.page, req.size, req.cursor.as_deref(), None)?;
        self.store
            .list_messages(&MessageReader::Staff(id, actor.visibility()), page)
            .await
            .map_err(not_found("Ticket"))
    }

    /// What the customer holding `code` reads of the conversation: customer-visible messages
    /// only, oldest first.
    pub async fn public_messages(
        &self,
        code: &str,
        req: ListMessages,
    ) -> Result<Page<Message>, CoreError> {
        let code = TrackingCode::parse(code).ok_or(CoreError::NotFound("Request"))?;
        let (page, _) = parse_list(req.page, req.size, req.cursor.as_deref(), None)?;
        self.store
            .list_messages(&MessageReader::Customer(code), page)
            .await
            .map_err(not_found("Request"))
    }

    /// One message by id, whatever its audience: for the notifications about it (the
    /// delivery worker), never for a person's request.
    pub async fn message_for_notification(&self, id: i64) -> Result<Message, CoreError> {
        self.store
            .get_message(id)
            .await
            .map_err(not_found("Message"))
    }
}
