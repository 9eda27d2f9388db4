//! What the policy decided about one request head, and the response headers that follow.
//!
//! A [`Decision`] borrows from the policy and the request: computing one allocates nothing. The
//! tower service turns it into a response; tests can inspect it directly.

use std::fmt;
use std::mem;

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, StatusCode};
use smallvec::SmallVec;

/// `Access-Control-Allow-Private-Network` (not in the `http` crate's list).
pub(crate) const ALLOW_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-allow-private-network");
/// `Access-Control-Request-Private-Network`.
pub(crate) const REQUEST_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-request-private-network");

/// The outcome of evaluating a request head against a policy.
///
/// Obtained from [`CorsLayer::evaluate`](crate::CorsLayer::evaluate).
///
/// ```
/// use tower_cors::{CorsLayer, Decision};
///
/// let cors = CorsLayer::builder().allow_origins(["https://app.example.com"]).build()?;
/// let (parts, ()) = http::Request::get("/")
///     .header("origin", "https://evil.example")
///     .body(())?
///     .into_parts();
/// let decision = cors.evaluate(&parts);
/// assert!(matches!(decision, Decision::ActualDenied(_)));
/// // The inner service is still called; its response only gets `Vary: Origin`.
/// assert_eq!(decision.headers().unwrap().vary().unwrap(), "Origin");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Decision<'a> {
    /// No `Origin` header. The inner service is called; `headers` still carry `Vary: Origin`
    /// (or `Access-Control-Allow-Origin: *` for an any-origin policy) for cache safety.
    NotCors {
        /// Headers to add to the inner service's response.
        headers: CorsHeaders<'a>,
    },
    /// A preflight the policy accepts.
    PreflightAccepted {
        /// The headers of the answer.
        headers: CorsHeaders<'a>,
        /// The status to answer with (unless `pass_through`).
        status: StatusCode,
        /// Whether the inner service answers instead, with `headers` added.
        pass_through: bool,
    },
    /// A preflight the policy refuses: answered with 403 and no `Access-Control-*` header.
    PreflightRejected(Rejection<'a>),
    /// An actual cross-origin request from an allowed origin. The inner service is called.
    ActualAllowed {
        /// Headers to add to the inner service's response.
        headers: CorsHeaders<'a>,
    },
    /// An actual cross-origin request from an origin that is not allowed. The inner service is
    /// still called (CORS is not access control); its response gets no `Access-Control-*`
    /// header.
    ActualDenied(Rejection<'a>),
    /// Only the asynchronous origin predicate can decide. Await
    /// [`CorsLayer::check_origin_async`](crate::CorsLayer::check_origin_async) and call
    /// [`CorsLayer::evaluate_with_origin`](crate::CorsLayer::evaluate_with_origin) with its
    /// answer.
    OriginPending,
}

impl<'a> Decision<'a> {
    /// The headers this decision puts on the response, if it is decided.
    pub fn headers(&self) -> Option<&CorsHeaders<'a>> {
        match self {
            Decision::NotCors { headers }
            | Decision::PreflightAccepted { headers, .. }
            | Decision::ActualAllowed { headers } => Some(headers),
            Decision::PreflightRejected(r) | Decision::ActualDenied(r) => Some(&r.headers),
            Decision::OriginPending => None,
        }
    }

    /// The name of the policy that decided: `"default"` for a single-policy layer, the name
    /// given to [`CorsSetBuilder::policy`](crate::CorsSetBuilder::policy) in a set, and
    /// `"unmatched"` when a set had no policy for the request and no fallback. `None` while
    /// [`OriginPending`](Decision::OriginPending) (nothing is decided yet).
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder().allow_any_origin().build()?;
    /// let (parts, ()) = http::Request::get("/").body(())?.into_parts();
    /// assert_eq!(cors.evaluate(&parts).policy(), Some("default"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn policy(&self) -> Option<&'a str> {
        self.headers().map(|h| &**h.policy)
    }

    /// The rejection, for [`PreflightRejected`](Decision::PreflightRejected) and
    /// [`ActualDenied`](Decision::ActualDenied).
    pub fn rejection(&self) -> Option<&Rejection<'a>> {
        match self {
            Decision::PreflightRejected(r) | Decision::ActualDenied(r) => Some(r),
            _ => None,
        }
    }
}

/// Why a request was refused.
///
/// ```
/// use tower_cors::{CorsLayer, Reason};
///
/// let cors = CorsLayer::builder().allow_origins(["https://app.example.com"]).build()?;
/// let (parts, ()) = http::Request::options("/")
///     .header("origin", "https://app.example.com")
///     .header("access-control-request-method", "PUT")
///     .body(())?
///     .into_parts();
/// let reason = cors.evaluate(&parts).rejection().unwrap().reason();
/// assert_eq!(reason, Reason::MethodNotAllowed(b"PUT"));
/// assert_eq!(reason.to_string(), "method \"PUT\" not allowed");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason<'a> {
    /// The origin is not allowed.
    OriginNotAllowed,
    /// Private-network access was requested and the policy does not allow it.
    PrivateNetworkNotAllowed,
    /// The method in `Access-Control-Request-Method` is not allowed (its bytes).
    MethodNotAllowed(&'a [u8]),
    /// A header named in `Access-Control-Request-Headers` is not allowed (its bytes as sent).
    HeaderNotAllowed(&'a [u8]),
    /// An element of `Access-Control-Request-Headers` is not a header name.
    MalformedRequestHeaders(&'a [u8]),
    /// `Access-Control-Request-Headers` is over
    /// [`MAX_REQUEST_HEADERS_BYTES`](crate::MAX_REQUEST_HEADERS_BYTES) or
    /// [`MAX_REQUEST_HEADER_NAMES`](crate::MAX_REQUEST_HEADER_NAMES).
    RequestHeadersTooLong,
}

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::OriginNotAllowed => f.write_str("origin not allowed"),
            Reason::PrivateNetworkNotAllowed => f.write_str("private network access not allowed"),
            Reason::MethodNotAllowed(m) => {
                write!(f, "method {:?} not allowed", String::from_utf8_lossy(m))
            }
            Reason::HeaderNotAllowed(h) => {
                write!(f, "header {:?} not allowed", String::from_utf8_lossy(h))
            }
            Reason::MalformedRequestHeaders(h) => write!(
                f,
                "request headers list is malformed: {:?} is not a header name",
                String::from_utf8_lossy(h)
            ),
            Reason::RequestHeadersTooLong => write!(
                f,
                "request headers list too long (over {} bytes or {} names)",
                crate::MAX_REQUEST_HEADERS_BYTES,
                crate::MAX_REQUEST_HEADER_NAMES
            ),
        }
    }
}

/// A refused request: the origin, the reason, and the headers the response still carries
/// (only `Vary`).
///
/// ```
/// let cors = tower_cors::CorsLayer::builder().allow_origins(["https://app.example.com"]).build()?;
/// let (parts, ()) = http::Request::get("/")
///     .header("origin", "https://evil.example")
///     .body(())?
///     .into_parts();
/// let decision = cors.evaluate(&parts);
/// let rejection = decision.rejection().unwrap();
/// assert_eq!(rejection.origin(), "https://evil.example");
/// assert_eq!(
///     rejection.to_string(),
///     "CORS request from origin \"https://evil.example\" refused: origin not allowed"
/// );
/// assert_eq!(rejection.headers().iter().count(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Rejection<'a> {
    pub(crate) origin: &'a HeaderValue,
    pub(crate) reason: Reason<'a>,
    pub(crate) headers: CorsHeaders<'a>,
}

impl<'a> Rejection<'a> {
    /// The request's `Origin`.
    pub fn origin(&self) -> &'a HeaderValue {
        self.origin
    }

    /// Why it was refused.
    pub fn reason(&self) -> Reason<'a> {
        self.reason
    }

    /// The headers the response carries anyway: `Vary` only.
    pub fn headers(&self) -> &CorsHeaders<'a> {
        &self.headers
    }

    /// The name of the policy that refused (see [`Decision::policy`]).
    pub fn policy(&self) -> &'a str {
        self.headers.policy
    }
}

impl fmt::Display for Rejection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CORS request from origin {:?} refused: {}",
            String::from_utf8_lossy(self.origin.as_bytes()),
            self.reason
        )
    }
}

/// `Access-Control-Allow-Headers` of an accepted preflight.
#[derive(Debug, Clone)]
pub(crate) enum AllowHeaders<'a> {
    None,
    Value(&'a HeaderValue),
    /// The request's own `Access-Control-Request-Headers` lines (from this request header
    /// map), echoed.
    Echo(&'a HeaderMap),
    /// Lines already detached from the request (a pass-through preflight's).
    Lines(&'a [HeaderValue]),
}

impl<'a> AllowHeaders<'a> {
    /// Every line of `Access-Control-Allow-Headers` to send, in order.
    fn lines(&self) -> impl Iterator<Item = &'a HeaderValue> {
        let (one, echo, detached) = match *self {
            AllowHeaders::None => (None, None, None),
            AllowHeaders::Value(v) => (Some(v), None, None),
            AllowHeaders::Echo(request) => (
                None,
                Some(
                    request
                        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
                        .iter(),
                ),
                None,
            ),
            AllowHeaders::Lines(lines) => (None, None, Some(lines.iter())),
        };
        one.into_iter()
            .chain(echo.into_iter().flatten())
            .chain(detached.into_iter().flatten())
    }
}

/// The `Vary` tokens a response needs, as bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct VaryFlags(pub(crate) u8);

impl VaryFlags {
    pub(crate) const ORIGIN: u8 = 1;
    pub(crate) const METHOD: u8 = 2;
    pub(crate) const HEADERS: u8 = 4;
    pub(crate) const PRIVATE_NETWORK: u8 = 8;
    /// The request headers a policy set's selector reads, which follow [`Self::TOKENS`] in
    /// the joined value.
    pub(crate) const EXTRA: u8 = 16;

    const TOKENS: [(u8, &'static str); 4] = [
        (Self::ORIGIN, "Origin"),
        (Self::METHOD, "Access-Control-Request-Method"),
        (Self::HEADERS, "Access-Control-Request-Headers"),
        (
            Self::PRIVATE_NETWORK,
            "Access-Control-Request-Private-Network",
        ),
    ];

    /// The tokens joined into one `Vary` value, as the policy precomputes it, followed by
    /// `extra` (the selector's headers) when [`Self::EXTRA`] is set. Each field is named once,
    /// in the first spelling: a selector that declares `origin` reads the field the built-in
    /// `Origin` already names.
    pub(crate) fn joined(self, extra: &[String]) -> Option<String> {
        let mut parts: Vec<&str> = Self::TOKENS
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .map(|(_, name)| *name)
            .collect();
        if self.0 & Self::EXTRA != 0 {
            for name in extra {
                if !parts.iter().any(|p| p.eq_ignore_ascii_case(name)) {
                    parts.push(name);
                }
            }
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// The CORS response headers of one decision.
///
/// Borrowed from the policy's precomputed values and the request; [`apply_to`] writes them
/// into a response's header map.
///
/// ```
/// use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS};
///
/// let cors = tower_cors::CorsLayer::builder()
///     .allow_origins(["https://app.example.com"])
///     .expose_headers(["x-request-id"])
///     .build()?;
/// let (parts, ()) = http::Request::get("/")
///     .header("origin", "https://app.example.com")
///     .body(())?
///     .into_parts();
/// let decision = cors.evaluate(&parts);
/// let headers = decision.headers().unwrap();
/// assert_eq!(headers.get(&ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(), "https://app.example.com");
/// assert_eq!(headers.iter().count(), 2);
///
/// let mut response = http::HeaderMap::new();
/// response.insert(ACCESS_CONTROL_EXPOSE_HEADERS, "x-secret".parse()?);
/// headers.apply_to(&mut response);
/// assert_eq!(response[ACCESS_CONTROL_EXPOSE_HEADERS], "x-request-id");
/// assert_eq!(response["vary"], "Origin");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`apply_to`]: CorsHeaders::apply_to
#[derive(Debug, Clone)]
pub struct CorsHeaders<'a> {
    pub(crate) allow_origin: Option<&'a HeaderValue>,
    pub(crate) allow_credentials: Option<&'a HeaderValue>,
    pub(crate) allow_methods: Option<&'a HeaderValue>,
    pub(crate) allow_headers: AllowHeaders<'a>,
    pub(crate) expose_headers: Option<&'a HeaderValue>,
    pub(crate) max_age: Option<&'a HeaderValue>,
    pub(crate) allow_private_network: Option<&'a HeaderValue>,
    pub(crate) vary_flags: VaryFlags,
    /// The precomputed joined `Vary` value for `vary_flags`.
    pub(crate) vary: Option<&'a HeaderValue>,
    /// The response answers a CORS request: `Access-Control-*` headers the inner service set
    /// are removed first, so that the layer's are the only ones.
    pub(crate) owns_cors_headers: bool,
    /// The same headers already written into a map (with an empty
    /// `Access-Control-Allow-Origin` first), for answers the layer builds: cloning it copies
    /// the map's table where inserting would hash every name again.
    pub(crate) prebuilt: Option<&'a HeaderMap>,
    /// The name of the policy these headers come from (a thin pointer: decisions stay small).
    pub(crate) policy: &'a std::sync::Arc<str>,
}

impl<'a> CorsHeaders<'a> {
    #[inline]
    pub(crate) fn empty(policy: &'a std::sync::Arc<str>) -> Self {
        CorsHeaders {
            allow_origin: None,
            allow_credentials: None,
            allow_methods: None,
            allow_headers: AllowHeaders::None,
            expose_headers: None,
            max_age: None,
            allow_private_network: None,
            vary_flags: VaryFlags::default(),
            vary: None,
            owns_cors_headers: true,
            prebuilt: None,
            policy,
        }
    }

    /// The `Access-Control-*` headers, in a fixed order. An echoed
    /// `Access-Control-Allow-Headers` yields one pair per request line.
    pub fn iter(&self) -> impl Iterator<Item = (HeaderName, &'a HeaderValue)> + '_ {
        let singles = [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin),
            (
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                self.allow_credentials,
            ),
            (header::ACCESS_CONTROL_ALLOW_METHODS, self.allow_methods),
        ];
        let allow_headers = self.allow_headers.lines();
        let rest = [
            (header::ACCESS_CONTROL_EXPOSE_HEADERS, self.expose_headers),
            (header::ACCESS_CONTROL_MAX_AGE, self.max_age),
            (ALLOW_PRIVATE_NETWORK, self.allow_private_network),
        ];
        singles
            .into_iter()
            .filter_map(|(n, v)| Some((n, v?)))
            .chain(allow_headers.map(|v| (header::ACCESS_CONTROL_ALLOW_HEADERS, v)))
            .chain(rest.into_iter().filter_map(|(n, v)| Some((n, v?))))
    }

    /// The value of one `Access-Control-*` header (the first line, for an echoed list).
    pub fn get(&self, name: &HeaderName) -> Option<&'a HeaderValue> {
        if *name == header::ACCESS_CONTROL_ALLOW_HEADERS {
            return self.allow_headers.lines().next();
        }
        self.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The `Vary` value this decision asks for (merged with the response's own on apply).
    pub fn vary(&self) -> Option<&'a HeaderValue> {
        self.vary
    }

    /// Writes the headers into `map`: on a CORS response, first removes every
    /// `Access-Control-*` header already there; then sets each header (replacing), and adds the
    /// `Vary` names the map lacks, compared without case, so that each is named once in the
    /// spelling already there. A `Vary: *` gets nothing: it already covers every field.
    pub fn apply_to(&self, map: &mut HeaderMap) {
        self.write(map, false);
    }

    /// Writes the headers; `fresh` says the map is empty and the layer's own, so there is
    /// nothing to remove or merge with.
    fn write(&self, map: &mut HeaderMap, fresh: bool) {
        if self.owns_cors_headers && !fresh {
            remove_cors_headers(map);
        }
        set(map, header::ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin);
        set(
            map,
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            self.allow_credentials,
        );
        set(
            map,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            self.allow_methods,
        );
        let mut lines = self.allow_headers.lines();
        if let Some(first) = lines.next() {
            map.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, first.clone());
            for line in lines {
                map.append(header::ACCESS_CONTROL_ALLOW_HEADERS, line.clone());
            }
        }
        set(
            map,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            self.expose_headers,
        );
        set(map, header::ACCESS_CONTROL_MAX_AGE, self.max_age);
        set(map, ALLOW_PRIVATE_NETWORK, self.allow_private_network);
        if let Some(joined) = self.vary {
            if fresh {
                map.insert(header::VARY, joined.clone());
            } else {
                merge_vary(map, joined.clone());
            }
        }
    }

    /// The headers of an actual request's response (no preflight header among them), detached
    /// from the request and the policy; a few words, cheap to move along with the inner future.
    /// Always inlined into `service::plan`, for the reason given there.
    #[inline(always)]
    pub(crate) fn to_actual(&self) -> ActualHeaders {
        debug_assert!(
            self.allow_methods.is_none()
                && matches!(self.allow_headers, AllowHeaders::None)
                && self.max_age.is_none()
                && self.allow_private_network.is_none()
                && self.vary_flags.0 & !(VaryFlags::ORIGIN | VaryFlags::EXTRA) == 0
                && self.vary.is_some() == (self.vary_flags.0 != 0),
            "preflight headers on an actual response"
        );
        ActualHeaders {
            allow_origin: self.allow_origin.cloned(),
            expose_headers: self.expose_headers.cloned(),
            credentials: self.allow_credentials.is_some(),
            // `Vary: Origin` alone is a flag; a set's selector headers travel apart (see
            // `extra_vary`). An actual response's `Vary` is built from exactly its flags, so
            // the flags alone tell (one comparison on the cheapest paths).
            vary_origin: self.vary_flags.0 == VaryFlags::ORIGIN,
            strip: self.owns_cors_headers,
        }
    }

    /// The `Vary` of an actual request's response when it names a policy set's selector
    /// headers, which [`to_actual`](Self::to_actual) leaves out.
    pub(crate) fn extra_vary(&self) -> Option<ExtraVary> {
        if self.vary_flags.0 & VaryFlags::EXTRA == 0 || self.allow_methods.is_some() {
            return None;
        }
        Some(ExtraVary(self.vary?.clone()))
    }

    /// An owned copy, for applying after the request has been handed to the inner service.
    /// Each value is a static or reference-counted `HeaderValue`, so copying it allocates
    /// nothing (unless more than one echoed `Access-Control-Request-Headers` line must be kept).
    #[inline(never)]
    pub(crate) fn to_owned_headers(&self) -> OwnedCorsHeaders {
        let allow_headers = self.allow_headers.lines().cloned().collect();
        OwnedCorsHeaders {
            allow_origin: self.allow_origin.cloned(),
            allow_credentials: self.allow_credentials.is_some(),
            allow_methods: self.allow_methods.cloned(),
            allow_headers,
            expose_headers: self.expose_headers.cloned(),
            max_age: self.max_age.cloned(),
            allow_private_network: self.allow_private_network.is_some(),
            vary_flags: self.vary_flags,
            vary: self.vary.cloned(),
            owns_cors_headers: self.owns_cors_headers,
        }
    }

    /// Applies the headers to a response whose map is empty and was built by the layer: no
    /// removal or `Vary` merge needed.
    pub(crate) fn write_fresh(&self, map: &mut HeaderMap) {
        if let Some(prebuilt) = self.prebuilt {
            *map = prebuilt.clone();
            if let Some(origin) = self.allow_origin {
                // The first entry, found without hashing its name.
                let first = map.iter_mut().next();
                debug_assert!(first
                    .as_ref()
                    .is_some_and(|(n, _)| *n == header::ACCESS_CONTROL_ALLOW_ORIGIN));
                if let Some((_, value)) = first {
                    *value = origin.clone();
                }
            }
            return;
        }
        // Exactly what is needed: the usual six headers fit the smallest table (six entries),
        // whose arrays the allocator serves from its fastest size classes; a larger one costs
        // more to allocate than the headers cost to write.
        map.reserve(self.header_count());
        self.write(map, true);
    }

    /// How many header lines [`write`](Self::write) adds at most.
    fn header_count(&self) -> usize {
        let singles = [
            self.allow_origin,
            self.allow_credentials,
            self.allow_methods,
            self.expose_headers,
            self.max_age,
            self.allow_private_network,
            self.vary,
        ];
        self.allow_headers.lines().count() + singles.iter().flatten().count()
    }
}

/// The headers of an actual request's response, ready to be moved into it: the only values
/// that differ between requests are the origin and whether it was allowed.
#[derive(Debug, Clone)]
pub(crate) struct ActualHeaders {
    allow_origin: Option<HeaderValue>,
    expose_headers: Option<HeaderValue>,
    /// `Access-Control-Allow-Credentials: true`.
    credentials: bool,
    /// `Vary: Origin` (every policy but any-origin).
    vary_origin: bool,
    /// Remove the inner service's `Access-Control-*` headers first (a CORS request).
    strip: bool,
}

impl ActualHeaders {
    /// Like [`CorsHeaders::apply_to`], moving the values into `map` (so applying twice adds
    /// nothing the second time). Always inlined into the response future's `poll`, which
    /// calls it from two states.
    #[inline(always)]
    pub(crate) fn apply_to(&mut self, map: &mut HeaderMap) {
        // One pass over the response's few header names answers both questions that would
        // otherwise cost a lookup each.
        let (mut has_cors, mut has_vary) = (false, false);
        for name in map.keys() {
            has_vary |= name == header::VARY;
            has_cors |= is_cors_header(name);
        }
        if self.strip && has_cors {
            remove_cors_headers(map);
        }
        // No `reserve`: four headers at most, so the map grows at most once either way.
        put(
            map,
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            self.allow_origin.take(),
        );
        if mem::take(&mut self.credentials) {
            map.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        put(
            map,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            self.expose_headers.take(),
        );
        if mem::take(&mut self.vary_origin) {
            let origin = HeaderValue::from_static("Origin");
            if has_vary {
                merge_vary(map, origin);
            } else {
                map.insert(header::VARY, origin);
            }
        }
    }
}

/// A `Vary` value naming a policy set's selector headers, for an actual request's response.
#[derive(Debug, Clone)]
pub(crate) struct ExtraVary(HeaderValue);

impl ExtraVary {
    pub(crate) fn apply_to(self, map: &mut HeaderMap) {
        merge_vary(map, self.0);
    }
}

/// [`CorsHeaders`] detached from the request and policy they borrow from, in fixed slots (no
/// list to allocate), for a pass-through preflight's response.
#[derive(Debug, Clone)]
pub(crate) struct OwnedCorsHeaders {
    allow_origin: Option<HeaderValue>,
    /// `Access-Control-Allow-Credentials: true` (the only value it has).
    allow_credentials: bool,
    allow_methods: Option<HeaderValue>,
    allow_headers: SmallVec<[HeaderValue; 1]>,
    expose_headers: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
    /// `Access-Control-Allow-Private-Network: true`.
    allow_private_network: bool,
    vary_flags: VaryFlags,
    vary: Option<HeaderValue>,
    owns_cors_headers: bool,
}

impl OwnedCorsHeaders {
    /// Like [`CorsHeaders::apply_to`], through the same writer. The map grows at most once.
    pub(crate) fn apply_to(&self, map: &mut HeaderMap) {
        let true_ = HeaderValue::from_static("true");
        let headers = CorsHeaders {
            allow_origin: self.allow_origin.as_ref(),
            allow_credentials: self.allow_credentials.then_some(&true_),
            allow_methods: self.allow_methods.as_ref(),
            allow_headers: AllowHeaders::Lines(&self.allow_headers),
            expose_headers: self.expose_headers.as_ref(),
            max_age: self.max_age.as_ref(),
            allow_private_network: self.allow_private_network.then_some(&true_),
            vary_flags: self.vary_flags,
            vary: self.vary.as_ref(),
            owns_cors_headers: self.owns_cors_headers,
            prebuilt: None,
            policy: unnamed(),
        };
        map.reserve(headers.header_count());
        headers.apply_to(map);
    }
}

/// The name of headers that no longer come from a policy (detached, then written back).
fn unnamed() -> &'static std::sync::Arc<str> {
    static UNNAMED: std::sync::OnceLock<std::sync::Arc<str>> = std::sync::OnceLock::new();
    UNNAMED.get_or_init(|| std::sync::Arc::from(""))
}

/// Adds to `map`'s `Vary` the names of `joined` (the layer's own, each named once) that it
/// lacks, compared without case, so that no field is named twice and the spelling that came
/// first, the inner service's, is kept. `joined` goes in as is when the map has no `Vary` yet
/// (one probe of the map in that common case) or names none of it.
///
/// A `*` already says that the response varies with every request field, `Origin` and the
/// preflight's among them, so no cache reuses it: the layer adds nothing, and the inner
/// service's `Vary` goes out unchanged (RFC 7231 has `*` stand alone).
fn merge_vary(map: &mut HeaderMap, joined: HeaderValue) {
    // A lookup and an insert cost less than `HeaderMap::entry` in the common case (no `Vary`).
    if !map.contains_key(header::VARY) {
        map.insert(header::VARY, joined);
        return;
    }
    let existing = map.get_all(header::VARY);
    if vary_has(existing.iter(), b"*") {
        return;
    }
    let lacks = |name: &&[u8]| !vary_has(existing.iter(), name);
    if vary_names(&joined).all(|name| lacks(&name)) {
        map.append(header::VARY, joined);
        return;
    }
    // Some names are there already: one line of the others. Off the common paths, which meet
    // no `Vary`, or one that names none of the layer's fields.
    let mut line = SmallVec::<[u8; 128]>::new();
    for name in vary_names(&joined).filter(lacks) {
        if !line.is_empty() {
            line.extend_from_slice(b", ");
        }
        line.extend_from_slice(name);
    }
    if line.is_empty() {
        return;
    }
    // Names cut at commas from a valid value make a valid one.
    if let Ok(line) = HeaderValue::from_bytes(&line) {
        map.append(header::VARY, line);
    }
}

fn put(map: &mut HeaderMap, name: HeaderName, value: Option<HeaderValue>) {
    if let Some(v) = value {
        map.insert(name, v);
    }
}

fn set(map: &mut HeaderMap, name: HeaderName, value: Option<&HeaderValue>) {
    if let Some(v) = value {
        map.insert(name, v.clone());
    }
}

/// The field names of one `Vary` value, trimmed; empty elements skipped.
fn vary_names(value: &HeaderValue) -> impl Iterator<Item = &[u8]> {
    value
        .as_bytes()
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|n| !n.is_empty())
}

/// Whether any of `values` names `name`, compared without case (field names are).
fn vary_has<'v>(mut values: impl Iterator<Item = &'v HeaderValue>, name: &[u8]) -> bool {
    values.any(|v| vary_names(v).any(|n| n.eq_ignore_ascii_case(name)))
}

#[inline]
fn is_cors_header(name: &HeaderName) -> bool {
    name.as_str().starts_with("access-control-")
}

/// Removes every `Access-Control-*` header, without allocating unless one is present.
fn remove_cors_headers(map: &mut HeaderMap) {
    if !map.keys().any(is_cors_header) {
        return;
    }
    let names: SmallVec<[HeaderName; 4]> =
        map.keys().filter(|n| is_cors_header(n)).cloned().collect();
    for name in names {
        map.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: u8 = VaryFlags::ORIGIN;
    const PREFLIGHT: u8 = VaryFlags::ORIGIN | VaryFlags::METHOD | VaryFlags::HEADERS;
    const EXTRA: u8 = VaryFlags::EXTRA;

    #[test]
    fn joined_names_each_field_once() {
        // (flags, a selector's declared headers, the joined value)
        let cases: &[(u8, &[&str], Option<&str>)] = &[
            (0, &[], None),
            (ORIGIN, &[], Some("Origin")),
            (ORIGIN, &["x-tenant"], Some("Origin")),
            (ORIGIN | EXTRA, &["origin"], Some("Origin")),
            (ORIGIN | EXTRA, &["x-tenant", "origin"], Some("Origin, x-tenant")),
            (EXTRA, &["origin"], Some("origin")),
            (EXTRA, &["x-a", "X-A"], Some("x-a")),
            (
                PREFLIGHT | EXTRA,
                &["access-control-request-headers", "x-tenant", "origin"],
                Some("Origin, Access-Control-Request-Method, Access-Control-Request-Headers, x-tenant"),
            ),
            (
                VaryFlags::METHOD | VaryFlags::HEADERS | EXTRA,
                &["origin", "access-control-request-method"],
                Some("Access-Control-Request-Method, Access-Control-Request-Headers, origin"),
            ),
        ];
        for &(flags, declared, want) in cases {
            let declared: Vec<String> = declared.iter().map(|d| (*d).to_owned()).collect();
            let got = VaryFlags(flags).joined(&declared);
            assert_eq!(got.as_deref(), want, "{flags:#b} {declared:?}");
        }
    }

    fn merged(lines: &[HeaderValue], joined: &'static str) -> Vec<HeaderValue> {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(header::VARY, line.clone());
        }
        merge_vary(&mut map, HeaderValue::from_static(joined));
        map.get_all(header::VARY).iter().cloned().collect()
    }

    #[test]
    fn merge_names_each_field_once() {
        const ALL: &str = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
        // (the response's `Vary` lines, the layer's joined value, the lines after merging)
        let cases: &[(&[&str], &str, &[&str])] = &[
            (&[], "Origin", &["Origin"]),
            (
                &["Accept-Encoding"],
                "Origin",
                &["Accept-Encoding", "Origin"],
            ),
            (&["origin"], "Origin", &["origin"]),
            (
                &[" ORIGIN ,accept-encoding"],
                "Origin",
                &[" ORIGIN ,accept-encoding"],
            ),
            (
                &["Accept-Encoding", "oRiGiN"],
                ALL,
                &[
                    "Accept-Encoding",
                    "oRiGiN",
                    "Access-Control-Request-Method, Access-Control-Request-Headers",
                ],
            ),
            (
                &["access-control-request-headers, ORIGIN"],
                ALL,
                &[
                    "access-control-request-headers, ORIGIN",
                    "Access-Control-Request-Method",
                ],
            ),
            (&[ALL], ALL, &[ALL]),
            (&["Accept-Encoding"], ALL, &["Accept-Encoding", ALL]),
            (&["X-Tenant"], "Origin, x-tenant", &["X-Tenant", "Origin"]),
            (
                &["x-tenant, origin"],
                "Origin, x-tenant",
                &["x-tenant, origin"],
            ),
            // `*` covers every field: nothing is added to it.
            (&["*"], "Origin", &["*"]),
            (&["*"], ALL, &["*"]),
            (
                &["Accept-Encoding", " * "],
                "Origin, x-tenant",
                &["Accept-Encoding", " * "],
            ),
            // Empty elements and near misses name no field of the layer's.
            (&[",,"], "Origin", &[",,", "Origin"]),
            (&[""], "Origin", &["", "Origin"]),
            (&["Origins, x-*"], "Origin", &["Origins, x-*", "Origin"]),
        ];
        for &(lines, joined, want) in cases {
            let lines: Vec<HeaderValue> =
                lines.iter().map(|l| HeaderValue::from_static(l)).collect();
            let want: Vec<HeaderValue> = want.iter().map(|l| HeaderValue::from_static(l)).collect();
            assert_eq!(merged(&lines, joined), want, "{lines:?} + {joined:?}");
        }
    }

    #[test]
    fn merge_reads_bytes_that_are_not_text() {
        let odd = HeaderValue::from_bytes(b"\xffOrigin, \x80").expect("obs-text is allowed");
        let got = merged(std::slice::from_ref(&odd), "Origin");
        assert_eq!(got, [odd, HeaderValue::from_static("Origin")]);
    }
}
