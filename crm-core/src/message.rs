//! The conversation on a ticket: internal notes among staff and messages the customer reads
//! and answers under the tracking code. The rules that decide who sees what live here, so
//! both stores, the streams, the e-mail and the webhooks read them the same way.

use crate::{
    error::StoreError,
    ids::{TicketId, UserId},
    input::MessageBody,
    page::{Cursor, Page, PageRequest, Positioned},
    role::Visibility,
    ticket::TrackingCode,
};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

/// Who may read a message (or an attachment): staff only, or the customer too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Staff only: never in a public view, a public stream, a customer e-mail or a
    /// customer's download.
    Internal,
    /// The customer reads it under the tracking code (and is e-mailed a staff message).
    Customer,
}

impl Audience {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::Customer => "customer",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "internal" => Some(Self::Internal),
            "customer" => Some(Self::Customer),
            _ => None,
        }
    }
}

/// Who wrote a message: a staff member (named by username) or the ticket's customer (named
/// as the customer record says).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Author {
    /// The staff member, `None` for the customer.
    pub user_id: Option<UserId>,
    /// Username of the staff member, or the customer's name.
    pub name: String,
}

impl Author {
    /// Whether the customer wrote it.
    pub fn is_customer(&self) -> bool {
        self.user_id.is_none()
    }
}

/// One message on a ticket. Messages are never edited or removed: the conversation is a
/// record of what each side was told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Identity; increases with time across all tickets.
    pub id: i64,
    /// The ticket.
    pub ticket_id: TicketId,
    /// The text, 1-5000 characters, shown as text everywhere.
    pub body: String,
    /// Who reads it.
    pub visibility: Audience,
    /// Who wrote it.
    pub author: Author,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Messages are listed oldest first by id.
impl Positioned for Message {
    fn position(&self) -> Cursor {
        Cursor {
            key: self.id,
            id: self.id,
        }
    }
}

/// How many messages a customer may write on one ticket in [`CUSTOMER_WINDOW`]: enough for a
/// conversation, too few for a flood that buries the counter.
pub const CUSTOMER_MESSAGES_PER_DAY: u32 = 20;

/// The window [`CUSTOMER_MESSAGES_PER_DAY`] counts over.
pub const CUSTOMER_WINDOW: TimeDelta = TimeDelta::days(1);

/// How long after a ticket is done the customer may still write on it: long enough for "the
/// fault is back", short enough that a leaked code of an old repair is no open channel.
pub const CLOSED_AFTER: TimeDelta = TimeDelta::days(30);

/// Where a new message goes, and on whose behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageTarget {
    /// Staff writing on ticket `id`, which must be inside `visibility`.
    Staff {
        /// The ticket.
        id: TicketId,
        /// The writer.
        author: UserId,
        /// The writer's scope (a worker writes only on its own tickets).
        visibility: Visibility,
        /// Who reads it.
        audience: Audience,
    },
    /// The customer holding this tracking code (always customer-visible).
    Customer(TrackingCode),
}

impl MessageTarget {
    /// Who reads what is written here: the customer's own words and files always reach
    /// the customer.
    pub fn audience(&self) -> Audience {
        match self {
            Self::Staff { audience, .. } => *audience,
            Self::Customer(_) => Audience::Customer,
        }
    }

    /// The staff writer, `None` for the customer.
    pub fn author(&self) -> Option<UserId> {
        match self {
            Self::Staff { author, .. } => Some(*author),
            Self::Customer(_) => None,
        }
    }
}

/// A message to store. The store checks, in the same atomic step as the insert, that the
/// ticket is visible, and for a customer that the ticket was not done more than
/// [`CLOSED_AFTER`] ago and that [`CUSTOMER_MESSAGES_PER_DAY`] is not used up; it builds the
/// `message_added` event from the ticket as it finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Where and by whom.
    pub target: MessageTarget,
    /// The text.
    pub body: MessageBody,
    /// When.
    pub at: DateTime<Utc>,
}

impl NewMessage {
    /// Who reads it.
    pub fn audience(&self) -> Audience {
        self.target.audience()
    }

    /// The staff writer, `None` for the customer.
    pub fn author(&self) -> Option<UserId> {
        self.target.author()
    }

    /// Whether a customer's message may still be written on a ticket done at `done_at`
    /// having written `recent` customer messages in the last [`CUSTOMER_WINDOW`]: the rule
    /// each store applies under its lock.
    pub fn customer_may_write(
        &self,
        done_at: Option<DateTime<Utc>>,
        recent: u64,
    ) -> Result<(), StoreError> {
        if !matches!(self.target, MessageTarget::Customer(_)) {
            return Ok(());
        }
        if done_at.is_some_and(|d| d + CLOSED_AFTER <= self.at) {
            return Err(StoreError::TicketClosed);
        }
        if recent >= u64::from(CUSTOMER_MESSAGES_PER_DAY) {
            return Err(StoreError::LimitReached);
        }
        Ok(())
    }
}

/// Whose messages (or files) a read returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageReader {
    /// Staff with this scope: every message, internal ones included.
    Staff(TicketId, Visibility),
    /// The customer holding this code: customer-visible messages only.
    Customer(TrackingCode),
}

/// The conversation on tickets.
#[async_trait]
pub trait MessageStore: Send + Sync + 'static {
    /// Stores a message with its `message_added` event (and its notifications) in one atomic
    /// step, after the checks [`NewMessage`] lists; sets the ticket's `awaiting_reply` when
    /// the message is customer-visible (true for the customer's, false for staff's).
    /// [`StoreError::NotFound`] for a ticket absent or outside the writer's scope,
    /// [`StoreError::TicketClosed`], [`StoreError::LimitReached`].
    async fn add_message(&self, new: NewMessage) -> Result<Message, StoreError>;

    /// One page of a ticket's messages the reader may see, oldest first;
    /// [`StoreError::NotFound`] when the ticket is absent or not the reader's.
    async fn list_messages(
        &self,
        reader: &MessageReader,
        page: PageRequest,
    ) -> Result<Page<Message>, StoreError>;

    /// One message by id, whatever its audience (for the notifications about it).
    async fn get_message(&self, id: i64) -> Result<Message, StoreError>;
}
