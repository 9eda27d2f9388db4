//! [`Proxy`]: every route behind its CORS layer, the proxy's own endpoints under `/_cors/`, and
//! the validation that turns a [`ProxyConfig`] into it.

use std::collections::HashSet;
use std::convert::Infallible;
use std::fmt::{self, Write as _};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body::Body;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower::ServiceExt;
use tower_cors::{Cors, CorsConfig};
use tower_layer::Layer;
use url::Url;

use crate::body::{BoxError, LogLine, ProxyBody, Tracked};
use crate::config::{substitute, ProxyConfig, ProxyConfigError, RouteConfig, DEFAULT_LISTEN};
use crate::guard::{AddressPolicy, GuardedConnector, Resolve, SystemResolver};
use crate::headers::{RequestRules, ResponseRules};
use crate::route::{plain, Answer, HttpClient, Mode, Route, RouteService, Shared, UpstreamStatus};
use crate::target::{check_target, AllowEntry};

type Lookup = Box<dyn Fn(&str) -> Option<String>>;

/// Builds a [`Proxy`] with a resolver or an environment other than the process's.
pub struct ProxyBuilder {
    config: ProxyConfig,
    env: Lookup,
    resolver: Arc<dyn Resolve>,
}

impl fmt::Debug for ProxyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyBuilder").finish_non_exhaustive()
    }
}

impl ProxyBuilder {
    /// Where `${VAR}` values come from (default: the process environment).
    pub fn env(mut self, lookup: impl Fn(&str) -> Option<String> + 'static) -> Self {
        self.env = Box::new(lookup);
        self
    }

    /// How upstream names are resolved (default: the system resolver). Every address it
    /// returns still goes through the SSRF guard.
    pub fn resolver(mut self, resolver: impl Resolve) -> Self {
        self.resolver = Arc::new(resolver);
        self
    }

    /// Validates the configuration, listing every problem at once.
    pub fn build(self) -> Result<Proxy, ProxyConfigError> {
        build(self.config, &*self.env, self.resolver)
    }
}

/// The CORS proxy as a tower service over `http::Request<B>`: mount it in an app
/// (`Router::new().nest_service("/api", proxy)`, with `base_path = "/api"`), or run it with
/// [`serve`](crate::serve).
#[derive(Clone)]
pub struct Proxy {
    inner: Arc<Inner>,
}

struct Inner {
    /// Longest prefix first.
    routes: Vec<(String, Cors<RouteService>)>,
    help: String,
    listen: SocketAddr,
    root_owned: bool,
    max_request_headers: usize,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paths: Vec<&str> = self.inner.routes.iter().map(|(p, _)| p.as_str()).collect();
        f.debug_struct("Proxy")
            .field("routes", &paths)
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// Validates `config` with `${VAR}` taken from the process environment.
    pub fn new(config: ProxyConfig) -> Result<Self, ProxyConfigError> {
        Self::builder(config).build()
    }

    /// A builder, to inject the environment or a resolver.
    pub fn builder(config: ProxyConfig) -> ProxyBuilder {
        ProxyBuilder {
            config,
            env: Box::new(|name| std::env::var(name).ok()),
            resolver: Arc::new(SystemResolver),
        }
    }

    /// Where the configuration asks to listen (default `127.0.0.1:8787`).
    pub fn listen(&self) -> SocketAddr {
        self.inner.listen
    }

    /// The configured `max_request_headers`, which the server's read buffer must hold.
    pub(crate) fn max_request_headers(&self) -> usize {
        self.inner.max_request_headers
    }

    /// The help page served at `/_cors/`: routes and upstreams, never secrets.
    pub fn help(&self) -> &str {
        &self.inner.help
    }

    /// One route's service, behind its CORS layer, for mounting on its own; its requests'
    /// paths are relative to the route.
    pub fn route(&self, path: &str) -> Option<Cors<RouteService>> {
        let path = path.trim_end_matches('/');
        self.inner
            .routes
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, s)| s.clone())
    }

    /// Answers one request: the proxy's endpoints, or the route that owns the path.
    pub fn handle<B>(
        &self,
        request: Request<B>,
    ) -> impl Future<Output = Response<ProxyBody>> + Send + 'static
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let inner = self.inner.clone();
        async move {
            // With nobody listening for the request lines, skip what only they need.
            if !tracing::enabled!(tracing::Level::INFO) {
                return dispatch(&inner, request).await.1;
            }
            let started = Instant::now();
            let method = request.method().clone();
            let path = request.uri().path().to_owned();
            let (route, response) = dispatch(&inner, request).await;
            let (parts, body) = response.into_parts();
            let log = LogLine {
                route,
                method,
                path,
                status: parts.status.as_u16(),
                upstream_status: parts.extensions.get::<UpstreamStatus>().map(|s| s.0),
                started,
                bytes: 0,
                aborted: false,
            };
            Response::from_parts(parts, Tracked::logged(body, log))
        }
    }
}

async fn dispatch<B>(inner: &Inner, request: Request<B>) -> (String, Response<ProxyBody>)
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let path = request.uri().path();
    match path {
        "/_cors/healthz" => return ("_cors".into(), plain(StatusCode::OK, "ok\n")),
        "/_cors" | "/_cors/" => return ("_cors".into(), plain(StatusCode::OK, inner.help.clone())),
        "/" if !inner.root_owned => {
            return ("_cors".into(), plain(StatusCode::OK, inner.help.clone()))
        }
        _ => {}
    }
    let found = inner.routes.iter().find(|(prefix, _)| {
        path.strip_prefix(prefix.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    let Some((prefix, service)) = found else {
        return (
            "-".into(),
            Answer::new(
                StatusCode::NOT_FOUND,
                "no proxy route for this path; see /_cors/",
            )
            .into_response(),
        );
    };
    if prefix.is_empty() {
        // The root route sees the path as it came.
        let response = match service.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        return ("/".to_owned(), response);
    }
    let (mut parts, body) = request.into_parts();
    let rest = &parts.uri.path()[prefix.len()..];
    let rest = match parts.uri.query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    match rest.parse() {
        Ok(relative) => parts.uri = relative,
        Err(_) => {
            return (
                prefix.clone(),
                Answer::new(StatusCode::BAD_REQUEST, "invalid request path").into_response(),
            )
        }
    }
    let response = match service
        .clone()
        .oneshot(Request::from_parts(parts, body))
        .await
    {
        Ok(response) => response,
        Err(never) => match never {},
    };
    (prefix.clone(), response)
}

impl<B> tower_service::Service<Request<B>> for Proxy
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
        let future = self.handle(request);
        Box::pin(async move { Ok(future.await) })
    }
}

fn tls_config(config: &ProxyConfig, problems: &mut Vec<String>) -> Option<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &config.ca_file {
        match CertificateDer::pem_file_iter(path) {
            Ok(certs) => {
                let mut n = 0;
                for cert in certs {
                    match cert
                        .map_err(|e| e.to_string())
                        .and_then(|c| roots.add(c).map_err(|e| e.to_string()))
                    {
                        Ok(()) => n += 1,
                        Err(e) => problems.push(format!("ca_file {}: {e}", path.display())),
                    }
                }
                if n == 0 {
                    problems.push(format!("ca_file {}: no certificate found", path.display()));
                }
            }
            Err(e) => problems.push(format!("ca_file {}: {e}", path.display())),
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => Some(builder.with_root_certificates(roots).with_no_client_auth()),
        Err(e) => {
            problems.push(format!("TLS setup: {e}"));
            None
        }
    }
}

/// The largest read buffer of an HTTP/1 upstream connection.
const UPSTREAM_READ_BUFFER: usize = 64 * 1024;
/// The HTTP/2 flow-control window per upstream stream: what one response may have in flight.
const H2_STREAM_WINDOW: u32 = 1024 * 1024;

fn client(
    tls: &rustls::ClientConfig,
    resolver: &Arc<dyn Resolve>,
    policy: AddressPolicy,
    connect_timeout: std::time::Duration,
) -> HttpClient {
    let connector = GuardedConnector::new(resolver.clone(), Arc::new(policy), connect_timeout);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls.clone())
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(connector);
    Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        // hyper's read buffer grows to ~400 KiB on a fast body; per upstream connection that
        // is the proxy's memory under load, and 64 KiB reads already saturate loopback.
        .http1_max_buf_size(UPSTREAM_READ_BUFFER)
        .http2_initial_stream_window_size(H2_STREAM_WINDOW)
        .build(https)
}

fn header_names(names: &[String], what: &str, problems: &mut Vec<String>) -> Vec<HeaderName> {
    names
        .iter()
        .filter_map(|name| match HeaderName::from_bytes(name.as_bytes()) {
            Ok(h) => Some(h),
            Err(_) => {
                problems.push(format!("{what}: {name:?} is not a header name"));
                None
            }
        })
        .collect()
}

/// The shortest variable value that is scrubbed from response headers on its own.
const MIN_SECRET_LEN: usize = 4;

/// The variable values a setting used, as the secrets scrubbed from response headers.
fn scrubbed(used: Vec<String>) -> impl Iterator<Item = Vec<u8>> {
    used.into_iter()
        .filter(|s| s.len() >= MIN_SECRET_LEN)
        .map(String::into_bytes)
}

fn build(
    config: ProxyConfig,
    env: &dyn Fn(&str) -> Option<String>,
    resolver: Arc<dyn Resolve>,
) -> Result<Proxy, ProxyConfigError> {
    let mut problems = Vec::new();
    let listen = config.listen.unwrap_or_else(|| {
        DEFAULT_LISTEN
            .parse()
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8787)))
    });
    let base_path = config.base_path.trim_end_matches('/').to_owned();
    if !base_path.is_empty() && !base_path.starts_with('/') {
        problems.push(format!(
            "base_path {:?} must start with /",
            config.base_path
        ));
    }
    let tls = tls_config(&config, &mut problems);
    if config.routes.is_empty() {
        problems.push("no [[routes]]: the proxy would forward nothing".to_owned());
    }
    let global_cors = config
        .cors
        .clone()
        .map(|cors| cors.build().map_err(|e| e.to_string()));
    if let Some(Err(e)) = &global_cors {
        problems.push(format!("[cors]: {e}"));
    }
    let shared = Arc::new(Shared::new(
        config.limits.clone(),
        config.trusted_proxies.clone(),
        base_path.clone(),
    ));
    let mut seen = HashSet::new();
    let mut routes = Vec::new();
    let mut help = String::from("tower-cors proxy\n\nRoutes (longest prefix wins):\n");
    for (index, rc) in config.routes.iter().enumerate() {
        let label = if rc.path.is_empty() {
            format!("routes[{index}]")
        } else {
            format!("route {:?}", rc.path)
        };
        let before = problems.len();
        let path = rc.path.trim_end_matches('/').to_owned();
        if !rc.path.starts_with('/') {
            problems.push(format!(
                "{label}: path must start with / (got {:?})",
                rc.path
            ));
        } else if path.starts_with("/_cors") {
            problems.push(format!("{label}: paths under /_cors are the proxy's own"));
        } else if rc.path.contains(['?', '#', '*', '{']) || path.contains("//") {
            problems.push(format!("{label}: path must be plain segments like /github"));
        }
        if !seen.insert(path.clone()) {
            problems.push(format!("{label}: another route has the same path"));
        }
        let cors = match (&rc.cors, &global_cors) {
            (Some(own), _) => match own.clone().build() {
                Ok(layer) => Some(layer),
                Err(e) => {
                    problems.push(format!("{label} [routes.cors]: {e}"));
                    None
                }
            },
            (None, Some(Ok(layer))) => Some(layer.clone()),
            (None, Some(Err(_))) => None,
            (None, None) => {
                problems.push(format!(
                    "{label}: no CORS policy: add a [cors] table, or [routes.cors] to the route"
                ));
                None
            }
        };
        let allow: Vec<AllowEntry> = rc
            .allow_upstreams
            .iter()
            .filter_map(|e| match e.parse::<AllowEntry>() {
                Ok(entry) => Some(entry),
                Err(err) => {
                    problems.push(format!("{label}: {err}"));
                    None
                }
            })
            .collect();
        let mode = match &rc.upstream {
            Some(upstream) => match Url::parse(upstream) {
                Ok(url) => match check_target(&url) {
                    Ok(()) if url.query().is_none() && url.fragment().is_none() => {
                        Some(Mode::upstream(url))
                    }
                    Ok(()) => {
                        problems.push(format!(
                            "{label}: upstream {upstream:?} must not have a query or fragment"
                        ));
                        None
                    }
                    Err(why) => {
                        problems.push(format!("{label}: upstream {upstream:?}: {why}"));
                        None
                    }
                },
                Err(e) => {
                    problems.push(format!("{label}: upstream {upstream:?} is not a URL: {e}"));
                    None
                }
            },
            None if rc.allow_upstreams.is_empty() => {
                problems.push(format!(
                    "{label}: set `upstream` (route mode) or `allow_upstreams` (URL mode)"
                ));
                None
            }
            None => Some(Mode::Urls),
        };
        let mut secrets = Vec::new();
        let mut set_headers = Vec::new();
        for (name, value) in &rc.set_headers {
            let what = format!("{label} set_headers.{name}");
            let header = HeaderName::from_bytes(name.as_bytes());
            if header.is_err() {
                problems.push(format!("{what}: {name:?} is not a header name"));
            }
            let Some((value, used)) = substitute(value, env, &what, &mut problems) else {
                continue;
            };
            let mut header_value = match HeaderValue::from_str(&value) {
                Ok(v) => v,
                // The value may hold a secret: say what is wrong without it.
                Err(_) => {
                    problems.push(format!("{what}: the value is not a valid header value"));
                    continue;
                }
            };
            header_value.set_sensitive(true);
            if let Ok(header) = header {
                // A value with a variable in it is a secret as a whole, and so is each variable.
                if !used.is_empty() {
                    secrets.push(value.into_bytes());
                }
                secrets.extend(scrubbed(used));
                set_headers.push((header, header_value));
            }
        }
        let mut set_query = Vec::new();
        for (name, value) in &rc.set_query {
            let what = format!("{label} set_query.{name}");
            if let Some((value, used)) = substitute(value, env, &what, &mut problems) {
                secrets.extend(scrubbed(used));
                set_query.push((name.clone(), value));
            }
        }
        let request_rules = RequestRules {
            forward_cookies: rc.forward_cookies,
            forward_authorization: rc.forward_authorization,
            allow: rc.allow_request_headers.as_ref().map(|names| {
                header_names(
                    names,
                    &format!("{label} allow_request_headers"),
                    &mut problems,
                )
            }),
            deny: header_names(
                &rc.deny_request_headers,
                &format!("{label} deny_request_headers"),
                &mut problems,
            ),
        };
        let csp = match rc.content_security_policy.as_deref() {
            None => Some(HeaderValue::from_static("sandbox")),
            Some("") => None,
            Some(value) => match HeaderValue::from_str(value) {
                Ok(v) => Some(v),
                Err(_) => {
                    problems.push(format!(
                        "{label}: content_security_policy {value:?} is not a header value"
                    ));
                    None
                }
            },
        };
        let response_rules = ResponseRules {
            return_set_cookie: rc.return_set_cookie,
            deny: header_names(
                &rc.deny_response_headers,
                &format!("{label} deny_response_headers"),
                &mut problems,
            ),
            csp,
        };
        if problems.len() > before {
            continue;
        }
        let (Some(cors), Some(mode), Some(tls)) = (cors, mode, tls.as_ref()) else {
            continue;
        };
        let timeout = config.limits.connect_timeout;
        let trusted = AddressPolicy {
            trusted: true,
            ..AddressPolicy::default()
        };
        let guarded = AddressPolicy {
            allow_private_networks: rc.allow_private_networks,
            deny_networks: rc.deny_networks.clone(),
            trusted: false,
        };
        describe(&mut help, &path, rc, &mode, &allow);
        let route = Route {
            path: path.clone(),
            mode,
            allow,
            set_headers,
            set_query,
            secrets,
            request_rules,
            response_rules,
            forwarded_headers: rc.forwarded_headers,
            follow_redirects: rc.follow_redirects,
            allow_navigation: rc.allow_navigation,
            trusted_client: client(tls, &resolver, trusted, timeout),
            guarded_client: client(tls, &resolver, guarded, timeout),
        };
        let service = RouteService::new(Arc::new(route), shared.clone());
        routes.push((path, cors.layer(service)));
    }
    if !problems.is_empty() {
        return Err(ProxyConfigError::new(problems));
    }
    routes.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
    let root_owned = routes.iter().any(|(p, _)| p.is_empty());
    help.push_str(
        "\nProxy endpoints: /_cors/ (this page), /_cors/healthz\n\
         Requests are answered with the route's CORS policy; cookies, Authorization and \
         Set-Cookie are not passed unless a route opts in.\n",
    );
    Ok(Proxy {
        inner: Arc::new(Inner {
            routes,
            help,
            listen,
            root_owned,
            max_request_headers: config.limits.max_request_headers,
        }),
    })
}

/// One route's help lines: where it goes and what it sets, by name only.
fn describe(help: &mut String, path: &str, rc: &RouteConfig, mode: &Mode, allow: &[AllowEntry]) {
    let shown = if path.is_empty() { "/" } else { path };
    let _ = match mode {
        Mode::Upstream { base, .. } => writeln!(help, "  {shown}/...  ->  {base}"),
        Mode::Urls => writeln!(
            help,
            "  {shown}/{{absolute URL}}  ->  URL mode, allowed: {}",
            allow
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if !rc.set_headers.is_empty() {
        let names: Vec<&str> = rc.set_headers.keys().map(String::as_str).collect();
        let _ = writeln!(
            help,
            "      sets headers: {} (values hidden)",
            names.join(", ")
        );
    }
    if !rc.set_query.is_empty() {
        let names: Vec<&str> = rc.set_query.keys().map(String::as_str).collect();
        let _ = writeln!(
            help,
            "      sets query parameters: {} (values hidden)",
            names.join(", ")
        );
    }
}

/// A route's CORS policy as configuration, for callers that build one in code.
pub fn cors_config(origins: &[String], methods: &[String], headers: &[String]) -> CorsConfig {
    let mut cors = CorsConfig::default();
    cors.allow_origins = origins.to_vec();
    cors.allow_methods = methods.to_vec();
    cors.allow_headers = headers.to_vec();
    cors
}
