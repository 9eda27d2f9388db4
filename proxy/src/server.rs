//! Serving a [`Proxy`] on TCP listeners: the accept loops (the main listener, counted against
//! `max_connections`, and the optional admin listener outside it), each connection driven by
//! [`conn`](crate::conn), and graceful shutdown: when the shutdown future completes the
//! listeners close, in-flight requests finish (up to a grace period), and idle connections are
//! closed.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::answer::plain;
use crate::conn::{self, Deadlines};
use crate::route::ClientAddr;
use crate::Proxy;

/// How long in-flight requests may take to finish after shutdown was asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The default `request_head_timeout`: how long a client may take to send a request head
/// (slow-loris guard).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The read buffer bound of a browser connection, or `max_request_headers` plus a margin when
/// that is larger (request heads must fit in it).
pub const CLIENT_READ_BUFFER: usize = 64 * 1024;

/// The most connections [`serve`] keeps open by default, whatever the open-file limit.
pub const MAX_CONNECTIONS_CAP: usize = 10_000;

/// How many connections past `max_connections` are told 503 at once; past that they are closed
/// at once, so that turning a flood away cannot itself use up the descriptors.
const TURN_AWAY_AT_ONCE: usize = 64;

/// What a connection past `max_connections` is told before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
    content-type: text/plain; charset=utf-8\r\n\
    x-content-type-options: nosniff\r\n\
    connection: close\r\n\
    content-length: 47\r\n\r\n\
    the proxy is at its limit of open connections\r\n";

/// The default `max_connections`: `min(10000, open-file limit / 2 - 64)`, since each proxied
/// request may hold a second descriptor to its upstream. At least 1.
pub fn default_max_connections() -> usize {
    let soft = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft);
    let soft = usize::try_from(soft).unwrap_or(usize::MAX);
    (soft / 2).saturating_sub(64).clamp(1, MAX_CONNECTIONS_CAP)
}

/// Serves `proxy` on `listener` (HTTP/1.1 and cleartext HTTP/2), and its `[admin]` listener if
/// the configuration has one (bound here), until `shutdown` completes; then lets in-flight
/// requests finish for up to [`SHUTDOWN_GRACE`].
pub async fn serve(
    proxy: Proxy,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let admin =
        match proxy.admin_listen() {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|err| {
                io::Error::new(err.kind(), format!("admin listener {addr}: {err}"))
            })?),
            None => None,
        };
    serve_with_admin(proxy, listener, admin, shutdown).await
}

/// [`serve`], with the admin listener given (or none) instead of bound from the configuration.
pub async fn serve_with_admin(
    proxy: Proxy,
    listener: TcpListener,
    admin: Option<TcpListener>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let limits = proxy.limits();
    let deadlines = Deadlines::new(limits);
    let max_connections = limits
        .max_connections
        .unwrap_or_else(default_max_connections);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.request_head_timeout)
        // Bounds the read buffer of each browser connection (request heads and bodies); a head
        // larger than this is refused by hyper itself with 431.
        .max_buf_size(CLIENT_READ_BUFFER.max(limits.max_request_headers + 1024));
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(
            Some(limits.h2_keep_alive_interval).filter(|interval| !interval.is_zero()),
        )
        .keep_alive_timeout(limits.h2_keep_alive_timeout)
        .max_header_list_size(u32::try_from(limits.max_request_headers).unwrap_or(u32::MAX));
    let builder = Arc::new(builder);
    let connections = TaskTracker::new();
    let closing = CancellationToken::new();

    if let Some(admin) = admin {
        let builder = builder.clone();
        let closing_admin = closing.clone();
        let tracker = connections.clone();
        connections.spawn(async move {
            accept_loop(&admin, &closing_admin, None, |stream, _peer| {
                let builder = builder.clone();
                let closing = closing_admin.clone();
                tracker.spawn(async move {
                    conn::drive(stream, &builder, deadlines, closing, |_tracker| {
                        |request: Request<Incoming>| {
                            let response = match request.uri().path() {
                                "/_cors/healthz" => plain(StatusCode::OK, "ok\n"),
                                _ => plain(StatusCode::NOT_FOUND, "not found\n"),
                            };
                            std::future::ready(response)
                        }
                    })
                    .await;
                });
            })
            .await;
        });
    }

    let slots = Arc::new(Semaphore::new(max_connections));
    let turning_away = Arc::new(Semaphore::new(TURN_AWAY_AT_ONCE));
    let shutdown = async {
        shutdown.await;
        closing.cancel();
    };
    tokio::pin!(shutdown);
    tokio::select! {
        () = accept_loop(&listener, &closing, Some(&slots), |stream, peer| {
            let proxy = proxy.clone();
            let builder = builder.clone();
            let closing = closing.clone();
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                if let Ok(busy) = turning_away.clone().try_acquire_owned() {
                    tokio::spawn(async move {
                        turn_away(stream).await;
                        drop(busy);
                    });
                }
                return;
            };
            connections.spawn(async move {
                let _slot = slot;
                conn::drive(stream, &builder, deadlines, closing, move |tracker| {
                    move |mut request: Request<Incoming>| {
                        let active = tracker.request(&request);
                        request.extensions_mut().insert(ClientAddr(peer));
                        let response = proxy.handle(request);
                        async move { conn::counted(response.await, active) }
                    }
                })
                .await;
            });
        }) => {}
        () = &mut shutdown => {}
    }
    drop(listener);
    connections.close();
    tracing::info!(
        connections = connections.len(),
        "shutting down: finishing in-flight requests"
    );
    tokio::select! {
        () = connections.wait() => tracing::info!("shut down"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
        }
    }
    Ok(())
}

/// Accepts until `closing` is cancelled. When `accept` fails (out of file descriptors, most
/// often) it backs off, from 5 ms up to 1 s, and says so at most once a second.
async fn accept_loop(
    listener: &TcpListener,
    closing: &CancellationToken,
    slots: Option<&Arc<Semaphore>>,
    mut serve: impl FnMut(TcpStream, std::net::SocketAddr),
) {
    let mut backoff = Duration::ZERO;
    let mut last_warning: Option<Instant> = None;
    let mut failures = 0u64;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = closing.cancelled() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::ZERO;
                let _ = stream.set_nodelay(true);
                serve(stream, peer);
            }
            Err(err) => {
                failures += 1;
                if last_warning.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                    tracing::warn!(
                        error = %err,
                        failures,
                        open = slots.map(|s| s.available_permits()),
                        "accept failed; backing off"
                    );
                    last_warning = Some(Instant::now());
                    failures = 0;
                }
                backoff = (backoff * 2).clamp(Duration::from_millis(5), Duration::from_secs(1));
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = closing.cancelled() => return,
                }
            }
        }
    }
}

/// Answers a connection past `max_connections` with 503 and closes it, reading what the client
/// sent first (for up to a second) so that the close does not reset the answer away.
async fn turn_away(mut stream: TcpStream) {
    let _ = stream.write_all(BUSY).await;
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let drain = async {
        let mut total = 0usize;
        while let Ok(n) = stream.read(&mut sink).await {
            total += n;
            if n == 0 || total > 64 * 1024 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
