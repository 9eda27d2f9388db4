//! The proxy mounted inside an axum app, as a tower service: paths are relative to the mount,
//! rewritten `Location`s point back through `base_path`, the app's other routes are untouched.

mod common;

use std::net::SocketAddr;

use axum::routing::get as route_get;
use axum::Router;
use common::*;

#[tokio::test]
async fn nested_in_an_axum_router() {
    let (up, log) = upstream().await;
    let toml = format!(
        r#"
base_path = "/api"
[cors]
allow_origins = ["{APP}"]
[limits]
rate_limit_per_minute = 1
rate_limit_burst = 2
[[routes]]
path = "/up"
upstream = "http://{up}"
"#
    );
    let proxy = build_proxy(&toml, &[], TableResolver::default()).expect("valid");
    let app = Router::new()
        .route("/", route_get(|| async { "the app itself" }))
        .nest_service("/api", proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    let url = |path: &str| format!("http://{addr}{path}");

    let got = get(&url("/"), &[]).await;
    assert_eq!(got.text(), "the app itself");
    let got = get(&url("/api/up/echo/x?q=1"), &[("origin", APP)]).await;
    assert_eq!(got.status, 200);
    assert!(got.text().starts_with("GET /echo/x?q=1"), "{}", got.text());
    assert_eq!(got.header("access-control-allow-origin"), Some(APP));
    assert_eq!(log.last().uri, "/echo/x?q=1");
    let got = get(&url("/api/up/redirect/1"), &[("origin", APP)]).await;
    assert_eq!(got.header("location"), Some("/api/up/redirect/0"));
    // The third request through the proxy within the minute is over the burst of two.
    let got = get(&url("/api/up/echo"), &[("origin", APP)]).await;
    assert_eq!(got.status, 429);
    assert_eq!(got.header("access-control-allow-origin"), Some(APP));
}
