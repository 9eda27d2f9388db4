//! Arbitrary builder inputs through `build()`.
//!
//! Invariants: `build()` never panics; an error lists at least one problem and every problem
//! that names a value quotes one of the values passed, byte for byte; the rules that do not
//! depend on parsing (any origin or exposed `*` with credentials, max-age, preflight status,
//! forbidden methods, no origin source) are reported exactly when they apply; and a policy that
//! builds honours everything it was given: each configured origin is allowed with its own value
//! echoed, each configured method and header passes a preflight.
//!
//! Input: lines (see the crate docs). `o:V` origin, `m:V` method, `h:V` allowed header, `e:V`
//! exposed header, `age:SECONDS`, `status:N`, and the flags `cred`, `pn`, `pass`, `fn` (a
//! predicate), `insecure`, `suffix` (the `danger_*` switches), `O`, `M`, `H`, `E` (the
//! `allow_any_*` / `expose_any_header` calls).
#![no_main]

use std::time::Duration;

use http::{Method, Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use tower_cors::{CorsLayer, Decision, Problem};
use tower_cors_fuzz::{key_value, lines};

#[derive(Default)]
struct Input {
    origins: Vec<String>,
    methods: Vec<String>,
    headers: Vec<String>,
    exposed: Vec<String>,
    max_age: Option<u64>,
    status: Option<u16>,
    credentials: bool,
    private_network: bool,
    pass_through: bool,
    predicate: bool,
    insecure: bool,
    suffix: bool,
    any_origin: bool,
    any_method: bool,
    any_header: bool,
    expose_any: bool,
}

fn parse(data: &[u8]) -> Input {
    let mut input = Input::default();
    for line in lines(data).into_iter().take(2_000) {
        let (key, value) = key_value(line);
        let text = || String::from_utf8_lossy(value).into_owned();
        match key {
            b"o" => input.origins.push(text()),
            b"m" => input.methods.push(text()),
            b"h" => input.headers.push(text()),
            b"e" => input.exposed.push(text()),
            b"age" => input.max_age = text().parse().ok(),
            b"status" => input.status = text().parse().ok().filter(|s| (100..1000).contains(s)),
            b"cred" => input.credentials = true,
            b"pn" => input.private_network = true,
            b"pass" => input.pass_through = true,
            b"fn" => input.predicate = true,
            b"insecure" => input.insecure = true,
            b"suffix" => input.suffix = true,
            b"O" => input.any_origin = true,
            b"M" => input.any_method = true,
            b"H" => input.any_header = true,
            b"E" => input.expose_any = true,
            _ => {}
        }
    }
    input
}

fn build(input: &Input) -> Result<CorsLayer, tower_cors::ConfigError> {
    let mut b = CorsLayer::builder()
        .allow_origins(&input.origins)
        .allow_methods(&input.methods)
        .allow_headers(&input.headers)
        .expose_headers(&input.exposed)
        .allow_credentials(input.credentials)
        .allow_private_network(input.private_network)
        .preflight_pass_through(input.pass_through)
        .danger_allow_insecure_origins(input.insecure)
        .danger_allow_public_suffix_wildcards(input.suffix);
    if let Some(seconds) = input.max_age {
        b = b.max_age(Duration::from_secs(seconds));
    }
    if let Some(status) = input.status {
        b = b.preflight_status(StatusCode::from_u16(status).expect("100..1000 is a status"));
    }
    if input.predicate {
        b = b.allow_origin_fn(|origin, _| origin.as_bytes().ends_with(b".fn"));
    }
    if input.any_origin {
        b = b.allow_any_origin();
    }
    if input.any_method {
        b = b.allow_any_method();
    }
    if input.any_header {
        b = b.allow_any_header();
    }
    if input.expose_any {
        b = b.expose_any_header();
    }
    b.build()
}

/// The Fetch standard's method normalization, as SPEC.md applies it to configured methods.
fn normalize(m: &str) -> String {
    ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]
        .into_iter()
        .find(|n| n.eq_ignore_ascii_case(m))
        .map_or_else(|| m.to_owned(), str::to_owned)
}

fn parts(
    method: &str,
    origin: &str,
    acrm: Option<&str>,
    acrh: Option<&str>,
) -> Option<http::request::Parts> {
    let mut b = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).ok()?)
        .header("origin", origin);
    if let Some(m) = acrm {
        b = b.header("access-control-request-method", m);
    }
    if let Some(h) = acrh {
        b = b.header("access-control-request-headers", h);
    }
    Some(b.body(()).ok()?.into_parts().0)
}

fuzz_target!(|data: &[u8]| {
    let input = parse(data);
    let any_origin = input.any_origin || input.origins.iter().any(|o| o == "*");
    let expose_any = input.expose_any || input.exposed.iter().any(|e| e == "*");
    match build(&input) {
        Err(err) => {
            let problems = err.problems();
            assert!(!problems.is_empty(), "an error without problems");
            let text = err.to_string();
            for p in problems {
                let (value, list) = match p {
                    Problem::InvalidOrigin { value, .. }
                    | Problem::InvalidOriginPattern { value, .. }
                    | Problem::InsecureOriginWithCredentials { value }
                    | Problem::PublicSuffixWildcard { value, .. } => (value, &input.origins),
                    Problem::InvalidMethod { value } | Problem::ForbiddenMethod { value } => {
                        (value, &input.methods)
                    }
                    Problem::ForbiddenRequestHeader { value } => (value, &input.headers),
                    Problem::ForbiddenExposedHeader { value } => (value, &input.exposed),
                    Problem::InvalidHeaderName { value, .. } => {
                        assert!(
                            input.headers.contains(value) || input.exposed.contains(value),
                            "{p:?} quotes a value that was not passed"
                        );
                        continue;
                    }
                    _ => continue,
                };
                assert!(
                    list.contains(value),
                    "{p:?} quotes a value that was not passed"
                );
                assert!(
                    text.contains(&format!("{value:?}")),
                    "{text} does not quote {value:?}"
                );
                assert_ne!(value, "*", "`*` reported as a problem: {p:?}");
            }
            let has = |want: fn(&Problem) -> bool| problems.iter().any(want);
            assert_eq!(
                has(|p| matches!(p, Problem::AnyOriginWithCredentials)),
                any_origin && input.credentials
            );
            assert_eq!(
                has(|p| matches!(p, Problem::AnyExposedHeaderWithCredentials)),
                expose_any && input.credentials
            );
            assert_eq!(
                has(|p| matches!(p, Problem::MaxAgeTooLong { .. })),
                input.max_age.is_some_and(|s| s > 86_400)
            );
            assert_eq!(
                has(|p| matches!(p, Problem::InvalidPreflightStatus { .. })),
                input.status.is_some_and(|s| !(200..300).contains(&s))
            );
            assert_eq!(
                has(|p| matches!(p, Problem::NoOriginSource)),
                input.origins.is_empty() && !input.any_origin && !input.predicate
            );
            for m in &input.methods {
                let forbidden = ["CONNECT", "TRACE", "TRACK"]
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(m));
                let reported = problems
                    .iter()
                    .any(|p| matches!(p, Problem::ForbiddenMethod { value } if value == m));
                assert_eq!(forbidden, reported, "method {m:?}");
            }
        }
        Ok(layer) => {
            assert!(
                !(any_origin && input.credentials),
                "any origin with credentials built"
            );
            assert!(
                !(expose_any && input.credentials),
                "exposed `*` with credentials built"
            );
            assert!(input.max_age.is_none_or(|s| s <= 86_400));
            // Every configured exact origin is allowed, its own value echoed.
            for origin in input.origins.iter().filter(|o| !o.contains('*')) {
                let Some(p) = parts("GET", origin, None, None) else {
                    continue;
                };
                match layer.evaluate(&p) {
                    Decision::ActualAllowed { headers } => {
                        let acao = headers.get(&http::header::ACCESS_CONTROL_ALLOW_ORIGIN);
                        let want = if any_origin { "*" } else { origin.as_str() };
                        assert_eq!(acao.map(|v| v.as_bytes()), Some(want.as_bytes()));
                    }
                    other => panic!("configured origin {origin:?} not allowed: {other:?}"),
                }
            }
            // Every configured method and header passes a preflight from a configured origin.
            let Some(origin) = input.origins.iter().find(|o| !o.contains('*')) else {
                return;
            };
            for m in input.methods.iter().filter(|m| *m != "*") {
                let m = normalize(m);
                let Some(p) = parts("OPTIONS", origin, Some(&m), None) else {
                    continue;
                };
                assert!(
                    matches!(layer.evaluate(&p), Decision::PreflightAccepted { .. }),
                    "configured method {m:?} refused"
                );
            }
            for h in input.headers.iter().filter(|h| *h != "*") {
                let Some(p) = parts(
                    "OPTIONS",
                    origin,
                    Some("GET"),
                    Some(&h.to_ascii_uppercase()),
                ) else {
                    continue;
                };
                assert!(
                    matches!(layer.evaluate(&p), Decision::PreflightAccepted { .. }),
                    "configured header {h:?} refused"
                );
            }
        }
    }
});
