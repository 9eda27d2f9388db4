//! Counters through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`).
//!
//! The library installs no recorder: the application does, before serving (a counter
//! recorded while none is installed is dropped). Label values come from closed sets — the
//! request kind, the outcome, the [`ReasonKind`] variant name, and the policy names the
//! configuration gave — never from the request, so the number of series is bounded by the
//! configuration: at most 3 kinds × (1 + 6 reasons) × the number of policies for
//! `cors_requests_total`, 2 directions × 6 reasons × the number of policies for
//! `cors_shadow_disagreements_total`.
//!
//! Cost: the facade builds each counter's key from its four labels in a vector, one
//! allocation per counter recorded, whether or not a recorder is installed
//! (`tests/alloc_count.rs` asserts the count); a request records one counter, plus one per
//! shadow disagreement.

use std::sync::Arc;

use crate::decision::Decision;
use crate::summary::{classify, ReasonKind};

/// Counts one decided request in `cors_requests_total`, under the deciding policy's name.
#[inline]
pub(crate) fn request(decision: &Decision<'_>) {
    let (Some((kind, allowed)), Some(headers)) = (classify(decision), decision.headers()) else {
        return;
    };
    let reason = decision
        .rejection()
        .map_or("none", |r| ReasonKind::from(r.reason()).as_str());
    metrics::counter!(
        "cors_requests_total",
        "kind" => kind.as_str(),
        "outcome" => if allowed { "allowed" } else { "denied" },
        "reason" => reason,
        "policy" => headers.policy.clone(),
    )
    .increment(1);
}

/// Counts one shadow disagreement in `cors_shadow_disagreements_total`.
pub(crate) fn disagreement(direction: &'static str, reason: ReasonKind, policy: &Arc<str>) {
    metrics::counter!(
        "cors_shadow_disagreements_total",
        "direction" => direction,
        "reason" => reason.as_str(),
        "policy" => policy.clone(),
    )
    .increment(1);
}
