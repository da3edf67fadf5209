//! The `private_addresses` guard against server-side request forgery: a crawler fed URLs by
//! users must not be steered at the machine's own services, the cloud metadata endpoint or the
//! private network. Checked on the resolved IP at connect time (in the DNS resolver the HTTP
//! client uses), so DNS rebinding cannot bypass it; IP-literal hosts are checked before each hop.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use crate::config::PrivateAddresses;
use crate::error::{CrawlError, REFUSED};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Loopback, private, link-local, unique-local, CGNAT, unspecified, multicast or broadcast —
/// also when spelled as an IPv6 address that carries an IPv4 one (see [`embedded_v4`]).
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => is_private_v6(v6) || embedded_v4(v6).is_some_and(is_private_v4),
    }
}

/// The IPv4 address an IPv6 one carries to the same host or through a translator: mapped
/// (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`, deprecated but still routed by some stacks),
/// NAT64 (`64:ff9b::/96` and the local-use `64:ff9b:1::/48`) and 6to4 (`2002:AABB:CCDD::/48`).
/// Judged by the IPv4 address: a gateway would deliver them there.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let last_32 = || Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7]));
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0, 0, _, _] => Some(last_32()),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] | [0x64, 0xff9b, 1, ..] => Some(last_32()),
        [0x2002, high, low, ..] => Some(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))),
        _ => None,
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link local fe80::/10
}

/// The guard's state: its policy and the seed hosts it trusts.
#[derive(Debug)]
pub struct AddressGuard {
    policy: PrivateAddresses,
    seed_hosts: RwLock<HashSet<String>>,
}

impl AddressGuard {
    pub fn new(policy: PrivateAddresses) -> Self {
        Self {
            policy,
            seed_hosts: RwLock::new(HashSet::new()),
        }
    }

    /// Trusts `host` (a seed's host name) under the `seeds` policy.
    pub fn trust_seed_host(&self, host: &str) {
        if self.policy == PrivateAddresses::Seeds {
            let known = self
                .seed_hosts
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .contains(host);
            if !known {
                self.seed_hosts
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(host.to_string());
            }
        }
    }

    /// Whether `host` may be reached at `ip`.
    pub fn check(&self, host: &str, ip: IpAddr) -> Result<(), CrawlError> {
        let allowed = match self.policy {
            PrivateAddresses::Allow => true,
            _ if !is_private(ip) => true,
            PrivateAddresses::Deny => false,
            PrivateAddresses::Seeds => self
                .seed_hosts
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .contains(host),
        };
        if allowed {
            Ok(())
        } else {
            Err(CrawlError::AddressRefused(format!(
                "{host} ({ip}): {REFUSED}"
            )))
        }
    }

    /// Checks a URL whose host is an IP literal (those never reach the resolver).
    pub fn check_literal(&self, url: &url::Url) -> Result<(), CrawlError> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        self.check(url.host_str().unwrap_or_default(), ip)
    }
}

/// The HTTP client's DNS resolver: the system's, minus the addresses the guard refuses.
pub struct GuardedResolver(pub Arc<AddressGuard>);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|addr| match guard.check(&host, addr.ip()) {
                    Ok(()) => true,
                    Err(e) => {
                        refused = Some(e);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                if let Some(refused) = refused {
                    return Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>);
                }
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_ranges() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::169.254.169.254",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::10.0.0.1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(is_private(ip(private)), "{private}");
        }
        for public in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "93.184.216.34",
            "2606:4700::1111",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_private(ip(public)), "{public}");
        }
    }

    #[test]
    fn policies() {
        let seeds = AddressGuard::new(PrivateAddresses::Seeds);
        assert!(seeds.check("intranet", ip("10.0.0.1")).is_err());
        seeds.trust_seed_host("intranet");
        assert!(seeds.check("intranet", ip("10.0.0.1")).is_ok());
        assert!(seeds.check("evil", ip("10.0.0.1")).is_err());
        assert!(seeds.check("public", ip("8.8.8.8")).is_ok());

        let deny = AddressGuard::new(PrivateAddresses::Deny);
        deny.trust_seed_host("intranet");
        let err = deny.check("intranet", ip("10.0.0.1")).unwrap_err();
        assert_eq!(err.kind(), "address_refused");

        assert!(AddressGuard::new(PrivateAddresses::Allow)
            .check("x", ip("127.0.0.1"))
            .is_ok());
        let meta = url::Url::parse("http://169.254.169.254/latest/").unwrap();
        assert!(seeds.check_literal(&meta).is_err());
    }
}
