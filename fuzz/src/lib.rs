//! The input framing shared by the fuzz targets.
//!
//! Every target reads its input as lines separated by `\n`, so that the seed corpus is readable
//! text and libFuzzer's mutations stay meaningful. A line may carry arbitrary bytes. A line
//! `@N@rest` stands for `rest` repeated `N` times, so that a few bytes can describe the
//! thousands of header lines or megabyte-long values a hostile client sends.

/// The most lines one input may expand to, so that a single input stays fast to run.
pub const MAX_LINES: usize = 20_000;

/// The input's lines, with `@N@` repetitions expanded (at most [`MAX_LINES`] in all).
pub fn lines(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        let (times, line) = repeat_count(line);
        let room = MAX_LINES - out.len();
        out.extend(std::iter::repeat_n(line, times.min(room)));
        if out.len() == MAX_LINES {
            break;
        }
    }
    out
}

/// `@N@rest` → (N, rest); anything else → (1, line).
fn repeat_count(line: &[u8]) -> (usize, &[u8]) {
    let Some(rest) = line.strip_prefix(b"@") else {
        return (1, line);
    };
    let Some(end) = rest.iter().position(|&b| b == b'@') else {
        return (1, line);
    };
    let digits = &rest[..end];
    if digits.is_empty() || digits.len() > 6 || !digits.iter().all(u8::is_ascii_digit) {
        return (1, line);
    }
    let n = digits
        .iter()
        .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
    (n, &rest[end + 1..])
}

/// The most bytes the inflated values of one input may add up to. It keeps the harness itself
/// fast (building the request, and the model re-reading it), so that a slow input points at the
/// code under test.
pub const MAX_INFLATED: usize = 4 << 20;

/// `value` repeated so that it is about `len` bytes long (for megabyte-long header values),
/// taken from `budget`, which starts at [`MAX_INFLATED`]; past it, `value` as it is.
pub fn inflate(value: &[u8], len: usize, budget: &mut usize) -> Vec<u8> {
    let len = len.min(*budget).max(value.len());
    *budget = budget.saturating_sub(len);
    value.iter().copied().cycle().take(len).collect()
}

/// `bytes` without the bytes a header value cannot hold (controls other than tab, DEL).
pub fn header_bytes(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .copied()
        .filter(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
        .collect()
}

/// Splits `key:value` (or a bare `key`) at the first `:`.
pub fn key_value(line: &[u8]) -> (&[u8], &[u8]) {
    match line.iter().position(|&b| b == b':') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &[]),
    }
}
