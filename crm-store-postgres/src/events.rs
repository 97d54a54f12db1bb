//! The global order of events (see migration 0004 for why positions follow commit order),
//! listening for changes from every replica, and single-use values.

use crate::{
    PgStore,
    error::DbResult,
    rows::{EVENT_COLUMNS, EventRow},
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{Change, ChangeListener, Event, EventLog, StoreError, UserId, Visibility};
use sqlx::postgres::PgListener;

/// The channels the database notifies on (migration 0004).
const EVENTS_CHANNEL: &str = "crm_events";
const ACCOUNTS_CHANNEL: &str = "crm_accounts";

/// A dedicated connection LISTENing on both channels. Notifications only say when to look;
/// a listener that loses its connection is replaced by its owner, who rereads the table.
struct Listener {
    inner: PgListener,
    target: String,
}

#[async_trait]
impl ChangeListener for Listener {
    async fn next(&mut self) -> Result<Change, StoreError> {
        let n = self.inner.recv().await.db(&self.target)?;
        Ok(match n.channel() {
            ACCOUNTS_CHANNEL => n
                .payload()
                .parse()
                .map(|id| Change::Account(UserId(id)))
                .unwrap_or(Change::Unknown),
            EVENTS_CHANNEL => Change::Events,
            _ => Change::Unknown,
        })
    }
}

#[async_trait]
impl EventLog for PgStore {
    #[tracing::instrument(skip_all, err)]
    async fn events_after(
        &self,
        after: i64,
        visibility: Visibility,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        // The same rule as `Visibility::sees_event`, in SQL.
        let worker = match visibility {
            Visibility::All => None,
            Visibility::AssignedTo(w) => Some(w.0),
        };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM ticket_events e \
             WHERE e.seq > $1 \
               AND ($2::bigint IS NULL OR e.ticket_worker = $2 OR e.prev_worker = $2) \
             ORDER BY e.seq LIMIT $3"
        );
        let rows: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(after)
            .bind(worker)
            .bind(i64::from(limit))
            .fetch_all(&mut *self.conn().await?)
            .await
            .db(&self.target)?;
        rows.into_iter().map(Event::try_from).collect()
    }

    #[tracing::instrument(skip_all, err)]
    async fn last_event_seq(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT last_seq FROM event_order")
            .fetch_one(&mut *self.conn().await?)
            .await
            .db(&self.target)
    }

    async fn listen(&self) -> Result<Box<dyn ChangeListener>, StoreError> {
        let mut inner = PgListener::connect_with(&self.pool)
            .await
            .db(&self.target)?;
        inner
            .listen_all([EVENTS_CHANNEL, ACCOUNTS_CHANNEL])
            .await
            .db(&self.target)?;
        Ok(Box::new(Listener {
            inner,
            target: self.target.clone(),
        }))
    }

    #[tracing::instrument(skip_all, err)]
    async fn use_once(
        &self,
        nonce: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // A nonce whose earlier use has expired may be taken again; sweeping the others
        // keeps the table as small as the set of live tickets.
        sqlx::query("DELETE FROM used_nonces WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *self.conn().await?)
            .await
            .db(&self.target)?;
        let done = sqlx::query(
            "INSERT INTO used_nonces (nonce, expires_at) VALUES ($1, $2) \
             ON CONFLICT (nonce) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE used_nonces.expires_at <= $3",
        )
        .bind(nonce)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *self.conn().await?)
        .await
        .db(&self.target)?;
        Ok(done.rows_affected() == 1)
    }
}
