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

/// Inserts an event of ticket `ticket` inside `tx`, as a change would, and returns its id.
async fn insert_event(tx: &mut sqlx::PgConnection, ticket: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO ticket_events (ticket_id, at, kind, actor_id, status) \
         VALUES ($1, now(), 'viewed', 1, 'new') RETURNING id",
    )
    .bind(ticket)
    .fetch_one(tx)
    .await
    .unwrap()
}

/// (event id, seq) of every positioned event after `after`, once what has committed has
/// its position.
async fn positioned_after(store: &PgStore, after: i64) -> Vec<(i64, i64)> {
    use crm_core::{EventLog, Visibility};
    store.sequence().await.unwrap();
    store
        .events_after(after, Visibility::All, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|e| (e.id.0, e.seq))
        .collect()
}

/// Positions are given after commit, in the order the sequencer finds committed events: two
/// transactions held open in either order never wait for each other, a reader sees neither
/// until it commits and then each once with the next position, and one that rolls back
/// leaves no hole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transactions_held_open_in_either_order_never_wait_and_leave_no_gap() {
    use crm_core::EventLog;
    let b = fresh().await;
    let f = Fixture::new(b.store.clone()).await;
    let (x, y) = (f.submit("Held X").await, f.submit("Held Y").await);
    let before = positioned_after(&b.store, 0).await.len() as i64;
    assert_eq!(b.store.last_event_seq().await.unwrap(), before);
    let pool = b.store.pool().clone();
    let quick = std::time::Duration::from_secs(5);
    for first_commits_first in [false, true] {
        let start = b.store.last_event_seq().await.unwrap();
        let mut t1 = pool.begin().await.unwrap();
        let e1 = insert_event(&mut t1, x.id.0).await;
        let mut t2 = pool.begin().await.unwrap();
        // The second writes and commits while the first is open: nothing makes it wait.
        let e2 = tokio::time::timeout(quick, insert_event(&mut t2, y.id.0))
            .await
            .expect("a writer never waits for another's commit");
        assert!(
            positioned_after(&b.store, start).await.is_empty(),
            "nothing uncommitted"
        );
        let (early, late) = if first_commits_first {
            t1.commit().await.unwrap();
            (e1, (t2, e2))
        } else {
            tokio::time::timeout(quick, t2.commit())
                .await
                .unwrap()
                .unwrap();
            (e2, (t1, e1))
        };
        assert_eq!(
            positioned_after(&b.store, start).await,
            [(early, start + 1)]
        );
        late.0.commit().await.unwrap();
        assert_eq!(
            positioned_after(&b.store, start).await,
            [(early, start + 1), (late.1, start + 2)],
            "the late commit follows, each once, no gap"
        );
    }
    // A transaction that rolls back gives nothing and takes no number.
    let start = b.store.last_event_seq().await.unwrap();
    let mut t3 = pool.begin().await.unwrap();
    insert_event(&mut t3, x.id.0).await;
    t3.rollback().await.unwrap();
    assert!(positioned_after(&b.store, start).await.is_empty());
    let mut t4 = pool.begin().await.unwrap();
    let e4 = insert_event(&mut t4, y.id.0).await;
    t4.commit().await.unwrap();
    assert_eq!(positioned_after(&b.store, start).await, [(e4, start + 1)]);
    drop(f);
    b.finish().await;
}

/// A sequencer that dies while it holds the lock (its replica killed) rolls back and lets
/// go: the next one, on another store instance, positions everything, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sequencer_killed_while_holding_the_lock_leaves_the_order_whole() {
    use crm_core::EventLog;
    let b = fresh().await;
    let other = connect(&crm_tests::pg::with_database(&server_url(), &b.db.0)).await;
    let f = Fixture::new(b.store.clone()).await;
    for i in 0..5 {
        f.submit(&format!("Before the kill {i}")).await;
    }
    // A dying replica's sequencer: it holds the lock, has positioned nothing yet.
    let mut dying = PgConnection::connect(&crm_tests::pg::with_database(&server_url(), &b.db.0))
        .await
        .unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut dying)
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut dying).await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(crm_store_postgres::SEQUENCER_LOCK)
        .execute(&mut dying)
        .await
        .unwrap();
    let waiting = tokio::spawn({
        let other = other.clone();
        async move { other.sequence().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "one sequencer at a time");
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&mut admin_connection_to(&b.db.0).await)
        .await
        .unwrap();
    let n = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the lock died with its holder")
        .unwrap()
        .unwrap();
    assert!(n >= 5, "{n}");
    let seqs: Vec<i64> = positioned_after(&b.store, 0)
        .await
        .iter()
        .map(|p| p.1)
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    assert_eq!(b.store.last_event_seq().await.unwrap(), seqs.len() as i64);
    drop(f);
    other.close().await;
    b.finish().await;
}

/// 64 writers racing through two store instances (two replicas) while a reader replays and
/// both replicas sequence: the reader sees every event exactly once, positions 1, 2, 3, ...
/// with no gap and no repeat, and each ticket's events in their own order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_on_two_replicas_and_a_replaying_reader_see_no_gap_or_repeat() {
    use crm_core::{EventLog, Visibility};
    let b = fresh().await;
    let other = connect(&crm_tests::pg::with_database(&server_url(), &b.db.0)).await;
    let f = Fixture::new(b.store.clone()).await;
    let crm_b = Crm::new(other.clone()).with_password_cost(PasswordCost::Fast);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sequencers: Vec<_> = [b.store.clone(), other.clone()]
        .into_iter()
        .map(|s| {
            let done = done.clone();
            tokio::spawn(async move {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    s.sequence().await.unwrap();
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        })
        .collect();
    let reader = tokio::spawn({
        let store = other.clone();
        let done = done.clone();
        async move {
            let mut seen = Vec::new();
            let mut last = 0;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::Relaxed);
                if finished {
                    store.sequence().await.unwrap();
                }
                let batch = store
                    .events_after(last, Visibility::All, 500)
                    .await
                    .unwrap();
                for e in &batch {
                    assert_eq!(e.seq, last + 1, "no gap, no repeat");
                    last = e.seq;
                    seen.push((e.ticket_id, e.id, e.kind));
                }
                if finished && batch.is_empty() {
                    return seen;
                }
            }
        }
    });
    let writers = (0..64).map(|i| {
        let crm = if i % 2 == 0 {
            f.crm.clone()
        } else {
            crm_b.clone()
        };
        let (admin, worker) = (f.admin, f.worker);
        tokio::spawn(async move {
            let t = crm
                .submit(request(&format!("Racer {i}"), &format!("r{i}@example.com")))
                .await
                .unwrap();
            crm.assign(&admin, t.id, worker.id).await.unwrap();
            crm.change_status(&worker, t.id, TicketStatus::InProgress)
                .await
                .unwrap();
            t.id
        })
    });
    let tickets: Vec<_> = join_all(writers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in sequencers {
        s.await.unwrap();
    }
    let seen = reader.await.unwrap();
    let total = positioned_after(&b.store, 0).await.len();
    assert_eq!(seen.len(), total, "the reader saw every event");
    for t in tickets {
        let kinds: Vec<_> = seen
            .iter()
            .filter(|(ticket, ..)| *ticket == t)
            .map(|&(_, id, kind)| (id, kind))
            .collect();
        let mut by_id = kinds.clone();
        by_id.sort_by_key(|&(id, _)| id);
        assert_eq!(kinds, by_id, "a ticket's events in their own order");
        let kinds: Vec<_> = kinds.into_iter().map(|(_, k)| k).collect();
        assert_eq!(
            kinds,
            [
                crm_core::EventKind::Submitted,
                crm_core::EventKind::Assigned,
                crm_core::EventKind::StatusChanged
            ]
        );
    }
    drop(f);
    other.close().await;
    b.finish().await;
}

/// A submission, a status change and an assignment take no lock another ticket's write
/// waits for: while a transaction that made each of those writes (with every trigger they
/// fire: counters, the search copy, the event queue) is held open, the store makes the same
/// writes to other tickets at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_to_different_tickets_never_wait_for_each_other() {
    let b = fresh().await;
    let f = Fixture::new(b.store.clone()).await;
    let held = f.assigned("Held open", &f.worker).await;
    let next = f.assigned("Goes ahead", &f.worker).await;
    let other = f.submit("Assigned meanwhile").await;
    let pool = b.store.pool().clone();
    let mut open = pool.begin().await.unwrap();
    let client: i64 = sqlx::query_scalar("SELECT client_id FROM tickets WHERE id = $1")
        .bind(held.id.0)
        .fetch_one(&mut *open)
        .await
        .unwrap();
    let fresh_ticket: i64 = sqlx::query_scalar(
        "INSERT INTO tickets (title, title_folded, description, status, client_id, created_at, \
         updated_at, tracking_code) VALUES ('t', 't', 'd', 'new', $1, now(), now(), 'held-code') \
         RETURNING id",
    )
    .bind(client)
    .fetch_one(&mut *open)
    .await
    .unwrap();
    insert_event(&mut open, fresh_ticket).await;
    sqlx::query("UPDATE tickets SET status = 'in_progress', in_progress_at = now() WHERE id = $1")
        .bind(held.id.0)
        .execute(&mut *open)
        .await
        .unwrap();
    insert_event(&mut open, held.id.0).await;
    let quick = Duration::from_secs(5);
    let go = async {
        f.crm
            .submit(request("Submitted meanwhile", "meanwhile@example.com"))
            .await
            .unwrap();
        f.set(&f.worker, next.id, TicketStatus::InProgress)
            .await
            .unwrap();
        f.crm.assign(&f.admin, other.id, f.worker.id).await.unwrap();
    };
    tokio::time::timeout(quick, go)
        .await
        .expect("no write waited for the open transaction");
    open.rollback().await.unwrap();
    b.finish().await;
}

async fn admin_connection_to(db: &str) -> PgConnection {
    PgConnection::connect(&crm_tests::pg::with_database(&server_url(), db))
        .await
        .expect("connect to the test database")
}
