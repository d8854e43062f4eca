//! `/ws/probe`: the diagnostic socket of `sori doctor` and the `/doctor` page.
//!
//! It sits under `/ws` so that a proxy routes it exactly like the chat socket, and it needs
//! no session: it reads and writes no user data. What it reports is how this instance saw
//! the request (scheme, forwarded headers, peer, instance, database, clock); what it does is
//! echo, stay silent or beat on request, and pass tokens between the probe sockets of every
//! instance (over the bus on PostgreSQL). It is bounded three ways: a rate per client
//! address (in memory, per instance), a lifetime per socket, and a few tokens per socket.
//!
//! Its failures are made recognisable from outside, since they are what the doctor
//! diagnoses: every answer carries `X-Sori-Probe`, an upgrade whose headers a proxy
//! stripped gets a JSON body naming what arrived, and a foreign Origin gets a 403 naming
//! the origin Sori expects (public anyway: it is in every page's links).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::backend::bus::Bus;
use app::backend::client_addr::limit_key;
use app::backend::cross_site;
use app::backend::rate_limit::{Limited, RateLimiter};
use app::protocol::close::Reason;
use app::protocol::probe::{
    LIFETIME_OVER, ProbeClientFrame, ProbeRefusal, ProbeServerFrame, ProbeToken, REFUSED, Scheme,
};
use axum::Json;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::config::ProbeConfig;
use crate::state::AppState;

/// The header on every answer of `/ws/probe`, so the doctor can tell Sori's answers from a
/// proxy's.
pub const MARKER: &str = "x-sori-probe";

/// Tokens one socket may listen for at once.
const TOKENS_PER_SOCKET: usize = 8;

/// Tokens one socket may publish in its life: a doctor's run publishes one. Each publish is
/// a `pg_notify` on the bus every instance listens to, beside chat hints and revocations,
/// so an anonymous socket must not be able to loop on it.
const PUBLISHES_PER_SOCKET: u32 = 4;

/// Publishes this instance passes to the bus per [`PUBLISH_WINDOW`], from all probe sockets
/// together: what bounds many sockets publishing at once.
const PUBLISHES_PER_WINDOW: u32 = 20;
const PUBLISH_WINDOW: Duration = Duration::from_secs(10);

/// How long one write to a probe socket may take. A client that does not read fills the TCP
/// buffers, and a write without a bound would then wait for ever, past the socket's
/// lifetime (the deadline is only looked at between writes).
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Probe frames are a few hundred bytes; nothing larger is read.
const MAX_FRAME_BYTES: usize = 4 * 1024;

/// A probe published on this instance or another: its token and the instance it was
/// published on.
pub type Arrival = (ProbeToken, String);

/// What every probe socket of this instance shares.
#[derive(Clone)]
pub struct Probes {
    config: ProbeConfig,
    limiter: Arc<RateLimiter>,
    /// Bounds the publishes of all probe sockets together.
    publishes: Arc<RateLimiter>,
    /// Identifies the database (also in `/healthz`).
    pub database: Arc<str>,
    board: broadcast::Sender<Arrival>,
}

impl Probes {
    pub fn new(config: ProbeConfig, database: String) -> Self {
        let window = Duration::from_millis(config.interval_ms.saturating_mul(config.burst.into()));
        let clock = app::backend::clock::Clock::system();
        let limiter = RateLimiter::new(config.burst, window, clock.clone());
        let publishes = RateLimiter::new(PUBLISHES_PER_WINDOW, PUBLISH_WINDOW, clock);
        let (board, _) = broadcast::channel(app::backend::bus::PROBE_QUEUE);
        Self {
            config,
            limiter: Arc::new(limiter),
            publishes: Arc::new(publishes),
            database: database.into(),
            board,
        }
    }

    /// Passes the probes published on other instances to this instance's probe sockets,
    /// for as long as the bus runs.
    pub fn hear_from(&self, bus: &Bus) {
        let mut arrivals = bus.probe_arrivals();
        let board = self.board.clone();
        tokio::spawn(async move {
            loop {
                match arrivals.recv().await {
                    Ok((token, from)) => {
                        // No socket listening is the usual case, not an error.
                        let _ = board.send((token, from.to_string()));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}

pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let probes = state.probes.clone();
    let ingress = state.backend.ingress();
    let arrival = ingress.arrival(peer.ip(), &headers);
    let public_origin = ingress.expected_origin(&arrival).to_owned();
    let origin_ok = headers.get(http::header::ORIGIN).is_some()
        && cross_site::check(&headers, &public_origin).is_ok();
    if !origin_ok {
        let found = header_text(&headers, http::header::ORIGIN.as_str());
        // Debug, not info: anyone may send these, before any rate limit, and the doctor
        // sends one on purpose; a log line each would let them flood the journal.
        tracing::debug!(origin = ?found, "refused a probe from a foreign origin");
        let body = json!({ "error": "foreign_origin", "origin": found, "expected": public_origin });
        return marked("foreign-origin", (StatusCode::FORBIDDEN, Json(body)));
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            // A proxy that drops `Upgrade`/`Connection` turns the upgrade into a plain GET:
            // say what arrived, so the doctor can name the directive.
            let body = json!({
                "error": "no_upgrade",
                "detail": rejection.body_text(),
                "upgrade": header_text(&headers, "upgrade"),
                "connection": header_text(&headers, "connection"),
                "sec_websocket_key": headers.contains_key("sec-websocket-key"),
                "sec_websocket_version": header_text(&headers, "sec-websocket-version"),
            });
            return marked("no-upgrade", (StatusCode::UPGRADE_REQUIRED, Json(body)));
        }
    };
    let forwarded_proto = header_text(&headers, "x-forwarded-proto");
    let hello = ProbeServerFrame::Hello {
        instance: state.backend.instance().to_string(),
        database: probes.database.to_string(),
        time_ms: now_ms(),
        heartbeat_ms: state.backend.realtime().heartbeat_ms,
        public_origin,
        seen_scheme: if arrival.forwarded_https {
            Scheme::Https
        } else {
            Scheme::Http
        },
        secure_cookie: arrival.https,
        forwarded_proto,
        proxy_trusted: arrival.proxy_trusted,
        peer: peer.ip().to_string(),
        lifetime_ms: probes.config.lifetime_ms,
    };
    let admitted = probes.limiter.check(&[&limit_key(arrival.client)]).await;
    let socket = Socket {
        probes,
        bus: state.bus.clone(),
        instance: state.backend.instance().to_string(),
        heartbeat_ms: state.backend.realtime().heartbeat_ms,
        shutdown: state.shutdown.clone(),
        published: 0,
    };
    let response = upgrade
        .read_buffer_size(MAX_FRAME_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |ws| async move {
            match admitted {
                Ok(()) => socket.run(ws, hello).await,
                Err(limited) => refuse_rate(ws, limited).await,
            }
        });
    marked("ok", response)
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

fn marked(marker: &'static str, response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response
        .headers_mut()
        .insert(MARKER, HeaderValue::from_static(marker));
    response
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Over the rate: the refusal is a frame, since a browser cannot read an upgrade's status.
async fn refuse_rate(mut ws: WebSocket, limited: Limited) {
    let refusal = rate_limited(limited);
    // The client may already be gone; there is nobody else to tell.
    let _ = send(&mut ws, frame(&refusal)).await;
    let _ = send(&mut ws, close(REFUSED)).await;
}

fn rate_limited(limited: Limited) -> ProbeServerFrame {
    let retry_after_secs = match limited {
        Limited::Wait(secs) => secs,
        Limited::Unavailable => 1,
    };
    ProbeServerFrame::Refused {
        reason: ProbeRefusal::RateLimited { retry_after_secs },
    }
}

/// Completes once shutdown starts (never, if the sender is gone: then nothing stops us).
async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here, not across the caller's await.
    if shutdown.wait_for(|stopping| *stopping).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Writes one message, within [`WRITE_TIMEOUT`]; a client that does not read in time is
/// treated as gone.
async fn send(ws: &mut WebSocket, message: Message) -> Result<(), axum::Error> {
    match tokio::time::timeout(WRITE_TIMEOUT, ws.send(message)).await {
        Ok(sent) => sent,
        Err(_) => Err(axum::Error::new(
            "the client did not read within the write timeout",
        )),
    }
}

fn frame(frame: &ProbeServerFrame) -> Message {
    // Strings, numbers and booleans only: serialising cannot fail.
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(frame).unwrap_or_default(),
    ))
}

fn close(reason: Reason) -> Message {
    Message::Close(Some(CloseFrame {
        code: reason.code,
        reason: Utf8Bytes::from_static(reason.text),
    }))
}

/// One admitted probe socket.
struct Socket {
    probes: Probes,
    bus: Option<Arc<Bus>>,
    instance: String,
    /// The chat socket's heartbeat, which an idle with `heartbeat` imitates.
    heartbeat_ms: u64,
    shutdown: watch::Receiver<bool>,
    /// Publishes this socket made so far.
    published: u32,
}

/// How a socket ends: with a close frame of ours, or because the peer left.
enum End {
    Close(Reason),
    PeerGone,
}

impl Socket {
    async fn run(mut self, mut ws: WebSocket, hello: ProbeServerFrame) {
        let deadline = Instant::now() + Duration::from_millis(self.probes.config.lifetime_ms);
        // The hard bound: whatever a write is waiting for, the socket is dropped (and its
        // connection closed) one write timeout after its lifetime.
        let served = tokio::time::timeout_at(
            deadline + WRITE_TIMEOUT,
            self.serve(&mut ws, hello, deadline),
        )
        .await;
        if let Ok(End::Close(reason)) = served {
            // The peer may be gone already; the socket ends either way.
            let _ = send(&mut ws, close(reason)).await;
        }
    }

    async fn serve(
        &mut self,
        ws: &mut WebSocket,
        hello: ProbeServerFrame,
        deadline: Instant,
    ) -> End {
        if send(ws, frame(&hello)).await.is_err() {
            return End::PeerGone;
        }
        let mut arrivals = self.probes.board.subscribe();
        let mut listening: HashSet<ProbeToken> = HashSet::new();
        let mut shutdown = self.shutdown.clone();
        loop {
            let sent = tokio::select! {
                () = tokio::time::sleep_until(deadline) => return End::Close(LIFETIME_OVER),
                () = stopping(&mut shutdown) => return End::Close(Reason::RESTARTING),
                arrival = arrivals.recv() => match arrival {
                    Ok((token, from)) if listening.contains(&token) => {
                        send(ws, frame(&ProbeServerFrame::Arrived { token, from })).await
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => Ok(()),
                    // The board lives as long as the server's state; it does not close.
                    Err(broadcast::error::RecvError::Closed) => Ok(()),
                },
                received = ws.recv() => {
                    let request = match received {
                        Some(Ok(Message::Text(text))) => {
                            serde_json::from_str::<ProbeClientFrame>(&text).ok()
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Binary(_))) => None,
                        Some(Ok(Message::Close(_)) | Err(_)) | None => return End::PeerGone,
                    };
                    let Some(request) = request else {
                        let refusal = ProbeServerFrame::Refused { reason: ProbeRefusal::BadFrame };
                        let _ = send(ws, frame(&refusal)).await;
                        return End::Close(REFUSED);
                    };
                    match self.answer(ws, request, deadline, &mut listening).await {
                        Ok(None) => Ok(()),
                        Ok(Some(end)) => return end,
                        Err(error) => Err(error),
                    }
                }
            };
            if sent.is_err() {
                return End::PeerGone;
            }
        }
    }

    /// Answers one request; `Some` when the socket ends during it.
    async fn answer(
        &mut self,
        ws: &mut WebSocket,
        request: ProbeClientFrame,
        deadline: Instant,
        listening: &mut HashSet<ProbeToken>,
    ) -> Result<Option<End>, axum::Error> {
        match request {
            ProbeClientFrame::Echo { n, sent_ms } => {
                let echo = ProbeServerFrame::Echo {
                    n,
                    sent_ms,
                    time_ms: now_ms(),
                };
                send(ws, frame(&echo)).await?;
            }
            ProbeClientFrame::Idle { secs, heartbeat } => {
                let wanted = Duration::from_secs(secs);
                let left = deadline.saturating_duration_since(Instant::now());
                if wanted >= left {
                    let lifetime_ms = self.probes.config.lifetime_ms;
                    let refusal = ProbeServerFrame::Refused {
                        reason: ProbeRefusal::TooLong { lifetime_ms },
                    };
                    send(ws, frame(&refusal)).await?;
                    return Ok(None);
                }
                let started = Instant::now();
                if let Some(end) = self.stay_quiet(ws, started + wanted, heartbeat).await? {
                    return Ok(Some(end));
                }
                let after_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                send(ws, frame(&ProbeServerFrame::Awake { after_ms })).await?;
            }
            ProbeClientFrame::Listen { token } => {
                if listening.len() >= TOKENS_PER_SOCKET && !listening.contains(&token) {
                    let refusal = ProbeServerFrame::Refused {
                        reason: ProbeRefusal::BadFrame,
                    };
                    send(ws, frame(&refusal)).await?;
                    return Ok(Some(End::Close(REFUSED)));
                }
                listening.insert(token.clone());
                send(ws, frame(&ProbeServerFrame::Listening { token })).await?;
            }
            ProbeClientFrame::Publish { token } => {
                self.published += 1;
                if self.published > PUBLISHES_PER_SOCKET {
                    let refusal = ProbeServerFrame::Refused {
                        reason: ProbeRefusal::BadFrame,
                    };
                    send(ws, frame(&refusal)).await?;
                    return Ok(Some(End::Close(REFUSED)));
                }
                if let Err(limited) = self.probes.publishes.check(&["all"]).await {
                    send(ws, frame(&rate_limited(limited))).await?;
                    return Ok(None);
                }
                // Sockets here hear it at once; the bus ignores its own notifications.
                let _ = self
                    .probes
                    .board
                    .send((token.clone(), self.instance.clone()));
                if let Some(bus) = &self.bus
                    && let Err(error) = bus.publish_probe(token).await
                {
                    tracing::warn!(%error, "probe: cannot publish on the bus");
                }
            }
        }
        Ok(None)
    }

    /// Sends nothing until `until` (or only pings, every heartbeat, with `heartbeat`),
    /// reading only to notice the peer leaving. `Some` when the socket ends meanwhile.
    async fn stay_quiet(
        &mut self,
        ws: &mut WebSocket,
        until: Instant,
        heartbeat: bool,
    ) -> Result<Option<End>, axum::Error> {
        let every = Duration::from_millis(self.heartbeat_ms.max(1));
        let mut next_ping = Instant::now() + every;
        loop {
            let wake = if heartbeat {
                next_ping.min(until)
            } else {
                until
            };
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {
                    if Instant::now() >= until {
                        return Ok(None);
                    }
                    send(ws, Message::Ping(Default::default())).await?;
                    next_ping += every;
                }
                () = stopping(&mut self.shutdown) => {
                    return Ok(Some(End::Close(Reason::RESTARTING)));
                }
                received = ws.recv() => match received {
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return Ok(Some(End::PeerGone)),
                    // Requests during an idle are ignored: the probe asked for silence.
                    Some(Ok(_)) => {}
                },
            }
        }
    }
}
