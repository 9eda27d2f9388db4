//! Configuration: `build()` refuses every invalid value of the behaviour contract (§6), names
//! each one exactly as it was passed, and reports all problems at once.

use std::time::Duration;

use http::StatusCode;
use tower_cors::{CorsBuilder, CorsLayer, ListKind, Problem};

fn origins(values: &[&str]) -> CorsBuilder {
    CorsLayer::builder().allow_origins(values)
}

fn with_app() -> CorsBuilder {
    CorsLayer::builder().allow_origins(["https://app.example.com"])
}

/// (rule, builder, text every error message must contain)
fn invalid() -> Vec<(&'static str, CorsBuilder, &'static str)> {
    let mut rows: Vec<(&'static str, CorsBuilder, &'static str)> = vec![
        (
            "no origin source",
            CorsLayer::builder(),
            "no origin is allowed",
        ),
        (
            "any origin with credentials",
            CorsLayer::builder()
                .allow_any_origin()
                .allow_credentials(true),
            "any origin",
        ),
        (
            "`*` in the list with credentials",
            origins(&["*"]).allow_credentials(true),
            "any origin",
        ),
        (
            "exposed * with credentials",
            with_app().expose_any_header().allow_credentials(true),
            "exposing any header",
        ),
        (
            "`*` in exposed list with credentials",
            with_app().expose_headers(["*"]).allow_credentials(true),
            "exposing any header",
        ),
        (
            "max-age over 86400 s",
            with_app().max_age(Duration::from_secs(86_401)),
            "86401",
        ),
        (
            "preflight status 404",
            with_app().preflight_status(StatusCode::NOT_FOUND),
            "404",
        ),
        (
            "preflight status 301",
            with_app().preflight_status(StatusCode::MOVED_PERMANENTLY),
            "301",
        ),
        (
            "preflight status 100",
            with_app().preflight_status(StatusCode::CONTINUE),
            "100",
        ),
    ];
    for origin in [
        "https://example.com/",
        "https://example.com/path",
        "https://example.com?q=1",
        "https://example.com#frag",
        "https://user:pw@example.com",
        " https://example.com",
        "https://example.com ",
        "example.com",
        "HTTPS://example.com",
        "https://Example.com",
        "http://x:",
        "http://x:0",
        "http://x:65536",
        "http://x:08080",
        "http://x:80a",
        "http://x:80",
        "https://x:443",
        "https://bücher.example",
        "null",
        "file://",
        "file:///home/me/index.html",
    ] {
        rows.push((
            "malformed origin",
            origins(&[origin]),
            leak(format!("{origin:?}")),
        ));
    }
    for pattern in [
        "https://*example.com",
        "https://a.*.example.com",
        "https://**.example.com",
        "https://*.127.0.0.1",
    ] {
        rows.push((
            "malformed pattern",
            origins(&[pattern]),
            leak(format!("{pattern:?}")),
        ));
    }
    for insecure in [
        "http://app.example.com",
        "http://*.example.com",
        "http://10.0.0.1:8080",
    ] {
        rows.push((
            "credentials with a plain-http non-loopback origin",
            origins(&[insecure]).allow_credentials(true),
            leak(format!("{insecure:?}")),
        ));
    }
    for wildcard in ["https://*.com", "https://*.co.uk", "https://*.github.io"] {
        rows.push((
            "credentials with a public-suffix wildcard",
            origins(&[wildcard]).allow_credentials(true),
            leak(format!("{wildcard:?}")),
        ));
    }
    for method in [
        "GET POST", "", "PUT,", "CONNECT", "connect", "TRACE", "Track",
    ] {
        rows.push((
            "bad or forbidden method",
            with_app().allow_methods([method]),
            leak(format!("{method:?}")),
        ));
    }
    for header in [
        "content type",
        "",
        "x-a:b",
        "Accept-Charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "Origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
        "proxy-authorization",
        "Proxy-Anything",
        "sec-fetch-mode",
        "Sec-CH-UA",
    ] {
        rows.push((
            "bad or forbidden allowed header",
            with_app().allow_headers([header]),
            leak(format!("{header:?}")),
        ));
    }
    for header in ["set-cookie", "Set-Cookie2", "bad header"] {
        rows.push((
            "bad or forbidden exposed header",
            with_app().expose_headers([header]),
            leak(format!("{header:?}")),
        ));
    }
    rows
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[test]
fn every_invalid_configuration_is_refused_and_named() {
    let mut failures = Vec::new();
    for (rule, builder, needle) in invalid() {
        match builder.build() {
            Ok(_) => failures.push(format!("{rule}: {needle} was accepted")),
            Err(err) => {
                let text = err.to_string();
                if !text.contains(needle) {
                    failures.push(format!("{rule}: message does not name {needle}: {text}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_configurations_build() {
    let valid: Vec<(&str, CorsBuilder)> = vec![
        (
            "credentials with loopback http",
            origins(&[
                "http://localhost:3000",
                "http://127.0.0.1:8080",
                "http://[::1]:9090",
                "http://app.localhost",
            ])
            .allow_credentials(true),
        ),
        (
            "credentials with *.localhost:*",
            origins(&["http://*.localhost:*"]).allow_credentials(true),
        ),
        (
            "credentials with a wildcard under a registrable domain",
            origins(&["https://*.example.com", "https://*.example.co.uk"]).allow_credentials(true),
        ),
        (
            "credentials with `test` (not a listed suffix)",
            origins(&["https://*.test"]).allow_credentials(true),
        ),
        (
            "http origin without credentials",
            origins(&["http://app.example.com"]),
        ),
        (
            "public-suffix wildcard without credentials",
            origins(&["https://*.github.io"]),
        ),
        (
            "danger: insecure origins",
            origins(&["http://app.example.com"])
                .allow_credentials(true)
                .danger_allow_insecure_origins(true),
        ),
        (
            "danger: public-suffix wildcards",
            origins(&["https://*.github.io"])
                .allow_credentials(true)
                .danger_allow_public_suffix_wildcards(true),
        ),
        (
            "max-age exactly 86400 s",
            with_app().max_age(Duration::from_secs(86_400)),
        ),
        (
            "fractional max-age is truncated",
            with_app().max_age(Duration::from_millis(86_400_999)),
        ),
        (
            "preflight status 200",
            with_app().preflight_status(StatusCode::OK),
        ),
        (
            "preflight status 299",
            with_app().preflight_status(StatusCode::from_u16(299).expect("valid")),
        ),
        (
            "custom methods",
            with_app().allow_methods(["PROPFIND", "patch", "M-SEARCH"]),
        ),
        (
            "predicate only",
            CorsLayer::builder().allow_origin_fn(|_, _| true),
        ),
        (
            "async predicate only",
            CorsLayer::builder().allow_origin_async(|_, _| async { true }),
        ),
        ("any origin", CorsLayer::builder().allow_any_origin()),
        (
            "non-http schemes",
            origins(&[
                "chrome-extension://abcdefghijklmnop",
                "tauri://localhost",
                "moz-extension://1234-abcd",
            ]),
        ),
    ];
    for (rule, builder) in valid {
        if let Err(err) = builder.build() {
            panic!("{rule}: {err}");
        }
    }
}

#[test]
fn every_problem_is_reported_at_once_with_its_value() {
    let err = CorsLayer::builder()
        .allow_origins([
            "https://ok.example.com",
            "https://Bad.example.com",
            "http://insecure.example.com",
            "https://*.com",
            "https://a.*.b.com",
        ])
        .allow_methods(["PUT", "TRACE", "bad method"])
        .allow_headers(["content-type", "Cookie", "bad header"])
        .expose_headers(["set-cookie", "*"])
        .allow_credentials(true)
        .max_age(Duration::from_secs(100_000))
        .preflight_status(StatusCode::IM_A_TEAPOT)
        .build()
        .expect_err("invalid");
    let problems = err.problems();
    let expected = vec![
        Problem::InvalidOrigin {
            value: "https://Bad.example.com".into(),
            reason: "",
        },
        Problem::InsecureOriginWithCredentials {
            value: "http://insecure.example.com".into(),
        },
        Problem::PublicSuffixWildcard {
            value: "https://*.com".into(),
            suffix: "com".into(),
        },
        Problem::InvalidOriginPattern {
            value: "https://a.*.b.com".into(),
            reason: "",
        },
        Problem::ForbiddenMethod {
            value: "TRACE".into(),
        },
        Problem::InvalidMethod {
            value: "bad method".into(),
        },
        Problem::ForbiddenRequestHeader {
            value: "Cookie".into(),
        },
        Problem::InvalidHeaderName {
            list: ListKind::AllowedHeaders,
            value: "bad header".into(),
        },
        Problem::ForbiddenExposedHeader {
            value: "set-cookie".into(),
        },
        Problem::AnyExposedHeaderWithCredentials,
        Problem::MaxAgeTooLong { seconds: 100_000 },
        Problem::InvalidPreflightStatus { status: 418 },
    ];
    // Reasons are prose; compare everything else.
    let strip = |p: &Problem| match p {
        Problem::InvalidOrigin { value, .. } => Problem::InvalidOrigin {
            value: value.clone(),
            reason: "",
        },
        Problem::InvalidOriginPattern { value, .. } => Problem::InvalidOriginPattern {
            value: value.clone(),
            reason: "",
        },
        other => other.clone(),
    };
    let got: Vec<Problem> = problems.iter().map(strip).collect();
    assert_eq!(got, expected);
    let text = err.to_string();
    assert!(
        text.starts_with("invalid CORS configuration (12 problems):"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 13, "{text}");
}
