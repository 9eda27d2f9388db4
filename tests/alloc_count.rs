//! Heap allocations per request, counted by a global allocator: deterministic, so they may be
//! asserted in a test (timings may not, and live in `benches/`).
//!
//! Each path is driven the way a server drives it (`poll_ready`, `call`, one poll, drop the
//! response). The inner service records what it allocates itself (its response's header map),
//! and that is subtracted: what remains is the layer's own work. Request header values share
//! one buffer, as hyper's parser makes them, so cloning one is a reference-count increment.
//!
//! `cargo test --test alloc_count -- --nocapture` prints the table, with tower-http 0.7.1's
//! counts for the same policy beside ours (printed, not asserted).

use std::cell::Cell;
use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response};
use tower::{Layer, Service, ServiceExt};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{allocated, Counting, Tally};

thread_local! {
    // What the inner service allocated itself, to be subtracted.
    static INNER: Cell<Tally> = const { Cell::new(Tally { count: 0, bytes: 0 }) };
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A hello-world handler that records what it allocates, so that it can be subtracted.
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
        let before = allocated();
        drop(request);
        let mut response = Response::new(Bytes::from_static(b"Hello, World!"));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        let mine = allocated() - before;
        INNER.with(|t| {
            let sum = t.get();
            t.set(Tally {
                count: sum.count + mine.count,
                bytes: sum.bytes + mine.bytes,
            });
        });
        ready(Ok(response))
    }
}

struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// A header value in a shared buffer, like the ones hyper parses.
fn shared(value: &[u8]) -> HeaderValue {
    let bytes = Bytes::copy_from_slice(value);
    // The first clone of a `Bytes` made from a `Vec` moves it to shared storage; do it here.
    drop(bytes.clone());
    HeaderValue::from_maybe_shared(bytes).expect("valid header value")
}

fn request(method: Method, headers: &[(HeaderName, HeaderValue)]) -> Request<Bytes> {
    let mut request = Request::new(Bytes::new());
    *request.method_mut() = method;
    let mut map = HeaderMap::with_capacity(headers.len() + 1);
    map.insert(header::HOST, shared(b"api.example.com"));
    for (name, value) in headers {
        map.append(name.clone(), value.clone());
    }
    *request.headers_mut() = map;
    request
}

/// How a path is driven.
#[derive(Clone, Copy)]
enum Drive {
    Call,
    CloneOneshot,
}

/// The layer's own allocations for one request: the total minus the inner service's.
fn layer_allocations<S>(svc: &mut S, drive_by: Drive, make: &dyn Fn() -> Request<Bytes>) -> Tally
where
    S: Service<Request<Bytes>, Response = Response<Bytes>, Error = Infallible> + Clone,
{
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    let mut once = |request: Request<Bytes>| {
        let response = match drive_by {
            Drive::Call => {
                assert!(svc.poll_ready(&mut cx).is_ready());
                let future = pin!(svc.call(request));
                future.poll(&mut cx)
            }
            Drive::CloneOneshot => {
                let future = pin!(svc.clone().oneshot(request));
                future.poll(&mut cx)
            }
        };
        match response {
            Poll::Ready(Ok(response)) => drop(response),
            _ => panic!("the response future must be ready in the same poll"),
        }
    };
    // Warm up: first-use initialisation (lazy statics, thread-local registration) is not
    // per-request work.
    once(make());

    const RUNS: usize = 8;
    let mut own = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let request = make();
        INNER.with(|t| t.set(Tally::default()));
        let before = allocated();
        once(request);
        let total = allocated() - before;
        own.push(total - INNER.with(Cell::get));
    }
    assert!(
        own.windows(2).all(|w| w[0] == w[1]),
        "allocation count not deterministic: {own:?}"
    );
    own[0]
}

const ORIGIN: &str = "https://app.example.com";

/// What the `metrics` feature adds per counter recorded: the facade builds each counter's key
/// from its labels in a vector, recorder or not.
const METRICS: usize = if cfg!(feature = "metrics") { 1 } else { 0 };

fn builder() -> tower_cors::CorsBuilder {
    tower_cors::CorsLayer::builder()
        .allow_methods([Method::GET, Method::POST, Method::PUT])
        .allow_headers(["content-type", "authorization", "x-request-id"])
        .expose_headers(["x-request-id"])
        .allow_credentials(true)
        .max_age(Duration::from_secs(3600))
}

fn listed() -> tower_cors::CorsBuilder {
    builder().allow_origins([ORIGIN, "https://admin.example.com", "https://example.org"])
}

fn tower_http(origin: tower_http::cors::AllowOrigin) -> tower_http::cors::CorsLayer {
    tower_http::cors::CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([Method::GET, Method::POST, Method::PUT])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .allow_credentials(true)
        .max_age(Duration::from_secs(3600))
}

fn tower_http_listed() -> tower_http::cors::CorsLayer {
    tower_http(tower_http::cors::AllowOrigin::list(
        [ORIGIN, "https://admin.example.com", "https://example.org"].map(HeaderValue::from_static),
    ))
}

fn is_example_subdomain(origin: &HeaderValue) -> bool {
    let origin = origin.as_bytes();
    origin.starts_with(b"https://") && origin.ends_with(b".example.com")
}

#[test]
fn allocations_per_request() {
    let origin = (header::ORIGIN, shared(ORIGIN.as_bytes()));
    let evil = (header::ORIGIN, shared(b"https://evil.example.org"));
    let acrm = (header::ACCESS_CONTROL_REQUEST_METHOD, shared(b"PUT"));
    let acrh = |value: &[u8]| (header::ACCESS_CONTROL_REQUEST_HEADERS, shared(value));
    let mib = 1 << 20;
    let hostile = |unit: &[u8]| acrh(&unit.iter().copied().cycle().take(mib).collect::<Vec<_>>());

    let get = |headers: Vec<(HeaderName, HeaderValue)>| move || request(Method::GET, &headers);
    let options =
        |headers: Vec<(HeaderName, HeaderValue)>| move || request(Method::OPTIONS, &headers);
    let preflight = options(vec![
        origin.clone(),
        acrm.clone(),
        acrh(b"content-type, authorization"),
    ]);

    let cors = listed().build().expect("valid policy");
    let pass_through = listed()
        .preflight_pass_through(true)
        .build()
        .expect("valid policy");
    let predicate = builder()
        .allow_origin_fn(|origin, _| is_example_subdomain(origin))
        .build()
        .expect("valid policy");
    let async_predicate = builder()
        .allow_origin_async(|origin, _| async move { is_example_subdomain(&origin) })
        .build()
        .expect("valid policy");
    let (reloadable, _handle) = listed().build().expect("valid policy").into_reloadable();
    let http = tower_http_listed();
    let http_predicate = tower_http(tower_http::cors::AllowOrigin::predicate(|origin, _| {
        is_example_subdomain(origin)
    }));
    let http_async = tower_http(tower_http::cors::AllowOrigin::async_predicate(
        |origin, _| async move { is_example_subdomain(&origin) },
    ));

    type Make = Box<dyn Fn() -> Request<Bytes>>;
    // (path, request, tower-cors layer, tower-http layer, how it is driven, our limit)
    let cases: Vec<(
        &str,
        Make,
        &tower_cors::CorsLayer,
        &tower_http::cors::CorsLayer,
        Drive,
        usize,
    )> = vec![
        (
            "allowed GET",
            Box::new(get(vec![origin.clone()])),
            &cors,
            &http,
            Drive::Call,
            2 + METRICS,
        ),
        (
            "allowed preflight",
            Box::new(preflight.clone()),
            &cors,
            &http,
            Drive::Call,
            2 + METRICS,
        ),
        (
            "disallowed GET",
            Box::new(get(vec![evil.clone()])),
            &cors,
            &http,
            Drive::Call,
            2 + METRICS,
        ),
        (
            "GET without Origin",
            Box::new(get(vec![])),
            &cors,
            &http,
            Drive::Call,
            2 + METRICS,
        ),
        (
            "disallowed preflight",
            Box::new(options(vec![evil.clone(), acrm.clone()])),
            &cors,
            &http,
            Drive::Call,
            2 + METRICS,
        ),
        (
            "1 MiB ACRH of commas",
            Box::new(options(vec![origin.clone(), acrm.clone(), hostile(b",")])),
            &cors,
            &http,
            Drive::Call,
            2 + METRICS,
        ),
        (
            "1 MiB ACRH of spaces",
            Box::new(options(vec![origin.clone(), acrm.clone(), hostile(b" ")])),
            &cors,
            &http,
            Drive::Call,
            2 + METRICS,
        ),
        (
            "1 MiB ACRH of one name",
            Box::new(options(vec![
                origin.clone(),
                acrm.clone(),
                hostile(b"content-type,"),
            ])),
            &cors,
            &http,
            Drive::Call,
            2 + METRICS,
        ),
        (
            "pass-through preflight",
            Box::new(preflight.clone()),
            &pass_through,
            &http,
            Drive::Call,
            2 + METRICS,
        ),
        (
            "predicate GET",
            Box::new(get(vec![origin.clone()])),
            &predicate,
            &http_predicate,
            Drive::Call,
            2 + METRICS,
        ),
        // The predicate's future is boxed: one more is allowed.
        (
            "async predicate GET",
            Box::new(get(vec![origin.clone()])),
            &async_predicate,
            &http_async,
            Drive::Call,
            3 + METRICS,
        ),
        (
            "clone().oneshot() GET",
            Box::new(get(vec![origin.clone()])),
            &cors,
            &http,
            Drive::CloneOneshot,
            2 + METRICS,
        ),
    ];

    // Whatever the layer allocates for a hostile list must not grow with it.
    const HOSTILE_BYTES: usize = 4096;
    println!("| path | tower-cors: allocations (bytes) | limit | tower-http 0.7.1 |");
    println!("| --- | ---: | ---: | ---: |");
    let mut failures = Vec::new();
    for (path, make, ours, theirs, drive_by, limit) in &cases {
        let got = layer_allocations(&mut ours.layer(Hello), *drive_by, make);
        let them = layer_allocations(&mut theirs.layer(Hello), *drive_by, make);
        println!(
            "| {path} | {} ({} B) | ≤ {limit} | {} ({} B) |",
            got.count, got.bytes, them.count, them.bytes
        );
        if got.count > *limit {
            failures.push(format!("{path}: {} allocations, limit {limit}", got.count));
        }
        if path.starts_with("1 MiB") && got.bytes > HOSTILE_BYTES {
            failures.push(format!("{path}: {} bytes allocated", got.bytes));
        }
    }
    let reload = layer_allocations(
        &mut reloadable.layer(Hello),
        Drive::Call,
        &get(vec![origin.clone()]),
    );
    println!(
        "| allowed GET, reloadable layer | {} ({} B) | ≤ 2 | – |",
        reload.count, reload.bytes
    );
    if reload.count > 2 + METRICS {
        failures.push(format!(
            "reloadable allowed GET: {} allocations, limit 2",
            reload.count
        ));
    }

    // Cloning a service copies a pointer to the policy: nothing is allocated.
    let svc = cors.layer(Hello);
    let before = allocated();
    for _ in 0..8 {
        drop(svc.clone());
    }
    let clones = allocated() - before;
    let http_svc = http.layer(Hello);
    let before = allocated();
    drop(http_svc.clone());
    let http_clone = allocated() - before;
    println!(
        "| clone of the service (8 clones; tower-http: 1) | {} ({} B) | 0 | {} ({} B) |",
        clones.count, clones.bytes, http_clone.count, http_clone.bytes
    );
    if clones.count != 0 {
        failures.push(format!(
            "cloning Cors<S> allocated {} times in 8 clones",
            clones.count
        ));
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The exact counts, for a single policy (unchanged by policy sets: the same as before they
/// existed), a 3-policy set, shadow evaluation and recorded decisions; with the `metrics`
/// feature, one more per counter recorded.
#[test]
fn exact_allocations_per_request() {
    let origin = (header::ORIGIN, shared(ORIGIN.as_bytes()));
    let other = (header::ORIGIN, shared(b"https://other.example"));
    let acrm = (header::ACCESS_CONTROL_REQUEST_METHOD, shared(b"PUT"));
    let acrh = (
        header::ACCESS_CONTROL_REQUEST_HEADERS,
        shared(b"content-type, authorization"),
    );
    let get = |headers: Vec<(HeaderName, HeaderValue)>| move || request(Method::GET, &headers);
    let options =
        |headers: Vec<(HeaderName, HeaderValue)>| move || request(Method::OPTIONS, &headers);
    let single = listed().build().expect("valid policy");
    let three = tower_cors::CorsLayer::set()
        .policy(
            "partner",
            builder().allow_origins(["https://partner.example"]),
        )
        .policy("app", listed())
        .policy(
            "public",
            tower_cors::CorsLayer::builder().allow_any_origin(),
        )
        .select_by_origin()
        .build()
        .expect("valid set");
    let shadowed = listed().build().expect("valid policy").with_shadow(
        tower_cors::CorsLayer::builder()
            .allow_origins(["https://x.example"])
            .build()
            .expect("valid"),
        1.0,
    );
    let recorded = listed()
        .build()
        .expect("valid policy")
        .record_decision(true);

    type Make = Box<dyn Fn() -> Request<Bytes>>;
    // (path, request, layer, allocations without metrics, counters recorded)
    let cases: Vec<(&str, Make, &tower_cors::CorsLayer, usize, usize)> = vec![
        (
            "single: allowed GET",
            Box::new(get(vec![origin.clone()])),
            &single,
            0,
            1,
        ),
        (
            "single: allowed preflight",
            Box::new(options(vec![origin.clone(), acrm.clone(), acrh.clone()])),
            &single,
            2,
            1,
        ),
        (
            "single: disallowed GET",
            Box::new(get(vec![other.clone()])),
            &single,
            0,
            1,
        ),
        (
            "single: GET without Origin",
            Box::new(get(vec![])),
            &single,
            0,
            1,
        ),
        (
            "3-policy set: allowed GET",
            Box::new(get(vec![origin.clone()])),
            &three,
            0,
            1,
        ),
        (
            "3-policy set: allowed preflight",
            Box::new(options(vec![origin.clone(), acrm.clone(), acrh.clone()])),
            &three,
            2,
            1,
        ),
        (
            "3-policy set: public GET",
            Box::new(get(vec![other.clone()])),
            &three,
            0,
            1,
        ),
        // The candidate refuses: one disagreement, reported (a second counter with metrics).
        (
            "shadow 100 %: allowed GET",
            Box::new(get(vec![origin.clone()])),
            &shadowed,
            0,
            2,
        ),
        (
            "shadow 100 %: agreeing GET",
            Box::new(get(vec![other.clone()])),
            &shadowed,
            0,
            1,
        ),
        // The extension map (its box and its table) and the boxed summary.
        (
            "recorded: allowed GET",
            Box::new(get(vec![origin.clone()])),
            &recorded,
            3,
            1,
        ),
    ];
    let mut failures = Vec::new();
    println!("| path | allocations (bytes) | expected |");
    println!("| --- | ---: | ---: |");
    for (path, make, layer, base, counters) in &cases {
        let want = base + counters * METRICS;
        let got = layer_allocations(&mut layer.layer(Hello), Drive::Call, make);
        println!("| {path} | {} ({} B) | {want} |", got.count, got.bytes);
        if got.count != want {
            failures.push(format!(
                "{path}: {} allocations, expected {want}",
                got.count
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
