//! Sori's accept loop: `axum::serve` plus the bounds that keep slow clients from holding the
//! server's connections (slowloris).
//!
//! - A cap on open connections in all (`SORI_MAX_CONNECTIONS`): past it, a new connection is
//!   closed as soon as it is accepted. Its permit lives as long as the socket does, upgraded
//!   WebSockets included (they hold file descriptors like any other).
//! - A cap per TCP peer address (`SORI_MAX_CONNECTIONS_PER_ADDRESS`) on HTTP connections,
//!   the ones still reading requests: the peer is all there is to go by before headers are
//!   read. A connection stops counting once upgraded to a WebSocket, which has its own
//!   limits (sockets per user, probes per address), so a tab's socket never crowds out its
//!   page loads. Trusted proxies (`SORI_TRUSTED_PROXIES`) are not held to it: every client
//!   behind them shares their address.
//! - A header-read timeout (`SORI_HEADER_READ_TIMEOUT_MS`), hyper's own: a connection whose
//!   next request's headers have not all arrived within it is closed, so a client trickling
//!   a header a byte at a time, or idling on a kept-alive connection, lets its slot go.
//!
//! The request timeout is not here but a router layer (`crate::request_timeout`): it must answer
//! 408 in Sori's JSON, and it ends at the response, so an upgraded socket outlives it.
//! Graceful shutdown is `axum::serve`'s: stop accepting, ask every connection to finish its
//! request in flight and close, and return once all have (the caller bounds the wait).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use app::backend::client_addr::IpNet;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

/// The bounds [`serve`] holds connections to.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub max_per_address: usize,
    pub header_read_timeout: Duration,
    /// Peers not held to `max_per_address`: the trusted proxies.
    pub unlimited_peers: Vec<IpNet>,
}

/// Serves `router` on `listener` until `shutdown` completes, then drains as described in the
/// module's documentation.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = PerAddress::new(limits.max_per_address, limits.unlimited_peers.clone());
    // Connections watch `stopping`; each holds a `drained` receiver until it ends, so
    // `drained_tx.closed()` completes when the last one has.
    let (stopping_tx, stopping) = watch::channel(false);
    let (drained_tx, drained) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    wait_after_accept_error(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "refused a connection: SORI_MAX_CONNECTIONS are open");
            continue;
        };
        let Some(slot) = per_address.admit(peer.ip()) else {
            tracing::debug!(
                %peer,
                "refused a connection: its address has SORI_MAX_CONNECTIONS_PER_ADDRESS open"
            );
            continue;
        };
        let connection = Connection {
            stream: Counted {
                stream,
                _permit: permit,
            },
            peer,
            slot,
            header_read_timeout: limits.header_read_timeout,
        };
        tokio::spawn(connection.run(router.clone(), stopping.clone(), drained.clone()));
    }
    drop(listener);
    stopping_tx.send_replace(true);
    drop(drained);
    drained_tx.closed().await;
}

/// One accepted connection, admitted by both caps.
struct Connection {
    stream: Counted,
    peer: SocketAddr,
    slot: AddressSlot,
    header_read_timeout: Duration,
}

impl Connection {
    async fn run(
        self,
        router: Router,
        mut stopping: watch::Receiver<bool>,
        _drained: watch::Receiver<()>,
    ) {
        let peer = self.peer;
        // What axum's `into_make_service_with_connect_info` would give each request: the
        // peer, which the ingress reads (`app::backend::ingress::peer_of`).
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        let connection = builder
            .serve_connection(TokioIo::new(self.stream), service)
            .with_upgrades();
        let mut connection = pin!(connection);
        let mut asked_to_stop = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        // Timeouts, resets and malformed requests: the client's business.
                        tracing::trace!(%peer, %error, "a connection ended with an error");
                    }
                    break;
                }
                _ = stopping.wait_for(|stopping| *stopping), if !asked_to_stop => {
                    asked_to_stop = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
        // The HTTP connection is over (closed, or handed to a WebSocket): the address's slot
        // is free again. An upgraded socket keeps the `Counted` permit until it closes.
        drop(self.slot);
    }
}

/// Errors of `accept` that concern one connection are skipped. Others (out of file
/// descriptors, most often) would repeat at once, so the loop waits a second, as
/// `axum::serve` does.
async fn wait_after_accept_error(error: io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept connections; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// HTTP connections open per peer address.
#[derive(Clone)]
struct PerAddress {
    max: usize,
    unlimited: Arc<[IpNet]>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerAddress {
    fn new(max: usize, unlimited: Vec<IpNet>) -> Self {
        Self {
            max,
            unlimited: unlimited.into(),
            open: Arc::default(),
        }
    }

    /// A slot for one more connection from `address`, or `None` when it has its maximum.
    fn admit(&self, address: IpAddr) -> Option<AddressSlot> {
        if self.unlimited.iter().any(|net| net.contains(address)) {
            return Some(AddressSlot(None));
        }
        // A poisoned map only means a thread panicked while counting; the counts are still
        // whole numbers, so go on with them.
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let address = counted_as(address);
        let count = open.entry(address).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(AddressSlot(Some((self.clone(), address))))
    }
}

/// The address a connection counts against: an IPv6 peer by its /64 (one subscriber is
/// usually given a whole /64, and could otherwise take a fresh address per connection, as
/// the rate limits also assume), an IPv4-mapped one as the IPv4 address.
fn counted_as(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(ip) & !u128::from(u64::MAX),
            )),
        },
    }
}

/// One counted connection of an address; dropping it frees the slot (and forgets the
/// address once it has none, so the map holds only addresses with open connections).
struct AddressSlot(Option<(PerAddress, IpAddr)>);

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let Some((per_address, address)) = self.0.take() else {
            return;
        };
        let mut open = per_address
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&address);
            }
        }
    }
}

/// A TCP stream that holds its place under `SORI_MAX_CONNECTIONS` until it is dropped,
/// whoever owns it by then (hyper, or the WebSocket it was upgraded to).
struct Counted {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const PROXY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));

    #[test]
    fn an_address_gets_its_maximum_and_a_slot_back_when_one_closes() {
        let per_address = PerAddress::new(2, Vec::new());
        let first = per_address.admit(CLIENT).expect("the first");
        let _second = per_address.admit(CLIENT).expect("the second");
        assert!(per_address.admit(CLIENT).is_none());
        drop(first);
        assert!(per_address.admit(CLIENT).is_some());
    }

    #[test]
    fn an_address_with_no_open_connection_is_forgotten() {
        let per_address = PerAddress::new(2, Vec::new());
        drop(per_address.admit(CLIENT));
        assert!(per_address.open.lock().unwrap().is_empty());
    }

    #[test]
    fn a_trusted_proxy_is_not_held_to_the_maximum() {
        let per_address = PerAddress::new(1, vec!["10.0.0.0/8".parse().unwrap()]);
        let slots: Vec<_> = (0..5).map(|_| per_address.admit(PROXY)).collect();
        assert!(slots.iter().all(Option::is_some));
        let _one = per_address.admit(CLIENT).expect("one");
        assert!(per_address.admit(CLIENT).is_none());
    }

    #[test]
    fn ipv6_peers_of_one_slash_64_share_a_cap_and_mapped_ipv4_counts_as_ipv4() {
        let per_address = PerAddress::new(2, Vec::new());
        let first: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let second: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        let _one = per_address.admit(first).expect("a first slot");
        let _two = per_address.admit(second).expect("a second slot, same /64");
        assert!(per_address.admit(first).is_none(), "the /64 is at its cap");
        assert!(per_address.admit(elsewhere).is_some(), "another /64 is not");
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(counted_as(mapped), CLIENT);
    }
}
