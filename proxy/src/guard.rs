//! The SSRF guard: which addresses an upstream connection may reach, checked on every address a
//! name resolves to, on IP literals, and again on the connected socket's peer address.
//!
//! The guard sits in the connector itself, so the address that was checked is the address that is
//! connected to: there is no second lookup for a rebinding DNS server to answer differently.
//!
//! Refused by default (and allowed by `allow_private_networks = true`, except where noted):
//!
//! | range | rule |
//! | --- | --- |
//! | `127.0.0.0/8`, `::1` | loopback |
//! | `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` | private |
//! | `100.64.0.0/10` | shared address space (carrier-grade NAT) |
//! | `169.254.0.0/16`, `fe80::/10` | link-local |
//! | `169.254.169.254`, `fd00:ec2::254` | cloud metadata — refused even with `allow_private_networks` |
//! | `fc00::/7`, `fec0::/10` | unique local / site-local |
//! | `224.0.0.0/4`, `ff00::/8` | multicast — always refused |
//! | `0.0.0.0/8`, `::` | unspecified ("this host": reaches localhost) — always refused |
//! | `240.0.0.0/4`, `255.255.255.255`, `192.0.0.0/24`, `198.18.0.0/15`, documentation ranges, `100::/64` | reserved — always refused |
//!
//! IPv6 forms that embed an IPv4 address are folded to it first: IPv4-mapped `::ffff:a.b.c.d`,
//! IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96` (and the local-use `64:ff9b:1::/48`),
//! 6to4 `2002::/16` and Teredo `2001::/32` (server and client addresses both).

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use tokio::net::TcpStream;

/// Why the guard refused an address: the rule's name is what the 403 body says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918 ranges.
    Private,
    /// `100.64.0.0/10`.
    SharedAddressSpace,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// The cloud instance-metadata addresses.
    CloudMetadata,
    /// `fc00::/7`, `fec0::/10`.
    UniqueLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// Reserved, documentation and benchmarking ranges.
    Reserved,
    /// A range the operator denied with `deny_networks`.
    Denied,
}

impl Rule {
    /// The rule as the refusal names it.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Loopback => "loopback address",
            Rule::Private => "private address",
            Rule::SharedAddressSpace => "shared (carrier-grade NAT) address",
            Rule::LinkLocal => "link-local address",
            Rule::CloudMetadata => "cloud metadata address",
            Rule::UniqueLocal => "unique-local address",
            Rule::Multicast => "multicast address",
            Rule::Unspecified => "unspecified address",
            Rule::Reserved => "reserved address",
            Rule::Denied => "denied network",
        }
    }

    /// Whether `allow_private_networks = true` lifts this rule.
    fn private_network(self) -> bool {
        matches!(
            self,
            Rule::Loopback
                | Rule::Private
                | Rule::SharedAddressSpace
                | Rule::LinkLocal
                | Rule::UniqueLocal
        )
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The address rule that applies to an IP address, if any (`None`: a public address).
///
/// ```
/// use std::net::IpAddr;
/// use tower_cors_proxy::guard::{classify, Rule};
///
/// let ip = |s: &str| s.parse::<IpAddr>().unwrap();
/// assert_eq!(classify(ip("169.254.169.254")), Some(Rule::CloudMetadata));
/// assert_eq!(classify(ip("::ffff:127.0.0.1")), Some(Rule::Loopback));
/// assert_eq!(classify(ip("64:ff9b::a00:1")), Some(Rule::Private));
/// assert_eq!(classify(ip("93.184.215.14")), None);
/// ```
pub fn classify(ip: IpAddr) -> Option<Rule> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// A table entry (in a constant, a prefix length over 32 fails the build).
const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

/// The IPv4 ranges and their rules, first match wins.
const V4_TABLE: [(Ipv4Net, Rule); 16] = [
    (v4(0, 0, 0, 0, 8), Rule::Unspecified),
    (v4(10, 0, 0, 0, 8), Rule::Private),
    (v4(100, 64, 0, 0, 10), Rule::SharedAddressSpace),
    (v4(127, 0, 0, 0, 8), Rule::Loopback),
    (v4(169, 254, 0, 0, 16), Rule::LinkLocal),
    (v4(172, 16, 0, 0, 12), Rule::Private),
    (v4(192, 0, 0, 0, 24), Rule::Reserved),
    (v4(192, 0, 2, 0, 24), Rule::Reserved),
    (v4(192, 88, 99, 0, 24), Rule::Reserved),
    (v4(192, 168, 0, 0, 16), Rule::Private),
    (v4(198, 18, 0, 0, 15), Rule::Reserved),
    (v4(198, 51, 100, 0, 24), Rule::Reserved),
    (v4(203, 0, 113, 0, 24), Rule::Reserved),
    (v4(224, 0, 0, 0, 4), Rule::Multicast),
    (v4(240, 0, 0, 0, 4), Rule::Reserved),
    (v4(255, 255, 255, 255, 32), Rule::Reserved),
];

fn classify_v4(ip: Ipv4Addr) -> Option<Rule> {
    if ip == Ipv4Addr::new(169, 254, 169, 254) {
        return Some(Rule::CloudMetadata);
    }
    V4_TABLE
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, rule)| *rule)
}

/// A table entry from the address's leading 16-bit groups, the rest zero (in a constant, a
/// prefix length over 128 fails the build).
const fn v6(a: u16, b: u16, c: u16, len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, 0, 0, 0, 0, 0), len)
}

/// `fd00:ec2::254`, the cloud metadata address over IPv6.
const V6_CLOUD_METADATA: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// The IPv6 ranges and their rules, first match wins.
const V6_TABLE: [(Ipv6Net, Rule); 8] = [
    (v6(0x64, 0xff9b, 0x1, 48), Rule::Private), // 64:ff9b:1::/48
    (v6(0x100, 0, 0, 64), Rule::Reserved),      // 100::/64
    (v6(0x2001, 0xdb8, 0, 32), Rule::Reserved), // 2001:db8::/32
    (v6(0x2001, 0x2, 0, 48), Rule::Reserved),   // 2001:2::/48
    (v6(0xfc00, 0, 0, 7), Rule::UniqueLocal),   // fc00::/7
    (v6(0xfe80, 0, 0, 10), Rule::LinkLocal),    // fe80::/10
    (v6(0xfec0, 0, 0, 10), Rule::UniqueLocal),  // fec0::/10
    (v6(0xff00, 0, 0, 8), Rule::Multicast),     // ff00::/8
];

fn classify_v6(ip: Ipv6Addr) -> Option<Rule> {
    if let Some(embedded) = embedded_v4(ip) {
        // An embedded address is judged as itself; for Teredo both ends must pass.
        return embedded.into_iter().flatten().find_map(classify_v4);
    }
    if ip == Ipv6Addr::UNSPECIFIED {
        return Some(Rule::Unspecified);
    }
    if ip == Ipv6Addr::LOCALHOST {
        return Some(Rule::Loopback);
    }
    if ip == V6_CLOUD_METADATA {
        return Some(Rule::CloudMetadata);
    }
    V6_TABLE
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, rule)| *rule)
}

/// The IPv4 addresses an IPv6 address stands for, when it is one of the embedding forms.
fn embedded_v4(ip: Ipv6Addr) -> Option<[Option<Ipv4Addr>; 2]> {
    let s = ip.segments();
    let o = ip.octets();
    let tail = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    // IPv4-mapped ::ffff:0:0/96 and IPv4-compatible ::/96 (but not :: and ::1 themselves).
    if s[..5] == [0; 5] && (s[5] == 0xffff || (s[5] == 0 && u32::from(tail) > 1)) {
        return Some([Some(tail), None]);
    }
    // NAT64 well-known prefix 64:ff9b::/96.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some([Some(tail), None]);
    }
    // 6to4 2002:V4ADDR::/48.
    if s[0] == 0x2002 {
        return Some([Some(Ipv4Addr::new(o[2], o[3], o[4], o[5])), None]);
    }
    // Teredo 2001:0000:SERVER:flags:port:CLIENT (client obfuscated by XOR).
    if s[0] == 0x2001 && s[1] == 0 {
        let server = Ipv4Addr::new(o[4], o[5], o[6], o[7]);
        let client = Ipv4Addr::from(!u32::from(tail));
        return Some([Some(server), Some(client)]);
    }
    None
}

/// The address policy of one route's upstream connections.
#[derive(Clone, Debug, Default)]
pub struct AddressPolicy {
    /// Lift the private-network rules (loopback, private, link-local, unique local, CGNAT).
    pub allow_private_networks: bool,
    /// Further networks to refuse, whatever the other settings say.
    pub deny_networks: Vec<IpNet>,
    /// No check at all: the operator's own `upstream` of a route is trusted as written.
    pub trusted: bool,
}

impl AddressPolicy {
    /// The rule that refuses `ip` under this policy, if any.
    pub fn check(&self, ip: IpAddr) -> Result<(), Rule> {
        if self.trusted {
            return Ok(());
        }
        let folded = fold(ip);
        if self
            .deny_networks
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&folded))
        {
            return Err(Rule::Denied);
        }
        match classify(ip) {
            Some(rule) if !(self.allow_private_networks && rule.private_network()) => Err(rule),
            _ => Ok(()),
        }
    }
}

/// IPv4-mapped addresses as the IPv4 address, for matching operator-written IPv4 networks.
fn fold(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A refusal by the guard, carried through the HTTP client's error so the proxy can answer 403.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The address refused.
    pub addr: IpAddr,
    /// The rule that refused it.
    pub rule: Rule,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "upstream address {} refused: {}", self.addr, self.rule)
    }
}

impl std::error::Error for Refused {}

/// A connect-phase timeout, told apart from other connect errors (504 rather than 502).
#[derive(Debug)]
pub struct ConnectTimeout;

impl fmt::Display for ConnectTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("upstream connect timed out")
    }
}

impl std::error::Error for ConnectTimeout {}

/// A boxed future, as resolvers return it.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Name resolution for upstream connections; injectable, so tests never need a real DNS answer.
pub trait Resolve: Send + Sync + 'static {
    /// Every address `host` resolves to.
    fn resolve(&self, host: &str) -> BoxFuture<io::Result<Vec<IpAddr>>>;
}

/// The system resolver (`getaddrinfo` on a blocking thread, through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, host: &str) -> BoxFuture<io::Result<Vec<IpAddr>>> {
        let host = host.to_owned();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// A `Service<Uri>` connector that resolves, checks every address, connects to a checked address
/// and checks the connected peer: what the HTTP client dials through.
#[derive(Clone)]
pub struct GuardedConnector {
    resolver: Arc<dyn Resolve>,
    policy: Arc<AddressPolicy>,
    connect_timeout: Duration,
}

impl fmt::Debug for GuardedConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedConnector")
            .field("policy", &self.policy)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl GuardedConnector {
    /// A connector with this resolver, policy and connect timeout (per connection attempt).
    pub fn new(
        resolver: Arc<dyn Resolve>,
        policy: Arc<AddressPolicy>,
        connect_timeout: Duration,
    ) -> Self {
        Self {
            resolver,
            policy,
            connect_timeout,
        }
    }

    /// The addresses `host` stands for, every one checked: one refused address refuses the name
    /// (a name that answers a public and a private address is not trusted with either).
    pub async fn checked_addrs(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => self.resolver.resolve(host).await?,
        };
        if addrs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} resolved to no address"),
            ));
        }
        for &addr in &addrs {
            self.policy
                .check(addr)
                .map_err(|rule| io::Error::other(Refused { addr, rule }))?;
        }
        Ok(addrs)
    }

    /// Checks the peer address of a connected socket (the backstop for every other path).
    pub fn check_peer(&self, stream: &TcpStream) -> io::Result<()> {
        let peer = stream.peer_addr()?.ip();
        self.policy
            .check(peer)
            .map_err(|rule| io::Error::other(Refused { addr: peer, rule }))
    }

    async fn connect(self, uri: http::Uri) -> io::Result<TokioIo<TcpStream>> {
        let host = uri
            .host()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no host in URI"))?;
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let addrs = self.checked_addrs(host).await?;
        let mut last = None;
        for ip in addrs {
            let addr = SocketAddr::new(ip, port);
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    self.check_peer(&stream)?;
                    stream.set_nodelay(true)?;
                    return Ok(TokioIo::new(stream));
                }
                Ok(Err(err)) => last = Some(err),
                Err(_) => last = Some(io::Error::other(ConnectTimeout)),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address to connect to")))
    }
}

impl tower_service::Service<http::Uri> for GuardedConnector {
    type Response = TokioIo<TcpStream>;
    type Error = io::Error;
    type Future = BoxFuture<io::Result<TokioIo<TcpStream>>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        Box::pin(self.clone().connect(uri))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let cases: &[(&str, Option<Rule>)] = &[
            ("127.0.0.1", Some(Rule::Loopback)),
            ("127.255.0.9", Some(Rule::Loopback)),
            ("10.1.2.3", Some(Rule::Private)),
            ("172.16.0.1", Some(Rule::Private)),
            ("172.32.0.1", None),
            ("192.168.1.1", Some(Rule::Private)),
            ("100.64.0.1", Some(Rule::SharedAddressSpace)),
            ("169.254.169.254", Some(Rule::CloudMetadata)),
            ("169.254.1.1", Some(Rule::LinkLocal)),
            ("0.0.0.0", Some(Rule::Unspecified)),
            ("224.0.0.1", Some(Rule::Multicast)),
            ("255.255.255.255", Some(Rule::Reserved)),
            ("8.8.8.8", None),
            ("::", Some(Rule::Unspecified)),
            ("::1", Some(Rule::Loopback)),
            ("::ffff:127.0.0.1", Some(Rule::Loopback)),
            ("::ffff:169.254.169.254", Some(Rule::CloudMetadata)),
            ("::ffff:8.8.8.8", None),
            ("::127.0.0.1", Some(Rule::Loopback)),
            ("64:ff9b::7f00:1", Some(Rule::Loopback)),
            ("64:ff9b::a9fe:a9fe", Some(Rule::CloudMetadata)),
            ("64:ff9b::808:808", None),
            ("64:ff9b:1::1", Some(Rule::Private)),
            ("2002:7f00:1::1", Some(Rule::Loopback)),
            ("2002:a9fe:a9fe::1", Some(Rule::CloudMetadata)),
            ("2002:808:808::1", None),
            // Teredo: server 8.8.8.8, client !0x80ffffff... = 127.0.0.1 obfuscated.
            ("2001:0:808:808:0:0:80ff:fffe", Some(Rule::Loopback)),
            ("2001:0:7f00:1::", Some(Rule::Loopback)),
            ("fc00::1", Some(Rule::UniqueLocal)),
            ("fd00:ec2::254", Some(Rule::CloudMetadata)),
            ("fe80::1", Some(Rule::LinkLocal)),
            ("ff02::1", Some(Rule::Multicast)),
            ("2001:db8::1", Some(Rule::Reserved)),
            ("2606:4700::1111", None),
        ];
        for (ip, rule) in cases {
            let parsed: IpAddr = ip.parse().expect("table addresses parse");
            assert_eq!(classify(parsed), *rule, "{ip}");
        }
    }

    #[test]
    fn policy_lifts_only_private_network_rules() {
        let open = AddressPolicy {
            allow_private_networks: true,
            ..AddressPolicy::default()
        };
        let ip = |s: &str| s.parse::<IpAddr>().expect("valid");
        assert_eq!(open.check(ip("127.0.0.1")), Ok(()));
        assert_eq!(open.check(ip("10.0.0.1")), Ok(()));
        assert_eq!(open.check(ip("169.254.169.254")), Err(Rule::CloudMetadata));
        assert_eq!(open.check(ip("0.0.0.0")), Err(Rule::Unspecified));
        assert_eq!(open.check(ip("224.0.0.1")), Err(Rule::Multicast));
        let deny = AddressPolicy {
            allow_private_networks: true,
            deny_networks: vec!["127.0.0.0/8".parse().expect("valid")],
            trusted: false,
        };
        assert_eq!(deny.check(ip("127.0.0.1")), Err(Rule::Denied));
        assert_eq!(deny.check(ip("::ffff:127.0.0.1")), Err(Rule::Denied));
        assert_eq!(AddressPolicy::default().check(ip("8.8.8.8")), Ok(()));
    }
}
