//! Conversation bodies: a message, and what staff and customers send.

use super::Text;
use chrono::{DateTime, Utc};
use crm_core::{Audience, Author, Message, UserId};
use poem_openapi::{Enum, Object, types::Example};

/// Who reads a message.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum AudienceBody {
    /// Staff only.
    Internal,
    /// The customer reads it under the tracking code and is e-mailed staff's.
    Customer,
}

impl From<Audience> for AudienceBody {
    fn from(a: Audience) -> Self {
        match a {
            Audience::Internal => Self::Internal,
            Audience::Customer => Self::Customer,
        }
    }
}

/// Who wrote a message.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum AuthorKindBody {
    /// A staff member.
    Staff,
    /// The ticket's customer.
    Customer,
}

/// A message's writer.
#[derive(Object, Debug)]
pub struct AuthorBody {
    /// `staff` or `customer`.
    pub kind: AuthorKindBody,
    /// The staff member (null for the customer).
    pub user_id: Option<i64>,
    /// The staff member's username, or the customer's name.
    pub name: String,
}

impl From<Author> for AuthorBody {
    fn from(a: Author) -> Self {
        Self {
            kind: if a.is_customer() {
                AuthorKindBody::Customer
            } else {
                AuthorKindBody::Staff
            },
            user_id: a.user_id.map(UserId::get),
            name: a.name,
        }
    }
}

/// One message on a ticket.
#[derive(Object, Debug)]
pub struct MessageBody {
    /// Identity; increases with time.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// The text (show it as text).
    pub body: String,
    /// `internal` (staff only) or `customer`.
    pub visibility: AudienceBody,
    /// Who wrote it.
    pub author: AuthorBody,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<Message> for MessageBody {
    fn from(m: Message) -> Self {
        Self {
            id: m.id,
            ticket_id: m.ticket_id.0,
            body: m.body,
            visibility: m.visibility.into(),
            author: m.author.into(),
            created_at: m.created_at,
        }
    }
}

/// A message from staff: the audience is chosen every time.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct PostMessageRequest {
    /// The text, 1-5000 characters.
    pub body: Text,
    /// `internal` (staff only) or `customer` (the customer reads it and is e-mailed).
    pub visibility: Text,
}

impl Example for PostMessageRequest {
    fn example() -> Self {
        Self {
            body: "Screen ordered, arrives Tuesday.".into(),
            visibility: "internal".into(),
        }
    }
}

/// A message from the customer.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct PublicMessageRequest {
    /// The text, 1-5000 characters.
    pub body: Text,
}

impl Example for PublicMessageRequest {
    fn example() -> Self {
        Self {
            body: "Could you also check the charging port?".into(),
        }
    }
}
