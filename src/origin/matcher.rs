//! The compiled origin matcher: exact origins in a hash table, patterns in hash tables keyed by
//! scheme and host, so a lookup costs one probe per label of the request's host, whatever the
//! number of configured origins.

use std::hash::{BuildHasher, Hasher};

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use http::HeaderValue;
use smallvec::SmallVec;

use super::parse::split_request_origin;
use super::pattern::{Pattern, PortSpec};
use crate::header_list::{eq_exact, last_word};

/// The longest host a pattern matches: the longest DNS name, as the builder allows it.
const MAX_HOST_LEN: usize = 253;

/// Up to this many exact origins are compared one by one rather than hashed.
const SCAN_EXACT_UP_TO: usize = 4;

/// Patterns that share a scheme and host, with every port they accept.
#[derive(Debug)]
struct HostEntry {
    scheme: Box<str>,
    host: Box<str>,
    ports: SmallVec<[PortSpec; 1]>,
}

/// A listed (exact) origin.
#[derive(Debug)]
struct Listed {
    /// Its [`last_word`], compared first: origins of the same length often differ at the end.
    last: u64,
    bytes: Box<[u8]>,
    /// Its `'static` copy, to send back, when one could be interned (see
    /// [`OriginMatcher::intern_values`]).
    value: Option<HeaderValue>,
}

impl Listed {
    fn is(&self, origin: &[u8], last: u64) -> bool {
        self.last == last && eq_exact(&self.bytes, origin)
    }
}

/// Exact origins and patterns, compiled.
#[derive(Debug, Default)]
pub(crate) struct OriginMatcher {
    /// Exact origins, in the order listed.
    listed: Vec<Listed>,
    /// Indexes into `listed`, by hash; looked up past [`SCAN_EXACT_UP_TO`] origins (a few are
    /// compared one by one, which costs less than hashing the request's).
    index: HashTable<usize>,
    /// `scheme://*.host[:port]` patterns, keyed by scheme and base host.
    subdomains: HashTable<HostEntry>,
    /// `scheme://host:*` patterns, keyed by scheme and host.
    any_port: HashTable<HostEntry>,
    hasher: RandomState,
}

impl OriginMatcher {
    pub(crate) fn add_exact(&mut self, origin: &str) {
        let bytes = origin.as_bytes();
        if self.lookup_listed(bytes).is_some() {
            return;
        }
        let (listed, hasher) = (&self.listed, &self.hasher);
        self.index
            .insert_unique(hasher.hash_one(bytes), listed.len(), |&i| {
                hasher.hash_one(&*listed[i].bytes)
            });
        self.listed.push(Listed {
            last: last_word(bytes),
            bytes: bytes.into(),
            value: None,
        });
    }

    /// The listed origin equal to `origin`: compared one by one when there are a few, else
    /// looked up.
    fn find_listed(&self, origin: &[u8]) -> Option<&Listed> {
        if self.listed.len() <= SCAN_EXACT_UP_TO {
            let last = last_word(origin);
            return self.listed.iter().find(|l| l.is(origin, last));
        }
        self.lookup_listed(origin)
    }

    /// The listed origin equal to `origin`, through the index.
    fn lookup_listed(&self, origin: &[u8]) -> Option<&Listed> {
        let last = last_word(origin);
        let i = self.index.find(self.hasher.hash_one(origin), |&i| {
            self.listed[i].is(origin, last)
        })?;
        self.listed.get(*i)
    }

    /// Gives each exact origin, in the order listed, a `'static` copy to send as
    /// `Access-Control-Allow-Origin`, as far as the process-wide interning budget allows:
    /// copying the request's own value would cost two atomic updates of its buffer's reference
    /// count per response (copy and drop). Called once the policy is known to be valid.
    pub(crate) fn intern_values(&mut self) {
        for listed in &mut self.listed {
            listed.value = std::str::from_utf8(&listed.bytes)
                .ok()
                .and_then(crate::policy::interned_value);
        }
    }

    pub(crate) fn add_pattern(&mut self, pattern: Pattern) {
        let hasher = self.hasher.clone();
        let table = if pattern.subdomains {
            &mut self.subdomains
        } else {
            &mut self.any_port
        };
        let hash = key_hash(&hasher, &pattern.scheme, &pattern.host);
        let found = table.find_mut(hash, |e| {
            *e.scheme == *pattern.scheme && *e.host == *pattern.host
        });
        match found {
            Some(entry) => {
                if !entry.ports.contains(&pattern.port) {
                    entry.ports.push(pattern.port);
                }
            }
            None => {
                let entry = HostEntry {
                    scheme: pattern.scheme,
                    host: pattern.host,
                    ports: SmallVec::from_iter([pattern.port]),
                };
                table.insert_unique(hash, entry, |e| key_hash(&hasher, &e.scheme, &e.host));
            }
        }
    }

    /// Whether a request's `Origin` value is listed or matches a pattern.
    #[cfg(test)]
    pub(crate) fn matches(&self, origin: &[u8]) -> bool {
        self.find(origin).is_some()
    }

    /// Matches a request's `Origin` value: `None` if it is neither listed nor matches a
    /// pattern; for a listed one, the value to send back if it has an interned copy.
    pub(crate) fn find(&self, origin: &[u8]) -> Option<Option<&HeaderValue>> {
        if let Some(listed) = self.find_listed(origin) {
            return Some(listed.value.as_ref());
        }
        self.matches_pattern(origin).then_some(None)
    }

    fn matches_pattern(&self, origin: &[u8]) -> bool {
        if self.subdomains.is_empty() && self.any_port.is_empty() {
            return false;
        }
        let Some(parts) = split_request_origin(origin) else {
            return false;
        };
        // No browser sends a host longer than a DNS name. Refusing one also bounds the suffix
        // probes below, each of which hashes the rest of the host: unbounded, a hostile
        // `Origin` of many short labels cost time quadratic in its length.
        if parts.host.len() > MAX_HOST_LEN {
            return false;
        }
        // A pattern never matches a host a browser could not have sent (upper case, spaces,
        // brackets outside an IPv6 address). A bracketed host only ever matches byte-exactly a
        // configured, canonical IPv6 address, so it needs no check here.
        if !parts.host.starts_with('[')
            && !parts
                .host
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        {
            return false;
        }
        if !self.any_port.is_empty()
            && self.lookup(&self.any_port, parts.scheme, parts.host, parts.port)
        {
            return true;
        }
        if self.subdomains.is_empty() || parts.host.starts_with('[') {
            return false;
        }
        // Try every proper suffix that starts after a `.`: `a.b.example.com` checks
        // `b.example.com`, `example.com`, `com`. The prefix before it must be non-empty labels.
        let host = parts.host;
        let mut rest = host;
        while let Some((label, suffix)) = rest.split_once('.') {
            if label.is_empty() || suffix.is_empty() {
                return false;
            }
            if self.lookup(&self.subdomains, parts.scheme, suffix, parts.port) {
                return true;
            }
            rest = suffix;
        }
        false
    }

    fn lookup(
        &self,
        table: &HashTable<HostEntry>,
        scheme: &str,
        host: &str,
        port: super::parse::Port<'_>,
    ) -> bool {
        #[cfg(test)]
        tests::PROBES.with(|n| n.set(n.get() + 1));
        let hash = key_hash(&self.hasher, scheme, host);
        table
            .find(hash, |e| *e.scheme == *scheme && *e.host == *host)
            .is_some_and(|e| e.ports.iter().any(|p| p.accepts(port)))
    }
}

fn key_hash(hasher: &RandomState, scheme: &str, host: &str) -> u64 {
    let mut h = hasher.build_hasher();
    h.write(scheme.as_bytes());
    h.write_u8(0);
    h.write(host.as_bytes());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::super::pattern::parse_pattern;
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Table probes made by this thread's matchers: the operation count of a lookup.
        pub(super) static PROBES: Cell<usize> = const { Cell::new(0) };
    }

    /// Matches and counts the table probes it took.
    fn probes(m: &OriginMatcher, origin: &str) -> (bool, usize) {
        PROBES.with(|n| n.set(0));
        let got = m.matches(origin.as_bytes());
        (got, PROBES.with(Cell::get))
    }

    #[test]
    fn probes_are_bounded_by_the_longest_dns_name() {
        let m = matcher(&["https://*.example.com", "http://localhost:*"]);
        // 121 one-letter labels before `example.com`: a 253-byte host, the longest allowed.
        let longest = format!("https://{}example.com", "a.".repeat(121));
        let (got, n) = probes(&m, &longest);
        assert!(got);
        assert!(n <= 128, "{n} probes");
        // Regression: a 10 KB host of short labels took 5 000 probes, each hashing the rest of
        // the host (25 MB in all); it is refused before the first probe.
        let hostile = format!("https://{}example.com", "a.".repeat(5_000));
        assert_eq!(probes(&m, &hostile), (false, 0));
        let one_over = format!("https://{}example.com", "a.".repeat(122));
        assert_eq!(probes(&m, &one_over), (false, 0));
    }

    fn matcher(items: &[&str]) -> OriginMatcher {
        let mut m = OriginMatcher::default();
        for item in items {
            if item.contains('*') {
                m.add_pattern(parse_pattern(item).expect("valid pattern"));
            } else {
                m.add_exact(item);
            }
        }
        m
    }

    #[test]
    fn exact_and_patterns() {
        // (configured, origin, matches)
        let cases: &[(&[&str], &str, bool)] = &[
            // Regression to keep: listing two origins must not allow their concatenations.
            (
                &["https://foo.com", "https://bar.com"],
                "https://foo.com",
                true,
            ),
            (
                &["https://foo.com", "https://bar.com"],
                "https://bar.com",
                true,
            ),
            (
                &["https://foo.com", "https://bar.com"],
                "https://barfoo.com",
                false,
            ),
            (
                &["https://foo.com", "https://bar.com"],
                "https://foobar.com",
                false,
            ),
            (
                &["https://foo.com", "https://bar.com"],
                "https://foo.com.bar.com",
                false,
            ),
            (&["https://example.com"], "HTTPS://EXAMPLE.COM", false),
            (&["https://example.com"], "https://example.com/", false),
            (&["https://example.com"], "https://example.com:443", false),
            (&["https://example.com"], "http://example.com", false),
            (&["https://example.com"], "null", false),
            (&["https://*.example.com"], "https://a.example.com", true),
            (&["https://*.example.com"], "https://a.b.example.com", true),
            (&["https://*.example.com"], "https://example.com", false),
            (&["https://*.example.com"], "https://evilexample.com", false),
            (
                &["https://*.example.com"],
                "https://a.evilexample.com",
                false,
            ),
            (
                &["https://*.example.com"],
                "https://example.com.evil",
                false,
            ),
            (
                &["https://*.example.com"],
                "https://a.example.com.evil",
                false,
            ),
            (&["https://*.example.com"], "http://a.example.com", false),
            (
                &["https://*.example.com"],
                "https://a.example.com:8443",
                false,
            ),
            (&["https://*.example.com"], "https://.example.com", false),
            (&["https://*.example.com"], "https://a..example.com", false),
            (&["https://*.example.com"], "https://A.example.com", false),
            (&["https://*.example.com"], "https://a.example.com/", false),
            (
                &["https://*.example.com:8443"],
                "https://a.example.com:8443",
                true,
            ),
            (
                &["https://*.example.com:8443"],
                "https://a.example.com",
                false,
            ),
            (
                &["https://*.example.com:*"],
                "https://a.example.com:1",
                true,
            ),
            (&["https://*.example.com:*"], "https://a.example.com", true),
            (&["https://*.example.com:*"], "https://example.com:1", false),
            (&["http://localhost:*"], "http://localhost", true),
            (&["http://localhost:*"], "http://localhost:3000", true),
            (&["http://localhost:*"], "http://localhost:", false),
            (&["http://localhost:*"], "http://a.localhost:3000", false),
            (&["http://localhost:*"], "https://localhost:3000", false),
            (&["http://[::1]:*"], "http://[::1]:9090", true),
            (&["http://*.localhost:*"], "http://app.localhost:5173", true),
            (
                &["https://*.example.com", "https://*.example.com:8443"],
                "https://a.example.com:8443",
                true,
            ),
            (
                &["https://*.example.com", "https://*.example.com:8443"],
                "https://a.example.com",
                true,
            ),
            (
                &["https://*.example.com"],
                "https://a.example.com\u{0}",
                false,
            ),
            // Regressions (found by the browser-model property test): hosts and ports no
            // browser sends never match a pattern.
            (&["https://*.example.com"], "https://a[.example.com", false),
            (&["https://*.example.com"], "https://a].example.com", false),
            (&["https://*.example.com"], "https://a:b.example.com", false),
            (
                &["https://*.example.com:*"],
                "https://a.example.com:443",
                false,
            ),
            (&["http://localhost:*"], "http://localhost:80", false),
            (&["http://localhost:*"], "http://localhost:080", false),
            (&["http://localhost:*"], "http://localhost:0", false),
            (&["http://localhost:*"], "http://localhost:65536", false),
            (&["http://localhost:*"], "http://localhost:65535", true),
            (&["http://[::1]:*"], "http://[::1]:080", false),
        ];
        for (configured, origin, want) in cases {
            // Compared one by one (a few exact origins) and looked up in the index: the same.
            let m = matcher(configured);
            assert_eq!(
                m.matches(origin.as_bytes()),
                *want,
                "{configured:?} vs {origin:?}"
            );
            assert_eq!(
                m.lookup_listed(origin.as_bytes()).is_some(),
                m.find_listed(origin.as_bytes()).is_some(),
                "{configured:?} vs {origin:?}"
            );
        }
    }

    #[test]
    fn many_origins() {
        let mut m = OriginMatcher::default();
        for i in 0..10_000 {
            m.add_exact(&format!("https://app{i}.example.com"));
            m.add_pattern(
                parse_pattern(&format!("https://*.tenant{i}.example.net")).expect("valid"),
            );
        }
        assert!(m.matches(b"https://app9999.example.com"));
        assert!(m.matches(b"https://x.tenant4242.example.net"));
        assert!(!m.matches(b"https://app10000.example.com"));
        assert!(!m.matches(b"https://x.tenant10000.example.net"));
    }

    #[test]
    fn listed_origins_give_their_own_value_back() {
        for n in [1, SCAN_EXACT_UP_TO, SCAN_EXACT_UP_TO + 1, 100] {
            let origins: Vec<String> = (0..n)
                .map(|i| format!("https://app{i}.example.com"))
                .collect();
            let mut m = OriginMatcher::default();
            for origin in &origins {
                m.add_exact(origin);
            }
            m.add_pattern(parse_pattern("https://*.example.net").expect("valid"));
            m.intern_values();
            for origin in &origins {
                let value = m
                    .find(origin.as_bytes())
                    .expect("listed")
                    .expect("interned");
                assert_eq!(value.as_bytes(), origin.as_bytes(), "{n}");
            }
            assert_eq!(
                m.find(b"https://a.example.net"),
                Some(None),
                "{n}: a pattern"
            );
            assert_eq!(m.find(b"https://app.example.com"), None, "{n}");
            assert_eq!(m.find(b"https://app0.example.co"), None, "{n}");
        }
    }
}
