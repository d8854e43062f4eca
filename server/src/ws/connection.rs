//! One socket's life, in one task: it reads what the browser sends and writes everything
//! sent, so replays, live events and gap fills reach the client in `seq` order. (One task,
//! not a reader and a writer: a socket split in two pays a lock on every write and a second
//! task and channel per connection, which is most of what ten thousand idle sockets cost.)
//!
//! This module does the I/O and asks [`super::subscriptions`] what to write: which frames
//! from the hub a replay already sent, which rooms are followed, who may type. Every write
//! of a served socket goes through [`within`], one timeout per write or batch (the one
//! close sent to a socket refused at the door does not need it), and a failed write ends the
//! socket through `?` ([`Gone`]); a decision to close is a [`Flow`] with its close
//! [`Reason`]. It does not decide access (the rooms service does) nor fan-out (the hub does).

use std::time::Duration;

use app::backend::Backend;
use app::backend::auth::CurrentUser;
use app::backend::hub::{ConnectError, Encoded, Outbound, SubscribeError, Subscription};
use app::backend::messages::Replay;
use app::backend::store::RoomEvent;
use app::error::ApiError;
use app::model::RoomId;
use app::protocol::close::Reason;
use app::protocol::{
    ClientFrame, PROTOCOL_VERSION, Person, ProtocolError, ServerFrame, UnsubscribeReason,
};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use super::frame_budget::SharedBudget;
use super::subscriptions::Subscriptions;

/// Most frames written before one flush: batching writes saves a syscall per frame under
/// load without delaying a lone frame.
const WRITE_BATCH: usize = 64;

/// What the loop does after handling one thing.
enum Flow {
    Continue,
    /// End the socket with a close frame.
    Close(Reason),
}

/// Nothing more can be written to the socket: the peer closed it, or a write failed or
/// stalled past the write timeout. The socket ends without a close frame.
#[derive(Debug, thiserror::Error)]
#[error("the socket is closed, broken or stalled")]
struct Gone;

/// What the browser sent, as the connection handles it.
enum Inbound {
    Frame(ClientFrame),
    Malformed(String),
    /// Any sign of life (a pong, a ping, a frame).
    Alive,
    TooBig,
}

pub async fn run(
    mut socket: WebSocket,
    backend: Backend,
    user: CurrentUser,
    budget: SharedBudget,
    shutdown: watch::Receiver<bool>,
) {
    let person = Person {
        id: user.user.id,
        username: user.user.username.clone(),
        display_name: user.user.display_name.clone(),
    };
    let subscription = match backend.hub().connect(person, *user.session()) {
        Ok(subscription) => subscription,
        Err(ConnectError::TooManyConnections { limit }) => {
            tracing::info!(user = %user.user.id, limit, "refused a socket: too many connections");
            let _ = socket
                .send(close_message(Reason::TOO_MANY_CONNECTIONS))
                .await;
            return;
        }
    };
    let id = subscription.id;
    let mut connection = Connection {
        socket,
        write_timeout: Duration::from_millis(backend.realtime().write_timeout_ms),
        backend: backend.clone(),
        user,
        hub: subscription,
        subscriptions: Subscriptions::default(),
        malformed: 0,
        budget,
    };
    let ending = connection.serve(shutdown).await;
    backend.hub().disconnect(id);
    if let Ok(reason) = ending {
        connection.close(reason).await;
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

/// One open socket: the socket itself, its end of the hub, and its subscriptions.
struct Connection {
    socket: WebSocket,
    /// How long one write may stall before the socket counts as broken.
    write_timeout: Duration,
    backend: Backend,
    user: CurrentUser,
    /// The hub's queue for this socket and its signal to close.
    hub: Subscription,
    subscriptions: Subscriptions,
    malformed: u32,
    /// Frames this user's sockets may still send (see [`FrameBudgets`]).
    budget: SharedBudget,
}

impl Connection {
    /// Runs until the socket should end: `Ok` with how to close it, or `Gone` if it already is.
    async fn serve(&mut self, mut shutdown: watch::Receiver<bool>) -> Result<Reason, Gone> {
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
        self.send(&hello).await?;
        if *shutdown.borrow() {
            return Ok(Reason::RESTARTING);
        }
        loop {
            let flow = tokio::select! {
                // A kick wins over everything else queued: a connection cut off as too slow
                // must get its 4001 (and resume), not more of the backlog.
                biased;
                changed = self.hub.kicked.changed() => {
                    let kick = *self.hub.kicked.borrow();
                    // No reason but a closed signal: the hub itself is gone, at shutdown.
                    Flow::Close(match (changed, kick) {
                        (Ok(()), Some(reason)) => reason,
                        _ => Reason::RESTARTING,
                    })
                }
                _ = shutdown.changed() => Flow::Close(Reason::RESTARTING),
                // Reading is cancel-safe: a frame half read stays in tungstenite's buffer.
                received = self.socket.recv() => {
                    last_heard = Instant::now();
                    self.receive(received, config.malformed_frame_limit).await?
                }
                outbound = self.hub.outbound.recv() => {
                    // The queue closes only when the hub forgets this socket, which it
                    // does after kicking it (the arm above); nothing is left to say.
                    self.deliver(outbound.ok_or(Gone)?).await?;
                    Flow::Continue
                }
                _ = ticker.tick() => {
                    // Two intervals without a pong (or anything else): the peer is gone, or
                    // a proxy is swallowing frames.
                    if last_heard.elapsed() > heartbeat * 2 {
                        tracing::info!(user = %self.user.user.id, "socket missed two heartbeats");
                        Flow::Close(Reason::HEARTBEAT_TIMEOUT)
                    } else if !session_is_live(&self.backend, &self.user).await {
                        tracing::info!(user = %self.user.user.id, "socket's session ended");
                        Flow::Close(Reason::SESSION_EXPIRED)
                    } else {
                        self.write(Message::Ping(Default::default())).await?;
                        Flow::Continue
                    }
                }
            };
            if let Flow::Close(reason) = flow {
                return Ok(reason);
            }
        }
    }

    /// Handles what the browser sent.
    async fn receive(
        &mut self,
        received: Option<Result<Message, axum::Error>>,
        malformed_limit: u32,
    ) -> Result<Flow, Gone> {
        let inbound = inbound(received).ok_or(Gone)?;
        // Pings count too: each makes the socket library queue a pong.
        if matches!(
            inbound,
            Inbound::Frame(_) | Inbound::Malformed(_) | Inbound::Alive
        ) && !take_frame(&self.budget)
        {
            tracing::info!(user = %self.user.user.id, "closed a socket sending too many frames");
            return Ok(Flow::Close(Reason::TOO_MANY_FRAMES));
        }
        match inbound {
            Inbound::Alive => Ok(Flow::Continue),
            Inbound::TooBig => Ok(Flow::Close(Reason::FRAME_TOO_LARGE)),
            Inbound::Malformed(detail) => {
                self.malformed += 1;
                tracing::debug!(user = %self.user.user.id, ?detail, "malformed frame");
                if self.malformed > malformed_limit {
                    return Ok(Flow::Close(Reason::TOO_MANY_MALFORMED_FRAMES));
                }
                let error = ServerFrame::Error {
                    error: ProtocolError::Malformed { detail },
                };
                self.send(&error).await?;
                Ok(Flow::Continue)
            }
            Inbound::Frame(frame) => self.handle(frame).await,
        }
    }

    async fn handle(&mut self, frame: ClientFrame) -> Result<Flow, Gone> {
        match frame {
            ClientFrame::Subscribe {
                room,
                after_seq,
                quiet,
            } => return self.subscribe(room, after_seq, quiet).await,
            ClientFrame::Unsubscribe { room } => {
                self.backend.hub().unsubscribe(self.hub.id, room);
                self.subscriptions.end(room);
            }
            ClientFrame::Typing { room } => {
                if self.subscriptions.may_type(room) {
                    self.backend.hub().typing(self.hub.id, room);
                }
            }
            ClientFrame::Fetch {
                room,
                after_seq,
                until_seq,
            } => self.fetch(room, after_seq, until_seq).await?,
        }
        Ok(Flow::Continue)
    }

    /// Subscribes to `room`: follows it in the hub, checks access once, makes the person
    /// present (unless quiet), replays what the client missed, and confirms with
    /// `Subscribed` and (unless quiet) who is online.
    ///
    /// Access is read after the hub holds the registration: a removal commits before it
    /// revokes what the hub holds, so one that commits after the read finds the
    /// registration and its notice reaches this socket's queue, and one that commits before
    /// is seen by the read. Following announces nothing; only `set_present`, after the
    /// read, tells the room someone joined, and it fails if a removal revoked the
    /// registration in between. (What this does not close: a post committed between a
    /// removal's commit and its revocation still reaches the removed socket, as it did
    /// before this check was reordered; the security issue owns that window.)
    async fn subscribe(
        &mut self,
        room: RoomId,
        after_seq: Option<u64>,
        quiet: bool,
    ) -> Result<Flow, Gone> {
        let id = self.hub.id;
        match self.backend.hub().follow(id, room) {
            Ok(_) => {}
            Err(SubscribeError::TooManySubscriptions { .. }) => {
                // A room the user cannot see is answered as unknown, at the limit or not,
                // so the limit says nothing about which rooms exist.
                return match self.backend.rooms().visible(&self.user, room).await {
                    Ok(_) => Ok(Flow::Close(Reason::TOO_MANY_SUBSCRIPTIONS)),
                    Err(error) => self.refuse(room, error).await,
                };
            }
            Err(SubscribeError::Gone | SubscribeError::Revoked) => return self.let_go(),
        }
        let record = match self.backend.rooms().visible(&self.user, room).await {
            Ok(record) => record,
            Err(error) => return self.refuse(room, error).await,
        };
        match self.backend.hub().set_present(id, room, !quiet) {
            Ok(()) => {}
            // Access ended since the check, and the hub has queued the notice saying so
            // (or cut this socket off, if its queue was full).
            Err(SubscribeError::Revoked) => {
                self.subscriptions.end(room);
                return Ok(Flow::Continue);
            }
            Err(SubscribeError::TooManySubscriptions { .. } | SubscribeError::Gone) => {
                return self.let_go();
            }
        }
        if !quiet {
            // With other instances, who they have in the room, before the list is sent
            // below; read after `set_present`, so the room is kept while the read runs.
            self.backend.see_presence_elsewhere(room).await;
        }
        // With other instances on the store, the relay's mark for the room is read here:
        // after the hub registration above and before the replay read below, so whatever the
        // replay does not hold the relay publishes to this socket's queue (see `relay`).
        let tracked = match self.backend.relay() {
            Some(relay) => relay.track(room).await,
            None => Ok(()),
        };
        let replay = match tracked {
            Ok(()) => self.backend.messages().replay(room, after_seq).await,
            Err(error) => Err(error),
        };
        let replay = match replay {
            Ok(replay) => replay,
            Err(error) => {
                tracing::error!(?error, "subscribe: the store failed");
                self.backend.hub().unsubscribe(id, room);
                self.subscriptions.end(room);
                let frame = ServerFrame::Error {
                    error: ProtocolError::Unavailable { room },
                };
                self.send(&frame).await?;
                return Ok(Flow::Continue);
            }
        };
        let last_seq = self
            .subscriptions
            .start(room, record.viewer_is_member, after_seq, &replay);
        match replay {
            Replay::Events { events, .. } => self.send_events(events).await?,
            Replay::TooFar { last_seq: newest } => {
                let refetch = ServerFrame::Refetch {
                    room,
                    last_seq: newest,
                };
                self.send(&refetch).await?;
            }
        }
        self.send(&ServerFrame::Subscribed { room, last_seq })
            .await?;
        if !quiet {
            // Who is online now; `Joined` and `Left` keep the list current from here.
            let online = self.backend.hub().online(room);
            self.send(&ServerFrame::Presence { room, online }).await?;
        }
        Ok(Flow::Continue)
    }

    /// The hub no longer serves this socket: it was kicked (signed out, too slow) while a
    /// subscription was under way. It closes with the kick's reason, so the browser knows
    /// whether to resume or stop, rather than seeing a broken connection.
    fn let_go(&self) -> Result<Flow, Gone> {
        match *self.hub.kicked.borrow() {
            Some(reason) => Ok(Flow::Close(reason)),
            None => Err(Gone),
        }
    }

    /// Answers a subscription the access check turned down, and stops following the room
    /// if this socket did: a room the user cannot see (or that does not exist) as
    /// `not_found`, a store that could not answer as `unavailable` (the client retries; it
    /// must not conclude the room is gone).
    async fn refuse(&mut self, room: RoomId, why: ApiError) -> Result<Flow, Gone> {
        self.backend.hub().unsubscribe(self.hub.id, room);
        self.subscriptions.end(room);
        self.send(&refusal(room, why)).await?;
        Ok(Flow::Continue)
    }

    /// Sends the events of a subscribed room in `after_seq < seq < until_seq`, after
    /// checking read access again: a subscription made while the room was public, by
    /// someone who is not a member, must not read on once it is private, even if the
    /// notice ending it was lost.
    async fn fetch(&mut self, room: RoomId, after_seq: u64, until_seq: u64) -> Result<(), Gone> {
        if !self.subscriptions.contains(room) {
            return self.send(&not_found(room)).await;
        }
        match self.backend.rooms().visible(&self.user, room).await {
            Ok(_) => {}
            Err(ApiError::NotFound) => {
                self.backend.hub().unsubscribe(self.hub.id, room);
                self.subscriptions.end(room);
                let ended = ServerFrame::Unsubscribed {
                    room,
                    reason: UnsubscribeReason::AccessEnded,
                };
                return self.send(&ended).await;
            }
            Err(error) => return self.send(&refusal(room, error)).await,
        }
        let range = self
            .backend
            .messages()
            .range(room, after_seq, until_seq)
            .await;
        let error = match range {
            Ok(Some(events)) => {
                self.subscriptions.fetched(&events);
                return self.send_events(events).await;
            }
            Ok(None) => ProtocolError::RangeTooLarge {
                limit: self.backend.messages().replay_limit(),
            },
            Err(error) => {
                tracing::error!(?error, "fetch: the store failed");
                ProtocolError::Unavailable { room }
            }
        };
        self.send(&ServerFrame::Error { error }).await
    }

    /// Sends replayed or fetched events (already counted as sent), then flushes once.
    async fn send_events(&mut self, events: Vec<RoomEvent>) -> Result<(), Gone> {
        for event in events {
            let frame = Message::Text(Utf8Bytes::from(ServerFrame::from(event).to_json()));
            within(self.write_timeout, self.socket.feed(frame)).await?;
        }
        within(self.write_timeout, self.socket.flush()).await
    }

    /// Writes `first` and whatever else is already queued (up to a batch), then flushes once,
    /// all under one write timeout (a timer per frame cost more than the frame at high
    /// fan-out).
    async fn deliver(&mut self, first: Outbound) -> Result<(), Gone> {
        let Self {
            socket,
            hub,
            subscriptions,
            write_timeout,
            ..
        } = self;
        let write = async {
            let mut next = Some(first);
            let mut written = 0;
            while let Some(outbound) = next.take() {
                if let Some(json) = subscriptions.admit(outbound) {
                    socket.feed(text(json)).await?;
                    written += 1;
                }
                if written < WRITE_BATCH {
                    next = hub.outbound.try_recv().ok();
                }
            }
            socket.flush().await
        };
        within(*write_timeout, write).await
    }

    async fn send(&mut self, frame: &ServerFrame) -> Result<(), Gone> {
        self.write(Message::Text(Utf8Bytes::from(frame.to_json())))
            .await
    }

    async fn write(&mut self, message: Message) -> Result<(), Gone> {
        within(self.write_timeout, self.socket.send(message)).await
    }

    async fn close(&mut self, reason: Reason) {
        // The socket ends either way; a close frame that cannot be written changes nothing.
        if self.write(close_message(reason)).await.is_err() {
            return;
        }
        // The closing handshake: read (and drop) what the peer still sends until its own
        // close, for a moment. Dropping the connection with its frames unread would make
        // the kernel answer with a reset, and a reset discards our close frame on the way,
        // so the peer would never learn why (a flooder its 1008, a slow reader its 4001).
        let drain = async {
            while let Some(Ok(message)) = self.socket.recv().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(CLOSE_DRAIN, drain).await;
    }
}

/// How long a closing socket waits for the peer's close before it drops the connection.
const CLOSE_DRAIN: Duration = Duration::from_secs(1);

/// Whether the session this socket was opened with still holds, re-read from the store
/// at every heartbeat: a session that expired, outlived its absolute lifetime, or was
/// ended where no revocation reached this instance closes its sockets within one
/// interval. The cost is one primary-key read per socket per heartbeat: 10,000 sockets
/// at the default 20 s make 500 reads a second, spread over the interval (each socket's
/// ticker starts when it opens). A read by primary key is a fraction of a post's work, and
/// the same two cores commit about 1,500 durable posts a second on PostgreSQL
/// (bench/RESULTS.md), so this is a few percent of what the store does. A batch per
/// instance would save round trips, not index work, and would need a registry of sessions
/// beside the hub's; worth it only if the bench ever shows these reads.
///
/// A store that cannot answer keeps the socket open: closing every socket because the
/// database blinked would sign everyone out of their tabs, and the next tick asks again.
async fn session_is_live(backend: &Backend, user: &CurrentUser) -> bool {
    match backend.accounts().session_is_live(user).await {
        Ok(live) => live,
        Err(error) => {
            tracing::warn!(%error, user = %user.user.id, "socket: cannot re-check the session");
            true
        }
    }
}

/// Runs a write under the write timeout: `Gone` if the socket failed or stalled.
async fn within(
    limit: Duration,
    write: impl Future<Output = Result<(), axum::Error>>,
) -> Result<(), Gone> {
    match tokio::time::timeout(limit, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) | Err(_) => Err(Gone),
    }
}

/// A frame from the hub as a text message, sharing the hub's bytes (moved, not copied).
///
/// The hub makes an `Encoded` only from a `ServerFrame`'s JSON `String`, so the bytes are
/// UTF-8 and the check cannot fail. It is not free: axum has no unchecked conversion, so
/// each subscriber's copy is scanned once (`str::from_utf8`, measured optimised: ~20 ns for
/// a 300-byte ASCII frame, ~200 ns for a message of 60 Korean characters, ~1.2 µs for 500),
/// against ~4 µs for a whole delivery. Scanning once per frame instead would need the hub
/// to hold the socket library's type, which it deliberately does not.
fn text(json: Encoded) -> Message {
    let text = Utf8Bytes::try_from(json.into_bytes())
        .expect("the hub encodes frames from JSON strings, which are UTF-8");
    Message::Text(text)
}

/// What a socket is told when an access check fails: unavailable if the store could not
/// answer, not found for anything else (a missing room and a hidden one look the same).
fn refusal(room: RoomId, why: ApiError) -> ServerFrame {
    match why {
        ApiError::Unavailable | ApiError::Internal => ServerFrame::Error {
            error: ProtocolError::Unavailable { room },
        },
        _ => not_found(room),
    }
}

fn not_found(room: RoomId) -> ServerFrame {
    ServerFrame::Error {
        error: ProtocolError::NotFound { room },
    }
}

fn close_message(reason: Reason) -> Message {
    Message::Close(Some(CloseFrame {
        code: reason.code,
        reason: Utf8Bytes::from_static(reason.text),
    }))
}

/// Spends one of the user's frame tokens; false when their sockets have none left.
fn take_frame(budget: &SharedBudget) -> bool {
    // Poisoned only by a panic inside `take`, which leaves nothing half updated that matters.
    budget
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take(Instant::now())
}
