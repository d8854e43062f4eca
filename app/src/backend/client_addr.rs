//! Which address a request came from, for rate limits and logs.
//!
//! It is the TCP peer, unless that peer is a proxy listed in `SORI_TRUSTED_PROXIES`: then the
//! client is the nearest address in `X-Forwarded-For` that is not itself a trusted proxy.
//! Without the list, every request behind one proxy would share the proxy's address (one bad
//! client would lock out everyone); trusting the header from anyone would let a client pick
//! its own address and escape the limits.
//!
//! Rate limits key a client by [`limit_key`], not by its full address: one IPv6 subscriber
//! is handed a whole /64 and could otherwise take a fresh address for every request.

use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use http::HeaderMap;

/// An IP network such as `10.0.0.0/8`, or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, candidate: IpAddr) -> bool {
        match (self.addr, candidate) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask_eq(
                u128::from(u32::from(net)),
                u128::from(u32::from(ip)),
                self.prefix,
                32,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask_eq(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            // An IPv4 peer seen through an IPv6 socket.
            (IpAddr::V4(_), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|ip| self.contains(IpAddr::V4(ip))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn mask_eq(net: u128, ip: u128, prefix: u8, bits: u8) -> bool {
    let shift = u32::from(bits - prefix.min(bits));
    net.checked_shr(shift).unwrap_or(0) == ip.checked_shr(shift).unwrap_or(0)
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or network like 10.0.0.0/8"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= max)
                .ok_or_else(|| format!("{text:?} has a prefix length outside 0..={max}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

/// The client's address for a request from `peer` with these headers.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    // Proxies append, so the list reads client, proxy1, proxy2: walk it from the right and
    // stop at the first hop we do not trust.
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    let mut client = peer;
    for hop in forwarded.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // A garbled hop: everything left of it is unverifiable.
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// The key every rate limit gives a client address: an IPv4 address as itself (also when it
/// arrives IPv4-mapped through an IPv6 socket), and an IPv6 address as its /64 prefix, the
/// smallest network that is handed to one subscriber and inside which any address is theirs
/// to use. Written like `2001:db8:1:2::/64`, so it stays short and readable in the store.
pub fn limit_key(client: IpAddr) -> String {
    match client {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(ip) => ip.to_string(),
            None => {
                let prefix = u128::from(ip) & !(u128::MAX >> 64);
                format!("{}/64", Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", xff.parse().unwrap());
        headers
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|net| net.parse().unwrap()).collect()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let peer = "203.0.113.9".parse().unwrap();
        assert_eq!(client_addr(peer, &headers("1.2.3.4"), &[]), peer);
    }

    #[test]
    fn behind_a_trusted_proxy_the_forwarded_client_is_used() {
        let peer = "10.0.0.2".parse().unwrap();
        let client = client_addr(peer, &headers("198.51.100.7"), &nets(&["10.0.0.0/8"]));
        assert_eq!(client, "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_spoofed_left_part_of_the_header_is_not_believed() {
        let peer = "10.0.0.2".parse().unwrap();
        let xff = headers("6.6.6.6, 198.51.100.7");
        let client = client_addr(peer, &xff, &nets(&["10.0.0.0/8"]));
        assert_eq!(client, "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn chains_of_trusted_proxies_are_walked() {
        let peer = "10.0.0.2".parse().unwrap();
        let xff = headers("198.51.100.7, 10.0.0.9");
        let client = client_addr(peer, &xff, &nets(&["10.0.0.0/8"]));
        assert_eq!(client, "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn networks_parse_and_match() {
        let net: IpNet = "192.168.0.0/16".parse().unwrap();
        assert!(net.contains("192.168.4.5".parse().unwrap()));
        assert!(!net.contains("192.169.0.1".parse().unwrap()));
        let one: IpNet = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("proxy.local".parse::<IpNet>().is_err());
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn an_ipv6_client_is_limited_by_its_slash_64() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let same_net: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let next_net: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(limit_key(one), "2001:db8:1:2::/64");
        assert_eq!(limit_key(one), limit_key(same_net));
        assert_ne!(limit_key(one), limit_key(next_net));
    }

    #[test]
    fn an_ipv4_client_is_limited_by_its_address_also_when_mapped_into_ipv6() {
        let plain: IpAddr = "203.0.113.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(limit_key(plain), "203.0.113.7");
        assert_eq!(limit_key(mapped), "203.0.113.7");
        assert_ne!(limit_key(plain), limit_key("203.0.113.8".parse().unwrap()));
    }
}
