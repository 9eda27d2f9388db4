//! [`DecisionSummary`]: an owned, fieldless digest of a decision, for layers outside this one.

use std::sync::Arc;

use crate::decision::{Decision, Reason};

/// What kind of request was decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// A CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`).
    Preflight,
    /// Any other request with `Origin`.
    Actual,
    /// A request without `Origin`.
    NotCors,
}

impl RequestKind {
    /// The metric label: `preflight`, `actual` or `not_cors`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Preflight => "preflight",
            RequestKind::Actual => "actual",
            RequestKind::NotCors => "not_cors",
        }
    }
}

/// A [`Reason`] without the bytes it quotes: a bounded set, fit for a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReasonKind {
    /// [`Reason::OriginNotAllowed`].
    OriginNotAllowed,
    /// [`Reason::PrivateNetworkNotAllowed`].
    PrivateNetworkNotAllowed,
    /// [`Reason::MethodNotAllowed`].
    MethodNotAllowed,
    /// [`Reason::HeaderNotAllowed`].
    HeaderNotAllowed,
    /// [`Reason::MalformedRequestHeaders`].
    MalformedRequestHeaders,
    /// [`Reason::RequestHeadersTooLong`].
    RequestHeadersTooLong,
}

impl ReasonKind {
    /// The variant's name, as used in the `reason` metric label (`"OriginNotAllowed"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonKind::OriginNotAllowed => "OriginNotAllowed",
            ReasonKind::PrivateNetworkNotAllowed => "PrivateNetworkNotAllowed",
            ReasonKind::MethodNotAllowed => "MethodNotAllowed",
            ReasonKind::HeaderNotAllowed => "HeaderNotAllowed",
            ReasonKind::MalformedRequestHeaders => "MalformedRequestHeaders",
            ReasonKind::RequestHeadersTooLong => "RequestHeadersTooLong",
        }
    }
}

impl From<Reason<'_>> for ReasonKind {
    fn from(reason: Reason<'_>) -> Self {
        match reason {
            Reason::OriginNotAllowed => ReasonKind::OriginNotAllowed,
            Reason::PrivateNetworkNotAllowed => ReasonKind::PrivateNetworkNotAllowed,
            Reason::MethodNotAllowed(_) => ReasonKind::MethodNotAllowed,
            Reason::HeaderNotAllowed(_) => ReasonKind::HeaderNotAllowed,
            Reason::MalformedRequestHeaders(_) => ReasonKind::MalformedRequestHeaders,
            Reason::RequestHeadersTooLong => ReasonKind::RequestHeadersTooLong,
        }
    }
}

/// An owned summary of the decision on a request, put into the response's extensions by a
/// layer built with [`CorsLayer::record_decision(true)`](crate::CorsLayer::record_decision), so
/// that any outer layer (OpenTelemetry, Prometheus middleware, access logs) can read it, with
/// or without the `metrics` feature.
///
/// It holds no request data: the kind, the outcome, a fieldless reason and the policy.
/// Inserting it costs the response's extension map its allocations (the map, once per
/// response, and the boxed value), which is why it is opt-in.
///
/// ```
/// use http::{Request, Response};
/// use tower::{service_fn, Layer, ServiceExt};
/// use tower_cors::{CorsLayer, DecisionSummary, ReasonKind, RequestKind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cors = CorsLayer::builder()
///     .allow_origins(["https://app.example.com"])
///     .build()?
///     .record_decision(true);
/// let svc = cors.layer(service_fn(|_req: Request<String>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(String::new()))
/// }));
/// let req = Request::get("/").header("origin", "https://evil.example").body(String::new())?;
/// let res = svc.oneshot(req).await?;
/// let summary = res.extensions().get::<DecisionSummary>().unwrap();
/// assert_eq!(summary.kind(), RequestKind::Actual);
/// assert!(!summary.allowed());
/// assert_eq!(summary.reason(), Some(ReasonKind::OriginNotAllowed));
/// assert_eq!(summary.policy(), "default");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionSummary {
    kind: RequestKind,
    allowed: bool,
    reason: Option<ReasonKind>,
    policy_index: usize,
    policy: Arc<str>,
}

impl DecisionSummary {
    /// `None` for a decision still pending.
    pub(crate) fn of(decision: &Decision<'_>, index: usize) -> Option<Self> {
        let (kind, allowed) = classify(decision)?;
        Some(DecisionSummary {
            kind,
            allowed,
            reason: decision.rejection().map(|r| r.reason().into()),
            policy_index: index,
            policy: decision.headers()?.policy.clone(),
        })
    }

    /// What kind of request it was.
    pub fn kind(&self) -> RequestKind {
        self.kind
    }

    /// Whether the request was allowed (always `true` for [`RequestKind::NotCors`]).
    pub fn allowed(&self) -> bool {
        self.allowed
    }

    /// Why it was refused; `None` when allowed.
    pub fn reason(&self) -> Option<ReasonKind> {
        self.reason
    }

    /// The position of the deciding policy in its set, in the order added (`0` for a
    /// single-policy layer; one past the last member for the `"unmatched"` policy).
    pub fn policy_index(&self) -> usize {
        self.policy_index
    }

    /// The name of the deciding policy (see [`Decision::policy`]).
    pub fn policy(&self) -> &str {
        &self.policy
    }
}

/// A decided decision's kind and whether it allows; `None` while pending.
pub(crate) fn classify(decision: &Decision<'_>) -> Option<(RequestKind, bool)> {
    Some(match decision {
        Decision::NotCors { .. } => (RequestKind::NotCors, true),
        Decision::PreflightAccepted { .. } => (RequestKind::Preflight, true),
        Decision::PreflightRejected(_) => (RequestKind::Preflight, false),
        Decision::ActualAllowed { .. } => (RequestKind::Actual, true),
        Decision::ActualDenied(_) => (RequestKind::Actual, false),
        Decision::OriginPending => return None,
    })
}
