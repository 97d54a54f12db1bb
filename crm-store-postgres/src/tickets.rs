//! Tickets, their clients and their history. Every change is one statement or transaction
//! that writes its history event with it.

use crate::{
    PgStore,
    error::DbResult,
    rows::{
        ClientRow, EVENT_COLUMNS, EventRow, ProgressRow, StatRow, TICKET_COLUMNS, TicketRow, status,
    },
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    Client, Event, EventKind, NewTicket, Page, Role, Scope, StatCounts, StoreError, Ticket,
    TicketId, TicketProgress, TicketQuery, TicketStatus, TicketStore, TrackingCode, Transition,
    UserId, Visibility, input::fold_case,
};
use sqlx::{Postgres, QueryBuilder};

/// The worker a query is scoped to, as a nullable parameter: `NULL` sees everything.
fn visible_to(v: Visibility) -> Option<i64> {
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
            .bind(visible_to(visibility))
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(&self.target)?
            .ok_or(StoreError::NotFound)?
            .try_into()
    }
}

/// A ticket list's row: the ticket and the list's total.
#[derive(sqlx::FromRow)]
struct ListedRow {
    total: Option<i64>,
    #[sqlx(flatten)]
    ticket: TicketRow,
}

/// Appends the total of a ticket list as a scalar subquery: without a search, from the kept
/// counts (`ticket_counts`, a few rows per worker and status); with one, a count of the
/// matching rows of `ticket_search`.
fn push_total(q: &mut QueryBuilder<'_, Postgres>, worker: Option<UserId>, query: &TicketQuery) {
    if query.filter.search.is_none() {
        q.push("(SELECT sum(n)::bigint FROM ticket_counts t WHERE TRUE");
        if let Some(w) = worker {
            q.push(" AND t.worker_id = ").push_bind(w.0);
        }
        if let Some(s) = query.filter.status {
            q.push(" AND t.status = ").push_bind(s.as_str());
        }
        q.push(")");
    } else {
        q.push("(SELECT count(*) FROM ticket_search t");
        push_filters(q, worker, query);
        q.push(")");
    }
}

/// Appends the ids of one page (plus one past it), newest first.
fn push_page_ids(q: &mut QueryBuilder<'_, Postgres>, worker: Option<UserId>, query: &TicketQuery) {
    let source = if query.filter.search.is_some() {
        "ticket_search"
    } else {
        "tickets"
    };
    q.push(format!("SELECT t.id FROM {source} t"));
    push_filters(q, worker, query);
    if let Some(c) = query.page.cursor() {
        q.push(" AND (t.created_at, t.id) < (")
            .push_bind(crate::rows::cursor_time(c.key))
            .push(", ")
            .push_bind(c.id)
            .push(")");
    }
    q.push(" ORDER BY t.created_at DESC, t.id DESC LIMIT ")
        .push_bind(i64::from(query.page.fetch_limit()));
    if query.page.offset() > 0 {
        q.push(" OFFSET ")
            .push_bind(i64::try_from(query.page.offset()).unwrap_or(i64::MAX));
    }
}

/// Appends the filters of a ticket list to a query over `tickets t` (or, with a search, over
/// its narrow copy `ticket_search t`, whose status is [`TicketStatus::index`]).
fn push_filters(q: &mut QueryBuilder<'_, Postgres>, worker: Option<UserId>, query: &TicketQuery) {
    q.push(" WHERE TRUE");
    if let Some(w) = worker {
        q.push(" AND t.worker_id = ").push_bind(w.0);
    }
    match (&query.filter.search, query.filter.status) {
        (Some(_), Some(s)) => {
            q.push(" AND t.status = ").push_bind(s.index() as i16);
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
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.db(&self.target)?;
        // Find or create the client. ON CONFLICT waits for a racing first request to commit;
        // the follow-up read then sees its row. An existing client is never updated.
        let inserted: Option<ClientRow> = sqlx::query_as(
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
        .db(&self.target)?;
        let client = match inserted {
            Some(c) => c,
            None => sqlx::query_as(
                "SELECT id, name, email, phone, created_at FROM clients WHERE email_key = $1",
            )
            .bind(s.client_email.key())
            .fetch_one(&mut *tx)
            .await
            .db(&self.target)?,
        };
        let id: i64 = sqlx::query_scalar(
            "WITH t AS ( \
                INSERT INTO tickets (title, title_folded, description, status, client_id, \
                                     created_at, updated_at, requester_ip, requester_ua, tracking_code) \
                VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9) RETURNING id) \
             , e AS (INSERT INTO ticket_events (ticket_id, at, kind, status) \
                     SELECT id, $6, $10, $4 FROM t) \
             SELECT id FROM t",
        )
        .bind(s.title.as_str())
        .bind(fold_case(s.title.as_str()))
        .bind(s.description.as_str())
        .bind(TicketStatus::New.as_str())
        .bind(client.id)
        .bind(new.created_at)
        .bind(s.requester_ip.as_deref())
        .bind(s.requester_ua.as_deref())
        .bind(new.tracking_code.as_str())
        .bind(EventKind::Submitted.as_str())
        .fetch_one(&mut *tx)
        .await
        .db(&self.target)?;
        tx.commit().await.db(&self.target)?;
        Ok(Ticket {
            id: TicketId(id),
            title: s.title.as_str().to_owned(),
            description: s.description.as_str().to_owned(),
            status: TicketStatus::New,
            viewed: false,
            client: Client::from(client),
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
        sqlx::query_as::<_, TicketRow>(
            "WITH v AS ( \
                UPDATE tickets SET viewed = TRUE, updated_at = $3 \
                WHERE id = $1 AND NOT viewed AND ($2::bigint IS NULL OR worker_id = $2) \
                RETURNING id, status, worker_id), \
             e AS (INSERT INTO ticket_events (ticket_id, at, kind, actor_id, status, ticket_worker) \
                   SELECT id, $3, $5, $4, status, worker_id FROM v) \
             SELECT t.id, t.title, t.description, t.status, \
                    (t.viewed OR v.id IS NOT NULL) AS viewed, t.worker_id, t.created_at, \
                    CASE WHEN v.id IS NULL THEN t.updated_at ELSE $3 END AS updated_at, \
                    t.assigned_at, t.in_progress_at, t.done_at, t.requester_ip, \
                    t.requester_ua, t.tracking_code, c.id AS client_id, c.name AS client_name, \
                    c.email AS client_email, c.phone AS client_phone, \
                    c.created_at AS client_created_at \
             FROM tickets t JOIN clients c ON c.id = t.client_id LEFT JOIN v ON v.id = t.id \
             WHERE t.id = $1 AND ($2::bigint IS NULL OR t.worker_id = $2)",
        )
        .bind(id.0)
        .bind(visible_to(visibility))
        .bind(at)
        .bind(actor.0)
        .bind(EventKind::Viewed.as_str())
        .fetch_optional(&mut *self.conn().await?)
        .await
        .db(&self.target)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    #[tracing::instrument(skip_all, err, fields(ticket_id = %change.ticket_id))]
    async fn transition(&self, change: Transition) -> Result<Ticket, StoreError> {
        let sql = format!(
            "WITH t AS ( \
                UPDATE tickets SET status = $4, updated_at = $5, \
                    in_progress_at = CASE WHEN $4 = $8 THEN $5 ELSE in_progress_at END, \
                    done_at = CASE WHEN $4 = $9 THEN $5 ELSE done_at END \
                WHERE id = $1 AND status = $2 AND worker_id IS NOT DISTINCT FROM $3 \
                RETURNING *), \
             e AS (INSERT INTO ticket_events (ticket_id, at, kind, actor_id, from_status, to_status, \
                                              status, ticket_worker) \
                   SELECT id, $5, $7, $6, $2, $4, $4, worker_id FROM t) \
             SELECT {TICKET_COLUMNS} FROM t JOIN clients c ON c.id = t.client_id"
        );
        let row = sqlx::query_as::<_, TicketRow>(&sql)
            .bind(change.ticket_id.0)
            .bind(change.expected.status.as_str())
            .bind(change.expected.worker_id.map(UserId::get))
            .bind(change.next.as_str())
            .bind(change.at)
            .bind(change.actor.0)
            .bind(EventKind::StatusChanged.as_str())
            .bind(TicketStatus::InProgress.as_str())
            .bind(TicketStatus::Done.as_str())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(&self.target)?;
        match row {
            Some(r) => r.try_into(),
            // Nothing matched: the ticket is gone or no longer in the expected state.
            None => self
                .fetch_ticket(change.ticket_id, Visibility::All)
                .await
                .and(Err(StoreError::Stale)),
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
            "WITH w AS (SELECT id FROM users WHERE id = $2 AND active AND role = $5 FOR SHARE), \
             old AS (SELECT id, worker_id FROM tickets WHERE id = $1 FOR UPDATE), \
             t AS ( \
                UPDATE tickets SET worker_id = w.id, assigned_at = $3, updated_at = $3 \
                FROM w, old \
                WHERE tickets.id = old.id AND tickets.status <> $6 \
                  AND tickets.worker_id IS DISTINCT FROM w.id \
                RETURNING tickets.*, old.worker_id AS prev_worker), \
             e AS (INSERT INTO ticket_events (ticket_id, at, kind, actor_id, worker_id, status, \
                                              ticket_worker, prev_worker) \
                   SELECT id, $3, $7, $4, worker_id, status, worker_id, prev_worker FROM t) \
             SELECT {TICKET_COLUMNS} FROM t JOIN clients c ON c.id = t.client_id"
        );
        let row = sqlx::query_as::<_, TicketRow>(&sql)
            .bind(id.0)
            .bind(worker.0)
            .bind(at)
            .bind(actor.0)
            .bind(Role::Worker.as_str())
            .bind(TicketStatus::Done.as_str())
            .bind(EventKind::Assigned.as_str())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(&self.target)?;
        if let Some(r) = row {
            return r.try_into();
        }
        // Nothing changed: say why, in the contract's order.
        let ticket = self.fetch_ticket(id, Visibility::All).await?;
        let usable: Option<bool> =
            sqlx::query_scalar("SELECT active AND role = $2 FROM users WHERE id = $1")
                .bind(worker.0)
                .bind(Role::Worker.as_str())
                .fetch_optional(&mut *self.conn().await?)
                .await
                .db(&self.target)?;
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
        let worker = match query.scope() {
            Scope::Nothing => return Ok(query.page.page_of(Vec::new(), 0)),
            scope => scope.worker(),
        };
        // One statement, one round trip: the total is an uncorrelated subquery (computed
        // once), and the page's ids come from an index walk (an index-only scan for deep
        // pages, a seek for a cursor) before the join, so an OFFSET never joins the rows it
        // skips. One row more than the page says whether another page follows.
        let mut q = QueryBuilder::<Postgres>::new("SELECT ");
        push_total(&mut q, worker, query);
        q.push(format!(" AS total, {TICKET_COLUMNS} FROM ("));
        push_page_ids(&mut q, worker, query);
        q.push(
            ") p JOIN tickets t ON t.id = p.id JOIN clients c ON c.id = t.client_id \
             ORDER BY t.created_at DESC, t.id DESC",
        );
        let rows: Vec<ListedRow> = q
            .build_query_as()
            .fetch_all(&mut *self.conn().await?)
            .await
            .db(&self.target)?;
        let total = match rows.first() {
            Some(r) => r.total.unwrap_or(0).max(0) as u64,
            // An empty page (past the end, or nothing matches) carries no total: ask alone.
            None => {
                let mut q = QueryBuilder::<Postgres>::new("SELECT ");
                push_total(&mut q, worker, query);
                let n: Option<i64> = q
                    .build_query_scalar()
                    .fetch_one(&mut *self.conn().await?)
                    .await
                    .db(&self.target)?;
                n.unwrap_or(0).max(0) as u64
            }
        };
        let items = rows
            .into_iter()
            .map(|r| Ticket::try_from(r.ticket))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(query.page.page_of(items, total))
    }

    #[tracing::instrument(skip_all, err)]
    async fn ticket_stats(&self, worker: Option<UserId>) -> Result<StatCounts, StoreError> {
        let rows: Vec<StatRow> = sqlx::query_as(
            "SELECT status, sum(n)::bigint AS n, sum(resolution_micros)::float8 AS resolution_micros \
             FROM ticket_counts WHERE ($1::bigint IS NULL OR worker_id = $1) GROUP BY status",
        )
        .bind(worker.map(UserId::get))
        .fetch_all(&mut *self.conn().await?)
        .await
        .db(&self.target)?;
        let mut c = StatCounts::default();
        for r in rows {
            let n = r.n.max(0) as u64;
            match status(&r.status)? {
                TicketStatus::New => c.new = n,
                TicketStatus::InProgress => c.in_progress = n,
                TicketStatus::Done => {
                    c.done = n;
                    c.resolution_micros_sum = r.resolution_micros.round() as i128;
                }
            }
        }
        Ok(c)
    }

    #[tracing::instrument(skip_all, err)]
    async fn track(&self, code: &TrackingCode) -> Result<TicketProgress, StoreError> {
        sqlx::query_as::<_, ProgressRow>(
            "SELECT id, status, worker_id IS NOT NULL AS assigned, created_at, in_progress_at, \
                    done_at \
             FROM tickets WHERE tracking_code = $1",
        )
        .bind(code.as_str())
        .fetch_optional(&mut *self.conn().await?)
        .await
        .db(&self.target)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    #[tracing::instrument(skip_all, err, fields(ticket_id = %id))]
    async fn history(
        &self,
        id: TicketId,
        visibility: Visibility,
    ) -> Result<Vec<Event>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} \
             FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id \
             WHERE t.id = $1 AND ($2::bigint IS NULL OR t.worker_id = $2) ORDER BY e.id"
        );
        let rows: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(id.0)
            .bind(visible_to(visibility))
            .fetch_all(&mut *self.conn().await?)
            .await
            .db(&self.target)?;
        if rows.is_empty() {
            return Err(StoreError::NotFound);
        }
        rows.into_iter().map(Event::try_from).collect()
    }
}
