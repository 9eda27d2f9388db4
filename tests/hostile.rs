//! Hostile request heads and oversized configurations: the answers are correct (checked by the
//! protocol model of `browser_model/model.rs`), and the work is bounded.
//!
//! Work is shown by counting heap allocations on the current thread (a counting global
//! allocator), never by timing: deciding a request allocates nothing whatever its size, and a
//! whole exchange allocates the same for a 1 KiB list as for a 1 MiB one, for 129 lines as for
//! 10 000, for 10 configured origins as for 10 000.

#[path = "browser_model/model.rs"]
mod model;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{allocations, Counting, Tally};

use http::header::{ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_ORIGIN};
use http::{HeaderValue, Request};
use model::{InnerSpec, OriginRule, PolicySpec, PortRule, Predicate, RequestSpec};
use tower_cors::{
    CorsLayer, Decision, Reason, MAX_REQUEST_HEADERS_BYTES, MAX_REQUEST_HEADER_NAMES,
};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn listed() -> PolicySpec {
    PolicySpec {
        origins: vec![
            OriginRule::Exact("https://a.example"),
            OriginRule::Subdomains {
                scheme: "https",
                base: "example",
                port: PortRule::Default,
            },
            OriginRule::AnyPort {
                scheme: "http",
                host: "localhost",
            },
        ],
        methods: vec!["PUT"],
        headers: vec!["content-type", "x-api-key"],
        credentials: true,
        ..PolicySpec::new()
    }
}

fn any_all() -> PolicySpec {
    PolicySpec {
        any_origin: true,
        any_method: true,
        any_header: true,
        ..PolicySpec::new()
    }
}

fn credentialed_any_header() -> PolicySpec {
    PolicySpec {
        origins: vec![OriginRule::Exact("https://a.example")],
        any_method: true,
        any_header: true,
        credentials: true,
        ..PolicySpec::new()
    }
}

fn preflight(origin: &[u8], acrh: Vec<Vec<u8>>) -> RequestSpec {
    RequestSpec {
        method: b"OPTIONS".to_vec(),
        origins: vec![origin.to_vec()],
        acrm: vec![b"PUT".to_vec()],
        acrh,
        acrpn: Vec::new(),
        extra: 0,
        credentials: true,
        inner: InnerSpec {
            status: 200,
            hostile: false,
            vary: None,
        },
    }
}

fn actual(origins: Vec<Vec<u8>>) -> RequestSpec {
    RequestSpec {
        method: b"GET".to_vec(),
        acrm: Vec::new(),
        origins,
        ..preflight(b"", Vec::new())
    }
}

/// Runs `req` through the layer built from `policy`, checks the answer against the model, and
/// returns what the exchange allocated (request construction excluded) and what deciding the
/// request head alone allocated.
fn exchange(
    policy: &PolicySpec,
    layer: &CorsLayer,
    req: &RequestSpec,
) -> (http::Response<String>, usize, usize) {
    let request = req.to_request();
    let (parts, ()) = req.to_request().into_parts();
    let (_, Tally { count: decide, .. }) =
        allocations(|| matches!(layer.evaluate(&parts), Decision::OriginPending));
    let ((res, calls), Tally { count: whole, .. }) =
        allocations(|| model::run_request(layer, &req.inner, request));
    if let Err(problem) = model::check(policy, req, &res, calls) {
        panic!("{problem}\nrequest: {req:?}");
    }
    (res, whole, decide)
}

fn reason(layer: &CorsLayer, req: &RequestSpec) -> String {
    let (parts, ()) = req.to_request().into_parts();
    match layer.evaluate(&parts).rejection() {
        Some(r) => r.reason().to_string(),
        None => "accepted".to_owned(),
    }
}

/// A list of about `len` bytes, every element an allowed name.
fn list_of(len: usize) -> Vec<u8> {
    b"content-type, "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

#[test]
fn a_one_mebibyte_request_headers_list_is_refused_at_a_glance() {
    for policy in [listed(), any_all(), credentialed_any_header()] {
        let layer = policy.build();
        let small = preflight(
            b"https://a.example",
            vec![list_of(MAX_REQUEST_HEADERS_BYTES + 1)],
        );
        let huge = preflight(b"https://a.example", vec![list_of(1 << 20)]);
        assert_eq!(
            reason(&layer, &huge),
            Reason::RequestHeadersTooLong.to_string()
        );
        let (res, whole_small, _) = exchange(&policy, &layer, &small);
        assert_eq!(res.status(), 403);
        let (res, whole_huge, decide) = exchange(&policy, &layer, &huge);
        assert_eq!(res.status(), 403);
        assert_eq!(decide, 0, "deciding allocated");
        assert_eq!(
            whole_huge, whole_small,
            "a 1 MiB list cost more than a 8 KiB one"
        );
    }
}

#[test]
fn a_list_just_within_the_bounds_is_accepted() {
    let names: Vec<u8> = vec!["content-type"; MAX_REQUEST_HEADER_NAMES]
        .join(",")
        .into_bytes();
    assert!(names.len() <= MAX_REQUEST_HEADERS_BYTES);
    for policy in [listed(), any_all(), credentialed_any_header()] {
        let layer = policy.build();
        let (res, _, decide) = exchange(
            &policy,
            &layer,
            &preflight(b"https://a.example", vec![names.clone()]),
        );
        assert_eq!(res.status(), 204, "{policy:?}");
        assert_eq!(decide, 0);
        let mut over = names.clone();
        over.extend_from_slice(b",content-type");
        let (res, _, _) = exchange(
            &policy,
            &layer,
            &preflight(b"https://a.example", vec![over]),
        );
        assert_eq!(res.status(), 403, "{policy:?}");
    }
}

#[test]
fn thousands_of_header_lines() {
    let line = b"content-type".to_vec();
    for policy in [listed(), any_all(), credentialed_any_header()] {
        let layer = policy.build();
        // At the line bound the list is accepted; with an echoing policy, one line each.
        let at_bound = preflight(
            b"https://a.example",
            vec![line.clone(); MAX_REQUEST_HEADER_NAMES],
        );
        let (res, _, decide) = exchange(&policy, &layer, &at_bound);
        assert_eq!(res.status(), 204);
        assert_eq!(decide, 0);
        let echoed = res
            .headers()
            .get_all(ACCESS_CONTROL_ALLOW_HEADERS)
            .iter()
            .count();
        assert!(echoed <= MAX_REQUEST_HEADER_NAMES);

        // One line over it, or ten thousand: refused, for the same cost.
        let over = preflight(
            b"https://a.example",
            vec![line.clone(); MAX_REQUEST_HEADER_NAMES + 1],
        );
        let many = preflight(b"https://a.example", vec![line.clone(); 10_000]);
        let (_, whole_over, _) = exchange(&policy, &layer, &over);
        let (res, whole_many, decide) = exchange(&policy, &layer, &many);
        assert_eq!(res.status(), 403);
        assert_eq!(decide, 0);
        assert_eq!(whole_many, whole_over, "10 000 lines cost more than 129");
        assert_eq!(
            reason(&layer, &many),
            Reason::RequestHeadersTooLong.to_string()
        );

        // Ten thousand unrelated lines change nothing.
        let mut noisy = preflight(b"https://a.example", vec![line.clone()]);
        noisy.extra = 10_000;
        let (res, _, decide) = exchange(&policy, &layer, &noisy);
        assert_eq!(res.status(), 204);
        assert_eq!(decide, 0);
    }
}

#[test]
fn only_the_first_of_thousands_of_origin_lines_counts() {
    let policy = listed();
    let layer = policy.build();
    let mut first_allowed = vec![b"https://a.example".to_vec()];
    first_allowed.extend(std::iter::repeat(b"https://evil.example.com.evil".to_vec()).take(9_999));
    let (res, _, decide) = exchange(&policy, &layer, &actual(first_allowed));
    assert_eq!(decide, 0);
    let acao: Vec<_> = res
        .headers()
        .get_all(ACCESS_CONTROL_ALLOW_ORIGIN)
        .iter()
        .collect();
    assert_eq!(acao, [&HeaderValue::from_static("https://a.example")]);

    let mut first_refused = vec![b"https://evil.example.com.evil".to_vec()];
    first_refused.extend(std::iter::repeat(b"https://a.example".to_vec()).take(9_999));
    let (res, _, _) = exchange(&policy, &layer, &actual(first_refused.clone()));
    assert!(!res.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
    let mut pre = preflight(b"", Vec::new());
    pre.origins = first_refused;
    let (res, _, _) = exchange(&policy, &layer, &pre);
    assert_eq!(res.status(), 403);
}

#[test]
fn a_ten_kilobyte_origin() {
    let labels = "a.".repeat(5_000);
    let long = format!("https://{labels}example").into_bytes();
    assert!(long.len() > 10_000);
    let upper = format!("https://{}A.example", labels).into_bytes();
    let junk = [b"https://".as_slice(), &[b'x'; 10_240], b"\xff.example"].concat();

    // Listed origins and patterns: none matches, not even `*.example` for the host of valid
    // labels, which is longer than any DNS name a browser could have sent. (That bound is also
    // what keeps the pattern lookup linear: see the matcher's probe-count test.) Deciding
    // allocates nothing.
    let policy = PolicySpec {
        credentials: false,
        ..listed()
    };
    let layer = policy.build();
    let (res, _, decide) = exchange(&policy, &layer, &actual(vec![long.clone()]));
    assert_eq!(decide, 0);
    assert!(!res.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
    // The longest DNS name still matches.
    let longest = format!("https://{}example", "a.".repeat(123)).into_bytes();
    let (res, _, decide) = exchange(&policy, &layer, &actual(vec![longest.clone()]));
    assert_eq!(decide, 0);
    assert_eq!(
        res.headers()[ACCESS_CONTROL_ALLOW_ORIGIN].as_bytes(),
        &longest[..]
    );
    for refused in [&upper, &junk] {
        let (res, _, decide) = exchange(&policy, &layer, &preflight(refused, Vec::new()));
        assert_eq!(decide, 0);
        assert_eq!(res.status(), 403);
    }

    // Any origin: `*`, never the long value.
    let policy = any_all();
    let layer = policy.build();
    for origin in [&long, &upper, &junk] {
        let (res, _, _) = exchange(&policy, &layer, &actual(vec![origin.clone()]));
        assert_eq!(res.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }

    // A predicate that says yes: the value is echoed once, byte for byte.
    let policy = PolicySpec {
        origins: Vec::new(),
        predicate: Some(Predicate {
            is_async: false,
            suffix: b".example",
        }),
        ..listed()
    };
    let layer = policy.build();
    let (res, _, _) = exchange(&policy, &layer, &actual(vec![junk.clone()]));
    let acao: Vec<_> = res
        .headers()
        .get_all(ACCESS_CONTROL_ALLOW_ORIGIN)
        .iter()
        .collect();
    assert_eq!(acao.len(), 1);
    assert_eq!(acao[0].as_bytes(), &junk[..]);
}

#[test]
fn non_utf8_bytes_anywhere() {
    let bad_origin = b"https://\xe9t\xe9.example".to_vec();
    for policy in [listed(), any_all(), credentialed_any_header()] {
        let layer = policy.build();
        let cases = [
            actual(vec![bad_origin.clone()]),
            preflight(&bad_origin, Vec::new()),
            RequestSpec {
                acrm: vec![b"PU\xffT".to_vec()],
                ..preflight(b"https://a.example", Vec::new())
            },
            preflight(b"https://a.example", vec![b"content-type, x-\xff".to_vec()]),
            preflight(b"https://a.example", vec![b"\x80\x81".to_vec()]),
            RequestSpec {
                acrpn: vec![b"tr\xffue".to_vec()],
                ..preflight(b"https://a.example", Vec::new())
            },
        ];
        for req in &cases {
            let (_, _, decide) = exchange(&policy, &layer, req);
            assert_eq!(decide, 0, "{req:?}");
        }
    }
    // A predicate sees the raw bytes and may allow them; the echo is byte-exact.
    let policy = PolicySpec {
        origins: Vec::new(),
        predicate: Some(Predicate {
            is_async: true,
            suffix: b"\xe9.example",
        }),
        ..listed()
    };
    let layer = policy.build();
    let (res, _, _) = exchange(&policy, &layer, &actual(vec![bad_origin.clone()]));
    assert_eq!(
        res.headers()[ACCESS_CONTROL_ALLOW_ORIGIN].as_bytes(),
        &bad_origin[..]
    );
}

#[test]
fn ten_thousand_configured_origins() {
    let exact: Vec<String> = (0..10_000)
        .map(|i| format!("https://app{i}.example.com"))
        .collect();
    let patterns: Vec<String> = (0..10_000)
        .map(|i| format!("https://*.tenant{i}.example.net"))
        .collect();
    let ports: Vec<String> = (0..10_000)
        .map(|i| format!("http://host{i}.test:*"))
        .collect();
    let big = CorsLayer::builder()
        .allow_origins(&exact)
        .allow_origins(&patterns)
        .allow_origins(&ports)
        .build()
        .expect("10 000 valid origins build");
    let small = CorsLayer::builder()
        .allow_origins(&exact[..10])
        .allow_origins(&patterns[..10])
        .allow_origins(&ports[..10])
        .build()
        .expect("valid");

    let decide = |layer: &CorsLayer, origin: &str| {
        let (parts, ()) = Request::get("/")
            .header("origin", origin)
            .body(())
            .expect("valid")
            .into_parts();
        allocations(|| matches!(layer.evaluate(&parts), Decision::ActualAllowed { .. }))
    };
    let cases = [
        ("https://app0.example.com", true),
        ("https://app5000.example.com", true),
        ("https://app9999.example.com", true),
        ("https://x.tenant9999.example.net", true),
        ("https://a.b.tenant42.example.net", true),
        ("http://host7777.test:8080", true),
        ("http://host7777.test", true),
        ("https://app10000.example.com", false),
        ("https://app1.example.comhttps://app2.example.com", false),
        ("https://tenant42.example.net", false),
        ("https://x.tenant10000.example.net", false),
        ("http://host7777.test:080", false),
        ("https://app9999.example.com/", false),
    ];
    for (origin, want) in cases {
        let (got, Tally { count: n, .. }) = decide(&big, origin);
        assert_eq!(got, want, "{origin}");
        assert_eq!(n, 0, "deciding {origin} allocated");
    }
    // The small policy answers the first ten the same way, for the same (zero) cost.
    let (got, Tally { count: n, .. }) = decide(&small, "https://app5.example.com");
    assert!(got);
    assert_eq!(n, 0);

    // Ten thousand bad origins: every one reported, quoted as passed, no panic.
    let bad: Vec<String> = (0..10_000)
        .map(|i| format!("HTTPS://APP{i}.EXAMPLE.COM/"))
        .collect();
    let err = CorsLayer::builder()
        .allow_origins(&bad)
        .build()
        .expect_err("all invalid");
    assert_eq!(err.problems().len(), 10_000);
    assert!(err.to_string().contains("\"HTTPS://APP9999.EXAMPLE.COM/\""));
}
