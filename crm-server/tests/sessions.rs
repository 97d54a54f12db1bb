//! Sessions across two server processes on one database: a password changed, reset or signed
//! out through one replica refuses the old token on the other at once; so does a revoked API
//! key, and a sign-in code used on one is used on both.
//!
//! Reads `TEST_DATABASE_URL` (see `crm_tests::pg`); the test creates and drops its database.

mod common;

use common::*;
use crm_tests::pg::create_database;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_replica_ends_old_tokens_on_the_other_at_once() {
    let (url, _db) = create_database("crm_sessions").await;
    let env = pg_env(&url);
    tokio::task::spawn_blocking(move || {
        let (a, b) = Server::start_two(&env);
        // Password change through A: the old token dies on B.
        let old = a.login("worker", "worker123");
        assert_eq!(b.call("GET", "/auth/me", Some(&old), None).0, 200);
        let (st, body) = a.call(
            "POST",
            "/auth/password",
            Some(&old),
            Some(json!({"current_password": "worker123", "new_password": "changed-on-a"})),
        );
        assert_eq!(st, 200, "{body}");
        let fresh = body["access_token"].as_str().unwrap().to_owned();
        assert_eq!(b.call("GET", "/auth/me", Some(&old), None).0, 401);
        assert_eq!(b.call("GET", "/auth/me", Some(&fresh), None).0, 200);

        // Sign-out through B: the token dies on A.
        assert_eq!(b.call("POST", "/auth/logout", Some(&fresh), None).0, 204);
        assert_eq!(a.call("GET", "/tickets", Some(&fresh), None).0, 401);

        // An admin's reset through A: the worker's token dies on B; it must change it.
        let worker = b.login("worker", "changed-on-a");
        let admin = a.login("admin", "admin123");
        let (_, me) = a.call("GET", "/auth/me", Some(&worker), None);
        let wid = me["id"].as_i64().unwrap();
        let (st, _) = a.call(
            "POST",
            &format!("/users/{wid}/password"),
            Some(&admin),
            Some(json!({"new_password": "reset-by-admin"})),
        );
        assert_eq!(st, 204);
        assert_eq!(b.call("GET", "/auth/me", Some(&worker), None).0, 401);
        let t = b.login("worker", "reset-by-admin");
        let (_, me) = a.call("GET", "/auth/me", Some(&t), None);
        assert_eq!(me["must_change_password"], true);
    })
    .await
    .unwrap();
}

/// An API key revoked through one replica is refused by the other at once, and a stream it
/// holds open there ends; a sign-in code accepted by one replica is refused by the other,
/// also when both are sent at once; neither logs a key, a secret or a code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_sign_in_codes_hold_across_replicas() {
    use crm_core::credential::code_at;
    use std::time::Duration;
    let (url, _db) = create_database("crm_credentials").await;
    let env = pg_env(&url);
    tokio::task::spawn_blocking(move || {
        let (a, b) = Server::start_two(&env);
        let admin = a.login("admin", "admin123");
        let worker = a.login("worker", "worker123");
        let (_, me) = a.call("GET", "/auth/me", Some(&worker), None);
        let wid = me["id"].as_i64().unwrap();
        let (st, made) = a.call(
            "POST",
            &format!("/users/{wid}/api-keys"),
            Some(&admin),
            Some(json!({"name": "Dashboard", "scope": "read"})),
        );
        assert_eq!(st, 201, "{made}");
        let key = made["key"].as_str().unwrap().to_owned();
        let kid = made["id"].as_i64().unwrap();
        assert_eq!(b.call("GET", "/tickets", Some(&key), None).0, 200);
        let mut stream = SseClient::open(b.port, "/events", Some(&key), &[]);
        assert_eq!(stream.status, 200);
        let (st, _) = a.call(
            "DELETE",
            &format!("/users/{wid}/api-keys/{kid}"),
            Some(&admin),
            None,
        );
        assert_eq!(st, 204);
        assert_eq!(b.call("GET", "/tickets", Some(&key), None).0, 401);
        let ended =
            (0..40).any(|_| matches!(stream.next(Duration::from_millis(250)), SseRead::Ended));
        assert!(ended, "the revoked key's stream on the other replica ended");

        // Two-factor sign-in set up through A.
        let (st, setup) = a.call("POST", "/auth/totp/setup", Some(&worker), Some(json!({})));
        assert_eq!(st, 200, "{setup}");
        let secret = setup["secret"].as_str().unwrap().to_owned();
        let now = code_at(&secret, chrono::Utc::now()).unwrap();
        let (st, on) = a.call(
            "POST",
            "/auth/totp/enable",
            Some(&worker),
            Some(json!({"code": now})),
        );
        assert_eq!(st, 200, "{on}");
        let login = |s: &Server, code: &str| {
            s.call(
                "POST",
                "/auth/login",
                None,
                Some(json!({"username": "worker", "password": "worker123", "totp_code": code})),
            )
        };
        // Accepted on B, replayed on A.
        let ahead = code_at(&secret, chrono::Utc::now() + chrono::TimeDelta::seconds(30)).unwrap();
        let (st, body) = login(&b, &ahead);
        assert_eq!(st, 200, "{body}");
        let (st, body) = login(&a, &ahead);
        assert_eq!((st, body["code"].as_str()), (401, Some("totp_invalid")));
        // One recovery code sent to both at once: one gets in.
        let code = on["recovery_codes"][0].as_str().unwrap().to_owned();
        let (ra, rb) = std::thread::scope(|sc| {
            let x = sc.spawn(|| login(&a, &code).0);
            let y = sc.spawn(|| login(&b, &code).0);
            (x.join().unwrap(), y.join().unwrap())
        });
        let mut got = [ra, rb];
        got.sort_unstable();
        assert_eq!(got, [200, 401]);

        // No credential reaches a log line of either replica.
        for (name, s) in [("A", a), ("B", b)] {
            let (_, log) = s.terminate();
            // (A six-digit code could match the digits of any timestamp: not looked for.)
            for secret in [&key[4..], secret.as_str(), code.as_str()] {
                assert!(!log.contains(secret), "replica {name} logged a credential");
            }
        }
    })
    .await
    .unwrap();
}
