//! The little URL handling the browser model needs: split an absolute `http(s)` URL into scheme,
//! userinfo, host, port and target, serialize its origin, and resolve a `Location` against it.
//!
//! Parsing goes through [`http::Uri`]; only what the Fetch algorithms look at is kept. Limits:
//! no percent-decoding, no IDNA, no dot-segment removal when resolving relative references.

use std::fmt;

use http::Uri;

/// An absolute URL as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) scheme: String,
    pub(crate) userinfo: bool,
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
    /// Path and query, always starting with `/`.
    pub(crate) target: String,
}

impl Url {
    /// Parses an absolute URL; the fragment, if any, is dropped as browsers never send it.
    pub(crate) fn parse(text: &str) -> Option<Url> {
        let text = text.split('#').next().unwrap_or(text).trim();
        let uri: Uri = text.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let authority = uri.authority()?;
        let host = authority.host();
        if host.is_empty() {
            return None;
        }
        let port = authority.port_u16();
        let target = uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| p.starts_with('/'))
            .map_or_else(|| String::from("/"), String::from);
        let port = match (scheme.as_str(), port) {
            ("http", Some(80)) | ("https", Some(443)) => None,
            (_, port) => port,
        };
        Some(Url {
            scheme,
            userinfo: authority.as_str().contains('@'),
            host: host.to_ascii_lowercase(),
            port,
            target,
        })
    }

    /// `http` or `https`: the only schemes a CORS fetch can reach.
    pub(crate) fn is_http(&self) -> bool {
        self.scheme == "http" || self.scheme == "https"
    }

    /// The ASCII serialization of the URL's origin: `scheme://host[:port]`.
    pub(crate) fn origin(&self) -> String {
        match self.port {
            Some(port) => format!("{}://{}:{port}", self.scheme, self.host),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }

    /// `host[:port]`, for the `Host` header.
    pub(crate) fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// Resolves a `Location` value against this URL (absolute, scheme-relative, absolute-path,
    /// query-only or path-relative references).
    pub(crate) fn join(&self, location: &str) -> Option<Url> {
        let location = location.trim();
        if location.is_empty() {
            return None;
        }
        let has_scheme = location.split_once(':').is_some_and(|(scheme, _)| {
            !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                && scheme.as_bytes()[0].is_ascii_alphabetic()
        });
        if has_scheme {
            return Url::parse(location).or_else(|| {
                // A non-HTTP scheme still has to be reported as such, not as unparsable.
                let (scheme, _) = location.split_once(':')?;
                Some(Url {
                    scheme: scheme.to_ascii_lowercase(),
                    userinfo: false,
                    host: String::new(),
                    port: None,
                    target: String::from("/"),
                })
            });
        }
        if let Some(rest) = location.strip_prefix("//") {
            return Url::parse(&format!("{}://{rest}", self.scheme));
        }
        let base = self.origin();
        if location.starts_with('/') {
            return Url::parse(&format!("{base}{location}"));
        }
        let path = self.target.split('?').next().unwrap_or("/");
        if location.starts_with('?') {
            return Url::parse(&format!("{base}{path}{location}"));
        }
        let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
        Url::parse(&format!("{base}{dir}{location}"))
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.origin(), self.target)
    }
}

/// Whether `origin` is a serialized origin a page can have: `null` or `scheme://host[:port]`
/// with no path.
pub(crate) fn parse_origin(origin: &str) -> Option<String> {
    if origin == "null" {
        return Some(String::from("null"));
    }
    let url = Url::parse(origin)?;
    let rest = origin.split_once("://").map_or("", |(_, rest)| rest);
    if url.userinfo || rest.contains('/') || rest.contains('?') || origin.contains('#') {
        return None;
    }
    Some(url.origin())
}

/// Same site, approximated without the public-suffix list: the same scheme and the same last two
/// host labels (IP addresses and single-label hosts must be equal).
pub(crate) fn same_site(a: &Url, origin: &str) -> bool {
    let Some(b) = Url::parse(origin) else {
        return false;
    };
    if a.scheme != b.scheme {
        return false;
    }
    let site = |host: &str| -> String {
        if host.starts_with('[') || host.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
            return host.to_owned();
        }
        let labels: Vec<&str> = host.rsplitn(3, '.').collect();
        match labels.as_slice() {
            [tld, domain, ..] => format!("{domain}.{tld}"),
            _ => host.to_owned(),
        }
    };
    site(&a.host) == site(&b.host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_serializes() {
        let cases = [
            (
                "https://API.example.com/items?x=1#frag",
                Some("https://api.example.com/items?x=1"),
            ),
            ("http://127.0.0.1:8080", Some("http://127.0.0.1:8080/")),
            ("https://example.com:443/a", Some("https://example.com/a")),
            ("http://[::1]:3000/", Some("http://[::1]:3000/")),
            ("ftp://example.com/", Some("ftp://example.com/")),
            ("/relative", None),
            ("not a url", None),
        ];
        for (input, expected) in cases {
            let got = Url::parse(input).map(|u| u.to_string());
            assert_eq!(got.as_deref(), expected, "{input}");
        }
        assert!(Url::parse("https://user:pw@example.com/").is_some_and(|u| u.userinfo));
    }

    #[test]
    fn resolves_locations() {
        let base = Url::parse("https://api.example.com/v1/items?page=2").expect("base");
        let cases = [
            ("https://other.example/x", "https://other.example/x"),
            ("//cdn.example/y", "https://cdn.example/y"),
            ("/v2/items", "https://api.example.com/v2/items"),
            ("?page=3", "https://api.example.com/v1/items?page=3"),
            ("things", "https://api.example.com/v1/things"),
        ];
        for (location, expected) in cases {
            let got = base.join(location).map(|u| u.to_string());
            assert_eq!(got.as_deref(), Some(expected), "{location}");
        }
        assert_eq!(
            base.join("data:text/plain,hi").map(|u| u.is_http()),
            Some(false)
        );
        assert!(base.join("").is_none());
    }

    #[test]
    fn origins() {
        let cases = [
            ("https://app.example.com", Some("https://app.example.com")),
            ("http://localhost:3000", Some("http://localhost:3000")),
            ("null", Some("null")),
            ("https://app.example.com/", None),
            ("https://app.example.com/path", None),
            ("app.example.com", None),
            ("https://u:p@app.example.com", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_origin(input).as_deref(), expected, "{input}");
        }
    }

    #[test]
    fn sites() {
        let api = Url::parse("https://api.example.com/").expect("url");
        assert!(same_site(&api, "https://app.example.com"));
        assert!(!same_site(&api, "http://app.example.com"));
        assert!(!same_site(&api, "https://example.org"));
        let ip = Url::parse("http://127.0.0.1:1/").expect("url");
        assert!(same_site(&ip, "http://127.0.0.1:2"));
        assert!(!same_site(&ip, "http://127.0.0.2:1"));
    }
}
