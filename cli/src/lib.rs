//! The `cors` command-line tool as a library, so that its subcommands can be driven from tests in
//! other workspace members as well as from the binary.
//!
//! Every subcommand lives in its own module, exposes its clap arguments and a `run` function that
//! returns the process exit code; errors are one line on stderr.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod proxy;

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
    /// Run a CORS proxy in front of APIs that send no CORS headers (never an open proxy).
    Proxy(proxy::ProxyArgs),
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
        Command::Proxy(args) => proxy::run(args),
    }
}

fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            ExitCode::SUCCESS
        }
        _ => {
            // clap renders a paragraph (error, usage, tip); the first line names the problem.
            let rendered = err.render().to_string();
            let line = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            eprintln!("cors: {}", line.trim_start_matches("error: "));
            ExitCode::from(2)
        }
    }
}
