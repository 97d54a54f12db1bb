//! sqlx errors to [`StoreError`]: settled outcomes by constraint name, an unreachable or
//! restarting database as `Unavailable`, everything else as `Backend`. One extension trait
//! ([`DbResult::db`]) so every query ends in `?` rather than a closure.
//!
//! Nothing here logs: most errors are outcomes the caller expects (a duplicate, a lost
//! compare-and-set), and the one place that turns an unexpected one into a 500 or 503 logs it
//! (the server's error mapping), so both stores log alike.

use crate::PgStore;
use crm_core::StoreError;

/// Maps a query's error for the store that ran it.
pub(crate) trait DbResult<T> {
    /// The result with its error mapped, naming the database's `host:port` (never
    /// credentials); a broken connection also tells the store's pool to check the ones it
    /// hands out for a while.
    fn db(self, store: &PgStore) -> Result<T, StoreError>;
}

impl<T> DbResult<T> for Result<T, sqlx::Error> {
    fn db(self, store: &PgStore) -> Result<T, StoreError> {
        self.map_err(|e| {
            if connection_broke(&e) {
                store.conns.connection_failed();
            }
            map_err(&store.target, e)
        })
    }
}

pub(crate) fn unavailable(target: &str, e: &sqlx::Error) -> StoreError {
    let why = match e {
        sqlx::Error::PoolTimedOut => "timed out".to_owned(),
        sqlx::Error::Io(io) => io.kind().to_string(),
        sqlx::Error::Tls(_) => "TLS failure".to_owned(),
        sqlx::Error::Database(db) => db.message().to_owned(),
        _ => "connection failed".to_owned(),
    };
    StoreError::Unavailable(format!("cannot reach PostgreSQL at {target}: {why}"))
}

pub(crate) fn map_err(target: &str, e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) => match db.constraint() {
            Some("tickets_open_dedup_key") => StoreError::DuplicateTicket,
            Some("users_active_username_key") => StoreError::UsernameTaken,
            Some("clients_email_key_key") => StoreError::EmailTaken,
            // A ticket pointing at a stage that is gone (or, on a stage's removal, the
            // tickets still in it: `delete_stage` says so).
            Some("tickets_stage_fkey") => StoreError::UnknownStage,
            // The database is away, restarting, refusing us, over its time limit, or lost a
            // transaction to a deadlock or serialisation conflict: all pass, so all are
            // "try again" (503), never an internal error. Classes: 08 connection, 28 and 3D
            // authentication and a missing database, 53 insufficient resources, 57 operator
            // intervention (shutdown, restart, statement timeout), 40 transaction rollback.
            _ if db.code().is_some_and(|c| {
                ["08", "28", "53", "57", "40"]
                    .iter()
                    .any(|class| c.starts_with(class))
                    || c == "3D000"
            }) =>
            {
                unavailable(target, &e)
            }
            _ => StoreError::Backend(Box::new(e)),
        },
        // A connection that died mid-query surfaces as an I/O or protocol error.
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => unavailable(target, &e),
        _ => StoreError::Backend(Box::new(e)),
    }
}

/// Whether the error means the connection itself is gone (not a statement refused on a
/// healthy one): I/O and protocol failures, a connection-class error, an administrator's or
/// a crash's shutdown.
fn connection_broke(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}
