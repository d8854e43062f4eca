//! The bus between instances on PostgreSQL: hints after commit, revocations, presence and
//! typing, the listener, catch-up.
//!
//! Instances tell each other "room R has changed up to seq S" (a [`Hint`]); each one reads
//! the events from the database itself, through its [`Relay`]. They also tell each other
//! that access has ended (a [`Revocation`]), which each applies to its own hub, that
//! presence in some rooms changed (each reads it again through its [`Roster`]), and who is
//! typing (ephemeral, shown and forgotten). Every notification is one JSON `Envelope`: the
//! sender's id and a `Message` tagged by `kind`, so later kinds can be added and an older
//! receiver ignores the kinds it does not know. [`Bus::start`] runs these tasks for the
//! instance's lifetime:
//!
//! - the sender batches this instance's hints for [`HINT_BATCH`], keeps the highest `seq`
//!   per room, and sends one `pg_notify` per batch on a connection of its own, never inside
//!   a message's transaction (a NOTIFY in it would serialise every commit behind
//!   PostgreSQL's global notification lock). A payload carries the sender's id and at most
//!   [`ROOMS_PER_PAYLOAD`] rooms, far below PostgreSQL's 8,000-byte limit;
//! - the revocation sender sends each revocation in a NOTIFY of its own as soon as it is
//!   offered, on the same connection. It is not batched: revocations are rare (a person
//!   leaving, a sign-out), and "at once" matters more than one NOTIFY fewer. A failed send
//!   is retried a few times ([`REVOCATION_ATTEMPTS`]) since no catch-up covers it;
//! - the presence sender batches what this instance's hub shares ([`Shared`]) for
//!   [`HINT_BATCH`], writes who is here to the roster's rows, then notifies the rooms that
//!   changed and passes typing on. On every [`roster::HEARTBEAT`] it moves this instance's
//!   expiry forward, writes its presence whole when rows may be missing, and reads every
//!   room it has people in again, so a lost notification or a dead instance is noticed
//!   within one beat;
//! - the listener keeps one dedicated connection (`SORI_LISTEN_DATABASE_URL`, else
//!   `DATABASE_URL`), hands others' hints to the relay, applies others' revocations and
//!   typing to the hub, and has the roster read the rooms whose presence changed; its own
//!   notifications it ignores (this instance acted before sending). After the connection
//!   is lost and comes back it runs a full catch-up of events and presence, since
//!   notifications sent meanwhile are gone (revocations among them: see
//!   [`super::revocation`] on what bounds those);
//! - the catch-up asks the database, in one query, for the newest `seq` of every room with
//!   local subscribers every `SORI_CATCH_UP_MS`, so a lost hint delays delivery by at most
//!   that interval and never loses it.
//!
//! Before any of that, [`Bus::start`] checks that notifications work at all: it notifies
//! itself and waits up to [`SELF_TEST`]; through a pooler in transaction mode they never
//! arrive, and the instance refuses to start rather than run deaf. It never carries message
//! content.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::hub::Hub;
use super::instance_id::InstanceId;
use super::presence::{ShareQueue, Shared};
use super::relay::{Hint, Relay};
use super::revocation::{Revocation, Revocations};
use super::roster::{self, Roster};
use crate::model::RoomId;
use crate::protocol::Person;

/// The channel every instance of a deployment listens on.
const CHANNEL: &str = "sori_hints";

/// How the bus's connections appear in `pg_stat_activity`, for operators (and tests).
pub const LISTENER_NAME: &str = "sori-listener";
const SENDER_NAME: &str = "sori-hints";
const PRESENCE_NAME: &str = "sori-presence";

/// How long the sender gathers hints before notifying: a burst of posts costs one NOTIFY.
pub const HINT_BATCH: Duration = Duration::from_millis(5);

/// Rooms per notification. Each entry is at most 41 bytes of JSON (two 20-digit numbers,
/// brackets, a comma), so a payload stays under 3,000 bytes, far below the 8,000 limit.
pub const ROOMS_PER_PAYLOAD: usize = 64;

/// How often a revocation's NOTIFY is tried before it is given up (logged), with
/// `REVOCATION_RETRY` times the attempt's number between tries.
pub const REVOCATION_ATTEMPTS: u32 = 3;
const REVOCATION_RETRY: Duration = Duration::from_millis(200);

/// How long the start-up self-test waits for its own notification.
pub const SELF_TEST: Duration = Duration::from_secs(5);

/// Hints waiting to be sent; beyond this, new ones are dropped (catch-up covers them).
pub const HINT_QUEUE: usize = 4096;

/// Presence changes and typing signals waiting to be shared; beyond this, the presence is
/// written whole at the next heartbeat instead.
pub const SHARE_QUEUE: usize = 4096;

/// Typing signals per notification. A display name is at most a few hundred bytes of JSON
/// (Korean takes three bytes a character), so a payload stays far below the 8,000 limit.
pub const TYPING_PER_PAYLOAD: usize = 16;

/// The bus's settings; part of the server's one configuration struct. Used only when
/// `DATABASE_URL` is PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct BusConfig {
    /// A direct connection to PostgreSQL for the listener, when DATABASE_URL goes through a
    /// pooler (LISTEN needs a session of its own) [default: DATABASE_URL].
    #[arg(long, env = "SORI_LISTEN_DATABASE_URL")]
    pub listen_database_url: Option<String>,

    /// How often rooms with local subscribers are caught up from the database, in ms: the
    /// longest a lost notification can delay a message (keep it at most 5000).
    #[arg(long, env = "SORI_CATCH_UP_MS", default_value_t = Self::default().catch_up_ms)]
    pub catch_up_ms: u64,

    /// Tests only, never a flag: drop every outgoing hint, so only catch-up delivers.
    #[arg(skip)]
    pub drop_hints: bool,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            listen_database_url: None,
            catch_up_ms: 2_000,
            drop_hints: false,
        }
    }
}

/// Why the bus could not start. Each message is one line naming the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error(
        "the listening connection's URL is not valid ({reason}); set SORI_LISTEN_DATABASE_URL \
         (or DATABASE_URL) to postgres://USER[:PASSWORD]@HOST:PORT/DB"
    )]
    MalformedUrl { reason: String },
    #[error(
        "cannot open the listening connection to {server} ({source}); set \
         SORI_LISTEN_DATABASE_URL to a direct connection to PostgreSQL"
    )]
    Connect {
        server: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "this instance's test notification did not come back within {}s through {server}, so \
         instances could not tell each other about new messages (a pooler in transaction \
         mode?); set SORI_LISTEN_DATABASE_URL to a direct connection to PostgreSQL",
        SELF_TEST.as_secs()
    )]
    SelfTest { server: String },
}

/// What travels in one notification: who sent it, and what it says.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Envelope {
    from: String,
    #[serde(flatten)]
    message: Message,
}

/// What one notification says, tagged by `kind` on the wire (`{"from":…,"kind":"hints",…}`).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Message {
    /// Rooms that moved, each to its highest `seq`. An empty list is the start-up
    /// self-test, or a greeting that keeps the listeners' silence short.
    Hints { rooms: Vec<(RoomId, u64)> },
    /// Access that ended; its fields sit beside `kind`, named by their own `scope` tag.
    Revoked(Revocation),
    /// Rooms where the sender's people changed: the receivers read them again.
    Presence { rooms: Vec<RoomId> },
    /// People who typed on the sender's sockets, by room.
    Typing { typing: Vec<(RoomId, Person)> },
    /// A kind from a newer instance: ignored, so instances of two versions can share a
    /// deployment while it is upgraded.
    #[serde(other)]
    Unknown,
}

/// A greeting: a hint naming no room.
fn greeting(instance: InstanceId) -> String {
    encode(instance, Message::Hints { rooms: Vec::new() })
}

/// The payloads naming `rooms` whose presence changed, split to stay small.
fn presence_payloads(instance: InstanceId, rooms: &BTreeSet<RoomId>) -> Vec<String> {
    let rooms: Vec<RoomId> = rooms.iter().copied().collect();
    rooms
        .chunks(ROOMS_PER_PAYLOAD)
        .map(|chunk| {
            encode(
                instance,
                Message::Presence {
                    rooms: chunk.to_vec(),
                },
            )
        })
        .collect()
}

/// The payloads passing `typing` on, split to stay small.
fn typing_payloads(instance: InstanceId, typing: &[(RoomId, Person)]) -> Vec<String> {
    typing
        .chunks(TYPING_PER_PAYLOAD)
        .map(|chunk| {
            encode(
                instance,
                Message::Typing {
                    typing: chunk.to_vec(),
                },
            )
        })
        .collect()
}

/// The payloads announcing `newest` (room to highest seq), split to stay small.
fn payloads(instance: InstanceId, newest: &BTreeMap<RoomId, u64>) -> Vec<String> {
    let rooms: Vec<(RoomId, u64)> = newest.iter().map(|(room, seq)| (*room, *seq)).collect();
    rooms
        .chunks(ROOMS_PER_PAYLOAD)
        .map(|chunk| {
            let rooms = chunk.to_vec();
            encode(instance, Message::Hints { rooms })
        })
        .collect()
}

fn encode(instance: InstanceId, message: Message) -> String {
    let envelope = Envelope {
        from: instance.to_string(),
        message,
    };
    // Strings, numbers and unit enums, with no map keys that are not strings: this always
    // serialises (the tests encode every kind).
    serde_json::to_string(&envelope).unwrap_or_default()
}

/// A notification's sender and message; `None` for anything else on the channel.
fn decode(text: &str) -> Option<(InstanceId, Message)> {
    let envelope: Envelope = serde_json::from_str(text).ok()?;
    Some((InstanceId::parse(&envelope.from)?, envelope.message))
}

/// Another instance's message; `None` for our own, or anything that is not a message (a
/// stray NOTIFY on the channel is ignored, not trusted).
fn others_message(instance: InstanceId, text: &str) -> Option<Message> {
    let (from, message) = decode(text)?;
    (from != instance).then_some(message)
}

/// This instance's ends of the bus: the queues its services offer to, and the parts that
/// apply what the other instances send. [`crate::backend::Backend::relayed`] makes them.
pub struct Ends {
    pub relay: Arc<Relay>,
    /// What the relay offers of this instance's commits.
    pub hints: mpsc::Receiver<Hint>,
    pub revocations: Arc<Revocations>,
    /// What `revocations` offers of the access ended here.
    pub revoked: mpsc::Receiver<Revocation>,
    pub hub: Arc<Hub>,
    pub roster: Arc<Roster>,
    /// The queue the hub's presence offers to (for its overflow flag) and its other end.
    pub share: ShareQueue,
    pub shared: mpsc::Receiver<Shared>,
}

/// The running bus of one instance. Dropping it stops its tasks, as [`Bus::stop`] does.
pub struct Bus {
    listening: Arc<AtomicBool>,
    roster: Arc<Roster>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Bus {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The roster's connections: a pool of its own, two connections (the presence sender
/// writes on one while a subscribing socket reads on the other), so presence neither
/// queues behind requests nor holds them up.
pub async fn roster_pool(database_url: &str) -> Result<PgPool, BusError> {
    let (pool, _) = connect(database_url.trim(), PRESENCE_NAME, 2).await?;
    Ok(pool)
}

impl Bus {
    /// Opens the listening and the sending connections, runs the self-test, and starts the
    /// tasks, which feed and are fed by `ends`.
    pub async fn start(
        config: &BusConfig,
        database_url: &str,
        ends: Ends,
    ) -> Result<Self, BusError> {
        let instance = ends.roster.instance();
        let listen_url = config
            .listen_database_url
            .as_deref()
            .unwrap_or(database_url);
        let (listen_pool, server) = connect(listen_url.trim(), LISTENER_NAME, 1).await?;
        let (sender_pool, _) = connect(database_url.trim(), SENDER_NAME, 1).await?;

        // A pooler may accept the connection and then stall the LISTEN: that is the same
        // failure as a notification that never comes back.
        let mut listener = match tokio::time::timeout(SELF_TEST, open_listener(&listen_pool)).await
        {
            Ok(Ok(listener)) => listener,
            Ok(Err(source)) => {
                return Err(BusError::Connect {
                    server: server.clone(),
                    source,
                });
            }
            Err(_) => return Err(BusError::SelfTest { server }),
        };
        let self_test = async {
            notify(&sender_pool, &greeting(instance)).await?;
            loop {
                let Some(notification) = listener.try_recv().await? else {
                    continue;
                };
                let own = decode(notification.payload()).is_some_and(|(from, _)| from == instance);
                if own {
                    return Ok::<(), sqlx::Error>(());
                }
            }
        };
        match tokio::time::timeout(SELF_TEST, self_test).await {
            Ok(Ok(())) => {}
            Ok(Err(source)) => return Err(BusError::Connect { server, source }),
            Err(_) => return Err(BusError::SelfTest { server }),
        }

        let Ends {
            relay,
            hints,
            revocations,
            revoked,
            hub,
            roster,
            share,
            shared,
        } = ends;
        let listening = Arc::new(AtomicBool::new(true));
        let catch_up = Duration::from_millis(config.catch_up_ms.max(10));
        let tasks = vec![
            tokio::spawn(send_hints(
                sender_pool.clone(),
                instance,
                hints,
                config.drop_hints,
            )),
            tokio::spawn(send_revocations(sender_pool.clone(), instance, revoked)),
            tokio::spawn(share_presence(
                sender_pool.clone(),
                SharedPresence {
                    roster: roster.clone(),
                    hub: hub.clone(),
                    share,
                },
                shared,
            )),
            tokio::spawn({
                let (roster, hub) = (roster.clone(), hub.clone());
                async move { roster.read_changed(&hub).await }
            }),
            tokio::spawn(listen(
                listener,
                listen_pool,
                sender_pool.clone(),
                instance,
                Receivers {
                    relay: relay.clone(),
                    revocations,
                    hub,
                    roster: roster.clone(),
                },
                listening.clone(),
                catch_up * SILENT_TICKS,
            )),
            tokio::spawn(catch_up_every(catch_up, sender_pool, instance, relay)),
        ];
        Ok(Self {
            listening,
            roster,
            tasks,
        })
    }

    /// At a clean shutdown, before [`Bus::stop`]: the other instances see this instance's
    /// people leave after `grace` unless they come back elsewhere (their sockets were just
    /// told to reconnect), rather than after the heartbeat's expiry.
    pub async fn farewell(&self, grace: Duration) {
        if let Err(error) = self.roster.farewell(grace).await {
            tracing::debug!(%error, "bus: cannot say goodbye; this instance's people leave at its expiry");
        }
    }

    /// Stops the tasks (at shutdown, before the store closes). Safe to call more than once.
    pub fn stop(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }

    /// Whether the listening connection is up (`/readyz` answers 503 while it is not).
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }
}

/// A small pool of its own (the store's pool serves requests; the bus must not queue
/// behind them), failing within the self-test's time rather than sqlx's 30 s default.
/// `name` is the application name shown in `pg_stat_activity`, unless the URL sets one.
async fn connect(url: &str, name: &str, connections: u32) -> Result<(PgPool, String), BusError> {
    let options = PgConnectOptions::from_str(url).map_err(|error| BusError::MalformedUrl {
        reason: error.to_string(),
    })?;
    let options = if options.get_application_name().is_none() {
        options.application_name(name)
    } else {
        options
    };
    let server = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(the user's database)")
    );
    let pool = PgPoolOptions::new()
        .max_connections(connections)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(SELF_TEST)
        .connect_with(options)
        .await
        .map_err(|source| BusError::Connect {
            server: server.clone(),
            source,
        })?;
    Ok((pool, server))
}

/// Catch-up ticks of silence after which the listening connection counts as dead.
const SILENT_TICKS: u32 = 3;

async fn notify(pool: &PgPool, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(pool)
        .await?;
    Ok(())
}

/// The sender: one NOTIFY per batch of this instance's hints.
async fn send_hints(
    pool: PgPool,
    instance: InstanceId,
    mut hints: mpsc::Receiver<Hint>,
    drop_hints: bool,
) {
    while let Some(first) = hints.recv().await {
        let mut newest = BTreeMap::from([(first.room, first.seq)]);
        let deadline = tokio::time::Instant::now() + HINT_BATCH;
        while let Ok(Some(hint)) = tokio::time::timeout_at(deadline, hints.recv()).await {
            let seq = newest.entry(hint.room).or_default();
            *seq = (*seq).max(hint.seq);
        }
        if drop_hints {
            continue;
        }
        for payload in payloads(instance, &newest) {
            if let Err(error) = notify(&pool, &payload).await {
                // The others' catch-up delivers what this hint would have.
                tracing::warn!(%error, "bus: cannot send a hint");
            }
        }
    }
}

/// The revocation sender: one NOTIFY per revocation, as soon as it is offered.
async fn send_revocations(
    pool: PgPool,
    instance: InstanceId,
    mut revoked: mpsc::Receiver<Revocation>,
) {
    while let Some(revocation) = revoked.recv().await {
        let payload = encode(instance, Message::Revoked(revocation));
        for attempt in 1..=REVOCATION_ATTEMPTS {
            match notify(&pool, &payload).await {
                Ok(()) => break,
                Err(error) if attempt < REVOCATION_ATTEMPTS => {
                    tracing::debug!(%error, attempt, "bus: cannot send a revocation yet");
                    tokio::time::sleep(REVOCATION_RETRY * attempt).await;
                }
                // What bounds the access left open elsewhere: see `super::revocation`.
                Err(error) => tracing::warn!(
                    %error,
                    ?revocation,
                    "bus: cannot send a revocation; the other instances end that access \
                     only when the affected sockets end"
                ),
            }
        }
    }
}

/// What the presence sender works with.
struct SharedPresence {
    roster: Arc<Roster>,
    hub: Arc<Hub>,
    share: ShareQueue,
}

/// The presence sender: this instance's people to the roster's rows and the rooms that
/// changed to the others, typing passed on, and the heartbeat.
async fn share_presence(
    pool: PgPool,
    presence: SharedPresence,
    mut shared: mpsc::Receiver<Shared>,
) {
    let SharedPresence { roster, hub, share } = presence;
    let instance = roster.instance();
    let mut beat = tokio::time::interval(roster::HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Whether this instance's rows may be missing or stale, so the next beat writes them
    // whole; true until the first beat has made the heartbeat row they hang from. While it
    // is set, single changes are not written: the whole write reads the hub afterwards, so
    // it holds them.
    let mut rewrite = true;
    loop {
        tokio::select! {
            first = shared.recv() => {
                let Some(first) = first else { return };
                let mut here = BTreeMap::new();
                let mut typing = BTreeMap::new();
                let deadline = tokio::time::Instant::now() + HINT_BATCH;
                let mut next = Some(first);
                while let Some(change) = next {
                    match change {
                        // The last change of a person in a room is the one that holds.
                        Shared::Here { room, user, here: now } => {
                            here.insert((room, user), now);
                        }
                        Shared::Typing { room, person } => {
                            typing.insert((room, person.id), person);
                        }
                    }
                    next = tokio::time::timeout_at(deadline, shared.recv()).await.ok().flatten();
                }
                if !here.is_empty() && !rewrite {
                    match roster.write(&here).await {
                        Ok(()) => {
                            let rooms = here.keys().map(|(room, _)| *room).collect();
                            notify_all(&pool, presence_payloads(instance, &rooms)).await;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "bus: cannot write presence; writing it whole at the next heartbeat");
                            rewrite = true;
                        }
                    }
                }
                let typing: Vec<(RoomId, Person)> = typing
                    .into_iter()
                    .map(|((room, _), person)| (room, person))
                    .collect();
                notify_all(&pool, typing_payloads(instance, &typing)).await;
            }
            _ = beat.tick() => {
                rewrite |= share.take_overflowed();
                match roster.heartbeat().await {
                    Ok(made) => rewrite |= made,
                    Err(error) => {
                        tracing::debug!(%error, "bus: cannot beat; trying again at the next heartbeat");
                        continue;
                    }
                }
                if rewrite {
                    let everyone = hub.everyone_present_here();
                    match roster.write_whole(&everyone).await {
                        Ok(()) => {
                            rewrite = false;
                            let rooms = everyone.iter().map(|(room, _)| *room).collect();
                            notify_all(&pool, presence_payloads(instance, &rooms)).await;
                        }
                        Err(error) => tracing::warn!(%error, "bus: cannot write presence whole yet"),
                    }
                }
                // Covers lost notifications and instances that died without a word.
                if let Err(error) = roster.refresh(&hub, &hub.rooms_present_here()).await {
                    tracing::debug!(%error, "bus: cannot read the others' presence yet");
                }
            }
        }
    }
}

/// Sends each payload; one that fails is only logged: presence is read again at every
/// heartbeat, and typing is a moment's signal.
async fn notify_all(pool: &PgPool, payloads: Vec<String>) {
    for payload in payloads {
        if let Err(error) = notify(pool, &payload).await {
            tracing::debug!(%error, "bus: cannot send presence or typing");
        }
    }
}

/// Where the listener hands what the other instances send.
struct Receivers {
    relay: Arc<Relay>,
    revocations: Arc<Revocations>,
    hub: Arc<Hub>,
    roster: Arc<Roster>,
}

/// The listener: others' hints to the relay, their revocations to the hub, and a full
/// catch-up after a reconnection.
async fn listen(
    mut listener: PgListener,
    listen_pool: PgPool,
    pool: PgPool,
    instance: InstanceId,
    receivers: Receivers,
    listening: Arc<AtomicBool>,
    silence_limit: Duration,
) {
    let Receivers {
        relay,
        revocations,
        hub,
        roster,
    } = receivers;
    loop {
        // Every instance greets the channel on each catch-up tick, this one included, so a
        // connection that hears nothing for several ticks is dead without having said so
        // (a partition, a NAT that forgot it): it is replaced like one that failed.
        let received = tokio::time::timeout(silence_limit, listener.try_recv())
            .await
            .unwrap_or_else(|_| Err(sqlx::Error::Protocol("the listener heard nothing".into())));
        match received {
            Ok(Some(notification)) => match others_message(instance, notification.payload()) {
                Some(Message::Hints { rooms }) => {
                    for (room, seq) in rooms {
                        // Rooms proceed in parallel; the relay orders each room by itself.
                        relay.hinted(room, seq);
                    }
                }
                // The hub never blocks, so applying it here delays no other notification.
                Some(Message::Revoked(revocation)) => revocations.received(revocation),
                Some(Message::Presence { rooms }) => roster.changed(rooms),
                Some(Message::Typing { typing }) => {
                    for (room, person) in typing {
                        hub.typing_elsewhere(room, &person);
                    }
                }
                Some(Message::Unknown) | None => {}
            },
            // Lost and already reconnected (sqlx re-LISTENs): what was sent meanwhile is gone.
            Ok(None) => {
                tracing::warn!("bus: the listening connection was lost and re-established");
                roster.changed(hub.rooms_present_here());
                catch_up(&pool, &relay).await;
            }
            Err(error) => {
                listening.store(false, Ordering::Relaxed);
                tracing::warn!(%error, "bus: the listening connection is down; retrying");
                listener = reopen(listener, &listen_pool).await;
                listening.store(true, Ordering::Relaxed);
                tracing::info!("bus: listening again");
                roster.changed(hub.rooms_present_here());
                catch_up(&pool, &relay).await;
            }
        }
    }
}

/// A new listener in place of one whose connection failed, retried until the database
/// answers. The old one goes first: it holds the pool's one connection, which the pool
/// tests and replaces when it comes back.
async fn reopen(broken: PgListener, pool: &PgPool) -> PgListener {
    drop(broken);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        match tokio::time::timeout(SELF_TEST, open_listener(pool)).await {
            Ok(Ok(listener)) => return listener,
            Ok(Err(error)) => tracing::debug!(%error, "bus: the listener cannot reconnect yet"),
            Err(_) => tracing::debug!("bus: opening the listener stalled; trying again"),
        }
    }
}

async fn open_listener(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // The pool exists only to (re)connect the listener; nothing closes it before the end.
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

async fn catch_up_every(every: Duration, pool: PgPool, instance: InstanceId, relay: Arc<Relay>) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        // The greeting that keeps every listener's silence short (see `listen`); it names
        // no room, so it delivers nothing.
        if let Err(error) = notify(&pool, &greeting(instance)).await {
            tracing::debug!(%error, "bus: cannot greet the channel");
        }
        relay.forget_unfollowed();
        catch_up(&pool, &relay).await;
    }
}

/// Delivers whatever the tracked rooms have that the relay has not: one query for all
/// their newest `seq`s, then a read for each room that moved.
async fn catch_up(pool: &PgPool, relay: &Arc<Relay>) {
    let rooms: Vec<i64> = relay.tracked().into_iter().map(|room| room.0).collect();
    if rooms.is_empty() {
        return;
    }
    let newest: Result<Vec<(i64, i64)>, _> =
        sqlx::query_as("SELECT id, last_seq FROM rooms WHERE id = ANY($1)")
            .bind(&rooms)
            .fetch_all(pool)
            .await;
    match newest {
        Ok(newest) => {
            // In parallel, so one slow room does not hold up the others or the listener.
            for (room, seq) in newest {
                relay.hinted(RoomId(room), u64::try_from(seq).unwrap_or(0));
            }
        }
        Err(error) => tracing::warn!(%error, "bus: catch-up cannot read the rooms' seqs"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_payload_stays_far_below_postgresqls_limit() {
        let newest: BTreeMap<RoomId, u64> = (0..ROOMS_PER_PAYLOAD as i64)
            .map(|n| (RoomId(i64::MAX - n), u64::MAX))
            .collect();
        let payloads = payloads(InstanceId::random(), &newest);
        assert_eq!(payloads.len(), 1);
        assert!(payloads[0].len() < 3_000, "{} bytes", payloads[0].len());
    }

    #[test]
    fn many_rooms_are_split_over_several_payloads_each_room_once() {
        let newest: BTreeMap<RoomId, u64> = (1..=150).map(|n| (RoomId(n), 7)).collect();
        let instance = InstanceId::random();
        let payloads = payloads(instance, &newest);
        assert_eq!(payloads.len(), 3);
        let other = InstanceId::random();
        let rooms: Vec<(RoomId, u64)> = payloads
            .iter()
            .flat_map(|payload| match others_message(other, payload) {
                Some(Message::Hints { rooms }) => rooms,
                other => panic!("expected a hint, got {other:?}"),
            })
            .collect();
        assert_eq!(rooms, newest.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn an_instance_ignores_its_own_hints_and_anything_that_is_not_one() {
        let (me, other) = (InstanceId::random(), InstanceId::random());
        let rooms = vec![(RoomId(3), 9)];
        let hint = encode(me, Message::Hints { rooms });
        assert_eq!(others_message(me, &hint), None);
        assert_eq!(
            others_message(other, &hint),
            Some(Message::Hints {
                rooms: vec![(RoomId(3), 9)]
            })
        );
        assert_eq!(others_message(other, "hello"), None);
        assert_eq!(others_message(other, r#"{"from":"x","rooms":[]}"#), None);
        let unnamed = r#"{"from":"x","kind":"hints","rooms":[]}"#;
        assert_eq!(others_message(other, unnamed), None);
    }

    /// Every revocation a service can send, with the largest ids.
    fn every_revocation() -> Vec<Revocation> {
        use crate::backend::revocation::SessionsEnded;
        use crate::model::UserId;
        use crate::protocol::UnsubscribeReason;
        let (user, room) = (UserId(i64::MIN), RoomId(i64::MIN));
        let mut every: Vec<Revocation> = [
            UnsubscribeReason::AccessEnded,
            UnsubscribeReason::Left,
            UnsubscribeReason::RoomDeleted,
        ]
        .into_iter()
        .map(|reason| Revocation::RoomAccess { user, room, reason })
        .collect();
        every.push(Revocation::Room { room });
        every.push(Revocation::Sessions {
            user,
            close: SessionsEnded::SignedOut,
        });
        every
    }

    #[test]
    fn every_revocation_reads_back_as_it_was_sent_and_stays_small() {
        let (me, other) = (InstanceId::random(), InstanceId::random());
        for revocation in every_revocation() {
            let payload = encode(me, Message::Revoked(revocation));
            assert!(payload.len() < 200, "{} bytes: {payload}", payload.len());
            assert_eq!(
                others_message(other, &payload),
                Some(Message::Revoked(revocation)),
                "{payload}"
            );
            assert_eq!(others_message(me, &payload), None, "our own is ignored");
        }
    }

    #[test]
    fn a_revocation_travels_tagged_beside_its_sender() {
        let me = InstanceId::random();
        let revocation = Revocation::RoomAccess {
            user: crate::model::UserId(4),
            room: RoomId(9),
            reason: crate::protocol::UnsubscribeReason::Left,
        };
        let payload: serde_json::Value =
            serde_json::from_str(&encode(me, Message::Revoked(revocation))).unwrap();
        assert_eq!(
            payload,
            serde_json::json!({
                "from": me.to_string(),
                "kind": "revoked",
                "scope": "room_access",
                "user": 4,
                "room": 9,
                "reason": "left",
            })
        );
    }

    #[test]
    fn a_kind_this_version_does_not_know_is_read_as_unknown_and_ignored() {
        let other = InstanceId::random().to_string();
        let reaction = format!(r#"{{"from":"{other}","kind":"reaction","room":3,"user":4}}"#);
        assert_eq!(
            others_message(InstanceId::random(), &reaction),
            Some(Message::Unknown)
        );
        // A revocation of a scope this version does not know is not applied either.
        let unknown_scope = format!(r#"{{"from":"{other}","kind":"revoked","scope":"team"}}"#);
        assert_eq!(others_message(InstanceId::random(), &unknown_scope), None);
    }

    #[test]
    fn presence_changes_name_their_rooms_split_over_payloads_each_room_once() {
        let rooms: BTreeSet<RoomId> = (1..=100).map(|n| RoomId(i64::MAX - n)).collect();
        let (me, other) = (InstanceId::random(), InstanceId::random());
        let payloads = presence_payloads(me, &rooms);
        assert_eq!(payloads.len(), 2);
        let mut named = BTreeSet::new();
        for payload in &payloads {
            assert!(payload.len() < 3_000, "{} bytes", payload.len());
            match others_message(other, payload) {
                Some(Message::Presence { rooms }) => named.extend(rooms),
                other => panic!("expected presence, got {other:?}"),
            }
            assert_eq!(others_message(me, payload), None, "our own is ignored");
        }
        assert_eq!(named, rooms);
    }

    #[test]
    fn typing_with_the_longest_names_stays_far_below_postgresqls_limit() {
        // Sixty-four characters of four bytes each: the longest display name in bytes.
        let person = |n: i64| Person {
            id: crate::model::UserId(i64::MIN + n),
            display_name: "\u{1F600}".repeat(crate::model::DisplayName::MAX),
        };
        let typing: Vec<(RoomId, Person)> =
            (0..40).map(|n| (RoomId(i64::MIN + n), person(n))).collect();
        let (me, other) = (InstanceId::random(), InstanceId::random());
        let payloads = typing_payloads(me, &typing);
        assert_eq!(payloads.len(), 3);
        let mut passed_on = Vec::new();
        for payload in &payloads {
            assert!(payload.len() < 6_000, "{} bytes", payload.len());
            match others_message(other, payload) {
                Some(Message::Typing { typing }) => passed_on.extend(typing),
                other => panic!("expected typing, got {other:?}"),
            }
        }
        assert_eq!(passed_on, typing);
    }
}
