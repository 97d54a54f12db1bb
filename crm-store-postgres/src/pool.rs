//! The connections every statement of the store runs on.
//!
//! sqlx's pool answers a round trip (a `Sync` and its `ReadyForQuery`) each time a connection
//! goes back to it, to flush what a cancelled call may have left. For a request whose
//! statements are each a single round trip (the session check, a page, the statistics), that
//! doubles the messages the database and the server exchange (see README's PostgreSQL load
//! benchmark for what it cost). This pool keeps the same guarantees with less: a connection goes
//! back as it is when nothing is left to flush, and is flushed (off the caller's path) only
//! when a transaction was dropped before its commit ([`Tx`] marks it; sqlx then queued the
//! `ROLLBACK`); a cancelled call's unread answer is read by the next user before its own
//! statement (sqlx does that on every call). A connection idle for a second or more is pinged
//! before use, so one cut while idle (a database restart) is replaced instead of failing a
//! request; after any statement of this pool failed with its connection, every connection is
//! pinged before use for a while, so broken ones leave the pool even while it is busy.
//!
//! Only public sqlx API is used: transactions are begun through [`Conn::begin`], whose guard
//! knows whether it was committed.

use sqlx::{ConnectOptions, Connection, PgConnection, postgres::PgConnectOptions};
use std::{
    ops::{Deref, DerefMut},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a pooled connection may sit idle before it is pinged on its next use.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// How long after a connection failed every reused connection is pinged first: a database
/// restart breaks them all at once, and under load none sits idle long enough to be pinged.
const SUSPECT_AFTER_FAILURE: Duration = Duration::from_secs(2);

/// A bounded set of connections, shared by clones.
#[derive(Clone)]
pub(crate) struct Pool(Arc<Inner>);

struct Inner {
    options: PgConnectOptions,
    /// When a statement last failed because its connection did (milliseconds after
    /// `started`; 0 for never): this pool's own, so one store's outage never makes another
    /// store's pool ping.
    last_failure_ms: AtomicU64,
    started: Instant,
    max: u32,
    acquire_timeout: Duration,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<(PgConnection, Instant)>>,
    open: AtomicU32,
    waiting: AtomicU64,
    closed: AtomicBool,
}

impl Pool {
    /// A pool of at most `max` connections made with `options`; none is opened until needed.
    pub(crate) fn new(options: PgConnectOptions, max: u32, acquire_timeout: Duration) -> Self {
        Self(Arc::new(Inner {
            options,
            last_failure_ms: AtomicU64::new(0),
            started: Instant::now(),
            max,
            acquire_timeout,
            permits: Arc::new(Semaphore::new(max as usize)),
            idle: Mutex::new(Vec::new()),
            open: AtomicU32::new(0),
            waiting: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }))
    }

    /// A connection: an idle one (pinged first if it sat for a while), else a new one. Waits
    /// for a free slot at most the acquire timeout (then `PoolTimedOut`).
    pub(crate) async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        let inner = &self.0;
        if inner.closed.load(Ordering::Acquire) {
            return Err(sqlx::Error::PoolClosed);
        }
        inner.waiting.fetch_add(1, Ordering::Relaxed);
        let permit =
            tokio::time::timeout(inner.acquire_timeout, inner.permits.clone().acquire_owned())
                .await;
        inner.waiting.fetch_sub(1, Ordering::Relaxed);
        let permit = match permit {
            Ok(Ok(p)) => p,
            Ok(Err(_)) => return Err(sqlx::Error::PoolClosed),
            Err(_) => return Err(sqlx::Error::PoolTimedOut),
        };
        loop {
            let next = inner.lock_idle().pop();
            let Some((mut conn, since)) = next else { break };
            let fresh = since.elapsed() < IDLE_BEFORE_PING && !inner.recently_failed();
            if fresh || conn.ping().await.is_ok() {
                return Ok(self.wrap(conn, permit));
            }
            // Cut while idle: forget it and try the next.
            inner.open.fetch_sub(1, Ordering::Relaxed);
        }
        let conn = inner.options.connect().await?;
        inner.open.fetch_add(1, Ordering::Relaxed);
        Ok(self.wrap(conn, permit))
    }

    fn wrap(&self, conn: PgConnection, permit: OwnedSemaphorePermit) -> Conn {
        Conn {
            conn: Some(conn),
            permit: Some(permit),
            pool: self.clone(),
            dropped_tx: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Records that a connection of this pool broke (the error mapping calls it), so the
    /// pool checks the connections it hands out for a while.
    pub(crate) fn connection_failed(&self) {
        let ms = u64::try_from(self.0.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.last_failure_ms.store(ms.max(1), Ordering::Relaxed);
    }

    /// Closes the idle connections and refuses new acquires; connections in use close when
    /// they come back.
    pub(crate) async fn close(&self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.permits.close();
        let idle: Vec<_> = self.0.lock_idle().drain(..).collect();
        for (conn, _) in idle {
            self.0.open.fetch_sub(1, Ordering::Relaxed);
            let _ = conn.close().await;
        }
    }

    pub(crate) fn status(&self) -> crm_core::PoolStatus {
        let inner = &self.0;
        crm_core::PoolStatus {
            max: inner.max,
            open: inner.open.load(Ordering::Relaxed),
            idle: u32::try_from(inner.lock_idle().len()).unwrap_or(u32::MAX),
            waiting: inner.waiting.load(Ordering::Relaxed),
        }
    }
}

impl Inner {
    fn recently_failed(&self) -> bool {
        let last = self.last_failure_ms.load(Ordering::Relaxed);
        last != 0
            && self.started.elapsed().as_millis()
                < u128::from(last) + SUSPECT_AFTER_FAILURE.as_millis()
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<(PgConnection, Instant)>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn put_back(&self, conn: PgConnection) {
        if self.closed.load(Ordering::Acquire) {
            self.open.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        self.lock_idle().push((conn, Instant::now()));
    }
}

/// A connection in use; it goes back to its pool when dropped.
pub(crate) struct Conn {
    conn: Option<PgConnection>,
    permit: Option<OwnedSemaphorePermit>,
    pool: Pool,
    /// Set when a transaction on it was dropped before committing or rolling back.
    dropped_tx: Arc<AtomicBool>,
}

impl Conn {
    /// Begins a transaction whose guard tells the pool, when it is dropped unfinished, that
    /// a `ROLLBACK` waits to be sent.
    pub(crate) async fn begin(&mut self) -> Result<Tx<'_>, sqlx::Error> {
        let flag = self.dropped_tx.clone();
        let conn = self.conn.as_mut().expect("present until dropped");
        let inner = Connection::begin(conn).await?;
        Ok(Tx {
            inner: Some(inner),
            flag,
        })
    }
}

/// A transaction on a [`Conn`]: sqlx's, plus the mark a dropped one leaves.
pub(crate) struct Tx<'c> {
    inner: Option<sqlx::Transaction<'c, sqlx::Postgres>>,
    flag: Arc<AtomicBool>,
}

impl Tx<'_> {
    /// Commits; a transaction dropped before this (or cancelled inside it) is rolled back.
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        let tx = self.inner.take().expect("present until finished");
        // Until the commit is known to be through, a ROLLBACK may be left to send.
        self.flag.store(true, Ordering::Release);
        tx.commit().await?;
        self.flag.store(false, Ordering::Release);
        Ok(())
    }
}

impl Deref for Tx<'_> {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.inner.as_ref().expect("present until finished")
    }
}

impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.inner.as_mut().expect("present until finished")
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.inner.is_some() {
            // sqlx queues the ROLLBACK when its transaction drops; the pool sends it.
            self.flag.store(true, Ordering::Release);
        }
    }
}

impl Deref for Conn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn.as_ref().expect("present until dropped")
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("present until dropped")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let (Some(mut conn), Some(permit)) = (self.conn.take(), self.permit.take()) else {
            return;
        };
        let inner = self.pool.0.clone();
        if !self.dropped_tx.load(Ordering::Acquire) && !conn.is_in_transaction() {
            inner.put_back(conn);
            drop(permit);
            return;
        }
        // A dropped transaction queued its ROLLBACK: send it now (locks must not wait for the
        // next user), keeping the slot until the connection is usable again or gone.
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    match conn.ping().await {
                        Ok(()) if !conn.is_in_transaction() => inner.put_back(conn),
                        _ => {
                            inner.open.fetch_sub(1, Ordering::Relaxed);
                        }
                    }
                    drop(permit);
                });
            }
            Err(_) => {
                inner.open.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}
