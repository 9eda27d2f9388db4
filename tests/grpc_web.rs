//! gRPC-web through tonic and tonic-web, over HTTP/1.1 on loopback: the preflight a browser
//! sends, then calls whose `grpc-status` a browser script must be able to read.
//!
//! The service is tonic-health's, whose generated code ships with it (no `protoc`). Messages
//! are encoded by hand: a `HealthCheckRequest` has one string field, `service` (tag 1).

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tonic_web::GrpcWebLayer;
use tower_cors::CorsLayer;

mod common;
use common::send;

const APP: &str = "https://app.example.com";
const CHECK: &str = "/grpc.health.v1.Health/Check";

async fn serve() -> SocketAddr {
    let (_reporter, health) = tonic_health::server::health_reporter();
    let cors = CorsLayer::builder()
        .allow_origins([APP])
        .grpc_web()
        .build()
        .expect("policy");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let server = Server::builder()
        .accept_http1(true)
        .layer(cors)
        .layer(GrpcWebLayer::new())
        .add_service(health);
    tokio::spawn(server.serve_with_incoming(TcpIncoming::from(listener)));
    addr
}

/// A gRPC-web unary call to Health/Check for `service`, framed: flag 0, big-endian length,
/// then the protobuf message.
fn check_call(service: &str, origin: &str) -> Request<Full<Bytes>> {
    let mut message = Vec::new();
    if !service.is_empty() {
        message.push(0x0a); // field 1, length-delimited
        message.push(u8::try_from(service.len()).expect("short name"));
        message.extend_from_slice(service.as_bytes());
    }
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
    frame.extend_from_slice(&message);
    Request::builder()
        .method(Method::POST)
        .uri(CHECK)
        .header("origin", origin)
        .header("content-type", "application/grpc-web+proto")
        .header("accept", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("x-user-agent", "grpc-web-javascript/0.1")
        .body(Full::new(Bytes::from(frame)))
        .expect("request")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .map(|v| v.to_str().expect("visible ASCII"))
}

/// The response's gRPC-web frames: (flag, payload).
fn frames(mut body: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while body.len() >= 5 {
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        let (frame, rest) = body[5..].split_at(len);
        out.push((body[0], frame));
        body = rest;
    }
    assert!(body.is_empty(), "trailing bytes in a gRPC-web body");
    out
}

/// `grpc-status` as a browser script can read it: from the trailer frame in the body (always
/// readable), or from a response header, which scripts may read only when the CORS answer
/// exposes it. Asserts that it is exposed when it comes as a header.
fn readable_grpc_status(response: &Response<Bytes>) -> String {
    let exposed = header(response.headers(), "access-control-expose-headers").unwrap_or("");
    let exposes = |name: &str| exposed.split(',').any(|n| n.trim() == name);
    if let Some(status) = header(response.headers(), "grpc-status") {
        assert!(
            exposes("grpc-status"),
            "grpc-status hidden from scripts: {exposed:?}"
        );
        assert!(
            exposes("grpc-message"),
            "grpc-message hidden from scripts: {exposed:?}"
        );
        return status.to_owned();
    }
    for (flag, payload) in frames(response.body()) {
        if flag & 0x80 != 0 {
            let trailers = std::str::from_utf8(payload).expect("ASCII trailers");
            for line in trailers.split("\r\n") {
                if let Some((name, value)) = line.split_once(':') {
                    if name.trim().eq_ignore_ascii_case("grpc-status") {
                        return value.trim().to_owned();
                    }
                }
            }
        }
    }
    panic!("no grpc-status in headers or trailers");
}

/// The preflight a browser sends before a gRPC-web or Connect `POST` with these headers.
fn grpc_preflight(origin: &str, request_headers: &[&str]) -> Request<Full<Bytes>> {
    tower_cors::testing::with_path(
        tower_cors::testing::preflight(origin, "POST", request_headers),
        CHECK,
    )
}

#[tokio::test]
async fn preflight_allows_what_grpc_web_clients_send() {
    let addr = serve().await;
    let preflight = grpc_preflight(
        APP,
        &["content-type", "grpc-timeout", "x-grpc-web", "x-user-agent"],
    );
    let res = send(addr, preflight).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let h = res.headers();
    assert_eq!(header(h, "access-control-allow-origin"), Some(APP));
    let methods = header(h, "access-control-allow-methods").expect("ACAM");
    assert!(methods.split(", ").any(|m| m == "POST"), "{methods}");
    let allowed = header(h, "access-control-allow-headers").expect("ACAH");
    for name in ["content-type", "grpc-timeout", "x-grpc-web", "x-user-agent"] {
        assert!(
            allowed.split(", ").any(|n| n == name),
            "{name} in {allowed}"
        );
    }
    assert_eq!(header(h, "access-control-max-age"), Some("7200"));
    assert!(res.body().is_empty());
}

#[tokio::test]
async fn connect_preflight_is_allowed() {
    let addr = serve().await;
    let preflight = grpc_preflight(
        APP,
        &[
            "connect-protocol-version",
            "connect-timeout-ms",
            "content-type",
        ],
    );
    assert_eq!(send(addr, preflight).await.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn preflight_from_unlisted_origin_is_refused() {
    let addr = serve().await;
    let preflight = grpc_preflight("https://evil.example", &["content-type", "x-grpc-web"]);
    let res = send(addr, preflight).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        tower_cors::testing::access_control_headers(res.headers()).count(),
        0
    );
}

#[tokio::test]
async fn call_succeeds_and_status_is_readable() {
    let addr = serve().await;
    let res = send(addr, check_call("", APP)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header(res.headers(), "content-type"),
        Some("application/grpc-web+proto")
    );
    assert_eq!(
        header(res.headers(), "access-control-allow-origin"),
        Some(APP)
    );
    let exposed = header(res.headers(), "access-control-expose-headers").expect("ACEH");
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        assert!(
            exposed.split(", ").any(|n| n == name),
            "{name} in {exposed}"
        );
    }
    // A successful call carries its status in a trailer frame at the end of the body.
    assert_eq!(header(res.headers(), "grpc-status"), None);
    assert_eq!(readable_grpc_status(&res), "0");
    // The reply: HealthCheckResponse { status: SERVING (1) }.
    let data: Vec<_> = frames(res.body())
        .into_iter()
        .filter(|(flag, _)| flag & 0x80 == 0)
        .collect();
    assert_eq!(data, [(0u8, &[0x08u8, 0x01][..])]);
}

#[tokio::test]
async fn error_status_is_readable() {
    let addr = serve().await;
    let res = send(addr, check_call("no.such.Service", APP)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header(res.headers(), "access-control-allow-origin"),
        Some(APP)
    );
    // A failed call comes back trailers-only: no body, the status in response headers, which
    // a script can read only because the CORS answer exposes them.
    assert!(res.body().is_empty());
    assert_eq!(header(res.headers(), "grpc-status"), Some("5"));
    assert_eq!(
        header(res.headers(), "grpc-message"),
        Some("service%20not%20registered")
    );
    // NOT_FOUND: the health service does not know this service.
    assert_eq!(readable_grpc_status(&res), "5");
}

#[tokio::test]
async fn call_from_unlisted_origin_runs_but_is_unreadable() {
    let addr = serve().await;
    let res = send(addr, check_call("", "https://evil.example")).await;
    // CORS is not access control: the call ran; the browser just hides the answer.
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        tower_cors::testing::access_control_headers(res.headers()).count(),
        0
    );
    assert_eq!(header(res.headers(), "vary"), Some("Origin"));
}
