//! Hot reload: a layer whose policy can be swapped atomically while it serves requests.
//!
//! Each request loads the current policy once and uses it to the end, so every response
//! follows one whole policy, never a mix of an old and a new one.

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tower_layer::Layer;

use crate::builder::CorsBuilder;
use crate::error::ConfigError;
use crate::layer::CorsLayer;
use crate::service::{Cors, Loaded, PolicySource};
use crate::set::CorsSetBuilder;

/// A [`CorsLayer`] whose policy a [`ReloadHandle`] can replace at run time.
///
/// Made by [`CorsLayer::into_reloadable`]. Its services are the same [`Cors`] type as a fixed
/// layer's; per request they pay one extra atomic load.
///
/// ```
/// use tower::{service_fn, Layer};
/// use http::{Request, Response};
///
/// let (layer, handle) = tower_cors::CorsLayer::builder()
///     .allow_origins(["https://app.example.com"])
///     .build()?
///     .into_reloadable();
/// let svc = layer.layer(service_fn(|_req: Request<String>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
/// }));
/// handle.reload(tower_cors::CorsLayer::builder().allow_any_origin())?;
/// # let _ = (svc, layer.current());
/// # Ok::<(), tower_cors::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ReloadableCorsLayer {
    current: Arc<ArcSwap<Loaded>>,
}

/// Replaces the policy of a [`ReloadableCorsLayer`] and of every service it made.
///
/// ```
/// use tower_cors::CorsLayer;
///
/// let (layer, handle) = CorsLayer::builder()
///     .allow_origins(["https://old.example.com"])
///     .build()?
///     .into_reloadable();
/// // An invalid policy is refused, and the old one stays.
/// assert!(handle.reload(CorsLayer::builder().allow_origins(["nope"])).is_err());
/// handle.reload(CorsLayer::builder().allow_origins(["https://new.example.com"]))?;
/// let (parts, ()) = http::Request::get("/")
///     .header("origin", "https://new.example.com")
///     .body(())?
///     .into_parts();
/// assert!(matches!(
///     handle.current().evaluate(&parts),
///     tower_cors::Decision::ActualAllowed { .. }
/// ));
/// # let _ = layer;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ReloadHandle {
    current: Arc<ArcSwap<Loaded>>,
}

impl CorsLayer {
    /// Makes this layer reloadable: returns the layer to install and the handle that swaps its
    /// policy.
    pub fn into_reloadable(self) -> (ReloadableCorsLayer, ReloadHandle) {
        let current = Arc::new(ArcSwap::new(Arc::new(Loaded::new(self.engine_arc()))));
        (
            ReloadableCorsLayer {
                current: current.clone(),
            },
            ReloadHandle { current },
        )
    }
}

impl ReloadableCorsLayer {
    /// A fixed layer with the policy in force now (for [`CorsLayer::evaluate`]).
    pub fn current(&self) -> CorsLayer {
        CorsLayer::from_engine(self.current.load().engine.clone())
    }
}

impl ReloadHandle {
    /// Builds `builder` and, if it is valid, makes it the policy of every request that starts
    /// from now on. Requests in flight finish with the policy they started with. On error
    /// nothing changes.
    pub fn reload(&self, builder: CorsBuilder) -> Result<(), ConfigError> {
        let layer = builder.build()?;
        self.replace(layer);
        Ok(())
    }

    /// Builds a policy set and, if it is valid, makes the whole set current, the same way:
    /// every request that starts from now on is answered by the new set, every request in
    /// flight by the old one, never by a mix.
    ///
    /// ```
    /// use tower_cors::CorsLayer;
    ///
    /// let (layer, handle) = CorsLayer::builder().allow_any_origin().build()?.into_reloadable();
    /// handle.reload_set(
    ///     CorsLayer::set()
    ///         .policy("app", CorsLayer::builder().allow_origins(["https://app.example.com"]))
    ///         .policy("public", CorsLayer::builder().allow_any_origin())
    ///         .select_by_origin(),
    /// )?;
    /// assert_eq!(handle.current().policy_names().count(), 2);
    /// # let _ = layer;
    /// # Ok::<(), tower_cors::ConfigError>(())
    /// ```
    pub fn reload_set(&self, set: CorsSetBuilder) -> Result<(), ConfigError> {
        let layer = set.build()?;
        self.replace(layer);
        Ok(())
    }

    /// Makes an already built layer's policy (or whole policy set, with its shadow candidate
    /// and recording) the current one, in one atomic swap.
    pub fn replace(&self, layer: CorsLayer) {
        self.current
            .store(Arc::new(Loaded::new(layer.engine_arc())));
    }

    /// A fixed layer with the policy in force now.
    pub fn current(&self) -> CorsLayer {
        CorsLayer::from_engine(self.current.load().engine.clone())
    }
}

impl<S> Layer<S> for ReloadableCorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Cors<S> {
        Cors::with_source(inner, PolicySource::Reloadable(self.current.clone()))
    }
}

impl fmt::Debug for ReloadableCorsLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadableCorsLayer")
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ReloadHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadHandle").finish_non_exhaustive()
    }
}
