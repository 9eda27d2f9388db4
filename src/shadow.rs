//! Shadow evaluation: enforce the current policy (or set) and, on every request or a sampled
//! fraction of them, also ask a candidate what it would have decided, reporting each
//! disagreement without changing the response.
//!
//! # What it can and cannot see
//!
//! The server sees only the requests browsers send. When the current policy refuses a
//! preflight, the browser never sends the actual request, so a candidate that would allow it is
//! seen allowing the preflight only, never the request behind it; when the current policy allows
//! one, the actual request follows and both are compared. Actual requests carry only the origin
//! check (method and header checks happen in preflights), so a candidate that differs in methods
//! or headers disagrees on preflights alone. Preflights a browser answered from its cache
//! (`Access-Control-Max-Age`) are not seen at all. A candidate whose only say comes from an
//! asynchronous origin predicate is not evaluated (that would mean awaiting it for a response it
//! cannot change); the disagreement is then not counted.
//!
//! # Sampling
//!
//! One draw per request decides whether the candidate is evaluated, from a small generator
//! (SplitMix64) seeded from the standard library's random hasher state, or from a seed given in
//! tests. The fraction is exact over many requests and independent of any other sampling.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::decision::{Decision, Rejection};
use crate::policy::RequestHead;
use crate::set::Engine;
use crate::summary::{classify, ReasonKind};

/// Which way a candidate disagrees with the policy in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// The candidate would refuse what is allowed now.
    WouldRefuse,
    /// The candidate would allow what is refused now.
    WouldAllow,
}

impl Direction {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Direction::WouldRefuse => "would_refuse",
            Direction::WouldAllow => "would_allow",
        }
    }
}

pub(crate) struct Shadow {
    candidate: Arc<Engine>,
    /// A request is sampled when its draw is below this; `None` samples every one.
    threshold: Option<u64>,
    state: AtomicU64,
}

impl Shadow {
    /// `fraction` is clamped to `0.0..=1.0` (NaN counts as 0).
    pub(crate) fn new(candidate: Arc<Engine>, fraction: f64, seed: Option<u64>) -> Self {
        let fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        let threshold = if fraction >= 1.0 {
            None
        } else {
            // Exact to 2^-64; the float product is below 2^64, so the cast cannot saturate
            // except at 1.0, handled above.
            Some((fraction * 18_446_744_073_709_551_616.0) as u64)
        };
        let seed = seed.unwrap_or_else(|| {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(0x5eed);
            hasher.finish()
        });
        Shadow {
            candidate,
            threshold,
            state: AtomicU64::new(seed),
        }
    }

    /// The same candidate and sampling, with a generator of its own.
    pub(crate) fn share(&self) -> Shadow {
        Shadow {
            candidate: self.candidate.clone(),
            threshold: self.threshold,
            state: AtomicU64::new(self.state.load(Ordering::Relaxed) ^ 0x9e37_79b9),
        }
    }

    pub(crate) fn candidate(&self) -> &Engine {
        &self.candidate
    }

    /// One draw: whether this request is evaluated.
    fn sampled(&self) -> bool {
        let Some(threshold) = self.threshold else {
            return true;
        };
        const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut z = self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) < threshold
    }

    /// Compares the candidate's decision on `head` with `current`'s, reporting a
    /// disagreement. `head` must be a `Parts` when the candidate needs one.
    pub(crate) fn observe<H: RequestHead>(&self, current: &Decision<'_>, head: &H) {
        let Some((_, allowed_now)) = classify(current) else {
            return;
        };
        if !self.sampled() {
            return;
        }
        let index = self.candidate.select(head);
        let policy = &self.candidate.policies[index];
        let candidate = policy.evaluate(head, None);
        let Some((_, allowed_then)) = classify(&candidate) else {
            return;
        };
        match (allowed_now, allowed_then) {
            (true, false) => {
                if let (Some(rejection), Some(headers)) = (candidate.rejection(), current.headers())
                {
                    report(
                        Direction::WouldRefuse,
                        rejection,
                        headers.policy,
                        &policy.name,
                    );
                }
            }
            (false, true) => {
                if let Some(rejection) = current.rejection() {
                    report(
                        Direction::WouldAllow,
                        rejection,
                        rejection.headers().policy,
                        &policy.name,
                    );
                }
            }
            _ => {}
        }
    }
}

/// Reports one disagreement: `rejection` is the refusing side's (the candidate's when it
/// would refuse, the current policy's when the candidate would allow), whose policy the
/// metric's `policy` label names.
#[cold]
fn report(
    direction: Direction,
    rejection: &Rejection<'_>,
    current: &Arc<str>,
    candidate: &Arc<str>,
) {
    let reason = ReasonKind::from(rejection.reason());
    #[cfg(feature = "metrics")]
    crate::metrics::disagreement(
        direction.as_str(),
        reason,
        match direction {
            Direction::WouldRefuse => candidate,
            Direction::WouldAllow => current,
        },
    );
    #[cfg(feature = "tracing")]
    {
        let origin = String::from_utf8_lossy(rejection.origin().as_bytes());
        tracing::info!(
            direction = direction.as_str(),
            reason = reason.as_str(),
            detail = %rejection.reason(),
            %origin,
            policy = &**current,
            candidate = &**candidate,
            "CORS shadow policy disagrees"
        );
    }
    #[cfg(not(any(feature = "tracing", feature = "metrics")))]
    let _ = (direction.as_str(), reason, current, candidate);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_draws_the_fraction() {
        let engine = crate::CorsLayer::builder()
            .allow_any_origin()
            .build()
            .expect("valid")
            .engine_arc();
        for (fraction, low, high) in [
            (0.0, 0, 0),
            (0.1, 900, 1100),
            (0.5, 4800, 5200),
            (1.0, 10_000, 10_000),
        ] {
            let shadow = Shadow::new(engine.clone(), fraction, Some(42));
            let hits = (0..10_000).filter(|_| shadow.sampled()).count();
            assert!((low..=high).contains(&hits), "{fraction}: {hits}");
        }
        // The same seed draws the same sequence.
        let a = Shadow::new(engine.clone(), 0.5, Some(7));
        let b = Shadow::new(engine, 0.5, Some(7));
        let draws = |s: &Shadow| (0..64).map(|_| s.sampled()).collect::<Vec<_>>();
        assert_eq!(draws(&a), draws(&b));
    }
}
