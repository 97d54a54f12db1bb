//! 1,000 live streams on one server: the memory the server holds for them, and the time from
//! a change to its arrival at every stream. Not a criterion bench: one run, printed figures.
//!
//! Runs the release server (`CRM_SERVER_BIN`, default `target/release/crm-server`; build it
//! first with `cargo build --release -p crm-server`) on the in-memory store on a free port.
//! `STREAMS` sets the number of streams (default 1000), `ROUNDS` the changes timed (default 20).

use std::{
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    sync::Mutex,
};

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn request(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

fn main() {
    let streams: usize = std::env::var("STREAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let bin = std::env::var("CRM_SERVER_BIN").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/crm-server").to_owned()
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(&bin)
        .env_clear()
        .env("PORT", port.to_string())
        .env("RUST_LOG", "warn")
        .env("SUBMIT_RATE_PER_MINUTE", "0")
        .env("SECRET_KEY", "streams-bench-key-0123456789abcdefghij")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("start {bin} (build it with cargo build --release -p crm-server): {e}")
        });
    let pid = server.id();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let login = request(port, "POST", "/auth/login", None, r#"{"username":"admin","password":"admin123"}"#).await;
        let token = login.split("\"access_token\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();
        let idle = rss_kib(pid);
        let arrivals: Arc<Mutex<Vec<Vec<Instant>>>> = Arc::new(Mutex::new(vec![Vec::new(); rounds]));
        let mut ready = Vec::new();
        for _ in 0..streams {
            let (token, arrivals) = (token.clone(), arrivals.clone());
            let (tx, rx) = tokio::sync::oneshot::channel();
            ready.push(rx);
            tokio::spawn(async move {
                let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                let req = format!("GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n");
                s.write_all(req.as_bytes()).await.unwrap();
                let mut r = BufReader::new(s);
                let mut line = String::new();
                loop {
                    line.clear();
                    r.read_line(&mut line).await.unwrap();
                    if line == "\r\n" {
                        break;
                    }
                }
                let _ = tx.send(());
                let mut round = 0;
                while round < rounds {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line.starts_with("event: submitted") {
                        arrivals.lock().await[round].push(Instant::now());
                        round += 1;
                    }
                }
            });
        }
        for r in ready {
            r.await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let open = rss_kib(pid);
        let mut all_arrived = Vec::new();
        for round in 0..rounds {
            let sent = Instant::now();
            let body = format!(r#"{{"title":"Stream bench {round}","description":"d","client":{{"name":"n","email":"s{round}@example.com"}}}}"#);
            request(port, "POST", "/public/tickets", None, &body).await;
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let got = arrivals.lock().await[round].clone();
                if got.len() == streams || Instant::now() > deadline {
                    let last = got.iter().max().map(|t| *t - sent).unwrap_or(Duration::MAX);
                    let mut each: Vec<Duration> = got.iter().map(|t| *t - sent).collect();
                    each.sort();
                    let median = each.get(each.len() / 2).copied().unwrap_or(Duration::MAX);
                    println!(
                        "change {round:2}: {} of {streams} streams got it; median {:.1} ms, last {:.1} ms",
                        got.len(),
                        median.as_secs_f64() * 1000.0,
                        last.as_secs_f64() * 1000.0
                    );
                    all_arrived.push(last);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        all_arrived.sort();
        println!(
            "{streams} streams: server RSS {} MiB idle, {} MiB with the streams open ({:.1} KiB per stream)",
            idle / 1024,
            open / 1024,
            (open.saturating_sub(idle)) as f64 / streams as f64
        );
        println!(
            "time from a change to its arrival at all {streams}: median {:.1} ms, worst {:.1} ms over {rounds} changes",
            all_arrived[all_arrived.len() / 2].as_secs_f64() * 1000.0,
            all_arrived.last().unwrap().as_secs_f64() * 1000.0
        );
    });
    let _ = server.kill();
    let _ = server.wait();
}
