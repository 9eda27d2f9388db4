//! Whole exchanges through the state machine, with answers written by hand.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::*;

const APP: &str = "https://app.example";
const API: &str = "https://api.example/items";

/// Response header lines of a table row.
type Lines = Vec<(&'static str, &'static str)>;

fn answer(lines: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in lines {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
    }
    map
}

/// Runs `request` against a server that answers every request with `respond(request)`.
fn run(
    request: &FetchRequest,
    mut respond: impl FnMut(&http::Request<()>) -> (u16, HeaderMap),
) -> (Verdict, Vec<http::Request<()>>) {
    let mut exchange = Exchange::new(request);
    let mut sent = Vec::new();
    while let Some(next) = exchange.next_request() {
        let (status, headers) = respond(&next);
        exchange.receive(StatusCode::from_u16(status).expect("status"), &headers);
        sent.push(next);
        assert!(sent.len() < 50, "the exchange does not end");
    }
    (exchange.finish(), sent)
}

#[test]
fn invalid_descriptions_list_every_problem() {
    let err = FetchRequest::builder("/relative", "https://app.example/")
        .method("TRACE")
        .header("bad name", "x")
        .build()
        .expect_err("invalid");
    assert_eq!(err.problems().len(), 4, "{err}");
    assert!(err.to_string().contains("\"/relative\""));
}

#[test]
fn simple_get_sends_no_preflight_and_exposes_safelisted_headers() {
    let request = FetchRequest::builder(API, APP).build().expect("valid");
    let (verdict, sent) = run(&request, |_| {
        (
            200,
            answer(&[
                ("access-control-allow-origin", "*"),
                ("content-type", "application/json"),
                ("x-id", "1"),
            ]),
        )
    });
    assert_eq!(sent.len(), 1);
    let headers = sent[0].headers();
    assert_eq!(headers["origin"], APP);
    assert_eq!(headers["accept"], "*/*");
    assert_eq!(headers["sec-fetch-mode"], "cors");
    assert_eq!(headers["sec-fetch-site"], "cross-site");
    assert_eq!(headers["sec-fetch-dest"], "empty");
    assert_eq!(headers["host"], "api.example");
    assert!(!verdict.preflight_sent());
    let readable = verdict.readable().expect("allowed");
    assert!(readable.headers.contains_key("content-type"));
    assert!(!readable.headers.contains_key("x-id"));
    assert!(verdict.stage().is_none());
    for engine in Engine::ALL {
        assert_eq!(verdict.engine(engine), &EngineOutcome::Allowed);
    }
}

#[test]
fn preflight_request_is_exact_and_carries_no_credentials() {
    let request = FetchRequest::builder(API, APP)
        .method("delete")
        .header("X-B", "1")
        .header("authorization", "Bearer secret")
        .header("X-A", "2")
        .header("content-type", "text/plain")
        .credentials(Credentials::Include)
        .cookie("session=1")
        .build()
        .expect("valid");
    assert_eq!(request.method(), "DELETE");
    let exchange = Exchange::new(&request);
    let preflight = exchange.next_request().expect("preflight");
    let h = preflight.headers();
    assert_eq!(preflight.method(), "OPTIONS");
    assert_eq!(preflight.uri(), "https://api.example/items");
    assert_eq!(h["access-control-request-method"], "DELETE");
    assert_eq!(h["access-control-request-headers"], "authorization,x-a,x-b");
    assert_eq!(h["accept"], "*/*");
    assert_eq!(h["origin"], APP);
    for absent in ["cookie", "authorization", "x-a", "content-type"] {
        assert!(!h.contains_key(absent), "{absent}");
    }
}

#[test]
fn credentialed_exchange_sends_the_cookie_on_the_actual_request_only() {
    let request = FetchRequest::builder(API, APP)
        .method("PUT")
        .credentials(Credentials::Include)
        .cookie("session=1")
        .build()
        .expect("valid");
    let ok = answer(&[
        ("access-control-allow-origin", APP),
        ("access-control-allow-credentials", "true"),
        ("access-control-allow-methods", "PUT"),
        ("access-control-max-age", "86400"),
    ]);
    let (verdict, sent) = run(&request, |_| (200, ok.clone()));
    assert_eq!(sent.len(), 2);
    assert!(!sent[0].headers().contains_key("cookie"));
    assert_eq!(sent[1].headers()["cookie"], "session=1");
    assert!(verdict.is_allowed(), "{verdict}");
    let max_age = verdict.max_age().expect("accepted preflight");
    assert_eq!(max_age.effective(Engine::Chromium), 7200);
    assert_eq!(max_age.effective(Engine::Firefox), 86400);
    assert_eq!(max_age.effective(Engine::Safari), 600);
}

#[test]
fn authorization_under_wildcard_is_blocked_by_the_standard_only() {
    let request = FetchRequest::builder(API, APP)
        .header("authorization", "Bearer t")
        .build()
        .expect("valid");
    let (verdict, sent) = run(&request, |_| {
        (
            200,
            answer(&[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-headers", "*"),
            ]),
        )
    });
    // The actual request is still sent: the browsers would send it.
    assert_eq!(sent.len(), 2);
    assert_eq!(
        verdict.reason(),
        Some(&BlockReason::HeaderNotAllowed("authorization".into()))
    );
    assert_eq!(verdict.stage(), Some(Stage::Preflight));
    for engine in Engine::ALL {
        assert_eq!(
            verdict.engine(engine),
            &EngineOutcome::Allowed,
            "{engine:?}"
        );
    }
    let failed: Vec<&Check> = verdict.checks().iter().filter(|c| !c.ok()).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].lenient, Engine::ALL.to_vec());
}

#[test]
fn every_failing_check_is_reported_and_messages_are_chromiums() {
    let request = FetchRequest::builder(API, APP)
        .credentials(Credentials::Include)
        .build()
        .expect("valid");
    let (verdict, _) = run(&request, |_| {
        (
            200,
            answer(&[("access-control-allow-origin", "https://app.example/")]),
        )
    });
    let failed: Vec<&str> = verdict
        .checks()
        .iter()
        .filter(|c| !c.ok())
        .map(|c| c.check)
        .collect();
    assert_eq!(failed, ["allow-origin", "allow-credentials"]);
    assert_eq!(
        verdict.to_string(),
        "Access to fetch at 'https://api.example/items' from origin 'https://app.example' has been \
         blocked by CORS policy: The 'Access-Control-Allow-Origin' header has a value \
         'https://app.example/' that is not equal to the supplied origin. Have the server send the \
         header with a valid value."
    );
    assert_eq!(
        verdict.reason().map(BlockReason::firefox_key),
        Some("CORSAllowOriginNotMatchingOrigin")
    );
}

#[test]
fn preflight_messages() {
    let request = FetchRequest::builder(API, APP)
        .method("PUT")
        .header("x-api-key", "k")
        .build()
        .expect("valid");
    let cases: Vec<(u16, Lines, &str)> = vec![
        (302, vec![("location", "/elsewhere")], "Response to preflight request doesn't pass access control check: Redirect is not allowed for a preflight request."),
        (500, vec![("access-control-allow-origin", APP)], "Response to preflight request doesn't pass access control check: It does not have HTTP ok status."),
        (204, vec![("access-control-allow-origin", APP), ("access-control-allow-methods", "GET")], "Method PUT is not allowed by Access-Control-Allow-Methods in preflight response."),
        (204, vec![("access-control-allow-origin", APP), ("access-control-allow-methods", "PUT")], "Request header field x-api-key is not allowed by Access-Control-Allow-Headers in preflight response."),
    ];
    for (status, lines, expected) in cases {
        let map = answer(&lines);
        let (verdict, sent) = run(&request, |_| (status, map.clone()));
        assert_eq!(sent.len(), 1, "{status}");
        let text = verdict.to_string();
        assert!(text.ends_with(expected), "{text}");
        assert!(text.starts_with("Access to fetch at 'https://api.example/items' from origin 'https://app.example' has been blocked by CORS policy: "));
    }
}

#[test]
fn redirects_are_checked_on_every_hop_and_taint_the_origin() {
    let request = FetchRequest::builder("https://api.example/a", APP)
        .build()
        .expect("valid");
    let (verdict, sent) = run(&request, |req| match req.uri().host() {
        Some("api.example") => (
            302,
            answer(&[
                ("location", "https://api2.example/b"),
                ("access-control-allow-origin", APP),
            ]),
        ),
        _ => (200, answer(&[("access-control-allow-origin", "null")])),
    });
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].headers()["origin"], "null");
    assert_eq!(sent[1].headers()["sec-fetch-site"], "cross-site");
    assert!(verdict.is_allowed(), "{verdict}");

    // A hop without Access-Control-Allow-Origin blocks, worded with "redirected from".
    let (verdict, _) = run(&request, |req| match req.uri().host() {
        Some("api.example") => (301, answer(&[("location", "https://api2.example/b")])),
        _ => (200, answer(&[("access-control-allow-origin", "*")])),
    });
    assert_eq!(verdict.reason(), Some(&BlockReason::MissingAllowOrigin));
    assert!(!verdict.to_string().contains("redirected from"));

    let (verdict, _) = run(&request, |req| match req.uri().host() {
        Some("api.example") => (
            307,
            answer(&[
                ("location", "https://api2.example/b"),
                ("access-control-allow-origin", "*"),
            ]),
        ),
        _ => (200, HeaderMap::new()),
    });
    assert!(verdict.to_string().starts_with(
        "Access to fetch at 'https://api2.example/b' (redirected from 'https://api.example/a') from origin 'https://app.example'"
    ));

    // Same-origin hop first, then cross-origin: no taint.
    let same = FetchRequest::builder("https://app.example/go", APP)
        .build()
        .expect("valid");
    let (verdict, sent) = run(&same, |req| match req.uri().host() {
        Some("app.example") => (302, answer(&[("location", API)])),
        _ => (200, answer(&[("access-control-allow-origin", APP)])),
    });
    assert!(!sent[0].headers().contains_key("origin"));
    assert_eq!(sent[1].headers()["origin"], APP);
    assert!(verdict.is_allowed());
}

#[test]
fn redirect_rules() {
    let any = ("access-control-allow-origin", "*");
    let request = FetchRequest::builder(API, APP).build().expect("valid");
    let cases: Vec<(&str, BlockReason)> = vec![
        (
            "https://user:pw@api.example/x",
            BlockReason::RedirectContainsCredentials("https://user:pw@api.example/x".into()),
        ),
        (
            "ftp://api.example/x",
            BlockReason::RequestNotHttp("ftp".into()),
        ),
    ];
    for (location, expected) in cases {
        let (verdict, _) = run(&request, |_| (302, answer(&[("location", location), any])));
        assert_eq!(verdict.reason(), Some(&expected), "{location}");
    }
    // The 21st redirect fails.
    let (verdict, sent) = run(&request, |_| (302, answer(&[("location", "/again"), any])));
    assert_eq!(sent.len(), MAX_REDIRECTS + 1);
    assert_eq!(verdict.reason(), Some(&BlockReason::TooManyRedirects));

    // POST becomes GET on 303, and its body headers go; Authorization goes on an origin change,
    // and the new target is preflighted again because of the remaining custom header.
    let post = FetchRequest::builder(API, APP)
        .method("POST")
        .header("content-type", "text/plain")
        .header("authorization", "Bearer t")
        .header("x-k", "1")
        .build()
        .expect("valid");
    let ok = [
        any,
        ("access-control-allow-headers", "authorization, x-k"),
        ("access-control-allow-methods", "POST"),
    ];
    let (verdict, sent) = run(&post, |req| {
        match (req.method().as_str(), req.uri().host()) {
            ("OPTIONS", _) => (204, answer(&ok)),
            (_, Some("api.example")) => {
                (303, answer(&[("location", "https://other.example/r"), any]))
            }
            _ => (200, answer(&[any])),
        }
    });
    assert!(verdict.is_allowed(), "{verdict}");
    let methods: Vec<&str> = sent.iter().map(|r| r.method().as_str()).collect();
    assert_eq!(methods, ["OPTIONS", "POST", "OPTIONS", "GET"]);
    let last = sent[3].headers();
    assert!(!last.contains_key("content-type"));
    assert!(!last.contains_key("authorization"));
    assert_eq!(sent[2].headers()["access-control-request-headers"], "x-k");
}

#[test]
fn same_origin_requests_are_not_cors() {
    let request = FetchRequest::builder("https://app.example/me", APP)
        .method("PUT")
        .header("x-custom", "1")
        .cookie("s=1")
        .build()
        .expect("valid");
    assert!(!request.plan().cross_origin);
    let (verdict, sent) = run(&request, |_| {
        (200, answer(&[("x-custom", "2"), ("set-cookie", "a=b")]))
    });
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].headers()["cookie"], "s=1");
    assert_eq!(sent[0].headers()["sec-fetch-site"], "same-origin");
    let readable = verdict.readable().expect("allowed");
    assert!(readable.headers.contains_key("x-custom"));
    assert!(!readable.headers.contains_key("set-cookie"));
}

#[test]
fn non_http_and_network_errors() {
    let request = FetchRequest::builder("ftp://files.example/x", APP)
        .build()
        .expect("valid");
    let exchange = Exchange::new(&request);
    assert!(exchange.next_request().is_none());
    assert_eq!(
        exchange.finish().reason().map(BlockReason::firefox_key),
        Some("CORSRequestNotHttp")
    );

    let request = FetchRequest::builder(API, APP)
        .method("PUT")
        .build()
        .expect("valid");
    let mut exchange = Exchange::new(&request);
    exchange.fail("connection refused");
    let verdict = exchange.finish();
    assert!(matches!(
        verdict.outcome(),
        Outcome::Error {
            stage: Stage::Preflight,
            ..
        }
    ));
    assert!(verdict.preflight_sent());
    assert_eq!(verdict.engine(Engine::Safari), &EngineOutcome::Error);
}

#[test]
fn each_engine_words_its_own_first_reason() {
    let request = FetchRequest::builder(API, APP)
        .method("PUT")
        .build()
        .expect("valid");
    let (verdict, _) = run(&request, |_| (404, HeaderMap::new()));
    let EngineOutcome::Blocked(firefox) = verdict.engine(Engine::Firefox) else {
        panic!("firefox allowed it")
    };
    assert_eq!(
        firefox.firefox_message(),
        "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource \
         at https://api.example/items. (Reason: CORS header \u{2018}Access-Control-Allow-Origin\u{2019} \
         missing). Status code: 404."
    );
    let EngineOutcome::Blocked(safari) = verdict.engine(Engine::Safari) else {
        panic!("safari allowed it")
    };
    assert_eq!(
        safari.reason,
        BlockReason::PreflightStatus(StatusCode::NOT_FOUND)
    );
    assert_eq!(
        safari.safari_message(),
        "Preflight response is not successful. Status code: 404 Fetch API cannot load \
         https://api.example/items due to access control checks."
    );
}

#[test]
fn urls_are_sent_as_the_url_standard_serializes_them() {
    // What the page passes to fetch(), what goes on the wire, what the messages quote.
    let cases = [
        (
            "http://127.0.0.1:8080/search?q=a b",
            "http://127.0.0.1:8080/search?q=a%20b",
            "127.0.0.1:8080",
            "http://127.0.0.1:8080/search?q=a%20b",
        ),
        (
            "https://api.example/caf\u{e9}/items?q=\u{ef}",
            "https://api.example/caf%C3%A9/items?q=%C3%AF",
            "api.example",
            "https://api.example/caf%C3%A9/items?q=%C3%AF",
        ),
        (
            "https://\u{f1}and\u{fa}.test:8443/api/v0/../items#top",
            "https://xn--and-6ma2c.test:8443/api/items",
            "xn--and-6ma2c.test:8443",
            "https://xn--and-6ma2c.test:8443/api/items#top",
        ),
        (
            "HTTPS://API.example:443\\a\\.\\b",
            "https://api.example/a/b",
            "api.example",
            "https://api.example/a/b",
        ),
    ];
    for (input, sent, host, quoted) in cases {
        let request = FetchRequest::builder(input, APP).build().expect(input);
        assert_eq!(request.url(), quoted, "{input:?}");
        let (verdict, requests) = run(&request, |_| (200, HeaderMap::new()));
        assert_eq!(requests[0].uri(), sent, "{input:?}");
        assert_eq!(requests[0].headers()["host"], host, "{input:?}");
        let Outcome::Blocked(blocked) = verdict.outcome() else {
            panic!("{input:?}: no ACAO, yet {verdict:?}");
        };
        assert!(
            blocked
                .to_string()
                .starts_with(&format!("Access to fetch at '{quoted}' from origin")),
            "{input:?}: {blocked}"
        );
    }
    let idna = FetchRequest::builder("https://api.example/", "http://\u{f1}and\u{fa}.test:3000")
        .build()
        .expect("an IDNA origin");
    assert_eq!(idna.origin(), "http://xn--and-6ma2c.test:3000");
}

#[test]
fn relative_redirects_resolve_dot_segments_and_keep_the_fragment() {
    let request = FetchRequest::builder("https://api.example/a/b/start#top", APP)
        .build()
        .expect("valid");
    let (verdict, sent) = run(&request, |req| match req.uri().path() {
        "/a/b/start" => (
            302,
            answer(&[
                ("access-control-allow-origin", APP),
                ("location", "../c/./end?x=1 2"),
            ]),
        ),
        _ => (200, HeaderMap::new()),
    });
    let targets: Vec<String> = sent.iter().map(|r| r.uri().to_string()).collect();
    assert_eq!(
        targets,
        [
            "https://api.example/a/b/start",
            "https://api.example/a/c/end?x=1%202"
        ]
    );
    assert_eq!(
        verdict.to_string(),
        "Access to fetch at 'https://api.example/a/c/end?x=1%202#top' (redirected from \
         'https://api.example/a/b/start#top') from origin 'https://app.example' has been blocked \
         by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested \
         resource."
    );
}

#[test]
fn fetch_metadata_goes_only_to_potentially_trustworthy_urls() {
    let cases = [
        ("https://api.example/", Some("cross-site")),
        ("https://api.app.example/", Some("same-site")),
        ("http://api.example/", None),
        ("http://xn--and-6ma2c.test:8080/", None),
        ("http://localhost:8080/", Some("cross-site")),
        ("http://api.localhost/", Some("cross-site")),
        ("http://127.0.0.1:8080/", Some("cross-site")),
        ("http://[::1]:8080/", Some("cross-site")),
    ];
    for (url, site) in cases {
        let request = FetchRequest::builder(url, APP).build().expect(url);
        let sent = Exchange::new(&request).next_request().expect("a request");
        let headers = sent.headers();
        assert_eq!(
            headers
                .get("sec-fetch-site")
                .map(|v| v.to_str().expect("ASCII")),
            site,
            "{url}"
        );
        assert_eq!(
            headers.contains_key("sec-fetch-mode"),
            site.is_some(),
            "{url}"
        );
        assert_eq!(
            headers.contains_key("sec-fetch-dest"),
            site.is_some(),
            "{url}"
        );
        assert_eq!(headers["origin"], APP, "{url}");
    }
    // Chromium's preflights carry `Sec-Fetch-Mode` (only) even to a URL that is not
    // potentially trustworthy; its actual requests carry none.
    let request = FetchRequest::builder("http://api.example/", APP)
        .method("PUT")
        .build()
        .expect("valid");
    let (_, sent) = run(&request, |_| {
        (
            204,
            answer(&[
                ("access-control-allow-origin", APP),
                ("access-control-allow-methods", "PUT"),
            ]),
        )
    });
    let metadata: Vec<Vec<&str>> = sent
        .iter()
        .map(|r| {
            r.headers()
                .keys()
                .map(HeaderName::as_str)
                .filter(|n| n.starts_with("sec-fetch-"))
                .collect()
        })
        .collect();
    assert_eq!(metadata, [vec!["sec-fetch-mode"], vec![]]);
}

mod arbitrary_answers {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::from("*")),
            Just(String::from(APP)),
            Just(String::from("null")),
            Just(String::from("true")),
            Just(String::from("PUT, x-api-key")),
            Just(String::from("/next")),
            Just(String::from("https://u:p@api.example/")),
            "[ -~]{0,40}",
        ]
    }

    proptest! {
        /// Whatever the server answers, the exchange ends, within the redirect bound, with a
        /// verdict whose stage and reason agree with its outcome.
        #[test]
        fn any_answer_ends_in_a_consistent_verdict(
            method in prop_oneof![Just("GET"), Just("PUT"), Just("patch"), Just("POST")],
            custom in any::<bool>(),
            include in any::<bool>(),
            answers in proptest::collection::vec(
                (100u16..600, proptest::collection::vec((0usize..6, value()), 0..6)),
                1..8,
            ),
        ) {
            let names = [
                "access-control-allow-origin",
                "access-control-allow-credentials",
                "access-control-allow-methods",
                "access-control-allow-headers",
                "location",
                "access-control-expose-headers",
            ];
            let mut builder = FetchRequest::builder(API, APP).method(method);
            if custom {
                builder = builder.header("x-api-key", "k");
            }
            if include {
                builder = builder.credentials(Credentials::Include);
            }
            let request = builder.build().expect("valid");
            let mut exchange = Exchange::new(&request);
            let mut steps = 0;
            while exchange.next_request().is_some() {
                let (status, lines) = &answers[steps % answers.len()];
                let mut headers = HeaderMap::new();
                for (name, value) in lines {
                    if let Ok(value) = HeaderValue::from_str(value) {
                        headers.append(names[*name], value);
                    }
                }
                exchange.receive(StatusCode::from_u16(*status).expect("status"), &headers);
                steps += 1;
                prop_assert!(steps <= 2 * (MAX_REDIRECTS + 1), "the exchange does not end");
            }
            let verdict = exchange.finish();
            match verdict.outcome() {
                Outcome::Allowed(_) => prop_assert!(verdict.stage().is_none()),
                Outcome::Blocked(blocked) => {
                    prop_assert_eq!(verdict.stage(), Some(blocked.stage));
                    prop_assert!(blocked.to_string().contains("has been blocked by CORS policy"));
                    prop_assert!(verdict.checks().iter().any(|c| !c.ok()));
                }
                Outcome::Error { .. } => prop_assert!(false, "no failure was reported"),
            }
            // An engine is never stricter than the standard.
            if verdict.is_allowed() {
                for engine in Engine::ALL {
                    prop_assert_eq!(verdict.engine(engine), &EngineOutcome::Allowed);
                }
            }
        }
    }
}
