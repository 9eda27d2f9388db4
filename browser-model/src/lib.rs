//! The browser's half of CORS, as pure code: what a browser sends for a `fetch()` in `cors`
//! mode and how it judges each answer, after the
//! [Fetch standard](https://fetch.spec.whatwg.org/#http-cors-protocol). No I/O: you describe the
//! request ([`FetchRequest`]), an [`Exchange`] tells you which requests to send and takes their
//! answers, and a [`Verdict`] says whether the script can read the response, and if not why, in
//! Chromium's, Firefox's and Safari's words.
//!
//! The model judges *any* server: `cors check` (the `tower-cors-cli` command) drives it over the
//! network, and `tower_cors::testing::fetch` (tower-cors's `browser` feature) through a tower
//! service in process. It depends on no server framework.
//!
//! ```
//! use http::{HeaderMap, HeaderValue, StatusCode};
//! use cors_browser_model::{BlockReason, Credentials, Exchange, FetchRequest};
//!
//! let request = FetchRequest::builder("https://api.example.com/cart", "https://app.example.com")
//!     .method("PUT")
//!     .header("content-type", "application/json")
//!     .credentials(Credentials::Include)
//!     .build()?;
//! let plan = request.plan();
//! assert!(plan.preflight);
//! assert_eq!(plan.unsafe_headers[0].0, "content-type");
//!
//! let mut exchange = Exchange::new(&request);
//! let preflight = exchange.next_request().expect("a preflight");
//! assert_eq!(preflight.headers()["access-control-request-headers"], "content-type");
//! assert!(!preflight.headers().contains_key("cookie"));
//!
//! let mut answer = HeaderMap::new();
//! answer.insert("access-control-allow-origin", HeaderValue::from_static("https://app.example.com"));
//! answer.insert("access-control-allow-methods", HeaderValue::from_static("PUT"));
//! answer.insert("access-control-allow-headers", HeaderValue::from_static("content-type"));
//! exchange.receive(StatusCode::NO_CONTENT, &answer);
//!
//! // `Access-Control-Allow-Credentials: true` is missing.
//! let verdict = exchange.finish();
//! assert_eq!(verdict.reason(), Some(&BlockReason::InvalidAllowCredentials(String::new())));
//! # Ok::<(), cors_browser_model::InvalidRequest>(())
//! ```
//!
//! # What it models, and its limits
//!
//! - Forbidden request headers are dropped and reported ([`Plan::ignored_headers`]); forbidden
//!   methods make the description invalid, as `fetch()` throws.
//! - The preflight decision: the method (`GET`, `HEAD`, `POST`, byte-exact after the standard's
//!   normalization, which upper-cases only six names) and every CORS-unsafe header with the
//!   rule it breaks ([`UnsafeHeader`]).
//! - The preflight response check, in Chromium's order; every check is recorded, not only the
//!   first failing one ([`Verdict::checks`]).
//! - Redirects of the actual request: at most [`MAX_REDIRECTS`], a CORS check on every hop, the
//!   `null` origin once the chain is tainted, `user:password@` locations refused, `POST` turned
//!   into `GET` on 301/302/303, `Authorization` dropped on an origin change, a fresh preflight
//!   when the new target needs one.
//! - URLs as the [URL standard](https://url.spec.whatwg.org/) parses them (the
//!   [`url`](https://docs.rs/url) crate, Servo's parser): the request URL, each `Location`
//!   (resolved against the current URL) and the URL every message quotes. The path and query
//!   are percent-encoded with the standard's encode sets (`?q=a b` is sent as `?q=a%20b`, `ï`
//!   as `%C3%AF`), hosts go through IDNA
//!   (`ñandú.test` is `xn--and-6ma2c.test`, in `Host` and in `Origin`), dot segments are removed
//!   (`/api/v0/../items` asks for `/api/items`), default ports are dropped, backslashes are
//!   slashes and tabs and newlines are stripped. The fragment is never sent but the messages
//!   quote it, and a `Location` without a fragment inherits the current URL's, as HTTP-redirect
//!   fetch says ([`Exchange::current_url`]).
//! - `Sec-Fetch-Mode`, `-Site` and `-Dest` go only to potentially trustworthy URLs (`https`,
//!   `localhost` and `*.localhost`, 127.0.0.0/8, `[::1]`), decided on the URL, not the address
//!   a name resolves to (except Chromium's `Sec-Fetch-Mode` on preflights, below); `same-site`
//!   compares registrable domains by the public suffix list ([`psl`]).
//! - Not modeled: the preflight cache (every exchange starts cold), mixed content, private or
//!   local network access, request bodies (the use-CORS-preflight flag of upload listeners and
//!   streams), modes other than `cors`.
//!
//! # Browsers
//!
//! [`Verdict::outcome`] is the standard's. [`Verdict::engine`] gives Chromium's, Firefox's and
//! Safari's beside it, where they deviate:
//!
//! - All three still let `Access-Control-Allow-Headers: *` cover `Authorization` (with a
//!   deprecation warning); the standard does not. Measured in Chromium 156.0.8078.114.
//! - A lower-case `patch` against `Access-Control-Allow-Methods: PATCH` is refused by all three,
//!   as the standard says (Chromium 156 measured; older Chromium upper-cased the method first).
//! - Safari checks a failed preflight's status before its `Access-Control-Allow-Origin`, and
//!   Firefox compares the method before it parses `Access-Control-Allow-Headers`: the same
//!   verdict, another first reason.
//! - Preflight caches are capped at 2 hours (Chromium), 24 hours (Firefox), 10 minutes (Safari)
//!   ([`Engine::max_age_cap`]).
//!
//! [`Blocked`]'s `Display` is Chromium 156's console line. The reason keys
//! ([`BlockReason::firefox_key`]) are Firefox's.
//!
//! URLs and fetch metadata, measured against Chromium 156 by tower-cors's agreement test
//! (`browser-tests/tests/check_agreement/url_forms.rs`: a space and non-ASCII in the path and
//! query, an IDNA host mapped to loopback, dot segments, backslashes and a tab, a fragment, a
//! relative redirect with `..`, each over HTTP and HTTPS). Chromium sent the request target,
//! `Host`, SNI, `Origin` and `Access-Control-Request-*` the URL and Fetch standards give, and
//! quoted each URL in its console line as the URL standard serializes it, fragment included.
//! One divergence, where the model follows Chromium:
//!
//! - `url-idna-host` over HTTP (`http://ñandú.test:PORT/items`, a `PUT` with a preflight):
//!   the URL is not potentially trustworthy, so the standard sends no `Sec-Fetch-*` at all;
//!   Chromium sends `Sec-Fetch-Mode: cors` on the preflight (and nothing on the actual request).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod check;
mod exchange;
mod safelist;
mod url;
mod verdict;

use std::fmt;

use http::header::{HeaderName, HeaderValue};

pub use exchange::{Exchange, MAX_REDIRECTS};
pub use safelist::UnsafeHeader;
pub use verdict::{
    BlockReason, Blocked, Check, Engine, EngineOutcome, MaxAge, Outcome, Readable, Stage, Verdict,
};

use self::url::{parse_origin, Url};
use safelist::{
    is_forbidden_method, is_forbidden_request_header, is_safelisted_method, normalize_method,
    unsafe_names,
};

/// The request's credentials mode (`fetch(url, {credentials})`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Credentials {
    /// `omit`: never cookies.
    Omit,
    /// `same-origin`, the default: cookies only to the page's own origin.
    #[default]
    SameOrigin,
    /// `include`: cookies everywhere; the response must then allow credentials.
    Include,
}

/// A script's `fetch()` call, as the browser sees it once validated.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    url: Url,
    origin: String,
    method: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    ignored: Vec<HeaderName>,
    credentials: Credentials,
    cookie: Option<HeaderValue>,
}

/// Collects a [`FetchRequest`]; [`build`](Self::build) reports every problem at once.
#[derive(Debug, Clone)]
pub struct FetchRequestBuilder {
    url: String,
    origin: String,
    method: String,
    headers: Vec<(String, String)>,
    credentials: Credentials,
    cookie: Option<String>,
}

impl FetchRequest {
    /// A `GET` of `url` from a page whose origin is `origin` (`https://app.example.com`, or
    /// `null` for a sandboxed or `file:` page), credentials mode `same-origin`.
    pub fn builder(url: &str, origin: &str) -> FetchRequestBuilder {
        FetchRequestBuilder {
            url: url.to_owned(),
            origin: origin.to_owned(),
            method: String::from("GET"),
            headers: Vec::new(),
            credentials: Credentials::SameOrigin,
            cookie: None,
        }
    }

    /// The URL, serialized by the URL standard (percent-encoded, IDNA host, dot segments
    /// removed, default port dropped), fragment included.
    pub fn url(&self) -> String {
        self.url.to_string()
    }

    /// The page origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The method, normalized.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The headers the browser sends for the script (forbidden ones removed).
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// The credentials mode.
    pub fn credentials(&self) -> Credentials {
        self.credentials
    }

    /// Whether the URL is potentially trustworthy (`https`, `localhost` and `*.localhost`,
    /// 127.0.0.0/8, `[::1]`): the only URLs that get `Sec-Fetch-*`, and the only ones a page
    /// served over `https` may fetch (any other is mixed content, blocked before CORS).
    ///
    /// ```
    /// use cors_browser_model::FetchRequest;
    ///
    /// let page = "https://app.example";
    /// let loopback = FetchRequest::builder("http://127.0.0.1:8080/", page).build()?;
    /// assert!(loopback.potentially_trustworthy());
    /// let plain = FetchRequest::builder("http://api.example/", page).build()?;
    /// assert!(!plain.potentially_trustworthy());
    /// # Ok::<(), cors_browser_model::InvalidRequest>(())
    /// ```
    pub fn potentially_trustworthy(&self) -> bool {
        self.url.is_potentially_trustworthy()
    }

    /// Whether a cookie jar was given ([`FetchRequestBuilder::cookie`]).
    pub fn has_cookie(&self) -> bool {
        self.cookie.is_some()
    }

    /// What the browser decides before sending anything.
    ///
    /// ```
    /// use cors_browser_model::{FetchRequest, UnsafeHeader};
    ///
    /// let plain = FetchRequest::builder("https://api.example/", "https://app.example")
    ///     .method("POST")
    ///     .header("content-type", "text/plain;charset=utf-8")
    ///     .build()?;
    /// assert!(!plain.plan().preflight);
    ///
    /// let json = FetchRequest::builder("https://api.example/", "https://app.example")
    ///     .method("POST")
    ///     .header("content-type", "application/json")
    ///     .header("cookie", "a=b")
    ///     .build()?;
    /// let plan = json.plan();
    /// assert!(plan.preflight);
    /// assert_eq!(plan.unsafe_headers[0].1, UnsafeHeader::MimeNotSafelisted);
    /// assert_eq!(plan.ignored_headers[0], "cookie");
    /// # Ok::<(), cors_browser_model::InvalidRequest>(())
    /// ```
    pub fn plan(&self) -> Plan {
        let cross_origin = self.url.origin() != self.origin;
        let method_safelisted = is_safelisted_method(&self.method);
        let unsafe_headers = unsafe_names(&self.headers);
        Plan {
            cross_origin,
            ignored_headers: self.ignored.clone(),
            method_safelisted,
            preflight: cross_origin
                && self.url.is_http()
                && (!method_safelisted || !unsafe_headers.is_empty()),
            unsafe_headers,
        }
    }
}

impl FetchRequestBuilder {
    /// The method (`fetch`'s `method`); normalized as the standard says.
    pub fn method(mut self, method: &str) -> Self {
        self.method = method.to_owned();
        self
    }

    /// One header the script sets. Forbidden ones are dropped, as the browser does.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The credentials mode.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Stands for the browser's cookie jar: sent as `Cookie` on the actual request when the
    /// credentials mode lets cookies go (never on a preflight). A script cannot set `Cookie`.
    pub fn cookie(mut self, cookie: &str) -> Self {
        self.cookie = Some(cookie.to_owned());
        self
    }

    /// Validates the description, listing every problem.
    pub fn build(self) -> Result<FetchRequest, InvalidRequest> {
        let mut problems = Vec::new();
        let url = Url::parse(&self.url)
            .map_err(|why| {
                problems.push(format!("URL {:?} is not an absolute URL: {why}", self.url))
            })
            .ok();
        let origin = parse_origin(&self.origin);
        if origin.is_none() {
            problems.push(format!(
                "origin {:?} is not a serialized origin (`scheme://host[:port]` or `null`)",
                self.origin
            ));
        }
        let method = normalize_method(&self.method);
        if is_forbidden_method(&method) {
            problems.push(format!(
                "method {:?} is forbidden: fetch() refuses it",
                self.method
            ));
        } else if http::Method::from_bytes(method.as_bytes()).is_err() {
            problems.push(format!("method {:?} is not a method token", self.method));
        }
        let mut headers = Vec::new();
        let mut ignored = Vec::new();
        for (name, value) in &self.headers {
            let parsed_name = HeaderName::from_bytes(name.trim().as_bytes());
            let parsed_value = HeaderValue::from_str(value.trim_matches([' ', '\t']));
            match (parsed_name, parsed_value) {
                (Ok(name), Ok(value)) => {
                    if is_forbidden_request_header(&name, &value) {
                        ignored.push(name);
                    } else {
                        headers.push((name, value));
                    }
                }
                (Err(_), _) => problems.push(format!("header name {name:?} is not a token")),
                (_, Err(_)) => {
                    problems.push(format!("header {name:?} has an invalid value {value:?}"))
                }
            }
        }
        let cookie = match self.cookie.as_deref().map(HeaderValue::from_str) {
            Some(Ok(cookie)) => Some(cookie),
            Some(Err(_)) => {
                problems.push(String::from("the cookie is not a valid header value"));
                None
            }
            None => None,
        };
        match (url, origin) {
            (Some(url), Some(origin)) if problems.is_empty() => Ok(FetchRequest {
                url,
                origin,
                method,
                headers,
                ignored,
                credentials: self.credentials,
                cookie,
            }),
            _ => Err(InvalidRequest { problems }),
        }
    }
}

/// What the browser decides before sending: see [`FetchRequest::plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Plan {
    /// The URL's origin is not the page's: CORS applies.
    pub cross_origin: bool,
    /// Forbidden request headers the script set, which the browser does not send.
    pub ignored_headers: Vec<HeaderName>,
    /// The method is `GET`, `HEAD` or `POST`.
    pub method_safelisted: bool,
    /// The CORS-unsafe request headers, sorted, with the rule each breaks.
    pub unsafe_headers: Vec<(HeaderName, UnsafeHeader)>,
    /// A preflight goes first.
    pub preflight: bool,
}

/// A [`FetchRequest`] that `fetch()` would refuse; lists every problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRequest {
    problems: Vec<String>,
}

impl InvalidRequest {
    /// Every problem, each naming the offending value.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for InvalidRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problems.join("; "))
    }
}

impl std::error::Error for InvalidRequest {}

#[cfg(test)]
mod tests;

/// The README's example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
