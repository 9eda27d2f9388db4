//! Upstream targets: the URL-mode allow list and the checks on a target URL (scheme, userinfo,
//! dot segments), all on URLs parsed with the WHATWG rules a browser uses, so `127.1`,
//! `0x7f000001` and `2130706433` are the address `127.0.0.1` before anything is matched.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

/// One entry of a route's `allow_upstreams` list.
///
/// - `api.example.com`: that host, `https`, port 443;
/// - `*.example.org`: any host *below* `example.org` (not `example.org` itself), `https`, 443;
/// - `http://127.0.0.1:9000`, `https://api.example.com:8443`: that scheme, host and port;
/// - `http://localhost:*`: any port; `http://localhost`: the scheme's default port.
///
/// ```
/// use tower_cors_proxy::target::AllowEntry;
///
/// let entry: AllowEntry = "http://127.0.0.1:9000".parse()?;
/// assert!(entry.matches(&url::Url::parse("http://2130706433:9000/x")?));
/// assert!(!entry.matches(&url::Url::parse("http://127.0.0.1:9001/x")?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    scheme: String,
    host: HostPattern,
    /// `None`: any port.
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Domain(String),
    /// `*.suffix`: the suffix without the leading dot.
    Below(String),
    Ip(IpAddr),
}

/// Why an allow-list entry could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEntry(String);

impl fmt::Display for BadEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadEntry {}

impl std::str::FromStr for AllowEntry {
    type Err = BadEntry;

    fn from_str(entry: &str) -> Result<Self, BadEntry> {
        let bad = |why: &str| BadEntry(format!("allowed upstream {entry:?}: {why}"));
        let (scheme, rest, explicit) = match entry.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest, true),
            None => ("https".to_owned(), entry, false),
        };
        if scheme != "http" && scheme != "https" {
            return Err(bad("the scheme must be http or https"));
        }
        if rest.contains(['/', '?', '#', '@']) {
            return Err(bad(
                "write a host with an optional scheme and port, no path",
            ));
        }
        let (host, port) = split_port(rest);
        let default_port = if scheme == "https" { 443 } else { 80 };
        let port = match port {
            None => Some(default_port),
            Some("*") if explicit => None,
            Some("*") => return Err(bad("a port wildcard needs a scheme (http://host:*)")),
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))?,
            ),
        };
        let host = if let Some(suffix) = host.strip_prefix("*.") {
            match parse_host(&scheme, suffix) {
                Some(Host::Domain(d)) => HostPattern::Below(d),
                _ => return Err(bad("a wildcard must be followed by a domain name")),
            }
        } else {
            if host.contains('*') {
                return Err(bad(
                    "a wildcard is only allowed as the first label (*.example.org)",
                ));
            }
            match parse_host(&scheme, host) {
                Some(Host::Domain(d)) => HostPattern::Domain(d),
                Some(Host::Ipv4(ip)) => HostPattern::Ip(IpAddr::V4(ip)),
                Some(Host::Ipv6(ip)) => HostPattern::Ip(IpAddr::V6(ip)),
                None => return Err(bad("not a valid host")),
            }
        };
        Ok(AllowEntry { scheme, host, port })
    }
}

/// `host:port` into its parts, minding bracketed IPv6 literals.
fn split_port(rest: &str) -> (&str, Option<&str>) {
    if rest.starts_with('[') {
        return match rest.find(']') {
            Some(end) => match rest[end + 1..].strip_prefix(':') {
                Some(port) => (&rest[..=end], Some(port)),
                None => (rest, None),
            },
            None => (rest, None),
        };
    }
    match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    }
}

fn parse_host(scheme: &str, host: &str) -> Option<Host<String>> {
    if host.is_empty() {
        return None;
    }
    let url = Url::parse(&format!("{scheme}://{host}/")).ok()?;
    url.host().map(|h| h.to_owned())
}

impl AllowEntry {
    /// Whether `target` (already parsed) is on this entry.
    pub fn matches(&self, target: &Url) -> bool {
        if target.scheme() != self.scheme {
            return false;
        }
        if let Some(port) = self.port {
            if target.port_or_known_default() != Some(port) {
                return false;
            }
        }
        match (&self.host, target.host()) {
            (HostPattern::Domain(d), Some(Host::Domain(h))) => d == h,
            (HostPattern::Below(suffix), Some(Host::Domain(h))) => h
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            (HostPattern::Ip(ip), Some(Host::Ipv4(h))) => *ip == IpAddr::V4(h),
            (HostPattern::Ip(ip), Some(Host::Ipv6(h))) => *ip == IpAddr::V6(h),
            _ => false,
        }
    }
}

impl fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match &self.host {
            HostPattern::Domain(d) => d.clone(),
            HostPattern::Below(s) => format!("*.{s}"),
            HostPattern::Ip(IpAddr::V4(ip)) => ip.to_string(),
            HostPattern::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
        };
        match self.port {
            Some(port) => write!(f, "{}://{host}:{port}", self.scheme),
            None => write!(f, "{}://{host}:*", self.scheme),
        }
    }
}

/// Why a target URL is refused before any allow list is consulted.
pub(crate) fn check_target(target: &Url) -> Result<(), &'static str> {
    if target.scheme() != "http" && target.scheme() != "https" {
        return Err("only http and https upstreams can be proxied");
    }
    if !target.username().is_empty() || target.password().is_some() {
        return Err("upstream URLs with credentials (user@host) are refused");
    }
    if target.host().is_none() {
        return Err("the upstream URL has no host");
    }
    Ok(())
}

/// Whether a request path contains `.` or `..` segments, raw or percent-encoded (`%2e`), also
/// where an upstream that decodes `%2f` or `%5c` into a separator would see one: such a path
/// could climb out of a route's upstream base path once the upstream normalises it. Encoded
/// slashes inside a segment (`group%2Fproject`) are left alone.
pub(crate) fn has_dot_segment(path: &str) -> bool {
    // A dot, raw or as `%2e`, is what every dot segment needs.
    if !path.contains(['.', '%']) {
        return false;
    }
    let decoded = path
        .to_ascii_lowercase()
        .replace("%2e", ".")
        .replace("%2f", "/")
        .replace("%5c", "/")
        .replace('\\', "/");
    decoded
        .split('/')
        .any(|segment| segment == "." || segment == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_table() {
        // (entry, target, allowed)
        let cases: &[(&str, &str, bool)] = &[
            ("api.example.com", "https://api.example.com/v1", true),
            ("api.example.com", "https://API.Example.com./v1", false),
            ("api.example.com", "https://api.example.com:443/v1", true),
            ("api.example.com", "https://api.example.com:8443/v1", false),
            ("api.example.com", "http://api.example.com/v1", false),
            ("api.example.com", "https://evil.api.example.com/", false),
            (
                "api.example.com",
                "https://api.example.com.evil.net/",
                false,
            ),
            ("*.example.org", "https://a.example.org/", true),
            ("*.example.org", "https://a.b.example.org/", true),
            ("*.example.org", "https://example.org/", false),
            ("*.example.org", "https://badexample.org/", false),
            ("http://127.0.0.1:9000", "http://127.0.0.1:9000/", true),
            ("http://127.0.0.1:9000", "http://127.1:9000/", true),
            ("http://127.0.0.1:9000", "http://0x7f000001:9000/", true),
            ("http://127.0.0.1:9000", "http://2130706433:9000/", true),
            ("http://127.0.0.1:9000", "http://0177.0.0.1:9000/", true),
            ("http://127.0.0.1:9000", "http://127.0.0.1:9001/", false),
            ("http://127.0.0.1:9000", "https://127.0.0.1:9000/", false),
            ("http://localhost:*", "http://localhost:1234/", true),
            ("http://localhost:*", "http://localhost/", true),
            ("http://localhost:*", "https://localhost:1234/", false),
            ("http://[::1]:8080", "http://[0:0::1]:8080/", true),
            ("http://127.1", "http://127.0.0.1/", true),
        ];
        for (entry, target, allowed) in cases {
            let parsed: AllowEntry = entry.parse().expect("table entries parse");
            let url = Url::parse(target).expect("table targets parse");
            assert_eq!(parsed.matches(&url), *allowed, "{entry} vs {target}");
        }
    }

    #[test]
    fn bad_entries_are_named() {
        for entry in [
            "ftp://x.example",
            "api.example.com/path",
            "api.example.com:*",
            "http://x:99999",
            "a.*.example.com",
            "user@api.example.com",
            "",
        ] {
            let err = entry.parse::<AllowEntry>().expect_err(entry);
            assert!(err.to_string().contains(&format!("{entry:?}")), "{err}");
        }
    }

    #[test]
    fn dot_segments_are_found() {
        for (path, dotted) in [
            ("/a/b", false),
            ("/a/../b", true),
            ("/a/%2e%2E/b", true),
            ("/a/.%2e", true),
            ("/./a", true),
            ("/a..b/c", false),
            ("/projects/group%2Fproject/issues", false),
            ("/a/..%2fb", true),
            ("/a/%2e%2e%5cb", true),
            ("/a/..\\b", true),
        ] {
            assert_eq!(has_dot_segment(path), dotted, "{path}");
        }
    }
}
