//! Two CORS policies in one axum app: a public, read-only API that any origin may read, and an
//! admin API that only `https://admin.example.com` may call, with cookies.
//!
//! ```text
//! cargo run --example per_route
//! curl -i -X OPTIONS localhost:3000/admin/items/1 -H 'origin: https://admin.example.com' \
//!      -H 'access-control-request-method: PUT' -H 'access-control-request-headers: content-type'
//! ```
//!
//! Where the layers go, and why:
//!
//! - **Each CORS layer with `Router::layer`, on the router that holds its routes, after
//!   them.** It wraps every route whole, *including* axum's answer for methods the route has
//!   no handler for. A preflight is an `OPTIONS` request, and no route here has an `OPTIONS`
//!   handler: the CORS layer must stand in front of that answer. `Router::layer` covers only
//!   the routes added before it.
//! - **Not on a method router or a handler.** `put(h).route_layer(cors)` or
//!   `put(h.layer(cors))` wrap only the handlers of the listed methods; a preflight falls
//!   through to axum's `405 Method Not Allowed` without any `Access-Control-*` header, and the
//!   browser blocks the real request. (`Router::route_layer` wraps each matched route whole in
//!   axum 0.8, so it works too; it leaves out the router's fallback.)
//! - **Authentication inside CORS** (added before the CORS layer, so it runs after it).
//!   Browsers send preflights without cookies or credentials, so an auth layer that sees a
//!   preflight refuses it; inside CORS it never does, because the CORS layer answers
//!   preflights itself. Its `401` still passes back out through CORS, so the page can read it
//!   and send the user to a login page. Auth goes in with `route_layer`, so an unknown path
//!   stays a 404 instead of becoming a 401.
//! - **One CORS layer per request.** Do not also put a CORS layer on the merged app: the outer
//!   one would overwrite the inner one's answer.

use std::error::Error;
use std::time::Duration;

use axum::extract::{Path, Request};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use tower_cors::CorsLayer;

/// The session cookie the admin API accepts; a real app would look the session up.
const SESSION_COOKIE: &str = "session=demo-admin-session";

fn app() -> Result<Router, tower_cors::ConfigError> {
    // Read-only data any site may fetch: no credentials, so `*` is allowed. GET and HEAD need
    // no method list (they are always allowed); nothing else is, so a preflight for PUT fails.
    let public_cors = CorsLayer::builder()
        .allow_any_origin()
        .expose_headers(["x-total-count"])
        .max_age(Duration::from_secs(3600))
        .build()?;
    // One trusted origin, with cookies: origins must be listed, and every header named.
    let admin_cors = CorsLayer::builder()
        .allow_origins(["https://admin.example.com"])
        .allow_credentials(true)
        .allow_methods([Method::PUT, Method::DELETE])
        .allow_headers(["content-type", "x-csrf-token"])
        .expose_headers(["x-request-id"])
        .max_age(Duration::from_secs(600))
        .build()?;

    let public_api = Router::new()
        .route("/api/items", get(list_items))
        .route("/api/items/{id}", get(get_item))
        .layer(public_cors);

    let admin_api = Router::new()
        .route("/admin/items/{id}", put(update_item).delete(delete_item))
        .route_layer(middleware::from_fn(require_session))
        .layer(admin_cors);

    Ok(Router::new().merge(public_api).merge(admin_api))
}

async fn list_items() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::HeaderName::from_static("x-total-count"), "2"),
        ],
        r#"[{"id":1,"name":"apple"},{"id":2,"name":"pear"}]"#,
    )
}

async fn get_item(Path(id): Path<u32>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!(r#"{{"id":{id}}}"#),
    )
}

async fn update_item(Path(id): Path<u32>, body: String) -> impl IntoResponse {
    (
        [(header::HeaderName::from_static("x-request-id"), "req-1")],
        format!("updated {id}: {body}"),
    )
}

async fn delete_item(Path(id): Path<u32>) -> impl IntoResponse {
    (StatusCode::OK, format!("deleted {id}"))
}

/// Lets a request through only with the admin session cookie.
async fn require_session(request: Request, next: Next) -> Response {
    let has_session = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|cookie| cookie.trim() == SESSION_COOKIE);
    if has_session {
        next.run(request).await
    } else {
        (StatusCode::UNAUTHORIZED, "log in first").into_response()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app()?).await?;
    Ok(())
}
