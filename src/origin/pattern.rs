//! Origin patterns: `https://*.example.com` (one or more labels before the base),
//! `http://localhost:*` (any port, or none), and both at once.

use super::parse::{self, HostKind, Port, Reason};

/// The port a pattern accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PortSpec {
    /// No port in the origin (the scheme's default).
    Default,
    /// Exactly this port, as browsers write it.
    Exact(Box<str>),
    /// Any port, or none.
    Any,
}

impl PortSpec {
    pub(crate) fn accepts(&self, port: Port<'_>) -> bool {
        match (self, port) {
            (PortSpec::Any, _) => true,
            (PortSpec::Default, Port::Default) => true,
            (PortSpec::Exact(want), Port::Explicit(got)) => **want == *got,
            _ => false,
        }
    }
}

/// A parsed origin pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    pub(crate) scheme: Box<str>,
    /// The host after `*.`, or the whole host when `subdomains` is false.
    pub(crate) host: Box<str>,
    /// `*.` was written: one or more labels must precede `host`.
    pub(crate) subdomains: bool,
    pub(crate) port: PortSpec,
}

/// Parses a configured value that contains `*` (but is not `*` alone).
pub(crate) fn parse_pattern(value: &str) -> Result<Pattern, Reason> {
    // Validate everything but the wildcard label through the origin parser, so patterns and
    // origins share one grammar.
    let (subdomains, rewritten);
    match value.split_once("://") {
        Some((scheme, rest)) if rest.starts_with("*.") => {
            subdomains = true;
            rewritten = format!("{scheme}://{}", &rest[2..]);
        }
        _ => {
            subdomains = false;
            rewritten = value.to_owned();
        }
    }
    let (parts, kind) = parse::parse_configured(&rewritten, true)?;
    if subdomains && kind != HostKind::Domain {
        return Err("a `*.` wildcard needs a domain name after it, not an IP address");
    }
    let port = match parts.port {
        Port::Default => PortSpec::Default,
        Port::Explicit(p) => PortSpec::Exact(p.into()),
        Port::Any => PortSpec::Any,
    };
    if !subdomains && port != PortSpec::Any {
        // parse_configured rejects `*` in every label, so this is unreachable for valid input;
        // keep the message meaningful anyway.
        return Err("`*` may only be the first label (`*.example.com`) or the port (`:*`)");
    }
    Ok(Pattern {
        scheme: parts.scheme.into(),
        host: parts.host.into(),
        subdomains,
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let ok: &[(&str, &str, &str, bool, PortSpec)] = &[
            (
                "https://*.example.com",
                "https",
                "example.com",
                true,
                PortSpec::Default,
            ),
            (
                "http://localhost:*",
                "http",
                "localhost",
                false,
                PortSpec::Any,
            ),
            (
                "https://*.example.com:*",
                "https",
                "example.com",
                true,
                PortSpec::Any,
            ),
            (
                "https://*.example.com:8443",
                "https",
                "example.com",
                true,
                PortSpec::Exact("8443".into()),
            ),
            (
                "http://*.localhost:*",
                "http",
                "localhost",
                true,
                PortSpec::Any,
            ),
            ("https://*.com", "https", "com", true, PortSpec::Default),
            (
                "http://127.0.0.1:*",
                "http",
                "127.0.0.1",
                false,
                PortSpec::Any,
            ),
            ("http://[::1]:*", "http", "[::1]", false, PortSpec::Any),
        ];
        for (input, scheme, host, subdomains, port) in ok {
            let p = parse_pattern(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(&*p.scheme, *scheme, "{input}");
            assert_eq!(&*p.host, *host, "{input}");
            assert_eq!(p.subdomains, *subdomains, "{input}");
            assert_eq!(&p.port, port, "{input}");
        }
        let bad: &[(&str, &str)] = &[
            ("https://*example.com", "`*` may only stand alone"),
            ("https://a.*.example.com", "`*` may only stand alone"),
            ("https://**.example.com", "`*` may only stand alone"),
            ("https://*.127.0.0.1", "a `*.` wildcard needs a domain"),
            ("https://*.[::1]", "a `*.` wildcard needs a domain"),
            ("https://*.", "its host is empty"),
            ("https://*.example.com/", "it has a path"),
            ("https://*.Example.com", "it has upper-case"),
            ("*://example.com", "its scheme must start"),
            ("https://example.com:8*", "its port is not a number"),
            ("file://*.example.com", "`file:` URLs"),
        ];
        for (input, want) in bad {
            match parse_pattern(input) {
                Err(reason) => assert!(reason.starts_with(want), "{input}: got {reason:?}"),
                Ok(p) => panic!("{input}: accepted as {p:?}"),
            }
        }
    }
}
