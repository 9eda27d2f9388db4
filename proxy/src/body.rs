//! Bodies: the proxy's body type; the wrapper that holds the in-flight permit and writes the
//! request's log line once the body is done (so bytes and latency are the real ones); and the
//! watch on a body that stops making progress.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use crate::log::LogLine;

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

/// A body that made no progress for this long while it was being read.
#[derive(Debug)]
pub(crate) struct BodyIdle(pub Duration);

impl fmt::Display for BodyIdle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the body made no progress for {:?}", self.0)
    }
}

impl std::error::Error for BodyIdle {}

/// The client's request body failed: framed badly (a broken chunk) or cut off.
#[derive(Debug)]
pub(crate) struct ClientBodyError(BoxError);

impl fmt::Display for ClientBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the client's request body failed: {}", self.0)
    }
}

impl std::error::Error for ClientBodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

pin_project_lite::pin_project! {
    /// A body that fails with [`BodyIdle`] when, while it is read, no frame arrives for
    /// `timeout` (a progress deadline, not a total one: a long download that keeps moving
    /// finishes). A request body's own errors become [`ClientBodyError`]s, so that they are
    /// told apart from the upstream's.
    pub(crate) struct Watched<B> {
        #[pin]
        inner: B,
        #[pin]
        idle: Option<Sleep>,
        timeout: Duration,
        from_client: bool,
    }
}

impl<B> Watched<B> {
    /// The client's request body, on its way to the upstream.
    pub(crate) fn from_client(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            idle: None,
            timeout,
            from_client: true,
        }
    }

    /// The upstream's response body, on its way to the client.
    pub(crate) fn from_upstream(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            idle: None,
            timeout,
            from_client: false,
        }
    }
}

impl<B> Body for Watched<B>
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
        let mut this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(idle) = this.idle.as_mut().as_pin_mut() {
                    idle.reset(Instant::now() + *this.timeout);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => {
                let err: BoxError = err.into();
                Poll::Ready(Some(Err(if *this.from_client {
                    Box::new(ClientBodyError(err))
                } else {
                    err
                })))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending if this.timeout.is_zero() => Poll::Pending,
            Poll::Pending => {
                if this.idle.is_none() {
                    this.idle.set(Some(tokio::time::sleep(*this.timeout)));
                }
                let expired = this
                    .idle
                    .as_mut()
                    .as_pin_mut()
                    .is_some_and(|idle| idle.poll(cx).is_ready());
                if expired {
                    Poll::Ready(Some(Err(Box::new(BodyIdle(*this.timeout)))))
                } else {
                    Poll::Pending
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
