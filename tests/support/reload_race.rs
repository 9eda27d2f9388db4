//! The load test shared by the reload tests: a reloadable layer is served over loopback while an
//! OS thread swaps it between A and B, and 16 clients check that every response is exactly A's
//! or exactly B's answer, never a mix.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::any;
use axum::Router;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tower_cors::ReloadableCorsLayer;

/// A response's status and the headers the race compares.
pub type Answer = (u16, Vec<(String, String)>);

const CLIENTS: usize = 16;
const REQUESTS_PER_CLIENT: usize = 60;
const MIN_SWAPS: usize = 10;

/// An inner handler that gives the runtime many chances to run a reload while the request is
/// inside it.
async fn slow_handler() -> &'static str {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    "ok"
}

/// An HTTP/1.1 connection to `addr`.
pub async fn connect(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<String> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

/// Serves `layer`, swaps it with `swap(next_is_b)` on an OS thread every 50 µs, and sends
/// `requests` from 16 clients; `expectations[i]` are A's and B's answers to `requests[i]`, as
/// `answer_of` reads them. Returns the server's address, still serving, for a check after the
/// load.
pub async fn race(
    layer: ReloadableCorsLayer,
    requests: Vec<fn() -> Request<String>>,
    expectations: Vec<(Answer, Answer)>,
    answer_of: fn(&Response<hyper::body::Incoming>) -> Answer,
    mut swap: impl FnMut(bool) + Send + 'static,
) -> SocketAddr {
    for (i, (ea, eb)) in expectations.iter().enumerate() {
        assert_ne!(ea, eb, "request {i} cannot tell A and B apart");
    }
    let app = Router::new().route("/", any(slow_handler)).layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    // Swaps on an OS thread of its own, so reloads race with request handling for real.
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicUsize::new(0));
    let swapper = {
        let (stop, swaps) = (stop.clone(), swaps.clone());
        std::thread::spawn(move || {
            let mut next_is_b = true;
            while !stop.load(Ordering::Relaxed) {
                swap(next_is_b);
                next_is_b = !next_is_b;
                swaps.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(50));
            }
        })
    };

    let expectations = Arc::new(expectations);
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (expectations, requests, swaps) =
            (expectations.clone(), requests.clone(), swaps.clone());
        clients.push(tokio::spawn(async move {
            let mut sender = connect(addr).await;
            let (mut saw_a, mut saw_b) = (0usize, 0usize);
            // Keep going (within a bound) until the swapper has had its turns, in case the
            // machine is so busy that its thread was not scheduled yet.
            let enough = |n: usize| {
                n >= REQUESTS_PER_CLIENT
                    && (swaps.load(Ordering::Relaxed) >= MIN_SWAPS || n >= 20 * REQUESTS_PER_CLIENT)
            };
            for n in (0..).take_while(|&n| !enough(n)) {
                let which = (client + n) % requests.len();
                let mut request = requests[which]();
                request
                    .headers_mut()
                    .insert(http::header::HOST, addr.to_string().parse().expect("host"));
                sender.ready().await.expect("connection ready");
                let response = sender.send_request(request).await.expect("response");
                let got = answer_of(&response);
                response.into_body().collect().await.expect("body");
                let (ea, eb) = &expectations[which];
                if got == *ea {
                    saw_a += 1;
                } else if got == *eb {
                    saw_b += 1;
                } else {
                    panic!("request {which} got a mix:\n got {got:?}\n   A {ea:?}\n   B {eb:?}");
                }
            }
            (saw_a, saw_b)
        }));
    }

    let (mut total_a, mut total_b) = (0, 0);
    for client in clients {
        let (saw_a, saw_b) = tokio::time::timeout(Duration::from_secs(120), client)
            .await
            .expect("clients finish in time")
            .expect("client task");
        total_a += saw_a;
        total_b += saw_b;
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().expect("swapper thread");

    assert!(total_a + total_b >= CLIENTS * REQUESTS_PER_CLIENT);
    assert!(
        swaps.load(Ordering::Relaxed) >= MIN_SWAPS,
        "too few reloads happened"
    );
    assert!(total_a > 0 && total_b > 0, "A: {total_a}, B: {total_b}");
    addr
}
