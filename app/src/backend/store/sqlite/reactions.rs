//! Reactions in SQLite, over migration 0011: reading them for the messages a query answers
//! ([`with_reactions`]), and adding or taking one back as a numbered change ([`react`], the
//! body of `MessageStore::react`).
//!
//! A reaction is a change like an edit: one short transaction that takes the counter first
//! (so it holds the write lock from its first statement), writes the reaction, moves the
//! message's `changed_seq` and records the event. A reaction that is already so rolls the
//! transaction back, number included.

use super::SqliteStore;
use super::messages::{MESSAGE_SELECT, logged_change};
use crate::backend::store::reactions::{
    HoldsMessages, REACTION_COLUMNS, attach, reaction_from_row,
};
use crate::backend::store::rows::message_from_row;
use crate::backend::store::{Reacted, Reaction, StoreError};
use crate::protocol::MessageId;

/// Fills in the reactions of every message `held` holds, with one query.
pub(super) async fn with_reactions<'e, E, T>(executor: E, mut held: T) -> Result<T, sqlx::Error>
where
    E: sqlx::SqliteExecutor<'e>,
    T: HoldsMessages,
{
    let ids = held.live_ids();
    if ids.is_empty() {
        return Ok(held);
    }
    // A list of integers always serialises.
    let ids = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    let sql = format!(
        "SELECT {REACTION_COLUMNS} FROM reactions r JOIN users u ON u.id = r.user_id \
         WHERE r.message_id IN (SELECT value FROM json_each(?1)) ORDER BY r.message_id, r.id"
    );
    let rows = sqlx::query(&sql).bind(ids).fetch_all(executor).await?;
    let rows = rows
        .iter()
        .map(reaction_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    attach(held.views(), rows);
    Ok(held)
}

pub(super) async fn react(
    store: &SqliteStore,
    id: MessageId,
    reaction: Reaction,
    now_ms: i64,
) -> Result<Reacted, StoreError> {
    // Dropping the transaction without a commit rolls it back: every early return below
    // changes nothing and gives the number back.
    let mut tx = store.pool.begin().await?;
    let seq: Option<i64> = sqlx::query_scalar(
        "UPDATE rooms SET last_seq = last_seq + 1 \
         WHERE id = (SELECT room_id FROM messages WHERE id = ?1 AND deleted_at IS NULL) \
         RETURNING last_seq",
    )
    .bind(id.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(seq) = seq else {
        return Ok(Reacted::Gone);
    };
    let emoji = reaction.emoji.as_str();
    let written = if reaction.on {
        let (distinct, this_one): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(DISTINCT emoji), COALESCE(SUM(CASE WHEN emoji = ?2 THEN 1 ELSE 0 END), 0) \
             FROM reactions WHERE message_id = ?1",
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
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        )
        .bind(id.0)
        .bind(reaction.user.0)
        .bind(emoji)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
    } else {
        sqlx::query("DELETE FROM reactions WHERE message_id = ?1 AND user_id = ?2 AND emoji = ?3")
            .bind(id.0)
            .bind(reaction.user.0)
            .bind(emoji)
            .execute(&mut *tx)
            .await?
    };
    if written.rows_affected() == 0 {
        drop(tx);
        return Ok(match unchanged(store, id).await? {
            Some(message) => Reacted::Unchanged(message),
            None => Reacted::Gone,
        });
    }
    sqlx::query("UPDATE messages SET changed_seq = ?2 WHERE id = ?1")
        .bind(id.0)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    let event = logged_change(&mut tx, id, seq).await?;
    tx.commit().await?;
    Ok(Reacted::Changed(event))
}

/// The message as it is, after a reaction that changed nothing; `None` if deleted since.
async fn unchanged(
    store: &SqliteStore,
    id: MessageId,
) -> Result<Option<crate::protocol::MessageView>, StoreError> {
    let sql = format!("{MESSAGE_SELECT} WHERE m.id = ?1 AND m.deleted_at IS NULL");
    let row = sqlx::query(&sql)
        .bind(id.0)
        .fetch_optional(&store.pool)
        .await?;
    let message = row.as_ref().map(message_from_row).transpose()?;
    Ok(with_reactions(&store.pool, message).await?)
}
