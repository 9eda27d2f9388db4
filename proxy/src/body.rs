//! Response bodies: the proxy's body type, and the wrapper that holds the in-flight permit and
//! writes the request's log line once the body is done (so bytes and latency are the real ones).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use tokio::sync::OwnedSemaphorePermit;

/// Errors of bodies that cross the proxy.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of every response the proxy gives.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// A body of fixed text.
pub(crate) fn text(text: impl Into<Bytes>) -> ProxyBody {
    Full::new(text.into())
        .map_err(|never| match never {})
        .boxed_unsync()
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
}

impl Drop for LogLine {
    fn drop(&mut self) {
        let latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(
            route = %self.route,
            method = %self.method,
            path = %self.path,
            status = self.status,
            upstream_status = self.upstream_status.map_or(-1, i32::from),
            bytes = self.bytes,
            aborted = self.aborted,
            latency_ms = format_args!("{latency_ms:.1}"),
            "request"
        );
    }
}

pin_project_lite::pin_project! {
    /// A body that keeps a permit and a log line alive until it ends or is dropped. Generic over
    /// the body it wraps, so a body is boxed once, as the `ProxyBody` this returns.
    pub(crate) struct Tracked<B> {
        #[pin]
        inner: B,
        permit: Option<OwnedSemaphorePermit>,
        log: Option<LogLine>,
    }
}

impl<B> Tracked<B>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    pub(crate) fn permit(inner: B, permit: OwnedSemaphorePermit) -> ProxyBody {
        Tracked {
            inner,
            permit: Some(permit),
            log: None,
        }
        .boxed_unsync()
    }

    pub(crate) fn logged(inner: B, log: LogLine) -> ProxyBody {
        Tracked {
            inner,
            permit: None,
            log: Some(log),
        }
        .boxed_unsync()
    }
}

impl<B> Body for Tracked<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(log), Some(data)) = (this.log.as_mut(), frame.data_ref()) {
                    log.bytes += data.len() as u64;
                }
            }
            Poll::Ready(None) => {
                // Done: release the slot and write the line now, not when hyper drops the body.
                this.permit.take();
                this.log.take();
            }
            Poll::Ready(Some(Err(_))) => {
                this.permit.take();
                if let Some(log) = this.log.as_mut() {
                    log.aborted = true;
                }
                this.log.take();
            }
            Poll::Pending => {}
        }
        polled.map(|frame| frame.map(|result| result.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
