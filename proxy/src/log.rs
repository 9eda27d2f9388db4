//! The request log line: one per request, written when the response body is done (or dropped),
//! so that bytes and latency are the real ones, and saying whose fault a failure was.

use std::time::Instant;

use http::HeaderValue;
use tower_cors::Reason;

use crate::answer::Outcome;

/// The `cors proxy` flag that would allow a request the policy refused for `reason`.
pub(crate) fn refusal_hint(reason: &Reason<'_>, origin: &HeaderValue) -> Option<String> {
    let quoted = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    match reason {
        Reason::OriginNotAllowed => Some(format!("--allow-origin {}", quoted(origin.as_bytes()))),
        Reason::MethodNotAllowed(method) => Some(format!("--allow-method {}", quoted(method))),
        Reason::HeaderNotAllowed(name) => Some(format!("--allow-header {}", quoted(name))),
        _ => None,
    }
}

/// What the log line says about one request.
#[derive(Debug)]
pub(crate) struct LogLine {
    pub route: String,
    pub method: http::Method,
    pub path: String,
    pub status: u16,
    pub upstream_status: Option<u16>,
    pub started: Instant,
    pub bytes: u64,
    /// The body failed part-way (the upstream broke off, or a client went away).
    pub aborted: bool,
    /// A refusal's reason, or the client's fault.
    pub outcome: Option<Outcome>,
}

impl Drop for LogLine {
    fn drop(&mut self) {
        let latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let latency_ms = format_args!("{latency_ms:.1}");
        let upstream_status = self.upstream_status.map_or(-1, i32::from);
        // Fields that are `None` are left out of the line.
        let (refused, reason, hint, client) = match &self.outcome {
            Some(Outcome::Refused { reason, hint }) => (true, Some(reason), hint.as_ref(), false),
            Some(Outcome::ClientError) => (false, None, None, true),
            None => (false, None, None, false),
        };
        tracing::info!(
            route = %self.route,
            method = %self.method,
            path = %self.path,
            status = self.status,
            upstream_status,
            cors = refused.then_some("refused"),
            reason = reason.map(tracing::field::debug),
            allow_with = hint.map(tracing::field::debug),
            error = client.then_some("client"),
            bytes = self.bytes,
            aborted = self.aborted,
            latency_ms,
            "request"
        );
    }
}
