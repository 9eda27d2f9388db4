//! The upstream choice: which URL a request is for (route mode: the base URL plus the path;
//! URL mode: the absolute URL after the prefix, on the allow list and past the SSRF guard's
//! checks), the route's query parameters, and where redirects may lead and how `Location`
//! goes back to the browser.

use http::header::HeaderValue;
use http::{StatusCode, Uri};
use url::Url;

use crate::answer::Answer;
use crate::route::{Mode, Route, Shared};
use crate::target::{check_target, has_dot_segment, AllowEntry};

/// The upstream URL a request is for, with the route's query parameters set.
pub(crate) fn target(route: &Route, uri: &Uri) -> Result<Url, Answer> {
    let mut url = target_url(route, uri)?;
    apply_query(&mut url, &route.set_query);
    Ok(url)
}

/// The upstream URL a request is for, or the refusal.
fn target_url(route: &Route, uri: &Uri) -> Result<Url, Answer> {
    let path = uri.path();
    match &route.mode {
        Mode::Upstream { base, .. } => {
            if has_dot_segment(path) {
                return Err(Answer::new(
                    StatusCode::BAD_REQUEST,
                    "paths with . or .. segments (raw or percent-encoded) are refused",
                ));
            }
            let mut url = base.clone();
            let joined = match (base.path().trim_end_matches('/'), path) {
                (prefix, "") => {
                    if prefix.is_empty() {
                        "/".to_owned()
                    } else {
                        prefix.to_owned()
                    }
                }
                (prefix, rest) => format!("{prefix}{rest}"),
            };
            url.set_path(&joined);
            url.set_query(uri.query());
            Ok(url)
        }
        Mode::Urls => url_mode_target(&route.path, path, uri.query(), &route.allow),
    }
}

/// URL mode's target: the absolute URL after the route's prefix (`path` is what follows it),
/// parsed with the WHATWG rules, past the target checks and on the allow list.
fn url_mode_target(
    prefix: &str,
    path: &str,
    query: Option<&str>,
    allow: &[AllowEntry],
) -> Result<Url, Answer> {
    let raw = path.strip_prefix('/').unwrap_or(path);
    if !(starts_with_ignore_ascii_case(raw, "http://")
        || starts_with_ignore_ascii_case(raw, "https://"))
    {
        return Err(Answer::new(
            StatusCode::BAD_REQUEST,
            format!(
                "this route expects an absolute URL after its path: {prefix}/https://host/path"
            ),
        ));
    }
    let full = match query {
        Some(query) => format!("{raw}?{query}"),
        None => raw.to_owned(),
    };
    let url = Url::parse(&full).map_err(|e| {
        Answer::new(
            StatusCode::BAD_REQUEST,
            format!("invalid upstream URL: {e}"),
        )
    })?;
    check_target(&url).map_err(|why| Answer::new(StatusCode::FORBIDDEN, why))?;
    if !allow.iter().any(|entry| entry.matches(&url)) {
        return Err(Answer::new(
            StatusCode::FORBIDDEN,
            format!(
                "upstream {} is not on this route's allow list",
                url.origin().ascii_serialization()
            ),
        ));
    }
    Ok(url)
}

/// URL mode's target parsing, for the fuzz targets: the URL, or the refusal's status and text.
#[cfg(feature = "fuzzing")]
pub fn fuzz_target_url(
    path: &str,
    query: Option<&str>,
    allow: &[AllowEntry],
) -> Result<Url, (u16, String)> {
    url_mode_target("/any", path, query, allow).map_err(|a| (a.status.as_u16(), a.message))
}

/// Whether `text` begins with `prefix`, ASCII letters compared without case.
fn starts_with_ignore_ascii_case(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Sets the route's query parameters, replacing any of the same name the browser sent.
pub(crate) fn apply_query(url: &mut Url, set: &[(String, String)]) {
    if set.is_empty() {
        return;
    }
    let kept = pairs_not_set(url, set);
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .extend_pairs(set.iter().map(|(n, v)| (n.as_str(), v.as_str())));
}

/// Removes the route's own query parameters from a URL that goes back to the browser.
fn remove_query(url: &mut Url, set: &[(String, String)]) {
    if set.is_empty() || url.query().is_none() {
        return;
    }
    let kept = pairs_not_set(url, set);
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
}

/// The URL's query parameters other than those the route sets, in order.
fn pairs_not_set(url: &Url, set: &[(String, String)]) -> Vec<(String, String)> {
    url.query_pairs()
        .filter(|(name, _)| !set.iter().any(|(ours, _)| ours == name))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

/// Whether a followed redirect may go from `from` to `to`.
pub(crate) fn check_redirect(route: &Route, from: &Url, to: &Url) -> Result<(), Answer> {
    let refuse = |why: String| Err(Answer::new(StatusCode::FORBIDDEN, why));
    if check_target(to).is_err() {
        return refuse(format!(
            "the upstream redirected to {}, which cannot be proxied",
            to.origin().ascii_serialization()
        ));
    }
    if from.scheme() == "https" && to.scheme() == "http" {
        return refuse("the upstream redirected from https to http; refused".to_owned());
    }
    if !route.is_upstream(to) && !route.allow.iter().any(|entry| entry.matches(to)) {
        return refuse(format!(
            "the upstream redirected to {}, which is not on this route's allow list",
            to.origin().ascii_serialization()
        ));
    }
    Ok(())
}

/// `Location` as the browser should see it: through the proxy when it points at an upstream the
/// route may reach, else absolute; `None` when it cannot be given back at all.
pub(crate) fn rewrite_location(
    route: &Route,
    shared: &Shared,
    current: &Url,
    location: &HeaderValue,
) -> Option<HeaderValue> {
    let mut absolute = current.join(location.to_str().ok()?).ok()?;
    remove_query(&mut absolute, &route.set_query);
    let prefix = format!("{}{}", shared.base_path, route.path);
    let through = match &route.mode {
        Mode::Upstream { base, .. } if route.is_upstream(&absolute) => {
            let base_path = base.path().trim_end_matches('/');
            absolute.path().strip_prefix(base_path).and_then(|rest| {
                (rest.is_empty() || rest.starts_with('/')).then(|| {
                    let query = absolute
                        .query()
                        .map(|q| format!("?{q}"))
                        .unwrap_or_default();
                    let rest = if rest.is_empty() && prefix.is_empty() {
                        "/"
                    } else {
                        rest
                    };
                    format!("{prefix}{rest}{query}")
                })
            })
        }
        Mode::Urls if route.allow.iter().any(|entry| entry.matches(&absolute)) => {
            Some(format!("{prefix}/{absolute}"))
        }
        _ => None,
    };
    HeaderValue::from_str(&through.unwrap_or_else(|| absolute.to_string())).ok()
}
