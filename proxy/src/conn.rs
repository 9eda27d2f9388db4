//! One client connection's life, whatever its protocol: the deadlines hyper has no setting for,
//! and the bookkeeping they need.
//!
//! - **First request head**: a connection that has not delivered a complete request head within
//!   `request_head_timeout` (HTTP/1, the h2c preface and handshake, or nothing at all) is shut
//!   down gracefully, and dropped if it is still open as long again later.
//! - **Idle**: with no request in flight, an HTTP/2 connection is shut down after
//!   `h2_idle_timeout`, an HTTP/1 connection after `request_head_timeout` (hyper's
//!   `header_read_timeout` is the same setting).
//! - **Stalled response**: while a response body is being sent, a connection on which no byte
//!   moves either way for `body_idle_timeout` is dropped: a client that reads one byte a minute
//!   does not hold a concurrency slot and an upstream connection for ever. (The bodies watch
//!   their own source too: see `Watched`.)
//! - **Server shutdown**: the connection is shut down gracefully; in-flight requests finish.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response, Version};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::body::BoxError;
use crate::config::Limits;

/// The deadlines of a connection, from the [`Limits`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    pub head: Duration,
    pub h2_idle: Duration,
    pub body_idle: Duration,
}

impl Deadlines {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            head: limits.request_head_timeout,
            h2_idle: limits.h2_idle_timeout,
            body_idle: limits.body_idle_timeout,
        }
    }
}

/// What the connection's driver knows of it; shared with its socket, its service and the
/// bodies of its responses.
#[derive(Debug)]
struct State {
    opened: Instant,
    /// Requests whose response is not done yet.
    active: AtomicUsize,
    /// Responses whose body is being sent.
    streaming: AtomicUsize,
    seen_request: AtomicBool,
    h2: AtomicBool,
    /// Milliseconds since `opened`: the last byte read or written, and when the last request
    /// ended.
    last_io: AtomicU64,
    idle_since: AtomicU64,
}

impl State {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            active: AtomicUsize::new(0),
            streaming: AtomicUsize::new(0),
            seen_request: AtomicBool::new(false),
            h2: AtomicBool::new(false),
            last_io: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, millis: u64) -> Instant {
        self.opened + Duration::from_millis(millis)
    }

    fn touch(&self) {
        self.last_io.store(self.now(), Ordering::Relaxed);
    }

    /// What to do at `now`, and otherwise when to look again.
    fn check(&self, deadlines: &Deadlines) -> Check {
        let now = Instant::now();
        if !self.seen_request.load(Ordering::Acquire) {
            let due = self.opened + deadlines.head;
            return if now >= due {
                Check::Shutdown
            } else {
                Check::Until(due)
            };
        }
        if self.streaming.load(Ordering::Acquire) > 0 && !deadlines.body_idle.is_zero() {
            let due = self.at(self.last_io.load(Ordering::Relaxed)) + deadlines.body_idle;
            return if now >= due {
                Check::Abort
            } else {
                Check::Until(due)
            };
        }
        if self.active.load(Ordering::Acquire) == 0 {
            let idle = if self.h2.load(Ordering::Relaxed) {
                deadlines.h2_idle
            } else {
                deadlines.head
            };
            let due = self.at(self.idle_since.load(Ordering::Relaxed)) + idle;
            return if now >= due {
                Check::Shutdown
            } else {
                Check::Until(due)
            };
        }
        // A request waits for its response head: the upstream timeouts bound that.
        Check::Until(now + deadlines.head.max(Duration::from_secs(1)))
    }
}

enum Check {
    Until(Instant),
    Shutdown,
    Abort,
}

/// Held from a request's head until its response body is done or dropped.
#[derive(Debug)]
pub(crate) struct Active {
    state: Arc<State>,
    streaming: bool,
}

impl Drop for Active {
    fn drop(&mut self) {
        if self.streaming {
            self.state.streaming.fetch_sub(1, Ordering::AcqRel);
        }
        self.state
            .idle_since
            .store(self.state.now(), Ordering::Relaxed);
        self.state.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A connection's handle for its service: marks requests in and out.
#[derive(Debug, Clone)]
pub(crate) struct Tracker(Arc<State>);

impl Tracker {
    /// A request head arrived.
    pub(crate) fn request<B>(&self, request: &Request<B>) -> Active {
        let state = &self.0;
        state.active.fetch_add(1, Ordering::AcqRel);
        if request.version() == Version::HTTP_2 {
            state.h2.store(true, Ordering::Relaxed);
        }
        state.seen_request.store(true, Ordering::Release);
        Active {
            state: state.clone(),
            streaming: false,
        }
    }
}

/// The response body, counted as streaming until it is done.
pub(crate) fn counted<B>(response: Response<B>, mut active: Active) -> Response<Counted<B>> {
    active.state.streaming.fetch_add(1, Ordering::AcqRel);
    active.state.touch();
    active.streaming = true;
    response.map(|inner| Counted {
        inner,
        _active: active,
    })
}

pin_project_lite::pin_project! {
    /// A response body that keeps its request counted as active until it is dropped.
    pub(crate) struct Counted<B> {
        #[pin]
        inner: B,
        _active: Active,
    }
}

impl<B: Body> Body for Counted<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project_lite::pin_project! {
    /// The client socket, noting when bytes move.
    struct Watched {
        #[pin]
        stream: TcpStream,
        state: Arc<State>,
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let polled = this.stream.poll_read(cx, buf);
        if buf.filled().len() > before {
            this.state.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let polled = this.stream.poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.state.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let polled = this.stream.poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.state.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().stream.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().stream.poll_shutdown(cx)
    }
}

/// Serves one connection with `make_service`'s service until it ends, a deadline passes, or
/// `shutdown` is cancelled (then gracefully).
pub(crate) async fn drive<S, F, B>(
    stream: TcpStream,
    builder: &auto::Builder<TokioExecutor>,
    deadlines: Deadlines,
    shutdown: CancellationToken,
    make_service: impl FnOnce(Tracker) -> S,
) where
    S: Fn(Request<Incoming>) -> F + Clone + Send + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let state = Arc::new(State::new());
    let service = make_service(Tracker(state.clone()));
    let service = hyper::service::service_fn(move |request| {
        let future = service(request);
        async move { Ok::<_, std::convert::Infallible>(future.await) }
    });
    let io = TokioIo::new(Watched {
        stream,
        state: state.clone(),
    });
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing_by: Option<Instant> = None;
    loop {
        let next = match state.check(&deadlines) {
            Check::Abort => {
                tracing::debug!("response made no progress; connection dropped");
                return;
            }
            Check::Shutdown if closing_by.is_none() => {
                connection.as_mut().graceful_shutdown();
                let by = Instant::now() + deadlines.head;
                closing_by = Some(by);
                by
            }
            Check::Shutdown => closing_by.unwrap_or_else(Instant::now),
            Check::Until(at) => closing_by.map_or(at, |by| by.min(at)),
        };
        if closing_by.is_some_and(|by| Instant::now() >= by) {
            tracing::debug!("connection did not close after shutdown; dropped");
            return;
        }
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(err) = ended {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                return;
            }
            () = shutdown.cancelled(), if closing_by.is_none() => {
                connection.as_mut().graceful_shutdown();
                // In-flight requests may take the server's whole grace period.
                closing_by = Some(Instant::now() + crate::server::SHUTDOWN_GRACE);
            }
            () = tokio::time::sleep_until(next) => {}
        }
    }
}
