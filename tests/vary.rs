//! `Vary` names each field once (SPEC.md §5): the layer's own tokens, a `select_with`
//! function's declared headers and the inner service's values are compared without case, and
//! the first spelling seen is kept. An inner `Vary: *` already covers every field, so the layer
//! adds nothing to it.
//!
//! Exact rows pin the interesting wires; a sweep over every layer, request and inner `Vary`
//! checks the rules that hold for all of them.

use std::convert::Infallible;

use http::{HeaderValue, Method, Request, Response};
use tower::{service_fn, Layer, ServiceExt};
use tower_cors::{CorsBuilder, CorsLayer, SelectRequest};

const APP: &str = "https://app.example.com";
const ACRM: &str = "Access-Control-Request-Method";
const ACRH: &str = "Access-Control-Request-Headers";
const PREFLIGHT: &str = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
const ANY_PREFLIGHT: &str = "Access-Control-Request-Method, Access-Control-Request-Headers";

/// Every layer the rows and the sweep use.
const LAYERS: &[&str] = &[
    "list",
    "list-pass",
    "any",
    "any-pass",
    "by-origin",
    "by-host",
    "by-path",
    "with-origin",
    "with-Origin",
    "with-ORIGIN",
    "with-origin-pass",
    "with-acrm",
    "with-acrh",
    "with-tenant-origin",
];

/// A policy that depends on the origin, answering preflights itself or passing them on.
fn app(pass_through: bool) -> CorsBuilder {
    CorsLayer::builder()
        .allow_origins([APP])
        .allow_methods([Method::PUT])
        .allow_headers(["content-type"])
        .preflight_pass_through(pass_through)
}

fn public(pass_through: bool) -> CorsBuilder {
    CorsLayer::builder()
        .allow_any_origin()
        .allow_methods([Method::PUT])
        .allow_headers(["content-type"])
        .preflight_pass_through(pass_through)
}

/// Requests under `/public` go to the any-origin member, the rest to `app`.
fn by_path<'r>(request: &SelectRequest<'r>) -> Option<&'r str> {
    Some(if request.uri().path().starts_with("/public") {
        "public"
    } else {
        "app"
    })
}

fn layer(name: &str) -> CorsLayer {
    let members = |pass| {
        CorsLayer::set()
            .policy("app", app(pass))
            .policy("public", public(pass))
    };
    let built = match name {
        "list" => app(false).build(),
        "list-pass" => app(true).build(),
        "any" => public(false).build(),
        "any-pass" => public(true).build(),
        "by-origin" => members(false).select_by_origin().fallback("public").build(),
        "by-host" => members(false)
            .select_by_host([("api.example.com", "app"), ("static.example.com", "public")])
            .build(),
        "by-path" => members(false)
            .select_by_path([("/", "app"), ("/public", "public")])
            .build(),
        "with-origin" => members(false).select_with(["origin"], by_path).build(),
        "with-Origin" => members(false).select_with(["Origin"], by_path).build(),
        "with-ORIGIN" => members(false).select_with(["ORIGIN"], by_path).build(),
        "with-origin-pass" => members(true).select_with(["origin"], by_path).build(),
        "with-acrm" => members(false)
            .select_with(["access-control-request-method"], by_path)
            .build(),
        "with-acrh" => members(false).select_with([ACRH], by_path).build(),
        "with-tenant-origin" => members(false)
            .select_with(["x-tenant", "ORIGIN", "origin"], by_path)
            .build(),
        other => panic!("no layer {other}"),
    };
    built.expect("valid layer")
}

/// The requests of the sweep; the rows name them too.
const REQUESTS: &[&str] = &[
    "get",
    "get-public",
    "get-no-origin",
    "preflight",
    "preflight-public",
    "preflight-refused",
];

fn request(name: &str) -> Request<String> {
    let (method, path, origin, acrm) = match name {
        "get" => (Method::GET, "/", Some(APP), false),
        "get-public" => (
            Method::GET,
            "/public",
            Some("https://elsewhere.example"),
            false,
        ),
        "get-no-origin" => (Method::GET, "/", None, false),
        "preflight" => (Method::OPTIONS, "/", Some(APP), true),
        "preflight-public" => (Method::OPTIONS, "/public", Some(APP), true),
        "preflight-refused" => (Method::OPTIONS, "/", Some("https://evil.example"), true),
        other => panic!("no request {other}"),
    };
    // The host selector reads `Host`: the public member's host for the public paths.
    let host = if path == "/public" {
        "static.example.com"
    } else {
        "api.example.com"
    };
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", host);
    if let Some(origin) = origin {
        builder = builder.header("origin", origin);
    }
    if acrm {
        builder = builder
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", "content-type");
    }
    builder.body(String::new()).expect("request")
}

/// The `Vary` lines of the layer's response, the inner service answering with `inner`, and
/// whether the inner service answered.
async fn vary(
    layer: &str,
    request_name: &str,
    inner: &'static [&'static str],
) -> (Vec<String>, bool) {
    let svc = self::layer(layer).layer(service_fn(move |_req: Request<String>| async move {
        let mut res = Response::new(String::new());
        res.headers_mut()
            .insert("x-inner", HeaderValue::from_static("called"));
        for line in inner {
            res.headers_mut()
                .append("vary", HeaderValue::from_static(line));
        }
        Ok::<_, Infallible>(res)
    }));
    let res = svc
        .oneshot(request(request_name))
        .await
        .expect("infallible");
    let lines = res
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    (lines, res.headers().contains_key("x-inner"))
}

/// The field names of `Vary` lines, trimmed, in order.
fn names(lines: &[impl AsRef<str>]) -> Vec<String> {
    lines
        .iter()
        .flat_map(|line| line.as_ref().split(','))
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

#[tokio::test]
async fn exact_wire() {
    // (layer, request, inner service's `Vary` lines, the response's `Vary` lines)
    let rows: &[(&str, &str, &[&str], &[&str])] = &[
        // A single policy that depends on the origin.
        ("list", "get", &[], &["Origin"]),
        (
            "list",
            "get-no-origin",
            &["Accept-Encoding"],
            &["Accept-Encoding", "Origin"],
        ),
        ("list", "get", &["origin"], &["origin"]),
        ("list", "get", &["ORIGIN"], &["ORIGIN"]),
        (
            "list",
            "get",
            &["Accept-Encoding, ORIGIN"],
            &["Accept-Encoding, ORIGIN"],
        ),
        (
            "list",
            "get",
            &["Accept-Encoding", "origin"],
            &["Accept-Encoding", "origin"],
        ),
        ("list", "get", &["*"], &["*"]),
        (
            "list",
            "get",
            &["Accept-Encoding, *"],
            &["Accept-Encoding, *"],
        ),
        ("list", "preflight", &["origin"], &[PREFLIGHT]),
        ("list", "preflight-refused", &[], &[PREFLIGHT]),
        // Pass-through: the preflight's tokens merge with the inner response's.
        ("list-pass", "preflight", &[], &[PREFLIGHT]),
        (
            "list-pass",
            "preflight",
            &["Accept-Encoding"],
            &["Accept-Encoding", PREFLIGHT],
        ),
        (
            "list-pass",
            "preflight",
            &["origin"],
            &["origin", ANY_PREFLIGHT],
        ),
        (
            "list-pass",
            "preflight",
            &["access-control-request-method, ORIGIN"],
            &["access-control-request-method, ORIGIN", ACRH],
        ),
        ("list-pass", "preflight", &["*"], &["*"]),
        ("list-pass", "preflight-refused", &["*"], &[PREFLIGHT]),
        // Any origin: no `Origin` of the layer's own, the inner's kept once.
        ("any", "get", &[], &[]),
        ("any", "get", &["origin"], &["origin"]),
        ("any", "preflight", &[], &[ANY_PREFLIGHT]),
        (
            "any-pass",
            "preflight",
            &["Origin"],
            &["Origin", ANY_PREFLIGHT],
        ),
        ("any-pass", "preflight", &["*"], &["*"]),
        // By origin: `Origin` on every response, whichever member answers.
        ("by-origin", "get-public", &[], &["Origin"]),
        ("by-origin", "get-public", &["origin"], &["origin"]),
        ("by-origin", "get", &["*"], &["*"]),
        ("by-origin", "preflight-refused", &[], &[PREFLIGHT]),
        // By host and path: nothing of the selection's own.
        ("by-host", "get", &["ORIGIN"], &["ORIGIN"]),
        ("by-host", "get-public", &[], &[]),
        ("by-host", "preflight-public", &[], &[ANY_PREFLIGHT]),
        ("by-path", "get", &["origin"], &["origin"]),
        ("by-path", "get-public", &["origin"], &["origin"]),
        ("by-path", "preflight", &[], &[PREFLIGHT]),
        // A function declaring the origin, in any case: one name, the first spelling seen.
        ("with-origin", "get", &[], &["Origin"]),
        ("with-Origin", "get-no-origin", &[], &["Origin"]),
        (
            "with-ORIGIN",
            "get",
            &["Accept-Encoding"],
            &["Accept-Encoding", "Origin"],
        ),
        ("with-origin", "get", &["ORIGIN"], &["ORIGIN"]),
        ("with-origin", "get", &["*"], &["*"]),
        ("with-origin", "preflight", &[], &[PREFLIGHT]),
        ("with-ORIGIN", "preflight-refused", &[], &[PREFLIGHT]),
        // The any-origin member adds no `Origin` of its own: the declared spelling comes first.
        ("with-origin", "get-public", &[], &["origin"]),
        ("with-ORIGIN", "get-public", &["Origin"], &["Origin"]),
        (
            "with-Origin",
            "preflight-public",
            &[],
            &["Access-Control-Request-Method, Access-Control-Request-Headers, origin"],
        ),
        (
            "with-origin-pass",
            "preflight",
            &["Accept-Encoding, origin"],
            &["Accept-Encoding, origin", ANY_PREFLIGHT],
        ),
        ("with-origin-pass", "preflight", &["*"], &["*"]),
        // A declared preflight header: named once on preflights, in the declared spelling on
        // actual responses (which have no built-in token for it).
        (
            "with-acrm",
            "get",
            &[],
            &["Origin, access-control-request-method"],
        ),
        ("with-acrm", "get-public", &[ACRM], &[ACRM]),
        ("with-acrm", "preflight", &[], &[PREFLIGHT]),
        ("with-acrm", "preflight-public", &[], &[ANY_PREFLIGHT]),
        (
            "with-acrh",
            "get",
            &["Accept-Encoding"],
            &["Accept-Encoding", "Origin, access-control-request-headers"],
        ),
        ("with-acrh", "preflight", &[], &[PREFLIGHT]),
        // Several declared names, two of them the origin.
        ("with-tenant-origin", "get", &[], &["Origin, x-tenant"]),
        (
            "with-tenant-origin",
            "get",
            &["X-TENANT"],
            &["X-TENANT", "Origin"],
        ),
        (
            "with-tenant-origin",
            "get-public",
            &[],
            &["x-tenant, origin"],
        ),
        (
            "with-tenant-origin",
            "preflight",
            &[],
            &["Origin, Access-Control-Request-Method, Access-Control-Request-Headers, x-tenant"],
        ),
    ];
    let mut failures = Vec::new();
    for &(layer, request, inner, want) in rows {
        let (got, _) = vary(layer, request, inner).await;
        if got != want {
            failures.push(format!(
                "{layer} / {request} / inner {inner:?}: got {got:?}, want {want:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn every_name_once_in_every_combination() {
    let inners: &[&[&str]] = &[
        &[],
        &["Accept-Encoding"],
        &["origin"],
        &["ORIGIN, accept-encoding"],
        &["Accept-Encoding", "Origin"],
        &["access-control-request-method"],
        &["ACCESS-CONTROL-REQUEST-HEADERS, X-Tenant"],
        &["*"],
        &["Accept-Encoding", "*"],
    ];
    let mut failures = Vec::new();
    for layer in LAYERS {
        for request in REQUESTS {
            for &inner in inners {
                let (got, inner_called) = vary(layer, request, inner).await;
                let names = names(&got);
                let case = format!("{layer} / {request} / inner {inner:?}: {got:?}");
                for (i, name) in names.iter().enumerate() {
                    if names[..i].iter().any(|n| n.eq_ignore_ascii_case(name)) {
                        failures.push(format!("{case}: {name:?} named twice"));
                    }
                }
                if inner_called {
                    for name in self::names(inner) {
                        if !names.contains(&name) {
                            failures.push(format!("{case}: the inner {name:?} was not kept"));
                        }
                    }
                    if names.iter().any(|n| n == "*") && got != inner {
                        failures.push(format!("{case}: something was added to `*`"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
