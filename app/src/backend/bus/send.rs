//! The bus's senders: hints in batches, revocations at once, and this instance's presence
//! (with its heartbeat) and typing. Each sends on the bus's own connection, never inside a
//! request's transaction.

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlx::postgres::PgPool;
use tokio::sync::mpsc;

use super::wire::{Message, encode, payloads, presence_payloads, typing_payloads};
use super::{CHANNEL, HINT_BATCH, REVOCATION_ATTEMPTS, REVOCATION_RETRY};
use crate::backend::hub::Hub;
use crate::backend::instance_id::InstanceId;
use crate::backend::presence::{ShareQueue, Shared};
use crate::backend::relay::Hint;
use crate::backend::revocation::Revocation;
use crate::backend::roster::Roster;
use crate::model::{RoomId, UserId};
use crate::protocol::Person;

pub(super) async fn notify(pool: &PgPool, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(pool)
        .await?;
    Ok(())
}

/// The sender: one NOTIFY per batch of this instance's hints.
pub(super) async fn send_hints(
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
pub(super) async fn send_revocations(
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
pub(super) struct SharedPresence {
    pub(super) roster: Arc<Roster>,
    pub(super) hub: Arc<Hub>,
    pub(super) share: ShareQueue,
}

/// The presence sender: this instance's people to the roster's rows and the rooms that
/// changed to the others, typing passed on, and the whole presence written again whenever
/// the roster asks (at start, after a lost offer or write, after the rows were lost).
pub(super) async fn share_presence(
    pool: PgPool,
    presence: SharedPresence,
    mut shared: mpsc::Receiver<Shared>,
) {
    let SharedPresence { roster, hub, share } = presence;
    let instance = roster.instance();
    let mut check = tokio::time::interval(roster.timings().beat);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            first = shared.recv() => {
                let Some(first) = first else { return };
                let (here, typing) = gather(first, &mut shared).await;
                // While a rewrite is due, single changes wait for it: it reads the hub
                // afterwards, so it holds them.
                if !here.is_empty() && !roster.rewrite_due() {
                    match roster.write(&here).await {
                        Ok(()) => {
                            let rooms = here.keys().map(|(room, _)| *room).collect();
                            notify_all(&pool, presence_payloads(instance, &rooms)).await;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "bus: cannot write presence; writing it whole soon");
                            roster.request_rewrite();
                        }
                    }
                }
                notify_all(&pool, typing_payloads(instance, &typing)).await;
            }
            _ = check.tick() => {
                if share.take_overflowed() {
                    roster.request_rewrite();
                }
                if !roster.take_rewrite() {
                    continue;
                }
                // Every offer still queued is older than the hub as read below, which
                // already holds what it says; applied after the rewrite, an old "here"
                // would bring back someone who has gone since.
                while shared.try_recv().is_ok() {}
                let everyone = hub.everyone_present_here();
                match roster.write_whole(&everyone).await {
                    Ok(rooms) => notify_all(&pool, presence_payloads(instance, &rooms)).await,
                    Err(error) => {
                        tracing::warn!(%error, "bus: cannot write presence whole yet");
                        roster.request_rewrite();
                    }
                }
            }
        }
    }
}

/// What the hub shared within [`HINT_BATCH`] of `first`: the last word on each person in
/// each room, and who typed.
async fn gather(
    first: Shared,
    shared: &mut mpsc::Receiver<Shared>,
) -> (BTreeMap<(RoomId, UserId), bool>, Vec<(RoomId, Person)>) {
    let mut here = BTreeMap::new();
    let mut typing = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + HINT_BATCH;
    let mut next = Some(first);
    while let Some(change) = next {
        match change {
            Shared::Here {
                room,
                user,
                here: present,
            } => {
                here.insert((room, user), present);
            }
            Shared::Typing { room, person } => {
                typing.insert((room, person.id), person);
            }
        }
        next = tokio::time::timeout_at(deadline, shared.recv())
            .await
            .ok()
            .flatten();
    }
    let typing = typing
        .into_iter()
        .map(|((room, _), person)| (room, person))
        .collect();
    (here, typing)
}

/// The heartbeat, on a connection of its own: moves this instance's expiry forward on every
/// beat, then has the roster read every room with someone here again, which covers lost
/// notifications and instances that died without a word. The read runs apart, so a slow
/// one never delays the next beat.
pub(super) async fn beat(roster: Arc<Roster>, hub: Arc<Hub>) {
    let mut ticker = tokio::time::interval(roster.timings().beat);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(error) = roster.heartbeat().await {
            tracing::warn!(%error, "bus: cannot beat; the others judge this instance gone if it lasts");
        }
        roster.changed(hub.rooms_present_here());
    }
}

/// Sends each payload; one that fails is only logged: presence is read again at every
/// heartbeat, and typing is a moment's signal.
pub(super) async fn notify_all(pool: &PgPool, payloads: Vec<String>) {
    for payload in payloads {
        if let Err(error) = notify(pool, &payload).await {
            tracing::debug!(%error, "bus: cannot send presence or typing");
        }
    }
}
