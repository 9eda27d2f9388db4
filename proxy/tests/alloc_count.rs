//! Heap allocations per proxied request, counted by a global allocator: deterministic enough to
//! assert an upper bound (timings are not, and live in `benches/`).
//!
//! The proxy and a raw keep-alive client share one current-thread runtime on the test's thread,
//! where allocations are counted; the upstream (a hyper hello server) runs on a thread of its
//! own, where they are not. The client's own allocations are measured by sending the same
//! requests straight to the upstream, and subtracted. No log subscriber is installed, so the
//! request line's formatting is not counted (the binary adds it).
//!
//! `cargo test -p tower-cors-proxy --test alloc_count -- --nocapture` prints the counts.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower_cors_proxy::{Proxy, ProxyConfig};

#[path = "../../tests/support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{allocated, Counting, Tally};

#[global_allocator]
static GLOBAL: Counting = Counting;

const WARM_UP: usize = 200;
const MEASURED: usize = 2000;

/// The upstream on a thread of its own: `ok` to everything.
fn upstream() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let _ = tx.send(listener.local_addr().expect("address"));
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let service = service_fn(|_request: hyper::Request<hyper::body::Incoming>| {
                        std::future::ready(Ok::<_, Infallible>(hyper::Response::new(Full::new(
                            Bytes::from_static(b"ok"),
                        ))))
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    rx.recv().expect("the upstream's address")
}

/// Sends `request` `n` times on one keep-alive connection, reading each response whole (they
/// all carry `Content-Length`); returns what this thread allocated meanwhile.
async fn drive(addr: SocketAddr, request: &[u8], n: usize) -> Tally {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut buf = vec![0u8; 16 * 1024];
    let before = allocated();
    for _ in 0..n {
        stream.write_all(request).await.expect("write");
        let mut filled = 0;
        loop {
            let read = stream.read(&mut buf[filled..]).await.expect("read");
            assert!(read > 0, "the connection closed");
            filled += read;
            if let Some(end) = complete(&buf[..filled]) {
                assert_eq!(end, filled, "one response per request");
                break;
            }
        }
        let status = &buf[9..12];
        assert!(
            status == b"200" || status == b"204",
            "{}",
            String::from_utf8_lossy(&buf[..filled])
        );
    }
    allocated() - before
}

/// The length of the complete response at the start of `bytes`, if it is all there.
fn complete(bytes: &[u8]) -> Option<usize> {
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&bytes[..head_end])
        .ok()?
        .to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    (bytes.len() >= head_end + length).then_some(head_end + length)
}

/// Per-request allocations of `request` through the proxy, less the client's own.
async fn per_request(proxy: SocketAddr, upstream: SocketAddr, request: &[u8]) -> (f64, f64) {
    drive(proxy, request, WARM_UP).await;
    drive(upstream, request, WARM_UP).await;
    let through = drive(proxy, request, MEASURED).await;
    let direct = drive(upstream, request, MEASURED).await;
    let count = (through.count as f64 - direct.count as f64) / MEASURED as f64;
    let bytes = (through.bytes as f64 - direct.bytes as f64) / MEASURED as f64;
    (count, bytes)
}

#[test]
fn allocations_per_proxied_get_and_per_preflight_are_bounded() {
    let upstream = upstream();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let config = ProxyConfig::from_toml(&format!(
            r#"
[cors]
allow_origins = ["http://localhost:5173"]
allow_headers = ["content-type"]
allow_loopback_origins = true

[limits]
rate_limit_per_minute = 1000000000

[[routes]]
path = "/"
upstream = "http://{upstream}"
"#
        ))
        .expect("config");
        let proxy = Proxy::new(config).expect("proxy");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(tower_cors_proxy::serve(proxy, listener, std::future::pending()));

        let get = b"GET /small HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://localhost:5173\r\n\r\n";
        let preflight = b"OPTIONS /small HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://localhost:5173\r\n\
            Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n";
        let (get_count, get_bytes) = per_request(addr, upstream, get).await;
        let (preflight_count, preflight_bytes) = per_request(addr, upstream, preflight).await;
        println!("proxied GET: {get_count:.1} allocations, {get_bytes:.0} bytes per request");
        println!(
            "preflight: {preflight_count:.1} allocations, {preflight_bytes:.0} bytes per request"
        );
        assert!(get_count <= GET_BOUND, "{get_count:.1} allocations per proxied GET");
        assert!(
            preflight_count <= PREFLIGHT_BOUND,
            "{preflight_count:.1} allocations per preflight"
        );
    });
}

/// The bounds asserted: what was measured when they were set (26.9 and 8.0), plus a little for
/// hyper's occasional buffer growth. Lower them when the proxy gets cheaper.
const GET_BOUND: f64 = 29.0;
const PREFLIGHT_BOUND: f64 = 9.0;
