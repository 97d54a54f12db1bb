//! Connecting, the pool's settings, and the embedded migrations.

use crate::{
    PgStore,
    error::{DbResult, unavailable},
    pool::Pool,
};
use crm_core::StoreError;
use sqlx::{
    ConnectOptions, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use std::{str::FromStr, time::Duration};

/// Settings of the connection pool.
#[derive(Debug, Clone)]
pub struct PgSettings {
    /// Most connections the pool opens (the races of many requests need several).
    pub max_connections: u32,
    /// How long a query waits for a free connection, or for the database to answer a connect,
    /// before it fails with [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
    /// The longest a statement may run before PostgreSQL cancels it (its `statement_timeout`);
    /// a cancelled statement is [`StoreError::Unavailable`]. `None` leaves the server's setting.
    pub statement_timeout: Option<Duration>,
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Some(Duration::from_secs(5)),
        }
    }
}

/// Parses a database URL. The seed system's `postgresql+asyncpg://` form is accepted too.
pub fn parse_url(url: &str) -> Result<PgConnectOptions, StoreError> {
    let url = url
        .strip_prefix("postgresql+asyncpg://")
        .map(|rest| format!("postgres://{rest}"))
        .unwrap_or_else(|| url.to_owned());
    PgConnectOptions::from_str(&url)
        .map(|o| o.log_statements(tracing::log::LevelFilter::Trace))
        // The parser's message may quote the URL, password included: say only what it is.
        .map_err(|_| {
            StoreError::Unavailable("the database URL is not a valid postgres:// URL".into())
        })
}

fn target_of(options: &PgConnectOptions) -> String {
    format!("{}:{}", options.get_host(), options.get_port())
}

impl PgStore {
    /// Connects with default settings and runs the embedded migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(parse_url(url)?, PgSettings::default()).await
    }

    /// Connects and runs the embedded migrations. A database that cannot be reached is one
    /// [`StoreError::Unavailable`] naming host and port, never the password.
    pub async fn connect_with(
        options: PgConnectOptions,
        settings: PgSettings,
    ) -> Result<Self, StoreError> {
        let target = target_of(&options);
        let options = match settings.statement_timeout {
            Some(t) => options.options([("statement_timeout", t.as_millis().max(1).to_string())]),
            None => options,
        };
        // sqlx's pool serves the migrations, the change listener and embedders; statements
        // run on the store's own ([`crate::pool`]).
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options.clone())
            .await
            .map_err(|e| unavailable(&target, &e))?;
        let store = Self::assemble(
            pool,
            target,
            Pool::new(options, settings.max_connections, settings.acquire_timeout),
        );
        store.migrate().await?;
        Ok(store)
    }

    /// Wraps an existing pool (migrations are not run; call [`PgStore::migrate`]).
    pub fn from_pool(pool: PgPool) -> Self {
        let target = target_of(&pool.connect_options());
        let conns = Pool::new(
            (*pool.connect_options()).clone(),
            pool.options().get_max_connections(),
            pool.options().get_acquire_timeout(),
        );
        Self::assemble(pool, target, conns)
    }

    fn assemble(pool: PgPool, target: String, conns: Pool) -> Self {
        Self {
            pool,
            target,
            conns,
            written: std::sync::Arc::new(tokio::sync::watch::channel(0).0),
            last_fold: std::sync::Arc::new(std::sync::Mutex::new(std::time::Instant::now())),
        }
    }

    /// Applies the embedded migrations that the database does not have yet, then the data
    /// migrations the application runs itself ([`crate::refold`]).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match sqlx::migrate!("./migrations").run(&self.pool).await {
            Ok(()) => {}
            Err(sqlx::migrate::MigrateError::Execute(e)) => return Err(e).db(self),
            Err(other) => return Err(StoreError::Backend(Box::new(other))),
        }
        self.refold_titles().await
    }

    /// The pool, for embedders' own queries and for closing it at shutdown.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection, waiting for sqlx's checked-out ones to come back (the
    /// store's own close as they come back).
    pub async fn close(&self) {
        self.conns.close().await;
        self.pool.close().await;
    }
}
