//! Follows `GET /events` on a server and prints how long each event took from its change
//! (the event's `at`, the server's clock) to arriving here (this machine's clock, the same
//! one): how many arrived, p50, p99 and the worst. Like a browser's `EventSource`, it
//! reconnects with `Last-Event-ID` when the server ends the stream (a client that falls
//! behind is ended and resumes), and says how often. It reads for SECONDS, then on until two
//! seconds pass without an event, so a late event is counted late rather than missed. The
//! load benchmark runs it against a second replica while submissions go through the first.
//!
//!     crm-stream-latency HOST:PORT TOKEN SECONDS

use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, token, seconds] = &args[..] else {
        eprintln!("usage: crm-stream-latency HOST:PORT TOKEN SECONDS");
        std::process::exit(2);
    };
    let seconds: u64 = seconds.parse().expect("SECONDS is a number");
    let busy_until = Instant::now() + Duration::from_secs(seconds);
    let quiet = Duration::from_secs(2);
    let mut delays = Vec::new();
    let mut last_id: Option<String> = None;
    let mut resumed = 0;
    'connect: loop {
        let mut s = TcpStream::connect(addr.as_str()).await.expect("connect");
        let resume = last_id
            .as_ref()
            .map(|id| format!("Last-Event-ID: {id}\r\n"))
            .unwrap_or_default();
        // `Connection: close`: the end of the stream is the end of the connection.
        let req = format!(
            "GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nConnection: close\r\n\
             Authorization: Bearer {token}\r\n{resume}\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut lines = BufReader::with_capacity(1 << 16, s).lines();
        loop {
            let wait = busy_until
                .saturating_duration_since(Instant::now())
                .max(quiet);
            let line = match tokio::time::timeout(wait, lines.next_line()).await {
                Err(_) => break 'connect, // quiet: everything has arrived
                Ok(Ok(Some(line))) => line,
                Ok(_) => {
                    resumed += 1;
                    continue 'connect;
                }
            };
            if let Some(id) = line.strip_prefix("id:") {
                last_id = Some(id.trim().to_owned());
            }
            // Events are one `data:` line of JSON with an `"at":"<RFC 3339>"` member.
            let Some(at) = line
                .split_once("\"at\":\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .and_then(|(at, _)| DateTime::parse_from_rfc3339(at).ok())
            else {
                continue;
            };
            let delay = Utc::now() - at.with_timezone(&Utc);
            delays.push(delay.num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
    }
    delays.sort_by(f64::total_cmp);
    let resumed = match resumed {
        0 => String::new(),
        n => format!(", resumed {n} times"),
    };
    if delays.is_empty() {
        println!("0 events{resumed}");
    } else {
        let pick = |q: f64| delays[((q * delays.len() as f64) as usize).min(delays.len() - 1)];
        println!(
            "{} events, p50 {:.1} ms, p99 {:.1} ms, worst {:.1} ms{resumed}",
            delays.len(),
            pick(0.5),
            pick(0.99),
            delays[delays.len() - 1],
        );
    }
}
