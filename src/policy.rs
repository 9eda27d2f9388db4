//! The compiled, immutable policy and its pure decision function.
//!
//! Everything a response needs is precomputed here at build time (joined lists, header values),
//! so that [`Policy::evaluate`] only looks things up and borrows.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{Method, StatusCode};
use smallvec::SmallVec;

use crate::decision::{
    AllowHeaders, CorsHeaders, Decision, Reason, Rejection, VaryFlags, REQUEST_PRIVATE_NETWORK,
};
use crate::header_list::{self, ScanError};
use crate::origin::OriginMatcher;

/// A synchronous origin predicate.
pub(crate) type OriginFn = Box<dyn Fn(&HeaderValue, &Parts) -> bool + Send + Sync>;
/// The boxed future of an asynchronous origin predicate.
pub(crate) type BoolFuture = Pin<Box<dyn Future<Output = bool> + Send>>;
/// An asynchronous origin predicate.
pub(crate) type AsyncOriginFn = Box<dyn Fn(HeaderValue, &Parts) -> BoolFuture + Send + Sync>;

/// A set of header names compared ASCII-case-insensitively, stored in lower case.
#[derive(Default)]
pub(crate) struct CaselessSet {
    table: HashTable<Box<[u8]>>,
    hasher: RandomState,
}

impl CaselessSet {
    pub(crate) fn insert(&mut self, name: &str) {
        let lower = name.to_ascii_lowercase().into_bytes().into_boxed_slice();
        let hash = self.hash(&lower);
        if self.table.find(hash, |n| **n == *lower).is_none() {
            let hasher = &self.hasher;
            self.table
                .insert_unique(hash, lower, |n| caseless_hash(hasher, n));
        }
    }

    pub(crate) fn contains(&self, name: &[u8]) -> bool {
        let hash = self.hash(name);
        self.table
            .find(hash, |n| n.eq_ignore_ascii_case(name))
            .is_some()
    }

    fn hash(&self, name: &[u8]) -> u64 {
        caseless_hash(&self.hasher, name)
    }
}

fn caseless_hash(hasher: &RandomState, name: &[u8]) -> u64 {
    let mut h = hasher.build_hasher();
    let mut buf = [0u8; 32];
    for chunk in name.chunks(buf.len()) {
        let lower = &mut buf[..chunk.len()];
        lower.copy_from_slice(chunk);
        lower.make_ascii_lowercase();
        h.write(lower);
    }
    h.write_usize(name.len());
    h.finish()
}

/// Values precomputed at build time, borrowed by every decision.
pub(crate) struct Precomputed {
    pub(crate) star: HeaderValue,
    pub(crate) true_: HeaderValue,
    pub(crate) star_authorization: HeaderValue,
    pub(crate) allow_methods: HeaderValue,
    pub(crate) allow_headers: Option<HeaderValue>,
    pub(crate) expose_headers: Option<HeaderValue>,
    pub(crate) max_age: Option<HeaderValue>,
    pub(crate) vary_preflight: HeaderValue,
    pub(crate) vary_preflight_flags: VaryFlags,
    pub(crate) vary_origin: HeaderValue,
}

/// A compiled CORS policy.
pub(crate) struct Policy {
    pub(crate) any_origin: bool,
    pub(crate) origins: OriginMatcher,
    pub(crate) origin_fns: Vec<OriginFn>,
    pub(crate) origin_async: Vec<AsyncOriginFn>,
    pub(crate) credentials: bool,
    pub(crate) any_method: bool,
    /// Normalized method names, byte-exact.
    pub(crate) methods: SmallVec<[Box<[u8]>; 8]>,
    pub(crate) any_header: bool,
    pub(crate) headers: CaselessSet,
    pub(crate) private_network: bool,
    pub(crate) preflight_status: StatusCode,
    pub(crate) pass_through: bool,
    pub(crate) values: Precomputed,
}

/// Makes a header value from a string built at build time, shared so that every clone per
/// request is a reference-count increment, never an allocation.
pub(crate) fn shared_value(s: String) -> HeaderValue {
    let value = HeaderValue::from_maybe_shared(Bytes::from(s))
        .unwrap_or_else(|_| HeaderValue::from_static(""));
    // The first clone of a `Bytes` made from a `Vec` moves it to shared storage; do it now.
    drop(value.clone());
    value
}

impl Policy {
    /// Decides what to do with a request head. `origin_answer` is the asynchronous predicate's
    /// verdict, once known.
    pub(crate) fn evaluate<'a>(
        &'a self,
        parts: &'a Parts,
        origin_answer: Option<bool>,
    ) -> Decision<'a> {
        let Some(origin) = parts.headers.get(header::ORIGIN) else {
            return Decision::NotCors {
                headers: self.not_cors_headers(),
            };
        };
        let allowed = if self.any_origin
            || self.origins.matches(origin.as_bytes())
            || self.origin_fns.iter().any(|f| f(origin, parts))
        {
            true
        } else if let Some(answer) = origin_answer {
            answer
        } else if !self.origin_async.is_empty() {
            return Decision::OriginPending;
        } else {
            false
        };
        let preflight =
            parts.method == Method::OPTIONS && parts.headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if preflight {
            self.preflight(parts, origin, allowed)
        } else if allowed {
            Decision::ActualAllowed {
                headers: self.actual_headers(origin),
            }
        } else {
            Decision::ActualDenied(Rejection {
                origin,
                reason: Reason::OriginNotAllowed,
                headers: self.denied_headers(),
            })
        }
    }

    fn preflight<'a>(
        &'a self,
        parts: &'a Parts,
        origin: &'a HeaderValue,
        origin_allowed: bool,
    ) -> Decision<'a> {
        let reject = |reason| {
            Decision::PreflightRejected(Rejection {
                origin,
                reason,
                headers: CorsHeaders {
                    vary_flags: self.values.vary_preflight_flags,
                    vary: Some(&self.values.vary_preflight),
                    ..CorsHeaders::empty()
                },
            })
        };
        if !origin_allowed {
            return reject(Reason::OriginNotAllowed);
        }
        let private_network = parts
            .headers
            .get(REQUEST_PRIVATE_NETWORK)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        if private_network && !self.private_network {
            return reject(Reason::PrivateNetworkNotAllowed);
        }
        let Some(method) = parts.headers.get(header::ACCESS_CONTROL_REQUEST_METHOD) else {
            return reject(Reason::MethodNotAllowed(b""));
        };
        let m = method.as_bytes();
        let method_ok = header_list::is_token(m)
            && (matches!(m, b"GET" | b"HEAD" | b"POST")
                || self.any_method
                || self.methods.iter().any(|allowed| **allowed == *m));
        if !method_ok {
            return reject(Reason::MethodNotAllowed(m));
        }
        let requested = parts.headers.get_all(header::ACCESS_CONTROL_REQUEST_HEADERS);
        let has_requested = parts
            .headers
            .contains_key(header::ACCESS_CONTROL_REQUEST_HEADERS);
        let mut authorization = false;
        if has_requested {
            let scan = header_list::scan(requested, |name| {
                self.any_header || self.headers.contains(name)
            });
            match scan {
                Ok(scan) => authorization = scan.authorization,
                Err(ScanError::TooLong) => return reject(Reason::RequestHeadersTooLong),
                Err(ScanError::Malformed(h)) => return reject(Reason::MalformedRequestHeaders(h)),
                Err(ScanError::NotAllowed(h)) => return reject(Reason::HeaderNotAllowed(h)),
            }
        }
        let v = &self.values;
        let allow_methods = if self.any_method && self.credentials {
            method
        } else {
            &v.allow_methods
        };
        let allow_headers = if !has_requested {
            AllowHeaders::None
        } else if self.any_header {
            if self.credentials {
                AllowHeaders::Echo(&parts.headers)
            } else if authorization {
                AllowHeaders::Value(&v.star_authorization)
            } else {
                AllowHeaders::Value(&v.star)
            }
        } else {
            v.allow_headers
                .as_ref()
                .map_or(AllowHeaders::None, AllowHeaders::Value)
        };
        Decision::PreflightAccepted {
            headers: CorsHeaders {
                allow_origin: Some(self.allow_origin_value(origin)),
                allow_credentials: self.credentials.then_some(&v.true_),
                allow_methods: Some(allow_methods),
                allow_headers,
                expose_headers: None,
                max_age: v.max_age.as_ref(),
                allow_private_network: private_network.then_some(&v.true_),
                vary_flags: v.vary_preflight_flags,
                vary: Some(&v.vary_preflight),
                owns_cors_headers: true,
            },
            status: self.preflight_status,
            pass_through: self.pass_through,
        }
    }

    fn allow_origin_value<'a>(&'a self, origin: &'a HeaderValue) -> &'a HeaderValue {
        if self.any_origin {
            &self.values.star
        } else {
            origin
        }
    }

    /// The headers for an actual request from an allowed origin.
    pub(crate) fn actual_headers<'a>(&'a self, origin: &'a HeaderValue) -> CorsHeaders<'a> {
        CorsHeaders {
            allow_origin: Some(self.allow_origin_value(origin)),
            allow_credentials: self.credentials.then_some(&self.values.true_),
            expose_headers: self.values.expose_headers.as_ref(),
            ..self.vary_origin_headers()
        }
    }

    /// The headers for an actual request from an origin that is not allowed.
    pub(crate) fn denied_headers(&self) -> CorsHeaders<'_> {
        self.vary_origin_headers()
    }

    /// The headers for a request without `Origin`.
    pub(crate) fn not_cors_headers(&self) -> CorsHeaders<'_> {
        if self.any_origin {
            CorsHeaders {
                allow_origin: Some(&self.values.star),
                expose_headers: self.values.expose_headers.as_ref(),
                owns_cors_headers: false,
                ..CorsHeaders::empty()
            }
        } else {
            CorsHeaders {
                owns_cors_headers: false,
                ..self.vary_origin_headers()
            }
        }
    }

    fn vary_origin_headers(&self) -> CorsHeaders<'_> {
        if self.any_origin {
            CorsHeaders::empty()
        } else {
            CorsHeaders {
                vary_flags: VaryFlags(VaryFlags::ORIGIN),
                vary: Some(&self.values.vary_origin),
                ..CorsHeaders::empty()
            }
        }
    }

    /// Starts the asynchronous origin predicates; the future resolves to `true` as soon as one
    /// of them does.
    pub(crate) fn check_origin_async(&self, parts: &Parts) -> Option<OriginFuture> {
        let origin = parts.headers.get(header::ORIGIN)?;
        if self.origin_async.is_empty() {
            return None;
        }
        let futures = self
            .origin_async
            .iter()
            .map(|f| f(origin.clone(), parts))
            .collect();
        Some(OriginFuture { futures })
    }
}

/// The asynchronous origin check in progress: resolves to whether any predicate allowed the
/// origin. Predicates are awaited in the order they were added; the first `true` wins.
pub struct OriginFuture {
    futures: SmallVec<[BoolFuture; 1]>,
}

impl std::fmt::Debug for OriginFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OriginFuture")
            .field("pending", &self.futures.len())
            .finish()
    }
}

impl Future for OriginFuture {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        while let Some(first) = self.futures.first_mut() {
            match first.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(true) => {
                    self.futures.clear();
                    return Poll::Ready(true);
                }
                Poll::Ready(false) => {
                    drop(self.futures.remove(0));
                }
            }
        }
        Poll::Ready(false)
    }
}
