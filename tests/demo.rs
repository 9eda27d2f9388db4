//! The demo (`cargo run --example demo`) end to end: it starts both servers on the addresses it
//! is given, serves the page, and answers the page's preflight with 204.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use http::{Method, Request, StatusCode};

mod common;
use common::send;

/// The example binary `cargo test` built beside this test's own binary.
fn demo_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    profile_dir
        .join("examples")
        .join(format!("demo{}", std::env::consts::EXE_SUFFIX))
}

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("local addr")
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_until_up(addr: SocketAddr) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the demo did not listen on {addr} within 10 s");
}

#[tokio::test]
async fn demo_serves_the_page_and_answers_its_preflight() {
    let binary = demo_binary();
    if !binary.exists() {
        // `cargo test` builds the examples, but `cargo test --test demo` alone does not.
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", "demo"])
            .status()
            .expect("run cargo");
        assert!(status.success(), "cargo build --example demo failed");
    }
    assert!(binary.exists(), "{} not built", binary.display());
    let (api, page) = (free_port(), free_port());
    let _demo = Running(
        Command::new(&binary)
            .env("DEMO_API_ADDR", api.to_string())
            .env("DEMO_PAGE_ADDR", page.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the demo"),
    );
    wait_until_up(api).await;
    wait_until_up(page).await;

    let page_origin = format!("http://{page}");
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/")
        .header("origin", &page_origin)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .body(String::new())
        .expect("request");
    let response = send(api, preflight).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        page_origin.as_str()
    );
    assert_eq!(
        response.headers()["access-control-allow-credentials"],
        "true"
    );

    let refused = Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/items/7")
        .header("origin", &page_origin)
        .header("access-control-request-method", "PATCH")
        .body(String::new())
        .expect("request");
    assert_eq!(send(api, refused).await.status(), StatusCode::FORBIDDEN);

    let html = send(
        page,
        Request::get("/").body(String::new()).expect("request"),
    )
    .await;
    let html = String::from_utf8_lossy(html.body());
    assert!(
        html.contains(&format!("const API = \"http://{api}\"")),
        "{html}"
    );
}
