//! The origin guard: whether a request that the browser may have sent on another site's behalf
//! reaches the upstream at all.
//!
//! CORS only decides whether a page may *read* an answer; the upstream has done the work (on the
//! route's key) either way. So before contacting the upstream, the route decides on the request
//! head, first match wins:
//!
//! 1. same-origin — `Sec-Fetch-Site: same-origin`, an `Origin` equal to the origin of the
//!    request's own `Host` (with the connection's scheme, or `X-Forwarded-Proto` from a trusted
//!    proxy), or one of `public_origins` → forwarded;
//! 2. an `Origin` (its first line) → the route's CORS policy decides; refused (and `null`
//!    unless the policy allows it) → 403;
//! 3. `Sec-Fetch-Site: cross-site` or `same-site` without `Origin` (an `<img>` or `<script>` on
//!    another site) → 403;
//! 4. `Sec-Fetch-Site: none` (typed into the address bar) → only with `allow_navigation`;
//! 5. several `Sec-Fetch-Site` lines, or a value outside the four tokens → 403;
//! 6. neither `Origin` nor `Sec-Fetch-Site` (curl, another server, and every request to a
//!    non-secure origin, where browsers send no Fetch Metadata) → forwarded, unless the route
//!    says `require_origin = true`.
//!
//! A client other than a browser can send any header it likes: this guard stops browsers from
//! being used against the route's key, and only the rate limit stops everything else.

use std::fmt;

use http::HeaderMap;

/// A route's origin-guard settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuardSettings {
    /// Forward requests typed into the address bar (`Sec-Fetch-Site: none`).
    pub allow_navigation: bool,
    /// Refuse requests that carry neither `Origin` nor `Sec-Fetch-Site`.
    pub require_origin: bool,
}

/// What the guard looks at.
#[derive(Debug, Clone, Copy)]
pub struct GuardRequest<'a> {
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// The scheme the browser used to reach the proxy (`http` or `https`).
    pub scheme: &'a str,
    /// The request's `Host` (or HTTP/2 `:authority`), as received.
    pub host: Option<&'a [u8]>,
    /// The origins the proxy is reached at, serialized (`https://app.example.com`).
    pub public_origins: &'a [String],
}

/// The guard's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Forward to the upstream.
    Forward,
    /// Answer 403.
    Refuse(Refusal),
}

/// Why the guard refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The route's CORS policy refused the `Origin`, for this reason.
    Policy(String),
    /// No `Origin`, but the browser says another site's page made the request.
    OtherSite,
    /// Typed into the address bar, on a route without `allow_navigation`.
    Navigation,
    /// `Sec-Fetch-Site` repeated or not one of its four values.
    BadFetchMetadata,
    /// Neither `Origin` nor `Sec-Fetch-Site`, on a route with `require_origin`.
    NoOrigin,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Policy(reason) => f.write_str(reason),
            Refusal::OtherSite => {
                f.write_str("a request from another site without Origin (Sec-Fetch-Site)")
            }
            Refusal::Navigation => {
                f.write_str("a request typed into the address bar (Sec-Fetch-Site: none)")
            }
            Refusal::BadFetchMetadata => f.write_str("a malformed Sec-Fetch-Site header"),
            Refusal::NoOrigin => f.write_str("no Origin, and this route requires one"),
        }
    }
}

/// `Sec-Fetch-Site`, read strictly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FetchSite {
    Absent,
    SameOrigin,
    SameSite,
    CrossSite,
    None,
    Invalid,
}

fn fetch_site(headers: &HeaderMap) -> FetchSite {
    let mut values = headers.get_all("sec-fetch-site").iter();
    let Some(value) = values.next() else {
        return FetchSite::Absent;
    };
    if values.next().is_some() {
        return FetchSite::Invalid;
    }
    match value.as_bytes() {
        b"same-origin" => FetchSite::SameOrigin,
        b"same-site" => FetchSite::SameSite,
        b"cross-site" => FetchSite::CrossSite,
        b"none" => FetchSite::None,
        _ => FetchSite::Invalid,
    }
}

/// Decides; `policy` is asked only when the request has a foreign `Origin`, and answers with
/// the CORS policy's reason for refusing it.
pub fn decide(
    request: &GuardRequest<'_>,
    settings: &GuardSettings,
    policy: impl FnOnce() -> Result<(), String>,
) -> Verdict {
    let site = fetch_site(request.headers);
    let origin = request.headers.get(http::header::ORIGIN);
    let same_origin = site == FetchSite::SameOrigin
        || origin.is_some_and(|origin| {
            let origin = origin.as_bytes();
            request
                .host
                .is_some_and(|host| is_own_origin(origin, request.scheme, host))
                || request
                    .public_origins
                    .iter()
                    .any(|public| public.as_bytes() == origin)
        });
    if same_origin {
        return Verdict::Forward;
    }
    if origin.is_some() {
        return match policy() {
            Ok(()) => Verdict::Forward,
            Err(reason) => Verdict::Refuse(Refusal::Policy(reason)),
        };
    }
    match site {
        FetchSite::CrossSite | FetchSite::SameSite => Verdict::Refuse(Refusal::OtherSite),
        FetchSite::None if settings.allow_navigation => Verdict::Forward,
        FetchSite::None => Verdict::Refuse(Refusal::Navigation),
        FetchSite::Invalid => Verdict::Refuse(Refusal::BadFetchMetadata),
        FetchSite::Absent if settings.require_origin => Verdict::Refuse(Refusal::NoOrigin),
        FetchSite::Absent | FetchSite::SameOrigin => Verdict::Forward,
    }
}

/// Whether `origin` is `scheme://host` for the request's own `Host`: the host compared without
/// ASCII case, the scheme's default port equal to none.
fn is_own_origin(origin: &[u8], scheme: &str, host: &[u8]) -> bool {
    let Some(rest) = origin
        .strip_prefix(scheme.as_bytes())
        .and_then(|rest| rest.strip_prefix(b"://"))
    else {
        return false;
    };
    let default_port: &[u8] = if scheme == "https" { b":443" } else { b":80" };
    let host = host.strip_suffix(default_port).unwrap_or(host);
    let rest = rest.strip_suffix(default_port).unwrap_or(rest);
    !host.is_empty() && rest.eq_ignore_ascii_case(host)
}

/// An origin as browsers serialize it (`https://example.com`, `http://localhost:5173`), or why
/// `text` is not one. Used for `public_origins`.
pub fn serialize_origin(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not an origin: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{text:?} is not an http or https origin"));
    }
    let origin = url.origin().ascii_serialization();
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{text:?} is not an origin (no path, query or fragment): use {origin:?}"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{text:?} is not an origin (no user name or password)"
        ));
    }
    // Written differently but the same origin (a default port, upper case): the serialization.
    Ok(origin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    /// (headers, scheme, host, settings, verdict)
    type Case = (
        Vec<(&'static str, &'static str)>,
        &'static str,
        Option<&'static str>,
        GuardSettings,
        Verdict,
    );

    #[test]
    fn decision_table() {
        let allowed = "https://app.example.com";
        let public = vec!["https://proxy.example.com".to_owned()];
        let policy = |origin: Option<&HeaderValue>| match origin {
            Some(o) if o == allowed => Ok(()),
            _ => Err("origin not allowed".to_owned()),
        };
        let plain = GuardSettings::default();
        let navigation = GuardSettings {
            allow_navigation: true,
            ..plain
        };
        let strict = GuardSettings {
            require_origin: true,
            ..plain
        };
        use Refusal::*;
        // (headers, scheme, host, settings, verdict)
        let cases: Vec<Case> = vec![
            // 1. same-origin, three ways
            (
                vec![("sec-fetch-site", "same-origin")],
                "http",
                Some("p:1"),
                plain,
                Verdict::Forward,
            ),
            (
                vec![("origin", "http://p:1")],
                "http",
                Some("p:1"),
                plain,
                Verdict::Forward,
            ),
            (
                vec![("origin", "http://p")],
                "http",
                Some("P:80"),
                plain,
                Verdict::Forward,
            ),
            (
                vec![("origin", "https://p")],
                "https",
                Some("p:443"),
                plain,
                Verdict::Forward,
            ),
            (
                vec![("origin", "https://proxy.example.com")],
                "http",
                Some("10.0.0.5:8787"),
                plain,
                Verdict::Forward,
            ),
            // the scheme matters: an http page is not the https origin
            (
                vec![("origin", "http://p")],
                "https",
                Some("p"),
                plain,
                Verdict::Refuse(Policy("origin not allowed".into())),
            ),
            // 2. a foreign Origin: the policy decides, whatever Sec-Fetch-Site says
            (
                vec![("origin", allowed), ("sec-fetch-site", "cross-site")],
                "http",
                Some("p"),
                plain,
                Verdict::Forward,
            ),
            (
                vec![("origin", "https://evil.example")],
                "http",
                Some("p"),
                plain,
                Verdict::Refuse(Policy("origin not allowed".into())),
            ),
            (
                vec![("origin", "null")],
                "http",
                Some("p"),
                plain,
                Verdict::Refuse(Policy("origin not allowed".into())),
            ),
            // the first Origin line only
            (
                vec![("origin", "https://evil.example"), ("origin", allowed)],
                "http",
                Some("p"),
                plain,
                Verdict::Refuse(Policy("origin not allowed".into())),
            ),
            // 3. another site, no Origin
            (
                vec![("sec-fetch-site", "cross-site")],
                "http",
                Some("p"),
                plain,
                Verdict::Refuse(OtherSite),
            ),
            (
                vec![("sec-fetch-site", "same-site")],
                "http",
                Some("p"),
                navigation,
                Verdict::Refuse(OtherSite),
            ),
            // 4. the address bar
            (
                vec![("sec-fetch-site", "none")],
                "http",
                Some("p"),
                plain,
                Verdict::Refuse(Navigation),
            ),
            (
                vec![("sec-fetch-site", "none")],
                "http",
                Some("p"),
                navigation,
                Verdict::Forward,
            ),
            // 5. malformed Fetch Metadata
            (
                vec![
                    ("sec-fetch-site", "same-origin"),
                    ("sec-fetch-site", "same-origin"),
                ],
                "http",
                Some("p"),
                plain,
                Verdict::Refuse(BadFetchMetadata),
            ),
            (
                vec![("sec-fetch-site", "Same-Origin")],
                "http",
                Some("p"),
                plain,
                Verdict::Refuse(BadFetchMetadata),
            ),
            (
                vec![("sec-fetch-site", "")],
                "http",
                Some("p"),
                plain,
                Verdict::Refuse(BadFetchMetadata),
            ),
            // 6. neither header
            (vec![], "http", Some("p"), plain, Verdict::Forward),
            (vec![], "http", None, plain, Verdict::Forward),
            (vec![], "http", Some("p"), strict, Verdict::Refuse(NoOrigin)),
            (
                vec![("sec-fetch-site", "same-origin")],
                "http",
                Some("p"),
                strict,
                Verdict::Forward,
            ),
        ];
        for (pairs, scheme, host, settings, expected) in cases {
            let map = headers(&pairs);
            let request = GuardRequest {
                headers: &map,
                scheme,
                host: host.map(str::as_bytes),
                public_origins: &public,
            };
            let got = decide(&request, &settings, || policy(map.get("origin")));
            assert_eq!(got, expected, "{pairs:?} {scheme} {host:?} {settings:?}");
        }
    }

    #[test]
    fn the_policy_is_asked_only_for_a_foreign_origin() {
        let map = headers(&[("sec-fetch-site", "cross-site")]);
        let request = GuardRequest {
            headers: &map,
            scheme: "http",
            host: Some(b"p"),
            public_origins: &[],
        };
        let verdict = decide(&request, &GuardSettings::default(), || {
            panic!("no Origin: the policy must not be asked")
        });
        assert_eq!(verdict, Verdict::Refuse(Refusal::OtherSite));
    }

    #[test]
    fn public_origins_are_read_as_origins() {
        let ok = [
            ("https://app.example.com", "https://app.example.com"),
            ("https://App.Example.com:443/", "https://app.example.com"),
            ("http://10.0.0.5:8787", "http://10.0.0.5:8787"),
        ];
        for (text, origin) in ok {
            assert_eq!(serialize_origin(text).as_deref(), Ok(origin), "{text}");
        }
        for bad in [
            "app.example.com",
            "https://app.example.com/path",
            "https://u:p@app.example.com",
            "ftp://app.example.com",
            "https://",
        ] {
            assert!(serialize_origin(bad).is_err(), "{bad}");
        }
    }
}
