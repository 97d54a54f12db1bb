//! The global order of events: positions given after commit by one sequencer at a time (see
//! migration 0008 for why that is the contract), listening for changes from every replica,
//! and single-use values.

use crate::{
    PgStore,
    error::DbResult,
    rows::{EVENT_COLUMNS, EventRow},
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{Change, ChangeListener, Event, EventLog, StoreError, UserId, Visibility};
use sqlx::postgres::PgListener;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The channels the database notifies on: the sequencer's batches, account changes.
const EVENTS_CHANNEL: &str = "crm_events";
const ACCOUNTS_CHANNEL: &str = "crm_accounts";

/// The advisory lock one sequencer at a time holds, on every replica ("crm_seq"): operators
/// see its holder in `pg_locks` (`locktype = 'advisory'`).
pub const SEQUENCER_LOCK: i64 = 0x6372_6d5f_7365_7100;
/// Events positioned per statement (a sequencer that fills it runs again).
const SEQUENCE_BATCH: i64 = 5_000;
/// How often the sequencer also folds the appended counter changes into the counts.
const FOLD_EVERY: Duration = Duration::from_millis(500);

/// A dedicated connection LISTENing on both channels, and this process's own writes.
/// Notifications only say when to look; a listener that loses its connection is replaced by
/// its owner, who rereads the table.
struct Listener {
    inner: PgListener,
    written: watch::Receiver<u64>,
    target: String,
}

#[async_trait]
impl ChangeListener for Listener {
    async fn next(&mut self) -> Result<Change, StoreError> {
        tokio::select! {
            // A write through this store committed events: they want a position.
            changed = self.written.changed() => match changed {
                Ok(()) => Ok(Change::Events),
                Err(_) => Err(StoreError::Unavailable("the store was dropped".into())),
            },
            n = self.inner.recv() => {
                let n = n.map_err(|e| crate::error::map_err(&self.target, e))?;
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
    }
}

impl PgStore {
    /// Tells this process's listeners that a write committed events (they then sequence and
    /// read). Every event-writing method calls it after its commit.
    pub(crate) fn wrote_events(&self) {
        self.written.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Folds the appended counter changes into the counts, at most every [`FOLD_EVERY`], in
    /// the sequencer's transaction (so one replica at a time does it).
    fn fold_due(&self) -> bool {
        let mut last = self.last_fold.lock().unwrap_or_else(|p| p.into_inner());
        if last.elapsed() >= FOLD_EVERY {
            *last = Instant::now();
            true
        } else {
            false
        }
    }
}

#[async_trait]
impl EventLog for PgStore {
    async fn events_after(
        &self,
        after: i64,
        visibility: Visibility,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        // `Visibility::sees_event` as an index range: a worker sees the events of tickets it
        // has after them and those that took a ticket from it (the conformance check
        // `events_replay_in_order_from_any_position` holds the two equal).
        let sql = match visibility {
            Visibility::All => format!(
                "SELECT {EVENT_COLUMNS} FROM event_positions p \
                 JOIN ticket_events e ON e.id = p.event_id \
                 WHERE p.seq > $1 ORDER BY p.seq LIMIT $2"
            ),
            Visibility::AssignedTo(_) => format!(
                "SELECT {EVENT_COLUMNS} FROM ( \
                    (SELECT seq, event_id FROM event_positions \
                     WHERE ticket_worker = $3 AND seq > $1 ORDER BY seq LIMIT $2) \
                    UNION \
                    (SELECT seq, event_id FROM event_positions \
                     WHERE prev_worker = $3 AND seq > $1 ORDER BY seq LIMIT $2)) p \
                 JOIN ticket_events e ON e.id = p.event_id ORDER BY p.seq LIMIT $2"
            ),
        };
        let worker = match visibility {
            Visibility::All => None,
            Visibility::AssignedTo(w) => Some(w.0),
        };
        let rows: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(after)
            .bind(i64::from(limit))
            .bind(worker)
            .fetch_all(&mut *self.conn().await?)
            .await
            .db(self)?;
        rows.into_iter().map(Event::try_from).collect()
    }

    async fn last_event_seq(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM event_positions")
            .fetch_one(&mut *self.conn().await?)
            .await
            .db(self)
    }

    async fn sequence(&self) -> Result<u64, StoreError> {
        let fold = self.fold_due();
        // Nothing queued (the usual answer to a poll or to a sequencer's own notification):
        // no transaction, no lock. An event committed just after this read wakes its own
        // replica's sequencer, or the next poll's.
        let work: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM event_queue) \
                 OR ($1 AND EXISTS (SELECT 1 FROM ticket_count_deltas))",
        )
        .bind(fold)
        .fetch_one(&mut *self.conn().await?)
        .await
        .db(self)?;
        if !work {
            return Ok(0);
        }
        let mut total = 0u64;
        loop {
            let mut conn = self.conn().await?;
            let mut tx = conn.begin().await.db(self)?;
            // Waits for a sequencer on another replica to commit: its snapshot then includes
            // that commit, and whatever it did not see.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(SEQUENCER_LOCK)
                .execute(&mut *tx)
                .await
                .db(self)?;
            let positioned: i64 = sqlx::query_scalar(
                "WITH q AS ( \
                    DELETE FROM event_queue WHERE event_id IN \
                        (SELECT event_id FROM event_queue ORDER BY event_id LIMIT $1) \
                    RETURNING event_id), \
                 base AS (SELECT coalesce(max(seq), 0) AS last FROM event_positions), \
                 ins AS ( \
                    INSERT INTO event_positions (seq, event_id, ticket_worker, prev_worker) \
                    SELECT base.last + row_number() OVER (ORDER BY e.id), e.id, \
                           e.ticket_worker, e.prev_worker \
                    FROM q JOIN ticket_events e ON e.id = q.event_id CROSS JOIN base \
                    RETURNING 1) \
                 SELECT count(*) FROM ins",
            )
            .bind(SEQUENCE_BATCH)
            .fetch_one(&mut *tx)
            .await
            .db(self)?;
            if positioned > 0 {
                sqlx::query("SELECT pg_notify($1, '')")
                    .bind(EVENTS_CHANNEL)
                    .execute(&mut *tx)
                    .await
                    .db(self)?;
            }
            if fold && total == 0 {
                self.fold_counts(&mut tx).await?;
            }
            tx.commit().await.db(self)?;
            total += positioned as u64;
            if positioned < SEQUENCE_BATCH {
                return Ok(total);
            }
        }
    }

    async fn listen(&self) -> Result<Box<dyn ChangeListener>, StoreError> {
        let mut inner = PgListener::connect_with(&self.pool).await.db(self)?;
        inner
            .listen_all([EVENTS_CHANNEL, ACCOUNTS_CHANNEL])
            .await
            .db(self)?;
        Ok(Box::new(Listener {
            inner,
            written: self.written.subscribe(),
            target: self.target.clone(),
        }))
    }

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
            .db(self)?;
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
        .db(self)?;
        Ok(done.rows_affected() == 1)
    }
}

impl PgStore {
    /// Moves the appended counter changes into the counts (migration 0008): nobody else
    /// updates `ticket_counts`, and writers only insert deltas, so no write waits on this.
    async fn fold_counts(&self, tx: &mut crate::pool::Tx<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "WITH d AS (DELETE FROM ticket_count_deltas RETURNING *), \
             s AS (SELECT worker_id, status, sum(n) AS n, sum(resolution_micros) AS r \
                   FROM d GROUP BY 1, 2) \
             INSERT INTO ticket_counts AS c (worker_id, status, n, resolution_micros) \
             SELECT worker_id, status, n, r FROM s ORDER BY 1, 2 \
             ON CONFLICT (worker_id, status) DO UPDATE \
             SET n = c.n + excluded.n, resolution_micros = c.resolution_micros + excluded.resolution_micros",
        )
        .execute(&mut **tx)
        .await
        .db(self)?;
        Ok(())
    }
}
