//! A self-hosted CORS proxy for APIs you do not control — never an open proxy.
//!
//! The browser talks to the proxy under a real CORS policy (tower-cors' [`CorsLayer`], built
//! from the same [`CorsConfig`] schema and validation); the proxy talks server-to-server to a
//! fixed set of upstreams, and API keys stay on the server.
//!
//! - **Route mode**: a path prefix forwards to one `upstream` base URL
//!   (`/github/repos/x` → `https://api.github.com/repos/x`). The operator's upstream is trusted
//!   as written (loopback included).
//! - **URL mode**: `/{prefix}/https://host/path?query` reaches only hosts on the route's
//!   `allow_upstreams` list, parsed with the WHATWG URL rules, and only public addresses unless
//!   the route says `allow_private_networks = true` (see [`guard`]).
//!
//! Bodies are streamed both ways; upstreams are HTTP/1.1 or HTTP/2 (ALPN), HTTPS through
//! rustls with the `ring` provider and the Mozilla roots (plus `ca_file`). Proxy environment
//! variables (`HTTP_PROXY`, `HTTPS_PROXY`) are never read: a forward proxy would bypass the
//! address checks. Protocol upgrades (WebSocket) are not proxied.
//!
//! # Keys
//!
//! Top level: `listen` (default `127.0.0.1:8787`), `base_path`, `ca_file`, `trusted_proxies`,
//! `public_origins`, `[admin]` (`listen`: `/_cors/healthz` outside `max_connections`),
//! `[cors]`, `[limits]`, `[[routes]]`.
//!
//! Routes (see [`RouteConfig`]): `path`, `upstream` or `allow_upstreams`, `[routes.cors]`
//! (replaces `[cors]` whole), `set_headers` and `set_query` (`${VAR}` from the environment at
//! start; a missing variable is a start-up error naming it; values are never logged, never
//! shown on the help page, and a response header that contains one is removed),
//! `forward_methods` (see [`methods`]), `forward_cookies`, `forward_authorization`,
//! `return_set_cookie` (all `false`), `forwarded_headers` (`false`),
//! `forward_browser_headers` (none of `origin`, `referer`, `sec-fetch`), `allow_request_headers`,
//! `deny_request_headers`, `deny_response_headers`, `follow_redirects` (`false`: redirects go to
//! the browser, with `Location` rewritten through the proxy when it points at an upstream the
//! route may reach), `allow_private_networks` (`false`), `deny_networks`,
//! `content_security_policy` (`"sandbox"`), `allow_navigation` (`false`), `require_origin`
//! (`false`; see [`origin_guard`]).
//!
//! # Phases
//!
//! A request passes, in order: the proxy's own endpoints and the methods never forwarded; the
//! route's CORS layer (preflights end here); the request filter (method, navigation, head size,
//! the [`origin_guard`], the rate limit, a concurrency slot); the upstream choice; the upstream
//! request; the response filter (framing, `Location`, header hygiene); and the log line, written
//! when the response body is done. Each phase is a module of its own.
//!
//! # Limits and their answers
//!
//! | limit (`[limits]`) | default | answer |
//! | --- | --- | --- |
//! | `max_request_body` | 10 MiB | 413 (declared length up front; chunked bodies when they cross it) |
//! | `max_request_headers` | 32 KiB | 431 |
//! | `connect_timeout` | 10 s | 504 |
//! | `response_timeout` (to the response head) | 30 s | 504 |
//! | `max_concurrent_requests` (bodies included) | 512 | 503, refused rather than queued |
//! | `rate_limit_per_minute` / `rate_limit_burst` per client address | 600 / 60 | 429 + `Retry-After` |
//! | `max_redirects` (followed on the server) | 5 | 502 |
//! | `body_idle_timeout` (a body that stops moving; 0: off) | 60 s | aborted both ways |
//! | `request_head_timeout` (first head on any protocol; each HTTP/1 head and its keep-alive) | 30 s | connection closed |
//! | `h2_idle_timeout` (no open stream) | 60 s | connection closed |
//! | `h2_keep_alive_interval` / `h2_keep_alive_timeout` | 20 s / 20 s | connection closed |
//! | `max_connections` | `min(10000, nofile / 2 - 64)` | 503, `Connection: close` |
//!
//! There is no response size cap and no total timeout on a body, only a progress deadline. The
//! rate limit is keyed on the connection's peer address ([`ClientAddr`]), or on
//! `X-Forwarded-For` only when the peer is in `trusted_proxies`; a mounted proxy that is given
//! no peer address puts every client in one bucket. Limits are per process: instances behind a
//! load balancer each count their own.
//!
//! Upstream failures are 502 (unreachable, broken answer, an unasked `101`) and 504 (timeouts);
//! a request body the client framed badly or cut off is 400; refusals by the SSRF guard and the
//! origin guard are 403 naming the rule. All of these come from inside the route's CORS layer,
//! so the page can read them.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_cors_proxy::{Proxy, ProxyConfig};
//!
//! let config = ProxyConfig::from_toml(r#"
//!     [cors]
//!     allow_origins = ["http://localhost:5173"]
//!
//!     [[routes]]
//!     path = "/github"
//!     upstream = "https://api.github.com"
//!     set_headers = { authorization = "Bearer ${GITHUB_TOKEN}", user-agent = "my-app" }
//! "#)?;
//! let proxy = Proxy::new(config)?;
//! let listener = tokio::net::TcpListener::bind(proxy.listen()).await?;
//! tower_cors_proxy::serve(proxy, listener, tower_cors_proxy::shutdown_signal()).await?;
//! # Ok(()) }
//! ```
//!
//! [`CorsLayer`]: tower_cors::CorsLayer
//! [`CorsConfig`]: tower_cors::CorsConfig
#![forbid(unsafe_code)]

mod answer;
mod body;
mod build;
pub mod config;
mod conn;
mod filter;
pub mod guard;
mod headers;
mod log;
pub mod methods;
pub mod origin_guard;
mod outbound;
mod proxy;
mod response;
mod route;
mod server;
pub mod target;
mod upstream;

pub use body::{BoxError, ProxyBody};
pub use config::{AdminConfig, Limits, ProxyConfig, ProxyConfigError, RouteConfig, DEFAULT_LISTEN};
pub use proxy::{cors_config, Proxy, ProxyBuilder};
pub use route::{ClientAddr, RouteService};
pub use server::{
    default_max_connections, serve, serve_with_admin, shutdown_signal, HEADER_READ_TIMEOUT,
    MAX_CONNECTIONS_CAP, SHUTDOWN_GRACE,
};

/// The proxy's pure decisions, for the fuzz targets in `fuzz/`. Not public API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::headers::{
        add_via, clean_request, clean_response, BrowserHeaders, RequestRules, ResponseRules,
    };
    pub use crate::response::framing;
    pub use crate::upstream::fuzz_target_url;
}
