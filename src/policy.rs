//! The compiled, immutable policy and its pure decision function.
//!
//! Everything a response needs is precomputed here at build time (joined lists, header values),
//! so that [`Policy::evaluate`] only looks things up and borrows.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{HeaderMap, Method, Request, StatusCode};
use smallvec::SmallVec;

use crate::decision::{
    AllowHeaders, CorsHeaders, Decision, Reason, Rejection, VaryFlags, REQUEST_PRIVATE_NETWORK,
};
use crate::header_list::{self, eq_lower, Lines, ScanError};
use crate::origin::OriginMatcher;

/// A synchronous origin predicate.
pub(crate) type OriginFn = Box<dyn Fn(&HeaderValue, &Parts) -> bool + Send + Sync>;
/// The boxed future of an asynchronous origin predicate.
pub(crate) type BoolFuture = Pin<Box<dyn Future<Output = bool> + Send>>;
/// An asynchronous origin predicate.
pub(crate) type AsyncOriginFn = Box<dyn Fn(HeaderValue, &Parts) -> BoolFuture + Send + Sync>;

/// A set of header names compared ASCII-case-insensitively, stored in lower case.
///
/// The usual handful of allowed headers is scanned (lengths are compared first, so most
/// misses cost one comparison each), which beats hashing a name; larger sets are hashed.
#[derive(Default)]
pub(crate) struct CaselessSet {
    names: Vec<Box<[u8]>>,
    /// Indexes into `names`, by caseless hash; used past [`CaselessSet::SCAN_UP_TO`] names.
    table: HashTable<usize>,
    hasher: RandomState,
}

impl CaselessSet {
    const SCAN_UP_TO: usize = 8;

    pub(crate) fn insert(&mut self, name: &str) {
        if self.contains(name.as_bytes()) {
            return;
        }
        let lower = name.to_ascii_lowercase().into_bytes().into_boxed_slice();
        let hash = caseless_hash(&self.hasher, &lower);
        let (names, hasher) = (&self.names, &self.hasher);
        self.table
            .insert_unique(hash, names.len(), |&i| caseless_hash(hasher, &names[i]));
        self.names.push(lower);
    }

    pub(crate) fn contains(&self, name: &[u8]) -> bool {
        if self.names.len() <= Self::SCAN_UP_TO {
            return self.names.iter().any(|n| eq_lower(n, name));
        }
        let hash = caseless_hash(&self.hasher, name);
        self.table
            .find(hash, |&i| eq_lower(&self.names[i], name))
            .is_some()
    }
}

/// A hash under which names equal ignoring ASCII case collide: each byte is ORed with `0x20`,
/// which maps an upper-case letter onto its lower case (and leaves the two equal otherwise),
/// eight bytes at a time.
fn caseless_hash(hasher: &RandomState, name: &[u8]) -> u64 {
    const CASE_BITS: u64 = 0x2020_2020_2020_2020;
    let mut h = hasher.build_hasher();
    let mut words = name.chunks_exact(8);
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        h.write_u64(u64::from_le_bytes(bytes) | CASE_BITS);
    }
    let rest = words.remainder();
    let mut bytes = [0u8; 8];
    bytes[..rest.len()].copy_from_slice(rest);
    h.write_u64(u64::from_le_bytes(bytes) | CASE_BITS);
    h.write_usize(name.len());
    h.finish()
}

/// Values precomputed at build time, borrowed by every decision.
pub(crate) struct Precomputed {
    pub(crate) star: HeaderValue,
    pub(crate) true_: HeaderValue,
    pub(crate) star_authorization: HeaderValue,
    pub(crate) allow_methods: HeaderValue,
    pub(crate) allow_headers: Option<HeaderValue>,
    pub(crate) expose_headers: Option<HeaderValue>,
    pub(crate) max_age: Option<HeaderValue>,
    pub(crate) vary_preflight: HeaderValue,
    pub(crate) vary_preflight_flags: VaryFlags,
    /// `Vary` of every response but a preflight's: `Origin` unless any origin is allowed, and
    /// what a policy set's selection depends on.
    pub(crate) vary_actual: Option<HeaderValue>,
    pub(crate) vary_actual_flags: VaryFlags,
}

/// A compiled CORS policy.
pub(crate) struct Policy {
    pub(crate) any_origin: bool,
    pub(crate) origins: OriginMatcher,
    pub(crate) origin_fns: Vec<OriginFn>,
    pub(crate) origin_async: Vec<AsyncOriginFn>,
    pub(crate) credentials: bool,
    pub(crate) any_method: bool,
    /// Normalized method names, byte-exact.
    pub(crate) methods: SmallVec<[Box<[u8]>; 8]>,
    pub(crate) any_header: bool,
    pub(crate) headers: CaselessSet,
    pub(crate) private_network: bool,
    pub(crate) preflight_status: StatusCode,
    pub(crate) pass_through: bool,
    pub(crate) values: Precomputed,
    /// Preflight answers written out once (see [`Policy::prebuild_answers`]).
    pub(crate) prebuilt: Prebuilt,
    /// Its name in decisions, events and metrics.
    pub(crate) name: std::sync::Arc<str>,
}

/// Which `Access-Control-Allow-Headers` an accepted preflight's answer carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AllowHeadersKind {
    /// None: the preflight named no request headers.
    None,
    /// The configured list.
    Configured,
    /// `*` (any header, without credentials).
    Star,
    /// `*, authorization` (any header without credentials, `authorization` asked for).
    StarAuthorization,
    /// The request's own list (any header, with credentials): never prebuilt.
    Echo,
}

/// The header maps of preflight answers, written once when the policy is built, with an empty
/// `Access-Control-Allow-Origin` first for the answer to fill in. An answer clones one: copying
/// a map's table costs less than hashing each name into a new one.
#[derive(Default)]
pub(crate) struct Prebuilt {
    /// Accepted answers, by [`Prebuilt::slot`]; `None` for those the policy never gives.
    accepted: [Option<HeaderMap>; 8],
    /// The refused answer (`Vary` only).
    refused: Option<HeaderMap>,
}

impl Prebuilt {
    /// Where the answer for `kind` is kept; `None` for an echoed list, which is never prebuilt.
    fn slot(kind: AllowHeadersKind, private_network: bool) -> Option<usize> {
        let kind = match kind {
            AllowHeadersKind::Echo => return None,
            kind => kind as usize,
        };
        Some(kind * 2 + usize::from(private_network))
    }

    fn accepted(&self, kind: AllowHeadersKind, private_network: bool) -> Option<&HeaderMap> {
        self.accepted[Self::slot(kind, private_network)?].as_ref()
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy").finish_non_exhaustive()
    }
}

/// Makes a header value from a string built at build time, so that every copy made per request
/// is a pointer copy: never an allocation, and not even a reference-count update.
///
/// A reference-counted value would cost two atomic read-modify-writes per response (copy and
/// drop), on a counter that every core serving requests shares. So values are interned with a
/// `'static` lifetime instead: each distinct value is stored once for the life of the process,
/// however many policies (or reloads) use it. Past [`INTERN_LIMIT`] bytes in all, values are
/// reference-counted instead, so that building policies from ever-new values cannot grow
/// memory without bound.
pub(crate) fn shared_value(s: String) -> HeaderValue {
    if let Some(value) = interned_value(&s) {
        return value;
    }
    let bytes = Bytes::from(s);
    // The first clone of a `Bytes` made from a `Vec` moves it to shared storage; do it now
    // rather than on the first request.
    drop(bytes.clone());
    HeaderValue::from_maybe_shared(bytes).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The interned, `'static` header value for `s`, if it is one already or there is room left to
/// intern it; `None` if `s` is not a valid header value or the budget is spent.
pub(crate) fn interned_value(s: &str) -> Option<HeaderValue> {
    let interned = intern(s)?;
    HeaderValue::from_maybe_shared(Bytes::from_static(interned.as_bytes())).ok()
}

/// The most bytes [`interned_value`] interns over the life of the process.
const INTERN_LIMIT: usize = 1024 * 1024;

/// Returns the interned copy of `s`, interning it if there is room.
fn intern(s: &str) -> Option<&'static str> {
    struct Interned {
        values: hashbrown::HashSet<&'static str, RandomState>,
        bytes: usize,
    }
    static INTERNED: Mutex<Option<Interned>> = Mutex::new(None);
    let mut guard = INTERNED.lock().unwrap_or_else(PoisonError::into_inner);
    let interned = guard.get_or_insert_with(|| Interned {
        values: Default::default(),
        bytes: 0,
    });
    if let Some(found) = interned.values.get(s) {
        return Some(found);
    }
    if interned.bytes + s.len() > INTERN_LIMIT {
        return None;
    }
    interned.bytes += s.len();
    let value: &'static str = Box::leak(s.into());
    interned.values.insert(value);
    Some(value)
}

/// What [`Policy::evaluate`] reads from a request: the method, the headers, and the whole head
/// for the origin predicates.
///
/// The service evaluates a `Request` where it stands, because taking its head out and putting
/// it back costs more than the rest of the decision; predicates take a `Parts`, so a policy
/// with synchronous predicates is evaluated on one (see [`Policy::needs_parts`]).
pub(crate) trait RequestHead {
    fn method(&self) -> &Method;
    fn uri(&self) -> &http::Uri;
    fn headers(&self) -> &HeaderMap;
    /// The head for the predicates; `None` for a `Request`.
    fn parts(&self) -> Option<&Parts>;
}

impl RequestHead for Parts {
    fn method(&self) -> &Method {
        &self.method
    }

    fn uri(&self) -> &http::Uri {
        &self.uri
    }

    fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    fn parts(&self) -> Option<&Parts> {
        Some(self)
    }
}

impl<B> RequestHead for Request<B> {
    fn method(&self) -> &Method {
        self.method()
    }

    fn uri(&self) -> &http::Uri {
        self.uri()
    }

    fn headers(&self) -> &HeaderMap {
        self.headers()
    }

    fn parts(&self) -> Option<&Parts> {
        None
    }
}

/// Up to this many header names, [`Asked::read`] compares names rather than hashing them.
const SCAN_HEADERS_UP_TO: usize = 32;

/// What a preflight asks for: its `Access-Control-Request-*` headers.
struct Asked<'a> {
    method: &'a HeaderValue,
    private_network: Option<&'a HeaderValue>,
    headers: Option<Lines<'a>>,
}

impl<'a> Asked<'a> {
    /// Reads an `OPTIONS` request's `Origin` and preflight headers; no [`Asked`] without
    /// `Access-Control-Request-Method` (not a preflight). First lines count.
    ///
    /// One pass compares the names: the map's lookups hash a name a byte at a time, each byte a
    /// multiply in one dependency chain (sixteen for a standard name's tag, over fifty for the
    /// private-network name), which takes longer than comparing each of the dozen or two names
    /// a browser's preflight carries (a standard name differs by its tag, a custom one by its
    /// length, almost always). Past [`SCAN_HEADERS_UP_TO`] names the map's lookups are used, so
    /// the cost stays bounded whatever the request.
    fn read(headers: &'a HeaderMap) -> (Option<&'a HeaderValue>, Option<Self>) {
        if headers.keys_len() > SCAN_HEADERS_UP_TO {
            let lines = headers.get_all(header::ACCESS_CONTROL_REQUEST_HEADERS);
            let asked = headers
                .get(header::ACCESS_CONTROL_REQUEST_METHOD)
                .map(|method| Asked {
                    method,
                    private_network: headers.get(REQUEST_PRIVATE_NETWORK),
                    headers: lines.iter().next().is_some().then_some(Lines::All(lines)),
                });
            return (headers.get(header::ORIGIN), asked);
        }
        let (mut origin, mut method, mut private_network) = (None, None, None);
        let (mut first_line, mut more_lines) = (None, false);
        for (name, value) in headers {
            if name == header::ORIGIN {
                origin = origin.or(Some(value));
            } else if name == header::ACCESS_CONTROL_REQUEST_METHOD {
                method = method.or(Some(value));
            } else if name == header::ACCESS_CONTROL_REQUEST_HEADERS {
                more_lines |= first_line.is_some();
                first_line = first_line.or(Some(value));
            } else if *name == REQUEST_PRIVATE_NETWORK {
                private_network = private_network.or(Some(value));
            }
        }
        let headers = match first_line {
            None => None,
            Some(line) if !more_lines => Some(Lines::One(line)),
            Some(_) => Some(Lines::All(
                headers.get_all(header::ACCESS_CONTROL_REQUEST_HEADERS),
            )),
        };
        let asked = method.map(|method| Asked {
            method,
            private_network,
            headers,
        });
        (origin, asked)
    }
}

impl Policy {
    /// Whether [`evaluate`](Self::evaluate) needs a `Parts` (rather than a `Request`): when
    /// synchronous origin predicates may have to be asked.
    pub(crate) fn needs_parts(&self) -> bool {
        !self.origin_fns.is_empty()
    }

    /// Decides what to do with a request head. `origin_answer` is the asynchronous predicate's
    /// verdict, once known. A head without `Parts` must only be given when
    /// [`needs_parts`](Self::needs_parts) is false.
    ///
    /// Always inlined: with a policy set's path calling it too, the compiler would otherwise
    /// keep one shared copy, and the single-policy `call` would pay a call and a decision
    /// written to memory and read back.
    #[inline(always)]
    pub(crate) fn evaluate<'a, H: RequestHead>(
        &'a self,
        head: &'a H,
        origin_answer: Option<bool>,
    ) -> Decision<'a> {
        let headers = head.headers();
        let (origin, asked) = if head.method() == Method::OPTIONS {
            Asked::read(headers)
        } else {
            (headers.get(header::ORIGIN), None)
        };
        let Some(origin) = origin else {
            return Decision::NotCors {
                headers: self.not_cors_headers(),
            };
        };
        // The value to send back: the configured copy of a listed origin when it has one,
        // else the request's own.
        let mut allow_origin = origin;
        let allowed = if self.any_origin {
            true
        } else if let Some(listed) = self.origins.find(origin.as_bytes()) {
            allow_origin = listed.unwrap_or(origin);
            true
        } else if self.needs_parts() && self.ask_predicates(origin, head) {
            true
        } else if let Some(answer) = origin_answer {
            answer
        } else if !self.origin_async.is_empty() {
            return Decision::OriginPending;
        } else {
            false
        };
        if let Some(asked) = asked {
            self.preflight(headers, origin, allow_origin, asked, allowed)
        } else if allowed {
            Decision::ActualAllowed {
                headers: self.actual_headers(allow_origin),
            }
        } else {
            Decision::ActualDenied(Rejection {
                origin,
                reason: Reason::OriginNotAllowed,
                headers: self.denied_headers(),
            })
        }
    }

    /// Whether the origin is allowed by anything synchronous: any-origin, the lists and
    /// patterns, the synchronous predicates (for a policy set's selection by origin).
    #[inline]
    pub(crate) fn origin_matches<H: RequestHead>(&self, origin: &HeaderValue, head: &H) -> bool {
        self.any_origin
            || self.origins.find(origin.as_bytes()).is_some()
            || (self.needs_parts() && self.ask_predicates(origin, head))
    }

    fn ask_predicates<H: RequestHead>(&self, origin: &HeaderValue, head: &H) -> bool {
        debug_assert!(
            head.parts().is_some(),
            "predicates need the request's Parts"
        );
        head.parts()
            .is_some_and(|parts| self.origin_fns.iter().any(|f| f(origin, parts)))
    }

    fn preflight<'a>(
        &'a self,
        headers: &'a HeaderMap,
        origin: &'a HeaderValue,
        allow_origin: &'a HeaderValue,
        asked: Asked<'a>,
        origin_allowed: bool,
    ) -> Decision<'a> {
        let reject = |reason| {
            Decision::PreflightRejected(Rejection {
                origin,
                reason,
                headers: self.refused_headers(),
            })
        };
        if !origin_allowed {
            return reject(Reason::OriginNotAllowed);
        }
        let private_network = asked
            .private_network
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        if private_network && !self.private_network {
            return reject(Reason::PrivateNetworkNotAllowed);
        }
        let method = asked.method;
        let m = method.as_bytes();
        let method_ok = header_list::is_token(m)
            && (matches!(m, b"GET" | b"HEAD" | b"POST")
                || self.any_method
                || self.methods.iter().any(|allowed| **allowed == *m));
        if !method_ok {
            return reject(Reason::MethodNotAllowed(m));
        }
        let has_requested = asked.headers.is_some();
        let mut authorization = false;
        if let Some(requested) = asked.headers {
            let scan = header_list::scan(requested, |name| {
                self.any_header || self.headers.contains(name)
            });
            match scan {
                Ok(scan) => authorization = scan.authorization,
                Err(ScanError::TooLong) => return reject(Reason::RequestHeadersTooLong),
                Err(ScanError::Malformed(h)) => return reject(Reason::MalformedRequestHeaders(h)),
                Err(ScanError::NotAllowed(h)) => return reject(Reason::HeaderNotAllowed(h)),
            }
        }
        let kind = self.allow_headers_kind(has_requested, authorization);
        Decision::PreflightAccepted {
            headers: self.accepted_headers(
                self.allow_origin_value(allow_origin),
                method,
                kind,
                headers,
                private_network,
            ),
            status: self.preflight_status,
            pass_through: self.pass_through,
        }
    }

    /// Whether an accepted preflight's `Access-Control-Allow-Methods` is the method it asked
    /// for (any method, with credentials), so no answer can be prebuilt.
    fn echoes_method(&self) -> bool {
        self.any_method && self.credentials
    }

    /// Which `Access-Control-Allow-Headers` an accepted preflight gets: `requested` says it
    /// named request headers, `authorization` that `authorization` was among them.
    fn allow_headers_kind(&self, requested: bool, authorization: bool) -> AllowHeadersKind {
        if !requested {
            AllowHeadersKind::None
        } else if !self.any_header {
            AllowHeadersKind::Configured
        } else if self.credentials {
            AllowHeadersKind::Echo
        } else if authorization {
            AllowHeadersKind::StarAuthorization
        } else {
            AllowHeadersKind::Star
        }
    }

    /// The headers of an accepted preflight's answer; `method` is the one asked for, and
    /// `request` the request's headers (for an echoed `Access-Control-Allow-Headers`).
    fn accepted_headers<'a>(
        &'a self,
        allow_origin: &'a HeaderValue,
        method: &'a HeaderValue,
        kind: AllowHeadersKind,
        request: &'a HeaderMap,
        private_network: bool,
    ) -> CorsHeaders<'a> {
        let v = &self.values;
        let echo_method = self.echoes_method();
        let allow_headers = match kind {
            AllowHeadersKind::None => AllowHeaders::None,
            AllowHeadersKind::Configured => v
                .allow_headers
                .as_ref()
                .map_or(AllowHeaders::None, AllowHeaders::Value),
            AllowHeadersKind::Star => AllowHeaders::Value(&v.star),
            AllowHeadersKind::StarAuthorization => AllowHeaders::Value(&v.star_authorization),
            AllowHeadersKind::Echo => AllowHeaders::Echo(request),
        };
        CorsHeaders {
            allow_origin: Some(allow_origin),
            allow_credentials: self.credentials.then_some(&v.true_),
            allow_methods: Some(if echo_method {
                method
            } else {
                &v.allow_methods
            }),
            allow_headers,
            expose_headers: None,
            max_age: v.max_age.as_ref(),
            allow_private_network: private_network.then_some(&v.true_),
            vary_flags: v.vary_preflight_flags,
            vary: Some(&v.vary_preflight),
            owns_cors_headers: true,
            prebuilt: if echo_method {
                None
            } else {
                self.prebuilt.accepted(kind, private_network)
            },
            policy: &self.name,
        }
    }

    /// The headers of a refused preflight's answer: `Vary` only.
    fn refused_headers(&self) -> CorsHeaders<'_> {
        CorsHeaders {
            vary_flags: self.values.vary_preflight_flags,
            vary: Some(&self.values.vary_preflight),
            prebuilt: self.prebuilt.refused.as_ref(),
            ..CorsHeaders::empty(&self.name)
        }
    }

    /// Writes the answers of accepted and refused preflights into maps, once, for
    /// [`CorsHeaders::write_fresh`] to clone.
    pub(crate) fn prebuild_answers(&mut self) {
        let placeholder = HeaderValue::from_static("");
        let (method, request) = (&placeholder, &HeaderMap::new());
        let mut prebuilt = Prebuilt::default();
        // Every answer the policy can give: a preflight asking for private network access is
        // refused unless the policy allows it.
        let private_networks: &[bool] = match (self.echoes_method(), self.private_network) {
            (true, _) => &[],
            (false, true) => &[false, true],
            (false, false) => &[false],
        };
        for requested in [false, true] {
            for authorization in [false, true] {
                let kind = self.allow_headers_kind(requested, authorization);
                for &private_network in private_networks {
                    let headers =
                        self.accepted_headers(&placeholder, method, kind, request, private_network);
                    if let Some(slot) = Prebuilt::slot(kind, private_network) {
                        let mut map = HeaderMap::new();
                        headers.write_fresh(&mut map);
                        prebuilt.accepted[slot] = Some(map);
                    }
                }
            }
        }
        let mut refused = HeaderMap::new();
        self.refused_headers().write_fresh(&mut refused);
        prebuilt.refused = Some(refused);
        self.prebuilt = prebuilt;
    }

    #[inline]
    fn allow_origin_value<'a>(&'a self, origin: &'a HeaderValue) -> &'a HeaderValue {
        if self.any_origin {
            &self.values.star
        } else {
            origin
        }
    }

    /// The headers for an actual request from an allowed origin.
    #[inline]
    pub(crate) fn actual_headers<'a>(&'a self, origin: &'a HeaderValue) -> CorsHeaders<'a> {
        CorsHeaders {
            allow_origin: Some(self.allow_origin_value(origin)),
            allow_credentials: self.credentials.then_some(&self.values.true_),
            expose_headers: self.values.expose_headers.as_ref(),
            ..self.vary_origin_headers()
        }
    }

    /// The headers for an actual request from an origin that is not allowed.
    #[inline]
    pub(crate) fn denied_headers(&self) -> CorsHeaders<'_> {
        self.vary_origin_headers()
    }

    /// The headers for a request without `Origin`.
    #[inline]
    pub(crate) fn not_cors_headers(&self) -> CorsHeaders<'_> {
        if self.any_origin {
            CorsHeaders {
                allow_origin: Some(&self.values.star),
                expose_headers: self.values.expose_headers.as_ref(),
                owns_cors_headers: false,
                ..self.vary_origin_headers()
            }
        } else {
            CorsHeaders {
                owns_cors_headers: false,
                ..self.vary_origin_headers()
            }
        }
    }

    #[inline]
    fn vary_origin_headers(&self) -> CorsHeaders<'_> {
        // For a single policy `Origin` (a static value) unless any origin is allowed, as it
        // always was; in a set, also what the selection depends on. Read as is, no branch.
        CorsHeaders {
            vary_flags: self.values.vary_actual_flags,
            vary: self.values.vary_actual.as_ref(),
            ..CorsHeaders::empty(&self.name)
        }
    }

    /// Starts the asynchronous origin predicates; the future resolves to `true` as soon as one
    /// of them does.
    pub(crate) fn check_origin_async(&self, parts: &Parts) -> Option<OriginFuture> {
        let origin = parts.headers.get(header::ORIGIN)?;
        if self.origin_async.is_empty() {
            return None;
        }
        let futures = self
            .origin_async
            .iter()
            .map(|f| f(origin.clone(), parts))
            .collect();
        Some(OriginFuture { futures })
    }
}

/// The asynchronous origin check in progress: resolves to whether any predicate allowed the
/// origin. Predicates are awaited in the order they were added; the first `true` wins.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cors = tower_cors::CorsLayer::builder()
///     .allow_origin_async(|origin, _| async move { origin.as_bytes().ends_with(b".example.com") })
///     .build()?;
/// let (parts, ()) = http::Request::get("/")
///     .header("origin", "https://a.example.com")
///     .body(())?
///     .into_parts();
/// let check: tower_cors::OriginFuture = cors.check_origin_async(&parts).unwrap();
/// assert!(check.await);
/// # Ok(())
/// # }
/// ```
pub struct OriginFuture {
    futures: SmallVec<[BoolFuture; 1]>,
}

impl std::fmt::Debug for OriginFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OriginFuture")
            .field("pending", &self.futures.len())
            .finish()
    }
}

impl Future for OriginFuture {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        while let Some(first) = self.futures.first_mut() {
            match first.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(true) => {
                    self.futures.clear();
                    return Poll::Ready(true);
                }
                Poll::Ready(false) => {
                    drop(self.futures.remove(0));
                }
            }
        }
        Poll::Ready(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asked_reads_the_same_with_few_or_many_headers() {
        let lines_of = |asked: &Asked<'_>| -> Vec<Vec<u8>> {
            match &asked.headers {
                None => Vec::new(),
                Some(Lines::One(line)) => vec![line.as_bytes().to_vec()],
                Some(Lines::All(lines)) => lines.iter().map(|l| l.as_bytes().to_vec()).collect(),
            }
        };
        for padding in [0, 40] {
            let mut map = HeaderMap::new();
            for i in 0..padding {
                let name = http::HeaderName::from_bytes(format!("x-pad-{i}").as_bytes());
                map.insert(name.expect("valid name"), HeaderValue::from_static("1"));
            }
            assert_eq!(Asked::read(&map).0, None, "{padding}: no origin");
            // Two lines of a header; the first is the one that counts.
            let two_lines =
                |map: &mut HeaderMap, name: http::HeaderName, lines: [&'static str; 2]| {
                    for line in lines {
                        map.append(name.clone(), HeaderValue::from_static(line));
                    }
                };
            two_lines(
                &mut map,
                header::ORIGIN,
                ["https://a.example", "https://b.example"],
            );
            let (origin, asked) = Asked::read(&map);
            assert_eq!(
                origin.expect("an origin"),
                "https://a.example",
                "{padding}: the first line counts"
            );
            assert!(asked.is_none(), "{padding}: no method, no preflight");
            two_lines(
                &mut map,
                header::ACCESS_CONTROL_REQUEST_METHOD,
                ["PUT", "GET"],
            );
            let asked = Asked::read(&map).1.expect("a preflight");
            assert_eq!(asked.method, "PUT", "{padding}: the first line counts");
            assert!(asked.private_network.is_none() && asked.headers.is_none());
            map.append(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                HeaderValue::from_static("a"),
            );
            map.append(REQUEST_PRIVATE_NETWORK, HeaderValue::from_static("true"));
            let asked = Asked::read(&map).1.expect("a preflight");
            assert_eq!(lines_of(&asked), [b"a".to_vec()], "{padding}");
            assert_eq!(asked.private_network.expect("asked"), "true");
            map.append(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                HeaderValue::from_static("b"),
            );
            let asked = Asked::read(&map).1.expect("a preflight");
            assert_eq!(
                lines_of(&asked),
                [b"a".to_vec(), b"b".to_vec()],
                "{padding}"
            );
        }
    }

    /// Every preflight answer cloned from a prebuilt map carries exactly what the writer
    /// writes into an empty map, for every kind of `Access-Control-Allow-Headers` and with and
    /// without private network access.
    #[test]
    fn prebuilt_answers_match_the_writer() {
        use crate::testing::preflight_parts;
        use crate::CorsLayer;

        let builders = [
            CorsLayer::builder().allow_origins(["https://a.example"]),
            CorsLayer::builder()
                .allow_origins(["https://a.example", "https://*.b.example"])
                .allow_headers(["content-type", "x-one"])
                .allow_methods(["PUT"])
                .allow_credentials(true)
                .max_age(std::time::Duration::from_secs(60)),
            CorsLayer::builder().allow_any_origin().allow_any_header(),
            CorsLayer::builder()
                .allow_origins(["https://a.example"])
                .allow_any_header()
                .allow_any_method()
                .allow_credentials(true)
                .allow_private_network(true),
            CorsLayer::builder()
                .allow_origins(["https://a.example", "https://*.b.example"])
                .allow_headers(["x-one"])
                .allow_private_network(true),
        ];
        let requests: Vec<(&str, &str, &[&str], bool)> = vec![
            ("https://a.example", "GET", &[], false),
            ("https://a.example", "PUT", &["content-type"], false),
            (
                "https://x.b.example",
                "PUT",
                &["x-one", "authorization"],
                false,
            ),
            ("https://a.example", "DELETE", &["x-one"], true),
            ("https://x.b.example", "GET", &["x-one"], true),
            ("https://evil.example", "GET", &[], false),
        ];
        let mut checked = 0;
        for (i, builder) in builders.into_iter().enumerate() {
            let layer = builder.build().expect("valid policy");
            for (origin, method, names, private_network) in &requests {
                let mut parts = preflight_parts(origin, method, names);
                if *private_network {
                    parts
                        .headers
                        .insert(REQUEST_PRIVATE_NETWORK, HeaderValue::from_static("true"));
                }
                let decision = layer.evaluate(&parts);
                let headers = decision.headers().expect("decided");
                let mut cloned = HeaderMap::new();
                headers.write_fresh(&mut cloned);
                let mut written = HeaderMap::new();
                headers.apply_to(&mut written);
                let lines = |map: &HeaderMap| {
                    let mut lines: Vec<_> = map
                        .iter()
                        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                        .collect();
                    lines.sort();
                    lines
                };
                assert_eq!(
                    lines(&cloned),
                    lines(&written),
                    "policy {i}, {origin} {method} {names:?}"
                );
                checked += usize::from(headers.prebuilt.is_some());
            }
        }
        assert!(
            checked >= 15,
            "only {checked} answers came from a prebuilt map"
        );
    }

    #[test]
    fn caseless_set_small_and_hashed() {
        for size in [3, 40] {
            let mut set = CaselessSet::default();
            for i in 0..size {
                set.insert(&format!("X-Header-{i}"));
            }
            set.insert("Content-Type");
            // (name, in the set)
            let cases: &[(&[u8], bool)] = &[
                (b"content-type", true),
                (b"CONTENT-TYPE", true),
                (b"x-header-2", true),
                (b"X-HEADER-2", true),
                (b"x-header-", false),
                (b"x-header-2x", false),
                (b"content_type", false),
                (b"content-typ\xc5", false),
                (b"", false),
            ];
            for (name, want) in cases {
                assert_eq!(
                    set.contains(name),
                    *want,
                    "{size}: {:?}",
                    String::from_utf8_lossy(name)
                );
            }
        }
    }
}
