//! Arbitrary request heads through the real `Cors<S>` service, under a few fixed policies.
//!
//! Each answer is checked by the protocol model of `tests/browser_model/model.rs`: the browser
//! model accepts it exactly when the policy allows the request, at most one
//! `Access-Control-Allow-Origin`, no `Access-Control-*` header on a refused preflight or request,
//! the inner service called exactly when the contract says, and the `Vary` rules.
//!
//! Input: lines (see the crate docs for `@N@` repetition). The first byte picks the policy; then
//! `method:M`, `origin:V`, `acrm:V`, `acrh:V` (`acrh*N:V` inflates V to about N KiB),
//! `pn:V`, `extra:N` (unrelated header lines), `cred` (credentialed), `inner:S` (status),
//! `hostile` (the inner service sets CORS headers of its own), `vary:V`.
#![no_main]

#[path = "../../tests/browser_model/model.rs"]
mod model;

use libfuzzer_sys::fuzz_target;
use model::{InnerSpec, OriginRule, PolicySpec, PortRule, Predicate, RequestSpec};
use std::sync::OnceLock;
use tower_cors::CorsLayer;
use tower_cors_fuzz::{header_bytes, inflate, key_value, lines, MAX_INFLATED};

fn policies() -> &'static [(PolicySpec, CorsLayer)] {
    static POLICIES: OnceLock<Vec<(PolicySpec, CorsLayer)>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        let list = PolicySpec {
            origins: vec![
                OriginRule::Exact("https://a.example"),
                OriginRule::Subdomains {
                    scheme: "https",
                    base: "a.example",
                    port: PortRule::Default,
                },
                OriginRule::AnyPort {
                    scheme: "http",
                    host: "localhost",
                },
            ],
            methods: vec!["PUT", "patch", "delete"],
            headers: vec!["content-type", "X-Api-Key", "authorization"],
            exposed: vec!["x-request-id"],
            credentials: true,
            max_age: Some(600),
            private_network: true,
            ..PolicySpec::new()
        };
        let any = PolicySpec {
            any_origin: true,
            any_method: true,
            any_header: true,
            expose_any: true,
            preflight_status: 200,
            ..PolicySpec::new()
        };
        let creds_any = PolicySpec {
            origins: vec![
                OriginRule::Exact("https://a.example"),
                OriginRule::Subdomains {
                    scheme: "https",
                    base: "example",
                    port: PortRule::Any,
                },
            ],
            any_method: true,
            any_header: true,
            credentials: true,
            pass_through: true,
            ..PolicySpec::new()
        };
        let predicate = PolicySpec {
            origins: vec![
                OriginRule::Exact("chrome-extension://abcdef"),
                OriginRule::AnyPort {
                    scheme: "http",
                    host: "[::1]",
                },
            ],
            predicate: Some(Predicate {
                is_async: false,
                suffix: b"null",
            }),
            headers: vec!["x-other"],
            exposed: vec!["etag", "x-request-id"],
            ..PolicySpec::new()
        };
        let async_predicate = PolicySpec {
            origins: vec![OriginRule::Subdomains {
                scheme: "http",
                base: "localhost",
                port: PortRule::Any,
            }],
            predicate: Some(Predicate {
                is_async: true,
                suffix: b".evil",
            }),
            methods: vec!["DELETE", "X-Custom"],
            headers: vec!["x-other", "content-type"],
            pass_through: true,
            preflight_status: 299,
            ..PolicySpec::new()
        };
        [list, any, creds_any, predicate, async_predicate]
            .into_iter()
            .map(|p| {
                let layer = p.build();
                (p, layer)
            })
            .collect()
    })
}

fn number(v: &[u8]) -> usize {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else {
        return;
    };
    let policies = policies();
    let (policy, layer) = &policies[usize::from(pick) % policies.len()];
    let mut req = RequestSpec {
        method: b"OPTIONS".to_vec(),
        origins: Vec::new(),
        acrm: Vec::new(),
        acrh: Vec::new(),
        acrpn: Vec::new(),
        extra: 0,
        credentials: false,
        inner: InnerSpec {
            status: 200,
            hostile: false,
            vary: None,
        },
    };
    let mut budget = MAX_INFLATED;
    for line in lines(data) {
        let (key, value) = key_value(line);
        let value = header_bytes(value);
        match key {
            b"method" if http::Method::from_bytes(&value).is_ok() => req.method = value,
            b"origin" => req.origins.push(value),
            b"acrm" => req.acrm.push(value),
            b"acrh" => req.acrh.push(value),
            b"pn" => req.acrpn.push(value),
            b"extra" => req.extra = number(&value).min(10_000),
            b"cred" => req.credentials = true,
            b"hostile" => req.inner.hostile = true,
            b"inner" => req.inner.status = (number(&value) % 500 + 100) as u16,
            b"vary" => {
                req.inner.vary = Some(match value.first() {
                    Some(b'*') => "*",
                    Some(b'o' | b'O') => "Origin",
                    _ => "accept-encoding",
                })
            }
            _ if key.starts_with(b"acrh*") => {
                let kib = number(&key[5..]).min(1024);
                req.acrh.push(inflate(&value, kib * 1024, &mut budget));
            }
            _ => {}
        }
    }
    let (res, calls) = model::run(layer, &req);
    if let Err(problem) = model::check(policy, &req, &res, calls) {
        panic!("{problem}\npolicy: {policy:?}\nrequest: {req:?}");
    }
});
