//! Stand-in APIs for the `cors check` tests and the browser agreement test: one axum app whose
//! routes are each misconfigured in one well-known way, and one correctly configured app behind
//! tower-cors. Routes that allow "the" origin echo the request's `Origin`, so the same app
//! serves a test origin and a real browser page alike. [`tls`] serves either over HTTPS with a
//! test CA.

#![allow(dead_code)] // Each test binary that includes this module uses a different part.

pub mod tls;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, Response, StatusCode};
use axum::routing::{any, put};
use axum::Router;
use tower_cors::CorsLayer;
use tower_cors_cli::check::CheckArgs;
use tower_cors_cli::net::NetArgs;

/// One `fetch()` against a stand-in route, and what the standard and Chromium make of it.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// A short name.
    pub id: &'static str,
    /// The route on the misconfigured (or correct) app.
    pub path: &'static str,
    /// Whether it runs against the correct app instead of the misconfigured one.
    pub correct: bool,
    /// `fetch`'s method.
    pub method: &'static str,
    /// Headers the script sets.
    pub headers: &'static [(&'static str, &'static str)],
    /// `credentials: 'include'`.
    pub credentials: bool,
    /// `allowed` or `blocked` (the standard's verdict).
    pub verdict: &'static str,
    /// The stage, when blocked.
    pub stage: Option<&'static str>,
    /// The reason key, when blocked.
    pub reason: Option<&'static str>,
    /// What Chromium does.
    pub chromium: &'static str,
    /// Whether a preflight goes first, when it is not simply "not a GET, or headers set".
    pub preflight: Option<bool>,
}

impl Case {
    /// `cors check --json` of this case against `url`, from `origin`, sending `cookie` when
    /// credentials are included, with the connection options `net`.
    pub fn check_args(
        &self,
        url: String,
        origin: &str,
        cookie: Option<String>,
        net: NetArgs,
    ) -> CheckArgs {
        CheckArgs {
            url,
            origin: origin.to_owned(),
            method: self.method.to_owned(),
            headers: self
                .headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect(),
            credentials: self.credentials,
            cookie,
            json: true,
            net,
        }
    }
}

const fn case(id: &'static str, path: &'static str, method: &'static str) -> Case {
    Case {
        id,
        path,
        correct: false,
        method,
        headers: &[],
        credentials: false,
        verdict: "allowed",
        stage: None,
        reason: None,
        chromium: "allowed",
        preflight: None,
    }
}

impl Case {
    const fn headers(mut self, headers: &'static [(&'static str, &'static str)]) -> Self {
        self.headers = headers;
        self
    }
    const fn credentials(mut self) -> Self {
        self.credentials = true;
        self
    }
    const fn correct(mut self) -> Self {
        self.correct = true;
        self
    }
    const fn blocked(mut self, stage: &'static str, reason: &'static str) -> Self {
        self.verdict = "blocked";
        self.stage = Some(stage);
        self.reason = Some(reason);
        self.chromium = "blocked";
        self
    }
    const fn no_preflight(mut self) -> Self {
        self.preflight = Some(false);
        self
    }
    /// Blocked by the standard, allowed by Chromium.
    const fn chromium_allows(mut self) -> Self {
        self.chromium = "allowed";
        self
    }
}

const API_KEY: &[(&str, &str)] = &[("x-api-key", "k")];
/// 129 bytes: one more than a safelisted value may have.
const LONG_ACCEPT: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Every case, misconfigured first.
pub fn cases() -> Vec<Case> {
    vec![
        case("no-cors-headers", "/no-cors", "GET").blocked("actual", "CORSMissingAllowOrigin"),
        case("wrong-origin", "/wrong-origin", "GET")
            .blocked("actual", "CORSAllowOriginNotMatchingOrigin"),
        case("trailing-slash", "/trailing-slash", "GET")
            .blocked("actual", "CORSAllowOriginNotMatchingOrigin"),
        case("two-allow-origin-lines", "/two-acao", "GET")
            .blocked("actual", "CORSMultipleAllowOriginNotAllowed"),
        case("wildcard-with-credentials", "/star-credentials", "GET")
            .credentials()
            .blocked("actual", "CORSNotSupportingCredentials"),
        case("credentials-header-missing", "/no-credentials", "GET")
            .credentials()
            .blocked("actual", "CORSMissingAllowCredentials"),
        case("credentials-header-True", "/credentials-True", "GET")
            .credentials()
            .blocked("actual", "CORSMissingAllowCredentials"),
        case("preflight-404", "/preflight-404", "PUT")
            .blocked("preflight", "CORSMissingAllowOrigin"),
        case("preflight-401", "/preflight-401", "PUT")
            .blocked("preflight", "CORSMissingAllowOrigin"),
        case("preflight-405", "/preflight-405", "PUT")
            .blocked("preflight", "CORSMissingAllowOrigin"),
        case("server-error-without-cors-headers", "/error-500", "GET")
            .blocked("actual", "CORSMissingAllowOrigin"),
        case("preflight-500", "/preflight-500", "PUT")
            .blocked("preflight", "CORSPreflightDidNotSucceed"),
        case("preflight-302", "/preflight-302", "PUT")
            .blocked("preflight", "CORSExternalRedirectNotAllowed"),
        case("method-missing", "/method-missing", "PUT").blocked("preflight", "CORSMethodNotFound"),
        case("header-missing", "/header-missing", "PUT")
            .headers(API_KEY)
            .blocked("preflight", "CORSMissingAllowHeaderFromPreflight"),
        case("unparsable-methods", "/bad-methods", "PUT")
            .blocked("preflight", "CORSInvalidAllowMethod"),
        case("authorization-under-wildcard", "/auth-star", "GET")
            .headers(&[("authorization", "Bearer t")])
            .blocked("preflight", "CORSMissingAllowHeaderFromPreflight")
            .chromium_allows(),
        case("lowercase-patch", "/patch-upper", "patch").blocked("preflight", "CORSMethodNotFound"),
        case("accept-over-128-bytes", "/method-missing", "GET")
            .headers(&[("accept", LONG_ACCEPT)])
            .blocked("preflight", "CORSMissingAllowHeaderFromPreflight"),
        case("json-post", "/method-missing", "POST")
            .headers(&[("content-type", "application/json")])
            .blocked("preflight", "CORSMissingAllowHeaderFromPreflight"),
        case("text-plain-post", "/simple", "POST")
            .headers(&[("content-type", "text/plain;charset=utf-8")])
            .no_preflight(),
        case("redirect-with-cors-headers", "/redirect-ok", "GET"),
        case("redirect-without-cors-headers", "/redirect-bare", "GET")
            .blocked("actual", "CORSMissingAllowOrigin"),
        case("correct-simple", "/items", "GET").correct(),
        case("correct-credentialed-put", "/items", "PUT")
            .correct()
            .headers(API_KEY)
            .credentials(),
        case("correct-method-refused", "/items", "DELETE")
            .correct()
            .blocked("preflight", "CORSMissingAllowOrigin"),
    ]
}

/// The misconfigured app: each route gets one thing wrong.
pub fn misconfigured() -> Router {
    Router::new().fallback(any(misconfigured_route))
}

async fn misconfigured_route(request: Request) -> Response<Body> {
    let origin = request
        .headers()
        .get("origin")
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("null"));
    let preflight = request.method() == Method::OPTIONS;
    let mut status = StatusCode::OK;
    let mut headers: Vec<(&'static str, HeaderValue)> = Vec::new();
    let echo = || ("access-control-allow-origin", origin.clone());
    let v = HeaderValue::from_static;
    match request.uri().path() {
        "/wrong-origin" => {
            headers.push(("access-control-allow-origin", v("https://other.example")))
        }
        "/trailing-slash" => {
            let slash = format!("{}/", origin.to_str().unwrap_or("null"));
            headers.push((
                "access-control-allow-origin",
                HeaderValue::from_str(&slash).unwrap_or_else(|_| v("null")),
            ));
        }
        "/two-acao" => headers.extend([echo(), echo()]),
        "/star-credentials" => headers.extend([
            ("access-control-allow-origin", v("*")),
            ("access-control-allow-credentials", v("true")),
        ]),
        "/no-credentials" => headers.push(echo()),
        "/credentials-True" => {
            headers.extend([echo(), ("access-control-allow-credentials", v("True"))])
        }
        "/preflight-404" if preflight => status = StatusCode::NOT_FOUND,
        "/preflight-405" if preflight => {
            status = StatusCode::METHOD_NOT_ALLOWED;
            headers.push(("allow", v("GET, PUT")));
        }
        "/error-500" => status = StatusCode::INTERNAL_SERVER_ERROR,
        "/preflight-401" if preflight => {
            status = StatusCode::UNAUTHORIZED;
            headers.push(("www-authenticate", v("Bearer")));
        }
        "/preflight-500" if preflight => {
            status = StatusCode::INTERNAL_SERVER_ERROR;
            headers.extend([echo(), ("access-control-allow-methods", v("PUT"))]);
        }
        "/preflight-302" if preflight => {
            status = StatusCode::FOUND;
            headers.push(("location", v("/login")));
        }
        "/method-missing" if preflight => {
            status = StatusCode::NO_CONTENT;
            headers.extend([echo(), ("access-control-allow-methods", v("GET, POST"))]);
        }
        "/header-missing" if preflight => {
            status = StatusCode::NO_CONTENT;
            headers.extend([echo(), ("access-control-allow-methods", v("PUT"))]);
        }
        "/patch-upper" if preflight => {
            status = StatusCode::NO_CONTENT;
            headers.extend([echo(), ("access-control-allow-methods", v("PATCH"))]);
        }
        "/bad-methods" if preflight => {
            status = StatusCode::NO_CONTENT;
            headers.extend([echo(), ("access-control-allow-methods", v("PUT;DELETE"))]);
        }
        "/auth-star" => {
            status = if preflight {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::OK
            };
            headers.extend([
                ("access-control-allow-origin", v("*")),
                ("access-control-allow-headers", v("*")),
            ]);
        }
        "/redirect-ok" => {
            status = StatusCode::FOUND;
            headers.extend([echo(), ("location", v("/target"))]);
        }
        "/redirect-bare" => {
            status = StatusCode::FOUND;
            headers.push(("location", v("/target")));
        }
        "/no-cors" => {}
        // The other routes' actual requests, and redirect targets, are correct.
        _ => headers.push(echo()),
    }
    let mut response = Response::new(Body::from("stand-in"));
    *response.status_mut() = status;
    for (name, value) in headers {
        response.headers_mut().append(name, value);
    }
    response
}

/// The correct app: `PUT /items` and `GET /items` behind tower-cors, allowing `origin` with
/// credentials and `x-api-key`, exposing `x-request-id`.
pub fn correct(origin: &str) -> Router {
    let cors = CorsLayer::builder()
        .allow_origins([origin])
        .allow_methods(["PUT"])
        .allow_headers(["x-api-key"])
        .expose_headers(["x-request-id"])
        .allow_credentials(true)
        .build()
        .expect("a valid policy");
    Router::new()
        .route("/items", put(items).get(items))
        .layer(cors)
}

async fn items() -> Response<Body> {
    let mut response = Response::new(Body::from("[]"));
    response
        .headers_mut()
        .insert("x-request-id", HeaderValue::from_static("req-1"));
    response
}

/// Serves `app` on `127.0.0.1` (an ephemeral port) until the runtime stops.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}
