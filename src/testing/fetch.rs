//! `fetch`: the browser model's exchange played against a tower service, in process.

use std::future::poll_fn;

use http::{Request, Response};
use tower_service::Service;

use crate::browser::{Exchange, FetchRequest, Verdict};

/// Plays the browser for one `fetch()` against `service` (feature `browser`): the preflight when the browser would
/// send one, then the actual request and each redirect, every answer judged by
/// [`browser`](crate::browser). Each request has an absolute URI (`https://host/path`), a `Host`
/// header and an empty body (`B::default()`); response bodies are not read.
///
/// The request body type comes first, so a service generic over it (an axum `Router`) can
/// name it: `testing::fetch::<axum::body::Body, _, _>(&mut app, &request)`.
///
/// A service error ends the exchange as [`Outcome::Error`](crate::browser::Outcome::Error),
/// like a network failure in the browser. The redirects go to the same `service`, whatever
/// their host.
///
/// ```
/// use http::{Request, Response};
/// use tower::{service_fn, Layer};
/// use tower_cors::browser::{BlockReason, FetchRequest, Stage};
/// use tower_cors::{testing, CorsLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cors = CorsLayer::builder().allow_origins(["https://app.example.com"]).build()?;
/// let mut svc = cors.layer(service_fn(|_req: Request<String>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(String::from("hello")))
/// }));
///
/// let request = FetchRequest::builder("https://api.example.com/", "https://app.example.com")
///     .method("DELETE")
///     .build()?;
/// let verdict = testing::fetch(&mut svc, &request).await;
/// // The layer refuses the preflight with a 403 and no CORS headers.
/// assert_eq!(verdict.reason(), Some(&BlockReason::MissingAllowOrigin));
/// assert_eq!(verdict.stage(), Some(Stage::Preflight));
/// # Ok(())
/// # }
/// ```
pub async fn fetch<B, S, ResBody>(service: &mut S, request: &FetchRequest) -> Verdict
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Error: std::fmt::Display,
    B: Default,
{
    let mut exchange = Exchange::new(request);
    while let Some(next) = exchange.next_request() {
        let (parts, ()) = next.into_parts();
        let request = Request::from_parts(parts, B::default());
        if let Err(err) = poll_fn(|cx| service.poll_ready(cx)).await {
            exchange.fail(err.to_string());
            continue;
        }
        match service.call(request).await {
            Ok(response) => exchange.receive(response.status(), response.headers()),
            Err(err) => exchange.fail(err.to_string()),
        }
    }
    exchange.finish()
}
