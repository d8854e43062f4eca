//! How one request reached Sori: from which client, over https or not, and so which origin
//! its browser must show.
//!
//! Behind a proxy that ends TLS, Sori itself only ever sees plain HTTP from the proxy. The
//! proxy says what it saw in `X-Forwarded-For` and `X-Forwarded-Proto`, and both are believed
//! only from a peer listed in `SORI_TRUSTED_PROXIES` (from anyone else a browser could forge
//! them). A request is https when `SORI_PUBLIC_ORIGIN` says so, or when a trusted proxy says
//! `X-Forwarded-Proto: https`. An https request gets the `Secure`, `__Host-` session cookie
//! ([`super::auth::SessionCookie`]), and its `Origin` must be the public origin on `https`,
//! even when `SORI_PUBLIC_ORIGIN` was written with `http://`: a browser on an https page
//! sends an https Origin.
//!
//! This module judges; it refuses nothing itself ([`super::cross_site`] does, with the origin
//! it is given).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use http::{Extensions, HeaderMap};

use super::client_addr::{IpNet, client_addr};

/// The deployment's view of its front door: the public origin and the proxies it trusts.
#[derive(Debug)]
pub struct Ingress {
    /// `SORI_PUBLIC_ORIGIN` (or its default), e.g. `https://chat.example.org`.
    public_origin: String,
    /// The same origin on `https`: what an https request's browser sends.
    https_origin: String,
    trusted: Vec<IpNet>,
}

/// One request, as judged by [`Ingress::arrival`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// The client's address: the peer, or what trusted proxies forwarded.
    pub client: IpAddr,
    /// Whether the TCP peer is a trusted proxy.
    pub proxy_trusted: bool,
    /// A trusted proxy said `X-Forwarded-Proto: https`.
    pub forwarded_https: bool,
    /// The request counts as https: by the public origin, or by a trusted proxy's word.
    pub https: bool,
}

impl Ingress {
    pub fn new(public_origin: &str, trusted: Vec<IpNet>) -> Self {
        let host = public_origin
            .strip_prefix("http://")
            .or_else(|| public_origin.strip_prefix("https://"))
            .unwrap_or(public_origin);
        Self {
            public_origin: public_origin.to_owned(),
            https_origin: format!("https://{host}"),
            trusted,
        }
    }

    /// The configured public origin, as written (normalised) in the configuration.
    pub fn public_origin(&self) -> &str {
        &self.public_origin
    }

    pub fn trusted_proxies(&self) -> &[IpNet] {
        &self.trusted
    }

    /// How a request from TCP peer `peer` with these headers reached Sori.
    pub fn arrival(&self, peer: IpAddr, headers: &HeaderMap) -> Arrival {
        let proxy_trusted = self.trusted.iter().any(|net| net.contains(peer));
        let forwarded_https = proxy_trusted && forwarded_https(headers);
        Arrival {
            client: client_addr(peer, headers, &self.trusted),
            proxy_trusted,
            forwarded_https,
            https: forwarded_https || self.public_origin.starts_with("https://"),
        }
    }

    /// The `Origin` a browser sends on this request, when it comes from Sori's own pages.
    pub fn expected_origin(&self, arrival: &Arrival) -> &str {
        if arrival.https {
            &self.https_origin
        } else {
            &self.public_origin
        }
    }
}

/// The TCP peer of a request, from the connection info axum keeps in its extensions. Without
/// it (a request built in a test, not served from a socket), the unspecified address, which
/// no limit or trust list names.
pub fn peer_of(extensions: &Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip())
}

/// Whether `X-Forwarded-Proto` says https. Its last value counts, as in `X-Forwarded-For`:
/// it is the one the nearest proxy (the trusted one) wrote. A proxy that appends to the
/// header rather than setting it would leave a client's own `https` in front of its `http`,
/// and the first value would believe the client.
fn forwarded_https(headers: &HeaderMap) -> bool {
    // The last header line too: a proxy may append a line of its own.
    headers
        .get_all("x-forwarded-proto")
        .iter()
        .next_back()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROXY: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    const BROWSER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));

    fn behind_loopback(public_origin: &str) -> Ingress {
        Ingress::new(public_origin, vec!["127.0.0.1/32".parse().unwrap()])
    }

    fn forwarded(proto: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-proto", proto.parse().unwrap());
        headers.insert("x-forwarded-for", "192.0.2.7".parse().unwrap());
        headers
    }

    #[test]
    fn a_trusted_proxy_saying_https_makes_the_request_https_and_expect_an_https_origin() {
        let ingress = behind_loopback("http://chat.example.org");
        let arrival = ingress.arrival(PROXY, &forwarded("https"));
        assert!(arrival.https && arrival.forwarded_https && arrival.proxy_trusted);
        assert_eq!(arrival.client, BROWSER);
        assert_eq!(
            ingress.expected_origin(&arrival),
            "https://chat.example.org"
        );
    }

    #[test]
    fn the_same_header_from_an_untrusted_peer_changes_nothing() {
        let ingress = behind_loopback("http://chat.example.org");
        let arrival = ingress.arrival(BROWSER, &forwarded("https"));
        assert!(!arrival.https && !arrival.forwarded_https && !arrival.proxy_trusted);
        assert_eq!(arrival.client, BROWSER);
        assert_eq!(ingress.expected_origin(&arrival), "http://chat.example.org");
        let untrusting = Ingress::new("http://chat.example.org", Vec::new());
        assert!(!untrusting.arrival(PROXY, &forwarded("https")).https);
    }

    #[test]
    fn a_trusted_proxy_saying_http_or_nothing_leaves_plain_http() {
        let ingress = behind_loopback("http://chat.example.org");
        assert!(!ingress.arrival(PROXY, &forwarded("http")).https);
        assert!(!ingress.arrival(PROXY, &HeaderMap::new()).https);
        // An appending proxy after a client that forged `https`: the proxy's value counts.
        assert!(!ingress.arrival(PROXY, &forwarded("https, http")).https);
        assert!(ingress.arrival(PROXY, &forwarded("http , HTTPS")).https);
        let mut two_lines = forwarded("https");
        two_lines.append("x-forwarded-proto", "http".parse().unwrap());
        assert!(
            !ingress.arrival(PROXY, &two_lines).https,
            "an appended line of its own"
        );
    }

    #[test]
    fn an_https_public_origin_makes_every_request_https() {
        let ingress = behind_loopback("https://chat.example.org");
        let direct = ingress.arrival(BROWSER, &HeaderMap::new());
        assert!(direct.https && !direct.forwarded_https);
        assert_eq!(ingress.expected_origin(&direct), "https://chat.example.org");
        assert_eq!(ingress.public_origin(), "https://chat.example.org");
    }
}
