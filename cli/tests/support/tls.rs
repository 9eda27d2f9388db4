//! An HTTPS stand-in: a test CA made at test time by rcgen, a server certificate it signed for
//! `localhost`, `127.0.0.1` and the IDNA test host [`IDNA_HOST`], and a hyper server over
//! tokio-rustls on 127.0.0.1.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, PublicKeyData,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// A test CA and the server certificate it signed. Dropping it removes the CA's PEM file.
pub struct TestCa {
    /// The CA certificate, as a PEM file for `--cacert`.
    pub pem_file: PathBuf,
    /// The server's chain (the leaf alone: the CA is what clients are told to trust).
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
    /// The leaf's DER SubjectPublicKeyInfo, which a browser can be told to trust by hash.
    pub leaf_spki: Vec<u8>,
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.pem_file);
    }
}

/// `ñandú.test` in the form certificates, `Host` and SNI carry: a name with a non-ASCII label
/// that test clients map to loopback (`--resolve`, Chromium's `--host-resolver-rules`).
pub const IDNA_HOST: &str = "xn--and-6ma2c.test";

/// Makes a fresh CA and a server certificate for `localhost`, `127.0.0.1` and [`IDNA_HOST`],
/// and writes the CA's PEM to a file of its own in the temporary directory.
pub fn make_ca() -> TestCa {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "tower-cors test CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    let server_key = KeyPair::generate().expect("key");
    let names = ["localhost", "127.0.0.1", IDNA_HOST]
        .map(String::from)
        .to_vec();
    let server = CertificateParams::new(names)
        .expect("params")
        .signed_by(&server_key, &ca)
        .expect("server certificate");
    let pem_file = std::env::temp_dir().join(format!(
        "tower-cors-test-ca-{}-{}.pem",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&pem_file, ca.pem()).expect("write CA");
    TestCa {
        pem_file,
        chain: vec![server.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        leaf_spki: server_key.subject_public_key_info(),
    }
}

/// Serves `app` over TLS with `ca`'s server certificate on `127.0.0.1` (an ephemeral port)
/// until the runtime stops.
pub async fn serve_tls(app: axum::Router, ca: &TestCa) -> SocketAddr {
    let acceptor = acceptor(ca);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
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
    addr
}

/// A TLS acceptor presenting `ca`'s server certificate.
pub fn acceptor(ca: &TestCa) -> TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(ca.chain.clone(), ca.key.clone_key())
        .expect("server config");
    TlsAcceptor::from(Arc::new(config))
}
