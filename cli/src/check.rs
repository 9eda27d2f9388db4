//! `cors check`: sends what a browser sends for one `fetch()` (the preflight when needed, then
//! the actual request and its redirects, each by hand), judges every answer with
//! [`cors_browser_model`], and explains the verdict with the server-side fix.

use std::process::ExitCode;

use clap::Args;
use cors_browser_model::{
    Credentials, Engine, EngineOutcome, Exchange, FetchRequest, Outcome, Stage, Verdict,
};
use http::{HeaderMap, Request};
use serde_json::{json, Value};

use crate::diagnose::{diagnose, Diagnosis};
use crate::net::{Answer, NetArgs};

const EXAMPLES: &str = "\
Examples:
  cors check https://api.example.com/items --origin https://app.example.com
  cors check https://api.example.com/items --origin https://app.example.com \\
      -X PUT -H 'Content-Type: application/json' -H 'X-Api-Key: k' --credentials
  cors check https://localhost:8443/ --origin http://localhost:3000 --cacert dev-ca.pem --json
  cors check https://api.example.com/items --origin https://app.example.com \\
      --resolve api.example.com:443:10.0.0.5     # a staging address, real Host and SNI

Exit status: 0 allowed, 1 blocked (by the Fetch standard, even where a browser would allow it),
2 the check could not run (bad arguments, connection refused, TLS error, timeout).";

/// Arguments of `cors check`.
#[derive(Debug, Clone, Args)]
#[command(after_help = EXAMPLES)]
pub struct CheckArgs {
    /// The URL the page fetches.
    pub url: String,
    /// The page's origin, e.g. `https://app.example.com` (or `null`).
    #[arg(long)]
    pub origin: String,
    /// The method (`fetch`'s `method`).
    #[arg(
        short = 'X',
        long = "request",
        value_name = "METHOD",
        default_value = "GET"
    )]
    pub method: String,
    /// A header the script sets, as `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Credentials mode `include` (default `same-origin`).
    #[arg(long)]
    pub credentials: bool,
    /// Stands for the browser's cookie jar: `name=value`, sent on the actual request only when
    /// credentials are included (a script cannot set `Cookie`).
    #[arg(long, value_name = "NAME=VALUE")]
    pub cookie: Option<String>,
    /// Print one JSON object instead of the transcript.
    #[arg(long)]
    pub json: bool,
    // `--cacert`, `--timeout`.
    #[command(flatten)]
    pub net: NetArgs,
}

/// One request sent and what came back.
#[derive(Debug, Clone)]
pub struct Hop {
    /// Preflight or actual request.
    pub stage: Stage,
    /// The URL, as the checks and messages quote it (fragment included, unlike the request).
    pub url: String,
    /// The request, exactly as sent (absolute URI).
    pub request: Request<()>,
    /// Its answer's head, or why there was none.
    pub answer: Result<Answer, String>,
}

/// Everything `cors check` found: the transcript, the verdict, the diagnosis.
#[derive(Debug)]
pub struct Report {
    /// The validated request, unless the arguments were bad.
    pub request: Option<FetchRequest>,
    /// Every request sent, in order.
    pub hops: Vec<Hop>,
    /// The verdict, unless the check could not start.
    pub verdict: Option<Verdict>,
    /// Why the check could not start (bad arguments, unreadable `--cacert`).
    pub setup_error: Option<String>,
    /// The root cause and its fix, when blocked or failed.
    pub diagnosis: Option<Diagnosis>,
}

impl Report {
    fn setup_failed(message: String) -> Self {
        Report {
            request: None,
            hops: Vec::new(),
            verdict: None,
            setup_error: Some(message),
            diagnosis: None,
        }
    }

    /// `"allowed"`, `"blocked"` or `"error"`.
    pub fn verdict_name(&self) -> &'static str {
        match self.verdict.as_ref().map(Verdict::outcome) {
            Some(Outcome::Allowed(_)) => "allowed",
            Some(Outcome::Blocked(_)) => "blocked",
            _ => "error",
        }
    }

    /// 0 allowed, 1 blocked, 2 could not run.
    pub fn exit_code(&self) -> u8 {
        match self.verdict_name() {
            "allowed" => 0,
            "blocked" => 1,
            _ => 2,
        }
    }

    /// What `engine` does: `"allowed"`, `"blocked"` or `"error"`.
    pub fn engine(&self, engine: Engine) -> &'static str {
        self.verdict
            .as_ref()
            .map_or("error", |v| v.engine(engine).as_str())
    }

    /// The one error line, when the check could not run.
    pub fn error_line(&self) -> Option<String> {
        if let Some(setup) = &self.setup_error {
            return Some(setup.clone());
        }
        match self.verdict.as_ref().map(Verdict::outcome) {
            Some(Outcome::Error { stage, message }) => Some(format!(
                "the {} request failed: {message} (a network or TLS failure, not a CORS answer)",
                stage.as_str()
            )),
            _ => None,
        }
    }

    /// The `--json` object.
    pub fn to_json(&self) -> Value {
        let verdict = self.verdict.as_ref();
        let stage = verdict.and_then(Verdict::stage).map(Stage::as_str);
        let (reason, message) = match verdict.map(Verdict::outcome) {
            Some(Outcome::Blocked(blocked)) => (
                Value::from(blocked.reason.firefox_key()),
                Value::from(blocked.to_string()),
            ),
            Some(Outcome::Allowed(_)) => (Value::Null, Value::Null),
            _ => (
                Value::from("CORSDidNotSucceed"),
                Value::from(self.error_line().unwrap_or_default()),
            ),
        };
        let mut exposed: Vec<String> = verdict
            .and_then(Verdict::readable)
            .map(|r| r.headers.keys().map(|k| k.as_str().to_owned()).collect())
            .unwrap_or_default();
        exposed.sort();
        let checks: Vec<Value> = verdict
            .map(|v| v.checks())
            .unwrap_or_default()
            .iter()
            .map(|c| {
                json!({
                    "stage": c.stage.as_str(),
                    "url": c.url,
                    "check": c.check,
                    "ok": c.ok(),
                    "reason": c.failure.as_ref().map(|r| r.firefox_key()),
                })
            })
            .collect();
        let browsers: serde_json::Map<String, Value> = Engine::ALL
            .iter()
            .map(|e| (e.as_str().to_owned(), Value::from(self.engine(*e))))
            .collect();
        let mut messages = serde_json::Map::new();
        for engine in Engine::ALL {
            let text = match verdict.map(|v| v.engine(engine)) {
                Some(EngineOutcome::Blocked(blocked)) => Value::from(blocked.message(engine)),
                _ => Value::Null,
            };
            messages.insert(engine.as_str().to_owned(), text);
        }
        json!({
            "verdict": self.verdict_name(),
            "messages": messages,
            "preflight": verdict.is_some_and(Verdict::preflight_sent),
            "stage": stage,
            "reason": reason,
            "message": message,
            "browsers": browsers,
            "fix": self.diagnosis.as_ref().and_then(Diagnosis::fix_line),
            "cause": self.diagnosis.as_ref().map(|d| d.cause.clone()),
            "exposed_headers": exposed,
            "checks": checks,
        })
    }

    /// The human transcript.
    pub fn transcript(&self) -> String {
        let mut out = String::new();
        let Some(request) = &self.request else {
            return self.setup_error.clone().unwrap_or_default();
        };
        let credentials = match request.credentials() {
            Credentials::Include => "include",
            Credentials::SameOrigin => "same-origin",
            Credentials::Omit => "omit",
        };
        out += &format!(
            "fetch({:?}, {{method: {:?}, credentials: {credentials:?}}}) from {}\n\n",
            request.url(),
            request.method(),
            request.origin()
        );
        let plan = request.plan();
        for name in &plan.ignored_headers {
            out += &format!(
                "note: {name} is a forbidden request header: a browser does not send it{}\n",
                if name == "cookie" {
                    " (use --cookie)"
                } else {
                    ""
                }
            );
        }
        if mixed_content(request) {
            out += "note: a page served over https cannot fetch an http:// URL outside loopback: \
                    browsers block that as mixed content before CORS is even considered\n";
        }
        if plan.cross_origin && args_cookie_unsent(request) {
            out += "note: --cookie is not sent: a cross-origin request carries cookies only with --credentials\n";
        }
        if !plan.cross_origin {
            out += "same-origin request: CORS does not apply\n";
        } else if plan.preflight {
            out += "preflight needed:\n";
            if !plan.method_safelisted {
                out += &format!(
                    "  - method {} is not GET, HEAD or POST (methods are case-sensitive)\n",
                    request.method()
                );
            }
            for (name, why) in &plan.unsafe_headers {
                out += &format!("  - header {name}: {}\n", why.describe());
            }
        } else {
            out += "no preflight: the method and every header are CORS-safelisted\n";
        }
        let checks = self
            .verdict
            .as_ref()
            .map(|v| v.checks())
            .unwrap_or_default();
        for hop in &self.hops {
            out += &format!(
                "\n> {} {} ({})\n",
                hop.request.method(),
                hop.request.uri(),
                hop.stage.as_str()
            );
            if let Ok(Answer {
                resolved: Some(addr),
                ..
            }) = &hop.answer
            {
                out += &format!("* connected to {addr} (--resolve)\n");
            }
            for (name, value) in hop.request.headers() {
                let shown = if name == "cookie" || name == "authorization" {
                    "<redacted>".to_owned()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                out += &format!(">   {name}: {shown}\n");
            }
            match &hop.answer {
                Ok(answer) => {
                    out += &format!("< {}\n", answer.status);
                    for (name, value) in relevant(&answer.headers) {
                        out += &format!("<   {name}: {value}\n");
                    }
                }
                Err(error) => out += &format!("! {error}\n"),
            }
            for check in checks
                .iter()
                .filter(|c| c.stage == hop.stage && c.url == hop.url)
            {
                match &check.failure {
                    None => out += &format!("  ok   {}\n", check.check),
                    Some(reason) => {
                        out += &format!("  FAIL {}: {reason}\n", check.check);
                        if !check.lenient.is_empty() {
                            let names: Vec<&str> =
                                check.lenient.iter().map(|e| e.as_str()).collect();
                            out += &format!(
                                "       (still allowed today by {}, with a deprecation warning)\n",
                                names.join(", ")
                            );
                        }
                    }
                }
            }
        }
        out += "\n";
        let Some(verdict) = &self.verdict else {
            return out;
        };
        match verdict.outcome() {
            Outcome::Allowed(readable) => {
                // `keys()` yields each name once.
                let names: Vec<&str> = readable.headers.keys().map(|k| k.as_str()).collect();
                out += &format!(
                    "verdict: ALLOWED: the script reads status {} and headers [{}]\n",
                    readable.status.as_u16(),
                    names.join(", ")
                );
            }
            Outcome::Blocked(blocked) => {
                out += &format!(
                    "verdict: BLOCKED at the {} ({})\n",
                    blocked.stage.as_str(),
                    blocked.reason.firefox_key()
                );
                out += &format!("Chromium 156 console: {blocked}\n");
                for engine in [Engine::Firefox, Engine::Safari] {
                    if let EngineOutcome::Blocked(own) = verdict.engine(engine) {
                        let line = own.message(engine);
                        out += &format!("{} console: {line}\n", engine_label(engine));
                    }
                }
            }
            Outcome::Error { .. } => {
                out += &format!(
                    "verdict: ERROR: {}\n",
                    self.error_line().unwrap_or_default()
                );
            }
        }
        let engines: Vec<String> = Engine::ALL
            .iter()
            .map(|e| {
                let outcome = verdict.engine(*e);
                match outcome {
                    EngineOutcome::Blocked(blocked) => {
                        format!("{} blocked ({})", e.as_str(), blocked.reason.firefox_key())
                    }
                    other => format!("{} {}", e.as_str(), other.as_str()),
                }
            })
            .collect();
        out += &format!("browsers: {}\n", engines.join(", "));
        if let Some(max_age) = verdict.max_age().filter(|_| verdict.is_allowed()) {
            out += &format!(
                "preflight cached for: chromium {} s, firefox {} s, safari {} s\n",
                max_age.effective(Engine::Chromium),
                max_age.effective(Engine::Firefox),
                max_age.effective(Engine::Safari)
            );
        }
        if let Some(diagnosis) = &self.diagnosis {
            out += &format!("\ncause: {}\n", diagnosis.cause);
            if let Some(other) = &diagnosis.other {
                out += &format!("fix: {other}\n");
            }
            for line in &diagnosis.headers {
                out += &format!("fix (headers):    {line}\n");
            }
            if let Some(call) = &diagnosis.builder {
                out += &format!("fix (CorsBuilder): {call}\n");
            }
        }
        out
    }
}

/// An https page fetching a URL that is not potentially trustworthy: blocked as mixed content.
fn mixed_content(request: &FetchRequest) -> bool {
    request.origin().starts_with("https://")
        && request.url().starts_with("http://")
        && !request.potentially_trustworthy()
}

/// A cookie was given, but credentials mode `same-origin` keeps it off a cross-origin request.
fn args_cookie_unsent(request: &FetchRequest) -> bool {
    request.has_cookie() && request.credentials() != Credentials::Include
}

fn engine_label(engine: Engine) -> &'static str {
    match engine {
        Engine::Chromium => "Chromium 156",
        Engine::Firefox => "Firefox",
        Engine::Safari => "Safari",
    }
}

/// The response headers that matter to CORS, as received.
fn relevant(headers: &HeaderMap) -> impl Iterator<Item = (&str, String)> {
    headers.iter().filter_map(|(name, value)| {
        let n = name.as_str();
        let shown = n.starts_with("access-control-")
            || matches!(n, "vary" | "location" | "www-authenticate" | "content-type");
        shown.then(|| (n, String::from_utf8_lossy(value.as_bytes()).into_owned()))
    })
}

/// Parses the arguments into a request description.
fn describe(args: &CheckArgs) -> Result<FetchRequest, String> {
    let mut builder = FetchRequest::builder(&args.url, &args.origin).method(&args.method);
    let mut problems = Vec::new();
    for header in &args.headers {
        match header.split_once(':') {
            Some((name, value)) => builder = builder.header(name.trim(), value.trim()),
            None => problems.push(format!("-H {header:?} is not `Name: value`")),
        }
    }
    if args.credentials {
        builder = builder.credentials(Credentials::Include);
    }
    if let Some(cookie) = &args.cookie {
        builder = builder.cookie(cookie);
    }
    match builder.build() {
        Ok(request) if problems.is_empty() => Ok(request),
        Ok(_) => Err(problems.join("; ")),
        Err(err) => {
            problems.extend(err.problems().iter().cloned());
            Err(problems.join("; "))
        }
    }
}

/// Runs the check described by `args` (in the current tokio runtime).
pub async fn check(args: &CheckArgs) -> Report {
    let request = match describe(args) {
        Ok(request) => request,
        Err(message) => return Report::setup_failed(message),
    };
    let client = match args.net.client() {
        Ok(client) => client,
        Err(message) => return Report::setup_failed(message),
    };
    let mut exchange = Exchange::new(&request);
    let mut hops = Vec::new();
    while let (Some(stage), Some(next)) = (exchange.pending(), exchange.next_request()) {
        let url = exchange.current_url();
        let answer = client.send(next.clone()).await;
        match &answer {
            Ok(a) => exchange.receive(a.status, &a.headers),
            Err(e) => exchange.fail(e.clone()),
        }
        hops.push(Hop {
            stage,
            url,
            request: next,
            answer,
        });
    }
    let verdict = exchange.finish();
    let diagnosis = diagnose(&request, &verdict, &hops);
    Report {
        request: Some(request),
        hops,
        verdict: Some(verdict),
        setup_error: None,
        diagnosis,
    }
}

/// `cors check`: prints the transcript (or `--json`) and returns the exit status.
pub fn run(args: CheckArgs) -> ExitCode {
    let runtime = match crate::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let report = runtime.block_on(check(&args));
    if args.json {
        println!("{}", report.to_json());
    } else if let Some(line) = report.error_line() {
        if report.request.is_some() {
            print!("{}", report.transcript());
        }
        eprintln!("cors: {line}");
    } else {
        print!("{}", report.transcript());
    }
    ExitCode::from(report.exit_code())
}
