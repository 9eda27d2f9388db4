//! [`CorsLayer`]: the compiled policy as a tower [`Layer`], plus the pure decision API.

use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use tower_layer::Layer;

use crate::builder::CorsBuilder;
use crate::decision::Decision;
use crate::policy::{OriginFuture, Policy};
use crate::service::Cors;

/// A validated CORS policy, usable as a tower [`Layer`].
///
/// Cloning it, and cloning the [`Cors`] services it makes, copies a pointer: the policy is
/// shared behind an [`Arc`].
///
/// ```
/// use tower::{service_fn, ServiceBuilder, ServiceExt};
/// use http::{Request, Response};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cors = tower_cors::CorsLayer::builder()
///     .allow_origins(["https://app.example.com"])
///     .build()?;
/// let svc = ServiceBuilder::new().layer(cors).service(service_fn(|_req: Request<String>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(String::from("hello")))
/// }));
/// let req = Request::get("/").header("origin", "https://app.example.com").body(String::new())?;
/// let res = svc.oneshot(req).await?;
/// assert_eq!(res.headers()["access-control-allow-origin"], "https://app.example.com");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct CorsLayer {
    policy: Arc<Policy>,
}

impl fmt::Debug for CorsLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorsLayer").finish_non_exhaustive()
    }
}

impl CorsLayer {
    /// Starts a policy. See [`CorsBuilder`].
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder().allow_any_origin().build();
    /// assert!(cors.is_ok());
    /// ```
    pub fn builder() -> CorsBuilder {
        CorsBuilder::default()
    }

    pub(crate) fn from_policy(policy: Arc<Policy>) -> Self {
        CorsLayer { policy }
    }

    pub(crate) fn policy_arc(&self) -> Arc<Policy> {
        self.policy.clone()
    }

    /// Decides what the layer would do with a request head, without a service or a runtime.
    /// Allocates nothing: the decision borrows from the policy and the request.
    ///
    /// ```
    /// use tower_cors::{CorsLayer, Decision};
    ///
    /// let cors = CorsLayer::builder()
    ///     .allow_origins(["https://app.example.com"])
    ///     .allow_methods(["PUT"])
    ///     .build()?;
    /// let (parts, ()) = http::Request::options("/api")
    ///     .header("origin", "https://app.example.com")
    ///     .header("access-control-request-method", "PUT")
    ///     .body(())?
    ///     .into_parts();
    /// match cors.evaluate(&parts) {
    ///     Decision::PreflightAccepted { headers, status, .. } => {
    ///         assert_eq!(status, 204);
    ///         let methods = headers.get(&http::header::ACCESS_CONTROL_ALLOW_METHODS).unwrap();
    ///         assert!(methods.to_str()?.contains("PUT"));
    ///     }
    ///     other => panic!("unexpected {other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn evaluate<'a>(&'a self, parts: &'a Parts) -> Decision<'a> {
        self.policy.evaluate(parts, None)
    }

    /// Like [`evaluate`](Self::evaluate), with the asynchronous origin predicate's answer
    /// already known; never returns [`Decision::OriginPending`].
    ///
    /// ```
    /// use tower_cors::{CorsLayer, Decision};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let cors = CorsLayer::builder()
    ///     .allow_origin_async(|origin, _| async move { origin == "https://tenant.example.com" })
    ///     .build()?;
    /// let (parts, ()) = http::Request::get("/")
    ///     .header("origin", "https://tenant.example.com")
    ///     .body(())?
    ///     .into_parts();
    /// assert!(matches!(cors.evaluate(&parts), Decision::OriginPending));
    /// let allowed = cors.check_origin_async(&parts).unwrap().await;
    /// assert!(matches!(
    ///     cors.evaluate_with_origin(&parts, allowed),
    ///     Decision::ActualAllowed { .. }
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    pub fn evaluate_with_origin<'a>(&'a self, parts: &'a Parts, allowed: bool) -> Decision<'a> {
        self.policy.evaluate(parts, Some(allowed))
    }

    /// Starts the asynchronous origin predicates for this request, if the policy has any and
    /// the request has an `Origin`. See [`evaluate_with_origin`](Self::evaluate_with_origin).
    pub fn check_origin_async(&self, parts: &Parts) -> Option<OriginFuture> {
        self.policy.check_origin_async(parts)
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Cors<S> {
        Cors::new(inner, self.policy.clone())
    }
}
