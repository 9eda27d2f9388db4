//! The `cors` binary itself: exit statuses, `--json` on stdout, one-line errors on stderr,
//! `--help` with examples.

mod support;

use std::net::SocketAddr;
use std::process::{Command, Output};

/// Serves `app` from its own thread and runtime, so the test thread can block on the binary.
fn serve_in_background(app: axum::Router) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let addr = support::serve(app).await;
            tx.send(addr).expect("send address");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("server address")
}

fn cors(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cors"))
        .args(args)
        .output()
        .expect("run cors")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn exit_statuses_and_json() {
    let addr = serve_in_background(support::misconfigured());
    let correct = serve_in_background(support::correct("https://app.test"));

    let blocked = cors(&[
        "check",
        &format!("http://{addr}/trailing-slash"),
        "--origin",
        "https://app.test",
        "--json",
    ]);
    assert_eq!(blocked.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&blocked.stdout).expect("one JSON object");
    assert_eq!(json["reason"], "CORSAllowOriginNotMatchingOrigin");
    assert!(json["fix"]
        .as_str()
        .unwrap_or_default()
        .contains("Access-Control-Allow-Origin: https://app.test"));

    let allowed = cors(&[
        "check",
        &format!("http://{correct}/items"),
        "--origin",
        "https://app.test",
        "-X",
        "PUT",
        "-H",
        "X-Api-Key: k",
        "--credentials",
        "--cookie",
        "session=1",
    ]);
    assert_eq!(allowed.status.code(), Some(0), "{}", text(&allowed.stderr));
    let transcript = text(&allowed.stdout);
    assert!(transcript.contains("preflight needed"), "{transcript}");
    assert!(transcript.contains("verdict: ALLOWED"), "{transcript}");
    assert!(transcript.contains("cookie: <redacted>"), "{transcript}");
    assert!(
        !transcript.contains("session=1"),
        "the cookie is never echoed"
    );
    // Loopback is exempt from mixed-content blocking.
    assert!(!transcript.contains("mixed content"), "{transcript}");

    let human = cors(&[
        "check",
        &format!("http://{addr}/header-missing"),
        "--origin",
        "https://app.test",
        "-X",
        "PUT",
        "-H",
        "X-Api-Key: k",
    ]);
    assert_eq!(human.status.code(), Some(1));
    let transcript = text(&human.stdout);
    assert!(
        transcript.contains("fix (headers):    Access-Control-Allow-Headers: x-api-key"),
        "{transcript}"
    );
    assert!(
        transcript.contains(r#"fix (CorsBuilder): .allow_headers(["x-api-key"])"#),
        "{transcript}"
    );
}

/// `cors check --json`, as a script runs it, for every stand-in: the printed object and the exit
/// status say what the case expects.
#[test]
fn json_for_every_stand_in() {
    let broken = serve_in_background(support::misconfigured());
    let correct = serve_in_background(support::correct("https://app.test"));
    for case in support::cases() {
        let addr = if case.correct { correct } else { broken };
        let url = format!("http://{addr}{}", case.path);
        let mut args = vec![
            "check",
            &url,
            "--origin",
            "https://app.test",
            "-X",
            case.method,
            "--json",
        ];
        let headers: Vec<String> = case
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}"))
            .collect();
        for header in &headers {
            args.extend(["-H", header.as_str()]);
        }
        if case.credentials {
            args.push("--credentials");
        }
        let out = cors(&args);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: not one JSON object ({e}): {}",
                case.id,
                text(&out.stdout)
            )
        });
        let id = case.id;
        assert_eq!(json["verdict"], case.verdict, "{id}: {json}");
        assert_eq!(json["stage"].as_str(), case.stage, "{id}");
        assert_eq!(json["reason"].as_str(), case.reason, "{id}");
        assert_eq!(json["browsers"]["chromium"], case.chromium, "{id}");
        let expected = if case.verdict == "allowed" { 0 } else { 1 };
        assert_eq!(out.status.code(), Some(expected), "{id}");
        assert!(out.stderr.is_empty(), "{id}: {}", text(&out.stderr));
    }
}

#[test]
fn errors_are_one_line_with_status_2() {
    let cases: [&[&str]; 7] = [
        &[
            "check",
            "http://127.0.0.1:1/",
            "--origin",
            "https://app.test/",
        ],
        &["check", "not a url", "--origin", "https://app.test"],
        &[
            "check",
            "http://127.0.0.1:1/",
            "--origin",
            "https://app.test",
            "-H",
            "no colon",
        ],
        &[
            "check",
            "http://127.0.0.1:1/",
            "--origin",
            "https://app.test",
            "--timeout",
            "-3",
        ],
        &["check", "http://127.0.0.1:1/"],
        &[
            "check",
            "http://127.0.0.1:1/",
            "--origin",
            "https://app.test",
            "--resolve",
            "api.test:443:::1",
        ],
        &["check", "http://a b/", "--origin", "https://app.test"],
    ];
    for args in cases {
        let out = cors(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("cors: "), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A missing argument is named on that one line, not left after a colon.
    let stderr = text(&cors(&["check", "http://127.0.0.1:1/"]).stderr);
    assert_eq!(
        stderr.trim_end(),
        "cors: the following required arguments were not provided: --origin <ORIGIN>"
    );
    // In --json mode the object is still printed.
    let out = cors(&[
        "check",
        "http://127.0.0.1:1/",
        "--origin",
        "https://app.test",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["verdict"], "error");
    assert_eq!(json["reason"], "CORSDidNotSucceed");
}

#[test]
fn resolve_connects_to_the_given_address_with_the_real_host() {
    let addr = serve_in_background(support::correct("https://app.test"));
    let port = addr.port();
    // Nothing listens on [::1] at this port: the next address is tried, as curl does.
    let out = cors(&[
        "check",
        &format!("http://\u{f1}and\u{fa}.test:{port}/api/v0/../../items?q=a b#top"),
        "--origin",
        "https://app.test",
        "--resolve",
        &format!("\u{d1}AND\u{da}.test:{port}:[::1],127.0.0.1"),
    ]);
    let transcript = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{transcript}{}",
        text(&out.stderr)
    );
    let host = format!("xn--and-6ma2c.test:{port}");
    for line in [
        format!("fetch(\"http://{host}/items?q=a%20b#top\""),
        format!("> GET http://{host}/items?q=a%20b (actual)"),
        format!("* connected to 127.0.0.1:{port} (--resolve)"),
        format!(">   host: {host}"),
        "verdict: ALLOWED".to_owned(),
    ] {
        assert!(transcript.contains(&line), "{line}\n{transcript}");
    }
    // Not a potentially trustworthy URL: no fetch metadata, as browsers send none, and an
    // https page may not fetch it (mixed content), whatever address it resolves to.
    assert!(!transcript.contains("sec-fetch"), "{transcript}");
    assert!(transcript.contains("mixed content"), "{transcript}");

    // An entry for another port does not apply; one whose addresses all refuse is an error.
    let out = cors(&[
        "check",
        &format!("http://127.0.0.1:{port}/items"),
        "--origin",
        "https://app.test",
        "--resolve",
        &format!("127.0.0.1:{}:[::1]", if port == 1 { 2 } else { port - 1 }),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("--resolve"));
    let out = cors(&[
        "check",
        "http://api.test:1/items",
        "--origin",
        "https://app.test",
        "--resolve",
        "api.test:1:127.0.0.1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot connect to api.test:1 (--resolve api.test:1:127.0.0.1)"),
        "{stderr}"
    );
}

#[test]
fn help_shows_examples() {
    let out = cors(&["check", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    assert!(
        help.contains("Examples:") && help.contains("--credentials"),
        "{help}"
    );
}

#[test]
fn completions_for_each_shell_and_one_line_for_an_unknown_one() {
    for (shell, marker) in [
        ("bash", "complete -F _cors"),
        ("zsh", "#compdef cors"),
        ("fish", "complete -c cors"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[cors]"),
    ] {
        let output = cors(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = text(&output.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("healthcheck"),
            "{shell} lists the subcommands"
        );
    }
    let output = cors(&["completions", "tcsh"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr).lines().count(),
        1,
        "{}",
        text(&output.stderr)
    );
}
