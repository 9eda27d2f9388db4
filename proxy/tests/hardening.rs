//! The proxy tried as an attacker would, with raw bytes on loopback sockets: methods that echo
//! or tunnel, framing the upstream gets wrong, protocol switches and versions nobody asked for,
//! bodies framed badly, connections that never speak or never read, the connection limit and
//! the admin listener, the origin guard and the browser's own headers.
//!
//! The upstream here is a stand-in that answers each path with fixed bytes (hyper, as an
//! upstream, cannot send a conflicting `Content-Length`) and records every request it receives.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long any one wait in these tests may take before it counts as "never".
const NEVER: Duration = Duration::from_secs(10);

/// Every request head the raw upstream received.
#[derive(Clone, Default)]
struct Heads(Arc<Mutex<Vec<String>>>);

impl Heads {
    fn all(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// What the raw upstream answers on a path (after the route prefix is removed).
fn script(path: &str) -> &'static [u8] {
    match path {
        "/te-and-cl" => {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        }
        "/te-and-long-cl" => {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 500\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        }
        "/short-cl" => b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
        "/cut-chunked" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        "/switch" => {
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"
        }
        "/http10" => b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        _ => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    }
}

/// Starts the raw upstream: one request per connection, answered from [`script`], then closed.
async fn raw_upstream() -> (SocketAddr, Heads) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let heads = Heads::default();
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let Some(head) = read_head(&mut stream).await else {
                    return;
                };
                let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                if let Ok(mut all) = seen.0.lock() {
                    all.push(head);
                }
                let _ = stream.write_all(script(&path)).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, heads)
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Writes `request` raw and reads until the proxy closes the connection (or [`NEVER`]).
async fn raw(proxy: SocketAddr, request: &[u8]) -> (String, bool) {
    let mut stream = TcpStream::connect(proxy).await.expect("connect");
    stream.write_all(request).await.expect("write");
    read_to_close(&mut stream).await
}

/// Everything the peer sends until it closes; `false` when it was still open after [`NEVER`].
async fn read_to_close(stream: &mut TcpStream) -> (String, bool) {
    let mut got = Vec::new();
    let closed = tokio::time::timeout(NEVER, async {
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

fn config(upstream: SocketAddr, limits: &str, route: &str) -> String {
    format!(
        r#"
[cors]
allow_origins = ["{APP}"]
allow_methods = ["GET", "POST", "PUT"]

[limits]
rate_limit_per_minute = 0
{limits}

[[routes]]
path = "/up"
upstream = "http://{upstream}"
{route}
"#
    )
}

fn head_of(response: &str) -> String {
    response
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

#[tokio::test]
async fn trace_track_and_connect_never_reach_the_upstream() {
    let (up, heads) = raw_upstream().await;
    let proxy = start_proxy(
        &config(
            up,
            "",
            r#"set_headers = { authorization = "Bearer ${KEY}" }
set_query = { key = "${KEY}" }"#,
        ),
        &[("KEY", "s3cr3t-key")],
        TableResolver::default(),
    )
    .await;
    let requests: [&[u8]; 6] = [
        b"TRACE /up/echo HTTP/1.1\r\nHost: p\r\n\r\n",
        b"TRACK /up/echo HTTP/1.1\r\nHost: p\r\nOrigin: http://localhost:5173\r\n\r\n",
        b"trace /up/echo HTTP/1.1\r\nHost: p\r\n\r\n",
        b"CONNECT 127.0.0.2:80 HTTP/1.1\r\nHost: 127.0.0.2:80\r\n\r\n",
        b"CONNECT /up/echo HTTP/1.1\r\nHost: p\r\n\r\n",
        b"TRACE /nowhere HTTP/1.1\r\nHost: p\r\n\r\n",
    ];
    for request in requests {
        let mut stream = TcpStream::connect(proxy.addr).await.expect("connect");
        stream.write_all(request).await.expect("write");
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(NEVER, stream.read(&mut buf))
            .await
            .expect("an answer")
            .expect("read");
        let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
        let shown = String::from_utf8_lossy(request);
        assert!(answer.starts_with("HTTP/1.1 405 "), "{shown}: {answer}");
        assert!(!answer.contains("s3cr3t-key"), "{shown}: {answer}");
    }
    // The routed TRACK carries the route's CORS headers; the TRACE that matched no route, none.
    let (answer, _) = raw(
        proxy.addr,
        b"TRACK /up/echo HTTP/1.1\r\nHost: p\r\nOrigin: http://localhost:5173\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        head_of(&answer).contains("access-control-allow-origin: http://localhost:5173"),
        "{answer}"
    );
    assert!(heads.all().is_empty(), "{:?}", heads.all());
}

#[tokio::test]
async fn unlisted_methods_are_405_with_allow_inside_the_cors_layer() {
    let (up, heads) = raw_upstream().await;
    let proxy = start_proxy(
        &config(up, "", r#"forward_methods = ["GET", "POST", "PUT"]"#),
        &[],
        TableResolver::default(),
    )
    .await;
    for method in ["PROPFIND", "DELETE", "OPTIONS"] {
        let got = send(method, &proxy.url("/up/x"), &[("origin", APP)], "").await;
        assert_eq!(got.status, 405, "{method}");
        assert_eq!(got.header("allow"), Some("GET, POST, PUT"), "{method}");
        assert_eq!(got.header("access-control-allow-origin"), Some(APP));
    }
    assert!(heads.all().is_empty());
    // A preflight is still the layer's, never forwarded.
    let got = send(
        "OPTIONS",
        &proxy.url("/up/x"),
        &[("origin", APP), ("access-control-request-method", "PUT")],
        "",
    )
    .await;
    assert_eq!(got.status, 204);
    let got = send("PUT", &proxy.url("/up/x"), &[("origin", APP)], "").await;
    assert_eq!(got.status, 200);
    assert_eq!(heads.all().len(), 1);
}

#[tokio::test]
async fn configuration_refuses_methods_that_cannot_be_forwarded() {
    let problems = |route: &str, methods: &str| {
        let toml = format!(
            r#"
[cors]
allow_origins = ["{APP}"]
allow_methods = {methods}

[[routes]]
path = "/up"
upstream = "http://127.0.0.1:9"
{route}
"#
        );
        build_proxy(&toml, &[], TableResolver::default())
            .expect_err("invalid")
            .problems()
            .to_vec()
    };
    let found = problems(r#"forward_methods = ["GET", "TRACE"]"#, r#"["GET"]"#);
    assert!(found.iter().any(|p| p.contains("\"TRACE\"")), "{found:?}");
    let found = problems(
        r#"forward_methods = ["GET", "POST"]"#,
        r#"["GET", "DELETE"]"#,
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("\"DELETE\"") && p.contains("[\"GET\", \"POST\"]")),
        "{found:?}"
    );
    let found = problems("", r#"["*"]"#);
    assert!(found.iter().any(|p| p.contains("\"*\"")), "{found:?}");
    let found = problems(r#"forward_browser_headers = ["cookie"]"#, "[]");
    assert!(found.iter().any(|p| p.contains("\"cookie\"")), "{found:?}");
}

#[tokio::test]
async fn upstream_framing_is_never_passed_on_ambiguously() {
    let (up, _) = raw_upstream().await;
    let proxy = start_proxy(&config(up, "", ""), &[], TableResolver::default()).await;
    for path in ["/up/te-and-cl", "/up/te-and-long-cl"] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n");
        let (answer, closed) = raw(proxy.addr, request.as_bytes()).await;
        assert!(closed);
        let head = head_of(&answer);
        assert!(head.starts_with("http/1.1 200"), "{answer}");
        assert!(!head.contains("content-length"), "{answer}");
        assert!(head.contains("transfer-encoding: chunked"), "{answer}");
        assert!(answer.ends_with("5\r\nhello\r\n0\r\n\r\n"), "{answer}");
    }
    // Shorter than its Content-Length: the client sees the length and a connection closed
    // before it, never a complete-looking message.
    let (answer, closed) = raw(proxy.addr, b"GET /up/short-cl HTTP/1.1\r\nHost: p\r\n\r\n").await;
    assert!(closed, "the connection must not stay open: {answer}");
    assert!(head_of(&answer).contains("content-length: 10"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    assert!(body.len() < 10, "{answer}");
    // A chunked body cut off: no last chunk, and the connection ends.
    let (answer, closed) = raw(
        proxy.addr,
        b"GET /up/cut-chunked HTTP/1.1\r\nHost: p\r\n\r\n",
    )
    .await;
    assert!(closed, "{answer}");
    assert!(answer.contains("5\r\nhello\r\n"), "{answer}");
    assert!(!answer.ends_with("0\r\n\r\n"), "{answer}");
}

#[tokio::test]
async fn unasked_switches_and_old_versions_are_the_proxys_to_answer() {
    let (up, _) = raw_upstream().await;
    let proxy = start_proxy(&config(up, "", ""), &[], TableResolver::default()).await;
    let (answer, _) = raw(
        proxy.addr,
        b"GET /up/switch HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 502 "), "{answer}");
    assert!(!head_of(&answer).contains("upgrade"), "{answer}");
    // Even when the client asked for the upgrade: no route allows one.
    let (answer, _) = raw(
        proxy.addr,
        b"GET /up/switch HTTP/1.1\r\nHost: p\r\nConnection: upgrade, close\r\nUpgrade: websocket\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 502 "), "{answer}");
    let (answer, _) = raw(
        proxy.addr,
        b"GET /up/http10 HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
}

/// The proxy's request log lines, captured for the tests that read them.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LINES: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LINES.get_or_init(|| {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let writer = lines.clone();
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || Capture(writer.clone()))
            .try_init();
        lines
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut lines) = self.0.lock() {
            lines.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Waits until a captured log line contains every one of `parts`.
async fn log_line(parts: &[&str]) -> String {
    let found = tokio::time::timeout(NEVER, async {
        loop {
            let text = captured()
                .lock()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            if let Some(line) = text
                .lines()
                .find(|line| parts.iter().all(|p| line.contains(p)))
            {
                return line.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no log line with {parts:?}"))
}

#[tokio::test]
async fn a_badly_framed_request_body_is_the_clients_fault() {
    captured();
    let (up, _) = upstream().await;
    let proxy = start_proxy(&config(up, "", ""), &[], TableResolver::default()).await;
    let extension = format!("5;{}", "x".repeat(100_000));
    let bad_chunks = ["g5", " 5", "0x5", "99999999999999999999", "5\n", &extension];
    for chunk in bad_chunks {
        let request = format!(
            "POST /up/upload HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}\r\nhello\r\n0\r\n\r\n"
        );
        let (answer, closed) = raw(proxy.addr, request.as_bytes()).await;
        let chunk = &chunk[..chunk.len().min(12)];
        assert!(closed, "{chunk:?}");
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 400 "),
            "{chunk:?}: {answer}"
        );
    }
    let line = log_line(&["path=/up/upload ", "status=400"]).await;
    assert!(line.contains("error=\"client\""), "{line}");
}

#[tokio::test]
async fn refusals_are_logged_with_their_reason() {
    captured();
    let (up, heads) = raw_upstream().await;
    let proxy = start_proxy(&config(up, "", ""), &[], TableResolver::default()).await;
    let got = send(
        "OPTIONS",
        &proxy.url("/up/logged-preflight"),
        &[("origin", APP), ("access-control-request-method", "PATCH")],
        "",
    )
    .await;
    assert_eq!(got.status, 403);
    let line = log_line(&["/up/logged-preflight", "status=403"]).await;
    assert!(line.contains("cors=\"refused\""), "{line}");
    assert!(line.contains("method \\\"PATCH\\\" not allowed"), "{line}");
    let got = get(
        &proxy.url("/up/logged-origin"),
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(got.status, 403);
    let line = log_line(&["/up/logged-origin", "status=403"]).await;
    assert!(line.contains("origin not allowed"), "{line}");
    assert!(heads.all().is_empty());
}

#[tokio::test]
async fn the_origin_guard_decides_before_any_upstream_connection() {
    let (up, log) = upstream().await;
    let proxy = start_proxy(
        &format!(
            "public_origins = [\"https://proxy.example.com\"]\n{}",
            config(up, "", "")
        ),
        &[],
        TableResolver::default(),
    )
    .await;
    let host = proxy.addr.to_string();
    let own = format!("http://{host}");
    // (headers, forwarded?)
    let cases: Vec<(Vec<(&str, &str)>, bool)> = vec![
        (vec![("origin", APP)], true),
        (vec![("origin", "https://evil.example")], false),
        (vec![("origin", "null")], false),
        (vec![("origin", &own)], true),
        (vec![("origin", "https://proxy.example.com")], true),
        (vec![("sec-fetch-site", "same-origin")], true),
        (vec![("sec-fetch-site", "cross-site")], false),
        (vec![("sec-fetch-site", "same-site")], false),
        (vec![("sec-fetch-site", "none")], false),
        (vec![("sec-fetch-site", "bogus")], false),
        (
            vec![
                ("sec-fetch-site", "same-origin"),
                ("sec-fetch-site", "cross-site"),
            ],
            false,
        ),
        (vec![], true),
    ];
    for (headers, forwarded) in cases {
        let before = log.all().len();
        let got = get(&proxy.url("/up/echo/guard"), &headers).await;
        let reached = log.all().len() > before;
        assert_eq!(reached, forwarded, "{headers:?}: {got:?}");
        assert_eq!(got.status == 200, forwarded, "{headers:?}: {got:?}");
    }
}

#[tokio::test]
async fn require_origin_and_allow_navigation_per_route() {
    let (up, log) = upstream().await;
    let proxy = start_proxy(
        &config(up, "", "require_origin = true\nallow_navigation = true"),
        &[],
        TableResolver::default(),
    )
    .await;
    assert_eq!(get(&proxy.url("/up/echo/x"), &[]).await.status, 403);
    assert_eq!(
        get(&proxy.url("/up/echo/x"), &[("sec-fetch-site", "none")])
            .await
            .status,
        200
    );
    assert_eq!(log.all().len(), 1);
}

#[tokio::test]
async fn the_browsers_own_headers_stay_with_the_proxy() {
    let (up, log) = upstream().await;
    let browser = [
        ("origin", APP),
        ("referer", "http://localhost:5173/private/page?token=1"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-mode", "cors"),
        ("sec-ch-ua", "\"Chromium\""),
        ("x-custom", "kept"),
    ];
    // (route setting, forwarded, withheld)
    let cases: [(&str, &[&str], &[&str]); 2] = [
        (
            r#"allow_request_headers = ["origin", "referer", "x-custom"]"#,
            &["x-custom"],
            &[
                "origin",
                "referer",
                "sec-fetch-site",
                "sec-fetch-mode",
                "sec-ch-ua",
            ],
        ),
        (
            r#"forward_browser_headers = ["origin", "Referer", "sec-fetch"]"#,
            &[
                "origin",
                "referer",
                "sec-fetch-site",
                "sec-fetch-mode",
                "x-custom",
            ],
            &["sec-ch-ua"],
        ),
    ];
    for (route, forwarded, withheld) in cases {
        let proxy = start_proxy(&config(up, "", route), &[], TableResolver::default()).await;
        assert_eq!(get(&proxy.url("/up/echo/h"), &browser).await.status, 200);
        let seen = log.last().headers;
        for name in forwarded {
            assert!(
                seen.contains_key(*name),
                "{route}: {name} not forwarded: {seen:?}"
            );
        }
        for name in withheld {
            assert!(
                !seen.contains_key(*name),
                "{route}: {name} forwarded: {seen:?}"
            );
        }
    }
}

const QUICK: &str = r#"request_head_timeout = "300ms"
h2_idle_timeout = "300ms"
body_idle_timeout = "300ms""#;

#[tokio::test]
async fn connections_that_never_finish_a_request_head_are_closed() {
    let (up, _) = raw_upstream().await;
    let proxy = start_proxy(&config(up, QUICK, ""), &[], TableResolver::default()).await;
    let openings: [&[u8]; 5] = [
        b"",
        b"GET /up/x HTTP/1.1\r\nHost:",
        b"PRI * HT",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        // A complete request, then an idle keep-alive connection.
        b"GET /up/x HTTP/1.1\r\nHost: p\r\n\r\n",
    ];
    for opening in openings {
        let (answer, closed) = raw(proxy.addr, opening).await;
        assert!(
            closed,
            "{:?} still open: {answer}",
            String::from_utf8_lossy(opening)
        );
    }
}

/// An HTTP/2 connection with prior knowledge to `addr`: its sender and its driver.
async fn h2c(
    addr: SocketAddr,
) -> (
    hyper::client::conn::http2::SendRequest<http_body_util::Empty<bytes::Bytes>>,
    hyper::client::conn::http2::Connection<
        hyper_util::rt::TokioIo<TcpStream>,
        http_body_util::Empty<bytes::Bytes>,
        hyper_util::rt::TokioExecutor,
    >,
) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("h2c handshake")
}

#[tokio::test]
async fn idle_http2_connections_are_closed() {
    let (up, _) = raw_upstream().await;
    let proxy = start_proxy(&config(up, QUICK, ""), &[], TableResolver::default()).await;
    let (mut sender, connection) = h2c(proxy.addr).await;
    let driver = tokio::spawn(connection);
    let request = http::Request::get(format!("http://{}/up/x", proxy.addr))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("an answer");
    assert_eq!(response.version(), http::Version::HTTP_2);
    drop(response);
    tokio::time::timeout(NEVER, driver)
        .await
        .expect("the idle h2 connection is closed by the proxy")
        .expect("driver task")
        .ok();
}

#[tokio::test]
async fn a_stalled_download_or_upload_gives_its_slot_back() {
    let (up, _) = upstream().await;
    let proxy = start_proxy(
        &config(up, &format!("{QUICK}\nmax_concurrent_requests = 1"), ""),
        &[],
        TableResolver::default(),
    )
    .await;
    // 64 MiB that this client never reads: the proxy's buffers fill, and the body stalls.
    let mut reader = TcpStream::connect(proxy.addr).await.expect("connect");
    reader
        .write_all(b"GET /up/bytes/67108864 HTTP/1.1\r\nHost: p\r\n\r\n")
        .await
        .expect("write");
    let mut first = [0u8; 64];
    let n = reader.read(&mut first).await.expect("the head arrives");
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    wait_for_slot(&proxy).await;
    // An upload that stops after ten bytes of a thousand.
    let mut uploader = TcpStream::connect(proxy.addr).await.expect("connect");
    uploader
        .write_all(b"POST /up/upload HTTP/1.1\r\nHost: p\r\nContent-Length: 1000\r\n\r\n0123456789")
        .await
        .expect("write");
    let (answer, closed) = read_to_close(&mut uploader).await;
    assert!(closed, "{answer}");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408 "),
        "{answer}"
    );
    wait_for_slot(&proxy).await;
    drop(reader);
}

/// Polls until a request is no longer refused for lack of a concurrency slot.
async fn wait_for_slot(proxy: &Running) {
    tokio::time::timeout(NEVER, async {
        loop {
            if get(&proxy.url("/up/echo/slot"), &[]).await.status == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the stalled request's slot is given back");
}

#[tokio::test]
async fn past_max_connections_new_ones_get_503_and_the_admin_listener_still_answers() {
    let (up, _) = raw_upstream().await;
    let toml = config(up, "max_connections = 2", "");
    let proxy = build_proxy(&toml, &[], TableResolver::default()).expect("valid");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (addr, admin_addr) = (
        listener.local_addr().expect("address"),
        admin.local_addr().expect("address"),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tower_cors_proxy::serve_with_admin(
        proxy,
        listener,
        Some(admin),
        async {
            let _ = stopped.await;
        },
    ));
    let _held: Vec<TcpStream> = vec![
        TcpStream::connect(addr).await.expect("connect"),
        TcpStream::connect(addr).await.expect("connect"),
    ];
    // Let the server take both before the third arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (answer, closed) = raw(addr, b"GET /_cors/healthz HTTP/1.1\r\nHost: p\r\n\r\n").await;
    assert!(closed);
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert!(head_of(&answer).contains("connection: close"), "{answer}");
    let got = get(&format!("http://{admin_addr}/_cors/healthz"), &[]).await;
    assert_eq!((got.status, got.text().as_str()), (200, "ok\n"));
    assert_eq!(
        get(&format!("http://{admin_addr}/up/x"), &[]).await.status,
        404
    );
    let _ = stop.send(());
    drop(_held);
    tokio::time::timeout(NEVER, server)
        .await
        .expect("the server stops")
        .expect("task")
        .expect("serve");
}

#[tokio::test]
async fn over_http2_a_body_cut_short_resets_the_stream() {
    use http_body_util::BodyExt;
    let (up, _) = raw_upstream().await;
    let proxy = start_proxy(&config(up, "", ""), &[], TableResolver::default()).await;
    let (mut sender, connection) = h2c(proxy.addr).await;
    tokio::spawn(connection);
    for (path, complete) in [
        ("/up/short-cl", false),
        ("/up/cut-chunked", false),
        ("/up/x", true),
    ] {
        let request = http::Request::get(format!("http://{}{path}", proxy.addr))
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("an answer");
        assert_eq!(response.version(), http::Version::HTTP_2);
        let body = tokio::time::timeout(NEVER, response.into_body().collect())
            .await
            .expect("the stream ends");
        assert_eq!(body.is_ok(), complete, "{path}: {body:?}");
    }
}
