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
    pub(crate) vary_origin: HeaderValue,
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
    let bytes = match intern(s) {
        Ok(interned) => Bytes::from_static(interned.as_bytes()),
        Err(s) => {
            let bytes = Bytes::from(s);
            // The first clone of a `Bytes` made from a `Vec` moves it to shared storage; do it
            // now rather than on the first request.
            drop(bytes.clone());
            bytes
        }
    };
    HeaderValue::from_maybe_shared(bytes).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The most bytes [`shared_value`] interns over the life of the process.
const INTERN_LIMIT: usize = 64 * 1024;

/// Returns the interned copy of `s`, interning it if there is room.
fn intern(s: String) -> Result<&'static str, String> {
    static INTERNED: Mutex<(Vec<&'static str>, usize)> = Mutex::new((Vec::new(), 0));
    let mut guard = INTERNED.lock().unwrap_or_else(PoisonError::into_inner);
    let (values, total) = &mut *guard;
    if let Some(found) = values.iter().find(|v| **v == s) {
        return Ok(found);
    }
    if *total + s.len() > INTERN_LIMIT {
        return Err(s);
    }
    *total += s.len();
    let interned: &'static str = Box::leak(s.into_boxed_str());
    values.push(interned);
    Ok(interned)
}

/// What [`Policy::evaluate`] reads from a request: the method, the headers, and the whole head
/// for the origin predicates.
///
/// The service evaluates a `Request` where it stands, because taking its head out and putting
/// it back costs more than the rest of the decision; predicates take a `Parts`, so a policy
/// with synchronous predicates is evaluated on one (see [`Policy::needs_parts`]).
pub(crate) trait RequestHead {
    fn method(&self) -> &Method;
    fn headers(&self) -> &HeaderMap;
    /// The head for the predicates; `None` for a `Request`.
    fn parts(&self) -> Option<&Parts>;
}

impl RequestHead for Parts {
    fn method(&self) -> &Method {
        &self.method
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
    /// Reads the request's preflight headers; `None` without `Access-Control-Request-Method`
    /// (not a preflight). First lines count.
    ///
    /// One pass compares the names: the map's lookups hash a name a byte at a time, each byte a
    /// multiply in one dependency chain (sixteen for a standard name's tag, over fifty for the
    /// private-network name), which takes longer than comparing each of the dozen or two names
    /// a browser's preflight carries (a standard name differs by its tag, a custom one by its
    /// length, almost always). Past [`SCAN_HEADERS_UP_TO`] names the map's lookups are used, so
    /// the cost stays bounded whatever the request.
    fn read(headers: &'a HeaderMap) -> Option<Self> {
        if headers.keys_len() > SCAN_HEADERS_UP_TO {
            let lines = headers.get_all(header::ACCESS_CONTROL_REQUEST_HEADERS);
            return Some(Asked {
                method: headers.get(header::ACCESS_CONTROL_REQUEST_METHOD)?,
                private_network: headers.get(REQUEST_PRIVATE_NETWORK),
                headers: lines.iter().next().is_some().then_some(Lines::All(lines)),
            });
        }
        let (mut method, mut private_network) = (None, None);
        let (mut first_line, mut more_lines) = (None, false);
        for (name, value) in headers {
            if name == header::ACCESS_CONTROL_REQUEST_METHOD {
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
        Some(Asked {
            method: method?,
            private_network,
            headers,
        })
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
    #[inline]
    pub(crate) fn evaluate<'a, H: RequestHead>(
        &'a self,
        head: &'a H,
        origin_answer: Option<bool>,
    ) -> Decision<'a> {
        let headers = head.headers();
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Decision::NotCors {
                headers: self.not_cors_headers(),
            };
        };
        let allowed = if self.any_origin
            || self.origins.matches(origin.as_bytes())
            || (self.needs_parts() && self.ask_predicates(origin, head))
        {
            true
        } else if let Some(answer) = origin_answer {
            answer
        } else if !self.origin_async.is_empty() {
            return Decision::OriginPending;
        } else {
            false
        };
        let asked = if head.method() == Method::OPTIONS {
            Asked::read(headers)
        } else {
            None
        };
        if let Some(asked) = asked {
            self.preflight(headers, origin, asked, allowed)
        } else if allowed {
            Decision::ActualAllowed {
                headers: self.actual_headers(origin),
            }
        } else {
            Decision::ActualDenied(Rejection {
                origin,
                reason: Reason::OriginNotAllowed,
                headers: self.denied_headers(),
            })
        }
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
        asked: Asked<'a>,
        origin_allowed: bool,
    ) -> Decision<'a> {
        let reject = |reason| {
            Decision::PreflightRejected(Rejection {
                origin,
                reason,
                headers: CorsHeaders {
                    vary_flags: self.values.vary_preflight_flags,
                    vary: Some(&self.values.vary_preflight),
                    ..CorsHeaders::empty()
                },
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
        let v = &self.values;
        let allow_methods = if self.any_method && self.credentials {
            method
        } else {
            &v.allow_methods
        };
        let allow_headers = if !has_requested {
            AllowHeaders::None
        } else if self.any_header {
            if self.credentials {
                AllowHeaders::Echo(headers)
            } else if authorization {
                AllowHeaders::Value(&v.star_authorization)
            } else {
                AllowHeaders::Value(&v.star)
            }
        } else {
            v.allow_headers
                .as_ref()
                .map_or(AllowHeaders::None, AllowHeaders::Value)
        };
        Decision::PreflightAccepted {
            headers: CorsHeaders {
                allow_origin: Some(self.allow_origin_value(origin)),
                allow_credentials: self.credentials.then_some(&v.true_),
                allow_methods: Some(allow_methods),
                allow_headers,
                expose_headers: None,
                max_age: v.max_age.as_ref(),
                allow_private_network: private_network.then_some(&v.true_),
                vary_flags: v.vary_preflight_flags,
                vary: Some(&v.vary_preflight),
                owns_cors_headers: true,
            },
            status: self.preflight_status,
            pass_through: self.pass_through,
        }
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
                ..CorsHeaders::empty()
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
        if self.any_origin {
            CorsHeaders::empty()
        } else {
            CorsHeaders {
                vary_flags: VaryFlags(VaryFlags::ORIGIN),
                vary: Some(&self.values.vary_origin),
                ..CorsHeaders::empty()
            }
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
            assert!(
                Asked::read(&map).is_none(),
                "{padding}: no method, no preflight"
            );
            map.append(
                header::ACCESS_CONTROL_REQUEST_METHOD,
                HeaderValue::from_static("PUT"),
            );
            map.append(
                header::ACCESS_CONTROL_REQUEST_METHOD,
                HeaderValue::from_static("GET"),
            );
            let asked = Asked::read(&map).expect("a preflight");
            assert_eq!(asked.method, "PUT", "{padding}: the first line counts");
            assert!(asked.private_network.is_none() && asked.headers.is_none());
            map.append(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                HeaderValue::from_static("a"),
            );
            map.append(REQUEST_PRIVATE_NETWORK, HeaderValue::from_static("true"));
            let asked = Asked::read(&map).expect("a preflight");
            assert_eq!(lines_of(&asked), [b"a".to_vec()], "{padding}");
            assert_eq!(asked.private_network.expect("asked"), "true");
            map.append(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                HeaderValue::from_static("b"),
            );
            let asked = Asked::read(&map).expect("a preflight");
            assert_eq!(
                lines_of(&asked),
                [b"a".to_vec(), b"b".to_vec()],
                "{padding}"
            );
        }
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
