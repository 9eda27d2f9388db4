//! The single policy against the layer as it was before policy sets (commit `d88d461`), in the
//! same paired rounds as `benches/cors.rs` measures its variants, for the four headline
//! requests. Not a bench target: it needs the previous layer built as a second crate, and a
//! second copy of it under another name (`twin`), whose ratio to the first shows how much code
//! placement alone moves the figures. `benches/README.md` gives the setup and the commands.
//!
//! `ROUNDS=10000 target/release/deps/previous-*` (optionally a group name filter); `SWAP=1`
//! swaps the new and the previous layer's places in the rotation; `RELOAD=1` measures the
//! layers' reloadable forms; `ONLY=new` (or `old`, `twin`, `bare`) runs that variant alone and
//! prints nothing, for counting its instructions under `valgrind --tool=callgrind`.
use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response, Uri};
use tower::{Layer, Service};

#[derive(Clone, Copy)]
struct Hello;
impl<B> Service<Request<B>> for Hello {
    type Response = Response<Bytes>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Bytes>, Infallible>>;
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, request: Request<B>) -> Self::Future {
        drop(request);
        let mut response = Response::new(Bytes::from_static(b"Hello, World!"));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        ready(Ok(response))
    }
}
struct NoopWake;
impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}
fn drive<S>(svc: &mut S, waker: &Waker, request: Request<Bytes>) -> Response<Bytes>
where
    S: Service<Request<Bytes>, Response = Response<Bytes>, Error = Infallible>,
{
    let mut cx = Context::from_waker(waker);
    assert!(svc.poll_ready(&mut cx).is_ready());
    let future = pin!(svc.call(request));
    match future.poll(&mut cx) {
        Poll::Ready(Ok(response)) => response,
        _ => panic!("not ready"),
    }
}
fn shared(value: &[u8]) -> HeaderValue {
    let bytes = Bytes::copy_from_slice(value);
    drop(bytes.clone());
    HeaderValue::from_maybe_shared(bytes).unwrap()
}
#[derive(Clone)]
struct Head {
    method: Method,
    headers: Vec<(HeaderName, HeaderValue)>,
}
impl Head {
    fn new(method: Method, origin: Option<&str>) -> Self {
        let mut headers = vec![
            (header::HOST, shared(b"api.example.com")),
            (
                header::USER_AGENT,
                shared(b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
            ),
            (header::ACCEPT, shared(b"*/*")),
            (header::ACCEPT_LANGUAGE, shared(b"en-US,en;q=0.5")),
            (header::ACCEPT_ENCODING, shared(b"gzip, deflate, br, zstd")),
            (header::REFERER, shared(b"https://app.example.com/")),
            (header::CONNECTION, shared(b"keep-alive")),
            (HeaderName::from_static("sec-fetch-dest"), shared(b"empty")),
            (HeaderName::from_static("sec-fetch-mode"), shared(b"cors")),
            (
                HeaderName::from_static("sec-fetch-site"),
                shared(b"same-site"),
            ),
            (HeaderName::from_static("priority"), shared(b"u=4")),
        ];
        if let Some(origin) = origin {
            headers.push((header::ORIGIN, shared(origin.as_bytes())));
        }
        Head { method, headers }
    }
    fn build(&self) -> Request<Bytes> {
        let mut request = Request::new(Bytes::new());
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = Uri::from_static("/api/items");
        let mut headers = HeaderMap::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        *request.headers_mut() = headers;
        request
    }
}
const METHODS: [Method; 3] = [Method::GET, Method::POST, Method::PUT];
const ALLOWED_HEADERS: [&str; 3] = ["content-type", "authorization", "x-request-id"];
const MAX_AGE: Duration = Duration::from_secs(3600);
const BATCH: usize = 64;
fn origins() -> Vec<String> {
    (0..3)
        .map(|i| format!("https://app{i}.example.com"))
        .collect()
}
type V<'a> = (
    &'static str,
    Box<dyn FnMut(Request<Bytes>) -> Response<Bytes> + 'a>,
);

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let waker = Waker::from(Arc::new(NoopWake));
    let origin = "https://app2.example.com";
    let mut pre = Head::new(Method::OPTIONS, Some(origin));
    pre.headers
        .push((header::ACCESS_CONTROL_REQUEST_METHOD, shared(b"PUT")));
    pre.headers.push((
        header::ACCESS_CONTROL_REQUEST_HEADERS,
        shared(b"content-type, authorization"),
    ));
    let groups = [
        ("get_allowed", Head::new(Method::GET, Some(origin))),
        ("preflight_allowed", pre),
        (
            "get_disallowed",
            Head::new(Method::GET, Some("https://evil.example.org")),
        ),
        ("get_no_origin", Head::new(Method::GET, None)),
    ];
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    for (name, head) in &groups {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let mut bare = Hello;
        let new = tower_cors::CorsLayer::builder()
            .allow_methods(METHODS)
            .allow_headers(ALLOWED_HEADERS)
            .expose_headers(["x-request-id"])
            .allow_credentials(true)
            .max_age(MAX_AGE)
            .allow_origins(origins())
            .build()
            .unwrap();
        let old = tower_cors_old::CorsLayer::builder()
            .allow_methods(METHODS)
            .allow_headers(ALLOWED_HEADERS)
            .expose_headers(["x-request-id"])
            .allow_credentials(true)
            .max_age(MAX_AGE)
            .allow_origins(origins())
            .build()
            .unwrap();
        let twin = tower_cors_twin::CorsLayer::builder()
            .allow_methods(METHODS)
            .allow_headers(ALLOWED_HEADERS)
            .expose_headers(["x-request-id"])
            .allow_credentials(true)
            .max_age(MAX_AGE)
            .allow_origins(origins())
            .build()
            .unwrap();
        // `RELOAD=1`: the same policy behind each layer's reloadable form.
        let reload = std::env::var_os("RELOAD").is_some();
        let (mut new, mut old, mut twin) = if reload {
            (
                new.into_reloadable().0.layer(Hello),
                old.into_reloadable().0.layer(Hello),
                twin.into_reloadable().0.layer(Hello),
            )
        } else {
            (new.layer(Hello), old.layer(Hello), twin.layer(Hello))
        };
        let a = drive(&mut new, &waker, head.build());
        let b = drive(&mut old, &waker, head.build());
        assert_eq!(
            (a.status(), a.headers()),
            (b.status(), b.headers()),
            "{name}"
        );
        let w = &waker;
        let mut vs: Vec<V<'_>> = vec![
            ("bare", Box::new(move |r| drive(&mut bare, w, r))),
            ("new", Box::new(move |r| drive(&mut new, w, r))),
            ("old", Box::new(move |r| drive(&mut old, w, r))),
            ("twin", Box::new(move |r| drive(&mut twin, w, r))),
        ];
        if std::env::var_os("SWAP").is_some() {
            vs.swap(1, 2);
        }
        let (ni, oi) = if std::env::var_os("SWAP").is_some() {
            (2, 1)
        } else {
            (1, 2)
        };
        let n = vs.len();
        let only = std::env::var("ONLY").ok();
        let mut times = vec![Vec::new(); n];
        let mut batch = Vec::with_capacity(BATCH);
        for round in 0..rounds {
            for k in 0..n {
                let v = (round + k) % n;
                if only.as_deref().is_some_and(|o| vs[v].0 != o) {
                    continue;
                }
                batch.extend((0..BATCH).map(|_| head.build()));
                let svc = &mut vs[v].1;
                for _ in 0..8 {
                    drop(svc(head.build()));
                }
                let start = Instant::now();
                for r in batch.drain(..) {
                    let resp = svc(r);
                    std::hint::black_box(resp.status());
                    drop(resp);
                }
                let ns = start.elapsed().as_nanos() as f64 / BATCH as f64;
                if round >= 100 {
                    times[v].push(ns);
                }
            }
        }
        if only.is_some() {
            continue;
        }
        let med = |v: usize| {
            let mut d: Vec<f64> = times[v].iter().zip(&times[0]).map(|(t, b)| t - b).collect();
            d.sort_by(f64::total_cmp);
            d[d.len() / 2]
        };
        let mut bt = times[0].clone();
        bt.sort_by(f64::total_cmp);
        let (newo, oldo) = (med(ni), med(oi));
        let twino = med(3);
        println!(
            "{name:18} bare {:6.1} ns  new +{newo:6.1}  old +{oldo:6.1}  twin +{twino:6.1}  new/old {:.3}  twin/old {:.3}",
            bt[bt.len() / 2],
            newo / oldo,
            twino / oldo
        );
    }
}
