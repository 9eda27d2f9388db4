//! The `Access-Control-Request-Headers` scanner against a naive reference written from SPEC.md.
//!
//! Invariants: the outcome (names counted, `authorization` seen, or which element failed and
//! why) equals the reference's; the `allowed` callback is asked about each well-formed element
//! once, in order, never more than the documented number of names, and never at all when the
//! lines are over the byte or line bound.
//!
//! Input: lines (see the crate docs). The first line is the comma-separated allowed names
//! (`*` allows any); every other line is one `Access-Control-Request-Headers` line, except
//! `junk:N`, which adds N unrelated header lines (10 000 in all at most), and `big*N:V`, which
//! adds V inflated to about N KiB.
#![no_main]

use http::header::ACCESS_CONTROL_REQUEST_HEADERS;
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tower_cors::__fuzz::{scan_request_headers, ScanOutcome};
use tower_cors::{MAX_REQUEST_HEADERS_BYTES, MAX_REQUEST_HEADER_NAMES};
use tower_cors_fuzz::{header_bytes, inflate, lines, MAX_INFLATED};

fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &s[start..end]
}

/// The reference: bounds first, then each trimmed non-empty element in order.
fn reference<'a>(lines: &[&'a [u8]], allowed: &dyn Fn(&[u8]) -> bool) -> ScanOutcome<'a> {
    let bytes: usize = lines.iter().map(|l| l.len()).sum();
    if lines.len() > MAX_REQUEST_HEADER_NAMES || bytes > MAX_REQUEST_HEADERS_BYTES {
        return ScanOutcome::TooLong;
    }
    let mut names = 0;
    let mut authorization = false;
    for line in lines {
        for element in line
            .split(|&b| b == b',')
            .map(trim)
            .filter(|e| !e.is_empty())
        {
            names += 1;
            if names > MAX_REQUEST_HEADER_NAMES {
                return ScanOutcome::TooLong;
            }
            if !is_token(element) {
                return ScanOutcome::Malformed(element);
            }
            if !allowed(element) {
                return ScanOutcome::NotAllowed(element);
            }
            authorization |= element.eq_ignore_ascii_case(b"authorization");
        }
    }
    ScanOutcome::Allowed {
        names,
        authorization,
    }
}

fuzz_target!(|data: &[u8]| {
    let lines = lines(data);
    let Some((allow_line, rest)) = lines.split_first() else {
        return;
    };
    let allow: Vec<Vec<u8>> = allow_line
        .split(|&b| b == b',')
        .map(|n| trim(n).to_vec())
        .collect();
    let allowed = |name: &[u8]| {
        allow
            .iter()
            .any(|a| a == b"*" || a.eq_ignore_ascii_case(name))
    };

    let mut map = HeaderMap::new();
    let mut budget = MAX_INFLATED;
    // At most this many junk lines in all: many `junk:` lines of the largest count once made
    // the harness itself build maps of millions of lines and run out of memory.
    let mut junk_budget = 10_000usize;
    for line in rest {
        if let Some(n) = line.strip_prefix(b"junk:") {
            let n: usize = std::str::from_utf8(n)
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let n = n.min(junk_budget);
            junk_budget -= n;
            for i in 0..n {
                map.append(HeaderName::from_static("x-junk"), HeaderValue::from(i));
            }
            continue;
        }
        let value = match line.strip_prefix(b"big*") {
            Some(spec) => {
                let (kib, value) =
                    spec.split_at(spec.iter().position(|&b| b == b':').unwrap_or(spec.len()));
                let kib: usize = std::str::from_utf8(kib)
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                inflate(
                    &header_bytes(value.get(1..).unwrap_or_default()),
                    kib.min(1024) * 1024,
                    &mut budget,
                )
            }
            None => header_bytes(line),
        };
        map.append(
            ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_bytes(&value).expect("sanitized"),
        );
    }

    let mut asked: Vec<Vec<u8>> = Vec::new();
    let got = scan_request_headers(&map, |name| {
        asked.push(name.to_vec());
        allowed(name)
    });
    let acrh: Vec<&[u8]> = map
        .get_all(ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    let want = reference(&acrh, &allowed);
    assert_eq!(got, want, "scanner and reference disagree");

    // The callback saw exactly the well-formed elements up to the verdict, in order.
    assert!(asked.len() <= MAX_REQUEST_HEADER_NAMES);
    let bytes: usize = acrh.iter().map(|l| l.len()).sum();
    if acrh.len() > MAX_REQUEST_HEADER_NAMES || bytes > MAX_REQUEST_HEADERS_BYTES {
        assert!(
            asked.is_empty(),
            "asked about elements of an over-long list"
        );
    }
    let expected_asks: Vec<&[u8]> = acrh
        .iter()
        .flat_map(|l| l.split(|&b| b == b','))
        .map(trim)
        .filter(|e| !e.is_empty())
        .take(asked.len())
        .collect();
    assert_eq!(
        asked.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        expected_asks
    );
});
