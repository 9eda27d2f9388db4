//! `cors check` against stand-in APIs on 127.0.0.1: each misconfiguration, and a correct app
//! behind tower-cors, judged through the CLI library (`--json`'s object), through
//! `testing::fetch` in process, and against the expected verdict; the three must agree.

mod support;

use axum::body::Body;
use serde_json::Value;
use tower_cors::browser::{Credentials, Engine, FetchRequest};
use tower_cors::testing;
use tower_cors_cli::check::{check, CheckArgs};
use tower_cors_cli::net::NetArgs;

const ORIGIN: &str = "https://app.test";

/// The root cause `cors check` must name for each blocked stand-in (a fragment of `cause`).
const CAUSES: &[(&str, &str)] = &[
    ("no-cors-headers", "no CORS headers at all"),
    (
        "wrong-origin",
        "allows 'https://other.example', not this page's origin",
    ),
    ("trailing-slash", "has a trailing `/`"),
    ("two-allow-origin-lines", "more than once"),
    (
        "wildcard-with-credentials",
        "cannot be used with credentials",
    ),
    ("credentials-header-missing", "exactly (got '')"),
    ("credentials-header-True", "exactly (got 'True')"),
    ("preflight-404", "OPTIONS is not routed"),
    ("preflight-405", "OPTIONS is not routed"),
    ("preflight-401", "authentication runs before CORS"),
    (
        "server-error-without-cors-headers",
        "the server failed (500)",
    ),
    (
        "preflight-500",
        "answered 500 Internal Server Error, not a 2xx",
    ),
    (
        "preflight-302",
        "the preflight was redirected (302 to /login)",
    ),
    (
        "method-missing",
        "method PUT is not in Access-Control-Allow-Methods",
    ),
    ("header-missing", "request header x-api-key is not in"),
    ("unparsable-methods", "'PUT;DELETE' is not one"),
    ("authorization-under-wildcard", "`*` never covers it"),
    ("lowercase-patch", "case-sensitive (patch is not PATCH)"),
    ("accept-over-128-bytes", "request header accept is not in"),
    ("json-post", "request header content-type is not in"),
    (
        "redirect-without-cors-headers",
        "on the redirect response (302 to /target)",
    ),
    ("correct-method-refused", "the CORS policy refused it"),
];

fn args(url: String, case: &support::Case) -> CheckArgs {
    let cookie = case.credentials.then(|| String::from("session=1"));
    case.check_args(url, ORIGIN, cookie, NetArgs::default())
}

fn description(url: &str, case: &support::Case) -> FetchRequest {
    let mut builder = FetchRequest::builder(url, ORIGIN).method(case.method);
    for (name, value) in case.headers {
        builder = builder.header(name, value);
    }
    if case.credentials {
        builder = builder
            .credentials(Credentials::Include)
            .cookie("session=1");
    }
    builder.build().expect("a valid description")
}

#[tokio::test]
async fn cli_and_testing_fetch_agree_on_every_stand_in() {
    let broken = support::misconfigured();
    let correct = support::correct(ORIGIN);
    let broken_addr = support::serve(broken.clone()).await;
    let correct_addr = support::serve(correct.clone()).await;

    for case in support::cases() {
        let addr = if case.correct {
            correct_addr
        } else {
            broken_addr
        };
        let url = format!("http://{addr}{}", case.path);
        let report = check(&args(url.clone(), &case)).await;
        let json = report.to_json();
        let id = case.id;

        assert_eq!(json["verdict"], case.verdict, "{id}: {json}");
        assert_eq!(json["stage"].as_str(), case.stage, "{id}: {json}");
        assert_eq!(json["reason"].as_str(), case.reason, "{id}: {json}");
        assert_eq!(json["browsers"]["chromium"], case.chromium, "{id}: {json}");
        assert_eq!(
            report.exit_code(),
            if case.verdict == "allowed" { 0 } else { 1 },
            "{id}"
        );
        let preflight = case
            .preflight
            .unwrap_or(case.method != "GET" || !case.headers.is_empty());
        assert_eq!(json["preflight"], preflight, "{id}: {json}");
        if case.verdict == "blocked" {
            let expected = CAUSES
                .iter()
                .find(|(c, _)| *c == id)
                .map(|(_, cause)| *cause);
            let expected = expected.unwrap_or_else(|| panic!("{id}: no expected cause listed"));
            let cause = json["cause"].as_str().unwrap_or_default();
            assert!(
                cause.contains(expected),
                "{id}: cause {cause:?} lacks {expected:?}"
            );
            assert!(json["fix"].is_string(), "{id}: {json}");
            let message = json["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("has been blocked by CORS policy"),
                "{id}: {message}"
            );
            let failed = json["checks"]
                .as_array()
                .expect("checks")
                .iter()
                .filter(|c| c["ok"] == false)
                .count();
            assert!(failed >= 1, "{id}: {json}");
            assert_eq!(json["exposed_headers"], Value::Array(Vec::new()), "{id}");
        } else {
            assert!(
                json["message"].is_null() && json["stage"].is_null(),
                "{id}: {json}"
            );
        }

        let mut app = if case.correct {
            correct.clone()
        } else {
            broken.clone()
        };
        let verdict = testing::fetch::<Body, _, _>(&mut app, &description(&url, &case)).await;
        let name = if verdict.is_allowed() {
            "allowed"
        } else {
            "blocked"
        };
        assert_eq!(name, case.verdict, "{id}: testing::fetch says {verdict}");
        assert_eq!(verdict.stage().map(|s| s.as_str()), case.stage, "{id}");
        assert_eq!(
            verdict.reason().map(|r| r.firefox_key()),
            case.reason,
            "{id}"
        );
        assert_eq!(
            verdict.engine(Engine::Chromium).as_str(),
            case.chromium,
            "{id}"
        );
        if let Some(message) = json["message"].as_str() {
            assert_eq!(message, verdict.to_string(), "{id}");
        }
    }
}

#[tokio::test]
async fn correct_app_exposes_only_what_it_lists() {
    let addr = support::serve(support::correct(ORIGIN)).await;
    let case = support::cases()
        .into_iter()
        .find(|c| c.id == "correct-credentialed-put")
        .expect("case");
    let report = check(&args(format!("http://{addr}/items"), &case)).await;
    let json = report.to_json();
    let exposed: Vec<&str> = json["exposed_headers"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(exposed.contains(&"x-request-id"), "{json}");
    assert!(exposed.contains(&"content-length"), "{json}");
    assert!(!exposed.contains(&"vary"), "{json}");
    // The cookie went on the actual request only.
    assert!(!report.hops[0].request.headers().contains_key("cookie"));
    assert_eq!(report.hops[1].request.headers()["cookie"], "session=1");
    assert!(report.transcript().contains("verdict: ALLOWED"));
}

#[tokio::test]
async fn every_failing_check_is_listed_and_the_cause_is_named() {
    let addr = support::serve(support::misconfigured()).await;
    let case = support::cases()
        .into_iter()
        .find(|c| c.id == "preflight-401")
        .expect("case");
    let report = check(&args(format!("http://{addr}/preflight-401"), &case)).await;
    let json = report.to_json();
    let failed: Vec<&str> = json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["ok"] == false)
        .filter_map(|c| c["check"].as_str())
        .collect();
    assert_eq!(failed, ["allow-origin", "status", "method"], "{json}");
    let cause = json["cause"].as_str().unwrap_or_default();
    assert!(cause.contains("authentication runs before CORS"), "{cause}");
    let fix = json["fix"].as_str().unwrap_or_default();
    assert!(fix.contains("Access-Control-Allow-Methods: PUT"), "{fix}");
    assert!(fix.contains(r#".allow_methods(["PUT"])"#), "{fix}");
    // Safari reports the status first; the verdict is the same.
    assert_eq!(json["browsers"]["safari"], "blocked");
    let safari = json["messages"]["safari"].as_str().unwrap_or_default();
    assert!(
        safari.starts_with("Preflight response is not successful. Status code: 401"),
        "{safari}"
    );
    let firefox = json["messages"]["firefox"].as_str().unwrap_or_default();
    assert!(firefox.contains("missing). Status code: 401."), "{firefox}");
    assert_eq!(json["messages"]["chromium"], json["message"]);
    let transcript = report.transcript();
    assert!(
        transcript.contains("safari blocked (CORSPreflightDidNotSucceed)"),
        "{transcript}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_not_a_cors_verdict() {
    // Bind then drop: nothing listens on that port any more.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let case = support::cases()[0];
    let report = check(&args(format!("http://127.0.0.1:{port}/"), &case)).await;
    let json = report.to_json();
    assert_eq!(json["verdict"], "error");
    assert_eq!(json["reason"], "CORSDidNotSucceed");
    assert_eq!(json["browsers"]["firefox"], "error");
    assert_eq!(report.exit_code(), 2);
    assert!(json["message"]
        .as_str()
        .unwrap_or_default()
        .contains("cannot connect"));
}

#[tokio::test]
async fn a_silent_server_times_out_as_an_error() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let case = support::cases()[0];
    let mut args = args(format!("http://{addr}/"), &case);
    args.net.timeout = 0.3;
    let report = check(&args).await;
    assert_eq!(report.exit_code(), 2);
    let line = report.error_line().unwrap_or_default();
    assert!(line.contains("no answer within 0.3 s"), "{line}");
}
