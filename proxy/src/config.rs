//! The proxy's configuration: a TOML file (or values built in code), validated as a whole so
//! that every problem is reported at once, each naming the value at fault.
//!
//! ```toml
//! listen = "127.0.0.1:8787"
//!
//! [cors]                         # tower-cors' CorsConfig; applies to every route
//! allow_origins = ["http://localhost:5173"]
//!
//! [[routes]]
//! path = "/github"               # /github/repos/x -> https://api.github.com/repos/x
//! upstream = "https://api.github.com"
//! set_headers = { authorization = "Bearer ${GITHUB_TOKEN}", user-agent = "my-app" }
//!
//! [[routes]]
//! path = "/any"                  # URL mode: /any/https://api.example.com/v1/items
//! allow_upstreams = ["api.example.com", "*.example.org"]
//! ```
//!
//! See the crate documentation for every key and its default.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};
use tower_cors::CorsConfig;

/// The default listen address of the binary.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// The whole proxy configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// Where the binary listens (default `127.0.0.1:8787`); ignored by a mounted service.
    pub listen: Option<SocketAddr>,
    /// The path the proxy is mounted under in a larger app (default: none), so rewritten
    /// `Location` headers point back through it.
    pub base_path: String,
    /// The CORS policy of every route that has no `[routes.cors]` of its own.
    pub cors: Option<CorsConfig>,
    /// Extra trust roots for upstream TLS (a PEM file), added to the Mozilla roots.
    pub ca_file: Option<PathBuf>,
    /// Peers whose `X-Forwarded-For` (the rate limit's client address) and
    /// `X-Forwarded-Proto` (the origin guard's scheme) are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// The origins the proxy is reached at when a TLS terminator or load balancer stands in
    /// front of it (`https://app.example.com`): requests from them are same-origin to the
    /// origin guard.
    pub public_origins: Vec<String>,
    /// A second listener, outside `max_connections`, for `/_cors/healthz`.
    pub admin: Option<AdminConfig>,
    /// Limits shared by every route.
    pub limits: Limits,
    /// The routes, matched by longest path prefix.
    pub routes: Vec<RouteConfig>,
}

/// The `[admin]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AdminConfig {
    /// Where the admin listener listens (`127.0.0.1:8788`).
    pub listen: SocketAddr,
}

impl AdminConfig {
    /// An admin listener on `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        Self { listen }
    }
}

/// Request limits, each with its status. See the crate documentation for the defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Limits {
    /// Largest request body in bytes (413). Default 10 MiB.
    pub max_request_body: u64,
    /// Largest request head (request line and headers) in bytes (431). Default 32 KiB.
    pub max_request_headers: usize,
    /// Upstream connect timeout, per address tried (504). Default 10 s.
    #[serde(deserialize_with = "duration")]
    pub connect_timeout: Duration,
    /// Time from sending the request to the upstream's response head (504). Default 30 s.
    #[serde(deserialize_with = "duration")]
    pub response_timeout: Duration,
    /// Requests in flight at once, bodies included; more are refused with 503. Default 512.
    pub max_concurrent_requests: usize,
    /// Requests per minute per client address (429); 0 turns the limit off. Default 600.
    pub rate_limit_per_minute: u32,
    /// Requests a client may send in a burst above the steady rate. Default 60; never less than
    /// the rate allows in 10 ms (so that very high limits never refuse for clock races).
    pub rate_limit_burst: u32,
    /// Redirects followed on the server for one request (502 beyond). Default 5.
    pub max_redirects: usize,
    /// Time a new connection has to deliver its first complete request head, whatever the
    /// protocol (HTTP/1, the HTTP/2 preface and handshake, or nothing at all); on HTTP/1 also
    /// the time for each later head, and so the idle keep-alive time (hyper has one setting
    /// for both). Past it the connection is shut down. Default 30 s.
    #[serde(deserialize_with = "duration")]
    pub request_head_timeout: Duration,
    /// A request or response body that makes no progress for this long is aborted both ways
    /// (a progress deadline, not a total one); 0 turns it off. Default 60 s.
    #[serde(deserialize_with = "duration")]
    pub body_idle_timeout: Duration,
    /// An HTTP/2 connection with no open stream for this long is shut down. Default 60 s.
    #[serde(deserialize_with = "duration")]
    pub h2_idle_timeout: Duration,
    /// Interval of the HTTP/2 pings that find dead peers. Default 20 s.
    #[serde(deserialize_with = "duration")]
    pub h2_keep_alive_interval: Duration,
    /// A ping unanswered for this long closes the HTTP/2 connection. Default 20 s.
    #[serde(deserialize_with = "duration")]
    pub h2_keep_alive_timeout: Duration,
    /// Client connections open at once; past it a new connection is answered 503 with
    /// `Connection: close` and closed. Default: `min(10000, open-file limit / 2 - 64)`, since
    /// each proxied request may hold a second descriptor upstream.
    pub max_connections: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_body: 10 * 1024 * 1024,
            max_request_headers: 32 * 1024,
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(30),
            max_concurrent_requests: 512,
            rate_limit_per_minute: 600,
            rate_limit_burst: 60,
            max_redirects: 5,
            request_head_timeout: crate::server::HEADER_READ_TIMEOUT,
            body_idle_timeout: Duration::from_secs(60),
            h2_idle_timeout: Duration::from_secs(60),
            h2_keep_alive_interval: Duration::from_secs(20),
            h2_keep_alive_timeout: Duration::from_secs(20),
            max_connections: None,
        }
    }
}

/// One route: a path prefix forwarded to one `upstream` (route mode) or, with
/// `allow_upstreams`, to the absolute URL that follows the prefix (URL mode).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RouteConfig {
    /// The path prefix, `/` or `/name` (segments, no trailing slash).
    pub path: String,
    /// Route mode: the upstream base URL; the rest of the path is appended to its path.
    pub upstream: Option<String>,
    /// URL mode: the upstreams a request may name (see [`AllowEntry`](crate::target::AllowEntry)).
    /// In route mode, where server-side redirects may lead besides the upstream itself.
    pub allow_upstreams: Vec<String>,
    /// Replaces the global `[cors]` policy for this route, as a whole.
    pub cors: Option<CorsConfig>,
    /// Request headers set by the proxy (`${VAR}` from the environment): never echoed, never logged.
    pub set_headers: BTreeMap<String, String>,
    /// Query parameters set by the proxy (`${VAR}` from the environment), replacing any the
    /// browser sent under the same name.
    pub set_query: BTreeMap<String, String>,
    /// Forward the browser's `Cookie` header (default: dropped).
    pub forward_cookies: bool,
    /// Forward the browser's `Authorization` header (default: dropped).
    pub forward_authorization: bool,
    /// Pass the upstream's `Set-Cookie` to the browser (default: dropped).
    pub return_set_cookie: bool,
    /// Send `Forwarded` and `X-Forwarded-For/-Proto/-Host` upstream (default: off; they reveal
    /// the client's address).
    pub forwarded_headers: bool,
    /// When set, only these browser request headers are forwarded (besides the proxy's own).
    pub allow_request_headers: Option<Vec<String>>,
    /// Browser request headers never forwarded.
    pub deny_request_headers: Vec<String>,
    /// Upstream response headers never passed back.
    pub deny_response_headers: Vec<String>,
    /// Follow redirects on the server (re-checked hop by hop) instead of passing them on.
    pub follow_redirects: bool,
    /// Let the SSRF guard reach loopback, private, link-local and unique-local addresses in URL
    /// mode and on followed redirects.
    pub allow_private_networks: bool,
    /// Networks always refused in URL mode and on followed redirects.
    pub deny_networks: Vec<IpNet>,
    /// The `Content-Security-Policy` stamped on proxied responses (default `sandbox`; empty: none).
    pub content_security_policy: Option<String>,
    /// Let top-level navigations (`Sec-Fetch-Mode: navigate`, `Sec-Fetch-Site: none`) through
    /// (default: 403).
    pub allow_navigation: bool,
    /// The methods forwarded (default `GET`, `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE`,
    /// `OPTIONS`); others are answered 405 with `Allow`. `TRACE`, `TRACK` and `CONNECT` are
    /// never forwarded. The CORS policy may not allow a method this list lacks.
    pub forward_methods: Option<Vec<String>>,
    /// Refuse requests with neither `Origin` nor `Sec-Fetch-Site` (curl, other servers, and
    /// browsers on non-secure origins) with 403 (default: forwarded).
    pub require_origin: bool,
    /// The browser's own headers forwarded upstream: `"origin"`, `"referer"`, `"sec-fetch"`
    /// (default: none; this wins over `allow_request_headers`).
    pub forward_browser_headers: Vec<String>,
}

impl RouteConfig {
    /// A route on `path` with every other setting at its default.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            ..Self::default()
        }
    }
}

/// Every problem found in a configuration, in the order met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfigError {
    problems: Vec<String>,
}

impl ProxyConfigError {
    pub(crate) fn new(problems: Vec<String>) -> Self {
        Self { problems }
    }

    /// The problems, one sentence each.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for ProxyConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "invalid proxy configuration: {one}"),
            many => {
                write!(f, "invalid proxy configuration: {} problems", many.len())?;
                for p in many {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ProxyConfigError {}

impl ProxyConfig {
    /// Parses a TOML document (syntax and unknown keys are reported here; the rest by
    /// [`Proxy::new`](crate::Proxy::new)).
    pub fn from_toml(text: &str) -> Result<Self, ProxyConfigError> {
        toml::from_str(text).map_err(|e| ProxyConfigError::new(vec![e.to_string()]))
    }
}

/// `${NAME}` replaced by `lookup(NAME)`; a missing variable or an unterminated `${` is a
/// problem naming it. Returns the text and the values substituted (the secrets to scrub).
pub(crate) fn substitute(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    what: &str,
    problems: &mut Vec<String>,
) -> Option<(String, Vec<String>)> {
    let mut out = String::with_capacity(text.len());
    let mut secrets = Vec::new();
    let mut rest = text;
    let mut ok = true;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            problems.push(format!("{what}: unterminated \"${{\""));
            return None;
        };
        let name = &after[..end];
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            problems.push(format!(
                "{what}: {name:?} is not an environment variable name"
            ));
            ok = false;
        } else {
            match lookup(name) {
                Some(value) => {
                    out.push_str(&value);
                    secrets.push(value);
                }
                None => {
                    problems.push(format!("{what}: environment variable {name} is not set"));
                    ok = false;
                }
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    ok.then_some((out, secrets))
}

/// A duration as a number of seconds or a string such as `"500ms"`, `"10s"`, `"2m"`.
fn duration<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }
    match Raw::deserialize(de)? {
        Raw::Secs(s) => Ok(Duration::from_secs(s)),
        Raw::Text(t) => parse_duration(&t).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{t:?} is not a duration (a number of seconds, or \"500ms\", \"10s\", \"2m\")"
            ))
        }),
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    match unit.trim() {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_table() {
        let env = |name: &str| match name {
            "TOKEN" => Some("s3cr3t".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let cases: &[(&str, Option<&str>, usize)] = &[
            ("Bearer ${TOKEN}", Some("Bearer s3cr3t"), 0),
            ("plain", Some("plain"), 0),
            ("${TOKEN}${TOKEN}", Some("s3cr3ts3cr3t"), 0),
            ("x${EMPTY}y", Some("xy"), 0),
            ("${MISSING}", None, 1),
            ("${MISSING} ${ALSO_MISSING}", None, 2),
            ("${unterminated", None, 1),
            ("${1BAD}", None, 1),
        ];
        for (text, expected, n_problems) in cases {
            let mut problems = Vec::new();
            let got = substitute(text, &env, "set_headers.x", &mut problems);
            assert_eq!(got.map(|g| g.0).as_deref(), *expected, "{text}");
            assert_eq!(problems.len(), *n_problems, "{text}: {problems:?}");
        }
        let mut problems = Vec::new();
        substitute("${MISSING_KEY}", &env, "set_query.api_key", &mut problems);
        assert!(problems[0].contains("MISSING_KEY") && problems[0].contains("set_query.api_key"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration("10h"), None);
        let limits: Limits = toml::from_str("connect_timeout = 3\nresponse_timeout = \"250ms\"")
            .expect("valid limits");
        assert_eq!(limits.connect_timeout, Duration::from_secs(3));
        assert_eq!(limits.response_timeout, Duration::from_millis(250));
    }
}
