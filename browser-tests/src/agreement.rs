//! Runs a list of single fetch() calls in one headless-Chromium page and reports, for each,
//! whether the script could read the response and the "blocked by CORS policy" console line
//! Chromium printed for it — what `cors check` and `testing::fetch` are compared against.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::browser::Browser;
use crate::page::{self, Observed, StepSpec};
use crate::scenario::Credentials;
use crate::servers::PageServer;

/// One fetch() to run in the page.
#[derive(Debug, Clone)]
pub struct Probe {
    /// An id, unique in the batch (letters, digits, `-`).
    pub id: String,
    /// The URL, as the script passes it to fetch().
    pub url: String,
    /// A part of its console line no other probe's has: the URL as Chromium quotes it
    /// (`'http://…'`), or the `:port/` of a server only this probe uses.
    pub console_key: String,
    /// `fetch`'s method.
    pub method: &'static str,
    /// Headers the script sets.
    pub headers: Vec<(&'static str, &'static str)>,
    /// `fetch`'s credentials mode.
    pub credentials: Credentials,
    /// Whether a blocked fetch leaves a "blocked by CORS policy" line to wait for: false for
    /// one that fails before CORS is considered (a refused certificate prints none).
    pub cors_console: bool,
}

/// What Chromium did with one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The script read the response.
    pub readable: bool,
    /// The console line that says why it was blocked, if one mentions the probe's URL.
    pub console: Option<String>,
}

/// The origin the probes run from: the loopback page of `pages`.
pub fn page_origin(pages: &PageServer) -> String {
    format!("http://127.0.0.1:{}", pages.port())
}

/// Runs `probes` in order in a fresh headless Chromium at `chromium`, from [`page_origin`].
/// Chromium accepts, besides certificates it trusts anyway, exactly those whose
/// SubjectPublicKeyInfo's SHA-256 (base64) is in `trusted_spki` (see
/// [`Browser::launch_trusting`]), and resolves host names by `host_resolver_rules` when given.
/// `Err` when the browser could not start or the page did not finish within `timeout`.
pub async fn run_in_chromium(
    chromium: &Path,
    pages: &PageServer,
    probes: &[Probe],
    trusted_spki: &[String],
    host_resolver_rules: Option<&str>,
    timeout: Duration,
) -> Result<Vec<Seen>, String> {
    const BATCH: &str = "agreement";
    let steps: Vec<StepSpec<'_>> = probes
        .iter()
        .map(|p| StepSpec {
            scenario: &p.id,
            step: 0,
            url: p.url.clone(),
            method: p.method,
            headers: &p.headers,
            credentials: p.credentials,
            body: None,
            xhr_upload: false,
            no_cors: false,
            read: Vec::new(),
        })
        .collect();
    let mut results = pages.publish(BATCH, page::html(BATCH, &steps, 10_000));
    let url = format!("{}/page/{BATCH}", page_origin(pages));
    let mut browser = Browser::launch_trusting(chromium, &url, trusted_spki, host_resolver_rules)
        .map_err(|e| format!("could not start {}: {e}", chromium.display()))?;

    let deadline = Instant::now() + timeout;
    let mut observed = std::collections::HashMap::new();
    loop {
        match tokio::time::timeout(Duration::from_millis(200), results.recv()).await {
            Ok(Some(line)) if line == page::DONE => break,
            Ok(Some(line)) => {
                let (id, _, seen) = page::parse_result(&line)?;
                observed.insert(id, seen);
            }
            Ok(None) => return Err("the page server stopped".to_owned()),
            Err(_) if !browser.is_running() => return Err("Chromium exited early".to_owned()),
            Err(_) if Instant::now() >= deadline => {
                return Err(format!("the page did not finish within {timeout:?}"))
            }
            Err(_) => {}
        }
    }
    // Console lines arrive asynchronously: wait (a little) for one per blocked probe.
    let blocked: Vec<&Probe> = probes
        .iter()
        .filter(|p| p.cors_console && matches!(observed.get(&p.id), Some(Observed::Failed(_))))
        .collect();
    let grace = Instant::now() + Duration::from_secs(3);
    let mut console = browser.console();
    while Instant::now() < grace
        && !blocked
            .iter()
            .all(|p| console.iter().any(|m| m.contains(&p.console_key)))
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
        console = browser.console();
    }
    drop(browser);
    probes
        .iter()
        .map(|p| match observed.get(&p.id) {
            None => Err(format!("{}: no result from the page", p.id)),
            Some(seen) => Ok(Seen {
                readable: matches!(seen, Observed::Readable { .. }),
                console: console
                    .iter()
                    .find(|m| m.contains(&p.console_key) && m.contains("blocked by CORS policy"))
                    .cloned(),
            }),
        })
        .collect()
}
