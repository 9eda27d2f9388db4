//! `cors validate` through the binary: valid and invalid files in both formats, the environment
//! overlay, and the exit statuses.

use std::path::PathBuf;
use std::process::{Command, Output};

struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("tower-cors-validate-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).expect("write");
        TempFile(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn cors(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cors"));
    command.arg("validate").args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run cors")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn valid_files_print_a_summary() {
    let toml = TempFile::new(
        "ok.toml",
        "allow-origins = [\"https://app.example.com\"]\nallow-methods = [\"PUT\"]\nallow-credentials = true\nmax-age = 86400\n",
    );
    let out = cors(&[toml.path()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("valid"), "{text}");
    assert!(
        text.contains("origins:          https://app.example.com"),
        "{text}"
    );
    assert!(text.contains("Safari 600 s"), "{text}");

    let json = TempFile::new(
        "ok.json",
        r#"{"allow_origins": ["https://a.example"], "expose_headers": ["x-id"]}"#,
    );
    let out = cors(&[json.path()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("exposed headers:  x-id"));
}

#[test]
fn every_problem_is_listed() {
    let bad = TempFile::new(
        "bad.toml",
        "allow-origins = [\"https://app.example.com/\", \"*\"]\nallow-headers = [\"cookie\"]\nallow-credentials = true\n",
    );
    let out = cors(&[bad.path()], &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("invalid (3 problems)"), "{text}");
    assert!(
        text.contains("\"https://app.example.com/\"") && text.contains("\"cookie\""),
        "{text}"
    );

    let syntax = TempFile::new("syntax.json", "{\"allow_origins\": [");
    let out = cors(&[syntax.path()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("invalid (1 problem)"));

    let unknown = TempFile::new("unknown.toml", "allow-origin = [\"https://a.example\"]\n");
    let out = cors(&[unknown.path()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("allow-origin"), "{}", stdout(&out));
}

#[test]
fn the_environment_overlays_the_file() {
    let file = TempFile::new(
        "env.toml",
        "allow-origins = [\"https://app.example.com\"]\n",
    );
    let out = cors(
        &[file.path(), "--env", "VALIDATE_TEST_CORS_"],
        &[("VALIDATE_TEST_CORS_ALLOW_ORIGINS", "https://other.example")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("origins:          https://other.example"));

    let out = cors(
        &[file.path(), "--env", "VALIDATE_TEST_CORS_"],
        &[("VALIDATE_TEST_CORS_MAX_AGE", "soon")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("VALIDATE_TEST_CORS_MAX_AGE"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn unreadable_files_and_bad_flags_exit_2_with_one_line() {
    let yaml = TempFile::new("policy.yaml", "allow-origins: []\n");
    for args in [
        vec![yaml.path()],
        vec!["/nonexistent/cors.toml"],
        vec!["--nope"],
        vec![],
    ] {
        let out = cors(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn warnings_are_printed_and_loopback_intent_silences_one() {
    let risky = TempFile::new(
        "risky.toml",
        "allow-origins = [\"http://intranet.example\", \"http://localhost:5173\"]\n",
    );
    let out = cors(&[risky.path()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warnings.len(), 2, "{text}");
    assert!(
        warnings[0].contains("\"http://intranet.example\""),
        "{text}"
    );
    assert!(warnings[1].contains("\"http://localhost:5173\""), "{text}");

    let intended = TempFile::new(
        "intended.toml",
        "allow-origins = [\"http://localhost:5173\"]\nallow-loopback-origins = true\n",
    );
    let out = cors(&[intended.path()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(!stdout(&out).contains("warning: "), "{}", stdout(&out));
}

#[test]
fn policy_sets_are_validated_whole() {
    let set = TempFile::new(
        "set.toml",
        r#"
select = { by = "origin", fallback = "public" }

[[policies]]
name = "partners"
allow_origins = ["https://partner.example"]
allow_credentials = true

[[policies]]
name = "public"
allow_origins = ["*"]
"#,
    );
    let out = cors(&[set.path()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("2 policies, selected by origin, fallback \"public\""),
        "{text}"
    );
    assert!(text.contains("policy \"partners\":"), "{text}");

    let bad = TempFile::new(
        "badset.toml",
        r#"
select = { by = "tenant" }

[[policies]]
name = "a"
allow_origins = ["https://a.example/"]
"#,
    );
    let out = cors(&[bad.path()], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("invalid (2 problems)"), "{text}");
    assert!(
        text.contains("\"https://a.example/\"") && text.contains("\"tenant\""),
        "{text}"
    );

    let out = cors(&[set.path(), "--env", "CORS_"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}
