//! Header hygiene, as a reverse proxy must (RFC 9110 §7.6): what crosses from the browser to the
//! upstream and back.
//!
//! Order matters: the hop-by-hop fields and every field *named* in `Connection` are removed
//! first, and only then are the proxy's own fields added, so that `Connection: x-forwarded-for`
//! cannot delete what the proxy sets, and `Connection: x-api-key` cannot smuggle a field past a
//! deny list.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Hop-by-hop fields (RFC 9110 §7.6.1, plus the legacy `Proxy-Connection` and `Keep-Alive`).
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("proxy-connection"),
    HeaderName::from_static("keep-alive"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
    header::PROXY_AUTHENTICATE,
];

/// Upstream response fields that would act on the proxy's own origin, which may be the app's:
/// HSTS and `Alt-Svc` pin the origin's transport, `Clear-Site-Data` would wipe the app's
/// storage. Never passed back.
const ORIGIN_SCOPED_RESPONSE: [HeaderName; 4] = [
    header::STRICT_TRANSPORT_SECURITY,
    HeaderName::from_static("alt-svc"),
    HeaderName::from_static("clear-site-data"),
    HeaderName::from_static("public-key-pins"),
];

/// Removes the hop-by-hop fields and those listed in `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
}

/// What a route lets through from the browser.
#[derive(Debug, Clone, Default)]
pub struct RequestRules {
    /// `forward_cookies`.
    pub forward_cookies: bool,
    /// `forward_authorization`.
    pub forward_authorization: bool,
    /// `allow_request_headers`.
    pub allow: Option<Vec<HeaderName>>,
    /// `deny_request_headers`.
    pub deny: Vec<HeaderName>,
    /// `forward_browser_headers`.
    pub browser: BrowserHeaders,
}

/// The browser's own request headers a route forwards (`forward_browser_headers`). A
/// server-to-server call carries none of them: an upstream with its own CORS check refuses a
/// foreign `Origin`, and `Referer` tells a third party the app's URLs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrowserHeaders {
    /// `"origin"`: forward `Origin`.
    pub origin: bool,
    /// `"referer"`: forward `Referer`.
    pub referer: bool,
    /// `"sec-fetch"`: forward `Sec-Fetch-*` (other `Sec-*` headers never are).
    pub sec_fetch: bool,
}

impl BrowserHeaders {
    /// Reads `forward_browser_headers`; each unknown entry is a problem naming it.
    pub(crate) fn parse(names: &[String], label: &str, problems: &mut Vec<String>) -> Self {
        let mut rules = Self::default();
        for name in names {
            match name.to_ascii_lowercase().as_str() {
                "origin" => rules.origin = true,
                "referer" => rules.referer = true,
                "sec-fetch" => rules.sec_fetch = true,
                _ => problems.push(format!(
                    "{label} forward_browser_headers: {name:?} is not one of \"origin\", \"referer\", \"sec-fetch\""
                )),
            }
        }
        rules
    }
}

/// The browser's request headers as the upstream may see them (before the proxy adds its own).
pub fn clean_request(headers: &mut HeaderMap, rules: &RequestRules) {
    strip_hop_by_hop(headers);
    // The client sets Host (HTTP/1.1) or :authority (HTTP/2) from the upstream URL.
    headers.remove(header::HOST);
    // Forwarding headers from the client are spoofable; the proxy writes its own if asked.
    for name in [
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
    ] {
        headers.remove(name);
    }
    if !rules.forward_cookies {
        headers.remove(header::COOKIE);
        headers.remove("cookie2");
    }
    if !rules.forward_authorization {
        headers.remove(header::AUTHORIZATION);
    }
    for name in &rules.deny {
        headers.remove(name);
    }
    if let Some(allow) = &rules.allow {
        let names: Vec<HeaderName> = headers.keys().cloned().collect();
        for name in names {
            let opted_in = (name == header::COOKIE && rules.forward_cookies)
                || (name == header::AUTHORIZATION && rules.forward_authorization);
            if !opted_in && !allow.contains(&name) {
                headers.remove(&name);
            }
        }
    }
    // After the allow list, which cannot bring these back.
    if !rules.browser.origin {
        headers.remove(header::ORIGIN);
    }
    if !rules.browser.referer {
        headers.remove(header::REFERER);
    }
    let sec_fetch = rules.browser.sec_fetch;
    let browser_only: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            let name = name.as_str();
            name.starts_with("sec-") && !(sec_fetch && name.starts_with("sec-fetch-"))
        })
        .cloned()
        .collect();
    for name in browser_only {
        headers.remove(name);
    }
}

/// Appends this proxy to `Via` (RFC 9110 §7.6.3).
pub fn add_via(headers: &mut HeaderMap, version: http::Version) {
    let ours = match version {
        http::Version::HTTP_2 => "2 tower-cors-proxy",
        http::Version::HTTP_10 => "1.0 tower-cors-proxy",
        _ => "1.1 tower-cors-proxy",
    };
    let value = match headers.get(header::VIA).and_then(|v| v.to_str().ok()) {
        Some(prior) => match HeaderValue::from_str(&format!("{prior}, {ours}")) {
            Ok(value) => value,
            Err(_) => return,
        },
        None => HeaderValue::from_static(ours),
    };
    headers.insert(header::VIA, value);
}

/// What a route passes back from the upstream.
#[derive(Debug, Clone, Default)]
pub struct ResponseRules {
    /// `return_set_cookie`.
    pub return_set_cookie: bool,
    /// `deny_response_headers`.
    pub deny: Vec<HeaderName>,
    /// The `Content-Security-Policy` stamped on responses.
    pub csp: Option<HeaderValue>,
}

/// The upstream's response headers as the browser may see them (the CORS layer adds its own
/// `Access-Control-*` afterwards: the upstream's are removed, the policy's are the only ones).
pub fn clean_response(headers: &mut HeaderMap, rules: &ResponseRules, secrets: &[Vec<u8>]) {
    strip_hop_by_hop(headers);
    let cors: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for name in cors.iter().chain(ORIGIN_SCOPED_RESPONSE.iter()) {
        headers.remove(name);
    }
    if !rules.return_set_cookie {
        headers.remove(header::SET_COOKIE);
        headers.remove("set-cookie2");
    }
    for name in &rules.deny {
        headers.remove(name);
    }
    scrub_secrets(headers, secrets);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(csp) = &rules.csp {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
    }
}

/// Drops every response header whose value contains a secret the proxy injected (an upstream
/// that echoes its request, or redirects to a URL carrying the key, must not hand it over).
pub fn scrub_secrets(headers: &mut HeaderMap, secrets: &[Vec<u8>]) {
    if secrets.is_empty() {
        return;
    }
    let leaking: Vec<HeaderName> = headers
        .iter()
        .filter(|(_, value)| {
            secrets
                .iter()
                .any(|s| memchr::memmem::find(value.as_bytes(), s).is_some())
        })
        .map(|(name, _)| name.clone())
        .collect();
    for name in leaking {
        tracing::warn!(header = %name, "upstream response header carried a configured secret; removed");
        headers.remove(&name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("valid name"),
                HeaderValue::from_str(value).expect("valid value"),
            );
        }
        headers
    }

    #[test]
    fn request_hygiene_table() {
        // (request headers, rules, header that must survive?, name)
        let base = [
            ("connection", "keep-alive, X-Secret-Hop"),
            ("x-secret-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("upgrade", "h2c"),
            ("proxy-authorization", "Basic x"),
            ("host", "proxy.local"),
            ("cookie", "session=app"),
            ("authorization", "Bearer browser"),
            ("x-forwarded-for", "6.6.6.6"),
            ("accept", "application/json"),
            ("x-trace", "t"),
        ];
        let cases: &[(RequestRules, &[&str], &[&str])] = &[
            (
                RequestRules::default(),
                &["accept", "x-trace"],
                &[
                    "connection",
                    "x-secret-hop",
                    "keep-alive",
                    "te",
                    "upgrade",
                    "proxy-authorization",
                    "host",
                    "cookie",
                    "authorization",
                    "x-forwarded-for",
                ],
            ),
            (
                RequestRules {
                    forward_cookies: true,
                    forward_authorization: true,
                    ..RequestRules::default()
                },
                &["cookie", "authorization", "accept"],
                &["x-secret-hop", "host"],
            ),
            (
                RequestRules {
                    deny: vec![HeaderName::from_static("x-trace")],
                    ..RequestRules::default()
                },
                &["accept"],
                &["x-trace"],
            ),
            (
                RequestRules {
                    allow: Some(vec![HeaderName::from_static("x-trace")]),
                    forward_cookies: true,
                    ..RequestRules::default()
                },
                &["x-trace", "cookie"],
                &["accept", "authorization"],
            ),
        ];
        for (rules, kept, removed) in cases {
            let mut headers = map(&base);
            clean_request(&mut headers, rules);
            for name in *kept {
                assert!(headers.contains_key(*name), "{name} kept with {rules:?}");
            }
            for name in *removed {
                assert!(
                    !headers.contains_key(*name),
                    "{name} removed with {rules:?}"
                );
            }
        }
    }

    #[test]
    fn connection_cannot_remove_what_the_proxy_adds() {
        let mut headers = map(&[("connection", "via")]);
        clean_request(&mut headers, &RequestRules::default());
        add_via(&mut headers, http::Version::HTTP_11);
        assert_eq!(headers["via"], "1.1 tower-cors-proxy");
        let mut headers = map(&[("via", "1.0 edge")]);
        add_via(&mut headers, http::Version::HTTP_2);
        assert_eq!(headers["via"], "1.0 edge, 2 tower-cors-proxy");
    }

    #[test]
    fn response_hygiene() {
        let mut headers = map(&[
            ("access-control-allow-origin", "*"),
            ("access-control-allow-credentials", "true"),
            ("set-cookie", "a=b"),
            ("strict-transport-security", "max-age=1"),
            ("clear-site-data", "\"*\""),
            ("connection", "x-hop"),
            ("x-hop", "1"),
            ("location", "https://api/x?key=s3cr3t-value"),
            ("content-type", "text/html"),
        ]);
        let rules = ResponseRules {
            csp: Some(HeaderValue::from_static("sandbox")),
            ..ResponseRules::default()
        };
        clean_response(&mut headers, &rules, &[b"s3cr3t-value".to_vec()]);
        let names: Vec<&str> = headers.keys().map(|n| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "content-type",
                "x-content-type-options",
                "content-security-policy"
            ]
        );
        let mut headers = map(&[("set-cookie", "a=b")]);
        let rules = ResponseRules {
            return_set_cookie: true,
            ..ResponseRules::default()
        };
        clean_response(&mut headers, &rules, &[]);
        assert_eq!(headers["set-cookie"], "a=b");
        assert!(!headers.contains_key("content-security-policy"));
    }
}
