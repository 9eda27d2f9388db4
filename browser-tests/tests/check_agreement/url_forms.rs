//! The URL forms of the agreement test: URLs as developers type them, which the URL standard
//! rewrites before anything is sent (a space and non-ASCII in the path and query, an IDNA host,
//! dot segments, backslashes and a tab, a fragment, a relative redirect with `..`). Each case
//! has a stand-in of its own that records the head of every request it receives — request
//! target, `Host`, TLS server name, `Origin`, `Sec-Fetch-*`, `Access-Control-Request-*` — so
//! what Chromium sent and what `cors check` sent are compared line for line, besides the verdict
//! and the console line.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, LOCATION,
};
use axum::http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tower_cors_browser_tests::{Credentials, Probe, Seen};
use tower_cors_cli::check::{check, CheckArgs};
use tower_cors_cli::net::NetArgs;

use crate::support::tls::IDNA_HOST;

/// `ñandú.test` as the page and `cors check` are given it; [`IDNA_HOST`] is its ASCII form.
const IDNA_INPUT: &str = "\u{f1}and\u{fa}.test";

const API_KEY: &[(&str, &str)] = &[("x-api-key", "k")];

/// One URL form.
pub struct UrlCase {
    id: &'static str,
    /// The host is [`IDNA_INPUT`] (mapped to loopback) instead of `127.0.0.1`.
    idna: bool,
    /// Path, query and fragment, as typed.
    rest: &'static str,
    method: &'static str,
    headers: &'static [(&'static str, &'static str)],
    /// The final answer carries `Access-Control-Allow-Origin`; without it the actual request
    /// is blocked, so the console line (and the URL it quotes) can be compared.
    allow: bool,
    /// This path answers `302` with this `Location` (and `Access-Control-Allow-Origin`).
    redirect: Option<(&'static str, &'static str)>,
}

const fn case(id: &'static str, rest: &'static str) -> UrlCase {
    UrlCase {
        id,
        idna: false,
        rest,
        method: "GET",
        headers: &[],
        allow: false,
        redirect: None,
    }
}

impl UrlCase {
    const fn idna(mut self) -> Self {
        self.idna = true;
        self
    }
    const fn allowed(mut self) -> Self {
        self.allow = true;
        self
    }
    /// A `PUT` with `x-api-key`: a preflight goes first.
    const fn preflighted(mut self) -> Self {
        self.method = "PUT";
        self.headers = API_KEY;
        self
    }
    const fn redirect(mut self, path: &'static str, location: &'static str) -> Self {
        self.redirect = Some((path, location));
        self
    }

    fn url(&self, scheme: &str, port: u16) -> String {
        let host = if self.idna { IDNA_INPUT } else { "127.0.0.1" };
        format!("{scheme}://{host}:{port}{}", self.rest)
    }
}

/// Every URL form.
pub const CASES: &[UrlCase] = &[
    case("url-space-in-query", "/search?q=a b&r= c"),
    case(
        "url-non-ascii-path-and-query",
        "/caf\u{e9}/men\u{fc}?q=\u{ef}&e=\u{1f600}",
    )
    .preflighted(),
    case("url-idna-host", "/items")
        .idna()
        .preflighted()
        .allowed(),
    case("url-idna-host-blocked", "/items?x=1").idna(),
    case("url-dot-segments", "/api/v0/../items/./list/%2e%2E/all").allowed(),
    case("url-backslashes-and-tab", "/api\\v1\\it\tems?q=1").allowed(),
    case("url-fragment", "/items?x=1#top"),
    case("url-relative-redirect-dot-dot", "/a/b/start?x=1#frag")
        .redirect("/a/b/start", "../c/./end?y=2"),
];

/// The host-resolver rule Chromium needs for the IDNA cases.
pub fn chromium_host_rules() -> String {
    format!("MAP {IDNA_HOST} 127.0.0.1")
}

type Heads = Arc<Mutex<Vec<String>>>;

/// One case served over one scheme.
pub struct Target {
    case: &'static UrlCase,
    id: String,
    url: String,
    addr: SocketAddr,
    heads: Heads,
    cacert: Option<PathBuf>,
}

impl Target {
    /// Serves `case` on a stand-in of its own, over TLS with `tls`, and describes its URL.
    pub async fn serve(
        case: &'static UrlCase,
        tls: Option<(TlsAcceptor, PathBuf)>,
    ) -> std::io::Result<Target> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let heads = Heads::default();
        let log = Arc::clone(&heads);
        let (acceptor, cacert) = tls.unzip();
        let (scheme, prefix) = match acceptor {
            Some(_) => ("https", "https-"),
            None => ("http", ""),
        };
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, log) = (acceptor.clone(), Arc::clone(&log));
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            let Ok(tls) = acceptor.accept(tcp).await else {
                                return;
                            };
                            let sni = tls.get_ref().1.server_name().map(str::to_owned);
                            connection(tls, case, sni, log).await;
                        }
                        None => connection(tcp, case, None, log).await,
                    }
                });
            }
        });
        Ok(Target {
            case,
            id: format!("{prefix}{}", case.id),
            url: case.url(scheme, addr.port()),
            addr,
            heads,
            cacert,
        })
    }

    /// The fetch() the page runs. Its console line is the one naming this stand-in's port.
    pub fn probe(&self) -> Probe {
        Probe {
            id: self.id.clone(),
            url: self.url.clone(),
            console_key: format!(":{}/", self.addr.port()),
            method: self.case.method,
            headers: self.case.headers.to_vec(),
            credentials: Credentials::SameOrigin,
            cors_console: true,
        }
    }

    /// The request heads received since the last call.
    fn take_heads(&self) -> Vec<String> {
        std::mem::take(&mut *self.heads.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs `cors check` for this case from `origin`, after Chromium ran its probe (`seen`),
    /// and lists every difference: verdict, console line, and each request head.
    pub async fn compare(&self, origin: &str, seen: &Seen) -> Vec<String> {
        let id = &self.id;
        let chromium_heads = self.take_heads();
        let resolve = if self.case.idna {
            let entry = format!("{IDNA_INPUT}:{}:127.0.0.1", self.addr.port());
            vec![entry.parse().expect("a --resolve entry")]
        } else {
            Vec::new()
        };
        let args = CheckArgs {
            url: self.url.clone(),
            origin: origin.to_owned(),
            method: self.case.method.to_owned(),
            headers: self
                .case
                .headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect(),
            credentials: false,
            cookie: None,
            json: true,
            net: NetArgs {
                cacert: self.cacert.clone(),
                resolve,
                ..NetArgs::default()
            },
        };
        let json = check(&args).await.to_json();
        let cli_heads = self.take_heads();

        let mut problems = Vec::new();
        let chromium_says = if seen.readable { "allowed" } else { "blocked" };
        let expected = if self.case.allow {
            "allowed"
        } else {
            "blocked"
        };
        println!(
            "{id}: chromium {chromium_says}, cors check {} / chromium {}, {} request(s) from \
             Chromium, {} from cors check",
            json["verdict"],
            json["browsers"]["chromium"],
            chromium_heads.len(),
            cli_heads.len()
        );
        if let Some(line) = &seen.console {
            println!("    Chromium: {line}");
        }
        if chromium_says != expected || json["verdict"] != expected {
            problems.push(format!(
                "{id}: expected {expected}; Chromium {chromium_says}, cors check {}",
                json["verdict"]
            ));
        }
        if json["browsers"]["chromium"] != chromium_says {
            problems.push(format!(
                "{id}: Chromium {chromium_says}, browsers.chromium {}",
                json["browsers"]["chromium"]
            ));
        }
        if !seen.readable && seen.console.as_deref() != json["message"].as_str() {
            problems.push(format!(
                "{id}: Chromium printed {:?}\n    cors check says {}",
                seen.console, json["message"]
            ));
        }
        if chromium_heads != cli_heads {
            problems.push(format!(
                "{id}: the requests differ\n    Chromium:   {chromium_heads:?}\n    cors check: \
                 {cli_heads:?}"
            ));
        }
        problems
    }
}

async fn connection<I>(io: I, case: &'static UrlCase, sni: Option<String>, log: Heads)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request: Request<Incoming>| {
        log.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(head(&request, sni.as_deref()));
        std::future::ready(Ok::<_, Infallible>(answer(case, &request)))
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// What is compared of one request, as one line (`-` for an absent header).
fn head(request: &Request<Incoming>, sni: Option<&str>) -> String {
    let header = |name: &str| {
        request.headers().get(name).map_or_else(
            || String::from("-"),
            |v| String::from_utf8_lossy(v.as_bytes()).into_owned(),
        )
    };
    format!(
        "{} {} host={} sni={} origin={} sec-fetch={}/{}/{} acrm={} acrh={}",
        request.method(),
        request.uri(),
        header("host"),
        sni.unwrap_or("-"),
        header("origin"),
        header("sec-fetch-mode"),
        header("sec-fetch-site"),
        header("sec-fetch-dest"),
        header("access-control-request-method"),
        header("access-control-request-headers"),
    )
}

/// Preflights pass (the requested method and headers echoed); the redirect path redirects; the
/// final answer allows the origin only when the case says so.
fn answer(case: &UrlCase, request: &Request<Incoming>) -> Response<Body> {
    let origin = request
        .headers()
        .get("origin")
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("null"));
    let mut response = Response::new(Body::empty());
    let preflight = request.method() == Method::OPTIONS;
    let redirect = case
        .redirect
        .filter(|(path, _)| *path == request.uri().path());
    let headers = response.headers_mut();
    if preflight || redirect.is_some() || case.allow {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    if preflight {
        for (asked, allowed) in [
            (ACCESS_CONTROL_REQUEST_METHOD, ACCESS_CONTROL_ALLOW_METHODS),
            (ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_ALLOW_HEADERS),
        ] {
            if let Some(value) = request.headers().get(asked) {
                headers.insert(allowed, value.clone());
            }
        }
        *response.status_mut() = StatusCode::NO_CONTENT;
    } else if let Some((_, location)) = redirect {
        headers.insert(LOCATION, HeaderValue::from_static(location));
        *response.status_mut() = StatusCode::FOUND;
    }
    response
}
