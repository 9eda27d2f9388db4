//! Throughput, p99 latency and resident set of the proxy against hitting the upstream directly,
//! measured with `wrk` on loopback in one run (see `README.md` beside this file). Not a test:
//! run it by hand with `cargo bench -p tower-cors-proxy --bench wrk`.
//!
//! Three processes on the two cores: this harness starts itself again as the upstream (pinned
//! to core 1, a one-thread runtime) and as the proxy (pinned to core 0, a one-thread runtime),
//! and runs `wrk -t1` pinned to core 1 beside the upstream. So the direct path is wrk and the
//! upstream on one core, and the proxied path adds the proxy on a core of its own: the ratio
//! says whether the proxy keeps up with what the client and upstream can do. Direct and proxied
//! runs are interleaved (direct, proxy, direct, proxy...) so drift on the shared machine hits
//! both alike, and each ratio is taken within one round. The resident set is the proxy
//! process's own, read from /proc while 256 connections stream 1 MiB bodies through it.
//!
//! With `TOWER_CORS_PROXY_BENCH_FLOORS` set it compares only forwarders without checks (the
//! pooled one and a per-connection one without a pool) with direct; see the README.

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{Full, StreamBody};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tower_cors_proxy::{Proxy, ProxyConfig};

#[path = "support/wrk_output.rs"]
mod wrk_output;
use wrk_output::millis;

const ROUNDS: usize = 3;
const SECONDS: u32 = 5;

fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A bare hyper upstream: `/small` answers `ok`, `/large` streams 1 MiB in 16 KiB chunks.
async fn upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(
                    |request: hyper::Request<hyper::body::Incoming>| async move {
                        let body = if request.uri().path() == "/large" {
                            let chunk = Bytes::from(vec![b'x'; 16 * 1024]);
                            let frames = (0..64)
                                .map(move |_| Ok::<_, Infallible>(Frame::data(chunk.clone())));
                            http_body_util::BodyExt::boxed(StreamBody::new(
                                futures_util::stream::iter(frames),
                            ))
                        } else {
                            http_body_util::BodyExt::boxed(Full::new(Bytes::from_static(b"ok")))
                        };
                        Ok::<_, Infallible>(hyper::Response::new(body))
                    },
                );
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

async fn proxy(upstream: SocketAddr) -> SocketAddr {
    let config = ProxyConfig::from_toml(&format!(
        r#"
[cors]
allow_origins = ["http://localhost:5173"]
[limits]
rate_limit_per_minute = 0
max_concurrent_requests = 4096
[[routes]]
path = "/"
upstream = "http://{upstream}"
"#
    ))
    .expect("config");
    let proxy = Proxy::new(config).expect("proxy");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(tower_cors_proxy::serve(
        proxy,
        listener,
        std::future::pending(),
    ));
    addr
}

/// The least a forwarder on the same stack can do: hyper's server, hyper-util's pooled client,
/// the request passed on as is. The floor the proxy is compared with, in the same run.
async fn bare(upstream: SocketAddr) -> SocketAddr {
    use hyper_util::client::legacy::{connect::HttpConnector, Client};
    let client: Client<HttpConnector, hyper::body::Incoming> =
        Client::builder(TokioExecutor::new()).build_http();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let client = client.clone();
            tokio::spawn(async move {
                let service =
                    service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                        let client = client.clone();
                        async move {
                            let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
                            let uri = format!("http://{upstream}{path}").parse().expect("a URI");
                            *request.uri_mut() = uri;
                            request.headers_mut().remove(hyper::header::HOST);
                            client.request(request).await
                        }
                    });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// A forwarder without a pool: each inbound connection gets one upstream connection of its own
/// (`hyper::client::conn::http1`), and its requests go out on it one after the other. Tells
/// whether the bare forwarder's floor comes from the pooled client or from forwarding at all.
async fn per_connection(upstream: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let Ok(out) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = out.set_nodelay(true);
                let Ok((sender, connection)) = hyper::client::conn::http1::handshake::<
                    _,
                    hyper::body::Incoming,
                >(TokioIo::new(out))
                .await
                else {
                    return;
                };
                tokio::spawn(connection);
                // HTTP/1 serves one request of a connection at a time, so the lock is never
                // contended; it only lets the `Fn` service reach the `&mut` sender.
                let sender = Arc::new(tokio::sync::Mutex::new(sender));
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let sender = sender.clone();
                    async move {
                        let response = {
                            let mut sender = sender.lock().await;
                            sender.ready().await?;
                            sender.send_request(request)
                        };
                        response.await
                    }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

#[derive(Debug, Default, Clone, Copy)]
struct Run {
    rps: f64,
    p99_ms: f64,
}

fn taskset() -> bool {
    std::path::Path::new("/usr/bin/taskset").exists()
}

fn wrk(url: &str, connections: u32, core: Option<&str>) -> Run {
    let mut command = match core {
        Some(core) if taskset() => {
            let mut c = Command::new("taskset");
            c.args(["-c", core, "wrk"]);
            c
        }
        _ => Command::new("wrk"),
    };
    let output = command
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{SECONDS}s"),
            "--latency",
        ])
        .args(["-H", "Origin: http://localhost:5173", url])
        .output()
        .expect("wrk runs (install it at /usr/bin/wrk)");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut run = Run::default();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            run.rps = rest.trim().parse().unwrap_or(0.0);
        }
        if let Some(rest) = line.strip_prefix("99%") {
            run.p99_ms = millis(rest.trim());
        }
    }
    run
}

fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

const ROLE: &str = "TOWER_CORS_PROXY_BENCH_ROLE";
const UPSTREAM: &str = "TOWER_CORS_PROXY_BENCH_UPSTREAM";

/// Runs as the upstream or the proxy: prints the address, serves until stdin closes.
fn serve_role(role: &str) {
    let rt = runtime(if role == "per-connection-2" { 2 } else { 1 });
    let addr = rt.block_on(async {
        let up = || {
            std::env::var(UPSTREAM)
                .ok()
                .and_then(|a| a.parse().ok())
                .expect("the upstream address")
        };
        match role {
            "upstream" => upstream().await,
            "bare" => bare(up()).await,
            "per-connection" | "per-connection-2" => per_connection(up()).await,
            _ => proxy(up()).await,
        }
    });
    println!("{addr}");
    // The parent closes stdin (or dies): then stop.
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

/// Starts this binary again in `role`, pinned to `core` when taskset exists.
fn spawn(role: &str, core: Option<&str>, upstream: Option<SocketAddr>) -> (Child, SocketAddr) {
    let me = std::env::current_exe().expect("the bench binary");
    let mut command = match core {
        Some(core) if taskset() => {
            let mut c = Command::new("taskset");
            c.args(["-c", core]).arg(me);
            c
        }
        _ => Command::new(me),
    };
    command
        .arg("--bench")
        .env(ROLE, role)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if let Some(up) = upstream {
        command.env(UPSTREAM, up.to_string());
    }
    let mut child = command.spawn().expect("the bench binary starts again");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("an address line");
    let addr = line.trim().parse().expect("an address");
    (child, addr)
}

/// Which core each process runs on (`None`: wherever the scheduler puts it).
struct Layout {
    name: &'static str,
    upstream: Option<&'static str>,
    proxy: Option<&'static str>,
    wrk: Option<&'static str>,
}

const LAYOUTS: [Layout; 3] = [
    Layout {
        name: "split: wrk + upstream on core 1, proxy on core 0",
        upstream: Some("1"),
        proxy: Some("0"),
        wrk: Some("1"),
    },
    Layout {
        name: "one core: wrk, upstream and proxy all on core 0",
        upstream: Some("0"),
        proxy: Some("0"),
        wrk: Some("0"),
    },
    Layout {
        name: "unpinned: the scheduler spreads all three over both cores",
        upstream: None,
        proxy: None,
        wrk: None,
    },
];

/// Set: compare only the forwarders without checks (pooled client, per-connection client on one
/// and on two worker threads) with direct, small GETs, split and unpinned layouts.
const FLOORS: &str = "TOWER_CORS_PROXY_BENCH_FLOORS";

fn floors() {
    const FORWARDERS: [&str; 3] = ["bare", "per-connection", "per-connection-2"];
    println!(
        "wrk -t1, {SECONDS} s per run, {ROUNDS} rounds, direct and {FORWARDERS:?} interleaved"
    );
    for layout in [&LAYOUTS[0], &LAYOUTS[2]] {
        let (mut up_child, up) = spawn("upstream", layout.upstream, None);
        let mut forwarders: Vec<(Child, SocketAddr)> = FORWARDERS
            .iter()
            .map(|role| spawn(role, layout.proxy, Some(up)))
            .collect();
        println!("\nlayout {}", layout.name);
        for connections in [16u32, 64] {
            for round in 1..=ROUNDS {
                let direct = wrk(&format!("http://{up}/small"), connections, layout.wrk);
                let mut line = format!(
                    "small GET c={connections} round {round}: direct {:.0} req/s p99 {:.2} ms",
                    direct.rps, direct.p99_ms
                );
                for (role, (_, addr)) in FORWARDERS.iter().zip(&forwarders) {
                    let run = wrk(&format!("http://{addr}/small"), connections, layout.wrk);
                    line.push_str(&format!(
                        " | {role} {:.0} req/s p99 {:.2} ms, /direct {:.2}",
                        run.rps,
                        run.p99_ms,
                        run.rps / direct.rps
                    ));
                }
                println!("{line}");
            }
        }
        drop(up_child.stdin.take());
        let _ = up_child.wait();
        for (child, _) in &mut forwarders {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing: do not run then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if let Ok(role) = std::env::var(ROLE) {
        return serve_role(&role);
    }
    if std::env::var_os(FLOORS).is_some() {
        return floors();
    }
    println!("wrk -t1, {SECONDS} s per run, {ROUNDS} rounds, direct and proxied interleaved");
    for (index, layout) in LAYOUTS.iter().enumerate() {
        let (mut up_child, up) = spawn("upstream", layout.upstream, None);
        let (mut px_child, px) = spawn("proxy", layout.proxy, Some(up));
        let (mut bare_child, bare) = spawn("bare", layout.proxy, Some(up));
        let px_pid = px_child.id();
        println!("\nlayout {}", layout.name);
        println!("proxy resident set at rest: {:.1} MiB", rss_mib(px_pid));
        for connections in [16u32, 64] {
            for round in 1..=ROUNDS {
                let direct = wrk(&format!("http://{up}/small"), connections, layout.wrk);
                let proxied = wrk(&format!("http://{px}/small"), connections, layout.wrk);
                let floor = wrk(&format!("http://{bare}/small"), connections, layout.wrk);
                println!(
                    "small GET c={connections} round {round}: direct {:.0} req/s p99 {:.2} ms | proxy {:.0} req/s p99 {:.2} ms | bare forwarder {:.0} req/s p99 {:.2} ms | proxy/direct {:.2}, bare/direct {:.2}, proxy/bare {:.2}, p99 added {:.2} ms",
                    direct.rps,
                    direct.p99_ms,
                    proxied.rps,
                    proxied.p99_ms,
                    floor.rps,
                    floor.p99_ms,
                    proxied.rps / direct.rps,
                    floor.rps / direct.rps,
                    proxied.rps / floor.rps,
                    proxied.p99_ms - direct.p99_ms
                );
            }
        }
        // The memory run once, in the first layout: 256 connections streaming 1 MiB bodies.
        if index == 0 {
            let peak = Arc::new(AtomicU64::new(0));
            let sampler = {
                let peak = peak.clone();
                std::thread::spawn(move || {
                    for _ in 0..(SECONDS * 20 + 20) {
                        let rss = (rss_mib(px_pid) * 1024.0) as u64;
                        peak.fetch_max(rss, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(50));
                    }
                })
            };
            let direct = wrk(&format!("http://{up}/large"), 256, layout.wrk);
            let large = wrk(&format!("http://{px}/large"), 256, layout.wrk);
            let _ = sampler.join();
            println!(
                "large (1 MiB) GET c=256: direct {:.0} MiB/s | proxy {:.0} MiB/s, p99 {:.1} ms, proxy peak resident set {:.1} MiB",
                direct.rps,
                large.rps,
                large.p99_ms,
                peak.load(Ordering::Relaxed) as f64 / 1024.0
            );
        }
        for child in [&mut up_child, &mut px_child, &mut bare_child] {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}
