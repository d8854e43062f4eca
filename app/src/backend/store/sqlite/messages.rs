//! Messages, their changes and read markers in SQLite: `impl MessageStore for SqliteStore`,
//! over the tables of migrations 0004 to 0006, the rendered forms and mention rows of 0010,
//! and the search text of 0014 (written with each post and edit; its triggers index it).
//!
//! Every change in a room (a post, an edit, a delete) takes the next number of
//! `rooms.last_seq` in the same transaction as the change and is recorded in `room_events`,
//! so "everything after N" is a complete, gapless replay. A post is one statement (the
//! trigger of migration 0006 does the rest); an edit or delete is one short transaction
//! that takes the counter first, so it holds the write lock from its first statement.

use super::reactions::{react, with_reactions};
use super::{SqliteStore, seq_param};
use crate::backend::search::search_text;
use crate::backend::store::rows::{event_from_row, ids_json, message_from_row, rich_json};
use crate::backend::store::{
    Change, MessageStore, NewMessage, Posted, Reacted, Reaction, RoomEvent, StoreError,
};
use crate::model::{RoomId, UserId};
use crate::protocol::{ClientId, MessageId, MessageView, Person};

/// What `message_from_row` reads, from `messages m` joined with its author `u`.
macro_rules! message_columns {
    () => {
        "m.id, m.room_id, m.seq, m.client_id, m.author_id, u.display_name AS author_name, u.username AS author_username, \
         m.body, m.created_at, m.edited_at, m.deleted_at, m.changed_seq, m.rich, \
         (SELECT json_group_array(json_object('id', mu.id, 'username', mu.username, \
                 'display_name', mu.display_name)) \
          FROM message_mentions mm JOIN users mu ON mu.id = mm.user_id \
          WHERE mm.message_id = m.id) AS mentioned, \
         m.reply_to_id, q.seq AS reply_seq, q.author_id AS reply_author_id, \
         qu.display_name AS reply_author_name, qu.username AS reply_author_username, \
         substr(q.body, 1, 400) AS reply_body, q.deleted_at AS reply_deleted_at"
    };
}

/// The message a reply answers (`q`) and its author (`qu`), for the quote's columns.
macro_rules! quote_joins {
    () => {
        " LEFT JOIN messages q ON q.id = m.reply_to_id LEFT JOIN users qu ON qu.id = q.author_id"
    };
}

/// Writes the mention rows of message `?1` for the user ids in the JSON array `?2` (an
/// account deleted meanwhile is skipped, not an error).
const INSERT_MENTIONS: &str = "INSERT INTO message_mentions (message_id, user_id, room_id) \
     SELECT m.id, u.id, m.room_id FROM messages m \
     JOIN users u ON u.id IN (SELECT value FROM json_each(?2)) WHERE m.id = ?1";

pub(super) const MESSAGE_SELECT: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages m LEFT JOIN users u ON u.id = m.author_id",
    quote_joins!()
);

/// A room's changes, each with its message's current state.
const EVENT_SELECT: &str = concat!(
    "SELECT e.seq AS event_seq, ",
    message_columns!(),
    " FROM room_events e JOIN messages m ON m.id = e.message_id \
      LEFT JOIN users u ON u.id = m.author_id",
    quote_joins!()
);

#[async_trait::async_trait]
impl MessageStore for SqliteStore {
    async fn insert_message(&self, message: NewMessage<'_>) -> Result<Posted, StoreError> {
        // One statement, one round trip to the connection's thread: the number comes from
        // the counter, and the trigger of migration 0006 moves the counter and records the
        // event in the same statement. (Several statements in a transaction cost a thread
        // handoff each; that was most of a post's CPU.)
        let insert = sqlx::query_as::<_, (i64, i64)>(
            "INSERT INTO messages \
                 (room_id, seq, changed_seq, author_id, client_id, body, created_at, rich, \
                  reply_to_id, search_text) \
             SELECT id, last_seq + 1, last_seq + 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 \
             FROM rooms WHERE id = ?1 \
             ON CONFLICT (author_id, client_id) DO NOTHING RETURNING id, seq",
        )
        .bind(message.room.0)
        .bind(message.author.0)
        .bind(message.client_id.as_str())
        .bind(message.body)
        .bind(message.now_ms)
        .bind(rich_json(message.rich, message.body))
        .bind(message.reply_to.map(|id| id.0))
        .bind(search_text(message.body));
        let inserted = if message.mentioned.is_empty() {
            insert.fetch_optional(&self.pool).await?
        } else {
            // Only a post that mentions someone pays for a transaction: its mention rows
            // commit with it or not at all.
            let mut tx = self.pool.begin().await?;
            let inserted = insert.fetch_optional(&mut *tx).await?;
            if let Some((id, _)) = inserted {
                sqlx::query(INSERT_MENTIONS)
                    .bind(id)
                    .bind(ids_json(message.mentioned))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            inserted
        };
        let Some((id, seq)) = inserted else {
            // A resend (or a room deleted meanwhile): return the original.
            let original = self
                .message_by_client_id(message.author, message.client_id)
                .await?
                .ok_or(StoreError::Conflict)?;
            return Ok(Posted {
                message: original,
                created: false,
            });
        };
        let seq = u64::try_from(seq).unwrap_or(0);
        // The quote is read back like any message's; only a reply needs the round trip.
        let reply_to = match message.reply_to {
            Some(_) => self
                .message(MessageId(id))
                .await?
                .and_then(|stored| stored.reply_to),
            None => None,
        };
        Ok(Posted {
            message: MessageView {
                id: MessageId(id),
                room: message.room,
                seq,
                client_id: message.client_id.clone(),
                author: Some(Person {
                    id: message.author,
                    username: message.author_username.to_owned(),
                    display_name: message.author_name.to_owned(),
                }),
                body: message.body.to_owned(),
                created_ms: message.now_ms,
                edited_ms: None,
                deleted: false,
                changed_seq: seq,
                reactions: Vec::new(),
                reply_to,
                rich: message.rich.clone(),
                mentions: message.mentioned.iter().map(|person| person.id).collect(),
                mentioned: message.mentioned.to_vec(),
            },
            created: true,
        })
    }

    async fn message_by_client_id(
        &self,
        author: UserId,
        client_id: &ClientId,
    ) -> Result<Option<MessageView>, StoreError> {
        let sql = format!("{MESSAGE_SELECT} WHERE m.author_id = ?1 AND m.client_id = ?2");
        let row = sqlx::query(&sql)
            .bind(author.0)
            .bind(client_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let message = row.as_ref().map(message_from_row).transpose()?;
        Ok(with_reactions(&self.pool, message).await?)
    }

    async fn events_after(
        &self,
        room: RoomId,
        after_seq: u64,
        until_seq: Option<u64>,
        limit: u32,
    ) -> Result<Vec<RoomEvent>, StoreError> {
        let sql = format!(
            "{EVENT_SELECT} WHERE e.room_id = ?1 AND e.seq > ?2 AND e.seq < ?3 \
             ORDER BY e.seq LIMIT ?4"
        );
        let rows = sqlx::query(&sql)
            .bind(room.0)
            .bind(seq_param(after_seq))
            .bind(until_seq.map_or(i64::MAX, seq_param))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let events: Vec<RoomEvent> = rows.iter().map(event_from_row).collect::<Result<_, _>>()?;
        Ok(with_reactions(&self.pool, events).await?)
    }

    async fn message(&self, id: MessageId) -> Result<Option<MessageView>, StoreError> {
        let sql = format!("{MESSAGE_SELECT} WHERE m.id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        let message = row.as_ref().map(message_from_row).transpose()?;
        Ok(with_reactions(&self.pool, message).await?)
    }

    async fn change_message(
        &self,
        id: MessageId,
        change: Change<'_>,
        now_ms: i64,
    ) -> Result<Option<RoomEvent>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The counter first, as for a post: it takes the write lock for the transaction.
        let seq: Option<i64> = sqlx::query_scalar(
            "UPDATE rooms SET last_seq = last_seq + 1 \
             WHERE id = (SELECT room_id FROM messages WHERE id = ?1 AND deleted_at IS NULL) \
             RETURNING last_seq",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(seq) = seq else {
            return Ok(None);
        };
        // An edit replaces the mention rows, a delete drops them.
        sqlx::query("DELETE FROM message_mentions WHERE message_id = ?1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        match change {
            Change::Edit {
                body,
                rich,
                mentioned,
            } => {
                sqlx::query(
                    "UPDATE messages SET body = ?2, edited_at = ?3, changed_seq = ?4, rich = ?5, \
                         search_text = ?6 \
                     WHERE id = ?1",
                )
                .bind(id.0)
                .bind(body)
                .bind(now_ms)
                .bind(seq)
                .bind(rich_json(rich, body))
                .bind(search_text(body))
                .execute(&mut *tx)
                .await?;
                if !mentioned.is_empty() {
                    sqlx::query(INSERT_MENTIONS)
                        .bind(id.0)
                        .bind(ids_json(mentioned))
                        .execute(&mut *tx)
                        .await?;
                }
            }
            Change::Delete => {
                sqlx::query(
                    "UPDATE messages SET body = '', rich = '', search_text = NULL, \
                         deleted_at = ?2, changed_seq = ?3 \
                     WHERE id = ?1",
                )
                .bind(id.0)
                .bind(now_ms)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            }
        }
        let event = logged_change(&mut tx, id, seq).await?;
        tx.commit().await?;
        Ok(Some(event))
    }

    async fn mark_read(&self, room: RoomId, user: UserId, seq: u64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE memberships SET read_seq = \
                 MAX(read_seq, MIN(?3, (SELECT last_seq FROM rooms WHERE id = ?1))) \
             WHERE room_id = ?1 AND user_id = ?2",
        )
        .bind(room.0)
        .bind(user.0)
        .bind(seq_param(seq))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn messages_before(
        &self,
        room: RoomId,
        before_seq: Option<u64>,
        limit: u32,
    ) -> Result<Vec<MessageView>, StoreError> {
        let sql = format!(
            "SELECT * FROM ({MESSAGE_SELECT} WHERE m.room_id = ?1 AND m.seq < ?2 \
             ORDER BY m.seq DESC LIMIT ?3) ORDER BY seq"
        );
        let rows = sqlx::query(&sql)
            .bind(room.0)
            .bind(before_seq.map_or(i64::MAX, seq_param))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let messages: Vec<MessageView> = rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?;
        Ok(with_reactions(&self.pool, messages).await?)
    }

    async fn last_seq(&self, room: RoomId) -> Result<u64, StoreError> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM rooms WHERE id = ?1")
            .bind(room.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(seq.and_then(|seq| u64::try_from(seq).ok()).unwrap_or(0))
    }

    async fn react(
        &self,
        id: MessageId,
        reaction: Reaction,
        now_ms: i64,
    ) -> Result<Reacted, StoreError> {
        react(self, id, reaction, now_ms).await
    }
}

/// The last step of every change to a message (an edit, a delete, a reaction), inside its
/// transaction: records change `seq` of message `id` among the room's events, and reads the
/// message back as it now is, reactions included.
pub(super) async fn logged_change(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: MessageId,
    seq: i64,
) -> Result<RoomEvent, StoreError> {
    sqlx::query(
        "INSERT INTO room_events (room_id, seq, message_id) \
         SELECT room_id, ?2, id FROM messages WHERE id = ?1",
    )
    .bind(id.0)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    let sql = format!("{MESSAGE_SELECT} WHERE m.id = ?1");
    let row = sqlx::query(&sql).bind(id.0).fetch_one(&mut **tx).await?;
    let message = with_reactions(&mut **tx, message_from_row(&row)?).await?;
    Ok(RoomEvent {
        seq: u64::try_from(seq).unwrap_or(0),
        message,
    })
}
