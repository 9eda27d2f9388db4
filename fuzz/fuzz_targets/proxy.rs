//! The CORS proxy's pure decisions: header hygiene both ways, response framing, `Via`, URL-mode
//! target parsing against the allow list, and the origin guard.
//!
//! Invariants:
//! - after `clean_request`: no hop-by-hop field, nothing named in `Connection`, no `Host` nor
//!   client-sent forwarding field; `Cookie`, `Authorization`, `Origin`, `Referer` and `Sec-*`
//!   only where the route's rules let them through, nothing on the deny list, and with an allow
//!   list nothing else; with the default rules none of those browser fields at all;
//! - after `framing` and `clean_response` (the route's order): no hop-by-hop field (so no
//!   `Transfer-Encoding`), at most one `Content-Length`, none when the upstream sent a
//!   `Transfer-Encoding`, and the one kept is the upstream's first, digits only and equal to
//!   the body's exact size unless the answer has no body (HEAD, 304); no `Access-Control-*`,
//!   origin-scoped field, `Set-Cookie` (unless returned), denied field, nor any value carrying
//!   a configured secret; `X-Content-Type-Options: nosniff` always;
//! - `add_via`: one `Via` line, the upstream's first line (when readable) followed by this
//!   proxy for the message's version;
//! - an allow-list entry that parses re-parses from its `Display` to itself; a URL-mode target
//!   that is accepted is http or https, has a host and no userinfo, and matches an entry;
//! - the origin guard never panics, asks the policy at most once and only about a request with
//!   `Origin`, follows the policy's answer when it asks, forwards a request with
//!   `Sec-Fetch-Site: same-origin`, a public origin or an `Origin` equal to the request's own
//!   origin without asking, and decides a request without `Origin` exactly as its rules 3 to 6
//!   say.
//!
//! Input: lines (see the crate docs), each `key:value` or a bare key:
//! - headers: `q:NAME:VALUE` a request line, `r:NAME:VALUE` a response line;
//! - request rules: `fc` (forward_cookies), `fa` (forward_authorization), `ok:NAME`
//!   (allow_request_headers), `no:NAME` (deny_request_headers), `fwd:origin|referer|sec-fetch`;
//! - response: `status:N`, `method:M` (the request's), `size:N` (the body's exact size, else
//!   unknown), `rsc` (return_set_cookie), `rno:NAME`, `csp:VALUE`, `secret:VALUE`, `v:0|1|2`
//!   (the upstream's HTTP version, for `Via`);
//! - URL mode: `up:ENTRY` (allow_upstreams), `path:PATH`, `query:QUERY`;
//! - origin guard: `scheme:https` (else http), `host:HOST`, `public:ORIGIN`, `nav`
//!   (allow_navigation), `need` (require_origin), `deny` (the policy refuses).
#![no_main]

use std::cell::Cell;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Version};
use http_body::SizeHint;
use libfuzzer_sys::fuzz_target;
use tower_cors_fuzz::{header_bytes, key_value, lines};
use tower_cors_proxy::fuzzing::{
    add_via, clean_request, clean_response, framing, fuzz_target_url, RequestRules, ResponseRules,
};
use tower_cors_proxy::origin_guard::{decide, GuardRequest, GuardSettings, Refusal, Verdict};
use tower_cors_proxy::target::AllowEntry;

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
];

const ORIGIN_SCOPED: [&str; 4] = [
    "strict-transport-security",
    "alt-svc",
    "clear-site-data",
    "public-key-pins",
];

#[derive(Default)]
struct Input {
    request: HeaderMap,
    response: HeaderMap,
    request_rules: RequestRules,
    response_rules: ResponseRules,
    secrets: Vec<Vec<u8>>,
    status: Option<StatusCode>,
    method: Option<Method>,
    size: Option<u64>,
    version: Option<Version>,
    upstreams: Vec<String>,
    path: String,
    query: Option<String>,
    https: bool,
    host: Option<Vec<u8>>,
    public: Vec<String>,
    settings: GuardSettings,
    policy_refuses: bool,
}

fn name(bytes: &[u8]) -> Option<HeaderName> {
    HeaderName::from_bytes(bytes).ok()
}

/// `NAME:VALUE` as a header line, when both are valid.
fn field(line: &[u8]) -> Option<(HeaderName, HeaderValue)> {
    let (n, v) = key_value(line);
    Some((name(n)?, HeaderValue::from_bytes(&header_bytes(v)).ok()?))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn parse(data: &[u8]) -> Input {
    let mut input = Input {
        path: "/".to_owned(),
        ..Input::default()
    };
    for line in lines(data) {
        let (key, value) = key_value(line);
        match key {
            b"q" => {
                if let Some((n, v)) = field(value) {
                    input.request.append(n, v);
                }
            }
            b"r" => {
                if let Some((n, v)) = field(value) {
                    input.response.append(n, v);
                }
            }
            b"fc" => input.request_rules.forward_cookies = true,
            b"fa" => input.request_rules.forward_authorization = true,
            b"ok" => {
                let allow = input.request_rules.allow.get_or_insert_with(Vec::new);
                allow.extend(name(value));
            }
            b"no" => input.request_rules.deny.extend(name(value)),
            b"fwd" => match value {
                b"origin" => input.request_rules.browser.origin = true,
                b"referer" => input.request_rules.browser.referer = true,
                _ => input.request_rules.browser.sec_fetch = true,
            },
            b"status" => {
                input.status = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse::<u16>().ok())
                    .and_then(|n| StatusCode::from_u16(n).ok());
            }
            b"method" => input.method = Method::from_bytes(value).ok(),
            b"size" => {
                input.size = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
            }
            b"rsc" => input.response_rules.return_set_cookie = true,
            b"rno" => input.response_rules.deny.extend(name(value)),
            b"csp" => input.response_rules.csp = HeaderValue::from_bytes(value).ok(),
            b"secret" => input.secrets.push(value.to_vec()),
            b"v" => {
                input.version = Some(match value {
                    b"0" => Version::HTTP_10,
                    b"2" => Version::HTTP_2,
                    _ => Version::HTTP_11,
                })
            }
            b"up" => input.upstreams.push(text(value)),
            b"path" => input.path = text(value),
            b"query" => input.query = Some(text(value)),
            b"scheme" => input.https = value == b"https",
            b"host" => input.host = Some(value.to_vec()),
            b"public" => input.public.push(text(value)),
            b"nav" => input.settings.allow_navigation = true,
            b"need" => input.settings.require_origin = true,
            b"deny" => input.policy_refuses = true,
            _ => {}
        }
    }
    input
}

/// The fields named in `Connection`, as `strip_hop_by_hop` reads them.
fn connection_names(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| name(t.trim().as_bytes()))
        .collect()
}

fn check_request(original: &HeaderMap, rules: &RequestRules) {
    let mut headers = original.clone();
    clean_request(&mut headers, rules);
    let named = connection_names(original);
    for (n, _) in &headers {
        let s = n.as_str();
        assert!(!HOP_BY_HOP.contains(&s), "hop-by-hop {s} forwarded");
        assert!(!named.contains(n), "{s}, named in Connection, forwarded");
        assert!(
            ![
                "host",
                "forwarded",
                "x-forwarded-for",
                "x-forwarded-proto",
                "x-forwarded-host"
            ]
            .contains(&s),
            "{s} forwarded"
        );
        assert!(!rules.deny.contains(n), "denied {s} forwarded");
        let cookie = s == "cookie" || s == "cookie2";
        assert!(!cookie || rules.forward_cookies, "{s} forwarded");
        assert!(
            s != "authorization" || rules.forward_authorization,
            "authorization forwarded"
        );
        assert!(s != "origin" || rules.browser.origin, "origin forwarded");
        assert!(s != "referer" || rules.browser.referer, "referer forwarded");
        assert!(
            !s.starts_with("sec-") || (rules.browser.sec_fetch && s.starts_with("sec-fetch-")),
            "{s} forwarded"
        );
        if let Some(allow) = &rules.allow {
            let opted_in = (s == "cookie" && rules.forward_cookies)
                || (s == "authorization" && rules.forward_authorization);
            assert!(
                opted_in || allow.contains(n),
                "{s} is not on the allow list"
            );
        }
        // What is forwarded is what the browser sent, never rewritten.
        let sent: Vec<_> = original.get_all(n).iter().collect();
        let kept: Vec<_> = headers.get_all(n).iter().collect();
        assert_eq!(sent, kept, "{s} changed");
    }
}

fn check_response(input: &Input, original: &HeaderMap) {
    let status = input.status.unwrap_or(StatusCode::OK);
    let method = input.method.clone().unwrap_or(Method::GET);
    let hint = input
        .size
        .map_or_else(SizeHint::default, SizeHint::with_exact);
    let rules = &input.response_rules;
    let mut headers = original.clone();
    framing(&mut headers, status, &method, &hint);
    clean_response(&mut headers, rules, &input.secrets);

    let named = connection_names(original);
    // The proxy's own fields, set after everything was removed.
    let ours = |n: &HeaderName| {
        *n == header::X_CONTENT_TYPE_OPTIONS
            || (*n == header::CONTENT_SECURITY_POLICY && rules.csp.is_some())
    };
    for (n, value) in &headers {
        let s = n.as_str();
        assert!(!HOP_BY_HOP.contains(&s), "hop-by-hop {s} passed back");
        assert!(ours(n) || !named.contains(n), "{s}, named in Connection");
        assert!(!s.starts_with("access-control-"), "{s} passed back");
        assert!(!ORIGIN_SCOPED.contains(&s), "{s} passed back");
        let cookie = s == "set-cookie" || s == "set-cookie2";
        assert!(!cookie || rules.return_set_cookie, "{s} passed back");
        assert!(ours(n) || !rules.deny.contains(n), "denied {s} passed back");
        if !ours(n) {
            for secret in input.secrets.iter().filter(|s| !s.is_empty()) {
                assert!(
                    !value.as_bytes().windows(secret.len()).any(|w| w == secret),
                    "{s} carries a secret"
                );
            }
        }
    }
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    let lengths: Vec<_> = headers.get_all(header::CONTENT_LENGTH).iter().collect();
    assert!(lengths.len() <= 1, "{lengths:?}");
    if let Some(kept) = lengths.first() {
        assert!(
            !original.contains_key(header::TRANSFER_ENCODING),
            "Content-Length beside a removed Transfer-Encoding"
        );
        let sent: Vec<_> = original.get_all(header::CONTENT_LENGTH).iter().collect();
        assert_eq!(
            sent,
            [*kept],
            "only a single upstream Content-Length is kept"
        );
        let no_body = method == Method::HEAD || status == StatusCode::NOT_MODIFIED;
        if !no_body {
            let digits = kept.as_bytes();
            assert!(!digits.is_empty() && digits.iter().all(u8::is_ascii_digit));
            let n = std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse().ok());
            assert_eq!(n, input.size, "Content-Length disagrees with the body");
        }
    }
}

fn check_via(original: &HeaderMap, version: Version) {
    let mut headers = original.clone();
    add_via(&mut headers, version);
    let ours = match version {
        Version::HTTP_2 => "2 tower-cors-proxy",
        Version::HTTP_10 => "1.0 tower-cors-proxy",
        _ => "1.1 tower-cors-proxy",
    };
    let vias: Vec<_> = headers.get_all(header::VIA).iter().collect();
    let expected = match original.get(header::VIA).and_then(|v| v.to_str().ok()) {
        Some(prior) => format!("{prior}, {ours}"),
        None => ours.to_owned(),
    };
    assert_eq!(vias, [expected.as_str()]);
}

fn check_target(input: &Input) {
    let mut entries = Vec::new();
    for text in &input.upstreams {
        if let Ok(entry) = text.parse::<AllowEntry>() {
            let shown = entry.to_string();
            assert_eq!(
                shown.parse::<AllowEntry>().as_ref(),
                Ok(&entry),
                "{text:?} → {shown:?}"
            );
            entries.push(entry);
        }
    }
    if let Ok(url) = fuzz_target_url(&input.path, input.query.as_deref(), &entries) {
        assert!(matches!(url.scheme(), "http" | "https"), "{url}");
        assert!(url.host().is_some(), "{url}");
        assert!(
            url.username().is_empty() && url.password().is_none(),
            "{url}"
        );
        assert!(entries.iter().any(|e| e.matches(&url)), "{url} on no entry");
    }
}

fn check_guard(input: &Input) {
    let scheme = if input.https { "https" } else { "http" };
    let request = GuardRequest {
        headers: &input.request,
        scheme,
        host: input.host.as_deref(),
        public_origins: &input.public,
    };
    let asked = Cell::new(0);
    let verdict = decide(&request, &input.settings, || {
        asked.set(asked.get() + 1);
        if input.policy_refuses {
            Err("refused by the policy".to_owned())
        } else {
            Ok(())
        }
    });
    let origin = input.request.get(header::ORIGIN);
    let sites: Vec<_> = input.request.get_all("sec-fetch-site").iter().collect();
    let site = match sites.as_slice() {
        [] => None,
        [one] => Some(one.as_bytes()),
        _ => Some(&b"several"[..]),
    };
    assert!(asked.get() <= 1);
    let Some(origin) = origin else {
        assert_eq!(asked.get(), 0, "the policy asked without an Origin");
        let expected = match site {
            Some(b"same-origin") => Verdict::Forward,
            Some(b"cross-site" | b"same-site") => Verdict::Refuse(Refusal::OtherSite),
            Some(b"none") if input.settings.allow_navigation => Verdict::Forward,
            Some(b"none") => Verdict::Refuse(Refusal::Navigation),
            Some(_) => Verdict::Refuse(Refusal::BadFetchMetadata),
            None if input.settings.require_origin => Verdict::Refuse(Refusal::NoOrigin),
            None => Verdict::Forward,
        };
        assert_eq!(verdict, expected);
        return;
    };
    // `scheme://host` byte for byte; a host that is only the default port names no origin.
    let default_port: &[u8] = if input.https { b":443" } else { b":80" };
    let own = input
        .host
        .as_deref()
        .filter(|h| !h.is_empty() && *h != default_port)
        .is_some_and(|h| origin.as_bytes() == [scheme.as_bytes(), b"://", h].concat());
    let public = input
        .public
        .iter()
        .any(|p| p.as_bytes() == origin.as_bytes());
    if site == Some(b"same-origin") || own || public {
        assert_eq!(verdict, Verdict::Forward);
        assert_eq!(asked.get(), 0, "a same-origin request sent to the policy");
    }
    if asked.get() == 1 {
        let expected = if input.policy_refuses {
            Verdict::Refuse(Refusal::Policy("refused by the policy".to_owned()))
        } else {
            Verdict::Forward
        };
        assert_eq!(verdict, expected, "the policy's answer not followed");
    } else {
        assert_eq!(
            verdict,
            Verdict::Forward,
            "refused without asking the policy"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let input = parse(data);
    check_request(&input.request, &input.request_rules);
    // The default rules forward no Cookie, Authorization, Origin, Referer nor Sec-*.
    check_request(&input.request, &RequestRules::default());
    check_response(&input, &input.response);
    check_via(&input.response, input.version.unwrap_or(Version::HTTP_11));
    check_target(&input);
    check_guard(&input);
});
