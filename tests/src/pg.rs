//! Throwaway PostgreSQL databases for tests: one uniquely named database per test, dropped
//! afterwards.
//!
//! Reads `TEST_DATABASE_URL` (else `DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`):
//! a server where the user may create databases. `scripts/test.sh` always provides one. A
//! server that cannot be reached fails the test with that message; it never skips.

/// The server URL tests create their databases on.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Creates a uniquely named database (`{prefix}_<random>`) on the test server. Returns its URL
/// and the guard that drops it.
pub async fn create_database(prefix: &str) -> (String, DropDatabase) {
    use sqlx::Connection;
    let name = format!("{prefix}_{:016x}", rand::random::<u64>());
    let mut conn = sqlx::PgConnection::connect(&server_url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL tests need a server: set TEST_DATABASE_URL or run scripts/test.sh ({e})"
            )
        });
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create the test database");
    (with_database(&server_url(), &name), DropDatabase(name))
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].rfind('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// Drops a test database when dropped, even when the test panicked before its own clean-up.
/// The drop runs on a thread of its own with a private runtime, so it works from inside or
/// outside an async context.
#[derive(Debug)]
pub struct DropDatabase(pub String);

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.0);
        if name.is_empty() {
            return;
        }
        let url = server_url();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}
