//! The bus's listener, on its one dedicated connection, and the periodic catch-up: what the
//! other instances send is handed to the relay, the revocations, the hub and the roster,
//! and whatever a lost notification would have said is read from the database instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};

use super::send::notify;
use super::wire::{Message, decode, greeting, others_message};
use super::{CHANNEL, SELF_TEST};
use crate::backend::hub::Hub;
use crate::backend::instance_id::InstanceId;
use crate::backend::relay::Relay;
use crate::backend::revocation::Revocations;
use crate::backend::roster::Roster;
use crate::model::RoomId;
use crate::protocol::probe::ProbeToken;

/// Catch-up ticks of silence after which the listening connection counts as dead.
pub(super) const SILENT_TICKS: u32 = 3;

/// Where the listener hands what the other instances send.
pub(super) struct Receivers {
    pub(super) relay: Arc<Relay>,
    pub(super) revocations: Arc<Revocations>,
    pub(super) hub: Arc<Hub>,
    pub(super) roster: Arc<Roster>,
    /// Where probes published on other instances go (`/ws/probe`'s listeners).
    pub(super) probes: tokio::sync::broadcast::Sender<(ProbeToken, InstanceId)>,
}

/// The listener: others' hints to the relay, their revocations to the hub, and a full
/// catch-up after a reconnection.
pub(super) async fn listen(
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
        probes,
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
                Some(Message::Probe { token }) => {
                    if let Some((from, _)) = decode(notification.payload()) {
                        // No probe socket listening is the usual case, not an error.
                        let _ = probes.send((token, from));
                    }
                }
                Some(Message::Unknown) | None => {}
            },
            // Lost and already reconnected (sqlx re-LISTENs): what was sent meanwhile is gone.
            Ok(None) => {
                tracing::warn!("bus: the listening connection was lost and re-established");
                // The database may have restarted and lost the presence rows: until every
                // instance has written its own again, reads only add people.
                roster.unsettle();
                roster.changed(hub.rooms_present_here());
                catch_up(&pool, &relay).await;
            }
            Err(error) => {
                listening.store(false, Ordering::Relaxed);
                tracing::warn!(%error, "bus: the listening connection is down; retrying");
                listener = reopen(listener, &listen_pool).await;
                listening.store(true, Ordering::Relaxed);
                tracing::info!("bus: listening again");
                // The database may have restarted and lost the presence rows: until every
                // instance has written its own again, reads only add people.
                roster.unsettle();
                roster.changed(hub.rooms_present_here());
                catch_up(&pool, &relay).await;
            }
        }
    }
}

/// A new listener in place of one whose connection failed, retried until the database
/// answers. The old one goes first: it holds the pool's one connection, which the pool
/// tests and replaces when it comes back.
pub(super) async fn reopen(broken: PgListener, pool: &PgPool) -> PgListener {
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

pub(super) async fn open_listener(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // The pool exists only to (re)connect the listener; nothing closes it before the end.
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

pub(super) async fn catch_up_every(
    every: Duration,
    pool: PgPool,
    instance: InstanceId,
    relay: Arc<Relay>,
) {
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
pub(super) async fn catch_up(pool: &PgPool, relay: &Arc<Relay>) {
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
