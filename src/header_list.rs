//! The bounded, allocation-free scanner for `Access-Control-Request-Headers`.
//!
//! The value may arrive as several lines, each a comma-separated list; elements are trimmed of
//! spaces and tabs and empty elements are skipped. The total size is checked before any element
//! is looked at, so a hostile megabyte-long list costs no more than a glance at its length.

use http::header::GetAll;
use http::HeaderValue;

/// The most bytes, summed over all lines, a preflight's `Access-Control-Request-Headers` may
/// carry. Longer lists make the preflight fail.
pub const MAX_REQUEST_HEADERS_BYTES: usize = 8 * 1024;

/// The most header names (and the most lines) a preflight's `Access-Control-Request-Headers`
/// may carry. More make the preflight fail.
pub const MAX_REQUEST_HEADER_NAMES: usize = 128;

/// What a successful scan learned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Scan {
    pub(crate) names: usize,
    /// `authorization` was requested (a bare `*` never covers it).
    pub(crate) authorization: bool,
}

/// Why a scan failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScanError<'a> {
    /// Over [`MAX_REQUEST_HEADERS_BYTES`] or [`MAX_REQUEST_HEADER_NAMES`].
    TooLong,
    /// An element that is not an HTTP token.
    Malformed(&'a [u8]),
    /// A well-formed name the policy does not allow.
    NotAllowed(&'a [u8]),
}

/// Scans every line, calling `allowed` once per element, and fails on the first element that is
/// malformed or not allowed.
pub(crate) fn scan<'a>(
    lines: GetAll<'a, HeaderValue>,
    mut allowed: impl FnMut(&[u8]) -> bool,
) -> Result<Scan, ScanError<'a>> {
    let mut total = 0usize;
    for (count, line) in lines.iter().enumerate() {
        total += line.len();
        if count >= MAX_REQUEST_HEADER_NAMES || total > MAX_REQUEST_HEADERS_BYTES {
            return Err(ScanError::TooLong);
        }
    }
    let mut scan = Scan::default();
    for line in lines {
        for element in line.as_bytes().split(|&b| b == b',') {
            let name = trim(element);
            if name.is_empty() {
                continue;
            }
            scan.names += 1;
            if scan.names > MAX_REQUEST_HEADER_NAMES {
                return Err(ScanError::TooLong);
            }
            if !is_token(name) {
                return Err(ScanError::Malformed(name));
            }
            if !allowed(name) {
                return Err(ScanError::NotAllowed(name));
            }
            if name.eq_ignore_ascii_case(b"authorization") {
                scan.authorization = true;
            }
        }
    }
    Ok(scan)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Whether `s` is an HTTP token (RFC 9110 `tchar`s, at least one).
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    const ACRH: http::HeaderName = http::header::ACCESS_CONTROL_REQUEST_HEADERS;

    fn map(lines: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(ACRH, HeaderValue::from_bytes(line).expect("valid header value"));
        }
        map
    }

    fn allow(name: &[u8]) -> bool {
        [&b"content-type"[..], b"x-api-key", b"authorization"]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(name))
    }

    #[test]
    fn table() {
        type Want = Result<(usize, bool), ScanError<'static>>;
        let cases: &[(&[&[u8]], Want)] = &[
            (&[b"content-type"], Ok((1, false))),
            (&[b"x-api-key,content-type"], Ok((2, false))),
            (&[b"Content-Type , X-Api-Key"], Ok((2, false))),
            (&[b" \tcontent-type\t "], Ok((1, false))),
            (&[b"content-type", b"x-api-key"], Ok((2, false))),
            (&[b"content-type,content-type,CONTENT-TYPE"], Ok((3, false))),
            (&[b""], Ok((0, false))),
            (&[b",,, ,\t,"], Ok((0, false))),
            (&[b"authorization"], Ok((1, true))),
            (&[b"Authorization, content-type"], Ok((2, true))),
            (&[b"x-other"], Err(ScanError::NotAllowed(b"x-other"))),
            (&[b"content-type", b"x-other"], Err(ScanError::NotAllowed(b"x-other"))),
            (&[b"content type"], Err(ScanError::Malformed(b"content type"))),
            (&[b"x-api-key;"], Err(ScanError::Malformed(b"x-api-key;"))),
            (&[b"\"quoted\""], Err(ScanError::Malformed(b"\"quoted\""))),
        ];
        for (lines, want) in cases {
            let m = map(lines);
            let got = scan(m.get_all(ACRH), allow).map(|s| (s.names, s.authorization));
            assert_eq!(&got, want, "{lines:?}");
        }
    }

    #[test]
    fn bounds() {
        let at_limit = vec![b','; MAX_REQUEST_HEADERS_BYTES];
        assert_eq!(scan(map(&[&at_limit]).get_all(ACRH), allow), Ok(Scan::default()));
        let over = vec![b','; MAX_REQUEST_HEADERS_BYTES + 1];
        assert_eq!(scan(map(&[&over]).get_all(ACRH), allow), Err(ScanError::TooLong));
        let names = vec!["content-type"; MAX_REQUEST_HEADER_NAMES].join(",");
        assert!(scan(map(&[names.as_bytes()]).get_all(ACRH), allow).is_ok());
        let names = vec!["content-type"; MAX_REQUEST_HEADER_NAMES + 1].join(",");
        assert_eq!(scan(map(&[names.as_bytes()]).get_all(ACRH), allow), Err(ScanError::TooLong));
        let many_lines: Vec<&[u8]> = vec![b"content-type"; MAX_REQUEST_HEADER_NAMES + 1];
        assert_eq!(scan(map(&many_lines).get_all(ACRH), allow), Err(ScanError::TooLong));
        // A huge list is refused before its first element is looked at.
        let huge = vec![b'a'; 1 << 20];
        let mut calls = 0;
        let huge = map(&[&huge]);
        let got = scan(huge.get_all(ACRH), |_| {
            calls += 1;
            true
        });
        assert_eq!((got, calls), (Err(ScanError::TooLong), 0));
    }
}
