//! The upstream request: the browser's request made fit for the upstream (header hygiene, the
//! proxy's own forwarding headers, the route's secrets, a bounded and watched body), sent, and
//! redirects followed on the server when the route asks, each hop checked again.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Method, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use url::Url;

use crate::answer::Answer;
use crate::body::{text, BodyIdle, BoxError, ClientBodyError, ProxyBody, Watched};
use crate::config::Limits;
use crate::filter::peer_addr;
use crate::guard::{ConnectTimeout, Refused};
use crate::headers;
use crate::route::{HttpClient, Mode, Route, Shared};
use crate::upstream::{apply_query, check_redirect};

/// Sends the request to `target` (and on through redirects the route follows); returns the
/// upstream's answer and the URL that gave it.
pub(crate) async fn forward<B>(
    route: &Route,
    shared: &Shared,
    parts: Parts,
    body: B,
    mut target: Url,
) -> Result<(Response<Incoming>, Url), Answer>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let limits = &shared.limits;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.max_request_body) {
        return Err(too_large(limits.max_request_body));
    }

    // What the forwarding headers say, read before the browser's headers are cleaned; only a
    // route that sends them needs it.
    let forwarding = route.forwarded_headers.then(|| {
        let peer = peer_addr(&parts.extensions).map(|a| a.ip());
        let proxy_host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()));
        let trusted_chain = peer
            .filter(|ip| shared.trusts(ip))
            .and_then(|_| parts.headers.get("x-forwarded-for").cloned());
        (peer, trusted_chain, proxy_host)
    });
    let mut browser_headers = parts.headers;
    headers::clean_request(&mut browser_headers, &route.request_rules);
    headers::add_via(&mut browser_headers, parts.version);
    if let Some((peer, trusted_chain, proxy_host)) = forwarding {
        add_forwarded(
            &mut browser_headers,
            peer,
            trusted_chain,
            proxy_host.as_deref(),
            parts.uri.scheme_str().unwrap_or("http"),
        );
    }

    let replayable = body.is_end_stream();
    let following = route.follow_redirects && replayable;
    // Kept for later hops only when redirects may be followed; else moved into the request.
    let mut browser_headers = Some(browser_headers);
    let mut body = Some(
        Limited::new(
            Watched::from_client(body, limits.body_idle_timeout),
            usize::try_from(limits.max_request_body).unwrap_or(usize::MAX),
        )
        .boxed_unsync(),
    );
    let mut method = parts.method.clone();
    let mut hops = 0usize;
    // The route's secrets go to the upstream the request was for, never to another origin a
    // followed redirect leads to. In URL mode that is the first target's origin; without
    // redirects to follow there is only the first target, which is on it.
    let first_origin = (following && matches!(route.mode, Mode::Urls)).then(|| target.origin());
    let response = loop {
        let own_origin = match &route.mode {
            Mode::Upstream { .. } => route.is_upstream(&target),
            Mode::Urls => first_origin
                .as_ref()
                .is_none_or(|first| *first == target.origin()),
        };
        let mut headers = match (following, browser_headers.take()) {
            (true, Some(kept)) => {
                let headers = kept.clone();
                browser_headers = Some(kept);
                headers
            }
            (_, Some(kept)) => kept,
            (_, None) => HeaderMap::new(),
        };
        let client = match &route.mode {
            Mode::Upstream { .. } if own_origin => &route.trusted_client,
            _ => &route.guarded_client,
        };
        if own_origin {
            for (name, value) in &route.set_headers {
                headers.insert(name.clone(), value.clone());
            }
        } else {
            // A redirect to another origin gets none of the route's secrets or credentials.
            headers.remove(header::COOKIE);
            headers.remove(header::AUTHORIZATION);
        }
        let request_body = body.take().unwrap_or_else(|| text(Bytes::new()));
        let upstream = send(client, limits, &method, &target, headers, request_body).await?;
        let status = upstream.status();
        let follow = following && status.is_redirection();
        let location = upstream
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| target.join(l).ok());
        match (follow, location) {
            (true, Some(next)) => {
                hops += 1;
                if hops > limits.max_redirects {
                    return Err(Answer::new(
                        StatusCode::BAD_GATEWAY,
                        format!(
                            "the upstream redirected more than {} times",
                            limits.max_redirects
                        ),
                    ));
                }
                check_redirect(route, &target, &next)?;
                if status == StatusCode::SEE_OTHER && method != Method::HEAD {
                    method = Method::GET;
                }
                target = next;
                if route.is_upstream(&target) {
                    apply_query(&mut target, &route.set_query);
                }
            }
            _ => break upstream,
        }
    };

    Ok((response, target))
}

fn too_large(limit: u64) -> Answer {
    Answer::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than {limit} bytes"),
    )
}

fn add_forwarded(
    headers: &mut HeaderMap,
    peer: Option<IpAddr>,
    trusted_chain: Option<HeaderValue>,
    host: Option<&str>,
    proto: &str,
) {
    let Some(peer) = peer else { return };
    let node = match peer {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("\"[{ip}]\""),
    };
    let mut forwarded = format!("for={node};proto={proto}");
    if let Some(host) = host {
        forwarded.push_str(&format!(";host=\"{host}\""));
    }
    let xff = match trusted_chain.as_ref().and_then(|v| v.to_str().ok()) {
        Some(chain) => format!("{chain}, {peer}"),
        None => peer.to_string(),
    };
    let pairs = [
        ("forwarded", Some(forwarded)),
        ("x-forwarded-for", Some(xff)),
        ("x-forwarded-proto", Some(proto.to_owned())),
        ("x-forwarded-host", host.map(str::to_owned)),
    ];
    for (name, value) in pairs {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
}

async fn send(
    client: &HttpClient,
    limits: &Limits,
    method: &Method,
    target: &Url,
    headers: HeaderMap,
    body: ProxyBody,
) -> Result<Response<hyper::body::Incoming>, Answer> {
    let uri: Uri = target
        .as_str()
        .parse()
        .map_err(|_| Answer::new(StatusCode::BAD_REQUEST, "the upstream URL is not valid"))?;
    let mut request = Request::new(body);
    *request.method_mut() = method.clone();
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    match tokio::time::timeout(limits.response_timeout, client.request(request)).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(err)) => Err(client_error(&err, target)),
        Err(_) => Err(Answer::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "the upstream did not answer within {}",
                show(limits.response_timeout)
            ),
        )),
    }
}

pub(crate) fn show(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// Finds an error of type `T` in a chain, looking inside `io::Error`s too (whose `source`
/// skips the error they wrap).
fn find<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(inner) = err.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            if let Some(found) = find::<T>(inner) {
                return Some(found);
            }
        }
        next = err.source();
    }
    None
}

fn client_error(err: &hyper_util::client::legacy::Error, target: &Url) -> Answer {
    let origin = target.origin().ascii_serialization();
    if let Some(refused) = find::<Refused>(err) {
        return Answer::new(
            StatusCode::FORBIDDEN,
            format!(
                "{} refused by the SSRF guard: it resolves to a {}",
                target.host_str().unwrap_or(""),
                refused.rule
            ),
        );
    }
    if let Some(idle) = find::<BodyIdle>(err) {
        return Answer::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request body made no progress for {}", show(idle.0)),
        )
        .client_fault();
    }
    if find::<ClientBodyError>(err).is_some() {
        return Answer::new(
            StatusCode::BAD_REQUEST,
            "the request body was malformed or cut off",
        )
        .client_fault();
    }
    if find::<LengthLimitError>(err).is_some() {
        return Answer::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is larger than the limit",
        );
    }
    if find::<ConnectTimeout>(err).is_some() {
        return Answer::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!("connecting to {origin} timed out"),
        );
    }
    tracing::warn!(upstream = %origin, error = %ErrorChain(err), "upstream request failed");
    let message = if err.is_connect() {
        format!("could not connect to the upstream {origin}")
    } else {
        format!("the upstream {origin} failed to answer")
    };
    Answer::new(StatusCode::BAD_GATEWAY, message)
}

/// An error with its sources, for the log.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(err) = next {
            write!(f, ": {err}")?;
            next = err.source();
        }
        Ok(())
    }
}
