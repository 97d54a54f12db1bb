//! Prepares the database of the HTTP load benchmark on PostgreSQL (`benches/load/pg.sh`):
//! migrates the empty database at the URL given, creates the admin (`admin` / `admin-pass`)
//! and 50 workers (`worker0`.. / `worker-pass`) with the server's own password cost, so a
//! sign-in costs what it does in production, then bulk-loads the tickets.
//!
//! `crm-load-pg <database-url> [tickets]` (default 100,000).

use crm_benches::{pg::bulk_load, staff};
use crm_core::Crm;
use crm_store_postgres::PgStore;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .expect("usage: crm-load-pg <database-url> [tickets]");
    let n: u64 = args
        .next()
        .map(|v| v.parse().expect("tickets: a number"))
        .unwrap_or(100_000);
    let store = PgStore::connect(&url).await.expect("connect and migrate");
    let crm = Crm::new(store.clone());
    let (_, workers) = staff(&crm).await;
    bulk_load(&url, n, workers[0].id.0).await;
    store.close().await;
}
