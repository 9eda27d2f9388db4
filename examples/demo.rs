//! A two-origin demo to open in a browser: an API on `http://127.0.0.1:3000` behind
//! `tower-cors`, and a page on `http://127.0.0.1:8080` whose script calls it.
//!
//! ```text
//! cargo run --example demo
//! ```
//!
//! Then open the page URL it prints. The page makes a simple GET, a credentialed, preflighted
//! PUT with a custom header, reads an exposed header, and tries one call the policy refuses;
//! the terminal shows why it was refused. `DEMO_API_ADDR` and `DEMO_PAGE_ADDR` override the
//! addresses.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Path;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Router, ServiceExt};
use tower::Layer;
use tower_cors::CorsLayer;

fn addr(var: &str, default: &str) -> SocketAddr {
    let value = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    value
        .parse()
        .unwrap_or_else(|e| panic!("{var}={value:?} is not an address like 127.0.0.1:3000: {e}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // tower-cors reports each refusal as a debug event; show them in the terminal.
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
        .with_target(false)
        .init();

    let api_addr = addr("DEMO_API_ADDR", "127.0.0.1:3000");
    let page_addr = addr("DEMO_PAGE_ADDR", "127.0.0.1:8080");
    let page_origin = format!("http://{page_addr}");
    let api_origin = format!("http://{api_addr}");

    // The policy: only the page's origin, with cookies; PUT and DELETE beyond the safelisted
    // methods; one custom request header; one readable response header.
    let cors = CorsLayer::builder()
        .allow_origins([page_origin.as_str()])
        .allow_credentials(true)
        .allow_methods([Method::PUT, Method::DELETE])
        .allow_headers(["content-type", "x-demo-client"])
        .expose_headers(["x-request-id"])
        .max_age(Duration::from_secs(600))
        .build()?;

    // CORS wraps the whole API router as a service, so preflights are answered before routing
    // (no 405 for OPTIONS) and before any authentication a real app would add inside it.
    let routes = Router::new()
        .route("/", get(|| async { "tower-cors demo API" }))
        .route("/api/hello", get(hello))
        .route("/api/login", get(login))
        .route("/api/items/{id}", get(hello).put(put_item).patch(put_item));
    let api = cors.layer(routes);

    let page_html = PAGE.replace("API_ORIGIN", &api_origin);
    let page = Router::new().route("/", get(move || async move { Html(page_html) }));

    let api_listener = tokio::net::TcpListener::bind(api_addr).await?;
    let page_listener = tokio::net::TcpListener::bind(page_addr).await?;
    println!("API  listening on {api_origin}/");
    println!("Page listening on {page_origin}/  <- open this in a browser");
    tokio::try_join!(
        async {
            let api = ServiceExt::<axum::extract::Request>::into_make_service(api);
            axum::serve(api_listener, api).await
        },
        async { axum::serve(page_listener, page).await },
    )?;
    Ok(())
}

async fn hello() -> impl IntoResponse {
    ([("x-request-id", "demo-42")], "hello from the API")
}

async fn login() -> impl IntoResponse {
    // Page and API share the host 127.0.0.1, so this cookie is same-site for the page and a
    // Lax cookie is sent on its credentialed requests.
    (
        [(
            header::SET_COOKIE,
            "demo_session=s3cr3t; Path=/; SameSite=Lax; HttpOnly",
        )],
        "logged in",
    )
}

async fn put_item(
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)");
    let client = headers
        .get("x-demo-client")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)");
    (
        StatusCode::OK,
        format!("{method} item {id}: body={body:?} cookie={cookie} x-demo-client={client}"),
    )
}

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tower-cors demo</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
  li { margin: .5rem 0; }
  .ok { color: #0a7a28; } .fail { color: #b00020; }
  code { background: #f2f2f2; padding: 0 .25rem; }
</style>
</head>
<body>
<h1>tower-cors demo</h1>
<p>This page is served from <code id="page"></code>; the API lives on <code>API_ORIGIN</code>,
another origin, behind a <code>CorsLayer</code> that allows only this page's origin, with
credentials.</p>
<button id="run">Run again</button>
<ol id="results"></ol>
<script>
const API = "API_ORIGIN";
document.getElementById("page").textContent = location.origin;

const checks = [
  ["Simple GET (no preflight)", async () => {
    const r = await fetch(API + "/api/hello");
    return `${r.status}: ${await r.text()}`;
  }],
  ["Read an exposed header (x-request-id)", async () => {
    const r = await fetch(API + "/api/hello");
    const id = r.headers.get("x-request-id");
    if (id === null) throw new Error("x-request-id not readable");
    return `x-request-id = ${id}`;
  }],
  ["Log in: the API sets a cookie (credentials: 'include')", async () => {
    const r = await fetch(API + "/api/login", { credentials: "include" });
    return `${r.status}: ${await r.text()}`;
  }],
  ["Preflighted PUT with a custom header and credentials", async () => {
    const r = await fetch(API + "/api/items/7", {
      method: "PUT",
      credentials: "include",
      headers: { "content-type": "application/json", "x-demo-client": "demo-page" },
      body: JSON.stringify({ name: "seven" }),
    });
    return `${r.status}: ${await r.text()}`;
  }],
  ["Refused by the policy: PATCH is not an allowed method", async () => {
    const r = await fetch(API + "/api/items/7", { method: "PATCH", body: "x" });
    return `unexpectedly allowed: ${r.status}`;
  }, true],
];

async function run() {
  const list = document.getElementById("results");
  list.textContent = "";
  for (const [name, check, expectFailure] of checks) {
    const li = document.createElement("li");
    list.appendChild(li);
    try {
      const detail = await check();
      li.className = expectFailure ? "fail" : "ok";
      li.textContent = `${expectFailure ? "✗" : "✓"} ${name}: ${detail}`;
    } catch (e) {
      li.className = expectFailure ? "ok" : "fail";
      li.textContent = expectFailure
        ? `✓ ${name}: the browser blocked it (${e.message}); the API's terminal says why`
        : `✗ ${name}: ${e.message} (see the console)`;
    }
  }
}
document.getElementById("run").addEventListener("click", run);
run();
</script>
</body>
</html>
"#;
