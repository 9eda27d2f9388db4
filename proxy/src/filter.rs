//! The request filter: what is decided on the request head alone, before any upstream is chosen
//! — the method, navigations, the head's size, the origin guard, the client's rate limit and a
//! concurrency slot. The first refusal answers; a request that passes holds its slot until its
//! response body is done.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use governor::clock::{Clock, DefaultClock};
use http::request::Parts;
use http::StatusCode;
use tokio::sync::OwnedSemaphorePermit;

use tower_cors::Decision;

use crate::answer::{Answer, Outcome};
use crate::log::refusal_hint;
use crate::origin_guard::{self, Verdict};
use crate::route::{ClientAddr, Route, Shared};

/// How many client addresses the rate limiter tracks before it forgets idle ones.
const RATE_LIMIT_KEYS: usize = 100_000;

/// Runs the request filter; on success the request holds one of the concurrency slots.
pub(crate) fn request_filter(
    route: &Route,
    shared: &Shared,
    parts: &Parts,
) -> Result<OwnedSemaphorePermit, Answer> {
    route.methods.check(&parts.method)?;
    if !route.guard.allow_navigation
        && parts
            .headers
            .get("sec-fetch-mode")
            .is_some_and(|mode| mode == "navigate")
    {
        return Err(Answer::new(
            StatusCode::FORBIDDEN,
            "top-level navigation to a proxied route is refused; call it with fetch()",
        )
        .refused());
    }
    let limits = &shared.limits;
    if head_size(parts) > limits.max_request_headers {
        return Err(Answer::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "request headers are larger than {} bytes",
                limits.max_request_headers
            ),
        ));
    }
    guard_origin(route, shared, parts)?;
    if let Some(limiter) = &shared.limiter {
        // Without a known peer every such request shares one bucket: fail towards limiting.
        let key = client_ip(parts, shared).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if let Err(not_until) = limiter.check_key(&key) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(Answer::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests from this client; retry later",
            )
            .retry_after(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)));
        }
        if limiter.len() > RATE_LIMIT_KEYS {
            limiter.retain_recent();
        }
    }
    // Refused, not queued: a queue in front of a slow upstream only grows.
    shared.in_flight.clone().try_acquire_owned().map_err(|_| {
        Answer::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the proxy is at its limit of concurrent requests; retry later",
        )
    })
}

/// The origin guard: a request that the route's policy refuses, or that another site's page
/// made without `Origin`, never reaches the upstream (see [`origin_guard`]).
fn guard_origin(route: &Route, shared: &Shared, parts: &Parts) -> Result<(), Answer> {
    let scheme = request_scheme(parts, shared);
    let host = parts
        .headers
        .get(http::header::HOST)
        .map(|h| h.as_bytes())
        .or_else(|| parts.uri.authority().map(|a| a.as_str().as_bytes()));
    let request = origin_guard::GuardRequest {
        headers: &parts.headers,
        scheme,
        host,
        public_origins: &shared.public_origins,
    };
    let mut hint = None;
    let verdict = origin_guard::decide(&request, &route.guard, || {
        match route.cors.evaluate(parts) {
            Decision::ActualAllowed { .. } | Decision::NotCors { .. } => Ok(()),
            Decision::ActualDenied(rejection) | Decision::PreflightRejected(rejection) => {
                let reason = rejection.reason();
                if shared.hints {
                    hint = refusal_hint(&reason, rejection.origin());
                }
                Err(reason.to_string())
            }
            // A policy read from a configuration file has no asynchronous predicate; refuse
            // rather than guess.
            _ => Err("the origin could not be checked".to_owned()),
        }
    });
    match verdict {
        Verdict::Forward => Ok(()),
        Verdict::Refuse(refusal) => {
            let reason = refusal.to_string();
            Err(
                Answer::new(StatusCode::FORBIDDEN, format!("refused: {reason}"))
                    .outcome(Outcome::Refused { reason, hint }),
            )
        }
    }
}

/// The scheme the browser used to reach the proxy: `X-Forwarded-Proto` from a trusted proxy,
/// else the request target's own, else `http` (the proxy's listener speaks no TLS).
fn request_scheme<'a>(parts: &'a Parts, shared: &Shared) -> &'a str {
    let from_trusted = peer_addr(&parts.extensions).is_some_and(|peer| shared.trusts(&peer.ip()));
    if from_trusted {
        if let Some(proto) = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
        {
            let proto = proto.split(',').next().unwrap_or("").trim();
            if proto.eq_ignore_ascii_case("https") {
                return "https";
            }
            if proto.eq_ignore_ascii_case("http") {
                return "http";
            }
        }
    }
    match parts.uri.scheme_str() {
        Some(scheme) if scheme.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    }
}

/// The client address a rate limit is keyed on: the connection's peer, or, when that peer is a
/// trusted proxy, the right-most `X-Forwarded-For` entry that is not itself trusted.
pub(crate) fn client_ip(parts: &Parts, shared: &Shared) -> Option<IpAddr> {
    let peer = peer_addr(&parts.extensions)?.ip();
    if !shared.trusts(&peer) {
        return Some(peer);
    }
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for entry in forwarded.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) if shared.trusts(&ip) => continue,
            Ok(ip) => return Some(ip),
            // An unreadable hop: stop believing the chain there.
            Err(_) => break,
        }
    }
    Some(peer)
}

pub(crate) fn peer_addr(extensions: &http::Extensions) -> Option<SocketAddr> {
    if let Some(ClientAddr(addr)) = extensions.get::<ClientAddr>() {
        return Some(*addr);
    }
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0);
    }
    None
}

fn head_size(parts: &Parts) -> usize {
    let uri = &parts.uri;
    let target = uri.path_and_query().map_or(1, |p| p.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len());
    let line = parts.method.as_str().len() + target + 12;
    line + parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use http::{HeaderValue, Request};
    use ipnet::IpNet;

    #[test]
    fn client_address_table() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let shared = Shared::new(Limits::default(), trusted, String::new(), Vec::new(), false);
        // (peer, X-Forwarded-For, key)
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("203.0.113.9", None, "203.0.113.9"),
            // An untrusted peer's claim is ignored.
            ("203.0.113.9", Some("198.51.100.1"), "203.0.113.9"),
            ("10.0.0.2", Some("198.51.100.1"), "198.51.100.1"),
            // The right-most entry that is not a trusted hop; the spoofed left part is ignored.
            (
                "10.0.0.2",
                Some("6.6.6.6, 198.51.100.1, 10.0.0.3"),
                "198.51.100.1",
            ),
            // Nothing but trusted hops, or an unreadable hop: the peer itself.
            ("10.0.0.2", Some("10.0.0.3"), "10.0.0.2"),
            ("10.0.0.2", Some("6.6.6.6, garbage"), "10.0.0.2"),
            ("10.0.0.2", None, "10.0.0.2"),
        ];
        for (peer, xff, key) in cases {
            let mut request = Request::new(());
            let addr = SocketAddr::new(peer.parse().expect("peer"), 4000);
            request.extensions_mut().insert(ClientAddr(addr));
            if let Some(xff) = xff {
                request
                    .headers_mut()
                    .insert("x-forwarded-for", HeaderValue::from_static(xff));
            }
            let (parts, ()) = request.into_parts();
            let got = client_ip(&parts, &shared).map(|ip| ip.to_string());
            assert_eq!(got.as_deref(), Some(*key), "{peer} {xff:?}");
        }
        let (parts, ()) = Request::new(()).into_parts();
        assert_eq!(client_ip(&parts, &shared), None);
    }

    #[test]
    fn the_scheme_comes_from_a_trusted_proxy_only() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let shared = Shared::new(Limits::default(), trusted, String::new(), Vec::new(), false);
        // (peer, X-Forwarded-Proto, scheme)
        let cases = [
            ("10.0.0.2", Some("https"), "https"),
            ("10.0.0.2", Some("HTTPS, http"), "https"),
            ("10.0.0.2", Some("gopher"), "http"),
            ("10.0.0.2", None, "http"),
            ("203.0.113.9", Some("https"), "http"),
        ];
        for (peer, proto, scheme) in cases {
            let mut request = Request::new(());
            let addr = SocketAddr::new(peer.parse().expect("peer"), 4000);
            request.extensions_mut().insert(ClientAddr(addr));
            if let Some(proto) = proto {
                request
                    .headers_mut()
                    .insert("x-forwarded-proto", HeaderValue::from_static(proto));
            }
            let (parts, ()) = request.into_parts();
            assert_eq!(request_scheme(&parts, &shared), scheme, "{peer} {proto:?}");
        }
    }
}
