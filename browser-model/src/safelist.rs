//! The Fetch standard's lists about request and response headers and methods: which a script
//! may not set, which a cross-origin request may carry without a preflight, which a script may
//! read from a CORS response, and the list parser for `Access-Control-Allow-*` values.

use http::header::{HeaderName, HeaderValue};

/// Why a request header makes a preflight necessary
/// ([CORS-unsafe request-header names](https://fetch.spec.whatwg.org/#cors-unsafe-request-header-names)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnsafeHeader {
    /// The name is not one of `accept`, `accept-language`, `content-language`, `content-type`,
    /// `range`.
    NotSafelisted,
    /// The value is longer than 128 bytes.
    TooLong,
    /// The value has a CORS-unsafe byte (a control byte other than tab, `"():<>?@[\]{}` or DEL).
    UnsafeByte,
    /// An `accept-language` / `content-language` value with a byte outside `0-9A-Za-z *,-.;=`.
    LanguageByte,
    /// A `content-type` that does not parse as a MIME type.
    UnparsableMime,
    /// A `content-type` whose essence is not `application/x-www-form-urlencoded`,
    /// `multipart/form-data` or `text/plain`.
    MimeNotSafelisted,
    /// A `range` that is not one `bytes=start-[end]` range with a start.
    RangeNotSimple,
    /// The safelisted headers' values add up to more than 1024 bytes.
    TotalTooLong,
}

impl UnsafeHeader {
    /// A short explanation, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            UnsafeHeader::NotSafelisted => "not a CORS-safelisted request header",
            UnsafeHeader::TooLong => "its value is longer than 128 bytes",
            UnsafeHeader::UnsafeByte => "its value has a CORS-unsafe byte",
            UnsafeHeader::LanguageByte => "its value has a byte a language tag list may not have",
            UnsafeHeader::UnparsableMime => "its value is not a MIME type",
            UnsafeHeader::MimeNotSafelisted => {
                "its MIME type is not application/x-www-form-urlencoded, multipart/form-data or text/plain"
            }
            UnsafeHeader::RangeNotSimple => "it is not a single `bytes=start-[end]` range",
            UnsafeHeader::TotalTooLong => "the safelisted headers' values exceed 1024 bytes in total",
        }
    }
}

/// `GET`, `HEAD`, `POST`, byte for byte.
pub(crate) fn is_safelisted_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "POST")
}

/// `CONNECT`, `TRACE`, `TRACK`, case-insensitively: `fetch()` throws.
pub(crate) fn is_forbidden_method(method: &str) -> bool {
    ["CONNECT", "TRACE", "TRACK"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}

/// [Normalize](https://fetch.spec.whatwg.org/#concept-method-normalize): upper-case only the six
/// methods the standard names; anything else stays as written (`patch` stays `patch`).
pub(crate) fn normalize_method(method: &str) -> String {
    for known in ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"] {
        if known.eq_ignore_ascii_case(method) {
            return known.to_owned();
        }
    }
    method.to_owned()
}

/// A [forbidden request header](https://fetch.spec.whatwg.org/#forbidden-request-header): the
/// browser drops it from a script's request.
pub(crate) fn is_forbidden_request_header(name: &HeaderName, value: &HeaderValue) -> bool {
    const NAMES: [&str; 21] = [
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "access-control-request-private-network",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ];
    let name = name.as_str();
    if NAMES.contains(&name)
        || name == "via"
        || name.starts_with("proxy-")
        || name.starts_with("sec-")
    {
        return true;
    }
    // A method override that names a forbidden method is forbidden too.
    if matches!(
        name,
        "x-http-method" | "x-http-method-override" | "x-method-override"
    ) {
        return value
            .as_bytes()
            .split(|&b| b == b',')
            .map(trim)
            .any(|m| std::str::from_utf8(m).is_ok_and(is_forbidden_method));
    }
    false
}

fn is_unsafe_byte(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b"\"():<>?@[\\]{}".contains(&b) || b == 0x7f
}

/// [CORS-safelisted request-header](https://fetch.spec.whatwg.org/#cors-safelisted-request-header):
/// `Ok` when `name: value` may go without a preflight, or why not.
pub(crate) fn check_safelisted(name: &HeaderName, value: &[u8]) -> Result<(), UnsafeHeader> {
    let name = name.as_str();
    if !matches!(
        name,
        "accept" | "accept-language" | "content-language" | "content-type" | "range"
    ) {
        return Err(UnsafeHeader::NotSafelisted);
    }
    if value.len() > 128 {
        return Err(UnsafeHeader::TooLong);
    }
    match name {
        "accept" => {
            if value.iter().any(|&b| is_unsafe_byte(b)) {
                return Err(UnsafeHeader::UnsafeByte);
            }
        }
        "accept-language" | "content-language" => {
            if !value
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b" *,-.;=".contains(&b))
            {
                return Err(UnsafeHeader::LanguageByte);
            }
        }
        "content-type" => {
            if value.iter().any(|&b| is_unsafe_byte(b)) {
                return Err(UnsafeHeader::UnsafeByte);
            }
            let essence = mime_essence(value).ok_or(UnsafeHeader::UnparsableMime)?;
            if !matches!(
                essence.as_str(),
                "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
            ) {
                return Err(UnsafeHeader::MimeNotSafelisted);
            }
        }
        _ => {
            if !is_simple_range(value) {
                return Err(UnsafeHeader::RangeNotSimple);
            }
        }
    }
    Ok(())
}

/// The essence (`type/subtype`, lower-cased) of a MIME type, if it
/// [parses](https://mimesniff.spec.whatwg.org/#parse-a-mime-type). Parameters are not validated
/// further: parsing only fails on the type and subtype.
fn mime_essence(value: &[u8]) -> Option<String> {
    let value = trim(value);
    let end = value.iter().position(|&b| b == b';').unwrap_or(value.len());
    let essence = trim_end(&value[..end]);
    let slash = essence.iter().position(|&b| b == b'/')?;
    let (kind, subtype) = (&essence[..slash], &essence[slash + 1..]);
    if kind.is_empty() || subtype.is_empty() || !kind.iter().all(|&b| is_tchar(b)) {
        return None;
    }
    if !subtype.iter().all(|&b| is_tchar(b)) {
        return None;
    }
    Some(String::from_utf8_lossy(essence).to_ascii_lowercase())
}

/// `bytes=start-` or `bytes=start-end` with `start <= end`
/// ([simple range header value](https://fetch.spec.whatwg.org/#simple-range-header-value),
/// whitespace not allowed).
fn is_simple_range(value: &[u8]) -> bool {
    let Some(rest) = value.strip_prefix(b"bytes=") else {
        return false;
    };
    let Some(dash) = rest.iter().position(|&b| b == b'-') else {
        return false;
    };
    let (start, end) = (&rest[..dash], &rest[dash + 1..]);
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !digits(start) || !(end.is_empty() || digits(end)) {
        return false;
    }
    if end.is_empty() {
        return true;
    }
    let number = |s: &[u8]| std::str::from_utf8(s).ok()?.parse::<u128>().ok();
    matches!((number(start), number(end)), (Some(a), Some(b)) if a <= b)
}

/// The [CORS-unsafe request-header names](https://fetch.spec.whatwg.org/#cors-unsafe-request-header-names)
/// of `headers`, lower-cased, sorted and deduplicated, each with why.
pub(crate) fn unsafe_names(
    headers: &[(HeaderName, HeaderValue)],
) -> Vec<(HeaderName, UnsafeHeader)> {
    let mut unsafe_names: Vec<(HeaderName, UnsafeHeader)> = Vec::new();
    let mut safelisted = Vec::new();
    let mut total = 0usize;
    for (name, value) in headers {
        match check_safelisted(name, value.as_bytes()) {
            Ok(()) => {
                total += value.len();
                safelisted.push(name.clone());
            }
            Err(why) => unsafe_names.push((name.clone(), why)),
        }
    }
    if total > 1024 {
        unsafe_names.extend(
            safelisted
                .into_iter()
                .map(|n| (n, UnsafeHeader::TotalTooLong)),
        );
    }
    unsafe_names.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    unsafe_names.dedup_by(|a, b| a.0 == b.0);
    unsafe_names
}

/// A [CORS-safelisted response-header name](https://fetch.spec.whatwg.org/#cors-safelisted-response-header-name)
/// before `Access-Control-Expose-Headers` is applied.
pub(crate) fn is_safelisted_response_header(name: &str) -> bool {
    matches!(
        name,
        "cache-control"
            | "content-language"
            | "content-length"
            | "content-type"
            | "expires"
            | "last-modified"
            | "pragma"
    )
}

/// A token character (RFC 9110 `tchar`).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(s.len());
    trim_end(&s[start..])
}

fn trim_end(s: &[u8]) -> &[u8] {
    let end = s
        .iter()
        .rposition(|&b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    &s[..end]
}

/// The values of every `name` line joined as one list, split on `,` outside quoted strings,
/// trimmed; empty items are skipped (as the `#rule` lets recipients do). `Ok(None)` when there is
/// no such header; `Err(item)` names the first item that is not a token
/// ([extract header list values](https://fetch.spec.whatwg.org/#extract-header-list-values)).
pub(crate) fn extract_list(
    headers: &http::HeaderMap,
    name: &HeaderName,
) -> Result<Option<Vec<String>>, String> {
    let mut lines = headers.get_all(name).iter().peekable();
    if lines.peek().is_none() {
        return Ok(None);
    }
    let mut items = Vec::new();
    for line in lines {
        for item in split_list(line.as_bytes()) {
            let item = trim(item);
            if item.is_empty() {
                continue;
            }
            if !item.iter().all(|&b| is_tchar(b)) {
                return Err(String::from_utf8_lossy(item).into_owned());
            }
            items.push(String::from_utf8_lossy(item).into_owned());
        }
    }
    Ok(Some(items))
}

fn split_list(value: &[u8]) -> Vec<&[u8]> {
    let mut items = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, &b) in value.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if quoted && b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            quoted = !quoted;
        } else if b == b',' && !quoted {
            items.push(&value[start..i]);
            start = i + 1;
        }
    }
    items.push(&value[start..]);
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> HeaderName {
        HeaderName::from_bytes(s.as_bytes()).expect("name")
    }

    #[test]
    fn safelisted_request_headers() {
        let long = "a".repeat(129);
        let just = "a".repeat(128);
        let cases: Vec<(&str, &str, Result<(), UnsafeHeader>)> = vec![
            ("accept", "*/*", Ok(())),
            ("accept", "application/json, text/plain", Ok(())),
            ("accept", &just, Ok(())),
            ("accept", &long, Err(UnsafeHeader::TooLong)),
            (
                "accept",
                "text/html; q=\"1\"",
                Err(UnsafeHeader::UnsafeByte),
            ),
            ("accept", "a{b}", Err(UnsafeHeader::UnsafeByte)),
            ("accept-language", "en-US,en;q=0.9", Ok(())),
            ("accept-language", "en_US", Err(UnsafeHeader::LanguageByte)),
            ("content-language", "de-DE", Ok(())),
            ("content-type", "text/plain", Ok(())),
            ("content-type", "text/plain;charset=utf-8", Ok(())),
            ("content-type", "Multipart/Form-Data; boundary=x", Ok(())),
            ("content-type", "application/x-www-form-urlencoded", Ok(())),
            (
                "content-type",
                "application/json",
                Err(UnsafeHeader::MimeNotSafelisted),
            ),
            (
                "content-type",
                "text/plain; charset=\"utf-8\"",
                Err(UnsafeHeader::UnsafeByte),
            ),
            ("content-type", "text", Err(UnsafeHeader::UnparsableMime)),
            ("content-type", "text/", Err(UnsafeHeader::UnparsableMime)),
            (
                "content-type",
                "text /plain",
                Err(UnsafeHeader::UnparsableMime),
            ),
            ("range", "bytes=0-", Ok(())),
            ("range", "bytes=5-10", Ok(())),
            ("range", "bytes=10-5", Err(UnsafeHeader::RangeNotSimple)),
            ("range", "bytes=-500", Err(UnsafeHeader::RangeNotSimple)),
            ("range", "bytes=0-1,5-6", Err(UnsafeHeader::RangeNotSimple)),
            ("range", "bytes = 0-", Err(UnsafeHeader::RangeNotSimple)),
            ("x-api-key", "k", Err(UnsafeHeader::NotSafelisted)),
            (
                "authorization",
                "Bearer t",
                Err(UnsafeHeader::NotSafelisted),
            ),
        ];
        for (n, value, expected) in cases {
            assert_eq!(
                check_safelisted(&name(n), value.as_bytes()),
                expected,
                "{n}: {value}"
            );
        }
    }

    #[test]
    fn unsafe_names_are_sorted_and_total_limited() {
        let v = |s: &str| HeaderValue::from_str(s).expect("value");
        let headers = vec![
            (name("x-b"), v("1")),
            (name("content-type"), v("application/json")),
            (name("accept"), v("*/*")),
            (name("x-a"), v("2")),
            (name("x-a"), v("3")),
        ];
        let names: Vec<String> = unsafe_names(&headers)
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect();
        assert_eq!(names, ["content-type", "x-a", "x-b"]);

        // 9 x 120 bytes = 1080 > 1024: every safelisted header becomes unsafe too.
        let filler = "a".repeat(120);
        let many: Vec<_> = (0..9)
            .map(|_| (name("accept-language"), v(&filler)))
            .collect();
        let names = unsafe_names(&many);
        assert_eq!(names.len(), 1);
        assert_eq!(
            names[0],
            (name("accept-language"), UnsafeHeader::TotalTooLong)
        );
        let fewer: Vec<_> = (0..8)
            .map(|_| (name("accept-language"), v(&filler)))
            .collect();
        assert!(unsafe_names(&fewer).is_empty());
    }

    #[test]
    fn forbidden_request_headers() {
        let v = |s: &str| HeaderValue::from_str(s).expect("value");
        let cases = [
            ("cookie", "a=b", true),
            ("origin", "https://x", true),
            ("host", "x", true),
            ("sec-fetch-mode", "cors", true),
            ("proxy-authorization", "x", true),
            ("content-length", "3", true),
            ("x-http-method-override", "TRACE", true),
            ("x-http-method-override", "PUT, connect", true),
            ("x-http-method-override", "PUT", false),
            ("authorization", "Bearer x", false),
            ("x-api-key", "k", false),
            ("content-type", "application/json", false),
        ];
        for (n, value, expected) in cases {
            assert_eq!(
                is_forbidden_request_header(&name(n), &v(value)),
                expected,
                "{n}"
            );
        }
    }

    #[test]
    fn methods() {
        assert_eq!(normalize_method("put"), "PUT");
        assert_eq!(normalize_method("patch"), "patch");
        assert_eq!(normalize_method("Delete"), "DELETE");
        assert!(is_forbidden_method("trace"));
        assert!(is_safelisted_method("POST"));
        assert!(!is_safelisted_method("post"));
        assert!(!is_safelisted_method("PUT"));
    }

    #[test]
    fn list_extraction() {
        let map = |lines: &[&str]| {
            let mut headers = http::HeaderMap::new();
            for line in lines {
                headers.append(
                    "access-control-allow-methods",
                    HeaderValue::from_str(line).expect("v"),
                );
            }
            headers
        };
        let n = name("access-control-allow-methods");
        let ok = |v: &[&str]| Ok(Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
        assert_eq!(extract_list(&map(&[]), &n), Ok(None));
        assert_eq!(
            extract_list(&map(&["PUT, DELETE"]), &n),
            ok(&["PUT", "DELETE"])
        );
        assert_eq!(
            extract_list(&map(&["PUT", "PATCH"]), &n),
            ok(&["PUT", "PATCH"])
        );
        assert_eq!(extract_list(&map(&["PUT,,GET ,"]), &n), ok(&["PUT", "GET"]));
        assert_eq!(extract_list(&map(&[""]), &n), ok(&[]));
        assert_eq!(
            extract_list(&map(&["PUT;DELETE"]), &n),
            Err("PUT;DELETE".into())
        );
        assert_eq!(
            extract_list(&map(&["PUT, \"a,b\""]), &n),
            Err("\"a,b\"".into())
        );
    }
}
