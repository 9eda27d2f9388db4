//! Diagnostics: every refusal emits a `debug` tracing event that names the origin and, in words,
//! what was at fault.
#![cfg(feature = "tracing")]

use std::convert::Infallible;
use std::io::Write;
use std::sync::{Arc, Mutex};

use http::{Request, Response};
use tower::{service_fn, Layer, ServiceExt};
use tower_cors::CorsLayer;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged(request: Request<String>, cors: &CorsLayer) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let svc = cors
        .clone()
        .layer(service_fn(|_req: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(svc.oneshot(request)).expect("infallible");
    });
    let bytes = captured.0.lock().expect("not poisoned").clone();
    String::from_utf8(bytes).expect("utf-8 log")
}

fn preflight(origin: &str, method: &str, headers: Option<&str>, pna: bool) -> Request<String> {
    let mut builder = Request::options("/")
        .header("origin", origin)
        .header("access-control-request-method", method);
    if let Some(h) = headers {
        builder = builder.header("access-control-request-headers", h);
    }
    if pna {
        builder = builder.header("access-control-request-private-network", "true");
    }
    builder.body(String::new()).expect("valid request")
}

#[test]
fn every_refusal_is_explained_at_debug_level() {
    let cors = CorsLayer::builder()
        .allow_origins(["https://app.example.com"])
        .allow_methods(["PUT"])
        .allow_headers(["content-type"])
        .build()
        .expect("valid");
    let app = "https://app.example.com";
    let long = "x-a,".repeat(3000);
    let cases: Vec<(Request<String>, &[&str])> = vec![
        (
            preflight("https://evil.example", "PUT", None, false),
            &[
                "DEBUG",
                "CORS preflight refused",
                "origin=https://evil.example",
                "origin not allowed",
            ],
        ),
        (
            preflight(app, "PATCH", None, false),
            &[
                "CORS preflight refused",
                "origin=https://app.example.com",
                "method \"PATCH\" not allowed",
            ],
        ),
        (
            preflight(app, "PUT", Some("content-type, x-secret"), false),
            &["header \"x-secret\" not allowed"],
        ),
        (
            preflight(app, "PUT", None, true),
            &["private network access not allowed"],
        ),
        (
            preflight(app, "PUT", Some(&long), false),
            &["request headers list too long"],
        ),
        (
            Request::get("/")
                .header("origin", "https://evil.example")
                .body(String::new())
                .expect("valid"),
            &[
                "CORS request refused",
                "origin=https://evil.example",
                "origin not allowed",
            ],
        ),
    ];
    for (request, needles) in cases {
        let log = logged(request, &cors);
        for needle in needles {
            assert!(log.contains(needle), "{needle:?} not in {log:?}");
        }
    }
    let allowed = preflight(app, "PUT", Some("content-type"), false);
    assert_eq!(
        logged(allowed, &cors),
        "",
        "an accepted preflight logs nothing"
    );
}
