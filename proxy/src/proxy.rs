//! [`Proxy`]: every route behind its CORS layer, the proxy's own endpoints under `/_cors/`,
//! the methods refused before any route is chosen, and the one place that sets the version of
//! every response and starts its log line.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::header::HeaderValue;
use http::{Method, Request, Response, StatusCode, Version};
use http_body::Body;
use tower::ServiceExt;
use tower_cors::{Cors, CorsConfig, CorsLayer};

use crate::answer::{plain, Answer, Outcome};
use crate::body::{BoxError, ProxyBody, Tracked};
use crate::config::{Limits, ProxyConfig, ProxyConfigError};
use crate::guard::{Resolve, SystemResolver};
use crate::log::{refusal_hint, LogLine};
use crate::methods::never_forwarded;
use crate::route::{RouteService, UpstreamStatus};

type Lookup = Box<dyn Fn(&str) -> Option<String>>;

/// Builds a [`Proxy`] with a resolver or an environment other than the process's.
pub struct ProxyBuilder {
    config: ProxyConfig,
    env: Lookup,
    resolver: Arc<dyn Resolve>,
    hints: bool,
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

    /// Name, in the log line of each refused request, the `cors proxy` command-line flag that
    /// would allow it (`--allow-method PUT`); for the command's one-line mode.
    pub fn command_line_hints(mut self, hints: bool) -> Self {
        self.hints = hints;
        self
    }

    /// Validates the configuration, listing every problem at once.
    pub fn build(self) -> Result<Proxy, ProxyConfigError> {
        crate::build::build(self.config, &*self.env, self.resolver, self.hints)
    }
}

/// The CORS proxy as a tower service over `http::Request<B>`: mount it in an app
/// (`Router::new().nest_service("/api", proxy)`, with `base_path = "/api"`), or run it with
/// [`serve`](crate::serve).
#[derive(Clone)]
pub struct Proxy {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// Path prefix, policy and service; longest prefix first.
    pub(crate) routes: Vec<(String, CorsLayer, Cors<RouteService>)>,
    pub(crate) help: String,
    pub(crate) listen: SocketAddr,
    pub(crate) admin: Option<SocketAddr>,
    pub(crate) root_owned: bool,
    pub(crate) limits: Limits,
    pub(crate) hints: bool,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paths: Vec<&str> = self.inner.routes.iter().map(|(p, ..)| p.as_str()).collect();
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
            hints: false,
        }
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Where the configuration asks to listen (default `127.0.0.1:8787`).
    pub fn listen(&self) -> SocketAddr {
        self.inner.listen
    }

    /// Where the configuration's `[admin]` listener is, if it has one.
    pub fn admin_listen(&self) -> Option<SocketAddr> {
        self.inner.admin
    }

    /// The limits the proxy was configured with (the server reads its connection settings
    /// from them).
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
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
            .find(|(p, ..)| p == path)
            .map(|(_, _, s)| s.clone())
    }

    /// Answers one request: the proxy's endpoints, or the route that owns the path. The
    /// response carries the proxy's own HTTP version (HTTP/2 to an HTTP/2 request, else
    /// HTTP/1.1), never the upstream's.
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
            let version = match request.version() {
                Version::HTTP_2 => Version::HTTP_2,
                _ => Version::HTTP_11,
            };
            // With nobody listening for the request lines, skip what only they need.
            if !tracing::enabled!(tracing::Level::INFO) {
                let mut response = dispatch(&inner, request).await.1;
                *response.version_mut() = version;
                return response;
            }
            let started = Instant::now();
            let method = request.method().clone();
            let path = request.uri().path().to_owned();
            let preflight = Preflight::capture(&request);
            let (route, response) = dispatch(&inner, request).await;
            let (mut parts, body) = response.into_parts();
            parts.version = version;
            let upstream_status = parts.extensions.get::<UpstreamStatus>().map(|s| s.0);
            let outcome = parts.extensions.get::<Outcome>().cloned().or_else(|| {
                // The layer answered a preflight itself: ask its policy why it refused.
                let refused = parts.status == StatusCode::FORBIDDEN && upstream_status.is_none();
                let (_, cors, _) = route.filter(|_| refused)?;
                preflight?.refusal(cors, inner.hints)
            });
            let log = LogLine {
                route: route.map_or_else(
                    || label_of(&path),
                    |(prefix, ..)| {
                        if prefix.is_empty() {
                            "/".to_owned()
                        } else {
                            prefix.clone()
                        }
                    },
                ),
                method,
                path,
                status: parts.status.as_u16(),
                upstream_status,
                started,
                bytes: 0,
                aborted: false,
                outcome,
            };
            Response::from_parts(parts, Tracked::logged(body, log))
        }
    }
}

/// The log's route label of a request no route answered.
fn label_of(path: &str) -> String {
    if path == "/" || path.starts_with("/_cors") {
        "_cors".to_owned()
    } else {
        "-".to_owned()
    }
}

/// A preflight's CORS headers, kept so that a refusal can be explained in the log.
struct Preflight {
    origin: HeaderValue,
    method: HeaderValue,
    headers: Option<HeaderValue>,
}

impl Preflight {
    fn capture<B>(request: &Request<B>) -> Option<Self> {
        if request.method() != Method::OPTIONS {
            return None;
        }
        let headers = request.headers();
        Some(Self {
            origin: headers.get(http::header::ORIGIN)?.clone(),
            method: headers
                .get(http::header::ACCESS_CONTROL_REQUEST_METHOD)?
                .clone(),
            headers: headers
                .get(http::header::ACCESS_CONTROL_REQUEST_HEADERS)
                .cloned(),
        })
    }

    /// Why `cors` refused this preflight, if it did.
    fn refusal(self, cors: &CorsLayer, hints: bool) -> Option<Outcome> {
        let mut request = Request::options("/");
        if let Some(headers) = request.headers_mut() {
            headers.insert(http::header::ORIGIN, self.origin.clone());
            headers.insert(http::header::ACCESS_CONTROL_REQUEST_METHOD, self.method);
            if let Some(list) = self.headers {
                headers.insert(http::header::ACCESS_CONTROL_REQUEST_HEADERS, list);
            }
        }
        let (parts, ()) = request.body(()).ok()?.into_parts();
        let decision = cors.evaluate(&parts);
        let reason = decision.rejection()?.reason();
        Some(Outcome::Refused {
            reason: reason.to_string(),
            hint: hints.then(|| refusal_hint(&reason, &self.origin)).flatten(),
        })
    }
}

type RouteEntry = (String, CorsLayer, Cors<RouteService>);

async fn dispatch<B>(
    inner: &Inner,
    request: Request<B>,
) -> (Option<&RouteEntry>, Response<ProxyBody>)
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let method = request.method();
    let refused_method = never_forwarded(method.as_str());
    // CONNECT's authority form (`CONNECT host:443`) names no path: it never reaches routing.
    if refused_method && (*method == Method::CONNECT && request.uri().path_and_query().is_none()) {
        return (None, refuse_method(method));
    }
    let path = request.uri().path();
    match path {
        "/_cors/healthz" => return (None, plain(StatusCode::OK, "ok\n")),
        "/_cors" | "/_cors/" => return (None, plain(StatusCode::OK, inner.help.clone())),
        "/" if !inner.root_owned => return (None, plain(StatusCode::OK, inner.help.clone())),
        _ => {}
    }
    let found = inner.routes.iter().find(|(prefix, ..)| {
        path.strip_prefix(prefix.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    let Some(entry) = found else {
        if refused_method {
            return (None, refuse_method(method));
        }
        return (
            None,
            Answer::new(
                StatusCode::NOT_FOUND,
                "no proxy route for this path; see /_cors/",
            )
            .into_response(),
        );
    };
    let (prefix, _, service) = entry;
    if prefix.is_empty() {
        // The root route sees the path as it came.
        let response = match service.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        return (Some(entry), response);
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
                Some(entry),
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
    (Some(entry), response)
}

/// 405 for TRACE, TRACK and CONNECT where no route's CORS layer can answer.
fn refuse_method(method: &Method) -> Response<ProxyBody> {
    Answer::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is never forwarded"),
    )
    .into_response()
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

/// A route's CORS policy as configuration, for callers that build one in code.
pub fn cors_config(origins: &[String], methods: &[String], headers: &[String]) -> CorsConfig {
    let mut cors = CorsConfig::default();
    cors.allow_origins = origins.to_vec();
    cors.allow_methods = methods.to_vec();
    cors.allow_headers = headers.to_vec();
    cors
}
