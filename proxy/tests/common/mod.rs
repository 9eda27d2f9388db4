//! Loopback fixtures: an upstream axum app that sends no CORS headers and records what it was
//! sent, the proxy served on 127.0.0.1, and a plain hyper client.
#![allow(dead_code)] // Each test binary uses its own part of the fixtures.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower_cors_proxy::guard::{BoxFuture, Resolve};
use tower_cors_proxy::{Proxy, ProxyConfig};

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: HeaderMap,
}

/// Every request the upstream received, in order.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }

    pub fn last(&self) -> Seen {
        self.all().pop().expect("the upstream received a request")
    }
}

async fn record(State(log): State<Log>, request: Request, next: Next) -> Response {
    let seen = Seen {
        method: request.method().to_string(),
        uri: request.uri().to_string(),
        headers: request.headers().clone(),
    };
    if let Ok(mut all) = log.0.lock() {
        all.push(seen);
    }
    next.run(request).await
}

/// A 64 KiB chunk, repeated: streamed bodies never exist whole.
fn chunk() -> Bytes {
    Bytes::from(vec![b'x'; 64 * 1024])
}

/// The upstream app: no CORS headers anywhere (except `/acao`, which sends its own).
pub fn upstream_app(log: Log) -> Router {
    Router::new()
        .route("/echo/{*rest}", any(echo))
        .route("/echo", any(echo))
        .route("/status/{code}", any(status))
        .route("/acao", any(acao))
        .route(
            "/redirect/{n}",
            any(|Path(n): Path<u32>| async move {
                if n == 0 {
                    "landed".into_response()
                } else {
                    let mut response = StatusCode::FOUND.into_response();
                    let location = HeaderValue::from_str(&format!("/redirect/{}", n - 1))
                        .expect("a header value");
                    response.headers_mut().insert("location", location);
                    response
                }
            }),
        )
        .route(
            "/redirect-to",
            any(|Query(q): Query<HashMap<String, String>>| async move {
                let mut response = StatusCode::FOUND.into_response();
                let to = q.get("url").cloned().unwrap_or_default();
                response.headers_mut().insert(
                    "location",
                    HeaderValue::from_str(&to).expect("a header value"),
                );
                response
            }),
        )
        .route(
            "/slow",
            any(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "slow"
            }),
        )
        .route(
            "/hang",
            any(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "never"
            }),
        )
        .route("/bytes/{n}", any(bytes))
        .route("/upload", any(upload))
        .route(
            "/html",
            any(|| async {
                (
                    [("content-type", "text/html")],
                    "<script>alert(document.cookie)</script>",
                )
            }),
        )
        .layer(middleware::from_fn_with_state(log.clone(), record))
}

async fn echo(request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let text = format!(
        "{} {} body={}",
        parts.method,
        parts.uri,
        String::from_utf8_lossy(&body)
    );
    text.into_response()
}

async fn status(Path(code): Path<u16>) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    (status, format!("status {code}")).into_response()
}

async fn acao() -> Response {
    let mut response = "own cors".into_response();
    let headers = response.headers_mut();
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-allow-credentials",
        HeaderValue::from_static("true"),
    );
    headers.insert("set-cookie", HeaderValue::from_static("upstream=1; Path=/"));
    headers.insert("connection", HeaderValue::from_static("x-hop"));
    headers.insert("x-hop", HeaderValue::from_static("1"));
    headers.insert("x-kept", HeaderValue::from_static("1"));
    response
}

async fn bytes(Path(n): Path<u64>) -> Response {
    let chunks = n / (64 * 1024);
    let stream = futures_util::stream::iter(0..chunks).map(|_| Ok::<_, Infallible>(chunk()));
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/octet-stream"),
    );
    response
}

async fn upload(request: Request) -> Response {
    let mut body = request.into_body().into_data_stream();
    let mut total = 0u64;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => total += chunk.len() as u64,
            Err(_) => return (StatusCode::BAD_REQUEST, "broken body").into_response(),
        }
    }
    total.to_string().into_response()
}

/// Serves `app` on a fresh 127.0.0.1 port until the test's runtime ends.
pub async fn serve_app(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A started upstream and its request log.
pub async fn upstream() -> (SocketAddr, Log) {
    let log = Log::default();
    let addr = serve_app(upstream_app(log.clone())).await;
    (addr, log)
}

/// A resolver that answers from a fixed table; unknown names fail (no real DNS in tests).
#[derive(Clone, Default)]
pub struct TableResolver(pub HashMap<String, Vec<IpAddr>>);

impl TableResolver {
    pub fn with(pairs: &[(&str, &str)]) -> Self {
        let mut table: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for (name, ip) in pairs {
            table
                .entry((*name).to_owned())
                .or_default()
                .push(ip.parse().expect("table address"));
        }
        Self(table)
    }
}

impl Resolve for TableResolver {
    fn resolve(&self, host: &str) -> BoxFuture<io::Result<Vec<IpAddr>>> {
        let answer = self.0.get(host).cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host}: not in the test table"),
            )
        });
        Box::pin(async move { answer })
    }
}

/// A running proxy: its address, and its shutdown switch.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    pub done: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Builds the proxy from TOML (with `env` for `${VAR}` and `resolver` for names) and serves it.
pub async fn start_proxy(toml: &str, env: &[(&str, &str)], resolver: TableResolver) -> Running {
    let proxy = build_proxy(toml, env, resolver).expect("a valid proxy configuration");
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        let _ = tower_cors_proxy::serve(proxy, listener, async {
            let _ = stopped.await;
        })
        .await;
    });
    Running {
        addr,
        stop: Some(stop),
        done,
    }
}

pub fn build_proxy(
    toml: &str,
    env: &[(&str, &str)],
    resolver: TableResolver,
) -> Result<Proxy, tower_cors_proxy::ProxyConfigError> {
    let config = ProxyConfig::from_toml(toml)?;
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Proxy::builder(config)
        .env(move |name| env.get(name).cloned())
        .resolver(resolver)
        .build()
}

/// What the client got.
#[derive(Debug)]
pub struct Got {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Got {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request with a plain hyper client (HTTP/1.1, no pooling between tests).
pub async fn send(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Got {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut request = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("a valid request");
    let response = client.request(request).await.expect("the proxy answers");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("a complete body").to_bytes();
    Got {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

pub async fn get(url: &str, headers: &[(&str, &str)]) -> Got {
    send("GET", url, headers, "").await
}

/// The usual origin of the page in these tests.
pub const APP: &str = "http://localhost:5173";
