//! Hot reload under load: policies are swapped while requests are in flight, and every response
//! must follow one whole policy, the one in force when its request arrived, never a mix.
//!
//! Policy A and policy B differ in every header they send (origins, credentials, exposed
//! headers, methods, max-age), so a response assembled from both would show. The expected
//! answer of each policy comes from the pure `CorsLayer::evaluate`.

#[path = "support/reload_race.rs"]
mod reload_race;

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::{Request, Response};
use reload_race::{connect, Answer};
use tower::{service_fn, Layer, ServiceExt};
use tower_cors::{testing, CorsLayer, Decision};

const SHARED: &str = "https://shared.example";
const ONLY_A: &str = "https://a.example";
const ONLY_B: &str = "https://b.example";

fn policy_a() -> CorsLayer {
    CorsLayer::builder()
        .allow_origins([SHARED, ONLY_A])
        .allow_credentials(true)
        .allow_methods(["PUT"])
        .allow_headers(["x-a"])
        .expose_headers(["x-a"])
        .max_age(Duration::from_secs(100))
        .build()
        .expect("policy A")
}

fn policy_b() -> CorsLayer {
    CorsLayer::builder()
        .allow_origins([SHARED, ONLY_B])
        .allow_methods(["PATCH"])
        .allow_headers(["x-b"])
        .expose_headers(["x-b"])
        .max_age(Duration::from_secs(200))
        .build()
        .expect("policy B")
}

/// What a response looks like through CORS eyes: its status and every `Access-Control-*`
/// header, sorted.
fn answer_of<B>(response: &Response<B>) -> Answer {
    let mut headers: Vec<(String, String)> = testing::access_control_headers(response.headers())
        .map(|(n, v)| (n.to_string(), v.to_str().expect("ASCII").to_owned()))
        .collect();
    headers.sort();
    (response.status().as_u16(), headers)
}

/// The answer `policy` gives to `parts`, when the inner handler answers 200.
fn expected(policy: &CorsLayer, parts: &Parts) -> Answer {
    let decision = policy.evaluate(parts);
    let status = match &decision {
        Decision::PreflightAccepted { status, .. } => status.as_u16(),
        Decision::PreflightRejected(_) => 403,
        _ => 200,
    };
    let mut headers: Vec<(String, String)> = match &decision {
        Decision::PreflightRejected(_) | Decision::ActualDenied(_) => Vec::new(),
        decided => decided
            .headers()
            .expect("decided synchronously")
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().expect("ASCII").to_owned()))
            .collect(),
    };
    headers.sort();
    (status, headers)
}

/// The requests of the load test: actual requests and preflights from origins that one,
/// the other or both policies allow.
fn requests() -> Vec<fn() -> Request<String>> {
    vec![
        || testing::actual("GET", SHARED),
        || testing::actual("POST", ONLY_A),
        || testing::actual("GET", ONLY_B),
        || testing::preflight(SHARED, "GET", &[]),
        || testing::preflight(SHARED, "PUT", &["x-a"]),
        || testing::preflight(SHARED, "PATCH", &["x-b"]),
        || testing::preflight(ONLY_A, "GET", &["x-a"]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn responses_follow_one_whole_policy_under_concurrent_reloads() {
    let (a, b) = (policy_a(), policy_b());
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
        let (a, b, handle) = (a.clone(), b.clone(), handle.clone());
        move |next_is_b: bool| handle.replace(if next_is_b { b.clone() } else { a.clone() })
    };
    let addr = reload_race::race(layer, specs, expectations, answer_of, swap).await;

    // After the load, a reload is seen by the very next request.
    handle.replace(b.clone());
    let mut sender = connect(addr).await;
    let mut request = testing::actual("GET", ONLY_B);
    request
        .headers_mut()
        .insert(http::header::HOST, addr.to_string().parse().expect("host"));
    let response = sender.send_request(request).await.expect("response");
    let (parts, _) = testing::actual::<()>("GET", ONLY_B).into_parts();
    assert_eq!(answer_of(&response), expected(&b, &parts));
}

/// Waits, yielding, until `flag` is set.
async fn wait_for(flag: &AtomicBool) {
    while !flag.load(Ordering::Acquire) {
        tokio::task::yield_now().await;
    }
}

/// A request is inside the inner service when the policy is replaced: its response still
/// follows the policy it started with; the next request follows the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_in_flight_keeps_its_policy() {
    let (layer, handle) = policy_a().into_reloadable();
    let entered = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let svc = {
        let (entered, release) = (entered.clone(), release.clone());
        layer.layer(service_fn(move |_req: Request<String>| {
            let (entered, release) = (entered.clone(), release.clone());
            async move {
                entered.store(true, Ordering::Release);
                wait_for(&release).await;
                Ok::<_, Infallible>(Response::new(String::new()))
            }
        }))
    };

    let in_flight = tokio::spawn(svc.clone().oneshot(testing::actual("GET", SHARED)));
    wait_for(&entered).await;
    handle.replace(policy_b());
    release.store(true, Ordering::Release);
    let response = in_flight.await.expect("task").expect("response");

    let (parts, _) = testing::actual::<()>("GET", SHARED).into_parts();
    assert_eq!(answer_of(&response), expected(&policy_a(), &parts));

    let response = svc
        .oneshot(testing::actual("GET", SHARED))
        .await
        .expect("response");
    assert_eq!(answer_of(&response), expected(&policy_b(), &parts));
}

/// The same while an asynchronous origin predicate is still deciding: the decision and the
/// response headers come from the policy the request started with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_async_origin_check_keeps_its_policy() {
    let entered = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let with_slow_check = {
        let (entered, release) = (entered.clone(), release.clone());
        CorsLayer::builder()
            .allow_origin_async(move |_origin, _parts| {
                let (entered, release) = (entered.clone(), release.clone());
                async move {
                    entered.store(true, Ordering::Release);
                    wait_for(&release).await;
                    true
                }
            })
            .expose_headers(["x-a"])
            .allow_credentials(true)
            .build()
            .expect("policy")
    };
    let (layer, handle) = with_slow_check.into_reloadable();
    let svc = layer.layer(service_fn(|_req: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    }));

    let in_flight = tokio::spawn(svc.clone().oneshot(testing::actual("GET", ONLY_A)));
    wait_for(&entered).await;
    // B does not allow ONLY_A at all; the request already in flight must not notice.
    handle.replace(policy_b());
    release.store(true, Ordering::Release);
    let response = in_flight.await.expect("task").expect("response");
    let (status, headers) = answer_of(&response);
    assert_eq!(status, 200);
    assert_eq!(
        headers,
        [
            (
                "access-control-allow-credentials".to_owned(),
                "true".to_owned()
            ),
            ("access-control-allow-origin".to_owned(), ONLY_A.to_owned()),
            ("access-control-expose-headers".to_owned(), "x-a".to_owned()),
        ]
    );

    let response = svc
        .oneshot(testing::actual("GET", ONLY_A))
        .await
        .expect("response");
    assert_eq!(answer_of(&response), (200, Vec::new()));
}

/// An invalid policy is refused by `reload` and the running one stays.
#[tokio::test]
async fn invalid_reload_keeps_the_running_policy() {
    let (layer, handle) = policy_a().into_reloadable();
    let svc = layer.layer(service_fn(|_req: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    let err = handle
        .reload(CorsLayer::builder().allow_origins(["https://b.example/"]))
        .unwrap_err();
    assert_eq!(err.problems().len(), 1);
    let response = svc
        .oneshot(testing::actual("GET", ONLY_A))
        .await
        .expect("response");
    let (parts, _) = testing::actual::<()>("GET", ONLY_A).into_parts();
    assert_eq!(answer_of(&response), expected(&policy_a(), &parts));
}
