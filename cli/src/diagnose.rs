//! Names the usual root cause of a refused or failed exchange and the server-side fix, both as
//! raw headers and as the `CorsBuilder` call.

use cors_browser_model::{BlockReason, Credentials, FetchRequest, Outcome, Stage, Verdict};
use http::HeaderMap;

use crate::check::Hop;

/// A root cause and its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// What is wrong, in plain words.
    pub cause: String,
    /// Header lines the server should send.
    pub headers: Vec<String>,
    /// The `CorsBuilder` call that sends them.
    pub builder: Option<String>,
    /// A fix that is not about headers (routing, layer order, redirects).
    pub other: Option<String>,
}

impl Diagnosis {
    fn new(cause: impl Into<String>) -> Self {
        Diagnosis {
            cause: cause.into(),
            headers: Vec::new(),
            builder: None,
            other: None,
        }
    }

    fn headers<const N: usize>(mut self, lines: [String; N]) -> Self {
        self.headers.extend(lines);
        self
    }

    fn builder(mut self, call: impl Into<String>) -> Self {
        self.builder = Some(call.into());
        self
    }

    fn other(mut self, fix: impl Into<String>) -> Self {
        self.other = Some(fix.into());
        self
    }

    /// The whole fix on one line, for `--json`.
    pub fn fix_line(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(other) = &self.other {
            parts.push(other.clone());
        }
        if !self.headers.is_empty() {
            parts.push(format!("send {}", self.headers.join(" and ")));
        }
        if let Some(call) = &self.builder {
            parts.push(format!("with tower-cors: {call}"));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// The `CorsBuilder` call that lists `origin`, as fixes spell it.
pub(crate) fn allow_origins_call(origin: &str) -> String {
    format!("CorsLayer::builder().allow_origins([\"{origin}\"])")
}

/// The answer headers, and the `CorsBuilder` call, that allow exactly `request`.
fn complete_fix(request: &FetchRequest) -> (Vec<String>, String) {
    let plan = request.plan();
    let origin = request.origin();
    let mut headers = vec![format!("Access-Control-Allow-Origin: {origin}")];
    let mut call = allow_origins_call(origin);
    if !plan.method_safelisted {
        headers.push(format!(
            "Access-Control-Allow-Methods: {}",
            request.method()
        ));
        call += &format!(".allow_methods([\"{}\"])", request.method());
    }
    if !plan.unsafe_headers.is_empty() {
        let names: Vec<&str> = plan
            .unsafe_headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        headers.push(format!(
            "Access-Control-Allow-Headers: {}",
            names.join(", ")
        ));
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        call += &format!(".allow_headers([{}])", quoted.join(", "));
    }
    if request.credentials() == Credentials::Include {
        headers.push(String::from("Access-Control-Allow-Credentials: true"));
        headers.push(String::from("Vary: Origin"));
        call += ".allow_credentials(true)";
    }
    (headers, call)
}

fn has_cors_headers(headers: &HeaderMap) -> bool {
    headers
        .keys()
        .any(|name| name.as_str().starts_with("access-control-"))
}

/// The cause and fix of `verdict`, or `None` when it is allowed.
pub fn diagnose(request: &FetchRequest, verdict: &Verdict, hops: &[Hop]) -> Option<Diagnosis> {
    let origin = request.origin();
    let include = request.credentials() == Credentials::Include;
    let blocked = match verdict.outcome() {
        Outcome::Allowed(_) => return None,
        Outcome::Error { message, .. } => {
            return Some(
                Diagnosis::new(format!(
                    "not a CORS problem: the request did not complete ({message})"
                ))
                .other("check the URL, that the server is up and reachable, its certificate (--cacert for a private CA)"),
            )
        }
        Outcome::Blocked(blocked) => blocked,
    };
    let answer = hops
        .iter()
        .rev()
        .find(|h| h.stage == blocked.stage && h.request.uri() == blocked.url.as_str())
        .and_then(|h| h.answer.as_ref().ok());
    let status = answer.map(|a| a.status.as_u16());
    let bare = answer.is_some_and(|a| !has_cors_headers(&a.headers));
    let allow_origin = format!("Access-Control-Allow-Origin: {origin}");
    let credentials_line = String::from("Access-Control-Allow-Credentials: true");
    let credentialed_call = format!("{}.allow_credentials(true)", allow_origins_call(origin));
    let origins_call = if include {
        credentialed_call.clone()
    } else {
        allow_origins_call(origin)
    };
    let preflight = blocked.stage == Stage::Preflight;
    let (all_headers, all_call) = complete_fix(request);
    let complete = |d: Diagnosis| Diagnosis {
        headers: all_headers.clone(),
        builder: Some(all_call.clone()),
        ..d
    };
    let diagnosis = match &blocked.reason {
        BlockReason::PreflightRedirect => {
            let location = answer
                .and_then(|a| a.headers.get(http::header::LOCATION))
                .and_then(|l| l.to_str().ok())
                .unwrap_or("elsewhere");
            Diagnosis::new(format!(
                "the preflight was redirected ({} to {location}): a trailing `/`, http→https or a login redirect on the API path; browsers never follow a preflight's redirect",
                status.unwrap_or(0)
            ))
            .other(format!("request the final URL directly, or answer OPTIONS at {} without redirecting", blocked.url))
        }
        _ if preflight && bare && status == Some(401) => complete(Diagnosis::new(
            "the preflight was answered 401 with no CORS headers: authentication runs before CORS, and preflights never carry credentials",
        )
        .other("answer OPTIONS preflights before authentication: put the CORS layer outside the auth layer (axum: `.route_layer(auth)` first, `.layer(cors)` last)")),
        _ if preflight && bare && status == Some(403) => complete(Diagnosis::new(format!(
            "the preflight was answered 403 with no CORS headers: the CORS policy refused it (the origin, method {} or a requested header is not allowed; tower-cors refuses this way), or authorization runs before CORS",
            request.method()
        ))
        .other("allow this request in the CORS policy, and answer OPTIONS preflights before any authorization check")),
        _ if preflight && bare && matches!(status, Some(404 | 405)) => complete(Diagnosis::new(format!(
            "the preflight was answered {} with no CORS headers: OPTIONS is not routed (no CORS layer, or one wrapping only handlers / the wrong router)",
            status.unwrap_or(0)
        ))
        .other("wrap the whole router with the CORS layer (`Router::layer`, outermost), not a method router's `route_layer`")),
        _ if bare && status.is_some_and(|s| s >= 500) => Diagnosis::new(format!(
            "the server failed ({}) and its error answer has no CORS headers: the CORS message hides a server error",
            status.unwrap_or(0)
        ))
        .other("look at the server's logs; make sure error answers also pass through the CORS layer"),
        BlockReason::MissingAllowOrigin if bare => complete(Diagnosis::new(
            "the answer has no CORS headers at all: no CORS middleware handled this request, or it refused the origin",
        )),
        BlockReason::MissingAllowOrigin => Diagnosis::new(
            "Access-Control-Allow-Origin is missing although other CORS headers are present",
        )
        .headers([allow_origin.clone()])
        .builder(origins_call.clone()),
        BlockReason::PreflightStatus(code) => Diagnosis::new(format!(
            "the preflight passed the origin check but answered {code}, not a 2xx"
        ))
        .other("answer OPTIONS preflights with 204 (or 200); a 5xx points at the server's logs"),
        BlockReason::WildcardWithCredentials => Diagnosis::new(
            "`Access-Control-Allow-Origin: *` cannot be used with credentials",
        )
        .headers([allow_origin.clone(), credentials_line.clone(), String::from("Vary: Origin")])
        .builder(origins_call.clone()),
        BlockReason::MultipleAllowOrigin(value) => Diagnosis::new(format!(
            "Access-Control-Allow-Origin was sent more than once or as a list ('{value}'): often both a proxy and the app add it"
        ))
        .headers([allow_origin.clone()])
        .other("send it once: remove it from the proxy (nginx `add_header`) or from the app"),
        BlockReason::AllowOriginMismatch(value) if value.trim_end_matches('/') == origin => {
            Diagnosis::new(format!("the allowed origin '{value}' has a trailing `/`; an origin never has one"))
                .headers([allow_origin.clone()])
                .builder(origins_call.clone())
        }
        BlockReason::AllowOriginMismatch(value) | BlockReason::InvalidAllowOrigin(value) => {
            Diagnosis::new(format!(
                "the server allows '{value}', not this page's origin {origin} (scheme, host and port must match exactly)"
            ))
            .headers([allow_origin.clone(), String::from("Vary: Origin")])
            .builder(origins_call.clone())
        }
        BlockReason::InvalidAllowCredentials(value) => Diagnosis::new(format!(
            "a credentialed request needs `Access-Control-Allow-Credentials: true` exactly (got '{value}')"
        ))
        .headers([credentials_line.clone()])
        .builder(credentialed_call.clone()),
        BlockReason::InvalidAllowMethods(item) => Diagnosis::new(format!(
            "Access-Control-Allow-Methods must be a comma-separated list of method names; '{item}' is not one"
        ))
        .headers([format!("Access-Control-Allow-Methods: {}", request.method())])
        .builder(format!(".allow_methods([\"{}\"])", request.method())),
        BlockReason::InvalidAllowHeaders(item) => Diagnosis::new(format!(
            "Access-Control-Allow-Headers must be a comma-separated list of header names; '{item}' is not one"
        ))
        .headers([String::from("Access-Control-Allow-Headers: <names, comma-separated>")])
        .builder(".allow_headers([...])"),
        BlockReason::MethodNotAllowed(method) => {
            let upper = method.to_ascii_uppercase();
            let mut d = Diagnosis::new(if include && *method == upper {
                format!("method {method} is not in Access-Control-Allow-Methods (`*` does not count with credentials)")
            } else if *method != upper {
                format!("method {method} is not in Access-Control-Allow-Methods; method names are case-sensitive ({method} is not {upper})")
            } else {
                format!("method {method} is not in Access-Control-Allow-Methods")
            })
            .headers([format!("Access-Control-Allow-Methods: {method}")])
            .builder(format!(".allow_methods([\"{method}\"])"));
            if *method != upper {
                d = d.other(format!("or send `{upper}` from the script"));
            }
            d
        }
        BlockReason::HeaderNotAllowed(name) => Diagnosis::new(if name == "authorization" {
            String::from("`authorization` must be listed by name in Access-Control-Allow-Headers: `*` never covers it")
        } else if include {
            format!("request header {name} is not in Access-Control-Allow-Headers (`*` does not count with credentials)")
        } else {
            format!("request header {name} is not in Access-Control-Allow-Headers")
        })
        .headers([format!("Access-Control-Allow-Headers: {name}")])
        .builder(format!(".allow_headers([\"{name}\"])")),
        BlockReason::RedirectContainsCredentials(location) => Diagnosis::new(format!(
            "the redirect to '{location}' carries a user name and password"
        ))
        .other("redirect to a URL without `user:password@`"),
        BlockReason::RequestNotHttp(scheme) => Diagnosis::new(format!(
            "CORS requests only go to http and https, not {scheme}"
        ))
        .other("use an http(s) URL"),
        BlockReason::InvalidRedirectLocation(location) => Diagnosis::new(format!(
            "the redirect's Location '{location}' is not a URL"
        ))
        .other("send an absolute or valid relative URL in Location"),
        BlockReason::TooManyRedirects => {
            Diagnosis::new("more than 20 redirects: a redirect loop").other("fix the redirect loop")
        }
        _ => Diagnosis::new(blocked.reason.to_string()),
    };
    let location = answer
        .filter(|a| a.status.is_redirection())
        .and_then(|a| a.headers.get(http::header::LOCATION))
        .and_then(|l| l.to_str().ok());
    Some(match location {
        Some(location) if blocked.stage == Stage::Actual => Diagnosis {
            cause: format!(
                "{} — on the redirect response ({} to {location}): every hop of a CORS request needs the CORS headers",
                diagnosis.cause,
                status.unwrap_or(0)
            ),
            other: Some(format!(
                "send the CORS headers on the redirect too, or have the page request {location} directly"
            )),
            ..diagnosis
        },
        _ => diagnosis,
    })
}
