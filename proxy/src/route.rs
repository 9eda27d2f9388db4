//! One route's forwarding service: the checks and limits in front of the upstream call, the call
//! itself (bodies streamed both ways), redirects, and the answers the proxy gives on its own.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use ipnet::IpNet;
use tokio::sync::Semaphore;
use url::{Origin, Url};

use crate::body::{text, BoxError, ProxyBody, Tracked};
use crate::config::Limits;
use crate::guard::{ConnectTimeout, GuardedConnector, Refused};
use crate::headers::{self, RequestRules, ResponseRules};
use crate::target::{check_target, has_dot_segment, AllowEntry};

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
}

/// How many client addresses the rate limiter tracks before it forgets idle ones.
const RATE_LIMIT_KEYS: usize = 100_000;

impl Shared {
    pub(crate) fn new(limits: Limits, trusted_proxies: Vec<IpNet>, base_path: String) -> Self {
        let limiter = NonZeroU32::new(limits.rate_limit_per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(limits.rate_limit_burst).unwrap_or(NonZeroU32::MIN);
            RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
        });
        let in_flight = Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1)));
        Self {
            limits,
            limiter,
            in_flight,
            trusted_proxies,
            base_path,
        }
    }
}

/// Where a route sends requests.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// Route mode: this base URL, with the request's path appended; `origin` is the base's,
    /// computed once.
    Upstream { base: Url, origin: Origin },
    /// URL mode: the absolute URL after the prefix, if it is on the allow list.
    Urls,
}

impl Mode {
    /// Route mode with this base URL.
    pub(crate) fn upstream(base: Url) -> Self {
        let origin = base.origin();
        Mode::Upstream { base, origin }
    }
}

/// A route, compiled from its configuration.
pub(crate) struct Route {
    /// The prefix, `""` for the root route.
    pub path: String,
    pub mode: Mode,
    pub allow: Vec<AllowEntry>,
    pub set_headers: Vec<(HeaderName, HeaderValue)>,
    pub set_query: Vec<(String, String)>,
    pub secrets: Vec<Vec<u8>>,
    pub request_rules: RequestRules,
    pub response_rules: ResponseRules,
    pub forwarded_headers: bool,
    pub follow_redirects: bool,
    pub allow_navigation: bool,
    /// For the configured upstream (trusted as written).
    pub trusted_client: HttpClient,
    /// For URL mode and redirect targets elsewhere (behind the SSRF guard).
    pub guarded_client: HttpClient,
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

impl Route {
    /// Whether `url` is on the origin of the route's configured upstream (never in URL mode).
    pub(crate) fn is_upstream(&self, url: &Url) -> bool {
        matches!(&self.mode, Mode::Upstream { origin, .. } if *origin == url.origin())
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
            let response = match forward(&route, &shared, request).await {
                Ok(response) => response,
                Err(answer) => answer.into_response(),
            };
            Ok(response)
        })
    }
}

/// An answer the proxy gives itself: a status and a short text body.
#[derive(Debug)]
pub(crate) struct Answer {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

impl Answer {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn into_response(self) -> Response<ProxyBody> {
        let mut response = plain(self.status, format!("{}\n", self.message));
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A response of the proxy's own: this status and text, as `text/plain` that is not sniffed.
pub(crate) fn plain(status: StatusCode, body: impl Into<Bytes>) -> Response<ProxyBody> {
    let mut response = Response::new(text(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The client address a rate limit is keyed on: the connection's peer, or, when that peer is a
/// trusted proxy, the right-most `X-Forwarded-For` entry that is not itself trusted.
fn client_ip<B>(request: &Request<B>, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer_addr(request.extensions())?.ip();
    if !trusted.iter().any(|net| net.contains(&peer)) {
        return Some(peer);
    }
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for entry in forwarded.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) if trusted.iter().any(|net| net.contains(&ip)) => continue,
            Ok(ip) => return Some(ip),
            // An unreadable hop: stop believing the chain there.
            Err(_) => break,
        }
    }
    Some(peer)
}

fn peer_addr(extensions: &http::Extensions) -> Option<SocketAddr> {
    if let Some(ClientAddr(addr)) = extensions.get::<ClientAddr>() {
        return Some(*addr);
    }
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0);
    }
    None
}

fn head_size<B>(request: &Request<B>) -> usize {
    let uri = request.uri();
    let target = uri.path_and_query().map_or(1, |p| p.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len());
    let line = request.method().as_str().len() + target + 12;
    line + request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum::<usize>()
}

async fn forward<B>(
    route: &Route,
    shared: &Shared,
    request: Request<B>,
) -> Result<Response<ProxyBody>, Answer>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let limits = &shared.limits;
    if !route.allow_navigation
        && request
            .headers()
            .get("sec-fetch-mode")
            .is_some_and(|mode| mode == "navigate")
    {
        return Err(Answer::new(
            StatusCode::FORBIDDEN,
            "top-level navigation to a proxied route is refused; call it with fetch()",
        ));
    }
    if head_size(&request) > limits.max_request_headers {
        return Err(Answer::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "request headers are larger than {} bytes",
                limits.max_request_headers
            ),
        ));
    }
    if let Some(limiter) = &shared.limiter {
        // Without a known peer every such request shares one bucket: fail towards limiting.
        let key = client_ip(&request, &shared.trusted_proxies)
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if let Err(not_until) = limiter.check_key(&key) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let mut answer = Answer::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests from this client; retry later",
            );
            answer.retry_after = Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
            return Err(answer);
        }
        if limiter.len() > RATE_LIMIT_KEYS {
            limiter.retain_recent();
        }
    }
    // Refused, not queued: a queue in front of a slow upstream only grows.
    let permit = shared.in_flight.clone().try_acquire_owned().map_err(|_| {
        Answer::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the proxy is at its limit of concurrent requests; retry later",
        )
    })?;

    let (parts, body) = request.into_parts();
    let mut target = target_url(route, &parts.uri)?;
    apply_query(&mut target, &route.set_query);

    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.max_request_body) {
        return Err(too_large(limits.max_request_body));
    }

    // What the forwarding headers say, read before the browser's headers are cleaned; only a
    // route that sends them needs it.
    let forwarding = route.forwarded_headers.then(|| {
        let peer = peer_addr(&parts.extensions).map(|a| a.ip());
        let proxy_host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()));
        let trusted_chain = peer
            .filter(|ip| shared.trusted_proxies.iter().any(|net| net.contains(ip)))
            .and_then(|_| parts.headers.get("x-forwarded-for").cloned());
        (peer, trusted_chain, proxy_host)
    });
    let mut browser_headers = parts.headers;
    headers::clean_request(&mut browser_headers, &route.request_rules);
    headers::add_via(&mut browser_headers, parts.version);
    if let Some((peer, trusted_chain, proxy_host)) = forwarding {
        add_forwarded(
            &mut browser_headers,
            peer,
            trusted_chain,
            proxy_host.as_deref(),
            parts.uri.scheme_str().unwrap_or("http"),
        );
    }

    let replayable = body.is_end_stream();
    let following = route.follow_redirects && replayable;
    // Kept for later hops only when redirects may be followed; else moved into the request.
    let mut browser_headers = Some(browser_headers);
    let mut body = Some(
        Limited::new(
            body,
            usize::try_from(limits.max_request_body).unwrap_or(usize::MAX),
        )
        .boxed_unsync(),
    );
    let mut method = parts.method.clone();
    let mut hops = 0usize;
    // The route's secrets go to the upstream the request was for, never to another origin a
    // followed redirect leads to. In URL mode that is the first target's origin; without
    // redirects to follow there is only the first target, which is on it.
    let first_origin = (following && matches!(route.mode, Mode::Urls)).then(|| target.origin());
    let response = loop {
        let own_origin = match &route.mode {
            Mode::Upstream { .. } => route.is_upstream(&target),
            Mode::Urls => first_origin
                .as_ref()
                .is_none_or(|first| *first == target.origin()),
        };
        let mut headers = match (following, browser_headers.take()) {
            (true, Some(kept)) => {
                let headers = kept.clone();
                browser_headers = Some(kept);
                headers
            }
            (_, Some(kept)) => kept,
            (_, None) => HeaderMap::new(),
        };
        let client = match &route.mode {
            Mode::Upstream { .. } if own_origin => &route.trusted_client,
            _ => &route.guarded_client,
        };
        if own_origin {
            for (name, value) in &route.set_headers {
                headers.insert(name.clone(), value.clone());
            }
        } else {
            // A redirect to another origin gets none of the route's secrets or credentials.
            headers.remove(header::COOKIE);
            headers.remove(header::AUTHORIZATION);
        }
        let request_body = body.take().unwrap_or_else(|| text(Bytes::new()));
        let upstream = send(client, limits, &method, &target, headers, request_body).await?;
        let status = upstream.status();
        let follow = following && status.is_redirection();
        let location = upstream
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| target.join(l).ok());
        match (follow, location) {
            (true, Some(next)) => {
                hops += 1;
                if hops > limits.max_redirects {
                    return Err(Answer::new(
                        StatusCode::BAD_GATEWAY,
                        format!(
                            "the upstream redirected more than {} times",
                            limits.max_redirects
                        ),
                    ));
                }
                check_redirect(route, &target, &next)?;
                if status == StatusCode::SEE_OTHER && method != Method::HEAD {
                    method = Method::GET;
                }
                target = next;
                if route.is_upstream(&target) {
                    apply_query(&mut target, &route.set_query);
                }
            }
            _ => break upstream,
        }
    };

    let (mut parts, incoming) = response.into_parts();
    let upstream_status = parts.status.as_u16();
    if parts.status.is_redirection() {
        if let Some(location) = parts.headers.get(header::LOCATION) {
            match rewrite_location(route, shared, &target, location) {
                Some(value) => {
                    parts.headers.insert(header::LOCATION, value);
                }
                None => {
                    parts.headers.remove(header::LOCATION);
                }
            }
        }
    }
    headers::clean_response(&mut parts.headers, &route.response_rules, &route.secrets);
    parts.extensions.insert(UpstreamStatus(upstream_status));
    Ok(Response::from_parts(
        parts,
        Tracked::permit(incoming, permit),
    ))
}

fn too_large(limit: u64) -> Answer {
    Answer::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than {limit} bytes"),
    )
}

/// The upstream URL a request is for, or the refusal.
fn target_url(route: &Route, uri: &Uri) -> Result<Url, Answer> {
    let path = uri.path();
    match &route.mode {
        Mode::Upstream { base, .. } => {
            if has_dot_segment(path) {
                return Err(Answer::new(
                    StatusCode::BAD_REQUEST,
                    "paths with . or .. segments (raw or percent-encoded) are refused",
                ));
            }
            let mut url = base.clone();
            let joined = match (base.path().trim_end_matches('/'), path) {
                (prefix, "") => {
                    if prefix.is_empty() {
                        "/".to_owned()
                    } else {
                        prefix.to_owned()
                    }
                }
                (prefix, rest) => format!("{prefix}{rest}"),
            };
            url.set_path(&joined);
            url.set_query(uri.query());
            Ok(url)
        }
        Mode::Urls => {
            let raw = path.strip_prefix('/').unwrap_or(path);
            if !(starts_with_ignore_ascii_case(raw, "http://")
                || starts_with_ignore_ascii_case(raw, "https://"))
            {
                return Err(Answer::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "this route expects an absolute URL after its path: {}/https://host/path",
                        route.path
                    ),
                ));
            }
            let full = match uri.query() {
                Some(query) => format!("{raw}?{query}"),
                None => raw.to_owned(),
            };
            let url = Url::parse(&full).map_err(|e| {
                Answer::new(
                    StatusCode::BAD_REQUEST,
                    format!("invalid upstream URL: {e}"),
                )
            })?;
            check_target(&url).map_err(|why| Answer::new(StatusCode::FORBIDDEN, why))?;
            if !route.allow.iter().any(|entry| entry.matches(&url)) {
                return Err(Answer::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "upstream {} is not on this route's allow list",
                        url.origin().ascii_serialization()
                    ),
                ));
            }
            Ok(url)
        }
    }
}

/// Whether `text` begins with `prefix`, ASCII letters compared without case.
fn starts_with_ignore_ascii_case(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Sets the route's query parameters, replacing any of the same name the browser sent.
fn apply_query(url: &mut Url, set: &[(String, String)]) {
    if set.is_empty() {
        return;
    }
    let kept = pairs_not_set(url, set);
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .extend_pairs(set.iter().map(|(n, v)| (n.as_str(), v.as_str())));
}

/// Removes the route's own query parameters from a URL that goes back to the browser.
fn remove_query(url: &mut Url, set: &[(String, String)]) {
    if set.is_empty() || url.query().is_none() {
        return;
    }
    let kept = pairs_not_set(url, set);
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
}

/// The URL's query parameters other than those the route sets, in order.
fn pairs_not_set(url: &Url, set: &[(String, String)]) -> Vec<(String, String)> {
    url.query_pairs()
        .filter(|(name, _)| !set.iter().any(|(ours, _)| ours == name))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

/// Whether a followed redirect may go from `from` to `to`.
fn check_redirect(route: &Route, from: &Url, to: &Url) -> Result<(), Answer> {
    let refuse = |why: String| Err(Answer::new(StatusCode::FORBIDDEN, why));
    if check_target(to).is_err() {
        return refuse(format!(
            "the upstream redirected to {}, which cannot be proxied",
            to.origin().ascii_serialization()
        ));
    }
    if from.scheme() == "https" && to.scheme() == "http" {
        return refuse("the upstream redirected from https to http; refused".to_owned());
    }
    if !route.is_upstream(to) && !route.allow.iter().any(|entry| entry.matches(to)) {
        return refuse(format!(
            "the upstream redirected to {}, which is not on this route's allow list",
            to.origin().ascii_serialization()
        ));
    }
    Ok(())
}

/// `Location` as the browser should see it: through the proxy when it points at an upstream the
/// route may reach, else absolute; `None` when it cannot be given back at all.
fn rewrite_location(
    route: &Route,
    shared: &Shared,
    current: &Url,
    location: &HeaderValue,
) -> Option<HeaderValue> {
    let mut absolute = current.join(location.to_str().ok()?).ok()?;
    remove_query(&mut absolute, &route.set_query);
    let prefix = format!("{}{}", shared.base_path, route.path);
    let through = match &route.mode {
        Mode::Upstream { base, .. } if route.is_upstream(&absolute) => {
            let base_path = base.path().trim_end_matches('/');
            absolute.path().strip_prefix(base_path).and_then(|rest| {
                (rest.is_empty() || rest.starts_with('/')).then(|| {
                    let query = absolute
                        .query()
                        .map(|q| format!("?{q}"))
                        .unwrap_or_default();
                    let rest = if rest.is_empty() && prefix.is_empty() {
                        "/"
                    } else {
                        rest
                    };
                    format!("{prefix}{rest}{query}")
                })
            })
        }
        Mode::Urls if route.allow.iter().any(|entry| entry.matches(&absolute)) => {
            Some(format!("{prefix}/{absolute}"))
        }
        _ => None,
    };
    HeaderValue::from_str(&through.unwrap_or_else(|| absolute.to_string())).ok()
}

fn add_forwarded(
    headers: &mut HeaderMap,
    peer: Option<IpAddr>,
    trusted_chain: Option<HeaderValue>,
    host: Option<&str>,
    proto: &str,
) {
    let Some(peer) = peer else { return };
    let node = match peer {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("\"[{ip}]\""),
    };
    let mut forwarded = format!("for={node};proto={proto}");
    if let Some(host) = host {
        forwarded.push_str(&format!(";host=\"{host}\""));
    }
    let xff = match trusted_chain.as_ref().and_then(|v| v.to_str().ok()) {
        Some(chain) => format!("{chain}, {peer}"),
        None => peer.to_string(),
    };
    let pairs = [
        ("forwarded", Some(forwarded)),
        ("x-forwarded-for", Some(xff)),
        ("x-forwarded-proto", Some(proto.to_owned())),
        ("x-forwarded-host", host.map(str::to_owned)),
    ];
    for (name, value) in pairs {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
}

async fn send(
    client: &HttpClient,
    limits: &Limits,
    method: &Method,
    target: &Url,
    headers: HeaderMap,
    body: ProxyBody,
) -> Result<Response<hyper::body::Incoming>, Answer> {
    let uri: Uri = target
        .as_str()
        .parse()
        .map_err(|_| Answer::new(StatusCode::BAD_REQUEST, "the upstream URL is not valid"))?;
    let mut request = Request::new(body);
    *request.method_mut() = method.clone();
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    match tokio::time::timeout(limits.response_timeout, client.request(request)).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(err)) => Err(client_error(&err, target)),
        Err(_) => Err(Answer::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "the upstream did not answer within {}",
                show(limits.response_timeout)
            ),
        )),
    }
}

fn show(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// Finds an error of type `T` in a chain, looking inside `io::Error`s too (whose `source`
/// skips the error they wrap).
fn find<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(inner) = err.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            if let Some(found) = find::<T>(inner) {
                return Some(found);
            }
        }
        next = err.source();
    }
    None
}

fn client_error(err: &hyper_util::client::legacy::Error, target: &Url) -> Answer {
    let origin = target.origin().ascii_serialization();
    if let Some(refused) = find::<Refused>(err) {
        return Answer::new(
            StatusCode::FORBIDDEN,
            format!(
                "{} refused by the SSRF guard: it resolves to a {}",
                target.host_str().unwrap_or(""),
                refused.rule
            ),
        );
    }
    if find::<LengthLimitError>(err).is_some() {
        return Answer::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is larger than the limit",
        );
    }
    if find::<ConnectTimeout>(err).is_some() {
        return Answer::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!("connecting to {origin} timed out"),
        );
    }
    tracing::warn!(upstream = %origin, error = %ErrorChain(err), "upstream request failed");
    let message = if err.is_connect() {
        format!("could not connect to the upstream {origin}")
    } else {
        format!("the upstream {origin} failed to answer")
    };
    Answer::new(StatusCode::BAD_GATEWAY, message)
}

/// An error with its sources, for the log.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(err) = next {
            write!(f, ": {err}")?;
            next = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_address_table() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        // (peer, X-Forwarded-For, key)
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("203.0.113.9", None, "203.0.113.9"),
            // An untrusted peer's claim is ignored.
            ("203.0.113.9", Some("198.51.100.1"), "203.0.113.9"),
            ("10.0.0.2", Some("198.51.100.1"), "198.51.100.1"),
            // The right-most entry that is not a trusted hop; the spoofed left part is ignored.
            (
                "10.0.0.2",
                Some("6.6.6.6, 198.51.100.1, 10.0.0.3"),
                "198.51.100.1",
            ),
            // Nothing but trusted hops, or an unreadable hop: the peer itself.
            ("10.0.0.2", Some("10.0.0.3"), "10.0.0.2"),
            ("10.0.0.2", Some("6.6.6.6, garbage"), "10.0.0.2"),
            ("10.0.0.2", None, "10.0.0.2"),
        ];
        for (peer, xff, key) in cases {
            let mut request = Request::new(());
            let addr = SocketAddr::new(peer.parse().expect("peer"), 4000);
            request.extensions_mut().insert(ClientAddr(addr));
            if let Some(xff) = xff {
                request
                    .headers_mut()
                    .insert("x-forwarded-for", HeaderValue::from_static(xff));
            }
            let got = client_ip(&request, &trusted).map(|ip| ip.to_string());
            assert_eq!(got.as_deref(), Some(*key), "{peer} {xff:?}");
        }
        assert_eq!(client_ip(&Request::new(()), &trusted), None);
    }
}
