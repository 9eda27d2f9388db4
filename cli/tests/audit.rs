//! `cors audit` against stand-in APIs on 127.0.0.1, each with one classic origin-check
//! mistake, and against a correct tower-cors app.

mod support;

use axum::extract::Request;
use axum::http::{HeaderValue, Response};
use axum::routing::any;
use axum::Router;
use tower_cors_cli::audit::{audit, probes, AuditArgs};
use tower_cors_cli::net::NetArgs;

const ALLOWED: &str = "https://app.test";

/// An API whose origin check is `accept(origin)`, answering with credentials when `creds`.
fn naive(accept: fn(&str, bool) -> bool, creds: bool) -> Router {
    Router::new().fallback(any(move |request: Request| async move {
        let origin = request
            .headers()
            .get("origin")
            .and_then(|o| o.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let cookie = request.headers().contains_key("cookie");
        let mut response = Response::new(axum::body::Body::from("{}"));
        if accept(&origin, cookie) {
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&origin) {
                headers.insert("access-control-allow-origin", value);
            }
            if creds {
                headers.insert(
                    "access-control-allow-credentials",
                    HeaderValue::from_static("true"),
                );
            }
        }
        response
    }))
}

fn wildcard_with_credentials() -> Router {
    Router::new().fallback(any(|| async {
        let mut response = Response::new(axum::body::Body::from("{}"));
        let headers = response.headers_mut();
        headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        headers.insert(
            "access-control-allow-credentials",
            HeaderValue::from_static("true"),
        );
        response
    }))
}

fn args(url: String) -> AuditArgs {
    AuditArgs {
        url,
        origin: ALLOWED.to_owned(),
        json: true,
        net: NetArgs::default(),
    }
}

async fn findings(app: Router) -> (Vec<(String, bool, String)>, u8) {
    let addr = support::serve(app).await;
    let report = audit(&args(format!("http://{addr}/me"))).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let json = report.to_json();
    let list = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            assert!(f["fix"].as_str().is_some_and(|s| !s.is_empty()), "{f}");
            (
                f["id"].as_str().unwrap_or_default().to_owned(),
                f["credentialed"].as_bool().unwrap_or_default(),
                f["risk"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (list, report.exit_code())
}

fn ids(found: &[(String, bool, String)]) -> Vec<&str> {
    found.iter().map(|(id, _, _)| id.as_str()).collect()
}

#[test]
fn probes_cover_every_class() {
    let crafted = probes("https://allowed.example:8443");
    let origins: Vec<&str> = crafted.iter().map(|(_, o)| o.as_str()).collect();
    assert!(origins.contains(&"https://allowed.example.evil.test:8443"));
    assert!(origins.contains(&"https://evilallowed.example:8443"));
    assert!(origins.contains(&"https://allowedxexample:8443"));
    assert!(origins.contains(&"http://allowed.example:8443"));
    assert!(origins.contains(&"null"));
    assert!(origins.contains(&"https://allowed.example_.evil.test:8443"));
    assert!(origins.contains(&"https://allowed.example`.evil.test:8443"));

    let ipv6: Vec<&str> = probes("http://[::1]:3000")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ipv6, ["origin-reflected", "null-origin-allowed"]);
    let ip: Vec<&str> = probes("http://127.0.0.1:3000")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(
        !ip.contains(&"unescaped-dot") && ip.contains(&"suffix-match"),
        "{ip:?}"
    );
}

#[tokio::test]
async fn any_origin_reflected_with_credentials() {
    let (found, code) = findings(naive(|_, _| true, true)).await;
    assert!(ids(&found).contains(&"origin-reflected"), "{found:?}");
    assert!(ids(&found).contains(&"null-origin-allowed"), "{found:?}");
    assert!(found
        .iter()
        .all(|(_, credentialed, risk)| *credentialed && risk == "high"));
    assert_eq!(code, 1);
}

#[tokio::test]
async fn suffix_and_prefix_matches() {
    let (found, code) = findings(naive(|o, _| o.ends_with("app.test"), true)).await;
    // `http://app.test` ends with `app.test` too.
    assert_eq!(
        ids(&found),
        ["suffix-match", "http-origin-trusted"],
        "{found:?}"
    );
    assert_eq!(code, 1);
    let (found, _) = findings(naive(|o, _| o.starts_with(ALLOWED), false)).await;
    assert_eq!(
        ids(&found),
        [
            "prefix-match",
            "special-character-underscore",
            "special-character-backtick"
        ],
        "{found:?}"
    );
}

#[tokio::test]
async fn null_and_http_without_credentials_exit_0() {
    let (found, code) = findings(naive(
        |o, _| o == "null" || o == "http://app.test" || o == ALLOWED,
        false,
    ))
    .await;
    assert_eq!(
        ids(&found),
        ["null-origin-allowed", "http-origin-trusted"],
        "{found:?}"
    );
    assert_eq!(found[0].2, "medium");
    assert!(found.iter().all(|(_, credentialed, _)| !credentialed));
    assert_eq!(code, 0);
}

#[tokio::test]
async fn reflection_only_for_sessions_is_found() {
    let (found, code) = findings(naive(|_, cookie| cookie, true)).await;
    assert!(ids(&found).contains(&"origin-reflected"), "{found:?}");
    assert_eq!(code, 1);
}

#[tokio::test]
async fn wildcard_with_credentials_and_unescaped_dot() {
    let (found, code) = findings(wildcard_with_credentials()).await;
    assert_eq!(ids(&found), ["wildcard-with-credentials"], "{found:?}");
    assert_eq!(code, 0);
    let (found, _) = findings(naive(|o, _| o == ALLOWED || o == "https://appxtest", true)).await;
    assert_eq!(ids(&found), ["unescaped-dot"], "{found:?}");
}

#[tokio::test]
async fn a_correct_policy_has_no_finding() {
    let (found, code) = findings(support::correct(ALLOWED)).await;
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(code, 0);
}

#[tokio::test]
async fn unreachable_is_exit_2() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let report = audit(&args(format!("http://127.0.0.1:{port}/"))).await;
    assert_eq!(report.exit_code(), 2);
    assert!(report.to_json()["error"]
        .as_str()
        .is_some_and(|e| e.contains("cannot connect")));
}
