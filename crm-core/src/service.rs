//! The facade embedders call. It takes the authenticated [`Actor`], enforces every rule of the
//! product contract, and leaves each atomic step to the store.

use crate::{
    clock::{Clock, SystemClock},
    error::{CoreError, StoreError},
    history::Event,
    ids::{TicketId, UserId},
    input::{
        ClientName, Description, Email, Password, Phone, SearchTerm, Title, Username,
        ValidationErrors, truncate_user_agent,
    },
    page::{Page, PageRequest, TicketFilter, TicketQuery, UserQuery},
    password::{PasswordCost, Passwords},
    role::{Actor, Role},
    status::TicketStatus,
    store::{ExpectedState, Store, Transition},
    ticket::{NewTicket, Submission, Ticket, TicketProgress, TrackingCode},
    user::{NewUser, Stats, User},
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
}

/// A ticket list request as received, before validation.
#[derive(Debug, Clone, Default)]
pub struct ListTickets {
    /// 1-based page; default 1.
    pub page: Option<i64>,
    /// Page size 1-100; default 10.
    pub size: Option<i64>,
    /// Only this status.
    pub status: Option<TicketStatus>,
    /// Only this worker's tickets (workers may name only themselves).
    pub worker_id: Option<UserId>,
    /// Title substring.
    pub search: Option<String>,
}

/// A user list request as received, before validation.
#[derive(Debug, Clone, Default)]
pub struct ListUsers {
    /// 1-based page; default 1.
    pub page: Option<i64>,
    /// Page size 1-100; default 10.
    pub size: Option<i64>,
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
    /// Initial password.
    pub password: String,
    /// Powers.
    pub role: Role,
}

/// The repair-request workflow over a store. Cheap to clone: clones share the store.
pub struct Crm<S> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    passwords: Arc<Passwords>,
}

impl<S> Clone for Crm<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            clock: self.clock.clone(),
            passwords: self.passwords.clone(),
        }
    }
}

impl<S> std::fmt::Debug for Crm<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crm").finish_non_exhaustive()
    }
}

/// How often a status change re-reads and retries after losing a compare-and-set. One retry is
/// enough for a single competing change; a few more absorb bursts without looping forever.
const TRANSITION_ATTEMPTS: usize = 4;

impl<S: Store> Crm<S> {
    /// The workflow over `store`, with the wall clock and production password cost.
    pub fn new(store: S) -> Self {
        Self {
            store: Arc::new(store),
            clock: Arc::new(SystemClock),
            passwords: Arc::new(Passwords::new(PasswordCost::Default)),
        }
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

    // ----- customers -------------------------------------------------------------------------

    /// Validates and stores a customer's request. Every invalid field is reported at once;
    /// an identical open request is [`CoreError::DuplicateTicket`] and nothing is stored.
    pub async fn submit(&self, req: SubmitTicket) -> Result<Ticket, CoreError> {
        let mut errs = ValidationErrors::default();
        let title = errs.check("title", Title::parse_owned(req.title));
        let description = errs.check("description", Description::parse_owned(req.description));
        let client_name = errs.check("client.name", ClientName::parse_owned(req.client_name));
        let client_email = errs.check("client.email", Email::parse(&req.client_email));
        let client_phone = errs.check(
            "client.phone",
            Phone::parse_optional(req.client_phone.as_deref()),
        );
        let (
            Some(title),
            Some(description),
            Some(client_name),
            Some(client_email),
            Some(client_phone),
        ) = (title, description, client_name, client_email, client_phone)
        else {
            return Err(errs.into());
        };
        let new = NewTicket {
            submission: Submission {
                title,
                description,
                client_name,
                client_email,
                client_phone,
                requester_ip: req.requester_ip,
                requester_ua: req.requester_ua.as_deref().map(truncate_user_agent),
            },
            created_at: self.clock.now(),
            tracking_code: TrackingCode::generate(),
        };
        self.store.create_ticket(new).await.map_err(|e| match e {
            StoreError::DuplicateTicket => CoreError::DuplicateTicket,
            other => CoreError::from_store(other),
        })
    }

    /// The progress view for a tracking code; any malformed or unknown code is `not_found`.
    pub async fn track(&self, code: &str) -> Result<TicketProgress, CoreError> {
        let code = TrackingCode::parse(code).ok_or(CoreError::NotFound("Request"))?;
        self.store.track(&code).await.map_err(not_found("Request"))
    }

    // ----- staff: tickets --------------------------------------------------------------------

    /// Opens a ticket the actor may see, marking it viewed on first opening.
    pub async fn get_ticket(&self, actor: &Actor, id: TicketId) -> Result<Ticket, CoreError> {
        self.store
            .open_ticket(id, actor.visibility(), actor.id, self.clock.now())
            .await
            .map_err(not_found("Ticket"))
    }

    /// Lists tickets the actor may see. A worker's scope is ANDed into the query; a worker
    /// asking for another worker's tickets is [`CoreError::Forbidden`].
    pub async fn list_tickets(
        &self,
        actor: &Actor,
        req: ListTickets,
    ) -> Result<Page<Ticket>, CoreError> {
        let mut errs = ValidationErrors::default();
        let page = match PageRequest::new(req.page, req.size) {
            Ok(p) => Some(p),
            Err(e) => {
                errs.0.extend(e.0);
                None
            }
        };
        let search = errs.check(
            "search",
            SearchTerm::parse(req.search.as_deref().unwrap_or("")),
        );
        let (Some(page), Some(search)) = (page, search) else {
            return Err(errs.into());
        };
        if !actor.is_admin() && req.worker_id.is_some_and(|w| w != actor.id) {
            return Err(CoreError::Forbidden(
                "Workers can only list their own tickets.",
            ));
        }
        let query = TicketQuery {
            visibility: actor.visibility(),
            filter: TicketFilter {
                status: req.status,
                worker_id: req.worker_id,
                search,
            },
            page,
        };
        self.store
            .list_tickets(&query)
            .await
            .map_err(CoreError::from_store)
    }

    /// Assigns a ticket to an active worker (admins only). Does not change the status.
    pub async fn assign(
        &self,
        actor: &Actor,
        id: TicketId,
        worker: UserId,
    ) -> Result<Ticket, CoreError> {
        require_admin(actor, "Only admins can assign tickets.")?;
        self.store
            .assign(id, worker, actor.id, self.clock.now())
            .await
            .map_err(|e| match e {
                StoreError::NotFound => CoreError::NotFound("Ticket"),
                StoreError::TicketClosed => CoreError::TicketClosed,
                StoreError::WorkerUnavailable => CoreError::InvalidWorker,
                other => CoreError::from_store(other),
            })
    }

    /// Moves a ticket along the state machine. Asking for the status it already has returns it
    /// unchanged (a safe retry). Racing changes apply once: the store compares and sets the
    /// state the rules were checked against, and a loser re-reads and decides again.
    pub async fn change_status(
        &self,
        actor: &Actor,
        id: TicketId,
        next: TicketStatus,
    ) -> Result<Ticket, CoreError> {
        let mut last_err = None;
        for _ in 0..TRANSITION_ATTEMPTS {
            let ticket = self
                .store
                .get_ticket(id, actor.visibility())
                .await
                .map_err(not_found("Ticket"))?;
            if ticket.status == next {
                return Ok(ticket);
            }
            if !ticket.status.can_become(next) {
                return Err(CoreError::InvalidTransition {
                    from: ticket.status,
                    to: next,
                });
            }
            if next == TicketStatus::InProgress && ticket.worker_id.is_none() {
                return Err(CoreError::Validation(ValidationErrors::one(
                    "new_status",
                    "Assign the ticket to a worker before starting it.",
                )));
            }
            let change = Transition {
                ticket_id: id,
                expected: ExpectedState {
                    status: ticket.status,
                    worker_id: ticket.worker_id,
                },
                next,
                actor: actor.id,
                at: self.clock.now(),
            };
            match self.store.transition(change).await {
                Ok(t) => return Ok(t),
                Err(StoreError::Stale) => last_err = Some(StoreError::Stale),
                Err(e) => return Err(not_found("Ticket")(e)),
            }
        }
        Err(CoreError::Internal(last_err.unwrap_or(StoreError::Stale)))
    }

    /// A ticket's history, oldest first, for staff who may see the ticket.
    pub async fn history(&self, actor: &Actor, id: TicketId) -> Result<Vec<Event>, CoreError> {
        self.store
            .history(id, actor.visibility())
            .await
            .map_err(not_found("Ticket"))
    }

    /// Status counts and mean resolution time, for one worker or overall (admins only).
    /// An id that is not a worker's (active or deleted) is `not_found`.
    pub async fn stats(&self, actor: &Actor, worker: Option<UserId>) -> Result<Stats, CoreError> {
        require_admin(actor, "Only admins can read statistics.")?;
        if let Some(w) = worker {
            let rec = self.store.find_user(w).await.map_err(not_found("Worker"))?;
            if rec.user.role != Role::Worker {
                return Err(CoreError::NotFound("Worker"));
            }
        }
        let counts = self
            .store
            .ticket_stats(worker)
            .await
            .map_err(CoreError::from_store)?;
        Ok(counts.into_stats(worker))
    }

    // ----- staff: accounts -------------------------------------------------------------------

    /// Creates an account (admins only). The password is hashed with argon2id off the runtime.
    pub async fn create_user(
        &self,
        actor: &Actor,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<User, CoreError> {
        require_admin(actor, "Only admins can create accounts.")?;
        let new = self.new_user(username, password, role).await?;
        self.store.create_user(new).await.map_err(|e| match e {
            StoreError::UsernameTaken => CoreError::UsernameTaken,
            other => CoreError::from_store(other),
        })
    }

    /// Lists active accounts (admins only).
    pub async fn list_users(&self, actor: &Actor, req: ListUsers) -> Result<Page<User>, CoreError> {
        require_admin(actor, "Only admins can list accounts.")?;
        let mut errs = ValidationErrors::default();
        let page = match PageRequest::new(req.page, req.size) {
            Ok(p) => Some(p),
            Err(e) => {
                errs.0.extend(e.0);
                None
            }
        };
        let search = errs.check(
            "search",
            SearchTerm::parse(req.search.as_deref().unwrap_or("")),
        );
        let (Some(page), Some(search)) = (page, search) else {
            return Err(errs.into());
        };
        let query = UserQuery {
            search,
            role: req.role,
            page,
        };
        self.store
            .list_users(&query)
            .await
            .map_err(CoreError::from_store)
    }

    /// Deletes (deactivates) an account (admins only) and releases its open tickets. An admin
    /// cannot delete itself, and the last active admin cannot be deleted. Returns how many
    /// tickets went back to the queue.
    pub async fn delete_user(&self, actor: &Actor, id: UserId) -> Result<u64, CoreError> {
        require_admin(actor, "Only admins can delete accounts.")?;
        if id == actor.id {
            return Err(CoreError::CannotDeleteSelf);
        }
        self.store
            .deactivate_user(id, actor.id, self.clock.now())
            .await
            .map_err(|e| match e {
                StoreError::NotFound => CoreError::NotFound("User"),
                StoreError::LastAdmin => CoreError::LastAdmin,
                other => CoreError::from_store(other),
            })
    }

    // ----- authentication --------------------------------------------------------------------

    /// Checks a username and password. Unknown users, deleted users, malformed usernames and
    /// wrong passwords all answer [`CoreError::InvalidCredentials`] after the same argon2 work.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<User, CoreError> {
        let creds = match Username::parse(username) {
            Ok(u) => self
                .store
                .credentials(&u)
                .await
                .map_err(CoreError::from_store)?,
            Err(_) => None,
        };
        let (user, hash) = match creds {
            Some(c) => (Some(c.user), Some(c.password_hash)),
            None => (None, None),
        };
        if self.passwords.verify(hash, password.to_owned()).await {
            user.ok_or(CoreError::InvalidCredentials)
        } else {
            Err(CoreError::InvalidCredentials)
        }
    }

    /// Loads the actor for a verified token subject: the user must still exist and be active,
    /// and its role is read from the store, never trusted from the token.
    pub async fn actor(&self, id: UserId) -> Result<(Actor, User), CoreError> {
        match self.store.find_user(id).await {
            Ok(rec) if rec.active => Ok((
                Actor {
                    id: rec.user.id,
                    role: rec.user.role,
                },
                rec.user,
            )),
            Ok(_) | Err(StoreError::NotFound) => Err(CoreError::Unauthenticated),
            Err(e) => Err(CoreError::from_store(e)),
        }
    }

    /// Creates the given accounts if, and only if, the store has no users at all (first start).
    /// Safe when several replicas start at once. Returns whether they were created.
    pub async fn ensure_default_accounts(
        &self,
        accounts: &[DefaultAccount],
    ) -> Result<bool, CoreError> {
        // Every restart after the first finds accounts: skip the argon2 work then. The seeding
        // below stays atomic on its own; this read only saves time.
        let existing = self
            .store
            .list_users(&UserQuery {
                page: PageRequest::new(Some(1), Some(1))?,
                ..UserQuery::default()
            })
            .await
            .map_err(CoreError::from_store)?;
        if existing.total > 0 {
            return Ok(false);
        }
        let mut users = Vec::with_capacity(accounts.len());
        for a in accounts {
            users.push(self.new_user(&a.username, &a.password, a.role).await?);
        }
        self.store.seed_users(users).await.map_err(|e| match e {
            StoreError::UsernameTaken => CoreError::UsernameTaken,
            other => CoreError::from_store(other),
        })
    }

    /// Whether the store answers.
    pub async fn ready(&self) -> Result<(), CoreError> {
        self.store.ping().await.map_err(CoreError::from_store)
    }

    async fn new_user(
        &self,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<NewUser, CoreError> {
        let mut errs = ValidationErrors::default();
        let username = errs.check("username", Username::parse(username));
        let password = errs.check("password", Password::parse(password));
        let (Some(username), Some(password)) = (username, password) else {
            return Err(errs.into());
        };
        Ok(NewUser {
            username,
            password_hash: self.passwords.hash(password.expose().to_owned()).await,
            role,
            created_at: self.clock.now(),
        })
    }
}

fn require_admin(actor: &Actor, why: &'static str) -> Result<(), CoreError> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(CoreError::Forbidden(why))
    }
}

fn not_found(what: &'static str) -> impl Fn(StoreError) -> CoreError {
    move |e| match e {
        StoreError::NotFound => CoreError::NotFound(what),
        other => CoreError::from_store(other),
    }
}

#[cfg(test)]
mod tests {
    //! Cases only an injected storage failure can produce.
    use super::*;
    use crate::{
        ids::ClientId,
        store::MockStore,
        ticket::{Client, TrackingCode},
    };
    use chrono::Utc;

    fn crm(store: MockStore) -> Crm<MockStore> {
        Crm::new(store).with_password_cost(PasswordCost::Fast)
    }

    fn ticket(status: TicketStatus, worker: Option<UserId>) -> Ticket {
        let now = Utc::now();
        Ticket {
            id: TicketId(1),
            title: "t".into(),
            description: "d".into(),
            status,
            viewed: false,
            client: Client {
                id: ClientId(1),
                name: "n".into(),
                email: "e@example.com".into(),
                phone: None,
                created_at: now,
            },
            worker_id: worker,
            created_at: now,
            updated_at: now,
            assigned_at: None,
            in_progress_at: None,
            done_at: None,
            requester_ip: None,
            requester_ua: None,
            tracking_code: TrackingCode::generate(),
        }
    }

    fn submission() -> SubmitTicket {
        SubmitTicket {
            title: "Broken".into(),
            description: "It is broken".into(),
            client_name: "Ann".into(),
            client_email: "ann@example.com".into(),
            ..Default::default()
        }
    }

    const ADMIN: Actor = Actor {
        id: UserId(1),
        role: Role::Admin,
    };

    #[tokio::test]
    async fn unreachable_store_is_unavailable_and_other_failures_are_internal() {
        let mut store = MockStore::new();
        store
            .expect_create_ticket()
            .times(1)
            .returning(|_| Err(StoreError::Unavailable("127.0.0.1:5432".into())));
        store
            .expect_create_ticket()
            .times(1)
            .returning(|_| Err(StoreError::Backend("disk full".into())));
        let crm = crm(store);
        let e = crm.submit(submission()).await.unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("unavailable", 503));
        let e = crm.submit(submission()).await.unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("internal_error", 500));
        assert_eq!(e.to_string(), "Internal error.", "the cause is never shown");
    }

    #[tokio::test]
    async fn invalid_input_never_reaches_the_store() {
        let crm = crm(MockStore::new());
        let mut bad = submission();
        bad.client_email = "nope".into();
        assert_eq!(
            crm.submit(bad).await.unwrap_err().code(),
            "validation_error"
        );
    }

    #[tokio::test]
    async fn a_lost_compare_and_set_rereads_and_settles_as_a_no_op() {
        let mut store = MockStore::new();
        let mut reads = 0;
        store.expect_get_ticket().times(2).returning(move |_, _| {
            reads += 1;
            Ok(if reads == 1 {
                ticket(TicketStatus::New, Some(UserId(2)))
            } else {
                ticket(TicketStatus::InProgress, Some(UserId(2)))
            })
        });
        store
            .expect_transition()
            .times(1)
            .returning(|_| Err(StoreError::Stale));
        let t = crm(store)
            .change_status(&ADMIN, TicketId(1), TicketStatus::InProgress)
            .await
            .unwrap();
        assert_eq!(t.status, TicketStatus::InProgress);
    }

    #[tokio::test]
    async fn endless_contention_gives_up_with_an_internal_error() {
        let mut store = MockStore::new();
        store
            .expect_get_ticket()
            .times(TRANSITION_ATTEMPTS)
            .returning(|_, _| Ok(ticket(TicketStatus::New, Some(UserId(2)))));
        store
            .expect_transition()
            .times(TRANSITION_ATTEMPTS)
            .returning(|_| Err(StoreError::Stale));
        let e = crm(store)
            .change_status(&ADMIN, TicketId(1), TicketStatus::InProgress)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "internal_error");
    }

    #[tokio::test]
    async fn store_failures_are_not_mistaken_for_bad_credentials_or_sessions() {
        let mut store = MockStore::new();
        store
            .expect_credentials()
            .returning(|_| Err(StoreError::Unavailable("db:5432".into())));
        store
            .expect_find_user()
            .returning(|_| Err(StoreError::Backend("boom".into())));
        let crm = crm(store);
        let e = crm.authenticate("admin", "whatever1").await.unwrap_err();
        assert_eq!(e.code(), "unavailable");
        let e = crm.actor(UserId(1)).await.unwrap_err();
        assert_eq!(e.code(), "internal_error");
    }

    #[tokio::test]
    async fn workers_are_refused_admin_operations_before_the_store_is_asked() {
        let crm = crm(MockStore::new());
        let worker = Actor {
            id: UserId(2),
            role: Role::Worker,
        };
        for e in [
            crm.assign(&worker, TicketId(1), UserId(2))
                .await
                .unwrap_err(),
            crm.stats(&worker, None).await.unwrap_err(),
            crm.create_user(&worker, "someone", "password1", Role::Admin)
                .await
                .unwrap_err(),
            crm.delete_user(&worker, UserId(3)).await.unwrap_err(),
            crm.list_users(&worker, ListUsers::default())
                .await
                .unwrap_err(),
        ] {
            assert_eq!((e.code(), e.http_status()), ("forbidden", 403));
        }
    }
}
