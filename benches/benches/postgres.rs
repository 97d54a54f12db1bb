//! Criterion benches of the service on PostgreSQL with 1,000,000 tickets, loaded with
//! `generate_series` in one statement per table (the same titles, clients, workers and status
//! mix as the memory bench), in a throwaway database dropped at the end. The load runs with
//! triggers off and secondary indexes dropped, fills the trigger-kept tables (`ticket_search`,
//! `ticket_counts`) with one set-based statement each, then rebuilds the indexes from their own
//! definitions, as a bulk import would.
//!
//! `cargo bench -p crm-benches --bench postgres`. Reads `TEST_DATABASE_URL` (else
//! `DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`); `BENCH_TICKETS`
//! overrides the data-set size; `BENCH_KEEP_DB=1` keeps the loaded database afterwards. Every
//! second ticket has a device serial and every third a due date; the 100,000 customers have
//! phones `+1 555 0000000` on.

use criterion::Criterion;
use crm_benches::{bench_service, runtime, staff, tickets_from_env};
use crm_core::{Actor, Crm, PasswordCost};
use crm_store_postgres::{PgSettings, PgStore, parse_url};
use crm_tests::pg::create_database;

fn main() {
    let n = tickets_from_env();
    let rt = runtime();
    let (url, db) = rt.block_on(create_database("crm_bench"));
    let (crm, admin, workers) = rt.block_on(setup(&url, n));
    let mut c = Criterion::default().configure_from_args();
    // A cursor in the middle of the `due` order: the ticket at 60% of the load (it has a due
    // date: every third one does).
    let middle = rt
        .block_on(crm.get_ticket(&admin, crm_core::TicketId(((n * 3 / 5) / 3 * 3 + 1) as i64)))
        .unwrap();
    let deep_due = crm_core::TicketSort::Due.position(&middle);
    crm_benches::bench_counter(&mut c, "postgres_1m_counter", &rt, &crm, &admin, deep_due);
    bench_service(&mut c, "postgres_1m", &rt, &crm, &admin, &workers);
    c.final_summary();
    rt.block_on(crm.store().close());
    if std::env::var_os("BENCH_KEEP_DB").is_some() {
        // Keep the loaded database for looking at query plans.
        println!("kept database {}", db.0);
        std::mem::forget(db);
    }
}

async fn setup(url: &str, n: u64) -> (Crm<PgStore>, Actor, Vec<Actor>) {
    let options = parse_url(url).unwrap();
    let store = PgStore::connect_with(options, PgSettings::default())
        .await
        .unwrap();
    let crm = Crm::new(store.clone()).with_password_cost(PasswordCost::Fast);
    let (admin, workers) = staff(&crm).await;
    let first_worker = workers[0].id.0;

    crm_benches::pg::bulk_load(url, n, first_worker).await;
    (crm, admin, workers)
}
