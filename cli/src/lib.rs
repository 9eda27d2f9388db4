//! The `cors` command-line tool as a library, so that its subcommands can be driven from tests in
//! other workspace members as well as from the binary.
//!
//! Every subcommand lives in its own module, exposes its clap arguments and a `run` function that
//! returns the process exit code; errors are one line on stderr.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod audit;
pub mod check;
pub mod diagnose;
pub mod healthcheck;
pub mod log;
pub mod net;
pub mod proxy;
pub mod validate;

/// `cors`: CORS as the browser sees it.
#[derive(Debug, Parser)]
#[command(name = "cors", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send what a browser sends for one fetch() and say whether the page can read the answer,
    /// why not, and the fix.
    Check(check::CheckArgs),
    /// Probe your own API with crafted origins for the known CORS misconfigurations.
    Audit(audit::AuditArgs),
    /// Load a policy file (TOML or JSON) and print every problem, or the policy as the layer
    /// will apply it.
    Validate(validate::ValidateArgs),
    /// Run a CORS proxy in front of APIs that send no CORS headers (never an open proxy).
    Proxy(proxy::ProxyArgs),
    /// Exit 0 when a running `cors proxy` answers on /_cors/healthz (for container health
    /// checks: the address comes from --listen or CORS_LISTEN).
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Print the completion script for a shell to stdout.
    ///
    /// bash: `cors completions bash > ~/.local/share/bash-completion/completions/cors`;
    /// zsh: `cors completions zsh > "${fpath[1]}/_cors"`;
    /// fish: `cors completions fish > ~/.config/fish/completions/cors.fish`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Parses `args` (the program name first) and runs the subcommand. Argument errors are printed as
/// one line on stderr with exit status 2; `--help` and `--version` print to stdout and exit 0.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    run(cli)
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Proxy(args) => proxy::run(args),
        Command::Healthcheck(args) => healthcheck::run(args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "cors", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
    }
}

/// A single-threaded tokio runtime for a subcommand, or exit status 2 with one line on stderr.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("cors: cannot start the runtime: {e}");
            ExitCode::from(2)
        })
}

fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            ExitCode::SUCCESS
        }
        _ => {
            // clap renders a paragraph (error, usage, tip); the first line names the problem,
            // unless it ends in a colon: then the lines up to the blank one say what is missing.
            let rendered = err.render().to_string();
            let mut lines = rendered.lines().skip_while(|l| l.trim().is_empty());
            let mut line = lines
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ")
                .to_owned();
            if line.ends_with(':') {
                let details: Vec<&str> = lines
                    .take_while(|l| !l.trim().is_empty())
                    .map(str::trim)
                    .collect();
                line = format!("{line} {}", details.join(", "));
            }
            eprintln!("cors: {}", line.trim_end());
            ExitCode::from(2)
        }
    }
}
