//! The answers the proxy gives on its own: a status and a short `text/plain` body that is never
//! sniffed, with `Retry-After` where the client should wait.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};

use crate::body::{text, ProxyBody};

/// What the log line says about an answer besides its status, as a response extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Refused by the CORS layer or the origin guard, for this reason; `hint` names the
    /// command-line flag that would allow it, in the one-line mode.
    Refused {
        reason: String,
        hint: Option<String>,
    },
    /// The client's fault: a request body framed badly or cut off.
    ClientError,
}

/// An answer the proxy gives itself: a status and a short text body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    /// What few answers carry, boxed so that every `Result<_, Answer>` stays small.
    extra: Option<Box<Extra>>,
}

#[derive(Debug, Default)]
struct Extra {
    retry_after: Option<u64>,
    /// `Allow`, on a 405.
    allow: Option<HeaderValue>,
    outcome: Option<Outcome>,
}

impl Answer {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            extra: None,
        }
    }

    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Adds `Retry-After`, in seconds.
    pub(crate) fn retry_after(mut self, seconds: u64) -> Self {
        self.extra().retry_after = Some(seconds);
        self
    }

    /// Adds `Allow`.
    pub(crate) fn allow(mut self, methods: HeaderValue) -> Self {
        self.extra().allow = Some(methods);
        self
    }

    /// What the log line says besides the status.
    pub(crate) fn outcome(mut self, outcome: Outcome) -> Self {
        self.extra().outcome = Some(outcome);
        self
    }

    /// Marks a refusal of the request's origin or context; the log line gives the message as
    /// the reason.
    pub(crate) fn refused(self) -> Self {
        let reason = self.message.clone();
        self.outcome(Outcome::Refused { reason, hint: None })
    }

    /// Marks the client's fault, so the log does not blame the upstream.
    pub(crate) fn client_fault(self) -> Self {
        self.outcome(Outcome::ClientError)
    }

    pub(crate) fn into_response(self) -> Response<ProxyBody> {
        let mut response = plain(self.status, format!("{}\n", self.message));
        if let Some(extra) = self.extra {
            let Extra {
                retry_after,
                allow,
                outcome,
            } = *extra;
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            if let Some(allow) = allow {
                response.headers_mut().insert(header::ALLOW, allow);
            }
            if let Some(outcome) = outcome {
                response.extensions_mut().insert(outcome);
            }
        }
        response
    }
}

/// A response of the proxy's own: this status and text, as `text/plain` that is not sniffed.
pub(crate) fn plain(status: StatusCode, body: impl Into<Bytes>) -> Response<ProxyBody> {
    let mut response = Response::new(text(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
