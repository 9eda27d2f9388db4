//! The `cors` binary: a thin shell over [`tower_cors_cli`].
#![forbid(unsafe_code)]

use std::process::ExitCode;

/// The `mimalloc` feature, for the static musl builds (see `Cargo.toml`).
#[cfg(all(feature = "mimalloc", target_env = "musl"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tower_cors_cli::main_with_args(std::env::args_os())
}
