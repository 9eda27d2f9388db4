//! The response filter: the upstream's answer made fit for the browser — framing the proxy can
//! vouch for, no protocol switch nobody asked for, `Location` through the proxy, header hygiene
//! — and a body that holds the request's slot until it is done and fails when it stalls.

use http::header::{self, HeaderMap};
use http::{Method, Response, StatusCode};
use http_body::{Body, SizeHint};
use hyper::body::Incoming;
use tokio::sync::OwnedSemaphorePermit;
use url::Url;

use crate::answer::Answer;
use crate::body::{ProxyBody, Tracked, Watched};
use crate::headers;
use crate::route::{Route, Shared, UpstreamStatus};
use crate::upstream::rewrite_location;

/// Runs the response filter over the upstream's answer to `method` from `target`.
pub(crate) fn response_filter(
    route: &Route,
    shared: &Shared,
    method: &Method,
    target: &Url,
    response: Response<Incoming>,
    permit: OwnedSemaphorePermit,
) -> Result<Response<ProxyBody>, Answer> {
    let (mut parts, incoming) = response.into_parts();
    // The proxy strips `Upgrade` from every request, so a 101 is one nobody asked for: relaying
    // it would hand the browser a connection in a protocol the proxy cannot check.
    if parts.status == StatusCode::SWITCHING_PROTOCOLS {
        return Err(Answer::new(
            StatusCode::BAD_GATEWAY,
            "the upstream switched protocols, which this route does not allow",
        ));
    }
    let upstream_status = parts.status.as_u16();
    framing(
        &mut parts.headers,
        parts.status,
        method,
        &incoming.size_hint(),
    );
    if parts.status.is_redirection() {
        if let Some(location) = parts.headers.get(header::LOCATION) {
            match rewrite_location(route, shared, target, location) {
                Some(value) => {
                    parts.headers.insert(header::LOCATION, value);
                }
                None => {
                    parts.headers.remove(header::LOCATION);
                }
            }
        }
    }
    headers::clean_response(&mut parts.headers, &route.response_rules, &route.secrets);
    parts.extensions.insert(UpstreamStatus(upstream_status));
    let body = Watched::from_upstream(incoming, shared.limits.body_idle_timeout);
    Ok(Response::from_parts(parts, Tracked::permit(body, permit)))
}

/// The upstream's framing headers as the proxy may pass them on (RFC 9112 §6.3): never
/// `Transfer-Encoding` (the proxy frames its own message); `Content-Length` only when the
/// upstream's message was length-delimited by it (the body's exact size agrees), or as received
/// on a HEAD answer and a 304, which have no body to measure; never beside a
/// `Transfer-Encoding`. Without it the server frames the body itself, and a body cut short
/// cannot look complete.
pub fn framing(headers: &mut HeaderMap, status: StatusCode, method: &Method, body: &SizeHint) {
    let chunked = headers.remove(header::TRANSFER_ENCODING).is_some();
    let mut declared = headers.get_all(header::CONTENT_LENGTH).iter();
    let first = declared.next().cloned();
    let repeated = declared.next().is_some();
    headers.remove(header::CONTENT_LENGTH);
    let (Some(length), false, false) = (first, repeated, chunked) else {
        return;
    };
    let no_body = *method == Method::HEAD || status == StatusCode::NOT_MODIFIED;
    let agrees = || {
        // Digits only (RFC 9110 §8.6): Rust's parser would also take a sign.
        let digits = length.as_bytes();
        let parsed = (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
            .then(|| std::str::from_utf8(digits).ok()?.parse::<u64>().ok())
            .flatten();
        parsed.is_some() && parsed == body.exact()
    };
    if no_body || agrees() {
        headers.insert(header::CONTENT_LENGTH, length);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    type Case = (
        Option<&'static str>,
        &'static [&'static str],
        u16,
        &'static str,
        Option<u64>,
        Option<&'static str>,
    );

    #[test]
    fn framing_table() {
        // (Transfer-Encoding, Content-Length lines, status, method, body's exact size,
        //  Content-Length passed on)
        let cases: &[Case] = &[
            (None, &["5"], 200, "GET", Some(5), Some("5")),
            // chunked beside a Content-Length: the length goes, whatever it says
            (Some("chunked"), &["2"], 200, "GET", None, None),
            (Some("chunked"), &["500"], 200, "GET", None, None),
            (Some("chunked"), &["5"], 200, "GET", Some(5), None),
            // disagreeing, repeated or unreadable lengths go
            (None, &["5"], 200, "GET", Some(7), None),
            (None, &["5"], 200, "GET", None, None),
            (None, &["5", "5"], 200, "GET", Some(5), None),
            (None, &["+5"], 200, "GET", Some(5), None),
            (None, &["abc"], 200, "GET", Some(0), None),
            // HEAD and 304 carry the representation's length, as received
            (None, &["1234"], 200, "HEAD", Some(0), Some("1234")),
            (None, &["1234"], 304, "GET", Some(0), Some("1234")),
            (Some("chunked"), &["1234"], 200, "HEAD", Some(0), None),
            (None, &[], 200, "GET", Some(5), None),
        ];
        for (te, lengths, status, method, exact, expected) in cases {
            let mut headers = HeaderMap::new();
            if let Some(te) = te {
                headers.insert(header::TRANSFER_ENCODING, HeaderValue::from_static(te));
            }
            for l in *lengths {
                headers.append(header::CONTENT_LENGTH, HeaderValue::from_static(l));
            }
            let hint = match exact {
                Some(n) => SizeHint::with_exact(*n),
                None => SizeHint::default(),
            };
            let status = StatusCode::from_u16(*status).expect("status");
            let method = Method::from_bytes(method.as_bytes()).expect("method");
            framing(&mut headers, status, &method, &hint);
            assert!(!headers.contains_key(header::TRANSFER_ENCODING));
            let got: Vec<_> = headers.get_all(header::CONTENT_LENGTH).iter().collect();
            match expected {
                Some(value) => assert_eq!(got, [*value], "{te:?} {lengths:?} {status} {method}"),
                None => assert!(
                    got.is_empty(),
                    "{te:?} {lengths:?} {status} {method}: {got:?}"
                ),
            }
        }
    }
}
