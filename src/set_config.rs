//! [`CorsSetConfig`]: a policy set written down as data — a `[[policies]]` array of named
//! policies, in order, and a `select` table — built through the same validation as
//! [`CorsSetBuilder`](crate::CorsSetBuilder).

use crate::config::CorsConfig;
use crate::error::{ConfigError, Problem};
use crate::layer::CorsLayer;
use crate::set::CorsSetBuilder;

/// A policy set as configuration data.
///
/// With the `serde` feature it implements `Deserialize`. Each `[[policies]]` entry has a
/// `name`, the keys of a [`CorsConfig`], and for a set selected by host or path the `hosts` or
/// `paths` it answers; `select` has `by` (`"origin"`, `"host"` or `"path"`) and an optional
/// `fallback` (a policy name). Unknown keys are an error.
///
/// ```
/// # #[cfg(feature = "serde")] {
/// use tower_cors::CorsSetConfig;
///
/// let config: CorsSetConfig = toml::from_str(r#"
///     [select]
///     by = "origin"
///
///     [[policies]]
///     name = "app"
///     allow_origins = ["https://app.example.com"]
///     allow_credentials = true
///
///     [[policies]]
///     name = "public"
///     allow_origins = "*"
/// "#)?;
/// let cors = config.build()?;
/// assert_eq!(cors.policy_names().collect::<Vec<_>>(), ["app", "public"]);
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// By host (or, the same way, by path with `paths = ["/admin"]`):
///
/// ```
/// # #[cfg(feature = "serde")] {
/// let config: tower_cors::CorsSetConfig = toml::from_str(r#"
///     select = { by = "host", fallback = "public" }
///
///     [[policies]]
///     name = "admin"
///     hosts = ["admin.example.com"]
///     allow_origins = ["https://admin.example.com"]
///     allow_credentials = true
///
///     [[policies]]
///     name = "public"
///     allow_origins = "*"
/// "#)?;
/// let (parts, ()) = http::Request::get("/")
///     .header("host", "admin.example.com")
///     .header("origin", "https://admin.example.com")
///     .body(())?
///     .into_parts();
/// assert_eq!(config.build()?.evaluate(&parts).policy(), Some("admin"));
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct CorsSetConfig {
    /// The policies, in order (the order selection by origin tries them in).
    pub policies: Vec<NamedPolicyConfig>,
    /// How a policy is chosen.
    pub select: SelectConfig,
}

/// One `[[policies]]` entry of a [`CorsSetConfig`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "raw::Entry"))]
#[non_exhaustive]
pub struct NamedPolicyConfig {
    /// The policy's name.
    pub name: String,
    /// With `select.by = "host"`: the hosts this policy answers.
    #[cfg_attr(feature = "serde", serde(default))]
    pub hosts: Vec<String>,
    /// With `select.by = "path"`: the path prefixes this policy answers.
    #[cfg_attr(feature = "serde", serde(default))]
    pub paths: Vec<String>,
    /// The policy itself.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub policy: CorsConfig,
}

/// An entry as written: the policy's keys are taken by `policy`, and whatever is left over is
/// an unknown key (a flattened struct cannot refuse unknown keys itself).
#[cfg(feature = "serde")]
mod raw {
    use std::collections::BTreeMap;

    use serde::de::IgnoredAny;

    use super::{CorsConfig, NamedPolicyConfig};

    #[derive(serde::Deserialize)]
    pub(super) struct Entry {
        name: String,
        #[serde(default)]
        hosts: Vec<String>,
        #[serde(default)]
        paths: Vec<String>,
        #[serde(flatten)]
        policy: CorsConfig,
        #[serde(flatten)]
        unknown: BTreeMap<String, IgnoredAny>,
    }

    impl TryFrom<Entry> for NamedPolicyConfig {
        type Error = String;

        fn try_from(entry: Entry) -> Result<Self, String> {
            if let Some(key) = entry.unknown.keys().next() {
                // A policy's file keys are its environment settings, in lower case.
                let keys: Vec<String> = crate::config::ENV_SETTINGS
                    .iter()
                    .map(|setting| setting.to_ascii_lowercase())
                    .collect();
                return Err(format!(
                    "unknown key `{key}` in policy {:?}; expected name, hosts, paths, {}",
                    entry.name,
                    keys.join(", ")
                ));
            }
            Ok(NamedPolicyConfig {
                name: entry.name,
                hosts: entry.hosts,
                paths: entry.paths,
                policy: entry.policy,
            })
        }
    }
}

impl NamedPolicyConfig {
    /// A named policy with no hosts or paths.
    pub fn new(name: impl Into<String>, policy: CorsConfig) -> Self {
        NamedPolicyConfig {
            name: name.into(),
            hosts: Vec::new(),
            paths: Vec::new(),
            policy,
        }
    }
}

/// The `select` table of a [`CorsSetConfig`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct SelectConfig {
    /// `"origin"`, `"host"` or `"path"`; checked by [`CorsSetConfig::build`].
    pub by: String,
    /// The policy that answers when none is selected.
    #[cfg_attr(feature = "serde", serde(default))]
    pub fallback: Option<String>,
}

impl SelectConfig {
    /// A `select` table.
    pub fn new(by: impl Into<String>, fallback: Option<String>) -> Self {
        SelectConfig {
            by: by.into(),
            fallback,
        }
    }
}

impl CorsSetConfig {
    /// A set configuration from its parts.
    pub fn new(policies: Vec<NamedPolicyConfig>, select: SelectConfig) -> Self {
        CorsSetConfig { policies, select }
    }

    /// The set builder this configuration describes; problems of the configuration's own
    /// shape (an unknown `select.by`, hosts given to a set selected by path...) are reported
    /// by [`build`](Self::build), together with the builder's.
    fn into_parts(self) -> (CorsSetBuilder, Vec<Problem>) {
        let mut problems = Vec::new();
        let by = self.select.by.as_str();
        if !matches!(by, "origin" | "host" | "path") {
            problems.push(Problem::InvalidSetting {
                key: "select.by",
                value: self.select.by.clone(),
                expected: "\"origin\", \"host\" or \"path\"",
            });
        }
        let mut set = CorsLayer::set();
        let mut routes: Vec<(String, String)> = Vec::new();
        for entry in self.policies {
            for (key, values, wanted) in [
                ("hosts", &entry.hosts, "host"),
                ("paths", &entry.paths, "path"),
            ] {
                if by == wanted {
                    routes.extend(values.iter().map(|v| (v.clone(), entry.name.clone())));
                } else if !values.is_empty() {
                    problems.push(Problem::MisplacedRoutes {
                        policy: entry.name.clone(),
                        key,
                        by: self.select.by.clone(),
                    });
                }
            }
            set = set.policy(entry.name, entry.policy.into_builder());
        }
        set = match by {
            "host" => set.select_by_host(routes),
            "path" => set.select_by_path(routes),
            _ => set.select_by_origin(),
        };
        if let Some(fallback) = self.select.fallback {
            set = set.fallback(fallback);
        }
        (set, problems)
    }

    /// Validates the configuration and compiles the set: every problem of every policy
    /// (prefixed by its name) and of the selection, at once.
    ///
    /// Hot reload of a whole set: build the new configuration and hand the layer to
    /// [`ReloadHandle::replace`](crate::ReloadHandle::replace) (an invalid configuration is
    /// refused here, and the running set stays).
    pub fn build(self) -> Result<CorsLayer, ConfigError> {
        let (set, mut problems) = self.into_parts();
        match set.build() {
            Ok(layer) if problems.is_empty() => Ok(layer),
            Ok(_) => Err(ConfigError::new(problems)),
            Err(err) => {
                let mut all: Vec<Problem> = err.into_iter().collect();
                all.append(&mut problems);
                Err(ConfigError::new(all))
            }
        }
    }
}
