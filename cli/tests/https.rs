//! `cors check` over HTTPS against a stand-in on 127.0.0.1 whose certificate a test CA (made
//! at test time by rcgen, in `support::tls`) signed: trusted with `--cacert`, a TLS error
//! (exit 2) without.

mod support;

use std::path::PathBuf;

use support::tls::{make_ca, serve_tls};
use tower_cors_cli::check::{check, CheckArgs};
use tower_cors_cli::net::NetArgs;

const ORIGIN: &str = "https://app.test";

fn args(url: String, cacert: Option<PathBuf>) -> CheckArgs {
    CheckArgs {
        url,
        origin: ORIGIN.to_owned(),
        method: "PUT".to_owned(),
        headers: vec!["X-Api-Key: k".to_owned()],
        credentials: true,
        cookie: None,
        json: true,
        net: NetArgs {
            cacert,
            ..NetArgs::default()
        },
    }
}

#[tokio::test]
async fn https_with_a_test_ca() {
    let ca = make_ca();
    let port = serve_tls(support::correct(ORIGIN), &ca).await.port();

    let trusted = check(&args(
        format!("https://localhost:{port}/items"),
        Some(ca.pem_file.clone()),
    ))
    .await;
    assert_eq!(
        trusted.to_json()["verdict"],
        "allowed",
        "{}",
        trusted.to_json()
    );
    let by_ip = check(&args(
        format!("https://127.0.0.1:{port}/items"),
        Some(ca.pem_file.clone()),
    ))
    .await;
    assert_eq!(by_ip.to_json()["verdict"], "allowed", "{}", by_ip.to_json());

    let untrusted = check(&args(format!("https://localhost:{port}/items"), None)).await;
    let json = untrusted.to_json();
    assert_eq!(json["verdict"], "error", "{json}");
    assert_eq!(json["reason"], "CORSDidNotSucceed");
    assert_eq!(json["stage"], "preflight");
    assert!(
        json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("TLS handshake"),
        "{json}"
    );
    assert_eq!(untrusted.exit_code(), 2);

    let missing = check(&args(
        format!("https://localhost:{port}/items"),
        Some(PathBuf::from("/nonexistent/ca.pem")),
    ))
    .await;
    assert_eq!(missing.exit_code(), 2);
    assert!(missing
        .error_line()
        .unwrap_or_default()
        .contains("--cacert"));
}
