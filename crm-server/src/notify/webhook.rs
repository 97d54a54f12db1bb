//! Webhook delivery: Standard Webhooks signatures, and an HTTP client that reaches only the
//! addresses a shop may send to. Targets that resolve to loopback, private, link-local and
//! similar internal addresses are refused unless their host is listed in
//! `WEBHOOK_ALLOW_HOSTS`; the check is made on the very addresses the client connects to (its
//! resolver drops the others), so a name that resolves differently later cannot slip past it.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
};
use sha2::Sha256;
use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// How long resolving a new endpoint's host may take.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under the secret (its `whsec_`
/// prefix dropped and the rest base64-decoded), as Standard Webhooks signs.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| "the endpoint's secret is not base64".to_owned())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The ranges no webhook may reach unless its host is allowed, with what each is: every
/// entry of IANA's IPv4 and IPv6 Special-Purpose Address Registries that is not globally
/// reachable (or is reserved, deprecated or for documentation), plus multicast, broadcast
/// and the deprecated site-local range. One table, tested entry by entry.
pub const SPECIAL_PURPOSE: &[(&str, &str)] = &[
    ("0.0.0.0/8", "\"this network\""),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation (TEST-NET-1)"),
    ("192.88.99.0/24", "deprecated 6to4 relay"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation (TEST-NET-2)"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignments"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing (SRv6)"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
];

fn special_purpose() -> &'static [(ipnet::IpNet, &'static str)] {
    static TABLE: std::sync::OnceLock<Vec<(ipnet::IpNet, &'static str)>> =
        std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        SPECIAL_PURPOSE
            .iter()
            .map(|(net, why)| (net.parse().expect("the table's ranges parse"), *why))
            .collect()
    })
}

/// The IPv4 address an IPv6 address carries to an IPv4 host, which is what it reaches:
/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`)
/// and 6to4 (`2002:AABB:CCDD::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let last = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, ..] => Some(last),
        // `::` and `::1` are themselves, not IPv4-compatible addresses.
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 || lo > 1 => Some(last),
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => Some(last),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

/// What kind of non-public address `ip` is, or `None` for an address reachable on the
/// internet (see [`SPECIAL_PURPOSE`]; an IPv6 address that carries an IPv4 one is judged by
/// that one too).
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    if let IpAddr::V6(v6) = ip {
        if let Some(why) = embedded_v4(v6).and_then(|v4| refusal(IpAddr::V4(v4))) {
            return Some(why);
        }
    }
    special_purpose()
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, why)| *why)
}

/// Whether an address is reachable from outside the machine's own networks.
pub fn is_public(ip: IpAddr) -> bool {
    refusal(ip).is_none()
}

/// Which hosts may be internal.
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    /// Host names and addresses listed in `WEBHOOK_ALLOW_HOSTS`, lower-cased.
    allow: Vec<String>,
}

impl TargetPolicy {
    /// A policy allowing these hosts to be internal.
    pub fn new(allow: &[String]) -> Self {
        Self {
            allow: allow
                .iter()
                .map(|h| h.trim().trim_matches(['[', ']']).to_ascii_lowercase())
                .collect(),
        }
    }

    fn allowed(&self, host: &str) -> bool {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        self.allow.contains(&host)
    }

    /// Checks a URL before it is stored or sent to: `http` or `https`, a host, no user name
    /// or password in it, and (unless the host is allowed) only public addresses.
    pub async fn check(&self, url: &str) -> Result<Url, String> {
        if url.chars().count() > crm_core::notify::MAX_URL_CHARS {
            return Err(format!(
                "A webhook URL is at most {} characters.",
                crm_core::notify::MAX_URL_CHARS
            ));
        }
        let url = Url::parse(url).map_err(|e| format!("Not a valid URL: {e}."))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("A webhook URL starts with http:// or https://.".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "Put no user name or password in a webhook URL; the signature authenticates us."
                    .into(),
            );
        }
        let host = url
            .host_str()
            .ok_or_else(|| "A webhook URL names a host.".to_owned())?
            .to_owned();
        if self.allowed(&host) {
            return Ok(url);
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let lookup = tokio::net::lookup_host((host.trim_matches(['[', ']']), port));
        let addrs: Vec<SocketAddr> = tokio::time::timeout(LOOKUP_TIMEOUT, lookup)
            .await
            .map_err(|_| format!("The host {host} did not resolve in time."))?
            .map_err(|_| format!("The host {host} does not resolve."))?
            .collect();
        if addrs.is_empty() {
            return Err(format!("The host {host} does not resolve."));
        }
        if let Some((bad, why)) = addrs
            .iter()
            .find_map(|a| refusal(a.ip()).map(|why| (a.ip(), why)))
        {
            return Err(format!(
                "The host {host} resolves to {bad}, a {why} address, which webhooks may not \
                 reach; list the host in WEBHOOK_ALLOW_HOSTS to allow it."
            ));
        }
        Ok(url)
    }

    /// Refuses an address written into the URL itself (the resolver never sees those).
    fn check_literal(&self, url: &Url) -> Result<(), String> {
        let Some(ip) = url
            .host_str()
            .and_then(|h| h.trim_matches(['[', ']']).parse::<IpAddr>().ok())
        else {
            return Ok(());
        };
        if is_public(ip) || self.allowed(&ip.to_string()) {
            Ok(())
        } else {
            Err(format!(
                "refused: {ip} is a loopback, private or link-local address"
            ))
        }
    }
}

/// The client's resolver: every address of an allowed host, only public ones of others.
struct Resolver(Arc<TargetPolicy>);

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ok: Vec<SocketAddr> = if policy.allowed(&host) {
                all
            } else {
                all.into_iter().filter(|a| is_public(a.ip())).collect()
            };
            if ok.is_empty() {
                return Err(format!(
                    "refused: {host} resolves to no public address (see WEBHOOK_ALLOW_HOSTS)"
                )
                .into());
            }
            let addrs: Addrs = Box::new(ok.into_iter());
            Ok(addrs)
        })
    }
}

/// What one POST came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// Sends signed deliveries.
#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    policy: Arc<TargetPolicy>,
}

impl WebhookClient {
    /// A client under `policy`: no proxies, no redirects (a redirect is a failed attempt, so
    /// it cannot lead the request somewhere the policy would refuse), [`TIMEOUT`] per attempt.
    pub fn new(policy: Arc<TargetPolicy>) -> Self {
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(Resolver(policy.clone())))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("repair-crm-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the TLS backend is built in");
        Self { http, policy }
    }

    /// The policy URLs are checked against.
    pub fn policy(&self) -> &TargetPolicy {
        &self.policy
    }

    /// POSTs `body` to `url` with the Standard Webhooks headers for message `id`.
    pub async fn post(&self, url: &str, secret: &str, id: &str, body: &str) -> Answer {
        let fail = |error: String| Answer {
            status: None,
            error: Some(error),
        };
        let url = match Url::parse(url) {
            Ok(u) => u,
            Err(e) => return fail(format!("invalid URL: {e}")),
        };
        if let Err(e) = self.policy.check_literal(&url) {
            return fail(e);
        }
        let timestamp = chrono::Utc::now().timestamp();
        let signature = match sign(secret, id, timestamp, body.as_bytes()) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let sent = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Answer {
                status: Some(r.status().as_u16()),
                error: None,
            },
            Ok(r) => Answer {
                status: Some(r.status().as_u16()),
                error: Some(format!("answered HTTP {}", r.status().as_u16())),
            },
            Err(e) => fail(describe(&e)),
        }
    }
}

/// A transport failure in one line, naming no secret.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    let mut why = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        why = s.to_string();
        source = s.source();
    }
    if e.is_connect() {
        format!("could not connect: {why}")
    } else {
        format!("request failed: {why}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example published with the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_like_the_specifications_example() {
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn every_special_purpose_range_is_refused_at_both_ends() {
        for (net, why) in SPECIAL_PURPOSE {
            let net: ipnet::IpNet = net.parse().unwrap();
            for ip in [net.network(), net.broadcast()] {
                assert!(refusal(ip).is_some(), "{ip} in {net} ({why})");
            }
        }
    }

    #[test]
    fn internal_addresses_are_not_public() {
        for (ip, why) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.31.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.100.0.1", "shared"),
            ("0.0.0.0", "this network"),
            ("255.255.255.255", "broadcast"),
            ("224.0.0.1", "multicast"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.254", "benchmarking"),
            ("192.0.0.8", "IETF"),
            ("240.0.0.1", "reserved"),
            ("192.0.2.10", "documentation"),
            ("198.51.100.10", "documentation"),
            ("203.0.113.10", "documentation"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fe80::1", "link-local"),
            ("fd00::1", "unique-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("100::1", "discard"),
            ("2001:db8::1", "documentation"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("64:ff9b::7f00:1", "loopback"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
            ("64:ff9b:1::1", "NAT64"),
            ("2002:7f00:1::1", "loopback"),
            ("2002:c0a8:101::1", "private"),
            ("::127.0.0.1", "loopback"),
            ("::10.0.0.1", "private"),
        ] {
            let got = refusal(ip.parse().unwrap());
            assert!(got.is_some_and(|g| g.contains(why)), "{ip}: {got:?}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "192.0.3.1",
            "198.20.0.1",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn urls_are_checked_before_they_are_stored() {
        let none = TargetPolicy::default();
        for (url, why) in [
            ("http://127.0.0.1:9/x", "loopback"),
            ("http://localhost/x", "loopback"),
            ("http://[::1]/x", "loopback"),
            ("http://169.254.169.254/latest", "link-local"),
            ("https://user:pw@example.com/", "user name"),
            ("ftp://example.com/", "http"),
            ("not a url", "valid"),
        ] {
            let e = none.check(url).await.unwrap_err();
            assert!(e.contains(why), "{url}: {e}");
        }
        let local = TargetPolicy::new(&["127.0.0.1".into(), "LOCALHOST".into()]);
        assert!(local.check("http://127.0.0.1:9/x").await.is_ok());
        assert!(local.check("http://localhost:9/x").await.is_ok());
        assert!(local.check("http://10.0.0.1/x").await.is_err());
    }

    #[tokio::test]
    async fn the_client_refuses_internal_targets_it_was_not_allowed() {
        let client = WebhookClient::new(Arc::new(TargetPolicy::default()));
        for url in ["http://127.0.0.1:9/x", "http://localhost:9/x"] {
            let a = client.post(url, "whsec_AAAA", "msg_1", "{}").await;
            assert_eq!(a.status, None);
            assert!(a.error.unwrap().contains("refused"), "{url}");
        }
    }
}
