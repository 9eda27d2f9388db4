//! Per-request cost of CORS: the same inner service bare, behind tower-cors and behind
//! tower-http 0.7.1's `CorsLayer`, configured with the same policy, measured in one run.
//!
//! Every benchmark measures one whole request the way a server drives it: `poll_ready`, `call`,
//! one poll of the response future (which must be ready: nothing here may need a second poll),
//! and dropping the response. Requests are built outside the timed region, identically for all
//! variants, with header values that share one buffer the way hyper's parser makes them. The
//! headline scenarios also measure [`Floor`], the least any layer writing the same headers can
//! cost, as a reference.
//!
//! After criterion has run, the medians it saved are read back and printed as a table of
//! overheads (variant − bare) and ratios (tower-cors overhead ÷ tower-http overhead); the table
//! is also written to `target/criterion/cors-summary.md`. Only results written by this run are
//! used, so a filtered run prints only the rows it measured. `benches/README.md` explains the
//! method and shows a run.
//!
//! ```text
//! cargo bench --bench cors                 # everything (about five minutes)
//! cargo bench --bench cors -- get_allowed  # one group
//! ```

use std::convert::Infallible;
use std::fmt::Write as _;
use std::future::{ready, Future, Ready};
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use criterion::{BatchSize, Criterion};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response, Uri};
use tower::{Layer, Service, ServiceExt};

// ---------------------------------------------------------------------------------------------
// The inner service and the driver.

/// A hello-world handler: a static body and one header, no allocation beyond the response's
/// header map (which every real handler pays too).
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

/// Drives one request through `svc` like a server: ready, call, one poll. Panics if the
/// response future is not ready at once: every path measured here must finish in one poll.
fn drive<S>(svc: &mut S, waker: &Waker, request: Request<Bytes>) -> Response<Bytes>
where
    S: Service<Request<Bytes>, Response = Response<Bytes>, Error = Infallible>,
{
    let mut cx = Context::from_waker(waker);
    assert!(svc.poll_ready(&mut cx).is_ready(), "service not ready");
    let future = pin!(svc.call(request));
    match future.poll(&mut cx) {
        Poll::Ready(Ok(response)) => response,
        _ => panic!("response future not ready in one poll"),
    }
}

/// What axum does per request: clone the route's service and `oneshot` the clone.
fn drive_clone<S>(svc: &S, waker: &Waker, request: Request<Bytes>) -> Response<Bytes>
where
    S: Service<Request<Bytes>, Response = Response<Bytes>, Error = Infallible> + Clone,
{
    let mut cx = Context::from_waker(waker);
    let future = pin!(svc.clone().oneshot(request));
    match future.poll(&mut cx) {
        Poll::Ready(Ok(response)) => response,
        _ => panic!("response future not ready in one poll"),
    }
}

/// A reference point, not a CORS layer: the least any layer can do that writes the same
/// headers as tower-cors does for one scenario into an `http::HeaderMap` — no policy, no
/// check, no removal of the inner service's headers, no `Vary` merge; only the request's
/// `Origin` read and the recorded headers inserted (or, for a preflight it answers, a copy of a
/// prebuilt header map, which saves hashing each name). An origin configured exactly is written
/// from a static copy; any other is the request's own, copied. Its overhead is a floor under
/// any real layer's.
#[derive(Clone, Copy)]
struct Floor<S> {
    inner: S,
    /// The headers to write; `None` stands for the request's own `Origin`.
    headers: &'static [(HeaderName, Option<HeaderValue>)],
    /// Answer with this status instead of calling the inner service.
    answer: Option<http::StatusCode>,
    /// The answer's headers, prebuilt (the echoed `Origin` as a placeholder).
    template: &'static HeaderMap,
    /// Whether the request's own `Origin` is written (no static copy of it is at hand).
    echoes: bool,
}

impl<S> Floor<S> {
    /// Records what tower-cors wrote on `response` (to a request through `Hello`).
    ///
    /// `exact`: the request's origin is one configured byte for byte (not matched by a pattern
    /// or a predicate), so any layer could hold a copy of it.
    fn like(
        inner: S,
        response: &Response<Bytes>,
        origin: Option<&HeaderValue>,
        exact: bool,
    ) -> Self {
        let answered = !response.headers().contains_key(header::CONTENT_TYPE);
        let headers: Vec<_> = response
            .headers()
            .iter()
            .filter(|(name, _)| *name != header::CONTENT_TYPE)
            .map(|(name, value)| {
                let echoed = origin == Some(value) && name == header::ACCESS_CONTROL_ALLOW_ORIGIN;
                // An echoed origin that was configured exactly can be written from a static
                // copy, which costs less than copying the request's shared value.
                let value = if echoed && exact {
                    Some(static_copy(value))
                } else {
                    (!echoed).then(|| value.clone())
                };
                (name.clone(), value)
            })
            .collect();
        let mut template = HeaderMap::with_capacity(headers.len());
        // The answer's own values, the origin included, are copied from the template as is.
        for (name, value) in &headers {
            let value = value.clone().unwrap_or(HeaderValue::from_static(""));
            template.insert(name.clone(), value);
        }
        Floor {
            inner,
            echoes: headers.iter().any(|(_, value)| value.is_none()),
            headers: Box::leak(headers.into_boxed_slice()),
            answer: answered.then(|| response.status()),
            template: Box::leak(Box::new(template)),
        }
    }

    fn write(&self, map: &mut HeaderMap, origin: &mut Option<HeaderValue>) {
        if self.answer.is_some() {
            if let (Some(slot), Some(origin)) = (
                map.get_mut(header::ACCESS_CONTROL_ALLOW_ORIGIN),
                origin.take(),
            ) {
                *slot = origin;
            }
            return;
        }
        for (name, value) in self.headers {
            let value = value.clone().or_else(|| origin.take());
            if let Some(value) = value {
                map.insert(name, value);
            }
        }
    }
}

impl<S> Service<Request<Bytes>> for Floor<S>
where
    S: Service<Request<Bytes>, Response = Response<Bytes>, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response<Bytes>;
    type Error = Infallible;
    type Future = FloorFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        // Any layer must read the `Origin`; only one without a copy of it must copy it.
        let origin = std::hint::black_box(request.headers().get(header::ORIGIN));
        let origin = if self.echoes { origin.cloned() } else { None };
        let floor = Floor {
            inner: (),
            headers: self.headers,
            answer: self.answer,
            template: self.template,
            echoes: self.echoes,
        };
        let inner = match self.answer {
            Some(_) => None,
            None => Some(self.inner.call(request)),
        };
        FloorFuture {
            inner,
            floor,
            origin,
        }
    }
}

struct FloorFuture<F> {
    inner: Option<F>,
    floor: Floor<()>,
    origin: Option<HeaderValue>,
}

impl<F> Future for FloorFuture<F>
where
    F: Future<Output = Result<Response<Bytes>, Infallible>> + Unpin,
{
    type Output = Result<Response<Bytes>, Infallible>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut response = match (&mut this.inner, this.floor.answer) {
            (Some(inner), _) => match std::pin::Pin::new(inner).poll(cx) {
                Poll::Ready(Ok(response)) => response,
                Poll::Ready(Err(never)) => match never {},
                Poll::Pending => return Poll::Pending,
            },
            (None, status) => {
                let mut response = Response::new(Bytes::new());
                *response.status_mut() = status.unwrap_or_default();
                *response.headers_mut() = this.floor.template.clone();
                response
            }
        };
        this.floor.write(response.headers_mut(), &mut this.origin);
        Poll::Ready(Ok(response))
    }
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// A header value backed by a shared buffer: cloning it is a reference-count increment, as for
/// the values hyper parses out of its read buffer.
fn shared(value: &[u8]) -> HeaderValue {
    let bytes = Bytes::copy_from_slice(value);
    // The first clone of a `Bytes` made from a `Vec` moves it to shared storage; do it here.
    drop(bytes.clone());
    HeaderValue::from_maybe_shared(bytes).expect("valid header value")
}

/// A copy of `value` in static memory: copying it is a pointer copy.
fn static_copy(value: &HeaderValue) -> HeaderValue {
    let bytes: &'static [u8] = Box::leak(value.as_bytes().into());
    HeaderValue::from_maybe_shared(Bytes::from_static(bytes)).expect("valid header value")
}

/// The head of one request; `build` makes a fresh `Request` from it outside the timed region.
#[derive(Clone)]
struct RequestHead {
    method: Method,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl RequestHead {
    fn new(method: Method, origin: Option<&str>) -> Self {
        // What Firefox sends with a `fetch()` from another site, besides the CORS headers (a
        // lookup's cost may depend on how many names the request has).
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
        RequestHead { method, headers }
    }

    fn get(origin: Option<&str>) -> Self {
        Self::new(Method::GET, origin)
    }

    fn preflight(origin: &str, request_headers: &[u8]) -> Self {
        let mut head = Self::new(Method::OPTIONS, Some(origin));
        head.headers
            .push((header::ACCESS_CONTROL_REQUEST_METHOD, shared(b"PUT")));
        head.headers.push((
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            shared(request_headers),
        ));
        head
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

// ---------------------------------------------------------------------------------------------
// The policy, for both layers.

const METHODS: [Method; 3] = [Method::GET, Method::POST, Method::PUT];
const ALLOWED_HEADERS: [&str; 3] = ["content-type", "authorization", "x-request-id"];
const EXPOSED: &str = "x-request-id";
const MAX_AGE: Duration = Duration::from_secs(3600);

/// Where the allowed origins come from.
#[derive(Clone, Copy)]
enum Origins {
    /// `https://app{i}.example.com` for `i < n`.
    Exact(usize),
    /// `https://*.tenant{i}.example.net` for `i < n`.
    Patterns(usize),
    /// A synchronous predicate: any `https://` subdomain of `example.com`.
    Predicate,
    /// The same predicate, asynchronous.
    AsyncPredicate,
}

fn exact_origin(i: usize) -> String {
    format!("https://app{i}.example.com")
}

fn pattern_origin(i: usize) -> String {
    format!("https://*.tenant{i}.example.net")
}

/// The predicate both layers get for [`Origins::Predicate`] and [`Origins::AsyncPredicate`].
fn is_example_subdomain(origin: &HeaderValue) -> bool {
    let origin = origin.as_bytes();
    origin.starts_with(b"https://") && origin.ends_with(b".example.com")
}

fn tower_cors_layer(origins: Origins) -> tower_cors::CorsLayer {
    let builder = tower_cors::CorsLayer::builder()
        .allow_methods(METHODS)
        .allow_headers(ALLOWED_HEADERS)
        .expose_headers([EXPOSED])
        .allow_credentials(true)
        .max_age(MAX_AGE);
    let builder = match origins {
        Origins::Exact(n) => builder.allow_origins((0..n).map(exact_origin)),
        Origins::Patterns(n) => builder.allow_origins((0..n).map(pattern_origin)),
        Origins::Predicate => builder.allow_origin_fn(|origin, _| is_example_subdomain(origin)),
        Origins::AsyncPredicate => {
            builder.allow_origin_async(|origin, _| async move { is_example_subdomain(&origin) })
        }
    };
    builder.build().expect("valid policy")
}

/// The variants that put the headline policy in a policy set or under shadow evaluation; each
/// answers the headline requests exactly as the single policy does (checked):
///
/// - `set-3`: three policies selected by origin, the headline policy second (a partner's
///   exact origin first, any-origin last);
/// - `shadow-100`: the single policy, with a candidate (the same policy) evaluated on every
///   request;
/// - `hosts-3`, `hosts-1000`: that many copies of the headline policy selected by host, the
///   request's host (`api.example.com`) the last one added.
///
/// In `set-3` every response carries `Vary: Origin` anyway (the headline policy lists its
/// origins), so the answers are identical.
fn set_layers(origins: Origins) -> Vec<(&'static str, tower_cors::CorsLayer)> {
    use tower_cors::CorsLayer;
    let builder = || {
        CorsLayer::builder()
            .allow_methods(METHODS)
            .allow_headers(ALLOWED_HEADERS)
            .expose_headers([EXPOSED])
            .allow_credentials(true)
            .max_age(MAX_AGE)
    };
    let Origins::Exact(n) = origins else {
        panic!("sets are measured with exact origins")
    };
    let headline = || builder().allow_origins((0..n).map(exact_origin));
    let set_3 = CorsLayer::set()
        .policy(
            "partner",
            builder().allow_origins(["https://partner.example"]),
        )
        .policy("app", headline())
        .policy("public", CorsLayer::builder().allow_any_origin())
        .select_by_origin()
        .build()
        .expect("valid set");
    let shadow = tower_cors_layer(origins).with_shadow(tower_cors_layer(origins), 1.0);
    let hosts = |count: usize| {
        let names: Vec<String> = (0..count).map(|i| format!("p{i}")).collect();
        let mut set = CorsLayer::set();
        for name in &names {
            set = set.policy(name.clone(), headline());
        }
        let mut routes: Vec<(String, String)> = (0..count - 1)
            .map(|i| (format!("h{i}.example.com"), names[i].clone()))
            .collect();
        routes.push(("api.example.com".to_owned(), names[count - 1].clone()));
        set.select_by_host(routes).build().expect("valid set")
    };
    vec![
        ("set-3", set_3),
        ("shadow-100", shadow),
        ("hosts-3", hosts(3)),
        ("hosts-1000", hosts(1000)),
    ]
}

/// tower-http has no origin patterns; what its users write instead is a predicate over the
/// list, which is what this one is: `https://`, one or more labels, then a listed suffix.
fn tower_http_patterns(n: usize) -> tower_http::cors::AllowOrigin {
    let suffixes: Vec<String> = (0..n).map(|i| format!(".tenant{i}.example.net")).collect();
    tower_http::cors::AllowOrigin::predicate(move |origin, _| {
        let Some(host) = origin.as_bytes().strip_prefix(b"https://") else {
            return false;
        };
        suffixes.iter().any(|suffix| {
            host.len() > suffix.len()
                && host.ends_with(suffix.as_bytes())
                && !host.starts_with(b".")
                && !host.contains(&b':')
        })
    })
}

fn tower_http_layer(origins: Origins) -> tower_http::cors::CorsLayer {
    use tower_http::cors::AllowOrigin;
    let allow_origin = match origins {
        Origins::Exact(n) => AllowOrigin::list(
            (0..n).map(|i| HeaderValue::from_str(&exact_origin(i)).expect("valid origin")),
        ),
        Origins::Patterns(n) => tower_http_patterns(n),
        Origins::Predicate => AllowOrigin::predicate(|origin, _| is_example_subdomain(origin)),
        Origins::AsyncPredicate => {
            AllowOrigin::async_predicate(|origin, _| async move { is_example_subdomain(&origin) })
        }
    };
    tower_http::cors::CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods(METHODS)
        .allow_headers(ALLOWED_HEADERS.map(HeaderName::from_static))
        .expose_headers([HeaderName::from_static(EXPOSED)])
        .allow_credentials(true)
        .max_age(MAX_AGE)
}

// ---------------------------------------------------------------------------------------------
// Groups.

/// How a group drives its services.
#[derive(Clone, Copy, PartialEq)]
enum Drive {
    /// `poll_ready` + `call` on one long-lived service.
    Call,
    /// `clone().oneshot()` per request, as axum's router does.
    CloneOneshot,
}

/// Requests built per timed batch. Small enough that freeing a batch never hands memory back
/// to the kernel (glibc trims past 128 KiB), which would make the next batch page-fault.
const BATCH: u64 = 64;

/// One group: the same request through bare, tower-cors and tower-http (and the floor).
struct Group {
    name: String,
    origins: Origins,
    head: RequestHead,
    drive_by: Drive,
    /// Also measure [`Floor`] (for the headline scenarios).
    floor: bool,
    /// Also measure the same policy in policy sets and under shadow evaluation.
    sets: bool,
}

impl Group {
    fn new(name: impl Into<String>, origins: Origins, head: RequestHead) -> Self {
        Group {
            name: name.into(),
            origins,
            head,
            drive_by: Drive::Call,
            floor: false,
            sets: false,
        }
    }

    /// Benchmarks every variant with criterion, then (if criterion ran this group) measures
    /// them again paired: see [`paired`].
    fn run(&self, c: &mut Criterion) -> Option<Paired> {
        let (name, head) = (self.name.as_str(), &self.head);
        let waker = Waker::from(Arc::new(NoopWake));

        let mut bare = Hello;
        let mut cors = tower_cors_layer(self.origins).layer(Hello);
        let mut http = tower_http_layer(self.origins).layer(Hello);
        // Sanity: both layers answer as configured (an allowed origin gets its ACAO from both).
        let from_cors = drive(&mut cors, &waker, head.build());
        let from_http = drive(&mut http, &waker, head.build());
        let acao = |res: &Response<Bytes>| {
            res.headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .cloned()
        };
        if !name.starts_with("hostile") {
            assert_eq!(
                acao(&from_cors),
                acao(&from_http),
                "{name}: the layers disagree"
            );
        }
        let origin = head.build().headers().get(header::ORIGIN).cloned();
        let exact = matches!(self.origins, Origins::Exact(_));
        let mut floor = Floor::like(Hello, &from_cors, origin.as_ref(), exact);

        let waker = &waker;
        let mut variants: Vec<Variant<'_>> = match self.drive_by {
            Drive::Call => vec![
                ("bare", Box::new(move |r| drive(&mut bare, waker, r))),
                ("tower-cors", Box::new(move |r| drive(&mut cors, waker, r))),
                ("tower-http", Box::new(move |r| drive(&mut http, waker, r))),
            ],
            Drive::CloneOneshot => vec![
                ("bare", Box::new(move |r| drive_clone(&bare, waker, r))),
                (
                    "tower-cors",
                    Box::new(move |r| drive_clone(&cors, waker, r)),
                ),
                (
                    "tower-http",
                    Box::new(move |r| drive_clone(&http, waker, r)),
                ),
            ],
        };
        if self.floor {
            variants.push(("floor", Box::new(move |r| drive(&mut floor, waker, r))));
        }
        // `CORS_BENCH_NO_SETS=1` leaves the policy-set variants out of the rotation, so that a
        // group has the same variants as before policy sets existed (for comparing the single
        // policy's ratio to the floor with that of earlier releases' benchmark).
        if self.sets && std::env::var_os("CORS_BENCH_NO_SETS").is_none() {
            for (variant, layer) in set_layers(self.origins) {
                let mut svc = layer.layer(Hello);
                let answer = drive(&mut svc, waker, head.build());
                assert_eq!(
                    (answer.status(), answer.headers().clone()),
                    (from_cors.status(), from_cors.headers().clone()),
                    "{name}/{variant}: not the single policy's answer"
                );
                variants.push((variant, Box::new(move |r| drive(&mut svc, waker, r))));
            }
        }

        let ran = std::cell::Cell::new(false);
        let mut group = c.benchmark_group(name);
        for (variant, svc) in &mut variants {
            group.bench_function(*variant, |b| {
                ran.set(true);
                b.iter_batched(
                    || head.build(),
                    |request| {
                        let response = svc(request);
                        std::hint::black_box(response.status());
                        // Freeing the response is part of the request's cost.
                        drop(response);
                    },
                    BatchSize::NumIterations(BATCH),
                );
            });
        }
        group.finish();
        ran.get().then(|| paired(name, head, &mut variants))
    }
}

/// One variant of a group: its name and a function that serves one request.
type Variant<'a> = (
    &'static str,
    Box<dyn FnMut(Request<Bytes>) -> Response<Bytes> + 'a>,
);

/// Rounds of the paired measurement (the first [`PAIRED_WARM_UP`] are discarded).
const PAIRED_ROUNDS: usize = 1000;
const PAIRED_WARM_UP: usize = 50;
/// Requests each variant serves untimed before its batch in every round.
const PAIRED_WARM_REQUESTS: usize = 8;

/// The paired overheads of one group: for each variant but `bare`, the median over rounds of
/// (its time − `bare`'s time in the same round), with the quartiles of those differences.
struct Paired {
    /// `(variant, [first quartile, median, third quartile])`, in ns per request.
    overheads: Vec<(&'static str, [f64; 3])>,
}

impl Paired {
    fn median(&self, variant: &str) -> Option<f64> {
        self.quartiles(variant).map(|q| q[1])
    }

    fn quartiles(&self, variant: &str) -> Option<[f64; 3]> {
        self.overheads
            .iter()
            .find(|(v, _)| *v == variant)
            .map(|(_, q)| *q)
    }
}

/// Measures every variant in rounds: each round times one batch of [`BATCH`] requests per
/// variant, in an order that rotates from round to round. Criterion measures one variant for
/// seconds, then the next, so a slow drift of the machine's speed (frequency, neighbours on a
/// shared host) lands on one variant's median and not another's, and their difference, the
/// overhead, moves by several nanoseconds from run to run. Differences taken within one round
/// cancel that drift.
fn paired(name: &str, head: &RequestHead, variants: &mut [Variant<'_>]) -> Paired {
    let n = variants.len();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(PAIRED_ROUNDS); n];
    let mut batch: Vec<Request<Bytes>> = Vec::with_capacity(BATCH as usize);
    for round in 0..PAIRED_ROUNDS {
        for k in 0..n {
            let v = (round + k) % n;
            batch.extend((0..BATCH).map(|_| head.build()));
            let svc = &mut variants[v].1;
            // A few requests first, untimed, so that the batch does not pay for bringing this
            // variant's code back into the caches after the other variants ran.
            for _ in 0..PAIRED_WARM_REQUESTS {
                drop(svc(head.build()));
            }
            let start = Instant::now();
            for request in batch.drain(..) {
                let response = svc(request);
                std::hint::black_box(response.status());
                drop(response);
            }
            let ns = start.elapsed().as_nanos() as f64 / BATCH as f64;
            if round >= PAIRED_WARM_UP {
                times[v].push(ns);
            }
        }
    }
    let bare = variants
        .iter()
        .position(|(v, _)| *v == "bare")
        .expect("a bare variant");
    let overheads = (0..n)
        .filter(|&v| v != bare)
        .map(|v| {
            let mut diffs: Vec<f64> = times[v]
                .iter()
                .zip(&times[bare])
                .map(|(t, b)| t - b)
                .collect();
            diffs.sort_by(f64::total_cmp);
            let at = |q: f64| diffs[((diffs.len() - 1) as f64 * q).round() as usize];
            (variants[v].0, [at(0.25), at(0.5), at(0.75)])
        })
        .collect();
    let paired = Paired { overheads };
    if let (Some(c), Some(h)) = (paired.median("tower-cors"), paired.median("tower-http")) {
        println!(
            "{name}: paired overheads tower-cors {c:.1} ns, tower-http {h:.1} ns, ratio {:.3}",
            c / h
        );
    }
    paired
}

/// The allowed origin of an `Origins` source: the last one configured, so that a linear scan
/// pays its worst case (which is also what every disallowed origin pays).
fn allowed_origin(origins: Origins) -> String {
    match origins {
        Origins::Exact(n) => exact_origin(n - 1),
        Origins::Patterns(n) => format!("https://app.tenant{}.example.net", n - 1),
        Origins::Predicate | Origins::AsyncPredicate => "https://app7.example.com".to_owned(),
    }
}

const ONE_MIB: usize = 1 << 20;

/// `len` bytes of `unit` repeated (cut to length).
fn repeated(unit: &[u8], len: usize) -> Vec<u8> {
    unit.iter().copied().cycle().take(len).collect()
}

/// Every group, in the order of the summary table. The 3-origin policy of the headline
/// scenarios is `exact_3`'s.
fn groups() -> Vec<Group> {
    let three = Origins::Exact(3);
    let origin = allowed_origin(three);
    let headline = [
        ("get_allowed", RequestHead::get(Some(&origin))),
        (
            "preflight_allowed",
            RequestHead::preflight(&origin, b"content-type, authorization"),
        ),
        (
            "get_disallowed",
            RequestHead::get(Some("https://evil.example.org")),
        ),
        ("get_no_origin", RequestHead::get(None)),
    ];
    let mut groups: Vec<Group> = headline
        .into_iter()
        .map(|(name, head)| Group {
            floor: true,
            sets: matches!(name, "get_allowed" | "preflight_allowed"),
            ..Group::new(name, three, head)
        })
        .collect();
    for n in [1000, 10_000] {
        let o = Origins::Exact(n);
        groups.push(Group::new(
            format!("exact_{n}"),
            o,
            RequestHead::get(Some(&allowed_origin(o))),
        ));
    }
    for n in [3, 1000, 10_000] {
        let o = Origins::Patterns(n);
        groups.push(Group::new(
            format!("patterns_{n}"),
            o,
            RequestHead::get(Some(&allowed_origin(o))),
        ));
    }
    for (name, unit) in [
        ("hostile_commas", &b","[..]),
        ("hostile_spaces", b" "),
        ("hostile_repeated", b"content-type,"),
    ] {
        let head = RequestHead::preflight(&origin, &repeated(unit, ONE_MIB));
        groups.push(Group::new(name, three, head));
    }
    for (name, o) in [
        ("predicate", Origins::Predicate),
        ("async_predicate", Origins::AsyncPredicate),
    ] {
        groups.push(Group::new(
            name,
            o,
            RequestHead::get(Some(&allowed_origin(o))),
        ));
    }
    for n in [3, 1000] {
        let o = Origins::Exact(n);
        groups.push(Group {
            drive_by: Drive::CloneOneshot,
            ..Group::new(
                format!("clone_oneshot_{n}"),
                o,
                RequestHead::get(Some(&allowed_origin(o))),
            )
        });
    }
    groups
}

// ---------------------------------------------------------------------------------------------
// The summary.

fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
            PathBuf::from,
        )
        .join("criterion")
}

/// The median (ns) criterion saved for `group/variant`, if this run wrote it.
fn median(group: &str, variant: &str, since: SystemTime) -> Option<f64> {
    let path = criterion_home()
        .join(group)
        .join(variant)
        .join("new")
        .join("estimates.json");
    let fresh = std::fs::metadata(&path).ok()?.modified().ok()? >= since;
    if !fresh {
        return None;
    }
    // `{"mean":{...},"median":{"confidence_interval":{...},"point_estimate":123.4,...},...}`
    let json = std::fs::read_to_string(&path).ok()?;
    let after = &json[json.find("\"median\"")?..];
    let after = &after[after.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = after.find([',', '}'])?;
    after[..end].trim().parse().ok()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else {
        format!("{ns:.1} ns")
    }
}

/// The overhead of each variant over `bare` in one group, from this run's medians.
struct Row<'p> {
    name: String,
    bare: f64,
    cors: f64,
    http: f64,
    floor: Option<f64>,
    paired: &'p Paired,
}

impl<'p> Row<'p> {
    fn read(name: &str, since: SystemTime, paired: &'p Paired) -> Option<Self> {
        let [bare, cors, http] =
            ["bare", "tower-cors", "tower-http"].map(|v| median(name, v, since));
        Some(Row {
            name: name.to_owned(),
            bare: bare?,
            cors: cors?,
            http: http?,
            floor: median(name, "floor", since),
            paired,
        })
    }

    /// tower-cors's paired overhead.
    fn cors_overhead(&self) -> f64 {
        self.paired.median("tower-cors").unwrap_or(f64::NAN)
    }

    /// tower-http's paired overhead.
    fn http_overhead(&self) -> f64 {
        self.paired.median("tower-http").unwrap_or(f64::NAN)
    }
}

/// `median (first quartile–third quartile)` of a paired overhead.
fn fmt_quartiles(q: [f64; 3]) -> String {
    format!("{} ({:.0}–{:.0})", fmt_ns(q[1]), q[0], q[2])
}

fn summary(groups: &[(String, Paired)], since: SystemTime) -> String {
    let rows: Vec<Row> = groups
        .iter()
        .filter_map(|(n, p)| Row::read(n, since, p))
        .collect();
    let mut out = String::new();
    if rows.is_empty() {
        return out;
    }
    out.push_str(
        "Paired overheads (ns per request; median over rounds, quartiles in brackets):\n\n\
         | scenario | tower-cors − bare | tower-http − bare | ratio | floor − bare | floor ratio |\n\
         | --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for row in &rows {
        let q = |v| {
            row.paired
                .quartiles(v)
                .map_or("–".to_owned(), fmt_quartiles)
        };
        let floor = row.paired.median("floor");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.3} | {} | {} |",
            row.name,
            q("tower-cors"),
            q("tower-http"),
            row.cors_overhead() / row.http_overhead(),
            floor.map_or(String::new(), fmt_ns),
            floor.map_or(String::new(), |f| format!("{:.3}", f / row.http_overhead())),
        );
    }
    out.push_str(
        "\nCriterion medians (overhead = median − bare's median):\n\n\
         | scenario | bare | tower-cors | tower-http | tower-cors − bare | tower-http − bare | ratio | floor − bare | floor ratio |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for row in &rows {
        let (oc, oh) = (row.cors - row.bare, row.http - row.bare);
        let (floor, floor_ratio) = row.floor.map_or(("".to_owned(), "".to_owned()), |f| {
            (fmt_ns(f - row.bare), format!("{:.3}", (f - row.bare) / oh))
        });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:.3} | {floor} | {floor_ratio} |",
            row.name,
            fmt_ns(row.bare),
            fmt_ns(row.cors),
            fmt_ns(row.http),
            fmt_ns(oc),
            fmt_ns(oh),
            oc / oh,
        );
    }

    // Origin-count scaling: the 3-origin exact policy is the headline `get_allowed` group's.
    let overhead = |group: &str, layer: &str| {
        let row = rows.iter().find(|r| r.name == group)?;
        row.paired.median(layer)
    };
    let mut scaling = String::new();
    for (kind, three) in [("exact", "get_allowed"), ("patterns", "patterns_3")] {
        for layer in ["tower-cors", "tower-http"] {
            let of = layer;
            let Some(base) = overhead(three, of) else {
                continue;
            };
            let cells: Vec<String> = ["1000", "10000"]
                .iter()
                .map(|n| {
                    overhead(&format!("{kind}_{n}"), of).map_or("–".to_owned(), |o| {
                        format!("{} ({:.2}×)", fmt_ns(o), o / base)
                    })
                })
                .collect();
            let _ = writeln!(
                scaling,
                "| {kind} | {layer} | {} | {} | {} |",
                fmt_ns(base),
                cells[0],
                cells[1]
            );
        }
    }
    if !scaling.is_empty() {
        out.push_str(
            "\nPaired overhead over bare by number of allowed origins (× = relative to 3 origins):\n\n\
             | origins | layer | 3 | 1000 | 10 000 |\n| --- | --- | ---: | ---: | ---: |\n",
        );
        out.push_str(&scaling);
    }

    // Policy sets and shadow evaluation, against the single policy of the same group and run.
    let mut sets = String::new();
    for row in &rows {
        let p = row.paired;
        let Some(single) = p
            .median("tower-cors")
            .filter(|_| p.median("set-3").is_some())
        else {
            continue;
        };
        let cell = |v: &str| {
            p.median(v).map_or("–".to_owned(), |o| {
                format!("{} ({:.2}×)", fmt_ns(o), o / single)
            })
        };
        let hosts = match (p.median("hosts-3"), p.median("hosts-1000")) {
            (Some(three), Some(thousand)) => format!("{:.2}", thousand / three),
            _ => "–".to_owned(),
        };
        let floor = p
            .median("floor")
            .map_or("–".to_owned(), |f| format!("{:.2}", single / f));
        let _ = writeln!(
            sets,
            "| {} | {} | {floor} | {} | {} | {} | {} | {hosts} |",
            row.name,
            fmt_ns(single),
            cell("set-3"),
            cell("shadow-100"),
            cell("hosts-3"),
            cell("hosts-1000"),
        );
    }
    if !sets.is_empty() {
        out.push_str(
            "\nPolicy sets and shadow evaluation, paired overhead over bare (× = relative to the \
             single policy; single ÷ floor = the single policy's overhead over the floor's):\n\n\
             | scenario | single | single ÷ floor | set-3 (by origin) | shadow-100 | hosts-3 | hosts-1000 | 1000 ÷ 3 hosts |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        out.push_str(&sets);
    }
    out
}

fn main() {
    let since = SystemTime::now();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let measured: Vec<(String, Paired)> = groups()
        .iter()
        .filter_map(|group| Some((group.name.clone(), group.run(&mut c)?)))
        .collect();
    c.final_summary();

    let table = summary(&measured, since);
    if table.is_empty() {
        return;
    }
    println!(
        "\noverhead = variant − bare; ratio = tower-cors overhead / tower-http overhead; floor ="
    );
    println!("the least any layer writing the same headers can cost (see `Floor`).\n");
    println!("{table}");
    let path = criterion_home().join("cors-summary.md");
    if std::fs::create_dir_all(criterion_home()).is_ok() && std::fs::write(&path, &table).is_ok() {
        println!("(written to {})", path.display());
    }
}
