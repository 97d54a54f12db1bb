//! Intake at the counter across two server processes on one database: a request taken in
//! through one replica is on the other's live stream, found there by the counter search and in
//! the customer list, corrected there and the correction streamed back; the public view and
//! the printed receipt tell only what they may.
//!
//! Reads `TEST_DATABASE_URL` (see `crm_tests::pg`); the test creates and drops its database.

mod common;

use common::*;
use crm_tests::pg::create_database;
use serde_json::json;
use std::time::Duration;

/// The next event of `kind` on `stream` within a few seconds.
fn next_of(stream: &mut SseClient, kind: &str) -> SseEvent {
    for _ in 0..20 {
        match stream.next(Duration::from_secs(3)) {
            SseRead::Event(e) if e.event.as_deref() == Some(kind) => return e,
            SseRead::Event(_) => continue,
            other => panic!("no {kind} event: {other:?}"),
        }
    }
    panic!("no {kind} event among the next 20");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_search_and_corrections_cross_replicas() {
    let (url, _db) = create_database("crm_counter").await;
    let env = pg_env(&url);
    tokio::task::spawn_blocking(move || {
        let (a, b) = Server::start_two(&env);
        let admin = a.login("admin", "admin123");
        let worker = b.login("worker", "worker123");
        let (_, me) = b.call("GET", "/auth/me", Some(&worker), None);
        let wid = me["id"].as_i64().unwrap();
        let mut on_b = SseClient::open(b.port, "/events", Some(&admin), &[]);
        let mut on_a = SseClient::open(a.port, "/events", Some(&admin), &[]);
        std::thread::sleep(Duration::from_millis(200));

        // Taken in through A, assigned in the same step.
        let (st, t) = a.call(
            "POST",
            "/tickets/",
            Some(&admin),
            Some(json!({
                "title": "Cracked back", "description": "Dropped on tiles",
                "client": {"name": "Anna Kowalska", "email": "anna@example.com", "phone": "+49 171 2345678"},
                "device": {"kind": "phone", "brand": "Fairphone", "model": "5", "serial": "IMEI 3520 9911",
                           "condition": "Cracked back glass", "accessories": "Case"},
                "priority": "urgent", "due_at": "2030-05-01T16:00:00Z", "worker_id": wid
            })),
        );
        assert_eq!(st, 201, "{t}");
        let id = t["id"].as_i64().unwrap();
        let code = t["tracking_code"].as_str().unwrap().to_owned();
        let e = next_of(&mut on_b, "submitted");
        assert_eq!(e.data["ticket_id"], id);
        assert!(e.data["actor_id"].is_i64(), "taken in by staff: {e:?}");
        assert_eq!(next_of(&mut on_b, "assigned").data["worker_id"], wid);

        // Found on B by the counter search, and the customer by phone.
        for q in ["0171%20234", "kowalska", "imei35209911", &format!("%23{id}")] {
            let (st, page) = b.call("GET", &format!("/tickets/?q={q}"), Some(&admin), None);
            assert_eq!(st, 200, "{page}");
            assert_eq!(page["items"][0]["id"], id, "q={q}");
        }
        let (_, clients) = b.call("GET", "/clients/?search=171-234", Some(&admin), None);
        assert_eq!(clients["total"], 1);
        let client = clients["items"][0]["id"].as_i64().unwrap();
        assert_eq!(clients["items"][0]["open_ticket_count"], 1);

        // Corrected by its worker on B: A streams the edit with what changed.
        let (st, fixed) = b.call(
            "PATCH",
            &format!("/tickets/{id}"),
            Some(&worker),
            Some(json!({"device": {"serial": "IMEI 3520 9922"}, "priority": "high"})),
        );
        assert_eq!(st, 200, "{fixed}");
        let e = next_of(&mut on_a, "edited");
        assert_eq!(e.data["ticket_id"], id);
        let fields: Vec<&str> = e.data["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["device", "priority"]);
        let (_, page) = a.call("GET", "/tickets/?serial=imei35209922", Some(&admin), None);
        assert_eq!(page["items"][0]["id"], id);

        // The customer corrected on A is what B shows on the ticket.
        let (st, _) = a.call(
            "PATCH",
            &format!("/clients/{client}"),
            Some(&admin),
            Some(json!({"email": "anna.k@example.com"})),
        );
        assert_eq!(st, 200);
        let (_, seen) = b.call("GET", &format!("/tickets/{id}"), Some(&admin), None);
        assert_eq!(seen["client"]["email"], "anna.k@example.com");

        // The public view on B: the device's kind, brand and model and the due date only.
        let (st, p) = b.call("GET", &format!("/public/tickets/{code}"), None, None);
        assert_eq!(st, 200);
        assert_eq!(p["device"], json!({"kind": "phone", "brand": "Fairphone", "model": "5"}));
        let text = p.to_string();
        for secret in ["IMEI", "Cracked back glass", "Case", "Anna"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        // The receipt printed on A carries the tracking link.
        let answer = request(a.port, "GET", &format!("/tickets/{id}/receipt"), Some(&admin), None, &[])
            .expect("the receipt");
        assert_eq!(answer.status, 200);
        let receipt = answer.body.as_str().expect("an HTML page").to_owned();
        assert!(receipt.contains(&format!("/track/{code}")) && receipt.contains("<svg"));
        assert!(receipt.contains("IMEI 3520 9922"), "the corrected serial");
    })
    .await
    .unwrap();
}
