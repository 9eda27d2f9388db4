//! A tonic gRPC service for browsers: gRPC-web through `tonic-web`, with CORS for one origin.
//!
//! The service is tonic-health's `grpc.health.v1.Health`, which ships its generated code, so
//! nothing here needs `protoc`.
//!
//! ```text
//! cargo run --example grpc_web
//! # The preflight a browser sends before a gRPC-web call:
//! curl -i -X OPTIONS localhost:50051/grpc.health.v1.Health/Check \
//!      -H 'origin: http://localhost:5173' -H 'access-control-request-method: POST' \
//!      -H 'access-control-request-headers: content-type,x-grpc-web,x-user-agent'
//! # The call itself (an empty HealthCheckRequest: 5 bytes of frame header):
//! printf '\0\0\0\0\0' | curl -si localhost:50051/grpc.health.v1.Health/Check \
//!      -H 'origin: http://localhost:5173' -H 'content-type: application/grpc-web+proto' \
//!      -H 'x-grpc-web: 1' --data-binary @- | head -c 400
//! ```
//!
//! Layer order matters: tonic's `Server::layer` wraps later layers inside earlier ones, so the
//! CORS layer goes first (outermost). It answers preflights before they reach the gRPC-web
//! translation, and it adds `Access-Control-*` headers to every gRPC-web response on the way
//! out.

use std::error::Error;

use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_web::GrpcWebLayer;
use tower_cors::CorsLayer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("demo.Greeter", ServingStatus::Serving)
        .await;

    // Origins stay explicit; `grpc_web()` adds the headers, methods and max-age that
    // gRPC-web and Connect clients need.
    let cors = CorsLayer::builder()
        .allow_origins(["http://localhost:5173", "https://app.example.com"])
        .grpc_web()
        .build()?;

    let addr = "127.0.0.1:50051".parse()?;
    println!("gRPC and gRPC-web on http://{addr}");
    Server::builder()
        // Browsers speak gRPC-web over HTTP/1.1 as well as HTTP/2.
        .accept_http1(true)
        .layer(cors)
        .layer(GrpcWebLayer::new())
        .add_service(health)
        .serve(addr)
        .await?;
    Ok(())
}
