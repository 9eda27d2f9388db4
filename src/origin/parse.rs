//! Serialized-origin syntax: the strict parser for configured origins and patterns, and the
//! lenient splitter used on request `Origin` values.
//!
//! A configured origin must be written exactly as a browser serializes it, because matching is
//! byte-exact: anything a browser would never send is refused at build time instead of silently
//! never matching.

use std::net::Ipv6Addr;

/// The pieces of a serialized origin, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parts<'a> {
    pub(crate) scheme: &'a str,
    pub(crate) host: &'a str,
    pub(crate) port: Port<'a>,
}

/// The port part of an origin or pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Port<'a> {
    /// No port: the scheme's default.
    Default,
    /// An explicit port, as its digits.
    Explicit(&'a str),
    /// `:*` in a pattern: any port, or none.
    Any,
}

/// What kind of host an origin names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostKind {
    Domain,
    Ipv4,
    Ipv6,
}

/// Splits a request's `Origin` value into scheme, host and port without validating the host
/// grammar. Returns `None` for anything that cannot be a tuple origin (`null`, no `://`, a path).
pub(crate) fn split_request_origin(value: &[u8]) -> Option<Parts<'_>> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, rest) = value.split_once("://")?;
    if scheme.is_empty() || rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    let (host, port) = split_host_port(rest)?;
    let port = match port {
        None => Port::Default,
        // Only a port as browsers serialize it, so that `:*` never matches `:080`, `:0` or the
        // scheme's default port.
        Some(p) if check_port(scheme, p).is_ok() => Port::Explicit(p),
        Some(_) => return None,
    };
    Some(Parts { scheme, host, port })
}

/// Splits `host[:port]`, keeping IPv6 brackets on the host.
fn split_host_port(rest: &str) -> Option<(&str, Option<&str>)> {
    if rest.starts_with('[') {
        let end = rest.find(']')?;
        let (host, after) = rest.split_at(end + 1);
        match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        }
    } else {
        match rest.split_once(':') {
            Some((host, port)) => Some((host, Some(port))),
            None => Some((rest, None)),
        }
    }
}

/// Why a configured origin or pattern is malformed. The text completes
/// "origin `…` is invalid: …".
pub(crate) type Reason = &'static str;

/// Parses a configured origin (`allow_wildcard_port` admits `:*`), checking everything a browser
/// would never send. Returns the parts and the host kind.
pub(crate) fn parse_configured(
    value: &str,
    allow_wildcard_port: bool,
) -> Result<(Parts<'_>, HostKind), Reason> {
    if value.is_empty() {
        return Err("it is empty");
    }
    if value.trim() != value {
        return Err("it has surrounding white space");
    }
    if !value.is_ascii() {
        return Err("it is not ASCII (write international domain names in punycode, `xn--…`)");
    }
    if value == "null" {
        return Err("`null` is the opaque origin of sandboxed documents and local files; it cannot be trusted (use a predicate if you must)");
    }
    if value.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("it has upper-case letters (browsers send origins in lower case)");
    }
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err("it has no scheme (expected `scheme://host[:port]`)");
    };
    check_scheme(scheme)?;
    if scheme == "file" {
        return Err("`file:` URLs have an opaque origin, sent as `null`");
    }
    if rest.contains('@') {
        return Err("it has userinfo (`user@`), which is never part of an origin");
    }
    if rest.contains('/') {
        return Err("it has a path or a trailing `/` (an origin is `scheme://host[:port]` only)");
    }
    if rest.contains('?') {
        return Err("it has a query, which is never part of an origin");
    }
    if rest.contains('#') {
        return Err("it has a fragment, which is never part of an origin");
    }
    let (host, port) = split_host_port(rest).ok_or("its host or port is malformed")?;
    let kind = check_host(host)?;
    let port = match port {
        None => Port::Default,
        Some("*") if allow_wildcard_port => Port::Any,
        Some("*") => return Err("a `:*` port is a pattern, not an origin"),
        Some(port) => {
            check_port(scheme, port)?;
            Port::Explicit(port)
        }
    };
    Ok((Parts { scheme, host, port }, kind))
}

fn check_scheme(scheme: &str) -> Result<(), Reason> {
    let mut bytes = scheme.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_lowercase() => {}
        _ => return Err("its scheme must start with a letter"),
    }
    if bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b)) {
        Ok(())
    } else {
        Err("its scheme has characters a scheme cannot have")
    }
}

fn check_port(scheme: &str, port: &str) -> Result<(), Reason> {
    if port.is_empty() {
        return Err("its port is empty (drop the `:`)");
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err("its port is not a number");
    }
    if port.len() > 1 && port.starts_with('0') {
        return Err("its port has a leading zero (browsers never send one)");
    }
    let n: u32 = if port.len() > 5 {
        u32::MAX
    } else {
        port.parse().unwrap_or(u32::MAX)
    };
    if n == 0 {
        return Err("its port is 0");
    }
    if n > 65535 {
        return Err("its port is over 65535");
    }
    if default_port(scheme) == Some(n as u16) {
        return Err("it names the scheme's default port, which browsers leave out");
    }
    Ok(())
}

/// The default port of the schemes whose default browsers omit from serialized origins.
pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

/// Checks a host as a browser would serialize it and says which kind it is.
pub(crate) fn check_host(host: &str) -> Result<HostKind, Reason> {
    if host.is_empty() {
        return Err("its host is empty");
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or("its IPv6 address is missing `]`")?;
        let addr: Ipv6Addr = inner
            .parse()
            .map_err(|_| "its bracketed host is not an IPv6 address")?;
        // Browsers serialize IPv6 in the RFC 5952 form, which is what `Display` produces.
        if addr.to_string() != inner {
            return Err("its IPv6 address is not in the canonical compressed form browsers send (e.g. `[::1]`)");
        }
        return Ok(HostKind::Ipv6);
    }
    check_domain_or_ipv4(host)
}

fn check_domain_or_ipv4(host: &str) -> Result<HostKind, Reason> {
    if host.len() > 253 {
        return Err("its host is longer than 253 characters");
    }
    let last = host.rsplit('.').next().unwrap_or(host);
    // The URL standard parses any host whose last label is numeric as IPv4, so such a host is
    // valid only as a canonical dotted quad.
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return if is_canonical_ipv4(host) {
            Ok(HostKind::Ipv4)
        } else {
            Err("its host ends in a number but is not a dotted-quad IPv4 address like `127.0.0.1`")
        };
    }
    for label in host.split('.') {
        check_label(label)?;
    }
    Ok(HostKind::Domain)
}

/// Checks one DNS label of a configured host.
pub(crate) fn check_label(label: &str) -> Result<(), Reason> {
    if label.is_empty() {
        return Err("its host has an empty label (`..`, or a leading or trailing `.`)");
    }
    if label.len() > 63 {
        return Err("its host has a label longer than 63 characters");
    }
    if label.contains('*') {
        return Err("`*` may only stand alone as the first label of a pattern, as in `https://*.example.com`");
    }
    if !label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err("its host has characters a domain name cannot have");
    }
    Ok(())
}

fn is_canonical_ipv4(host: &str) -> bool {
    let mut count = 0;
    for part in host.split('.') {
        count += 1;
        let ok = !part.is_empty()
            && part.len() <= 3
            && part.bytes().all(|b| b.is_ascii_digit())
            && !(part.len() > 1 && part.starts_with('0'))
            && part.parse::<u16>().is_ok_and(|n| n <= 255);
        if !ok {
            return false;
        }
    }
    count == 4
}

/// Whether a host (domain, dotted quad or bracketed IPv6) is loopback: `localhost`,
/// `*.localhost`, 127.0.0.0/8 or `[::1]`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    if host == "[::1]" {
        return true;
    }
    host.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_origins() {
        // (input, Ok(kind) or the start of the error reason)
        let cases: &[(&str, Result<HostKind, &str>)] = &[
            ("https://example.com", Ok(HostKind::Domain)),
            ("http://localhost:3000", Ok(HostKind::Domain)),
            ("http://127.0.0.1:8080", Ok(HostKind::Ipv4)),
            ("http://[::1]:9090", Ok(HostKind::Ipv6)),
            ("chrome-extension://abcdefghijklmnop", Ok(HostKind::Domain)),
            ("tauri://localhost", Ok(HostKind::Domain)),
            ("https://xn--bcher-kva.example", Ok(HostKind::Domain)),
            ("https://my_host.example", Ok(HostKind::Domain)),
            ("http://x:65535", Ok(HostKind::Domain)),
            ("", Err("it is empty")),
            (" https://example.com", Err("it has surrounding")),
            ("https://example.com ", Err("it has surrounding")),
            ("https://example.com/", Err("it has a path")),
            ("https://example.com/app", Err("it has a path")),
            ("https://example.com?q", Err("it has a query")),
            ("https://example.com#f", Err("it has a fragment")),
            ("https://user@example.com", Err("it has userinfo")),
            ("example.com", Err("it has no scheme")),
            ("//example.com", Err("it has no scheme")),
            ("://example.com", Err("its scheme must start")),
            ("ht tp://example.com", Err("its scheme has characters")),
            ("HTTPS://example.com", Err("it has upper-case")),
            ("https://Example.com", Err("it has upper-case")),
            ("http://x:", Err("its port is empty")),
            ("http://x:0", Err("its port is 0")),
            ("http://x:65536", Err("its port is over 65535")),
            (
                "http://x:99999999999999999999",
                Err("its port is over 65535"),
            ),
            ("http://x:080", Err("its port has a leading zero")),
            ("http://x:8a", Err("its port is not a number")),
            ("http://x:80", Err("it names the scheme's default")),
            ("https://x:443", Err("it names the scheme's default")),
            ("https://x:80", Ok(HostKind::Domain)),
            ("https://bücher.example", Err("it is not ASCII")),
            ("null", Err("`null` is the opaque")),
            ("file://", Err("`file:` URLs")),
            ("file:///etc", Err("`file:` URLs")),
            ("https://", Err("its host is empty")),
            ("https://a..b", Err("its host has an empty label")),
            ("https://a.b.", Err("its host has an empty label")),
            ("https://a b", Err("its host has characters")),
            ("http://1.2.3", Err("its host ends in a number")),
            ("http://01.2.3.4", Err("its host ends in a number")),
            ("http://256.1.1.1", Err("its host ends in a number")),
            ("http://[::1", Err("its host or port")),
            (
                "http://[0:0::1]",
                Err("its IPv6 address is not in the canonical"),
            ),
            ("http://[zz]", Err("its bracketed host")),
            ("http://x:*", Err("a `:*` port is a pattern")),
        ];
        for (input, expected) in cases {
            let got = parse_configured(input, false).map(|(_, kind)| kind);
            match (expected, got) {
                (Ok(want), Ok(kind)) => assert_eq!(*want, kind, "{input:?}"),
                (Err(want), Err(reason)) => {
                    assert!(
                        reason.starts_with(want),
                        "{input:?}: got {reason:?}, want {want:?}"
                    )
                }
                (want, got) => panic!("{input:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn request_origins() {
        type Split<'a> = Option<(&'a str, &'a str, Port<'a>)>;
        let cases: &[(&[u8], Split<'_>)] = &[
            (
                b"https://a.example.com",
                Some(("https", "a.example.com", Port::Default)),
            ),
            (
                b"http://localhost:3000",
                Some(("http", "localhost", Port::Explicit("3000"))),
            ),
            (
                b"http://[::1]:9090",
                Some(("http", "[::1]", Port::Explicit("9090"))),
            ),
            (b"http://[::1]", Some(("http", "[::1]", Port::Default))),
            (b"null", None),
            (b"https://a.example.com/", None),
            (b"https://", None),
            (b"://x", None),
            (b"http://x:", None),
            (b"http://x:1a", None),
            (b"http://[::1]x", None),
            (b"\xff://x", None),
            // Only ports as browsers serialize them.
            (b"http://x:080", None),
            (b"http://x:0", None),
            (b"http://x:80", None),
            (b"https://x:443", None),
            (b"http://x:65536", None),
            (b"https://x:80", Some(("https", "x", Port::Explicit("80")))),
        ];
        for (input, expected) in cases {
            let got = split_request_origin(input).map(|p| (p.scheme, p.host, p.port));
            assert_eq!(&got, expected, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "app.localhost",
            "127.0.0.1",
            "127.255.0.9",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "example.com",
            "localhost.example",
            "10.0.0.1",
            "[::2]",
            "mylocalhost",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
