//! Runs the scenarios: one fresh headless Chromium per page origin, one after another, then
//! compares what each page and each server observed with the hand-written expectations.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::browser::{chromium_version, locate_chromium, Browser};
use crate::page::{self, Observed, StepSpec};
use crate::scenario::{Expect, Page, Scenario, ServerCheck};
use crate::servers::{Hits, PageServer};

/// What Chromium says, on the console, about every request it refuses for CORS reasons.
const CORS_BLOCKED: &str = "blocked by CORS policy";

/// The servers and browser a run uses, and its time limits.
pub struct Matrix {
    chromium: PathBuf,
    pages: PageServer,
    hits: Hits,
    apis: HashMap<&'static str, u16>,
    /// A page that has not finished by then is abandoned and its browser killed.
    pub page_timeout: Duration,
    /// The whole run's limit: pages still to go when it is spent are not opened, so a broken
    /// browser cannot multiply `page_timeout` by the number of pages.
    pub run_timeout: Duration,
    /// fetch() is aborted after this long, so one hung request cannot stall a page.
    pub step_timeout: Duration,
    /// After the page is done, how long to wait for console lines that explain failed fetches
    /// (they are printed asynchronously).
    pub console_grace: Duration,
}

impl Matrix {
    /// A matrix that will open pages from `pages` in the Chromium at `chromium`.
    pub fn new(chromium: PathBuf, pages: PageServer, hits: Hits) -> Self {
        Self {
            chromium,
            pages,
            hits,
            apis: HashMap::new(),
            page_timeout: Duration::from_secs(30),
            run_timeout: Duration::from_secs(60),
            step_timeout: Duration::from_secs(10),
            console_grace: Duration::from_secs(3),
        }
    }

    /// Names the API server on `port`, as scenarios refer to it.
    pub fn api(&mut self, name: &'static str, port: u16) {
        self.apis.insert(name, port);
    }

    /// `http://HOST:PORT` of a page, as the browser will send it in `Origin` (`null` for
    /// [`Page::Opaque`]).
    pub fn origin(&self, page: Page) -> String {
        match page {
            Page::Opaque => "null".to_owned(),
            _ => format!("http://{}:{}", page.host(), self.pages.port()),
        }
    }

    /// Runs every scenario, page by page, and returns the verdicts in scenario order.
    ///
    /// # Panics
    /// When a scenario names an API that was not registered with [`Matrix::api`], or its id is
    /// repeated or not URL-safe — mistakes in the test file, not outcomes.
    pub async fn run(&self, scenarios: &[Scenario]) -> Report {
        let mut seen = std::collections::HashSet::new();
        for scenario in scenarios {
            assert!(
                seen.insert(scenario.id),
                "scenario id {:?} is used twice",
                scenario.id
            );
            // Ids go into URL paths and cookie names verbatim.
            assert!(
                !scenario.id.is_empty()
                    && scenario
                        .id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "scenario id {:?} must be non-empty ASCII letters, digits, '-' or '_'",
                scenario.id
            );
        }
        let mut verdicts = Vec::new();
        let mut pages = Vec::new();
        let run_deadline = tokio::time::Instant::now() + self.run_timeout;
        for page in Page::ALL {
            let batch: Vec<&Scenario> = scenarios.iter().filter(|s| s.page == page).collect();
            if batch.is_empty() {
                continue;
            }
            let started = Instant::now();
            let deadline = run_deadline.min(tokio::time::Instant::now() + self.page_timeout);
            let (mut batch_verdicts, note) = self.run_page(page, &batch, deadline).await;
            pages.push(format!(
                "{} ({} scenarios) in {:.1} s{note}",
                self.page_url(page),
                batch.len(),
                started.elapsed().as_secs_f64()
            ));
            verdicts.append(&mut batch_verdicts);
        }
        let order: HashMap<&str, usize> = scenarios
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, i))
            .collect();
        verdicts.sort_by_key(|v| order.get(v.id).copied());
        Report { pages, verdicts }
    }

    fn page_url(&self, page: Page) -> String {
        format!(
            "http://{}:{}/{}/{}",
            page.host(),
            self.pages.port(),
            page.route(),
            page.slug()
        )
    }

    fn url(&self, scenario: &Scenario, api: &str, path: &str) -> String {
        let port = self
            .apis
            .get(api)
            .unwrap_or_else(|| panic!("scenario {:?} uses unknown api {api:?}", scenario.id));
        format!(
            "http://127.0.0.1:{port}{}",
            path.replace("{id}", scenario.id)
        )
    }

    async fn run_page(
        &self,
        page: Page,
        batch: &[&Scenario],
        deadline: tokio::time::Instant,
    ) -> (Vec<Verdict>, String) {
        let steps: Vec<StepSpec<'_>> = batch
            .iter()
            .flat_map(|scenario| {
                scenario
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(i, (fetch, expect))| StepSpec {
                        scenario: scenario.id,
                        step: i,
                        url: self.url(scenario, fetch.api, fetch.path),
                        method: fetch.method,
                        headers: &fetch.headers,
                        credentials: fetch.credentials,
                        body: fetch.body,
                        xhr_upload: fetch.xhr_upload,
                        no_cors: fetch.no_cors,
                        read: StepSpec::read_list(expect),
                    })
            })
            .collect();
        let step_timeout_ms = u64::try_from(self.step_timeout.as_millis()).unwrap_or(u64::MAX);
        let mut results = self.pages.publish(
            page.slug(),
            page::html(page.slug(), &steps, step_timeout_ms),
        );

        let launched = if tokio::time::Instant::now() >= deadline {
            Err(format!(
                "not run: run_timeout {:?} was spent",
                self.run_timeout
            ))
        } else {
            Browser::launch(&self.chromium, &self.page_url(page))
                .map_err(|err| format!("could not start {}: {err}", self.chromium.display()))
        };
        let mut browser = match launched {
            Ok(browser) => browser,
            Err(problem) => {
                let verdicts = batch
                    .iter()
                    .map(|s| Verdict {
                        problems: vec![problem.clone()],
                        ..Verdict::new(s)
                    })
                    .collect();
                return (verdicts, String::new());
            }
        };

        // Collect result lines until the page says it is done, the browser dies or time runs out.
        let mut observed: HashMap<(String, usize), Observed> = HashMap::new();
        let mut page_problems = Vec::new();
        let mut done = false;
        while !done {
            match tokio::time::timeout(Duration::from_millis(200), results.recv()).await {
                Ok(Some(line)) if line == page::DONE => done = true,
                Ok(Some(line)) => match page::parse_result(&line) {
                    Ok((scenario, step, seen)) => {
                        observed.insert((scenario, step), seen);
                    }
                    Err(problem) => page_problems.push(problem),
                },
                Ok(None) => break,
                Err(_elapsed) => {
                    if !browser.is_running() {
                        page_problems.push("Chromium exited before the page finished".to_owned());
                        break;
                    }
                    if tokio::time::Instant::now() >= deadline {
                        page_problems.push(format!(
                            "page did not finish in time (page_timeout {:?}, run_timeout {:?}); \
                             browser killed",
                            self.page_timeout, self.run_timeout
                        ));
                        break;
                    }
                }
            }
        }

        // Chromium prints the CORS reason asynchronously; wait until every failed fetch has one.
        let failed_urls: Vec<&str> = steps
            .iter()
            .filter(|s| {
                matches!(
                    observed.get(&(s.scenario.to_owned(), s.step)),
                    Some(Observed::Failed(_))
                )
            })
            .map(|s| s.url.as_str())
            .collect();
        let grace_end = Instant::now() + self.console_grace;
        let mut console = browser.console();
        while Instant::now() < grace_end
            && !failed_urls
                .iter()
                .all(|url| console.iter().any(|m| mentions(m, url)))
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
            console = browser.console();
        }
        let stderr_tail = if done {
            Vec::new()
        } else {
            browser.stderr_tail()
        };
        drop(browser);

        let verdicts = batch
            .iter()
            .map(|scenario| self.judge(scenario, &observed, &console, &page_problems, &stderr_tail))
            .collect();
        let note = if done {
            String::new()
        } else {
            " — INCOMPLETE".to_owned()
        };
        (verdicts, note)
    }

    fn judge(
        &self,
        scenario: &Scenario,
        observed: &HashMap<(String, usize), Observed>,
        console: &[String],
        page_problems: &[String],
        stderr_tail: &[String],
    ) -> Verdict {
        let mut problems = Vec::new();
        let mut reasons = Vec::new();
        let mut related = Vec::new();
        for (i, (fetch, expect)) in scenario.steps.iter().enumerate() {
            let url = self.url(scenario, fetch.api, fetch.path);
            let label = format!("step {} {} {url}", i + 1, fetch.method);
            let messages: Vec<&String> = console.iter().filter(|m| mentions(m, &url)).collect();
            related.extend(messages.iter().map(|m| (*m).clone()));
            let cors_reason = messages.iter().find(|m| m.contains(CORS_BLOCKED));
            match (expect, observed.get(&(scenario.id.to_owned(), i))) {
                (_, None) => problems.push(format!("{label}: no result from the page")),
                (Expect::Blocked, Some(Observed::Failed(_))) => match cors_reason {
                    Some(reason) => reasons.push(short_reason(reason)),
                    None => problems.push(format!(
                        "{label}: fetch failed as expected, but the console never said \
                         \"{CORS_BLOCKED}\" for it (a network error is not a CORS refusal)"
                    )),
                },
                (Expect::Blocked, Some(Observed::Readable { status, body, .. })) => problems.push(format!(
                    "{label}: expected the browser to block it, but the script read {status} {body:?}"
                )),
                (Expect::Readable { .. }, Some(Observed::Failed(error))) => {
                    problems.push(format!("{label}: expected a readable response, but fetch() failed: {error}"));
                }
                (
                    Expect::Readable { status, body, headers },
                    Some(Observed::Readable { status: got_status, body: got_body, headers: got_headers }),
                ) => {
                    if status != got_status {
                        problems.push(format!("{label}: status {got_status}, expected {status}"));
                    }
                    if body != got_body {
                        problems.push(format!("{label}: body {got_body:?}, expected {body:?}"));
                    }
                    for (name, want) in headers {
                        let got = got_headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
                        if got != *want {
                            problems.push(format!(
                                "{label}: response.headers.get({name:?}) gave {}, expected {}",
                                js_value(got),
                                js_value(*want)
                            ));
                        }
                    }
                }
            }
        }
        let hits = self.hits.of(scenario.id);
        for check in &scenario.checks {
            let ok = match check {
                ServerCheck::OptionsSeen(n) => hits.options == *n,
                ServerCheck::PreflightStatuses(statuses) => hits.options_statuses == *statuses,
                ServerCheck::InnerCalls(n) => hits.inner == *n,
            };
            if !ok {
                problems.push(format!(
                    "server check {check:?} failed: saw {} OPTIONS answered {:?}, {} inner-app call(s)",
                    hits.options, hits.options_statuses, hits.inner
                ));
            }
        }
        let context = hits
            .exchanges
            .iter()
            .map(|line| format!("on the wire: {line}"))
            .chain(page_problems.iter().map(|p| format!("page: {p}")))
            .chain(stderr_tail.iter().map(|l| format!("chromium stderr: {l}")))
            .collect();
        related.dedup();
        Verdict {
            problems,
            reasons,
            console: related,
            context,
            ..Verdict::new(scenario)
        }
    }
}

/// Whether a console message is about `url` (Chromium quotes it: `Access to fetch at 'URL' …`).
fn mentions(message: &str, url: &str) -> bool {
    message.contains(&format!("'{url}'"))
}

/// The part of a CORS console message after "blocked by CORS policy: ".
fn short_reason(message: &str) -> String {
    message
        .split_once(CORS_BLOCKED)
        .map_or(message, |(_, reason)| reason.trim_start_matches(':').trim())
        .to_owned()
}

fn js_value(value: Option<&str>) -> String {
    value.map_or_else(|| "null".to_owned(), |v| format!("{v:?}"))
}

/// The outcome of one scenario.
#[derive(Clone, Debug)]
pub struct Verdict {
    id: &'static str,
    what: &'static str,
    page: Page,
    problems: Vec<String>,
    /// Chromium's reasons for the refusals the scenario expected.
    reasons: Vec<String>,
    /// Every console message about the scenario's URLs (shown when it fails).
    console: Vec<String>,
    /// The requests as the servers saw them, and page-level trouble (shown when it fails).
    context: Vec<String>,
}

impl Verdict {
    fn new(scenario: &Scenario) -> Self {
        Self {
            id: scenario.id,
            what: scenario.what,
            page: scenario.page,
            problems: Vec::new(),
            reasons: Vec::new(),
            console: Vec::new(),
            context: Vec::new(),
        }
    }

    /// Whether the browser and the servers saw exactly what the scenario expects.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Every verdict of a run, printable as the matrix's report.
#[derive(Clone, Debug)]
pub struct Report {
    pages: Vec<String>,
    verdicts: Vec<Verdict>,
}

impl Report {
    /// `(passed, total)`.
    pub fn score(&self) -> (usize, usize) {
        let passed = self.verdicts.iter().filter(|v| v.passed()).count();
        (passed, self.verdicts.len())
    }

    /// The report: pages, one line per scenario (with Chromium's reason for each expected
    /// refusal, and with `wire` every request the servers saw), then the failures in detail.
    /// The caller prints the final score line.
    pub fn render(&self, wire: bool) -> String {
        let mut out = String::new();
        for page in &self.pages {
            out.push_str(&format!("page {page}\n"));
        }
        for verdict in &self.verdicts {
            let mark = if verdict.passed() { "ok  " } else { "FAIL" };
            out.push_str(&format!(
                "  {mark} {:<34} {:<14} {}\n",
                verdict.id,
                verdict.page.slug(),
                verdict.what
            ));
            if verdict.passed() {
                for reason in &verdict.reasons {
                    out.push_str(&format!("         blocked: {reason}\n"));
                }
                if wire {
                    for line in &verdict.context {
                        out.push_str(&format!("         {line}\n"));
                    }
                }
            }
        }
        let failed: Vec<&Verdict> = self.verdicts.iter().filter(|v| !v.passed()).collect();
        if !failed.is_empty() {
            out.push_str(&format!("\nfailing scenarios ({}):\n", failed.len()));
            for verdict in failed {
                out.push_str(&format!(
                    "\n  {} ({}): {}\n",
                    verdict.id,
                    verdict.page.slug(),
                    verdict.what
                ));
                for problem in &verdict.problems {
                    out.push_str(&format!("    - {problem}\n"));
                }
                for line in &verdict.context {
                    out.push_str(&format!("    {line}\n"));
                }
                if verdict.console.is_empty() {
                    out.push_str("    console: (nothing about these URLs)\n");
                }
                for message in &verdict.console {
                    out.push_str(&format!("    console: {message}\n"));
                }
            }
        }
        out
    }
}

/// The `main` of a matrix binary (`harness = false`): finds Chromium — required when `CI` is set
/// or `TOWER_CORS_BROWSER=require`, otherwise skipped with a notice — starts the page server and,
/// with `start`, the servers under test, runs `scenarios` and prints the report, ending with
/// `{name}: P/N scenarios passed`. `TOWER_CORS_BROWSER_WIRE=1` also lists, for passing
/// scenarios, what went over the wire.
pub fn run_main<F, Fut>(name: &str, scenarios: Vec<Scenario>, start: F) -> ExitCode
where
    F: FnOnce(Matrix, Hits) -> Fut,
    Fut: Future<Output = Matrix>,
{
    // `cargo test -- --list` (and tools such as nextest) only ask what is here.
    if std::env::args().any(|arg| arg == "--list") {
        println!("{}: test", name.replace(' ', "_"));
        return ExitCode::SUCCESS;
    }
    let required = std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var("TOWER_CORS_BROWSER").is_ok_and(|v| v == "require");
    let chromium = match locate_chromium() {
        Ok(path) => path,
        Err(why) if required => {
            println!("{name}: Chromium is required (CI or TOWER_CORS_BROWSER=require) but {why}");
            println!("{name}: install it with `bash .ci/browser-deps.sh`");
            println!("{name}: 0/0 scenarios passed (no Chromium)");
            return ExitCode::FAILURE;
        }
        Err(why) => {
            println!("notice: skipping the {name}: {why}.");
            println!("notice: install Chromium (`bash .ci/browser-deps.sh`) or set CHROMIUM=/path/to/chromium.");
            println!("{name}: skipped (no Chromium)");
            return ExitCode::SUCCESS;
        }
    };
    println!(
        "{name}: {} ({})",
        chromium_version(&chromium).unwrap_or_else(|| "unknown version".to_owned()),
        chromium.display()
    );

    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let report = runtime.block_on(async {
        let hits = Hits::default();
        let pages = PageServer::start().await.expect("page server on 127.0.0.1");
        let matrix = start(Matrix::new(chromium, pages, hits.clone()), hits).await;
        matrix.run(&scenarios).await
    });
    let wire = std::env::var_os("TOWER_CORS_BROWSER_WIRE").is_some_and(|v| !v.is_empty());
    print!("{}", report.render(wire));
    let (passed, total) = report.score();
    println!(
        "{name}: finished in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("{name}: {passed}/{total} scenarios passed");
    if passed == total && total > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
