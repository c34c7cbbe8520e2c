//! Login floods against a real `pairwise serve` process: huge usernames cost neither latency nor
//! memory, and spraying usernames from one address is limited.

use super::Harness;
use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use pairwise_store::testing::TestDb;
use serde_json::json;
use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

struct Server {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_server() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("flood.db").display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_pairwise"))
        .args([
            "--database-url",
            &url,
            "serve",
            "--addr",
            &addr,
            "--workers",
            "0",
        ])
        .env("PAIRWISE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pairwise serve");
    let server = Server {
        child,
        addr,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while get_health(&server.addr).await.is_none() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

/// One request on a fresh connection; the status code (None if the connection failed).
async fn request(addr: &str, head: &str, body: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream.write_all(head.as_bytes()).await.ok()?;
    // The server may answer (413) and close before the body is sent: that is its right.
    let _ = stream.write_all(body).await;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 1 << 20 {
            break;
        }
    }
    let line = String::from_utf8_lossy(&buf);
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn get_health(addr: &str) -> Option<u16> {
    let head = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    request(addr, &head, b"").await
}

async fn login(addr: &str, body: &[u8]) -> Option<u16> {
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    request(addr, &head, body).await
}

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

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_logins_with_huge_usernames_leave_health_fast_and_memory_flat() {
    let server = start_server().await;
    let addr = server.addr.clone();
    let pid = server.child.id();
    // Warm up (first page loads, the dummy hash) before taking the baseline.
    for _ in 0..5 {
        assert_eq!(get_health(&addr).await, Some(200));
    }
    login(&addr, br#"{"username":"nobody","password":"x"}"#).await;
    let before = rss_kib(pid);

    let username = "u".repeat(1_900_000);
    let body = json!({"username": username, "password": "x"}).to_string();
    let body = std::sync::Arc::new(body.into_bytes());
    let flood_start = Instant::now();
    let mut flood = Vec::new();
    for _ in 0..4 {
        let (addr, body) = (addr.clone(), body.clone());
        flood.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..50 {
                statuses.push(login(&addr, &body).await);
            }
            statuses
        }));
    }
    let mut latencies = Vec::new();
    while flood.iter().any(|f| !f.is_finished()) || latencies.len() < 20 {
        let t = Instant::now();
        assert_eq!(
            get_health(&addr).await,
            Some(200),
            "health during the flood"
        );
        latencies.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut statuses = Vec::new();
    for f in flood {
        statuses.extend(f.await.expect("flood task"));
    }
    let flood_time = flood_start.elapsed();
    assert_eq!(statuses.len(), 200);
    assert!(
        statuses.iter().all(|s| matches!(s, Some(413) | None)),
        "huge logins are refused before they are read: {statuses:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid);
    let p50 = median(latencies.clone());
    eprintln!(
        "login flood: 200 × 1.9 MB in {flood_time:?}; /health p50 {p50:?} over {} probes; RSS {} → {} KiB",
        latencies.len(),
        before,
        after
    );
    assert!(p50 < Duration::from_millis(20), "/health p50 {p50:?}");
    assert!(
        after.saturating_sub(before) < 50 * 1024,
        "memory grew from {before} KiB to {after} KiB"
    );
    // The server still signs people in.
    assert_eq!(
        login(&addr, br#"{"username":"nobody","password":"x"}"#).await,
        Some(401)
    );
}

#[tokio::test]
async fn one_address_spraying_usernames_is_limited_and_long_names_are_no_keys() {
    let t = TestDb::sqlite().await;
    let h = Harness::new(t).await;
    let mut limited_at = None;
    for i in 0..40 {
        let body = json!({"username": format!("spray{i}"), "password": "guess"});
        let req = Request::post("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        let (status, _, _) = h.json(req).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited_at = Some(i);
            break;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    assert_eq!(
        limited_at,
        Some(30),
        "30 attempts a minute per address, whatever the names"
    );
    h.t.finish().await;
}
