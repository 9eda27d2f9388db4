//! Shared by the integration tests that talk HTTP to a real server on loopback.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;

/// Sends one request on a fresh HTTP/1.1 connection, as a browser's fetch would, and collects
/// the body.
pub async fn send<B>(addr: SocketAddr, mut request: Request<B>) -> Response<Bytes>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    request
        .headers_mut()
        .insert(http::header::HOST, addr.to_string().parse().expect("host"));
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let response = sender.send_request(request).await.expect("response");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Response::from_parts(parts, body)
}
