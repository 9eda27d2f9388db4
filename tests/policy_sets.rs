//! Policy sets: for each selector, which policy answers and the exact headers it sends,
//! `Vary` included; the problems `build()` lists; the lints `warnings()` lists.

use std::convert::Infallible;

use http::{HeaderValue, Method, Request, Response, StatusCode};
use tower::{service_fn, Layer, ServiceExt};
use tower_cors::{CorsBuilder, CorsLayer, Lint, Problem};

const NONE: Option<&str> = None;

fn app() -> CorsBuilder {
    CorsLayer::builder()
        .allow_origins(["https://app.example.com"])
        .allow_credentials(true)
        .allow_methods([Method::PUT])
        .allow_headers(["content-type"])
}

fn public() -> CorsBuilder {
    CorsLayer::builder().allow_any_origin()
}

fn partner() -> CorsBuilder {
    CorsLayer::builder().allow_origins(["https://partner.example"])
}

fn set(name: &str) -> CorsLayer {
    let set = match name {
        "origin" => CorsLayer::set()
            .policy("app", app())
            .policy("public", public())
            .select_by_origin(),
        "origin-strict" => CorsLayer::set()
            .policy("app", app())
            .policy("partner", partner())
            .select_by_origin(),
        "origin-fallback" => CorsLayer::set()
            .policy("app", app())
            .policy("public", public())
            .select_by_origin()
            .fallback("public"),
        "host" => CorsLayer::set()
            .policy("api", app())
            .policy("cdn", public())
            .select_by_host([
                ("api.example.com", "api"),
                ("static.example.com", "cdn"),
                ("static.example.com:8443", "api"),
            ]),
        "path" => CorsLayer::set()
            .policy("public", public())
            .policy("admin", app())
            .policy("partner", partner())
            .select_by_path([
                ("/", "public"),
                ("/admin", "admin"),
                ("/admin/partner/", "partner"),
            ]),
        "path-no-root" => CorsLayer::set()
            .policy("admin", app())
            .select_by_path([("/admin", "admin")]),
        "with" => CorsLayer::set()
            .policy("acme", app())
            .policy("open", public())
            .select_with(["X-Tenant"], |r| match r.header("x-tenant")?.as_bytes() {
                b"acme" => Some("acme"),
                b"open" => Some("open"),
                b"cookie-peek" => r.header("cookie").map(|_| "open"),
                _ => Some("nobody"),
            })
            .fallback("open"),
        other => panic!("no set {other}"),
    };
    set.build().expect("valid set")
}

/// One request and what must come back.
struct Row {
    rule: &'static str,
    set: &'static str,
    method: Method,
    uri: &'static str,
    headers: &'static [(&'static str, &'static str)],
    status: StatusCode,
    policy: &'static str,
    allow_origin: Option<&'static str>,
    credentials: Option<&'static str>,
    vary: Option<&'static str>,
}

fn get(
    rule: &'static str,
    set: &'static str,
    uri: &'static str,
    headers: &'static [(&'static str, &'static str)],
) -> Row {
    Row {
        rule,
        set,
        method: Method::GET,
        uri,
        headers,
        status: StatusCode::OK,
        policy: "",
        allow_origin: None,
        credentials: None,
        vary: None,
    }
}

fn preflight(
    rule: &'static str,
    set: &'static str,
    uri: &'static str,
    headers: &'static [(&'static str, &'static str)],
) -> Row {
    Row {
        method: Method::OPTIONS,
        status: StatusCode::NO_CONTENT,
        ..get(rule, set, uri, headers)
    }
}

impl Row {
    fn policy(mut self, policy: &'static str) -> Self {
        self.policy = policy;
        self
    }
    fn origin(mut self, value: &'static str) -> Self {
        self.allow_origin = Some(value);
        self
    }
    fn creds(mut self) -> Self {
        self.credentials = Some("true");
        self
    }
    fn vary(mut self, value: &'static str) -> Self {
        self.vary = Some(value);
        self
    }
    fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

const APP: (&str, &str) = ("origin", "https://app.example.com");
const OTHER: (&str, &str) = ("origin", "https://other.example");
const PARTNER: (&str, &str) = ("origin", "https://partner.example");
const PUT: (&str, &str) = ("access-control-request-method", "PUT");
const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

fn rows() -> Vec<Row> {
    vec![
        // By origin: the first member whose origins match; `Vary: Origin` on every response.
        get(
            "origin: listed origin gets its credentialed policy",
            "origin",
            "/",
            &[APP],
        )
        .policy("app")
        .origin("https://app.example.com")
        .creds()
        .vary("Origin"),
        get(
            "origin: any-origin member answers with `*` and still `Vary: Origin`",
            "origin",
            "/",
            &[OTHER],
        )
        .policy("public")
        .origin("*")
        .vary("Origin"),
        get(
            "origin: no Origin and no fallback: unmatched, `Vary: Origin`",
            "origin",
            "/",
            &[],
        )
        .policy("unmatched")
        .vary("Origin"),
        get(
            "origin: no Origin goes to the fallback, `*` with `Vary: Origin`",
            "origin-fallback",
            "/",
            &[],
        )
        .policy("public")
        .origin("*")
        .vary("Origin"),
        preflight(
            "origin: preflight of the credentialed member",
            "origin",
            "/",
            &[APP, PUT],
        )
        .policy("app")
        .origin("https://app.example.com")
        .creds()
        .vary(PREFLIGHT_VARY),
        preflight(
            "origin: any-origin member's preflight varies on Origin too",
            "origin",
            "/",
            &[OTHER, ("access-control-request-method", "GET")],
        )
        .policy("public")
        .origin("*")
        .vary(PREFLIGHT_VARY),
        preflight(
            "origin: public member does not allow PUT: refused by it, not by `app`",
            "origin",
            "/",
            &[OTHER, PUT],
        )
        .policy("public")
        .status(StatusCode::FORBIDDEN)
        .vary(PREFLIGHT_VARY),
        get(
            "origin: no member matches, no fallback: refused",
            "origin-strict",
            "/",
            &[OTHER],
        )
        .policy("unmatched")
        .vary("Origin"),
        preflight(
            "origin: no member matches: preflight refused",
            "origin-strict",
            "/",
            &[OTHER, PUT],
        )
        .policy("unmatched")
        .status(StatusCode::FORBIDDEN)
        .vary(PREFLIGHT_VARY),
        get(
            "origin: second member matches",
            "origin-strict",
            "/",
            &[PARTNER],
        )
        .policy("partner")
        .origin("https://partner.example")
        .vary("Origin"),
        // By host: the authority, else `Host`; no `Vary` added (the host is in every cache key).
        get(
            "host: Host header selects, no Vary added to `*`",
            "host",
            "/",
            &[("host", "static.example.com"), APP],
        )
        .policy("cdn")
        .origin("*"),
        get(
            "host: case, default port and trailing dot ignored",
            "host",
            "/",
            &[("host", "STATIC.example.com.:443"), OTHER],
        )
        .policy("cdn")
        .origin("*"),
        get(
            "host: other port is another host",
            "host",
            "/",
            &[("host", "static.example.com:8443"), APP],
        )
        .policy("api")
        .origin("https://app.example.com")
        .creds()
        .vary("Origin"),
        get(
            "host: absolute URI's authority wins over Host",
            "host",
            "http://api.example.com/x",
            &[("host", "static.example.com"), APP],
        )
        .policy("api")
        .origin("https://app.example.com")
        .creds()
        .vary("Origin"),
        get(
            "host: unknown host, no fallback: refused",
            "host",
            "/",
            &[("host", "evil.example"), APP],
        )
        .policy("unmatched")
        .vary("Origin"),
        get("host: no Host at all: unmatched", "host", "/", &[APP])
            .policy("unmatched")
            .vary("Origin"),
        // By path: the longest prefix, on segment boundaries; no `Vary` added.
        get("path: root prefix", "path", "/items", &[APP])
            .policy("public")
            .origin("*"),
        get("path: longer prefix wins", "path", "/admin/users", &[APP])
            .policy("admin")
            .origin("https://app.example.com")
            .creds()
            .vary("Origin"),
        get(
            "path: prefix is whole segments (`/administrator` is not `/admin`)",
            "path",
            "/administrator",
            &[APP],
        )
        .policy("public")
        .origin("*"),
        get(
            "path: longest of three",
            "path",
            "/admin/partner/x",
            &[PARTNER],
        )
        .policy("partner")
        .origin("https://partner.example")
        .vary("Origin"),
        get(
            "path: no prefix, no fallback: unmatched",
            "path-no-root",
            "/items",
            &[APP],
        )
        .policy("unmatched")
        .vary("Origin"),
        preflight(
            "path: the query is not part of the path",
            "path",
            "/admin?x=/",
            &[APP, PUT],
        )
        .policy("admin")
        .origin("https://app.example.com")
        .creds()
        .vary(PREFLIGHT_VARY),
        // By function: declared headers only, and in every response's `Vary`.
        get(
            "with: named policy, declared header in Vary",
            "with",
            "/",
            &[("x-tenant", "acme"), APP],
        )
        .policy("acme")
        .origin("https://app.example.com")
        .creds()
        .vary("Origin, x-tenant"),
        get(
            "with: any-origin member varies on the declared header",
            "with",
            "/",
            &[("x-tenant", "open"), OTHER],
        )
        .policy("open")
        .origin("*")
        .vary("x-tenant"),
        get("with: None goes to the fallback", "with", "/", &[OTHER])
            .policy("open")
            .origin("*")
            .vary("x-tenant"),
        get(
            "with: unknown name goes to the fallback",
            "with",
            "/",
            &[("x-tenant", "zzz"), OTHER],
        )
        .policy("open")
        .origin("*")
        .vary("x-tenant"),
        get(
            "with: undeclared headers are invisible to the function",
            "with",
            "/",
            &[("x-tenant", "cookie-peek"), ("cookie", "a=b"), APP],
        )
        .policy("open")
        .origin("*")
        .vary("x-tenant"),
        preflight(
            "with: preflight Vary names the declared header",
            "with",
            "/",
            &[("x-tenant", "acme"), APP, PUT],
        )
        .policy("acme")
        .origin("https://app.example.com")
        .creds()
        .vary("Origin, Access-Control-Request-Method, Access-Control-Request-Headers, x-tenant"),
    ]
}

fn request(row: &Row) -> Request<String> {
    let mut builder = Request::builder().method(row.method.clone()).uri(row.uri);
    for (name, value) in row.headers {
        builder = builder.header(*name, *value);
    }
    builder.body(String::new()).expect("request")
}

#[tokio::test]
async fn conformance_rows() {
    let mut failures = Vec::new();
    for row in rows() {
        let layer = set(row.set);
        let (parts, _) = request(&row).into_parts();
        let decided = layer.evaluate(&parts).policy();
        let svc = layer.layer(service_fn(|_req: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
        let res = svc.oneshot(request(&row)).await.expect("infallible");
        let h = res.headers();
        let get = |name: &str| h.get(name).map(|v| v.to_str().expect("ascii").to_owned());
        let vary: Vec<&str> = h
            .get_all("vary")
            .iter()
            .map(|v| v.to_str().expect("ascii"))
            .collect();
        let vary = (!vary.is_empty()).then(|| vary.join(", "));
        let got = (
            res.status(),
            decided,
            get("access-control-allow-origin"),
            get("access-control-allow-credentials"),
            vary,
        );
        let want = (
            row.status,
            Some(row.policy),
            row.allow_origin.map(str::to_owned),
            row.credentials.map(str::to_owned),
            row.vary.map(str::to_owned),
        );
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", row.rule));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let _ = NONE;
}

/// The inner service's own `Vary` is kept, and the set's tokens are added once each.
#[tokio::test]
async fn vary_merges_with_the_inner_response() {
    let svc = set("with").layer(service_fn(|_req: Request<String>| async {
        let mut res = Response::new(String::new());
        res.headers_mut().append(
            "vary",
            HeaderValue::from_static("Accept-Encoding, X-Tenant"),
        );
        Ok::<_, Infallible>(res)
    }));
    let req = Request::get("/")
        .header("x-tenant", "acme")
        .header("origin", "https://app.example.com")
        .body(String::new())
        .expect("request");
    let res = svc.oneshot(req).await.expect("infallible");
    let vary: Vec<&str> = res
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().expect("ascii"))
        .collect();
    assert_eq!(vary, ["Accept-Encoding, X-Tenant", "Origin"]);

    let svc = set("origin").layer(service_fn(|_req: Request<String>| async {
        let mut res = Response::new(String::new());
        res.headers_mut()
            .append("vary", HeaderValue::from_static("Accept-Encoding"));
        Ok::<_, Infallible>(res)
    }));
    let req = Request::get("/")
        .header("origin", "https://other.example")
        .body(String::new())
        .expect("request");
    let res = svc.oneshot(req).await.expect("infallible");
    let vary: Vec<&str> = res
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().expect("ascii"))
        .collect();
    assert_eq!(vary, ["Accept-Encoding", "Origin"]);
}

#[test]
fn single_policy_decisions_are_named_default() {
    let cors = CorsLayer::builder()
        .allow_origins(["https://app.example.com"])
        .build()
        .expect("valid");
    let parts = tower_cors::testing::preflight_parts("https://evil.example", "GET", &[]);
    let decision = cors.evaluate(&parts);
    assert_eq!(decision.policy(), Some("default"));
    assert_eq!(decision.rejection().expect("refused").policy(), "default");
    assert_eq!(cors.policy_names().collect::<Vec<_>>(), ["default"]);
    assert_eq!(
        set("path").policy_names().collect::<Vec<_>>(),
        ["public", "admin", "partner"]
    );
}

#[test]
fn build_lists_every_problem_of_every_policy() {
    let err = CorsLayer::set()
        .policy(
            "a",
            CorsLayer::builder()
                .allow_origins(["https://a.example/"])
                .allow_methods(["TRACE"]),
        )
        .policy(
            "b",
            CorsLayer::builder()
                .allow_any_origin()
                .allow_credentials(true),
        )
        .policy("a", public())
        .policy("unmatched", public())
        .policy(
            "c",
            CorsLayer::builder().allow_origin_async(|_, _| async { true }),
        )
        .select_by_origin()
        .fallback("nope")
        .build()
        .expect_err("invalid");
    let text = err.to_string();
    let expected = [
        "policy \"a\": allowed origin \"https://a.example/\" is invalid",
        "policy \"a\": allowed method \"TRACE\" is forbidden",
        "policy \"b\": any origin (`*`) cannot be combined with credentials",
        "policy name \"a\" is used twice",
        "policy name \"unmatched\" is reserved",
        "the fallback names policy \"nope\", which is not in the set",
        "policy \"c\" has an asynchronous origin predicate",
    ];
    for line in expected {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert_eq!(err.problems().len(), expected.len(), "{text}");
    assert!(matches!(
        &err.problems()[0],
        Problem::InPolicy { policy, problem } if policy == "a" && matches!(**problem, Problem::InvalidOrigin { .. })
    ));

    let err = CorsLayer::set()
        .policy("p", public())
        .select_by_host([
            ("api.example.com", "p"),
            ("API.example.com:443", "p"),
            ("a b", "p"),
            ("x.example", "q"),
        ])
        .build()
        .expect_err("invalid");
    let text = err.to_string();
    for line in [
        "route \"API.example.com:443\" is given twice",
        "route \"a b\" is invalid",
        "host \"x.example\" names policy \"q\", which is not in the set",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert_eq!(err.problems().len(), 3, "{text}");

    let err = CorsLayer::set()
        .policy("p", public())
        .select_by_path([("api", "p"), ("/a?b", "p"), ("/x", "p"), ("/x", "p")])
        .build()
        .expect_err("invalid");
    assert_eq!(err.problems().len(), 3, "{err}");

    let err = CorsLayer::set().build().expect_err("empty");
    assert_eq!(err.problems(), [Problem::NoPolicies, Problem::NoSelector]);

    let err = CorsLayer::set()
        .policy("p", public())
        .select_with(["x tenant"], |_| None)
        .build()
        .expect_err("invalid header");
    assert!(
        err.to_string().contains("selector header \"x tenant\""),
        "{err}"
    );
}

/// Each risky configuration gets its lint, naming the value; the build still succeeds.
#[test]
fn lints_for_each_risky_configuration() {
    let cases: Vec<(&str, CorsBuilder, Vec<Lint>)> = vec![
        (
            "predicate with credentials",
            CorsLayer::builder()
                .allow_origin_fn(|_, _| true)
                .allow_origin_async(|_, _| async { false })
                .allow_credentials(true),
            vec![Lint::OriginPredicateWithCredentials { predicates: 2 }],
        ),
        (
            "predicate without credentials",
            CorsLayer::builder().allow_origin_fn(|_, _| true),
            vec![],
        ),
        (
            "any origin with private network",
            CorsLayer::builder()
                .allow_any_origin()
                .allow_private_network(true),
            vec![Lint::AnyOriginWithPrivateNetwork],
        ),
        (
            "listed origins with private network",
            CorsLayer::builder()
                .allow_origins(["https://a.example"])
                .allow_private_network(true),
            vec![],
        ),
        (
            "public-suffix wildcard without credentials",
            CorsLayer::builder().allow_origins(["https://*.github.io", "https://*.example.com"]),
            vec![Lint::PublicSuffixWildcard {
                value: "https://*.github.io".into(),
                suffix: "github.io".into(),
            }],
        ),
        (
            "plain http without credentials",
            CorsLayer::builder()
                .allow_origins(["http://intranet.example", "http://*.corp.example:*"]),
            vec![
                Lint::InsecureOrigin {
                    value: "http://intranet.example".into(),
                },
                Lint::InsecureOrigin {
                    value: "http://*.corp.example:*".into(),
                },
            ],
        ),
        (
            "loopback origins",
            CorsLayer::builder().allow_origins([
                "http://localhost:3000",
                "http://127.0.0.1:*",
                "https://[::1]",
            ]),
            vec![
                Lint::LoopbackOrigin {
                    value: "http://localhost:3000".into(),
                },
                Lint::LoopbackOrigin {
                    value: "http://127.0.0.1:*".into(),
                },
                Lint::LoopbackOrigin {
                    value: "https://[::1]".into(),
                },
            ],
        ),
        (
            "loopback origins marked as intended",
            CorsLayer::builder()
                .allow_origins(["http://localhost:3000"])
                .allow_loopback_origins(true),
            vec![],
        ),
        (
            "danger switches",
            CorsLayer::builder()
                .allow_origins(["http://intranet.example", "https://*.github.io"])
                .allow_credentials(true)
                .danger_allow_insecure_origins(true)
                .danger_allow_public_suffix_wildcards(true),
            vec![
                Lint::DangerSwitch {
                    name: "danger_allow_insecure_origins",
                },
                Lint::DangerSwitch {
                    name: "danger_allow_public_suffix_wildcards",
                },
            ],
        ),
        (
            "a safe policy",
            CorsLayer::builder()
                .allow_origins(["https://app.example.com"])
                .allow_credentials(true),
            vec![],
        ),
    ];
    for (name, builder, want) in cases {
        let layer = builder.build().unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<Lint> = layer.warnings().iter().map(|w| w.lint().clone()).collect();
        assert_eq!(got, want, "{name}");
        for warning in layer.warnings() {
            assert_eq!(warning.policy(), None);
            let text = warning.to_string();
            let named = match warning.lint() {
                Lint::PublicSuffixWildcard { value, .. }
                | Lint::InsecureOrigin { value }
                | Lint::LoopbackOrigin { value } => text.contains(&format!("{value:?}")),
                Lint::DangerSwitch { name } => text.contains(name),
                _ => true,
            };
            assert!(named, "{name}: {text}");
        }
    }

    // In a set, each warning names its policy.
    let layer = CorsLayer::set()
        .policy(
            "dev",
            CorsLayer::builder().allow_origins(["http://localhost:5173"]),
        )
        .policy(
            "lan",
            CorsLayer::builder()
                .allow_any_origin()
                .allow_private_network(true),
        )
        .select_by_origin()
        .build()
        .expect("valid");
    let got: Vec<String> = layer.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(got.len(), 2);
    assert!(
        got[0].starts_with("policy \"dev\": origin \"http://localhost:5173\" is loopback"),
        "{got:?}"
    );
    assert!(got[1].starts_with("policy \"lan\": any origin"), "{got:?}");
    assert_eq!(layer.warnings()[1].policy(), Some("lan"));
}

/// The less common paths of a set's response: a pass-through preflight with its decision
/// recorded, and an asynchronous origin check inside a set selected by a function (the
/// selector's `Vary` is still added once the check answers).
#[tokio::test]
async fn recorded_pass_through_and_async_members() {
    use tower_cors::{DecisionSummary, ReasonKind, RequestKind};

    let svc = |layer: CorsLayer| {
        layer.layer(service_fn(|req: Request<String>| async move {
            let mut res = Response::new(String::from("inner"));
            if req.method() == Method::OPTIONS {
                *res.status_mut() = StatusCode::OK;
            }
            Ok::<_, Infallible>(res)
        }))
    };
    let layer = CorsLayer::set()
        .policy("app", app().preflight_pass_through(true))
        .policy(
            "tenant",
            CorsLayer::builder().allow_origin_async(|origin, _| async move {
                tokio::task::yield_now().await;
                origin == "https://tenant.example"
            }),
        )
        .select_with(["x-tenant"], |r| match r.header("x-tenant") {
            Some(_) => Some("tenant"),
            None => Some("app"),
        })
        .build()
        .expect("valid set")
        .record_decision(true);

    // Pass-through preflight: the inner service answers, the headers and the summary are added.
    let res = svc(layer.clone())
        .oneshot(tower_cors::testing::preflight(
            "https://app.example.com",
            "PUT",
            &[],
        ))
        .await
        .expect("infallible");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.body(), "inner");
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let vary: Vec<_> = res.headers().get_all("vary").iter().collect();
    assert_eq!(
        vary,
        ["Origin, Access-Control-Request-Method, Access-Control-Request-Headers, x-tenant"]
    );
    let summary = res.extensions().get::<DecisionSummary>().expect("recorded");
    assert_eq!(
        (
            summary.kind(),
            summary.allowed(),
            summary.policy(),
            summary.policy_index()
        ),
        (RequestKind::Preflight, true, "app", 0)
    );

    // Asynchronous member: allowed and refused, each with the selector's Vary and a summary.
    for (origin, allowed) in [
        ("https://tenant.example", true),
        ("https://other.example", false),
    ] {
        let mut req = tower_cors::testing::actual("GET", origin);
        req.headers_mut()
            .insert("x-tenant", HeaderValue::from_static("t"));
        let res = svc(layer.clone()).oneshot(req).await.expect("infallible");
        let acao = res.headers().get("access-control-allow-origin");
        assert_eq!(acao.is_some(), allowed, "{origin}");
        let vary: Vec<_> = res.headers().get_all("vary").iter().collect();
        assert_eq!(vary, ["Origin, x-tenant"], "{origin}");
        let summary = res.extensions().get::<DecisionSummary>().expect("recorded");
        assert_eq!(
            (
                summary.kind(),
                summary.allowed(),
                summary.policy(),
                summary.policy_index()
            ),
            (RequestKind::Actual, allowed, "tenant", 1),
            "{origin}"
        );
        assert_eq!(
            summary.reason(),
            (!allowed).then_some(ReasonKind::OriginNotAllowed),
            "{origin}"
        );
    }
}
