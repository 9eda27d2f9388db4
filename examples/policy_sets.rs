//! One axum app, one CORS layer, two policies chosen by origin: the first-party front end
//! (`https://app.example.com`) gets credentials and write methods, every other origin gets
//! public read access. A stricter candidate (partners only for the public side) is evaluated
//! in the shadow of every request, so its disagreements show up in the log before it is
//! enforced.
//!
//! ```text
//! RUST_LOG=info cargo run --example policy_sets
//! curl -i localhost:3000/items -H 'origin: https://app.example.com'
//! curl -i localhost:3000/items -H 'origin: https://somewhere.example'   # shadow: would_refuse
//! curl -i -X OPTIONS localhost:3000/items -H 'origin: https://app.example.com' \
//!      -H 'access-control-request-method: DELETE'
//! ```

use std::error::Error;

use axum::routing::get;
use axum::Router;
use http::Method;
use tower_cors::{CorsBuilder, CorsLayer};

fn app_policy() -> CorsBuilder {
    CorsLayer::builder()
        .allow_origins(["https://app.example.com"])
        .allow_credentials(true)
        .allow_methods([Method::PUT, Method::DELETE])
        .allow_headers(["content-type"])
}

/// The layer: enforced set, plus the candidate in its shadow.
fn cors() -> Result<CorsLayer, tower_cors::ConfigError> {
    let current = CorsLayer::set()
        .policy("app", app_policy())
        .policy("public", CorsLayer::builder().allow_any_origin())
        .select_by_origin()
        .build()?;
    let candidate = CorsLayer::set()
        .policy("app", app_policy())
        .policy(
            "partners",
            CorsLayer::builder().allow_origins(["https://partner.example"]),
        )
        .select_by_origin()
        .build()?;
    for warning in current.warnings().iter().chain(candidate.warnings()) {
        eprintln!("warning: {warning}");
    }
    Ok(current.with_shadow(candidate, 1.0))
}

fn app() -> Result<Router, Box<dyn Error>> {
    Ok(Router::new()
        .route(
            "/items",
            get(|| async { "[]" }).delete(|| async { "deleted" }),
        )
        .layer(cors()?))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    #[cfg(feature = "tracing")]
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .init();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000");
    axum::serve(listener, app()?).await?;
    Ok(())
}
