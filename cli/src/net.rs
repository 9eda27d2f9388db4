//! One HTTP/1.1 request per connection, over TCP or TLS (rustls with the `ring` provider), sent
//! exactly as given: no header added, no redirect followed, the response body left unread.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
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
    /// The address `--resolve` sent the request to, when one of its entries applied.
    pub resolved: Option<SocketAddr>,
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
    /// Connect to ADDR (the first that answers) for HOST:PORT, still sending the URL's `Host`
    /// and TLS server name, as curl's `--resolve` does (repeatable; IPv6 ADDR in brackets).
    #[arg(long, value_name = "HOST:PORT:ADDR[,ADDR...]")]
    pub resolve: Vec<Resolve>,
}

impl NetArgs {
    /// The client these options describe (see [`Client::from_flags`]).
    pub fn client(&self) -> Result<Client, String> {
        Ok(Client::from_flags(self.cacert.as_deref(), self.timeout)?.resolving(&self.resolve))
    }
}

/// One `--resolve HOST:PORT:ADDR[,ADDR...]` entry: requests to `HOST:PORT` connect to these
/// addresses instead of what the name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolve {
    /// The host as URLs serialize it: lower case, IDNA to ASCII, IPv6 in brackets.
    host: String,
    port: u16,
    addrs: Vec<IpAddr>,
}

impl FromStr for Resolve {
    type Err = String;

    /// Parses `HOST:PORT:ADDR[,ADDR...]`. HOST may be an IDNA name (`ñandú.test`, matched in its
    /// `xn--` form) or a bracketed IPv6 address; each ADDR an IPv4 or a bracketed IPv6 address.
    fn from_str(text: &str) -> Result<Self, String> {
        // clap quotes the whole value before this message.
        let bad = |why: &str| format!("{why} (expected HOST:PORT:ADDR[,ADDR...])");
        let split_host = |rest: &str| -> Option<usize> {
            if rest.starts_with('[') {
                rest.find("]:").map(|end| end + 1)
            } else {
                rest.find(':')
            }
        };
        let at = split_host(text).ok_or_else(|| bad("no port"))?;
        let (host, rest) = (&text[..at], &text[at + 1..]);
        let (port, addrs) = rest.split_once(':').ok_or_else(|| bad("no address"))?;
        // The same host parser URLs go through, so the entry matches the URL's host exactly.
        let host = url::Host::parse(host)
            .map_err(|e| bad(&format!("host {host:?} is not valid: {e}")))?
            .to_string();
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad(&format!("port {port:?} is not 1-65535")))?;
        let addrs = addrs
            .split(',')
            .map(|addr| {
                let bare = match addr.strip_prefix('[') {
                    Some(v6) => v6.strip_suffix(']').filter(|v6| v6.contains(':')),
                    None => Some(addr).filter(|v4| !v4.contains(':')),
                };
                bare.and_then(|a| a.parse::<IpAddr>().ok()).ok_or_else(|| {
                    bad(&format!(
                        "{addr:?} is not an IPv4 or a bracketed IPv6 address"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Resolve { host, port, addrs })
    }
}

impl fmt::Display for Resolve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addrs: Vec<String> = self
            .addrs
            .iter()
            .map(|a| match a {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            })
            .collect();
        write!(f, "{}:{}:{}", self.host, self.port, addrs.join(","))
    }
}

impl Default for NetArgs {
    /// No extra certificates, the default 10-second timeout, no `--resolve`.
    fn default() -> Self {
        NetArgs {
            cacert: None,
            timeout: 10.0,
            resolve: Vec::new(),
        }
    }
}

/// Sends requests with a fixed TLS configuration and a per-request time limit.
#[derive(Clone)]
pub struct Client {
    tls: TlsConnector,
    timeout: Duration,
    resolve: Vec<Resolve>,
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
            resolve: Vec::new(),
        })
    }

    /// This client, connecting as `entries` say for their host and port (the first entry for a
    /// host and port wins, as in curl).
    pub fn resolving(mut self, entries: &[Resolve]) -> Self {
        self.resolve.extend_from_slice(entries);
        self
    }

    /// Opens the TCP connection for `host:port`: to the `--resolve` addresses when an entry
    /// applies (the first that accepts, reported back), otherwise to what the name resolves to.
    async fn connect(
        &self,
        host: &str,
        port: u16,
    ) -> Result<(TcpStream, Option<SocketAddr>), String> {
        let Some(entry) = self
            .resolve
            .iter()
            .find(|r| r.host == host && r.port == port)
        else {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let tcp = TcpStream::connect((bare, port))
                .await
                .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
            return Ok((tcp, None));
        };
        let mut last = String::new();
        for addr in &entry.addrs {
            let addr = SocketAddr::new(*addr, port);
            match TcpStream::connect(addr).await {
                Ok(tcp) => return Ok((tcp, Some(addr))),
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        Err(format!(
            "cannot connect to {host}:{port} (--resolve {entry}): {last}"
        ))
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
        let (tcp, resolved) = self.connect(host, port).await?;
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
            exchange(tls, request, resolved).await
        } else {
            exchange(tcp, request, resolved).await
        }
    }
}

async fn exchange<T>(
    io: T,
    request: Request<Empty<Bytes>>,
    resolved: Option<SocketAddr>,
) -> Result<Answer, String>
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
        resolved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_entries() {
        let ok = [
            (
                "api.example.com:443:127.0.0.1",
                "api.example.com:443:127.0.0.1",
            ),
            (
                "API.Example.COM:8443:127.0.0.2,[::1]",
                "api.example.com:8443:127.0.0.2,[::1]",
            ),
            (
                "\u{f1}and\u{fa}.test:80:127.0.0.1",
                "xn--and-6ma2c.test:80:127.0.0.1",
            ),
            ("[::1]:8080:[::1],127.0.0.1", "[::1]:8080:[::1],127.0.0.1"),
            ("127.0.0.1:80:[0:0:0:0:0:0:0:1]", "127.0.0.1:80:[::1]"),
        ];
        for (input, shown) in ok {
            let entry: Resolve = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(entry.to_string(), shown, "{input}");
        }
        let bad = [
            ("api.example.com", "no port"),
            ("api.example.com:443", "no address"),
            ("api.example.com:0:127.0.0.1", "port \"0\""),
            ("api.example.com:https:127.0.0.1", "port \"https\""),
            ("api.example.com:70000:127.0.0.1", "port \"70000\""),
            ("api.example.com:443:::1", "\"::1\" is not"),
            ("api.example.com:443:[127.0.0.1]", "\"[127.0.0.1]\" is not"),
            ("api.example.com:443:127.0.0.1,", "\"\" is not"),
            ("api.example.com:443:localhost", "\"localhost\" is not"),
            ("a b:443:127.0.0.1", "host \"a b\""),
            ("[::1:443:127.0.0.1", "no port"),
            ("", "no port"),
        ];
        for (input, why) in bad {
            let err = input.parse::<Resolve>().expect_err(input);
            assert!(err.contains(why) && !err.contains('\n'), "{input}: {err}");
        }
    }
}
