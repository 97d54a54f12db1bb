//! Floods against the real binary: sign-in per address (per replica) and per username (kept
//! in the store, so shared by replicas), and public submissions per address, also behind a
//! trusted proxy given as a CIDR range.
//!
//! Reads `TEST_DATABASE_URL` (see `crm_tests::pg`); each test creates and drops its database.

mod common;

use common::*;
use crm_tests::pg::create_database;
use serde_json::json;
use std::time::Duration;

fn login(port: u16, user: &str, password: &str) -> Answer {
    request(
        port,
        "POST",
        "/auth/login",
        None,
        Some(&json!({"username": user, "password": password})),
        &[],
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_username_is_refused_on_every_replica_until_the_delay_passes() {
    let (url, _db) = create_database("crm_floods").await;
    let mut env = pg_env(&url);
    env.push(("LOGIN_RATE_PER_MINUTE", "0".into()));
    tokio::task::spawn_blocking(move || {
        let (a, b) = Server::start_two(&env);
        for _ in 0..5 {
            let r = login(a.port, "worker", "not-the-password");
            assert_eq!(
                (r.status, r.body["code"].as_str()),
                (401, Some("invalid_credentials"))
            );
        }
        // The sixth attempt, on the other replica, with the right password: refused.
        let r = login(b.port, "worker", "worker123");
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (429, Some("too_many_attempts")),
            "{:?}",
            r.body
        );
        let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=900).contains(&wait));
        // Also for a username that does not exist.
        for _ in 0..5 {
            login(b.port, "ghost", "whatever-it-is");
        }
        assert_eq!(login(a.port, "ghost", "whatever-it-is").status, 429);
        std::thread::sleep(Duration::from_millis(wait * 1000 + 200));
        let r = login(a.port, "worker", "worker123");
        assert_eq!(
            r.status, 200,
            "the right password works once the delay passed"
        );
        // Other accounts were never affected.
        assert_eq!(login(b.port, "admin", "admin123").status, 200);
    })
    .await
    .unwrap();
}

#[test]
fn one_address_is_limited_per_replica_for_sign_in_and_submissions() {
    let s = Server::start(&[
        ("LOGIN_RATE_PER_MINUTE", "3".into()),
        ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.0/8".into()),
    ]);
    for _ in 0..3 {
        assert_eq!(login(s.port, "admin", "wrong-password").status, 401);
    }
    let r = login(s.port, "admin", "admin123");
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (429, Some("rate_limited"))
    );
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);

    // Submissions: a burst of 5 from one address, then 429 and nothing stored. Behind the
    // trusted proxy (127.0.0.0/8 here), the forwarded address is the one limited.
    let submit = |i: usize, from: &str| {
        request(
            s.port,
            "POST",
            "/public/tickets",
            None,
            Some(&json!({
                "title": format!("Flood {i}"),
                "description": "Many requests",
                "client": {"name": "F", "email": "flood@example.com"}
            })),
            &[("X-Forwarded-For", from)],
        )
        .unwrap()
    };
    for i in 0..5 {
        assert_eq!(submit(i, "198.51.100.7").status, 201);
    }
    let r = submit(5, "198.51.100.7");
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (429, Some("rate_limited"))
    );
    assert!(r.header("retry-after").is_some());
    assert_eq!(
        submit(6, "198.51.100.8").status,
        201,
        "another client address"
    );
    let admin = loop {
        // The sign-in limit above may still hold for this address: wait it out.
        let r = login(s.port, "admin", "admin123");
        if r.status == 200 {
            break r.body["access_token"].as_str().unwrap().to_owned();
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let (_, page) = s.call("GET", "/tickets", Some(&admin), None);
    assert_eq!(page["total"], 6, "the refused submission stored nothing");
}
