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
//! The code is laid out the same way: `wire` is what a notification says, `send` the
//! three senders, `listen` the listener and the catch-up.
//!
//! Before any of that, [`Bus::start`] checks that notifications work at all: it notifies
//! itself and waits up to [`SELF_TEST`]; through a pooler in transaction mode they never
//! arrive, and the instance refuses to start rather than run deaf. It never carries message
//! content.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::hub::Hub;
use super::instance_id::InstanceId;
use super::presence::{ShareQueue, Shared};
use super::relay::{Hint, Relay};
use super::revocation::{Revocation, Revocations};
use super::roster::{Roster, RosterTimings};
use crate::protocol::probe::ProbeToken;
use listen::{Receivers, SILENT_TICKS, catch_up_every, listen, open_listener};
use send::{SharedPresence, notify, send_hints, send_revocations, share_presence};
use wire::{Message, decode, encode, greeting};

mod listen;
mod send;
mod wire;

/// The channel every instance of a deployment listens on.
const CHANNEL: &str = "sori_hints";

/// How the bus's connections appear in `pg_stat_activity`, for operators (and tests).
pub const LISTENER_NAME: &str = "sori-listener";
const SENDER_NAME: &str = "sori-hints";
const PRESENCE_NAME: &str = "sori-presence";
const HEARTBEAT_NAME: &str = "sori-heartbeat";

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

/// Probes from other instances waiting for the probe sockets (`/ws/probe`) to take them.
pub const PROBE_QUEUE: usize = 64;

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

    /// Tests only, never a flag (every instance of a deployment must agree on them): how
    /// often instances beat, and when one that stopped is judged gone.
    #[arg(skip)]
    pub roster: RosterTimings,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            listen_database_url: None,
            catch_up_ms: 2_000,
            drop_hints: false,
            roster: RosterTimings::default(),
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
    /// Probes (`/ws/probe`) published on the other instances, and how to publish one.
    probes: tokio::sync::broadcast::Sender<(ProbeToken, InstanceId)>,
    probe_sender: (PgPool, InstanceId),
    roster: Arc<Roster>,
    tasks: Vec<JoinHandle<()>>,
    /// Apart from the others: the farewell waits for it to stop, so that no beat still in
    /// flight moves the expiry back out after the farewell.
    beat: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Bus {
    fn drop(&mut self) {
        self.stop();
    }
}

/// This instance's roster, on connections of its own so that presence neither queues
/// behind requests nor holds them up: two for reads and writes, one for the heartbeat.
pub async fn roster(
    config: &BusConfig,
    database_url: &str,
    instance: InstanceId,
) -> Result<Roster, BusError> {
    let (pool, _) = connect(database_url.trim(), PRESENCE_NAME, 2).await?;
    let (beat_pool, _) = connect(database_url.trim(), HEARTBEAT_NAME, 1).await?;
    Ok(Roster::new(pool, beat_pool, instance, config.roster))
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
        // The first beat makes this instance's heartbeat row, which its presence rows hang
        // from, before anything is written.
        roster
            .heartbeat()
            .await
            .map_err(|source| BusError::Connect {
                server: server.clone(),
                source,
            })?;
        let listening = Arc::new(AtomicBool::new(true));
        // Probes are a diagnostic trickle; a slow socket that lags this far misses some.
        let (probes, _) = tokio::sync::broadcast::channel(PROBE_QUEUE);
        let probe_sender = (sender_pool.clone(), instance);
        let catch_up = Duration::from_millis(config.catch_up_ms.max(10));
        let beat = tokio::spawn(send::beat(roster.clone(), hub.clone()));
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
                    probes: probes.clone(),
                },
                listening.clone(),
                catch_up * SILENT_TICKS,
            )),
            tokio::spawn(catch_up_every(catch_up, sender_pool, instance, relay)),
        ];
        Ok(Self {
            listening,
            probes,
            probe_sender,
            roster,
            tasks,
            beat: std::sync::Mutex::new(Some(beat)),
        })
    }

    /// At a clean shutdown, before [`Bus::stop`]: the other instances see this instance's
    /// people leave after `grace` unless they come back elsewhere (their sockets were just
    /// told to reconnect), rather than after the heartbeat's expiry.
    pub async fn farewell(&self, grace: Duration) {
        let beat = self.beat_task();
        if let Some(beat) = beat {
            beat.abort();
            // Cancelled is the expected outcome; either way it has stopped.
            let _ = beat.await;
        }
        if let Err(error) = self.roster.farewell(grace).await {
            tracing::debug!(%error, "bus: cannot say goodbye; this instance's people leave at its expiry");
        }
    }

    /// Stops the tasks (at shutdown, before the store closes). Safe to call more than once.
    pub fn stop(&self) {
        for task in &self.tasks {
            task.abort();
        }
        if let Some(beat) = self.beat_task() {
            beat.abort();
        }
    }

    fn beat_task(&self) -> Option<JoinHandle<()>> {
        // Only ever taken whole, so a panic elsewhere leaves it usable.
        self.beat
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take()
    }

    /// Tells the other instances about a probe published here (`/ws/probe`).
    pub async fn publish_probe(&self, token: ProbeToken) -> Result<(), sqlx::Error> {
        let (pool, instance) = &self.probe_sender;
        notify(pool, &encode(*instance, Message::Probe { token })).await
    }

    /// The probes published on the other instances, with the instance each came from.
    pub fn probe_arrivals(&self) -> tokio::sync::broadcast::Receiver<(ProbeToken, InstanceId)> {
        self.probes.subscribe()
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
