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
//! transaction. Each change writes its history events and their notifications in the same
//! statement (`record.rs`), with every field bound from what crm-core built. Constraint
//! violations map to the core errors by constraint name (`error.rs`).
//!
//! No write waits for another ticket's write: events get their positions after commit from
//! one sequencer at a time (`events.rs`, migration 0008 says why that keeps the live-update
//! contract), counters are appended and folded by that sequencer, and writers never NOTIFY
//! (PostgreSQL serialises the commits of notifying transactions). The triggers that stay keep
//! derived tables only: `ticket_search` (the narrow copy searches read), the counter deltas,
//! and the queue of events awaiting their position.
//!
//! Counts come from `ticket_totals` (folded counts plus recent deltas), so list totals and
//! statistics never count a million rows; title search uses a `pg_trgm` index.
//!
//! Statements run on a small pool of the store's own (`pool.rs`), which puts a connection
//! back without a round trip unless a dropped transaction left a `ROLLBACK` to send; sqlx's
//! pool ([`PgStore::pool`]) serves migrations, the change listener and embedders.
//!
//! Migrations are embedded and run by [`PgStore::connect`] (concurrent replicas serialise on
//! sqlx's advisory lock). Queries are checked at run time, so building never needs a database.
//! Status names, event kinds, roles, topics and e-mail kinds are bound from their Rust values;
//! the schema spells statuses, kinds and roles once more, in its `CHECK` constraints.

mod assignment;
mod attachments;
mod clients;
mod connect;
mod credentials;
mod error;
mod events;
mod messages;
mod outbox;
mod pool;
mod quotes;
mod record;
pub mod refold;
mod rows;
mod stages;
mod throttle;
mod tickets;
mod users;

pub use connect::{PgSettings, parse_url};
pub use events::SEQUENCER_LOCK;

/// How often a store method that compares and sets re-reads after losing, before it answers
/// [`StoreError::Stale`] (the facade then retries or answers 503).
const RACE_ATTEMPTS: usize = 8;

use async_trait::async_trait;
use crm_core::{StoreError, StoreHealth};
use error::DbResult;
use sqlx::PgPool;

/// The PostgreSQL backend. Clones share one pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// `host:port`, for error messages that never carry credentials.
    target: String,
    /// The connections statements run on ([`pool`]); `pool` serves migrations, the
    /// listener and embedders.
    conns: pool::Pool,
    /// Bumped after every commit that wrote events, so this process's listeners sequence
    /// them at once (no write NOTIFYs: see migration 0008).
    written: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// When this store last folded the counter changes (see `events.rs`).
    last_fold: std::sync::Arc<std::sync::Mutex<std::time::Instant>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl StoreHealth for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&mut *self.conn().await?)
            .await
            .map(|_| ())
            .db(self)
    }

    fn pool_status(&self) -> Option<crm_core::PoolStatus> {
        Some(self.conns.status())
    }
}

impl PgStore {
    /// A connection for one statement or transaction, counted among the waiters until it is
    /// there.
    async fn conn(&self) -> Result<pool::Conn, StoreError> {
        self.conns.acquire().await.db(self)
    }
}
