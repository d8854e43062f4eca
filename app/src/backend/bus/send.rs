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
use crate::backend::roster::{self, Roster};
use crate::model::RoomId;
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
/// changed to the others, typing passed on, and the heartbeat.
pub(super) async fn share_presence(
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
pub(super) async fn notify_all(pool: &PgPool, payloads: Vec<String>) {
    for payload in payloads {
        if let Err(error) = notify(pool, &payload).await {
            tracing::debug!(%error, "bus: cannot send presence or typing");
        }
    }
}
