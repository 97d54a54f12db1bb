//! The facade embedders call. It takes the authenticated [`Actor`], enforces every rule of the
//! product contract, and leaves each atomic step to the store.
//!
//! One file per area: [`tickets`](self) for the request workflow, accounts and sign-in beside
//! it. Every operation refused to a role is refused through the one permission table
//! ([`Permission`]) before the store is asked anything.

mod accounts;
mod assignment;
mod attachments;
mod auth;
mod clients;
mod credentials;
mod export;
mod live;
mod messages;
mod notify;
mod quotes;
mod stages;
mod tickets;
mod users;

pub use attachments::{Download, FileSettings, StoredFile, UploadSlot, Uploader};
pub use clients::ListClients;
pub use credentials::{KEY_NAME_MAX, MakeApiKey, TotpSetup};
pub use export::{ApprovedTotal, EXPORT_BATCH, ExportRow, TicketExport};
pub use messages::ListMessages;
pub use quotes::{CustomerDecision, WriteLine, WriteQuote};
pub use stages::EditStage;

#[cfg(test)]
mod tests;

use crate::{
    clock::{Clock, SystemClock},
    error::{CoreError, StoreError},
    ids::UserId,
    password::{PasswordCost, Passwords},
    role::{Actor, Permission, Role},
    status::TicketStatus,
    store::Store,
};
use std::sync::Arc;

/// A customer's request as received, before validation.
#[derive(Debug, Clone, Default)]
pub struct SubmitTicket {
    /// What is broken.
    pub title: String,
    /// The fault.
    pub description: String,
    /// Customer name.
    pub client_name: String,
    /// Customer e-mail.
    pub client_email: String,
    /// Customer phone, optional.
    pub client_phone: Option<String>,
    /// The address the request came from, as the transport established it.
    pub requester_ip: Option<String>,
    /// The User-Agent header, any length.
    pub requester_ua: Option<String>,
    /// The device, when the customer (or the staff member at the counter) says what it is.
    pub device: Option<crate::device::DeviceInput>,
}

/// A request taken in at the counter by staff: a customer's fields plus what only the shop
/// sets.
#[derive(Debug, Clone, Default)]
pub struct IntakeTicket {
    /// The customer's fields and the device (`requester_ip` and `requester_ua` are the
    /// staff member's connection).
    pub request: SubmitTicket,
    /// How urgent; `normal` when not given.
    pub priority: Option<crate::device::Priority>,
    /// When it is promised to the customer.
    pub due_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The worker it goes to. An admin may name any active worker (without one, automatic
    /// assignment applies); a worker's intake is always its own.
    pub worker_id: Option<UserId>,
}

/// A ticket list request as received, before validation.
#[derive(Debug, Clone, Default)]
pub struct ListTickets {
    /// 1-based page; default 1.
    pub page: Option<i64>,
    /// Page size 1-100; default 10.
    pub size: Option<i64>,
    /// Walk on from this `next_cursor` of an earlier page (instead of `page`).
    pub cursor: Option<String>,
    /// Only this status.
    pub status: Option<TicketStatus>,
    /// Only this worker's tickets (workers may name only themselves).
    pub worker_id: Option<UserId>,
    /// Title substring.
    pub search: Option<String>,
    /// Only tickets without a worker (the queue waiting for assignment).
    pub unassigned: bool,
    /// Only open tickets (`new` or `in_progress`): a technician's queue.
    pub open: bool,
    /// The order; newest first when not given.
    pub sort: Option<crate::page::TicketSort>,
    /// Only this priority.
    pub priority: Option<crate::device::Priority>,
    /// Only this customer's tickets.
    pub client_id: Option<crate::ids::ClientId>,
    /// Only the device with this serial (case and spaces ignored).
    pub serial: Option<String>,
    /// Only open tickets promised for a time already past.
    pub overdue: bool,
    /// The counter search: number, tracking code, customer name, e-mail or phone, serial.
    pub q: Option<String>,
    /// Only tickets whose customer waits for an answer.
    pub awaiting_reply: bool,
    /// Only tickets in this stage.
    pub stage_id: Option<crate::ids::StageId>,
    /// Only tickets whose latest sent quote awaits the customer, was approved or declined.
    pub quote: Option<crate::quote::QuoteListState>,
}

/// A user list request as received, before validation.
#[derive(Debug, Clone, Default)]
pub struct ListUsers {
    /// 1-based page; default 1.
    pub page: Option<i64>,
    /// Page size 1-100; default 10.
    pub size: Option<i64>,
    /// Walk on from this `next_cursor` of an earlier page (instead of `page`).
    pub cursor: Option<String>,
    /// Only this role.
    pub role: Option<Role>,
    /// Username substring.
    pub search: Option<String>,
}

/// An account to create at first start, when the store has no users at all.
#[derive(Debug, Clone)]
pub struct DefaultAccount {
    /// Login name.
    pub username: String,
    /// Initial password (`***` in `Debug`).
    pub password: crate::secret::Secret,
    /// Powers.
    pub role: Role,
    /// Whether the owner must choose a new password first (the server sets it when the
    /// password is the documented default).
    pub must_change_password: bool,
}

/// The repair-request workflow over a store. Cheap to clone: clones share the store.
pub struct Crm<S> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    passwords: Arc<Passwords>,
    files: Arc<attachments::Files>,
    currency: crate::money::Currency,
}

impl<S> Clone for Crm<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            clock: self.clock.clone(),
            passwords: self.passwords.clone(),
            files: self.files.clone(),
            currency: self.currency,
        }
    }
}

impl<S> std::fmt::Debug for Crm<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crm").finish_non_exhaustive()
    }
}

impl<S: Store> Crm<S> {
    /// The workflow over `store`, with the wall clock and production password cost.
    pub fn new(store: S) -> Self {
        Self {
            store: Arc::new(store),
            clock: Arc::new(SystemClock),
            passwords: Arc::new(Passwords::new(PasswordCost::Default)),
            files: Arc::new(attachments::Files::in_memory()),
            currency: crate::money::Currency::EUR,
        }
    }

    /// Sets the shop's currency, which new quotes are written in (EUR by default).
    pub fn with_currency(mut self, currency: crate::money::Currency) -> Self {
        self.currency = currency;
        self
    }

    /// Replaces the clock (tests pin time with [`crate::clock::ManualClock`]).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Replaces the password cost (tests use [`PasswordCost::Fast`]).
    pub fn with_password_cost(mut self, cost: PasswordCost) -> Self {
        self.passwords = Arc::new(Passwords::new(cost));
        self
    }

    /// The backend, for embedders that need backend-specific operations.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Whether the store answers.
    pub async fn ready(&self) -> Result<(), CoreError> {
        self.store.ping().await.map_err(CoreError::from_store)
    }
}

/// Refuses `op` unless the actor's role may perform it, before anything else happens.
fn require(actor: &Actor, op: Permission) -> Result<(), CoreError> {
    if actor.may(op) {
        Ok(())
    } else {
        Err(CoreError::Forbidden(op.refusal()))
    }
}

/// Maps a store's `NotFound` to the facade's, naming `what`; other failures keep their class.
fn not_found(what: &'static str) -> impl Fn(StoreError) -> CoreError {
    move |e| match e {
        StoreError::NotFound => CoreError::NotFound(what),
        other => CoreError::from_store(other),
    }
}
