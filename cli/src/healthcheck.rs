//! `cors healthcheck`: exit 0 when a running `cors proxy` answers `200` on `/_cors/healthz`,
//! 1 otherwise, with the reason on one line.
//!
//! It exists for container health checks on an image with no shell and no `curl`: the image's
//! exec-form `HEALTHCHECK` runs the binary itself. The address comes from `--listen`, or from
//! `CORS_LISTEN` as `cors proxy` reads it, so the probe follows the proxy wherever it listens; an
//! unspecified address (`0.0.0.0`, `[::]`) is probed on loopback of the same family.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;

use clap::Args;
use http::Request;

use crate::net::Client;

/// The proxy's default listen address, as `cors proxy` has it.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// Arguments of `cors healthcheck`.
#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The address `cors proxy` listens on.
    #[arg(long, value_name = "ADDR", env = "CORS_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Probe this URL instead (for example the `[admin]` listener's `/_cors/healthz`).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Seconds to wait for the answer.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub timeout: f64,
}

/// The URL probed for a proxy listening on `listen`.
pub fn probe_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!(
        "http://{}/_cors/healthz",
        SocketAddr::new(ip, listen.port())
    )
}

/// Probes once; 0 when the answer is `200`, 1 when it is not or none came, 2 on a bad argument.
pub fn run(args: HealthcheckArgs) -> ExitCode {
    let url = args.url.clone().unwrap_or_else(|| probe_url(args.listen));
    let client = match Client::from_flags(None, args.timeout) {
        Ok(client) => client,
        Err(message) => {
            eprintln!("cors healthcheck: {message}");
            return ExitCode::from(2);
        }
    };
    let request = match build_request(&url) {
        Ok(request) => request,
        Err(message) => {
            eprintln!("cors healthcheck: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match crate::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(client.send(request)) {
        Ok(answer) if answer.status == http::StatusCode::OK => {
            println!("{url}: ok");
            ExitCode::SUCCESS
        }
        Ok(answer) => {
            eprintln!("cors healthcheck: {url} answered {}", answer.status);
            ExitCode::FAILURE
        }
        Err(message) => {
            eprintln!("cors healthcheck: {url}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn build_request(url: &str) -> Result<Request<()>, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("--url {url}: {e}"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(format!("--url {url}: not an http or https URL"));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| format!("--url {url}: no host"))?
        .clone();
    Request::get(uri)
        .header("host", authority.as_str())
        .header(
            "user-agent",
            concat!("cors-healthcheck/", env!("CARGO_PKG_VERSION")),
        )
        .body(())
        .map_err(|e| format!("--url {url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_probed_on_loopback() {
        let cases = [
            ("0.0.0.0:8787", "http://127.0.0.1:8787/_cors/healthz"),
            ("[::]:9000", "http://[::1]:9000/_cors/healthz"),
            ("127.0.0.1:8787", "http://127.0.0.1:8787/_cors/healthz"),
            ("10.1.2.3:80", "http://10.1.2.3:80/_cors/healthz"),
            ("[fd00::1]:443", "http://[fd00::1]:443/_cors/healthz"),
        ];
        for (listen, url) in cases {
            assert_eq!(probe_url(listen.parse().unwrap()), url, "{listen}");
        }
    }

    #[test]
    fn only_http_urls_are_probed() {
        assert!(build_request("http://127.0.0.1:1/_cors/healthz").is_ok());
        assert!(build_request("ftp://127.0.0.1/").is_err());
        assert!(build_request("/_cors/healthz").is_err());
    }
}
