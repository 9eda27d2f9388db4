//! Finding and driving Debian's Chromium: one headless process per page, a fresh profile each time,
//! and the console messages it prints on stderr (`--enable-logging=stderr --v=0`), which is where
//! the browser explains *why* it blocked a request.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where to look for Chromium, in order: `$CHROMIUM`, then these names on `PATH`.
const CANDIDATES: &[&str] = &["chromium", "chromium-browser", "google-chrome"];

/// Non-console stderr lines kept for diagnosing a browser that never reported back.
const TAIL_LINES: usize = 20;

/// Finds a Chromium binary: `$CHROMIUM` when set (it must exist), otherwise the first of
/// `chromium`, `chromium-browser`, `google-chrome` on `PATH`.
pub fn locate_chromium() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("CHROMIUM").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("CHROMIUM={} does not exist", path.display()))
        };
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    CANDIDATES
        .iter()
        .flat_map(|name| std::env::split_paths(&dirs).map(move |dir| dir.join(name)))
        .find(|path| path.is_file())
        .ok_or_else(|| format!("none of {CANDIDATES:?} is on PATH and CHROMIUM is not set"))
}

/// The browser's own version line, for the report (`Chromium 156.0.… built on Debian …`).
pub fn chromium_version(binary: &Path) -> Option<String> {
    let out = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!line.is_empty()).then_some(line)
}

/// A running headless Chromium. Dropping it ends the process group and removes the profile.
pub struct Browser {
    child: Child,
    profile: PathBuf,
    console: Arc<Mutex<Vec<String>>>,
    tail: Arc<Mutex<Vec<String>>>,
}

impl Browser {
    /// Starts Chromium on `url` with a fresh, empty profile, so nothing (cookies, the preflight
    /// cache, the HTTP cache) survives from an earlier launch.
    pub fn launch(binary: &Path, url: &str) -> std::io::Result<Self> {
        Self::launch_trusting(binary, url, &[], None)
    }

    /// Like [`launch`](Self::launch), and also accepts TLS certificates whose
    /// SubjectPublicKeyInfo has one of the SHA-256 hashes (base64) in `spki_sha256`, whatever
    /// their issuer — so a test server's certificate is trusted while every other certificate
    /// is still verified as usual. Chromium honours the list only with a `--user-data-dir`,
    /// which every launch has. `host_resolver_rules` (Chromium's `--host-resolver-rules`, such
    /// as `MAP xn--and-6ma2c.test 127.0.0.1`) sends test host names to loopback without DNS.
    pub fn launch_trusting(
        binary: &Path,
        url: &str,
        spki_sha256: &[String],
        host_resolver_rules: Option<&str>,
    ) -> std::io::Result<Self> {
        let profile = fresh_profile_dir()?;
        let mut command = Command::new(binary);
        command
            .args([
                "--headless",
                // Root cannot use Chromium's sandbox; the pages are our own, on loopback.
                "--no-sandbox",
                "--disable-gpu",
                // QUIC and background traffic would only add noise and delay.
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                // Console messages, including "blocked by CORS policy", go to stderr.
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()));
        if !spki_sha256.is_empty() {
            command.arg(format!(
                "--ignore-certificate-errors-spki-list={}",
                spki_sha256.join(",")
            ));
        }
        if let Some(rules) = host_resolver_rules {
            command.arg(format!("--host-resolver-rules={rules}"));
        }
        command
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Its own process group, so stopping it reaches the renderer and helper processes too.
            .process_group(0);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => {
                let _ = std::fs::remove_dir_all(&profile);
                return Err(err);
            }
        };
        let console = Arc::new(Mutex::new(Vec::new()));
        let tail = Arc::new(Mutex::new(Vec::new()));
        if let Some(stderr) = child.stderr.take() {
            let (console, tail) = (Arc::clone(&console), Arc::clone(&tail));
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(message) = console_message(&line) {
                        lock(&console).push(message.to_owned());
                    } else {
                        let mut tail = lock(&tail);
                        if tail.len() == TAIL_LINES {
                            tail.remove(0);
                        }
                        tail.push(line);
                    }
                }
            });
        }
        Ok(Self {
            child,
            profile,
            console,
            tail,
        })
    }

    /// Console messages printed so far, in order.
    pub fn console(&self) -> Vec<String> {
        lock(&self.console).clone()
    }

    /// The last non-console stderr lines (crash reasons and the like).
    pub fn stderr_tail(&self) -> Vec<String> {
        lock(&self.tail).clone()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Asks Chromium to quit (it then ends and reaps its own helpers), and kills whatever is
    /// left of its process group after two seconds.
    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        if self.is_running() {
            signal("-TERM", &pid);
            let deadline = Instant::now() + Duration::from_secs(2);
            while self.is_running() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(25));
            }
        }
        // A hung browser, or helpers that outlived it: the group id is still ours.
        signal("-KILL", &format!("-{pid}"));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Sends a signal to a process (`pid`) or process group (`-pgid`) we started, through `kill(1)`
/// so this crate needs no `unsafe`.
fn signal(signal: &str, target: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", target])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic in the reader thread must not hide what was captured before it.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn fresh_profile_dir() -> std::io::Result<PathBuf> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tower-cors-browser-{}-{n}", std::process::id()));
    // A leftover from a crashed run with the same pid must not leak state into this one.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Extracts the text of a console line such as
/// `[1:1:1128/014720.173530:INFO:CONSOLE:11] "Access to fetch at …", source: http://… (11)`.
fn console_message(line: &str) -> Option<&str> {
    let (_, rest) = line.split_once(":CONSOLE")?;
    let (_, rest) = rest.split_once("] \"")?;
    Some(
        rest.rsplit_once("\", source:")
            .map_or(rest, |(message, _)| message),
    )
}
