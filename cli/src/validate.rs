//! `cors validate`: loads a policy file (TOML or JSON, by extension, in the `CorsConfig`
//! schema, or a policy set in the `CorsSetConfig` schema: `[[policies]]` plus `select`),
//! overlays the environment when asked (single policies), and prints every problem `build()`
//! finds, or a one-screen summary of the policy as the layer will apply it and the layer's
//! build-time warnings. For CI pipelines.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use tower_cors::{CorsConfig, CorsLayer, CorsSetConfig};

const EXAMPLES: &str = "\
Examples:
  cors validate cors.toml
  cors validate deploy/cors.json --env CORS_
  cors validate policies.toml        # [[policies]] + select: a policy set

Exit status: 0 valid (warnings, if any, printed), 1 invalid (syntax or policy),
2 unreadable file, unknown extension or bad flags.";

/// Arguments of `cors validate`.
#[derive(Debug, Clone, Args)]
#[command(after_help = EXAMPLES)]
pub struct ValidateArgs {
    /// The policy file: `.toml` or `.json`.
    pub file: PathBuf,
    /// Overlay environment variables named PREFIX + setting (`CORS_ALLOW_ORIGINS`…), as the
    /// service would at start-up (single-policy files only).
    #[arg(long, value_name = "PREFIX")]
    pub env: Option<String>,
}

/// What `cors validate` concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validation {
    /// The policy builds; its summary and any warnings.
    Valid {
        /// The policy as the layer applies it, one setting per line.
        summary: Vec<String>,
        /// Things that build but are likely mistakes.
        warnings: Vec<String>,
    },
    /// A syntax error or policy problems, every one.
    Invalid(Vec<String>),
    /// The file could not be read or its kind is unknown.
    Unreadable(String),
}

impl Validation {
    /// 0 valid, 1 invalid, 2 unreadable.
    pub fn exit_code(&self) -> u8 {
        match self {
            Validation::Valid { .. } => 0,
            Validation::Invalid(_) => 1,
            Validation::Unreadable(_) => 2,
        }
    }
}

enum Format {
    Toml,
    Json,
}

impl Format {
    /// `text` read as `T`, or the parser's message.
    fn parse<T: serde::de::DeserializeOwned>(&self, text: &str) -> Result<T, String> {
        match self {
            Format::Toml => toml::from_str(text).map_err(|e| e.to_string()),
            Format::Json => serde_json::from_str(text).map_err(|e| e.to_string()),
        }
    }
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "toml" => Some(Format::Toml),
        "json" => Some(Format::Json),
        _ => None,
    }
}

/// Validates `args.file` (and the environment, with `--env`).
pub fn validate(args: &ValidateArgs) -> Validation {
    let path = &args.file;
    let Some(format) = format_of(path) else {
        return Validation::Unreadable(format!(
            "{}: unknown file kind: use a .toml or .json file",
            path.display()
        ));
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => return Validation::Unreadable(format!("cannot read {}: {e}", path.display())),
    };
    // A top-level `policies` key makes the file a policy set.
    let is_set = match format {
        Format::Toml => toml::from_str::<toml::Table>(&text)
            .map(|t| t.contains_key("policies"))
            .unwrap_or(false),
        Format::Json => serde_json::from_str::<serde_json::Value>(&text)
            .map(|v| v.get("policies").is_some())
            .unwrap_or(false),
    };
    if is_set {
        return validate_set(path, &format, &text, args.env.as_deref());
    }
    let mut config = match format.parse::<CorsConfig>(&text) {
        Ok(config) => config,
        Err(e) => return syntax_error(path, &e),
    };
    if let Some(prefix) = &args.env {
        config = match config.merge_env(prefix) {
            Ok(config) => config,
            Err(err) => return invalid(&err),
        };
    }
    match config.clone().build() {
        Ok(layer) => Validation::Valid {
            summary: summary(&config),
            warnings: warnings(&layer),
        },
        Err(err) => invalid(&err),
    }
}

/// Every problem a build or an overlay found.
fn invalid(err: &tower_cors::ConfigError) -> Validation {
    Validation::Invalid(err.problems().iter().map(|p| p.to_string()).collect())
}

fn syntax_error(path: &Path, error: &str) -> Validation {
    Validation::Invalid(vec![format!("{}: {}", path.display(), error.trim_end())])
}

fn warnings(layer: &CorsLayer) -> Vec<String> {
    layer.warnings().iter().map(|w| w.to_string()).collect()
}

fn validate_set(path: &Path, format: &Format, text: &str, env: Option<&str>) -> Validation {
    if let Some(prefix) = env {
        return Validation::Unreadable(format!(
            "--env {prefix}: environment overlays apply to single-policy files, and {} is a policy set",
            path.display()
        ));
    }
    let config = match format.parse::<CorsSetConfig>(text) {
        Ok(config) => config,
        Err(e) => return syntax_error(path, &e),
    };
    match config.clone().build() {
        Ok(layer) => {
            let mut lines = vec![format!(
                "policy set:       {} {}, selected by {}{}",
                config.policies.len(),
                if config.policies.len() == 1 {
                    "policy"
                } else {
                    "policies"
                },
                config.select.by,
                match &config.select.fallback {
                    Some(name) => format!(", fallback {name:?}"),
                    None => String::from(", no fallback (unmatched requests: origin not allowed)"),
                }
            )];
            for entry in &config.policies {
                let routes: Vec<&String> = entry.hosts.iter().chain(&entry.paths).collect();
                lines.push(if routes.is_empty() {
                    format!("policy {:?}:", entry.name)
                } else {
                    let routes: Vec<&str> = routes.iter().map(|r| r.as_str()).collect();
                    format!("policy {:?} ({}):", entry.name, routes.join(", "))
                });
                lines.extend(summary(&entry.policy).into_iter().map(|l| format!("  {l}")));
            }
            Validation::Valid {
                summary: lines,
                warnings: warnings(&layer),
            }
        }
        Err(err) => invalid(&err),
    }
}

fn list(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        empty.to_owned()
    } else {
        items.join(", ")
    }
}

fn summary(config: &CorsConfig) -> Vec<String> {
    let max_age = match config.max_age {
        Some(age) => {
            let sent = age.as_secs();
            format!(
                "{sent} s (browsers cap it: Chromium {} s, Firefox {} s, Safari {} s)",
                sent.min(7200),
                sent.min(86400),
                sent.min(600)
            )
        }
        None => String::from("not sent (browsers keep a preflight answer 5 s)"),
    };
    vec![
        format!(
            "origins:          {}",
            list(&config.allow_origins, "(none)")
        ),
        format!(
            "methods:          {}",
            list(
                &config.allow_methods,
                "GET, HEAD, POST only (CORS-safelisted)"
            )
        ),
        format!(
            "request headers:  {}",
            list(&config.allow_headers, "CORS-safelisted ones only")
        ),
        format!(
            "exposed headers:  {}",
            list(
                &config.expose_headers,
                "CORS-safelisted response headers only"
            )
        ),
        format!(
            "credentials:      {}",
            if config.allow_credentials {
                "allowed (cookies, Authorization)"
            } else {
                "not allowed"
            }
        ),
        format!("max-age:          {max_age}"),
        format!(
            "private network:  {}",
            if config.allow_private_network {
                "allowed"
            } else {
                "not allowed"
            }
        ),
        format!(
            "preflight status: {}",
            config.preflight_status.map_or(204, |s| s.as_u16())
        ),
        format!(
            "loopback origins: {}",
            if config.allow_loopback_origins {
                "intended (no warning)"
            } else {
                "warned about"
            }
        ),
    ]
}

/// `cors validate`: prints the problems or the summary and returns the exit status.
pub fn run(args: ValidateArgs) -> ExitCode {
    let validation = validate(&args);
    match &validation {
        Validation::Valid { summary, warnings } => {
            println!("{}: valid", args.file.display());
            for line in summary {
                println!("  {line}");
            }
            for warning in warnings {
                println!("warning: {warning}");
            }
        }
        Validation::Invalid(problems) => {
            println!(
                "{}: invalid ({} problem{})",
                args.file.display(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for problem in problems {
                println!("  - {}", problem.replace('\n', "\n    "));
            }
        }
        Validation::Unreadable(message) => eprintln!("cors: {message}"),
    }
    ExitCode::from(validation.exit_code())
}
