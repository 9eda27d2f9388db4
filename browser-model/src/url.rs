//! URLs as a browser reads them: every URL of the model (the request's, each `Location`, the
//! page origin) goes through the WHATWG URL parser of the [`url`] crate, so the path and query
//! are percent-encoded with the standard's encode sets, hosts pass through IDNA, dot segments
//! are removed, default ports dropped, and tab and newline stripped. The fragment is kept for
//! the messages that quote the URL and left out of what is sent.
//!
//! Same-site is decided with the public suffix list ([`psl`]), as browsers do.

use std::fmt;
use std::net::IpAddr;

use ::url::{Host, Position};

/// An absolute URL, as the standard's URL parser produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url(::url::Url);

impl Url {
    /// Parses an absolute URL (any scheme: a CORS fetch of a non-HTTP scheme is refused later,
    /// with its own message); the error says why the standard's parser failed.
    pub(crate) fn parse(text: &str) -> Result<Url, ::url::ParseError> {
        ::url::Url::parse(text).map(Url)
    }

    /// The scheme, lower case.
    pub(crate) fn scheme(&self) -> &str {
        self.0.scheme()
    }

    /// `http` or `https`: the only schemes a CORS fetch can reach.
    pub(crate) fn is_http(&self) -> bool {
        matches!(self.0.scheme(), "http" | "https")
    }

    /// Whether the URL carries a username or a password (`user:pass@`).
    pub(crate) fn has_credentials(&self) -> bool {
        !self.0.username().is_empty() || self.0.password().is_some()
    }

    /// The ASCII serialization of the URL's origin: `scheme://host[:port]`, or `null` for an
    /// opaque origin.
    pub(crate) fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }

    /// `host[:port]` (the port only when it is not the scheme's default), for `Host`.
    pub(crate) fn authority(&self) -> String {
        let host = self.0.host_str().unwrap_or_default();
        match self.0.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// The URL without its fragment: what goes on the wire (a fragment is never sent).
    pub(crate) fn without_fragment(&self) -> &str {
        &self.0[..Position::AfterQuery]
    }

    /// Resolves a `Location` value against this URL with the standard's parser (relative
    /// references, dot segments, IDNA hosts). A location without a fragment inherits this
    /// URL's, as HTTP-redirect fetch says.
    pub(crate) fn join(&self, location: &str) -> Option<Url> {
        let mut next = self.0.join(location).ok()?;
        if next.fragment().is_none() {
            next.set_fragment(self.0.fragment());
        }
        Some(Url(next))
    }

    /// Whether the URL is potentially trustworthy (Secure Contexts): `https`, `localhost` and
    /// its subdomains, 127.0.0.0/8 and `[::1]`. Browsers send `Sec-Fetch-*` only to these.
    pub(crate) fn is_potentially_trustworthy(&self) -> bool {
        if self.0.scheme() == "https" {
            return true;
        }
        match self.0.host() {
            Some(Host::Domain(domain)) => domain == "localhost" || domain.ends_with(".localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
    }

    /// The host as an address, when it is one.
    fn ip(&self) -> Option<IpAddr> {
        match self.0.host()? {
            Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            Host::Domain(_) => None,
        }
    }
}

impl fmt::Display for Url {
    /// The whole URL, fragment included: how the engines quote it in their messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// Parses a page origin: `null`, or `scheme://host[:port]` with nothing after the authority.
/// Returns its serialization (`HTTPS://APP.example:443` becomes `https://app.example`, an IDNA
/// host its `xn--` form).
pub(crate) fn parse_origin(origin: &str) -> Option<String> {
    if origin == "null" {
        return Some(String::from("null"));
    }
    let url = ::url::Url::parse(origin).ok()?;
    let (_, after_scheme) = origin.split_once("://")?;
    // The parser adds the `/` path itself; any character of a path, query or fragment in the
    // input means it was not an origin.
    if after_scheme.contains(['/', '?', '#', '\\'])
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let host = url.host_str().filter(|h| !h.is_empty())?;
    Some(match url.origin() {
        tuple @ ::url::Origin::Tuple(..) => tuple.ascii_serialization(),
        // Extension and app schemes have no tuple origin in the URL standard, but browsers give
        // their pages `scheme://host` origins and send them as such.
        ::url::Origin::Opaque(_) => match url.port() {
            Some(port) => format!("{}://{host}:{port}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        },
    })
}

/// Whether `url` and the page origin `origin` are same site (HTML): the same scheme, and the
/// same host or, for domains, the same registrable domain by the public suffix list. Hosts that
/// are themselves public suffixes have no registrable domain and only match themselves.
pub(crate) fn same_site(url: &Url, origin: &str) -> bool {
    let Ok(page) = Url::parse(origin) else {
        return false;
    };
    if url.scheme() != page.scheme() {
        return false;
    }
    let (Some(a), Some(b)) = (url.0.host_str(), page.0.host_str()) else {
        return false;
    };
    if a == b {
        return true;
    }
    if url.ip().is_some() || page.ip().is_some() {
        return false;
    }
    let registrable = |host: &str| psl::domain(host.as_bytes()).map(|d| d.as_bytes().to_vec());
    match (registrable(a), registrable(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs from the URL standard's test data (web-platform-tests `url/resources/
    /// urltestdata.json`) and the forms a developer types, with the serialization the
    /// standard's parser gives (`None`: the parser fails).
    const PARSE: &[(&str, Option<&str>)] = &[
        // Spaces and non-ASCII in the path and query are percent-encoded, the fragment too.
        ("http://f:21/ b ? d # e ", Some("http://f:21/%20b%20?%20d%20#%20e")),
        ("http://127.0.0.1:8080/items?q=a b", Some("http://127.0.0.1:8080/items?q=a%20b")),
        ("https://api.example/caf\u{e9}?q=\u{ef}", Some("https://api.example/caf%C3%A9?q=%C3%AF")),
        ("https://x/\u{fffd}?\u{fffd}#\u{fffd}", Some("https://x/%EF%BF%BD?%EF%BF%BD#%EF%BF%BD")),
        ("http://example.com/foo%2Â©zbar", Some("http://example.com/foo%2%C3%82%C2%A9zbar")),
        ("http://facebook.com/?foo=%7B%22abc%22", Some("http://facebook.com/?foo=%7B%22abc%22")),
        (
            "https://www.example.com/path{\u{7f}path.html?query'\u{7f}=query#fragment<\u{7f}fragment",
            Some("https://www.example.com/path%7B%7Fpath.html?query%27%7F=query#fragment%3C%7Ffragment"),
        ),
        // Dot segments, also percent-encoded ones, are removed.
        ("http://example.com/foo/bar/../ton/../../a", Some("http://example.com/a")),
        ("http://example.com/foo/../../../ton", Some("http://example.com/ton")),
        ("http://example.com/foo/%2e./%2e%2e/.%2e/%2e.bar", Some("http://example.com/%2e.bar")),
        ("http://example.com/foo/..bar", Some("http://example.com/foo/..bar")),
        ("http://www/foo/%2E/html", Some("http://www/foo/html")),
        // Backslashes are slashes in special URLs; tab and newline are stripped anywhere.
        ("http:\\\\www.google.com\\foo", Some("http://www.google.com/foo")),
        ("http://example.com\\\\foo\\\\bar", Some("http://example.com//foo//bar")),
        ("http://example\t.\norg", Some("http://example.org/")),
        (
            "h\tt\nt\rp://h\to\ns\rt:9\t0\n0\r0/p\ta\nt\rh?q\tu\ne\rry#f\tr\na\rg",
            Some("http://host:9000/path?query#frag"),
        ),
        // Hosts: IDNA to ASCII, lower case, percent-decoded, IPv4 in any notation.
        ("https://fa\u{df}.ExAmPlE/", Some("https://xn--fa-hia.example/")),
        ("https://%e2%98%83", Some("https://xn--n3h/")),
        ("http://\u{f1}and\u{fa}.test:8080/", Some("http://xn--and-6ma2c.test:8080/")),
        ("http://%30%78%63%30%2e%30%32%35%30.01", Some("http://192.168.0.1/")),
        ("https://a%C2%ADb/", Some("https://ab/")),
        // Default ports go; others stay.
        ("https://example.com:443/a", Some("https://example.com/a")),
        ("http://example.com:80/", Some("http://example.com/")),
        ("http://[::1]:3000", Some("http://[::1]:3000/")),
        ("http://www.google.com/foo?bar=baz#", Some("http://www.google.com/foo?bar=baz#")),
        // Leading and trailing C0 controls and spaces are trimmed.
        ("\u{0}\u{1b}\u{4}\u{12} http://example.com/\u{1f} \r ", Some("http://example.com/")),
        ("ftp://example.com/", Some("ftp://example.com/")),
        // Failures.
        ("http://example example.com", None),
        ("http://a b/", None),
        ("http://ho%00st/", None),
        ("http://ho%3Ast/", None),
        ("https://xn--/", None),
        ("http://a.b.c.xn--pokxncvks", None),
        ("http://[::%31]", None),
        ("http://f: /c", None),
        ("/relative", None),
        ("not a url", None),
    ];

    #[test]
    fn parses_as_the_url_standard_says() {
        for (input, expected) in PARSE {
            let got = Url::parse(input).ok().map(|u| u.to_string());
            assert_eq!(got.as_deref(), *expected, "{input:?}");
        }
    }

    #[test]
    fn the_fragment_is_never_sent() {
        let cases = [
            (
                "http://f:21/ b ? d # e ",
                "http://f:21/%20b%20?%20d%20",
                "f:21",
            ),
            (
                "https://API.example.com:443/items?x=1#top",
                "https://api.example.com/items?x=1",
                "api.example.com",
            ),
            ("http://[::1]:3000/#", "http://[::1]:3000/", "[::1]:3000"),
            ("https://x/?#\u{0}y", "https://x/?", "x"),
        ];
        for (input, sent, host) in cases {
            let url = Url::parse(input).expect(input);
            assert_eq!(url.without_fragment(), sent, "{input:?}");
            assert_eq!(url.authority(), host, "{input:?}");
        }
    }

    #[test]
    fn resolves_locations_and_inherits_the_fragment() {
        // Relative references from the standard's data, against its base.
        let base = Url::parse("http://www.example.com/test").expect("base");
        for (location, expected) in [
            ("..", "http://www.example.com/"),
            ("../test.txt", "http://www.example.com/test.txt"),
            ("../aaa/test.txt", "http://www.example.com/aaa/test.txt"),
            ("../../test.txt", "http://www.example.com/test.txt"),
        ] {
            let got = base.join(location).map(|u| u.to_string());
            assert_eq!(got.as_deref(), Some(expected), "{location:?}");
        }
        let base = Url::parse("http://example.org/foo/bar").expect("base");
        for (location, expected) in [
            ("/a/ /c", "http://example.org/a/%20/c"),
            ("\\\\x\\hello", "http://x/hello"),
            ("\\x", "http://example.org/x"),
            ("  \t", "http://example.org/foo/bar"),
            ("#\u{3b2}", "http://example.org/foo/bar#%CE%B2"),
        ] {
            let got = base.join(location).map(|u| u.to_string());
            assert_eq!(got.as_deref(), Some(expected), "{location:?}");
        }
        // A location without a fragment keeps the current URL's; one with its own replaces it.
        let current = Url::parse("https://api.example.com/v1/items?page=2#top").expect("url");
        for (location, expected) in [
            ("https://other.example/x", "https://other.example/x#top"),
            ("//cdn.example/y", "https://cdn.example/y#top"),
            ("/v2/items", "https://api.example.com/v2/items#top"),
            ("?page=3", "https://api.example.com/v1/items?page=3#top"),
            ("../v0/./things", "https://api.example.com/v0/things#top"),
            ("things#end", "https://api.example.com/v1/things#end"),
            (
                "http://\u{f1}and\u{fa}.test/",
                "http://xn--and-6ma2c.test/#top",
            ),
        ] {
            let got = current.join(location).map(|u| u.to_string());
            assert_eq!(got.as_deref(), Some(expected), "{location:?}");
        }
        let data = current.join("data:text/plain,hi").expect("a data URL");
        assert!(!data.is_http());
        assert_eq!(data.scheme(), "data");
        assert!(current.join("http://a b/").is_none());
        assert!(current
            .join("https://u:p@api.example/")
            .is_some_and(|u| u.has_credentials()));
        assert!(current
            .join("https://u@api.example/")
            .is_some_and(|u| u.has_credentials()));
        assert!(!current.has_credentials());
    }

    #[test]
    fn potentially_trustworthy() {
        let cases = [
            ("https://api.example/", true),
            ("http://localhost:3000/", true),
            ("http://LOCALHOST/", true),
            ("http://app.localhost/", true),
            ("http://127.0.0.1:8080/", true),
            ("http://127.9.9.9/", true),
            ("http://[::1]/", true),
            ("http://api.example/", false),
            ("http://localhost.example/", false),
            ("http://xn--and-6ma2c.test/", false),
            ("http://10.0.0.1/", false),
            ("http://[::2]/", false),
            ("http://[::ffff:127.0.0.1]/", false),
        ];
        for (input, expected) in cases {
            let url = Url::parse(input).expect(input);
            assert_eq!(url.is_potentially_trustworthy(), expected, "{input}");
        }
    }

    #[test]
    fn origins() {
        let cases = [
            ("https://app.example.com", Some("https://app.example.com")),
            (
                "HTTPS://APP.example.com:443",
                Some("https://app.example.com"),
            ),
            ("http://localhost:3000", Some("http://localhost:3000")),
            (
                "http://\u{f1}and\u{fa}.test",
                Some("http://xn--and-6ma2c.test"),
            ),
            ("http://[::1]:9090", Some("http://[::1]:9090")),
            (
                "chrome-extension://abcdefghijklmnop",
                Some("chrome-extension://abcdefghijklmnop"),
            ),
            ("null", Some("null")),
            ("https://app.example.com/", None),
            ("https://app.example.com/path", None),
            ("https://app.example.com?x", None),
            ("https://app.example.com#x", None),
            ("https://app.example.com\\", None),
            ("app.example.com", None),
            ("https://u:p@app.example.com", None),
            ("https://", None),
            ("data:text/plain,x", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_origin(input).as_deref(), expected, "{input}");
        }
    }

    #[test]
    fn sites_follow_the_public_suffix_list() {
        let cases = [
            ("https://api.example.com/", "https://app.example.com", true),
            ("https://api.example.com/", "http://app.example.com", false),
            ("https://api.example.com/", "https://example.org", false),
            // A registrable domain under a multi-label public suffix.
            ("https://api.shop.co.uk/", "https://www.shop.co.uk", true),
            ("https://shop.co.uk/", "https://other.co.uk", false),
            // Private-section suffixes: two GitHub Pages sites are different sites.
            ("https://alice.github.io/", "https://bob.github.io", false),
            (
                "https://a.alice.github.io/",
                "https://alice.github.io",
                true,
            ),
            // Names the list does not know fall under its default rule: one label.
            (
                "https://api.example.test/",
                "https://app.example.test",
                true,
            ),
            ("https://api.example/", "https://app.example", false),
            ("http://127.0.0.1:1/", "http://127.0.0.1:2", true),
            ("http://127.0.0.1:1/", "http://127.0.0.2:1", false),
            ("http://localhost:1/", "http://localhost:2", true),
            ("http://[::1]:1/", "http://[::1]:2", true),
            ("https://api.example.com/", "null", false),
        ];
        for (url, origin, expected) in cases {
            let url = Url::parse(url).expect(url);
            assert_eq!(same_site(&url, origin), expected, "{url} / {origin}");
        }
    }
}
