//! Automatic assignment through two server processes on one database: racing submissions
//! spread under the limit exactly as through one.
//!
//! Reads `TEST_DATABASE_URL` (see `crm_tests::pg`); the test creates and drops its database.

mod common;

use common::*;
use crm_tests::pg::create_database;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_submissions_through_two_replicas_stay_under_the_limit_and_even() {
    let (url, _db) = create_database("crm_assign").await;
    let env = pg_env(&url);
    tokio::task::spawn_blocking(move || {
        let (a, b) = Server::start_two(&env);
        let admin = a.login("admin", "admin123");
        let mut workers = Vec::new();
        for name in ["racer1", "racer2", "racer3"] {
            let (st, u) = a.call(
                "POST",
                "/users/",
                Some(&admin),
                Some(json!({"username": name, "password": "racer-pass-1", "role": "worker"})),
            );
            assert_eq!(st, 201);
            workers.push(u["id"].as_i64().unwrap());
        }
        let (_, seeded) = a.call("GET", "/users/?role=worker&search=worker", Some(&admin), None);
        workers.push(seeded["items"][0]["id"].as_i64().unwrap());
        let (st, _) = b.call(
            "PUT",
            "/settings/assignment",
            Some(&admin),
            Some(json!({"mode": "least_open", "max_open_per_worker": 10})),
        );
        assert_eq!(st, 200);
        let statuses: Vec<u16> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..64)
                .map(|i| {
                    let s = if i % 2 == 0 { &a } else { &b };
                    sc.spawn(move || {
                        s.call(
                            "POST",
                            "/public/tickets",
                            None,
                            Some(json!({"title": format!("Race {i}"), "description": "d", "client": {"name": "R", "email": format!("r{i}@example.com")}})),
                        )
                        .0
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(statuses.iter().all(|&s| s == 201), "{statuses:?}");
        let mut open = Vec::new();
        for w in &workers {
            let (_, s) = b.call("GET", &format!("/tickets/stats?worker_id={w}"), Some(&admin), None);
            open.push(s["new"].as_u64().unwrap() + s["in_progress"].as_u64().unwrap());
        }
        assert!(open.iter().all(|&n| n <= 10), "{open:?}");
        assert_eq!(open.iter().sum::<u64>(), 40, "{open:?}");
        assert!(open.iter().max().unwrap() - open.iter().min().unwrap() <= 1, "{open:?}");
    })
    .await
    .unwrap();
}
