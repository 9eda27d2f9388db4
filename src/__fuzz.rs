//! Thin wrappers over crate-private parsers, for the fuzz targets under `fuzz/` only.
//!
//! Compiled with the non-default `fuzzing` feature. Nothing here is public API: it may change in
//! any release. The wrappers return plain data so that a fuzz target can check invariants (round
//! trips, agreement with a naive reference) and not only that nothing panics.

use http::header::ACCESS_CONTROL_REQUEST_HEADERS;
use http::HeaderMap;

use crate::header_list::{self, ScanError};
use crate::origin::parse::{self, Port};
use crate::origin::pattern::{self, PortSpec};

/// The pieces of a serialized origin, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginParts<'a> {
    /// The scheme, without `://`.
    pub scheme: &'a str,
    /// The host, with the brackets of an IPv6 address.
    pub host: &'a str,
    /// The port's digits (`*` for a pattern's any port), if one was written.
    pub port: Option<&'a str>,
}

impl<'a> From<parse::Parts<'a>> for OriginParts<'a> {
    fn from(parts: parse::Parts<'a>) -> Self {
        OriginParts {
            scheme: parts.scheme,
            host: parts.host,
            port: match parts.port {
                Port::Default => None,
                Port::Explicit(p) => Some(p),
                Port::Any => Some("*"),
            },
        }
    }
}

/// Parses a configured origin (an `allow_origins` item without `*`) with the builder's strict
/// grammar: the parts, or why it is refused.
pub fn parse_origin(value: &str) -> Result<OriginParts<'_>, &'static str> {
    parse::parse_configured(value, false).map(|(parts, _)| parts.into())
}

/// Splits a request's `Origin` value the way the pattern matcher does (no host validation).
pub fn split_request_origin(value: &[u8]) -> Option<OriginParts<'_>> {
    parse::split_request_origin(value).map(Into::into)
}

/// A parsed origin pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternParts {
    /// The scheme, without `://`.
    pub scheme: String,
    /// The host after `*.`, or the whole host for an any-port pattern.
    pub host: String,
    /// `*.` was written: one or more labels must precede `host`.
    pub subdomains: bool,
    /// `None` for no port, `Some("*")` for any port, else the port's digits.
    pub port: Option<String>,
}

/// Parses a configured value containing `*` (but not `*` alone) as a pattern.
pub fn parse_pattern(value: &str) -> Result<PatternParts, &'static str> {
    pattern::parse_pattern(value).map(|p| PatternParts {
        scheme: p.scheme.into(),
        host: p.host.into(),
        subdomains: p.subdomains,
        port: match p.port {
            PortSpec::Default => None,
            PortSpec::Exact(port) => Some(port.into()),
            PortSpec::Any => Some("*".to_owned()),
        },
    })
}

/// What [`scan_request_headers`] concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanOutcome<'a> {
    /// Every element is a token and allowed.
    Allowed {
        /// Non-empty elements seen.
        names: usize,
        /// `authorization` (any case) was among them.
        authorization: bool,
    },
    /// Over the byte, name or line bound.
    TooLong,
    /// This element is not a token.
    Malformed(&'a [u8]),
    /// This element was refused by `allowed`.
    NotAllowed(&'a [u8]),
}

/// Runs the preflight's `Access-Control-Request-Headers` scanner over every such line of
/// `headers`, asking `allowed` about each element.
pub fn scan_request_headers<'a>(
    headers: &'a HeaderMap,
    allowed: impl FnMut(&[u8]) -> bool,
) -> ScanOutcome<'a> {
    match header_list::scan(headers.get_all(ACCESS_CONTROL_REQUEST_HEADERS), allowed) {
        Ok(scan) => ScanOutcome::Allowed {
            names: scan.names,
            authorization: scan.authorization,
        },
        Err(ScanError::TooLong) => ScanOutcome::TooLong,
        Err(ScanError::Malformed(name)) => ScanOutcome::Malformed(name),
        Err(ScanError::NotAllowed(name)) => ScanOutcome::NotAllowed(name),
    }
}
