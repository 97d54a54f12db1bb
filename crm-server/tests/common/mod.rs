//! What the end-to-end tests of the real binary share: starting `crm-server` on a free port,
//! a minimal HTTP client, and PostgreSQL settings. Each test binary uses part of it.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

pub const SECRET: &str = "e2e-secret-key-that-is-long-enough-0123456789";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Server {
    pub child: Child,
    pub port: u16,
    http: Http,
    /// Everything the process wrote, read as it comes: a pipe nobody reads fills up and
    /// stops the server at its next log line.
    output: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// Reads `from` into `into` until it ends.
fn collect(
    mut from: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
}

impl Server {
    /// Two replicas with the same settings (one database), started side by side.
    pub fn start_two(env: &[(&str, String)]) -> (Self, Self) {
        std::thread::scope(|sc| {
            let a = sc.spawn(|| Self::start(env));
            let b = sc.spawn(|| Self::start(env));
            (a.join().unwrap(), b.join().unwrap())
        })
    }

    pub fn start(env: &[(&str, String)]) -> Self {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_crm-server"));
        cmd.env_clear()
            .env("PORT", port.to_string())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start crm-server");
        let output = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), output.clone()),
            collect(child.stderr.take().unwrap(), output.clone()),
        ];
        let s = Self {
            child,
            port,
            http: Http(port),
            output,
            readers,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok((200, _)) = s.try_call("GET", "/healthz", None, None) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("crm-server did not become healthy on port {port}");
    }
}

/// Typed calls to a server listening on a port: the real binary ([`Server`] derefs to it)
/// or one served in process.
pub struct Http(pub u16);

impl Http {
    pub fn try_call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> std::io::Result<(u16, Value)> {
        http(self.0, method, path, token, body, &[])
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.try_call(method, path, token, body.as_ref())
            .expect("HTTP call")
    }

    pub fn login(&self, user: &str, password: &str) -> String {
        let (status, body) = self.call(
            "POST",
            "/auth/login",
            None,
            Some(json!({"username": user, "password": password})),
        );
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }
}

impl std::ops::Deref for Server {
    type Target = Http;
    fn deref(&self) -> &Http {
        &self.http
    }
}

impl Server {
    /// SIGTERM, then the exit status and everything the process wrote.
    pub fn terminate(mut self) -> (bool, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                for r in self.readers.drain(..) {
                    let _ = r.join();
                }
                let out = self.output.lock().unwrap().clone();
                return (status.success(), out);
            }
            assert!(Instant::now() < deadline, "crm-server ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer of [`request`].
#[derive(Debug)]
pub struct Answer {
    /// The status code (0 when the response could not be read).
    pub status: u16,
    /// Header names lower-cased, with their values.
    pub headers: Vec<(String, String)>,
    /// The body as JSON, or as a JSON string when it is not JSON.
    pub body: Value,
}

impl Answer {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 client: one request per connection.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, Value)> {
    request(port, method, path, token, body, headers).map(|a| (a.status, a.body))
}

/// [`http`], with the response headers.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> std::io::Result<Answer> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nUser-Agent: e2e-test\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, payload) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let payload = if chunked {
        dechunk(payload)
    } else {
        payload.to_owned()
    };
    let body = serde_json::from_str(&payload).unwrap_or(Value::String(payload));
    Ok(Answer {
        status,
        headers,
        body,
    })
}

pub fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

pub fn pg_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", url.to_owned()),
        ("SECRET_KEY", SECRET.to_owned()),
        // These tests submit many requests from one address on purpose.
        ("SUBMIT_RATE_PER_MINUTE", "0".to_owned()),
    ]
}

/// One Server-Sent Event as a client receives it.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Value,
}

/// What reading a stream gave.
#[derive(Debug)]
pub enum SseRead {
    Event(SseEvent),
    /// Nothing within the wait.
    Quiet,
    /// The server ended the stream.
    Ended,
}

/// A minimal SSE client over one HTTP/1.1 connection (chunked body decoded by hand).
pub struct SseClient {
    reader: std::io::BufReader<TcpStream>,
    pending: String,
    pub status: u16,
}

impl SseClient {
    /// Opens `path` with the bearer `token` (if any) and extra headers.
    pub fn open(port: u16, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Self {
        use std::io::BufRead;
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let mut req =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n");
        if let Some(t) = token {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        let mut reader = std::io::BufReader::new(s);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        Self {
            reader,
            pending: String::new(),
            status,
        }
    }

    /// The next event within `wait`, skipping comments.
    pub fn next(&mut self, wait: Duration) -> SseRead {
        use std::io::BufRead;
        let deadline = Instant::now() + wait;
        loop {
            if let Some(end) = self.pending.find("\n\n") {
                let block: String = self.pending.drain(..end + 2).collect();
                let mut ev = SseEvent {
                    id: None,
                    event: None,
                    data: Value::Null,
                };
                let mut any = false;
                for l in block.lines() {
                    if let Some(v) = l.strip_prefix("id:") {
                        ev.id = Some(v.trim().to_owned());
                        any = true;
                    } else if let Some(v) = l.strip_prefix("event:") {
                        ev.event = Some(v.trim().to_owned());
                        any = true;
                    } else if let Some(v) = l.strip_prefix("data:") {
                        ev.data = serde_json::from_str(v.trim()).unwrap_or(Value::Null);
                        any = true;
                    }
                }
                if any {
                    return SseRead::Event(ev);
                }
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return SseRead::Quiet;
            }
            self.reader
                .get_ref()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            // One chunk: its size line, its bytes, and the CRLF after them.
            let mut size = String::new();
            match self.reader.read_line(&mut size) {
                Ok(0) => return SseRead::Ended,
                Ok(_) => {}
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    return SseRead::Quiet;
                }
                Err(_) => return SseRead::Ended,
            }
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                return SseRead::Ended;
            }
            self.reader.get_ref().set_read_timeout(None).unwrap();
            let mut chunk = vec![0u8; n + 2];
            if self.reader.read_exact(&mut chunk).is_err() {
                return SseRead::Ended;
            }
            self.pending
                .push_str(&String::from_utf8_lossy(&chunk[..n]).replace("\r\n", "\n"));
        }
    }

    /// Every event until `wait` passes with nothing new.
    pub fn drain(&mut self, wait: Duration) -> Vec<SseEvent> {
        let mut out = Vec::new();
        while let SseRead::Event(e) = self.next(wait) {
            out.push(e);
        }
        out
    }
}

/// The test Python (`CRM_TEST_PYTHON`, else the one `scripts/test.sh` prepares), checked to
/// import `module` (aiosmtpd for the mail tests, moto.server for the S3 tests).
pub fn test_python(module: &str) -> std::path::PathBuf {
    let p = std::env::var_os("CRM_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/test-venv/bin/python")
        });
    let ok = Command::new(&p)
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import {module}: run scripts/test.sh, or set CRM_TEST_PYTHON to a Python \
         with it installed",
        p.display()
    );
    p
}
