//! Customer bodies: a customer with counts, a correction, the history.

use super::{ChangeBody, Text};
use chrono::{DateTime, Utc};
use crm_core::{ClientEvent, ClientSummary, UserId};
use poem_openapi::{
    Object,
    types::{Example, MaybeUndefined},
};

/// A customer with their ticket counts.
#[derive(Object, Debug)]
pub struct ClientSummaryBody {
    /// Identity.
    pub id: i64,
    /// Name.
    pub name: String,
    /// E-mail: identifies the customer.
    pub email: String,
    /// Phone.
    pub phone: Option<String>,
    /// Their first request.
    pub created_at: DateTime<Utc>,
    /// Every ticket of theirs.
    pub ticket_count: u64,
    /// Their tickets not done yet.
    pub open_ticket_count: u64,
}

impl From<ClientSummary> for ClientSummaryBody {
    fn from(s: ClientSummary) -> Self {
        Self {
            id: s.client.id.0,
            name: s.client.name,
            email: s.client.email,
            phone: s.client.phone,
            created_at: s.client.created_at,
            ticket_count: s.ticket_count,
            open_ticket_count: s.open_ticket_count,
        }
    }
}

impl From<crm_core::Client> for ClientSummaryBody {
    fn from(c: crm_core::Client) -> Self {
        ClientSummary {
            client: c,
            ticket_count: 0,
            open_ticket_count: 0,
        }
        .into()
    }
}

/// A correction of a customer: a field left out stays; `null` clears the phone.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct EditClientRequest {
    /// Name, 1-100 characters.
    pub name: Option<Text>,
    /// E-mail; no other customer may have it.
    pub email: Option<Text>,
    /// Phone: 5-32 characters of digits, spaces and `+ - ( ) .`; `null` or blank: none.
    pub phone: MaybeUndefined<Text>,
}

impl Example for EditClientRequest {
    fn example() -> Self {
        Self {
            name: None,
            email: Some("anna.k@example.com".into()),
            phone: MaybeUndefined::Value("+49 171 2345678".into()),
        }
    }
}

impl From<EditClientRequest> for crm_core::EditClient {
    fn from(r: EditClientRequest) -> Self {
        Self {
            name: r.name.map(Into::into),
            email: r.email.map(Into::into),
            phone: match r.phone {
                MaybeUndefined::Undefined => crm_core::Patch::Keep,
                MaybeUndefined::Null => crm_core::Patch::Clear,
                MaybeUndefined::Value(p) => crm_core::Patch::Set(p.into()),
            },
        }
    }
}

/// One entry of a customer's history.
#[derive(Object, Debug)]
pub struct ClientEventBody {
    /// When.
    pub at: DateTime<Utc>,
    /// `created` or `edited`.
    pub kind: String,
    /// The staff member (null for a customer's own first request).
    pub actor_id: Option<i64>,
    /// What an edit changed (empty for `created`).
    pub changes: Vec<ChangeBody>,
}

/// A customer's history, oldest first.
#[derive(Object, Debug)]
pub struct ClientHistoryBody {
    /// The entries.
    pub items: Vec<ClientEventBody>,
}

impl From<Vec<ClientEvent>> for ClientHistoryBody {
    fn from(events: Vec<ClientEvent>) -> Self {
        Self {
            items: events
                .into_iter()
                .map(|e| ClientEventBody {
                    at: e.at,
                    kind: e.kind.as_str().to_owned(),
                    actor_id: e.actor_id.map(UserId::get),
                    changes: e
                        .changes
                        .into_iter()
                        .map(|c| ChangeBody {
                            field: c.field,
                            from: c.from,
                            to: c.to,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}
