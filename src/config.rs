//! [`CorsConfig`]: a policy written down as data, read from a file (with the `serde` feature)
//! and from environment variables, then built through the same validation as
//! [`CorsBuilder`], so a bad configuration gets the same complete list of problems.

use std::ffi::OsString;
use std::time::Duration;

use http::StatusCode;

use crate::builder::CorsBuilder;
use crate::error::{ConfigError, Problem};
use crate::layer::CorsLayer;

/// The settings [`CorsConfig::merge_env`] reads, each after the caller's prefix; in lower case,
/// the keys of a policy in a file.
pub(crate) const ENV_SETTINGS: [&str; 9] = [
    "ALLOW_ORIGINS",
    "ALLOW_METHODS",
    "ALLOW_HEADERS",
    "EXPOSE_HEADERS",
    "ALLOW_CREDENTIALS",
    "MAX_AGE",
    "ALLOW_PRIVATE_NETWORK",
    "PREFLIGHT_STATUS",
    "ALLOW_LOOPBACK_ORIGINS",
];

const EXPECTED_MAX_AGE: &str =
    "a number of seconds or a duration such as \"90s\", \"10m\", \"1h\" or \"1h30m\"";
const EXPECTED_BOOL: &str = "true or false (also 1/0, yes/no, on/off)";
const EXPECTED_STATUS: &str = "an HTTP status code such as 204 or 200";
const EXPECTED_UTF8: &str = "UTF-8 text";

/// A CORS policy as configuration data: the parts of [`CorsBuilder`] that can be written in a
/// file or an environment variable (predicates and the `danger_*` switches stay in code).
///
/// Values are kept as written; [`build`](Self::build) hands them to [`CorsBuilder`], whose
/// validation reports every problem at once, each quoting the value at fault.
///
/// With the `serde` feature it implements `Deserialize`, for any format serde reads:
///
/// - keys are `allow_origins`, `allow_methods`, `allow_headers`, `expose_headers`,
///   `allow_credentials`, `max_age`, `allow_private_network`, `preflight_status`,
///   `allow_loopback_origins` (the
///   kebab-case spelling, `allow-origins`, is accepted too); unknown keys are an error, so a
///   typo never silently leaves a setting out;
/// - lists are arrays or one comma-separated string; `"*"` in a list means "any";
/// - `max_age` is a number of seconds or a string such as `"90s"`, `"10m"`, `"1h"`,
///   `"1h30m"` (units `s`, `m`, `h`, `d`, also spelled out);
/// - `preflight_status` is a number.
///
/// ```
/// # #[cfg(feature = "serde")] {
/// use tower_cors::CorsConfig;
///
/// let config: CorsConfig = toml::from_str(r#"
///     allow_origins = ["https://app.example.com", "https://*.example.com"]
///     allow_methods = ["GET", "PUT", "DELETE"]
///     allow_headers = "content-type, x-api-key"
///     allow_credentials = true
///     max_age = "10m"
/// "#)?;
/// assert_eq!(config.max_age, Some(std::time::Duration::from_secs(600)));
/// let cors = config.build()?;
/// # let _ = cors;
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Without a file, or on top of one, environment variables (see
/// [`merge_env`](Self::merge_env)):
///
/// ```
/// use tower_cors::CorsConfig;
///
/// let config = CorsConfig::default().merge_vars(
///     "CORS_",
///     [("CORS_ALLOW_ORIGINS", "https://app.example.com"), ("CORS_MAX_AGE", "1h")],
/// )?;
/// assert_eq!(config.allow_origins, ["https://app.example.com"]);
/// let cors = config.build()?;
/// # let _ = cors;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
pub struct CorsConfig {
    /// Allowed origins: exact origins, patterns (`https://*.example.com`,
    /// `http://localhost:*`) or `*`. See [`CorsBuilder::allow_origins`].
    #[cfg_attr(
        feature = "serde",
        serde(alias = "allow-origins", deserialize_with = "de::list")
    )]
    pub allow_origins: Vec<String>,
    /// Allowed methods. See [`CorsBuilder::allow_methods`].
    #[cfg_attr(
        feature = "serde",
        serde(alias = "allow-methods", deserialize_with = "de::list")
    )]
    pub allow_methods: Vec<String>,
    /// Allowed request headers. See [`CorsBuilder::allow_headers`].
    #[cfg_attr(
        feature = "serde",
        serde(alias = "allow-headers", deserialize_with = "de::list")
    )]
    pub allow_headers: Vec<String>,
    /// Exposed response headers. See [`CorsBuilder::expose_headers`].
    #[cfg_attr(
        feature = "serde",
        serde(alias = "expose-headers", deserialize_with = "de::list")
    )]
    pub expose_headers: Vec<String>,
    /// Whether credentialed requests are allowed. See [`CorsBuilder::allow_credentials`].
    #[cfg_attr(feature = "serde", serde(alias = "allow-credentials"))]
    pub allow_credentials: bool,
    /// How long browsers may cache a preflight answer. See [`CorsBuilder::max_age`].
    #[cfg_attr(
        feature = "serde",
        serde(alias = "max-age", deserialize_with = "de::max_age")
    )]
    pub max_age: Option<Duration>,
    /// Whether private-network preflights are answered. See
    /// [`CorsBuilder::allow_private_network`].
    #[cfg_attr(feature = "serde", serde(alias = "allow-private-network"))]
    pub allow_private_network: bool,
    /// The status of a successful preflight answer. See [`CorsBuilder::preflight_status`].
    #[cfg_attr(
        feature = "serde",
        serde(alias = "preflight-status", deserialize_with = "de::status")
    )]
    pub preflight_status: Option<StatusCode>,
    /// Whether loopback origins (`http://localhost:5173`) are intended, which silences the
    /// build-time warning about them. See [`CorsBuilder::allow_loopback_origins`].
    #[cfg_attr(feature = "serde", serde(alias = "allow-loopback-origins"))]
    pub allow_loopback_origins: bool,
}

impl CorsConfig {
    /// Reads a configuration from environment variables only; shorthand for
    /// `CorsConfig::default().merge_env(prefix)`.
    ///
    /// ```
    /// // Nothing is set under this prefix, so nothing is allowed: `build` says so.
    /// let config = tower_cors::CorsConfig::from_env("DOC_EXAMPLE_UNSET_CORS_")?;
    /// assert!(config.build().is_err());
    /// # Ok::<(), tower_cors::ConfigError>(())
    /// ```
    pub fn from_env(prefix: &str) -> Result<Self, ConfigError> {
        Self::default().merge_env(prefix)
    }

    /// Overlays environment variables named `prefix` + a setting on this configuration: a
    /// variable that is set replaces the value (a list as a whole), one that is not set
    /// leaves it alone. So a file gives the defaults and the environment of one deployment
    /// overrides them.
    ///
    /// | variable (prefix `CORS_`) | value |
    /// | --- | --- |
    /// | `CORS_ALLOW_ORIGINS` | comma-separated origins or patterns, or `*` |
    /// | `CORS_ALLOW_METHODS` | comma-separated methods, or `*` |
    /// | `CORS_ALLOW_HEADERS` | comma-separated header names, or `*` |
    /// | `CORS_EXPOSE_HEADERS` | comma-separated header names, or `*` |
    /// | `CORS_ALLOW_CREDENTIALS` | `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`) |
    /// | `CORS_MAX_AGE` | seconds, or a duration such as `90s`, `10m`, `1h` |
    /// | `CORS_ALLOW_PRIVATE_NETWORK` | `true`/`false` |
    /// | `CORS_PREFLIGHT_STATUS` | a status code such as `200` |
    /// | `CORS_ALLOW_LOOPBACK_ORIGINS` | `true`/`false` |
    ///
    /// List elements are trimmed and empty ones skipped. An empty value resets a setting: an
    /// empty list, `false`, or no max-age / the default status.
    ///
    /// Every variable that cannot be parsed is reported, by name, in one [`ConfigError`]; so
    /// is every variable that starts with `prefix` but names no setting (`CORS_ALLOW_ORIGIN`
    /// for `CORS_ALLOW_ORIGINS`), unless `prefix` is empty. Pick a prefix that belongs to
    /// CORS alone.
    ///
    /// ```no_run
    /// # #[cfg(feature = "serde")] {
    /// use tower_cors::CorsConfig;
    ///
    /// let file = std::fs::read_to_string("cors.toml")?;
    /// let cors = toml::from_str::<CorsConfig>(&file)?.merge_env("CORS_")?.build()?;
    /// # let _ = cors;
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn merge_env(self, prefix: &str) -> Result<Self, ConfigError> {
        let mut vars: Vec<(String, Result<String, OsString>)> = if prefix.is_empty() {
            // Without a prefix every variable would look like a typo; read only the settings.
            ENV_SETTINGS
                .iter()
                .filter_map(|name| Some((name.to_string(), std::env::var_os(name)?)))
                .map(|(name, value)| (name, value.into_string()))
                .collect()
        } else {
            std::env::vars_os()
                .filter_map(|(name, value)| {
                    let name = name.into_string().ok()?;
                    name.starts_with(prefix)
                        .then(|| (name, value.into_string()))
                })
                .collect()
        };
        // The environment comes in no particular order; problems are listed by name.
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let mut problems = Vec::new();
        let mut config = self;
        for (name, value) in vars {
            match value {
                Ok(value) => config.apply_var(prefix, &name, &value, &mut problems),
                Err(raw) => problems.push(Problem::InvalidEnvironmentVariable {
                    name,
                    value: raw.to_string_lossy().into_owned(),
                    expected: EXPECTED_UTF8,
                }),
            }
        }
        config.finish(problems)
    }

    /// Like [`merge_env`](Self::merge_env), with the variables given as name–value pairs
    /// instead of read from the process environment (for tests, `.env` files, or secrets
    /// read elsewhere). Pairs whose name does not start with `prefix` are ignored.
    ///
    /// ```
    /// use tower_cors::{CorsConfig, Problem};
    ///
    /// let err = CorsConfig::default()
    ///     .merge_vars("CORS_", [("CORS_MAX_AGE", "ten minutes"), ("CORS_ALLOW_ORIGIN", "x")])
    ///     .unwrap_err();
    /// assert_eq!(err.problems().len(), 2);
    /// assert!(err.to_string().contains("CORS_MAX_AGE"));
    /// assert!(matches!(&err.problems()[1], Problem::UnknownEnvironmentVariable { name } if name == "CORS_ALLOW_ORIGIN"));
    /// ```
    pub fn merge_vars<I, K, V>(self, prefix: &str, vars: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut problems = Vec::new();
        let mut config = self;
        for (name, value) in vars {
            let name = name.as_ref();
            if name.starts_with(prefix) {
                config.apply_var(prefix, name, value.as_ref(), &mut problems);
            }
        }
        config.finish(problems)
    }

    /// Turns the configuration into a builder, to build as is or to extend in code (with a
    /// predicate, [`grpc_web`](CorsBuilder::grpc_web), ...): list setters add to the lists.
    ///
    /// ```
    /// let mut config = tower_cors::CorsConfig::default();
    /// config.allow_origins = vec!["https://app.example.com".into()];
    /// let cors = config
    ///     .into_builder()
    ///     .allow_origin_fn(|origin, _| origin.as_bytes().ends_with(b".internal.example"))
    ///     .build()?;
    /// # let _ = cors;
    /// # Ok::<(), tower_cors::ConfigError>(())
    /// ```
    pub fn into_builder(self) -> CorsBuilder {
        let mut builder = CorsLayer::builder()
            .allow_origins(self.allow_origins)
            .allow_methods(self.allow_methods)
            .allow_headers(self.allow_headers)
            .expose_headers(self.expose_headers)
            .allow_credentials(self.allow_credentials)
            .allow_private_network(self.allow_private_network)
            .allow_loopback_origins(self.allow_loopback_origins);
        if let Some(max_age) = self.max_age {
            builder = builder.max_age(max_age);
        }
        if let Some(status) = self.preflight_status {
            builder = builder.preflight_status(status);
        }
        builder
    }

    /// Validates the configuration and compiles it into a [`CorsLayer`]: the same checks, and
    /// the same complete list of problems, as [`CorsBuilder::build`].
    ///
    /// ```
    /// let mut config = tower_cors::CorsConfig::default();
    /// config.allow_origins = vec!["https://example.com/".into(), "*".into()];
    /// config.allow_credentials = true;
    /// let err = config.build().unwrap_err();
    /// // The trailing slash, and `*` with credentials.
    /// assert_eq!(err.problems().len(), 2);
    /// ```
    pub fn build(self) -> Result<CorsLayer, ConfigError> {
        self.into_builder().build()
    }

    fn apply_var(&mut self, prefix: &str, name: &str, value: &str, problems: &mut Vec<Problem>) {
        let invalid = |expected| Problem::InvalidEnvironmentVariable {
            name: name.to_owned(),
            value: value.to_owned(),
            expected,
        };
        let value = value.trim();
        match &name[prefix.len()..] {
            "ALLOW_ORIGINS" => self.allow_origins = split_list(value),
            "ALLOW_METHODS" => self.allow_methods = split_list(value),
            "ALLOW_HEADERS" => self.allow_headers = split_list(value),
            "EXPOSE_HEADERS" => self.expose_headers = split_list(value),
            "ALLOW_CREDENTIALS" => match parse_bool(value) {
                Some(b) => self.allow_credentials = b,
                None => problems.push(invalid(EXPECTED_BOOL)),
            },
            "ALLOW_PRIVATE_NETWORK" => match parse_bool(value) {
                Some(b) => self.allow_private_network = b,
                None => problems.push(invalid(EXPECTED_BOOL)),
            },
            "ALLOW_LOOPBACK_ORIGINS" => match parse_bool(value) {
                Some(b) => self.allow_loopback_origins = b,
                None => problems.push(invalid(EXPECTED_BOOL)),
            },
            "MAX_AGE" if value.is_empty() => self.max_age = None,
            "MAX_AGE" => match parse_max_age(value) {
                Some(d) => self.max_age = Some(d),
                None => problems.push(invalid(EXPECTED_MAX_AGE)),
            },
            "PREFLIGHT_STATUS" if value.is_empty() => self.preflight_status = None,
            "PREFLIGHT_STATUS" => match value.parse::<u16>().ok().and_then(status) {
                Some(s) => self.preflight_status = Some(s),
                None => problems.push(invalid(EXPECTED_STATUS)),
            },
            _ => problems.push(Problem::UnknownEnvironmentVariable {
                name: name.to_owned(),
            }),
        }
    }

    fn finish(self, problems: Vec<Problem>) -> Result<Self, ConfigError> {
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(ConfigError::new(problems))
        }
    }
}

/// A comma-separated list, elements trimmed, empty ones skipped.
fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_bool(value: &str) -> Option<bool> {
    const TRUE: [&str; 4] = ["true", "1", "yes", "on"];
    const FALSE: [&str; 5] = ["false", "0", "no", "off", ""];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(value)) {
        Some(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(value)) {
        Some(false)
    } else {
        None
    }
}

/// Any status code `http` can represent; whether it is a 2xx is the builder's check, so it
/// lands in the same list as every other problem.
fn status(code: u16) -> Option<StatusCode> {
    StatusCode::from_u16(code).ok()
}

/// Parses a max-age: whole or fractional seconds (`600`, `1.5`, fractions truncated later
/// like the builder's), or integer amounts with units (`90s`, `10m`, `1h30m`, `1 h 30 m`, `2d`;
/// units also spelled `sec`, `min`, `hours`...). Hand-written so that the crate needs no
/// duration-parsing dependency.
pub(crate) fn parse_max_age(text: &str) -> Option<Duration> {
    const UNITS: [(&[&str], u64); 4] = [
        (&["s", "sec", "secs", "second", "seconds"], 1),
        (&["m", "min", "mins", "minute", "minutes"], 60),
        (&["h", "hr", "hrs", "hour", "hours"], 3600),
        (&["d", "day", "days"], 86_400),
    ];
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        // Digits with at most one dot: `f64` parsing alone would also take `inf` or `1e9`.
        if text.bytes().filter(|&b| b == b'.').count() > 1 {
            return None;
        }
        return text
            .parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok());
    }
    let mut rest = text;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let amount: u64 = rest[..digits].parse().ok()?;
        rest = rest[digits..].trim_start();
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..letters];
        let (_, scale) = UNITS
            .iter()
            .find(|(names, _)| names.iter().any(|n| n.eq_ignore_ascii_case(unit)))?;
        total = total.checked_add(amount.checked_mul(*scale)?)?;
        rest = rest[letters..].trim_start();
    }
    (!text.is_empty()).then(|| Duration::from_secs(total))
}

/// `Deserialize` helpers for the fields whose input takes more than one shape.
#[cfg(feature = "serde")]
mod de {
    use std::fmt;
    use std::time::Duration;

    use http::StatusCode;
    use serde::de::{self, Deserializer, SeqAccess, Unexpected, Visitor};

    /// An array of strings, or one comma-separated string.
    pub(super) fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        struct ListVisitor;

        impl<'de> Visitor<'de> for ListVisitor {
            type Value = Vec<String>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of strings or a comma-separated string")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(super::split_list(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(items)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
        }

        d.deserialize_any(ListVisitor)
    }

    /// Seconds as a number, or a string such as `"10m"`.
    pub(super) fn max_age<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        struct MaxAgeVisitor;

        impl<'de> Visitor<'de> for MaxAgeVisitor {
            type Value = Option<Duration>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(super::EXPECTED_MAX_AGE)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Some(Duration::from_secs(v)))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map(|v| Some(Duration::from_secs(v)))
                    .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Duration::try_from_secs_f64(v)
                    .map(Some)
                    .map_err(|_| E::invalid_value(Unexpected::Float(v), &self))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                super::parse_max_age(v)
                    .map(Some)
                    .ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
        }

        d.deserialize_any(MaxAgeVisitor)
    }

    /// A status code as a number.
    pub(super) fn status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StatusCode>, D::Error> {
        struct StatusVisitor;

        impl<'de> Visitor<'de> for StatusVisitor {
            type Value = Option<StatusCode>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(super::EXPECTED_STATUS)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                u16::try_from(v)
                    .ok()
                    .and_then(super::status)
                    .map(Some)
                    .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(v), &self))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
                    .and_then(|v| self.visit_u64(v))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
        }

        d.deserialize_any(StatusVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_forms() {
        let secs = |s| Some(Duration::from_secs(s));
        let table: &[(&str, Option<Duration>)] = &[
            ("600", secs(600)),
            (" 600 ", secs(600)),
            ("0", secs(0)),
            ("1.5", Some(Duration::from_millis(1500))),
            ("90s", secs(90)),
            ("10m", secs(600)),
            ("1h", secs(3600)),
            ("1h30m", secs(5400)),
            ("1h 30m 15s", secs(5415)),
            ("2 hours", secs(7200)),
            ("10 min", secs(600)),
            ("1d", secs(86_400)),
            ("1H", secs(3600)),
            ("", None),
            ("ten minutes", None),
            ("10", secs(10)),
            ("10x", None),
            ("m", None),
            ("10m5", None),
            ("-5", None),
            ("1.2.3", None),
            ("inf", None),
            ("1e3", None),
            ("500ms", None),
            ("99999999999999999999s", None),
            ("99999999999999999h", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_max_age(text), *want, "{text:?}");
        }
    }

    #[test]
    fn bools() {
        for t in ["true", "TRUE", "1", "yes", "on"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "0", "no", "Off", ""] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_bool("maybe"), None);
    }

    #[test]
    fn lists() {
        assert_eq!(split_list(" a, b ,,c "), ["a", "b", "c"]);
        assert!(split_list("").is_empty());
    }
}
