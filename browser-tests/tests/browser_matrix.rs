//! The headless-Chromium CORS matrix: real browsers must agree with tower-cors.
//!
//! Each API below is an axum 0.8 app on its own `127.0.0.1` port (so its own origin) behind one
//! tower-cors policy. Pages on other origins (`127.0.0.1`, `app.localhost`, `deep.app.localhost`,
//! `localhost`, and an opaque `null` origin) run the scenarios with fetch() in Chromium. Every
//! expectation is written out by hand from SPEC.md and the Fetch standard — none is computed by
//! the crate. A plain `main` (harness = false) prints the report, ending with
//! `browser matrix: P/N scenarios passed`, and fails if any scenario does.

use std::process::ExitCode;
use std::time::Duration;

use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::Router;
use tower_cors::CorsLayer;
use tower_cors_browser_tests::{
    blocked, get, inner_route, readable, serve_api, Credentials::*, Fetch, Hits, Matrix, Page::*,
    Scenario, ServerCheck::*, SCENARIO_ROUTE,
};

// API names, as scenarios refer to them. Each is one server with one policy (see `start_apis`).
const LIST: &str = "list";
const OTHER: &str = "other";
const ANY: &str = "any";
const CRED: &str = "cred";
const CACHE: &str = "cache";
const NOCACHE: &str = "nocache";
const PASS: &str = "pass";
const STATUS_200: &str = "status-200";
const ROUTES: &str = "routes";
const PATTERN: &str = "pattern";
const LOCALHOST_PORTS: &str = "localhost-ports";
const EXACT_PORT: &str = "exact-port";
const PREDICATE: &str = "predicate";
const ASYNC_PREDICATE: &str = "async-predicate";

/// An origin none of the pages has.
const ELSEWHERE: &str = "https://app.example.com";

fn main() -> ExitCode {
    tower_cors_browser_tests::run_main(
        "browser matrix",
        scenarios(),
        |mut matrix, hits| async move {
            start_apis(&mut matrix, &hits).await;
            matrix
        },
    )
}

/// The policies under test, one server each, all on `127.0.0.1`.
async fn start_apis(matrix: &mut Matrix, hits: &Hits) {
    let loopback_page = matrix.origin(Loopback);
    let localhost_page = matrix.origin(Localhost);
    let build = |builder: tower_cors::CorsBuilder| builder.build().expect("a valid test policy");
    let app = |policy: CorsLayer| {
        Router::new()
            .route(SCENARIO_ROUTE, inner_route(hits))
            .layer(policy)
    };

    let list = build(
        CorsLayer::builder()
            .allow_origins([loopback_page.as_str(), "http://127.0.0.1:1"])
            // `delete` is normalised to `DELETE` by the crate, as browsers normalise it.
            .allow_methods(["PUT", "delete", "PATCH"])
            .allow_headers(["x-a", "X-B", "content-type"])
            .expose_headers(["x-request-id"]),
    );
    let other = build(
        CorsLayer::builder()
            .allow_origins([ELSEWHERE])
            .allow_methods([Method::PUT]),
    );
    let any = build(
        CorsLayer::builder()
            .allow_any_origin()
            .allow_any_method()
            .allow_any_header()
            .expose_any_header(),
    );
    let cred = build(
        CorsLayer::builder()
            .allow_origins([loopback_page.as_str()])
            .allow_credentials(true)
            .allow_any_method()
            .allow_any_header()
            .expose_headers(["x-request-id"]),
    );
    let cache = build(
        CorsLayer::builder()
            .allow_origins([loopback_page.as_str()])
            .allow_methods([Method::PUT])
            .max_age(Duration::from_secs(600)),
    );
    let nocache = build(
        CorsLayer::builder()
            .allow_origins([loopback_page.as_str()])
            .allow_methods([Method::PUT])
            .max_age(Duration::ZERO),
    );
    let pass = build(
        CorsLayer::builder()
            .allow_origins([loopback_page.as_str()])
            .allow_methods([Method::PUT])
            .allow_headers(["x-a"])
            .preflight_pass_through(true),
    );
    let status_200 = build(
        CorsLayer::builder()
            .allow_origins([loopback_page.as_str()])
            .allow_methods([Method::PUT])
            .preflight_status(StatusCode::OK),
    );
    let pattern = build(
        CorsLayer::builder()
            .allow_origins(["http://*.localhost:*"])
            .allow_methods([Method::PUT])
            .allow_credentials(true),
    );
    let localhost_ports = build(CorsLayer::builder().allow_origins(["http://localhost:*"]));
    // The page runs on a random port, never 1: same host, wrong port.
    let exact_port = build(CorsLayer::builder().allow_origins(["http://app.localhost:1"]));
    let predicate = build(
        CorsLayer::builder()
            .allow_origin_fn(|origin: &HeaderValue, _: &Parts| {
                origin.as_bytes().starts_with(b"http://app.localhost:")
            })
            .allow_methods([Method::PUT]),
    );
    let async_predicate = build(CorsLayer::builder().allow_origin_async(
        move |origin: HeaderValue, _: &Parts| {
            let allowed = origin == localhost_page.as_str();
            async move { allowed }
        },
    ));

    // Two policies in one app: a per-route layer on a method router, and `route_layer` on a
    // nested router (which, unlike `layer`, leaves unmatched paths alone).
    let open = build(CorsLayer::builder().allow_any_origin().allow_any_method());
    let locked = build(
        CorsLayer::builder()
            .allow_origins([ELSEWHERE])
            .allow_methods([Method::PUT]),
    );
    let routes = Router::new()
        .route("/open/s/{id}/{*action}", inner_route(hits).layer(open))
        .nest(
            "/locked",
            Router::new()
                .route(SCENARIO_ROUTE, inner_route(hits))
                .route_layer(locked),
        );

    let apps = [
        (LIST, app(list)),
        (OTHER, app(other)),
        (ANY, app(any)),
        (CRED, app(cred)),
        (CACHE, app(cache)),
        (NOCACHE, app(nocache)),
        (PASS, app(pass)),
        (STATUS_200, app(status_200)),
        (ROUTES, routes),
        (PATTERN, app(pattern)),
        (LOCALHOST_PORTS, app(localhost_ports)),
        (EXACT_PORT, app(exact_port)),
        (PREDICATE, app(predicate)),
        (ASYNC_PREDICATE, app(async_predicate)),
    ];
    for (name, app) in apps {
        let port = serve_api(app, hits)
            .await
            .expect("an API server on 127.0.0.1");
        matrix.api(name, port);
    }
}

fn put(api: &'static str, path: &'static str) -> Fetch {
    Fetch::new("PUT", api, path)
}

/// Every scenario with its hand-written expectation. URLs contain the scenario id, so no two
/// scenarios share a preflight-cache entry; cookie names are unique for the same reason.
fn scenarios() -> Vec<Scenario> {
    vec![
        // --- Simple requests (no preflight) -------------------------------------------------
        Scenario::new(
            "get-allowed",
            Loopback,
            "simple GET from a listed origin is readable",
        )
        .step(get(LIST, "/s/{id}/ok"), readable(200, "ok"))
        .check(OptionsSeen(0))
        .check(InnerCalls(1)),
        Scenario::new(
            "get-denied",
            Loopback,
            "simple GET from an unlisted origin: sent, but unreadable",
        )
        .step(get(OTHER, "/s/{id}/ok"), blocked())
        // CORS is not access control: the inner app still ran.
        .check(InnerCalls(1)),
        Scenario::new(
            "post-text-plain",
            Loopback,
            "POST with a text/plain body needs no preflight",
        )
        .step(
            Fetch::new("POST", LIST, "/s/{id}/echo-method").body("hello"),
            readable(200, "POST"),
        )
        .check(OptionsSeen(0)),
        // --- Preflighted methods --------------------------------------------------------------
        Scenario::new(
            "put-allowed",
            Loopback,
            "PUT is preflighted (204) and then readable",
        )
        .step(put(LIST, "/s/{id}/echo-method"), readable(200, "PUT"))
        .check(PreflightStatuses(&[204]))
        .check(InnerCalls(1)),
        Scenario::new(
            "delete-lowercase",
            Loopback,
            "fetch() upper-cases `delete`; policy listed `delete`",
        )
        .step(
            Fetch::new("delete", LIST, "/s/{id}/echo-method"),
            readable(200, "DELETE"),
        )
        .check(PreflightStatuses(&[204])),
        Scenario::new(
            "patch-allowed",
            Loopback,
            "PATCH listed as `PATCH` is allowed",
        )
        .step(
            Fetch::new("PATCH", LIST, "/s/{id}/echo-method"),
            readable(200, "PATCH"),
        )
        .check(PreflightStatuses(&[204])),
        Scenario::new(
            "patch-lowercase-denied",
            Loopback,
            "`patch` is not normalised by browsers and is not `PATCH`",
        )
        .step(Fetch::new("patch", LIST, "/s/{id}/echo-method"), blocked())
        .check(PreflightStatuses(&[403]))
        .check(InnerCalls(0)),
        Scenario::new(
            "put-origin-denied",
            Loopback,
            "preflight from an unlisted origin gets 403, inner app not called",
        )
        .step(put(OTHER, "/s/{id}/ok"), blocked())
        .check(PreflightStatuses(&[403]))
        .check(InnerCalls(0)),
        Scenario::new(
            "method-denied",
            Loopback,
            "a method the policy does not list (PROPFIND) is refused",
        )
        .step(Fetch::new("PROPFIND", LIST, "/s/{id}/ok"), blocked())
        .check(PreflightStatuses(&[403]))
        .check(InnerCalls(0)),
        Scenario::new(
            "method-none-configured",
            Localhost,
            "no methods configured: PUT is refused",
        )
        .step(put(LOCALHOST_PORTS, "/s/{id}/ok"), blocked())
        .check(PreflightStatuses(&[403])),
        Scenario::new(
            "preflight-status-200",
            Loopback,
            "preflight_status(200) is accepted by the browser",
        )
        .step(put(STATUS_200, "/s/{id}/echo-method"), readable(200, "PUT"))
        .check(PreflightStatuses(&[200])),
        Scenario::new(
            "upload-listener-preflight",
            Localhost,
            "XHR POST with an upload listener: safelisted preflight, no methods configured",
        )
        .step(
            Fetch::new("POST", LOCALHOST_PORTS, "/s/{id}/echo-method")
                .body("payload")
                .xhr_with_upload_listener(),
            readable(200, "POST"),
        )
        .check(PreflightStatuses(&[204]))
        .check(InnerCalls(1)),
        Scenario::new(
            "upload-listener-denied",
            Subdomain,
            "…and the same preflight from an origin the policy refuses",
        )
        .step(
            Fetch::new("POST", LOCALHOST_PORTS, "/s/{id}/echo-method")
                .body("payload")
                .xhr_with_upload_listener(),
            blocked(),
        )
        .check(PreflightStatuses(&[403]))
        .check(InnerCalls(0)),
        // --- Request headers -------------------------------------------------------------------
        Scenario::new("header-allowed", Loopback, "one allowed custom header")
            .step(
                get(LIST, "/s/{id}/ok").header("x-a", "1"),
                readable(200, "ok"),
            )
            .check(PreflightStatuses(&[204])),
        Scenario::new(
            "headers-mixed-case-unsorted",
            Loopback,
            "X-b, Content-Type: application/json, x-A at once",
        )
        .step(
            Fetch::new("POST", LIST, "/s/{id}/echo-method")
                .header("X-b", "2")
                .header("Content-Type", "application/json")
                .header("x-A", "1")
                .body("{}"),
            readable(200, "POST"),
        )
        .check(PreflightStatuses(&[204])),
        Scenario::new(
            "header-denied",
            Loopback,
            "an unlisted custom header fails the preflight",
        )
        .step(get(LIST, "/s/{id}/ok").header("X-C", "1"), blocked())
        .check(PreflightStatuses(&[403]))
        .check(InnerCalls(0)),
        Scenario::new(
            "headers-one-denied",
            Loopback,
            "x-b, X-Unlisted, X-A: one bad name fails them all",
        )
        .step(
            get(LIST, "/s/{id}/ok")
                .header("x-b", "1")
                .header("X-Unlisted", "2")
                .header("X-A", "3"),
            blocked(),
        )
        .check(PreflightStatuses(&[403])),
        Scenario::new(
            "authorization-not-listed",
            Loopback,
            "Authorization needs to be listed",
        )
        .step(
            get(LIST, "/s/{id}/ok").header("Authorization", "Bearer t"),
            blocked(),
        )
        .check(PreflightStatuses(&[403])),
        // --- Response headers ------------------------------------------------------------------
        Scenario::new(
            "exposed-headers",
            Loopback,
            "exposed x-request-id readable, x-secret null, content-type safelisted",
        )
        .step(
            get(LIST, "/s/{id}/ok"),
            readable(200, "ok")
                .header("x-request-id", Some("req-42"))
                .header("x-secret", None)
                .header("content-type", Some("text/plain; charset=utf-8")),
        ),
        Scenario::new(
            "inner-acao-replaced",
            Loopback,
            "the inner app's own ACAO `*` is replaced by the layer's",
        )
        .step(get(LIST, "/s/{id}/inner-acao"), readable(200, "ok")),
        Scenario::new(
            "inner-acao-removed",
            Subdomain,
            "denied origin: the inner app's ACAO `*` is removed",
        )
        .step(get(LIST, "/s/{id}/inner-acao"), blocked())
        .check(InnerCalls(1)),
        // --- Error responses from the inner app -------------------------------------------------
        Scenario::new(
            "inner-404",
            Loopback,
            "a 404 from the inner app is readable cross-origin",
        )
        .step(
            get(LIST, "/s/{id}/status/404"),
            readable(404, "status 404").header("x-request-id", Some("req-42")),
        ),
        Scenario::new(
            "inner-500",
            Loopback,
            "a 500 from the inner app is readable cross-origin",
        )
        .step(get(LIST, "/s/{id}/status/500"), readable(500, "status 500")),
        Scenario::new(
            "inner-500-preflighted",
            Loopback,
            "a 500 after a successful preflight is readable",
        )
        .step(put(LIST, "/s/{id}/status/500"), readable(500, "status 500"))
        .check(PreflightStatuses(&[204])),
        Scenario::new(
            "unmatched-route-404",
            Loopback,
            "axum's own 404 for an unknown path, under Router::layer",
        )
        .step(get(LIST, "/nowhere/{id}"), readable(404, "")),
        // --- Any origin -------------------------------------------------------------------------
        Scenario::new(
            "any-origin-get",
            Loopback,
            "any-origin policy, expose *: x-secret readable",
        )
        .step(
            get(ANY, "/s/{id}/ok"),
            readable(200, "ok").header("x-secret", Some("hidden")),
        ),
        Scenario::new(
            "any-origin-put-headers",
            Loopback,
            "any method and any header with an any-origin policy",
        )
        .step(
            put(ANY, "/s/{id}/echo-method")
                .header("X-Anything", "1")
                .header("x-other", "2"),
            readable(200, "PUT"),
        )
        .check(PreflightStatuses(&[204])),
        Scenario::new(
            "any-origin-authorization",
            Loopback,
            "`*` in ACAH never covers Authorization; it must be named",
        )
        .step(
            get(ANY, "/s/{id}/ok").header("Authorization", "Bearer t"),
            readable(200, "ok"),
        ),
        Scenario::new(
            "any-origin-credentials-blocked",
            Loopback,
            "ACAO `*` cannot serve a credentialed request",
        )
        .step(get(ANY, "/s/{id}/ok").credentials(Include), blocked()),
        // --- Credentials and cookies ------------------------------------------------------------
        Scenario::new(
            "cookie-roundtrip",
            Loopback,
            "the API sets a SameSite=Lax cookie and reads it back",
        )
        .step(
            get(CRED, "/s/{id}/cookie/set/c_roundtrip").credentials(Include),
            readable(200, "set"),
        )
        .step(
            get(CRED, "/s/{id}/cookie/read/c_roundtrip").credentials(Include),
            readable(200, "chip"),
        ),
        Scenario::new(
            "cookie-not-sent-same-origin-mode",
            Loopback,
            "credentials: 'same-origin' sends no cookie cross-origin",
        )
        .step(
            get(CRED, "/s/{id}/cookie/set/c_same_origin_mode").credentials(Include),
            readable(200, "set"),
        )
        .step(
            get(CRED, "/s/{id}/cookie/read/c_same_origin_mode"),
            readable(200, "(none)"),
        ),
        Scenario::new(
            "cookie-not-stored-omit",
            Loopback,
            "credentials: 'omit' does not store the cookie",
        )
        .step(
            get(CRED, "/s/{id}/cookie/set/c_omitted").credentials(Omit),
            readable(200, "set"),
        )
        .step(
            get(CRED, "/s/{id}/cookie/read/c_omitted").credentials(Include),
            readable(200, "(none)"),
        ),
        Scenario::new(
            "credentials-without-acac",
            Loopback,
            "credentialed request to a policy without credentials",
        )
        .step(get(LIST, "/s/{id}/ok").credentials(Include), blocked())
        .check(InnerCalls(1)),
        Scenario::new(
            "credentials-any-method-header",
            Loopback,
            "with credentials `*` is literal: method and header echoed",
        )
        .step(
            Fetch::new("PATCH", CRED, "/s/{id}/echo-method")
                .header("X-Custom", "1")
                .credentials(Include),
            readable(200, "PATCH"),
        )
        .check(PreflightStatuses(&[204])),
        Scenario::new(
            "credentials-authorization",
            Loopback,
            "Authorization with credentials and allow_any_header",
        )
        .step(
            get(CRED, "/s/{id}/ok")
                .header("Authorization", "Bearer t")
                .credentials(Include),
            readable(200, "ok"),
        ),
        Scenario::new(
            "credentials-exposed",
            Loopback,
            "credentialed: exposed header readable, others null",
        )
        .step(
            get(CRED, "/s/{id}/ok").credentials(Include),
            readable(200, "ok")
                .header("x-request-id", Some("req-42"))
                .header("x-secret", None),
        ),
        // --- Preflight cache --------------------------------------------------------------------
        Scenario::new(
            "cache-max-age",
            Loopback,
            "with max-age 600 the second PUT sends no OPTIONS",
        )
        .step(put(CACHE, "/s/{id}/echo-method"), readable(200, "PUT"))
        .step(put(CACHE, "/s/{id}/echo-method"), readable(200, "PUT"))
        .check(OptionsSeen(1))
        .check(InnerCalls(2)),
        Scenario::new(
            "cache-max-age-zero",
            Loopback,
            "with max-age 0 every PUT is preflighted",
        )
        .step(put(NOCACHE, "/s/{id}/echo-method"), readable(200, "PUT"))
        .step(put(NOCACHE, "/s/{id}/echo-method"), readable(200, "PUT"))
        .check(OptionsSeen(2)),
        Scenario::new(
            "preflight-403-console",
            Loopback,
            "a 403 preflight is a failed fetch with a console reason",
        )
        .step(
            put(CACHE, "/s/{id}/ok").header("x-not-allowed", "1"),
            blocked(),
        )
        .check(PreflightStatuses(&[403])),
        // --- Pass-through preflights ------------------------------------------------------------
        Scenario::new(
            "pass-through",
            Loopback,
            "the inner app answers the preflight (200), layer adds headers",
        )
        .step(put(PASS, "/s/{id}/echo-method"), readable(200, "PUT"))
        .check(PreflightStatuses(&[200]))
        .check(InnerCalls(2)),
        Scenario::new(
            "pass-through-inner-405",
            Loopback,
            "the inner app's 405 for OPTIONS is kept: browser refuses",
        )
        .step(put(PASS, "/s/{id}/no-options"), blocked())
        .check(PreflightStatuses(&[405]))
        .check(InnerCalls(1)),
        Scenario::new(
            "pass-through-refused",
            Loopback,
            "a failing preflight never reaches the inner app",
        )
        .step(put(PASS, "/s/{id}/ok").header("X-Unlisted", "1"), blocked())
        .check(PreflightStatuses(&[403]))
        .check(InnerCalls(0)),
        // --- Two policies in one app ------------------------------------------------------------
        Scenario::new(
            "routes-open-get",
            Loopback,
            "/open (per-route layer, any origin) is readable",
        )
        .step(get(ROUTES, "/open/s/{id}/ok"), readable(200, "ok")),
        Scenario::new("routes-open-put", Loopback, "/open allows any method")
            .step(
                put(ROUTES, "/open/s/{id}/echo-method"),
                readable(200, "PUT"),
            )
            .check(PreflightStatuses(&[204])),
        Scenario::new(
            "routes-locked-get",
            Loopback,
            "/locked (route_layer, other origin) is unreadable",
        )
        .step(get(ROUTES, "/locked/s/{id}/ok"), blocked())
        .check(InnerCalls(1)),
        Scenario::new(
            "routes-locked-put",
            Loopback,
            "/locked preflight is refused",
        )
        .step(put(ROUTES, "/locked/s/{id}/ok"), blocked())
        .check(PreflightStatuses(&[403]))
        .check(InnerCalls(0)),
        // --- Patterns -------------------------------------------------------------------------
        Scenario::new(
            "pattern-subdomain-get",
            Subdomain,
            "http://*.localhost:* matches app.localhost on any port",
        )
        .step(get(PATTERN, "/s/{id}/ok"), readable(200, "ok")),
        Scenario::new("pattern-subdomain-put", Subdomain, "…and its preflights")
            .step(put(PATTERN, "/s/{id}/echo-method"), readable(200, "PUT"))
            .check(PreflightStatuses(&[204])),
        Scenario::new(
            "pattern-subdomain-credentials",
            Subdomain,
            "…with credentials (allowed for *.localhost)",
        )
        .step(
            get(PATTERN, "/s/{id}/ok").credentials(Include),
            readable(200, "ok"),
        ),
        Scenario::new(
            "pattern-deep-subdomain",
            DeepSubdomain,
            "*.localhost matches two labels (deep.app.localhost)",
        )
        .step(get(PATTERN, "/s/{id}/ok"), readable(200, "ok")),
        Scenario::new(
            "pattern-base-denied",
            Localhost,
            "*.localhost does not match localhost itself",
        )
        .step(get(PATTERN, "/s/{id}/ok"), blocked()),
        Scenario::new(
            "pattern-ip-denied",
            Loopback,
            "*.localhost does not match 127.0.0.1",
        )
        .step(get(PATTERN, "/s/{id}/ok"), blocked()),
        Scenario::new(
            "localhost-any-port",
            Localhost,
            "http://localhost:* matches the page's port",
        )
        .step(get(LOCALHOST_PORTS, "/s/{id}/ok"), readable(200, "ok")),
        Scenario::new(
            "localhost-any-port-subdomain",
            Subdomain,
            "http://localhost:* does not match app.localhost",
        )
        .step(get(LOCALHOST_PORTS, "/s/{id}/ok"), blocked()),
        Scenario::new(
            "exact-port-denied",
            Subdomain,
            "http://app.localhost:1 does not match another port",
        )
        .step(get(EXACT_PORT, "/s/{id}/ok"), blocked()),
        Scenario::new(
            "list-denied-subdomain",
            Subdomain,
            "a list policy refuses an origin it does not list",
        )
        .step(get(LIST, "/s/{id}/ok"), blocked()),
        // --- Predicates -------------------------------------------------------------------------
        Scenario::new(
            "predicate-allowed-get",
            Subdomain,
            "allow_origin_fn says yes to http://app.localhost:*",
        )
        .step(get(PREDICATE, "/s/{id}/ok"), readable(200, "ok")),
        Scenario::new("predicate-allowed-put", Subdomain, "…and to its preflights")
            .step(put(PREDICATE, "/s/{id}/echo-method"), readable(200, "PUT"))
            .check(PreflightStatuses(&[204])),
        Scenario::new(
            "predicate-denied",
            Loopback,
            "allow_origin_fn says no to 127.0.0.1",
        )
        .step(get(PREDICATE, "/s/{id}/ok"), blocked()),
        Scenario::new(
            "predicate-deep-denied",
            DeepSubdomain,
            "allow_origin_fn says no to deep.app.localhost",
        )
        .step(get(PREDICATE, "/s/{id}/ok"), blocked()),
        Scenario::new(
            "async-predicate-allowed",
            Localhost,
            "allow_origin_async says yes to the localhost page",
        )
        .step(get(ASYNC_PREDICATE, "/s/{id}/ok"), readable(200, "ok")),
        Scenario::new(
            "async-predicate-denied",
            Loopback,
            "allow_origin_async says no to 127.0.0.1",
        )
        .step(get(ASYNC_PREDICATE, "/s/{id}/ok"), blocked()),
        // --- Opaque origin (`Origin: null`) ------------------------------------------------------
        Scenario::new(
            "null-list-denied",
            Opaque,
            "a sandboxed page (Origin: null) is refused by a list",
        )
        .step(get(LIST, "/s/{id}/ok"), blocked()),
        Scenario::new(
            "null-predicate-denied",
            Opaque,
            "…and by a predicate that says no",
        )
        .step(get(PREDICATE, "/s/{id}/ok"), blocked()),
        Scenario::new("null-pattern-denied", Opaque, "…and by a pattern")
            .step(get(PATTERN, "/s/{id}/ok"), blocked()),
        Scenario::new(
            "null-any-get",
            Opaque,
            "an any-origin policy serves Origin: null",
        )
        .step(get(ANY, "/s/{id}/ok"), readable(200, "ok")),
        Scenario::new("null-any-put", Opaque, "…including preflighted requests")
            .step(put(ANY, "/s/{id}/echo-method"), readable(200, "PUT"))
            .check(PreflightStatuses(&[204])),
    ]
}
