//! Notifications end to end, through the real binary and real peers: an HTTP receiver of the
//! test's own that records every request, checks every signature and fails some attempts on
//! purpose; two server processes on one PostgreSQL database sharing one outbox; and a real
//! SMTP server (aiosmtpd, run with the Python that `scripts/test.sh` prepares, named by
//! `CRM_TEST_PYTHON`) that is down when the first message is due.

mod common;

use base64::{Engine, engine::general_purpose::STANDARD};
use common::*;
use crm_tests::pg::create_database;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::{
    collections::{HashMap, HashSet},
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    body: String,
    answered: u16,
    at: Instant,
}

#[derive(Default)]
struct Log {
    hits: Vec<Hit>,
    in_flight: HashMap<String, usize>,
    /// Webhook ids that were being received twice at the same moment.
    overlaps: Vec<String>,
    seen: HashSet<String>,
}

/// An HTTP server that records webhook deliveries. `/ok` answers 204, except 500 to the first
/// attempt of a delivery whose body mentions "flaky"; `/gone` answers 410; `/slow` answers 200
/// after 150 ms, so two deliveries of one notification at once would overlap.
struct Receiver {
    port: u16,
    log: Arc<Mutex<Log>>,
}

impl Receiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Log::default()));
        let shared = log.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let log = shared.clone();
                std::thread::spawn(move || serve(conn, &log));
            }
        });
        Self { port, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn hits(&self, path: &str) -> Vec<Hit> {
        let log = self.log.lock().unwrap();
        log.hits
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }

    fn overlaps(&self) -> Vec<String> {
        self.log.lock().unwrap().overlaps.clone()
    }
}

fn serve(conn: TcpStream, log: &Mutex<Log>) {
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let path = line.split(' ').nth(1).unwrap_or("").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        if h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    let body = String::from_utf8(body).unwrap();
    let id = headers.get("webhook-id").cloned().unwrap_or_default();
    let answer = {
        let mut l = log.lock().unwrap();
        let n = l.in_flight.entry(id.clone()).or_default();
        *n += 1;
        if *n > 1 {
            l.overlaps.push(id.clone());
        }
        let first = l.seen.insert(id.clone());
        match path.as_str() {
            "/gone" => 410,
            "/ok" if first && body.contains("flaky") => 500,
            "/ok" => 204,
            _ => 200,
        }
    };
    if path == "/slow" {
        std::thread::sleep(Duration::from_millis(150));
    }
    {
        let mut l = log.lock().unwrap();
        *l.in_flight.get_mut(&id).unwrap() -= 1;
        l.hits.push(Hit {
            path,
            timestamp: headers
                .get("webhook-timestamp")
                .cloned()
                .unwrap_or_default(),
            signature: headers
                .get("webhook-signature")
                .cloned()
                .unwrap_or_default(),
            content_type: headers.get("content-type").cloned().unwrap_or_default(),
            id,
            body,
            answered: answer,
            at: Instant::now(),
        });
    }
    let mut conn = conn;
    let _ = write!(
        conn,
        "HTTP/1.1 {answer} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
}

/// Checks a hit's signature exactly as a receiver following Standard Webhooks would.
fn verify(secret: &str, hit: &Hit) {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", hit.id, hit.timestamp, hit.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    assert!(
        hit.signature.split(' ').any(|s| s == expected),
        "bad signature on {hit:?}"
    );
    let ts: i64 = hit.timestamp.parse().unwrap();
    assert!(
        (chrono::Utc::now().timestamp() - ts).abs() < 300,
        "stale timestamp"
    );
    assert!(hit.id.starts_with("msg_"), "{}", hit.id);
    assert_eq!(hit.content_type, "application/json");
}

fn body(hit: &Hit) -> Value {
    serde_json::from_str(&hit.body).unwrap()
}

/// Polls `done` until it holds, for at most `secs`.
fn wait_for(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn submit(s: &Server, title: &str, name: &str, email: &str) -> Value {
    let (st, t) = s.call(
        "POST",
        "/public/tickets",
        None,
        Some(json!({"title": title, "description": "It broke.", "client": {"name": name, "email": email}})),
    );
    assert_eq!(st, 201, "{t}");
    t
}

fn worker_id(s: &Server, admin: &str) -> i64 {
    let (_, users) = s.call("GET", "/users?role=worker", Some(admin), None);
    users["items"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{users}"))
}

fn add_hook(s: &Server, admin: &str, url: &str, events: &[&str]) -> (i64, String) {
    let (st, ep) = s.call(
        "POST",
        "/webhooks",
        Some(admin),
        Some(json!({"url": url, "events": events})),
    );
    assert_eq!(st, 201, "{ep}");
    (
        ep["id"].as_i64().unwrap(),
        ep["secret"].as_str().unwrap().to_owned(),
    )
}

/// Assigns ticket `id` to the first worker, as the admin.
fn assign_to_worker(s: &Server, admin: &str, id: i64) {
    let w = worker_id(s, admin);
    let (st, b) = s.call(
        "POST",
        &format!("/tickets/{id}/assign"),
        Some(admin),
        Some(json!({"worker_id": w})),
    );
    assert_eq!(st, 200, "{b}");
}

/// A free port for the mail server and the (emptied) file its sink writes to.
fn mail_box(name: &str) -> (u16, PathBuf) {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("received.jsonl");
    let _ = std::fs::remove_file(&file);
    (free_port(), file)
}

/// The settings of a server that mails through the sink on `smtp_port`.
fn mail_env(smtp_port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}")),
        ("MAIL_FROM", "Fix-It Shop <shop@example.com>".into()),
        ("PUBLIC_BASE_URL", "http://shop.example.test".into()),
    ]
}

fn quiet(mut env: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    // Warnings only: the test never reads the servers' output pipes until they stop.
    env.push(("RUST_LOG", "warn".into()));
    env.push(("WEBHOOK_ALLOW_HOSTS", "127.0.0.1".into()));
    env.push(("SUBMIT_RATE_PER_MINUTE", "0".into()));
    // Not the documented defaults, which must be changed before a worker may work.
    env.push(("ADMIN_PASSWORD", ADMIN_PW.into()));
    env.push(("WORKER_PASSWORD", WORKER_PW.into()));
    env
}

const ADMIN_PW: &str = "admin-pass-e2e";
const WORKER_PW: &str = "worker-pass-e2e";

#[test]
fn webhooks_are_signed_retried_with_one_id_and_a_410_disables_the_endpoint() {
    let rx = Receiver::start();
    let s = Server::start(&quiet(Vec::new()));
    let admin = s.login("admin", ADMIN_PW);
    let all = [
        "ticket.submitted",
        "ticket.assigned",
        "ticket.released",
        "ticket.status_changed",
    ];
    let (ok, ok_secret) = add_hook(&s, &admin, &rx.url("/ok"), &all);
    let (gone, gone_secret) = add_hook(&s, &admin, &rx.url("/gone"), &["ticket.submitted"]);

    let flaky = submit(&s, "flaky screen", "Ann", "ann@example.com");
    let steady = submit(&s, "steady battery", "Bob", "bob@example.com");
    let w = worker_id(&s, &admin);
    let sid = steady["id"].as_i64().unwrap();
    let (st, r) = s.call(
        "POST",
        &format!("/tickets/{sid}/assign"),
        Some(&admin),
        Some(json!({"worker_id": w})),
    );
    assert_eq!(st, 200, "{r}");
    let worker = s.login("worker", WORKER_PW);
    let (st, r) = s.call(
        "POST",
        &format!("/tickets/{sid}/status"),
        Some(&worker),
        Some(json!({"new_status": "in_progress"})),
    );
    assert_eq!(st, 200, "{r}");

    // Four notifications to /ok; the flaky one twice (500, then 204 about 5 s later).
    wait_for(40, "every delivery to /ok", || {
        rx.hits("/ok").iter().filter(|h| h.answered == 204).count() == 4
    });
    let hits = rx.hits("/ok");
    assert_eq!(hits.len(), 5, "{hits:#?}");
    for h in &hits {
        verify(&ok_secret, h);
    }
    let types: HashSet<(String, i64)> = hits
        .iter()
        .map(|h| {
            let b = body(h);
            (
                b["type"].as_str().unwrap().to_owned(),
                b["data"]["id"].as_i64().unwrap(),
            )
        })
        .collect();
    let fid = flaky["id"].as_i64().unwrap();
    assert_eq!(
        types,
        HashSet::from([
            ("ticket.submitted".into(), fid),
            ("ticket.submitted".into(), sid),
            ("ticket.assigned".into(), sid),
            ("ticket.status_changed".into(), sid),
        ])
    );
    let retried: Vec<&Hit> = hits.iter().filter(|h| h.body.contains("flaky")).collect();
    assert_eq!(retried.len(), 2);
    assert_eq!(retried[0].id, retried[1].id, "a retry keeps its webhook-id");
    assert_eq!(retried[0].body, retried[1].body, "and its body");
    assert_eq!((retried[0].answered, retried[1].answered), (500, 204));
    assert!(retried[1].at - retried[0].at >= Duration::from_secs(4));
    let b = body(retried[0]);
    assert!(b["timestamp"].is_string() && b["data"]["seq"].as_i64().unwrap() >= 1);
    assert_eq!(b["data"]["title"], "flaky screen");
    assert_eq!(b["data"]["client"]["email"], "ann@example.com");

    // The delivery log shows both attempts; a manual retry sends it once more, same id.
    let (st, log) = s.call(
        "GET",
        &format!("/webhooks/{ok}/deliveries?size=100"),
        Some(&admin),
        None,
    );
    assert_eq!(st, 200);
    let d = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ticket_id"] == fid)
        .unwrap()
        .clone();
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_u64()),
        (Some("delivered"), Some(2))
    );
    let codes: Vec<u64> = d["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [500, 204]);
    assert_eq!(format!("msg_{}", d["id"]), retried[0].id);
    let (st, again) = s.call(
        "POST",
        &format!("/webhooks/{ok}/deliveries/{}/retry", d["id"]),
        Some(&admin),
        None,
    );
    assert_eq!((st, again["status"].as_str()), (200, Some("pending")));
    wait_for(20, "the manual retry", || {
        rx.hits("/ok")
            .iter()
            .filter(|h| h.id == retried[0].id)
            .count()
            == 3
    });

    // /gone answered 410: the endpoint is disabled and hears nothing more.
    wait_for(20, "the 410", || !rx.hits("/gone").is_empty());
    wait_for(20, "the endpoint disabled", || {
        let (_, l) = s.call("GET", "/webhooks", Some(&admin), None);
        l["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == gone && e["enabled"] == false)
    });
    let before = rx.hits("/gone").len();
    assert!(before <= 2, "at most the two already queued");
    for h in rx.hits("/gone") {
        verify(&gone_secret, &h);
    }
    let late = submit(&s, "after the endpoint left", "Cy", "cy@example.com");
    wait_for(20, "the next delivery to /ok", || {
        rx.hits("/ok")
            .iter()
            .any(|h| body(h)["data"]["id"] == late["id"])
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rx.hits("/gone").len(), before);
    assert!(rx.overlaps().is_empty(), "{:?}", rx.overlaps());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_every_notification_and_never_one_twice_at_once() {
    let (url, _db) = create_database("crm_notify").await;
    let env = quiet(pg_env(&url));
    tokio::task::spawn_blocking(move || {
        let rx = Receiver::start();
        let (a, b) = Server::start_two(&env);
        let admin = a.login("admin", ADMIN_PW);
        let (_, secret) = add_hook(&b, &admin, &rx.url("/slow"), &["ticket.submitted"]);
        const N: usize = 40;
        std::thread::scope(|sc| {
            for i in 0..N {
                let s = if i % 2 == 0 { &a } else { &b };
                sc.spawn(move || {
                    submit(
                        s,
                        &format!("Replica race {i}"),
                        "R",
                        &format!("r{i}@example.com"),
                    )
                });
            }
        });
        wait_for(60, "every notification", || {
            let ids: HashSet<String> = rx.hits("/slow").into_iter().map(|h| h.id).collect();
            ids.len() == N
        });
        std::thread::sleep(Duration::from_millis(500));
        let hits = rx.hits("/slow");
        for h in &hits {
            verify(&secret, h);
        }
        assert!(
            rx.overlaps().is_empty(),
            "delivered twice at once: {:?}",
            rx.overlaps()
        );
        assert_eq!(
            hits.len(),
            N,
            "each exactly once (all answered 200 at the first attempt)"
        );
        let titles: HashSet<String> = hits
            .iter()
            .map(|h| body(h)["data"]["title"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(titles.len(), N);
    })
    .await
    .unwrap();
}

/// aiosmtpd on `port`, appending what it receives to a file as JSON lines.
struct MailSink {
    child: Child,
    file: PathBuf,
}

impl MailSink {
    fn start(port: u16, file: PathBuf) -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/mail/sink.py");
        let mut child = Command::new(test_python("aiosmtpd"))
            .arg(script)
            .arg(port.to_string())
            .arg(&file)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        Self { child, file }
    }

    fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn customers_get_three_messages_in_order_even_when_the_mail_server_was_down() {
    let (smtp_port, file) = mail_box("crm-mail");
    let s = Server::start(&quiet(mail_env(smtp_port)));
    // Nobody listens on the mail port yet: the submission succeeds all the same.
    let t = submit(
        &s,
        "Screen <script>alert(1)</script>",
        "Ann <b>Bold</b>",
        "ann@example.com",
    );
    let (id, code) = (
        t["id"].as_i64().unwrap(),
        t["tracking_code"].as_str().unwrap().to_owned(),
    );
    let admin = s.login("admin", ADMIN_PW);
    assign_to_worker(&s, &admin, id);
    let worker = s.login("worker", WORKER_PW);
    for status in ["in_progress", "done"] {
        let (st, _) = s.call(
            "POST",
            &format!("/tickets/{id}/status"),
            Some(&worker),
            Some(json!({"new_status": status})),
        );
        assert_eq!(st, 200);
    }
    // The conversation: only the staff message to the customer is mailed, never the note
    // or the customer's own words back to them.
    for (token, path, body) in [
        (
            Some(&worker),
            format!("/tickets/{id}/messages"),
            json!({"body": "INTERNAL: cost price 12 EUR", "visibility": "internal"}),
        ),
        (
            None,
            format!("/public/tickets/{code}/messages"),
            json!({"body": "Can I pick it up on Saturday?"}),
        ),
        (
            Some(&worker),
            format!("/tickets/{id}/messages"),
            json!({"body": "Yes, until <b>noon</b> & later.", "visibility": "customer"}),
        ),
    ] {
        let (st, b) = s.call("POST", &path, token.map(String::as_str), Some(body));
        assert_eq!(st, 201, "{b}");
    }
    std::thread::sleep(Duration::from_secs(1));
    let sink = MailSink::start(smtp_port, file);
    assert!(sink.messages().is_empty());
    wait_for(40, "four messages", || sink.messages().len() >= 4);
    std::thread::sleep(Duration::from_millis(500));
    let mut got = sink.messages();
    assert_eq!(got.len(), 4, "{got:#?}");
    let reply = got.pop().unwrap();
    assert_eq!(
        reply["subject"],
        format!("A message about your repair request #{id}")
    );
    let (plain, html) = (
        reply["plain"].as_str().unwrap(),
        reply["html"].as_str().unwrap(),
    );
    assert!(
        plain.contains("> Yes, until <b>noon</b> & later."),
        "{plain}"
    );
    assert!(
        html.contains("Yes, until &lt;b&gt;noon&lt;/b&gt; &amp; later."),
        "{html}"
    );
    for text in [plain, html] {
        assert!(
            !text.contains("INTERNAL") && !text.contains("Saturday"),
            "{text}"
        );
    }
    let subjects: Vec<&str> = got.iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert_eq!(
        subjects,
        [
            format!("We received your repair request #{id}"),
            format!("Work has started on your repair request #{id}"),
            format!("Your repair #{id} is ready for pickup"),
        ]
    );
    let link = format!("http://shop.example.test/#/track/{code}");
    let mut ids = HashSet::new();
    for m in &got {
        assert_eq!(m["rcpt_tos"], json!(["ann@example.com"]));
        assert_eq!(m["mail_from"], "shop@example.com");
        let plain = m["plain"].as_str().unwrap();
        let html = m["html"].as_str().unwrap();
        assert!(plain.contains(&link), "{plain}");
        assert!(html.contains(&link), "{html}");
        assert!(
            !html.contains("<script>") && !html.contains("<b>"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;") && html.contains("Ann &lt;b&gt;Bold&lt;/b&gt;"));
        assert!(ids.insert(m["message_id"].as_str().unwrap().to_owned()));
    }
}

/// A stage move end to end: the webhook receiver gets `ticket.stage_changed` with the ticket
/// in its new stage, signed; the customer's tracking view names the stage; the real mail
/// server receives the stage's letter when it notifies, and a status step into that stage
/// sends only that letter. The letter carries the stage, never the staff's internal data.
#[test]
fn a_notifying_stage_is_mailed_and_every_move_posted() {
    let (smtp_port, file) = mail_box("crm-stage-mail");
    let sink = MailSink::start(smtp_port, file);
    let rx = Receiver::start();
    let s = Server::start(&quiet(mail_env(smtp_port)));
    let admin = s.login("admin", ADMIN_PW);
    let (_, secret) = add_hook(&s, &admin, &rx.url("/ok"), &["ticket.stage_changed"]);
    let (st, stages) = s.call("GET", "/settings/stages", Some(&admin), None);
    assert_eq!(st, 200, "{stages}");
    let id_of = |name: &str| {
        stages["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (parts, ready) = (id_of("Waiting for parts"), id_of("Ready for pickup"));
    let (st, t) = s.call(
        "POST",
        "/tickets",
        Some(&admin),
        Some(json!({
            "title": "Dead phone", "description": "Will not boot.",
            "client": {"name": "Cy", "email": "cy@example.com"},
            "device": {"kind": "phone", "serial": "SN-SECRET-42"},
        })),
    );
    assert_eq!(st, 201, "{t}");
    let (id, code) = (
        t["id"].as_i64().unwrap(),
        t["tracking_code"].as_str().unwrap().to_owned(),
    );
    assign_to_worker(&s, &admin, id);
    let worker = s.login("worker", WORKER_PW);
    // A stage of another status: 422 on stage_id, nothing moves.
    let (st, e) = s.call(
        "POST",
        &format!("/tickets/{id}/status"),
        Some(&worker),
        Some(json!({"new_status": "in_progress", "stage_id": ready})),
    );
    assert_eq!(st, 422, "{e}");
    assert_eq!(e["code"], "validation_error");
    assert_eq!(e["fields"][0]["field"], "stage_id", "{e}");
    let (st, b) = s.call(
        "POST",
        &format!("/tickets/{id}/status"),
        Some(&worker),
        Some(json!({"new_status": "in_progress", "stage_id": parts})),
    );
    assert_eq!(st, 200, "{b}");
    assert_eq!(
        b["stage"],
        json!({"id": parts, "name": "Waiting for parts"})
    );
    let (st, p) = s.call("GET", &format!("/public/tickets/{code}"), None, None);
    assert_eq!(st, 200);
    assert_eq!(p["stage"], "Waiting for parts");
    let (st, _) = s.call(
        "POST",
        &format!("/tickets/{id}/messages"),
        Some(&worker),
        Some(json!({"body": "INTERNAL: part costs 80", "visibility": "internal"})),
    );
    assert_eq!(st, 201);
    let (st, b) = s.call(
        "POST",
        &format!("/tickets/{id}/status"),
        Some(&worker),
        Some(json!({"new_status": "done", "stage_id": ready})),
    );
    assert_eq!(st, 200, "{b}");
    let (st, stats) = s.call("GET", "/tickets/stats", Some(&admin), None);
    assert_eq!(st, 200);
    let line = stats["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == ready)
        .unwrap()
        .clone();
    assert_eq!(line["tickets"], 1, "{stats}");

    wait_for(40, "three letters", || sink.messages().len() >= 3);
    wait_for(40, "two stage webhooks", || rx.hits("/ok").len() >= 2);
    std::thread::sleep(Duration::from_millis(700));
    let got = sink.messages();
    let subjects: Vec<&str> = got.iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert_eq!(
        subjects,
        [
            format!("We received your repair request #{id}"),
            format!("Work has started on your repair request #{id}"),
            format!("Your repair #{id}: Ready for pickup"),
        ]
    );
    let letter = &got[2];
    let plain = letter["plain"].as_str().unwrap();
    assert!(plain.contains("\"Ready for pickup\""), "{plain}");
    for m in &got {
        for part in ["plain", "html"] {
            let text = m[part].as_str().unwrap();
            assert!(
                !text.contains("SN-SECRET-42") && !text.contains("INTERNAL"),
                "{text}"
            );
        }
    }
    let hits = rx.hits("/ok");
    assert_eq!(hits.len(), 2, "{hits:#?}");
    // Webhooks are not ordered among themselves: each says its place (`seq`).
    let mut names: Vec<(i64, Value)> = hits
        .iter()
        .map(|h| {
            verify(&secret, h);
            let b = body(h);
            assert_eq!(b["type"], "ticket.stage_changed");
            assert_eq!(b["data"]["id"], id);
            (
                b["data"]["seq"].as_i64().unwrap(),
                b["data"]["stage"]["name"].clone(),
            )
        })
        .collect();
    names.sort_by_key(|(seq, _)| *seq);
    let names: Vec<Value> = names.into_iter().map(|(_, n)| n).collect();
    assert_eq!(
        names,
        [json!("Waiting for parts"), json!("Ready for pickup")]
    );
}

/// A quote end to end across two replicas on one PostgreSQL database: the customer's letter
/// (lines, total, link) through the real mail server, decisions racing through both replicas
/// recording exactly one, and the receiver getting `ticket.quote_sent` and
/// `ticket.quote_decided` with the whole quote, signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quote_is_mailed_decided_once_across_replicas_and_posted_whole() {
    let (url, _db) = create_database("crm_quote").await;
    let (smtp_port, file) = mail_box("crm-quote-mail");
    let mut env = pg_env(&url);
    env.extend(mail_env(smtp_port));
    env.push(("CURRENCY", "EUR".into()));
    let env = quiet(env);
    tokio::task::spawn_blocking(move || {
        let sink = MailSink::start(smtp_port, file);
        let rx = Receiver::start();
        let (a, b) = Server::start_two(&env);
        let admin = a.login("admin", ADMIN_PW);
        let (_, secret) = add_hook(
            &a,
            &admin,
            &rx.url("/ok"),
            &["ticket.quote_sent", "ticket.quote_decided"],
        );
        let t = submit(&a, "Quoted drone", "Dee", "dee@example.com");
        let (id, code) = (
            t["id"].as_i64().unwrap(),
            t["tracking_code"].as_str().unwrap().to_owned(),
        );
        assign_to_worker(&a, &admin, id);
        let (st, q) = a.call(
            "POST",
            &format!("/tickets/{id}/quotes"),
            Some(&admin),
            Some(json!({
                "lines": [
                    {"kind": "part", "description": "Gimbal <motor>", "quantity": 1, "unit_price": 4900},
                    {"kind": "labour", "description": "Calibration", "quantity": 1, "unit_price": 2000}
                ],
                "tax_rate": 1900
            })),
        );
        assert_eq!(st, 201, "{q}");
        let qid = q["id"].as_i64().unwrap();
        let (st, sent) = b.call(
            "POST",
            &format!("/tickets/{id}/quotes/{qid}/send"),
            Some(&admin),
            Some(json!({})),
        );
        assert_eq!(st, 200, "{sent}");
        // 69.00 + 19% = 82.11.
        assert_eq!(sent["total"], 8211);

        // Decisions racing through both replicas: one is recorded.
        let outcomes: Vec<u16> = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..10)
                .map(|i| {
                    let s = if i % 2 == 0 { &a } else { &b };
                    let code = &code;
                    sc.spawn(move || {
                        s.call(
                            "POST",
                            &format!("/public/tickets/{code}/quote/decision"),
                            None,
                            Some(json!({
                                "quote_id": qid,
                                "decision": if i % 3 == 0 { "decline" } else { "approve" },
                                "name": "Dee Customer"
                            })),
                        )
                        .0
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(outcomes.iter().filter(|&&s| s == 200).count(), 1, "{outcomes:?}");
        assert_eq!(outcomes.iter().filter(|&&s| s == 409).count(), 9, "{outcomes:?}");
        let (_, public) = b.call("GET", &format!("/public/tickets/{code}/quote"), None, None);
        let state = public["state"].as_str().unwrap().to_owned();
        assert!(state == "approved" || state == "declined", "{public}");

        wait_for(40, "the received and quote letters", || sink.messages().len() >= 2);
        wait_for(40, "two quote webhooks", || rx.hits("/ok").len() >= 2);
        std::thread::sleep(Duration::from_millis(700));
        let got = sink.messages();
        assert_eq!(got.len(), 2, "{got:#?}");
        let letter = &got[1];
        assert_eq!(letter["subject"], format!("Your quote for repair request #{id}"));
        let plain = letter["plain"].as_str().unwrap();
        assert!(plain.contains("82.11 EUR in total"), "{plain}");
        assert!(plain.contains("> 1 x Gimbal <motor>: 49.00 EUR"), "{plain}");
        assert!(plain.contains(&format!("/#/track/{code}")), "{plain}");
        let html = letter["html"].as_str().unwrap();
        assert!(html.contains("Gimbal &lt;motor&gt;") && !html.contains("<motor>"), "{html}");

        let mut posted: Vec<Value> = rx
            .hits("/ok")
            .iter()
            .map(|h| {
                verify(&secret, h);
                body(h)
            })
            .collect();
        assert_eq!(posted.len(), 2, "{posted:#?}");
        posted.sort_by_key(|p| p["data"]["seq"].as_i64().unwrap());
        assert_eq!(posted[0]["type"], "ticket.quote_sent");
        assert_eq!(posted[1]["type"], "ticket.quote_decided");
        let whole = &posted[1]["data"]["quote"];
        assert_eq!(whole["id"], qid);
        assert_eq!(whole["total"], 8211);
        assert_eq!(whole["lines"].as_array().unwrap().len(), 2);
        assert_eq!(whole["decision"]["name"], "Dee Customer");
        assert_eq!(whole["state"], state.as_str());
        assert_eq!(posted[0]["data"]["quote"]["state"], "sent");
    })
    .await
    .unwrap();
}
