//! The conformance suite on PostgreSQL, each check in its own fresh database with a pool of
//! many connections, plus PostgreSQL-only checks: two store instances ("replicas") racing on
//! one database, and the error a lost database gives.
//!
//! Reads `TEST_DATABASE_URL` (see `crm_tests::pg`). Never skips: no server is a failure.

use crm_core::{
    CoreError, Crm, ListTickets, PasswordCost, Role, StoreError, StoreHealth, TicketStatus,
};
use crm_store_postgres::{PgSettings, PgStore, parse_url};
use crm_tests::{
    Backend, conformance_tests,
    fixture::{Fixture, request},
    pg::{DropDatabase, create_database, server_url},
};
use futures::future::join_all;
use sqlx::{Connection, PgConnection};
use std::time::Duration;

struct Pg {
    store: PgStore,
    /// Drops the database at the end, or when a failing check unwinds.
    db: DropDatabase,
}

impl Backend for Pg {
    type S = PgStore;

    fn store(&self) -> PgStore {
        self.store.clone()
    }

    async fn finish(self) {
        self.store.close().await;
        drop(self.db);
    }
}

async fn admin_connection() -> PgConnection {
    PgConnection::connect(&server_url())
        .await
        .expect("connect to the test server")
}

async fn connect(url: &str) -> PgStore {
    let options = parse_url(url).unwrap();
    let settings = PgSettings {
        max_connections: 24,
        ..PgSettings::default()
    };
    PgStore::connect_with(options, settings)
        .await
        .expect("connect and migrate")
}

async fn fresh() -> Pg {
    let (url, db) = create_database("crm_test").await;
    Pg {
        store: connect(&url).await,
        db,
    }
}

conformance_tests!(fresh);

/// Two store instances on one database (two server replicas) racing each other keep every
/// invariant: one ticket from identical submissions, one transition, one account per name,
/// and the migrations ran once although both instances ran them at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_racing_on_one_database_keep_every_invariant() {
    let (url, _db) = create_database("crm_test").await;
    let (a, b) = tokio::join!(connect(&url), connect(&url));
    let fa = Fixture::new(a.clone()).await;
    let crm_b = Crm::new(b.clone()).with_password_cost(PasswordCost::Fast);

    let tasks = (0..32).map(|i| {
        let (ca, cb) = (fa.crm.clone(), crm_b.clone());
        tokio::spawn(async move {
            let r = request("Replica race", "replicas@example.com");
            if i % 2 == 0 {
                ca.submit(r).await
            } else {
                cb.submit(r).await
            }
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(CoreError::DuplicateTicket)))
    );
    let t = results.into_iter().find_map(Result::ok).unwrap();

    fa.crm.assign(&fa.admin, t.id, fa.worker.id).await.unwrap();
    let worker = fa.worker;
    let tasks = (0..16).map(|i| {
        let (ca, cb) = (fa.crm.clone(), crm_b.clone());
        tokio::spawn(async move {
            if i % 2 == 0 {
                ca.change_status(&worker, t.id, TicketStatus::InProgress)
                    .await
            } else {
                cb.change_status(&worker, t.id, TicketStatus::InProgress)
                    .await
            }
        })
    });
    let stamps: std::collections::HashSet<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap().in_progress_at)
        .collect();
    assert_eq!(stamps.len(), 1);
    let history = crm_b.history(&fa.admin, t.id).await.unwrap();
    assert_eq!(
        history
            .iter()
            .filter(|e| e.to_status == Some(TicketStatus::InProgress))
            .count(),
        1
    );

    let admin = fa.admin;
    let tasks = (0..8).map(|i| {
        let (ca, cb) = (fa.crm.clone(), crm_b.clone());
        tokio::spawn(async move {
            if i % 2 == 0 {
                ca.create_user(&admin, "twin", "password123", Role::Worker)
                    .await
            } else {
                cb.create_user(&admin, "TWIN", "password123", Role::Worker)
                    .await
            }
        })
    });
    let created = join_all(tasks)
        .await
        .into_iter()
        .filter(|r| r.as_ref().unwrap().is_ok())
        .count();
    assert_eq!(created, 1);

    // What one replica writes, the other reads at once.
    let page = crm_b
        .list_tickets(&fa.admin, ListTickets::default())
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    a.close().await;
    b.close().await;
}

/// A database that cannot be reached is one clear error naming host and port, never the
/// password; the facade reports it as `unavailable`.
#[tokio::test]
async fn unreachable_database_is_a_clear_error_without_the_password() {
    let options = parse_url("postgres://someone:s3cret-pw@127.0.0.1:1/nowhere").unwrap();
    let settings = PgSettings {
        max_connections: 1,
        acquire_timeout: Duration::from_secs(2),
        ..PgSettings::default()
    };
    let err = PgStore::connect_with(options, settings).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(msg.contains("127.0.0.1:1"), "{msg}");
    assert!(!msg.contains("s3cret"), "{msg}");
    let bad = parse_url("postgres://u:s3cret-pw@[not a host")
        .unwrap_err()
        .to_string();
    assert!(!bad.contains("s3cret"), "{bad}");
    // The seed system's URL form is accepted.
    let o = parse_url("postgresql+asyncpg://postgres:postgres@db:5432/app").unwrap();
    assert_eq!((o.get_host(), o.get_port()), ("db", 5432));
}

/// A pool whose database goes away answers `unavailable`, and recovers by itself when the
/// database accepts connections again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_recovers_when_the_database_comes_back() {
    let b = fresh().await;
    let crm = Crm::new(b.store.clone()).with_password_cost(PasswordCost::Fast);
    crm.ready().await.unwrap();
    // Cut every connection of the test database, as a database restart would.
    let mut conn = admin_connection().await;
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()")
        .bind(&b.db.0)
        .execute(&mut conn)
        .await
        .unwrap();
    // The pool notices dead connections and opens new ones: readiness comes back.
    let mut ok = false;
    for _ in 0..50 {
        if b.store.ping().await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the pool did not recover");
    crm.submit(request("After restart", "restart@example.com"))
        .await
        .unwrap();
    b.finish().await;
}

/// Titles stored under an older case folding are refolded once by the next start's data
/// migration, so search means the same for old and new tickets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_refolds_titles_stored_under_an_older_folding() {
    let b = fresh().await;
    let f = Fixture::new(b.store.clone()).await;
    let t = f.submit("ΑΣ old fold").await;
    // As the first release stored it: `str::to_lowercase`, with a final sigma.
    let mut conn = PgConnection::connect(&crm_tests::pg::with_database(&server_url(), &b.db.0))
        .await
        .unwrap();
    sqlx::query("UPDATE tickets SET title_folded = 'ας old fold' WHERE id = $1")
        .bind(t.id.0)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("UPDATE ticket_search SET title = 'ας old fold' WHERE id = $1")
        .bind(t.id.0)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("UPDATE store_meta SET value = 1 WHERE key = 'fold_version'")
        .execute(&mut conn)
        .await
        .unwrap();
    let found = |term: &'static str| {
        let crm = f.crm.clone();
        let admin = f.admin;
        async move {
            crm.list_tickets(
                &admin,
                ListTickets {
                    search: Some(term.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .total
        }
    };
    assert_eq!(found("Σ").await, 0, "the old fold hides it");
    b.store.migrate().await.unwrap();
    assert_eq!(found("Σ").await, 1, "refolded");
    let version: i64 =
        sqlx::query_scalar("SELECT value FROM store_meta WHERE key = 'fold_version'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(version, crm_store_postgres::refold::FOLD_VERSION);
}

/// Positions follow commit order: a transaction that takes its position after another must
/// wait for that one to end, so two transactions can never take positions in one order and
/// commit in the other, and a reader never skips an event that commits late.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_are_positioned_in_commit_order_so_readers_never_skip() {
    use crm_core::{EventLog, Visibility};
    let b = fresh().await;
    let f = Fixture::new(b.store.clone()).await;
    let t = f.submit("Ordered").await;
    let before = b.store.last_event_seq().await.unwrap();
    let insert = "INSERT INTO ticket_events (ticket_id, at, kind, actor_id, status) \
                  VALUES ($1, now(), 'viewed', 1, 'new') RETURNING seq";
    let pool = b.store.pool().clone();
    let mut t1 = pool.begin().await.unwrap();
    let p1: i64 = sqlx::query_scalar(insert)
        .bind(t.id.0)
        .fetch_one(&mut *t1)
        .await
        .unwrap();
    assert_eq!(p1, before + 1);
    // The second transaction asks for its position now, and has to wait for the first.
    let (pool2, id) = (pool.clone(), t.id.0);
    let second = tokio::spawn(async move {
        let mut t2 = pool2.begin().await.unwrap();
        let p2: i64 = sqlx::query_scalar(insert)
            .bind(id)
            .fetch_one(&mut *t2)
            .await
            .unwrap();
        t2.commit().await.unwrap();
        p2
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "the later transaction waits for the earlier one"
    );
    let seen = b
        .store
        .events_after(before, Visibility::All, 100)
        .await
        .unwrap();
    assert!(seen.is_empty(), "nothing uncommitted is visible");
    t1.commit().await.unwrap();
    let p2 = second.await.unwrap();
    assert_eq!(p2, p1 + 1);
    let seen: Vec<i64> = b
        .store
        .events_after(before, Visibility::All, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seen, [p1, p2], "both, in order, none skipped");

    // A rolled-back position is given to the next transaction: no hole either.
    let mut t3 = pool.begin().await.unwrap();
    let p3: i64 = sqlx::query_scalar(insert)
        .bind(t.id.0)
        .fetch_one(&mut *t3)
        .await
        .unwrap();
    t3.rollback().await.unwrap();
    let mut t4 = pool.begin().await.unwrap();
    let p4: i64 = sqlx::query_scalar(insert)
        .bind(t.id.0)
        .fetch_one(&mut *t4)
        .await
        .unwrap();
    t4.commit().await.unwrap();
    assert_eq!((p3, p4), (p2 + 1, p2 + 1));
    drop(f);
}
