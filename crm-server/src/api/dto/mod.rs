//! The JSON bodies of the API and their conversions from core types. Every response body is
//! built by a `From` conversion in this module, never field by field in a handler, so one body
//! has one shape wherever it is answered. Bodies are grouped by resource.

mod attachments;
mod clients;
mod credentials;
mod device;
mod messages;
mod quotes;
mod stages;
mod text;
mod tickets;
mod users;
mod webhooks;

pub use attachments::*;
pub use clients::*;
pub use credentials::*;
pub use device::*;
pub use messages::*;
pub use quotes::*;
pub use stages::*;
pub use text::Text;
pub use tickets::*;
pub use users::*;
pub use webhooks::*;

use crm_core::{Page, Role, TicketStatus};
use poem_openapi::{
    Enum, Object,
    types::{ParseFromJSON, ToJSON},
};

/// Where a ticket stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum Status {
    /// Submitted, not started.
    New,
    /// A worker is on it.
    InProgress,
    /// Finished.
    Done,
}

impl From<Status> for TicketStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::New => Self::New,
            Status::InProgress => Self::InProgress,
            Status::Done => Self::Done,
        }
    }
}

impl From<TicketStatus> for Status {
    fn from(s: TicketStatus) -> Self {
        match s {
            TicketStatus::New => Self::New,
            TicketStatus::InProgress => Self::InProgress,
            TicketStatus::Done => Self::Done,
        }
    }
}

/// A staff role.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum RoleBody {
    /// Sees and manages everything.
    Admin,
    /// Sees and progresses its own tickets.
    Worker,
}

impl From<RoleBody> for Role {
    fn from(r: RoleBody) -> Self {
        match r {
            RoleBody::Admin => Self::Admin,
            RoleBody::Worker => Self::Worker,
        }
    }
}

impl From<Role> for RoleBody {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => Self::Admin,
            Role::Worker => Self::Worker,
        }
    }
}

/// One page of a list, newest first.
#[derive(Object, Debug)]
pub struct PageBody<T: ParseFromJSON + ToJSON> {
    /// This page's items.
    pub items: Vec<T>,
    /// Matching items on all pages.
    pub total: u64,
    /// Page number.
    pub page: u32,
    /// Page size.
    pub size: u32,
    /// Number of pages.
    pub pages: u64,
    /// Where the next page starts, when there is one: pass it as `cursor` to walk on at
    /// constant cost. Opaque.
    pub next_cursor: Option<String>,
}

impl<T: ParseFromJSON + ToJSON, U: Into<T>> From<Page<U>> for PageBody<T> {
    fn from(p: Page<U>) -> Self {
        Self {
            items: p.items.into_iter().map(Into::into).collect(),
            total: p.total,
            page: p.page,
            size: p.size,
            pages: p.pages,
            next_cursor: p.next_cursor.map(crm_core::Cursor::encode),
        }
    }
}

/// A probe's answer.
#[derive(Object, Debug)]
pub struct HealthBody {
    /// `ok`.
    pub status: String,
}

impl HealthBody {
    /// The one answer a healthy probe gives.
    pub fn ok() -> Self {
        Self {
            status: "ok".into(),
        }
    }
}
