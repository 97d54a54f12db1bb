//! PostgreSQL stopped and started under load, with a cluster this test starts itself: only
//! 201 or 503 (with `Retry-After`) is answered, `/readyz` follows the database, service
//! resumes without restarting the server, and every acknowledged ticket is stored.
//!
//! Needs PostgreSQL's server binaries (see `crm_tests::pg::Cluster`); reads no variables.

mod common;

use common::*;
use crm_tests::pg::Cluster;
use serde_json::json;
use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

#[test]
fn database_restart_under_load_answers_503_and_loses_nothing_acknowledged() {
    let cluster = Cluster::start();
    let mut env = pg_env(&cluster.url());
    env.push(("STATEMENT_TIMEOUT_MS", "2000".into()));
    let s = Server::start(&env);
    let port = s.port;
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let statuses = Arc::new(Mutex::new(Vec::<(u16, Option<String>)>::new()));
    let submitters: Vec<_> = (0..4)
        .map(|w| {
            let (stop, acknowledged, statuses) =
                (stop.clone(), acknowledged.clone(), statuses.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let body = json!({
                        "title": format!("Load {w}-{n}"),
                        "description": "Submitted while the database restarts",
                        "client": {"name": "Load", "email": format!("load{w}@example.com")}
                    });
                    let Ok(a) = request(port, "POST", "/public/tickets", None, Some(&body), &[])
                    else {
                        continue;
                    };
                    if a.status == 201 {
                        acknowledged
                            .lock()
                            .unwrap()
                            .push(a.body["id"].as_i64().unwrap());
                    }
                    statuses
                        .lock()
                        .unwrap()
                        .push((a.status, a.header("retry-after").map(str::to_owned)));
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        })
        .collect();
    let ready = |expect: u16| {
        for _ in 0..200 {
            if http(port, "GET", "/readyz", None, None, &[])
                .map(|r| r.0)
                .ok()
                == Some(expect)
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    };
    std::thread::sleep(Duration::from_millis(800));
    cluster.stop();
    assert!(ready(503), "/readyz reports the database gone");
    std::thread::sleep(Duration::from_millis(1500));
    cluster.start_again();
    assert!(ready(200), "/readyz recovers by itself");
    // Load goes on until submissions succeed again without a server restart.
    let before = acknowledged.lock().unwrap().len();
    for _ in 0..200 {
        if acknowledged.lock().unwrap().len() > before + 5 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    for t in submitters {
        t.join().unwrap();
    }
    let statuses = statuses.lock().unwrap();
    let unexpected: Vec<_> = statuses
        .iter()
        .filter(|(s, _)| *s != 201 && *s != 503)
        .collect();
    assert!(unexpected.is_empty(), "only 201 or 503: {unexpected:?}");
    assert!(
        statuses.iter().any(|(s, _)| *s == 503),
        "the outage was noticed"
    );
    assert!(
        statuses
            .iter()
            .filter(|(s, _)| *s == 503)
            .all(|(_, retry)| retry.is_some()),
        "every 503 says when to retry"
    );
    let acknowledged: HashSet<i64> = acknowledged.lock().unwrap().iter().copied().collect();
    assert!(acknowledged.len() > before, "service resumed");
    // Every acknowledged ticket is stored.
    let admin = s.login("admin", "admin123");
    let mut stored = HashSet::new();
    for page in 1.. {
        let (st, body) = s.call(
            "GET",
            &format!("/tickets?size=100&page={page}"),
            Some(&admin),
            None,
        );
        assert_eq!(st, 200, "{body}");
        let items = body["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        stored.extend(items.iter().map(|t| t["id"].as_i64().unwrap()));
    }
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
}
