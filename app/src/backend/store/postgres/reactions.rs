//! Reactions in PostgreSQL, over migration 0011: reading them for the messages a query
//! answers ([`with_reactions`]), and adding or taking one back as a numbered change
//! ([`react`], the body of `MessageStore::react`).
//!
//! A reaction is a change like an edit (see `messages`): one short transaction that locks
//! the room's row first, so concurrent reactions, edits and posts in a room queue on it and
//! take their numbers in commit order. Under the lock it checks the message is live and the
//! per-message cap, writes the reaction and, only if that changed something, moves the
//! counter, the message's `changed_seq` and the event log. A reaction that is already so
//! commits nothing and takes no number.

use super::messages::{LOCK_ROOM_OF_MESSAGE, MESSAGE_SELECT};
use super::{PgStore, seq_of};
use crate::backend::store::reactions::{
    HoldsMessages, REACTION_COLUMNS, attach, reaction_from_row,
};
use crate::backend::store::rows::message_from_row;
use crate::backend::store::{Reacted, Reaction, RoomEvent, StoreError};
use crate::protocol::{MessageId, MessageView};

/// Fills in the reactions of every message `held` holds, with one query.
pub(super) async fn with_reactions<'e, E, T>(executor: E, mut held: T) -> Result<T, sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
    T: HoldsMessages,
{
    let ids = held.live_ids();
    if ids.is_empty() {
        return Ok(held);
    }
    let sql = format!(
        "SELECT {REACTION_COLUMNS} FROM reactions r JOIN users u ON u.id = r.user_id \
         WHERE r.message_id = ANY($1) ORDER BY r.message_id, r.id"
    );
    let rows = sqlx::query(&sql).bind(&ids).fetch_all(executor).await?;
    let rows = rows
        .iter()
        .map(reaction_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    attach(held.views(), rows);
    Ok(held)
}

pub(super) async fn react(
    store: &PgStore,
    id: MessageId,
    reaction: Reaction,
    now_ms: i64,
) -> Result<Reacted, StoreError> {
    // Dropping the transaction without a commit rolls it back: every early return below
    // changes nothing and takes no number.
    let mut tx = store.pool.begin().await?;
    let room: Option<i64> = sqlx::query_scalar(LOCK_ROOM_OF_MESSAGE)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(room) = room else {
        return Ok(Reacted::Gone);
    };
    // A new snapshot, after the lock: a delete that held it just before is seen.
    let live: Option<i64> =
        sqlx::query_scalar("SELECT id FROM messages WHERE id = $1 AND deleted_at IS NULL")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
    if live.is_none() {
        return Ok(Reacted::Gone);
    }
    let emoji = reaction.emoji.as_str();
    let written = if reaction.on {
        let (distinct, this_one): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(DISTINCT emoji), COALESCE(SUM(CASE WHEN emoji = $2 THEN 1 ELSE 0 END), 0) \
             FROM reactions WHERE message_id = $1",
        )
        .bind(id.0)
        .bind(emoji)
        .fetch_one(&mut *tx)
        .await?;
        if this_one == 0 && distinct >= i64::from(reaction.emoji_limit) {
            return Ok(Reacted::TooManyEmoji);
        }
        sqlx::query(
            "INSERT INTO reactions (message_id, user_id, emoji, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(id.0)
        .bind(reaction.user.0)
        .bind(emoji)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
    } else {
        sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3")
            .bind(id.0)
            .bind(reaction.user.0)
            .bind(emoji)
            .execute(&mut *tx)
            .await?
    };
    if written.rows_affected() == 0 {
        let sql = format!("{MESSAGE_SELECT} WHERE m.id = $1");
        let row = sqlx::query(&sql).bind(id.0).fetch_one(&mut *tx).await?;
        let message: MessageView = with_reactions(&mut *tx, message_from_row(&row)?).await?;
        return Ok(Reacted::Unchanged(message));
    }
    let seq: i64 = sqlx::query_scalar(
        "WITH counter AS ( \
             UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $2 RETURNING last_seq), \
         changed AS ( \
             UPDATE messages SET changed_seq = counter.last_seq FROM counter WHERE id = $1), \
         logged AS ( \
             INSERT INTO room_events (room_id, seq, message_id) \
             SELECT $2, last_seq, $1 FROM counter) \
         SELECT last_seq FROM counter",
    )
    .bind(id.0)
    .bind(room)
    .fetch_one(&mut *tx)
    .await?;
    let sql = format!("{MESSAGE_SELECT} WHERE m.id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_one(&mut *tx).await?;
    let message = with_reactions(&mut *tx, message_from_row(&row)?).await?;
    tx.commit().await?;
    Ok(Reacted::Changed(RoomEvent {
        seq: seq_of(seq),
        message,
    }))
}
