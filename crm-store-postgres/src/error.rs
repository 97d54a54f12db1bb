//! sqlx errors to [`StoreError`]: settled outcomes by constraint name, an unreachable or
//! restarting database as `Unavailable`, everything else as `Backend`. One extension trait
//! ([`DbResult::db`]) so every query ends in `?` rather than a closure.

use crm_core::StoreError;

/// Maps a query's error, naming the database's `host:port` (never credentials).
pub(crate) trait DbResult<T> {
    /// The result with its error mapped for a database at `target`.
    fn db(self, target: &str) -> Result<T, StoreError>;
}

impl<T> DbResult<T> for Result<T, sqlx::Error> {
    fn db(self, target: &str) -> Result<T, StoreError> {
        self.map_err(|e| map_err(target, e))
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
            // Authentication and "database does not exist" arrive as database errors too.
            _ if db.code().is_some_and(|c| {
                c.starts_with("28") || c == "3D000" || c.starts_with("08") || c == "57P03"
            }) =>
            {
                unavailable(target, &e)
            }
            _ => StoreError::Backend(Box::new(e)),
        },
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => unavailable(target, &e),
        _ => StoreError::Backend(Box::new(e)),
    }
}
