//! The doctor's network layer: the URL it was given, name resolution, TCP, and TLS with
//! the chain and name checked (public roots from `webpki-roots`, or `--ca FILE`), reporting
//! the leaf certificate's days left.
//!
//! Every connection is fresh (a balancer picks an instance per connection), and every step
//! has a timeout. It knows nothing of HTTP or WebSockets: it hands out a byte stream.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How long one network step (resolve, connect, handshake, an answer) may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// A byte stream to the server, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
pub type Stream = Pin<Box<dyn Io>>;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("{0:?} is not an http:// or https:// URL with a host")]
    BadUrl(String),
    #[error("{host} does not resolve: {reason}")]
    Resolve { host: String, reason: String },
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: SocketAddr, reason: String },
    #[error("TLS handshake with {host} failed: {reason}")]
    Tls { host: String, reason: String },
    #[error("cannot read the CA file {path}: {reason}")]
    Ca { path: String, reason: String },
    #[error("no answer within {} s", STEP_TIMEOUT.as_secs())]
    Timeout,
}

/// The URL the doctor checks, split into what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// `scheme://host[:port]` as a browser's Origin header would say it.
    pub origin: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Self, NetError> {
        let bad = || NetError::BadUrl(url.to_owned());
        let uri: http::Uri = url.trim().parse().map_err(|_| bad())?;
        let https = match uri.scheme_str() {
            Some(scheme) if scheme.eq_ignore_ascii_case("https") => true,
            Some(scheme) if scheme.eq_ignore_ascii_case("http") => false,
            _ => return Err(bad()),
        };
        let authority = uri.authority().ok_or_else(bad)?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let scheme = if https { "https" } else { "http" };
        let default_port = if https { 443 } else { 80 };
        let origin = if port == default_port {
            format!("{scheme}://{}", authority.host().to_ascii_lowercase())
        } else {
            format!(
                "{scheme}://{}:{port}",
                authority.host().to_ascii_lowercase()
            )
        };
        Ok(Self {
            https,
            host,
            port,
            origin,
        })
    }

    /// The Host header for this URL (with the port unless it is the scheme's default).
    pub fn host_header(&self) -> String {
        self.origin
            .split_once("://")
            .map(|(_, authority)| authority.to_owned())
            .unwrap_or_default()
    }
}

pub async fn resolve(target: &Target) -> Result<Vec<SocketAddr>, NetError> {
    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    let addrs = tokio::time::timeout(STEP_TIMEOUT, lookup)
        .await
        .map_err(|_| NetError::Timeout)?
        .map_err(|error| NetError::Resolve {
            host: target.host.clone(),
            reason: error.to_string(),
        })?;
    let addrs: Vec<SocketAddr> = addrs.collect();
    if addrs.is_empty() {
        return Err(NetError::Resolve {
            host: target.host.clone(),
            reason: "no addresses".into(),
        });
    }
    Ok(addrs)
}

pub async fn tcp(addr: SocketAddr) -> Result<TcpStream, NetError> {
    tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| NetError::Timeout)?
        .map_err(|error| NetError::Connect {
            addr,
            reason: error.to_string(),
        })
}

/// What the TLS handshake showed of the server's certificate.
#[derive(Debug, Clone)]
pub struct TlsSeen {
    pub days_left: Option<i64>,
    pub protocol: String,
}

/// Opens one connection to the target: TCP, then TLS for an https URL.
#[derive(Clone)]
pub struct Dialer {
    pub target: Target,
    pub addr: SocketAddr,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Dialer {
    pub fn new(target: Target, addr: SocketAddr, ca: Option<&Path>) -> Result<Self, NetError> {
        let tls = if target.https {
            Some(tls_connector(ca)?)
        } else {
            None
        };
        Ok(Self { target, addr, tls })
    }

    pub async fn dial(&self) -> Result<(Stream, Option<TlsSeen>), NetError> {
        let tcp = tcp(self.addr).await?;
        let Some(connector) = &self.tls else {
            return Ok((Box::pin(tcp), None));
        };
        let name = match self.target.host.parse::<IpAddr>() {
            Ok(ip) => ServerName::IpAddress(ip.into()),
            Err(_) => {
                ServerName::try_from(self.target.host.clone()).map_err(|error| NetError::Tls {
                    host: self.target.host.clone(),
                    reason: error.to_string(),
                })?
            }
        };
        let stream = tokio::time::timeout(STEP_TIMEOUT, connector.connect(name, tcp))
            .await
            .map_err(|_| NetError::Timeout)?
            .map_err(|error| NetError::Tls {
                host: self.target.host.clone(),
                reason: error.to_string(),
            })?;
        let (_, session) = stream.get_ref();
        let days_left = session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|leaf| days_left(leaf.as_ref()));
        let protocol = session
            .protocol_version()
            .map(|version| format!("{version:?}"))
            .unwrap_or_default();
        Ok((
            Box::pin(stream),
            Some(TlsSeen {
                days_left,
                protocol,
            }),
        ))
    }
}

fn tls_connector(ca: Option<&Path>) -> Result<tokio_rustls::TlsConnector, NetError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let ca_error = |reason: String| NetError::Ca {
                path: path.display().to_string(),
                reason,
            };
            let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|error| ca_error(error.to_string()))?
                .collect::<Result<_, _>>()
                .map_err(|error| ca_error(error.to_string()))?;
            if certificates.is_empty() {
                return Err(ca_error("no PEM certificate in it".into()));
            }
            for certificate in certificates {
                roots
                    .add(certificate)
                    .map_err(|error| ca_error(error.to_string()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| NetError::Tls {
            host: String::new(),
            reason: error.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// Whole days until the certificate expires (negative once it has).
fn days_left(der: &[u8]) -> Option<i64> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = certificate.validity().not_after.timestamp();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some((not_after - i64::try_from(now).ok()?) / 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gives_its_origin_with_the_port_only_when_it_is_not_the_default() {
        let target = Target::parse("https://Chat.Example.org/").unwrap();
        assert_eq!(target.origin, "https://chat.example.org");
        assert_eq!((target.port, target.https), (443, true));
        let target = Target::parse("http://127.0.0.1:3000").unwrap();
        assert_eq!(target.origin, "http://127.0.0.1:3000");
        assert_eq!(target.host_header(), "127.0.0.1:3000");
        let target = Target::parse("http://[::1]:80/x").unwrap();
        assert_eq!(
            (target.host.as_str(), target.origin.as_str()),
            ("::1", "http://[::1]")
        );
    }

    #[test]
    fn a_url_without_an_http_scheme_is_refused() {
        for bad in ["chat.example.org", "ftp://x.org", "ws://x.org", "https://"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
