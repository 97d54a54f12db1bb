//! Customers: lists with their counts, reads, corrections and history.

use crate::{PgStore, error::DbResult, rows::ClientRow};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    Client, ClientEdit, ClientEvent, ClientEventKind, ClientId, ClientQuery, ClientSearch,
    ClientStore, ClientSummary, FieldChange, Page, StoreError, TicketStatus, UserId,
    input::{fold_case, like_contains},
};
use sqlx::{Postgres, QueryBuilder};

/// A customer with counts, as a list or read selects it.
#[derive(sqlx::FromRow)]
struct SummaryRow {
    #[sqlx(flatten)]
    client: ClientRow,
    ticket_count: i64,
    open_ticket_count: i64,
    #[sqlx(default)]
    total: Option<i64>,
}

impl From<SummaryRow> for ClientSummary {
    fn from(r: SummaryRow) -> Self {
        Self {
            client: r.client.into(),
            ticket_count: r.ticket_count.max(0) as u64,
            open_ticket_count: r.open_ticket_count.max(0) as u64,
        }
    }
}

/// The columns of a [`SummaryRow`] over `clients c`; the counts read the customer's tickets
/// by `tickets_client_order_idx`.
fn push_summary_columns(q: &mut QueryBuilder<'_, Postgres>) {
    q.push(
        "c.id, c.name, c.email, c.phone, c.created_at, \
         (SELECT count(*) FROM tickets t WHERE t.client_id = c.id) AS ticket_count, \
         (SELECT count(*) FROM tickets t WHERE t.client_id = c.id AND t.status <> ",
    )
    .push_bind(TicketStatus::Done.as_str())
    .push(") AS open_ticket_count");
}

/// Whether customer `c` matches `s`: a name or e-mail fragment, or phone digits, each by its
/// trigram index. The one reading of a customer search, for lists and the counter search.
pub(crate) fn push_client_match(q: &mut QueryBuilder<'_, Postgres>, s: &ClientSearch) {
    let pattern = like_contains(&s.text);
    q.push("(c.name_folded LIKE ")
        .push_bind(pattern.clone())
        .push(" OR c.email_key LIKE ")
        .push_bind(pattern);
    if let Some(p) = &s.phone {
        q.push(" OR c.phone_digits LIKE ")
            .push_bind(like_contains(p));
    }
    q.push(")");
}

/// The search of a customer list.
fn push_search(q: &mut QueryBuilder<'_, Postgres>, query: &ClientQuery) {
    q.push(" WHERE TRUE");
    if let Some(s) = &query.search {
        q.push(" AND ");
        push_client_match(q, s);
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    at: DateTime<Utc>,
    kind: String,
    actor_id: Option<i64>,
    changes: Option<sqlx::types::Json<Vec<FieldChange>>>,
}

impl PgStore {
    /// Runs a customer list's statement (its rows carry the list's total) and makes the page;
    /// an empty page carries no total, so it is counted alone.
    async fn page_of(
        &self,
        mut q: QueryBuilder<'_, Postgres>,
        query: &ClientQuery,
    ) -> Result<Page<ClientSummary>, StoreError> {
        let rows: Vec<SummaryRow> = q
            .build_query_as()
            .fetch_all(&mut *self.conn().await?)
            .await
            .db(self)?;
        let total = match rows.first() {
            Some(r) => r.total.unwrap_or(0).max(0) as u64,
            None => {
                let mut q = QueryBuilder::<Postgres>::new("SELECT count(*) FROM clients c");
                push_search(&mut q, query);
                let n: i64 = q
                    .build_query_scalar()
                    .fetch_one(&mut *self.conn().await?)
                    .await
                    .db(self)?;
                n.max(0) as u64
            }
        };
        Ok(query
            .page
            .page_of(rows.into_iter().map(Into::into).collect(), total))
    }

    /// A searched customer list: the matches first (one bitmap scan of the trigram indexes),
    /// then their count and the page from them, so a fragment whose matches are old customers
    /// does not walk the whole newest-first order looking for them.
    async fn search_clients(&self, query: &ClientQuery) -> Result<Page<ClientSummary>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(
            "WITH m AS MATERIALIZED (SELECT c.id, c.created_at FROM clients c",
        );
        push_search(&mut q, query);
        q.push(") SELECT ");
        push_summary_columns(&mut q);
        q.push(", (SELECT count(*) FROM m) AS total FROM (SELECT m.id FROM m WHERE TRUE");
        if let Some(c) = query.page.cursor() {
            q.push(" AND (m.created_at, m.id) < (")
                .push_bind(crate::rows::cursor_time(c.key))
                .push(", ")
                .push_bind(c.id)
                .push(")");
        }
        q.push(" ORDER BY m.created_at DESC, m.id DESC LIMIT ")
            .push_bind(i64::from(query.page.fetch_limit()));
        if query.page.offset() > 0 {
            q.push(" OFFSET ")
                .push_bind(i64::try_from(query.page.offset()).unwrap_or(i64::MAX));
        }
        q.push(") p JOIN clients c ON c.id = p.id ORDER BY c.created_at DESC, c.id DESC");
        self.page_of(q, query).await
    }
}

#[async_trait]
impl ClientStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn list_clients(&self, query: &ClientQuery) -> Result<Page<ClientSummary>, StoreError> {
        if query.search.is_some() {
            return self.search_clients(query).await;
        }
        let mut q = QueryBuilder::<Postgres>::new("SELECT ");
        push_summary_columns(&mut q);
        q.push(", (SELECT count(*) FROM clients c");
        push_search(&mut q, query);
        q.push(") AS total FROM clients c");
        push_search(&mut q, query);
        if let Some(c) = query.page.cursor() {
            q.push(" AND (c.created_at, c.id) < (")
                .push_bind(crate::rows::cursor_time(c.key))
                .push(", ")
                .push_bind(c.id)
                .push(")");
        }
        q.push(" ORDER BY c.created_at DESC, c.id DESC LIMIT ")
            .push_bind(i64::from(query.page.fetch_limit()));
        if query.page.offset() > 0 {
            q.push(" OFFSET ")
                .push_bind(i64::try_from(query.page.offset()).unwrap_or(i64::MAX));
        }
        self.page_of(q, query).await
    }

    #[tracing::instrument(skip_all, fields(client_id = %id.0))]
    async fn get_client(
        &self,
        id: ClientId,
        worker: Option<UserId>,
    ) -> Result<ClientSummary, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT ");
        push_summary_columns(&mut q);
        q.push(" FROM clients c WHERE c.id = ").push_bind(id.0);
        if let Some(w) = worker {
            q.push(
                " AND EXISTS (SELECT 1 FROM tickets t WHERE t.client_id = c.id AND t.worker_id = ",
            )
            .push_bind(w.0)
            .push(")");
        }
        q.build_query_as::<SummaryRow>()
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?
            .map(Into::into)
            .ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(skip_all, fields(client_id = %edit.client_id.0))]
    async fn edit_client(&self, edit: ClientEdit) -> Result<Client, StoreError> {
        let b = &edit.before;
        let phone = edit.phone.as_ref().map(|p| p.as_str().to_owned());
        let row: Option<ClientRow> = sqlx::query_as(
            "WITH c AS (UPDATE clients SET name = $1, name_folded = $2, email = $3, email_key = $4, \
                 phone = $5, phone_digits = $6 \
               WHERE id = $7 AND name = $8 AND email = $9 AND phone IS NOT DISTINCT FROM $10 \
               RETURNING id, name, email, phone, created_at), \
             e AS (INSERT INTO client_events (client_id, at, kind, actor_id, changes) \
               SELECT id, $11, $12, $13, $14 FROM c) \
             SELECT * FROM c",
        )
        .bind(edit.name.as_str())
        .bind(fold_case(edit.name.as_str()))
        .bind(edit.email.as_str())
        .bind(edit.email.key())
        .bind(&phone)
        .bind(phone.as_deref().map(crm_core::device::phone_digits))
        .bind(edit.client_id.0)
        .bind(&b.name)
        .bind(&b.email)
        .bind(&b.phone)
        .bind(edit.at)
        .bind(ClientEventKind::Edited.as_str())
        .bind(edit.actor.0)
        .bind(sqlx::types::Json(&edit.changes))
        .fetch_optional(&mut *self.conn().await?)
        .await
        .db(self)?;
        match row {
            Some(r) => Ok(r.into()),
            None => self
                .get_client(edit.client_id, None)
                .await
                .and(Err(StoreError::Stale)),
        }
    }

    #[tracing::instrument(skip_all, fields(client_id = %id.0))]
    async fn client_history(&self, id: ClientId) -> Result<Vec<ClientEvent>, StoreError> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT at, kind, actor_id, changes FROM client_events WHERE client_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(&mut *self.conn().await?)
        .await
        .db(self)?;
        if rows.is_empty() {
            // A customer has at least its creation: none means no such customer.
            return self.get_client(id, None).await.map(|_| Vec::new());
        }
        rows.into_iter()
            .map(|r| {
                Ok(ClientEvent {
                    at: r.at,
                    kind: ClientEventKind::parse(&r.kind).ok_or_else(|| {
                        StoreError::Backend(format!("unknown client event {}", r.kind).into())
                    })?,
                    actor_id: r.actor_id.map(UserId),
                    changes: r.changes.map(|c| c.0).unwrap_or_default(),
                })
            })
            .collect()
    }
}
