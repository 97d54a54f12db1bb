//! The checks, by area. Each takes a fresh, empty store and panics on the first broken rule.
//! Every `pub async fn` here must be listed in [`crate::conformance_tests!`]; a test of this
//! crate fails when one is not, so a check cannot be written without being run.

mod accounts;
mod assignment;
mod attachments;
mod credentials;
mod export;
mod hardening;
mod intake;
mod lists;
mod live;
mod messages;
mod notify;
mod quotes;
mod sessions;
mod stages;
mod submissions;
mod workflow;

pub use accounts::*;
pub use assignment::*;
pub use attachments::*;
pub use credentials::*;
pub use export::*;
pub use hardening::*;
pub use intake::*;
pub use lists::*;
pub use live::*;
pub use messages::*;
pub use notify::*;
pub use quotes::*;
pub use sessions::*;
pub use stages::*;
pub use submissions::*;
pub use workflow::*;

use crate::fixture::{Fixture, PASSWORD, request};
use chrono::TimeDelta;
use crm_core::{
    Actor, Clock, CoreError, Cursor, EventKind, ListTickets, ListUsers, NewUser, Role, Store,
    StoreError, SubmitTicket, Ticket, TicketId, TicketSort, TicketStatus, UserId, input::Username,
};
use futures::future::join_all;
use std::collections::HashSet;

use TicketStatus::{Done, InProgress, New};

fn list(status: Option<TicketStatus>, worker: Option<UserId>, search: Option<&str>) -> ListTickets {
    ListTickets {
        page: None,
        size: Some(100),
        cursor: None,
        status,
        worker_id: worker,
        search: search.map(str::to_owned),
        ..Default::default()
    }
}

fn ids(items: &[Ticket]) -> Vec<i64> {
    items.iter().map(|t| t.id.0).collect()
}

fn fields(e: &CoreError) -> Vec<String> {
    match e {
        CoreError::Validation(v) => v.0.iter().map(|f| f.field.clone()).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}
