//! [`Cors`]: the tower service. It asks the policy for a decision and carries it out: answer a
//! preflight itself, or call the inner service and decorate its response.

use std::mem;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::request::Parts;
use http::{Request, Response, StatusCode};
use tower_service::Service;

use crate::decision::{ActualHeaders, ExtraVary, OwnedCorsHeaders};
use crate::decision::{CorsHeaders, Decision, Rejection};
use crate::future::ResponseFuture;
use crate::policy::{Policy, RequestHead};
use crate::set::Engine;
use crate::summary::DecisionSummary;

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
    /// A single policy and nothing else: the fast path, borrowed per request.
    Plain(Arc<Policy>),
    /// A policy set, shadow evaluation or recorded decisions.
    Engine(Arc<Engine>),
    /// Whatever a [`ReloadHandle`](crate::ReloadHandle) last stored, loaded once per request.
    Reloadable(Arc<arc_swap::ArcSwap<Loaded>>),
}

/// What a reloadable layer holds: the engine, and its single policy (when it is one) one
/// pointer away, so a request does not read the engine's flag and member list to reach it.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) engine: Arc<Engine>,
    plain: Option<Arc<Policy>>,
}

impl Loaded {
    pub(crate) fn new(engine: Arc<Engine>) -> Self {
        Loaded {
            plain: engine.plain().cloned(),
            engine,
        }
    }
}

/// Who decides a request once its asynchronous origin check is answered.
pub(crate) enum Decider {
    Plain(Arc<Policy>),
    Engine(Arc<Engine>, usize),
}

impl Decider {
    pub(crate) fn policy(&self) -> &Policy {
        match self {
            Decider::Plain(policy) => policy,
            Decider::Engine(engine, index) => &engine.policies[*index],
        }
    }

    /// The plan once the asynchronous predicate answered `allowed`.
    pub(crate) fn decide<R: Default>(&self, parts: &Parts, allowed: bool) -> (Plan<R>, Extras) {
        match self {
            Decider::Plain(policy) => {
                let decision = policy.evaluate(parts, Some(allowed));
                #[cfg(feature = "metrics")]
                crate::metrics::request(&decision);
                (plan(decision), Extras::default())
            }
            Decider::Engine(engine, index) => decide(engine, *index, parts, Some(allowed)),
        }
    }
}

impl<S> Cors<S> {
    pub(crate) fn new(inner: S, engine: &Arc<Engine>) -> Self {
        let source = match engine.plain() {
            Some(policy) => PolicySource::Plain(policy.clone()),
            None => PolicySource::Engine(engine.clone()),
        };
        Cors::with_source(inner, source)
    }

    pub(crate) fn with_source(inner: S, source: PolicySource) -> Self {
        Cors { inner, source }
    }

    /// The inner service.
    ///
    /// ```
    /// use tower::Layer;
    ///
    /// let cors = tower_cors::CorsLayer::builder().allow_any_origin().build()?;
    /// let mut svc = cors.layer(42);
    /// assert_eq!(*svc.get_ref(), 42);
    /// *svc.get_mut() += 1;
    /// assert_eq!(svc.into_inner(), 43);
    /// # Ok::<(), tower_cors::ConfigError>(())
    /// ```
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

/// What to do with a request once its decision is known, detached from the borrows of the
/// decision so the request can move on.
pub(crate) enum Plan<R> {
    /// Answer without calling the inner service.
    Respond(Response<R>),
    /// Call the inner service and add these headers to its response.
    Call(ActualHeaders),
    /// Call the inner service with an accepted preflight and add these headers.
    PassThrough(OwnedCorsHeaders),
    /// Await the asynchronous origin check first.
    Pending,
}

/// Turns a decision into a plan. Always inlined: built on the stack and read back piecemeal,
/// the decision cost a stalled load per request (the processor could not forward the narrow
/// stores to the wide load); inlined, its fields stay in registers.
///
/// The decision is matched by reference: moving a variant out copies it with wide loads of
/// fields just written with narrow stores, which the processor cannot forward either.
#[inline(always)]
pub(crate) fn plan<R: Default>(decision: Decision<'_>) -> Plan<R> {
    match &decision {
        Decision::NotCors { headers } | Decision::ActualAllowed { headers } => {
            Plan::Call(headers.to_actual())
        }
        Decision::ActualDenied(rejection) => {
            log_rejection(rejection, false);
            Plan::Call(rejection.headers().to_actual())
        }
        Decision::PreflightAccepted {
            headers,
            status,
            pass_through,
        } => {
            if *pass_through {
                Plan::PassThrough(headers.to_owned_headers())
            } else {
                Plan::Respond(respond(*status, headers))
            }
        }
        Decision::PreflightRejected(rejection) => {
            log_rejection(rejection, true);
            Plan::Respond(respond(StatusCode::FORBIDDEN, rejection.headers()))
        }
        Decision::OriginPending => Plan::Pending,
    }
}

/// Builds a preflight's answer, out of line: its response is built in its own stack frame
/// rather than in `Cors::call`'s, which every request sets up.
#[inline(never)]
fn respond<R: Default>(status: StatusCode, headers: &CorsHeaders<'_>) -> Response<R> {
    let mut response = Response::new(R::default());
    *response.status_mut() = status;
    headers.write_fresh(response.headers_mut());
    response
}

/// Checked inline so that, with no subscriber listening, a refusal costs one load and no
/// call: an out-of-line call needs the rejection written to memory first, which the refused
/// request's path otherwise keeps in registers.
#[cfg(feature = "tracing")]
#[inline(always)]
fn log_rejection(rejection: &Rejection<'_>, preflight: bool) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        emit_rejection(rejection, preflight);
    }
}

#[cfg(feature = "tracing")]
#[cold]
#[inline(never)]
fn emit_rejection(rejection: &Rejection<'_>, preflight: bool) {
    let origin = String::from_utf8_lossy(rejection.origin().as_bytes());
    let reason = rejection.reason();
    let policy = rejection.policy();
    if preflight {
        tracing::debug!(%origin, %reason, policy, "CORS preflight refused");
    } else {
        tracing::debug!(%origin, %reason, policy, "CORS request refused: response sent without CORS headers");
    }
}

#[cfg(not(feature = "tracing"))]
fn log_rejection(_rejection: &Rejection<'_>, _preflight: bool) {}

/// A single policy's path, written out where it is used rather than called: the fixed policy's
/// [`call_plain`] and a reloadable layer's [`call_loaded`] expand it. Handed to a function by
/// value, the request (256 bytes) is copied on the way in wherever the caller may still have
/// to drop it on unwinding, as `call_loaded` must around its `arc-swap` load; expanded, it is
/// read where it stands and moved once, into the inner service.
///
/// A preflight's answer is returned before the request reaches
/// [`ResponseFuture::start`]: with both moves of the request in one place, the compiler copied
/// it for every request, answered or not.
macro_rules! serve_plain {
    ($inner:expr, $policy:expr, $request:ident) => {{
        let inner = $inner;
        let policy: &Arc<Policy> = $policy;
        if policy.needs_parts() {
            call_with_parts(inner, policy, $request)
        } else {
            // Decided on the request where it stands: taking its head apart and putting it
            // back would cost more than the decision.
            let decision = policy.evaluate(&$request, None);
            #[cfg(feature = "metrics")]
            crate::metrics::request(&decision);
            match plan(decision) {
                Plan::Pending => {
                    let (parts, body) = $request.into_parts();
                    await_origin(inner, Decider::Plain(policy.clone()), parts, body)
                }
                Plan::Respond(response) => {
                    drop($request);
                    ResponseFuture::answered(response)
                }
                plan => ResponseFuture::start(plan, policy, inner, $request),
            }
        }
    }};
}

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
        // Only a dispatch: each source's path is out of line. With the single policy's path
        // written out here, the other sources' code made the compiler copy the request once
        // more before deciding, on every path.
        match &self.source {
            PolicySource::Plain(policy) => call_plain(&mut self.inner, policy, request),
            source => call_loaded(&mut self.inner, source, request),
        }
    }
}

/// [`Cors::call`] for a policy set or a reloadable layer. One load per request: the whole
/// exchange follows this policy (or set) even if it is reloaded meanwhile. The decision is
/// carried out with owned headers, so the policy is only borrowed (a reference count is taken
/// only to await an asynchronous origin check).
#[inline(never)]
fn call_loaded<S, B, R>(
    inner: &mut S,
    source: &PolicySource,
    request: Request<B>,
) -> ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<R>> + Clone,
    R: Default,
{
    match source {
        PolicySource::Plain(policy) => call_plain(inner, policy, request),
        PolicySource::Engine(engine) => call_engine(inner, engine, request),
        PolicySource::Reloadable(current) => {
            let loaded = current.load();
            match &loaded.plain {
                Some(policy) => serve_plain!(inner, policy, request),
                None => call_engine(inner, &loaded.engine, request),
            }
        }
    }
}

/// [`Cors::call`] for a fixed single policy.
#[inline(never)]
fn call_plain<S, B, R>(
    inner: &mut S,
    policy: &Arc<Policy>,
    request: Request<B>,
) -> ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<R>> + Clone,
    R: Default,
{
    serve_plain!(inner, policy, request)
}

/// [`Cors::call`] for a single policy with synchronous origin predicates, which take the
/// request's `Parts`. Out of line, so that the other policies' requests do not pay for its
/// stack.
#[inline(never)]
fn call_with_parts<S, B, R>(
    inner: &mut S,
    policy: &Arc<Policy>,
    request: Request<B>,
) -> ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<R>> + Clone,
    R: Default,
{
    let (parts, body) = request.into_parts();
    let decision = policy.evaluate(&parts, None);
    #[cfg(feature = "metrics")]
    crate::metrics::request(&decision);
    match plan(decision) {
        Plan::Pending => await_origin(inner, Decider::Plain(policy.clone()), parts, body),
        plan => {
            let request = Request::from_parts(parts, body);
            ResponseFuture::start(plan, policy, inner, request)
        }
    }
}

/// [`Cors::call`] for a policy set, a shadow candidate or recorded decisions: select the
/// policy, decide, compare with the candidate, record. Out of line, like
/// [`call_with_parts`].
#[inline(never)]
fn call_engine<S, B, R>(
    inner: &mut S,
    engine: &Arc<Engine>,
    request: Request<B>,
) -> ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<R>> + Clone,
    R: Default,
{
    if engine.needs_parts() {
        let (parts, body) = request.into_parts();
        let index = engine.select(&parts);
        match decide(engine, index, &parts, None) {
            (Plan::Pending, _) => {
                await_origin(inner, Decider::Engine(engine.clone(), index), parts, body)
            }
            (plan, extras) => {
                let request = Request::from_parts(parts, body);
                ResponseFuture::start_recorded(
                    plan,
                    extras,
                    &engine.policies[index],
                    inner,
                    request,
                )
            }
        }
    } else {
        let index = engine.select(&request);
        match decide(engine, index, &request, None) {
            (Plan::Pending, _) => {
                let (parts, body) = request.into_parts();
                await_origin(inner, Decider::Engine(engine.clone(), index), parts, body)
            }
            (Plan::Respond(response), extras) => {
                drop(request);
                ResponseFuture::answered_recorded(response, extras)
            }
            (plan, extras) => ResponseFuture::start_recorded(
                plan,
                extras,
                &engine.policies[index],
                inner,
                request,
            ),
        }
    }
}

/// What a policy set's response gets besides its plan: the recorded decision, and the `Vary`
/// naming a selector's headers (for an actual request; answers the layer writes carry it).
#[derive(Default)]
pub(crate) struct Extras {
    pub(crate) summary: Option<DecisionSummary>,
    pub(crate) vary: Option<ExtraVary>,
}

impl Extras {
    pub(crate) fn is_empty(&self) -> bool {
        self.summary.is_none() && self.vary.is_none()
    }
}

/// Decides with policy `index` of `engine` (with the asynchronous predicate's `answer`, once
/// known), shows the decision to the shadow candidate and the metrics, and plans.
pub(crate) fn decide<H: RequestHead, R: Default>(
    engine: &Engine,
    index: usize,
    head: &H,
    answer: Option<bool>,
) -> (Plan<R>, Extras) {
    let policy = &engine.policies[index];
    let decision = policy.evaluate(head, answer);
    if let Some(shadow) = &engine.shadow {
        shadow.observe(&decision, head);
    }
    #[cfg(feature = "metrics")]
    crate::metrics::request(&decision);
    let extras = Extras {
        summary: if engine.record {
            DecisionSummary::of(&decision, index)
        } else {
            None
        },
        vary: decision.headers().and_then(CorsHeaders::extra_vary),
    };
    (plan(decision), extras)
}

/// Starts the asynchronous origin check of the deciding policy. The service that was polled
/// ready goes into the future, to be called once the answer is in, and a clone takes its place.
#[cold]
#[inline(never)]
fn await_origin<S, B, R>(
    inner: &mut S,
    decider: Decider,
    parts: Parts,
    body: B,
) -> ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<R>> + Clone,
    R: Default,
{
    match decider.policy().check_origin_async(&parts) {
        Some(check) => {
            let clone = inner.clone();
            let ready = mem::replace(inner, clone);
            ResponseFuture::origin(check, parts, body, ready, decider)
        }
        // Unreachable: the policy only asks for a check it can start. Fail closed.
        None => {
            let policy = decider.policy();
            let plan = Plan::Call(policy.denied_headers().to_actual());
            ResponseFuture::start(plan, policy, inner, Request::from_parts(parts, body))
        }
    }
}
