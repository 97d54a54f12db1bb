//! Tickets, their clients and their history. Every change is one statement or transaction
//! that writes its history event with it.

use crate::{
    PgStore,
    error::DbResult,
    record::Events,
    rows::{
        ClientRow, EVENT_COLUMNS, EventRow, NEW_TO_ME, ProgressRow, StatRow, TICKET_COLUMNS,
        TicketRow, status,
    },
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    Client, Event, NewEvent, NewTicket, Page, Role, Scope, StatCounts, StoreError, Ticket,
    TicketId, TicketProgress, TicketQuery, TicketSort, TicketStatus, TicketStore, TrackingCode,
    Transition, UserId, Visibility, input::fold_case,
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
        self.fetch_ticket_for(id, visibility, None).await
    }

    /// A ticket inside `visibility`, saying whether `viewer` has never opened it.
    async fn fetch_ticket_for(
        &self,
        id: TicketId,
        visibility: Visibility,
        viewer: Option<UserId>,
    ) -> Result<Ticket, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(format!("SELECT {TICKET_COLUMNS}"));
        if let Some(v) = viewer {
            q.push(format!(", {NEW_TO_ME}"))
                .push_bind(v.0)
                .push(") AS new_to_me");
        }
        q.push(" FROM tickets t JOIN clients c ON c.id = t.client_id WHERE t.id = ")
            .push_bind(id.0);
        if let Some(w) = visible_to(visibility) {
            q.push(" AND t.worker_id = ").push_bind(w);
        }
        q.build_query_as::<TicketRow>()
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?
            .ok_or(StoreError::NotFound)?
            .try_into()
    }

    /// Runs a compare-and-set change of ticket `id`: `q` updates it into the CTE `t` and
    /// writes its events. The ticket after the change; `Stale` when nothing matched because
    /// it is no longer in the expected state (`NotFound` when it is gone).
    pub(crate) async fn compare_and_set(
        &self,
        mut q: QueryBuilder<'_, Postgres>,
        id: TicketId,
    ) -> Result<Ticket, StoreError> {
        q.push(format!(
            " SELECT {TICKET_COLUMNS} FROM t JOIN clients c ON c.id = t.client_id"
        ));
        let row: Option<TicketRow> = q
            .build_query_as()
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?;
        match row {
            Some(r) => {
                self.wrote_events();
                r.try_into()
            }
            None => self
                .fetch_ticket(id, Visibility::All)
                .await
                .and(Err(StoreError::Stale)),
        }
    }

    /// Remembers that `user` opened ticket `id` (once; later openings change nothing).
    async fn remember_view(
        &self,
        user: UserId,
        id: TicketId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO ticket_views (user_id, ticket_id, seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, ticket_id) DO NOTHING",
        )
        .bind(user.0)
        .bind(id.0)
        .bind(at)
        .execute(&mut *self.conn().await?)
        .await
        .db(self)?;
        Ok(())
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
/// counts (`ticket_totals`, a few rows per worker and status); with one, a count of the
/// matching rows of `ticket_search`.
fn push_total(q: &mut QueryBuilder<'_, Postgres>, scope: Scope, query: &TicketQuery) {
    let f = &query.filter;
    if f.has_counter_filters() {
        q.push("(SELECT count(*) FROM ");
        push_tickets(q, query);
        push_filters(q, Source::Tickets, scope, query);
        q.push(")");
    } else if f.search.is_none() {
        q.push("(SELECT sum(n)::bigint FROM ticket_totals t WHERE TRUE");
        match scope {
            Scope::Worker(w) => {
                q.push(" AND t.worker_id = ").push_bind(w.0);
            }
            // Counted under worker 0: no worker.
            Scope::Unassigned => {
                q.push(" AND t.worker_id = 0");
            }
            Scope::Everything | Scope::Nothing => {}
        }
        if let Some(s) = f.status {
            q.push(" AND t.status = ").push_bind(s.as_str());
        }
        if f.open {
            q.push(" AND t.status <> ")
                .push_bind(TicketStatus::Done.as_str());
        }
        q.push(")");
    } else {
        // A count has no order, so a title search counts the narrow copy whatever the sort.
        q.push("(SELECT count(*) FROM ticket_search t");
        push_filters(q, Source::SearchCopy, scope, query);
        q.push(")");
    }
}

/// Appends the ids of one page (plus one past it), in the query's order.
fn push_page_ids(q: &mut QueryBuilder<'_, Postgres>, scope: Scope, query: &TicketQuery) {
    let (cmp, dir) = match query.sort {
        TicketSort::Newest => ("<", "DESC"),
        TicketSort::Oldest => (">", "ASC"),
        TicketSort::Due => {
            q.push("SELECT t.id FROM ");
            push_tickets(q, query);
            push_filters(q, Source::Tickets, scope, query);
            if let Some(c) = query.page.cursor() {
                // Past the cursor: a later due time, or the same one and an older ticket.
                q.push(" AND (coalesce(t.due_at, 'infinity'::timestamptz), -t.id) > (");
                if c.key == crm_core::page::DUE_NEVER {
                    q.push("'infinity'::timestamptz");
                } else {
                    q.push_bind(crate::rows::cursor_time(c.key));
                }
                q.push(", ").push_bind(c.id.saturating_neg()).push(")");
            }
            // The order of `tickets_due_order_idx` exactly, so the cursor is an index seek.
            q.push(" ORDER BY coalesce(t.due_at, 'infinity'::timestamptz), -t.id LIMIT ")
                .push_bind(i64::from(query.page.fetch_limit()));
            push_offset(q, query);
            return;
        }
    };
    let source = Source::of_page(query);
    match source {
        Source::Tickets => {
            q.push("SELECT t.id FROM ");
            push_tickets(q, query);
        }
        Source::SearchCopy => {
            q.push("SELECT t.id FROM ticket_search t");
        }
    }
    push_filters(q, source, scope, query);
    if let Some(c) = query.page.cursor() {
        q.push(format!(" AND (t.created_at, t.id) {cmp} ("))
            .push_bind(crate::rows::cursor_time(c.key))
            .push(", ")
            .push_bind(c.id)
            .push(")");
    }
    q.push(format!(" ORDER BY t.created_at {dir}, t.id {dir} LIMIT "))
        .push_bind(i64::from(query.page.fetch_limit()));
    push_offset(q, query);
}

fn push_offset(q: &mut QueryBuilder<'_, Postgres>, query: &TicketQuery) {
    if query.page.offset() > 0 {
        q.push(" OFFSET ")
            .push_bind(i64::try_from(query.page.offset()).unwrap_or(i64::MAX));
    }
}

/// The table a ticket query reads as `t`: the filters name the folded title differently in
/// each, so the caller that picks the table passes it on rather than each deciding alone.
#[derive(Clone, Copy)]
enum Source {
    /// `tickets t` (perhaps joined with the counter search's ids).
    Tickets,
    /// The narrow copy `ticket_search t`: same status and worker columns, the folded title
    /// as `title`, and nothing else.
    SearchCopy,
}

impl Source {
    /// Where a page's ids come from: the copy for a title search with nothing the copy lacks
    /// (no counter filter, no due order), else the table.
    fn of_page(query: &TicketQuery) -> Self {
        if query.filter.search.is_some()
            && !query.filter.has_counter_filters()
            && query.sort != TicketSort::Due
        {
            Source::SearchCopy
        } else {
            Source::Tickets
        }
    }
}

/// Appends the filters of a ticket list to a query over `source` as `t`.
fn push_filters(
    q: &mut QueryBuilder<'_, Postgres>,
    source: Source,
    scope: Scope,
    query: &TicketQuery,
) {
    q.push(" WHERE TRUE");
    match scope {
        Scope::Worker(w) => {
            q.push(" AND t.worker_id = ").push_bind(w.0);
        }
        Scope::Unassigned => {
            q.push(" AND t.worker_id IS NULL");
        }
        Scope::Everything | Scope::Nothing => {}
    }
    if let Some(s) = query.filter.status {
        q.push(" AND t.status = ").push_bind(s.as_str());
    }
    if query.filter.open {
        q.push(" AND t.status <> ")
            .push_bind(TicketStatus::Done.as_str());
    }
    let f = &query.filter;
    if let Some(search) = &f.search {
        // The copy keeps the folded title as `title`; the table as `title_folded`.
        let column = match source {
            Source::SearchCopy => "t.title",
            Source::Tickets => "t.title_folded",
        };
        q.push(format!(" AND {column} LIKE "))
            .push_bind(search.like_pattern());
    }
    if let Some(p) = f.priority {
        q.push(" AND t.priority = ").push_bind(p.as_str());
    }
    if let Some(c) = f.client_id {
        q.push(" AND t.client_id = ").push_bind(c.0);
    }
    if let Some(s) = &f.serial {
        q.push(" AND t.serial_key = ").push_bind(s.clone());
    }
    if f.awaiting_reply {
        q.push(" AND t.awaiting_reply");
    }
    if let Some(s) = f.stage_id {
        q.push(" AND t.stage_id = ").push_bind(s.0);
    }
    match f.quote {
        Some(crm_core::QuoteFilter::Awaiting(now)) => {
            q.push(" AND t.quote_state = 'sent' AND t.quote_expires_at > ")
                .push_bind(now);
        }
        Some(crm_core::QuoteFilter::Approved) => {
            q.push(" AND t.quote_state = 'approved'");
        }
        Some(crm_core::QuoteFilter::Declined) => {
            q.push(" AND t.quote_state = 'declined'");
        }
        None => {}
    }
    if let Some(now) = f.overdue_at {
        q.push(" AND t.status <> ")
            .push_bind(TicketStatus::Done.as_str())
            .push(" AND t.due_at < ")
            .push_bind(now);
    }
}

/// `tickets t`, joined with the ids the counter search finds when there is one.
fn push_tickets(q: &mut QueryBuilder<'_, Postgres>, query: &TicketQuery) {
    q.push("tickets t");
    if let Some(search) = &query.filter.q {
        q.push(" JOIN (");
        push_counter_search(q, search);
        q.push(") qm ON qm.id = t.id");
    }
}

/// The ids the counter search finds, as a union of its readings, each an index lookup: the
/// tickets of the customers whose name, e-mail or phone digits hold the fragment (trigram
/// indexes, then `tickets_client_order_idx`), the number, the tracking code and the serial.
/// The rest of the list's filters apply to the tickets it joins.
fn push_counter_search(q: &mut QueryBuilder<'_, Postgres>, s: &crm_core::CounterSearch) {
    q.push("SELECT x.id FROM tickets x WHERE x.client_id IN (SELECT c.id FROM clients c WHERE ");
    crate::clients::push_client_match(q, &s.client);
    q.push(")");
    if let Some(n) = s.number {
        q.push(" UNION SELECT ").push_bind(n.0);
    }
    if let Some(code) = &s.code {
        q.push(" UNION SELECT x.id FROM tickets x WHERE x.tracking_code = ")
            .push_bind(code.as_str().to_owned());
    }
    if let Some(k) = &s.serial {
        q.push(" UNION SELECT x.id FROM tickets x WHERE x.serial_key = ")
            .push_bind(k.clone());
    }
}

impl PgStore {
    /// The rows of a list page in its order (one more than the page, to tell whether another
    /// follows), with the query's total in each when `with_total`.
    async fn listed_rows(
        &self,
        scope: Scope,
        query: &TicketQuery,
        with_total: bool,
    ) -> Result<Vec<ListedRow>, StoreError> {
        let order = match query.sort {
            TicketSort::Newest => "t.created_at DESC, t.id DESC",
            TicketSort::Oldest => "t.created_at ASC, t.id ASC",
            TicketSort::Due => "coalesce(t.due_at, 'infinity'::timestamptz), t.id DESC",
        };
        let mut q = QueryBuilder::<Postgres>::new("SELECT ");
        if with_total {
            push_total(&mut q, scope, query);
        } else {
            q.push("NULL::bigint");
        }
        q.push(format!(" AS total, {TICKET_COLUMNS}"));
        if let Some(v) = query.viewer {
            q.push(format!(", {NEW_TO_ME}"))
                .push_bind(v.0)
                .push(") AS new_to_me");
        }
        q.push(" FROM (");
        push_page_ids(&mut q, scope, query);
        q.push(format!(
            ") p JOIN tickets t ON t.id = p.id JOIN clients c ON c.id = t.client_id \
             ORDER BY {order}"
        ));
        q.build_query_as()
            .fetch_all(&mut *self.conn().await?)
            .await
            .db(self)
    }
}

#[async_trait]
impl TicketStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn create_ticket(&self, new: NewTicket) -> Result<Ticket, StoreError> {
        let s = &new.submission;
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        // Find or create the client. ON CONFLICT waits for a racing first request to commit;
        // the follow-up read then sees its row. An existing client is never updated.
        let inserted: Option<ClientRow> = sqlx::query_as(
            "INSERT INTO clients (name, email, email_key, phone, created_at, name_folded, \
                                  phone_digits) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (email_key) DO NOTHING \
             RETURNING id, name, email, phone, created_at",
        )
        .bind(s.client_name.as_str())
        .bind(s.client_email.as_str())
        .bind(s.client_email.key())
        .bind(s.client_phone.as_ref().map(|p| p.as_str()))
        .bind(new.created_at)
        .bind(fold_case(s.client_name.as_str()))
        .bind(
            s.client_phone
                .as_ref()
                .map(|p| crm_core::device::phone_digits(p.as_str())),
        )
        .fetch_optional(&mut *tx)
        .await
        .db(self)?;
        let client = match inserted {
            Some(c) => {
                sqlx::query(
                    "INSERT INTO client_events (client_id, at, kind, actor_id) VALUES ($1, $2, $3, $4)",
                )
                .bind(c.id)
                .bind(new.created_at)
                .bind(crm_core::ClientEventKind::Created.as_str())
                .bind(s.taken_in_by.map(UserId::get))
                .execute(&mut *tx)
                .await
                .db(self)?;
                c
            }
            None => sqlx::query_as(
                "SELECT id, name, email, phone, created_at FROM clients WHERE email_key = $1",
            )
            .bind(s.client_email.key())
            .fetch_one(&mut *tx)
            .await
            .db(self)?,
        };
        // A named worker is locked FOR SHARE until the intake commits, as an assignment does:
        // a racing deactivation either waits and then releases this ticket too, or goes first
        // and this intake finds no active worker and stores nothing.
        if let Some(w) = s.worker {
            let usable: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM users WHERE id = $1 AND active AND role = $2 FOR SHARE",
            )
            .bind(w.0)
            .bind(Role::Worker.as_str())
            .fetch_optional(&mut *tx)
            .await
            .db(self)?;
            if usable.is_none() {
                return Err(StoreError::WorkerUnavailable);
            }
        }
        let assigned_at = s.worker.map(|_| new.created_at);
        let mut q = QueryBuilder::<Postgres>::new(
            "WITH t AS (INSERT INTO tickets (title, title_folded, description, status, \
             client_id, created_at, updated_at, requester_ip, requester_ua, tracking_code, \
             device, serial_key, priority, due_at, worker_id, assigned_at) VALUES (",
        );
        q.separated(", ")
            .push_bind(s.title.as_str())
            .push_bind(fold_case(s.title.as_str()))
            .push_bind(s.description.as_str())
            .push_bind(TicketStatus::New.as_str())
            .push_bind(client.id)
            .push_bind(new.created_at)
            .push_bind(new.created_at)
            .push_bind(s.requester_ip.as_deref())
            .push_bind(s.requester_ua.as_deref())
            .push_bind(new.tracking_code.as_str())
            .push_bind(s.device.as_ref().map(sqlx::types::Json))
            .push_bind(s.device.as_ref().and_then(crm_core::Device::serial_key))
            .push_bind(s.priority.as_str())
            .push_bind(s.due_at)
            .push_bind(s.worker.map(UserId::get))
            .push_bind(assigned_at);
        q.push(") RETURNING *)");
        let mut events = Events::one(None, &NewEvent::submitted(new.created_at, s.taken_in_by));
        if let Some(w) = s.worker {
            events.push(
                None,
                &NewEvent::assigned(new.created_at, s.taken_in_by, w, None, TicketStatus::New),
            );
        }
        events.push_ctes(&mut q, "t");
        q.push(" SELECT id FROM t");
        let id: i64 = q.build_query_scalar().fetch_one(&mut *tx).await.db(self)?;
        tx.commit().await.db(self)?;
        self.wrote_events();
        let NewTicket {
            submission: s,
            created_at,
            tracking_code,
        } = new;
        Ok(Ticket {
            id: TicketId(id),
            title: s.title.into_inner(),
            description: s.description.into_inner(),
            status: TicketStatus::New,
            viewed: false,
            client: Client::from(client),
            worker_id: s.worker,
            created_at,
            updated_at: created_at,
            assigned_at,
            in_progress_at: None,
            done_at: None,
            requester_ip: s.requester_ip,
            requester_ua: s.requester_ua,
            tracking_code,
            new_to_me: false,
            device: s.device,
            priority: s.priority,
            due_at: s.due_at,
            awaiting_reply: false,
            stage: None,
            quote: None,
        })
    }

    #[tracing::instrument(skip_all, fields(ticket_id = %id))]
    async fn get_ticket(&self, id: TicketId, visibility: Visibility) -> Result<Ticket, StoreError> {
        self.fetch_ticket(id, visibility).await
    }

    #[tracing::instrument(skip_all, fields(ticket_id = %id))]
    async fn open_ticket(
        &self,
        id: TicketId,
        visibility: Visibility,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<Ticket, StoreError> {
        for _ in 0..crate::RACE_ATTEMPTS {
            // Most openings are repeat views by someone who opened it before: one read
            // answers them.
            let mut ticket = self.fetch_ticket_for(id, visibility, Some(actor)).await?;
            let new_to_me = std::mem::take(&mut ticket.new_to_me);
            if ticket.viewed {
                if new_to_me {
                    self.remember_view(actor, id, at).await?;
                }
                return Ok(ticket);
            }
            // The first view, compare-and-set on the state the event describes.
            let event = NewEvent::viewed(at, actor, ticket.status, ticket.worker_id);
            let mut q = QueryBuilder::<Postgres>::new(
                "WITH t AS (UPDATE tickets SET viewed = TRUE, updated_at = ",
            );
            q.push_bind(at).push(" WHERE id = ").push_bind(id.0);
            q.push(" AND NOT viewed AND status = ")
                .push_bind(ticket.status.as_str());
            q.push(" AND worker_id IS NOT DISTINCT FROM ")
                .push_bind(ticket.worker_id.map(UserId::get));
            q.push(" RETURNING *), tv AS (INSERT INTO ticket_views (user_id, ticket_id, seen_at) SELECT ")
                .push_bind(actor.0)
                .push(", id, ")
                .push_bind(at)
                .push(" FROM t ON CONFLICT (user_id, ticket_id) DO NOTHING)");
            Events::one(Some(id), &event).push_ctes(&mut q, "t");
            q.push(format!(
                " SELECT {TICKET_COLUMNS} FROM t JOIN clients c ON c.id = t.client_id"
            ));
            let row: Option<TicketRow> = q
                .build_query_as()
                .fetch_optional(&mut *self.conn().await?)
                .await
                .db(self)?;
            if let Some(r) = row {
                self.wrote_events();
                return r.try_into();
            }
            // Someone else's first view, or a change, came between: read again.
        }
        Err(StoreError::Stale)
    }

    #[tracing::instrument(skip_all, fields(ticket_id = %edit.ticket_id))]
    async fn edit_ticket(&self, edit: crm_core::TicketEdit) -> Result<Ticket, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new("WITH t AS (UPDATE tickets SET title = ");
        q.push_bind(edit.title.as_str().to_owned())
            .push(", title_folded = ")
            .push_bind(fold_case(edit.title.as_str()))
            .push(", description = ")
            .push_bind(edit.description.as_str().to_owned())
            .push(", device = ")
            .push_bind(edit.device.clone().map(sqlx::types::Json))
            .push(", serial_key = ")
            .push_bind(edit.device.as_ref().and_then(crm_core::Device::serial_key))
            .push(", priority = ")
            .push_bind(edit.priority.as_str())
            .push(", due_at = ")
            .push_bind(edit.due_at)
            .push(", updated_at = ")
            .push_bind(edit.at);
        q.push(" WHERE id = ").push_bind(edit.ticket_id.0);
        q.push(" AND updated_at = ")
            .push_bind(edit.expected_updated_at);
        q.push(" AND status = ")
            .push_bind(edit.expected.status.as_str());
        q.push(" AND worker_id IS NOT DISTINCT FROM ")
            .push_bind(edit.expected.worker_id.map(UserId::get));
        q.push(" RETURNING *)");
        Events::one(Some(edit.ticket_id), &edit.event).push_ctes(&mut q, "t");
        self.compare_and_set(q, edit.ticket_id).await
    }

    #[tracing::instrument(skip_all, fields(ticket_id = %change.ticket_id))]
    async fn transition(&self, change: Transition) -> Result<Ticket, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new("WITH t AS (UPDATE tickets SET status = ");
        q.push_bind(change.next.as_str())
            .push(", updated_at = ")
            .push_bind(change.at);
        match change.next {
            TicketStatus::InProgress => {
                q.push(", in_progress_at = ").push_bind(change.at);
            }
            TicketStatus::Done => {
                q.push(", done_at = ").push_bind(change.at);
            }
            TicketStatus::New => {}
        }
        if change.moves_stage() {
            let to = change.to_stage.as_ref().map(|s| s.id.0);
            q.push(", stage_id = ")
                .push_bind(to)
                .push(", stage_at = ")
                .push_bind(to.map(|_| change.at));
        }
        q.push(" WHERE id = ").push_bind(change.ticket_id.0);
        q.push(" AND status = ")
            .push_bind(change.expected.status.as_str());
        q.push(" AND worker_id IS NOT DISTINCT FROM ")
            .push_bind(change.expected.worker_id.map(UserId::get));
        q.push(" AND stage_id IS NOT DISTINCT FROM ")
            .push_bind(change.from_stage.as_ref().map(|s| s.id.0));
        q.push(" RETURNING *)");
        let mut events = Events::default();
        for e in change.events() {
            events.push(Some(change.ticket_id), &e);
        }
        events.push_ctes(&mut q, "t");
        self.compare_and_set(q, change.ticket_id).await
    }

    #[tracing::instrument(skip_all, fields(ticket_id = %id, worker_id = %worker))]
    async fn assign(
        &self,
        id: TicketId,
        worker: UserId,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<Ticket, StoreError> {
        let before = self.fetch_ticket(id, Visibility::All).await?;
        let event = NewEvent::assigned(at, Some(actor), worker, before.worker_id, before.status);
        // The FOR SHARE lock on the worker row conflicts with a deactivation's row lock: either
        // the deactivation waits for this assignment to commit (and then releases the ticket),
        // or this statement waits for the deactivation and then finds no active worker. The
        // ticket is compared and set on the state the event records.
        let mut q = QueryBuilder::<Postgres>::new("WITH w AS (SELECT id FROM users WHERE id = ");
        q.push_bind(worker.0)
            .push(" AND active AND role = ")
            .push_bind(Role::Worker.as_str())
            .push(" FOR SHARE), t AS (UPDATE tickets SET worker_id = w.id, assigned_at = ")
            .push_bind(at)
            .push(", updated_at = ")
            .push_bind(at);
        q.push(" FROM w WHERE tickets.id = ").push_bind(id.0);
        q.push(" AND tickets.status = ")
            .push_bind(before.status.as_str())
            .push(" AND tickets.status <> ")
            .push_bind(TicketStatus::Done.as_str());
        q.push(" AND tickets.worker_id IS NOT DISTINCT FROM ")
            .push_bind(before.worker_id.map(UserId::get))
            .push(" AND tickets.worker_id IS DISTINCT FROM w.id RETURNING tickets.*)");
        Events::one(Some(id), &event).push_ctes(&mut q, "t");
        q.push(format!(
            " SELECT {TICKET_COLUMNS} FROM t JOIN clients c ON c.id = t.client_id"
        ));
        let row: Option<TicketRow> = q
            .build_query_as()
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?;
        if let Some(r) = row {
            self.wrote_events();
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
                .db(self)?;
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

    #[tracing::instrument(skip_all)]
    async fn list_tickets(&self, query: &TicketQuery) -> Result<Page<Ticket>, StoreError> {
        let scope = match query.scope() {
            Scope::Nothing => return Ok(query.page.page_of(Vec::new(), 0)),
            scope => scope,
        };
        // One statement, one round trip: the total is an uncorrelated subquery (computed
        // once), and the page's ids come from an index walk (an index-only scan for deep
        // pages, a seek for a cursor) before the join, so an OFFSET never joins the rows it
        // skips. One row more than the page says whether another page follows.
        let rows = self.listed_rows(scope, query, true).await?;
        let total = match rows.first() {
            Some(r) => r.total.unwrap_or(0).max(0) as u64,
            // An empty page (past the end, or nothing matches) carries no total: ask alone.
            None => {
                let mut q = QueryBuilder::<Postgres>::new("SELECT ");
                push_total(&mut q, scope, query);
                let n: Option<i64> = q
                    .build_query_scalar()
                    .fetch_one(&mut *self.conn().await?)
                    .await
                    .db(self)?;
                n.unwrap_or(0).max(0) as u64
            }
        };
        let items = rows
            .into_iter()
            .map(|r| Ticket::try_from(r.ticket))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(query.page_of(items, total))
    }

    #[tracing::instrument(skip_all)]
    async fn ticket_batch(&self, query: &TicketQuery) -> Result<Vec<Ticket>, StoreError> {
        let scope = match query.scope() {
            Scope::Nothing => return Ok(Vec::new()),
            scope => scope,
        };
        // The page's statement without its count: a walk through a million tickets is a
        // seek and an index range per batch.
        let mut items = self
            .listed_rows(scope, query, false)
            .await?
            .into_iter()
            .map(|r| Ticket::try_from(r.ticket))
            .collect::<Result<Vec<_>, _>>()?;
        items.truncate(query.page.size() as usize);
        Ok(items)
    }

    #[tracing::instrument(skip_all)]
    async fn ticket_stats(&self, worker: Option<UserId>) -> Result<StatCounts, StoreError> {
        let rows: Vec<StatRow> = sqlx::query_as(
            "SELECT status, sum(n)::bigint AS n, sum(resolution_micros)::float8 AS resolution_micros \
             FROM ticket_totals WHERE ($1::bigint IS NULL OR worker_id = $1) GROUP BY status",
        )
        .bind(worker.map(UserId::get))
        .fetch_all(&mut *self.conn().await?)
        .await
        .db(self)?;
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

    #[tracing::instrument(skip_all)]
    async fn unassigned_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT coalesce(sum(n), 0)::bigint FROM ticket_totals WHERE worker_id = 0",
        )
        .fetch_one(&mut *self.conn().await?)
        .await
        .db(self)?;
        Ok(n.max(0) as u64)
    }

    #[tracing::instrument(skip_all)]
    async fn track(&self, code: &TrackingCode) -> Result<TicketProgress, StoreError> {
        sqlx::query_as::<_, ProgressRow>(
            "SELECT id, status, worker_id IS NOT NULL AS assigned, created_at, in_progress_at, \
                    done_at, device, due_at, \
                    (SELECT count(*) FROM ticket_messages m WHERE m.ticket_id = t.id \
                       AND m.visibility = 'customer') AS messages, \
                    (SELECT count(*) FROM ticket_attachments a WHERE a.ticket_id = t.id \
                       AND a.visibility = 'customer') AS files, \
                    (SELECT s.name FROM stages s WHERE s.id = t.stage_id) AS stage \
             FROM tickets t WHERE tracking_code = $1",
        )
        .bind(code.as_str())
        .fetch_optional(&mut *self.conn().await?)
        .await
        .db(self)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    #[tracing::instrument(skip_all, fields(ticket_id = %id))]
    async fn history(
        &self,
        id: TicketId,
        visibility: Visibility,
    ) -> Result<Vec<Event>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} \
             FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id \
             LEFT JOIN event_positions p ON p.event_id = e.id \
             WHERE t.id = $1 AND ($2::bigint IS NULL OR t.worker_id = $2) ORDER BY e.id"
        );
        let rows: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(id.0)
            .bind(visible_to(visibility))
            .fetch_all(&mut *self.conn().await?)
            .await
            .db(self)?;
        if rows.is_empty() {
            return Err(StoreError::NotFound);
        }
        rows.into_iter().map(Event::try_from).collect()
    }
}
