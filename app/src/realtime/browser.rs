//! The browser-only half of [`super::Realtime`]: the JavaScript glue. It runs the socket
//! loop (gloo-net) and sleeps its backoff, sends the outbox and the read markers through the
//! server functions, keeps the outbox in `localStorage` (and removes it when the user signs
//! out), and reads the clock and the random source. What to do at each step (reconnect or not and how soon, retry, park or fail a
//! post, which read marker goes next) is asked of the pure modules beside this one, which
//! are tested natively; nothing here decides.
//!
//! This is the one module of the crate that differs between the targets: on the server
//! every function here does nothing, because a server-rendered page has no socket, no
//! storage and no viewer's time zone.

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
    /// The storage key the outbox is kept under, while someone is signed in here; taken
    /// when they sign out, so nothing writes it again.
    #[cfg(feature = "hydrate")]
    outbox_key: Option<String>,
    /// The owner of the effect that keeps the outbox in storage. Held here because an
    /// owner disposes its effects when its last handle is dropped: a temporary one left
    /// the effect disposed before its first run, so nothing was ever stored.
    #[cfg(feature = "hydrate")]
    persisting: Option<leptos::prelude::Owner>,
}

#[cfg(feature = "hydrate")]
pub use live::{after_backoff, flush, forget, local_time, mark_read, new_client_id, now_ms, start};
#[cfg(feature = "hydrate")]
pub use notifications::{ask_notification_permission, notification_permission, raise, tab_hidden};

/// The server renders for no tab in the background.
#[cfg(not(feature = "hydrate"))]
pub fn tab_hidden() -> bool {
    false
}

/// The server raises no notifications.
#[cfg(not(feature = "hydrate"))]
pub fn raise(_notification: super::notify::Notification) {}

/// The server knows nothing of the browser's permission.
#[cfg(not(feature = "hydrate"))]
pub fn notification_permission() -> super::notify::Permission {
    super::notify::Permission::Unsupported
}

#[cfg(not(feature = "hydrate"))]
pub fn ask_notification_permission(_answered: impl FnOnce(super::notify::Permission) + 'static) {}

/// Runs `then` after the backoff's next wait; the server never waits, so never runs it.
#[cfg(not(feature = "hydrate"))]
pub fn after_backoff(_backoff: super::reconnect::Reconnect, _then: impl FnOnce() + 'static) {}

#[cfg(not(feature = "hydrate"))]
pub fn forget(_realtime: super::Realtime, _user: crate::model::UserId) {}

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

/// Posts are only made in the browser; the server never posts, so it needs no randomness
/// and answers the all-zero version-4 id.
#[cfg(not(feature = "hydrate"))]
pub fn new_client_id() -> crate::protocol::ClientId {
    super::outbox::new_client_id(|| 0.0)
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
    use crate::model::{RoomId, UserId};
    use crate::protocol::{ClientFrame, ClientId, ServerFrame};
    use crate::realtime::outbox::{self, AfterSend, Outbox};
    use crate::realtime::reconnect::{Disconnect, Reconnect};
    use crate::realtime::{ConnectionStatus, OutboxState, Realtime};

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
        let key = outbox_key(user);
        realtime.link.update_value(|link| {
            link.frames = Some(frames);
            link.outbox_key = Some(key.clone());
        });
        let stored = storage().and_then(|storage| storage.get_item(&key).ok().flatten());
        realtime.outbox.set(Outbox::from_stored(stored.as_deref()));
        // Keeps the outbox in storage from now on, until the user signs out here. Created
        // here, once per page, after the stored outbox was loaded, so it never overwrites it
        // with an empty one.
        let persisting = Owner::new();
        persisting.with(|| {
            Effect::new(move |_| {
                let json = realtime.outbox.with(Outbox::to_stored);
                let Some(key) = realtime.link.with_value(|link| link.outbox_key.clone()) else {
                    return;
                };
                if let Some(storage) = storage()
                    && storage.set_item(&key, &json).is_err()
                {
                    leptos::logging::warn!("the outbox could not be saved");
                }
            });
        });
        realtime
            .link
            .update_value(|link| link.persisting = Some(persisting));
        let open = realtime.link.with_value(|link| link.open.clone());
        let _online = window_event_listener(leptos::ev::online, move |_| {
            let socket_open = open.load(Ordering::SeqCst);
            if let Some(status) = realtime.status.get_untracked().back_online(socket_open) {
                realtime.status.set(status);
            }
            realtime.flush();
        });
        let _offline = window_event_listener(leptos::ev::offline, move |_| {
            realtime.status.set(ConnectionStatus::Offline);
        });
        // Back from the background: what arrived in the open room meanwhile is seen now.
        let _visible =
            leptos::prelude::window_event_listener_untyped("visibilitychange", move |_| {
                if !super::tab_hidden() {
                    realtime.seen_open_room();
                }
            });
        spawn_local(run(realtime, commands));
    }

    fn storage() -> Option<web_sys::Storage> {
        window().local_storage().ok().flatten()
    }

    /// Where `user`'s outbox is kept. Every key this crate stores for a user ends in
    /// `.{user}` (see [`forget`]).
    fn outbox_key(user: UserId) -> String {
        format!("sori.outbox.{user}")
    }

    /// `user` signed out in this tab: the socket loop ends, the outbox is no longer kept,
    /// and whatever Sori stored for them in this browser (`localStorage` and
    /// `sessionStorage` keys `sori.*.{user}`) is removed, so the next person at this
    /// computer finds nothing of theirs. Their unsent posts are dropped with it: they
    /// chose to leave.
    pub fn forget(realtime: Realtime, user: UserId) {
        realtime.link.update_value(|link| {
            link.outbox_key = None;
            link.persisting = None;
            // Dropping the sender ends the loop (`Disconnect::SessionEnded`).
            link.frames = None;
        });
        let suffix = format!(".{user}");
        let stores = [
            window().local_storage().ok().flatten(),
            window().session_storage().ok().flatten(),
        ];
        for store in stores.into_iter().flatten() {
            let length = store.length().unwrap_or(0);
            let keys: Vec<String> = (0..length)
                .filter_map(|index| store.key(index).ok().flatten())
                .filter(|key| key.starts_with("sori.") && key.ends_with(&suffix))
                .collect();
            for key in keys {
                if store.remove_item(&key).is_err() {
                    leptos::logging::warn!("{key} could not be removed from storage");
                }
            }
        }
    }

    fn online() -> bool {
        window().navigator().on_line()
    }

    async fn run(realtime: Realtime, mut commands: UnboundedReceiver<ClientFrame>) {
        let open = realtime.link.with_value(|link| link.open.clone());
        let mut reconnect = Reconnect::default();
        loop {
            realtime
                .status
                .set(ConnectionStatus::opening(online(), reconnect.attempt()));
            let disconnect = serve(realtime, &mut commands).await;
            open.store(false, Ordering::SeqCst);
            if !reconnect.after(disconnect) {
                realtime.status.set(ConnectionStatus::SignedOut);
                return;
            }
            realtime.status.set(ConnectionStatus::waiting(online()));
            gloo_timers::future::sleep(reconnect.delay(js_sys::Math::random())).await;
        }
    }

    /// Runs `then` after the backoff's next wait (randomised like a reconnect's).
    pub fn after_backoff(backoff: Reconnect, then: impl FnOnce() + 'static) {
        let wait = backoff.delay(js_sys::Math::random());
        spawn_local(async move {
            gloo_timers::future::sleep(wait).await;
            then();
        });
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
    async fn serve(
        realtime: Realtime,
        commands: &mut UnboundedReceiver<ClientFrame>,
    ) -> Disconnect {
        let Ok(socket) = WebSocket::open(&socket_url()) else {
            return Disconnect::Dropped {
                was_connected: false,
            };
        };
        let (mut write, mut read) = socket.split();
        let mut connected = false;
        let dropped = |was_connected| Disconnect::Dropped { was_connected };
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
                        // Every room is subscribed again now: retries still waiting are moot.
                        realtime.forget_retries();
                        for subscribe in realtime.resubscriptions() {
                            if send(&mut write, &subscribe).await.is_err() {
                                return dropped(true);
                            }
                        }
                        realtime.flush();
                    } else {
                        realtime.handle(frame);
                    }
                }
                Either::Left((Some(Ok(Message::Bytes(_))), _)) => {}
                Either::Left((Some(Err(WebSocketError::ConnectionClose(event))), _)) => {
                    return Disconnect::from_close_code(event.code, connected);
                }
                Either::Left((Some(Err(_)) | None, _)) => return dropped(connected),
                Either::Right((Some(frame), _)) => {
                    // Before the hello, nothing is subscribed yet; the hello subscribes every
                    // followed room from where its feed stands, which covers this frame.
                    if connected && send(&mut write, &frame).await.is_err() {
                        return dropped(true);
                    }
                }
                Either::Right((None, _)) => return Disconnect::SessionEnded,
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
            while let Some(entry) = realtime
                .outbox
                .with_untracked(|outbox| outbox.next_queued().cloned())
            {
                realtime
                    .outbox
                    .update(|outbox| outbox.set_state(&entry.client_id, OutboxState::Sending));
                let sent = send_message(
                    entry.room,
                    entry.client_id.as_str().to_owned(),
                    entry.body.clone(),
                    entry.reply_to,
                )
                .await;
                let after = AfterSend::decide(sent);
                realtime.settle(&entry, &after);
                match after {
                    AfterSend::RetryAfter(wait) => gloo_timers::future::sleep(wait).await,
                    AfterSend::Park => break,
                    AfterSend::Delivered(_) | AfterSend::Fail(_) => {}
                }
            }
            flushing.store(false, Ordering::SeqCst);
        });
    }

    /// Sends the read marker of `room` (see [`crate::realtime::ReadMarkers`] for which and
    /// when).
    pub fn mark_read(realtime: Realtime, room: RoomId, seq: u64) {
        let Some(Some(first)) = realtime.read.try_update_value(|read| read.want(room, seq)) else {
            return;
        };
        spawn_local(async move {
            let mut next = Some(first);
            while let Some(seq) = next {
                let accepted = crate::api::messages::mark_read(room, seq).await.is_ok();
                next = realtime
                    .read
                    .try_update_value(|read| read.finished(room, seq, accepted))
                    .flatten();
            }
        });
    }

    /// A random version-4 UUID for a new post.
    pub fn new_client_id() -> ClientId {
        outbox::new_client_id(js_sys::Math::random)
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

/// The Notification API: raising one for a hidden tab, and the permission behind it.
#[cfg(feature = "hydrate")]
mod notifications {
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{NotificationOptions, NotificationPermission, VisibilityState};

    use crate::realtime::notify::{Notification, Permission, room_of_tag};

    /// Whether this browser has the API at all (some embedded browsers do not; calling it
    /// there would throw).
    fn supported() -> bool {
        js_sys::Reflect::has(&window(), &"Notification".into()).unwrap_or(false)
    }

    pub fn notification_permission() -> Permission {
        if !supported() {
            return Permission::Unsupported;
        }
        match web_sys::Notification::permission() {
            NotificationPermission::Granted => Permission::Granted,
            NotificationPermission::Denied => Permission::Denied,
            _ => Permission::Ask,
        }
    }

    /// Asks the browser (call it from a click: browsers ignore or penalise asking on load).
    pub fn ask_notification_permission(answered: impl FnOnce(Permission) + 'static) {
        if !supported() {
            return answered(Permission::Unsupported);
        }
        let Ok(asked) = web_sys::Notification::request_permission() else {
            return answered(notification_permission());
        };
        leptos::task::spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(asked).await;
            answered(notification_permission());
        });
    }

    /// Whether the tab is in the background (another tab, a minimised window).
    pub fn tab_hidden() -> bool {
        document().visibility_state() == VisibilityState::Hidden
    }

    thread_local! {
        /// The one click handler of every notification: it finds the room in the
        /// notification's tag. (A closure per notification would stay allocated for each
        /// one never clicked, which is most of them.)
        static OPEN_ROOM: Closure<dyn Fn(web_sys::Event)> = Closure::new(|event: web_sys::Event| {
            let Some(shown) = event
                .target()
                .and_then(|target| target.dyn_into::<web_sys::Notification>().ok())
            else {
                return;
            };
            shown.close();
            if let Some(room) = shown.tag().as_deref().and_then(room_of_tag) {
                let _ = window().focus();
                let _ = window().location().set_href(&format!("/rooms/{room}"));
            }
        });
    }

    /// Shows `notification` if the tab is hidden and notifications are allowed; clicking it
    /// brings the tab forward at the room.
    pub fn raise(notification: Notification) {
        if !tab_hidden() || notification_permission() != Permission::Granted {
            return;
        }
        let options = NotificationOptions::new();
        options.set_body(&notification.body);
        options.set_tag(&notification.tag);
        let Ok(shown) = web_sys::Notification::new_with_options(&notification.title, &options)
        else {
            return;
        };
        OPEN_ROOM.with(|open| shown.set_onclick(Some(open.as_ref().unchecked_ref())));
    }
}
