//! The loopback HTTP side of the matrix: the inner axum app that every policy wraps, a counter
//! in front of the CORS layer that sees what the browser really sent (preflights included), and
//! the page server that hands Chromium its script and collects the results.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get, post, MethodRouter};
use axum::Router;
use tokio::sync::mpsc;

/// The route every API mounts [`inner_route`] on: `/s/{scenario id}/{action…}`.
pub const SCENARIO_ROUTE: &str = "/s/{id}/{*action}";

/// Response headers the inner app always sets, so scenarios can check which ones a script may read.
pub const REQUEST_ID: (&str, &str) = ("x-request-id", "req-42");
/// See [`REQUEST_ID`]; this one is never in any expose list but `*`.
pub const SECRET: (&str, &str) = ("x-secret", "hidden");

/// What the servers saw for one scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScenarioHits {
    /// `OPTIONS` requests that reached the server (counted before the CORS layer).
    pub options: u32,
    /// The statuses those `OPTIONS` requests were answered with.
    pub options_statuses: Vec<u16>,
    /// Requests of any method that reached the inner app.
    pub inner: u32,
    /// Every request as seen on the wire, one line each: method, the request's CORS headers,
    /// `->` status, and the response's `Access-Control-*` and `Vary` headers.
    pub exchanges: Vec<String>,
}

/// Per-scenario counters shared by every server, keyed by the scenario id in the path.
#[derive(Clone, Debug, Default)]
pub struct Hits(Arc<Mutex<HashMap<String, ScenarioHits>>>);

impl Hits {
    /// What the servers have seen for scenario `id` so far.
    pub fn of(&self, id: &str) -> ScenarioHits {
        self.with(|map| map.get(id).cloned().unwrap_or_default())
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, ScenarioHits>) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The inner app as a method router for any method, so it can be mounted on several routes,
/// each with its own policy. See [`SCENARIO_ROUTE`] for the path it expects.
///
/// Actions (the rest of the path after the scenario id):
/// - `ok` → 200 `ok`; an `OPTIONS` that reaches it (pass-through) → 200 `inner options`
/// - `echo-method` → 200 with the request method as the body
/// - `status/CODE` → that status, body `status CODE`
/// - `cookie/set/NAME` → 200 `set`, with `Set-Cookie: NAME=chip; Path=/; SameSite=Lax`
/// - `cookie/read/NAME` → 200 with the cookie's value, or `(none)`
/// - `inner-acao` → 200 `ok`, and the inner app itself sets `Access-Control-Allow-Origin: *`
///   (the layer must replace or remove it)
/// - `no-options` → like `ok`, but 405 for `OPTIONS` (a pass-through preflight then fails)
pub fn inner_route(hits: &Hits) -> MethodRouter {
    any(inner_app).with_state(hits.clone())
}

async fn inner_app(
    State(hits): State<Hits>,
    Path((id, action)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    hits.with(|map| map.entry(id).or_default().inner += 1);
    let is_options = method == Method::OPTIONS;
    let mut response = match action.split('/').collect::<Vec<_>>().as_slice() {
        ["no-options"] if is_options => {
            (StatusCode::METHOD_NOT_ALLOWED, "no options").into_response()
        }
        _ if is_options => "inner options".into_response(),
        ["ok" | "no-options"] => "ok".into_response(),
        ["echo-method"] => method.as_str().to_owned().into_response(),
        ["status", code] => match code.parse().ok().and_then(|c| StatusCode::from_u16(c).ok()) {
            Some(status) => (status, format!("status {code}")).into_response(),
            None => (StatusCode::BAD_REQUEST, "bad status").into_response(),
        },
        ["cookie", "set", name] => (
            [(
                header::SET_COOKIE,
                format!("{name}=chip; Path=/; SameSite=Lax"),
            )],
            "set",
        )
            .into_response(),
        ["cookie", "read", name] => cookie(&headers, name)
            .unwrap_or("(none)")
            .to_owned()
            .into_response(),
        ["inner-acao"] => ([(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], "ok").into_response(),
        _ => (StatusCode::BAD_REQUEST, "unknown action").into_response(),
    };
    let out = response.headers_mut();
    out.insert(REQUEST_ID.0, HeaderValue::from_static(REQUEST_ID.1));
    out.insert(SECRET.0, HeaderValue::from_static(SECRET.1));
    response
}

/// The value of cookie `name` in the request's `Cookie` lines, if any.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|line| line.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// Serves `app` on `127.0.0.1` (never a public interface) on a free port, with the recorder
/// outermost, and returns the port.
pub async fn serve_api(app: Router, hits: &Hits) -> std::io::Result<u16> {
    let app = app.layer(middleware::from_fn_with_state(hits.clone(), record));
    serve(app).await
}

/// Records every scenario request before the CORS layer sees it: a preflight the layer answers
/// never reaches the inner app, the browser's preflight cache is only visible as preflights that
/// were *not* sent, and a failing scenario is easier to read with the CORS headers on the wire.
async fn record(State(hits): State<Hits>, request: Request, next: Next) -> Response {
    let Some(id) = scenario_id(request.uri().path()).map(str::to_owned) else {
        return next.run(request).await;
    };
    let is_options = request.method() == Method::OPTIONS;
    let mut line = request.method().to_string();
    for name in [
        "origin",
        "access-control-request-method",
        "access-control-request-headers",
    ] {
        for value in request.headers().get_all(name) {
            line.push_str(&format!(
                " {name}={}",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
    }
    let response = next.run(request).await;
    line.push_str(&format!(" -> {}", response.status().as_u16()));
    for (name, value) in response.headers() {
        if name.as_str().starts_with("access-control-") || name == header::VARY {
            line.push_str(&format!(
                " | {name}: {}",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
    }
    let status = response.status().as_u16();
    hits.with(|map| {
        let entry = map.entry(id).or_default();
        if is_options {
            entry.options += 1;
            entry.options_statuses.push(status);
        }
        entry.exchanges.push(line);
    });
    response
}

/// The segment after `/s/` in a path such as `/locked/s/put-denied/ok`.
fn scenario_id(path: &str) -> Option<&str> {
    let mut segments = path.split('/');
    segments.find(|segment| *segment == "s")?;
    segments.next().filter(|id| !id.is_empty())
}

async fn serve(app: Router) -> std::io::Result<u16> {
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            eprintln!("browser matrix: server on port {port} stopped: {err}");
        }
    });
    Ok(port)
}

/// Serves the pages Chromium opens and receives their result lines.
pub struct PageServer {
    port: u16,
    current: Arc<Mutex<Option<Batch>>>,
}

/// The page being run right now: its HTML and where its result lines go.
struct Batch {
    name: String,
    html: String,
    results: mpsc::UnboundedSender<String>,
}

impl PageServer {
    /// Starts the page server on its own loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let current = Arc::new(Mutex::new(None));
        let app = Router::new()
            .route("/page/{batch}", get(page))
            .route("/opaque/{batch}", get(opaque_page))
            .route("/results/{batch}", post(results))
            .with_state(Arc::clone(&current));
        let port = serve(app).await?;
        Ok(Self { port, current })
    }

    /// The port every page is served from; pages differ by host name.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Makes `/page/NAME` and `/opaque/NAME` serve `html`, and returns the receiver of the
    /// lines the page posts to `/results/NAME`.
    pub(crate) fn publish(&self, name: &str, html: String) -> mpsc::UnboundedReceiver<String> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(Batch {
            name: name.to_owned(),
            html,
            results: tx,
        });
        rx
    }
}

type Current = Arc<Mutex<Option<Batch>>>;

fn current_html(current: &Current, name: &str) -> Option<String> {
    let current = current.lock().unwrap_or_else(PoisonError::into_inner);
    current
        .as_ref()
        .filter(|batch| batch.name == name)
        .map(|batch| batch.html.clone())
}

async fn page(State(current): State<Current>, Path(name): Path<String>) -> Response {
    match current_html(&current, &name) {
        Some(html) => Html(html).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The same page in a CSP sandbox without `allow-same-origin`: its origin is opaque, so its
/// fetches carry `Origin: null`.
async fn opaque_page(State(current): State<Current>, Path(name): Path<String>) -> Response {
    match current_html(&current, &name) {
        Some(html) => (
            [(header::CONTENT_SECURITY_POLICY, "sandbox allow-scripts")],
            Html(html),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn results(
    State(current): State<Current>,
    Path(name): Path<String>,
    body: String,
) -> Response {
    let delivered = {
        let current = current.lock().unwrap_or_else(PoisonError::into_inner);
        current
            .as_ref()
            .filter(|batch| batch.name == name)
            .is_some_and(|batch| batch.results.send(body).is_ok())
    };
    let status = if delivered {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::GONE
    };
    // The opaque page posts from origin `null`; a readable answer keeps its fetch() from
    // rejecting (the line has been delivered either way — a text/plain POST needs no preflight).
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}
