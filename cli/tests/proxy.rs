//! `cors proxy` as a process: the one-line mode, a configuration file with a secret, the
//! errors, graceful shutdown on SIGTERM sent with `kill` while a request is in flight, the log
//! (level, buffering, file) and the open-file limit.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method};
use axum::routing::{any, get};
use axum::Router;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

const APP: &str = "http://localhost:5173";

/// An upstream without CORS headers: `/x` echoes the authorization it got, `/slow` takes 1.5 s,
/// `/m` answers with the request's method, whatever it is.
async fn upstream(seen: Arc<Mutex<Vec<String>>>) -> SocketAddr {
    let app = Router::new()
        .route(
            "/x",
            get(move |headers: HeaderMap| {
                let seen = seen.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .to_owned();
                    if let Ok(mut seen) = seen.lock() {
                        seen.push(auth);
                    }
                    "upstream says hi"
                }
            }),
        )
        .route(
            "/m",
            any(|method: Method| async move { method.to_string() }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "finished"
            }),
        );
    serve(app).await
}

/// Serves `app` on a fresh loopback port until the test's runtime ends.
async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A listener that only counts connections: set as HTTP(S)_PROXY, it must never be used.
async fn decoy() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (addr, count)
}

struct Proxy {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start(args: &[&str], env: &[(&str, String)]) -> Proxy {
        Self::launch(&[args, &["--listen", "127.0.0.1:0"]].concat(), env)
    }

    /// Starts `cors proxy ARGS` with `env` added, and waits for its listening line.
    fn launch(args: &[&str], env: &[(&str, String)]) -> Proxy {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cors"));
        // The caller's RUST_LOG would change what the tests read.
        command.arg("proxy").args(args).env_remove("RUST_LOG");
        for (name, value) in env {
            command.env(name, value);
        }
        Self::spawn(command)
    }

    /// Runs `command` (the binary and its arguments, or a wrapper that execs it), once it says
    /// where it listens.
    fn spawn(mut command: Command) -> Proxy {
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("the cors binary starts");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line
                    .strip_prefix("cors proxy: listening on http://")
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|a| a.parse::<SocketAddr>().ok())
                {
                    let _ = tx.send(addr);
                }
                if let Ok(mut sink) = sink.lock() {
                    sink.push(line);
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                panic!(
                    "no listening line; stderr: {:?}",
                    lines.lock().map(|l| l.clone())
                )
            });
        Proxy {
            child,
            addr,
            stderr: lines,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// The first stderr line with `needle`, waiting for it up to `limit` (a safety cap, not a
    /// timing assertion).
    fn line_with(&self, needle: &str, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            let found = self
                .stderr
                .lock()
                .ok()
                .and_then(|lines| lines.iter().find(|l| l.contains(needle)).cloned());
            if found.is_some() || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the exit, which must be a clean one.
    fn stop(&mut self) {
        self.signal("TERM");
        let exit = self.wait();
        assert!(exit.success(), "{exit:?}\n{}", self.stderr());
    }

    /// Waits for the process to exit by itself (a safety cap, not a timing assertion).
    fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the proxy did not exit; stderr:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn fetch(url: String) -> (u16, HeaderMap, String) {
    send(
        "GET",
        url,
        &[
            ("origin", APP),
            ("authorization", "Bearer from-the-browser"),
        ],
    )
    .await
}

async fn send(method: &str, url: String, headers: &[(&str, &str)]) -> (u16, HeaderMap, String) {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Empty::new()).expect("request");
    let response = client.request(request).await.expect("an answer");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_liner_forwards_ignores_proxy_env_and_drains_on_sigterm() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let up = upstream(seen.clone()).await;
    let (decoy, decoy_hits) = decoy().await;
    let decoy_url = format!("http://{decoy}");
    let mut proxy = Proxy::start(
        &["--to", &format!("http://{up}"), "--allow-origin", APP],
        &[
            ("HTTP_PROXY", decoy_url.clone()),
            ("HTTPS_PROXY", decoy_url.clone()),
            ("ALL_PROXY", decoy_url.clone()),
            ("http_proxy", decoy_url),
        ],
    );
    let (status, headers, body) = fetch(format!("http://{}/x", proxy.addr)).await;
    assert_eq!((status, body.as_str()), (200, "upstream says hi"));
    assert_eq!(headers["access-control-allow-origin"], APP);
    assert_eq!(
        seen.lock().expect("seen").as_slice(),
        ["-"],
        "browser Authorization not forwarded"
    );
    assert_eq!(
        decoy_hits.load(Ordering::SeqCst),
        0,
        "HTTP(S)_PROXY is never used"
    );

    let slow = tokio::spawn(fetch(format!("http://{}/slow", proxy.addr)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.signal("TERM");
    let (status, _, body) = slow.await.expect("the in-flight request");
    assert_eq!((status, body.as_str()), (200, "finished"));
    let exit = proxy.wait();
    assert!(exit.success(), "{exit:?}\n{}", proxy.stderr());
    let log = proxy.stderr();
    assert!(
        log.contains("route=/") && log.contains("upstream_status=200"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_secrets_are_sent_and_never_logged() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let up = upstream(seen.clone()).await;
    let dir = std::env::temp_dir().join(format!("cors-proxy-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("proxy.toml");
    std::fs::write(
        &file,
        format!(
            "[cors]\nallow_origins = [\"{APP}\"]\n\n[[routes]]\npath = \"/api\"\n\
             upstream = \"http://{up}\"\nset_headers = {{ authorization = \"Bearer ${{CLI_TEST_TOKEN}}\" }}\n"
        ),
    )
    .expect("write config");
    let mut proxy = Proxy::start(
        &["--config", file.to_str().expect("utf-8 path")],
        &[("CLI_TEST_TOKEN", "cli-s3cr3t-value".to_owned())],
    );
    let (status, headers, _) = fetch(format!("http://{}/api/x", proxy.addr)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], APP);
    assert_eq!(
        seen.lock().expect("seen").as_slice(),
        ["Bearer cli-s3cr3t-value"]
    );
    let (_, _, help) = fetch(format!("http://{}/_cors/", proxy.addr)).await;
    assert!(help.contains("/api") && !help.contains("s3cr3t"), "{help}");
    proxy.signal("INT");
    assert!(proxy.wait().success());
    assert!(!proxy.stderr().contains("s3cr3t"), "{}", proxy.stderr());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errors_are_one_clear_message_and_a_failure_status() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cors"));
        command.arg("proxy").args(args);
        for (k, v) in env {
            command.env(k, v);
        }
        let output = command.output().expect("the cors binary runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, err) = run(&[], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, err) = run(&["--to", "http://127.0.0.1:1"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--allow-origin"), "{err}");
    let (code, err) = run(&["--to", "not a url", "--allow-origin", "nope"], &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("\"not a url\"") && err.contains("nope"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let dir = std::env::temp_dir().join(format!("cors-proxy-cli-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("proxy.toml");
    std::fs::write(
        &file,
        "[cors]\nallow_origins = [\"http://localhost:5173\"]\n[[routes]]\npath = \"/a\"\n\
         upstream = \"https://api.example.com\"\nset_query = { key = \"${CLI_UNSET_VARIABLE_X}\" }\n",
    )
    .expect("write config");
    let (code, err) = run(&["--config", file.to_str().expect("utf-8")], &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("CLI_UNSET_VARIABLE_X"), "{err}");
    let (code, err) = run(&["--config", "/nonexistent/proxy.toml"], &[]);
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("cors proxy: cannot read /nonexistent/proxy.toml"),
        "{err}"
    );

    let one_line = [
        "--to",
        "http://127.0.0.1:9",
        "--allow-origin",
        "http://a.test",
    ];
    // (extra arguments, RUST_LOG, exit status, words of the one line)
    let cases: [(&[&str], &str, i32, &[&str]); 4] = [
        (&["--log", "loud"], "", 2, &["'loud'", "--log"]),
        (&["--log-flush", "5x"], "", 2, &["\"5x\"", "--log-flush"]),
        (
            &["--log-file", "/nonexistent/dir/access.log"],
            "",
            1,
            &["/nonexistent/dir/access.log"],
        ),
        (&[], "tower_cors_proxy=loud", 1, &["RUST_LOG"]),
    ];
    for (extra, rust_log, status, words) in cases {
        let args = [&one_line[..], extra].concat();
        let (code, err) = run(&args, &[("RUST_LOG", rust_log)]);
        assert_eq!(code, Some(status), "{extra:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{extra:?}: {err}");
        assert!(words.iter().all(|w| err.contains(w)), "{extra:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A request line (every one names its route); the start-up lines do not.
const REQUEST_LINE: &str = "route=";

/// Long enough for any line to be written when nothing holds it back, on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

fn preflight(method: &'static str) -> [(&'static str, &'static str); 2] {
    [("origin", APP), ("access-control-request-method", method)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_line_refusals_name_the_flag_that_allows_them() {
    let up = upstream(Arc::default()).await;
    let mut proxy = Proxy::start(
        &["--to", &format!("http://{up}"), "--allow-origin", APP],
        &[],
    );
    let url = format!("http://{}/m", proxy.addr);
    let (status, headers, _) = send("OPTIONS", url.clone(), &preflight("PUT")).await;
    assert_eq!(status, 403);
    assert!(!headers.contains_key("access-control-allow-methods"));
    let other = [
        ("origin", "http://other.test"),
        ("access-control-request-method", "GET"),
    ];
    assert_eq!(send("OPTIONS", url, &other).await.0, 403);

    let put = proxy
        .line_with("--allow-method PUT", PATIENCE)
        .unwrap_or_else(|| panic!("no refusal line for PUT:\n{}", proxy.stderr()));
    for part in ["cors=", "refused", "reason=", "PUT", "allow_with="] {
        assert!(put.contains(part), "{part:?} missing from {put}");
    }
    let origin = proxy
        .line_with("--allow-origin http://other.test", PATIENCE)
        .unwrap_or_else(|| panic!("no refusal line for the origin:\n{}", proxy.stderr()));
    assert!(origin.contains("refused"), "{origin}");
    proxy.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_method_answers_the_preflight_and_forwards_the_method() {
    let up = upstream(Arc::default()).await;
    // PROPFIND is not among the methods a route forwards by default: without the widening the
    // proxy would refuse to start.
    let mut proxy = Proxy::start(
        &[
            "--to",
            &format!("http://{up}"),
            "--allow-origin",
            APP,
            "--allow-method",
            "PUT",
            "--allow-method",
            "PROPFIND",
        ],
        &[],
    );
    let url = format!("http://{}/m", proxy.addr);
    for method in ["PUT", "PROPFIND"] {
        let (status, headers, _) = send("OPTIONS", url.clone(), &preflight(method)).await;
        assert!((200..300).contains(&status), "{method} preflight: {status}");
        let allowed = headers["access-control-allow-methods"]
            .to_str()
            .expect("ASCII");
        assert!(allowed.contains(method), "{method}: {allowed}");
        let (status, headers, body) = send(method, url.clone(), &[("origin", APP)]).await;
        assert_eq!(
            (status, body.as_str()),
            (200, method),
            "the upstream saw it"
        );
        assert_eq!(headers["access-control-allow-origin"], APP);
    }
    proxy.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_level_from_the_flag_over_rust_log() {
    let up = upstream(Arc::default()).await;
    let to = format!("http://{up}");
    // (--log, RUST_LOG, request lines expected)
    let cases: [(Option<&str>, Option<&str>, bool); 4] = [
        (Some("off"), None, false),
        (Some("off"), Some("info"), false),
        (None, Some("error"), false),
        (Some("info"), Some("off"), true),
    ];
    for (flag, env, expected) in cases {
        let mut args = vec!["--to", to.as_str(), "--allow-origin", APP];
        args.extend(flag.map(|level| ["--log", level]).into_iter().flatten());
        let env: Vec<(&str, String)> = env
            .map(|v| ("RUST_LOG", v.to_owned()))
            .into_iter()
            .collect();
        let mut proxy = Proxy::start(&args, &env);
        assert_eq!(fetch(format!("http://{}/x", proxy.addr)).await.0, 200);
        // The exit writes whatever is buffered: a line not there after it was never logged.
        proxy.stop();
        let log = proxy.stderr();
        assert_eq!(
            log.contains(REQUEST_LINE),
            expected,
            "{flag:?} {env:?}:\n{log}"
        );
        assert!(log.contains("cors proxy: listening on"), "{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_wait_at_most_the_flush_interval_and_are_written_at_exit() {
    let up = upstream(Arc::default()).await;
    let to = format!("http://{up}");
    let base = ["--to", to.as_str(), "--allow-origin", APP];

    // One line never fills the buffer: only the interval writes it while the proxy runs.
    let mut proxy = Proxy::start(&[&base[..], &["--log-flush", "250ms"]].concat(), &[]);
    assert_eq!(fetch(format!("http://{}/x", proxy.addr)).await.0, 200);
    assert!(
        proxy.line_with(REQUEST_LINE, PATIENCE).is_some(),
        "{}",
        proxy.stderr()
    );
    proxy.stop();

    // With an hour's interval the line is held until SIGTERM, which writes it.
    let mut proxy = Proxy::start(&[&base[..], &["--log-flush", "1h"]].concat(), &[]);
    assert_eq!(fetch(format!("http://{}/x", proxy.addr)).await.0, 200);
    assert!(
        proxy
            .line_with(REQUEST_LINE, Duration::from_secs(1))
            .is_none(),
        "written before the buffer filled or the hour passed:\n{}",
        proxy.stderr()
    );
    proxy.stop();
    assert!(proxy.stderr().contains(REQUEST_LINE), "{}", proxy.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_file_is_appended_to() {
    let up = upstream(Arc::default()).await;
    let dir = std::env::temp_dir().join(format!("cors-proxy-cli-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("access.log");
    std::fs::write(&file, "an earlier line\n").expect("write");
    let mut proxy = Proxy::start(
        &[
            "--to",
            &format!("http://{up}"),
            "--allow-origin",
            APP,
            "--log-file",
            file.to_str().expect("utf-8 path"),
        ],
        &[],
    );
    assert_eq!(fetch(format!("http://{}/x", proxy.addr)).await.0, 200);
    proxy.stop();
    let written = std::fs::read_to_string(&file).expect("the log file");
    assert!(written.starts_with("an earlier line\n"), "{written}");
    assert!(written.contains("upstream_status=200"), "{written}");
    let stderr = proxy.stderr();
    assert!(!stderr.contains(REQUEST_LINE), "{stderr}");
    assert!(stderr.contains("cors proxy: listening on"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_open_file_limit_is_raised_to_the_hard_one() {
    let mut command = Command::new("prlimit");
    command.args([
        "--nofile=256:512",
        "--",
        env!("CARGO_BIN_EXE_cors"),
        "proxy",
    ]);
    command.args(["--to", "http://127.0.0.1:9", "--allow-origin", APP]);
    command.args(["--listen", "127.0.0.1:0"]);
    let mut proxy = Proxy::spawn(command);
    let line = proxy
        .line_with("open files", PATIENCE)
        .unwrap_or_else(|| panic!("{}", proxy.stderr()));
    // 512 / 2 - 64: each proxied request may hold a second descriptor upstream.
    assert!(
        line.contains("up to 512") && line.contains("max_connections 192"),
        "{line}"
    );
    proxy.stop();
}

fn healthcheck(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cors"));
    command
        .arg("healthcheck")
        .args(args)
        .env_remove("CORS_LISTEN");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("the cors binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A loopback port nothing listens on once this returns.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_listen_sets_the_address_and_healthcheck_follows_it() {
    let up = upstream(Arc::new(Mutex::new(Vec::new()))).await;
    let listen = format!("127.0.0.1:{}", free_port());
    let mut proxy = Proxy::launch(
        &["--to", &format!("http://{up}"), "--allow-origin", APP],
        &[("CORS_LISTEN", listen.clone())],
    );
    assert_eq!(proxy.addr.to_string(), listen);
    let (status, _, body) = fetch(format!("http://{listen}/x")).await;
    assert_eq!((status, body.as_str()), (200, "upstream says hi"));

    let probe = tokio::task::spawn_blocking({
        let listen = listen.clone();
        move || healthcheck(&[], &[("CORS_LISTEN", &listen)])
    });
    let (code, out, err) = probe.await.expect("probe");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, format!("http://{listen}/_cors/healthz: ok\n"));

    let by_url = format!("http://{listen}/_cors/healthz");
    let probe = tokio::task::spawn_blocking(move || healthcheck(&["--url", &by_url], &[]));
    assert_eq!(probe.await.expect("probe").0, Some(0));

    // The flag beats the environment, as for `cors proxy`.
    let probe = tokio::task::spawn_blocking({
        let listen = listen.clone();
        move || healthcheck(&["--listen", &listen], &[("CORS_LISTEN", "127.0.0.1:1")])
    });
    assert_eq!(probe.await.expect("probe").0, Some(0));

    proxy.signal("TERM");
    assert!(proxy.wait().success(), "{}", proxy.stderr());
    let probe = tokio::task::spawn_blocking(move || healthcheck(&["--listen", &listen], &[]));
    let (code, _, err) = probe.await.expect("probe");
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("cors healthcheck: http://127.0.0.1:"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_fails_on_anything_but_200_and_bad_arguments() {
    let app = Router::new().route(
        "/_cors/healthz",
        get(|| async { (http::StatusCode::SERVICE_UNAVAILABLE, "draining") }),
    );
    let addr = serve(app).await;
    let probe =
        tokio::task::spawn_blocking(move || healthcheck(&["--listen", &addr.to_string()], &[]));
    let (code, _, err) = probe.await.expect("probe");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.trim_end().ends_with("answered 503 Service Unavailable"),
        "{err}"
    );

    let (code, _, err) = healthcheck(&[], &[("CORS_LISTEN", "not-an-address")]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, _, err) = healthcheck(&["--url", "ftp://127.0.0.1/"], &[]);
    assert_eq!((code, err.lines().count()), (Some(2), 1), "{err}");
}
