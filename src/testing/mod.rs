//! Small helpers for testing a CORS policy: the requests a browser would send, ready for
//! [`CorsLayer::evaluate`](crate::CorsLayer::evaluate) (as request heads) or for a service
//! (as requests, through `tower::ServiceExt::oneshot`), a filter for the
//! `Access-Control-*` headers of a response, and, with the `browser` feature, `fetch`, which
//! plays a browser's whole exchange against a service and returns its `Verdict`.
//!
//! They panic on input no browser would send (an origin or header name that is not a valid
//! header value), like an assertion: they are meant for tests.
//!
//! Asserting on the decision needs no service and no runtime:
//!
//! ```
//! use tower_cors::{testing, CorsLayer, Decision, Reason};
//!
//! let cors = CorsLayer::builder()
//!     .allow_origins(["https://app.example.com"])
//!     .allow_methods(["PUT"])
//!     .allow_headers(["content-type"])
//!     .build()?;
//!
//! let ok = testing::preflight_parts("https://app.example.com", "PUT", &["content-type"]);
//! assert!(matches!(cors.evaluate(&ok), Decision::PreflightAccepted { .. }));
//!
//! let bad = testing::preflight_parts("https://app.example.com", "DELETE", &[]);
//! let decision = cors.evaluate(&bad);
//! assert_eq!(decision.rejection().unwrap().reason(), Reason::MethodNotAllowed(b"DELETE"));
//! # Ok::<(), tower_cors::ConfigError>(())
//! ```
//!
//! Asserting on the response goes through the layer and the inner service:
//!
//! ```
//! use http::{Request, Response};
//! use tower::{service_fn, Layer, ServiceExt};
//! use tower_cors::{testing, CorsLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cors = CorsLayer::builder().allow_origins(["https://app.example.com"]).build()?;
//! let svc = cors.layer(service_fn(|_req: Request<String>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(String::from("hello")))
//! }));
//!
//! let res = svc.clone().oneshot(testing::actual("GET", "https://app.example.com")).await?;
//! assert_eq!(res.headers()["access-control-allow-origin"], "https://app.example.com");
//!
//! let res = svc.oneshot(testing::actual("GET", "https://evil.example")).await?;
//! assert_eq!(res.status(), 200); // CORS is not access control: the handler still ran
//! assert_eq!(testing::access_control_headers(res.headers()).count(), 0);
//! # Ok(())
//! # }
//! ```

use http::header::{HeaderName, HeaderValue, ACCESS_CONTROL_REQUEST_HEADERS, ORIGIN};
use http::request::Parts;
use http::{HeaderMap, Method, Request};

#[cfg(feature = "browser")]
mod fetch;
#[cfg(feature = "browser")]
pub use crate::browser::{Credentials, FetchRequest, Verdict};
#[cfg(feature = "browser")]
pub use fetch::fetch;

/// A browser's preflight for a `method` request with `request_headers` from `origin`:
/// `OPTIONS /` with `Origin`, `Access-Control-Request-Method` and, unless `request_headers`
/// is empty, one `Access-Control-Request-Headers` line (names joined with `,` as browsers
/// send them). Any body type with a default fits: `String`, `axum::body::Body`...
///
/// Use [`with_path`] to send it elsewhere than `/`.
///
/// ```
/// let req: http::Request<String> =
///     tower_cors::testing::preflight("https://app.example.com", "PUT", &["content-type"]);
/// assert_eq!(req.method(), http::Method::OPTIONS);
/// assert_eq!(req.headers()["access-control-request-method"], "PUT");
/// assert_eq!(req.headers()["access-control-request-headers"], "content-type");
/// ```
///
/// # Panics
///
/// If `origin`, `method` or a header name is not a valid header value.
pub fn preflight<B: Default>(origin: &str, method: &str, request_headers: &[&str]) -> Request<B> {
    let mut request = Request::new(B::default());
    *request.method_mut() = Method::OPTIONS;
    let headers = request.headers_mut();
    headers.insert(ORIGIN, value(origin, "origin"));
    headers.insert(
        http::header::ACCESS_CONTROL_REQUEST_METHOD,
        value(method, "method"),
    );
    if !request_headers.is_empty() {
        headers.insert(
            ACCESS_CONTROL_REQUEST_HEADERS,
            value(&request_headers.join(","), "request header name"),
        );
    }
    request
}

/// An actual cross-origin request: `method /` with `Origin: origin`.
///
/// ```
/// let req: http::Request<()> = tower_cors::testing::actual("DELETE", "https://app.example.com");
/// assert_eq!(req.method(), http::Method::DELETE);
/// assert_eq!(req.headers()["origin"], "https://app.example.com");
/// ```
///
/// # Panics
///
/// If `method` is not a method name or `origin` not a valid header value.
pub fn actual<B: Default>(method: &str, origin: &str) -> Request<B> {
    let mut request = Request::new(B::default());
    *request.method_mut() = Method::from_bytes(method.as_bytes())
        .unwrap_or_else(|_| panic!("{method:?} is not a method name"));
    request
        .headers_mut()
        .insert(ORIGIN, value(origin, "origin"));
    request
}

/// The head of [`preflight`], for [`CorsLayer::evaluate`](crate::CorsLayer::evaluate).
///
/// ```
/// let cors = tower_cors::CorsLayer::builder().allow_any_origin().build()?;
/// let parts = tower_cors::testing::preflight_parts("https://a.example", "GET", &[]);
/// assert!(matches!(cors.evaluate(&parts), tower_cors::Decision::PreflightAccepted { .. }));
/// # Ok::<(), tower_cors::ConfigError>(())
/// ```
///
/// # Panics
///
/// As [`preflight`].
pub fn preflight_parts(origin: &str, method: &str, request_headers: &[&str]) -> Parts {
    preflight::<()>(origin, method, request_headers)
        .into_parts()
        .0
}

/// The head of [`actual`], for [`CorsLayer::evaluate`](crate::CorsLayer::evaluate).
///
/// ```
/// let cors = tower_cors::CorsLayer::builder().allow_origins(["https://a.example"]).build()?;
/// let parts = tower_cors::testing::actual_parts("POST", "https://b.example");
/// assert!(matches!(cors.evaluate(&parts), tower_cors::Decision::ActualDenied(_)));
/// # Ok::<(), tower_cors::ConfigError>(())
/// ```
///
/// # Panics
///
/// As [`actual`].
pub fn actual_parts(method: &str, origin: &str) -> Parts {
    actual::<()>(method, origin).into_parts().0
}

/// Sends `request` to `path_and_query` instead of `/`, for policies that differ by route.
///
/// ```
/// use tower_cors::testing;
///
/// let req: http::Request<()> =
///     testing::with_path(testing::actual("GET", "https://a.example"), "/api/items?page=2");
/// assert_eq!(req.uri(), "/api/items?page=2");
/// ```
///
/// # Panics
///
/// If `path_and_query` is not a valid request target.
pub fn with_path<B>(mut request: Request<B>, path_and_query: &str) -> Request<B> {
    *request.uri_mut() = path_and_query
        .parse()
        .unwrap_or_else(|_| panic!("{path_and_query:?} is not a request target"));
    request
}

/// The `Access-Control-*` headers in `headers`: none on a refused request, whatever the inner
/// service set.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("vary", http::HeaderValue::from_static("Origin"));
/// assert_eq!(tower_cors::testing::access_control_headers(&headers).count(), 0);
/// headers.insert("access-control-allow-origin", http::HeaderValue::from_static("*"));
/// assert_eq!(tower_cors::testing::access_control_headers(&headers).count(), 1);
/// ```
pub fn access_control_headers(
    headers: &HeaderMap,
) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
}

fn value(text: &str, what: &str) -> HeaderValue {
    HeaderValue::from_str(text)
        .unwrap_or_else(|_| panic!("{what} {text:?} is not a valid header value"))
}
