//! Build-time lints: settings that are legal, and that `build()` accepts, but that are risky
//! enough to say so. [`CorsLayer::warnings`](crate::CorsLayer::warnings) returns them, and each
//! is emitted as a `tracing` warn event when the layer is built.

use std::fmt;
use std::sync::Arc;

/// A risky but legal setting, found when a policy was built.
///
/// ```
/// use tower_cors::{CorsLayer, Lint};
///
/// let cors = CorsLayer::builder()
///     .allow_origins(["http://intranet.example", "https://*.github.io"])
///     .build()?;
/// let lints: Vec<&Lint> = cors.warnings().iter().map(|w| w.lint()).collect();
/// assert!(matches!(lints[0], Lint::InsecureOrigin { value } if value == "http://intranet.example"));
/// assert!(matches!(lints[1], Lint::PublicSuffixWildcard { suffix, .. } if suffix == "github.io"));
/// # Ok::<(), tower_cors::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lint {
    /// Credentials allowed for origins chosen by a predicate, which no build-time check can
    /// prove safe: a predicate that returns `true` too often (a suffix check without a dot
    /// boundary, a reflected origin) hands any site the user's session.
    OriginPredicateWithCredentials {
        /// How many origin predicates (synchronous and asynchronous) the policy has.
        predicates: usize,
    },
    /// Any origin together with private-network access: every public web site may then reach
    /// this (private-network or loopback) service from a visitor's browser.
    AnyOriginWithPrivateNetwork,
    /// A `*.` pattern over a public suffix (`https://*.github.io`), without credentials:
    /// anyone can register a site it matches and read the responses a browser gets.
    PublicSuffixWildcard {
        /// The pattern as passed.
        value: String,
        /// The public suffix after `*.`.
        suffix: String,
    },
    /// A plain-`http` origin that is not loopback, without credentials: anyone on the network
    /// path to that site can inject script into it and read what it may read.
    InsecureOrigin {
        /// The origin or pattern as passed.
        value: String,
    },
    /// A loopback origin (`http://localhost:3000`), most often a development origin shipped
    /// to production; silenced by
    /// [`allow_loopback_origins(true)`](crate::CorsBuilder::allow_loopback_origins).
    LoopbackOrigin {
        /// The origin or pattern as passed.
        value: String,
    },
    /// A `danger_*` switch is on.
    DangerSwitch {
        /// The builder method, as named in code.
        name: &'static str,
    },
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lint::OriginPredicateWithCredentials { predicates } => write!(
                f,
                "{predicates} origin predicate{} combined with credentials: no check can prove a predicate safe; one that allows too much hands any site the user's session (list the origins if you can)",
                if *predicates == 1 { "" } else { "s" }
            ),
            Lint::AnyOriginWithPrivateNetwork => f.write_str(
                "any origin (`*`) combined with private network access: every public web site may reach this private service from a visitor's browser (list the origins)",
            ),
            Lint::PublicSuffixWildcard { value, suffix } => write!(
                f,
                "origin pattern {value:?} covers every site under the public suffix {suffix:?}: anyone can register a matching origin and read responses (list the sites)"
            ),
            Lint::InsecureOrigin { value } => write!(
                f,
                "origin {value:?} is plain http and not loopback: anyone on the network path to it can inject script that reads responses (use https)"
            ),
            Lint::LoopbackOrigin { value } => write!(
                f,
                "origin {value:?} is loopback, usually a development origin: any page served from the user's machine may read responses (remove it in production, or allow_loopback_origins(true) if intended)"
            ),
            Lint::DangerSwitch { name } => {
                write!(f, "{name}(true) is in use: a safety check is switched off")
            }
        }
    }
}

/// A [`Lint`] found in one policy, with the policy's name when it is a member of a set.
///
/// Its `Display` names the policy and the value:
///
/// ```
/// let cors = tower_cors::CorsLayer::set()
///     .policy("dev", tower_cors::CorsLayer::builder().allow_origins(["http://localhost:5173"]))
///     .select_by_origin()
///     .build()?;
/// assert_eq!(
///     cors.warnings()[0].to_string(),
///     "policy \"dev\": origin \"http://localhost:5173\" is loopback, usually a development \
///      origin: any page served from the user's machine may read responses (remove it in \
///      production, or allow_loopback_origins(true) if intended)"
/// );
/// # Ok::<(), tower_cors::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    policy: Option<Arc<str>>,
    lint: Lint,
}

impl Warning {
    pub(crate) fn new(policy: Option<Arc<str>>, lint: Lint) -> Self {
        Warning { policy, lint }
    }

    /// The policy's name, for a member of a set; `None` for a single-policy layer.
    pub fn policy(&self) -> Option<&str> {
        self.policy.as_deref()
    }

    /// What was found.
    pub fn lint(&self) -> &Lint {
        &self.lint
    }

    /// Emits the warning as a `tracing` warn event.
    pub(crate) fn emit(&self) {
        #[cfg(feature = "tracing")]
        tracing::warn!(
            policy = self
                .policy
                .as_deref()
                .unwrap_or(crate::builder::DEFAULT_POLICY),
            "risky CORS configuration: {}",
            self.lint
        );
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(policy) = &self.policy {
            write!(f, "policy {policy:?}: ")?;
        }
        self.lint.fmt(f)
    }
}
