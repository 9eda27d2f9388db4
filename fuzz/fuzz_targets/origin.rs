//! The origin and pattern parsers, and the compiled matcher against a naive reference.
//!
//! Invariants:
//! - an accepted origin is lower-case ASCII, re-serializes to exactly the input, is split into
//!   the same parts by the request-side splitter, builds, and is allowed byte-exactly (not with
//!   a trailing `/` nor in upper case);
//! - an accepted pattern re-serializes to exactly the input and builds, and the layer built from
//!   it allows a request origin exactly when a naive matcher written here from SPEC.md does
//!   (one or more DNS labels before the base, 253 bytes at most in all; any port a browser
//!   sends, or none);
//! - the request-side splitter's parts re-join to its input.
//!
//! Input: line 1 is a configured value; line 2 a request `Origin`; line 3 (optional) a label
//! prefix, tried in front of the pattern's base.
#![no_main]

use http::Request;
use libfuzzer_sys::fuzz_target;
use tower_cors::__fuzz::{
    parse_origin, parse_pattern, split_request_origin, OriginParts, PatternParts,
};
use tower_cors::{CorsLayer, Decision};
use tower_cors_fuzz::{header_bytes, lines};

fn serialize(scheme: &str, host: &str, port: Option<&str>) -> String {
    match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

fn allowed(layer: &CorsLayer, origin: &[u8]) -> Option<bool> {
    let req = Request::get("/").header("origin", origin).body(()).ok()?;
    let (parts, ()) = req.into_parts();
    Some(matches!(
        layer.evaluate(&parts),
        Decision::ActualAllowed { .. }
    ))
}

/// A port as browsers serialize it: 1 to 65535, no leading zero, not the scheme's default.
fn browser_port(scheme: &str, port: &str) -> bool {
    let default = match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    };
    port.len() <= 5
        && !port.starts_with('0')
        && port.bytes().all(|b| b.is_ascii_digit())
        && port
            .parse::<u32>()
            .is_ok_and(|n| (1..=65535).contains(&n) && Some(n) != default)
}

/// SPEC.md §2's pattern rule, written as plainly as possible.
fn naive_match(p: &PatternParts, origin: &[u8]) -> bool {
    let Ok(origin) = std::str::from_utf8(origin) else {
        return false;
    };
    let Some(rest) = origin
        .strip_prefix(p.scheme.as_str())
        .and_then(|r| r.strip_prefix("://"))
    else {
        return false;
    };
    let port = if p.subdomains {
        let (host, port) = match rest.split_once(':') {
            Some((h, port)) => (h, Some(port)),
            None => (rest, None),
        };
        // A host no longer than a DNS name (253 bytes), like every host a browser sends.
        let labels_ok = host.len() <= 253
            && host
                .strip_suffix(p.host.as_str())
                .and_then(|h| h.strip_suffix('.'))
                .is_some_and(|prefix| {
                    prefix.split('.').all(|l| {
                        !l.is_empty()
                            && l.bytes().all(|b| {
                                b.is_ascii_lowercase()
                                    || b.is_ascii_digit()
                                    || b == b'-'
                                    || b == b'_'
                            })
                    })
                });
        if !labels_ok {
            return false;
        }
        port
    } else {
        match rest.strip_prefix(p.host.as_str()) {
            Some("") => None,
            Some(port) => match port.strip_prefix(':') {
                Some(port) => Some(port),
                None => return false,
            },
            None => return false,
        }
    };
    match (p.port.as_deref(), port) {
        (None, None) | (Some("*"), None) => true,
        (Some("*"), Some(got)) => browser_port(&p.scheme, got),
        (Some(want), Some(got)) => want == got,
        (None, Some(_)) | (Some(_), None) => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let lines = lines(data);
    let config = String::from_utf8_lossy(lines.first().copied().unwrap_or_default()).into_owned();
    let request = header_bytes(lines.get(1).copied().unwrap_or_default());
    let prefix = String::from_utf8_lossy(lines.get(2).copied().unwrap_or_default()).into_owned();

    if let Some(OriginParts { scheme, host, port }) = split_request_origin(&request) {
        assert_eq!(
            serialize(scheme, host, port).as_bytes(),
            &request[..],
            "split does not re-join"
        );
    }

    if let Ok(OriginParts { scheme, host, port }) = parse_origin(&config) {
        assert!(!config.contains('*'));
        assert!(
            config.is_ascii()
                && !config
                    .bytes()
                    .any(|b| b.is_ascii_uppercase() || b.is_ascii_whitespace())
        );
        assert_eq!(
            serialize(scheme, host, port),
            config,
            "origin does not re-serialize"
        );
        assert_eq!(
            split_request_origin(config.as_bytes()),
            Some(OriginParts { scheme, host, port }),
            "the strict and the request-side parsers disagree on {config:?}"
        );
        let layer = CorsLayer::builder()
            .allow_origins([&config])
            .build()
            .unwrap_or_else(|e| panic!("parsed origin {config:?} does not build: {e}"));
        assert_eq!(allowed(&layer, config.as_bytes()), Some(true));
        assert_eq!(
            allowed(&layer, format!("{config}/").as_bytes()),
            Some(false)
        );
        if config.bytes().any(|b| b.is_ascii_lowercase()) {
            assert_eq!(
                allowed(&layer, config.to_ascii_uppercase().as_bytes()),
                Some(false)
            );
        }
        if let Some(answer) = allowed(&layer, &request) {
            assert_eq!(
                answer,
                request == config.as_bytes(),
                "exact match differs for {request:?}"
            );
        }
    }

    if config != "*" && config.contains('*') {
        if let Ok(p) = parse_pattern(&config) {
            let rendered = format!(
                "{}://{}{}{}",
                p.scheme,
                if p.subdomains { "*." } else { "" },
                p.host,
                p.port
                    .as_deref()
                    .map(|port| format!(":{port}"))
                    .unwrap_or_default()
            );
            assert_eq!(rendered, config, "pattern does not re-serialize");
            let layer = CorsLayer::builder()
                .allow_origins([&config])
                .build()
                .unwrap_or_else(|e| panic!("parsed pattern {config:?} does not build: {e}"));
            let mut candidates = vec![request.clone()];
            let port = lines
                .get(1)
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .unwrap_or_default();
            candidates.push(format!("{}://{}.{}", p.scheme, prefix, p.host).into_bytes());
            candidates.push(format!("{}://{}.{}:{}", p.scheme, prefix, p.host, port).into_bytes());
            candidates.push(format!("{}://{}{}", p.scheme, prefix, p.host).into_bytes());
            candidates.push(format!("{}://{}:{}", p.scheme, p.host, prefix).into_bytes());
            for candidate in candidates {
                let candidate = header_bytes(&candidate);
                if let Some(answer) = allowed(&layer, &candidate) {
                    assert_eq!(
                        answer,
                        naive_match(&p, &candidate),
                        "pattern {config:?} vs origin {:?}",
                        String::from_utf8_lossy(&candidate)
                    );
                }
            }
        }
    } else {
        assert!(parse_pattern(&config).is_err() || config == "*");
    }
});
