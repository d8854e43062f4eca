//! A WebSocket client for tests, speaking the protocol types of `app::protocol`.

use std::sync::Arc;
use std::time::Duration;

use app::protocol::{ClientFrame, Person, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

pub struct Socket {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a socket ended, as the client saw it.
#[derive(Debug, PartialEq, Eq)]
pub enum Closed {
    Code(u16, String),
    WithoutFrame,
}

impl Socket {
    /// Opens `/ws` with the given cookie and Origin (either may be absent). Returns the HTTP
    /// status if the upgrade was refused.
    pub async fn open(
        addr: std::net::SocketAddr,
        cookie: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Self, u16> {
        Self::open_url(&format!("ws://{addr}/ws"), cookie, origin, None).await
    }

    /// Like [`Socket::open`], at any `ws://` or `wss://` URL; `tls` says which certificate
    /// authorities a `wss://` one may be signed by (through a proxy with a test CA).
    pub async fn open_url(
        url: &str,
        cookie: Option<&str>,
        origin: Option<&str>,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<Self, u16> {
        let mut request = url.into_client_request().unwrap();
        if let Some(cookie) = cookie {
            request
                .headers_mut()
                .insert("cookie", HeaderValue::from_str(cookie).unwrap());
        }
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_str(origin).unwrap());
        }
        Self::connect(request, tls).await
    }

    /// Like [`Socket::open_url`], as if through a trusted proxy that ended TLS: with
    /// `X-Forwarded-Proto: https`.
    pub async fn open_forwarded_https(url: &str, cookie: &str, origin: &str) -> Result<Self, u16> {
        let mut request = url.into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("cookie", HeaderValue::from_str(cookie).unwrap());
        headers.insert("origin", HeaderValue::from_str(origin).unwrap());
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        Self::connect(request, None).await
    }

    async fn connect(
        request: tokio_tungstenite::tungstenite::handshake::client::Request,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<Self, u16> {
        let connector = tls.map(Connector::Rustls);
        let connecting =
            tokio_tungstenite::connect_async_tls_with_config(request, None, false, connector);
        // Bounded: a proxy that accepts and never answers must fail the test, not hang it.
        let connected = tokio::time::timeout(Duration::from_secs(10), connecting)
            .await
            .expect("the handshake ends within 10 s");
        match connected {
            Ok((stream, _)) => Ok(Self { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(error) => panic!("the socket did not open: {error}"),
        }
    }

    /// Like [`Socket::open`], but with a tiny TCP receive buffer: a client that stops reading
    /// pushes back on the server after a few kilobytes instead of megabytes.
    pub async fn open_tiny(addr: std::net::SocketAddr, cookie: &str, origin: &str) -> Self {
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.set_recv_buffer_size(2048).unwrap();
        let stream = tcp.connect(addr).await.unwrap();
        let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
        request
            .headers_mut()
            .insert("cookie", HeaderValue::from_str(cookie).unwrap());
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(origin).unwrap());
        let (stream, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
            .await
            .expect("the socket opens");
        Self { stream }
    }

    pub async fn send(&mut self, frame: &ClientFrame) {
        let text = serde_json::to_string(frame).unwrap();
        self.stream.send(Message::text(text)).await.unwrap();
    }

    /// Asks for `room`'s live events from now on (no replay, not quiet), without waiting
    /// for the answer: for tests that look at what the answer is.
    pub async fn subscribe_live(&mut self, room: app::model::RoomId) {
        self.send(&ClientFrame::Subscribe {
            room,
            after_seq: None,
            quiet: false,
        })
        .await;
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.stream.send(message).await.unwrap();
    }

    /// Like [`Socket::send_raw`], but a socket the server has closed is an error, not a
    /// panic (for the flood tests, which send until they are cut off).
    pub async fn try_send_raw(
        &mut self,
        message: Message,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.stream.send(message).await
    }

    /// The close the server sends within `wait`, if it does (frames before it are skipped);
    /// `None` if the socket is still open then.
    pub async fn close_within(&mut self, wait: Duration) -> Option<Closed> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Close(Some(frame))))) => {
                    return Some(Closed::Code(frame.code.into(), frame.reason.to_string()));
                }
                Ok(Some(Ok(Message::Close(None)) | Err(_)) | None) => {
                    return Some(Closed::WithoutFrame);
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// How a socket just opened begins: its hello (`WithoutFrame` here means it is open and
    /// greeted), or the close the server sent instead.
    pub async fn closed_or_hello(&mut self) -> Closed {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(5), self.stream.next())
                .await
                .expect("a first frame within 5 s");
            match next {
                Some(Ok(Message::Text(_))) => return Closed::WithoutFrame,
                Some(Ok(Message::Close(Some(frame)))) => {
                    return Closed::Code(frame.code.into(), frame.reason.to_string());
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("neither a hello nor a close: {other:?}"),
            }
        }
    }

    /// The next protocol frame other than presence (pings are answered by the client
    /// library and skipped; `next_any` sees presence too).
    pub async fn next(&mut self) -> ServerFrame {
        match self.next_within(Duration::from_secs(5)).await {
            Some(frame) => frame,
            None => panic!("no frame arrived within 5 s"),
        }
    }

    /// The next frame other than presence, if one arrives within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<ServerFrame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let now = tokio::time::Instant::now();
            let frame = self
                .next_any_within(deadline.saturating_duration_since(now))
                .await?;
            if !is_presence(&frame) {
                return Some(frame);
            }
        }
    }

    /// The next frame of any kind, presence included.
    pub async fn next_any(&mut self) -> ServerFrame {
        match self.next_any_within(Duration::from_secs(5)).await {
            Some(frame) => frame,
            None => panic!("no frame arrived within 5 s"),
        }
    }

    /// The next frame of any kind if one arrives within `wait`.
    pub async fn next_any_within(&mut self, wait: Duration) -> Option<ServerFrame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            match message.expect("a readable frame") {
                Message::Text(text) => {
                    return Some(serde_json::from_str(&text).expect("a protocol frame"));
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// The next frame other than presence if one arrives within `wait` (`Ok(None)` if none
    /// does), or how the socket ended if it ends first: closed, reset, or cut off because
    /// the server's process died.
    pub async fn next_unless_closed(
        &mut self,
        wait: Duration,
    ) -> Result<Option<ServerFrame>, Closed> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let Ok(next) = tokio::time::timeout_at(deadline, self.stream.next()).await else {
                return Ok(None);
            };
            match next {
                Some(Ok(Message::Text(text))) => {
                    let frame = serde_json::from_str(&text).expect("a protocol frame");
                    if !is_presence(&frame) {
                        return Ok(Some(frame));
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(Some(frame)))) => {
                    return Err(Closed::Code(frame.code.into(), frame.reason.to_string()));
                }
                Some(Ok(Message::Close(None)) | Err(_)) | None => {
                    return Err(Closed::WithoutFrame);
                }
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Reads until the server closes the socket, returning the close code.
    pub async fn closed(&mut self) -> Closed {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(5), self.stream.next())
                .await
                .expect("the server closes the socket within 5 s");
            match next {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return Closed::Code(frame.code.into(), frame.reason.to_string());
                }
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                    return Closed::WithoutFrame;
                }
                Some(Ok(_)) => continue,
            }
        }
    }
}

/// Presence and typing: ephemeral frames most tests look past.
pub fn is_presence(frame: &ServerFrame) -> bool {
    matches!(
        frame,
        ServerFrame::Presence { .. }
            | ServerFrame::Joined { .. }
            | ServerFrame::Left { .. }
            | ServerFrame::Typing { .. }
    )
}

/// The next presence frame (`Presence`, `Joined`, `Left` or `Typing`) within `wait`.
pub async fn next_presence(socket: &mut Socket, wait: Duration) -> Option<ServerFrame> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = socket.next_any_within(left).await?;
        if is_presence(&frame) {
            return Some(frame);
        }
    }
}

/// The display names of an online list, in its order.
pub fn names(online: &[Person]) -> Vec<&str> {
    online
        .iter()
        .map(|person| person.display_name.as_str())
        .collect()
}
