//! In-process API tests: every endpoint, every role and every documented error, on the memory
//! store and on PostgreSQL (one fresh database per test; reads `TEST_DATABASE_URL`). One file
//! per area; each area lists its tests once in `on_both_stores!`, which runs each on both.

/// Runs each named `async fn(&TestApp)` of the calling module once per store, each on a
/// fresh app.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = crate::helpers::memory_app().await;
                    super::$name(&app).await;
                    app.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = crate::helpers::pg_app().await;
                    super::$name(&app).await;
                    app.finish().await;
                }
            )*
        }
    };
}

mod helpers;

mod accounts;
mod assignment;
mod auth;
mod clients;
mod credentials;
mod failures;
mod hardening;
mod intake;
mod lists;
mod messages;
mod probes;
mod public;
mod quotes;
mod stages;
mod tickets;
mod users;
mod webhooks;
