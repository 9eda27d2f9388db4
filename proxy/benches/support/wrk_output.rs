//! What both proxy benches read from wrk's output.

/// A wrk latency such as `1.23ms`, `850.00us` or `1.02s`, in milliseconds.
pub fn millis(value: &str) -> f64 {
    let (number, factor) = if let Some(n) = value.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = value.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = value.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (value, 1.0)
    };
    number.parse::<f64>().unwrap_or(f64::NAN) * factor
}
