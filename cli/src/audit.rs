//! `cors audit`: probes your own API for the well-known CORS misconfigurations by sending crafted
//! `Origin`s (with and without a cookie) and reading which ones the answers allow.
//!
//! Each probe is a plain cross-site `GET`, sent twice: without credentials and with a dummy
//! `Cookie` (some servers only reflect for sessions). A probe origin that the answer allows is a
//! finding; it is *credentialed* when the answer also carries
//! `Access-Control-Allow-Credentials: true`, so an attacker's page could read authenticated
//! responses.

use std::process::ExitCode;

use clap::Args;
use http::{HeaderMap, HeaderValue, Request};
use serde_json::json;

use crate::diagnose::allow_origins_call;
use crate::net::{Answer, Client, NetArgs};

const EXAMPLES: &str = "\
Examples:
  cors audit https://api.example.com/me --origin https://app.example.com
  cors audit https://localhost:8443/ --origin https://localhost:3000 --cacert dev-ca.pem --json

Exit status: 0 no credentialed finding, 1 a credentialed finding, 2 the audit could not run.";

/// Arguments of `cors audit`.
#[derive(Debug, Clone, Args)]
#[command(after_help = EXAMPLES)]
pub struct AuditArgs {
    /// An endpoint of your API.
    pub url: String,
    /// An origin the API is meant to allow; the probes are built around it.
    #[arg(long, value_name = "ALLOWED_ORIGIN")]
    pub origin: String,
    /// Print `{"findings": [...]}` instead of text.
    #[arg(long)]
    pub json: bool,
    // `--cacert`, `--timeout`.
    #[command(flatten)]
    pub net: NetArgs,
}

/// One misconfiguration found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// A stable id: `origin-reflected`, `null-origin-allowed`, `prefix-match`, `suffix-match`,
    /// `unescaped-dot`, `http-origin-trusted`, `special-character-underscore`,
    /// `special-character-backtick`, `wildcard-with-credentials`.
    pub id: &'static str,
    /// The `Origin` sent.
    pub origin: String,
    /// Whether credentialed reads are allowed from it.
    pub credentialed: bool,
    /// `high` (credentialed), `medium` or `low`.
    pub risk: &'static str,
    /// What to change.
    pub fix: String,
}

/// What the audit found.
#[derive(Debug, Clone, Default)]
pub struct AuditReport {
    /// Every finding.
    pub findings: Vec<Finding>,
    /// Whether the allowed origin itself was allowed (if not, `--origin` is probably wrong).
    pub baseline_allowed: bool,
    /// Why the audit could not run.
    pub error: Option<String>,
}

impl AuditReport {
    /// 0 no credentialed finding, 1 a credentialed finding, 2 could not run.
    pub fn exit_code(&self) -> u8 {
        if self.error.is_some() {
            2
        } else if self.findings.iter().any(|f| f.credentialed) {
            1
        } else {
            0
        }
    }

    /// The `--json` object.
    pub fn to_json(&self) -> serde_json::Value {
        let findings: Vec<serde_json::Value> = self
            .findings
            .iter()
            .map(|f| {
                json!({"id": f.id, "origin": f.origin, "credentialed": f.credentialed, "risk": f.risk, "fix": f.fix})
            })
            .collect();
        let mut object = json!({ "findings": findings });
        if let Some(error) = &self.error {
            object["error"] = json!(error);
        }
        object
    }
}

/// The crafted origins for `allowed` (`scheme://host[:port]`), each with its id.
pub fn probes(allowed: &str) -> Vec<(&'static str, String)> {
    let (scheme, rest) = allowed.split_once("://").unwrap_or(("https", allowed));
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (host, format!(":{port}"))
        }
        _ => (rest, String::new()),
    };
    let mut probes = vec![
        (
            "origin-reflected",
            format!("{scheme}://cors-audit.evil.test"),
        ),
        ("null-origin-allowed", String::from("null")),
    ];
    // Text glued to an IPv6 literal makes no host at all: those probes would test nothing.
    let ipv6 = host.starts_with('[');
    if !ipv6 {
        probes.push(("prefix-match", format!("{scheme}://{host}.evil.test{port}")));
        probes.push(("suffix-match", format!("{scheme}://evil{host}{port}")));
    }
    let is_ip = ipv6 || host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if !is_ip {
        if let Some(dot) = host.find('.') {
            probes.push((
                "unescaped-dot",
                format!("{scheme}://{}x{}{port}", &host[..dot], &host[dot + 1..]),
            ));
        }
    }
    if scheme == "https" {
        probes.push(("http-origin-trusted", format!("http://{host}{port}")));
    }
    if !ipv6 {
        probes.push((
            "special-character-underscore",
            format!("{scheme}://{host}_.evil.test{port}"),
        ));
        probes.push((
            "special-character-backtick",
            format!("{scheme}://{host}`.evil.test{port}"),
        ));
    }
    probes
}

fn fix_for(id: &str, allowed: &str) -> String {
    let list = allow_origins_call(allowed);
    match id {
        "origin-reflected" => format!("stop echoing any Origin: allow a fixed list ({list})"),
        "null-origin-allowed" => format!(
            "never allow `null`: sandboxed frames and file: pages send it, so anyone can ({list}; a list never matches null)"
        ),
        "http-origin-trusted" => format!(
            "allow only https:// origins: anyone on the network controls an http:// page ({list})"
        ),
        "wildcard-with-credentials" => format!(
            "`*` cannot go with credentials (browsers refuse it): list the origins and echo the one that matched with `Vary: Origin` ({list}.allow_credentials(true))"
        ),
        _ => format!(
            "compare parsed origins exactly (scheme, host, port), not by prefix, suffix or an unescaped regex ({list}, or a pattern such as https://*.example.com)"
        ),
    }
}

fn allows(headers: &HeaderMap, origin: &str) -> (bool, bool) {
    let acao: Vec<&[u8]> = headers
        .get_all("access-control-allow-origin")
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    let allowed = acao.len() == 1 && acao[0] == origin.as_bytes();
    let credentials = headers
        .get("access-control-allow-credentials")
        .is_some_and(|v| v.as_bytes() == b"true");
    (allowed, credentials)
}

/// Sends the probe from `origin`, with a cookie or without.
async fn send_probe(
    client: &Client,
    url: &http::Uri,
    origin: &str,
    cookie: bool,
) -> Result<Answer, String> {
    client.send(probe_request(url, origin, cookie)?).await
}

fn probe_request(url: &http::Uri, origin: &str, cookie: bool) -> Result<Request<()>, String> {
    let authority = url.authority().ok_or("the URL has no host")?;
    let mut request = Request::get(url.clone())
        .header("host", authority.as_str())
        .header("accept", "*/*")
        .header("origin", origin)
        .header("sec-fetch-mode", "cors")
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-dest", "empty");
    if cookie {
        request = request.header("cookie", "cors-audit=1");
    }
    request
        .body(())
        .map_err(|e| format!("origin {origin:?} cannot be sent: {e}"))
}

/// Runs the audit (in the current tokio runtime).
pub async fn audit(args: &AuditArgs) -> AuditReport {
    let fail = |error: String| AuditReport {
        error: Some(error),
        ..AuditReport::default()
    };
    // Read as a browser reads it (percent-encoding, IDNA, dot segments), fragment left out.
    let url: http::Uri = match url::Url::parse(&args.url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            match url[..url::Position::AfterQuery].parse() {
                Ok(uri) => uri,
                Err(e) => return fail(format!("URL {:?} cannot be sent: {e}", args.url)),
            }
        }
        Ok(_) => return fail(format!("URL {:?} is not an http(s) URL", args.url)),
        Err(e) => {
            return fail(format!(
                "URL {:?} is not an absolute http(s) URL: {e}",
                args.url
            ))
        }
    };
    let origin = args.origin.trim_end_matches('/');
    if !origin.contains("://")
        || origin
            .split_once("://")
            .is_some_and(|(_, r)| r.contains('/'))
    {
        return fail(format!(
            "--origin {:?} is not an origin (`scheme://host[:port]`)",
            args.origin
        ));
    }
    let client = match args.net.client() {
        Ok(client) => client,
        Err(e) => return fail(e),
    };
    let mut report = AuditReport::default();

    let mut wildcard = false;
    for cookie in [false, true] {
        let answer = match send_probe(&client, &url, origin, cookie).await {
            Ok(answer) => answer,
            Err(e) => return fail(e),
        };
        let (allowed, _) = allows(&answer.headers, origin);
        report.baseline_allowed |= allowed;
        let (star, credentials) = allows(&answer.headers, "*");
        wildcard |= star && credentials;
    }
    if wildcard {
        report.findings.push(Finding {
            id: "wildcard-with-credentials",
            origin: origin.to_owned(),
            credentialed: false,
            risk: "low",
            fix: fix_for("wildcard-with-credentials", origin),
        });
    }

    for (id, probe) in probes(origin) {
        let mut found: Option<bool> = None;
        for cookie in [false, true] {
            let answer = match send_probe(&client, &url, &probe, cookie).await {
                Ok(answer) => answer,
                Err(e) => return fail(e),
            };
            let (allowed, credentials) = allows(&answer.headers, &probe);
            if allowed {
                found = Some(found.unwrap_or(false) || credentials);
            }
        }
        if let Some(credentialed) = found {
            let risk = if credentialed {
                "high"
            } else if matches!(id, "origin-reflected" | "null-origin-allowed") {
                "medium"
            } else {
                "low"
            };
            report.findings.push(Finding {
                id,
                origin: probe,
                credentialed,
                risk,
                fix: fix_for(id, origin),
            });
        }
    }
    report
}

/// `cors audit`: prints the findings and returns the exit status.
pub fn run(args: AuditArgs) -> ExitCode {
    let runtime = match crate::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let report = runtime.block_on(audit(&args));
    if args.json {
        println!("{}", report.to_json());
    } else if let Some(error) = &report.error {
        eprintln!("cors: {error}");
    } else {
        if !report.baseline_allowed {
            println!(
                "note: {} itself is not allowed by {}; is --origin right?",
                args.origin, args.url
            );
        }
        if report.findings.is_empty() {
            println!("no finding: none of the crafted origins is allowed");
        }
        for f in &report.findings {
            println!(
                "[{}] {}: origin {} is allowed{}\n    fix: {}",
                f.risk,
                f.id,
                f.origin,
                if f.credentialed {
                    " with credentials"
                } else {
                    ""
                },
                f.fix
            );
        }
    }
    ExitCode::from(report.exit_code())
}
