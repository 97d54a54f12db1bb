//! Live updates across two server processes on one database: a change made through one
//! replica reaches a stream on the other within a second; a resumed stream gets what it
//! missed once each; a worker's stream never carries another worker's ticket; a deleted
//! user's stream ends.
//!
//! Reads `TEST_DATABASE_URL` (see `crm_tests::pg`); the test creates and drops its database.

mod common;

use common::*;
use crm_tests::pg::create_database;
use serde_json::json;
use std::time::{Duration, Instant};

fn submit(s: &Http, title: &str) -> i64 {
    let (st, t) = s.call(
        "POST",
        "/public/tickets",
        None,
        Some(json!({"title": title, "description": "Live", "client": {"name": "L", "email": format!("{title}@example.com")}})),
    );
    assert_eq!(st, 201, "{t}");
    t["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_follow_changes_across_replicas_without_gaps() {
    let (url, _db) = create_database("crm_live").await;
    let env = pg_env(&url);
    tokio::task::spawn_blocking(move || {
        let (a, b) = Server::start_two(&env);
        let admin = a.login("admin", "admin123");
        // A second worker, and tokens for both workers.
        let (st, w2) = a.call(
            "POST",
            "/users/",
            Some(&admin),
            Some(json!({"username": "worker2", "password": "worker2-pass", "role": "worker"})),
        );
        assert_eq!(st, 201);
        let w2_id = w2["id"].as_i64().unwrap();
        let (_, me) = a.call(
            "GET",
            "/auth/me",
            Some(&a.login("worker", "worker123")),
            None,
        );
        let w1_id = me["id"].as_i64().unwrap();
        let w1 = b.login("worker", "worker123");
        let w2 = b.login("worker2", "worker2-pass");

        // Streams on B: the admin's, and each worker's.
        let mut admin_stream = SseClient::open(b.port, "/events", Some(&admin), &[]);
        assert_eq!(admin_stream.status, 200);
        let mut s1 = SseClient::open(b.port, "/events", Some(&w1), &[]);
        let mut s2 = SseClient::open(b.port, "/events", Some(&w2), &[]);
        std::thread::sleep(Duration::from_millis(200));

        // A change through A reaches B's stream within a second.
        let started = Instant::now();
        let t1 = submit(&a, "live-one");
        let SseRead::Event(e) = admin_stream.next(Duration::from_secs(3)) else {
            panic!("no event on the other replica");
        };
        let took = started.elapsed();
        assert!(took < Duration::from_secs(1), "took {took:?}");
        assert_eq!(
            (
                e.event.as_deref(),
                e.data["ticket_id"].as_i64(),
                e.data["status"].as_str()
            ),
            (Some("submitted"), Some(t1), Some("new"))
        );
        let first_seq: i64 = e.id.unwrap().parse().unwrap();

        // Assign one ticket to each worker; each worker sees only its own.
        let t2 = submit(&a, "live-two");
        for (t, w) in [(t1, w1_id), (t2, w2_id)] {
            let (st, _) = a.call(
                "POST",
                &format!("/tickets/{t}/assign"),
                Some(&admin),
                Some(json!({"worker_id": w})),
            );
            assert_eq!(st, 200);
        }
        let mine1: Vec<_> = s1.drain(Duration::from_millis(1500));
        let mine2: Vec<_> = s2.drain(Duration::from_millis(300));
        assert!(mine1.iter().all(|e| e.data["ticket_id"] == t1), "{mine1:?}");
        assert!(mine2.iter().all(|e| e.data["ticket_id"] == t2), "{mine2:?}");
        assert_eq!(mine1.len(), 1, "the assignment to it");
        assert_eq!(mine2.len(), 1);
        // Reassigning takes t1 away from worker 1: it sees that moment, then nothing more.
        let (st, _) = a.call(
            "POST",
            &format!("/tickets/{t1}/assign"),
            Some(&admin),
            Some(json!({"worker_id": w2_id})),
        );
        assert_eq!(st, 200);
        let away = s1.drain(Duration::from_millis(1500));
        assert_eq!(away.len(), 1, "{away:?}");
        assert_eq!(away[0].event.as_deref(), Some("assigned"));
        let (st, _) = a.call(
            "POST",
            &format!("/tickets/{t1}/status"),
            Some(&w2.clone()),
            Some(json!({"new_status": "in_progress"})),
        );
        assert_eq!(st, 200);
        assert!(
            s1.drain(Duration::from_millis(1200)).is_empty(),
            "not its ticket any more"
        );

        // The admin's stream saw everything; drop it, change more, resume with Last-Event-ID.
        let seen = admin_stream.drain(Duration::from_millis(500));
        let last = seen.last().and_then(|e| e.id.clone()).unwrap();
        drop(admin_stream);
        let t3 = submit(&a, "live-three");
        let t4 = submit(&b, "live-four");
        let mut resumed =
            SseClient::open(a.port, "/events", Some(&admin), &[("Last-Event-ID", &last)]);
        let missed = resumed.drain(Duration::from_millis(1500));
        let ids: Vec<i64> = missed
            .iter()
            .map(|e| e.data["ticket_id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [t3, t4], "each missed event once, in order");
        let seqs: Vec<i64> = missed
            .iter()
            .map(|e| e.id.as_ref().unwrap().parse().unwrap())
            .collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]) && seqs[0] > first_seq);
        // `?since=` does the same.
        let mut since =
            SseClient::open(a.port, &format!("/events?since={last}"), Some(&admin), &[]);
        assert_eq!(since.drain(Duration::from_millis(1000)).len(), 2);

        // Deleting worker 2 ends its stream.
        let (st, _) = a.call("DELETE", &format!("/users/{w2_id}"), Some(&admin), None);
        assert_eq!(st, 204);
        let ended = (0..20).any(|_| matches!(s2.next(Duration::from_millis(250)), SseRead::Ended));
        assert!(ended, "a deleted user's stream ends");
    })
    .await
    .unwrap();
}

#[test]
fn the_public_progress_stream_follows_a_request() {
    let s = Server::start(&[]);
    let (_, t) = s.call(
        "POST",
        "/public/tickets",
        None,
        Some(json!({"title": "Track me", "description": "d", "client": {"name": "C", "email": "c@example.com"}})),
    );
    let code = t["tracking_code"].as_str().unwrap().to_owned();
    let id = t["id"].as_i64().unwrap();
    let mut p = SseClient::open(s.port, &format!("/public/tickets/{code}/events"), None, &[]);
    let SseRead::Event(first) = p.next(Duration::from_secs(2)) else {
        panic!("no first progress")
    };
    assert_eq!(first.data["progress"]["status"], "new");
    assert!(
        first.data.get("client").is_none() && first.data["progress"].get("worker_id").is_none()
    );
    let admin = s.login("admin", "admin123");
    let (_, me) = s.call("GET", "/users/?role=worker", Some(&admin), None);
    let w = me["items"][0]["id"].as_i64().unwrap();
    s.call(
        "POST",
        &format!("/tickets/{id}/assign"),
        Some(&admin),
        Some(json!({"worker_id": w})),
    );
    s.call(
        "POST",
        &format!("/tickets/{id}/status"),
        Some(&admin),
        Some(json!({"new_status": "in_progress"})),
    );
    let updates = p.drain(Duration::from_millis(1000));
    let statuses: Vec<_> = updates
        .iter()
        .map(|e| {
            (
                e.data["progress"]["assigned"].as_bool(),
                e.data["progress"]["status"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (Some(true), Some("new".to_owned())),
            (Some(true), Some("in_progress".to_owned()))
        ]
    );
    let missing = SseClient::open(
        s.port,
        "/public/tickets/AAAAAAAAAAAAAAAAAAAAAA/events",
        None,
        &[],
    );
    assert_eq!(missing.status, 404);
}

/// A stream resumed from far back replays everything in between, page by page, however much
/// that is (more than any one read returns), then goes on live, without a gap or a repeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_resumed_from_far_back_replays_everything_then_goes_live() {
    use crm_core::{Crm, SubmitTicket};
    const BACKLOG: i64 = 50_500;
    let crm = Crm::new(crm_store_memory::MemoryStore::new());
    for i in 0..BACKLOG {
        crm.submit(SubmitTicket {
            title: format!("Backlog {i}"),
            description: "Replayed".into(),
            client_name: "R".into(),
            client_email: format!("r{i}@example.com"),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = crm_server::Config::from_vars(|_| None).unwrap();
    config.submit_rate_per_minute = 0;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        crm_server::serve(crm, &config, listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    tokio::task::spawn_blocking(move || {
        let s = Http(port);
        let admin = s.login("admin", "admin123");
        let mut stream = SseClient::open(port, "/events?since=0", Some(&admin), &[]);
        assert_eq!(stream.status, 200);
        let mut last = 0;
        while last < BACKLOG {
            match stream.next(Duration::from_secs(10)) {
                SseRead::Event(e) => {
                    let seq: i64 = e.id.unwrap().parse().unwrap();
                    assert_eq!(seq, last + 1, "no gap, no repeat");
                    last = seq;
                }
                other => panic!("the replay stopped after {last}: {other:?}"),
            }
        }
        // Then live.
        let t = submit(&s, "After-the-backlog");
        match stream.next(Duration::from_secs(5)) {
            SseRead::Event(e) => {
                assert_eq!(e.id.as_deref(), Some(&*(BACKLOG + 1).to_string()));
                assert_eq!(e.data["ticket_id"], t);
            }
            other => panic!("{other:?}"),
        }
    })
    .await
    .unwrap();
    let _ = stop.send(());
    server.await.unwrap();
}

/// One address may hold only `PUBLIC_STREAMS_PER_ADDRESS` public progress streams open at
/// once; beyond it `429 rate_limited` with `Retry-After`, and closing one frees its place.
#[test]
fn public_streams_are_limited_per_address() {
    let s = Server::start(&[("PUBLIC_STREAMS_PER_ADDRESS", "2".to_owned())]);
    let (_, t) = s.call(
        "POST",
        "/public/tickets",
        None,
        Some(json!({"title": "Watched", "description": "d", "client": {"name": "C", "email": "w@example.com"}})),
    );
    let path = format!(
        "/public/tickets/{}/events",
        t["tracking_code"].as_str().unwrap()
    );
    let first = SseClient::open(s.port, &path, None, &[]);
    let second = SseClient::open(s.port, &path, None, &[]);
    assert_eq!((first.status, second.status), (200, 200));
    let third = request(s.port, "GET", &path, None, None, &[]).unwrap();
    assert_eq!(third.status, 429);
    assert_eq!(third.body["code"], "rate_limited");
    assert!(third.header("retry-after").is_some());
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let again = SseClient::open(s.port, &path, None, &[]);
        if again.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's place was never freed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
