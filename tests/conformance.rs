//! Conformance: every rule of the behaviour contract, checked on the wire through the public
//! API (`tower::ServiceExt::oneshot`). Each row names the rule it checks.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use tower::{service_fn, Layer, ServiceExt};
use tower_cors::{CorsBuilder, CorsLayer};

/// Absent header.
const NONE: Option<&str> = None;
/// Pseudo-header in `expect`: the response has no `Access-Control-*` header at all.
const NO_AC: &str = "access-control-*";

fn list() -> CorsBuilder {
    CorsLayer::builder()
        .allow_origins([
            "https://app.example.com",
            "https://*.example.com",
            "http://localhost:*",
        ])
        .allow_methods([Method::PUT, Method::DELETE])
        .allow_headers(["content-type", "x-api-key"])
        .expose_headers(["x-request-id"])
        .max_age(Duration::from_secs(600))
}

fn policy(name: &str) -> CorsLayer {
    let builder = match name {
        "list" => list(),
        "creds" => list().allow_credentials(true),
        "any" => CorsLayer::builder()
            .allow_any_origin()
            .allow_methods(["PUT"])
            .allow_headers(["content-type"])
            .expose_headers(["x-request-id"]),
        "any-all" => CorsLayer::builder()
            .allow_any_origin()
            .allow_any_method()
            .allow_any_header()
            .expose_any_header(),
        "star-lists" => CorsLayer::builder()
            .allow_origins(["*"])
            .allow_methods(["*"])
            .allow_headers(["*"])
            .expose_headers(["*"]),
        "creds-any" => CorsLayer::builder()
            .allow_origins(["https://app.example.com"])
            .allow_credentials(true)
            .allow_any_method()
            .allow_any_header(),
        "exact2" => CorsLayer::builder().allow_origins(["https://foo.com", "https://bar.com"]),
        "schemes" => CorsLayer::builder().allow_origins([
            "chrome-extension://abcdefghijklmnop",
            "tauri://localhost",
            "http://[::1]:9090",
            "http://127.0.0.1:8080",
        ]),
        "pattern-port" => CorsLayer::builder().allow_origins(["https://*.example.com:*"]),
        "predicate" => CorsLayer::builder()
            .allow_origins(["https://app.example.com"])
            .allow_origin_fn(|origin, _| {
                origin == "null" || origin.as_bytes().ends_with(b".trusted.test")
            }),
        "predicate-parts" => {
            CorsLayer::builder().allow_origin_fn(|_, parts| parts.uri.path().starts_with("/public"))
        }
        "async" => CorsLayer::builder()
            .allow_origins(["https://app.example.com"])
            .allow_origin_async(|origin, _| async move {
                tokio::task::yield_now().await;
                origin == "https://async.example.com"
            }),
        "patch-lower" => CorsLayer::builder()
            .allow_origins(["https://app.example.com"])
            .allow_methods(["patch"]),
        "patch-upper" => CorsLayer::builder()
            .allow_origins(["https://app.example.com"])
            .allow_methods(["PATCH"]),
        "get-lower" => CorsLayer::builder()
            .allow_origins(["https://app.example.com"])
            .allow_methods(["get", "Delete"]),
        "origins-only" => CorsLayer::builder().allow_origins(["https://app.example.com"]),
        "pna" => list().allow_private_network(true),
        "status200" => CorsLayer::builder()
            .allow_any_origin()
            .preflight_status(StatusCode::OK),
        "pass" => list().preflight_pass_through(true),
        other => panic!("no policy {other}"),
    };
    builder.build().expect("valid test policy")
}

struct Case {
    rule: &'static str,
    policy: &'static str,
    method: &'static str,
    uri: &'static str,
    headers: &'static [(&'static str, &'static str)],
    /// Headers the inner service puts on its response.
    inner: &'static [(&'static str, &'static str)],
    status: u16,
    called: bool,
    /// Expected header values (all lines joined with ", "), or absent.
    expect: &'static [(&'static str, Option<&'static str>)],
}

const fn case(rule: &'static str, policy: &'static str) -> Case {
    Case {
        rule,
        policy,
        method: "GET",
        uri: "/",
        headers: &[],
        inner: &[],
        status: 200,
        called: true,
        expect: &[],
    }
}

const APP: (&str, &str) = ("origin", "https://app.example.com");
const EVIL: (&str, &str) = ("origin", "https://evil.test");
const ACRM_PUT: (&str, &str) = ("access-control-request-method", "PUT");
const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
const ANY_PREFLIGHT_VARY: &str = "Access-Control-Request-Method, Access-Control-Request-Headers";
const LIST_METHODS: &str = "PUT, DELETE, GET, HEAD, POST";

fn preflight(rule: &'static str, policy: &'static str) -> Case {
    Case {
        method: "OPTIONS",
        status: 204,
        called: false,
        ..case(rule, policy)
    }
}

fn rejected(rule: &'static str, policy: &'static str) -> Case {
    Case {
        status: 403,
        expect: &[(NO_AC, NONE), ("vary", Some(PREFLIGHT_VARY))],
        ..preflight(rule, policy)
    }
}

fn cases() -> Vec<Case> {
    vec![
        // §1 Classifying a request
        Case {
            expect: &[(NO_AC, NONE), ("vary", Some("Origin"))],
            ..case("§1 no Origin: not CORS, inner called", "list")
        },
        Case {
            headers: &[APP, ACRM_PUT],
            expect: &[("access-control-allow-origin", Some("https://app.example.com"))],
            ..preflight("§1 OPTIONS + Origin + ACRM: preflight, inner not called", "list")
        },
        Case {
            method: "OPTIONS",
            headers: &[APP],
            expect: &[
                ("access-control-allow-origin", Some("https://app.example.com")),
                ("access-control-allow-methods", NONE),
            ],
            ..case("§1 OPTIONS + Origin without ACRM: actual request", "list")
        },
        Case {
            method: "OPTIONS",
            headers: &[ACRM_PUT],
            expect: &[(NO_AC, NONE), ("vary", Some("Origin"))],
            ..case("§1 OPTIONS + ACRM without Origin: not CORS", "list")
        },
        Case {
            headers: &[APP, EVIL],
            expect: &[("access-control-allow-origin", Some("https://app.example.com"))],
            ..case("§1 only the first Origin line counts (allowed first)", "list")
        },
        Case {
            headers: &[EVIL, APP],
            expect: &[(NO_AC, NONE)],
            ..case("§1 only the first Origin line counts (denied first)", "list")
        },
        Case {
            headers: &[APP],
            inner: &[
                ("access-control-allow-origin", "https://other.test"),
                ("access-control-allow-origin", "*"),
            ],
            expect: &[("access-control-allow-origin", Some("https://app.example.com"))],
            ..case("§1 never two ACAO lines: the inner service's are replaced", "list")
        },
        // §2 The origin check
        Case {
            headers: &[APP],
            expect: &[
                ("access-control-allow-origin", Some("https://app.example.com")),
                ("access-control-allow-credentials", NONE),
            ],
            ..case("§2 listed origin: ACAO echoes it", "list")
        },
        Case {
            headers: &[("origin", "https://a.example.com")],
            expect: &[("access-control-allow-origin", Some("https://a.example.com"))],
            ..case("§2 *.example.com matches one label", "list")
        },
        Case {
            headers: &[("origin", "https://a.b.example.com")],
            expect: &[("access-control-allow-origin", Some("https://a.b.example.com"))],
            ..case("§2 *.example.com matches several labels", "list")
        },
        Case {
            headers: &[("origin", "https://example.com")],
            expect: &[(NO_AC, NONE), ("vary", Some("Origin"))],
            ..case("§2 *.example.com does not match example.com", "list")
        },
        Case {
            headers: &[("origin", "https://evilexample.com")],
            expect: &[(NO_AC, NONE)],
            ..case("§2 *.example.com does not match evilexample.com", "list")
        },
        Case {
            headers: &[("origin", "https://example.com.evil")],
            expect: &[(NO_AC, NONE)],
            ..case("§2 *.example.com does not match example.com.evil", "list")
        },
        Case {
            headers: &[("origin", "http://localhost")],
            expect: &[("access-control-allow-origin", Some("http://localhost"))],
            ..case("§2 localhost:* matches no port", "list")
        },
        Case {
            headers: &[("origin", "http://localhost:5173")],
            expect: &[("access-control-allow-origin", Some("http://localhost:5173"))],
            ..case("§2 localhost:* matches any port", "list")
        },
        Case {
            headers: &[("origin", "https://a.example.com:8443")],
            expect: &[("access-control-allow-origin", Some("https://a.example.com:8443"))],
            ..case("§2 *.example.com:* matches subdomain and port", "pattern-port")
        },
        Case {
            headers: &[("origin", "https://a.example.com:8443")],
            expect: &[(NO_AC, NONE)],
            ..case("§2 *.example.com without :* does not match a port", "list")
        },
        Case {
            headers: &[("origin", "https://anything.test")],
            expect: &[
                ("access-control-allow-origin", Some("*")),
                ("vary", NONE),
                ("access-control-expose-headers", Some("x-request-id")),
            ],
            ..case("§2 any origin: ACAO *", "any")
        },
        Case {
            headers: &[("origin", "https://anything.test")],
            expect: &[("access-control-allow-origin", Some("*"))],
            ..case("§2 `*` in the origin list means any origin", "star-lists")
        },
        Case {
            headers: &[("origin", "chrome-extension://abcdefghijklmnop")],
            expect: &[("access-control-allow-origin", Some("chrome-extension://abcdefghijklmnop"))],
            ..case("§2 non-http schemes are accepted (extension)", "schemes")
        },
        Case {
            headers: &[("origin", "tauri://localhost")],
            expect: &[("access-control-allow-origin", Some("tauri://localhost"))],
            ..case("§2 non-http schemes are accepted (tauri)", "schemes")
        },
        Case {
            headers: &[("origin", "http://[::1]:9090")],
            expect: &[("access-control-allow-origin", Some("http://[::1]:9090"))],
            ..case("§2 bracketed IPv6 hosts", "schemes")
        },
        Case {
            headers: &[("origin", "http://127.0.0.1:8080")],
            expect: &[("access-control-allow-origin", Some("http://127.0.0.1:8080"))],
            ..case("§2 IPv4 hosts", "schemes")
        },
        Case {
            headers: &[APP],
            expect: &[
                ("access-control-allow-origin", Some("https://app.example.com")),
                ("access-control-allow-credentials", Some("true")),
            ],
            ..case("§2 credentials: ACAC true", "creds")
        },
        Case {
            headers: &[("origin", "HTTPS://APP.EXAMPLE.COM")],
            expect: &[(NO_AC, NONE)],
            ..case("§2 matching is exact: upper case is another origin", "list")
        },
        Case {
            headers: &[("origin", "https://app.example.com/")],
            expect: &[(NO_AC, NONE)],
            ..case("§2 matching is exact: trailing slash", "list")
        },
        Case {
            headers: &[("origin", "https://app.example.com:443")],
            expect: &[(NO_AC, NONE)],
            ..case("§2 matching is exact: explicit default port", "list")
        },
        Case {
            headers: &[("origin", "https://barfoo.com")],
            expect: &[(NO_AC, NONE)],
            ..case("§2 foo.com + bar.com never allow barfoo.com", "exact2")
        },
        Case {
            headers: &[("origin", "https://foobar.com")],
            expect: &[(NO_AC, NONE)],
            ..case("§2 foo.com + bar.com never allow foobar.com", "exact2")
        },
        Case {
            headers: &[("origin", "null")],
            expect: &[(NO_AC, NONE), ("vary", Some("Origin"))],
            ..case("§2 null is refused by a list", "list")
        },
        Case {
            headers: &[("origin", "null")],
            expect: &[("access-control-allow-origin", Some("*"))],
            ..case("§2 null is allowed by any-origin", "any")
        },
        Case {
            headers: &[("origin", "null")],
            expect: &[("access-control-allow-origin", Some("null"))],
            ..case("§2 null is allowed by a predicate that says yes", "predicate")
        },
        Case {
            headers: &[("origin", "https://svc.trusted.test")],
            expect: &[("access-control-allow-origin", Some("https://svc.trusted.test"))],
            ..case("§2 sync predicate allows", "predicate")
        },
        Case {
            headers: &[("origin", "https://svc.untrusted.test")],
            expect: &[(NO_AC, NONE)],
            ..case("§2 sync predicate refuses", "predicate")
        },
        Case {
            uri: "/public/x",
            headers: &[("origin", "https://whoever.test")],
            expect: &[("access-control-allow-origin", Some("https://whoever.test"))],
            ..case("§2 predicate sees the request head", "predicate-parts")
        },
        Case {
            uri: "/private",
            headers: &[("origin", "https://whoever.test")],
            expect: &[(NO_AC, NONE)],
            ..case("§2 predicate sees the request head (refused)", "predicate-parts")
        },
        Case {
            headers: &[("origin", "https://async.example.com")],
            expect: &[("access-control-allow-origin", Some("https://async.example.com"))],
            ..case("§2 async predicate allows", "async")
        },
        Case {
            headers: &[("origin", "https://other.example.com")],
            expect: &[(NO_AC, NONE), ("vary", Some("Origin"))],
            ..case("§2 async predicate refuses (inner still called)", "async")
        },
        Case {
            headers: &[APP],
            expect: &[("access-control-allow-origin", Some("https://app.example.com"))],
            ..case("§2 listed origin wins before the async predicate", "async")
        },
        Case {
            headers: &[("origin", "https://async.example.com"), ACRM_PUT],
            expect: &[("access-control-allow-origin", NONE)],
            ..rejected("§2 async predicate allows, method check still applies", "async")
        },
        Case {
            headers: &[("origin", "https://async.example.com"), ("access-control-request-method", "GET")],
            expect: &[("access-control-allow-origin", Some("https://async.example.com"))],
            ..preflight("§2 async predicate allows a preflight", "async")
        },
        Case {
            headers: &[("origin", "https://other.example.com"), ("access-control-request-method", "GET")],
            ..rejected("§2 async predicate refuses a preflight", "async")
        },
        // §3 Preflights
        Case {
            headers: &[EVIL, ACRM_PUT],
            ..rejected("§3.1 origin not allowed: 403", "list")
        },
        Case {
            headers: &[APP, ACRM_PUT, ("access-control-request-private-network", "true")],
            ..rejected("§3.2 private network not allowed: 403", "list")
        },
        Case {
            headers: &[APP, ACRM_PUT, ("access-control-request-private-network", "true")],
            expect: &[
                ("access-control-allow-private-network", Some("true")),
                ("vary", Some("Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network")),
            ],
            ..preflight("§3.2 private network allowed: ACAPN true", "pna")
        },
        Case {
            headers: &[APP, ACRM_PUT],
            expect: &[
                ("access-control-allow-private-network", NONE),
                ("vary", Some("Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network")),
            ],
            ..preflight("§3.2 ACAPN only when asked", "pna")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "GET")],
            expect: &[("access-control-allow-methods", Some("GET, HEAD, POST"))],
            ..preflight("§3.3 GET is safelisted with no methods configured", "origins-only")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "HEAD")],
            ..preflight("§3.3 HEAD is safelisted", "origins-only")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "POST")],
            ..preflight("§3.3 POST is safelisted", "origins-only")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "post")],
            ..rejected("§3.3 safelisting is byte-exact: `post` is not POST", "origins-only")
        },
        Case {
            headers: &[APP, ACRM_PUT],
            ..rejected("§3.3 PUT not allowed without configuration", "origins-only")
        },
        Case {
            headers: &[APP, ACRM_PUT],
            expect: &[("access-control-allow-methods", Some(LIST_METHODS))],
            ..preflight("§3.3 allowed method listed in ACAM", "list")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "DELETE")],
            expect: &[("access-control-allow-methods", Some(LIST_METHODS))],
            ..preflight("§3.3 second allowed method", "list")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "PATCH")],
            ..rejected("§3.3 method not allowed: 403", "list")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "put")],
            ..rejected("§3.3 methods are case-sensitive: `put` is not PUT", "list")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "patch")],
            expect: &[("access-control-allow-methods", Some("patch, GET, HEAD, POST"))],
            ..preflight("§3.3 configured `patch` keeps its case and matches `patch`", "patch-lower")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "PATCH")],
            ..rejected("§3.3 configured `patch` does not match PATCH", "patch-lower")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "PATCH")],
            expect: &[("access-control-allow-methods", Some("PATCH, GET, HEAD, POST"))],
            ..preflight("§3.3 configured PATCH matches PATCH", "patch-upper")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "DELETE")],
            expect: &[("access-control-allow-methods", Some("GET, DELETE, HEAD, POST"))],
            ..preflight("§3.3 configured `get`/`Delete` are normalised to upper case", "get-lower")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "Delete")],
            ..rejected("§3.3 normalised DELETE does not match `Delete`", "get-lower")
        },
        Case {
            headers: &[("origin", "https://x.test"), ("access-control-request-method", "PROPFIND")],
            expect: &[("access-control-allow-methods", Some("*"))],
            ..preflight("§3.3 any method without credentials: ACAM *", "any-all")
        },
        Case {
            headers: &[("origin", "https://x.test"), ("access-control-request-method", "PROPFIND")],
            expect: &[("access-control-allow-methods", Some("*"))],
            ..preflight("§3.3 `*` in the method list means any method", "star-lists")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "PROPFIND")],
            expect: &[
                ("access-control-allow-methods", Some("PROPFIND")),
                ("access-control-allow-credentials", Some("true")),
            ],
            ..preflight("§3.3 any method with credentials: the method is echoed", "creds-any")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "BAD METHOD")],
            ..rejected("§3.3 a requested method that is not a token is refused", "creds-any")
        },
        Case {
            headers: &[APP, ACRM_PUT, ("access-control-request-headers", "content-type")],
            expect: &[("access-control-allow-headers", Some("content-type, x-api-key"))],
            ..preflight("§3.4 allowed header", "list")
        },
        Case {
            headers: &[
                APP,
                ACRM_PUT,
                ("access-control-request-headers", "X-Api-Key , ,Content-Type,"),
                ("access-control-request-headers", "\tcontent-type\t, x-API-key"),
            ],
            expect: &[("access-control-allow-headers", Some("content-type, x-api-key"))],
            ..preflight("§3.4 several lines, spaces, tabs, empties, case, duplicates, any order", "list")
        },
        Case {
            headers: &[APP, ACRM_PUT, ("access-control-request-headers", "content-type, x-other")],
            ..rejected("§3.4 one header not allowed: 403", "list")
        },
        Case {
            headers: &[APP, ACRM_PUT, ("access-control-request-headers", "")],
            ..preflight("§3.4 empty header list is fine", "list")
        },
        Case {
            headers: &[APP, ACRM_PUT],
            expect: &[("access-control-allow-headers", NONE)],
            ..preflight("§3.4 no ACAH without ACRH", "list")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "GET"), ("access-control-request-headers", " , ")],
            expect: &[("access-control-allow-headers", Some(""))],
            ..preflight("§3.5 ACAH sent when ACRH was, even empty, with no headers configured", "origins-only")
        },
        Case {
            headers: &[("origin", "https://x.test"), ACRM_PUT, ("access-control-request-headers", "x-anything, x-else")],
            expect: &[("access-control-allow-headers", Some("*"))],
            ..preflight("§3.4 any header without credentials: ACAH *", "any-all")
        },
        Case {
            headers: &[("origin", "https://x.test"), ACRM_PUT, ("access-control-request-headers", "x-anything,Authorization")],
            expect: &[("access-control-allow-headers", Some("*, authorization"))],
            ..preflight("§3.4 `*` never covers authorization: it is named", "any-all")
        },
        Case {
            headers: &[("origin", "https://x.test"), ACRM_PUT, ("access-control-request-headers", "x-anything")],
            expect: &[("access-control-allow-headers", Some("*"))],
            ..preflight("§3.4 `*` in the header list means any header", "star-lists")
        },
        Case {
            headers: &[
                APP,
                ACRM_PUT,
                ("access-control-request-headers", "x-one, Authorization"),
                ("access-control-request-headers", "x-two"),
            ],
            expect: &[("access-control-allow-headers", Some("x-one, Authorization, x-two"))],
            ..preflight("§3.4 any header with credentials: the list is echoed", "creds-any")
        },
        Case {
            headers: &[APP, ACRM_PUT, ("access-control-request-headers", "x-api-key;")],
            ..rejected("§3.4 a malformed element is refused", "list")
        },
        Case {
            headers: &[APP, ACRM_PUT],
            expect: &[
                ("access-control-allow-origin", Some("https://app.example.com")),
                ("access-control-allow-methods", Some(LIST_METHODS)),
                ("access-control-max-age", Some("600")),
                ("access-control-allow-credentials", NONE),
                ("access-control-expose-headers", NONE),
                ("access-control-allow-private-network", NONE),
                ("vary", Some(PREFLIGHT_VARY)),
                ("content-length", NONE),
            ],
            ..preflight("§3.5 success: 204, empty body, ACAO, ACAM, ACMA, Vary", "list")
        },
        Case {
            headers: &[APP, ACRM_PUT],
            expect: &[("access-control-allow-credentials", Some("true"))],
            ..preflight("§3.5 success with credentials: ACAC true", "creds")
        },
        Case {
            headers: &[("origin", "https://x.test"), ("access-control-request-method", "GET")],
            status: 200,
            expect: &[("access-control-allow-origin", Some("*")), ("access-control-max-age", NONE)],
            ..preflight("§3.5 configurable 2xx status", "status200")
        },
        Case {
            headers: &[("origin", "https://x.test"), ("access-control-request-method", "GET")],
            expect: &[("access-control-allow-origin", Some("*")), ("vary", Some(ANY_PREFLIGHT_VARY))],
            ..preflight("§3.5 any-origin preflight: ACAO *", "any")
        },
        Case {
            headers: &[APP, ACRM_PUT],
            inner: &[("x-inner", "yes")],
            status: 200,
            called: true,
            expect: &[
                ("access-control-allow-origin", Some("https://app.example.com")),
                ("access-control-allow-methods", Some(LIST_METHODS)),
                ("x-inner", Some("yes")),
                ("vary", Some(PREFLIGHT_VARY)),
            ],
            ..preflight("§3 pass-through: inner answers, preflight headers added", "pass")
        },
        Case {
            headers: &[APP, ACRM_PUT],
            inner: &[("access-control-allow-origin", "*"), ("access-control-allow-methods", "GET")],
            status: 200,
            called: true,
            expect: &[
                ("access-control-allow-origin", Some("https://app.example.com")),
                ("access-control-allow-methods", Some(LIST_METHODS)),
            ],
            ..preflight("§3 pass-through: the layer's Access-Control-* headers are the only ones", "pass")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "PATCH")],
            ..rejected("§3 pass-through: failing preflight is answered 403, inner not called", "pass")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "GET")],
            expect: &[("access-control-allow-origin", Some("https://app.example.com"))],
            ..preflight("§3 safelisted method, no ACRH: succeeds with no methods configured", "origins-only")
        },
        // §4 Actual requests
        Case {
            method: "DELETE",
            headers: &[APP],
            inner: &[("x-inner", "kept")],
            expect: &[
                ("access-control-allow-origin", Some("https://app.example.com")),
                ("access-control-expose-headers", Some("x-request-id")),
                ("x-inner", Some("kept")),
                ("access-control-allow-methods", NONE),
                ("access-control-max-age", NONE),
            ],
            ..case("§4 allowed: ACAO, ACEH, inner headers kept", "list")
        },
        Case {
            method: "DELETE",
            headers: &[EVIL],
            inner: &[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-credentials", "true"),
                ("access-control-expose-headers", "x-secret"),
                ("x-inner", "kept"),
            ],
            expect: &[(NO_AC, NONE), ("x-inner", Some("kept")), ("vary", Some("Origin"))],
            ..case("§4 denied: inner called, its Access-Control-* headers removed", "list")
        },
        Case {
            headers: &[("origin", "https://x.test")],
            expect: &[("access-control-expose-headers", Some("*"))],
            ..case("§4 exposed * without credentials", "any-all")
        },
        Case {
            headers: &[("origin", "https://x.test")],
            expect: &[("access-control-expose-headers", Some("*"))],
            ..case("§4 `*` in the exposed list means any header", "star-lists")
        },
        Case {
            headers: &[APP],
            expect: &[
                ("access-control-allow-credentials", Some("true")),
                ("access-control-expose-headers", Some("x-request-id")),
            ],
            ..case("§4 credentials on actual requests", "creds")
        },
        // §5 Vary
        Case {
            headers: &[APP],
            expect: &[("vary", Some("Origin"))],
            ..case("§5 allowed actual request: Vary Origin", "list")
        },
        Case {
            headers: &[EVIL],
            expect: &[("vary", Some("Origin"))],
            ..case("§5 denied actual request: Vary Origin", "list")
        },
        Case {
            expect: &[("vary", Some("Origin"))],
            ..case("§5 no Origin: Vary Origin", "predicate")
        },
        Case {
            expect: &[
                ("access-control-allow-origin", Some("*")),
                ("access-control-expose-headers", Some("x-request-id")),
                ("vary", NONE),
            ],
            ..case("§5 any-origin: ACAO * also without Origin, no Vary", "any")
        },
        Case {
            inner: &[("access-control-allow-origin", "https://inner.test")],
            expect: &[("access-control-allow-origin", Some("*"))],
            ..case("§5 any-origin without Origin: a single ACAO *", "any")
        },
        Case {
            headers: &[APP],
            inner: &[("vary", "Accept-Encoding")],
            expect: &[("vary", Some("Accept-Encoding, Origin"))],
            ..case("§5 inner Vary kept, Origin added", "list")
        },
        Case {
            headers: &[APP],
            inner: &[("vary", "accept-encoding, origin")],
            expect: &[("vary", Some("accept-encoding, origin"))],
            ..case("§5 Origin not added twice", "list")
        },
        Case {
            inner: &[("vary", "*")],
            expect: &[("vary", Some("*"))],
            ..case("§5 Vary * already covers Origin", "list")
        },
        Case {
            headers: &[EVIL, ACRM_PUT],
            expect: &[("vary", Some(PREFLIGHT_VARY)), (NO_AC, NONE)],
            ..rejected("§5 failed preflight carries the preflight Vary", "list")
        },
        Case {
            headers: &[APP, ("access-control-request-method", "PATCH")],
            expect: &[("vary", Some("Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"))],
            ..rejected("§5 preflight Vary names ACRPN when private network is on", "pna")
        },
        Case {
            headers: &[("origin", "https://x.test"), ("access-control-request-method", "GET"), ("access-control-request-private-network", "true")],
            expect: &[("vary", Some(ANY_PREFLIGHT_VARY)), (NO_AC, NONE)],
            status: 403,
            ..preflight("§5 any-origin failed preflight: no ACAO, no Origin in Vary", "any")
        },
    ]
}

type Body = String;

async fn run(case: &Case) -> (Response<Body>, usize) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let inner_headers = case.inner;
    let inner = service_fn(move |_req: Request<Body>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let mut response = Response::new(String::from("inner body"));
            for (name, value) in inner_headers {
                response
                    .headers_mut()
                    .append(*name, HeaderValue::from_static(value));
            }
            Ok::<_, Infallible>(response)
        }
    });
    let svc = policy(case.policy).layer(inner);
    let mut request = Request::builder()
        .method(case.method)
        .uri(case.uri)
        .body(String::new())
        .expect("valid request");
    for (name, value) in case.headers {
        request
            .headers_mut()
            .append(*name, HeaderValue::from_static(value));
    }
    let response = svc.oneshot(request).await.expect("infallible");
    (response, calls.load(Ordering::SeqCst))
}

fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().expect("visible ASCII"))
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

#[tokio::test]
async fn conformance_table() {
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        let (response, calls) = run(case).await;
        let mut problems = Vec::new();
        if response.status() != case.status {
            problems.push(format!(
                "status {} (want {})",
                response.status(),
                case.status
            ));
        }
        let want_calls = usize::from(case.called);
        if calls != want_calls {
            problems.push(format!("inner called {calls} times (want {want_calls})"));
        }
        let acao_lines = response
            .headers()
            .get_all("access-control-allow-origin")
            .iter()
            .count();
        if acao_lines > 1 {
            problems.push(format!("{acao_lines} ACAO lines"));
        }
        for (name, want) in case.expect {
            if *name == NO_AC {
                let present: Vec<&str> = response
                    .headers()
                    .keys()
                    .map(|n| n.as_str())
                    .filter(|n| n.starts_with("access-control-"))
                    .collect();
                if !present.is_empty() {
                    problems.push(format!("unexpected {present:?}"));
                }
                continue;
            }
            let got = joined(response.headers(), name);
            if got.as_deref() != *want {
                problems.push(format!("{name}: {got:?} (want {want:?})"));
            }
        }
        let body = response.into_body();
        let want_body = if case.called { "inner body" } else { "" };
        if body != want_body {
            problems.push(format!("body {body:?} (want {want_body:?})"));
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", case.rule, problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn non_utf8_and_malformed_request_values_get_a_correct_answer() {
    let cors = policy("list");
    let inner = service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let svc = cors.layer(inner);
    let bad = |name: &str, value: &[u8]| {
        let mut request = Request::options("/").body(String::new()).expect("valid");
        request.headers_mut().insert(
            "origin",
            HeaderValue::from_static("https://app.example.com"),
        );
        request.headers_mut().insert(
            "access-control-request-method",
            HeaderValue::from_static("PUT"),
        );
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("valid name"),
            HeaderValue::from_bytes(value).expect("valid value bytes"),
        );
        request
    };
    for (name, value) in [
        (
            "access-control-request-headers",
            &b"x-api-key, \xff\xfe"[..],
        ),
        ("access-control-request-method", &b"P\xc3\xbcT"[..]),
        ("origin", &b"https://\xffapp.example.com"[..]),
    ] {
        let response = svc
            .clone()
            .oneshot(bad(name, value))
            .await
            .expect("infallible");
        assert_eq!(response.status(), 403, "{name}");
        assert!(
            response
                .headers()
                .keys()
                .all(|n| !n.as_str().starts_with("access-control-")),
            "{name}"
        );
    }
}

#[test]
fn public_surface_accepts_every_item_shape() {
    let origins: Vec<String> = vec!["https://a.example.com".into()];
    let more = ["https://b.example.com"];
    let layer = CorsLayer::builder()
        .allow_origins(origins)
        .allow_origins(more.iter())
        .allow_methods([Method::PUT])
        .allow_methods(vec!["PATCH".to_string()])
        .allow_headers([http::header::CONTENT_TYPE])
        .allow_headers(&["x-api-key"])
        .expose_headers([http::HeaderName::from_static("x-request-id")])
        .build()
        .expect("valid");
    fn assert_traits<T: Clone + Send + Sync + 'static>(_: &T) {}
    assert_traits(&layer);
    fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<tower_cors::ConfigError>();
}

#[test]
fn list_setters_add_to_what_was_set_before() {
    let cors = CorsLayer::builder()
        .allow_origins(["https://a.example.com"])
        .allow_origins(["https://b.example.com"])
        .allow_methods(["PUT"])
        .allow_methods(["DELETE"])
        .build()
        .expect("valid");
    for (origin, method) in [
        ("https://a.example.com", "DELETE"),
        ("https://b.example.com", "PUT"),
    ] {
        let (parts, ()) = Request::options("/")
            .header("origin", origin)
            .header("access-control-request-method", method)
            .body(())
            .expect("valid")
            .into_parts();
        assert!(
            matches!(
                cors.evaluate(&parts),
                tower_cors::Decision::PreflightAccepted { .. }
            ),
            "{origin} {method}"
        );
    }
}
