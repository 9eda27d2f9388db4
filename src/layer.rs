//! [`CorsLayer`]: the compiled policy as a tower [`Layer`], plus the pure decision API.

use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use tower_layer::Layer;

use crate::builder::CorsBuilder;
use crate::decision::Decision;
use crate::lint::Warning;
use crate::policy::OriginFuture;
use crate::service::Cors;
use crate::set::Engine;
use crate::shadow::Shadow;

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
    engine: Arc<Engine>,
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

    pub(crate) fn from_engine(engine: Arc<Engine>) -> Self {
        CorsLayer { engine }
    }

    pub(crate) fn engine_arc(&self) -> Arc<Engine> {
        self.engine.clone()
    }

    /// The risky but legal settings found when the layer was built, in the order found (each
    /// was also emitted as a `tracing` warn event then). See [`Lint`](crate::Lint).
    ///
    /// ```
    /// use tower_cors::{CorsLayer, Lint};
    ///
    /// let cors = CorsLayer::builder()
    ///     .allow_origin_fn(|origin, _| origin.as_bytes().ends_with(b".example.com"))
    ///     .allow_credentials(true)
    ///     .build()?;
    /// assert_eq!(
    ///     cors.warnings()[0].lint(),
    ///     &Lint::OriginPredicateWithCredentials { predicates: 1 }
    /// );
    /// # Ok::<(), tower_cors::ConfigError>(())
    /// ```
    pub fn warnings(&self) -> &[Warning] {
        &self.engine.warnings
    }

    /// The names of the layer's policies, in the order added (`["default"]` for a
    /// single-policy layer; a set's `"unmatched"` policy is not listed).
    ///
    /// ```
    /// let cors = tower_cors::CorsLayer::builder().allow_any_origin().build()?;
    /// assert_eq!(cors.policy_names().collect::<Vec<_>>(), ["default"]);
    /// # Ok::<(), tower_cors::ConfigError>(())
    /// ```
    pub fn policy_names(&self) -> impl Iterator<Item = &str> {
        self.engine.members().iter().map(|p| &*p.name)
    }

    /// Enforces this layer's policy (or set) and also evaluates `candidate` on a `fraction`
    /// of requests (`1.0`: every one; clamped to `0.0..=1.0`), reporting each disagreement —
    /// the candidate would refuse what is allowed now, or would allow what is refused now —
    /// as a `tracing` info event (with the origin, both policies' names and the refusal's
    /// reason) and, with the `metrics` feature, in `cors_shadow_disagreements_total`.
    /// Responses are exactly those of this layer alone. One random draw per request decides
    /// whether it is evaluated.
    ///
    /// What shadow evaluation can and cannot see (refused preflights hide the request behind
    /// them, cached preflights are not sent): see the crate documentation's section on shadow
    /// evaluation.
    ///
    /// ```
    /// use tower_cors::CorsLayer;
    ///
    /// let current = CorsLayer::builder().allow_any_origin().build()?;
    /// let stricter = CorsLayer::builder().allow_origins(["https://app.example.com"]).build()?;
    /// let cors = current.with_shadow(stricter, 0.25);
    /// # let _ = cors;
    /// # Ok::<(), tower_cors::ConfigError>(())
    /// ```
    pub fn with_shadow(self, candidate: CorsLayer, fraction: f64) -> CorsLayer {
        self.shadowed(candidate, fraction, None)
    }

    /// [`with_shadow`](Self::with_shadow) with the sampling generator seeded, so that which
    /// requests are sampled is the same from run to run (for tests).
    pub fn with_shadow_seeded(self, candidate: CorsLayer, fraction: f64, seed: u64) -> CorsLayer {
        self.shadowed(candidate, fraction, Some(seed))
    }

    fn shadowed(self, candidate: CorsLayer, fraction: f64, seed: Option<u64>) -> CorsLayer {
        let shadow = Shadow::new(candidate.engine, fraction, seed);
        let engine = self.engine.with_extras(Some(shadow), self.engine.record);
        CorsLayer::from_engine(Arc::new(engine))
    }

    /// With `true`, every response carries a [`DecisionSummary`](crate::DecisionSummary) in
    /// its extensions, for outer layers to read. Off by default: inserting an extension
    /// allocates, which the default path does not.
    pub fn record_decision(self, record: bool) -> CorsLayer {
        let shadow = self.engine.shadow.as_ref().map(Shadow::share);
        CorsLayer::from_engine(Arc::new(self.engine.with_extras(shadow, record)))
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
        self.engine.policies[self.engine.select(parts)].evaluate(parts, None)
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
        self.engine.policies[self.engine.select(parts)].evaluate(parts, Some(allowed))
    }

    /// Starts the asynchronous origin predicates for this request, if the policy has any and
    /// the request has an `Origin`. See [`evaluate_with_origin`](Self::evaluate_with_origin).
    pub fn check_origin_async(&self, parts: &Parts) -> Option<OriginFuture> {
        self.engine.policies[self.engine.select(parts)].check_origin_async(parts)
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Cors<S> {
        Cors::new(inner, &self.engine)
    }
}
