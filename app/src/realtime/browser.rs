//! The browser-only half of [`super::Realtime`]: the socket loop with its reconnect backoff,
//! the outbox's sending and storage, and the clock. This is the one module of the crate that
//! differs between the targets: on the server every function here does nothing, because a
//! server-rendered page has no socket, no storage and no viewer's time zone.

use crate::protocol::ClientFrame;

/// The handle to the socket loop: frames to send once connected.
#[derive(Default)]
pub struct Link {
    #[cfg(feature = "hydrate")]
    frames: Option<futures_channel::mpsc::UnboundedSender<ClientFrame>>,
    #[cfg(feature = "hydrate")]
    flushing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Whether the socket is open right now (going offline does not always close it).
    #[cfg(feature = "hydrate")]
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

#[cfg(feature = "hydrate")]
pub use live::{flush, local_time, mark_read, new_client_id, now_ms, start};

#[cfg(not(feature = "hydrate"))]
impl Link {
    pub fn send(&self, _frame: ClientFrame) {}
}

#[cfg(not(feature = "hydrate"))]
pub fn start(_realtime: super::Realtime, _user: crate::model::UserId) {}

#[cfg(not(feature = "hydrate"))]
pub fn flush(_realtime: super::Realtime) {}

#[cfg(not(feature = "hydrate"))]
pub fn mark_read(_realtime: super::Realtime, _room: crate::model::RoomId, _seq: u64) {}

/// Posts are only made in the browser; the server never needs an id.
#[cfg(not(feature = "hydrate"))]
pub fn new_client_id() -> String {
    String::new()
}

/// The wall clock, for throttling what the browser sends; the server never throttles.
#[cfg(not(feature = "hydrate"))]
pub fn now_ms() -> f64 {
    0.0
}

/// Times are shown in the viewer's zone, which only the browser knows: the server renders
/// none, and the page fills them in after hydration.
#[cfg(not(feature = "hydrate"))]
pub fn local_time(_unix_ms: i64) -> String {
    String::new()
}

#[cfg(feature = "hydrate")]
mod live {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use futures_channel::mpsc::{UnboundedReceiver, unbounded};
    use futures_util::future::{Either, select};
    use futures_util::{SinkExt, StreamExt};
    use gloo_net::websocket::futures::WebSocket;
    use gloo_net::websocket::{Message, WebSocketError};
    use leptos::prelude::*;
    use leptos::task::spawn_local;
    use wasm_bindgen::JsValue;

    use super::Link;
    use crate::api::messages::send_message;
    use crate::error::ApiError;
    use crate::model::{RoomId, UserId};
    use crate::protocol::{ClientFrame, ClientId, MessageView, Person, ServerFrame, close};
    use crate::realtime::{ConnectionStatus, OutboxEntry, OutboxState, Realtime};

    impl Link {
        pub fn send(&self, frame: ClientFrame) {
            if let Some(frames) = &self.frames {
                // The loop is gone only when the tab's session ended; nothing to send then.
                let _ = frames.unbounded_send(frame);
            }
        }
    }

    /// Opens the socket loop for `user`, and loads their outbox from storage.
    pub fn start(realtime: Realtime, user: UserId) {
        let (frames, commands) = unbounded();
        realtime
            .link
            .update_value(|link| link.frames = Some(frames));
        let key = format!("sori.outbox.{user}");
        let stored = storage()
            .and_then(|storage| storage.get_item(&key).ok().flatten())
            .and_then(|json| serde_json::from_str::<Vec<OutboxEntry>>(&json).ok())
            .unwrap_or_default();
        realtime.outbox.set(
            stored
                .into_iter()
                .map(|entry| match entry.state {
                    // A post that was on its way when the page closed goes again.
                    OutboxState::Sending => OutboxEntry {
                        state: OutboxState::Queued,
                        ..entry
                    },
                    _ => entry,
                })
                .collect(),
        );
        // Keeps the outbox in storage from now on. Created here, once per page, after the
        // stored outbox was loaded, so it never overwrites it with an empty one.
        Owner::new().with(|| {
            Effect::new(move |_| {
                let outbox = realtime.outbox.get();
                if let Some(storage) = storage() {
                    let json = serde_json::to_string(&outbox).unwrap_or_else(|_| "[]".into());
                    if storage.set_item(&key, &json).is_err() {
                        leptos::logging::warn!("the outbox could not be saved");
                    }
                }
            });
        });
        let open = realtime.link.with_value(|link| link.open.clone());
        let _online = window_event_listener(leptos::ev::online, move |_| {
            if realtime.status.get_untracked() == ConnectionStatus::Offline {
                realtime.status.set(if open.load(Ordering::SeqCst) {
                    ConnectionStatus::Connected
                } else {
                    ConnectionStatus::Reconnecting
                });
            }
            realtime.flush();
        });
        let _offline = window_event_listener(leptos::ev::offline, move |_| {
            realtime.status.set(ConnectionStatus::Offline);
        });
        spawn_local(run(realtime, commands));
    }

    fn storage() -> Option<web_sys::Storage> {
        window().local_storage().ok().flatten()
    }

    fn online() -> bool {
        window().navigator().on_line()
    }

    /// How a connection ended.
    enum Outcome {
        /// Closed after the session ended: do not reconnect.
        SessionEnded,
        /// The server is restarting: reconnect at once.
        Restart,
        /// Dropped; `true` if it had been connected (the backoff starts over).
        Dropped(bool),
    }

    async fn run(realtime: Realtime, mut commands: UnboundedReceiver<ClientFrame>) {
        let open = realtime.link.with_value(|link| link.open.clone());
        let mut attempt: u32 = 0;
        loop {
            let status = match (online(), attempt) {
                (false, _) => ConnectionStatus::Offline,
                (true, 0) => ConnectionStatus::Connecting,
                (true, _) => ConnectionStatus::Reconnecting,
            };
            realtime.status.set(status);
            let outcome = serve(realtime, &mut commands).await;
            open.store(false, Ordering::SeqCst);
            match outcome {
                Outcome::SessionEnded => {
                    realtime.status.set(ConnectionStatus::SignedOut);
                    return;
                }
                Outcome::Restart => attempt = 1,
                Outcome::Dropped(true) => attempt = 1,
                Outcome::Dropped(false) => attempt = attempt.saturating_add(1),
            }
            realtime.status.set(if online() {
                ConnectionStatus::Reconnecting
            } else {
                ConnectionStatus::Offline
            });
            gloo_timers::future::sleep(backoff(attempt)).await;
        }
    }

    /// Exponential backoff with jitter: 0.5 s doubling up to a 30 s cap, each wait a random
    /// 50–100 % of that, so a restarted server is not hit by every client at once.
    fn backoff(attempt: u32) -> Duration {
        let base_ms = 500f64 * 2f64.powi(attempt.saturating_sub(1).min(6) as i32);
        let capped = base_ms.min(30_000.0);
        let jitter = 0.5 + js_sys::Math::random() / 2.0;
        Duration::from_millis((capped * jitter) as u64)
    }

    fn socket_url() -> String {
        let location = window().location();
        let scheme = match location.protocol().as_deref() {
            Ok("https:") => "wss",
            _ => "ws",
        };
        let host = location.host().unwrap_or_default();
        format!("{scheme}://{host}/ws")
    }

    /// One connection: subscribe every followed room on hello, then relay frames both ways.
    async fn serve(realtime: Realtime, commands: &mut UnboundedReceiver<ClientFrame>) -> Outcome {
        let Ok(socket) = WebSocket::open(&socket_url()) else {
            return Outcome::Dropped(false);
        };
        let (mut write, mut read) = socket.split();
        let mut connected = false;
        loop {
            match select(read.next(), commands.next()).await {
                Either::Left((Some(Ok(Message::Text(text))), _)) => {
                    let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) else {
                        continue;
                    };
                    if let ServerFrame::Hello { .. } = frame {
                        connected = true;
                        realtime
                            .link
                            .with_value(|link| link.open.store(true, Ordering::SeqCst));
                        if online() {
                            realtime.status.set(ConnectionStatus::Connected);
                        }
                        for subscribe in realtime.resubscriptions() {
                            if send(&mut write, &subscribe).await.is_err() {
                                return Outcome::Dropped(true);
                            }
                        }
                        realtime.flush();
                    } else {
                        realtime.handle(frame);
                    }
                }
                Either::Left((Some(Ok(Message::Bytes(_))), _)) => {}
                Either::Left((Some(Err(WebSocketError::ConnectionClose(event))), _)) => {
                    return match event.code {
                        close::SESSION_ENDED => Outcome::SessionEnded,
                        close::SERVICE_RESTART => Outcome::Restart,
                        _ => Outcome::Dropped(connected),
                    };
                }
                Either::Left((Some(Err(_)) | None, _)) => return Outcome::Dropped(connected),
                Either::Right((Some(frame), _)) => {
                    // Before the hello, nothing is subscribed yet; the hello subscribes every
                    // followed room from where its feed stands, which covers this frame.
                    if connected && send(&mut write, &frame).await.is_err() {
                        return Outcome::Dropped(true);
                    }
                }
                Either::Right((None, _)) => return Outcome::SessionEnded,
            }
        }
    }

    async fn send<S>(write: &mut S, frame: &ClientFrame) -> Result<(), WebSocketError>
    where
        S: futures_util::Sink<Message, Error = WebSocketError> + Unpin,
    {
        let text = serde_json::to_string(frame).unwrap_or_default();
        write.send(Message::Text(text)).await
    }

    /// Sends the queued posts in order, one at a time. Only one flush runs at once.
    pub fn flush(realtime: Realtime) {
        let flushing = realtime.link.with_value(|link| link.flushing.clone());
        if flushing.swap(true, Ordering::SeqCst) {
            return;
        }
        spawn_local(async move {
            while let Some(entry) = next_queued(realtime) {
                set_state(realtime, &entry.client_id, OutboxState::Sending);
                let sent =
                    send_message(entry.room, entry.client_id.clone(), entry.body.clone()).await;
                match sent {
                    Ok(ack) => {
                        // Show it at its place at once; the broadcast replaces it by `seq`.
                        let author = realtime.me.get_untracked().map(|me| Person {
                            id: me.id,
                            display_name: me.display_name,
                        });
                        let client_id = ClientId::parse(&entry.client_id);
                        let feed = realtime.feed(entry.room);
                        // The broadcast often comes first; the server's copy then stays.
                        let arrived = feed
                            .messages
                            .with_untracked(|known| known.contains_key(&ack.seq));
                        if let (Some(client_id), false) = (client_id, arrived) {
                            feed.merge([MessageView {
                                id: ack.id,
                                room: entry.room,
                                seq: ack.seq,
                                client_id,
                                author,
                                body: entry.body.clone(),
                                created_ms: js_sys::Date::now() as i64,
                                edited_ms: None,
                                deleted: false,
                                changed_seq: ack.seq,
                            }]);
                        }
                        realtime.outbox.update(|outbox| {
                            outbox.retain(|queued| queued.client_id != entry.client_id)
                        });
                    }
                    Err(ApiError::RateLimited { retry_after_secs }) => {
                        set_state(realtime, &entry.client_id, OutboxState::Queued);
                        gloo_timers::future::sleep(Duration::from_secs(retry_after_secs)).await;
                    }
                    Err(ApiError::Request(_) | ApiError::Internal | ApiError::Unavailable) => {
                        // The server is unreachable: keep it queued; the next connection
                        // (or the browser coming back online) flushes again.
                        set_state(realtime, &entry.client_id, OutboxState::Queued);
                        break;
                    }
                    Err(refused) => {
                        set_state(
                            realtime,
                            &entry.client_id,
                            OutboxState::Failed(refused.to_string()),
                        );
                    }
                }
            }
            flushing.store(false, Ordering::SeqCst);
        });
    }

    /// Sends the read marker of `room`, one request at a time per room; a newer one asked
    /// for meanwhile goes next.
    pub fn mark_read(realtime: Realtime, room: RoomId, seq: u64) {
        let start = realtime.read.try_update_value(|read| {
            let sent = read.sent.get(&room).copied().unwrap_or(0);
            let wanted = read.wanted.entry(room).or_default();
            *wanted = (*wanted).max(seq);
            *wanted > sent && read.in_flight.insert(room)
        });
        if start != Some(true) {
            return;
        }
        spawn_local(async move {
            while let Some(seq) = realtime
                .read
                .with_value(|read| read.wanted.get(&room).copied())
            {
                let done = crate::api::messages::mark_read(room, seq).await.is_ok();
                let again = realtime.read.try_update_value(|read| {
                    if done {
                        let sent = read.sent.entry(room).or_default();
                        *sent = (*sent).max(seq);
                    }
                    let sent = read.sent.get(&room).copied().unwrap_or(0);
                    let more = done && read.wanted.get(&room).is_some_and(|wanted| *wanted > sent);
                    if !more {
                        read.in_flight.remove(&room);
                    }
                    more
                });
                if again != Some(true) {
                    break;
                }
            }
        });
    }

    fn next_queued(realtime: Realtime) -> Option<OutboxEntry> {
        realtime.outbox.with_untracked(|outbox| {
            outbox
                .iter()
                .find(|entry| entry.state == OutboxState::Queued)
                .cloned()
        })
    }

    fn set_state(realtime: Realtime, client_id: &str, state: OutboxState) {
        realtime.outbox.update(|outbox| {
            for entry in outbox
                .iter_mut()
                .filter(|entry| entry.client_id == client_id)
            {
                entry.state = state.clone();
            }
        });
    }

    /// A random version-4 UUID for a new post.
    pub fn new_client_id() -> String {
        let mut hex = String::with_capacity(32);
        while hex.len() < 32 {
            // 13 hex digits from each draw: Math.random carries 52 random bits.
            let draw = (js_sys::Math::random() * (1u64 << 52) as f64) as u64;
            hex.push_str(&format!("{draw:013x}"));
        }
        let hex = &hex[..32];
        let variant = ["8", "9", "a", "b"][(js_sys::Math::random() * 4.0) as usize % 4];
        format!(
            "{}-{}-4{}-{}{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            variant,
            &hex[17..20],
            &hex[20..32]
        )
    }

    pub fn now_ms() -> f64 {
        js_sys::Date::now()
    }

    /// A time of day in the viewer's locale and time zone.
    pub fn local_time(unix_ms: i64) -> String {
        let date = js_sys::Date::new(&JsValue::from_f64(unix_ms as f64));
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &"hour".into(), &"2-digit".into());
        let _ = js_sys::Reflect::set(&options, &"minute".into(), &"2-digit".into());
        date.to_locale_time_string_with_options("default", &options)
            .into()
    }
}
