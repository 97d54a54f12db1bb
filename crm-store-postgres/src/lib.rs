//! # crm-store-postgres
//!
//! The PostgreSQL backend of `crm-core`, for real deployments, including several stateless
//! server replicas sharing one database.
//!
//! Every invariant is settled by the database, never by a check-then-act in Rust:
//! duplicates by a partial unique index on open tickets, usernames by a partial unique index on
//! active users, status changes by one `UPDATE ... WHERE id = $1 AND status = $2 ... RETURNING`,
//! assignment by an `UPDATE` joined with a `FOR SHARE` lock on the active worker (which a
//! deactivation must wait for), deactivation and the release of open tickets in one
//! transaction. Each change writes its history event in the same statement or transaction.
//! Constraint violations map to the core errors by constraint name.
//!
//! Counts come from `ticket_counts`, a sharded counter table kept by statement triggers, so
//! list totals and statistics never count a million rows; title search uses a `pg_trgm` index.
//!
//! Migrations are embedded and run by [`PgStore::connect`] (concurrent replicas serialise on
//! sqlx's advisory lock). Queries are checked at run time, so building never needs a database.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    Client, ClientId, Event, EventId, EventKind, NewTicket, NewUser, Page, Role, StatCounts,
    StoreError, StoreHealth, Ticket, TicketId, TicketProgress, TicketQuery, TicketStatus,
    TicketStore, TrackingCode, Transition, User, UserCredentials, UserId, UserQuery, UserRecord,
    UserStore, Visibility,
    input::{Username, fold_case},
};
use sqlx::{
    ConnectOptions, FromRow, PgPool, Postgres, QueryBuilder,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use std::{str::FromStr, time::Duration};

/// Settings of the connection pool.
#[derive(Debug, Clone)]
pub struct PgSettings {
    /// Most connections the pool opens (the races of many requests need several).
    pub max_connections: u32,
    /// How long a query waits for a free connection, or for the database to answer a connect,
    /// before it fails with [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The PostgreSQL backend. Clones share one pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// `host:port`, for error messages that never carry credentials.
    target: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// Parses a database URL. The seed system's `postgresql+asyncpg://` form is accepted too.
pub fn parse_url(url: &str) -> Result<PgConnectOptions, StoreError> {
    let url = url
        .strip_prefix("postgresql+asyncpg://")
        .map(|rest| format!("postgres://{rest}"))
        .unwrap_or_else(|| url.to_owned());
    PgConnectOptions::from_str(&url)
        .map(|o| o.log_statements(tracing::log::LevelFilter::Trace))
        // The parser's message may quote the URL, password included: say only what it is.
        .map_err(|_| {
            StoreError::Unavailable("the database URL is not a valid postgres:// URL".into())
        })
}

impl PgStore {
    /// Connects with default settings and runs the embedded migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(parse_url(url)?, PgSettings::default()).await
    }

    /// Connects and runs the embedded migrations. A database that cannot be reached is one
    /// [`StoreError::Unavailable`] naming host and port, never the password.
    pub async fn connect_with(
        options: PgConnectOptions,
        settings: PgSettings,
    ) -> Result<Self, StoreError> {
        let target = format!("{}:{}", options.get_host(), options.get_port());
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            // Checked out connections are pinged, so a pool that lost the database drops dead
            // connections and reconnects by itself once it is back.
            .test_before_acquire(true)
            .connect_with(options)
            .await
            .map_err(|e| unavailable(&target, &e))?;
        let store = Self { pool, target };
        store.migrate().await?;
        Ok(store)
    }

    /// Wraps an existing pool (migrations are not run; call [`PgStore::migrate`]).
    pub fn from_pool(pool: PgPool) -> Self {
        let opts = pool.connect_options();
        let target = format!("{}:{}", opts.get_host(), opts.get_port());
        Self { pool, target }
    }

    /// Applies the embedded migrations that the database does not have yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .map_err(|e| match e {
                sqlx::migrate::MigrateError::Execute(e) => self.err(e),
                other => StoreError::Backend(Box::new(other)),
            })
    }

    /// The pool, for embedders' own queries and for closing it at shutdown.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection, waiting for checked-out ones to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    fn err(&self, e: sqlx::Error) -> StoreError {
        map_err(&self.target, e)
    }
}

fn unavailable(target: &str, e: &sqlx::Error) -> StoreError {
    let why = match e {
        sqlx::Error::PoolTimedOut => "timed out".to_owned(),
        sqlx::Error::Io(io) => io.kind().to_string(),
        sqlx::Error::Tls(_) => "TLS failure".to_owned(),
        sqlx::Error::Database(db) => db.message().to_owned(),
        _ => "connection failed".to_owned(),
    };
    StoreError::Unavailable(format!("cannot reach PostgreSQL at {target}: {why}"))
}

fn map_err(target: &str, e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) => match db.constraint() {
            Some("tickets_open_dedup_key") => StoreError::DuplicateTicket,
            Some("users_active_username_key") => StoreError::UsernameTaken,
            // Authentication and "database does not exist" arrive as database errors too.
            _ if db.code().is_some_and(|c| {
                c.starts_with("28") || c == "3D000" || c.starts_with("08") || c == "57P03"
            }) =>
            {
                unavailable(target, &e)
            }
            _ => StoreError::Backend(Box::new(e)),
        },
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => unavailable(target, &e),
        _ => StoreError::Backend(Box::new(e)),
    }
}

/// The staff view of a ticket, joined with its client. Every ticket query selects exactly these.
const TICKET_COLUMNS: &str = "t.id, t.title, t.description, t.status, t.viewed, t.worker_id, \
    t.created_at, t.updated_at, t.assigned_at, t.in_progress_at, t.done_at, t.requester_ip, \
    t.requester_ua, t.tracking_code, c.id AS client_id, c.name AS client_name, \
    c.email AS client_email, c.phone AS client_phone, c.created_at AS client_created_at";

#[derive(FromRow)]
struct TicketRow {
    id: i64,
    title: String,
    description: String,
    status: String,
    viewed: bool,
    worker_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    assigned_at: Option<DateTime<Utc>>,
    in_progress_at: Option<DateTime<Utc>>,
    done_at: Option<DateTime<Utc>>,
    requester_ip: Option<String>,
    requester_ua: Option<String>,
    tracking_code: String,
    client_id: i64,
    client_name: String,
    client_email: String,
    client_phone: Option<String>,
    client_created_at: DateTime<Utc>,
}

fn status(s: &str) -> Result<TicketStatus, StoreError> {
    s.parse().map_err(|e: String| StoreError::Backend(e.into()))
}

impl TryFrom<TicketRow> for Ticket {
    type Error = StoreError;
    fn try_from(r: TicketRow) -> Result<Self, StoreError> {
        Ok(Ticket {
            id: TicketId(r.id),
            title: r.title,
            description: r.description,
            status: status(&r.status)?,
            viewed: r.viewed,
            client: Client {
                id: ClientId(r.client_id),
                name: r.client_name,
                email: r.client_email,
                phone: r.client_phone,
                created_at: r.client_created_at,
            },
            worker_id: r.worker_id.map(UserId),
            created_at: r.created_at,
            updated_at: r.updated_at,
            assigned_at: r.assigned_at,
            in_progress_at: r.in_progress_at,
            done_at: r.done_at,
            requester_ip: r.requester_ip,
            requester_ua: r.requester_ua,
            tracking_code: TrackingCode::from_stored(r.tracking_code),
        })
    }
}

#[derive(FromRow)]
struct EventRow {
    id: i64,
    ticket_id: i64,
    at: DateTime<Utc>,
    kind: String,
    actor_id: Option<i64>,
    worker_id: Option<i64>,
    from_status: Option<String>,
    to_status: Option<String>,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self, StoreError> {
        Ok(Event {
            id: EventId(r.id),
            ticket_id: TicketId(r.ticket_id),
            at: r.at,
            kind: EventKind::parse(&r.kind).ok_or_else(|| {
                StoreError::Backend(format!("unknown event kind {}", r.kind).into())
            })?,
            actor_id: r.actor_id.map(UserId),
            worker_id: r.worker_id.map(UserId),
            from_status: r.from_status.as_deref().map(status).transpose()?,
            to_status: r.to_status.as_deref().map(status).transpose()?,
        })
    }
}

#[derive(FromRow)]
struct UserRow {
    id: i64,
    username: String,
    role: String,
    created_at: DateTime<Utc>,
    active: bool,
    password_hash: String,
}

impl UserRow {
    fn user(&self) -> Result<User, StoreError> {
        Ok(User {
            id: UserId(self.id),
            username: self.username.clone(),
            role: self
                .role
                .parse()
                .map_err(|e: String| StoreError::Backend(e.into()))?,
            created_at: self.created_at,
        })
    }
}

const USER_COLUMNS: &str = "id, username, role, created_at, active, password_hash";

/// The worker a query is scoped to, as a nullable parameter: `NULL` sees everything.
fn scope(v: Visibility) -> Option<i64> {
    match v {
        Visibility::All => None,
        Visibility::AssignedTo(w) => Some(w.0),
    }
}

impl PgStore {
    async fn fetch_ticket(
        &self,
        id: TicketId,
        visibility: Visibility,
    ) -> Result<Ticket, StoreError> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t JOIN clients c ON c.id = t.client_id \
             WHERE t.id = $1 AND ($2::bigint IS NULL OR t.worker_id = $2)"
        );
        sqlx::query_as::<_, TicketRow>(&sql)
            .bind(id.0)
            .bind(scope(visibility))
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))?
            .ok_or(StoreError::NotFound)?
            .try_into()
    }

    async fn total_without_search(
        &self,
        worker: Option<i64>,
        status: Option<TicketStatus>,
    ) -> Result<u64, StoreError> {
        let n: Option<i64> = sqlx::query_scalar(
            "SELECT sum(n)::bigint FROM ticket_counts \
             WHERE ($1::bigint IS NULL OR worker_id = $1) AND ($2::text IS NULL OR status = $2)",
        )
        .bind(worker)
        .bind(status.map(TicketStatus::as_str))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }
}

/// Appends the filters of a ticket list to a query over `tickets t` (or, with a search, over
/// its narrow copy `ticket_search t`, whose status is a code).
fn push_filters(q: &mut QueryBuilder<'_, Postgres>, worker: Option<i64>, query: &TicketQuery) {
    q.push(" WHERE TRUE");
    if let Some(w) = worker {
        q.push(" AND t.worker_id = ").push_bind(w);
    }
    match (&query.filter.search, query.filter.status) {
        (Some(_), Some(s)) => {
            q.push(" AND t.status = status_code(")
                .push_bind(s.as_str())
                .push(")");
        }
        (None, Some(s)) => {
            q.push(" AND t.status = ").push_bind(s.as_str());
        }
        _ => {}
    }
    if let Some(search) = &query.filter.search {
        q.push(" AND t.title LIKE ")
            .push_bind(search.like_pattern());
    }
}

#[async_trait]
impl TicketStore for PgStore {
    #[tracing::instrument(skip_all, err)]
    async fn create_ticket(&self, new: NewTicket) -> Result<Ticket, StoreError> {
        let s = &new.submission;
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        // Find or create the client. ON CONFLICT waits for a racing first request to commit;
        // the follow-up read then sees its row. An existing client is never updated.
        let client: Option<(i64, String, String, Option<String>, DateTime<Utc>)> = sqlx::query_as(
            "INSERT INTO clients (name, email, email_key, phone, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email_key) DO NOTHING \
             RETURNING id, name, email, phone, created_at",
        )
        .bind(s.client_name.as_str())
        .bind(s.client_email.as_str())
        .bind(s.client_email.key())
        .bind(s.client_phone.as_ref().map(|p| p.as_str()))
        .bind(new.created_at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| self.err(e))?;
        let client = match client {
            Some(c) => c,
            None => sqlx::query_as(
                "SELECT id, name, email, phone, created_at FROM clients WHERE email_key = $1",
            )
            .bind(s.client_email.key())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.err(e))?,
        };
        let (id,): (i64,) = sqlx::query_as(
            "WITH t AS ( \
                INSERT INTO tickets (title, title_folded, description, status, client_id, created_at, \
                                     updated_at, requester_ip, requester_ua, tracking_code) \
                VALUES ($1, $8, $2, 'new', $3, $4, $4, $5, $6, $7) RETURNING id) \
             , e AS (INSERT INTO ticket_events (ticket_id, at, kind) \
                     SELECT id, $4, 'submitted' FROM t) \
             SELECT id FROM t",
        )
        .bind(s.title.as_str())
        .bind(s.description.as_str())
        .bind(client.0)
        .bind(new.created_at)
        .bind(s.requester_ip.as_deref())
        .bind(s.requester_ua.as_deref())
        .bind(new.tracking_code.as_str())
        .bind(fold_case(s.title.as_str()))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| self.err(e))?;
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(Ticket {
            id: TicketId(id),
            title: s.title.as_str().to_owned(),
            description: s.description.as_str().to_owned(),
            status: TicketStatus::New,
            viewed: false,
            client: Client {
                id: ClientId(client.0),
                name: client.1,
                email: client.2,
                phone: client.3,
                created_at: client.4,
            },
            worker_id: None,
            created_at: new.created_at,
            updated_at: new.created_at,
            assigned_at: None,
            in_progress_at: None,
            done_at: None,
            requester_ip: s.requester_ip.clone(),
            requester_ua: s.requester_ua.clone(),
            tracking_code: new.tracking_code,
        })
    }

    #[tracing::instrument(skip_all, err, fields(ticket_id = %id))]
    async fn get_ticket(&self, id: TicketId, visibility: Visibility) -> Result<Ticket, StoreError> {
        self.fetch_ticket(id, visibility).await
    }

    #[tracing::instrument(skip_all, err, fields(ticket_id = %id))]
    async fn open_ticket(
        &self,
        id: TicketId,
        visibility: Visibility,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<Ticket, StoreError> {
        // One statement: mark the first view and record it; the outer query reads the row as
        // it was and overlays what the update changed (a CTE's writes are not visible to it).
        let sql = format!(
            "WITH v AS ( \
                UPDATE tickets SET viewed = TRUE, updated_at = $3 \
                WHERE id = $1 AND NOT viewed AND ($2::bigint IS NULL OR worker_id = $2) \
                RETURNING id), \
             e AS (INSERT INTO ticket_events (ticket_id, at, kind, actor_id) \
                   SELECT id, $3, 'viewed', $4 FROM v) \
             SELECT {cols} FROM tickets t JOIN clients c ON c.id = t.client_id \
             LEFT JOIN v ON v.id = t.id \
             WHERE t.id = $1 AND ($2::bigint IS NULL OR t.worker_id = $2)",
            cols = TICKET_COLUMNS
                .replace("t.viewed,", "(t.viewed OR v.id IS NOT NULL) AS viewed,")
                .replace(
                    "t.updated_at,",
                    "CASE WHEN v.id IS NULL THEN t.updated_at ELSE $3 END AS updated_at,"
                )
        );
        sqlx::query_as::<_, TicketRow>(&sql)
            .bind(id.0)
            .bind(scope(visibility))
            .bind(at)
            .bind(actor.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))?
            .ok_or(StoreError::NotFound)?
            .try_into()
    }

    #[tracing::instrument(skip_all, err, fields(ticket_id = %change.ticket_id))]
    async fn transition(&self, change: Transition) -> Result<Ticket, StoreError> {
        let sql = format!(
            "WITH t AS ( \
                UPDATE tickets SET status = $4, updated_at = $5, \
                    in_progress_at = CASE WHEN $4 = 'in_progress' THEN $5 ELSE in_progress_at END, \
                    done_at = CASE WHEN $4 = 'done' THEN $5 ELSE done_at END \
                WHERE id = $1 AND status = $2 AND worker_id IS NOT DISTINCT FROM $3 \
                RETURNING *), \
             e AS (INSERT INTO ticket_events (ticket_id, at, kind, actor_id, from_status, to_status) \
                   SELECT id, $5, 'status_changed', $6, $2, $4 FROM t) \
             SELECT {TICKET_COLUMNS} FROM t JOIN clients c ON c.id = t.client_id"
        );
        let row = sqlx::query_as::<_, TicketRow>(&sql)
            .bind(change.ticket_id.0)
            .bind(change.expected.status.as_str())
            .bind(change.expected.worker_id.map(|w| w.0))
            .bind(change.next.as_str())
            .bind(change.at)
            .bind(change.actor.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        match row {
            Some(r) => r.try_into(),
            // Nothing matched: the ticket is gone or no longer in the expected state.
            None => match self.fetch_ticket(change.ticket_id, Visibility::All).await {
                Ok(_) => Err(StoreError::Stale),
                Err(e) => Err(e),
            },
        }
    }

    #[tracing::instrument(skip_all, err, fields(ticket_id = %id, worker_id = %worker))]
    async fn assign(
        &self,
        id: TicketId,
        worker: UserId,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<Ticket, StoreError> {
        // The FOR SHARE lock on the worker row conflicts with a deactivation's row lock: either
        // the deactivation waits for this assignment to commit (and then releases the ticket),
        // or this statement waits for the deactivation and then finds no active worker.
        let sql = format!(
            "WITH w AS (SELECT id FROM users WHERE id = $2 AND active AND role = 'worker' FOR SHARE), \
             t AS ( \
                UPDATE tickets SET worker_id = w.id, assigned_at = $3, updated_at = $3 FROM w \
                WHERE tickets.id = $1 AND tickets.status <> 'done' \
                  AND tickets.worker_id IS DISTINCT FROM w.id \
                RETURNING tickets.*), \
             e AS (INSERT INTO ticket_events (ticket_id, at, kind, actor_id, worker_id) \
                   SELECT id, $3, 'assigned', $4, worker_id FROM t) \
             SELECT {TICKET_COLUMNS} FROM t JOIN clients c ON c.id = t.client_id"
        );
        let row = sqlx::query_as::<_, TicketRow>(&sql)
            .bind(id.0)
            .bind(worker.0)
            .bind(at)
            .bind(actor.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        if let Some(r) = row {
            return r.try_into();
        }
        // Nothing changed: say why, in the contract's order.
        let ticket = self.fetch_ticket(id, Visibility::All).await?;
        let usable: Option<bool> =
            sqlx::query_scalar("SELECT active AND role = 'worker' FROM users WHERE id = $1")
                .bind(worker.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
        if usable != Some(true) {
            Err(StoreError::WorkerUnavailable)
        } else if !ticket.status.is_open() {
            Err(StoreError::TicketClosed)
        } else if ticket.worker_id == Some(worker) {
            Ok(ticket)
        } else {
            // The ticket changed between the attempt and this read; the caller may retry.
            Err(StoreError::Stale)
        }
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_tickets(&self, query: &TicketQuery) -> Result<Page<Ticket>, StoreError> {
        let f = &query.filter;
        let worker = match (query.visibility, f.worker_id) {
            (Visibility::AssignedTo(me), Some(w)) if me != w => {
                return Ok(query.page.page_of(Vec::new(), 0));
            }
            (Visibility::AssignedTo(me), _) => Some(me.0),
            (Visibility::All, w) => w.map(|w| w.0),
        };
        // The page's ids come from an index walk (an index-only scan for deep pages) before
        // the join, so an OFFSET never joins the rows it skips.
        let source = if f.search.is_some() {
            "ticket_search"
        } else {
            "tickets"
        };
        let mut items_q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {TICKET_COLUMNS} FROM (SELECT t.id FROM {source} t"
        ));
        push_filters(&mut items_q, worker, query);
        items_q
            .push(" ORDER BY t.created_at DESC, t.id DESC LIMIT ")
            .push_bind(i64::from(query.page.size()))
            .push(" OFFSET ")
            .push_bind(i64::try_from(query.page.offset()).unwrap_or(i64::MAX))
            .push(
                ") p JOIN tickets t ON t.id = p.id JOIN clients c ON c.id = t.client_id \
                 ORDER BY t.created_at DESC, t.id DESC",
            );
        let items = async {
            items_q
                .build_query_as::<TicketRow>()
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.err(e))
        };
        let total = async {
            if f.search.is_none() {
                return self.total_without_search(worker, f.status).await;
            }
            let mut count_q = QueryBuilder::<Postgres>::new("SELECT count(*) FROM ticket_search t");
            push_filters(&mut count_q, worker, query);
            let n: i64 = count_q
                .build_query_scalar()
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
            Ok(n as u64)
        };
        // The page and its total on two pool connections at once.
        let (items, total) = tokio::join!(items, total);
        let items = items?
            .into_iter()
            .map(Ticket::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(query.page.page_of(items, total?))
    }

    #[tracing::instrument(skip_all, err)]
    async fn ticket_stats(&self, worker: Option<UserId>) -> Result<StatCounts, StoreError> {
        let rows: Vec<(String, i64, f64)> = sqlx::query_as(
            "SELECT status, sum(n)::bigint, sum(resolution_micros)::float8 FROM ticket_counts \
             WHERE ($1::bigint IS NULL OR worker_id = $1) GROUP BY status",
        )
        .bind(worker.map(|w| w.0))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        let mut c = StatCounts::default();
        for (s, n, micros) in rows {
            let n = n.max(0) as u64;
            match status(&s)? {
                TicketStatus::New => c.new = n,
                TicketStatus::InProgress => c.in_progress = n,
                TicketStatus::Done => {
                    c.done = n;
                    c.resolution_micros_sum = micros.round() as i128;
                }
            }
        }
        Ok(c)
    }

    #[tracing::instrument(skip_all, err)]
    async fn track(&self, code: &TrackingCode) -> Result<TicketProgress, StoreError> {
        let row: Option<(
            i64,
            String,
            bool,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        )> = sqlx::query_as(
            "SELECT id, status, worker_id IS NOT NULL, created_at, in_progress_at, done_at \
                 FROM tickets WHERE tracking_code = $1",
        )
        .bind(code.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        let (id, s, assigned, created_at, in_progress_at, done_at) =
            row.ok_or(StoreError::NotFound)?;
        Ok(TicketProgress {
            id: TicketId(id),
            status: status(&s)?,
            assigned,
            created_at,
            in_progress_at,
            done_at,
        })
    }

    #[tracing::instrument(skip_all, err, fields(ticket_id = %id))]
    async fn history(
        &self,
        id: TicketId,
        visibility: Visibility,
    ) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT e.id, e.ticket_id, e.at, e.kind, e.actor_id, e.worker_id, e.from_status, e.to_status \
             FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id \
             WHERE t.id = $1 AND ($2::bigint IS NULL OR t.worker_id = $2) ORDER BY e.id",
        )
        .bind(id.0)
        .bind(scope(visibility))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        if rows.is_empty() {
            return Err(StoreError::NotFound);
        }
        rows.into_iter().map(Event::try_from).collect()
    }
}

#[async_trait]
impl UserStore for PgStore {
    #[tracing::instrument(skip_all, err)]
    async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        let sql = format!(
            "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING {USER_COLUMNS}"
        );
        let row: UserRow = sqlx::query_as(&sql)
            .bind(new.username.as_str())
            .bind(&new.password_hash)
            .bind(new.role.as_str())
            .bind(new.created_at)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        row.user()
    }

    #[tracing::instrument(skip_all, err)]
    async fn seed_users(&self, users: Vec<NewUser>) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        // A self-conflicting lock: replicas starting together take turns, and only the first
        // finds the table empty.
        sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        if any {
            return Ok(false);
        }
        for u in users {
            sqlx::query(
                "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(u.username.as_str())
            .bind(&u.password_hash)
            .bind(u.role.as_str())
            .bind(u.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        }
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(true)
    }

    #[tracing::instrument(skip_all, err, fields(user_id = %id))]
    async fn find_user(&self, id: UserId) -> Result<UserRecord, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: UserRow = sqlx::query_as(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))?
            .ok_or(StoreError::NotFound)?;
        Ok(UserRecord {
            user: row.user()?,
            active: row.active,
        })
    }

    #[tracing::instrument(skip_all, err)]
    async fn credentials(
        &self,
        username: &Username,
    ) -> Result<Option<UserCredentials>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE lower(username) = $1 AND active");
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(username.key())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        row.map(|r| {
            Ok(UserCredentials {
                user: r.user()?,
                password_hash: r.password_hash,
            })
        })
        .transpose()
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError> {
        // Staff accounts are few: the page and its count are two small queries on one filter.
        const FILTER: &str = "WHERE active AND ($1::text IS NULL OR role = $1) \
                              AND ($2::text IS NULL OR lower(username) LIKE $2)";
        let role = query.role.map(Role::as_str);
        let search = query.search.as_ref().map(|s| s.like_pattern());
        let page_sql = format!(
            "SELECT {USER_COLUMNS} FROM users {FILTER} ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let count_sql = format!("SELECT count(*) FROM users {FILTER}");
        let rows: Vec<UserRow> = sqlx::query_as(&page_sql)
            .bind(role)
            .bind(&search)
            .bind(i64::from(query.page.size()))
            .bind(i64::try_from(query.page.offset()).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        let total: i64 = sqlx::query_scalar(&count_sql)
            .bind(role)
            .bind(&search)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        let items = rows.iter().map(UserRow::user).collect::<Result<_, _>>()?;
        Ok(query.page.page_of(items, total as u64))
    }

    #[tracing::instrument(skip_all, err, fields(user_id = %id))]
    async fn deactivate_user(
        &self,
        id: UserId,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        // Roles never change, so reading it unlocked is safe.
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM users WHERE id = $1 AND active")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| self.err(e))?;
        let Some(role) = role else {
            return Err(StoreError::NotFound);
        };
        if role == "admin" {
            // Lock every active admin, in id order (so concurrent deletions queue instead of
            // deadlocking), then decide on what the locks protect.
            let admins: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM users WHERE role = 'admin' AND active ORDER BY id FOR UPDATE",
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
            if !admins.contains(&id.0) {
                return Err(StoreError::NotFound);
            }
            if admins.len() <= 1 {
                return Err(StoreError::LastAdmin);
            }
        }
        let done = sqlx::query(
            "UPDATE users SET active = FALSE, deactivated_at = $2 WHERE id = $1 AND active",
        )
        .bind(id.0)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.err(e))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        // Release its open tickets and record each release, in the same transaction.
        let released: i64 = sqlx::query_scalar(
            "WITH old AS ( \
                SELECT id, status FROM tickets WHERE worker_id = $1 AND status <> 'done' \
                ORDER BY id FOR UPDATE), \
             r AS ( \
                UPDATE tickets t SET status = 'new', worker_id = NULL, assigned_at = NULL, \
                    in_progress_at = NULL, updated_at = $2 \
                FROM old WHERE t.id = old.id RETURNING t.id, old.status AS from_status), \
             e AS (INSERT INTO ticket_events (ticket_id, at, kind, actor_id, worker_id, from_status, to_status) \
                   SELECT id, $2, 'released', $3, $1, from_status, 'new' FROM r) \
             SELECT count(*) FROM r",
        )
        .bind(id.0)
        .bind(at)
        .bind(actor.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| self.err(e))?;
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(released as u64)
    }
}

#[async_trait]
impl StoreHealth for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}
