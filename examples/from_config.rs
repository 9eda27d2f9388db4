//! A policy from a TOML file, with environment variables on top, served by axum.
//!
//! ```text
//! cargo run --example from_config --features serde -- examples/cors.toml
//! CORS_ALLOW_ORIGINS=https://other.example.com CORS_MAX_AGE=1h \
//!     cargo run --example from_config --features serde -- examples/cors.toml
//! ```
//!
//! A bad value stops the server before it listens, with every problem listed, for instance
//! `CORS_MAX_AGE=forever` or `allow_origins = ["https://example.com/"]` in the file.

use std::error::Error;

use axum::routing::get;
use axum::Router;
use tower_cors::CorsConfig;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/cors.toml").into());
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // Syntax and type errors (with line and column) come from the TOML parser; the values
    // themselves are checked by `build`, which lists every problem at once.
    let config: CorsConfig = toml::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let config = config.merge_env("CORS_")?;
    println!("CORS policy: {config:#?}");
    let cors = config.build()?;

    let app = Router::new()
        .route("/api/items", get(|| async { "[]" }))
        .layer(cors);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
