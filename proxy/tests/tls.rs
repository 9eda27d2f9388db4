//! HTTPS upstreams on loopback with a CA generated at test time (rcgen), trusted through the
//! configuration's `ca_file`; HTTP/2 is negotiated with ALPN when the upstream offers it.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::routing::get as route_get;
use axum::Router;
use common::*;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tower::ServiceExt;

struct TestPki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn pki() -> TestPki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "tower-cors-proxy test CA");
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let leaf = CertificateParams::new(vec!["upstream.test".to_owned()]).expect("leaf params");
    let leaf_key = KeyPair::generate().expect("leaf key");
    let issuer = Issuer::from_params(&ca, &ca_key);
    let leaf_cert = leaf
        .signed_by(&leaf_key, &issuer)
        .expect("leaf certificate");
    TestPki {
        ca_pem: ca_cert.pem(),
        chain: vec![leaf_cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
    }
}

/// An HTTPS upstream offering `alpn`; answers `/version` with the HTTP version it was spoken to.
async fn tls_upstream(pki: &TestPki, alpn: &[&[u8]]) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.key.clone_key())
        .expect("server certificate");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let app = Router::new().route(
        "/version",
        route_get(|request: Request| async move { format!("{:?}", request.version()) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service =
                    hyper::service::service_fn(move |request| app.clone().oneshot(request));
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

fn config(h2: SocketAddr, h1: SocketAddr, ca_file: Option<&std::path::Path>) -> String {
    let ca = ca_file
        .map(|p| format!("ca_file = {:?}\n", p.display().to_string()))
        .unwrap_or_default();
    format!(
        r#"{ca}
[cors]
allow_origins = ["{APP}"]
[limits]
rate_limit_per_minute = 0
[[routes]]
path = "/h2"
upstream = "https://upstream.test:{}"
[[routes]]
path = "/h1"
upstream = "https://upstream.test:{}"
"#,
        h2.port(),
        h1.port()
    )
}

#[tokio::test]
async fn https_upstreams_with_a_test_ca_over_http2_and_http1() {
    let pki = pki();
    let h2 = tls_upstream(&pki, &[b"h2", b"http/1.1"]).await;
    let h1 = tls_upstream(&pki, &[b"http/1.1"]).await;
    let dir = std::env::temp_dir().join(format!("tower-cors-proxy-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).expect("write the CA");
    let resolver = TableResolver::with(&[("upstream.test", "127.0.0.1")]);

    let proxy = start_proxy(&config(h2, h1, Some(&ca_file)), &[], resolver.clone()).await;
    let got = get(&proxy.url("/h2/version"), &[("origin", APP)]).await;
    assert_eq!(
        (got.status, got.text().as_str()),
        (200, "HTTP/2.0"),
        "{got:?}"
    );
    assert_eq!(got.header("access-control-allow-origin"), Some(APP));
    let got = get(&proxy.url("/h1/version"), &[("origin", APP)]).await;
    assert_eq!(
        (got.status, got.text().as_str()),
        (200, "HTTP/1.1"),
        "{got:?}"
    );

    // Without the CA the upstream's certificate is not trusted: a 502 the page can read.
    let untrusted = start_proxy(&config(h2, h1, None), &[], resolver.clone()).await;
    let got = get(&untrusted.url("/h2/version"), &[("origin", APP)]).await;
    assert_eq!(got.status, 502, "{got:?}");
    assert_eq!(got.header("access-control-allow-origin"), Some(APP));

    let missing = dir.join("missing.pem");
    let err = build_proxy(&config(h2, h1, Some(&missing)), &[], resolver).expect_err("no CA file");
    assert!(err.to_string().contains("missing.pem"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
