//! One HTTP/1.1 request per connection, over TCP or TLS (rustls with the `ring` provider), sent
//! exactly as given: no header added, no redirect followed, the response body left unread.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The head of an answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
}

/// The connection options `cors check` and `cors audit` share.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct NetArgs {
    /// Also trust the certificates in this PEM file.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Seconds to wait for each answer.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout: f64,
}

impl NetArgs {
    /// The client these options describe (see [`Client::from_flags`]).
    pub fn client(&self) -> Result<Client, String> {
        Client::from_flags(self.cacert.as_deref(), self.timeout)
    }
}

impl Default for NetArgs {
    /// No extra certificates, the default 10-second timeout.
    fn default() -> Self {
        NetArgs {
            cacert: None,
            timeout: 10.0,
        }
    }
}

/// Sends requests with a fixed TLS configuration and a per-request time limit.
#[derive(Clone)]
pub struct Client {
    tls: TlsConnector,
    timeout: Duration,
}

impl Client {
    /// [`Client::new`] for the command line's `--cacert` and `--timeout SECS`: a timeout that is
    /// not a number of seconds in (0, 86400] is refused, naming it.
    pub fn from_flags(cacert: Option<&Path>, timeout_secs: f64) -> Result<Self, String> {
        if !(timeout_secs.is_finite() && timeout_secs > 0.0 && timeout_secs <= 86400.0) {
            return Err(format!(
                "--timeout {timeout_secs} is not a number of seconds between 0 and 86400"
            ));
        }
        Self::new(cacert, Duration::from_secs_f64(timeout_secs))
    }

    /// A client trusting the bundled Mozilla roots (`webpki-roots`) plus every certificate in
    /// the PEM file `cacert`.
    pub fn new(cacert: Option<&Path>, timeout: Duration) -> Result<Self, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = cacert {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read --cacert {}: {e}", path.display()))?;
            let mut added = 0;
            for cert in certs {
                let cert = cert.map_err(|e| format!("--cacert {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("--cacert {}: {e}", path.display()))?;
                added += 1;
            }
            if added == 0 {
                return Err(format!(
                    "--cacert {} holds no PEM certificate",
                    path.display()
                ));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Client {
            tls: TlsConnector::from(Arc::new(config)),
            timeout,
        })
    }

    /// Sends `request` (absolute URI) on a fresh connection and returns the answer's head.
    /// Errors are one line naming what failed: resolution, connection, TLS, HTTP, or the time
    /// limit.
    pub async fn send(&self, request: Request<()>) -> Result<Answer, String> {
        match tokio::time::timeout(self.timeout, self.send_now(request)).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no answer within {} s (--timeout)",
                self.timeout.as_secs_f64()
            )),
        }
    }

    async fn send_now(&self, request: Request<()>) -> Result<Answer, String> {
        let uri = request.uri().clone();
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().ok_or("the URL has no host")?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp = TcpStream::connect((bare, port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let (mut parts, ()) = request.into_parts();
        parts.uri = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .map_err(|e| format!("bad request target: {e}"))?;
        let request = Request::from_parts(parts, Empty::<Bytes>::new());
        if https {
            let name = ServerName::try_from(bare.to_owned())
                .map_err(|e| format!("{host} is not a TLS server name: {e}"))?;
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake with {host}:{port} failed: {e}"))?;
            exchange(tls, request).await
        } else {
            exchange(tcp, request).await
        }
    }
}

async fn exchange<T>(io: T, request: Request<Empty<Bytes>>) -> Result<Answer, String>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let driver = tokio::spawn(connection);
    let result = sender.send_request(request).await;
    driver.abort();
    let response = result.map_err(|e| format!("HTTP exchange failed: {e}"))?;
    Ok(Answer {
        status: response.status(),
        headers: response.headers().clone(),
    })
}
