//! One route: its compiled settings, and the service that runs a request through the proxy's
//! phases in order, one module each:
//!
//! 1. [`filter`](crate::filter): the request filter (method, navigation, head size, origin
//!    guard, rate limit, concurrency slot), decided on the request head alone;
//! 2. [`upstream`](crate::upstream): which upstream URL the request is for;
//! 3. [`outbound`](crate::outbound): the upstream request (header hygiene, secrets, the call,
//!    redirects followed on the server);
//! 4. [`response`](crate::response): the response filter (framing, `Location`, hygiene);
//! 5. the log line, written by the response body once it is done ([`crate::log`]).
//!
//! Any phase may answer instead with an [`Answer`]; nothing after it runs.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::header::{HeaderName, HeaderValue};
use http::{Request, Response};
use http_body::Body;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use ipnet::IpNet;
use tokio::sync::Semaphore;
use tower_cors::CorsLayer;
use url::Url;

use crate::answer::Answer;
use crate::body::{BoxError, ProxyBody};
use crate::config::Limits;
use crate::guard::GuardedConnector;
use crate::headers::{RequestRules, ResponseRules};
use crate::methods::MethodRules;
use crate::origin_guard::GuardSettings;
use crate::target::AllowEntry;
use crate::{filter, outbound, response, upstream};

/// The client address of a request, as the server that accepted the connection saw it. The
/// binary's server inserts it; an app that mounts the proxy should insert it too (or enable the
/// `axum` feature and serve with `ConnectInfo<SocketAddr>`), else every client shares one
/// rate-limit bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// The upstream status of a proxied response, as a response extension (for the log line).
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpstreamStatus(pub u16);

pub(crate) type HttpClient = Client<HttpsConnector<GuardedConnector>, ProxyBody>;

/// Limits and state every route shares.
pub(crate) struct Shared {
    pub limits: Limits,
    pub limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    pub in_flight: Arc<Semaphore>,
    pub trusted_proxies: Vec<IpNet>,
    pub base_path: String,
    /// The origins the proxy is reached at (`public_origins`), serialized as browsers do.
    pub public_origins: Vec<String>,
    /// Refusal log lines name the command-line flag that would allow the request.
    pub hints: bool,
}

impl Shared {
    pub(crate) fn new(
        limits: Limits,
        trusted_proxies: Vec<IpNet>,
        base_path: String,
        public_origins: Vec<String>,
        hints: bool,
    ) -> Self {
        let limiter = NonZeroU32::new(limits.rate_limit_per_minute).map(|per_minute| {
            RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst(&limits)))
        });
        let in_flight = Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1)));
        Self {
            limits,
            limiter,
            in_flight,
            trusted_proxies,
            base_path,
            public_origins,
            hints,
        }
    }

    /// Whether `ip` is one of the `trusted_proxies`.
    pub(crate) fn trusts(&self, ip: &IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(ip))
    }
}

/// The rate limit's burst: `rate_limit_burst`, but never less than what the rate allows in
/// [`MIN_BURST_WINDOW`]. A GCRA limiter reads the clock before it updates the shared state, so
/// two threads can present their requests out of clock order; with a tiny window (60 requests
/// at a billion a minute is 3.6 µs) that reordering alone refuses clients far under their rate.
fn burst(limits: &Limits) -> NonZeroU32 {
    let window = MIN_BURST_WINDOW.as_millis() as u64;
    let in_window = u64::from(limits.rate_limit_per_minute) * window / 60_000;
    let burst = u64::from(limits.rate_limit_burst).max(in_window);
    NonZeroU32::new(u32::try_from(burst).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN)
}

/// The shortest time the rate limit's burst covers at the configured rate.
const MIN_BURST_WINDOW: std::time::Duration = std::time::Duration::from_millis(10);

/// Where a route sends requests.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// Route mode: this base URL, with the request's path appended.
    Upstream { base: Url },
    /// URL mode: the absolute URL after the prefix, if it is on the allow list.
    Urls,
}

/// A route, compiled from its configuration.
pub(crate) struct Route {
    /// The prefix, `""` for the root route.
    pub path: String,
    pub mode: Mode,
    pub allow: Vec<AllowEntry>,
    /// The route's compiled CORS policy, also consulted by the origin guard.
    pub cors: CorsLayer,
    pub methods: MethodRules,
    pub guard: GuardSettings,
    pub set_headers: Vec<(HeaderName, HeaderValue)>,
    pub set_query: Vec<(String, String)>,
    pub secrets: Vec<Vec<u8>>,
    pub request_rules: RequestRules,
    pub response_rules: ResponseRules,
    pub forwarded_headers: bool,
    pub follow_redirects: bool,
    /// For the configured upstream (trusted as written).
    pub trusted_client: HttpClient,
    /// For URL mode and redirect targets elsewhere (behind the SSRF guard).
    pub guarded_client: HttpClient,
}

impl Route {
    /// Whether `url` is on the origin of the route's configured upstream (never in URL mode).
    pub(crate) fn is_upstream(&self, url: &Url) -> bool {
        // The origin's parts compared in place: `Url::origin` would allocate the host.
        matches!(&self.mode, Mode::Upstream { base, .. }
            if base.scheme() == url.scheme()
                && base.host() == url.host()
                && base.port_or_known_default() == url.port_or_known_default())
    }
}

/// The forwarding service of one route (without its CORS layer: see
/// [`Proxy::route`](crate::Proxy::route)). Paths it receives are relative to the route's prefix.
#[derive(Clone)]
pub struct RouteService {
    route: Arc<Route>,
    shared: Arc<Shared>,
}

impl fmt::Debug for RouteService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteService")
            .field("path", &self.route.path)
            .finish_non_exhaustive()
    }
}

impl RouteService {
    pub(crate) fn new(route: Arc<Route>, shared: Arc<Shared>) -> Self {
        Self { route, shared }
    }
}

impl<B> tower_service::Service<Request<B>> for RouteService
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let route = self.route.clone();
        let shared = self.shared.clone();
        Box::pin(async move {
            Ok(match phases(&route, &shared, request).await {
                Ok(response) => response,
                Err(answer) => answer.into_response(),
            })
        })
    }
}

/// The phases, in order; the first answer ends the request.
async fn phases<B>(
    route: &Route,
    shared: &Shared,
    request: Request<B>,
) -> Result<Response<ProxyBody>, Answer>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    let permit = filter::request_filter(route, shared, &parts)?;
    let target = upstream::target(route, &parts.uri)?;
    let method = parts.method.clone();
    let (answered, target) = outbound::forward(route, shared, parts, body, target).await?;
    response::response_filter(route, shared, &method, &target, answered, permit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_covers_at_least_ten_milliseconds_of_the_rate() {
        // (per minute, burst, effective burst)
        let cases = [
            (600, 60, 60),
            (600, 0, 1),
            (6_000_000, 10, 1_000),
            (1_000_000_000, 60, 166_666),
            (u32::MAX, 1, 715_827),
        ];
        for (per_minute, configured, effective) in cases {
            let limits = Limits {
                rate_limit_per_minute: per_minute,
                rate_limit_burst: configured,
                ..Limits::default()
            };
            assert_eq!(
                burst(&limits).get(),
                effective,
                "{per_minute}/min, {configured}"
            );
        }
    }
}
