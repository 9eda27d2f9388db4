//! A policy set in real Chromium: one API selects, by origin, a credentialed policy for one
//! page origin and a public any-origin policy for every other, side by side. Each page sees
//! the answer of its own policy, and never the other's: the credentialed origin gets its
//! cookies through, the public origins read without credentials and are refused with them.
//!
//! Skips with a notice when Chromium is missing, unless `CI` is set (or
//! `TOWER_CORS_BROWSER=require`), as the main matrix does.

use std::time::Duration;

use axum::http::Method;
use axum::Router;
use tower_cors::CorsLayer;
use tower_cors_browser_tests::{
    blocked, chromium_version, get, inner_route, locate_chromium, readable, serve_api,
    Credentials::*, Fetch, Hits, Matrix, Page::*, PageServer, Scenario, ServerCheck::*,
    SCENARIO_ROUTE,
};

const SET: &str = "set";

async fn start_api(matrix: &mut Matrix, hits: &Hits) {
    let app_page = matrix.origin(Loopback);
    let set = CorsLayer::set()
        .policy(
            "app",
            CorsLayer::builder()
                .allow_origins([app_page.as_str()])
                .allow_loopback_origins(true)
                .allow_credentials(true)
                .allow_methods([Method::PUT])
                .allow_headers(["x-a"])
                .expose_headers(["x-request-id"]),
        )
        .policy("public", CorsLayer::builder().allow_any_origin())
        .select_by_origin()
        .build()
        .expect("a valid set");
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    let app = Router::new()
        .route(SCENARIO_ROUTE, inner_route(hits))
        .layer(set);
    let port = serve_api(app, hits)
        .await
        .expect("an API server on 127.0.0.1");
    matrix.api(SET, port);
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "set-app-cookie-roundtrip",
            Loopback,
            "the credentialed member: a cookie is set and read back cross-origin",
        )
        .step(
            get(SET, "/s/{id}/cookie/set/c_set_app").credentials(Include),
            readable(200, "set"),
        )
        .step(
            get(SET, "/s/{id}/cookie/read/c_set_app").credentials(Include),
            readable(200, "chip").header("x-request-id", Some("req-42")),
        ),
        Scenario::new(
            "set-app-preflight",
            Loopback,
            "the credentialed member answers its own preflight (PUT, x-a, credentials)",
        )
        .step(
            Fetch::new("PUT", SET, "/s/{id}/echo-method")
                .header("x-a", "1")
                .credentials(Include),
            readable(200, "PUT"),
        )
        .check(PreflightStatuses(&[204])),
        Scenario::new(
            "set-public-read",
            Localhost,
            "another origin gets the public member: readable without credentials",
        )
        .step(
            get(SET, "/s/{id}/ok"),
            // `*` exposes nothing beyond the safelisted headers: the app's exposed header
            // is not the public member's.
            readable(200, "ok").header("x-request-id", None),
        ),
        Scenario::new(
            "set-public-credentials-blocked",
            Localhost,
            "the public member's `*` cannot serve a credentialed request",
        )
        .step(get(SET, "/s/{id}/ok").credentials(Include), blocked())
        .check(InnerCalls(1)),
        Scenario::new(
            "set-public-no-put",
            Subdomain,
            "the public member does not allow PUT: the app member's methods do not leak",
        )
        .step(Fetch::new("PUT", SET, "/s/{id}/echo-method"), blocked())
        .check(PreflightStatuses(&[403]))
        .check(InnerCalls(0)),
        Scenario::new(
            "set-public-then-app",
            Localhost,
            "after a readable public answer, a credentialed request from that origin is still refused",
        )
        .step(get(SET, "/s/{id}/ok"), readable(200, "ok"))
        .step(get(SET, "/s/{id}/ok").credentials(Include), blocked()),
    ]
}

#[test]
fn origin_selected_credentialed_and_public_policies() {
    let required = std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var("TOWER_CORS_BROWSER").is_ok_and(|v| v == "require");
    let chromium = match locate_chromium() {
        Ok(path) => path,
        Err(why) if required => {
            panic!("policy-set browser scenarios: Chromium is required (CI or TOWER_CORS_BROWSER=require) but {why}")
        }
        Err(why) => {
            println!("notice: skipping the policy-set browser scenarios: {why}.");
            return;
        }
    };
    println!(
        "policy-set browser scenarios: {}",
        chromium_version(&chromium).unwrap_or_else(|| "unknown version".to_owned())
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let report = runtime.block_on(async {
        let hits = Hits::default();
        let pages = PageServer::start().await.expect("page server on 127.0.0.1");
        let mut matrix = Matrix::new(chromium, pages, hits.clone());
        start_api(&mut matrix, &hits).await;
        tokio::time::timeout(Duration::from_secs(120), matrix.run(&scenarios()))
            .await
            .expect("the browser finishes in time")
    });
    print!("{}", report.render(false));
    let (passed, total) = report.score();
    println!("policy-set browser scenarios: {passed}/{total} passed");
    assert!(
        total > 0 && passed == total,
        "{passed}/{total} scenarios passed"
    );
}
