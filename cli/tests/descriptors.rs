//! `cors proxy` out of file descriptors: run under `prlimit --nofile=256:256`, flooded with
//! more silent connections than it has descriptors for. The admin listener's health check
//! keeps answering, connections past `max_connections` get a 503 and are closed, the silent
//! ones are closed at `request_head_timeout`, and failed accepts are reported at most about
//! once a second instead of twenty times.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A port free on 127.0.0.1 right now.
fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// One blocking HTTP/1.1 GET with `Connection: close`; the whole answer, or `None` when the
/// connection could not be made or nothing came back within `wait`.
fn get(addr: SocketAddr, path: &str, wait: Duration) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, wait).ok()?;
    stream.set_read_timeout(Some(wait)).ok()?;
    std::io::Write::write_all(
        &mut stream,
        format!("GET {path} HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    (!answer.is_empty()).then_some(answer)
}

/// Retries `get` until it answers with `status`, for up to `within`.
fn eventually(addr: SocketAddr, path: &str, status: &str, within: Duration) -> bool {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if get(addr, path, Duration::from_secs(1)).is_some_and(|a| a.starts_with(status)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Runs `cors proxy` under `prlimit --nofile=256:256` with these `[limits]` lines, calls
/// `flood(main, admin)`, stops the proxy with SIGTERM and returns what `flood` returned, and
/// the proxy's stderr. `None` when prlimit is missing.
fn under_prlimit<T>(
    limits: &str,
    flood: impl FnOnce(SocketAddr, SocketAddr) -> T + std::panic::UnwindSafe,
) -> Option<(T, String)> {
    if !Path::new("/usr/bin/prlimit").exists() {
        eprintln!("skipped: prlimit (util-linux) is not installed");
        return None;
    }
    let (main, admin) = (free_port(), free_port());
    let dir = std::env::temp_dir().join(format!(
        "cors-descriptors-{}-{}",
        std::process::id(),
        main.port()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("proxy.toml");
    std::fs::write(
        &config,
        format!(
            r#"
listen = "{main}"

[admin]
listen = "{admin}"

[cors]
allow_origins = ["http://localhost:5173"]

[limits]
{limits}

[[routes]]
path = "/up"
upstream = "http://127.0.0.1:9"
"#
        ),
    )
    .expect("write the configuration");
    let stderr_path = dir.join("stderr");
    let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
    let mut child = Command::new("/usr/bin/prlimit")
        .args([
            "--nofile=256:256",
            env!("CARGO_BIN_EXE_cors"),
            "proxy",
            "--config",
        ])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start cors proxy under prlimit");
    let ready = eventually(
        admin,
        "/_cors/healthz",
        "HTTP/1.1 200",
        Duration::from_secs(20),
    );
    let outcome = std::panic::catch_unwind(move || {
        assert!(ready, "the proxy did not start");
        flood(main, admin)
    });
    // SIGTERM, so that the proxy writes out its buffered log lines before it exits.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    match outcome {
        Ok(value) => Some((value, log)),
        Err(panic) => {
            eprintln!("proxy stderr:\n{log}");
            std::panic::resume_unwind(panic);
        }
    }
}

/// 300 silent connections: more than the 256 descriptors the proxy may open.
fn silent_flood(main: SocketAddr) -> Vec<TcpStream> {
    let flood: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect_timeout(&main, Duration::from_secs(2)).ok())
        .collect();
    assert!(flood.len() >= 250, "only {} connections made", flood.len());
    flood
}

/// Reads each connection until the proxy closes it; how many it closed within 10 s.
fn wait_closed(flood: Vec<TcpStream>) -> usize {
    let mut closed = 0;
    for mut stream in flood {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut sink = [0u8; 256];
        loop {
            match stream.read(&mut sink) {
                Ok(0) => {
                    closed += 1;
                    break;
                }
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    closed += 1;
                    break;
                }
                Err(_) => break,
            }
        }
    }
    closed
}

/// The proxy closes (nearly) every flood connection, then answers on its main listener again.
fn all_closed_then_recovered(main: SocketAddr, flood: Vec<TcpStream>) {
    let closed = wait_closed(flood);
    assert!(closed >= 250, "only {closed} flood connections were closed");
    assert!(
        eventually(
            main,
            "/_cors/healthz",
            "HTTP/1.1 200",
            Duration::from_secs(10)
        ),
        "the main listener did not recover"
    );
}

#[test]
fn past_max_connections_the_health_check_keeps_answering() {
    // The default max_connections under 256 descriptors: 256 / 2 - 64 = 64.
    let Some(((), _log)) = under_prlimit(r#"request_head_timeout = "6s""#, |main, admin| {
        let flood = silent_flood(main);
        assert!(
            eventually(
                admin,
                "/_cors/healthz",
                "HTTP/1.1 200",
                Duration::from_secs(3)
            ),
            "the admin health check did not answer during the flood"
        );
        // A newcomer is told 503 and closed rather than left waiting (once the flood's own
        // 503s are out of the way: only so many are answered at once, the rest just closed).
        assert!(
            eventually(
                main,
                "/_cors/healthz",
                "HTTP/1.1 503",
                Duration::from_secs(4)
            ),
            "no 503 past max_connections"
        );
        all_closed_then_recovered(main, flood);
    }) else {
        return;
    };
}

#[test]
fn out_of_descriptors_the_server_backs_off_and_says_so_once_a_second() {
    // max_connections above what the descriptors allow: accept itself fails.
    let Some((elapsed, log)) = under_prlimit(
        "request_head_timeout = \"2s\"\nmax_connections = 1000",
        |main, _admin| {
            let started = Instant::now();
            all_closed_then_recovered(main, silent_flood(main));
            started.elapsed()
        },
    ) else {
        return;
    };
    let warnings = log.lines().filter(|l| l.contains("accept failed")).count();
    assert!(warnings >= 1, "no accept failure was reported:\n{log}");
    let allowed = 2 + elapsed.as_secs() as usize;
    assert!(
        warnings <= allowed,
        "{warnings} accept warnings in {elapsed:?} (at most {allowed}):\n{log}"
    );
}
