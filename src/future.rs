//! [`ResponseFuture`]: waits for the asynchronous origin check when there is one, then for the
//! inner service, and decorates its response. It completes in the same poll as the inner future.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::request::Parts;
use http::{HeaderMap, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::decision::OwnedCorsHeaders;
use crate::policy::{OriginFuture, Policy};
use crate::service::{plan, Plan};

/// How to decorate the inner service's response.
pub(crate) enum Finish {
    NotCors,
    /// Allowed; holds the request's `Origin`.
    Allowed(HeaderValue),
    Denied,
    PassThrough(OwnedCorsHeaders),
}

impl Finish {
    fn apply(&self, policy: &Policy, map: &mut HeaderMap) {
        match self {
            Finish::NotCors => policy.not_cors_headers().apply_to(map),
            Finish::Allowed(origin) => policy.actual_headers(origin).apply_to(map),
            Finish::Denied => policy.denied_headers().apply_to(map),
            Finish::PassThrough(headers) => headers.apply_to(map),
        }
    }
}

pin_project! {
    /// The response future of [`Cors`](crate::Cors).
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
        Inner {
            #[pin]
            future: S::Future,
            policy: Arc<Policy>,
            finish: Finish,
        },
        Origin {
            check: OriginFuture,
            request: Option<(Parts, B)>,
            inner: Option<S>,
            policy: Arc<Policy>,
        },
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    pub(crate) fn ready(response: S::Response) -> Self {
        ResponseFuture {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    pub(crate) fn inner(future: S::Future, policy: Arc<Policy>, finish: Finish) -> Self {
        ResponseFuture {
            state: State::Inner {
                future,
                policy,
                finish,
            },
        }
    }

    pub(crate) fn origin(
        check: OriginFuture,
        parts: Parts,
        body: B,
        inner: S,
        policy: Arc<Policy>,
    ) -> Self {
        ResponseFuture {
            state: State::Origin {
                check,
                request: Some((parts, body)),
                inner: Some(inner),
                policy,
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
                StateProj::Inner {
                    future,
                    policy,
                    finish,
                } => {
                    let mut response = ready!(future.poll(cx))?;
                    finish.apply(policy, response.headers_mut());
                    return Poll::Ready(Ok(response));
                }
                StateProj::Origin {
                    check,
                    request,
                    inner,
                    policy,
                } => {
                    let allowed = ready!(Pin::new(check).poll(cx));
                    let (parts, body) = request
                        .take()
                        .expect("ResponseFuture polled after completion");
                    let mut inner = inner
                        .take()
                        .expect("ResponseFuture polled after completion");
                    let policy = policy.clone();
                    let next = match plan(policy.evaluate(&parts, Some(allowed))) {
                        Plan::Respond(response) => State::Ready {
                            response: Some(response),
                        },
                        Plan::Call(finish) => State::Inner {
                            future: inner.call(Request::from_parts(parts, body)),
                            policy,
                            finish,
                        },
                        // Unreachable: with an answer the policy always decides.
                        Plan::Pending => State::Inner {
                            future: inner.call(Request::from_parts(parts, body)),
                            policy,
                            finish: Finish::Denied,
                        },
                    };
                    state.set(next);
                }
            }
        }
    }
}
