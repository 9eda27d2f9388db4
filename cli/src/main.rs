//! The `cors` binary: a thin shell over [`tower_cors_cli`].
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    tower_cors_cli::main_with_args(std::env::args_os())
}
