//! The conversation on tickets. A message is written in a transaction that first locks its
//! ticket row, so messages on one ticket queue behind each other: the allowance count that
//! follows the lock sees every message committed before it (two racing messages cannot both
//! pass a count of 19), and the event records the ticket's state as it is. The write is also
//! compared and set on the ticket as read (status, worker, last message), so a change that
//! slipped past the lock could never be recorded against a stale state.

use crate::{PgStore, error::DbResult, record::Events, rows::audience};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    Audience, Author, Message, MessageReader, MessageStore, MessageTarget, NewEvent, NewMessage,
    Page, PageRequest, StoreError, TicketId, UserId, Visibility, message::CUSTOMER_WINDOW,
};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};

/// The ticket as a new message is decided on.
#[derive(FromRow)]
struct Before {
    id: i64,
    status: String,
    worker_id: Option<i64>,
    done_at: Option<DateTime<Utc>>,
    last_message_id: Option<i64>,
    recent: i64,
    author_name: Option<String>,
    client_name: String,
    message_id: i64,
}

#[derive(FromRow)]
struct MessageRow {
    id: i64,
    ticket_id: i64,
    body: String,
    visibility: String,
    author_id: Option<i64>,
    author_name: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<MessageRow> for Message {
    type Error = StoreError;
    fn try_from(r: MessageRow) -> Result<Self, StoreError> {
        Ok(Message {
            id: r.id,
            ticket_id: TicketId(r.ticket_id),
            body: r.body,
            visibility: audience(&r.visibility)?,
            author: Author {
                user_id: r.author_id.map(UserId),
                name: r.author_name,
            },
            created_at: r.created_at,
        })
    }
}

/// The columns of a [`MessageRow`] over `ticket_messages m LEFT JOIN users u`, with the
/// ticket's client joined as `c`.
const MESSAGE_COLUMNS: &str = "m.id, m.ticket_id, m.body, m.visibility, m.author_id, \
    coalesce(u.username, c.name) AS author_name, m.created_at";

/// Appends the condition that finds the message's ticket as `t` inside the writer's scope.
pub(crate) fn push_target(q: &mut QueryBuilder<'_, Postgres>, target: &MessageTarget) {
    match target {
        MessageTarget::Staff { id, visibility, .. } => {
            q.push("t.id = ").push_bind(id.0);
            if let Visibility::AssignedTo(w) = visibility {
                q.push(" AND t.worker_id = ").push_bind(w.0);
            }
        }
        MessageTarget::Customer(code) => {
            q.push("t.tracking_code = ")
                .push_bind(code.as_str().to_owned());
        }
    }
}

impl PgStore {
    /// Locks the message's ticket row until the transaction ends; false when there is none
    /// in the writer's scope.
    async fn lock_ticket(
        &self,
        conn: &mut PgConnection,
        target: &MessageTarget,
    ) -> Result<bool, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT t.id FROM tickets t WHERE ");
        push_target(&mut q, target);
        q.push(" FOR UPDATE");
        let row: Option<(i64,)> = q.build_query_as().fetch_optional(conn).await.db(self)?;
        Ok(row.is_some())
    }

    async fn before_message(
        &self,
        conn: &mut PgConnection,
        new: &NewMessage,
    ) -> Result<Before, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT t.id, t.status, t.worker_id, t.done_at, t.last_message_id, \
                    c.name AS client_name, \
                    (SELECT count(*) FROM ticket_messages m WHERE m.ticket_id = t.id \
                       AND m.author_id IS NULL AND m.created_at > ",
        );
        q.push_bind(new.at - CUSTOMER_WINDOW)
            .push(") AS recent, (SELECT username FROM users WHERE id = ")
            .push_bind(new.author().map(UserId::get))
            .push(
                ") AS author_name, nextval('ticket_messages_id_seq') AS message_id \
                 FROM tickets t JOIN clients c ON c.id = t.client_id WHERE ",
            );
        push_target(&mut q, &new.target);
        q.build_query_as()
            .fetch_optional(conn)
            .await
            .db(self)?
            .ok_or(StoreError::NotFound)
    }

    /// Writes the message against the ticket as `b` read it; false when the ticket moved on.
    async fn write_message(
        &self,
        conn: &mut PgConnection,
        new: &NewMessage,
        b: &Before,
    ) -> Result<bool, StoreError> {
        let status = crate::rows::status(&b.status)?;
        let audience = new.audience();
        let event = NewEvent::message_added(
            new.at,
            new.author(),
            audience,
            b.message_id,
            status,
            b.worker_id.map(UserId),
        );
        let mut q =
            QueryBuilder::<Postgres>::new("WITH t AS (UPDATE tickets SET last_message_id = ");
        q.push_bind(b.message_id);
        if audience == Audience::Customer {
            q.push(", awaiting_reply = ")
                .push_bind(new.author().is_none());
        }
        q.push(" WHERE id = ")
            .push_bind(b.id)
            .push(" AND status = ")
            .push_bind(b.status.clone())
            .push(" AND worker_id IS NOT DISTINCT FROM ")
            .push_bind(b.worker_id)
            .push(" AND last_message_id IS NOT DISTINCT FROM ")
            .push_bind(b.last_message_id)
            .push(
                " RETURNING *), m AS (INSERT INTO ticket_messages \
                   (id, ticket_id, body, visibility, author_id, created_at) SELECT ",
            )
            .push_bind(b.message_id)
            .push(", t.id, ")
            .push_bind(new.body.as_str().to_owned())
            .push(", ")
            .push_bind(audience.as_str())
            .push(", ")
            .push_bind(new.author().map(UserId::get))
            .push(", ")
            .push_bind(new.at)
            .push(" FROM t RETURNING id)");
        Events::one(Some(TicketId(b.id)), &event).push_ctes(&mut q, "t");
        q.push(" SELECT count(*) FROM m");
        let (written,): (i64,) = q.build_query_as().fetch_one(conn).await.db(self)?;
        Ok(written == 1)
    }
}

#[async_trait]
impl MessageStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn add_message(&self, new: NewMessage) -> Result<Message, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        if !self.lock_ticket(&mut tx, &new.target).await? {
            return Err(StoreError::NotFound);
        }
        // Read after the lock: a statement of its own sees what committed before it.
        let b = self.before_message(&mut tx, &new).await?;
        new.customer_may_write(b.done_at, u64::try_from(b.recent).unwrap_or(0))?;
        if !self.write_message(&mut tx, &new, &b).await? {
            // The lock makes this unreachable; the compare-and-set makes it harmless.
            return Err(StoreError::Stale);
        }
        tx.commit().await.db(self)?;
        self.wrote_events();
        let (visibility, author) = (new.audience(), new.author());
        let name = match author {
            Some(u) => b.author_name.unwrap_or_else(|| format!("user #{}", u.0)),
            None => b.client_name,
        };
        Ok(Message {
            id: b.message_id,
            ticket_id: TicketId(b.id),
            body: new.body.into_inner(),
            visibility,
            author: Author {
                user_id: author,
                name,
            },
            created_at: new.at,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn list_messages(
        &self,
        reader: &MessageReader,
        page: PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(
            "WITH c AS (SELECT t.id AS ticket_id, c.name FROM tickets t \
               JOIN clients c ON c.id = t.client_id WHERE ",
        );
        let customer = match reader {
            MessageReader::Staff(id, visibility) => {
                q.push("t.id = ").push_bind(id.0);
                if let Visibility::AssignedTo(w) = visibility {
                    q.push(" AND t.worker_id = ").push_bind(w.0);
                }
                false
            }
            MessageReader::Customer(code) => {
                q.push("t.tracking_code = ")
                    .push_bind(code.as_str().to_owned());
                true
            }
        };
        let only_customer = if customer {
            " AND m.visibility = 'customer'"
        } else {
            ""
        };
        q.push(format!(
            ") SELECT (SELECT count(*) FROM ticket_messages m WHERE m.ticket_id = c.ticket_id \
                 {only_customer}) AS total, x.* FROM c LEFT JOIN LATERAL ( \
               SELECT {MESSAGE_COLUMNS} FROM ticket_messages m \
               LEFT JOIN users u ON u.id = m.author_id \
               WHERE m.ticket_id = c.ticket_id{only_customer} AND m.id > "
        ));
        q.push_bind(page.cursor().map_or(0, |c| c.id))
            .push(" ORDER BY m.id LIMIT ")
            .push_bind(i64::from(page.fetch_limit()))
            .push(" OFFSET ")
            .push_bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .push(") x ON TRUE");
        #[derive(FromRow)]
        struct Listed {
            total: i64,
            id: Option<i64>,
            ticket_id: Option<i64>,
            body: Option<String>,
            visibility: Option<String>,
            author_id: Option<i64>,
            author_name: Option<String>,
            created_at: Option<DateTime<Utc>>,
        }
        let rows: Vec<Listed> = q
            .build_query_as()
            .fetch_all(&mut *self.conn().await?)
            .await
            .db(self)?;
        let Some(first) = rows.first() else {
            return Err(StoreError::NotFound);
        };
        let total = u64::try_from(first.total).unwrap_or(0);
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            if let (Some(id), Some(ticket_id), Some(body), Some(v), Some(name), Some(at)) = (
                r.id,
                r.ticket_id,
                r.body,
                r.visibility,
                r.author_name,
                r.created_at,
            ) {
                items.push(Message::try_from(MessageRow {
                    id,
                    ticket_id,
                    body,
                    visibility: v,
                    author_id: r.author_id,
                    author_name: name,
                    created_at: at,
                })?);
            }
        }
        Ok(page.page_of(items, total))
    }

    async fn get_message(&self, id: i64) -> Result<Message, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM ticket_messages m \
             JOIN tickets t ON t.id = m.ticket_id JOIN clients c ON c.id = t.client_id \
             LEFT JOIN users u ON u.id = m.author_id WHERE m.id = $1"
        );
        sqlx::query_as::<_, MessageRow>(&sql)
            .bind(id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .db(self)?
            .ok_or(StoreError::NotFound)?
            .try_into()
    }
}
