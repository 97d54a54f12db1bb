//! The connections every statement of the store runs on.
//!
//! sqlx's pool answers a round trip (a `Sync` and its `ReadyForQuery`) each time a connection
//! goes back to it, to flush what a cancelled call may have left. For a request whose
//! statements are each a single round trip (the session check, a page, the statistics), that
//! doubles the messages the database and the server exchange (see README's PostgreSQL load
//! benchmark for what it cost). This pool keeps the same guarantees with less: a connection goes
//! back as it is when nothing is left to flush, and is flushed (off the caller's path) only
//! when a dropped transaction queued its `ROLLBACK`; a cancelled call's unread answer is read
//! by the next user before its own statement (sqlx does that on every call). A connection
//! idle for a second or more is pinged before use, so one cut while idle (a database restart)
//! is replaced instead of failing a request; after any statement failed with its connection,
//! every connection is pinged before use for a while, so broken ones leave the pool even
//! while it is busy.

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

/// When a statement last failed because its connection did (milliseconds after [`epoch`]).
static LAST_FAILURE_MS: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Records that a connection broke (the error mapping calls it), so the pool checks the
/// connections it hands out for a while.
pub(crate) fn connection_failed() {
    let ms = u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX);
    LAST_FAILURE_MS.store(ms.max(1), Ordering::Relaxed);
}

fn recently_failed() -> bool {
    let last = LAST_FAILURE_MS.load(Ordering::Relaxed);
    last != 0
        && epoch().elapsed().as_millis() < u128::from(last) + SUSPECT_AFTER_FAILURE.as_millis()
}

/// A bounded set of connections, shared by clones.
#[derive(Clone)]
pub(crate) struct Pool(Arc<Inner>);

struct Inner {
    options: PgConnectOptions,
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
            let fresh = since.elapsed() < IDLE_BEFORE_PING && !recently_failed();
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
        }
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
        if !conn.should_flush() && !conn.is_in_transaction() {
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
