//! Clients of each target, speaking its own protocol, reduced to what the scenarios need:
//! join a room, post message number `n`, and receive message numbers.
//!
//! - Sori: sessions from the server functions, posts through `/api/messages/send` (each
//!   acknowledged after commit), delivery on `/ws` with the `app::protocol` types. Instances
//!   sharing a PostgreSQL database share the sessions too ([`SoriSite::on`]).
//! - Django Channels (the tutorial's consumer): `/ws/chat/ROOM/`, `{"message": "n"}` both ways.
//! - Socket.IO: Engine.IO v4 over a websocket: `40` to connect, `42["join", ROOM]` with an
//!   acknowledgement, `42["chat", ROOM, "n"]` to post, `42["chat", "n"]` delivered; pings
//!   (`2`) are answered with pongs (`3`).

use std::net::SocketAddr;

use anyhow::{Context, bail};
use app::model::RoomId;
use app::protocol::{ClientFrame, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::process::Target;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The client id Sori gets for message number `n` (a UUID that carries `n`).
pub fn client_id(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// Sori's side: sessions and rooms made through the server functions.
pub struct SoriSite {
    pub base: String,
    pub http: reqwest::Client,
    /// Session cookies of the benchmark's users; the first one owns the rooms.
    pub cookies: Vec<String>,
}

impl SoriSite {
    /// Signs up `users` users (Argon2id per sign-up, so few users share many sockets).
    pub async fn new(addr: SocketAddr, users: usize) -> anyhow::Result<Self> {
        let base = format!("http://{addr}");
        let http = reqwest::Client::new();
        let mut cookies = Vec::new();
        for n in 0..users.max(1) {
            cookies.push(sign_up(&http, &base, &format!("bench{n}")).await?);
        }
        Ok(Self {
            base,
            http,
            cookies,
        })
    }

    /// The same users, signed in, reaching another instance of the same deployment at
    /// `addr` (sessions live in the shared database, so their cookies hold there too).
    pub fn on(&self, addr: SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            http: self.http.clone(),
            cookies: self.cookies.clone(),
        }
    }

    /// Creates a public room that every user joins.
    pub async fn room(&self, name: &str) -> anyhow::Result<RoomId> {
        let room = self
            .call(0, "rooms/create", &[("name", name), ("topic", "")])
            .await?;
        let id = room["id"].as_i64().context("room id")?;
        for user in 1..self.cookies.len() {
            self.call(user, "rooms/join", &[("id", &id.to_string())])
                .await?;
        }
        Ok(RoomId(id))
    }

    pub async fn call(
        &self,
        user: usize,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> anyhow::Result<serde_json::Value> {
        let response = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .header("cookie", &self.cookies[user])
            .form(form)
            .send()
            .await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if !status.is_success() {
            bail!("{endpoint} failed: {status} {body}");
        }
        Ok(body)
    }

    /// Posts message number `n` as user `user`; returns once it is acknowledged.
    pub async fn post(&self, user: usize, room: RoomId, n: u64) -> anyhow::Result<()> {
        self.post_text(user, room, n, "benchmark message")
            .await
            .map(|_| ())
    }

    /// Posts `body` as message number `n` of user `user`; answers the message's id.
    pub async fn post_text(
        &self,
        user: usize,
        room: RoomId,
        n: u64,
        body: &str,
    ) -> anyhow::Result<i64> {
        let room = room.to_string();
        let id = client_id(n);
        let form = [
            ("room", room.as_str()),
            ("client_id", id.as_str()),
            ("body", body),
        ];
        let ack = self.call(user, "messages/send", &form).await?;
        ack["id"].as_i64().context("message id")
    }

    /// User `user` reacts to message `id` with `emoji`.
    pub async fn react(&self, user: usize, id: i64, emoji: &str) -> anyhow::Result<()> {
        let id = id.to_string();
        let form = [("id", id.as_str()), ("emoji", emoji), ("on", "true")];
        self.call(user, "messages/react", &form).await.map(|_| ())
    }
}

async fn sign_up(http: &reqwest::Client, base: &str, name: &str) -> anyhow::Result<String> {
    let form = [
        ("username", name),
        ("display_name", name),
        // Words unrelated to the username, so the server's strength check (zxcvbn, fed the
        // username) passes it whatever the name ("benchmark password" shares "bench").
        ("password", "velvet harbor quantum 58"),
    ];
    let response = http
        .post(format!("{base}/api/register"))
        .form(&form)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("sign-up of {name} failed: {}", response.status());
    }
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .context("no session cookie")?;
    Ok(cookie.to_owned())
}

/// Opens a socket to `target` and joins `room` (for the peers, a room name derived from the
/// id). Returns once the join is confirmed, so nothing posted afterwards is missed.
pub async fn join(
    target: Target,
    addr: SocketAddr,
    room: RoomId,
    sori_cookie: Option<&str>,
) -> anyhow::Result<Socket> {
    match target {
        Target::Sori => {
            let mut request = format!("ws://{addr}/ws").into_client_request()?;
            let cookie = sori_cookie.context("a Sori client needs a session")?;
            request
                .headers_mut()
                .insert("cookie", HeaderValue::from_str(cookie)?);
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_str(&format!("http://{addr}"))?);
            let (mut socket, _) =
                tokio_tungstenite::connect_async_with_config(request, Some(small_buffers()), false)
                    .await?;
            let subscribe = ClientFrame::Subscribe {
                room,
                after_seq: None,
                quiet: false,
            };
            socket
                .send(Message::text(serde_json::to_string(&subscribe)?))
                .await?;
            while let Some(message) = socket.next().await {
                if let Message::Text(text) = message?
                    && let Ok(ServerFrame::Subscribed { .. }) = serde_json::from_str(&text)
                {
                    return Ok(socket);
                }
            }
            bail!("the socket closed before the subscription")
        }
        Target::DjangoMemory | Target::DjangoRedis => {
            let url = format!("ws://{addr}/ws/chat/room{}/", room.0);
            let (socket, _) =
                tokio_tungstenite::connect_async_with_config(url, Some(small_buffers()), false)
                    .await?;
            // The consumer joins its group before accepting the socket.
            Ok(socket)
        }
        Target::Socketio => {
            let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
            let (mut socket, _) =
                tokio_tungstenite::connect_async_with_config(url, Some(small_buffers()), false)
                    .await?;
            // "0{...}" (open), then connect to the default namespace.
            expect_prefix(&mut socket, "0").await?;
            socket.send(Message::text("40")).await?;
            expect_prefix(&mut socket, "40").await?;
            let join = format!("420[\"join\",\"room{}\"]", room.0);
            socket.send(Message::text(join)).await?;
            expect_prefix(&mut socket, "430").await?;
            Ok(socket)
        }
    }
}

/// tungstenite zero-fills a 128 KiB read buffer per socket by default: for a thousand
/// sockets each reading one small frame at a time, that memset was a fifth of the
/// generator's time. Chat frames are small.
fn small_buffers() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 * 1024)
}

async fn expect_prefix(socket: &mut Socket, prefix: &str) -> anyhow::Result<()> {
    while let Some(message) = socket.next().await {
        if let Message::Text(text) = message? {
            if text.starts_with(prefix) {
                return Ok(());
            }
            if text.as_str() == "2" {
                socket.send(Message::text("3")).await?;
            }
        }
    }
    bail!("the socket closed while waiting for {prefix:?}")
}

/// What a received text frame means for the scenario.
pub enum Received {
    /// Message number `n` arrived.
    Message(u64),
    /// A Socket.IO ping: answer it with a pong.
    Ping,
    Other,
}

pub fn parse(target: Target, text: &str) -> Received {
    match target {
        Target::Sori => {
            // The generator reads as many frames as the server writes; a full parse of each
            // would make it, not the server, the limit. A message frame starts with its type
            // and carries the client id, whose last 12 hex digits are the number.
            if !text.starts_with(r#"{"type":"message""#) {
                return Received::Other;
            }
            text.split_once(r#""client_id":""#)
                .and_then(|(_, rest)| rest.get(24..36))
                .and_then(|hex| u64::from_str_radix(hex, 16).ok())
                .map_or(Received::Other, Received::Message)
        }
        Target::DjangoMemory | Target::DjangoRedis => {
            serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|value| value["message"].as_str()?.parse().ok())
                .map_or(Received::Other, Received::Message)
        }
        Target::Socketio => {
            if text == "2" {
                return Received::Ping;
            }
            text.strip_prefix("42[\"chat\",\"")
                .and_then(|rest| rest.strip_suffix("\"]"))
                .and_then(|n| n.parse().ok())
                .map_or(Received::Other, Received::Message)
        }
    }
}

/// The frame a peer's sender writes to post message number `n` in `room`.
pub fn peer_post(target: Target, room: RoomId, n: u64) -> Message {
    match target {
        Target::Socketio => Message::text(format!("42[\"chat\",\"room{}\",\"{n}\"]", room.0)),
        _ => Message::text(format!("{{\"message\":\"{n}\"}}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::protocol::{ClientId, MessageId, MessageView, Person};

    #[test]
    fn the_fast_path_reads_the_number_from_a_real_message_frame() {
        let frame = ServerFrame::Message {
            message: MessageView {
                id: MessageId(9),
                room: RoomId(1),
                seq: 3,
                client_id: ClientId::parse(&client_id(0xabc)).unwrap(),
                author: Some(Person {
                    id: app::model::UserId(1),
                    username: "bench0".into(),
                    display_name: "bench0".into(),
                }),
                body: "benchmark message".into(),
                created_ms: 0,
                edited_ms: None,
                deleted: false,
                changed_seq: 3,
                reactions: Vec::new(),
                reply_to: None,
                rich: app::model::RichText::plain("benchmark message"),
                mentions: Vec::new(),
                mentioned: Vec::new(),
            },
        };
        assert!(matches!(
            parse(Target::Sori, &frame.to_json()),
            Received::Message(0xabc)
        ));
        let subscribed = ServerFrame::Subscribed {
            room: RoomId(1),
            last_seq: 3,
        };
        assert!(matches!(
            parse(Target::Sori, &subscribed.to_json()),
            Received::Other
        ));
    }

    #[test]
    fn peer_frames_parse() {
        assert!(matches!(
            parse(Target::DjangoMemory, r#"{"message": "17"}"#),
            Received::Message(17)
        ));
        assert!(matches!(
            parse(Target::Socketio, r#"42["chat","17"]"#),
            Received::Message(17)
        ));
        assert!(matches!(parse(Target::Socketio, "2"), Received::Ping));
    }
}
