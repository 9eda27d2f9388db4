//! Policy sets from configuration (`[[policies]]` and `select`), and hot reload of a whole set
//! under concurrent load: every response follows one whole set, never a mix of two.
#![cfg(feature = "serde")]

#[path = "support/reload_race.rs"]
mod reload_race;

use http::request::Parts;
use http::{Request, Response};
use reload_race::Answer;
use tower_cors::{testing, CorsLayer, CorsSetConfig, Decision, Problem};

const SET_A: &str = r#"
    [select]
    by = "origin"

    [[policies]]
    name = "app"
    allow_origins = ["https://app.example.com"]
    allow_credentials = true
    allow_methods = ["PUT"]
    expose_headers = ["x-a"]
    max_age = 100

    [[policies]]
    name = "public"
    allow_origins = "*"
"#;

const SET_B: &str = r#"
    select = { by = "origin", fallback = "partner" }

    [[policies]]
    name = "partner"
    allow_origins = ["https://partner.example", "https://app.example.com"]
    allow_methods = ["PATCH"]
    expose_headers = ["x-b"]
    max_age = "200s"

    [[policies]]
    name = "public"
    allow_origins = "*"
    allow_methods = "DELETE"
    expose-headers = ["x-public"]
"#;

fn parse(text: &str) -> CorsSetConfig {
    toml::from_str(text).expect("valid TOML")
}

#[test]
fn sets_from_toml() {
    let a = parse(SET_A).build().expect("set A");
    assert_eq!(a.policy_names().collect::<Vec<_>>(), ["app", "public"]);
    let parts = testing::preflight_parts("https://app.example.com", "PUT", &[]);
    assert_eq!(a.evaluate(&parts).policy(), Some("app"));
    let parts = testing::preflight_parts("https://other.example", "PUT", &[]);
    assert_eq!(a.evaluate(&parts).policy(), Some("public"));

    let b = parse(SET_B).build().expect("set B");
    let (parts, ()) = Request::get("/").body(()).expect("request").into_parts();
    assert_eq!(b.evaluate(&parts).policy(), Some("partner"), "fallback");

    let by_path = parse(
        r#"
        select = { by = "path" }
        [[policies]]
        name = "admin"
        paths = ["/admin", "/ops/"]
        allow_origins = ["https://admin.example.com"]
        [[policies]]
        name = "rest"
        paths = ["/"]
        allow_origins = "*"
        "#,
    )
    .build()
    .expect("by path");
    for (path, want) in [
        ("/admin/x", "admin"),
        ("/ops/", "admin"),
        ("/ops", "rest"),
        ("/", "rest"),
    ] {
        let (parts, ()) = Request::get(path)
            .header("origin", "https://admin.example.com")
            .body(())
            .expect("request")
            .into_parts();
        assert_eq!(by_path.evaluate(&parts).policy(), Some(want), "{path}");
    }
}

#[test]
fn config_errors_list_every_problem() {
    let err = parse(
        r#"
        select = { by = "tenant", fallback = "nobody" }
        [[policies]]
        name = "a"
        hosts = ["a.example"]
        allow_origins = ["https://a.example/"]
        [[policies]]
        name = "a"
        allow_origins = "*"
        allow_credentials = true
        "#,
    )
    .build()
    .expect_err("invalid");
    let text = err.to_string();
    for line in [
        "policy \"a\": allowed origin \"https://a.example/\" is invalid",
        "policy \"a\": any origin (`*`) cannot be combined with credentials",
        "policy name \"a\" is used twice",
        "the fallback names policy \"nobody\"",
        "select.by = \"tenant\" is invalid: expected \"origin\", \"host\" or \"path\"",
        "policy \"a\" lists hosts, which select.by = \"tenant\" does not use",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert_eq!(err.problems().len(), 6, "{text}");
    assert!(err.problems().iter().any(|p| matches!(
        p,
        Problem::InvalidSetting {
            key: "select.by",
            ..
        }
    )));

    // Unknown keys are refused, in a policy and in `select`, naming the key.
    for (text, key) in [
        (
            "select = { by = \"origin\" }\n[[policies]]\nname = \"a\"\nallow_origin = \"*\"",
            "allow_origin",
        ),
        (
            "select = { by = \"origin\", fallbak = \"a\" }\n[[policies]]\nname = \"a\"",
            "fallbak",
        ),
        (
            "select = { by = \"origin\" }\n[[policies]]\nname = \"a\"\nhost = [\"a\"]",
            "unknown key `host` in policy \"a\"",
        ),
        ("by = \"origin\"\n[[policies]]\nname = \"a\"", "by"),
    ] {
        let err = toml::from_str::<CorsSetConfig>(text).expect_err("unknown key");
        assert!(err.to_string().contains(key), "{err}");
    }
}

/// What a response looks like through CORS eyes: status, `Access-Control-*` and `Vary`.
fn answer_of<B>(response: &Response<B>) -> Answer {
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(n, _)| n.as_str().starts_with("access-control-") || *n == "vary")
        .map(|(n, v)| (n.to_string(), v.to_str().expect("ASCII").to_owned()))
        .collect();
    headers.sort();
    (response.status().as_u16(), headers)
}

fn expected(layer: &CorsLayer, parts: &Parts) -> Answer {
    let decision = layer.evaluate(parts);
    let status = match &decision {
        Decision::PreflightAccepted { status, .. } => status.as_u16(),
        Decision::PreflightRejected(_) => 403,
        _ => 200,
    };
    let headers = decision.headers().expect("decided");
    let mut lines: Vec<(String, String)> = match &decision {
        Decision::PreflightRejected(_) | Decision::ActualDenied(_) => Vec::new(),
        _ => headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().expect("ASCII").to_owned()))
            .collect(),
    };
    if let Some(vary) = headers.vary() {
        lines.push(("vary".into(), vary.to_str().expect("ASCII").to_owned()));
    }
    lines.sort();
    (status, lines)
}

fn requests() -> Vec<fn() -> Request<String>> {
    vec![
        || testing::actual("GET", "https://app.example.com"),
        || testing::actual("GET", "https://partner.example"),
        || testing::actual("GET", "https://other.example"),
        || testing::preflight("https://app.example.com", "PUT", &[]),
        || testing::preflight("https://app.example.com", "PATCH", &[]),
        || testing::preflight("https://other.example", "DELETE", &[]),
    ]
}

/// `ReloadHandle::replace` swaps a whole set (built from configuration) atomically: while an
/// OS thread swaps set A and set B back and forth, 16 clients over HTTP each see, for every
/// request, exactly set A's or set B's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_set_reloads_under_concurrent_load() {
    let (a, b) = (
        parse(SET_A).build().expect("set A"),
        parse(SET_B).build().expect("set B"),
    );
    let specs = requests();
    let expectations: Vec<(Answer, Answer)> = specs
        .iter()
        .map(|make| {
            let (parts, _) = make().into_parts();
            (expected(&a, &parts), expected(&b, &parts))
        })
        .collect();

    let (layer, handle) = a.clone().into_reloadable();
    let swap = {
        let handle = handle.clone();
        move |next_is_b: bool| {
            // Rebuilt from the file each time, as a config watcher does.
            let text = if next_is_b { SET_B } else { SET_A };
            handle.replace(parse(text).build().expect("valid set"));
        }
    };
    reload_race::race(layer, specs, expectations, answer_of, swap).await;

    // An invalid set is refused and the running one stays.
    handle.replace(b.clone());
    let invalid = parse(&SET_A.replace("\"PUT\"", "\"TRACE\"")).build();
    assert!(invalid.is_err());
    let (parts, _) = testing::actual::<()>("GET", "https://partner.example").into_parts();
    assert_eq!(expected(&handle.current(), &parts), expected(&b, &parts));
}
