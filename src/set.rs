//! Policy sets: several named, whole policies and a selector that picks one per request.
//!
//! A request is answered by exactly one policy, never by a merge of several: merging lists can
//! only widen a policy (a local rule unioned with a global one), and inheriting field by field
//! lets a policy with no origins of its own silently take another's. Each member is validated
//! as a single policy is, and every problem of every member is reported at once, prefixed by
//! the member's name.
//!
//! # What a response varies with
//!
//! A shared cache (a CDN, a proxy) keys a response on its URL and on the request headers its
//! `Vary` names. Whatever picks the policy must therefore be in one of the two, or a response
//! chosen for one request is served to another (web cache poisoning):
//!
//! - **by host, by path**: both are part of every cache key; nothing is added;
//! - **by origin**: every response of the set carries `Vary: Origin`, whichever member
//!   answers, even an any-origin member that would otherwise not need it: otherwise a cached
//!   `Access-Control-Allow-Origin: *` answer could be served to a credentialed origin whose own
//!   policy says something else;
//! - **by a function**: it declares the request headers it reads, is handed a view of the
//!   request holding only those, and every response of the set names them in `Vary`.

use std::fmt;
use std::sync::Arc;

use foldhash::fast::RandomState;
use hashbrown::HashMap;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Uri};

use crate::builder::{Context, CorsBuilder};
use crate::error::{ConfigError, ListKind, Problem};
use crate::layer::CorsLayer;
use crate::lint::Warning;
use crate::policy::{Policy, RequestHead};
use crate::shadow::Shadow;

/// The name of the policy that answers a set's requests when no member was selected and no
/// fallback is set: it allows no origin.
pub const UNMATCHED_POLICY: &str = "unmatched";

/// A selector function, as given to [`CorsSetBuilder::select_with`].
type SelectFn = Arc<dyn for<'r> Fn(&SelectRequest<'r>) -> Option<&'r str> + Send + Sync>;

/// What a layer runs per request: its policies, how one is picked, and what else it does.
pub(crate) struct Engine {
    /// The members, in the order added; a set's last one is [`UNMATCHED_POLICY`].
    pub(crate) policies: Box<[Arc<Policy>]>,
    selector: Selector,
    /// The member that answers when nothing is selected: the fallback, else the last one.
    unmatched: usize,
    /// Whether some member's origin predicates need the request's `Parts`.
    needs_parts: bool,
    pub(crate) shadow: Option<Shadow>,
    /// Put a [`DecisionSummary`](crate::DecisionSummary) into response extensions.
    pub(crate) record: bool,
    pub(crate) warnings: Vec<Warning>,
}

#[derive(Clone)]
enum Selector {
    Single,
    Origin,
    /// Normalized `host[:port]` (see [`normalize_host`]) to member.
    Host(HashMap<Box<[u8]>, usize, RandomState>),
    /// Path prefixes to members, longest first.
    Path(Vec<(Box<str>, usize)>),
    With {
        headers: Box<[HeaderName]>,
        select: SelectFn,
    },
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.policies.iter().map(|p| &*p.name).collect();
        f.debug_struct("Engine")
            .field("policies", &names)
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub(crate) fn single(policy: Policy, warnings: Vec<Warning>) -> Self {
        for warning in &warnings {
            warning.emit();
        }
        Engine {
            needs_parts: policy.needs_parts(),
            policies: Box::new([Arc::new(policy)]),
            selector: Selector::Single,
            unmatched: 0,
            shadow: None,
            record: false,
            warnings,
        }
    }

    /// The only policy, when the layer does nothing but apply it (no set, no shadow, no
    /// recording): the fast path. Asked when a service is made, not per request.
    pub(crate) fn plain(&self) -> Option<&Arc<Policy>> {
        let plain =
            matches!(self.selector, Selector::Single) && self.shadow.is_none() && !self.record;
        plain.then(|| &self.policies[0])
    }

    /// The policies a selection may name, in the order added: all but a set's
    /// [`UNMATCHED_POLICY`].
    pub(crate) fn members(&self) -> &[Arc<Policy>] {
        match self.selector {
            Selector::Single => &self.policies,
            _ => &self.policies[..self.policies.len() - 1],
        }
    }

    /// Whether [`select`](Self::select) and the members' decisions need a `Parts`.
    pub(crate) fn needs_parts(&self) -> bool {
        self.needs_parts
            || self
                .shadow
                .as_ref()
                .is_some_and(|s| s.candidate().needs_parts())
    }

    /// The member that answers this request.
    #[inline]
    pub(crate) fn select<H: RequestHead>(&self, head: &H) -> usize {
        match &self.selector {
            Selector::Single => 0,
            Selector::Origin => {
                let Some(origin) = head.headers().get(header::ORIGIN) else {
                    return self.unmatched;
                };
                self.members()
                    .iter()
                    .position(|p| p.origin_matches(origin, head))
                    .unwrap_or(self.unmatched)
            }
            Selector::Host(hosts) => {
                let found = match request_host(head) {
                    // Most hosts are sent as configured: looked up as they are, not copied.
                    Some(host) if is_normal_host(host) => hosts.get(host).copied(),
                    Some(host) => find_normalized(hosts, host),
                    None => None,
                };
                found.unwrap_or(self.unmatched)
            }
            Selector::Path(prefixes) => {
                let path = head.uri().path();
                prefixes
                    .iter()
                    .find(|(prefix, _)| path_has_prefix(path, prefix))
                    .map_or(self.unmatched, |&(_, index)| index)
            }
            Selector::With { headers, select } => {
                let view = SelectRequest {
                    method: head.method(),
                    uri: head.uri(),
                    headers: head.headers(),
                    declared: headers,
                };
                match select(&view) {
                    None => self.unmatched,
                    Some(name) => self.index_of(name).unwrap_or_else(|| {
                        unknown_selection(name, &self.policies[self.unmatched].name);
                        self.unmatched
                    }),
                }
            }
        }
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.members().iter().position(|p| &*p.name == name)
    }

    /// The same policies and selection, with another shadow and recording.
    pub(crate) fn with_extras(&self, shadow: Option<Shadow>, record: bool) -> Engine {
        Engine {
            policies: self.policies.clone(),
            selector: self.selector.clone(),
            unmatched: self.unmatched,
            needs_parts: self.needs_parts,
            shadow,
            record,
            warnings: self.warnings.clone(),
        }
    }
}

#[cold]
fn unknown_selection(name: &str, fallback: &str) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        selected = name,
        fallback,
        "CORS selector function named an unknown policy; the fallback answers"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (name, fallback);
}

/// The request's host: the URI's authority (an absolute-form or HTTP/2 request), else `Host`.
fn request_host<H: RequestHead>(head: &H) -> Option<&[u8]> {
    if let Some(authority) = head.uri().authority() {
        return Some(authority.as_str().as_bytes());
    }
    head.headers().get(header::HOST).map(HeaderValue::as_bytes)
}

/// Whether `host` is its own key: lower case, no port, userinfo or trailing dot.
#[inline]
fn is_normal_host(host: &[u8]) -> bool {
    !host.is_empty()
        && host.last() != Some(&b'.')
        && !host
            .iter()
            .any(|b| b.is_ascii_uppercase() || matches!(b, b':' | b'@'))
}

#[cold]
fn find_normalized(hosts: &HashMap<Box<[u8]>, usize, RandomState>, host: &[u8]) -> Option<usize> {
    let mut buffer = [0u8; 256];
    hosts.get(normalize_host(host, &mut buffer)?).copied()
}

/// Lower-cases a `host[:port]` into `buffer`, drops a trailing dot from the host, userinfo,
/// and the ports 80 and 443 (the default ports of http and https, whichever the scheme: the
/// `Host` header does not say). `None` if it does not fit (no real host is that long).
fn normalize_host<'b>(host: &[u8], buffer: &'b mut [u8; 256]) -> Option<&'b [u8]> {
    let host = match memrchr(b'@', host) {
        Some(at) => &host[at + 1..],
        None => host,
    };
    // The port follows the last `:` outside an IPv6 literal's brackets.
    let (name, port) = match memrchr(b':', host) {
        Some(colon) if !host[colon..].contains(&b']') => (&host[..colon], &host[colon..]),
        _ => (host, &b""[..]),
    };
    let port = if port == b":80" || port == b":443" || port == b":" {
        &b""[..]
    } else {
        port
    };
    let name = name.strip_suffix(b".").unwrap_or(name);
    let len = name.len() + port.len();
    if len > buffer.len() {
        return None;
    }
    buffer[..name.len()].copy_from_slice(name);
    buffer[name.len()..len].copy_from_slice(port);
    buffer[..len].make_ascii_lowercase();
    Some(&buffer[..len])
}

fn memrchr(byte: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().rposition(|&b| b == byte)
}

/// Whether `path` is under `prefix`, on a segment boundary: `/api` covers `/api` and
/// `/api/items`, not `/apix`; `/api/` covers everything below `/api/`.
fn path_has_prefix(path: &str, prefix: &str) -> bool {
    path.starts_with(prefix)
        && (prefix.ends_with('/')
            || path.len() == prefix.len()
            || path.as_bytes()[prefix.len()] == b'/')
}

/// The part of a request a [`select_with`](CorsSetBuilder::select_with) function may read: the
/// method, the URI, and only the headers it declared (which are added to `Vary`).
///
/// ```
/// use tower_cors::CorsLayer;
///
/// let cors = CorsLayer::set()
///     .policy("acme", CorsLayer::builder().allow_origins(["https://acme.example"]))
///     .policy("globex", CorsLayer::builder().allow_origins(["https://globex.example"]))
///     .select_with(["x-tenant"], |request| {
///         // Undeclared headers are not visible: `request.header("cookie")` is `None`.
///         request.header("x-tenant")?.to_str().ok()
///     })
///     .build()?;
/// let (parts, ()) = http::Request::get("/")
///     .header("origin", "https://globex.example")
///     .header("x-tenant", "globex")
///     .body(())?
///     .into_parts();
/// let decision = cors.evaluate(&parts);
/// assert_eq!(decision.policy(), Some("globex"));
/// assert_eq!(decision.headers().unwrap().vary().unwrap(), "Origin, x-tenant");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SelectRequest<'r> {
    method: &'r Method,
    uri: &'r Uri,
    headers: &'r HeaderMap,
    declared: &'r [HeaderName],
}

impl<'r> SelectRequest<'r> {
    /// The request's method.
    pub fn method(&self) -> &'r Method {
        self.method
    }

    /// The request's URI (its path, query, and authority when the request has one).
    pub fn uri(&self) -> &'r Uri {
        self.uri
    }

    /// The first value of `name`, if the selector declared it and the request has it; `None`
    /// for a header that was not declared (it would not be in `Vary`).
    pub fn header(&self, name: &str) -> Option<&'r HeaderValue> {
        let declared = self
            .declared
            .iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(name))?;
        self.headers.get(declared)
    }
}

/// Builds a [`CorsLayer`] from several named policies and a selector. Obtained from
/// [`CorsLayer::set`].
///
/// ```
/// use tower_cors::CorsLayer;
///
/// // Credentials for the first-party app, public read access for everyone else.
/// let cors = CorsLayer::set()
///     .policy(
///         "app",
///         CorsLayer::builder()
///             .allow_origins(["https://app.example.com"])
///             .allow_credentials(true),
///     )
///     .policy("public", CorsLayer::builder().allow_any_origin())
///     .select_by_origin()
///     .build()?;
/// let (parts, ()) = http::Request::get("/")
///     .header("origin", "https://app.example.com")
///     .body(())?
///     .into_parts();
/// assert_eq!(cors.evaluate(&parts).policy(), Some("app"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a builder does nothing until `build()` is called"]
pub struct CorsSetBuilder {
    policies: Vec<(String, CorsBuilder)>,
    selector: SelectorSpec,
    fallback: Option<String>,
}

enum SelectorSpec {
    None,
    Origin,
    Host(Vec<(String, String)>),
    Path(Vec<(String, String)>),
    With(Vec<String>, SelectFn),
}

impl fmt::Debug for CorsSetBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let selector = match &self.selector {
            SelectorSpec::None => "none",
            SelectorSpec::Origin => "origin",
            SelectorSpec::Host(_) => "host",
            SelectorSpec::Path(_) => "path",
            SelectorSpec::With(..) => "function",
        };
        f.debug_struct("CorsSetBuilder")
            .field("policies", &self.policies)
            .field("selector", &selector)
            .field("fallback", &self.fallback)
            .finish()
    }
}

impl CorsLayer {
    /// Starts a policy set: several named policies and a selector. See [`CorsSetBuilder`].
    pub fn set() -> CorsSetBuilder {
        CorsSetBuilder {
            policies: Vec::new(),
            selector: SelectorSpec::None,
            fallback: None,
        }
    }
}

fn pairs<I, K, N>(routes: I) -> Vec<(String, String)>
where
    I: IntoIterator<Item = (K, N)>,
    K: AsRef<str>,
    N: AsRef<str>,
{
    routes
        .into_iter()
        .map(|(k, n)| (k.as_ref().to_owned(), n.as_ref().to_owned()))
        .collect()
}

impl CorsSetBuilder {
    /// Adds a policy under `name` (used in decisions, events, metrics and warnings). Order
    /// matters for [`select_by_origin`](Self::select_by_origin).
    pub fn policy(mut self, name: impl Into<String>, policy: CorsBuilder) -> Self {
        self.policies.push((name.into(), policy));
        self
    }

    /// Picks the first policy, in the order added, whose origins (lists, patterns, any-origin
    /// or synchronous predicates) allow the request's `Origin`. Every response of the set
    /// carries `Vary: Origin`. Members may not have asynchronous predicates (the selection
    /// is synchronous). A request without `Origin` goes to the fallback.
    ///
    /// The last selector set is the one used.
    pub fn select_by_origin(mut self) -> Self {
        self.selector = SelectorSpec::Origin;
        self
    }

    /// Picks the policy by the request's host: the URI's authority (HTTP/2, absolute-form),
    /// else the `Host` header; compared without case, a trailing dot, or the ports 80 and 443.
    /// `routes` pairs a host (`api.example.com`, `api.example.com:8443`) with a policy name;
    /// several hosts may name the same policy. Hosts are looked up in a hash table: the cost
    /// does not grow with their number.
    ///
    /// ```
    /// use tower_cors::CorsLayer;
    ///
    /// let cors = CorsLayer::set()
    ///     .policy("api", CorsLayer::builder().allow_origins(["https://app.example.com"]))
    ///     .policy("cdn", CorsLayer::builder().allow_any_origin())
    ///     .select_by_host([("api.example.com", "api"), ("static.example.com", "cdn")])
    ///     .build()?;
    /// let (parts, ()) = http::Request::get("/logo.png")
    ///     .header("host", "Static.Example.com:443")
    ///     .header("origin", "https://elsewhere.example")
    ///     .body(())?
    ///     .into_parts();
    /// assert_eq!(cors.evaluate(&parts).policy(), Some("cdn"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn select_by_host<I, K, N>(mut self, routes: I) -> Self
    where
        I: IntoIterator<Item = (K, N)>,
        K: AsRef<str>,
        N: AsRef<str>,
    {
        self.selector = SelectorSpec::Host(pairs(routes));
        self
    }

    /// Picks the policy whose path prefix is the longest that the request's path starts with,
    /// on a segment boundary (`/api` covers `/api` and `/api/items`, not `/apix`; a prefix
    /// ending in `/` covers what is below it). `routes` pairs a prefix (starting with `/`) with
    /// a policy name. Prefixes are tried longest first, one comparison each.
    pub fn select_by_path<I, K, N>(mut self, routes: I) -> Self
    where
        I: IntoIterator<Item = (K, N)>,
        K: AsRef<str>,
        N: AsRef<str>,
    {
        self.selector = SelectorSpec::Path(pairs(routes));
        self
    }

    /// Picks the policy `select` names, or the fallback when it returns `None` or a name no
    /// member has (a `tracing` warn event says so). `select` sees the method, the URI, and
    /// only the request headers listed in `headers`, and every response of the set names those
    /// headers in `Vary`: a selection that read a header a cache does not key on would let a
    /// response chosen for one request be served to another. A declared header `Vary` already
    /// names, such as `origin`, is not named again, whatever its case.
    ///
    /// See [`SelectRequest`] for an example.
    pub fn select_with<I, F>(mut self, headers: I, select: F) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
        F: for<'r> Fn(&SelectRequest<'r>) -> Option<&'r str> + Send + Sync + 'static,
    {
        let headers = headers.into_iter().map(|h| h.as_ref().to_owned()).collect();
        self.selector = SelectorSpec::With(headers, Arc::new(select));
        self
    }

    /// The policy that answers when the selector picks none. Without one, such requests are
    /// answered by a policy that allows no origin (named [`UNMATCHED_POLICY`]).
    pub fn fallback(mut self, name: impl Into<String>) -> Self {
        self.fallback = Some(name.into());
        self
    }

    /// Validates every policy and the selection, and compiles the set. The error lists every
    /// problem: those of each policy (prefixed by its name), then those of the set.
    ///
    /// ```
    /// use tower_cors::CorsLayer;
    ///
    /// let err = CorsLayer::set()
    ///     .policy("a", CorsLayer::builder().allow_origins(["https://a.example/"]))
    ///     .policy("b", CorsLayer::builder().allow_any_origin().allow_credentials(true))
    ///     .select_by_path([("/a", "a"), ("/b", "c")])
    ///     .build()
    ///     .unwrap_err();
    /// let text = err.to_string();
    /// assert!(text.contains("policy \"a\": allowed origin \"https://a.example/\" is invalid"));
    /// assert!(text.contains("policy \"b\": any origin (`*`) cannot be combined with credentials"));
    /// assert!(text.contains("path \"/b\" names policy \"c\", which is not in the set"));
    /// assert_eq!(err.problems().len(), 3);
    /// ```
    pub fn build(self) -> Result<CorsLayer, ConfigError> {
        let mut problems = Vec::new();
        if self.policies.is_empty() {
            problems.push(Problem::NoPolicies);
        }
        let names: Vec<String> = self.policies.iter().map(|(n, _)| n.clone()).collect();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                problems.push(Problem::DuplicatePolicy { name: name.clone() });
            } else if name == UNMATCHED_POLICY || name.is_empty() {
                problems.push(Problem::ReservedPolicyName { name: name.clone() });
            }
        }
        let index = |name: &str| names.iter().position(|n| n == name);
        let unknown = |name: &str, by: String, problems: &mut Vec<Problem>| {
            if index(name).is_none() {
                problems.push(Problem::UnknownPolicy {
                    name: name.to_owned(),
                    named_by: by,
                });
            }
        };
        if let Some(fallback) = &self.fallback {
            unknown(fallback, "the fallback".to_owned(), &mut problems);
        }

        let mut ctx_vary_origin = false;
        let mut extra_vary = Vec::new();
        let mut declared = Vec::new();
        let selector = match self.selector {
            SelectorSpec::None => {
                problems.push(Problem::NoSelector);
                Selector::Single
            }
            SelectorSpec::Origin => {
                ctx_vary_origin = true;
                for (name, policy) in &self.policies {
                    if policy.has_async_predicates() {
                        problems.push(Problem::AsyncPredicateInOriginSet {
                            policy: name.clone(),
                        });
                    }
                }
                Selector::Origin
            }
            SelectorSpec::Host(routes) => {
                let mut hosts = HashMap::with_hasher(RandomState::default());
                for (host, name) in &routes {
                    unknown(name, format!("host {host:?}"), &mut problems);
                    let mut buffer = [0u8; 256];
                    let valid = host.parse::<http::uri::Authority>().is_ok() && !host.contains('@');
                    match normalize_host(host.as_bytes(), &mut buffer) {
                        Some(key) if valid => {
                            let key: Box<[u8]> = key.into();
                            if hosts.contains_key(&key) {
                                problems.push(Problem::DuplicateRoute {
                                    value: host.clone(),
                                });
                            }
                            hosts.insert(key, index(name).unwrap_or(0));
                        }
                        _ => problems.push(Problem::InvalidRoute {
                            value: host.clone(),
                            reason: "not a host with an optional port",
                        }),
                    }
                }
                Selector::Host(hosts)
            }
            SelectorSpec::Path(routes) => {
                let mut prefixes: Vec<(Box<str>, usize)> = Vec::new();
                for (prefix, name) in &routes {
                    unknown(name, format!("path {prefix:?}"), &mut problems);
                    if !prefix.starts_with('/')
                        || prefix.parse::<http::uri::PathAndQuery>().is_err()
                        || prefix.contains(['?', '#'])
                    {
                        problems.push(Problem::InvalidRoute {
                            value: prefix.clone(),
                            reason: "a path prefix starts with `/` and has no query",
                        });
                    } else if prefixes.iter().any(|(p, _)| **p == **prefix) {
                        problems.push(Problem::DuplicateRoute {
                            value: prefix.clone(),
                        });
                    } else {
                        prefixes.push((prefix.as_str().into(), index(name).unwrap_or(0)));
                    }
                }
                // Longest first, so the first match is the longest; a stable sort keeps
                // equal lengths (which cannot both match) in the order given.
                prefixes.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
                Selector::Path(prefixes)
            }
            SelectorSpec::With(headers, select) => {
                for value in headers {
                    match HeaderName::from_bytes(value.as_bytes()) {
                        Ok(name) => {
                            if !declared.contains(&name) {
                                extra_vary.push(name.as_str().to_owned());
                                declared.push(name);
                            }
                        }
                        Err(_) => problems.push(Problem::InvalidHeaderName {
                            list: ListKind::SelectorHeaders,
                            value,
                        }),
                    }
                }
                Selector::With {
                    headers: declared.into(),
                    select,
                }
            }
        };

        let context = |name: &str| Context {
            name: Arc::from(name),
            vary_origin: ctx_vary_origin,
            extra_vary: extra_vary.clone(),
        };
        let mut policies = Vec::new();
        let mut warnings = Vec::new();
        let mut member_problems = Vec::new();
        for (name, builder) in self.policies {
            let ctx = context(&name);
            match builder.compile(&ctx) {
                Ok((policy, lints)) => {
                    warnings.extend(
                        lints
                            .into_iter()
                            .map(|lint| Warning::new(Some(ctx.name.clone()), lint)),
                    );
                    policies.push(policy);
                }
                Err(found) => {
                    member_problems.extend(found.into_iter().map(|problem| Problem::InPolicy {
                        policy: name.clone(),
                        problem: Box::new(problem),
                    }))
                }
            }
        }
        member_problems.extend(problems);
        if !member_problems.is_empty() {
            return Err(ConfigError::new(member_problems));
        }
        let unmatched = match &self.fallback {
            Some(name) => index(name).unwrap_or(policies.len()),
            None => policies.len(),
        };
        let deny = CorsBuilder::deny_all()
            .compile(&context(UNMATCHED_POLICY))
            .map_err(ConfigError::new)?
            .0;
        policies.push(deny);
        for warning in &warnings {
            warning.emit();
        }
        let needs_parts = policies.iter().any(Policy::needs_parts);
        Ok(CorsLayer::from_engine(Arc::new(Engine {
            policies: policies.into_iter().map(Arc::new).collect(),
            selector,
            unmatched,
            needs_parts,
            shadow: None,
            record: false,
            warnings,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_normalize() {
        // (as sent, key)
        let cases: &[(&str, Option<&str>)] = &[
            ("api.example.com", Some("api.example.com")),
            ("API.Example.COM", Some("api.example.com")),
            ("api.example.com.", Some("api.example.com")),
            ("api.example.com:443", Some("api.example.com")),
            ("api.example.com:80", Some("api.example.com")),
            ("api.example.com:8443", Some("api.example.com:8443")),
            ("user@api.example.com:8443", Some("api.example.com:8443")),
            ("[::1]:8080", Some("[::1]:8080")),
            ("[::1]", Some("[::1]")),
            ("[::1]:443", Some("[::1]")),
            ("example.com:", Some("example.com")),
        ];
        for (host, want) in cases {
            let mut buffer = [0u8; 256];
            let got = normalize_host(host.as_bytes(), &mut buffer);
            assert_eq!(got, want.map(str::as_bytes), "{host}");
        }
        for (host, normal) in [
            ("api.example.com", true),
            ("Api.example.com", false),
            ("api.example.com.", false),
            ("api.example.com:443", false),
            ("u@api.example.com", false),
            ("", false),
        ] {
            assert_eq!(is_normal_host(host.as_bytes()), normal, "{host}");
        }
        let long = "a".repeat(300);
        assert_eq!(normalize_host(long.as_bytes(), &mut [0u8; 256]), None);
    }

    #[test]
    fn path_prefixes_on_segment_boundaries() {
        // (path, prefix, covered)
        let cases = [
            ("/api", "/api", true),
            ("/api/items", "/api", true),
            ("/apix", "/api", false),
            ("/api/", "/api/", true),
            ("/api/x", "/api/", true),
            ("/api", "/api/", false),
            ("/", "/", true),
            ("/anything", "/", true),
            ("/ap", "/api", false),
        ];
        for (path, prefix, want) in cases {
            assert_eq!(path_has_prefix(path, prefix), want, "{path} under {prefix}");
        }
    }
}
