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
/// see its holder in `pg_locks` (`locktype = 'advisory'`). Migration 0008's `crm_sequence`
/// takes it by this number (`a_sequencer_killed_while_holding_the_lock_leaves_the_order_whole` fails when the two differ).
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
                Ok(()) => Ok(Change::Written),
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
        let mut total = 0u64;
        loop {
            // One round trip: the function takes the lock, positions a batch, notifies and
            // folds, in the call's own transaction (migration 0008).
            let positioned: i64 = sqlx::query_scalar("SELECT crm_sequence($1, $2)")
                .bind(SEQUENCE_BATCH)
                .bind(fold && total == 0)
                .fetch_one(&mut *self.conn().await?)
                .await
                .db(self)?;
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
