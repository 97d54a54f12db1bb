//! The storage seam. Each method is one atomic step that a backend must make race-free on its
//! own (a lock, a unique index, a compare-and-set, a transaction); the facade never combines
//! two store calls into a check-then-act. Every change appends its history event in the same
//! step, so the audit trail never misses a change.

use crate::{
    account::{AccountEvent, PasswordChange, SessionRecord},
    assignment::AssignmentSettings,
    error::StoreError,
    history::{Event, NewEvent},
    ids::{TicketId, UserId},
    input::Username,
    notify::{AttemptOutcome, Backlog, Claim, Delivery, NewWebhook, WebhookEndpoint},
    page::{Page, PageRequest, TicketQuery, UserQuery},
    role::Visibility,
    status::TicketStatus,
    throttle::ThrottleState,
    ticket::{NewTicket, Ticket, TicketProgress, TrackingCode},
    user::{NewUser, StatCounts, User, UserCredentials},
};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

/// The state a status change was decided against. The store applies the change only if the
/// ticket is still exactly in this state, otherwise it answers [`StoreError::Stale`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedState {
    /// Status read.
    pub status: TicketStatus,
    /// Worker read (a release or reassignment in between invalidates the decision).
    pub worker_id: Option<UserId>,
}

/// A status change to apply with compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The state the rules were checked against.
    pub expected: ExpectedState,
    /// The new status; sets `in_progress_at` or `done_at` accordingly.
    pub next: TicketStatus,
    /// Who moves it.
    pub actor: UserId,
    /// When; becomes `updated_at` and the step's timestamp.
    pub at: DateTime<Utc>,
    /// The stage read, compared and set too (the `stage_changed` event's `from`).
    pub from_stage: Option<crate::stage::StageRef>,
    /// The stage the ticket enters with the step, or none (a step without a stage clears
    /// it); it belongs to [`Transition::next`] ([`crate::stage::fits`]).
    pub to_stage: Option<crate::stage::Stage>,
}

impl Transition {
    /// Whether the step moves the ticket's stage too.
    pub fn moves_stage(&self) -> bool {
        self.from_stage.as_ref().map(|s| s.id) != self.to_stage.as_ref().map(|s| s.id)
    }

    /// The events the step writes, in order: its `status_changed`, and its `stage_changed`
    /// when the stage moves. Both backends write exactly these (the memory store as they are,
    /// PostgreSQL by binding their fields), so they write the same trail.
    pub fn events(&self) -> Vec<NewEvent> {
        let stage = self
            .moves_stage()
            .then(|| crate::stage::change(self.from_stage.as_ref(), self.to_stage.as_ref()));
        let mut out = vec![NewEvent::status_changed(
            self.at,
            self.actor,
            self.expected.status,
            self.next,
            self.expected.worker_id,
            stage.clone(),
        )];
        if let Some(stage) = stage {
            out.push(NewEvent::stage_changed(
                self.at,
                self.actor,
                self.next,
                self.expected.worker_id,
                stage,
            ));
        }
        out
    }
}

/// An account as stored, with whether it is still active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The account.
    pub user: User,
    /// False once deleted (deactivated).
    pub active: bool,
}

/// Tickets, their clients and their history.
#[async_trait]
pub trait TicketStore: Send + Sync + 'static {
    /// Inserts a ticket, creating its client on first contact (found by lower-cased e-mail and
    /// never updated), and its `submitted` event. Answers [`StoreError::DuplicateTicket`] when an
    /// open ticket has the same [`crate::ticket::DedupKey`]; then nothing is stored.
    async fn create_ticket(&self, new: NewTicket) -> Result<Ticket, StoreError>;

    /// Reads a ticket inside `visibility`; [`StoreError::NotFound`] when absent or not visible.
    async fn get_ticket(&self, id: TicketId, visibility: Visibility) -> Result<Ticket, StoreError>;

    /// Reads a ticket inside `visibility` and, on its first opening, marks it viewed (setting
    /// `updated_at`) with a `viewed` event by `actor`; and remembers that `actor` opened it
    /// (its `new_to_me` is false from then on).
    async fn open_ticket(
        &self,
        id: TicketId,
        visibility: Visibility,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<Ticket, StoreError>;

    /// Applies a status change with compare-and-set on [`Transition::expected`], and its
    /// `status_changed` event. [`StoreError::Stale`] when the ticket moved on meanwhile.
    async fn transition(&self, change: Transition) -> Result<Ticket, StoreError>;

    /// Assigns a ticket (sets `worker_id`, `assigned_at`, `updated_at`, appends `assigned`),
    /// atomically with the checks that the worker is an active user with role worker
    /// ([`StoreError::WorkerUnavailable`]) and the ticket is not done ([`StoreError::TicketClosed`]).
    /// Assigning to the current worker changes nothing.
    async fn assign(
        &self,
        id: TicketId,
        worker: UserId,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<Ticket, StoreError>;

    /// One page of tickets in the query's order, with the total matching count; each says
    /// whether the query's viewer has never opened it.
    async fn list_tickets(&self, query: &TicketQuery) -> Result<Page<Ticket>, StoreError>;

    /// The next `query.page.size()` tickets of the query after its cursor, without counting
    /// them: one batch of a walk through the whole list. A backend whose count is costly
    /// overrides this; the default takes the page of [`Self::list_tickets`].
    async fn ticket_batch(&self, query: &TicketQuery) -> Result<Vec<Ticket>, StoreError> {
        Ok(self.list_tickets(query).await?.items)
    }

    /// Writes an edit and its event in one atomic step, compared and set on the ticket's
    /// `updated_at`, status and worker as read (`Stale` otherwise; `NotFound` when it is
    /// gone). The new title and description keep the duplicate rule (`DuplicateTicket`);
    /// searches see the new title and serial at once.
    async fn edit_ticket(&self, edit: crate::edit::TicketEdit) -> Result<Ticket, StoreError>;

    /// Status counts and resolution time over one worker's tickets, or over all.
    async fn ticket_stats(&self, worker: Option<UserId>) -> Result<StatCounts, StoreError>;

    /// How many tickets have no worker (all of them `new`).
    async fn unassigned_count(&self) -> Result<u64, StoreError>;

    /// The public progress of the ticket holding this code.
    async fn track(&self, code: &TrackingCode) -> Result<TicketProgress, StoreError>;

    /// A ticket's history inside `visibility`, oldest first.
    async fn history(&self, id: TicketId, visibility: Visibility)
    -> Result<Vec<Event>, StoreError>;
}

/// Staff accounts.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Inserts an account and its `created` event; [`StoreError::UsernameTaken`] when an
    /// active account has the same username case-insensitively.
    async fn create_user(&self, new: NewUser) -> Result<User, StoreError>;

    /// Inserts `users` only if the store has no users at all, atomically (so replicas starting
    /// together seed once). Returns whether it inserted.
    async fn seed_users(&self, users: Vec<NewUser>) -> Result<bool, StoreError>;

    /// Any account by id, active or not.
    async fn find_user(&self, id: UserId) -> Result<UserRecord, StoreError>;

    /// The active account with this username (case-insensitive) and its hash, for sign-in.
    async fn credentials(&self, username: &Username)
    -> Result<Option<UserCredentials>, StoreError>;

    /// One page of active accounts, newest first.
    async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError>;

    /// The account `id` and whether the token `token_id` was signed out, in one read: the
    /// check every authenticated request makes. [`StoreError::NotFound`] for no such account.
    async fn find_session(&self, id: UserId, token_id: &str) -> Result<SessionRecord, StoreError>;

    /// The active account `id` with its password hash; [`StoreError::NotFound`] otherwise.
    async fn credentials_by_id(&self, id: UserId) -> Result<UserCredentials, StoreError>;

    /// Stores a new password for an active account, atomically with a new session key and the
    /// audit event, if the account's session key is still [`PasswordChange::expected_key`]
    /// ([`StoreError::Stale`] otherwise; [`StoreError::NotFound`] for no active account).
    async fn set_password(&self, change: PasswordChange) -> Result<User, StoreError>;

    /// Signs the token `token_id` of `user` out until `expires_at`, when it would die anyway;
    /// revocations of tokens expired by `now` are forgotten, so they never pile up.
    async fn revoke_token(
        &self,
        user: UserId,
        token_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// An account's audit trail (created, password changes and resets, deletion), oldest
    /// first; [`StoreError::NotFound`] for no such account.
    async fn account_history(&self, id: UserId) -> Result<Vec<AccountEvent>, StoreError>;

    /// Deactivates an active account and, in the same step, puts its open tickets back to `new`
    /// with no worker (clearing `assigned_at` and `in_progress_at`, setting `updated_at`), each
    /// with a `released` event by `actor` that records the status it left. Refuses with
    /// [`StoreError::LastAdmin`] when it is the last active admin. Records the `deleted`
    /// account event by `actor`. Returns how many were released.
    async fn deactivate_user(
        &self,
        id: UserId,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
}

/// Sign-in attempts per username (see [`crate::throttle`]), shared by every replica.
#[async_trait]
pub trait LoginThrottle: Send + Sync + 'static {
    /// Reserves one attempt for this username key at `now`, atomically applying
    /// [`ThrottleState::reserve`] to the stored state: `Ok(state)` when granted (the attempt
    /// already counted as a failure), `Err(wait)` while the username is locked. Racing
    /// reservations on any number of replicas each see the one before.
    async fn reserve_sign_in(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<ThrottleState, TimeDelta>, StoreError>;

    /// Forgets the username's failures after a successful sign-in.
    async fn login_succeeded(&self, key: &str) -> Result<(), StoreError>;
}

/// Automatic assignment: the settings, who is available, and the one atomic step that gives
/// waiting tickets to eligible workers ([`crate::assignment::plan`]).
#[async_trait]
pub trait AssignmentStore: Send + Sync + 'static {
    /// The current settings (defaults when never set).
    async fn assignment_settings(&self) -> Result<AssignmentSettings, StoreError>;

    /// Replaces the settings.
    async fn set_assignment_settings(&self, settings: AssignmentSettings)
    -> Result<(), StoreError>;

    /// Marks an active account available or not; [`StoreError::NotFound`] for no active
    /// account. Returns the account.
    async fn set_availability(&self, user: UserId, available: bool) -> Result<User, StoreError>;

    /// Gives waiting tickets (no worker, `new`), oldest first, to eligible workers by the
    /// settings, as one atomic step serialised across replicas: the candidates, their open
    /// counts and the round-robin cursor are read, and the choices written with their
    /// `assigned` events (no actor), under one lock. Returns the tickets assigned.
    async fn assign_waiting(&self, at: DateTime<Utc>) -> Result<Vec<Ticket>, StoreError>;
}

/// What may have changed, as a listener learns it. Spurious wakes are allowed: the store's
/// tables stay the source of truth, a change only says when to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// New events may have been positioned: read them.
    Events,
    /// Events were committed through this store and may still want their positions
    /// ([`EventLog::sequence`]): position them, then read. (A backend that positions events
    /// as they are written never says this.)
    Written,
    /// This account's sessions may have ended (deleted, password changed or reset, a token
    /// signed out).
    Account(UserId),
    /// Anything may have changed (the listener lost track, e.g. after reconnecting).
    Unknown,
}

/// Waits for changes made through any replica.
#[async_trait]
pub trait ChangeListener: Send + 'static {
    /// The next change; an error means the listener is broken and must be replaced.
    async fn next(&mut self) -> Result<Change, StoreError>;
}

/// The global order of events, for live streams: read from any position, be told when to
/// read again, and remember single-use tickets.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// The events after position `after` that `visibility` sees
    /// ([`Visibility::sees_event`]), in order, at most `limit`.
    async fn events_after(
        &self,
        after: i64,
        visibility: Visibility,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError>;

    /// The position of the latest positioned event (0 when there is none).
    async fn last_event_seq(&self) -> Result<i64, StoreError>;

    /// Gives every event committed before the call its position, for a backend that
    /// positions events after their changes commit (PostgreSQL, so that no write waits for
    /// another's commit); returns how many it positioned. Safe to call from any replica at
    /// any time: callers serialise in the store, each positioning what it finds. The live
    /// hub calls it before it reads; a backend that positions events as they are written
    /// (the memory store) does nothing.
    async fn sequence(&self) -> Result<u64, StoreError>;

    /// A listener woken by changes made through any replica.
    async fn listen(&self) -> Result<Box<dyn ChangeListener>, StoreError>;

    /// Uses `nonce` once: true the first time, false ever after (until `expires_at`, after
    /// which the nonce is forgotten, so it must not be accepted after that anyway).
    async fn use_once(
        &self,
        nonce: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// The outbox of notifications ([`crate::notify`]). Every change's notifications are
/// recorded by the store in the same atomic step as its event (one per subscribed enabled
/// webhook endpoint, and the customer's e-mail when mail is on), so one exists exactly when
/// its change committed. Workers on any replica take due ones with a lease, deliver them
/// without holding anything in the store, and report each attempt.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Adds a webhook endpoint; later events it subscribes to are recorded for it.
    async fn create_webhook(&self, new: NewWebhook) -> Result<WebhookEndpoint, StoreError>;

    /// Every endpoint, oldest first.
    async fn list_webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError>;

    /// Removes an endpoint and its deliveries ([`StoreError::NotFound`] when there is none);
    /// an attempt in flight finishes but is not recorded.
    async fn delete_webhook(&self, id: i64) -> Result<(), StoreError>;

    /// One page of an endpoint's deliveries, newest first, each with its attempts
    /// ([`StoreError::NotFound`] when there is no such endpoint).
    async fn deliveries(
        &self,
        endpoint: i64,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError>;

    /// Makes a delivery that is not pending due again at `at`, and enables its endpoint if a
    /// 410 had disabled it. [`StoreError::NotFound`] when the endpoint has no such delivery,
    /// [`StoreError::Stale`] when it is still pending (queued or in flight).
    async fn retry_delivery(
        &self,
        endpoint: i64,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<Delivery, StoreError>;

    /// Whether changes from now on record customer e-mail (on when a mail server is
    /// configured; off, nothing is recorded that could never be sent).
    async fn set_mail_enabled(&self, on: bool) -> Result<(), StoreError>;

    /// Takes up to `limit` pending deliveries due at `now`, oldest first, for one attempt
    /// each: their `attempts` go up by one and they are not due again until `now + lease`
    /// (if the taker dies, another worker takes them then). A customer's e-mail is taken
    /// only once every earlier e-mail of that ticket is delivered or given up, so the
    /// customer reads them in order. Nothing stays locked after the call returns.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<Claim>, StoreError>;

    /// Records how attempt number `attempt` of delivery `id` ended. Ignored (false) unless
    /// that delivery is still pending at that attempt: a worker whose lease ran out and was
    /// overtaken cannot overwrite the newer attempt.
    async fn finish_attempt(
        &self,
        id: i64,
        attempt: u32,
        outcome: AttemptOutcome,
    ) -> Result<bool, StoreError>;

    /// What is waiting, for operators.
    async fn outbox_backlog(&self) -> Result<Backlog, StoreError>;
}

/// Whether the backend answers, for readiness probes, and how busy its connections are, for
/// metrics.
#[async_trait]
pub trait StoreHealth: Send + Sync + 'static {
    /// Succeeds when the backend can serve queries.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The connection pool's state, for a backend that has one (`None` otherwise): the
    /// first thing to look at when requests slow down under load.
    fn pool_status(&self) -> Option<PoolStatus> {
        None
    }
}

/// A connection pool at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Most connections the pool opens.
    pub max: u32,
    /// Connections open now (idle or in use).
    pub open: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// Calls waiting for a connection (a transaction's included until its `BEGIN` is sent).
    pub waiting: u64,
}

/// A complete backend: the sum of the storage traits. Implemented for every type that has them.
pub trait Store:
    TicketStore
    + crate::client::ClientStore
    + crate::message::MessageStore
    + crate::attachment::AttachmentStore
    + crate::stage::StageStore
    + crate::quote::QuoteStore
    + crate::credential::CredentialStore
    + UserStore
    + LoginThrottle
    + EventLog
    + AssignmentStore
    + Outbox
    + StoreHealth
{
}

impl<
    T: TicketStore
        + crate::client::ClientStore
        + crate::message::MessageStore
        + crate::attachment::AttachmentStore
        + crate::stage::StageStore
        + crate::quote::QuoteStore
        + crate::credential::CredentialStore
        + UserStore
        + LoginThrottle
        + EventLog
        + AssignmentStore
        + Outbox
        + StoreHealth,
> Store for T
{
}

#[cfg(any(test, feature = "mock"))]
mockall::mock! {
    /// A mock backend for tests that need a failure no real store would produce on demand.
    pub Store {}

    #[async_trait]
    impl crate::client::ClientStore for Store {
        async fn list_clients(&self, query: &crate::client::ClientQuery) -> Result<Page<crate::client::ClientSummary>, StoreError>;
        async fn get_client(&self, id: crate::ids::ClientId, worker: Option<UserId>) -> Result<crate::client::ClientSummary, StoreError>;
        async fn edit_client(&self, edit: crate::client::ClientEdit) -> Result<crate::ticket::Client, StoreError>;
        async fn client_history(&self, id: crate::ids::ClientId) -> Result<Vec<crate::client::ClientEvent>, StoreError>;
    }

    #[async_trait]
    impl crate::message::MessageStore for Store {
        async fn add_message(&self, new: crate::message::NewMessage) -> Result<crate::message::Message, StoreError>;
        async fn list_messages(&self, reader: &crate::message::MessageReader, page: PageRequest) -> Result<Page<crate::message::Message>, StoreError>;
        async fn get_message(&self, id: i64) -> Result<crate::message::Message, StoreError>;
    }

    #[async_trait]
    impl crate::stage::StageStore for Store {
        async fn list_stages(&self) -> Result<Vec<crate::stage::Stage>, StoreError>;
        async fn create_stage(&self, new: crate::stage::NewStage) -> Result<crate::stage::Stage, StoreError>;
        async fn update_stage(&self, id: crate::ids::StageId, patch: crate::stage::StagePatch) -> Result<crate::stage::Stage, StoreError>;
        async fn delete_stage(&self, id: crate::ids::StageId) -> Result<(), StoreError>;
        async fn set_stage(&self, change: crate::stage::StageChange) -> Result<Ticket, StoreError>;
        async fn stage_figures(&self, worker: Option<UserId>) -> Result<Vec<crate::stage::StageFigures>, StoreError>;
    }

    #[async_trait]
    impl crate::quote::QuoteStore for Store {
        async fn create_quote(&self, new: crate::quote::NewQuote) -> Result<crate::quote::Quote, StoreError>;
        async fn edit_quote(&self, ticket: TicketId, id: crate::ids::QuoteId, content: crate::quote::QuoteContent) -> Result<crate::quote::Quote, StoreError>;
        async fn list_quotes(&self, ticket: TicketId) -> Result<Vec<crate::quote::Quote>, StoreError>;
        async fn get_quote(&self, ticket: TicketId, id: crate::ids::QuoteId) -> Result<crate::quote::Quote, StoreError>;
        async fn quotes_of(&self, wanted: &[(TicketId, crate::ids::QuoteId)]) -> Result<Vec<crate::quote::Quote>, StoreError>;
        async fn send_quote(&self, ticket: TicketId, id: crate::ids::QuoteId, actor: UserId, at: DateTime<Utc>) -> Result<crate::quote::Quote, StoreError>;
        async fn decide_quote(&self, decide: crate::quote::DecideQuote) -> Result<crate::quote::Quote, StoreError>;
    }

    #[async_trait]
    impl crate::credential::CredentialStore for Store {
        async fn create_api_key(&self, new: crate::credential::NewApiKey) -> Result<crate::credential::ApiKey, StoreError>;
        async fn list_api_keys(&self, user: UserId) -> Result<Vec<crate::credential::ApiKey>, StoreError>;
        async fn revoke_api_key(&self, user: UserId, id: i64, actor: UserId, at: DateTime<Utc>) -> Result<(), StoreError>;
        async fn find_api_key(&self, hash: &[u8; 32]) -> Result<crate::credential::KeyRecord, StoreError>;
        async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError>;
        async fn totp_state(&self, user: UserId) -> Result<crate::credential::TotpState, StoreError>;
        async fn set_totp_pending(&self, user: UserId, secret: Vec<u8>) -> Result<(), StoreError>;
        async fn enable_totp(&self, enable: crate::credential::TotpEnable) -> Result<(), StoreError>;
        async fn disable_totp(&self, disable: crate::credential::TotpDisable) -> Result<bool, StoreError>;
        async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError>;
        async fn use_recovery_code(&self, user: UserId, hash: &[u8; 32]) -> Result<bool, StoreError>;
    }

    #[async_trait]
    impl crate::attachment::AttachmentStore for Store {
        async fn attachment_room(&self, target: &crate::message::MessageTarget, at: DateTime<Utc>) -> Result<crate::attachment::Room, StoreError>;
        async fn add_attachment(&self, new: crate::attachment::NewAttachment) -> Result<crate::attachment::Attachment, StoreError>;
        async fn list_attachments(&self, reader: &crate::message::MessageReader, page: PageRequest) -> Result<Page<crate::attachment::Attachment>, StoreError>;
        async fn get_attachment(&self, reader: &crate::message::MessageReader, id: i64) -> Result<crate::attachment::Attachment, StoreError>;
        async fn remove_attachment(&self, ticket: TicketId, id: i64, by: UserId, at: DateTime<Utc>) -> Result<crate::attachment::Attachment, StoreError>;
        async fn known_objects(&self, objects: &[String]) -> Result<Vec<String>, StoreError>;
    }

    #[async_trait]
    impl TicketStore for Store {
        async fn create_ticket(&self, new: NewTicket) -> Result<Ticket, StoreError>;
        async fn get_ticket(&self, id: TicketId, visibility: Visibility) -> Result<Ticket, StoreError>;
        async fn open_ticket(&self, id: TicketId, visibility: Visibility, actor: UserId, at: DateTime<Utc>) -> Result<Ticket, StoreError>;
        async fn transition(&self, change: Transition) -> Result<Ticket, StoreError>;
        async fn assign(&self, id: TicketId, worker: UserId, actor: UserId, at: DateTime<Utc>) -> Result<Ticket, StoreError>;
        async fn list_tickets(&self, query: &TicketQuery) -> Result<Page<Ticket>, StoreError>;
        async fn ticket_batch(&self, query: &TicketQuery) -> Result<Vec<Ticket>, StoreError>;
        async fn edit_ticket(&self, edit: crate::edit::TicketEdit) -> Result<Ticket, StoreError>;
        async fn ticket_stats(&self, worker: Option<UserId>) -> Result<StatCounts, StoreError>;
        async fn unassigned_count(&self) -> Result<u64, StoreError>;
        async fn track(&self, code: &TrackingCode) -> Result<TicketProgress, StoreError>;
        async fn history(&self, id: TicketId, visibility: Visibility) -> Result<Vec<Event>, StoreError>;
    }

    #[async_trait]
    impl UserStore for Store {
        async fn create_user(&self, new: NewUser) -> Result<User, StoreError>;
        async fn seed_users(&self, users: Vec<NewUser>) -> Result<bool, StoreError>;
        async fn find_user(&self, id: UserId) -> Result<UserRecord, StoreError>;
        async fn credentials(&self, username: &Username) -> Result<Option<UserCredentials>, StoreError>;
        async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError>;
        async fn find_session(&self, id: UserId, token_id: &str) -> Result<SessionRecord, StoreError>;
        async fn credentials_by_id(&self, id: UserId) -> Result<UserCredentials, StoreError>;
        async fn set_password(&self, change: PasswordChange) -> Result<User, StoreError>;
        async fn revoke_token(&self, user: UserId, token_id: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), StoreError>;
        async fn account_history(&self, id: UserId) -> Result<Vec<AccountEvent>, StoreError>;
        async fn deactivate_user(&self, id: UserId, actor: UserId, at: DateTime<Utc>) -> Result<u64, StoreError>;
    }

    #[async_trait]
    impl LoginThrottle for Store {
        async fn reserve_sign_in(&self, key: &str, now: DateTime<Utc>) -> Result<Result<ThrottleState, TimeDelta>, StoreError>;
        async fn login_succeeded(&self, key: &str) -> Result<(), StoreError>;
    }

    #[async_trait]
    impl EventLog for Store {
        async fn events_after(&self, after: i64, visibility: Visibility, limit: u32) -> Result<Vec<Event>, StoreError>;
        async fn last_event_seq(&self) -> Result<i64, StoreError>;
        async fn sequence(&self) -> Result<u64, StoreError>;
        async fn listen(&self) -> Result<Box<dyn ChangeListener>, StoreError>;
        async fn use_once(&self, nonce: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool, StoreError>;
    }

    #[async_trait]
    impl AssignmentStore for Store {
        async fn assignment_settings(&self) -> Result<AssignmentSettings, StoreError>;
        async fn set_assignment_settings(&self, settings: AssignmentSettings) -> Result<(), StoreError>;
        async fn set_availability(&self, user: UserId, available: bool) -> Result<User, StoreError>;
        async fn assign_waiting(&self, at: DateTime<Utc>) -> Result<Vec<Ticket>, StoreError>;
    }

    #[async_trait]
    impl Outbox for Store {
        async fn create_webhook(&self, new: NewWebhook) -> Result<WebhookEndpoint, StoreError>;
        async fn list_webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError>;
        async fn delete_webhook(&self, id: i64) -> Result<(), StoreError>;
        async fn deliveries(&self, endpoint: i64, page: PageRequest) -> Result<Page<Delivery>, StoreError>;
        async fn retry_delivery(&self, endpoint: i64, id: i64, at: DateTime<Utc>) -> Result<Delivery, StoreError>;
        async fn set_mail_enabled(&self, on: bool) -> Result<(), StoreError>;
        async fn claim_due(&self, now: DateTime<Utc>, lease: TimeDelta, limit: u32) -> Result<Vec<Claim>, StoreError>;
        async fn finish_attempt(&self, id: i64, attempt: u32, outcome: AttemptOutcome) -> Result<bool, StoreError>;
        async fn outbox_backlog(&self) -> Result<Backlog, StoreError>;
    }

    #[async_trait]
    impl StoreHealth for Store {
        async fn ping(&self) -> Result<(), StoreError>;
        fn pool_status(&self) -> Option<PoolStatus>;
    }
}
