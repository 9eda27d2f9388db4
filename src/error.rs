//! The configuration error: every problem `build()` found, each naming the value at fault.

use std::fmt;

/// Which list a rejected value was passed to.
///
/// ```
/// use tower_cors::{ListKind, Problem};
///
/// let err = tower_cors::CorsLayer::builder()
///     .allow_any_origin()
///     .expose_headers(["bad header"])
///     .build()
///     .unwrap_err();
/// assert!(matches!(
///     &err.problems()[0],
///     Problem::InvalidHeaderName { list: ListKind::ExposedHeaders, value } if value == "bad header"
/// ));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListKind {
    /// [`allow_origins`](crate::CorsBuilder::allow_origins).
    Origins,
    /// [`allow_methods`](crate::CorsBuilder::allow_methods).
    Methods,
    /// [`allow_headers`](crate::CorsBuilder::allow_headers).
    AllowedHeaders,
    /// [`expose_headers`](crate::CorsBuilder::expose_headers).
    ExposedHeaders,
    /// The headers declared to [`select_with`](crate::CorsSetBuilder::select_with).
    SelectorHeaders,
}

impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListKind::Origins => "allowed origin",
            ListKind::Methods => "allowed method",
            ListKind::AllowedHeaders => "allowed header",
            ListKind::ExposedHeaders => "exposed header",
            ListKind::SelectorHeaders => "selector header",
        })
    }
}

/// One problem found by [`CorsBuilder::build`](crate::CorsBuilder::build).
///
/// Every variant that concerns a configured value carries it exactly as it was passed.
///
/// ```
/// use tower_cors::Problem;
///
/// let err = tower_cors::CorsLayer::builder()
///     .allow_origins(["https://*.github.io"])
///     .allow_credentials(true)
///     .build()
///     .unwrap_err();
/// for problem in err.problems() {
///     if let Problem::PublicSuffixWildcard { value, suffix } = problem {
///         assert_eq!((value.as_str(), suffix.as_str()), ("https://*.github.io", "github.io"));
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// No origin source: no list, pattern, any-origin or predicate.
    NoOriginSource,
    /// A malformed origin.
    InvalidOrigin {
        /// The value as passed.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A malformed origin pattern (a value containing `*`).
    InvalidOriginPattern {
        /// The value as passed.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Any origin (`*`) together with credentials.
    AnyOriginWithCredentials,
    /// Exposing any header (`*`) together with credentials.
    AnyExposedHeaderWithCredentials,
    /// With credentials, an `http://` origin or pattern whose host is not loopback.
    InsecureOriginWithCredentials {
        /// The value as passed.
        value: String,
    },
    /// With credentials, a `*.` pattern whose base is a public suffix.
    PublicSuffixWildcard {
        /// The value as passed.
        value: String,
        /// The public suffix after `*.`.
        suffix: String,
    },
    /// A method name that is not an HTTP token.
    InvalidMethod {
        /// The value as passed.
        value: String,
    },
    /// `CONNECT`, `TRACE` or `TRACK`, which browsers never let a script send.
    ForbiddenMethod {
        /// The value as passed.
        value: String,
    },
    /// A header name that is not an HTTP token.
    InvalidHeaderName {
        /// The list it was passed to.
        list: ListKind,
        /// The value as passed.
        value: String,
    },
    /// A forbidden request header (which browsers never let a script set) in the allowed list.
    ForbiddenRequestHeader {
        /// The value as passed.
        value: String,
    },
    /// `set-cookie` or `set-cookie2` in the exposed list.
    ForbiddenExposedHeader {
        /// The value as passed.
        value: String,
    },
    /// A max-age over [`MAX_AGE_LIMIT`](crate::MAX_AGE_LIMIT).
    MaxAgeTooLong {
        /// The whole seconds asked for.
        seconds: u64,
    },
    /// A preflight status outside 200–299.
    InvalidPreflightStatus {
        /// The status asked for.
        status: u16,
    },
    /// An environment variable read by [`CorsConfig::merge_env`](crate::CorsConfig::merge_env)
    /// whose value cannot be parsed.
    InvalidEnvironmentVariable {
        /// The variable's full name, prefix included.
        name: String,
        /// Its value as set (non-UTF-8 bytes replaced).
        value: String,
        /// What was expected instead.
        expected: &'static str,
    },
    /// An environment variable that starts with the prefix given to
    /// [`CorsConfig::merge_env`](crate::CorsConfig::merge_env) but names no setting (a typo,
    /// most likely).
    UnknownEnvironmentVariable {
        /// The variable's full name, prefix included.
        name: String,
    },
    /// A problem of one policy of a set.
    InPolicy {
        /// The policy's name.
        policy: String,
        /// The problem.
        problem: Box<Problem>,
    },
    /// A policy set without policies.
    NoPolicies,
    /// A policy set with no selector (`select_by_*`, `select_with`).
    NoSelector,
    /// Two policies of a set with the same name.
    DuplicatePolicy {
        /// The name.
        name: String,
    },
    /// A policy name that is empty or reserved ([`UNMATCHED_POLICY`](crate::UNMATCHED_POLICY)).
    ReservedPolicyName {
        /// The name.
        name: String,
    },
    /// A fallback, host or path naming a policy the set does not have.
    UnknownPolicy {
        /// The name given.
        name: String,
        /// What named it (`the fallback`, `host "api.example.com"`, ...).
        named_by: String,
    },
    /// A host or path prefix that cannot be one.
    InvalidRoute {
        /// The value as passed.
        value: String,
        /// What was expected.
        reason: &'static str,
    },
    /// The same host or path prefix twice.
    DuplicateRoute {
        /// The value as passed.
        value: String,
    },
    /// A policy with asynchronous origin predicates in a set selected by origin, whose
    /// selection is synchronous.
    AsyncPredicateInOriginSet {
        /// The policy's name.
        policy: String,
    },
    /// A policy of a [`CorsSetConfig`](crate::CorsSetConfig) lists `hosts` or `paths` that
    /// its `select.by` does not use.
    MisplacedRoutes {
        /// The policy's name.
        policy: String,
        /// `hosts` or `paths`.
        key: &'static str,
        /// The `select.by` value.
        by: String,
    },
    /// A configuration file's value that cannot be used (a `select.by` that is not `origin`,
    /// `host` or `path`, ...).
    InvalidSetting {
        /// The setting's key.
        key: &'static str,
        /// The value as written.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NoOriginSource => f.write_str(
                "no origin is allowed: call allow_origins, allow_any_origin, allow_origin_fn or allow_origin_async",
            ),
            Problem::InvalidOrigin { value, reason } => {
                write!(f, "allowed origin {value:?} is invalid: {reason}")
            }
            Problem::InvalidOriginPattern { value, reason } => {
                write!(f, "origin pattern {value:?} is invalid: {reason}")
            }
            Problem::AnyOriginWithCredentials => f.write_str(
                "any origin (`*`) cannot be combined with credentials: browsers reject `Access-Control-Allow-Origin: *` on credentialed requests; list the origins instead",
            ),
            Problem::AnyExposedHeaderWithCredentials => f.write_str(
                "exposing any header (`*`) cannot be combined with credentials: browsers read `*` as a literal header name then; list the headers instead",
            ),
            Problem::InsecureOriginWithCredentials { value } => write!(
                f,
                "origin {value:?} is plain http and not loopback: with credentials, anyone on the network path could impersonate it (use https, or danger_allow_insecure_origins(true))"
            ),
            Problem::PublicSuffixWildcard { value, suffix } => write!(
                f,
                "origin pattern {value:?} covers every site under the public suffix {suffix:?}: with credentials, anyone could register a matching origin (list the sites, or danger_allow_public_suffix_wildcards(true))"
            ),
            Problem::InvalidMethod { value } => {
                write!(f, "allowed method {value:?} is not a valid method name (an HTTP token)")
            }
            Problem::ForbiddenMethod { value } => write!(
                f,
                "allowed method {value:?} is forbidden: browsers never let a script send CONNECT, TRACE or TRACK"
            ),
            Problem::InvalidHeaderName { list, value } => {
                write!(f, "{list} {value:?} is not a valid header name (an HTTP token)")
            }
            Problem::ForbiddenRequestHeader { value } => write!(
                f,
                "allowed header {value:?} is a forbidden request header: browsers never let a script set it"
            ),
            Problem::ForbiddenExposedHeader { value } => write!(
                f,
                "exposed header {value:?} is forbidden: browsers never let a script read cookies being set"
            ),
            Problem::MaxAgeTooLong { seconds } => write!(
                f,
                "max-age of {seconds} s is over the limit of {} s (browsers cap it lower still: Chromium at 7200 s, Firefox at 86400 s)",
                crate::MAX_AGE_LIMIT.as_secs()
            ),
            Problem::InvalidPreflightStatus { status } => {
                write!(f, "preflight status {status} is not a success status (200-299)")
            }
            Problem::InvalidEnvironmentVariable {
                name,
                value,
                expected,
            } => write!(
                f,
                "environment variable {name}={value:?} is invalid: expected {expected}"
            ),
            Problem::InPolicy { policy, problem } => write!(f, "policy {policy:?}: {problem}"),
            Problem::NoPolicies => f.write_str("the policy set has no policy: add one with policy(name, builder)"),
            Problem::NoSelector => f.write_str(
                "the policy set has no selector: call select_by_origin, select_by_host, select_by_path or select_with",
            ),
            Problem::DuplicatePolicy { name } => {
                write!(f, "policy name {name:?} is used twice: each policy needs its own name")
            }
            Problem::ReservedPolicyName { name } => write!(
                f,
                "policy name {name:?} is reserved or empty: {:?} names the policy that answers when nothing is selected",
                crate::UNMATCHED_POLICY
            ),
            Problem::UnknownPolicy { name, named_by } => {
                write!(f, "{named_by} names policy {name:?}, which is not in the set")
            }
            Problem::InvalidRoute { value, reason } => {
                write!(f, "route {value:?} is invalid: {reason}")
            }
            Problem::DuplicateRoute { value } => {
                write!(f, "route {value:?} is given twice")
            }
            Problem::AsyncPredicateInOriginSet { policy } => write!(
                f,
                "policy {policy:?} has an asynchronous origin predicate, which selection by origin cannot await (use allow_origin_fn, or select by host, path or function)"
            ),
            Problem::MisplacedRoutes { policy, key, by } => write!(
                f,
                "policy {policy:?} lists {key}, which select.by = {by:?} does not use: they would be ignored"
            ),
            Problem::InvalidSetting { key, value, expected } => {
                write!(f, "{key} = {value:?} is invalid: expected {expected}")
            }
            Problem::UnknownEnvironmentVariable { name } => write!(
                f,
                "environment variable {name} is not a CORS setting; after the prefix come only {}",
                crate::config::ENV_SETTINGS.join(", ")
            ),
        }
    }
}

/// The error returned by [`CorsBuilder::build`](crate::CorsBuilder::build): every problem in the
/// configuration, not only the first.
///
/// ```
/// let err = tower_cors::CorsLayer::builder()
///     .allow_origins(["https://example.com/", "HTTPS://EXAMPLE.ORG"])
///     .allow_methods(["TRACE"])
///     .build()
///     .unwrap_err();
/// assert_eq!(err.problems().len(), 3);
/// let text = err.to_string();
/// assert!(text.contains("\"https://example.com/\""));
/// assert!(text.contains("\"HTTPS://EXAMPLE.ORG\""));
/// assert!(text.contains("\"TRACE\""));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    problems: Vec<Problem>,
}

impl ConfigError {
    pub(crate) fn new(problems: Vec<Problem>) -> Self {
        ConfigError { problems }
    }

    /// Every problem found, in the order the values were given.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "invalid CORS configuration ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl IntoIterator for ConfigError {
    type Item = Problem;
    type IntoIter = std::vec::IntoIter<Problem>;

    fn into_iter(self) -> Self::IntoIter {
        self.problems.into_iter()
    }
}
