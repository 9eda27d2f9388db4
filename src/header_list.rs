//! The bounded, allocation-free scanner for `Access-Control-Request-Headers`.
//!
//! The value may arrive as several lines, each a comma-separated list; elements are trimmed of
//! spaces and tabs and empty elements are skipped. The total size is checked before any element
//! is looked at, so a hostile megabyte-long list costs no more than a glance at its length.

use http::header::GetAll;
use http::HeaderValue;

/// The most bytes, summed over all lines, a preflight's `Access-Control-Request-Headers` may
/// carry. Longer lists make the preflight fail.
///
/// ```
/// let cors = tower_cors::CorsLayer::builder().allow_any_origin().allow_any_header().build()?;
/// let long = "x,".repeat(tower_cors::MAX_REQUEST_HEADERS_BYTES);
/// let (parts, ()) = http::Request::options("/")
///     .header("origin", "https://app.example.com")
///     .header("access-control-request-method", "GET")
///     .header("access-control-request-headers", long)
///     .body(())?
///     .into_parts();
/// let reason = cors.evaluate(&parts).rejection().unwrap().reason();
/// assert_eq!(reason, tower_cors::Reason::RequestHeadersTooLong);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_REQUEST_HEADERS_BYTES: usize = 8 * 1024;

/// The most header names (and the most lines) a preflight's `Access-Control-Request-Headers`
/// may carry. More make the preflight fail.
///
/// ```
/// let cors = tower_cors::CorsLayer::builder().allow_any_origin().allow_any_header().build()?;
/// let many = vec!["x-a"; tower_cors::MAX_REQUEST_HEADER_NAMES + 1].join(",");
/// let (parts, ()) = http::Request::options("/")
///     .header("origin", "https://app.example.com")
///     .header("access-control-request-method", "GET")
///     .header("access-control-request-headers", many)
///     .body(())?
///     .into_parts();
/// assert!(cors.evaluate(&parts).rejection().is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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

/// The lines of a request's `Access-Control-Request-Headers`.
pub(crate) enum Lines<'a> {
    /// The only line (what browsers send), found while reading the request's other headers.
    One(&'a HeaderValue),
    /// Every line, through the header map.
    All(GetAll<'a, HeaderValue>),
}

impl<'a> From<GetAll<'a, HeaderValue>> for Lines<'a> {
    fn from(lines: GetAll<'a, HeaderValue>) -> Self {
        Lines::All(lines)
    }
}

impl<'a> Lines<'a> {
    fn iter(&self) -> impl Iterator<Item = &'a HeaderValue> + '_ {
        let (one, all) = match self {
            Lines::One(line) => (Some(*line), None),
            Lines::All(lines) => (None, Some(lines.iter())),
        };
        one.into_iter().chain(all.into_iter().flatten())
    }
}

/// Scans every line, calling `allowed` once per element, and fails on the first element that is
/// malformed or not allowed.
pub(crate) fn scan<'a>(
    lines: impl Into<Lines<'a>>,
    mut allowed: impl FnMut(&[u8]) -> bool,
) -> Result<Scan, ScanError<'a>> {
    let lines = lines.into();
    let mut total = 0usize;
    for (count, line) in lines.iter().enumerate() {
        total += line.len();
        if count >= MAX_REQUEST_HEADER_NAMES || total > MAX_REQUEST_HEADERS_BYTES {
            return Err(ScanError::TooLong);
        }
    }
    let mut scan = Scan::default();
    for line in lines.iter() {
        for (name, token) in (Elements {
            bytes: line.as_bytes(),
            at: 0,
        }) {
            scan.names += 1;
            if scan.names > MAX_REQUEST_HEADER_NAMES {
                return Err(ScanError::TooLong);
            }
            if !token {
                return Err(ScanError::Malformed(name));
            }
            if !allowed(name) {
                return Err(ScanError::NotAllowed(name));
            }
            if eq_lower(b"authorization", name) {
                scan.authorization = true;
            }
        }
    }
    Ok(scan)
}

/// The non-empty elements of one line, trimmed of spaces and tabs, each with whether it is a
/// token (a space or tab inside an element makes it not one).
struct Elements<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = (&'a [u8], bool);

    fn next(&mut self) -> Option<Self::Item> {
        while let Some(rest) = self.bytes.get(self.at..).filter(|rest| !rest.is_empty()) {
            let end = rest.iter().position(|&b| b == b',').unwrap_or(rest.len());
            // Past the comma.
            self.at += end + 1;
            let element = trim_ows(&rest[..end]);
            if !element.is_empty() {
                return Some((element, element.iter().all(|&b| is_tchar(b))));
            }
        }
        None
    }
}

/// `bytes` without leading and trailing spaces and tabs.
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| matches!(b, b' ' | b'\t');
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Whether `name` equals `lower` (already lower case) ignoring ASCII case: lengths first, then
/// eight bytes at a time rather than byte by byte.
pub(crate) fn eq_lower(lower: &[u8], name: &[u8]) -> bool {
    eq_words(lower, name, lower_word)
}

/// Whether `a` and `b` are byte for byte equal, compared as [`eq_lower`] does: for the short
/// values compared per request, this costs less than a call to `memcmp`.
pub(crate) fn eq_exact(a: &[u8], b: &[u8]) -> bool {
    eq_words(a, b, |w| w)
}

/// Whether `b`, each word mapped by `map`, equals `a`: lengths first, then eight bytes at a
/// time. Past eight bytes, the last word overlaps the one before it, so no byte is handled
/// alone.
#[inline(always)]
fn eq_words(a: &[u8], b: &[u8], map: impl Fn(u64) -> u64) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    if len < 8 {
        return short_word(a) == map(short_word(b));
    }
    let mut at = 0;
    while at + 8 < len {
        if word_at(a, at) != map(word_at(b, at)) {
            return false;
        }
        at += 8;
    }
    word_at(a, len - 8) == map(word_at(b, len - 8))
}

/// The last eight bytes of `bytes` as a word (all of them, zero-padded, if fewer): a cheap
/// first test before [`eq_exact`], since values that share a length often differ at the end.
pub(crate) fn last_word(bytes: &[u8]) -> u64 {
    match bytes.len().checked_sub(8) {
        Some(at) => word_at(bytes, at),
        None => short_word(bytes),
    }
}

/// The eight bytes at `at` as a little-endian word; `bytes` holds at least `at + 8`.
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Fewer than eight bytes as a little-endian word, zero-padded.
fn short_word(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |word, &b| (word << 8) | u64::from(b))
}

/// Lower-cases the ASCII letters among eight bytes at once (other bytes are left alone).
fn lower_word(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x80 * ONES;
    let seven = w & !HIGH;
    // The high bit of each byte of `at_least_a` is set when its low seven bits are >= `A`, and
    // of `past_z` when they are > `Z`; no addition carries into the next byte.
    let at_least_a = seven + (0x80 - u64::from(b'A')) * ONES;
    let past_z = seven + (0x80 - u64::from(b'Z') - 1) * ONES;
    let upper = at_least_a & !past_z & !w & HIGH;
    w | (upper >> 2)
}

/// Whether `s` is an HTTP token (RFC 9110 `tchar`s, at least one).
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// Whether each byte is a `tchar`: one load per byte, since this runs on every byte of every
/// requested name.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < table.len() {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    const ACRH: http::HeaderName = http::header::ACCESS_CONTROL_REQUEST_HEADERS;

    fn map(lines: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(
                ACRH,
                HeaderValue::from_bytes(line).expect("valid header value"),
            );
        }
        map
    }

    fn allow(name: &[u8]) -> bool {
        [&b"content-type"[..], b"x-api-key", b"authorization"]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(name))
    }

    #[test]
    fn eq_exact_compares_every_byte() {
        for len in 0..=33usize {
            let a: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(eq_exact(&a, &a.clone()), "{len}");
            assert!(
                !eq_exact(&a, &a[..len.saturating_sub(1)]) || len == 0,
                "{len}"
            );
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!eq_exact(&a, &b), "{len}, byte {at}");
                assert!(eq_lower(&a, &b), "{len}, byte {at}: equal but for case");
            }
        }
    }

    #[test]
    fn lower_word_matches_std_for_every_byte() {
        for b in 0..=255u8 {
            for shift in 0..8 {
                let others = 0x4142_7a5a_5f5e_0040 & !(0xff << (8 * shift));
                let w = (u64::from(b) << (8 * shift)) | others;
                let mut want = w.to_le_bytes();
                want.make_ascii_lowercase();
                assert_eq!(
                    lower_word(w),
                    u64::from_le_bytes(want),
                    "byte {b:#x} at {shift}"
                );
            }
        }
    }

    #[test]
    fn eq_lower_table() {
        // (lower, name, equal)
        let cases: &[(&[u8], &[u8], bool)] = &[
            (b"", b"", true),
            (b"te", b"TE", true),
            (b"te", b"tf", false),
            (b"content-type", b"Content-Type", true),
            (b"content-type", b"content-typf", false),
            (b"content-type", b"dontent-type", false),
            (b"content-type", b"content-typ", false),
            (b"x-request-id", b"X-REQUEST-ID", true),
            (b"authorization", b"AUTHORIZATION", true),
            (b"authorization", b"authorizatioM", false),
            (b"12345678", b"12345678", true),
            (b"12345678", b"12345679", false),
            (b"abcdefghijklmnop", b"ABCDEFGHIJKLMNOP", true),
            (b"abcdefghijklmnop", b"ABCDEFGHIJKLMNOq", false),
            (b"a_b^c", b"A_B^C", true),
            (b"a_b", b"a\x7fb", false),
        ];
        for (lower, name, want) in cases {
            assert_eq!(eq_lower(lower, name), *want, "{lower:?} vs {name:?}");
            assert_eq!(
                lower.eq_ignore_ascii_case(name),
                *want,
                "{lower:?} vs {name:?}"
            );
        }
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
            (
                &[b"content-type", b"x-other"],
                Err(ScanError::NotAllowed(b"x-other")),
            ),
            (
                &[b"content type"],
                Err(ScanError::Malformed(b"content type")),
            ),
            (&[b"x-api-key;"], Err(ScanError::Malformed(b"x-api-key;"))),
            (&[b"\"quoted\""], Err(ScanError::Malformed(b"\"quoted\""))),
        ];
        for (lines, want) in cases {
            let m = map(lines);
            let got = scan(Lines::All(m.get_all(ACRH)), allow).map(|s| (s.names, s.authorization));
            assert_eq!(&got, want, "{lines:?}");
        }
    }

    #[test]
    fn bounds() {
        let at_limit = vec![b','; MAX_REQUEST_HEADERS_BYTES];
        assert_eq!(
            scan(Lines::All(map(&[&at_limit]).get_all(ACRH)), allow),
            Ok(Scan::default())
        );
        let over = vec![b','; MAX_REQUEST_HEADERS_BYTES + 1];
        assert_eq!(
            scan(Lines::All(map(&[&over]).get_all(ACRH)), allow),
            Err(ScanError::TooLong)
        );
        let names = vec!["content-type"; MAX_REQUEST_HEADER_NAMES].join(",");
        assert!(scan(Lines::All(map(&[names.as_bytes()]).get_all(ACRH)), allow).is_ok());
        let names = vec!["content-type"; MAX_REQUEST_HEADER_NAMES + 1].join(",");
        assert_eq!(
            scan(Lines::All(map(&[names.as_bytes()]).get_all(ACRH)), allow),
            Err(ScanError::TooLong)
        );
        let many_lines: Vec<&[u8]> = vec![b"content-type"; MAX_REQUEST_HEADER_NAMES + 1];
        assert_eq!(
            scan(Lines::All(map(&many_lines).get_all(ACRH)), allow),
            Err(ScanError::TooLong)
        );
        // A huge list is refused before its first element is looked at.
        let huge = vec![b'a'; 1 << 20];
        let mut calls = 0;
        let huge = map(&[&huge]);
        let got = scan(Lines::All(huge.get_all(ACRH)), |_| {
            calls += 1;
            true
        });
        assert_eq!((got, calls), (Err(ScanError::TooLong), 0));
    }
}
