//! [`CorsBuilder`]: user intent in, a validated, compiled policy out. `build()` checks every
//! value and reports every problem at once.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::{HeaderValue, StatusCode};
use smallvec::SmallVec;

use crate::decision::VaryFlags;
use crate::error::{ConfigError, ListKind, Problem};
use crate::header_list::is_token;
use crate::layer::CorsLayer;
use crate::lint::{Lint, Warning};
use crate::origin::parse::{is_loopback_host, parse_configured};
use crate::origin::pattern::parse_pattern;
use crate::origin::OriginMatcher;
use crate::policy::{shared_value, AsyncOriginFn, CaselessSet, OriginFn, Policy, Precomputed};
use crate::set::Engine;

/// The longest max-age [`CorsBuilder::max_age`] accepts: 24 hours, Firefox's cap. Chromium
/// caps preflight caching at 2 hours whatever the server says.
///
/// ```
/// use tower_cors::{CorsLayer, MAX_AGE_LIMIT};
///
/// assert!(CorsLayer::builder().allow_any_origin().max_age(MAX_AGE_LIMIT).build().is_ok());
/// let too_long = MAX_AGE_LIMIT + std::time::Duration::from_secs(1);
/// assert!(CorsLayer::builder().allow_any_origin().max_age(too_long).build().is_err());
/// ```
pub const MAX_AGE_LIMIT: Duration = Duration::from_secs(86_400);

/// Request headers a script can never set (the Fetch standard's list), so allowing them is a
/// configuration mistake. Names starting with `proxy-` or `sec-` are forbidden too.
const FORBIDDEN_REQUEST_HEADERS: &[&str] = &[
    "accept-charset",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "connection",
    "content-length",
    "cookie",
    "cookie2",
    "date",
    "dnt",
    "expect",
    "host",
    "keep-alive",
    "origin",
    "referer",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

/// Builds a [`CorsLayer`]. Obtained from [`CorsLayer::builder`].
///
/// Every method takes and returns the builder by value; list setters add to what was set
/// before. Nothing is checked until [`build`](CorsBuilder::build), which reports every problem
/// at once.
///
/// ```
/// use std::time::Duration;
/// use tower_cors::CorsLayer;
///
/// let cors = CorsLayer::builder()
///     .allow_origins(["https://app.example.com", "https://*.example.com", "http://localhost:*"])
///     .allow_methods([http::Method::PUT, http::Method::DELETE])
///     .allow_headers(["content-type", "x-api-key"])
///     .expose_headers(["x-request-id"])
///     .allow_credentials(true)
///     .max_age(Duration::from_secs(600))
///     .build()?;
/// # let _ = cors;
/// # Ok::<(), tower_cors::ConfigError>(())
/// ```
#[must_use = "a builder does nothing until `build()` is called"]
pub struct CorsBuilder {
    origins: Vec<String>,
    any_origin: bool,
    origin_fns: Vec<OriginFn>,
    origin_async: Vec<AsyncOriginFn>,
    methods: Vec<String>,
    any_method: bool,
    headers: Vec<String>,
    any_header: bool,
    exposed: Vec<String>,
    expose_any: bool,
    credentials: bool,
    max_age: Option<Duration>,
    private_network: bool,
    preflight_status: StatusCode,
    pass_through: bool,
    insecure_origins: bool,
    public_suffix_wildcards: bool,
    loopback_origins: bool,
    /// Allows nothing, on purpose: a set's policy for requests nothing was selected for.
    deny_all: bool,
}

/// What a policy's surroundings add to it when it is compiled: its name, and the `Vary` tokens
/// the selection of a policy set depends on (every member of a set answers with them).
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(crate) name: Arc<str>,
    /// `Vary: Origin` on every response, even an any-origin policy's (an origin-selected set).
    pub(crate) vary_origin: bool,
    /// Request headers a selector function reads, lower case.
    pub(crate) extra_vary: Vec<String>,
}

impl Context {
    pub(crate) fn single() -> Self {
        Context {
            name: Arc::from(DEFAULT_POLICY),
            vary_origin: false,
            extra_vary: Vec::new(),
        }
    }
}

/// The name of a single-policy layer's policy, in decisions, events and metrics.
pub(crate) const DEFAULT_POLICY: &str = "default";

impl fmt::Debug for CorsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorsBuilder")
            .field("origins", &self.origins)
            .field("any_origin", &self.any_origin)
            .field("origin_fns", &self.origin_fns.len())
            .field("origin_async", &self.origin_async.len())
            .field("methods", &self.methods)
            .field("any_method", &self.any_method)
            .field("headers", &self.headers)
            .field("any_header", &self.any_header)
            .field("exposed", &self.exposed)
            .field("expose_any", &self.expose_any)
            .field("credentials", &self.credentials)
            .field("max_age", &self.max_age)
            .field("private_network", &self.private_network)
            .field("preflight_status", &self.preflight_status)
            .field("pass_through", &self.pass_through)
            .field("danger_allow_insecure_origins", &self.insecure_origins)
            .field(
                "danger_allow_public_suffix_wildcards",
                &self.public_suffix_wildcards,
            )
            .field("allow_loopback_origins", &self.loopback_origins)
            .finish_non_exhaustive()
    }
}

impl Default for CorsBuilder {
    fn default() -> Self {
        CorsBuilder {
            origins: Vec::new(),
            any_origin: false,
            origin_fns: Vec::new(),
            origin_async: Vec::new(),
            methods: Vec::new(),
            any_method: false,
            headers: Vec::new(),
            any_header: false,
            exposed: Vec::new(),
            expose_any: false,
            credentials: false,
            max_age: None,
            private_network: false,
            preflight_status: StatusCode::NO_CONTENT,
            pass_through: false,
            insecure_origins: false,
            public_suffix_wildcards: false,
            loopback_origins: false,
            deny_all: false,
        }
    }
}

fn extend<I>(list: &mut Vec<String>, items: I)
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    list.extend(items.into_iter().map(|s| s.as_ref().to_owned()));
}

impl CorsBuilder {
    /// Allows these origins. Each item is an exact serialized origin
    /// (`https://app.example.com`, `http://localhost:3000`), a pattern (`https://*.example.com`
    /// for one or more subdomain labels, `http://localhost:*` for any port, or both), or `*` for
    /// any origin.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_origins(["https://app.example.com"])
    ///     .allow_origins(vec![String::from("https://*.example.org")])
    ///     .build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn allow_origins<I>(mut self, items: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        extend(&mut self.origins, items);
        self
    }

    /// Allows any origin: responses carry `Access-Control-Allow-Origin: *`. Cannot be combined
    /// with credentials.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder().allow_any_origin().build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn allow_any_origin(mut self) -> Self {
        self.any_origin = true;
        self
    }

    /// Allows an origin when `predicate` returns `true`. Consulted after the listed origins and
    /// patterns; several predicates are tried in order. The predicate sees the raw `Origin`
    /// value (which may be `null`) and the request head.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_origin_fn(|origin, _parts| origin.as_bytes().ends_with(b".internal.example"))
    ///     .build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn allow_origin_fn<F>(mut self, predicate: F) -> Self
    where
        F: Fn(&HeaderValue, &Parts) -> bool + Send + Sync + 'static,
    {
        self.origin_fns.push(Box::new(predicate));
        self
    }

    /// Allows an origin when the future returned by `predicate` resolves to `true` (for
    /// example after a database lookup). Consulted last, only when nothing synchronous allowed
    /// the origin. Its future is boxed: one allocation per request that reaches it.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_origin_async(|origin, _parts| async move {
    ///         origin.as_bytes() == b"https://tenant.example.com"
    ///     })
    ///     .build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn allow_origin_async<F, Fut>(mut self, predicate: F) -> Self
    where
        F: Fn(HeaderValue, &Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.origin_async.push(Box::new(move |origin, parts| {
            Box::pin(predicate(origin, parts))
        }));
        self
    }

    /// Allows these methods in preflights, in addition to the always-allowed `GET`, `HEAD` and
    /// `POST`. Methods compare byte-exactly; `delete`, `get`, `head`, `options`, `post` and
    /// `put` are upper-cased the way browsers do, every other name keeps its case. `*` means
    /// any method.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_any_origin()
    ///     .allow_methods([http::Method::PUT, http::Method::PATCH])
    ///     .allow_methods(["delete"])
    ///     .build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn allow_methods<I>(mut self, items: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        extend(&mut self.methods, items);
        self
    }

    /// Allows any method in preflights.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder().allow_any_origin().allow_any_method().build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn allow_any_method(mut self) -> Self {
        self.any_method = true;
        self
    }

    /// Allows these request headers in preflights (compared case-insensitively). `*` means any
    /// header.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_any_origin()
    ///     .allow_headers([http::header::CONTENT_TYPE, http::header::AUTHORIZATION])
    ///     .allow_headers(["x-api-key"])
    ///     .build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn allow_headers<I>(mut self, items: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        extend(&mut self.headers, items);
        self
    }

    /// Allows any request header in preflights. `authorization` is named explicitly in the
    /// answer when requested, since browsers never let `*` cover it.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder().allow_any_origin().allow_any_header().build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn allow_any_header(mut self) -> Self {
        self.any_header = true;
        self
    }

    /// Lets scripts read these response headers (beyond the CORS-safelisted ones). `*` means
    /// any header, which cannot be combined with credentials.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_any_origin()
    ///     .expose_headers(["x-request-id", "etag"])
    ///     .build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn expose_headers<I>(mut self, items: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        extend(&mut self.exposed, items);
        self
    }

    /// Lets scripts read any response header (`Access-Control-Expose-Headers: *`). Cannot be
    /// combined with credentials.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder().allow_any_origin().expose_any_header().build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn expose_any_header(mut self) -> Self {
        self.expose_any = true;
        self
    }

    /// Allows credentialed requests (cookies, HTTP authentication, client certificates):
    /// responses carry `Access-Control-Allow-Credentials: true`. Forbids any-origin and `*`
    /// exposed headers, and (unless the `danger_*` switches say otherwise) plain-http
    /// non-loopback origins and wildcards over public suffixes.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_origins(["https://app.example.com"])
    ///     .allow_credentials(true)
    ///     .build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.credentials = allow;
        self
    }

    /// How long browsers may cache a preflight answer (`Access-Control-Max-Age`), truncated to
    /// whole seconds; at most [`MAX_AGE_LIMIT`]. Without it browsers cache for 5 seconds.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_any_origin()
    ///     .max_age(std::time::Duration::from_secs(3600))
    ///     .build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Answers private-network preflights (`Access-Control-Request-Private-Network: true`) with
    /// `Access-Control-Allow-Private-Network: true`. Off by default: such preflights fail.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_origins(["https://app.example.com"])
    ///     .allow_private_network(true)
    ///     .build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn allow_private_network(mut self, allow: bool) -> Self {
        self.private_network = allow;
        self
    }

    /// The status of a successful preflight answer: 204 by default, any 2xx accepted (some old
    /// clients want 200).
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_any_origin()
    ///     .preflight_status(http::StatusCode::OK)
    ///     .build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn preflight_status(mut self, status: StatusCode) -> Self {
        self.preflight_status = status;
        self
    }

    /// Lets successful preflights continue to the inner service, adding the preflight headers
    /// to its response (for apps that answer `OPTIONS` themselves). Failing preflights are still
    /// answered with 403 by the layer.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_any_origin()
    ///     .preflight_pass_through(true)
    ///     .build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn preflight_pass_through(mut self, pass: bool) -> Self {
        self.pass_through = pass;
        self
    }

    /// With credentials, accepts `http://` origins whose host is not loopback. Anyone on the
    /// network path between a user and such an origin can inject script into it and read
    /// credentialed responses; only for closed networks.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_origins(["http://intranet.example"])
    ///     .allow_credentials(true)
    ///     .danger_allow_insecure_origins(true)
    ///     .build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn danger_allow_insecure_origins(mut self, allow: bool) -> Self {
        self.insecure_origins = allow;
        self
    }

    /// With credentials, accepts `*.` patterns whose base is a public suffix
    /// (`https://*.github.io`), which anyone can register a matching site under.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_origins(["https://*.github.io"])
    ///     .allow_credentials(true)
    ///     .danger_allow_public_suffix_wildcards(true)
    ///     .build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn danger_allow_public_suffix_wildcards(mut self, allow: bool) -> Self {
        self.public_suffix_wildcards = allow;
        self
    }

    /// Marks loopback origins (`http://localhost:3000`, `http://127.0.0.1:*`, `https://[::1]`)
    /// as intended, which silences the [`Lint::LoopbackOrigin`](crate::Lint::LoopbackOrigin)
    /// warning. Without it, each listed loopback origin is reported by
    /// [`CorsLayer::warnings`]: a development origin shipped to production lets any page
    /// served from the user's own machine (another local app, a dev server) read responses.
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_origins(["http://localhost:3000"])
    ///     .build()?;
    /// assert_eq!(cors.warnings().len(), 1);
    /// let cors = tower_cors::CorsLayer::builder()
    ///     .allow_origins(["http://localhost:3000"])
    ///     .allow_loopback_origins(true)
    ///     .build()?;
    /// assert!(cors.warnings().is_empty());
    /// # Ok::<(), tower_cors::ConfigError>(())
    /// ```
    pub fn allow_loopback_origins(mut self, allow: bool) -> Self {
        self.loopback_origins = allow;
        self
    }

    /// Adds what gRPC-web and Connect clients in browsers need, on top of what is already set:
    ///
    /// - exposes `grpc-status`, `grpc-message` and `grpc-status-details-bin`, which carry a
    ///   call's outcome in headers when the server answers without a body (trailers-only);
    /// - allows the request headers `content-type` (`application/grpc-web+proto` is not a
    ///   CORS-safelisted type), `x-grpc-web`, `x-user-agent`, `grpc-timeout`,
    ///   `connect-protocol-version` and `connect-timeout-ms`;
    /// - allows `POST`, and `GET` for Connect's cacheable unary calls;
    /// - sets a max-age of 7200 s (Chromium's cap) unless one is already set, since every call
    ///   is preceded by a preflight otherwise.
    ///
    /// Origins stay the caller's to list: gRPC-web is no reason to allow any origin. Put the
    /// layer outside `tonic_web::GrpcWebLayer`, so preflights are answered before they reach
    /// the gRPC-web translation.
    ///
    /// ```
    /// use tower_cors::{CorsLayer, Decision};
    ///
    /// let cors = CorsLayer::builder()
    ///     .allow_origins(["https://app.example.com"])
    ///     .grpc_web()
    ///     .build()?;
    /// let (parts, ()) = http::Request::options("/grpc.health.v1.Health/Check")
    ///     .header("origin", "https://app.example.com")
    ///     .header("access-control-request-method", "POST")
    ///     .header("access-control-request-headers", "content-type,x-grpc-web,x-user-agent")
    ///     .body(())?
    ///     .into_parts();
    /// let Decision::PreflightAccepted { headers, .. } = cors.evaluate(&parts) else {
    ///     panic!("preflight refused");
    /// };
    /// assert_eq!(headers.get(&http::header::ACCESS_CONTROL_MAX_AGE).unwrap(), "7200");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn grpc_web(mut self) -> Self {
        // Chromium caps preflight caching at two hours; asking for more buys nothing.
        const CHROMIUM_MAX_AGE: Duration = Duration::from_secs(7200);
        extend(
            &mut self.exposed,
            ["grpc-status", "grpc-message", "grpc-status-details-bin"],
        );
        extend(
            &mut self.headers,
            [
                "content-type",
                "x-grpc-web",
                "x-user-agent",
                "grpc-timeout",
                "connect-protocol-version",
                "connect-timeout-ms",
            ],
        );
        extend(&mut self.methods, ["POST", "GET"]);
        self.max_age.get_or_insert(CHROMIUM_MAX_AGE);
        self
    }

    /// Validates the configuration and compiles it into a [`CorsLayer`]. On failure the error
    /// lists every problem found, each naming the value at fault as it was passed.
    ///
    /// A built policy precomputes every header value it sends (joined lists, max-age, `Vary`)
    /// and a copy of each exact origin it lists, and keeps them in memory shared by every
    /// policy of the process for its whole life, each distinct value once, so that putting
    /// one in a response copies a pointer. That memory is bounded: at most 1 MiB in all;
    /// past it, values are reference-counted instead and listed origins are sent back as the
    /// request spelled them (the same bytes). Building policies over and over from the same
    /// configuration (or reloading) therefore does not grow memory.
    ///
    /// ```
    /// let err = tower_cors::CorsLayer::builder()
    ///     .allow_any_origin()
    ///     .allow_credentials(true)
    ///     .max_age(std::time::Duration::from_secs(100_000))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.problems().len(), 2);
    /// ```
    pub fn build(self) -> Result<CorsLayer, ConfigError> {
        let (policy, lints) = self.compile(&Context::single()).map_err(ConfigError::new)?;
        let warnings = lints
            .into_iter()
            .map(|lint| Warning::new(None, lint))
            .collect();
        Ok(CorsLayer::from_engine(Arc::new(Engine::single(
            policy, warnings,
        ))))
    }

    /// Validates and compiles the policy for `ctx`: the problems found, or the policy and the
    /// risky-but-legal settings it holds.
    pub(crate) fn compile(self, ctx: &Context) -> Result<(Policy, Vec<Lint>), Vec<Problem>> {
        let mut lints = Vec::new();
        let mut problems = Vec::new();
        let credentials = self.credentials;

        let mut any_origin = self.any_origin;
        let mut origins = OriginMatcher::default();
        for value in &self.origins {
            if value == "*" {
                any_origin = true;
            } else if value.contains('*') {
                match parse_pattern(value) {
                    Ok(pattern) => {
                        self.lint_origin(value, &pattern.scheme, &pattern.host, &mut lints);
                        if !credentials && pattern.subdomains {
                            if let Some(suffix) = public_suffix(&pattern.host) {
                                lints.push(Lint::PublicSuffixWildcard {
                                    value: value.clone(),
                                    suffix,
                                });
                            }
                        }
                        if credentials {
                            self.check_credentialed(
                                value,
                                &pattern.scheme,
                                &pattern.host,
                                &mut problems,
                            );
                            if pattern.subdomains && !self.public_suffix_wildcards {
                                if let Some(suffix) = public_suffix(&pattern.host) {
                                    problems.push(Problem::PublicSuffixWildcard {
                                        value: value.clone(),
                                        suffix,
                                    });
                                }
                            }
                        }
                        origins.add_pattern(pattern);
                    }
                    Err(reason) => problems.push(Problem::InvalidOriginPattern {
                        value: value.clone(),
                        reason,
                    }),
                }
            } else {
                match parse_configured(value, false) {
                    Ok((parts, _)) => {
                        self.lint_origin(value, parts.scheme, parts.host, &mut lints);
                        if credentials {
                            self.check_credentialed(value, parts.scheme, parts.host, &mut problems);
                        }
                        origins.add_exact(value);
                    }
                    Err(reason) => problems.push(Problem::InvalidOrigin {
                        value: value.clone(),
                        reason,
                    }),
                }
            }
        }
        if self.origins.is_empty()
            && !self.deny_all
            && !any_origin
            && self.origin_fns.is_empty()
            && self.origin_async.is_empty()
        {
            problems.push(Problem::NoOriginSource);
        }
        if any_origin && credentials {
            problems.push(Problem::AnyOriginWithCredentials);
        }
        let predicates = self.origin_fns.len() + self.origin_async.len();
        if predicates > 0 && credentials {
            lints.push(Lint::OriginPredicateWithCredentials { predicates });
        }
        if any_origin && self.private_network {
            lints.push(Lint::AnyOriginWithPrivateNetwork);
        }
        for (on, name) in [
            (self.insecure_origins, "danger_allow_insecure_origins"),
            (
                self.public_suffix_wildcards,
                "danger_allow_public_suffix_wildcards",
            ),
        ] {
            if on {
                lints.push(Lint::DangerSwitch { name });
            }
        }

        let mut any_method = self.any_method;
        let mut methods: SmallVec<[Box<[u8]>; 8]> = SmallVec::new();
        for value in &self.methods {
            if value == "*" {
                any_method = true;
            } else if !is_token(value.as_bytes()) {
                problems.push(Problem::InvalidMethod {
                    value: value.clone(),
                });
            } else if ["CONNECT", "TRACE", "TRACK"]
                .iter()
                .any(|m| m.eq_ignore_ascii_case(value))
            {
                problems.push(Problem::ForbiddenMethod {
                    value: value.clone(),
                });
            } else {
                let normalized = normalize_method(value);
                if !methods.iter().any(|m| **m == *normalized.as_bytes()) {
                    methods.push(normalized.into_bytes().into_boxed_slice());
                }
            }
        }

        let mut any_header = self.any_header;
        let mut headers = CaselessSet::default();
        let mut header_list: Vec<String> = Vec::new();
        for value in &self.headers {
            if value == "*" {
                any_header = true;
            } else if !is_token(value.as_bytes()) {
                problems.push(Problem::InvalidHeaderName {
                    list: ListKind::AllowedHeaders,
                    value: value.clone(),
                });
            } else if is_forbidden_request_header(value) {
                problems.push(Problem::ForbiddenRequestHeader {
                    value: value.clone(),
                });
            } else {
                let lower = value.to_ascii_lowercase();
                if !headers.contains(lower.as_bytes()) {
                    headers.insert(&lower);
                    header_list.push(lower);
                }
            }
        }

        let mut expose_any = self.expose_any;
        let mut exposed: Vec<String> = Vec::new();
        for value in &self.exposed {
            if value == "*" {
                expose_any = true;
            } else if !is_token(value.as_bytes()) {
                problems.push(Problem::InvalidHeaderName {
                    list: ListKind::ExposedHeaders,
                    value: value.clone(),
                });
            } else if value.eq_ignore_ascii_case("set-cookie")
                || value.eq_ignore_ascii_case("set-cookie2")
            {
                problems.push(Problem::ForbiddenExposedHeader {
                    value: value.clone(),
                });
            } else {
                let lower = value.to_ascii_lowercase();
                if !exposed.contains(&lower) {
                    exposed.push(lower);
                }
            }
        }
        if expose_any && credentials {
            problems.push(Problem::AnyExposedHeaderWithCredentials);
        }

        let max_age = self.max_age.map(|d| d.as_secs());
        if let Some(seconds) = max_age {
            if seconds > MAX_AGE_LIMIT.as_secs() {
                problems.push(Problem::MaxAgeTooLong { seconds });
            }
        }
        if !self.preflight_status.is_success() {
            problems.push(Problem::InvalidPreflightStatus {
                status: self.preflight_status.as_u16(),
            });
        }

        if !problems.is_empty() {
            return Err(problems);
        }

        let allow_methods = if any_method && !credentials {
            HeaderValue::from_static("*")
        } else {
            let mut names: Vec<&str> = methods
                .iter()
                .map(|m| std::str::from_utf8(m).unwrap_or_default())
                .collect();
            for safe in ["GET", "HEAD", "POST"] {
                if !names.contains(&safe) {
                    names.push(safe);
                }
            }
            shared_value(names.join(", "))
        };
        // Every response varies with what chose its policy as well as with what it decided on.
        let selection = if ctx.extra_vary.is_empty() {
            0
        } else {
            VaryFlags::EXTRA
        };
        let origin = if !any_origin || ctx.vary_origin {
            VaryFlags::ORIGIN
        } else {
            0
        };
        let mut vary = VaryFlags::METHOD | VaryFlags::HEADERS | origin | selection;
        if self.private_network {
            vary |= VaryFlags::PRIVATE_NETWORK;
        }
        let vary_preflight_flags = VaryFlags(vary);
        let vary_actual_flags = VaryFlags(origin | selection);
        let values = Precomputed {
            star: HeaderValue::from_static("*"),
            true_: HeaderValue::from_static("true"),
            star_authorization: HeaderValue::from_static("*, authorization"),
            allow_methods,
            // Sent whenever a preflight names request headers, even an empty list, so the
            // answer always states what is allowed.
            allow_headers: Some(if header_list.is_empty() {
                HeaderValue::from_static("")
            } else {
                shared_value(header_list.join(", "))
            }),
            expose_headers: if expose_any {
                Some(HeaderValue::from_static("*"))
            } else {
                (!exposed.is_empty()).then(|| shared_value(exposed.join(", ")))
            },
            max_age: max_age.map(|s| shared_value(s.to_string())),
            vary_preflight: shared_value(
                vary_preflight_flags
                    .joined(&ctx.extra_vary)
                    .unwrap_or_default(),
            ),
            vary_preflight_flags,
            vary_actual: match vary_actual_flags.joined(&ctx.extra_vary) {
                None => None,
                Some(joined) if joined == "Origin" => Some(HeaderValue::from_static("Origin")),
                Some(joined) => Some(shared_value(joined)),
            },
            vary_actual_flags,
        };
        origins.intern_values();
        let mut policy = Policy {
            any_origin,
            origins,
            origin_fns: self.origin_fns,
            origin_async: self.origin_async,
            credentials,
            any_method,
            methods,
            any_header,
            headers,
            private_network: self.private_network,
            preflight_status: self.preflight_status,
            pass_through: self.pass_through,
            values,
            prebuilt: Default::default(),
            name: ctx.name.clone(),
        };
        policy.prebuild_answers();
        Ok((policy, lints))
    }

    /// The warnings an origin earns whatever the credentials: plain http (not loopback), and
    /// loopback unless marked as intended.
    fn lint_origin(&self, value: &str, scheme: &str, host: &str, lints: &mut Vec<Lint>) {
        let loopback = is_loopback_host(host);
        if loopback && !self.loopback_origins {
            lints.push(Lint::LoopbackOrigin {
                value: value.to_owned(),
            });
        }
        if scheme == "http" && !loopback && !self.credentials {
            lints.push(Lint::InsecureOrigin {
                value: value.to_owned(),
            });
        }
    }

    /// A policy that allows no origin.
    pub(crate) fn deny_all() -> Self {
        CorsBuilder {
            deny_all: true,
            ..CorsBuilder::default()
        }
    }

    pub(crate) fn has_async_predicates(&self) -> bool {
        !self.origin_async.is_empty()
    }

    /// With credentials, plain-http origins must be loopback.
    fn check_credentialed(
        &self,
        value: &str,
        scheme: &str,
        host: &str,
        problems: &mut Vec<Problem>,
    ) {
        if scheme == "http" && !self.insecure_origins && !is_loopback_host(host) {
            problems.push(Problem::InsecureOriginWithCredentials {
                value: value.to_owned(),
            });
        }
    }
}

/// The public suffix `host` is, if it is one (a rule of the list, ICANN or private section).
fn public_suffix(host: &str) -> Option<String> {
    let suffix = psl::suffix(host.as_bytes())?;
    (suffix.is_known() && suffix.as_bytes() == host.as_bytes()).then(|| host.to_owned())
}

/// Upper-cases the methods browsers normalize; every other name keeps its case.
fn normalize_method(value: &str) -> String {
    const NORMALIZED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
    NORMALIZED
        .iter()
        .find(|m| m.eq_ignore_ascii_case(value))
        .map_or_else(|| value.to_owned(), |m| (*m).to_owned())
}

fn is_forbidden_request_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("proxy-")
        || lower.starts_with("sec-")
        || FORBIDDEN_REQUEST_HEADERS.contains(&lower.as_str())
}
