//! The proxy end to end over loopback: forwarding, secrets, header hygiene, the allow list, the
//! SSRF guard (with injected resolvers: nothing but 127.0.0.1 is ever connected to), redirects,
//! every limit, and upstream failures — each answer checked for the policy's CORS headers.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower_cors_proxy::guard::{AddressPolicy, GuardedConnector, Rule};

fn base(upstream: std::net::SocketAddr, extra: &str) -> String {
    format!(
        r#"
[cors]
allow_origins = ["{APP}"]
allow_methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
allow_headers = ["content-type", "x-custom"]
expose_headers = ["x-kept"]

[limits]
rate_limit_per_minute = 0

[[routes]]
path = "/up"
upstream = "http://{upstream}"
{extra}
"#
    )
}

const ORIGIN: (&str, &str) = ("origin", APP);

fn assert_cors(got: &Got) {
    assert_eq!(
        got.header("access-control-allow-origin"),
        Some(APP),
        "{got:?}"
    );
}

#[tokio::test]
async fn forwards_methods_paths_queries_statuses_and_bodies() {
    let (up, log) = upstream().await;
    let proxy = start_proxy(&base(up, ""), &[], TableResolver::default()).await;
    for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
        let got = send(
            method,
            &proxy.url("/up/echo/a/b?x=1&y=two"),
            &[ORIGIN],
            "payload",
        )
        .await;
        assert_eq!(got.status, 200);
        let body = if method == "GET" { "" } else { "payload" };
        // GET bodies are sent too (hyper passes what it is given).
        let expected = format!("{method} /echo/a/b?x=1&y=two body=");
        assert!(got.text().starts_with(&expected), "{}", got.text());
        if method != "GET" {
            assert!(got.text().ends_with(body));
        }
        assert_cors(&got);
        let seen = log.last();
        assert_eq!(seen.headers["via"], "1.1 tower-cors-proxy");
        assert_eq!(seen.headers["host"], up.to_string().as_str());
    }
    for code in [201u16, 404, 418, 500, 503] {
        let got = get(&proxy.url(&format!("/up/status/{code}")), &[ORIGIN]).await;
        assert_eq!(got.status, code);
        assert_eq!(got.text(), format!("status {code}"));
        assert_cors(&got);
    }
}

#[tokio::test]
async fn the_policy_answers_preflights_and_refuses_other_origins() {
    let (up, log) = upstream().await;
    let proxy = start_proxy(&base(up, ""), &[], TableResolver::default()).await;
    let got = send(
        "OPTIONS",
        &proxy.url("/up/echo"),
        &[
            ORIGIN,
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "x-custom"),
        ],
        "",
    )
    .await;
    assert!(got.status == 204 || got.status == 200, "{got:?}");
    assert_cors(&got);
    assert!(
        log.all().is_empty(),
        "a preflight is answered by the policy, not forwarded"
    );

    let got = get(
        &proxy.url("/up/echo"),
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(got.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn upstream_cors_and_cookies_are_replaced_by_the_policy() {
    let (up, _log) = upstream().await;
    let extra = format!(
        "\n[[routes]]\npath = \"/cookies\"\nupstream = \"http://{up}\"\nreturn_set_cookie = true\n"
    );
    let proxy = start_proxy(&base(up, &extra), &[], TableResolver::default()).await;
    let got = get(&proxy.url("/up/acao"), &[ORIGIN]).await;
    assert_eq!(got.text(), "own cors");
    assert_cors(&got);
    assert_eq!(got.header("access-control-allow-credentials"), None);
    assert_eq!(got.header("set-cookie"), None);
    assert_eq!(got.header("x-hop"), None, "named in Connection: removed");
    assert_eq!(got.header("x-kept"), Some("1"));
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(got.header("content-security-policy"), Some("sandbox"));

    let got = get(&proxy.url("/cookies/acao"), &[ORIGIN]).await;
    assert_eq!(got.header("set-cookie"), Some("upstream=1; Path=/"));

    let got = get(&proxy.url("/up/html"), &[ORIGIN]).await;
    assert_eq!(got.header("content-security-policy"), Some("sandbox"));
}

#[tokio::test]
async fn secrets_reach_the_upstream_and_never_the_browser() {
    let (up, log) = upstream().await;
    let extra = r#"set_headers = { authorization = "Bearer ${TOKEN}", user-agent = "my-app" }
set_query = { api_key = "${KEY}" }"#;
    let env = [("TOKEN", "t0ken-s3cr3t"), ("KEY", "k3y-s3cr3t")];
    let proxy = start_proxy(&base(up, extra), &env, TableResolver::default()).await;
    let got = get(
        &proxy.url("/up/echo/x?api_key=from-browser&q=1"),
        &[ORIGIN, ("authorization", "Bearer from-browser")],
    )
    .await;
    assert_eq!(got.status, 200);
    let seen = log.last();
    assert_eq!(seen.headers["authorization"], "Bearer t0ken-s3cr3t");
    assert_eq!(seen.headers["user-agent"], "my-app");
    assert_eq!(seen.uri, "/echo/x?q=1&api_key=k3y-s3cr3t");
    // The echo body repeats the URI the upstream saw; nothing else may carry a secret, so the
    // check is on the headers (see the redirect case below for a header that would).
    for (name, value) in &got.headers {
        let value = value.to_str().unwrap_or("");
        assert!(!value.contains("s3cr3t"), "{name}: {value}");
    }

    // A redirect whose Location carries the key: rewritten without it.
    let got = get(
        &proxy.url("/up/redirect-to?url=%2Fecho%2Fy%3Fapi_key%3Dk3y-s3cr3t%26a%3Db"),
        &[ORIGIN],
    )
    .await;
    assert_eq!(got.status, 302);
    assert_eq!(got.header("location"), Some("/up/echo/y?a=b"));
    // The help page names the headers, never the values.
    let help = get(&proxy.url("/_cors/"), &[]).await.text();
    assert!(
        help.contains("/up") && help.contains("authorization"),
        "{help}"
    );
    assert!(!help.contains("s3cr3t"), "{help}");
}

#[tokio::test]
async fn configuration_problems_are_all_listed() {
    let toml = r#"
[cors]
allow_origins = ["not an origin"]

[[routes]]
path = "github"
upstream = "https://api.github.com"
set_headers = { authorization = "Bearer ${MISSING_TOKEN}" }

[[routes]]
path = "/any"
allow_upstreams = ["ftp://x.example", "*.example.org"]

[[routes]]
path = "/none"
"#;
    let err = build_proxy(toml, &[], TableResolver::default()).expect_err("invalid");
    let text = err.to_string();
    for needle in [
        "not an origin",
        "\"github\"",
        "MISSING_TOKEN",
        "\"ftp://x.example\"",
        "route \"/none\": set `upstream`",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    assert!(err.problems().len() >= 5, "{text}");
    let err = build_proxy("listen = 5", &[], TableResolver::default()).expect_err("invalid");
    assert!(err.to_string().contains("listen"), "{err}");
    let err = build_proxy(
        "[[routes]]\npath=\"/x\"\nupsteam=\"http://a\"",
        &[],
        TableResolver::default(),
    )
    .expect_err("invalid");
    assert!(err.to_string().contains("upsteam"), "{err}");
}

#[tokio::test]
async fn request_header_hygiene() {
    let (up, log) = upstream().await;
    let extra = format!(
        r#"deny_request_headers = ["x-denied"]

[[routes]]
path = "/creds"
upstream = "http://{up}"
forward_cookies = true
forward_authorization = true
forwarded_headers = true

[[routes]]
path = "/only"
upstream = "http://{up}"
allow_request_headers = ["x-custom"]
"#
    );
    let proxy = start_proxy(&base(up, &extra), &[], TableResolver::default()).await;
    let browser = [
        ORIGIN,
        ("connection", "x-smuggle"),
        ("x-smuggle", "1"),
        ("keep-alive", "timeout=5"),
        ("te", "trailers"),
        ("cookie", "session=app-session"),
        ("authorization", "Bearer app-user"),
        ("x-forwarded-for", "6.6.6.6"),
        ("x-denied", "1"),
        ("x-custom", "kept"),
        ("host", "proxy.example"),
    ];
    get(&proxy.url("/up/echo"), &browser).await;
    let seen = log.last().headers;
    for name in [
        "x-smuggle",
        "keep-alive",
        "te",
        "cookie",
        "authorization",
        "x-forwarded-for",
        "forwarded",
        "x-denied",
    ] {
        assert!(
            !seen.contains_key(name),
            "{name} must not be forwarded: {seen:?}"
        );
    }
    assert_eq!(seen["x-custom"], "kept");
    assert_eq!(seen["host"], up.to_string().as_str());

    get(&proxy.url("/creds/echo"), &browser).await;
    let seen = log.last().headers;
    assert_eq!(seen["cookie"], "session=app-session");
    assert_eq!(seen["authorization"], "Bearer app-user");
    assert_eq!(
        seen["x-forwarded-for"], "127.0.0.1",
        "the peer, not the browser's claim"
    );
    assert_eq!(seen["x-forwarded-host"], "proxy.example");
    assert!(seen["forwarded"]
        .to_str()
        .unwrap_or("")
        .starts_with("for=127.0.0.1;proto=http"));

    get(&proxy.url("/only/echo"), &browser).await;
    let seen = log.last().headers;
    assert_eq!(seen["x-custom"], "kept");
    assert!(
        !seen.contains_key("origin") && !seen.contains_key("cookie"),
        "{seen:?}"
    );
}

#[tokio::test]
async fn navigations_and_dot_segments_are_refused() {
    let (up, log) = upstream().await;
    let extra = format!(
        "\n[[routes]]\npath = \"/nav\"\nupstream = \"http://{up}\"\nallow_navigation = true\n"
    );
    let proxy = start_proxy(&base(up, &extra), &[], TableResolver::default()).await;
    let got = get(&proxy.url("/up/html"), &[("sec-fetch-mode", "navigate")]).await;
    assert_eq!(got.status, 403);
    let got = get(&proxy.url("/nav/html"), &[("sec-fetch-mode", "navigate")]).await;
    assert_eq!(got.status, 200, "a route may let navigations through");
    assert_eq!(got.header("content-security-policy"), Some("sandbox"));
    let seen = log.all().len();
    let got = get(&proxy.url("/up/echo/../../admin"), &[ORIGIN]).await;
    assert_eq!(got.status, 400);
    let got = get(&proxy.url("/up/echo/%2e%2e/admin"), &[ORIGIN]).await;
    assert_eq!(got.status, 400);
    assert_eq!(
        log.all().len(),
        seen,
        "refused requests never reach the upstream"
    );
}

fn url_mode(allow: &str, extra: &str) -> String {
    format!(
        r#"
[cors]
allow_origins = ["{APP}"]

[limits]
rate_limit_per_minute = 0

[[routes]]
path = "/any"
allow_upstreams = [{allow}]
{extra}
"#
    )
}

#[tokio::test]
async fn url_mode_reaches_only_the_allow_list() {
    let (up, log) = upstream().await;
    let port = up.port();
    let toml = url_mode(
        &format!("\"http://127.0.0.1:{port}\""),
        "allow_private_networks = true",
    );
    let proxy = start_proxy(&toml, &[], TableResolver::default()).await;
    for form in ["127.0.0.1", "127.1", "0x7f000001", "2130706433"] {
        let got = get(
            &proxy.url(&format!("/any/http://{form}:{port}/echo/z?a=1")),
            &[ORIGIN],
        )
        .await;
        assert_eq!(got.status, 200, "{form}: {}", got.text());
        assert!(got.text().starts_with("GET /echo/z?a=1"), "{}", got.text());
        assert_cors(&got);
    }
    let count = log.all().len();
    let refused = [
        (
            format!("/any/http://127.0.0.1:{}/echo", port.wrapping_add(1)),
            403,
        ),
        (format!("/any/https://127.0.0.1:{port}/echo"), 403),
        (format!("/any/http://localhost:{port}/echo"), 403),
        (format!("/any/http://user:pw@127.0.0.1:{port}/echo"), 403),
        ("/any/ftp://127.0.0.1/x".to_owned(), 400),
        ("/any/echo".to_owned(), 400),
    ];
    for (path, status) in refused {
        let got = get(&proxy.url(&path), &[ORIGIN]).await;
        assert_eq!(got.status, status, "{path}: {}", got.text());
        assert_cors(&got);
    }
    assert_eq!(
        log.all().len(),
        count,
        "no refused request reached the upstream"
    );
}

#[tokio::test]
async fn the_ssrf_guard_refuses_before_connecting() {
    let (up, log) = upstream().await;
    let port = up.port();
    let resolver = TableResolver::with(&[
        ("api.test", "127.0.0.1"),
        ("meta.test", "169.254.169.254"),
        ("private.test", "10.0.0.7"),
        ("mixed.test", "93.184.215.14"),
        ("mixed.test", "127.0.0.1"),
        ("mapped.test", "::ffff:127.0.0.1"),
        ("nat64.test", "64:ff9b::a9fe:a9fe"),
    ]);
    let allow = format!(
        "\"http://api.test:{port}\", \"http://meta.test\", \"http://private.test\", \
         \"http://mixed.test:{port}\", \"http://mapped.test:{port}\", \"http://nat64.test\", \
         \"http://169.254.169.254\", \"http://127.0.0.1:{port}\", \"http://[::ffff:7f00:1]:{port}\""
    );
    let toml = format!(
        "{}\n[[routes]]\npath = \"/open\"\nallow_upstreams = [\"http://api.test:{port}\"]\n\
         allow_private_networks = true\n\n[[routes]]\npath = \"/deny\"\n\
         allow_upstreams = [\"http://api.test:{port}\"]\nallow_private_networks = true\n\
         deny_networks = [\"127.0.0.0/8\"]\n",
        url_mode(&allow, "")
    );
    let proxy = start_proxy(&toml, &[], resolver).await;
    let cases = [
        (format!("/any/http://api.test:{port}/echo"), "loopback"),
        (
            "/any/http://meta.test/latest/meta-data/".to_owned(),
            "cloud metadata",
        ),
        ("/any/http://private.test/".to_owned(), "private"),
        (format!("/any/http://mixed.test:{port}/echo"), "loopback"),
        (format!("/any/http://mapped.test:{port}/echo"), "loopback"),
        ("/any/http://nat64.test/".to_owned(), "cloud metadata"),
        // Literals never reach a resolver: checked on their own.
        (
            "/any/http://169.254.169.254/latest/".to_owned(),
            "cloud metadata",
        ),
        (format!("/any/http://2130706433:{port}/echo"), "loopback"),
        (
            format!("/any/http://[::ffff:7f00:1]:{port}/echo"),
            "loopback",
        ),
        (
            format!("/deny/http://api.test:{port}/echo"),
            "denied network",
        ),
    ];
    for (path, rule) in cases {
        let got = get(&proxy.url(&path), &[ORIGIN]).await;
        assert_eq!(got.status, 403, "{path}: {}", got.text());
        assert!(got.text().contains(rule), "{path}: {}", got.text());
        assert!(got.text().contains("SSRF guard"), "{}", got.text());
        assert_cors(&got);
    }
    assert!(log.all().is_empty(), "nothing was connected to");

    let got = get(
        &proxy.url(&format!("/open/http://api.test:{port}/echo")),
        &[ORIGIN],
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(
        log.last().headers["host"],
        format!("api.test:{port}").as_str()
    );
}

#[tokio::test]
async fn the_peer_address_is_checked_on_the_connected_socket() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to loopback");
    let deny = GuardedConnector::new(
        Arc::new(TableResolver::default()),
        Arc::new(AddressPolicy::default()),
        Duration::from_secs(1),
    );
    let err = deny.check_peer(&stream).expect_err("loopback peer refused");
    let refused = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<tower_cors_proxy::guard::Refused>())
        .expect("a guard refusal");
    assert_eq!(refused.rule, Rule::Loopback);
    let allow = GuardedConnector::new(
        Arc::new(TableResolver::default()),
        Arc::new(AddressPolicy {
            allow_private_networks: true,
            ..AddressPolicy::default()
        }),
        Duration::from_secs(1),
    );
    allow
        .check_peer(&stream)
        .expect("allowed when private networks are");
}

#[tokio::test]
async fn redirects_are_passed_with_location_rewritten() {
    let (up, _log) = upstream().await;
    let port = up.port();
    let toml = format!(
        "{}\n[[routes]]\npath = \"/any\"\nallow_upstreams = [\"http://127.0.0.1:{port}\"]\n\
         allow_private_networks = true\n",
        base(up, "")
    );
    let proxy = start_proxy(&toml, &[], TableResolver::default()).await;
    let got = get(&proxy.url("/up/redirect/2"), &[ORIGIN]).await;
    assert_eq!(got.status, 302);
    assert_eq!(got.header("location"), Some("/up/redirect/1"));
    assert_cors(&got);
    let got = get(
        &proxy.url(&format!("/any/http://127.0.0.1:{port}/redirect/1")),
        &[ORIGIN],
    )
    .await;
    assert_eq!(
        got.header("location"),
        Some(format!("/any/http://127.0.0.1:{port}/redirect/0").as_str())
    );
    let got = get(
        &proxy.url("/up/redirect-to?url=https%3A%2F%2Felsewhere.test%2Fx"),
        &[ORIGIN],
    )
    .await;
    assert_eq!(got.header("location"), Some("https://elsewhere.test/x"));
}

#[tokio::test]
async fn redirects_followed_on_the_server_are_checked_hop_by_hop() {
    let (up, log) = upstream().await;
    let (other, other_log) = upstream().await;
    let resolver = TableResolver::with(&[("other.test", "127.0.0.1")]);
    let toml = format!(
        r#"{}
[[routes]]
path = "/f"
upstream = "http://{up}"
follow_redirects = true
set_headers = {{ x-api-key = "${{KEY}}" }}
allow_upstreams = ["http://other.test:{}", "http://127.0.0.1:{}"]
allow_private_networks = true

[[routes]]
path = "/guarded"
upstream = "http://{up}"
follow_redirects = true
allow_upstreams = ["http://other.test:{}"]
"#,
        base(up, "").replace(
            "rate_limit_per_minute = 0",
            "rate_limit_per_minute = 0\nmax_redirects = 3"
        ),
        other.port(),
        other.port(),
        other.port(),
    );
    let proxy = start_proxy(&toml, &[("KEY", "k3y-s3cr3t")], resolver).await;
    let got = get(&proxy.url("/f/redirect/3"), &[ORIGIN]).await;
    assert_eq!((got.status, got.text().as_str()), (200, "landed"));
    assert_cors(&got);
    assert_eq!(log.all().len(), 4);
    assert_eq!(log.last().headers["x-api-key"], "k3y-s3cr3t");

    let got = get(&proxy.url("/f/redirect/4"), &[ORIGIN]).await;
    assert_eq!(got.status, 502, "{}", got.text());
    assert_cors(&got);

    // To an allowed other upstream: followed, without the route's secret.
    let to = format!("http%3A%2F%2Fother.test%3A{}%2Fecho%2Fthere", other.port());
    let got = get(&proxy.url(&format!("/f/redirect-to?url={to}")), &[ORIGIN]).await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert!(got.text().starts_with("GET /echo/there"));
    assert!(!other_log.last().headers.contains_key("x-api-key"));

    // Off the list: refused, not followed.
    let got = get(
        &proxy.url("/f/redirect-to?url=http%3A%2F%2Fnowhere.test%2F"),
        &[ORIGIN],
    )
    .await;
    assert_eq!(got.status, 403, "{}", got.text());
    // On the list, but it resolves to loopback and this route keeps the guard on.
    let before = other_log.all().len();
    let got = get(
        &proxy.url(&format!("/guarded/redirect-to?url={to}")),
        &[ORIGIN],
    )
    .await;
    assert_eq!(got.status, 403, "{}", got.text());
    assert!(got.text().contains("loopback"));
    assert_eq!(other_log.all().len(), before);
}

#[tokio::test]
async fn body_and_header_limits() {
    let (up, log) = upstream().await;
    let toml = base(up, "").replace(
        "rate_limit_per_minute = 0",
        "rate_limit_per_minute = 0\nmax_request_body = 1024\nmax_request_headers = 2048",
    );
    let proxy = start_proxy(&toml, &[], TableResolver::default()).await;
    let got = send(
        "POST",
        &proxy.url("/up/upload"),
        &[ORIGIN],
        &"x".repeat(1024),
    )
    .await;
    assert_eq!((got.status, got.text().as_str()), (200, "1024"));
    let got = send(
        "POST",
        &proxy.url("/up/upload"),
        &[ORIGIN],
        &"x".repeat(2048),
    )
    .await;
    assert_eq!(got.status, 413);
    assert_cors(&got);
    let seen = log.all().len();

    // Chunked, no declared length: refused when it crosses the limit.
    let chunks = (0..8).map(|_| Ok::<_, std::io::Error>(Frame::data(Bytes::from(vec![b'y'; 512]))));
    let body = StreamBody::new(futures_util::stream::iter(chunks));
    let client: Client<_, StreamBody<_>> = Client::builder(TokioExecutor::new()).build_http();
    let request = http::Request::post(proxy.url("/up/upload"))
        .header("origin", APP)
        .body(body)
        .expect("request");
    let response = client.request(request).await.expect("an answer");
    assert_eq!(response.status(), 413);
    assert_eq!(response.headers()["access-control-allow-origin"], APP);
    let _ = response.into_body().collect().await;
    assert!(log.all().len() <= seen + 1);

    let big = "h".repeat(3000);
    let got = get(&proxy.url("/up/echo"), &[ORIGIN, ("x-custom", &big)]).await;
    assert_eq!(got.status, 431);
    assert_cors(&got);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let (up, _log) = upstream().await;
    let toml = base(up, "").replace(
        "rate_limit_per_minute = 0",
        "rate_limit_per_minute = 1\nrate_limit_burst = 2",
    );
    let proxy = start_proxy(&toml, &[], TableResolver::default()).await;
    for _ in 0..2 {
        assert_eq!(get(&proxy.url("/up/echo"), &[ORIGIN]).await.status, 200);
    }
    // A spoofed X-Forwarded-For does not buy a new bucket (no trusted proxies).
    let got = get(
        &proxy.url("/up/echo"),
        &[ORIGIN, ("x-forwarded-for", "6.6.6.6")],
    )
    .await;
    assert_eq!(got.status, 429);
    let retry: u64 = got
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_cors(&got);
}

#[tokio::test]
async fn trusted_proxies_key_the_rate_limit_on_forwarded_for() {
    let (up, _log) = upstream().await;
    let toml = base(up, "")
        .replace("[cors]", "trusted_proxies = [\"127.0.0.0/8\"]\n\n[cors]")
        .replace(
            "rate_limit_per_minute = 0",
            "rate_limit_per_minute = 1\nrate_limit_burst = 1",
        );
    let proxy = start_proxy(&toml, &[], TableResolver::default()).await;
    let first = get(
        &proxy.url("/up/echo"),
        &[ORIGIN, ("x-forwarded-for", "203.0.113.1")],
    )
    .await;
    assert_eq!(first.status, 200);
    let again = get(
        &proxy.url("/up/echo"),
        &[ORIGIN, ("x-forwarded-for", "203.0.113.1")],
    )
    .await;
    assert_eq!(again.status, 429);
    let other = get(
        &proxy.url("/up/echo"),
        &[ORIGIN, ("x-forwarded-for", "203.0.113.2")],
    )
    .await;
    assert_eq!(other.status, 200);
}

#[tokio::test]
async fn concurrency_beyond_the_limit_is_refused_not_queued() {
    let (up, log) = upstream().await;
    let toml = base(up, "").replace(
        "rate_limit_per_minute = 0",
        "rate_limit_per_minute = 0\nmax_concurrent_requests = 1",
    );
    let proxy = start_proxy(&toml, &[], TableResolver::default()).await;
    let slow_url = proxy.url("/up/slow");
    let slow = tokio::spawn(async move { get(&slow_url, &[ORIGIN]).await });
    while log.all().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let got = get(&proxy.url("/up/echo"), &[ORIGIN]).await;
    assert_eq!(got.status, 503);
    assert_cors(&got);
    let slow = slow.await.expect("the slow request");
    assert_eq!((slow.status, slow.text().as_str()), (200, "slow"));
    assert_eq!(get(&proxy.url("/up/echo"), &[ORIGIN]).await.status, 200);
}

#[tokio::test]
async fn upstream_down_is_502_and_hanging_is_504() {
    let (up, _log) = upstream().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let extra = format!("\n[[routes]]\npath = \"/down\"\nupstream = \"http://{closed}\"\n");
    let toml = base(up, &extra).replace(
        "rate_limit_per_minute = 0",
        "rate_limit_per_minute = 0\nresponse_timeout = \"300ms\"",
    );
    let proxy = start_proxy(&toml, &[], TableResolver::default()).await;
    let got = get(&proxy.url("/down/x"), &[ORIGIN]).await;
    assert_eq!(got.status, 502, "{}", got.text());
    assert_cors(&got);
    let got = get(&proxy.url("/up/hang"), &[ORIGIN]).await;
    assert_eq!(got.status, 504, "{}", got.text());
    assert_cors(&got);
}

#[tokio::test]
async fn own_endpoints_and_unknown_paths() {
    let (up, _log) = upstream().await;
    let proxy = start_proxy(&base(up, ""), &[], TableResolver::default()).await;
    let got = get(&proxy.url("/_cors/healthz"), &[]).await;
    assert_eq!((got.status, got.text().as_str()), (200, "ok\n"));
    let help = get(&proxy.url("/"), &[]).await;
    assert!(
        help.text().contains(&format!("/up/...  ->  http://{up}/")),
        "{}",
        help.text()
    );
    assert_eq!(get(&proxy.url("/elsewhere"), &[]).await.status, 404);
    assert_eq!(
        get(&proxy.url("/upper"), &[]).await.status,
        404,
        "prefixes match whole segments"
    );
}

#[tokio::test]
async fn a_connect_that_hangs_is_504() {
    // A listener whose accept queue is full and never drained: further SYNs go unanswered, so
    // the proxy's connect hangs on loopback until its timeout.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    let addr = socket.local_addr().expect("address");
    let _listener = socket.listen(0).expect("listen");
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let filler = tokio::net::TcpSocket::new_v4().expect("socket");
        match tokio::time::timeout(Duration::from_millis(200), filler.connect(addr)).await {
            Ok(Ok(stream)) => fillers.push(stream),
            // The queue is full: connects now hang, which is what the proxy will meet.
            _ => break,
        }
    }
    let (up, _log) = upstream().await;
    let extra = format!("\n[[routes]]\npath = \"/stuck\"\nupstream = \"http://{addr}\"\n");
    let toml = base(up, &extra).replace(
        "rate_limit_per_minute = 0",
        "rate_limit_per_minute = 0\nconnect_timeout = \"300ms\"\nresponse_timeout = \"5s\"",
    );
    let proxy = start_proxy(&toml, &[], TableResolver::default()).await;
    let got = get(&proxy.url("/stuck/x"), &[ORIGIN]).await;
    assert_eq!(got.status, 504, "{}", got.text());
    assert!(got.text().contains("connecting"), "{}", got.text());
    assert_cors(&got);
}

#[tokio::test]
async fn url_mode_secrets_stay_with_the_first_origin_on_followed_redirects() {
    let (a, a_log) = upstream().await;
    let (b, b_log) = upstream().await;
    let toml = url_mode(
        &format!("\"http://127.0.0.1:{}\", \"http://127.0.0.1:{}\"", a.port(), b.port()),
        "allow_private_networks = true\nfollow_redirects = true\nset_headers = { x-api-key = \"${KEY}\" }",
    );
    let proxy = start_proxy(&toml, &[("KEY", "k3y-s3cr3t")], TableResolver::default()).await;
    let to = format!("http%3A%2F%2F127.0.0.1%3A{}%2Fecho%2Fb", b.port());
    let got = get(
        &proxy.url(&format!(
            "/any/http://127.0.0.1:{}/redirect-to?url={to}",
            a.port()
        )),
        &[ORIGIN],
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(a_log.last().headers["x-api-key"], "k3y-s3cr3t");
    assert!(!b_log.last().headers.contains_key("x-api-key"));
}

#[tokio::test]
async fn a_route_policy_replaces_the_global_one_whole() {
    let (up, _log) = upstream().await;
    let extra = format!(
        "\n[[routes]]\npath = \"/own\"\nupstream = \"http://{up}\"\n[routes.cors]\n\
         allow_origins = [\"https://other.example\"]\n"
    );
    let proxy = start_proxy(&base(up, &extra), &[], TableResolver::default()).await;
    let got = get(&proxy.url("/own/echo"), &[ORIGIN]).await;
    assert_eq!(
        got.header("access-control-allow-origin"),
        None,
        "the global origin is not merged in"
    );
    let got = get(
        &proxy.url("/own/echo"),
        &[("origin", "https://other.example")],
    )
    .await;
    assert_eq!(
        got.header("access-control-allow-origin"),
        Some("https://other.example")
    );
    // Nor the global expose list: x-kept is exposed on /up only.
    let got = get(
        &proxy.url("/own/acao"),
        &[("origin", "https://other.example")],
    )
    .await;
    assert_eq!(got.header("access-control-expose-headers"), None);
    let got = get(&proxy.url("/up/acao"), &[ORIGIN]).await;
    assert_eq!(got.header("access-control-expose-headers"), Some("x-kept"));
}
