//! Shadow evaluation, event by event: each disagreement in each direction, with its reason and
//! the policies' names, and responses identical to the enforced policy's alone. With the
//! `metrics` feature, the counters are checked against a test recorder.
#![cfg(feature = "tracing")]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex};

use http::{Method, Request, Response};
use tower::{service_fn, Layer, ServiceExt};
use tower_cors::{testing, CorsLayer};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// One event: its message and fields, as text.
type Fields = BTreeMap<String, String>;

/// A subscriber that keeps every event's fields.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<Fields>>>);

struct Collect<'a>(&'a mut Fields);

impl Visit for Collect<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Events {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::new();
        fields.insert("level".into(), event.metadata().level().to_string());
        event.record(&mut Collect(&mut fields));
        self.0.lock().expect("not poisoned").push(fields);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Events {
    /// The shadow events only (refusals also log their own `debug` events).
    fn shadow(&self) -> Vec<Fields> {
        self.0
            .lock()
            .expect("not poisoned")
            .iter()
            .filter(|f| f.get("message").is_some_and(|m| m.contains("shadow")))
            .cloned()
            .collect()
    }
}

/// Enforced now: credentials for the app, `*` for everyone else (methods: PUT for the app).
fn current() -> CorsLayer {
    CorsLayer::set()
        .policy(
            "app",
            CorsLayer::builder()
                .allow_origins(["https://app.example.com"])
                .allow_credentials(true)
                .allow_methods([Method::PUT]),
        )
        .policy("public", CorsLayer::builder().allow_any_origin())
        .select_by_origin()
        .build()
        .expect("valid set")
}

/// The candidate: the app only, but with PATCH too.
fn candidate() -> CorsLayer {
    CorsLayer::builder()
        .allow_origins(["https://app.example.com"])
        .allow_credentials(true)
        .allow_methods([Method::PUT, Method::PATCH])
        .build()
        .expect("valid candidate")
}

/// Status and every header, in order: what a client sees.
type Seen = (u16, Vec<(String, Vec<u8>)>);

fn seen<B>(response: &Response<B>) -> Seen {
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect();
    (response.status().as_u16(), headers)
}

fn run(layer: &CorsLayer, requests: Vec<Request<String>>, events: &Events) -> Vec<Seen> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    tracing::subscriber::with_default(events.clone(), || {
        requests
            .into_iter()
            .map(|request| {
                let svc = layer
                    .clone()
                    .layer(service_fn(|_req: Request<String>| async {
                        Ok::<_, Infallible>(Response::new(String::new()))
                    }));
                seen(&runtime.block_on(svc.oneshot(request)).expect("infallible"))
            })
            .collect()
    })
}

fn requests() -> Vec<Request<String>> {
    vec![
        // Both allow.
        testing::actual("GET", "https://app.example.com"),
        // Allowed now by `public`; the candidate refuses the origin.
        testing::actual("GET", "https://other.example"),
        // Refused now (`app` allows PUT only); the candidate allows PATCH.
        testing::preflight("https://app.example.com", "PATCH", &[]),
        // Both refuse (for different reasons): no disagreement.
        testing::preflight("https://other.example", "DELETE", &[]),
        // Not CORS: nothing to compare.
        Request::get("/").body(String::new()).expect("request"),
        // Allowed now by `public`; the candidate refuses the origin.
        testing::preflight("https://other.example", "GET", &[]),
    ]
}

#[test]
fn disagreements_event_by_event() {
    let events = Events::default();
    let shadowed = current().with_shadow(candidate(), 1.0);
    let with_shadow = run(&shadowed, requests(), &events);
    let without = run(&current(), requests(), &Events::default());
    assert_eq!(with_shadow, without, "shadow evaluation changed a response");

    let shadow_events = events.shadow();
    let got: Vec<Vec<(&str, &str)>> = shadow_events
        .iter()
        .map(|f| {
            [
                "level",
                "direction",
                "reason",
                "origin",
                "policy",
                "candidate",
                "detail",
            ]
            .iter()
            .map(|k| (*k, f.get(*k).map_or("", String::as_str)))
            .collect()
        })
        .collect();
    let want = vec![
        vec![
            ("level", "INFO"),
            ("direction", "would_refuse"),
            ("reason", "OriginNotAllowed"),
            ("origin", "https://other.example"),
            ("policy", "public"),
            ("candidate", "default"),
            ("detail", "origin not allowed"),
        ],
        vec![
            ("level", "INFO"),
            ("direction", "would_allow"),
            ("reason", "MethodNotAllowed"),
            ("origin", "https://app.example.com"),
            ("policy", "app"),
            ("candidate", "default"),
            ("detail", "method \"PATCH\" not allowed"),
        ],
        vec![
            ("level", "INFO"),
            ("direction", "would_refuse"),
            ("reason", "OriginNotAllowed"),
            ("origin", "https://other.example"),
            ("policy", "public"),
            ("candidate", "default"),
            ("detail", "origin not allowed"),
        ],
    ];
    assert_eq!(got, want);
}

#[test]
fn sampling_is_one_draw_per_request_and_seedable() {
    let many = || {
        (0..400)
            .map(|_| testing::actual("GET", "https://other.example"))
            .collect::<Vec<_>>()
    };
    let count = |layer: &CorsLayer| {
        let events = Events::default();
        run(layer, many(), &events);
        events.shadow().len()
    };
    assert_eq!(count(&current().with_shadow(candidate(), 0.0)), 0);
    assert_eq!(count(&current().with_shadow(candidate(), 1.0)), 400);
    let half = count(&current().with_shadow_seeded(candidate(), 0.5, 7));
    assert!((140..=260).contains(&half), "{half} of 400 sampled at 0.5");
    assert_eq!(
        count(&current().with_shadow_seeded(candidate(), 0.5, 7)),
        half,
        "same seed, same draws"
    );
    // NaN and out-of-range fractions are clamped.
    assert_eq!(count(&current().with_shadow(candidate(), f64::NAN)), 0);
    assert_eq!(count(&current().with_shadow(candidate(), 7.0)), 400);
}

/// A candidate whose only say is an asynchronous predicate is not awaited: no event, and the
/// response is the current policy's.
#[test]
fn async_candidates_are_not_awaited() {
    let events = Events::default();
    let candidate = CorsLayer::builder()
        .allow_origin_async(|_, _| async { true })
        .build()
        .expect("valid");
    let shadowed = current().with_shadow(candidate, 1.0);
    let got = run(
        &shadowed,
        vec![testing::preflight("https://app.example.com", "PATCH", &[])],
        &events,
    );
    assert_eq!(got[0].0, 403);
    assert!(events.shadow().is_empty());
}

#[cfg(feature = "metrics")]
mod metrics {
    use super::*;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    /// A counter: its name, its labels sorted, its value.
    type Counter = (String, Vec<(String, String)>, u64);

    fn counters(recorder: &DebuggingRecorder) -> Vec<Counter> {
        let mut all: Vec<_> = recorder
            .snapshotter()
            .snapshot()
            .into_vec()
            .into_iter()
            .filter_map(|(key, _, _, value)| {
                let DebugValue::Counter(n) = value else {
                    return None;
                };
                let key = key.key();
                let mut labels: Vec<(String, String)> = key
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect();
                labels.sort();
                Some((key.name().to_owned(), labels, n))
            })
            .collect();
        all.sort();
        all
    }

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn counters_against_a_test_recorder() {
        let recorder = DebuggingRecorder::new();
        let shadowed = current().with_shadow(candidate(), 1.0);
        ::metrics::with_local_recorder(&recorder, || {
            run(&shadowed, requests(), &Events::default());
        });
        let req = |kind, outcome, reason, policy| {
            (
                "cors_requests_total".to_owned(),
                labels(&[
                    ("kind", kind),
                    ("outcome", outcome),
                    ("reason", reason),
                    ("policy", policy),
                ]),
            )
        };
        let dis = |direction, reason, policy| {
            (
                "cors_shadow_disagreements_total".to_owned(),
                labels(&[
                    ("direction", direction),
                    ("reason", reason),
                    ("policy", policy),
                ]),
            )
        };
        let mut want = vec![
            (req("actual", "allowed", "none", "app"), 1),
            (req("actual", "allowed", "none", "public"), 1),
            (req("preflight", "denied", "MethodNotAllowed", "app"), 1),
            (req("preflight", "denied", "MethodNotAllowed", "public"), 1),
            (req("not_cors", "allowed", "none", "unmatched"), 1),
            (req("preflight", "allowed", "none", "public"), 1),
            // The refusing side's policy: the candidate's for would_refuse.
            (dis("would_refuse", "OriginNotAllowed", "default"), 2),
            (dis("would_allow", "MethodNotAllowed", "app"), 1),
        ]
        .into_iter()
        .map(|((name, labels), n)| (name, labels, n))
        .collect::<Vec<_>>();
        want.sort();
        assert_eq!(counters(&recorder), want);
    }

    /// No label ever carries a request's bytes: a thousand distinct origins and methods make
    /// no more series than one.
    #[test]
    fn label_cardinality_is_bounded() {
        let recorder = DebuggingRecorder::new();
        let layer = CorsLayer::builder()
            .allow_origins(["https://app.example.com"])
            .build()
            .expect("valid");
        let requests = (0..1000)
            .flat_map(|i| {
                [
                    testing::actual("GET", &format!("https://evil{i}.example")),
                    testing::preflight("https://app.example.com", &format!("X{i}"), &[]),
                    testing::preflight("https://app.example.com", "GET", &[&format!("x-h{i}")]),
                ]
            })
            .collect();
        ::metrics::with_local_recorder(&recorder, || {
            run(&layer, requests, &Events::default());
        });
        let got = counters(&recorder);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got.iter().all(|(_, _, n)| *n == 1000), "{got:?}");
    }
}

/// The other events of the layer that name a policy: refusals (`debug`), the lints at build
/// (`warn`), and a selector function naming a policy the set does not have (`warn`).
#[test]
fn events_name_the_policy() {
    let events = Events::default();
    let layer = tracing::subscriber::with_default(events.clone(), || {
        CorsLayer::set()
            .policy(
                "dev",
                CorsLayer::builder().allow_origins(["http://localhost:5173"]),
            )
            .policy("public", CorsLayer::builder().allow_any_origin())
            .select_with(["x-tenant"], |r| r.header("x-tenant")?.to_str().ok())
            .fallback("dev")
            .build()
            .expect("valid set")
    });
    let mut request = testing::preflight("http://localhost:5173", "PUT", &[]);
    request
        .headers_mut()
        .insert("x-tenant", http::HeaderValue::from_static("nobody"));
    run(&layer, vec![request], &events);
    let all = events.0.lock().expect("not poisoned").clone();
    let pick = |f: &Fields, keys: &[&str]| -> Vec<String> {
        keys.iter()
            .map(|k| f.get(*k).cloned().unwrap_or_default())
            .collect()
    };
    let got: Vec<Vec<String>> = all
        .iter()
        .map(|f| {
            pick(
                f,
                &[
                    "level", "message", "policy", "selected", "fallback", "reason",
                ],
            )
        })
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        got,
        vec![
            s(&[
                "WARN",
                "risky CORS configuration: origin \"http://localhost:5173\" is loopback, usually a development origin: any page served from the user's machine may read responses (remove it in production, or allow_loopback_origins(true) if intended)",
                "dev",
                "",
                "",
                "",
            ]),
            s(&[
                "WARN",
                "CORS selector function named an unknown policy; the fallback answers",
                "",
                "nobody",
                "dev",
                "",
            ]),
            s(&[
                "DEBUG",
                "CORS preflight refused",
                "dev",
                "",
                "",
                "method \"PUT\" not allowed",
            ]),
        ]
    );
}
