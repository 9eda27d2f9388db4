//! Repository chores, run as `cargo xtask <command>`.
//!
//! - `cargo xtask assets [DIR]`: writes the `cors` man pages (`man/cors.1`, one
//!   `man/cors-<subcommand>.1` each) and the completion scripts (`completions/`) into DIR,
//!   `cli/assets/` by default. They are committed, so the release archives can include them
//!   without building anything; a test fails when they no longer match the binary's arguments.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["assets"] => report(write_assets(&default_assets_dir())),
        ["assets", dir] => report(write_assets(Path::new(dir))),
        _ => {
            eprintln!("usage: cargo xtask assets [DIR]");
            ExitCode::from(2)
        }
    }
}

fn report(result: Result<PathBuf, String>) -> ExitCode {
    match result {
        Ok(dir) => {
            println!("wrote man pages and completions to {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `cli/assets/`, next to the crate whose binary the files describe.
fn default_assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/assets")
}

/// The completion scripts, named as each shell looks them up.
const COMPLETIONS: [(Shell, &str); 5] = [
    (Shell::Bash, "cors.bash"),
    (Shell::Zsh, "_cors"),
    (Shell::Fish, "cors.fish"),
    (Shell::PowerShell, "_cors.ps1"),
    (Shell::Elvish, "cors.elv"),
];

/// Writes `man/` and `completions/` under `dir`, replacing what was there.
fn write_assets(dir: &Path) -> Result<PathBuf, String> {
    let man = dir.join("man");
    let completions = dir.join("completions");
    for sub in [&man, &completions] {
        if sub.exists() {
            std::fs::remove_dir_all(sub).map_err(|e| format!("{}: {e}", sub.display()))?;
        }
        std::fs::create_dir_all(sub).map_err(|e| format!("{}: {e}", sub.display()))?;
    }
    let command = tower_cors_cli::Cli::command();
    clap_mangen::generate_to(command.clone(), &man)
        .map_err(|e| format!("{}: {e}", man.display()))?;
    for (shell, file) in COMPLETIONS {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut command.clone(), "cors", &mut script);
        let path = completions.join(file);
        std::fs::write(&path, script).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for sub in ["man", "completions"] {
            let mut names: Vec<_> = std::fs::read_dir(dir.join(sub))
                .unwrap_or_else(|e| panic!("{}: {e}", dir.join(sub).display()))
                .map(|entry| {
                    entry
                        .expect("entry")
                        .file_name()
                        .into_string()
                        .expect("name")
                })
                .collect();
            names.sort();
            for name in names {
                let bytes = std::fs::read(dir.join(sub).join(&name)).expect("read");
                out.push((format!("{sub}/{name}"), bytes));
            }
        }
        out
    }

    #[test]
    fn committed_assets_match_the_binary() {
        let fresh = std::env::temp_dir().join(format!("cors-assets-{}", std::process::id()));
        write_assets(&fresh).expect("generate");
        let generated = files(&fresh);
        let committed = files(&default_assets_dir());
        let _ = std::fs::remove_dir_all(&fresh);
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&committed),
            names(&generated),
            "run `cargo xtask assets`"
        );
        for ((name, old), (_, new)) in committed.iter().zip(&generated) {
            assert!(
                old == new,
                "cli/assets/{name} is stale: run `cargo xtask assets`"
            );
        }
        assert!(generated.iter().any(|(n, _)| n == "man/cors-proxy.1"));
        assert!(generated.iter().any(|(n, _)| n == "man/cors.1"));
    }
}
