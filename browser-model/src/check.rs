//! The checks a browser runs on responses: the
//! [CORS check](https://fetch.spec.whatwg.org/#concept-cors-check), the
//! [preflight response check](https://fetch.spec.whatwg.org/#cors-preflight-fetch-0) in
//! Chromium's order, and the [exposure](https://fetch.spec.whatwg.org/#concept-filtered-response-cors)
//! of response headers to the script.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
};
use http::{HeaderMap, HeaderName, StatusCode};

use crate::safelist::{extract_list, is_safelisted_method, is_safelisted_response_header};
use crate::url::Url;
use crate::verdict::{BlockReason, Engine};

/// One named check and its failure, if any; `lenient` names the engines that let the failure
/// pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) check: &'static str,
    pub(crate) failure: Option<BlockReason>,
    pub(crate) lenient: Vec<Engine>,
}

impl Finding {
    fn new(check: &'static str, failure: Option<BlockReason>) -> Self {
        Finding {
            check,
            failure,
            lenient: Vec::new(),
        }
    }

    pub(crate) fn failed(check: &'static str, reason: BlockReason) -> Self {
        Finding::new(check, Some(reason))
    }

    pub(crate) fn passed(check: &'static str) -> Self {
        Finding::new(check, None)
    }
}

/// The values of every `name` line, joined with `, ` as the standard's *get* does.
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut lines = headers.get_all(name).iter().peekable();
    lines.peek()?;
    let values: Vec<String> = lines
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    Some(values.join(", "))
}

/// The CORS check of one response for a request from `origin` (serialized, possibly `null`):
/// the `Access-Control-Allow-Origin` finding, then (for credentials mode `include`) the
/// `Access-Control-Allow-Credentials` one. Both are reported even when the first fails.
pub(crate) fn cors_check(headers: &HeaderMap, origin: &str, include: bool) -> Vec<Finding> {
    let allow_origin = match joined(headers, &ACCESS_CONTROL_ALLOW_ORIGIN) {
        None => Some(BlockReason::MissingAllowOrigin),
        Some(value) if value == "*" => include.then_some(BlockReason::WildcardWithCredentials),
        Some(value) if value == origin => None,
        Some(value) if value.contains([' ', ',']) => Some(BlockReason::MultipleAllowOrigin(value)),
        Some(value) if value != "null" && Url::parse(&value).is_err() => {
            Some(BlockReason::InvalidAllowOrigin(value))
        }
        Some(value) => Some(BlockReason::AllowOriginMismatch(value)),
    };
    let mut findings = vec![Finding::new("allow-origin", allow_origin)];
    if include {
        let value = joined(headers, &ACCESS_CONTROL_ALLOW_CREDENTIALS).unwrap_or_default();
        let failure = (value != "true").then_some(BlockReason::InvalidAllowCredentials(value));
        findings.push(Finding::new("allow-credentials", failure));
    }
    findings
}

/// A redirect status: 301, 302, 303, 307 or 308.
pub(crate) fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// The checks of a preflight response, in Chromium's order: no redirect (alone, as a browser
/// stops there), the CORS check, an ok status, the syntax of `Access-Control-Allow-Methods` and
/// `-Headers`, the method, then each request header. `unsafe_names` are lower-case.
pub(crate) fn check_preflight(
    status: StatusCode,
    headers: &HeaderMap,
    origin: &str,
    include: bool,
    method: &str,
    unsafe_names: &[HeaderName],
) -> Vec<Finding> {
    if is_redirect(status) {
        return vec![Finding::new(
            "redirect",
            Some(BlockReason::PreflightRedirect),
        )];
    }
    let mut findings = cors_check(headers, origin, include);
    let ok_status = (200..=299).contains(&status.as_u16());
    findings.push(Finding::new(
        "status",
        (!ok_status).then_some(BlockReason::PreflightStatus(status)),
    ));
    let methods = extract_list(headers, &ACCESS_CONTROL_ALLOW_METHODS);
    let names = extract_list(headers, &ACCESS_CONTROL_ALLOW_HEADERS);
    findings.push(Finding::new(
        "allow-methods-syntax",
        methods
            .as_ref()
            .err()
            .cloned()
            .map(BlockReason::InvalidAllowMethods),
    ));
    findings.push(Finding::new(
        "allow-headers-syntax",
        names
            .as_ref()
            .err()
            .cloned()
            .map(BlockReason::InvalidAllowHeaders),
    ));
    let methods = methods.ok().flatten().unwrap_or_default();
    let names = names.ok().flatten().unwrap_or_default();
    let wildcard = |list: &[String]| !include && list.iter().any(|item| item == "*");

    let method_ok =
        methods.iter().any(|m| m == method) || is_safelisted_method(method) || wildcard(&methods);
    findings.push(Finding::new(
        "method",
        (!method_ok).then(|| BlockReason::MethodNotAllowed(method.to_owned())),
    ));

    let listed = |name: &str| names.iter().any(|n| n.eq_ignore_ascii_case(name));
    let mut header_findings = Vec::new();
    for name in unsafe_names {
        let name = name.as_str();
        if listed(name) {
            continue;
        }
        let mut finding = Finding::new(
            "headers",
            Some(BlockReason::HeaderNotAllowed(name.to_owned())),
        );
        if name == "authorization" {
            // The standard never lets `*` cover it; all three engines still do, with a warning.
            if wildcard(&names) {
                finding.lenient = Engine::ALL.to_vec();
            }
        } else if wildcard(&names) {
            continue;
        }
        header_findings.push(finding);
    }
    if header_findings.is_empty() {
        header_findings.push(Finding::new("headers", None));
    }
    findings.extend(header_findings);
    findings
}

/// `Access-Control-Max-Age` when it is a non-negative number; `None` means the 5 s default.
pub(crate) fn max_age(headers: &HeaderMap) -> Option<u64> {
    let value = headers.get(ACCESS_CONTROL_MAX_AGE)?.to_str().ok()?.trim();
    if let Some(negative) = value.strip_prefix('-') {
        return negative.bytes().all(|b| b.is_ascii_digit()).then_some(0);
    }
    value.parse().ok()
}

/// Where `engine` puts a preflight check in its order (lower first). Chromium follows the
/// order of [`check_preflight`]; Firefox checks the method before parsing
/// `Access-Control-Allow-Headers`; Safari checks the status before the origin.
pub(crate) fn rank(engine: Option<Engine>, check: &str) -> u8 {
    let order: &[&str] = match engine {
        None | Some(Engine::Chromium) => &[
            "redirect",
            "allow-origin",
            "allow-credentials",
            "status",
            "allow-methods-syntax",
            "allow-headers-syntax",
            "method",
            "headers",
        ],
        Some(Engine::Firefox) => &[
            "redirect",
            "allow-origin",
            "allow-credentials",
            "status",
            "allow-methods-syntax",
            "method",
            "allow-headers-syntax",
            "headers",
        ],
        Some(Engine::Safari) => &[
            "redirect",
            "status",
            "allow-origin",
            "allow-credentials",
            "allow-methods-syntax",
            "method",
            "allow-headers-syntax",
            "headers",
        ],
    };
    order
        .iter()
        .position(|c| *c == check)
        .map_or(u8::MAX, |p| p as u8)
}

/// The first failure `engine` (or the standard, for `None`) reports among `findings`.
pub(crate) fn first_failure(findings: &[Finding], engine: Option<Engine>) -> Option<BlockReason> {
    let mut failing: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.failure.is_some())
        .filter(|f| engine.map_or(true, |e| !f.lenient.contains(&e)))
        .collect();
    failing.sort_by_key(|f| rank(engine, f.check));
    failing.first().and_then(|f| f.failure.clone())
}

/// The headers a script can read: for a CORS response, the safelisted response headers plus
/// `Access-Control-Expose-Headers` (`*` only without credentials); for a same-origin one,
/// everything. `Set-Cookie` never.
pub(crate) fn readable_headers(headers: &HeaderMap, cors: bool, include: bool) -> HeaderMap {
    let exposed = extract_list(headers, &ACCESS_CONTROL_EXPOSE_HEADERS)
        .ok()
        .flatten()
        .unwrap_or_default();
    let any = !include && exposed.iter().any(|e| e == "*");
    let mut readable = HeaderMap::new();
    for (name, value) in headers {
        let n = name.as_str();
        if n == "set-cookie" || n == "set-cookie2" {
            continue;
        }
        let visible = !cors
            || any
            || is_safelisted_response_header(n)
            || exposed.iter().any(|e| e.eq_ignore_ascii_case(n));
        if visible {
            readable.append(name.clone(), value.clone());
        }
    }
    readable
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "https://app.example";

    /// Response header lines of a table row.
    type Lines = Vec<(&'static str, &'static str)>;

    fn headers(lines: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in lines {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
        map
    }

    fn failures(findings: &[Finding]) -> Vec<Option<BlockReason>> {
        findings.iter().map(|f| f.failure.clone()).collect()
    }

    #[test]
    fn cors_check_table() {
        use BlockReason::*;
        let s = String::from;
        let cases: Vec<(Lines, bool, Vec<Option<BlockReason>>)> = vec![
            (vec![], false, vec![Some(MissingAllowOrigin)]),
            (
                vec![("access-control-allow-origin", "*")],
                false,
                vec![None],
            ),
            (
                vec![("access-control-allow-origin", ORIGIN)],
                false,
                vec![None],
            ),
            (
                vec![
                    ("access-control-allow-origin", "*"),
                    ("access-control-allow-credentials", "true"),
                ],
                true,
                vec![Some(WildcardWithCredentials), None],
            ),
            (
                vec![("access-control-allow-origin", "https://app.example/")],
                false,
                vec![Some(AllowOriginMismatch(s("https://app.example/")))],
            ),
            (
                vec![("access-control-allow-origin", "HTTPS://APP.EXAMPLE")],
                false,
                vec![Some(AllowOriginMismatch(s("HTTPS://APP.EXAMPLE")))],
            ),
            (
                vec![("access-control-allow-origin", "null")],
                false,
                vec![Some(AllowOriginMismatch(s("null")))],
            ),
            (
                vec![("access-control-allow-origin", "app.example")],
                false,
                vec![Some(InvalidAllowOrigin(s("app.example")))],
            ),
            (
                vec![
                    ("access-control-allow-origin", ORIGIN),
                    ("access-control-allow-origin", ORIGIN),
                ],
                false,
                vec![Some(MultipleAllowOrigin(format!("{ORIGIN}, {ORIGIN}")))],
            ),
            (
                vec![("access-control-allow-origin", "*, https://app.example")],
                false,
                vec![Some(MultipleAllowOrigin(s("*, https://app.example")))],
            ),
            (
                vec![
                    ("access-control-allow-origin", ORIGIN),
                    ("access-control-allow-credentials", "true"),
                ],
                true,
                vec![None, None],
            ),
            (
                vec![
                    ("access-control-allow-origin", ORIGIN),
                    ("access-control-allow-credentials", "True"),
                ],
                true,
                vec![None, Some(InvalidAllowCredentials(s("True")))],
            ),
            (
                vec![("access-control-allow-origin", ORIGIN)],
                true,
                vec![None, Some(InvalidAllowCredentials(s("")))],
            ),
            (
                vec![("access-control-allow-origin", "https://other.example")],
                true,
                vec![
                    Some(AllowOriginMismatch(s("https://other.example"))),
                    Some(InvalidAllowCredentials(s(""))),
                ],
            ),
        ];
        for (lines, include, expected) in cases {
            let got = failures(&cors_check(&headers(&lines), ORIGIN, include));
            assert_eq!(got, expected, "{lines:?} include={include}");
        }
        // A tainted request sends `Origin: null`, which `null` (or `*`) then matches.
        let null = headers(&[("access-control-allow-origin", "null")]);
        assert_eq!(failures(&cors_check(&null, "null", false)), vec![None]);
    }

    fn first(
        lines: &[(&str, &str)],
        status: u16,
        include: bool,
        method: &str,
        names: &[&str],
    ) -> Option<BlockReason> {
        let names: Vec<HeaderName> = names
            .iter()
            .map(|n| HeaderName::from_bytes(n.as_bytes()).expect("n"))
            .collect();
        let status = StatusCode::from_u16(status).expect("status");
        first_failure(
            &check_preflight(status, &headers(lines), ORIGIN, include, method, &names),
            None,
        )
    }

    #[test]
    fn preflight_table_in_chromium_order() {
        use BlockReason::*;
        let s = String::from;
        let acao = ("access-control-allow-origin", ORIGIN);
        let acac = ("access-control-allow-credentials", "true");
        let put = ("access-control-allow-methods", "PUT");
        // (answer, status, credentials, method, unsafe names, first failure)
        type Row = (
            Lines,
            u16,
            bool,
            &'static str,
            Vec<&'static str>,
            Option<BlockReason>,
        );
        let cases: Vec<Row> = vec![
            (vec![acao, put], 204, false, "PUT", vec![], None),
            (vec![], 404, false, "PUT", vec![], Some(MissingAllowOrigin)),
            (
                vec![acao, put],
                500,
                false,
                "PUT",
                vec![],
                Some(PreflightStatus(StatusCode::INTERNAL_SERVER_ERROR)),
            ),
            (
                vec![acao, put],
                302,
                false,
                "PUT",
                vec![],
                Some(PreflightRedirect),
            ),
            (
                vec![acao],
                204,
                false,
                "PUT",
                vec![],
                Some(MethodNotAllowed(s("PUT"))),
            ),
            (
                vec![acao, ("access-control-allow-methods", "PUT;DELETE")],
                204,
                false,
                "PUT",
                vec![],
                Some(InvalidAllowMethods(s("PUT;DELETE"))),
            ),
            (
                vec![acao, ("access-control-allow-methods", "PATCH")],
                204,
                false,
                "patch",
                vec![],
                Some(MethodNotAllowed(s("patch"))),
            ),
            (
                vec![acao, ("access-control-allow-methods", "*")],
                204,
                false,
                "PATCH",
                vec![],
                None,
            ),
            (
                vec![acao, acac, ("access-control-allow-methods", "*")],
                204,
                true,
                "PUT",
                vec![],
                Some(MethodNotAllowed(s("PUT"))),
            ),
            // A safelisted method needs no listing; it is preflighted for its headers.
            (
                vec![acao, ("access-control-allow-headers", "x-api-key")],
                204,
                false,
                "POST",
                vec!["x-api-key"],
                None,
            ),
            (
                vec![acao, ("access-control-allow-headers", "X-Api-Key")],
                204,
                false,
                "GET",
                vec!["x-api-key"],
                None,
            ),
            (
                vec![acao, put, ("access-control-allow-headers", "x-other")],
                204,
                false,
                "PUT",
                vec!["x-api-key"],
                Some(HeaderNotAllowed(s("x-api-key"))),
            ),
            (
                vec![acao, ("access-control-allow-headers", "*")],
                204,
                false,
                "GET",
                vec!["x-api-key"],
                None,
            ),
            (
                vec![acao, acac, ("access-control-allow-headers", "*")],
                204,
                true,
                "GET",
                vec!["x-api-key"],
                Some(HeaderNotAllowed(s("x-api-key"))),
            ),
            (
                vec![acao, ("access-control-allow-headers", "*")],
                204,
                false,
                "GET",
                vec!["authorization"],
                Some(HeaderNotAllowed(s("authorization"))),
            ),
            (
                vec![acao, ("access-control-allow-headers", "*, authorization")],
                204,
                false,
                "GET",
                vec!["authorization"],
                None,
            ),
            (
                vec![acao, ("access-control-allow-headers", "a b")],
                204,
                false,
                "GET",
                vec![],
                Some(InvalidAllowHeaders(s("a b"))),
            ),
            // Chromium parses both lists before it compares the method.
            (
                vec![acao, ("access-control-allow-headers", "a b")],
                204,
                false,
                "PUT",
                vec![],
                Some(InvalidAllowHeaders(s("a b"))),
            ),
            // The origin comes before the status: a 401 without CORS headers is "no ACAO".
            (vec![], 401, false, "PUT", vec![], Some(MissingAllowOrigin)),
        ];
        for (lines, status, include, method, names, expected) in cases {
            assert_eq!(
                first(&lines, status, include, method, &names),
                expected,
                "{lines:?} {status} {method} {names:?}"
            );
        }
    }

    #[test]
    fn engines_order_and_leniency() {
        let f = check_preflight(
            StatusCode::NOT_FOUND,
            &HeaderMap::new(),
            ORIGIN,
            false,
            "PUT",
            &[],
        );
        assert_eq!(
            first_failure(&f, Some(Engine::Chromium)),
            Some(BlockReason::MissingAllowOrigin)
        );
        assert_eq!(
            first_failure(&f, Some(Engine::Firefox)),
            Some(BlockReason::MissingAllowOrigin)
        );
        assert_eq!(
            first_failure(&f, Some(Engine::Safari)),
            Some(BlockReason::PreflightStatus(StatusCode::NOT_FOUND))
        );

        let wildcard = headers(&[
            ("access-control-allow-origin", "*"),
            ("access-control-allow-headers", "*"),
        ]);
        let auth = [http::header::AUTHORIZATION];
        let f = check_preflight(
            StatusCode::NO_CONTENT,
            &wildcard,
            ORIGIN,
            false,
            "GET",
            &auth,
        );
        assert!(first_failure(&f, None).is_some());
        for engine in Engine::ALL {
            assert_eq!(first_failure(&f, Some(engine)), None, "{engine:?}");
        }

        let f = check_preflight(
            StatusCode::NO_CONTENT,
            &headers(&[
                ("access-control-allow-origin", ORIGIN),
                ("access-control-allow-headers", "a b"),
            ]),
            ORIGIN,
            false,
            "PUT",
            &[],
        );
        assert_eq!(
            first_failure(&f, Some(Engine::Firefox)),
            Some(BlockReason::MethodNotAllowed("PUT".into()))
        );
    }

    #[test]
    fn max_age_values() {
        let cases = [
            (None, None),
            (Some("600"), Some(600)),
            (Some("-1"), Some(0)),
            (Some("ten"), None),
            (Some("1.5"), None),
        ];
        for (value, expected) in cases {
            let map = value.map_or_else(HeaderMap::new, |v| {
                headers(&[("access-control-max-age", v)])
            });
            assert_eq!(max_age(&map), expected, "{value:?}");
        }
    }

    #[test]
    fn exposure() {
        let response = headers(&[
            ("content-type", "text/plain"),
            ("content-length", "5"),
            ("x-request-id", "1"),
            ("x-secret", "s"),
            ("set-cookie", "a=b"),
            ("access-control-expose-headers", "X-Request-Id"),
        ]);
        let names = |map: HeaderMap| {
            let mut n: Vec<String> = map.keys().map(|k| k.to_string()).collect();
            n.sort();
            n
        };
        assert_eq!(
            names(readable_headers(&response, true, false)),
            ["content-length", "content-type", "x-request-id"]
        );
        let any = headers(&[
            ("x-secret", "s"),
            ("set-cookie", "a=b"),
            ("access-control-expose-headers", "*"),
        ]);
        assert_eq!(
            names(readable_headers(&any, true, false)),
            ["access-control-expose-headers", "x-secret"]
        );
        assert_eq!(
            names(readable_headers(&any, true, true)),
            Vec::<String>::new()
        );
        assert_eq!(names(readable_headers(&response, false, false)).len(), 5);
    }
}
