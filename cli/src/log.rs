//! The log of `cors proxy`: which lines are written (`--log LEVEL`, else `RUST_LOG`, else
//! `info`), where (`--log-file FILE`, appended to; default stderr), and when.
//!
//! Lines are buffered as nginx's `access_log … buffer=64k flush=1s` does: they are written when
//! 64 KiB have gathered, or at the latest `--log-flush` after they were logged (default `1s`;
//! `250ms`, `2s`, `1m`; `0` writes each line at once), and when the process stops (SIGTERM and
//! Ctrl-C included, since the proxy drains and returns rather than exiting on the spot). Under
//! load that is one `write` for hundreds of lines instead of one per request. A line is never
//! dropped and never split: a logging thread waits while the buffer is being written, and each
//! line goes into the buffer whole.
//!
//! `--log` takes `error`, `warn`, `info`, `debug`, `trace` or `off`, and wins over `RUST_LOG`,
//! which takes tracing-subscriber's [`EnvFilter`] directives (`RUST_LOG=tower_cors_proxy=warn`).
//! Request lines are `info`; `off` silences them, while the start-up lines, printed before any
//! filter applies, stay.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use clap::{Args, ValueEnum};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// nginx's `buffer=64k`: large enough that a busy proxy writes rarely, small enough that a
/// stop without a flush (a `kill -9`) loses little.
pub const BUFFER: usize = 64 * 1024;

/// The log options of `cors proxy`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log level: error, warn, info (request lines), debug, trace or off [default: RUST_LOG,
    /// else info].
    #[arg(long, value_name = "LEVEL", value_enum)]
    pub log: Option<Level>,
    /// Longest time a log line waits in the 64 KiB buffer (250ms, 2s, 1m); 0 writes each line
    /// at once.
    #[arg(long = "log-flush", value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub log_flush: Duration,
    /// Append the log to FILE instead of writing it to stderr.
    #[arg(long = "log-file", value_name = "FILE")]
    pub log_file: Option<std::path::PathBuf>,
}

/// The values of `--log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Level {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// Warnings and the request lines.
    Info,
    /// More detail.
    Debug,
    /// Everything.
    Trace,
    /// Nothing but the start-up lines.
    Off,
}

impl From<Level> for LevelFilter {
    fn from(level: Level) -> Self {
        match level {
            Level::Error => LevelFilter::ERROR,
            Level::Warn => LevelFilter::WARN,
            Level::Info => LevelFilter::INFO,
            Level::Debug => LevelFilter::DEBUG,
            Level::Trace => LevelFilter::TRACE,
            Level::Off => LevelFilter::OFF,
        }
    }
}

/// Reads `0`, or a whole number followed by `ms`, `s`, `m` or `h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration (write 0, 250ms, 2s or 1m)");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .filter(|&i| i > 0)
        .ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds_per = match unit {
        "ms" => return Ok(Duration::from_millis(number)),
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(bad()),
    };
    number
        .checked_mul(seconds_per)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

/// Installs the log for the rest of the process. Keep the returned guard alive while the proxy
/// runs: dropping it writes what is buffered.
pub fn init(args: &LogArgs) -> Result<FlushOnDrop, String> {
    let filter = match args.log {
        // `--log` alone decides: the default directive with nothing else.
        Some(level) => EnvFilter::builder()
            .with_default_directive(LevelFilter::from(level).into())
            .parse_lossy(""),
        None => EnvFilter::builder()
            .with_default_directive(LevelFilter::INFO.into())
            .from_env()
            .map_err(|err| format!("RUST_LOG: {err}"))?,
    };
    let sink: Box<dyn Write + Send> = match &args.log_file {
        Some(path) => Box::new(open(path)?),
        None => Box::new(io::stderr()),
    };
    let (writer, guard) = BufferedLog::start(sink, args.log_flush);
    // A subscriber set earlier (by a program embedding this crate) stays; ours then only flushes.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false)
        .with_ansi(false)
        .try_init();
    Ok(guard)
}

fn open(path: &Path) -> Result<std::fs::File, String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|err| format!("cannot open the log file {}: {err}", path.display()))
}

/// Lines waiting to be written, and where they go.
struct Buffer {
    lines: Vec<u8>,
    sink: Box<dyn Write + Send>,
}

impl Buffer {
    fn write_out(&mut self) {
        if self.lines.is_empty() {
            return;
        }
        let result = self
            .sink
            .write_all(&self.lines)
            .and_then(|()| self.sink.flush());
        // The lines are gone either way: kept, they would be written again after the next ones.
        self.lines.clear();
        if let Err(err) = result {
            // Not `eprintln!`, which panics when stderr is gone too.
            let _ = writeln!(io::stderr(), "cors proxy: cannot write the log: {err}");
        }
    }
}

struct Shared {
    buffer: Mutex<Buffer>,
    /// Zero: every line is written as it is logged.
    flush_every: Duration,
    stopping: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    fn buffer(&self) -> MutexGuard<'_, Buffer> {
        // A panic elsewhere while holding the lock leaves whole lines behind: keep logging.
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The [`MakeWriter`] of the log: lines gather in one buffer, written by whichever thread fills
/// it, and by a flusher thread at least every `flush_every`.
#[derive(Clone)]
pub struct BufferedLog {
    shared: Arc<Shared>,
}

impl BufferedLog {
    /// The writer, and the guard that stops the flusher and writes the rest when dropped.
    pub fn start(sink: Box<dyn Write + Send>, flush_every: Duration) -> (Self, FlushOnDrop) {
        let shared = Arc::new(Shared {
            buffer: Mutex::new(Buffer {
                lines: Vec::with_capacity(BUFFER + 1024),
                sink,
            }),
            flush_every,
            stopping: Mutex::new(false),
            wake: Condvar::new(),
        });
        let flusher = (!flush_every.is_zero()).then(|| {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("cors-log-flush".to_owned())
                .spawn(move || flusher(&shared))
        });
        let guard = FlushOnDrop {
            shared: shared.clone(),
            // Without a thread (none could be started) lines still go out when the buffer fills
            // and at the end.
            flusher: flusher.and_then(Result::ok),
        };
        (Self { shared }, guard)
    }
}

fn flusher(shared: &Shared) {
    let mut stopping = shared
        .stopping
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    while !*stopping {
        stopping = shared
            .wake
            .wait_timeout(stopping, shared.flush_every)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        shared.buffer().write_out();
    }
}

impl<'a> MakeWriter<'a> for BufferedLog {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line {
            buffer: self.shared.buffer(),
            at_once: self.shared.flush_every.is_zero(),
        }
    }
}

/// One log line being written: it holds the buffer's lock, so lines never interleave.
pub struct Line<'a> {
    buffer: MutexGuard<'a, Buffer>,
    at_once: bool,
}

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.lines.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if self.at_once || self.buffer.lines.len() >= BUFFER {
            self.buffer.write_out();
        }
    }
}

/// Stops the flusher thread and writes what is left, when dropped.
pub struct FlushOnDrop {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
}

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        *self
            .shared
            .stopping
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.shared.wake.notify_all();
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
        self.shared.buffer().write_out();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that records each `write` call.
    #[derive(Clone, Default)]
    struct Calls(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Calls {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("calls").push(bytes.to_vec());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Calls {
        fn writes(&self) -> Vec<Vec<u8>> {
            self.0.lock().expect("calls").clone()
        }
    }

    fn log_line(log: &BufferedLog, line: &[u8]) {
        let mut writer = log.make_writer();
        // As tracing-subscriber does, and a line in pieces must still arrive whole.
        let (head, tail) = line.split_at(line.len() / 2);
        writer.write_all(head).expect("write");
        writer.write_all(tail).expect("write");
    }

    #[test]
    fn durations() {
        let ok = [
            ("0", Duration::ZERO),
            ("250ms", Duration::from_millis(250)),
            ("2s", Duration::from_secs(2)),
            ("1m", Duration::from_secs(60)),
            ("1h", Duration::from_secs(3600)),
        ];
        for (text, expected) in ok {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
        for text in [
            "",
            "1",
            "s",
            "-1s",
            "1.5s",
            "2 s",
            "1d",
            "99999999999999999999s",
        ] {
            let err = parse_duration(text).expect_err(text);
            assert!(err.contains(&format!("{text:?}")), "{err}");
        }
        assert!(parse_duration(&format!("{}h", u64::MAX / 60)).is_err());
    }

    #[test]
    fn lines_wait_for_a_full_buffer_and_go_out_whole() {
        let calls = Calls::default();
        // An hour: nothing but a full buffer or the end writes here.
        let (log, guard) = BufferedLog::start(Box::new(calls.clone()), Duration::from_secs(3600));
        let line = [b'x'; 99].iter().chain(b"\n").copied().collect::<Vec<u8>>();
        for _ in 0..1000 {
            log_line(&log, &line);
        }
        let writes = calls.writes();
        assert_eq!(writes.len(), 1000 * 100 / BUFFER, "{} writes", writes.len());
        assert!(writes
            .iter()
            .all(|w| w.len() >= BUFFER && w.len() % 100 == 0));
        drop(guard);
        let writes = calls.writes();
        assert_eq!(
            writes.concat(),
            line.repeat(1000),
            "every line, in order, once"
        );
    }

    #[test]
    fn the_flusher_writes_a_lone_line() {
        let calls = Calls::default();
        let (log, _guard) = BufferedLog::start(Box::new(calls.clone()), Duration::from_millis(20));
        log_line(&log, b"one line\n");
        // Generous: the bound under test is 20 ms.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while calls.writes().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(calls.writes(), [b"one line\n".to_vec()]);
    }

    #[test]
    fn zero_writes_each_line_at_once() {
        let calls = Calls::default();
        let (log, guard) = BufferedLog::start(Box::new(calls.clone()), Duration::ZERO);
        log_line(&log, b"a\n");
        log_line(&log, b"b\n");
        assert_eq!(calls.writes(), [b"a\n".to_vec(), b"b\n".to_vec()]);
        drop(guard);
        assert_eq!(calls.writes().len(), 2);
    }
}
