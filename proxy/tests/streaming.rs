//! 200 MB through the proxy in each direction while its memory stays bounded: the upstream,
//! the proxy and the client share this process, so a buffered body anywhere would show in the
//! resident set. Measured from /proc (Linux), never timed.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

const TOTAL: u64 = 200 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;
/// Growth of the resident set allowed while 200 MB pass: far below the body's size.
const BOUND: u64 = 64 * 1024 * 1024;

fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Samples the resident set every few milliseconds until dropped; `peak()` is the highest seen.
struct Sampler {
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    fn start() -> Self {
        let peak = Arc::new(AtomicU64::new(rss_bytes().unwrap_or(0)));
        let seen = peak.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Some(rss) = rss_bytes() {
                    seen.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        Self { peak, task }
    }

    fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_megabytes_each_way_with_bounded_memory() {
    if rss_bytes().is_none() {
        println!("notice: no /proc/self/status here; the memory bound is not measured");
    }
    let (up, _log) = upstream().await;
    let toml = format!(
        r#"
[cors]
allow_origins = ["{APP}"]
[limits]
rate_limit_per_minute = 0
max_request_body = 314572800
[[routes]]
path = "/up"
upstream = "http://{up}"
"#
    );
    let proxy = start_proxy(&toml, &[], TableResolver::default()).await;
    // Warm up connections, pools and allocator arenas before the baseline.
    assert_eq!(
        get(&proxy.url("/up/bytes/1048576"), &[]).await.body.len(),
        1048576
    );
    let baseline = rss_bytes().unwrap_or(0);
    let sampler = Sampler::start();

    // Download: counted as it arrives, never collected.
    let client = Client::builder(TokioExecutor::new()).build_http::<http_body_util::Empty<Bytes>>();
    let request = http::Request::get(proxy.url(&format!("/up/bytes/{TOTAL}")))
        .header("origin", APP)
        .body(http_body_util::Empty::new())
        .expect("request");
    let response = client.request(request).await.expect("an answer");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], APP);
    let mut body = response.into_body();
    let mut received = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("the body streams").into_data() {
            received += data.len() as u64;
        }
    }
    assert_eq!(received, TOTAL);

    // Upload: generated chunk by chunk; the upstream counts what it got.
    let chunks = (TOTAL / CHUNK as u64) as usize;
    let stream = futures_util::stream::iter(0..chunks)
        .map(|_| Ok::<_, std::io::Error>(Frame::data(Bytes::from(vec![b'u'; CHUNK]))));
    let client: Client<_, StreamBody<_>> = Client::builder(TokioExecutor::new()).build_http();
    let request = http::Request::post(proxy.url("/up/upload"))
        .header("origin", APP)
        .body(StreamBody::new(stream))
        .expect("request");
    let response = client.request(request).await.expect("an answer");
    assert_eq!(response.status(), 200);
    let counted = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(String::from_utf8_lossy(&counted), TOTAL.to_string());

    let growth = sampler.peak().saturating_sub(baseline);
    println!(
        "resident set: baseline {} MiB, peak growth {} MiB while 2 x 200 MiB passed",
        baseline >> 20,
        growth >> 20
    );
    assert!(
        growth < BOUND,
        "the resident set grew by {} MiB",
        growth >> 20
    );
}
