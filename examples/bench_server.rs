//! The axum hello-world app that `benches/wrk.sh` loads: bare, behind tower-cors, or behind
//! tower-http 0.7.1's `CorsLayer`, with the same policy for both layers.
//!
//! ```text
//! cargo run --release --example bench_server -- tower-cors 127.0.0.1:3917
//! ```
//!
//! The first argument is `bare`, `tower-cors` or `tower-http`; the second the address, which
//! must be a loopback one (this is a load-test target, not a server). `WORKERS` sets the number
//! of runtime threads (default 1, so that on a small machine wrk keeps a core of its own).

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use axum::routing::get;
use axum::Router;

/// The policy both layers get: three exact origins; `GET`, `POST`, `PUT`; three request
/// headers; credentials; a max-age of an hour; one exposed header.
const ORIGINS: [&str; 3] = [
    "https://app0.example.com",
    "https://app1.example.com",
    "https://app2.example.com",
];
const METHODS: [Method; 3] = [Method::GET, Method::POST, Method::PUT];
const HEADERS: [&str; 3] = ["content-type", "authorization", "x-request-id"];
const EXPOSED: &str = "x-request-id";
const MAX_AGE: Duration = Duration::from_secs(3600);

fn app(mode: &str) -> Result<Router, Box<dyn std::error::Error>> {
    let app = Router::new().route("/", get(|| async { "Hello, World!" }));
    Ok(match mode {
        "bare" => app,
        "tower-cors" => app.layer(
            tower_cors::CorsLayer::builder()
                .allow_origins(ORIGINS)
                .allow_methods(METHODS)
                .allow_headers(HEADERS)
                .expose_headers([EXPOSED])
                .allow_credentials(true)
                .max_age(MAX_AGE)
                .build()?,
        ),
        "tower-http" => app.layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(ORIGINS.map(HeaderValue::from_static))
                .allow_methods(METHODS)
                .allow_headers(HEADERS.map(HeaderName::from_static))
                .expose_headers([HeaderName::from_static(EXPOSED)])
                .allow_credentials(true)
                .max_age(MAX_AGE),
        ),
        other => {
            return Err(format!("unknown mode {other:?}: bare, tower-cors or tower-http").into())
        }
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "tower-cors".to_owned());
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:3917".to_owned())
        .parse()?;
    if !addr.ip().is_loopback() {
        return Err(format!("{addr} is not a loopback address").into());
    }
    let workers = match std::env::var("WORKERS") {
        Ok(n) => n.parse()?,
        Err(_) => 1,
    };
    let app = app(&mode)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            eprintln!("bench_server: {mode} on http://{addr} ({workers} worker thread(s))");
            axum::serve(listener, app).await?;
            Ok(())
        })
}
