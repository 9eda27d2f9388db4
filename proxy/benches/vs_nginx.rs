//! `cors proxy` against nginx in front of the same upstream, in one run: requests per second,
//! p99, CPU per request and peak resident set, as ratios within each round. Not a test: run it
//! by hand with `cargo bench -p tower-cors-proxy --bench vs_nginx` (see `README.md` beside this
//! file). Skips, saying what to install, when `/usr/sbin/nginx` or `/usr/bin/wrk` is missing.
//!
//! The upstream is this harness started again as a one-thread hyper hello server. `cors proxy`
//! is the release binary users run (built here with `cargo build --release -p tower-cors-cli`
//! when `target/release/cors` is missing, or named by `CORS_BIN`), with
//! `vs-nginx/proxy.toml`; nginx runs `vs-nginx/nginx.conf` (2 workers, an upstream keep-alive
//! pool, the CORS headers added with `always`, preflights answered with 204). Both run with
//! their request log to a file (nginx `buffer=64k flush=1s`) and then both with it off.
//!
//! CPU per request is Δ(utime + stime) from `/proc/PID/stat`, summed over nginx's master and
//! workers and over the proxy's process, divided by wrk's request count. Rounds alternate the
//! contenders, 5 s each (`VS_NGINX_SECONDS`), `VS_NGINX_ROUNDS` rounds (default 3).

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

#[path = "support/wrk_output.rs"]
mod wrk_output;
use wrk_output::millis;

const ROLE: &str = "VS_NGINX_ROLE";
const ORIGIN: &str = "Origin: http://localhost:5173";

fn seconds() -> u32 {
    env_number("VS_NGINX_SECONDS", 5)
}

fn rounds() -> u32 {
    env_number("VS_NGINX_ROUNDS", 3)
}

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The upstream: a one-thread hyper server answering `ok` to everything.
fn serve_upstream() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("{}", listener.local_addr().expect("address"));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(|_request: hyper::Request<hyper::body::Incoming>| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// The `cors` release binary.
fn cors_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("CORS_BIN") {
        return bin.into();
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../target"));
    let bin = target.join("release/cors");
    if !bin.exists() {
        eprintln!("vs_nginx: building the release `cors` binary");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "--release",
                "-p",
                "tower-cors-cli",
                "--bin",
                "cors",
            ])
            .current_dir(manifest)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the cors binary failed");
    }
    bin
}

/// A contender: its processes and how to read their CPU time.
struct Contender {
    name: &'static str,
    child: Child,
    url: String,
    /// The request log, removed at the end.
    dir: PathBuf,
}

impl Contender {
    /// Every process of the contender: the one started, and its children (nginx's workers).
    fn pids(&self) -> Vec<u32> {
        let root = self.child.id();
        let mut pids = vec![root];
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                    continue;
                };
                if stat_fields(pid).and_then(|f| f.get(1).and_then(|p| p.parse::<u32>().ok()))
                    == Some(root)
                {
                    pids.push(pid);
                }
            }
        }
        pids
    }

    /// utime + stime of every process, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        self.pids()
            .into_iter()
            .filter_map(stat_fields)
            .map(|f| {
                // Fields after the command: state is [0], ppid [1], utime [11], stime [12].
                let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                n(11) + n(12)
            })
            .sum()
    }

    /// The summed peak resident set (VmHWM) of its processes, in MiB.
    fn peak_rss_mib(&self) -> f64 {
        self.pids()
            .into_iter()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
            .filter_map(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kib| kib.parse::<f64>().ok())
            })
            .sum::<f64>()
            / 1024.0
    }
}

impl Drop for Contender {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `/proc/PID/stat` after the command name (which may hold spaces).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    Some(after.split_whitespace().map(str::to_owned).collect())
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vs-nginx-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn fill(template: &str, pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .fold(template.to_owned(), |text, (k, v)| text.replace(k, v))
}

fn wait_listening(addr: SocketAddr, dir: &Path) {
    let until = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(addr).is_err() {
        if Instant::now() >= until {
            let said = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
            panic!("nothing listens on {addr}:\n{said}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr_file(dir: &Path) -> Stdio {
    std::fs::File::create(dir.join("stderr")).map_or_else(|_| Stdio::null(), Stdio::from)
}

fn start_proxy(bin: &Path, upstream: SocketAddr, log: bool) -> Contender {
    let dir = scratch("proxy");
    let listen = free_port();
    let config = fill(
        include_str!("vs-nginx/proxy.toml"),
        &[
            ("@LISTEN@", &listen.to_string()),
            ("@UPSTREAM@", &upstream.to_string()),
        ],
    );
    std::fs::write(dir.join("proxy.toml"), config).expect("config");
    let mut command = Command::new(bin);
    command
        .arg("proxy")
        .arg("--config")
        .arg(dir.join("proxy.toml"));
    if log {
        command.arg("--log-file").arg(dir.join("access.log"));
    } else {
        command.args(["--log", "off"]);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file(&dir))
        .spawn()
        .expect("cors proxy starts");
    wait_listening(listen, &dir);
    Contender {
        name: "cors proxy",
        child,
        url: format!("http://{listen}/small"),
        dir,
    }
}

fn start_nginx(upstream: SocketAddr, log: bool) -> Contender {
    let dir = scratch("nginx");
    let listen = free_port();
    let access = if log {
        format!("{}/access.log combined buffer=64k flush=1s", dir.display())
    } else {
        "off".to_owned()
    };
    let config = fill(
        include_str!("vs-nginx/nginx.conf"),
        &[
            ("@PREFIX@", &dir.display().to_string()),
            ("@LISTEN@", &listen.to_string()),
            ("@UPSTREAM@", &upstream.to_string()),
            ("@ACCESS_LOG@", &access),
        ],
    );
    std::fs::write(dir.join("nginx.conf"), config).expect("config");
    let child = Command::new("/usr/sbin/nginx")
        .arg("-p")
        .arg(&dir)
        .args(["-c", "nginx.conf", "-g", "daemon off;"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file(&dir))
        .spawn()
        .expect("nginx starts");
    wait_listening(listen, &dir);
    Contender {
        name: "nginx",
        child,
        url: format!("http://{listen}/small"),
        dir,
    }
}

/// One wrk run against a contender, with the contender's CPU time over it.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    rps: f64,
    p99_ms: f64,
    /// Microseconds of CPU per request.
    cpu_us: f64,
}

fn measure(contender: &Contender, connections: u32, preflight: bool) -> Run {
    let lua = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/vs-nginx/preflight.lua");
    let mut command = Command::new("wrk");
    command.args([
        "-t1",
        &format!("-c{connections}"),
        &format!("-d{}s", seconds()),
        "--latency",
        "-H",
        ORIGIN,
    ]);
    if preflight {
        command.arg("-s").arg(&lua);
    }
    let before = contender.cpu_ticks();
    let output = command.arg(&contender.url).output().expect("wrk runs");
    let ticks = contender.cpu_ticks() - before;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut run = Run::default();
    let mut requests = 0.0;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            run.rps = rest.trim().parse().unwrap_or(0.0);
        } else if let Some(rest) = line.strip_prefix("99%") {
            run.p99_ms = millis(rest.trim());
        } else if line.contains("requests in") {
            requests = line
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<f64>().ok())
                .unwrap_or(0.0);
        }
        if line.starts_with("Non-2xx") {
            eprintln!("vs_nginx: {} answered errors: {line}", contender.name);
        }
    }
    let tick_us = 1_000_000.0 / 100.0; // USER_HZ is 100 on Linux
    run.cpu_us = ticks as f64 * tick_us / requests.max(1.0);
    run
}

fn main() {
    if std::env::var(ROLE).as_deref() == Ok("upstream") {
        serve_upstream();
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it as a test: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    for (tool, hint) in [("/usr/sbin/nginx", "nginx"), ("/usr/bin/wrk", "wrk")] {
        if !Path::new(tool).exists() {
            println!("vs_nginx: skipped, {tool} is missing (apt-get install {hint})");
            return;
        }
    }
    let bin = cors_binary();
    let mut upstream = Command::new(std::env::current_exe().expect("the bench binary"))
        .env(ROLE, "upstream")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the upstream starts");
    let mut line = String::new();
    BufReader::new(upstream.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the upstream's address");
    let upstream_addr: SocketAddr = line.trim().parse().expect("an address");

    println!(
        "vs_nginx: {} rounds of {} s, upstream {upstream_addr}, cors = {}",
        rounds(),
        seconds(),
        bin.display()
    );
    println!("| log | request | c | round | proxy req/s | nginx req/s | req/s ratio | proxy p99 | nginx p99 | proxy CPU/req | nginx CPU/req | CPU ratio |");
    println!("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for log in [true, false] {
        let proxy = start_proxy(&bin, upstream_addr, log);
        let nginx = start_nginx(upstream_addr, log);
        for (what, connections, preflight) in [
            ("GET", 16, false),
            ("GET", 64, false),
            ("preflight", 16, true),
        ] {
            // A short warm-up of each, so that pools and caches are filled before counting.
            for c in [&proxy, &nginx] {
                let _ = Command::new("wrk")
                    .args(["-t1", "-c16", "-d1s", "-H", ORIGIN, &c.url])
                    .output();
            }
            for round in 1..=rounds() {
                // Alternate who goes first, so drift within a round does not favour one.
                let (p, n) = if round % 2 == 1 {
                    let p = measure(&proxy, connections, preflight);
                    (p, measure(&nginx, connections, preflight))
                } else {
                    let n = measure(&nginx, connections, preflight);
                    (measure(&proxy, connections, preflight), n)
                };
                println!(
                    "| {} | {what} | {connections} | {round} | {:.1} k | {:.1} k | {:.2} | {:.2} ms | {:.2} ms | {:.1} µs | {:.1} µs | {:.2} |",
                    if log { "on" } else { "off" },
                    p.rps / 1000.0,
                    n.rps / 1000.0,
                    p.rps / n.rps,
                    p.p99_ms,
                    n.p99_ms,
                    p.cpu_us,
                    n.cpu_us,
                    p.cpu_us / n.cpu_us,
                );
            }
        }
        if !log {
            // Peak resident set under 256 connections.
            let _ = measure(&proxy, 256, false);
            let _ = measure(&nginx, 256, false);
            println!(
                "\npeak RSS after 256 connections: cors proxy {:.1} MiB, nginx {:.1} MiB (master + workers)",
                proxy.peak_rss_mib(),
                nginx.peak_rss_mib()
            );
        }
    }
    let _ = upstream.kill();
    let _ = upstream.wait();
}
