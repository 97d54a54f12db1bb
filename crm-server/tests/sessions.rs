//! Sessions across two server processes on one database: a password changed, reset or signed
//! out through one replica refuses the old token on the other at once.
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
