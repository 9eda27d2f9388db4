//! [`ResponseFuture`]: waits for the asynchronous origin check when there is one, then for the
//! inner service, and decorates its response. It completes in the same poll as the inner future.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::request::Parts;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::decision::{ActualHeaders, OwnedCorsHeaders};
use crate::policy::{OriginFuture, Policy};
use crate::service::{Decider, Extras, Plan};
use crate::summary::DecisionSummary;

pin_project! {
    /// The response future of [`Cors`](crate::Cors).
    ///
    /// It completes in the same poll as the inner service's future (or at once, for a
    /// preflight the layer answers), after awaiting the asynchronous origin check when one is
    /// needed.
    ///
    /// ```
    /// use tower::{service_fn, Layer, Service};
    /// use http::{Request, Response};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let cors = tower_cors::CorsLayer::builder().allow_any_origin().build()?;
    /// let mut svc = cors.layer(service_fn(|_req: Request<String>| async {
    ///     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
    /// }));
    /// let future: tower_cors::ResponseFuture<_, String> = svc.call(Request::new(String::new()));
    /// assert_eq!(future.await?.headers()["access-control-allow-origin"], "*");
    /// # Ok(())
    /// # }
    /// ```
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<B>>,
    {
        Ready {
            response: Option<S::Response>,
        },
        // The headers are detached from the request and the policy when the request is handed
        // on, so the future holds neither. An actual request's are a few words; a pass-through
        // preflight's are more, and kept apart so as not to enlarge the common case.
        Inner {
            #[pin]
            future: S::Future,
            finish: ActualHeaders,
        },
        PassThrough {
            #[pin]
            future: S::Future,
            finish: OwnedCorsHeaders,
        },
        // A pass-through preflight whose decision is recorded: rare, and boxed so as not to
        // enlarge every future.
        PassThroughRecorded {
            #[pin]
            future: S::Future,
            finish: Box<(OwnedCorsHeaders, DecisionSummary)>,
        },
        // An actual request whose response gets more than the usual headers (a recorded
        // decision, a selector's `Vary`): no larger than `PassThrough`, so the future is no
        // larger for it.
        Recorded {
            #[pin]
            future: S::Future,
            finish: ActualHeaders,
            extras: Extras,
        },
        Origin {
            check: OriginFuture,
            request: Option<(Parts, B)>,
            inner: Option<S>,
            decider: Decider,
        },
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    /// A future that is ready with the layer's own answer (the request is not used).
    pub(crate) fn answered<R>(response: Response<R>) -> Self
    where
        S: Service<Request<B>, Response = Response<R>>,
    {
        ResponseFuture {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    /// [`answered`](Self::answered), with a policy set's summary in the response's extensions.
    pub(crate) fn answered_recorded<R>(mut response: Response<R>, extras: Extras) -> Self
    where
        S: Service<Request<B>, Response = Response<R>>,
    {
        if let Some(summary) = extras.summary {
            response.extensions_mut().insert(summary);
        }
        Self::answered(response)
    }

    /// Carries out a decided plan: answers, or calls `inner` with `request`. Always inlined,
    /// so that the inner service's future is built where the returned future goes rather than
    /// copied there.
    #[inline(always)]
    pub(crate) fn start<R>(
        plan: Plan<R>,
        policy: &Policy,
        inner: &mut S,
        request: Request<B>,
    ) -> Self
    where
        S: Service<Request<B>, Response = Response<R>>,
    {
        let state = match plan {
            Plan::Respond(response) => State::Ready {
                response: Some(response),
            },
            Plan::Call(finish) => State::Inner {
                future: inner.call(request),
                finish,
            },
            Plan::PassThrough(finish) => State::PassThrough {
                future: inner.call(request),
                finish,
            },
            // Unreachable: the caller starts the asynchronous check instead. Fail closed.
            Plan::Pending => State::Inner {
                finish: policy.denied_headers().to_actual(),
                future: inner.call(request),
            },
        };
        ResponseFuture { state }
    }

    /// [`start`](Self::start), with what a policy set's response gets besides: the summary
    /// in the response's extensions, a selector's `Vary`.
    pub(crate) fn start_recorded<R>(
        plan: Plan<R>,
        extras: Extras,
        policy: &Policy,
        inner: &mut S,
        request: Request<B>,
    ) -> Self
    where
        S: Service<Request<B>, Response = Response<R>>,
    {
        if extras.is_empty() {
            return Self::start(plan, policy, inner, request);
        }
        let state = match plan {
            Plan::Respond(response) => return Self::answered_recorded(response, extras),
            Plan::Call(finish) => State::Recorded {
                future: inner.call(request),
                finish,
                extras,
            },
            Plan::PassThrough(finish) => match extras.summary {
                Some(summary) => State::PassThroughRecorded {
                    future: inner.call(request),
                    finish: Box::new((finish, summary)),
                },
                None => State::PassThrough {
                    future: inner.call(request),
                    finish,
                },
            },
            Plan::Pending => return Self::start(plan, policy, inner, request),
        };
        ResponseFuture { state }
    }

    pub(crate) fn origin(
        check: OriginFuture,
        parts: Parts,
        body: B,
        inner: S,
        decider: Decider,
    ) -> Self {
        ResponseFuture {
            state: State::Origin {
                check,
                request: Some((parts, body)),
                inner: Some(inner),
                decider,
            },
        }
    }
}

impl<S, B> std::fmt::Debug for ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S, B, R> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<R>>,
    R: Default,
{
    type Output = Result<Response<R>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Ready { response } => {
                    let response = response
                        .take()
                        .expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(response));
                }
                StateProj::Inner { future, finish } => {
                    let mut response = ready!(future.poll(cx))?;
                    finish.apply_to(response.headers_mut());
                    return Poll::Ready(Ok(response));
                }
                StateProj::PassThrough { future, finish } => {
                    let mut response = ready!(future.poll(cx))?;
                    finish.apply_to(response.headers_mut());
                    return Poll::Ready(Ok(response));
                }
                // The rarer states are polled out of line: their code inside this loop made
                // every poll set up a larger frame (the common states' requests paid for it).
                StateProj::PassThroughRecorded { future, finish } => {
                    return poll_pass_through_recorded(future, finish, cx);
                }
                StateProj::Recorded {
                    future,
                    finish,
                    extras,
                } => return poll_recorded(future, finish, extras, cx),
                StateProj::Origin {
                    check,
                    request,
                    inner,
                    decider,
                } => {
                    let next = ready!(poll_origin(check, request, inner, decider, cx));
                    state.set(next);
                }
            }
        }
    }
}

#[inline(never)]
fn poll_pass_through_recorded<F, R, E>(
    future: Pin<&mut F>,
    finish: &mut (OwnedCorsHeaders, DecisionSummary),
    cx: &mut Context<'_>,
) -> Poll<Result<Response<R>, E>>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    let mut response = ready!(future.poll(cx))?;
    finish.0.apply_to(response.headers_mut());
    response.extensions_mut().insert(finish.1.clone());
    Poll::Ready(Ok(response))
}

#[inline(never)]
fn poll_recorded<F, R, E>(
    future: Pin<&mut F>,
    finish: &mut ActualHeaders,
    extras: &mut Extras,
    cx: &mut Context<'_>,
) -> Poll<Result<Response<R>, E>>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    let mut response = ready!(future.poll(cx))?;
    finish.apply_to(response.headers_mut());
    let extras = std::mem::take(extras);
    if let Some(vary) = extras.vary {
        vary.apply_to(response.headers_mut());
    }
    if let Some(summary) = extras.summary {
        response.extensions_mut().insert(summary);
    }
    Poll::Ready(Ok(response))
}

/// Once the asynchronous origin check answers: decides, and the state that carries it out.
#[inline(never)]
fn poll_origin<S, B, R>(
    check: &mut OriginFuture,
    request: &mut Option<(Parts, B)>,
    inner: &mut Option<S>,
    decider: &Decider,
    cx: &mut Context<'_>,
) -> Poll<State<S, B>>
where
    S: Service<Request<B>, Response = Response<R>>,
    R: Default,
{
    let allowed = ready!(Pin::new(check).poll(cx));
    let (parts, body) = request
        .take()
        .expect("ResponseFuture polled after completion");
    let mut inner = inner
        .take()
        .expect("ResponseFuture polled after completion");
    let policy = decider.policy();
    // With an answer, the policy always decides.
    let (plan, extras) = decider.decide(&parts, allowed);
    let request = Request::from_parts(parts, body);
    Poll::Ready(ResponseFuture::start_recorded(plan, extras, policy, &mut inner, request).state)
}
