//! End-to-end tests of the real `crm-server` binary: the README walk-through over HTTP against
//! a fresh PostgreSQL database, a SIGTERM and a restart that loses nothing, two processes on
//! one database, and start-up failures that stop with one clear line.
//!
//! Reads `TEST_DATABASE_URL` (see `crm_tests::pg`); each test creates and drops its database.

mod common;

use common::*;
use crm_tests::pg::create_database;
use serde_json::json;
use std::{net::TcpListener, process::Command};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_walkthrough_survives_sigterm_and_restart() {
    let (url, _db) = create_database("crm_e2e").await;
    let env = pg_env(&url);
    let env2 = env.clone();
    let (admin_token, ticket) =
        tokio::task::spawn_blocking(move || {
            let s = Server::start(&env);
            let admin = s.login("admin", "admin123");
            let (st, t) = s.call("POST", "/public/tickets", None, Some(json!({
            "title": "Broken laptop screen",
            "description": "Screen flickers and has dead pixels",
            "client": {"name": "John Doe", "email": "john@example.com", "phone": "+1234567890"}
        })));
            assert_eq!(st, 201, "{t}");
            let id = t["id"].as_i64().unwrap();
            let (st, page) = s.call(
                "GET",
                "/tickets/?page=1&size=10&status=new",
                Some(&admin),
                None,
            );
            assert_eq!((st, page["total"].as_u64()), (200, Some(1)));
            assert_eq!(page["items"][0]["requester_ip"], "127.0.0.1");
            assert_eq!(page["items"][0]["requester_ua"], "e2e-test");
            let (st, w) = s.call(
                "POST",
                "/users/",
                Some(&admin),
                Some(json!({"username": "worker1", "password": "worker123", "role": "worker"})),
            );
            assert_eq!(st, 201, "{w}");
            let wid = w["id"].as_i64().unwrap();
            let (st, _) = s.call(
                "POST",
                &format!("/tickets/{id}/assign"),
                Some(&admin),
                Some(json!({"worker_id": wid})),
            );
            assert_eq!(st, 200);
            let worker = s.login("worker1", "worker123");
            let (st, t) = s.call(
                "POST",
                &format!("/tickets/{id}/status"),
                Some(&worker),
                Some(json!({"new_status": "in_progress"})),
            );
            assert_eq!((st, t["status"].as_str()), (200, Some("in_progress")));
            let (st, stats) = s.call(
                "GET",
                &format!("/tickets/stats?worker_id={wid}"),
                Some(&admin),
                None,
            );
            assert_eq!((st, stats["in_progress"].as_u64()), (200, Some(1)));
            let (ok, log) = s.terminate();
            assert!(ok, "SIGTERM must end with success:\n{log}");
            assert!(
                log.contains("shutting down") && log.contains("stopped"),
                "{log}"
            );
            assert!(
                !log.contains("admin123") && !log.contains(&admin) && !log.contains(SECRET),
                "secrets in the log:\n{log}"
            );
            assert!(
                log.contains("method=POST")
                    && log.contains("path=/public/tickets")
                    && log.contains("status=201"),
                "{log}"
            );
            (admin, id)
        })
        .await
        .unwrap();

    tokio::task::spawn_blocking(move || {
        let s = Server::start(&env2);
        // Same SECRET_KEY: the token issued before the restart still works.
        let (st, t) = s.call(
            "GET",
            &format!("/tickets/{ticket}"),
            Some(&admin_token),
            None,
        );
        assert_eq!(
            (st, t["status"].as_str()),
            (200, Some("in_progress")),
            "{t}"
        );
        let (_, users) = s.call("GET", "/users/?role=worker", Some(&admin_token), None);
        assert_eq!(
            users["total"], 2,
            "worker and worker1 survived; no second seeding"
        );
        s.login("worker1", "worker123");
        let (st, h) = s.call(
            "GET",
            &format!("/tickets/{ticket}/history"),
            Some(&admin_token),
            None,
        );
        assert_eq!((st, h["items"].as_array().map(Vec::len)), (200, Some(4)));
        let (ok, _) = s.terminate();
        assert!(ok);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_database_agree() {
    let (url, _db) = create_database("crm_e2e").await;
    let env = pg_env(&url);
    tokio::task::spawn_blocking(move || {
        let (a, b) = Server::start_two(&env);
        let body = json!({"title": "Race", "description": "Same request twice", "client": {"name": "R", "email": "race@example.com"}});
        let statuses: Vec<u16> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..16)
                .map(|i| {
                    let (s, body) = (if i % 2 == 0 { &a } else { &b }, body.clone());
                    sc.spawn(move || s.call("POST", "/public/tickets", None, Some(body)).0)
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|&&s| s == 409).count(), 15, "{statuses:?}");
        let token = a.login("admin", "admin123");
        let (st, page) = b.call("GET", "/tickets", Some(&token), None);
        assert_eq!((st, page["total"].as_u64()), (200, Some(1)), "a token from one replica works on the other");
        let (_, users) = b.call("GET", "/users", Some(&token), None);
        assert_eq!(users["total"], 2, "default accounts seeded once");
        let (st, text) = b.call("GET", "/metrics", None, None);
        assert_eq!(st, 200);
        let text = text.as_str().unwrap();
        assert_eq!(metric(text, "crm_db_pool_max_connections"), Some(16.0), "{text}");
        assert!(metric(text, "crm_db_pool_open_connections").is_some_and(|n| n >= 1.0), "{text}");
        assert_eq!(metric(text, "crm_db_pool_waiting"), Some(0.0), "{text}");
        assert_eq!(metric(text, "crm_outbox_pending"), Some(0.0), "no webhooks, no mail: {text}");
    })
    .await
    .unwrap();
}

fn failed_start(env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crm-server"));
    cmd.env_clear().env("PORT", free_port().to_string());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("panicked") && !text.contains("backtrace"),
        "{text}"
    );
    text
}

#[test]
fn bad_settings_and_unreachable_databases_stop_the_start_clearly() {
    let t = failed_start(&[("DATABASE_URL", "postgres://u:pw@127.0.0.1:5432/x")]);
    assert!(t.contains("SECRET_KEY"), "{t}");
    let t = failed_start(&[("PORT", "eighty")]);
    assert!(t.contains("PORT"), "{t}");
    let t = failed_start(&[
        ("DATABASE_URL", "postgres://u:hunter22@127.0.0.1:1/x"),
        ("SECRET_KEY", SECRET),
    ]);
    assert!(t.contains("127.0.0.1:1") && !t.contains("hunter22"), "{t}");
    // A short key, or one printed as an example, refuses a PostgreSQL start in one line.
    for key in ["a", "change-me-to-a-long-random-string-of-32-bytes-or-more"] {
        let t = failed_start(&[
            ("DATABASE_URL", "postgres://u:hunter22@127.0.0.1:1/x"),
            ("SECRET_KEY", key),
        ]);
        assert!(
            t.contains("SECRET_KEY") && t.trim().lines().count() == 1,
            "{t}"
        );
    }
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let t = failed_start(&[("PORT", &port)]);
    assert!(t.contains("cannot listen"), "{t}");
}

#[test]
fn the_default_start_runs_in_memory_with_the_default_accounts() {
    let s = Server::start(&[("TRUSTED_PROXIES", "127.0.0.1".to_owned())]);
    let admin = s.login("admin", "admin123");
    s.login("worker", "worker123");
    let (st, _) = http(s.port, "POST", "/public/tickets", None, Some(&json!({
        "title": "Via proxy", "description": "d", "client": {"name": "n", "email": "p@example.com"}
    })), &[("X-Forwarded-For", "198.51.100.23")])
    .unwrap();
    assert_eq!(st, 201);
    let (_, page) = s.call("GET", "/tickets", Some(&admin), None);
    assert_eq!(page["items"][0]["requester_ip"], "198.51.100.23");
    let (ok, log) = s.terminate();
    assert!(ok);
    assert!(
        log.contains("SECRET_KEY is not set") && log.contains("default password"),
        "{log}"
    );
}

/// The value of the sample whose name and labels are exactly `series`.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split(' ').next()?.parse().ok())
}

#[test]
fn metrics_answer_only_allowed_addresses_and_count_what_was_served() {
    let s = Server::start(&[
        ("RUST_LOG", "warn".to_owned()),
        ("TRUSTED_PROXIES", "127.0.0.1".to_owned()),
    ]);
    let scrape = || {
        let (st, text) = s.call("GET", "/metrics", None, None);
        assert_eq!(st, 200, "{text}");
        text.as_str().unwrap().to_owned()
    };
    const HEALTHZ: &str = r#"crm_http_requests_total{method="GET",route="/healthz",status="200"}"#;
    let before = metric(&scrape(), HEALTHZ).expect("the start-up probes were counted");
    assert_eq!(s.call("GET", "/healthz", None, None).0, 200);
    assert_eq!(s.call("GET", "/tickets/12345", None, None).0, 401);
    assert_eq!(s.call("GET", "/tickets/stats", None, None).0, 401);
    assert_eq!(s.call("GET", "/no/such/thing", None, None).0, 404);
    let text = scrape();
    assert_eq!(metric(&text, HEALTHZ), Some(before + 1.0), "{text}");
    for series in [
        r#"crm_http_requests_total{method="GET",route="/tickets/{id}",status="401"}"#,
        r#"crm_http_requests_total{method="GET",route="/tickets/stats",status="401"}"#,
        r#"crm_http_requests_total{method="GET",route="unmatched",status="404"}"#,
        r#"crm_http_request_duration_seconds_count{method="GET",route="/tickets/{id}",status="401"}"#,
    ] {
        assert_eq!(metric(&text, series), Some(1.0), "{series} in {text}");
    }
    assert!(!text.contains("12345"), "ids never become labels");
    for series in [
        "crm_live_streams",
        "crm_sign_in_throttled_total",
        r#"crm_rate_limited_total{limit="submit"}"#,
        r#"crm_notification_attempts_total{outcome="failed"}"#,
        "crm_outbox_pending",
    ] {
        assert_eq!(metric(&text, series), Some(0.0), "{series} in {text}");
    }
    assert!(
        !text.contains("crm_db_pool"),
        "the memory store has no pool"
    );
    assert!(text.ends_with("# EOF\n"));

    // Through the trusted proxy, the client is the forwarded address: not loopback.
    let (st, body) = http(
        s.port,
        "GET",
        "/metrics",
        None,
        None,
        &[("X-Forwarded-For", "198.51.100.23")],
    )
    .unwrap();
    assert_eq!((st, body["code"].as_str()), (403, Some("forbidden")));

    let other = Server::start(&[
        ("RUST_LOG", "warn".to_owned()),
        ("METRICS_ALLOW", "10.0.0.0/8".to_owned()),
    ]);
    let (st, body) = other.call("GET", "/metrics", None, None);
    assert_eq!((st, body["code"].as_str()), (403, Some("forbidden")));
}

/// Refusals the contract expects (a ticket that does not exist, a duplicate, a move the state
/// machine refuses, a taken username, a wrong password, races lost and retried) are not
/// errors of the service: neither store logs them at ERROR, so an operator's error rate
/// counts only what went wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_refusals_are_never_logged_as_errors_on_either_store() {
    let (url, _db) = create_database("crm_logs").await;
    let pg = pg_env(&url);
    tokio::task::spawn_blocking(move || {
        for env in [vec![("SUBMIT_RATE_PER_MINUTE", "0".to_owned())], pg] {
            let s = Server::start(&env);
            let admin = s.login("admin", "admin123");
            assert_eq!(s.call("GET", "/tickets/424242", Some(&admin), None).0, 404);
            assert_eq!(
                s.call("GET", "/public/tickets/AAAAAAAAAAAAAAAAAAAAAA", None, None)
                    .0,
                404
            );
            let body = json!({"title": "Logged?", "description": "d",
                              "client": {"name": "L", "email": "logs@example.com"}});
            let (st, t) = s.call("POST", "/public/tickets", None, Some(body.clone()));
            assert_eq!(st, 201, "{t}");
            assert_eq!(s.call("POST", "/public/tickets", None, Some(body)).0, 409);
            let id = t["id"].as_i64().unwrap();
            let done = json!({"new_status": "done"});
            assert_eq!(
                s.call(
                    "POST",
                    &format!("/tickets/{id}/status"),
                    Some(&admin),
                    Some(done)
                )
                .0,
                409
            );
            let dup = json!({"username": "worker", "password": "password123", "role": "worker"});
            assert_eq!(s.call("POST", "/users/", Some(&admin), Some(dup)).0, 409);
            assert_eq!(
                s.call(
                    "POST",
                    "/auth/login",
                    None,
                    Some(json!({"username": "admin", "password": "wrong-one"}))
                )
                .0,
                401
            );
            let (_, me) = s.call(
                "GET",
                "/auth/me",
                Some(&s.login("worker", "worker123")),
                None,
            );
            let assign = json!({"worker_id": me["id"]});
            s.call(
                "POST",
                &format!("/tickets/{id}/assign"),
                Some(&admin),
                Some(assign),
            );
            // Racing moves of one ticket: all but one lose their compare-and-set and retry.
            std::thread::scope(|sc| {
                for _ in 0..8 {
                    sc.spawn(|| {
                        let start = json!({"new_status": "in_progress"});
                        let path = format!("/tickets/{id}/status");
                        assert_eq!(s.call("POST", &path, Some(&admin), Some(start)).0, 200);
                    });
                }
            });
            let (ok, out) = s.terminate();
            assert!(ok, "{out}");
            let errors: Vec<&str> = out.lines().filter(|l| l.contains("ERROR")).collect();
            assert!(errors.is_empty(), "{}: {errors:#?}", env[0].0);
        }
    })
    .await
    .unwrap();
}
