//! A model of the CORS protocol written from the specifications, independent of the crate's code.
//!
//! - [`expected`] is what SPEC.md says the layer decides for a policy and a request head.
//! - [`browser_accepts`] is what a browser checks on the answer: the Fetch standard's CORS check
//!   and the checks of its CORS-preflight fetch. It never looks at the policy.
//! - [`check`] runs a request through the real layer's answer and asserts the invariants: the
//!   browser accepts exactly when the policy allows, at most one `Access-Control-Allow-Origin`, a
//!   refused request carries no `Access-Control-*` header, the inner service is called exactly
//!   when the contract says, and the `Vary` rules.
//!
//! Shared by `tests/browser_model.rs`, `tests/hostile.rs` and the `layer` fuzz target, which
//! include this file by path; each uses a different part of it.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use tower_cors::{CorsLayer, MAX_REQUEST_HEADERS_BYTES, MAX_REQUEST_HEADER_NAMES};
use tower_layer::Layer;
use tower_service::Service;

// ---------------------------------------------------------------------------------------------
// Policies

/// The port part of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRule {
    /// No port written: only origins without a port match.
    Default,
    /// `:N`.
    Exact(u16),
    /// `:*`: any port a browser can send, or none.
    Any,
}

/// One `allow_origins` item, kept structured so the model can match without the crate's parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginRule {
    /// An exact serialized origin, matched byte for byte.
    Exact(&'static str),
    /// `scheme://*.base[:port]`: one or more labels before `base`.
    Subdomains {
        scheme: &'static str,
        base: &'static str,
        port: PortRule,
    },
    /// `scheme://host:*`.
    AnyPort {
        scheme: &'static str,
        host: &'static str,
    },
}

impl OriginRule {
    /// The item as passed to `allow_origins`.
    pub fn config(&self) -> String {
        match self {
            OriginRule::Exact(origin) => (*origin).to_owned(),
            OriginRule::Subdomains { scheme, base, port } => {
                let port = match port {
                    PortRule::Default => String::new(),
                    PortRule::Exact(n) => format!(":{n}"),
                    PortRule::Any => ":*".to_owned(),
                };
                format!("{scheme}://*.{base}{port}")
            }
            OriginRule::AnyPort { scheme, host } => format!("{scheme}://{host}:*"),
        }
    }

    fn matches(&self, origin: &[u8]) -> bool {
        let (scheme, rest) = match self {
            OriginRule::Exact(exact) => return origin == exact.as_bytes(),
            OriginRule::Subdomains { scheme, .. } | OriginRule::AnyPort { scheme, .. } => {
                let Ok(origin) = std::str::from_utf8(origin) else {
                    return false;
                };
                let Some(rest) = origin
                    .strip_prefix(*scheme)
                    .and_then(|r| r.strip_prefix("://"))
                else {
                    return false;
                };
                (*scheme, rest)
            }
        };
        match self {
            OriginRule::Exact(_) => false,
            OriginRule::AnyPort { host, .. } => match rest.strip_prefix(*host) {
                Some("") => true,
                Some(port) => port
                    .strip_prefix(':')
                    .is_some_and(|p| is_browser_port(scheme, p)),
                None => false,
            },
            OriginRule::Subdomains { base, port, .. } => {
                // Subdomain hosts here are domain names, so the first `:` starts the port.
                let (host, got_port) = match rest.split_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (rest, None),
                };
                let port_ok = match (port, got_port) {
                    (PortRule::Default, None) | (PortRule::Any, None) => true,
                    (PortRule::Exact(n), Some(p)) => p == n.to_string(),
                    (PortRule::Any, Some(p)) => is_browser_port(scheme, p),
                    _ => false,
                };
                // A host no longer than a DNS name (253 bytes), like every host a browser sends.
                let labels_ok = host.len() <= 253
                    && host
                        .strip_suffix(*base)
                        .and_then(|h| h.strip_suffix('.'))
                        .is_some_and(|prefix| prefix.split('.').all(is_dns_label));
                port_ok && labels_ok
            }
        }
    }
}

/// A label as a browser serializes it: lower-case letters, digits, `-`, `_`; never empty.
fn is_dns_label(label: &str) -> bool {
    !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A port as a browser serializes it: 1 to 65535, no leading zero, never the scheme's default.
fn is_browser_port(scheme: &str, port: &str) -> bool {
    let default = match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    };
    !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && !port.starts_with('0')
        && port
            .parse::<u32>()
            .is_ok_and(|n| (1..=65535).contains(&n) && Some(n) != default)
}

/// A user predicate: allows the origins whose bytes end with `suffix` (`null` included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predicate {
    pub is_async: bool,
    pub suffix: &'static [u8],
}

/// A policy, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySpec {
    pub origins: Vec<OriginRule>,
    pub any_origin: bool,
    pub predicate: Option<Predicate>,
    pub methods: Vec<&'static str>,
    pub any_method: bool,
    pub headers: Vec<&'static str>,
    pub any_header: bool,
    pub exposed: Vec<&'static str>,
    pub expose_any: bool,
    pub credentials: bool,
    pub max_age: Option<u64>,
    pub private_network: bool,
    pub preflight_status: u16,
    pub pass_through: bool,
}

impl PolicySpec {
    /// A policy allowing nothing but what the caller adds.
    pub fn new() -> Self {
        PolicySpec {
            origins: Vec::new(),
            any_origin: false,
            predicate: None,
            methods: Vec::new(),
            any_method: false,
            headers: Vec::new(),
            any_header: false,
            exposed: Vec::new(),
            expose_any: false,
            credentials: false,
            max_age: None,
            private_network: false,
            preflight_status: 204,
            pass_through: false,
        }
    }

    /// Builds the real layer. The `danger_*` switches are on so that every combination the
    /// model generates is a valid configuration; they change only what `build()` accepts.
    pub fn build(&self) -> CorsLayer {
        let mut b = CorsLayer::builder()
            .allow_origins(self.origins.iter().map(OriginRule::config))
            .allow_methods(&self.methods)
            .allow_headers(&self.headers)
            .expose_headers(&self.exposed)
            .allow_credentials(self.credentials)
            .allow_private_network(self.private_network)
            .preflight_pass_through(self.pass_through)
            .preflight_status(StatusCode::from_u16(self.preflight_status).expect("a 2xx status"))
            .danger_allow_insecure_origins(true)
            .danger_allow_public_suffix_wildcards(true);
        if self.any_origin {
            b = b.allow_any_origin();
        }
        if self.any_method {
            b = b.allow_any_method();
        }
        if self.any_header {
            b = b.allow_any_header();
        }
        if self.expose_any {
            b = b.expose_any_header();
        }
        if let Some(seconds) = self.max_age {
            b = b.max_age(std::time::Duration::from_secs(seconds));
        }
        if let Some(p) = &self.predicate {
            let suffix = p.suffix;
            b = if p.is_async {
                b.allow_origin_async(move |origin, _| {
                    let yes = origin.as_bytes().ends_with(suffix);
                    async move { yes }
                })
            } else {
                b.allow_origin_fn(move |origin, _| origin.as_bytes().ends_with(suffix))
            };
        }
        match b.build() {
            Ok(layer) => layer,
            Err(e) => panic!("the model generated an invalid policy {self:?}: {e}"),
        }
    }
}

impl Default for PolicySpec {
    fn default() -> Self {
        Self::new()
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

/// What the inner service answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerSpec {
    pub status: u16,
    /// Sets `Access-Control-*` headers of its own (two `Access-Control-Allow-Origin` lines
    /// among them), which the layer must replace or remove on CORS responses.
    pub hostile: bool,
    pub vary: Option<&'static str>,
}

/// A request head, every header line as raw bytes, plus what the browser knows about it.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// A valid method (an HTTP token).
    pub method: Vec<u8>,
    pub origins: Vec<Vec<u8>>,
    pub acrm: Vec<Vec<u8>>,
    pub acrh: Vec<Vec<u8>>,
    pub acrpn: Vec<Vec<u8>>,
    /// Unrelated header lines to add.
    pub extra: usize,
    /// The browser's credentials mode is "include".
    pub credentials: bool,
    pub inner: InnerSpec,
}

/// Whether `bytes` can be a header value (what `HeaderValue::from_bytes` accepts).
pub fn is_header_value(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

impl std::fmt::Debug for RequestSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lines = |v: &[Vec<u8>]| -> Vec<String> {
            v.iter().map(|l| l.escape_ascii().to_string()).collect()
        };
        f.debug_struct("RequestSpec")
            .field("method", &self.method.escape_ascii().to_string())
            .field("origins", &lines(&self.origins))
            .field("acrm", &lines(&self.acrm))
            .field("acrh", &lines(&self.acrh))
            .field("acrpn", &lines(&self.acrpn))
            .field("extra", &self.extra)
            .field("credentials", &self.credentials)
            .field("inner", &self.inner)
            .finish()
    }
}

impl RequestSpec {
    pub fn to_request(&self) -> Request<()> {
        let mut req = Request::new(());
        *req.method_mut() = Method::from_bytes(&self.method).expect("a valid method");
        let h = req.headers_mut();
        let lines = [
            (http::header::ORIGIN, &self.origins),
            (http::header::ACCESS_CONTROL_REQUEST_METHOD, &self.acrm),
            (http::header::ACCESS_CONTROL_REQUEST_HEADERS, &self.acrh),
            (HeaderName::from_static(ACRPN), &self.acrpn),
        ];
        for (name, values) in lines {
            for v in values {
                h.append(
                    name.clone(),
                    HeaderValue::from_bytes(v).expect("a valid header value"),
                );
            }
        }
        for i in 0..self.extra {
            h.append(
                HeaderName::from_static("x-extra"),
                HeaderValue::from(i as u64),
            );
        }
        req
    }
}

const ACRPN: &str = "access-control-request-private-network";
const ACAPN: &str = "access-control-allow-private-network";

// ---------------------------------------------------------------------------------------------
// What SPEC.md says the layer decides

/// The kind of a request (SPEC.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    NotCors,
    Preflight,
    Actual,
}

/// What the layer must do, per SPEC.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub kind: Kind,
    pub origin_allowed: bool,
    /// Preflight: every check passed. Actual: the origin is allowed.
    pub allowed: bool,
    pub inner_called: bool,
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The elements of a comma-separated list spread over several lines, trimmed, empties skipped;
/// `None` if one is not a token.
fn list_elements<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Option<Vec<&'a [u8]>> {
    let mut out = Vec::new();
    for line in lines {
        for element in line.split(|&b| b == b',') {
            let element = trim_ows(element);
            if element.is_empty() {
                continue;
            }
            if !is_token(element) {
                return None;
            }
            out.push(element);
        }
    }
    Some(out)
}

/// The names of `Access-Control-Request-Headers`, or `None` when the list is malformed or over
/// the documented bounds.
fn requested_header_names(lines: &[Vec<u8>]) -> Option<Vec<&[u8]>> {
    let bytes: usize = lines.iter().map(Vec::len).sum();
    if lines.len() > MAX_REQUEST_HEADER_NAMES || bytes > MAX_REQUEST_HEADERS_BYTES {
        return None;
    }
    let names = list_elements(lines.iter().map(Vec::as_slice))?;
    (names.len() <= MAX_REQUEST_HEADER_NAMES).then_some(names)
}

/// The method normalization of the Fetch standard, which SPEC.md applies to configured methods.
fn normalize_method(m: &str) -> String {
    ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]
        .into_iter()
        .find(|n| n.eq_ignore_ascii_case(m))
        .map_or_else(|| m.to_owned(), str::to_owned)
}

fn is_true(value: Option<&Vec<u8>>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case(b"true"))
}

/// SPEC.md §1: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
fn is_preflight(req: &RequestSpec) -> bool {
    req.method == b"OPTIONS" && !req.acrm.is_empty()
}

/// SPEC.md §2: is the origin allowed?
pub fn origin_allowed(policy: &PolicySpec, origin: &[u8]) -> bool {
    policy.any_origin
        || policy.origins.iter().any(|r| r.matches(origin))
        || policy
            .predicate
            .as_ref()
            .is_some_and(|p| origin.ends_with(p.suffix))
}

/// SPEC.md §1, §3 and §4: what the layer must decide.
pub fn expected(policy: &PolicySpec, req: &RequestSpec) -> Expected {
    let Some(origin) = req.origins.first() else {
        return Expected {
            kind: Kind::NotCors,
            origin_allowed: false,
            allowed: false,
            inner_called: true,
        };
    };
    let origin_allowed = origin_allowed(policy, origin);
    if !is_preflight(req) {
        return Expected {
            kind: Kind::Actual,
            origin_allowed,
            allowed: origin_allowed,
            inner_called: true,
        };
    }
    let private_network_ok = !is_true(req.acrpn.first()) || policy.private_network;
    let method = &req.acrm[0];
    let method_ok = is_token(method)
        && (matches!(method.as_slice(), b"GET" | b"HEAD" | b"POST")
            || policy.any_method
            || policy
                .methods
                .iter()
                .any(|m| normalize_method(m).as_bytes() == method.as_slice()));
    let headers_ok = req.acrh.is_empty()
        || requested_header_names(&req.acrh).is_some_and(|names| {
            names.iter().all(|n| {
                policy.any_header
                    || policy
                        .headers
                        .iter()
                        .any(|h| h.as_bytes().eq_ignore_ascii_case(n))
            })
        });
    let allowed = origin_allowed && private_network_ok && method_ok && headers_ok;
    Expected {
        kind: Kind::Preflight,
        origin_allowed,
        allowed,
        inner_called: allowed && policy.pass_through,
    }
}

/// Whether a browser should be able to read the answer: the layer allows the request, the
/// browser's credentials mode is compatible with the policy, and (for a passed-through preflight)
/// the inner service answered with an ok status.
pub fn policy_allows(policy: &PolicySpec, req: &RequestSpec) -> bool {
    let e = expected(policy, req);
    let inner_ok = !(e.kind == Kind::Preflight && policy.pass_through)
        || (200..300).contains(&req.inner.status);
    e.allowed && (!req.credentials || policy.credentials) && inner_ok
}

// ---------------------------------------------------------------------------------------------
// What a browser checks (the Fetch standard), knowing nothing of the policy

/// All lines of `name` joined with `, `, as the Fetch standard's "get" does.
fn get_combined(headers: &HeaderMap, name: &str) -> Option<Vec<u8>> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    let mut out = first.as_bytes().to_vec();
    for v in values {
        out.extend_from_slice(b", ");
        out.extend_from_slice(v.as_bytes());
    }
    Some(out)
}

/// The Fetch standard's CORS check.
fn cors_check(origin: &[u8], credentials: bool, headers: &HeaderMap) -> bool {
    let Some(allow_origin) = get_combined(headers, "access-control-allow-origin") else {
        return false;
    };
    if !credentials && allow_origin == b"*" {
        return true;
    }
    if allow_origin != origin {
        return false;
    }
    if !credentials {
        return true;
    }
    get_combined(headers, "access-control-allow-credentials").as_deref() == Some(b"true")
}

/// "Extracting header list values": `Ok(None)` when absent, `Err` when an element is not a
/// token.
fn extract_list(headers: &HeaderMap, name: &str) -> Result<Option<Vec<Vec<u8>>>, ()> {
    if !headers.contains_key(name) {
        return Ok(None);
    }
    let elements =
        list_elements(headers.get_all(name).iter().map(HeaderValue::as_bytes)).ok_or(())?;
    Ok(Some(elements.into_iter().map(<[u8]>::to_vec).collect()))
}

/// Would a browser accept this answer to this request? For an actual request: the CORS check.
/// For a preflight: the CORS check, an ok status, the method and header checks of the
/// CORS-preflight fetch, and the private-network check.
pub fn browser_accepts(req: &RequestSpec, res: &Response<String>) -> bool {
    let Some(origin) = req.origins.first() else {
        return true;
    };
    let h = res.headers();
    if !cors_check(origin, req.credentials, h) {
        return false;
    }
    if !is_preflight(req) {
        return true;
    }
    if !res.status().is_success() {
        return false;
    }
    let (Ok(methods), Ok(header_names)) = (
        extract_list(h, "access-control-allow-methods"),
        extract_list(h, "access-control-allow-headers"),
    ) else {
        return false;
    };
    let methods = methods.unwrap_or_default();
    let header_names = header_names.unwrap_or_default();
    let method = &req.acrm[0];
    let star = |list: &[Vec<u8>]| list.iter().any(|m| m == b"*");
    let method_ok = methods.iter().any(|m| m == method)
        || matches!(method.as_slice(), b"GET" | b"HEAD" | b"POST")
        || (!req.credentials && star(&methods));
    if !method_ok {
        return false;
    }
    // A browser only ever sends a well-formed list; a malformed one cannot be satisfied.
    let Some(requested) = list_elements(req.acrh.iter().map(Vec::as_slice)) else {
        return false;
    };
    let listed = |name: &[u8]| header_names.iter().any(|n| n.eq_ignore_ascii_case(name));
    for name in requested {
        // `Authorization` is a non-wildcard request-header name: only naming it covers it.
        if name.eq_ignore_ascii_case(b"authorization") && !listed(name) {
            return false;
        }
        if !listed(name) && (req.credentials || !star(&header_names)) {
            return false;
        }
    }
    if is_true(req.acrpn.first()) && get_combined(h, ACAPN).as_deref() != Some(b"true") {
        return false;
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Running the real layer

/// An inner service that counts its calls and answers as `InnerSpec` says, immediately.
#[derive(Clone)]
pub struct Inner {
    spec: InnerSpec,
    calls: Arc<AtomicUsize>,
}

impl Service<Request<()>> for Inner {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut res = Response::new(String::from("inner"));
        *res.status_mut() = StatusCode::from_u16(self.spec.status).expect("a valid status");
        let h = res.headers_mut();
        if self.spec.hostile {
            let evil = HeaderValue::from_static("https://evil.example");
            h.append("access-control-allow-origin", evil.clone());
            h.append("access-control-allow-origin", evil);
            h.insert(
                "access-control-allow-credentials",
                HeaderValue::from_static("true"),
            );
            h.insert(
                "access-control-allow-methods",
                HeaderValue::from_static("*"),
            );
            h.insert(
                "access-control-allow-headers",
                HeaderValue::from_static("*"),
            );
            h.insert(
                "access-control-expose-headers",
                HeaderValue::from_static("*"),
            );
        }
        if let Some(vary) = self.spec.vary {
            h.insert(http::header::VARY, HeaderValue::from_static(vary));
        }
        std::future::ready(Ok(res))
    }
}

struct NoopWake;

// `Waker::noop` is newer than the crate's minimum supported Rust version.
#[allow(unknown_lints, clippy::manual_noop_waker)]
impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// Polls a future that must complete at once (every predicate of the model is ready at once).
pub fn now<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    match pin!(future).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a future of the model did not complete at once"),
    }
}

/// Sends `req` through `layer` around an [`Inner`]; returns the answer and the inner calls.
pub fn run(layer: &CorsLayer, req: &RequestSpec) -> (Response<String>, usize) {
    run_request(layer, &req.inner, req.to_request())
}

/// Like [`run`], with the request already built (to measure the exchange alone).
pub fn run_request(
    layer: &CorsLayer,
    inner: &InnerSpec,
    request: Request<()>,
) -> (Response<String>, usize) {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut svc = layer.layer(Inner {
        spec: inner.clone(),
        calls: calls.clone(),
    });
    let res = now(async {
        std::future::poll_fn(|cx| svc.poll_ready(cx)).await?;
        svc.call(request).await
    });
    let res = match res {
        Ok(res) => res,
        Err(never) => match never {},
    };
    (res, calls.load(Ordering::SeqCst))
}

// ---------------------------------------------------------------------------------------------
// Invariants

fn vary_tokens(h: &HeaderMap) -> Vec<String> {
    h.get_all(http::header::VARY)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(|t| String::from_utf8_lossy(trim_ows(t)).to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

fn count(tokens: &[String], token: &str) -> usize {
    tokens
        .iter()
        .filter(|t| t.eq_ignore_ascii_case(token))
        .count()
}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Checks one answer of the real layer against the model. `Err` says what is wrong.
pub fn check(
    policy: &PolicySpec,
    req: &RequestSpec,
    res: &Response<String>,
    calls: usize,
) -> Result<(), String> {
    let e = expected(policy, req);
    let h = res.headers();
    let cors_names: Vec<&str> = h
        .keys()
        .map(HeaderName::as_str)
        .filter(|n| n.starts_with("access-control-"))
        .collect();
    let acao: Vec<&HeaderValue> = h.get_all("access-control-allow-origin").iter().collect();
    let inner_answered = e.inner_called;

    ensure!(
        calls == usize::from(e.inner_called),
        "inner service called {calls} times, expected {} ({e:?})",
        usize::from(e.inner_called)
    );
    if inner_answered {
        ensure!(
            res.status().as_u16() == req.inner.status && res.body() == "inner",
            "the inner status or body was not kept: {} {:?}",
            res.status(),
            res.body()
        );
    } else {
        ensure!(
            res.body().is_empty(),
            "a layer answer has a body: {:?}",
            res.body()
        );
    }

    // At most one ACAO line on every CORS answer, and on every answer of an any-origin policy.
    if e.kind != Kind::NotCors || policy.any_origin || !req.inner.hostile {
        ensure!(
            acao.len() <= 1,
            "{} Access-Control-Allow-Origin lines",
            acao.len()
        );
    }
    if let Some(value) = acao.first() {
        if e.kind != Kind::NotCors {
            let want: &[u8] = if policy.any_origin {
                b"*"
            } else {
                &req.origins[0]
            };
            ensure!(
                value.as_bytes() == want,
                "ACAO is {value:?}, not the request's origin or `*`"
            );
        }
    }
    let acac = get_combined(h, "access-control-allow-credentials");

    match e.kind {
        Kind::NotCors => {
            if policy.any_origin {
                ensure!(
                    acao.len() == 1 && acao[0] == "*",
                    "an any-origin policy answered a request without Origin with ACAO {acao:?}"
                );
            } else if !req.inner.hostile {
                ensure!(
                    cors_names.is_empty(),
                    "a non-CORS answer has {cors_names:?}"
                );
            }
        }
        Kind::Preflight if !e.allowed => {
            ensure!(
                res.status() == StatusCode::FORBIDDEN,
                "refused preflight got {}",
                res.status()
            );
            ensure!(
                cors_names.is_empty(),
                "refused preflight carries {cors_names:?}"
            );
        }
        Kind::Actual if !e.allowed => {
            ensure!(
                cors_names.is_empty(),
                "refused request carries {cors_names:?}"
            );
        }
        Kind::Preflight | Kind::Actual => {
            ensure!(
                acao.len() == 1,
                "allowed request without exactly one ACAO: {acao:?}"
            );
            ensure!(
                acac.as_deref() == policy.credentials.then_some(&b"true"[..]),
                "ACAC is {acac:?} with credentials {}",
                policy.credentials
            );
            if e.kind == Kind::Preflight {
                if !policy.pass_through {
                    ensure!(
                        res.status().as_u16() == policy.preflight_status,
                        "accepted preflight got {}",
                        res.status()
                    );
                }
                let max_age = get_combined(h, "access-control-max-age");
                let want = policy.max_age.map(|s| s.to_string().into_bytes());
                ensure!(max_age == want, "ACMA is {max_age:?}, expected {want:?}");
                ensure!(
                    h.contains_key("access-control-allow-methods"),
                    "accepted preflight without ACAM"
                );
                ensure!(
                    !h.contains_key("access-control-expose-headers"),
                    "a preflight answer carries ACEH"
                );
            } else {
                let aceh = get_combined(h, "access-control-expose-headers");
                let exposes = policy.expose_any || !policy.exposed.is_empty();
                ensure!(aceh.is_some() == exposes, "ACEH is {aceh:?}");
                for name in [
                    "access-control-allow-methods",
                    "access-control-allow-headers",
                ] {
                    ensure!(!h.contains_key(name), "an actual response carries {name}");
                }
            }
        }
    }

    // Vary (SPEC.md §5).
    let vary = vary_tokens(h);
    let star = count(&vary, "*") > 0;
    let inner_vary: Vec<String> = req
        .inner
        .vary
        .filter(|_| inner_answered || e.kind != Kind::Preflight)
        .map(|v| vec![v.to_ascii_lowercase()])
        .unwrap_or_default();
    for token in &inner_vary {
        ensure!(
            count(&vary, token) >= 1,
            "the inner Vary {token:?} was dropped: {vary:?}"
        );
    }
    for (i, token) in vary.iter().enumerate() {
        ensure!(
            !vary[..i].contains(token),
            "Vary names {token:?} twice: {vary:?}"
        );
    }
    let inner_has_origin = count(&inner_vary, "origin") > 0;
    if e.kind == Kind::Preflight
        && !(e.allowed && policy.pass_through && req.inner.vary == Some("*"))
    {
        for token in [
            "access-control-request-method",
            "access-control-request-headers",
        ] {
            ensure!(
                count(&vary, token) == 1,
                "preflight Vary lacks {token}: {vary:?}"
            );
        }
        ensure!(
            (count(&vary, "origin") == 1) == (!policy.any_origin || inner_has_origin),
            "preflight Vary and Origin: {vary:?}"
        );
        ensure!(
            (count(&vary, ACRPN) == 1) == policy.private_network,
            "preflight Vary and private network: {vary:?}"
        );
    } else if e.kind != Kind::Preflight {
        if policy.any_origin {
            ensure!(
                count(&vary, "origin") == usize::from(inner_has_origin),
                "an any-origin policy added Vary: Origin: {vary:?}"
            );
        } else {
            ensure!(
                count(&vary, "origin") == 1 || star,
                "an origin-dependent answer lacks Vary: Origin: {vary:?}"
            );
        }
    }

    // The browser reads the answer exactly when the policy allows the request.
    if e.kind != Kind::NotCors {
        let accepts = browser_accepts(req, res);
        let allows = policy_allows(policy, req);
        ensure!(
            accepts == allows,
            "browser accepts: {accepts}, policy allows: {allows} ({e:?})\nanswer: {} {:?}",
            res.status(),
            res.headers()
        );
    }
    Ok(())
}
