//! tower-cors-proxy in headless Chromium: an upstream that sends no CORS headers is unreadable
//! from a page on another origin when fetched directly, and readable through the proxy, whose
//! CORS policy is the only one the browser sees; credentials go through only where a route opts
//! in; an origin the policy does not list is refused, and neither it nor another site's no-cors
//! request reaches the upstream (the origin guard). Every expectation is written by hand.
//! A plain `main` (harness = false), like the main matrix, ending with
//! `proxy matrix: P/N scenarios passed`.

use std::process::ExitCode;

use axum::Router;
use tower_cors_browser_tests::{
    blocked, get, inner_route, readable, serve_api, Credentials::*, Fetch, Hits, Matrix, Page::*,
    Scenario, ServerCheck::*, SCENARIO_ROUTE,
};
use tower_cors_proxy::{Proxy, ProxyConfig};

/// The upstream itself, fetched directly (no CORS headers at all).
const DIRECT: &str = "direct";
/// The proxy, whose routes all lead to the same upstream.
const PROXY: &str = "proxy";

fn main() -> ExitCode {
    tower_cors_browser_tests::run_main("proxy matrix", scenarios(), |mut matrix, hits| async move {
        start(&mut matrix, &hits).await;
        matrix
    })
}

/// The upstream (the matrix's inner app, with no CORS layer) and the proxy in front of it.
async fn start(matrix: &mut Matrix, hits: &Hits) {
    let upstream = Router::new().route(SCENARIO_ROUTE, inner_route(hits));
    let upstream_port = serve_api(upstream, hits)
        .await
        .expect("the upstream on 127.0.0.1");
    matrix.api(DIRECT, upstream_port);

    let page = matrix.origin(Loopback);
    let config = ProxyConfig::from_toml(&format!(
        r#"
[cors]
allow_origins = ["{page}"]
allow_methods = ["GET", "PUT"]
allow_headers = ["x-custom"]
expose_headers = ["x-request-id"]

[[routes]]
path = "/open"
upstream = "http://127.0.0.1:{upstream_port}"

[[routes]]
path = "/cred"
upstream = "http://127.0.0.1:{upstream_port}"
forward_cookies = true
return_set_cookie = true
[routes.cors]
allow_origins = ["{page}"]
allow_credentials = true

[[routes]]
path = "/nocookie"
upstream = "http://127.0.0.1:{upstream_port}"
[routes.cors]
allow_origins = ["{page}"]
allow_credentials = true
"#
    ))
    .expect("a valid proxy configuration");
    let proxy = Proxy::new(config).expect("a valid proxy");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("the proxy on 127.0.0.1");
    let port = listener.local_addr().expect("the proxy's address").port();
    tokio::spawn(async move {
        let _ = tower_cors_proxy::serve(proxy, listener, std::future::pending()).await;
    });
    matrix.api(PROXY, port);
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "direct-blocked",
            Loopback,
            "the upstream sends no CORS headers: unreadable when fetched directly",
        )
        .step(get(DIRECT, "/s/{id}/ok"), blocked())
        .check(InnerCalls(1)),
        Scenario::new(
            "proxied-readable",
            Loopback,
            "the same upstream through the proxy is readable, exposed headers only",
        )
        .step(
            get(PROXY, "/open/s/{id}/ok"),
            readable(200, "ok")
                .header("x-request-id", Some("req-42"))
                .header("x-secret", None),
        )
        .check(InnerCalls(1)),
        Scenario::new(
            "proxied-upstream-acao",
            Loopback,
            "the upstream's own Access-Control-Allow-Origin: * (unusable with credentials) is \
             replaced by the policy's answer",
        )
        .step(
            get(PROXY, "/cred/s/{id}/inner-acao").credentials(Include),
            readable(200, "ok"),
        ),
        Scenario::new(
            "proxied-preflight",
            Loopback,
            "a preflighted PUT is answered by the proxy's policy; the upstream sees only the PUT",
        )
        .step(
            Fetch::new("PUT", PROXY, "/open/s/{id}/echo-method").header("x-custom", "1"),
            readable(200, "PUT"),
        )
        .check(OptionsSeen(0))
        .check(InnerCalls(1)),
        Scenario::new(
            "proxied-status",
            Loopback,
            "upstream error statuses are readable through the proxy",
        )
        .step(
            get(PROXY, "/open/s/{id}/status/503"),
            readable(503, "status 503"),
        ),
        Scenario::new(
            "proxied-credentials",
            Loopback,
            "a credentialed round trip where the route opts in to cookies both ways",
        )
        .step(
            get(PROXY, "/cred/s/{id}/cookie/set/pxcred").credentials(Include),
            readable(200, "set"),
        )
        .step(
            get(PROXY, "/cred/s/{id}/cookie/read/pxcred").credentials(Include),
            readable(200, "chip"),
        ),
        Scenario::new(
            "proxied-cookie-withheld",
            Loopback,
            "the browser's cookie is not forwarded where the route does not opt in",
        )
        .step(
            get(PROXY, "/cred/s/{id}/cookie/set/pxheld").credentials(Include),
            readable(200, "set"),
        )
        .step(
            get(PROXY, "/nocookie/s/{id}/cookie/read/pxheld").credentials(Include),
            readable(200, "(none)"),
        ),
        Scenario::new(
            "proxied-credentials-refused",
            Loopback,
            "a credentialed fetch on a route whose policy does not allow credentials is blocked",
        )
        .step(
            get(PROXY, "/open/s/{id}/ok").credentials(Include),
            blocked(),
        ),
        Scenario::new(
            "proxied-origin-refused",
            Localhost,
            "an origin the proxy's policy does not list is refused",
        )
        .step(get(PROXY, "/open/s/{id}/ok"), blocked())
        .check(InnerCalls(0)),
        Scenario::new(
            "proxied-no-cors-other-site",
            Localhost,
            "another site's no-cors request (an <img>: Sec-Fetch-Site cross-site, no Origin) \
             never reaches the upstream",
        )
        .step(get(PROXY, "/open/s/{id}/ok").no_cors(), readable(0, ""))
        .check(InnerCalls(0)),
        Scenario::new(
            "proxied-no-cors-same-site",
            Loopback,
            "a no-cors request from another port of the same site (Sec-Fetch-Site same-site, no \
             Origin) never reaches the upstream either",
        )
        .step(get(PROXY, "/open/s/{id}/ok").no_cors(), readable(0, ""))
        .check(InnerCalls(0)),
        Scenario::new(
            "proxied-origin-refused-preflight",
            Localhost,
            "its preflight is refused and the PUT never reaches the upstream",
        )
        .step(
            Fetch::new("PUT", PROXY, "/open/s/{id}/echo-method").header("x-custom", "1"),
            blocked(),
        )
        .check(InnerCalls(0)),
    ]
}
