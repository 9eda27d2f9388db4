//! [`Cors`]: the tower service. It asks the policy for a decision and carries it out: answer a
//! preflight itself, or call the inner service and decorate its response.

use std::mem;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response, StatusCode};
use tower_service::Service;

use crate::decision::{CorsHeaders, Decision, Rejection};
use crate::future::{Finish, ResponseFuture};
use crate::policy::Policy;

/// A service wrapped by a [`CorsLayer`](crate::CorsLayer).
///
/// It needs `S: Clone` for one case only: when an asynchronous origin predicate must be awaited
/// before the inner service may be called, the service that was polled ready is moved into the
/// response future and a clone takes its place (the usual tower pattern). Cloning `Cors<S>`
/// itself clones `S` and a pointer to the shared policy.
///
/// ```
/// use tower::{service_fn, Layer, ServiceExt};
/// use http::{Request, Response};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let layer = tower_cors::CorsLayer::builder().allow_any_origin().build()?;
/// let svc = layer.layer(service_fn(|_req: Request<String>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
/// }));
/// let preflight = Request::options("/")
///     .header("origin", "https://anywhere.example")
///     .header("access-control-request-method", "GET")
///     .body(String::new())?;
/// let res = svc.oneshot(preflight).await?;
/// assert_eq!(res.status(), 204);
/// assert_eq!(res.headers()["access-control-allow-origin"], "*");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Cors<S> {
    inner: S,
    source: PolicySource,
}

/// Where a service finds its policy.
#[derive(Debug, Clone)]
pub(crate) enum PolicySource {
    Fixed(Arc<Policy>),
    Reloadable(Arc<arc_swap::ArcSwap<Policy>>),
}

impl PolicySource {
    fn load(&self) -> Arc<Policy> {
        match self {
            PolicySource::Fixed(policy) => policy.clone(),
            PolicySource::Reloadable(current) => current.load_full(),
        }
    }
}

impl<S> Cors<S> {
    pub(crate) fn new(inner: S, policy: Arc<Policy>) -> Self {
        Cors::with_source(inner, PolicySource::Fixed(policy))
    }

    pub(crate) fn with_source(inner: S, source: PolicySource) -> Self {
        Cors { inner, source }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy").finish_non_exhaustive()
    }
}

/// What to do with a request once its decision is known, detached from the borrows of the
/// decision so the request can move on.
pub(crate) enum Plan<R> {
    Respond(Response<R>),
    Call(Finish),
    Pending,
}

pub(crate) fn plan<R: Default>(decision: Decision<'_>) -> Plan<R> {
    match decision {
        Decision::NotCors { .. } => Plan::Call(Finish::NotCors),
        Decision::ActualAllowed { headers } => match headers.allow_origin {
            Some(origin) => Plan::Call(Finish::Allowed(origin.clone())),
            None => Plan::Call(Finish::Denied),
        },
        Decision::ActualDenied(rejection) => {
            log_rejection(&rejection, false);
            Plan::Call(Finish::Denied)
        }
        Decision::PreflightAccepted {
            headers,
            status,
            pass_through,
        } => {
            if pass_through {
                Plan::Call(Finish::PassThrough(headers.to_owned_headers()))
            } else {
                Plan::Respond(respond(status, &headers))
            }
        }
        Decision::PreflightRejected(rejection) => {
            log_rejection(&rejection, true);
            Plan::Respond(respond(StatusCode::FORBIDDEN, rejection.headers()))
        }
        Decision::OriginPending => Plan::Pending,
    }
}

fn respond<R: Default>(status: StatusCode, headers: &CorsHeaders<'_>) -> Response<R> {
    let mut response = Response::new(R::default());
    *response.status_mut() = status;
    headers.write_fresh(response.headers_mut());
    response
}

#[cfg(feature = "tracing")]
fn log_rejection(rejection: &Rejection<'_>, preflight: bool) {
    let origin = String::from_utf8_lossy(rejection.origin().as_bytes());
    let reason = rejection.reason();
    if preflight {
        tracing::debug!(%origin, %reason, "CORS preflight refused");
    } else {
        tracing::debug!(%origin, %reason, "CORS request refused: response sent without CORS headers");
    }
}

#[cfg(not(feature = "tracing"))]
fn log_rejection(_rejection: &Rejection<'_>, _preflight: bool) {}

impl<S, B, R> Service<Request<B>> for Cors<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone,
    R: Default,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = ResponseFuture<S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (parts, body) = request.into_parts();
        // One load per request: the whole exchange follows this policy even if it is reloaded
        // meanwhile.
        let policy = self.source.load();
        match plan(policy.evaluate(&parts, None)) {
            Plan::Respond(response) => ResponseFuture::ready(response),
            Plan::Call(finish) => ResponseFuture::inner(
                self.inner.call(Request::from_parts(parts, body)),
                policy,
                finish,
            ),
            Plan::Pending => match policy.check_origin_async(&parts) {
                Some(check) => {
                    let clone = self.inner.clone();
                    let ready = mem::replace(&mut self.inner, clone);
                    ResponseFuture::origin(check, parts, body, ready, policy)
                }
                // Unreachable: the policy only asks for a check it can start.
                None => ResponseFuture::inner(
                    self.inner.call(Request::from_parts(parts, body)),
                    policy,
                    Finish::Denied,
                ),
            },
        }
    }
}
