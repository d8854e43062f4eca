//! One socket's life, in one task: it reads what the browser sends and writes everything
//! sent, so replays, live events and gap fills reach the client in `seq` order. (One task,
//! not a reader and a writer: a socket split in two pays a lock on every write and a second
//! task and channel per connection, which is most of what ten thousand idle sockets cost.)
//!
//! The writer keeps, per subscribed room, the last `seq` it sent. Subscribing registers with
//! the hub first and reads the database second, so an event committed in between arrives
//! twice and the second copy is dropped here: nothing is missed and nothing is doubled.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use app::backend::Backend;
use app::backend::auth::CurrentUser;
use app::backend::hub::{ConnectError, Kick, Outbound, SubscribeError, Subscription};
use app::backend::messages::Replay;
use app::backend::store::RoomEvent;
use app::model::RoomId;
use app::protocol::{ClientFrame, PROTOCOL_VERSION, Person, ProtocolError, ServerFrame, close};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

/// Most frames written before one flush: batching writes saves a syscall per frame under
/// load without delaying a lone frame.
const WRITE_BATCH: usize = 64;

/// What the browser sent, as the writer handles it.
enum Inbound {
    Frame(ClientFrame),
    Malformed(String),
    /// Any sign of life (a pong, a ping, a frame).
    Alive,
    TooBig,
}

/// How the socket ends.
struct Ending {
    code: u16,
    reason: &'static str,
}

pub async fn run(
    mut socket: WebSocket,
    backend: Backend,
    user: CurrentUser,
    shutdown: watch::Receiver<bool>,
) {
    let person = Person {
        id: user.user.id,
        display_name: user.user.display_name.clone(),
    };
    let subscription = match backend.hub().connect(person) {
        Ok(subscription) => subscription,
        Err(ConnectError::TooManyConnections { limit }) => {
            tracing::info!(user = %user.user.id, limit, "refused a socket: too many connections");
            let _ = socket
                .send(close_message(close::POLICY, "too many connections"))
                .await;
            return;
        }
    };
    let id = subscription.id;
    let mut writer = Writer {
        socket,
        backend: backend.clone(),
        user,
        sent: HashMap::new(),
        members: HashSet::new(),
        malformed: 0,
        write_timeout: Duration::from_millis(backend.realtime().write_timeout_ms),
    };
    let ending = writer.run(subscription, shutdown).await;
    backend.hub().disconnect(id);
    if let Some(ending) = ending {
        writer.close(ending).await;
    }
}

/// Parses what the browser sent; `None` when the socket is closed or broken.
fn inbound(received: Option<Result<Message, axum::Error>>) -> Option<Inbound> {
    match received? {
        Ok(Message::Text(text)) => Some(match serde_json::from_str::<ClientFrame>(&text) {
            Ok(frame) => Inbound::Frame(frame),
            Err(error) => Inbound::Malformed(error.to_string()),
        }),
        Ok(Message::Binary(_)) => {
            Some(Inbound::Malformed("binary frames are not supported".into()))
        }
        Ok(Message::Ping(_) | Message::Pong(_)) => Some(Inbound::Alive),
        Ok(Message::Close(_)) => None,
        // tungstenite refuses oversized frames with a capacity error; anything else is a
        // broken connection.
        Err(error) => is_capacity_error(&error).then_some(Inbound::TooBig),
    }
}

fn is_capacity_error(error: &axum::Error) -> bool {
    let text = error.to_string();
    text.contains("Space limit exceeded") || text.contains("too long") || text.contains("Capacity")
}

struct Writer {
    socket: WebSocket,
    backend: Backend,
    user: CurrentUser,
    /// Subscribed rooms and the last `seq` sent for each.
    sent: HashMap<RoomId, u64>,
    /// The subscribed rooms the user was a member of when subscribing.
    members: HashSet<RoomId>,
    malformed: u32,
    /// How long one write may stall before the socket counts as broken.
    write_timeout: Duration,
}

impl Writer {
    /// Runs until the socket should end; returns how to close it (None: already gone).
    async fn run(
        &mut self,
        mut subscription: Subscription,
        mut shutdown: watch::Receiver<bool>,
    ) -> Option<Ending> {
        let config = self.backend.realtime().clone();
        let heartbeat = Duration::from_millis(config.heartbeat_ms.max(1));
        let mut ticker = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();

        let hello = ServerFrame::Hello {
            protocol: PROTOCOL_VERSION,
            user: self.user.user.id,
            heartbeat_ms: config.heartbeat_ms,
        };
        if !self.send(&hello).await {
            return None;
        }
        if *shutdown.borrow() {
            return Some(RESTART);
        }
        loop {
            tokio::select! {
                // A kick wins over everything else queued: a connection cut off as too slow
                // must get its 4001 (and resume), not more of the backlog.
                biased;
                changed = subscription.kicked.changed() => {
                    let kick = *subscription.kicked.borrow();
                    return match (changed, kick) {
                        (Ok(()), Some(Kick { code, reason })) => Some(Ending { code, reason }),
                        _ => Some(RESTART),
                    };
                }
                _ = shutdown.changed() => return Some(RESTART),
                // Reading is cancel-safe: a frame half read stays in tungstenite's buffer.
                received = self.socket.recv() => {
                    last_heard = Instant::now();
                    match inbound(received) {
                        None => return None,
                        Some(Inbound::Alive) => {}
                        Some(Inbound::TooBig) => return Some(Ending {
                            code: close::TOO_BIG,
                            reason: "frame too large",
                        }),
                        Some(Inbound::Malformed(detail)) => {
                            self.malformed += 1;
                            tracing::debug!(user = %self.user.user.id, %detail, "malformed frame");
                            if self.malformed > config.malformed_frame_limit {
                                return Some(Ending {
                                    code: close::POLICY,
                                    reason: "too many malformed frames",
                                });
                            }
                            let error = ServerFrame::Error { error: ProtocolError::Malformed { detail } };
                            if !self.send(&error).await {
                                return None;
                            }
                        }
                        Some(Inbound::Frame(frame)) => {
                            match self.handle(&subscription, frame).await {
                                Ok(true) => {}
                                Ok(false) => return None,
                                Err(ending) => return Some(ending),
                            }
                        }
                    }
                }
                outbound = subscription.outbound.recv() => {
                    let first = outbound?;
                    if !self.deliver(first, &mut subscription).await {
                        return None;
                    }
                }
                _ = ticker.tick() => {
                    // Two intervals without a pong (or anything else): the peer is gone, or
                    // a proxy is swallowing frames.
                    if last_heard.elapsed() > heartbeat * 2 {
                        tracing::info!(user = %self.user.user.id, "socket missed two heartbeats");
                        return Some(Ending { code: 1001, reason: "heartbeat timeout" });
                    }
                    if !self.write(Message::Ping(Default::default())).await {
                        return None;
                    }
                }
            }
        }
    }

    /// Handles a client frame. `Ok(false)`: the socket broke; `Err`: close it.
    async fn handle(
        &mut self,
        subscription: &Subscription,
        frame: ClientFrame,
    ) -> Result<bool, Ending> {
        match frame {
            ClientFrame::Subscribe {
                room,
                after_seq,
                quiet,
            } => self.subscribe(subscription, room, after_seq, quiet).await,
            ClientFrame::Unsubscribe { room } => {
                self.backend.hub().unsubscribe(subscription.id, room);
                self.sent.remove(&room);
                self.members.remove(&room);
                Ok(true)
            }
            ClientFrame::Typing { room } => {
                // Readers of a public room who have not joined it cannot post, so they do
                // not type in it either.
                if self.members.contains(&room) {
                    self.backend.hub().typing(subscription.id, room);
                }
                Ok(true)
            }
            ClientFrame::Fetch {
                room,
                after_seq,
                until_seq,
            } => {
                if !self.sent.contains_key(&room) {
                    return Ok(self.send(&not_found(room)).await);
                }
                let frame = match self
                    .backend
                    .messages()
                    .range(room, after_seq, until_seq)
                    .await
                {
                    Ok(Some(events)) => return Ok(self.send_events(events).await),
                    Ok(None) => ServerFrame::Error {
                        error: ProtocolError::RangeTooLarge {
                            limit: self.backend.messages().replay_limit(),
                        },
                    },
                    Err(error) => {
                        tracing::error!(%error, "fetch: the store failed");
                        ServerFrame::Error {
                            error: ProtocolError::Unavailable,
                        }
                    }
                };
                Ok(self.send(&frame).await)
            }
        }
    }

    async fn subscribe(
        &mut self,
        subscription: &Subscription,
        room: RoomId,
        after_seq: Option<u64>,
        quiet: bool,
    ) -> Result<bool, Ending> {
        if self
            .backend
            .rooms()
            .visible(&self.user, room)
            .await
            .is_err()
        {
            return Ok(self.send(&not_found(room)).await);
        }
        match self.backend.hub().subscribe(subscription.id, room, quiet) {
            Ok(_) => {}
            Err(SubscribeError::TooManySubscriptions { .. }) => {
                return Err(Ending {
                    code: close::POLICY,
                    reason: "too many subscriptions",
                });
            }
            Err(SubscribeError::Gone) => return Ok(false),
        }
        // Access may have ended between the check and the registration (a removal revokes
        // only what the hub already holds), so check again now that revocations reach us.
        match self.backend.rooms().visible(&self.user, room).await {
            Ok(record) => {
                if record.viewer_is_member {
                    self.members.insert(room);
                } else {
                    self.members.remove(&room);
                }
            }
            Err(_) => {
                self.backend.hub().unsubscribe(subscription.id, room);
                self.sent.remove(&room);
                return Ok(self.send(&not_found(room)).await);
            }
        }
        // Registered with the hub before reading the store: see the module comment.
        let replay = self.backend.messages().replay(room, after_seq).await;
        let (events, last_seq, too_far) = match replay {
            Ok(Replay::Events { events, last_seq }) => (events, last_seq, false),
            Ok(Replay::TooFar { last_seq }) => (Vec::new(), last_seq, true),
            Err(error) => {
                tracing::error!(%error, "subscribe: the store failed");
                self.backend.hub().unsubscribe(subscription.id, room);
                let frame = ServerFrame::Error {
                    error: ProtocolError::Unavailable,
                };
                return Ok(self.send(&frame).await);
            }
        };
        // A live-only subscription counts everything up to now as sent.
        self.sent.insert(room, after_seq.unwrap_or(last_seq));
        if too_far {
            self.sent.insert(room, last_seq);
            if !self.send(&ServerFrame::Refetch { room, last_seq }).await {
                return Ok(false);
            }
        } else if !self.send_events(events).await {
            return Ok(false);
        }
        let sent = self.sent.get(&room).copied().unwrap_or(last_seq);
        let last_seq = last_seq.max(sent);
        self.sent.insert(room, last_seq);
        if !self.send(&ServerFrame::Subscribed { room, last_seq }).await {
            return Ok(false);
        }
        if quiet {
            return Ok(true);
        }
        // Who is online now; `Joined` and `Left` keep the list current from here.
        let online = self.backend.hub().online(room);
        Ok(self.send(&ServerFrame::Presence { room, online }).await)
    }

    /// Sends replayed or fetched events and records how far each room got.
    async fn send_events(&mut self, events: Vec<RoomEvent>) -> bool {
        for event in events {
            let (room, seq) = (event.message.room, event.seq);
            let frame = Message::Text(Utf8Bytes::from(ServerFrame::from(event).to_json()));
            if !within(self.write_timeout, self.socket.feed(frame)).await {
                return false;
            }
            if let Some(sent) = self.sent.get_mut(&room) {
                *sent = (*sent).max(seq);
            }
        }
        within(self.write_timeout, self.socket.flush()).await
    }

    /// Writes `first` and whatever else is already queued (up to a batch), then flushes once,
    /// all under one write timeout (a timer per frame cost more than the frame at high
    /// fan-out).
    async fn deliver(&mut self, first: Outbound, subscription: &mut Subscription) -> bool {
        let Self {
            socket,
            sent,
            members,
            ..
        } = self;
        let write = async {
            let mut next = Some(first);
            let mut written = 0;
            while let Some(outbound) = next.take() {
                if let Some(json) = admit(sent, members, outbound) {
                    socket.feed(Message::Text(json)).await?;
                    written += 1;
                }
                if written < WRITE_BATCH {
                    next = subscription.outbound.try_recv().ok();
                }
            }
            socket.flush().await
        };
        within(self.write_timeout, write).await
    }

    async fn send(&mut self, frame: &ServerFrame) -> bool {
        self.write(Message::Text(Utf8Bytes::from(frame.to_json())))
            .await
    }

    async fn write(&mut self, message: Message) -> bool {
        within(self.write_timeout, self.socket.send(message)).await
    }

    async fn close(&mut self, ending: Ending) {
        self.write(close_message(ending.code, ending.reason)).await;
    }
}

/// What of `outbound` this socket writes, keeping its per-room bookkeeping.
fn admit(
    sent: &mut HashMap<RoomId, u64>,
    members: &mut HashSet<RoomId>,
    outbound: Outbound,
) -> Option<Utf8Bytes> {
    match outbound {
        Outbound::Event { room, seq, json } => match sent.get_mut(&room) {
            // Already sent by a replay, or not subscribed (any more): skip.
            Some(sent) if seq > *sent => {
                *sent = seq;
                Some(json)
            }
            _ => None,
        },
        Outbound::Ended { room, json } => {
            sent.remove(&room);
            members.remove(&room);
            Some(json)
        }
        // Presence of a room this socket has (still) subscribed to only.
        Outbound::Ephemeral { room, json } => sent.contains_key(&room).then_some(json),
    }
}

/// Runs a write under the write timeout: false if the socket failed or stalled.
async fn within(limit: Duration, write: impl Future<Output = Result<(), axum::Error>>) -> bool {
    matches!(tokio::time::timeout(limit, write).await, Ok(Ok(())))
}

const RESTART: Ending = Ending {
    code: close::SERVICE_RESTART,
    reason: "server restarting",
};

fn not_found(room: RoomId) -> ServerFrame {
    ServerFrame::Error {
        error: ProtocolError::NotFound { room },
    }
}

fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}
