//! The doctor's client of `/ws/probe`: the upgrade done by hand over a fresh stream (so the
//! doctor sees exactly what answered, and checks `Sec-WebSocket-Accept` itself), then the
//! same stream handed to `tokio-tungstenite` for frames, spoken in `app`'s probe types.

use std::time::Duration;

use app::protocol::probe::{ProbeClientFrame, ProbeServerFrame};
use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::checks::{Idle, UpgradeAnswer};
use super::http::{self, HttpError};
use super::net::{Dialer, NetError, STEP_TIMEOUT, Stream};

/// The largest probe frame the doctor reads.
const MAX_FRAME_BYTES: usize = 64 * 1024;

pub const PATH: &str = "/ws/probe";

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the probe socket closed: {0}")]
    Closed(String),
    #[error("the probe sent something unexpected: {0}")]
    Unexpected(String),
    #[error("the probe said nothing within {} s", STEP_TIMEOUT.as_secs())]
    Timeout,
}

/// An open probe socket.
pub struct Probe {
    ws: WebSocketStream<Stream>,
}

/// What the upgrade got: an open socket, or the answer that was not one (with the origin
/// Sori expects, when it refused ours and said so).
pub enum Upgrade {
    /// Boxed: a socket is a few hundred bytes, a refusal a few dozen.
    Open(Box<Probe>),
    Refused(UpgradeAnswer, Option<String>),
}

/// Upgrades a fresh connection on `/ws/probe` with this Origin.
pub async fn upgrade(dialer: &Dialer, origin: &str) -> Result<Upgrade, ProbeError> {
    let (mut stream, _) = dialer.dial().await.map_err(HttpError::from)?;
    let key = generate_key();
    let host = dialer.target.host_header();
    let answer = http::get(
        &mut stream,
        PATH,
        &[
            ("Host", &host),
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", &key),
            ("Origin", origin),
        ],
    )
    .await?;
    if answer.status != 101 {
        let marker = answer.header("x-sori-probe").map(str::to_owned);
        let expected = match &marker {
            Some(_) => http::body(&mut stream, &answer)
                .await
                .ok()
                .and_then(|body| serde_json::from_slice::<serde_json::Value>(&body).ok())
                .and_then(|json| json.get("expected")?.as_str().map(str::to_owned)),
            None => None,
        };
        let refused = match marker {
            Some(marker) => UpgradeAnswer::Sori {
                status: answer.status,
                marker,
            },
            None => UpgradeAnswer::Other {
                status: answer.status,
                server: answer.header("server").map(str::to_owned),
            },
        };
        return Ok(Upgrade::Refused(refused, expected));
    }
    let expected = derive_accept_key(key.as_bytes());
    if answer.header("sec-websocket-accept") != Some(expected.as_str()) {
        return Ok(Upgrade::Refused(
            UpgradeAnswer::Switched { accept_ok: false },
            None,
        ));
    }
    // Probe frames are a few hundred bytes; a server sending megabytes is not read into
    // memory (tungstenite's default would allow 64 MiB).
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    let ws =
        WebSocketStream::from_partially_read(stream, answer.rest, Role::Client, Some(config)).await;
    Ok(Upgrade::Open(Box::new(Probe { ws })))
}

impl Probe {
    pub async fn send(&mut self, frame: &ProbeClientFrame) -> Result<(), ProbeError> {
        // Plain fields only: serialising cannot fail.
        let text = serde_json::to_string(frame).unwrap_or_default();
        tokio::time::timeout(
            STEP_TIMEOUT,
            self.ws.send(Message::Text(Utf8Bytes::from(text))),
        )
        .await
        .map_err(|_| ProbeError::Timeout)?
        .map_err(|error| ProbeError::Closed(error.to_string()))
    }

    /// The next frame within `wait`, pings and pongs skipped.
    pub async fn next_within(&mut self, wait: Duration) -> Result<ProbeServerFrame, ProbeError> {
        let deadline = Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| ProbeError::Timeout)?;
            match message {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(&text)
                        .map_err(|_| ProbeError::Unexpected(text.to_string()));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Close(Some(close)))) => {
                    return Err(ProbeError::Closed(format!(
                        "{} {}",
                        u16::from(close.code),
                        close.reason
                    )));
                }
                Some(Ok(Message::Close(None))) | None => {
                    return Err(ProbeError::Closed("without a close frame".into()));
                }
                Some(Ok(Message::Binary(_))) => {
                    return Err(ProbeError::Unexpected("a binary frame".into()));
                }
                Some(Err(error)) => return Err(ProbeError::Closed(error.to_string())),
            }
        }
    }

    pub async fn next(&mut self) -> Result<ProbeServerFrame, ProbeError> {
        self.next_within(STEP_TIMEOUT).await
    }

    /// Asks the server for `secs` of silence (or of heartbeat only) and reports whether the
    /// socket lived through it.
    pub async fn idle(&mut self, secs: u64, heartbeat: bool) -> Idle {
        let started = Instant::now();
        if self
            .send(&ProbeClientFrame::Idle { secs, heartbeat })
            .await
            .is_err()
        {
            return Idle::Cut { after_secs: 0 };
        }
        let wait = Duration::from_secs(secs) + STEP_TIMEOUT;
        match self.next_within(wait).await {
            Ok(ProbeServerFrame::Awake { .. }) => Idle::Survived,
            // Rounded, not floored: a hop's timer started at the server's last frame, a
            // moment before this idle was asked for, so a 5 s timeout shows as 4.9 s here.
            _ => Idle::Cut {
                after_secs: u64::try_from((started.elapsed().as_millis() + 500) / 1000)
                    .unwrap_or(u64::MAX),
            },
        }
    }
}

/// Only for the `Result` of [`Dialer::dial`] in contexts that return a probe error.
impl From<NetError> for ProbeError {
    fn from(error: NetError) -> Self {
        ProbeError::Http(HttpError::Net(error))
    }
}
