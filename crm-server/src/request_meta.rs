//! What the transport knows about a request's origin: the client's address (behind trusted
//! proxies, the one they forwarded) and its User-Agent.

use ipnet::IpNet;
use poem::Request;
use std::net::IpAddr;

/// A set of single addresses and CIDR ranges: the proxies whose `X-Forwarded-For` is
/// believed (`TRUSTED_PROXIES`), the clients `/metrics` answers (`METRICS_ALLOW`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks(pub Vec<IpNet>);

impl Networks {
    /// Whether `ip` is one of them (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(*ip, IpAddr::V4),
            v4 => *v4,
        };
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Parses one entry: `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`.
    pub fn parse_entry(s: &str) -> Option<IpNet> {
        s.parse::<IpNet>()
            .ok()
            .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
    }
}

/// The requester's address: the peer, or the client named in `X-Forwarded-For` when the peer
/// is a trusted proxy (walking the list from the right, past every trusted proxy).
pub fn client_ip(req: &Request, trusted: &Networks) -> Option<IpAddr> {
    let peer = match req.remote_addr().0 {
        poem::Addr::SocketAddr(a) => Some(a.ip()),
        _ => None,
    };
    requester_ip(peer, req.headers(), trusted)
}

/// The `User-Agent` header, as text (invalid bytes replaced), when there is one.
pub fn user_agent(req: &Request) -> Option<String> {
    req.headers()
        .get(poem::http::header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn requester_ip(
    peer: Option<IpAddr>,
    headers: &poem::http::HeaderMap,
    trusted: &Networks,
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect();
    let client = forwarded
        .iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer);
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::http::HeaderMap;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "198.51.100.9, 10.0.0.2".parse().unwrap());
        let trusted = Networks(vec![
            Networks::parse_entry("10.0.0.1").unwrap(),
            Networks::parse_entry("10.0.0.2").unwrap(),
        ]);
        // An untrusted peer: its own address, whatever it claims.
        assert_eq!(
            requester_ip(Some(ip("203.0.113.5")), &h, &trusted),
            Some(ip("203.0.113.5"))
        );
        // A trusted proxy: the rightmost address that is not a trusted proxy.
        assert_eq!(
            requester_ip(Some(ip("10.0.0.1")), &h, &trusted),
            Some(ip("198.51.100.9"))
        );
        // A trusted proxy without the header: the proxy itself.
        assert_eq!(
            requester_ip(Some(ip("10.0.0.1")), &HeaderMap::new(), &trusted),
            Some(ip("10.0.0.1"))
        );
        // A spoofed leftmost entry does not win over the address the proxy saw.
        h.insert("x-forwarded-for", "1.2.3.4, 198.51.100.9".parse().unwrap());
        assert_eq!(
            requester_ip(Some(ip("10.0.0.1")), &h, &trusted),
            Some(ip("198.51.100.9"))
        );
        assert_eq!(requester_ip(None, &h, &trusted), None);
    }

    #[test]
    fn trusted_proxies_take_cidr_ranges() {
        let t = Networks(
            ["10.0.0.0/8", "::1", "fd00::/8"]
                .iter()
                .map(|s| Networks::parse_entry(s).unwrap())
                .collect(),
        );
        assert!(t.contains(&ip("10.20.30.40")));
        assert!(t.contains(&ip("::ffff:10.1.2.3")), "IPv4-mapped");
        assert!(t.contains(&ip("::1")) && t.contains(&ip("fd12::1")));
        assert!(!t.contains(&ip("11.0.0.1")) && !t.contains(&ip("fe80::1")));
        assert_eq!(Networks::parse_entry("nonsense"), None);
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "198.51.100.9, 10.9.9.9".parse().unwrap());
        assert_eq!(
            requester_ip(Some(ip("10.0.0.5")), &h, &t),
            Some(ip("198.51.100.9"))
        );
    }
}
