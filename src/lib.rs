//! CORS for tower, axum, tonic and hyper: a validating builder, a pure decision function, and a
//! thin tower layer that answers preflights and decorates responses exactly as the
//! [Fetch standard](https://fetch.spec.whatwg.org/#http-cors-protocol) makes browsers expect.
//!
//! # Quick start
//!
//! ```
//! use std::time::Duration;
//! use http::Method;
//! use tower_cors::CorsLayer;
//!
//! let cors = CorsLayer::builder()
//!     .allow_origins(["https://app.example.com", "https://*.example.com", "http://localhost:*"])
//!     .allow_methods([Method::PUT, Method::DELETE])
//!     .allow_headers(["content-type", "x-api-key"])
//!     .expose_headers(["x-request-id"])
//!     .allow_credentials(true)
//!     .max_age(Duration::from_secs(600))
//!     .build()?;
//! # let _ = cors;
//! # Ok::<(), tower_cors::ConfigError>(())
//! ```
//!
//! `build()` checks every value and returns a [`ConfigError`] listing every problem, each naming
//! the value as you passed it:
//!
//! ```
//! let err = tower_cors::CorsLayer::builder()
//!     .allow_origins(["https://app.example.com/", "*"])
//!     .allow_headers(["cookie"])
//!     .allow_credentials(true)
//!     .build()
//!     .unwrap_err();
//! println!("{err}");
//! // invalid CORS configuration (3 problems):
//! //   - allowed origin "https://app.example.com/" is invalid: it has a path or a trailing `/` …
//! //   - allowed header "cookie" is a forbidden request header: …
//! //   - any origin (`*`) cannot be combined with credentials: …
//! assert_eq!(err.problems().len(), 3);
//! ```
//!
//! # How a request is handled
//!
//! | request | decision | inner service |
//! | --- | --- | --- |
//! | no `Origin` | [`Decision::NotCors`]: `Vary: Origin` added (any-origin: `Access-Control-Allow-Origin: *`) | called |
//! | `OPTIONS` with `Origin` and `Access-Control-Request-Method` | [`Decision::PreflightAccepted`] (204) or [`Decision::PreflightRejected`] (403, no `Access-Control-*` header) | not called (unless [pass-through](CorsBuilder::preflight_pass_through)) |
//! | anything else with `Origin` | [`Decision::ActualAllowed`] (headers added) or [`Decision::ActualDenied`] (every `Access-Control-*` header removed) | always called |
//!
//! Every refusal emits a `debug` [`tracing`](https://docs.rs/tracing) event (default feature
//! `tracing`) with the origin and the reason: origin not allowed, method `X` not allowed, header
//! `Y` not allowed, private network access not allowed, request headers list too long.
//!
//! # axum
//!
//! Put the layer outermost, so that preflights are answered before routing (an `OPTIONS` to a
//! route without an `OPTIONS` handler would otherwise be a 405) and before authentication
//! (preflights never carry credentials):
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use tower::Layer;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let cors = tower_cors::CorsLayer::builder()
//!     .allow_origins(["https://app.example.com"])
//!     .build()?;
//! let routes = Router::new().route("/api/items", get(|| async { "[]" }));
//! // Either wrap the whole router as a service…
//! let app = cors.clone().layer(routes.clone());
//! // …or make it the last (outermost) `Router::layer` call. `Router::layer` also covers the
//! // fallback, so preflights to any path are answered.
//! let _same = routes.layer(cors);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, axum::ServiceExt::<axum::extract::Request>::into_make_service(app)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Per-route policies in axum
//!
//! Give each group of routes its own [`CorsLayer`] with `Router::layer`, on the router that holds
//! those routes, after adding them, then `merge` (or `nest`) the routers. Three rules:
//!
//! - **`Router::layer`, not a method router's `route_layer`.** A preflight is an `OPTIONS`
//!   request, and your routes seldom have an `OPTIONS` handler. `Router::layer` wraps each route
//!   whole, including axum's answer for methods the route lacks, so the CORS layer answers the
//!   preflight. `get(handler).route_layer(cors)` or `get(handler.layer(cors))` wrap only the
//!   handlers: the preflight falls through to axum's `405 Method Not Allowed` with no
//!   `Access-Control-*` header, and the browser never sends the real request. (In axum 0.8,
//!   `Router::route_layer` wraps each matched route whole too, but not the router's fallback.)
//! - **Authentication inside CORS**, that is added *before* the CORS layer. Browsers send
//!   preflights without cookies or credentials, so an auth layer outside CORS refuses every
//!   preflight; inside, it never sees one, and its `401` still leaves through CORS, where the
//!   page can read it. Use `route_layer` for auth so unknown paths stay 404.
//! - **One CORS layer per request**: not one per group *and* one on the merged app, or the outer
//!   one overwrites the inner one's answer.
//!
//! ```
//! use axum::extract::Request;
//! use axum::http::{header, Method, StatusCode};
//! use axum::middleware::{self, Next};
//! use axum::response::{IntoResponse, Response};
//! use axum::routing::{get, put};
//! use axum::Router;
//! use tower_cors::CorsLayer;
//!
//! async fn require_session(request: Request, next: Next) -> Response {
//!     if request.headers().contains_key(header::COOKIE) {
//!         next.run(request).await
//!     } else {
//!         StatusCode::UNAUTHORIZED.into_response()
//!     }
//! }
//!
//! // Public, read-only: any origin, no credentials.
//! let public = CorsLayer::builder().allow_any_origin().build()?;
//! // Admin: one origin, with cookies.
//! let admin = CorsLayer::builder()
//!     .allow_origins(["https://admin.example.com"])
//!     .allow_credentials(true)
//!     .allow_methods([Method::PUT, Method::DELETE])
//!     .allow_headers(["content-type"])
//!     .build()?;
//!
//! let app: Router = Router::new()
//!     .merge(Router::new().route("/api/items", get(|| async { "[]" })).layer(public))
//!     .merge(
//!         Router::new()
//!             .route("/admin/items/{id}", put(|| async { "ok" }))
//!             .route_layer(middleware::from_fn(require_session)) // inside CORS
//!             .layer(admin),
//!     );
//! # let _ = app;
//! # Ok::<(), tower_cors::ConfigError>(())
//! ```
//!
//! `examples/per_route.rs` is a runnable version; `tests/per_route.rs` checks every rule above
//! over HTTP, including the 405 and 401 traps.
//!
//! # gRPC-web and Connect with tonic
//!
//! Browsers reach a tonic service through `tonic-web`, and every call is preceded by a preflight.
//! [`CorsBuilder::grpc_web`] adds what gRPC-web and Connect clients need on top of your policy:
//! the request headers they send (`content-type`, `x-grpc-web`, `x-user-agent`, `grpc-timeout`,
//! `connect-protocol-version`, `connect-timeout-ms`), `POST` and `GET`, the response headers a
//! script must read (`grpc-status`, `grpc-message`, `grpc-status-details-bin`: a failed call comes
//! back "trailers-only", its status in headers), and a max-age of two hours unless you set one.
//! Origins stay yours to list.
//!
//! Put the CORS layer first in tonic's `Server::layer` chain (outermost), so preflights are
//! answered before they reach the gRPC-web translation, and accept HTTP/1.1.
//!
//! ```no_run
//! use tonic::transport::Server;
//! use tonic_web::GrpcWebLayer;
//! use tower_cors::CorsLayer;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (_reporter, health) = tonic_health::server::health_reporter();
//! let cors = CorsLayer::builder()
//!     .allow_origins(["https://app.example.com"])
//!     .grpc_web()
//!     .build()?;
//!
//! Server::builder()
//!     .accept_http1(true)
//!     .layer(cors) // outermost: answers preflights
//!     .layer(GrpcWebLayer::new())
//!     .add_service(health)
//!     .serve("127.0.0.1:50051".parse()?)
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! See `examples/grpc_web.rs`; `tests/grpc_web.rs` sends a gRPC-web preflight and calls over
//! HTTP/1.1 and reads `grpc-status` as a browser script may.
//!
//! # Configuration files and environment variables
//!
//! [`CorsConfig`] is a policy as data. With the `serde` feature it deserializes from TOML, JSON or
//! any serde format: lists as arrays or comma-separated strings, `max_age` in seconds or as
//! `"90s"`, `"10m"`, `"1h"`, unknown keys refused. [`CorsConfig::merge_env`] overlays
//! environment variables named by a prefix you choose (`CORS_ALLOW_ORIGINS`, `CORS_MAX_AGE`, ...),
//! and [`CorsConfig::from_env`] reads them alone. [`CorsConfig::build`] runs the builder's
//! validation, so a bad file gets the same complete list of problems as bad code; a bad variable
//! is reported by name.
//!
//! ```
//! # #[cfg(feature = "serde")] {
//! use tower_cors::CorsConfig;
//!
//! let config: CorsConfig = toml::from_str(r#"
//!     allow_origins = ["https://app.example.com", "http://localhost:*"]
//!     allow_methods = ["PUT", "DELETE"]
//!     allow_headers = "content-type, x-api-key"
//!     allow_credentials = true
//!     max_age = "10m"
//! "#)?;
//! // In production: `config.merge_env("CORS_")?`, reading the process environment.
//! let config = config.merge_vars("CORS_", [("CORS_MAX_AGE", "1h")])?;
//! assert_eq!(config.max_age, Some(std::time::Duration::from_secs(3600)));
//! let cors = config.build()?;
//! # let _ = cors;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `examples/from_config.rs` loads `examples/cors.toml` with environment overrides.
//!
//! # Hot reload
//!
//! When origins change at run time (a tenant added, a config file edited), make the layer
//! reloadable with [`CorsLayer::into_reloadable`] and keep the [`ReloadHandle`]. A reload builds
//! the new policy first (an invalid one is refused and the running one stays), then swaps it
//! atomically. Each request loads the policy once, so every response follows one whole policy —
//! the one in force when the request arrived — never a mix, even while policies are swapped under
//! load.
//!
//! ```
//! use tower_cors::CorsLayer;
//!
//! let (layer, handle) = CorsLayer::builder()
//!     .allow_origins(["https://a.example.com"])
//!     .build()?
//!     .into_reloadable();
//! let app: axum::Router = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "hello" }))
//!     .layer(layer);
//!
//! // Later, from a config watcher or a signal handler:
//! handle.reload(CorsLayer::builder().allow_origins(["https://b.example.com"]))?;
//! assert!(handle.reload(CorsLayer::builder().allow_origins(["not an origin"])).is_err());
//! # let _ = app;
//! # Ok::<(), tower_cors::ConfigError>(())
//! ```
//!
//! # Policy sets
//!
//! When one static policy is not enough — credentials for your own front end and public `*` for
//! everyone else, a policy per tenant host or per path — build a set of named policies and a
//! selector with [`CorsLayer::set`]. Each request is answered by exactly one whole policy, never
//! a merge (merged lists can only widen; field-by-field inheritance lets a policy with no
//! origins take another's). Selection is by origin (the first member, in the order added, whose
//! origins allow it), by host (a hash lookup: 1000 hosts cost what 3 do), by path (longest
//! prefix, on segment boundaries), or by a function of declared request headers. No match and
//! no [`fallback`](CorsSetBuilder::fallback) means no origin is allowed (the decision names the
//! policy [`UNMATCHED_POLICY`]).
//!
//! ```
//! use tower_cors::CorsLayer;
//!
//! let cors = CorsLayer::set()
//!     .policy(
//!         "app",
//!         CorsLayer::builder()
//!             .allow_origins(["https://app.example.com"])
//!             .allow_credentials(true)
//!             .allow_methods(["PUT", "DELETE"]),
//!     )
//!     .policy("public", CorsLayer::builder().allow_any_origin())
//!     .select_by_origin()
//!     .build()?;
//! let public = tower_cors::testing::preflight_parts("https://elsewhere.example", "GET", &[]);
//! let decision = cors.evaluate(&public);
//! assert_eq!(decision.policy(), Some("public"));
//! // Origin-selected: every answer varies on `Origin`, `*` included.
//! assert!(decision.headers().unwrap().vary().unwrap().to_str()?.starts_with("Origin"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **What the answer varies with.** A shared cache keys a response on its URL and on the
//! request headers its `Vary` names; whatever chose the policy must be in one of them, or an
//! answer chosen for one request is served to another (web cache poisoning). Host and path are
//! in every cache key. An origin-selected set adds `Vary: Origin` to every response, whichever
//! member answers, so a cached `Access-Control-Allow-Origin: *` can never reach a credentialed
//! origin. A [`select_with`](CorsSetBuilder::select_with) function declares the headers it
//! reads, sees only those ([`SelectRequest`]), and they are added to `Vary`; a name it returns
//! that no member has falls back (with a `tracing` warning).
//!
//! `build()` reports every problem of every member, each prefixed by the member's name, and the
//! set's own (duplicate or unknown names, bad hosts or paths). [`Decision::policy`], the refusal
//! events and the metrics name the deciding policy (`"default"` for a single-policy layer).
//! From a file: [`CorsSetConfig`] (`[[policies]]` in order, and `select = { by, fallback }`).
//! To swap a whole set at run time, hand the new layer to [`ReloadHandle::replace`] (or a
//! [`CorsSetBuilder`] to [`ReloadHandle::reload_set`]): one atomic swap, each request answered
//! by the set in force when it arrived.
//!
//! # Shadow evaluation
//!
//! Before tightening a policy, learn what it would refuse: [`CorsLayer::with_shadow`] enforces
//! the current policy (or set) and evaluates a candidate on every request or a sampled fraction
//! (one draw per request), reporting each disagreement — `would_refuse` (allowed now, the
//! candidate would refuse, with its reason) and `would_allow` (refused now, the candidate would
//! allow) — as a `tracing` info event and, with the `metrics` feature, a counter. Responses are
//! exactly the current policy's.
//!
//! ```
//! use tower_cors::CorsLayer;
//!
//! let current = CorsLayer::builder().allow_any_origin().build()?;
//! let candidate = CorsLayer::builder()
//!     .allow_origins(["https://app.example.com", "https://partner.example"])
//!     .build()?;
//! let cors = current.with_shadow(candidate, 0.1); // 10 % of requests
//! # let _ = cors;
//! # Ok::<(), tower_cors::ConfigError>(())
//! ```
//!
//! What it can and cannot see: the server only sees what browsers send. When the current policy
//! refuses a preflight the browser never sends the actual request, so a candidate that would
//! allow it is seen on the preflight only; preflights answered from the browser's cache
//! (`Access-Control-Max-Age`) are not seen at all; actual requests only carry the origin check
//! (methods and headers are checked in preflights); and a candidate whose say would come from an
//! asynchronous predicate is not awaited (no disagreement is counted then).
//!
//! # Metrics and decision summaries
//!
//! With the non-default `metrics` feature the layer counts, through the
//! [`metrics`](https://docs.rs/metrics) facade (the application installs the recorder, before
//! serving; without one, counts are dropped):
//!
//! - `cors_requests_total{kind, outcome, reason, policy}`: `kind` is `preflight`, `actual` or
//!   `not_cors`; `outcome` `allowed` or `denied`; `reason` the [`ReasonKind`] name
//!   (`OriginNotAllowed`, ...) or `none`; `policy` the deciding policy's name;
//! - `cors_shadow_disagreements_total{direction, reason, policy}`: `would_refuse` or
//!   `would_allow`, the refusing side's reason and policy.
//!
//! Label values come only from closed sets and the configured names, never from the request (no
//! origin, method or header value), so the series are bounded: at most 3 × 7 × policies and
//! 2 × 6 × policies. The facade builds each counter's key in a vector: one allocation per
//! request (two with a shadow disagreement), recorder or not (`tests/alloc_count.rs` asserts
//! it). A counter recorded while no recorder is installed is lost, so install it before
//! serving; in tests, install one first too — `metrics_util::debugging::DebuggingRecorder`
//! with `metrics::with_local_recorder` for the current thread (what `tests/shadow.rs` does).
//!
//! Without the feature, [`CorsLayer::record_decision(true)`](CorsLayer::record_decision) puts a
//! [`DecisionSummary`] (kind, outcome, fieldless reason, policy index and name) into every
//! response's extensions, for an outer layer (OpenTelemetry, Prometheus middleware, access logs)
//! to read. It is opt-in because an extension costs three allocations per response. Only layers
//! *outside* the CORS layer see answered preflights.
//!
//! # Lints
//!
//! Some settings are legal and sometimes intended, but risky: `build()` accepts them and
//! [`CorsLayer::warnings`] lists them as typed [`Warning`]s (each [`Lint`] names the value, and
//! the policy in a set), each also emitted as a `tracing` warn event when the layer is built: an
//! origin predicate combined with credentials, any origin combined with private-network access,
//! public-suffix wildcards and plain-`http` origins without credentials, loopback origins unless
//! [`allow_loopback_origins(true)`](CorsBuilder::allow_loopback_origins), and `danger_*` switches
//! in use.
//!
//! ```
//! let cors = tower_cors::CorsLayer::builder()
//!     .allow_origins(["https://app.example.com", "http://localhost:3000"])
//!     .build()?;
//! for warning in cors.warnings() {
//!     eprintln!("warning: {warning}");
//! }
//! assert_eq!(cors.warnings().len(), 1);
//! # Ok::<(), tower_cors::ConfigError>(())
//! ```
//!
//! # Testing a policy
//!
//! [`CorsLayer::evaluate`] is a pure function from a request head to a [`Decision`]: no service,
//! no runtime, no body. The [`testing`] module builds the requests a browser would send. Assert
//! on the decision, or on the response through `tower::ServiceExt::oneshot`.
//!
//! ```
//! use http::{Request, Response};
//! use tower::{service_fn, Layer, ServiceExt};
//! use tower_cors::{testing, CorsLayer, Decision, Reason};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cors = CorsLayer::builder()
//!     .allow_origins(["https://app.example.com"])
//!     .allow_methods(["PUT"])
//!     .build()?;
//!
//! // The decision.
//! let preflight = testing::preflight_parts("https://app.example.com", "PUT", &[]);
//! assert!(matches!(cors.evaluate(&preflight), Decision::PreflightAccepted { .. }));
//! let refused = testing::preflight_parts("https://app.example.com", "DELETE", &[]);
//! let decision = cors.evaluate(&refused);
//! assert_eq!(decision.rejection().unwrap().reason(), Reason::MethodNotAllowed(b"DELETE"));
//!
//! // The response.
//! let svc = cors.layer(service_fn(|_req: Request<String>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
//! }));
//! let res = svc.oneshot(testing::actual("GET", "https://evil.example")).await?;
//! assert_eq!(res.status(), 200); // the handler ran: CORS is not access control
//! assert_eq!(testing::access_control_headers(res.headers()).count(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! ## The whole browser exchange: `testing::fetch` (feature `browser`)
//!
//! With the `browser` feature, `testing::fetch` plays the browser against your real service, in
//! process: the preflight when a browser would send one, then the actual request (and its
//! redirects), each judged by the standard's algorithms (`tower_cors::browser`, the
//! `cors-browser-model` crate re-exported). It answers the question a front end asks: "can a
//! page on this origin read this response?".
//!
//! ```
//! # #[cfg(feature = "browser")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{routing::put, Router};
//! use tower::Layer;
//! use tower_cors::browser::{Credentials, Engine, EngineOutcome, FetchRequest};
//! use tower_cors::{testing, CorsLayer};
//!
//! let cors = CorsLayer::builder()
//!     .allow_origins(["https://app.example.com"])
//!     .allow_methods(["PUT"])
//!     .allow_headers(["x-api-key"])
//!     .allow_credentials(true)
//!     .build()?;
//! let mut app = cors.layer(Router::new().route("/cart", put(|| async { "saved" })));
//!
//! // fetch("https://api.example.com/cart",
//! //       {method: "PUT", credentials: "include", headers: {"x-api-key": "k"}})
//! let request = FetchRequest::builder("https://api.example.com/cart", "https://app.example.com")
//!     .method("PUT")
//!     .header("x-api-key", "k")
//!     .credentials(Credentials::Include)
//!     .build()?;
//! // axum's router takes any body type: name the one to send.
//! let verdict = testing::fetch::<axum::body::Body, _, _>(&mut app, &request).await;
//! assert!(verdict.is_allowed(), "{verdict}");
//! assert!(verdict.preflight_sent());
//!
//! // Another origin is refused, and the verdict says why in Chromium's words.
//! let other = FetchRequest::builder("https://api.example.com/cart", "https://evil.example")
//!     .method("PUT")
//!     .build()?;
//! let verdict = testing::fetch::<axum::body::Body, _, _>(&mut app, &other).await;
//! assert!(!verdict.is_allowed());
//! assert!(verdict.to_string().contains("has been blocked by CORS policy"));
//! assert!(matches!(verdict.engine(Engine::Chromium), EngineOutcome::Blocked(_)));
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "browser"))]
//! # fn main() {}
//! ```
//!
//! # Pitfalls
//!
//! - CORS is not access control: non-browser clients ignore it, and actual requests from refused
//!   origins still reach your service (the browser only hides the response from the script).
//! - Credentials forbid `*`: list the origins. `Origin: null` (sandboxed frames, `file:` pages) is
//!   never matched by a list; only a predicate can allow it, and it rarely should.
//! - With an asynchronous origin predicate the inner service must be `Clone` (see [`Cors`]).
//! - Limits: an `Access-Control-Request-Headers` longer than [`MAX_REQUEST_HEADERS_BYTES`] or with
//!   more than [`MAX_REQUEST_HEADER_NAMES`] names fails the preflight; max-age is at most
//!   [`MAX_AGE_LIMIT`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod config;
mod decision;
mod error;
mod future;
mod header_list;
mod layer;
mod lint;
#[cfg(feature = "metrics")]
mod metrics;
mod origin;
mod policy;
mod reload;
mod service;
mod set;
mod set_config;
mod shadow;
mod summary;
pub mod testing;

/// The browser's half of CORS: the [`cors_browser_model`] crate, re-exported with the `browser`
/// feature.
#[cfg(feature = "browser")]
pub use cors_browser_model as browser;

/// Crate-private parsers exposed for the fuzz targets in `fuzz/`; enabled by the non-default
/// `fuzzing` feature. Not public API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod __fuzz;

pub use builder::{CorsBuilder, MAX_AGE_LIMIT};
pub use config::CorsConfig;
pub use decision::{CorsHeaders, Decision, Reason, Rejection};
pub use error::{ConfigError, ListKind, Problem};
pub use future::ResponseFuture;
pub use header_list::{MAX_REQUEST_HEADERS_BYTES, MAX_REQUEST_HEADER_NAMES};
pub use layer::CorsLayer;
pub use lint::{Lint, Warning};
pub use policy::OriginFuture;
pub use reload::{ReloadHandle, ReloadableCorsLayer};
pub use service::Cors;
pub use set::{CorsSetBuilder, SelectRequest, UNMATCHED_POLICY};
pub use set_config::{CorsSetConfig, NamedPolicyConfig, SelectConfig};
pub use summary::{DecisionSummary, ReasonKind, RequestKind};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
