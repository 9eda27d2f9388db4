//! `cors check` over HTTPS against a stand-in on 127.0.0.1 whose certificate a test CA (made
//! here by rcgen) signed: trusted with `--cacert`, a TLS error (exit 2) without.

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;
use tower_cors_cli::check::{check, CheckArgs};

const ORIGIN: &str = "https://app.test";

struct TestCa {
    pem_file: PathBuf,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn make_ca() -> TestCa {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "tower-cors test CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    let server_key = KeyPair::generate().expect("key");
    let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("params")
        .signed_by(&server_key, &ca)
        .expect("server certificate");
    let pem_file =
        std::env::temp_dir().join(format!("tower-cors-test-ca-{}.pem", std::process::id()));
    std::fs::write(&pem_file, ca.pem()).expect("write CA");
    TestCa {
        pem_file,
        chain: vec![server.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
    }
}

async fn serve_tls(app: axum::Router, ca: &TestCa) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(ca.chain.clone(), ca.key.clone_key())
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    port
}

fn args(url: String, cacert: Option<PathBuf>) -> CheckArgs {
    CheckArgs {
        url,
        origin: ORIGIN.to_owned(),
        method: "PUT".to_owned(),
        headers: vec!["X-Api-Key: k".to_owned()],
        credentials: true,
        cookie: None,
        json: true,
        cacert,
        timeout: 10.0,
    }
}

#[tokio::test]
async fn https_with_a_test_ca() {
    let ca = make_ca();
    let port = serve_tls(support::correct(ORIGIN), &ca).await;

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
    let _ = std::fs::remove_file(&ca.pem_file);
}
