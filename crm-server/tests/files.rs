//! Attachments through the real binary and real object stores: S3 (moto's server, run with
//! the Python that `scripts/test.sh` prepares, named by `CRM_TEST_PYTHON`) shared by two
//! server processes on one PostgreSQL database, and a directory. A photo's GPS position
//! never reaches a download, HTML dressed as a JPEG is refused, a cut upload leaves no row
//! and no object, and an oversize chunked upload is refused while it streams without the
//! server's memory growing by its size.
//!
//! Reads `TEST_DATABASE_URL` (see `crm_tests::pg`); each test creates and drops its database.

mod common;

use common::*;
use crm_tests::pg::create_database;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::{
    io::{Read, Write},
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// moto's S3-compatible server on a free port, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start() -> Self {
        let port = free_port();
        let child = Command::new(test_python("moto.server"))
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, port }
    }

    /// A raw, unsigned request (moto accepts them): status and body.
    fn raw(&self, method: &str, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let status = out
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, out)
    }

    /// How many objects the bucket holds.
    fn objects(&self, bucket: &str) -> usize {
        let (st, body) = self.raw("GET", &format!("/{bucket}?list-type=2"));
        assert_eq!(st, 200, "{body}");
        body.matches("<Key>").count()
    }

    /// How many multipart uploads are open (begun, neither completed nor aborted).
    fn open_uploads(&self, bucket: &str) -> usize {
        let (st, body) = self.raw("GET", &format!("/{bucket}?uploads"));
        assert_eq!(st, 200, "{body}");
        body.matches("<UploadId>").count()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A multipart form with one file part (and a visibility part).
fn form(name: &str, bytes: &[u8], visibility: Option<&str>) -> (String, Vec<u8>) {
    let boundary = "----crm-test-boundary-7d1f";
    let mut body = Vec::new();
    if let Some(v) = visibility {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"visibility\"\r\n\r\n{v}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Sends a request with a body and reads the whole answer: status, headers, body bytes.
fn send(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head, raw[split + 4..].to_vec())
}

fn upload(
    port: u16,
    path: &str,
    token: Option<&str>,
    name: &str,
    bytes: &[u8],
    vis: Option<&str>,
) -> (u16, Value) {
    let (ct, body) = form(name, bytes, vis);
    let (st, _, out) = send(port, "POST", path, token, Some(&ct), &body);
    (st, serde_json::from_slice(&out).unwrap_or(Value::Null))
}

/// A JPEG whose EXIF says where it was taken and with which camera.
fn jpeg_with_gps() -> Vec<u8> {
    let seg = |marker: u8, payload: &[u8]| {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(payload);
        s
    };
    let mut exif =
        b"Exif\0\0II\x2A\0\x08\0\0\0\x01\0\x25\x88\x04\0\x01\0\0\0\x1a\0\0\0\0\0\0\0".to_vec();
    exif.extend_from_slice(b"GPSLatitude 52.5200N GPSLongitude 13.4050E BodySerialNumber 0042");
    let mut f = vec![0xFF, 0xD8];
    f.extend(seg(0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0"));
    f.extend(seg(0xE1, &exif));
    f.extend(seg(0xDB, &[0u8; 65]));
    f.extend_from_slice(&[0xFF, 0xDA, 0, 2]);
    f.extend_from_slice(b"scan data");
    f.extend_from_slice(&[0xFF, 0xD9]);
    f
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn submit(s: &Server) -> (i64, String) {
    let (st, t) = s.call(
        "POST",
        "/public/tickets",
        None,
        Some(json!({"title": "Photos", "description": "See the photos",
                    "client": {"name": "Ann", "email": format!("ann{}@example.com", free_port())}})),
    );
    assert_eq!(st, 201, "{t}");
    (
        t["id"].as_i64().unwrap(),
        t["tracking_code"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_is_shared_by_two_replicas_and_keeps_no_gps_and_no_cut_upload() {
    let (url, _db) = create_database("crm_files_s3").await;
    tokio::task::spawn_blocking(move || {
        let moto = Moto::start();
        assert_eq!(moto.raw("PUT", "/shop-files").0, 200);
        let mut env = pg_env(&url);
        for (k, v) in [
            ("ATTACHMENT_STORE", "s3://shop-files/crm".to_owned()),
            ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", moto.port)),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
        ] {
            env.push((k, v));
        }
        let (a, b) = Server::start_two(&env);
        let admin = a.login("admin", "admin123");
        let (id, code) = submit(&a);

        // Larger than one S3 part: a multipart upload through A, read back through B.
        let mut big = b"%PDF-1.7\n".to_vec();
        big.extend((0..7 * 1024 * 1024).map(|i| (i % 251) as u8));
        let (st, pdf) = upload(a.port, &format!("/tickets/{id}/attachments"), Some(&admin), "manual.pdf", &big, Some("customer"));
        assert_eq!(st, 201, "{pdf}");
        assert_eq!(pdf["sha256"], sha256_hex(&big));
        let aid = pdf["id"].as_i64().unwrap();
        let (st, head, got) = send(b.port, "GET", &format!("/public/tickets/{code}/attachments/{aid}"), None, None, b"");
        assert_eq!(st, 200);
        assert_eq!(got.len(), big.len());
        assert_eq!(sha256_hex(&got), sha256_hex(&big));
        let head = head.to_lowercase();
        assert!(head.contains("content-type: application/pdf"), "{head}");
        assert!(head.contains("content-disposition: attachment; filename=\"manual.pdf\""), "{head}");
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
        assert!(head.contains("content-security-policy: sandbox"), "{head}");

        // The customer's photo, through B: stored without its GPS position and serial.
        let photo = jpeg_with_gps();
        let (st, p) = upload(b.port, &format!("/public/tickets/{code}/attachments"), None, "IMG_0001.JPG", &photo, None);
        assert_eq!(st, 201, "{p}");
        let pid = p["id"].as_i64().unwrap();
        let (st, head, got) = send(a.port, "GET", &format!("/tickets/{id}/attachments/{pid}"), Some(&admin), None, b"");
        assert_eq!(st, 200);
        assert!(head.to_lowercase().contains("content-disposition: inline"), "{head}");
        for gone in [&b"GPS"[..], b"52.5200", b"Serial"] {
            assert!(!got.windows(gone.len()).any(|w| w == gone), "{gone:?} was served");
        }
        assert!(got.ends_with(b"scan data\xFF\xD9"));
        assert_eq!(p["size"], got.len());

        // HTML dressed as a JPEG: refused, nothing stored.
        let before = moto.objects("shop-files");
        let (st, e) = upload(a.port, &format!("/tickets/{id}/attachments"), Some(&admin), "cat.jpg",
            b"<html><script>document.cookie</script></html>", Some("internal"));
        assert_eq!((st, e["code"].as_str()), (415, Some("unsupported_media_type")), "{e}");
        assert_eq!(moto.objects("shop-files"), before);

        // A cut upload: the client goes away in the middle of a multipart upload.
        let (ct, body) = form("cut.pdf", &big, Some("internal"));
        let mut s = TcpStream::connect(("127.0.0.1", a.port)).unwrap();
        write!(
            s,
            "POST /tickets/{id}/attachments HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {admin}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        s.write_all(&body[..6 * 1024 * 1024]).unwrap();
        std::thread::sleep(Duration::from_millis(500));
        drop(s);
        let deadline = Instant::now() + Duration::from_secs(20);
        while moto.open_uploads("shop-files") > 0 {
            assert!(Instant::now() < deadline, "the cut upload's multipart upload was never aborted");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(moto.objects("shop-files"), before, "a cut upload leaves no object");
        let (_, list) = b.call("GET", &format!("/tickets/{id}/attachments"), Some(&admin), None);
        assert_eq!(list["total"], 2, "{list}");
    })
    .await
    .unwrap();
}

/// The server's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_store_refuses_an_oversize_chunked_upload_as_it_streams() {
    let (url, _db) = create_database("crm_files_dir").await;
    tokio::task::spawn_blocking(move || {
        let dir = std::env::temp_dir().join(format!("crm-files-{}", free_port()));
        let mut env = pg_env(&url);
        env.push(("ATTACHMENT_STORE", format!("file://{}", dir.display())));
        let s = Server::start(&env);
        let admin = s.login("admin", "admin123");
        let (id, _) = submit(&s);
        let png = base64_png();
        let (st, p) = upload(s.port, &format!("/tickets/{id}/attachments"), Some(&admin), "p.png", &png, Some("internal"));
        assert_eq!(st, 201, "{p}");
        assert_eq!(p["has_thumbnail"], true);
        let files = |d: &PathBuf| walk(d).len();
        assert_eq!(files(&dir), 2, "the photo and its thumbnail");

        // 200 MiB sent chunked (no length announced): refused once 10 MiB have passed.
        let before = rss_kib(s.child.id());
        let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let boundary = "xyz";
        write!(
            c,
            "POST /tickets/{id}/attachments HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {admin}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .unwrap();
        let chunk = |c: &mut TcpStream, data: &[u8]| -> std::io::Result<()> {
            write!(c, "{:x}\r\n", data.len())?;
            c.write_all(data)?;
            c.write_all(b"\r\n")
        };
        let head = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"visibility\"\r\n\r\ninternal\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.txt\"\r\n\r\n");
        chunk(&mut c, head.as_bytes()).unwrap();
        let block = vec![b'a'; 256 * 1024];
        let mut sent = 0usize;
        while sent < 200 << 20 {
            if chunk(&mut c, &block).is_err() {
                break;
            }
            sent += block.len();
        }
        let mut answer = Vec::new();
        let _ = c.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("payload_too_large"), "{answer}");
        let grown = rss_kib(s.child.id()).saturating_sub(before);
        assert!(grown < 64 * 1024, "the server grew by {grown} KiB for a refused upload");
        assert_eq!(files(&dir), 2, "the refused upload left nothing");
        let (_, list) = s.call("GET", &format!("/tickets/{id}/attachments"), Some(&admin), None);
        assert_eq!(list["total"], 1);
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await
    .unwrap();
}

fn base64_png() -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(crm_tests::conformance::PNG)
        .unwrap()
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
