//! Messages, their changes and read markers in PostgreSQL: `impl MessageStore for PgStore`,
//! over the tables of migration 0004, with the rendered forms and mention rows of 0010 and
//! the search `tsvector` of 0014 (written in the statement of each post and edit).
//!
//! # The counter: a row lock on the room
//!
//! Every change in a room (a post, an edit, a delete) takes the next number of
//! `rooms.last_seq` in the same transaction that writes the change and its `room_events`
//! row. Taking the number is an `UPDATE` of the room's row, so the transaction holds that
//! row's lock until it commits or rolls back. Writers to one room, on this instance or any
//! other, queue on that one row; at READ COMMITTED a writer that waited re-reads the row as
//! its predecessor committed it, so it takes the next number. Different rooms never wait for
//! each other. This gives three promises at once:
//!
//! - **no gaps**: a number is only ever taken inside the transaction that uses it, so a
//!   failed or rolled-back change returns its number with everything else;
//! - **no duplicates**: two writers never hold the lock together (and the unique
//!   `(room_id, seq)` of `messages` and `room_events` would refuse a second one anyway);
//! - **numbers become visible in order**: the next writer gets the lock only after the
//!   previous one committed, so a reader never sees number N+1 while N is still to come,
//!   and "everything after the last number I saw" never skips one.
//!
//! The alternatives were worse. A sequence hands its numbers out outside the transaction
//! (a rollback leaves a gap) and in an order commits need not follow (a reader could see 6
//! before 5). SERIALIZABLE isolation would make every concurrent pair of posts in a room a
//! serialization failure to retry. An advisory lock would order the writers too, but it is
//! one more statement per post and a key scheme to keep apart from sqlx's migration lock,
//! while the row lock comes free with the update that takes the number.
//!
//! # A post is one statement
//!
//! A post is one round trip: the counter `UPDATE`, the message `INSERT` and the event
//! `INSERT` are one statement (data-modifying `WITH` clauses), so one implicit transaction.
//! The counter moves only when the author has not sent this client id before. A concurrent
//! resend of the same client id can slip past that check (both saw no message yet); it then
//! fails the unique constraint `messages_client_id_once`, which aborts the whole statement,
//! counter included, and the store returns the original. So `(author, client_id)` is
//! idempotent across instances and a resend never takes a number.
//!
//! # An edit or a delete locks the room first
//!
//! An edit or a delete is a short transaction: it locks the room's row (`FOR NO KEY UPDATE`,
//! the lock an update of the counter takes, which does not block foreign-key checks of new
//! members or invitations), then, in a new snapshot that sees everything committed before
//! the lock was granted, changes the message only if it is not deleted and moves the
//! counter. Two concurrent deletes of one message thus make one change. Room before
//! message is also the order in which deleting a room locks them (the delete cascades to
//! the messages), so an edit and a room deletion never deadlock.

use super::reactions::{react, with_reactions};
use super::{PgStore, seq_of, seq_param};
use crate::backend::search::search_text;
use crate::backend::store::rows::{event_from_row, message_from_row, rich_json};
use crate::backend::store::{
    Change, MessageStore, NewMessage, Posted, Reacted, Reaction, RoomEvent, StoreError,
};
use crate::model::{RoomId, UserId};
use crate::protocol::{ClientId, MessageId, MessageView, Person};

/// The constraint that makes `(author, client id)` identify one message; violating it means
/// "this is a resend".
const CLIENT_ID_ONCE: &str = "messages_client_id_once";

/// What `message_from_row` reads, from messages `m` joined with its author `u`.
macro_rules! message_columns {
    () => {
        "m.id, m.room_id, m.seq, m.client_id, m.author_id, u.display_name AS author_name, u.username AS author_username, \
         m.body, m.created_at, m.edited_at, m.deleted_at, m.changed_seq, m.rich, \
         (SELECT COALESCE(json_agg(json_build_object('id', mu.id, 'username', mu.username, \
                 'display_name', mu.display_name)), '[]'::json)::text \
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

/// Writes the mention rows of message `$1` for the user ids `$2` (an account deleted
/// meanwhile is skipped, not an error).
const INSERT_MENTIONS: &str = "INSERT INTO message_mentions (message_id, user_id, room_id) \
     SELECT m.id, u.id, m.room_id FROM messages m JOIN users u ON u.id = ANY($2) WHERE m.id = $1";

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

/// A post: the counter, the message and the event in one statement (see the module doc).
/// `$1` room, `$2` author, `$3` client id, `$4` body, `$5` now, `$6` the rendered form, `$7`
/// the ids of the people it mentions, `$8` the message replied to, `$9` its search text.
const POST: &str = "\
    WITH counter AS ( \
        UPDATE rooms SET last_seq = last_seq + 1 \
        WHERE id = $1 \
          AND NOT EXISTS (SELECT 1 FROM messages WHERE author_id = $2 AND client_id = $3) \
        RETURNING id, last_seq), \
    posted AS ( \
        INSERT INTO messages \
            (room_id, seq, changed_seq, author_id, client_id, body, created_at, rich, \
             reply_to_id, search) \
        SELECT id, last_seq, last_seq, $2, $3, $4, $5, $6, $8, to_tsvector('simple', $9) \
        FROM counter \
        RETURNING id, room_id, seq), \
    logged AS ( \
        INSERT INTO room_events (room_id, seq, message_id) \
        SELECT room_id, seq, id FROM posted), \
    mentioned AS ( \
        INSERT INTO message_mentions (message_id, user_id, room_id) \
        SELECT posted.id, users.id, posted.room_id FROM posted JOIN users ON users.id = ANY($7)) \
    SELECT id, seq FROM posted";

/// Locks the counter of the message's room for an edit or a delete. `$1` message.
pub(super) const LOCK_ROOM_OF_MESSAGE: &str = "\
    SELECT r.id FROM messages m JOIN rooms r ON r.id = m.room_id \
    WHERE m.id = $1 FOR NO KEY UPDATE OF r";

/// An edit or a delete of a live message, under its room's lock: the message, the counter
/// and the event in one statement, returning the message as it is now. `$1` message, `$2`
/// the new body, `$3` edited at (NULL for a delete, which keeps an earlier edit's time), `$4`
/// deleted at (NULL for an edit), `$5` the new rendered form, `$6` the new search text (NULL
/// for a delete: nothing of it can be found).
const CHANGE: &str = concat!(
    "WITH changed AS ( \
        UPDATE messages m SET body = $2, edited_at = COALESCE($3, m.edited_at), \
            deleted_at = $4, changed_seq = r.last_seq + 1, rich = $5, \
            search = to_tsvector('simple', $6) \
        FROM rooms r \
        WHERE m.id = $1 AND m.deleted_at IS NULL AND r.id = m.room_id \
        RETURNING m.*), \
    counter AS ( \
        UPDATE rooms SET last_seq = changed.changed_seq \
        FROM changed WHERE rooms.id = changed.room_id), \
    logged AS ( \
        INSERT INTO room_events (room_id, seq, message_id) \
        SELECT room_id, changed_seq, id FROM changed) \
    SELECT ",
    message_columns!(),
    " FROM changed m LEFT JOIN users u ON u.id = m.author_id",
    quote_joins!()
);

/// Whether the error is the refusal of a second message with the same (author, client id).
fn is_resend(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.constraint() == Some(CLIENT_ID_ONCE))
}

#[async_trait::async_trait]
impl MessageStore for PgStore {
    async fn insert_message(&self, message: NewMessage<'_>) -> Result<Posted, StoreError> {
        let inserted = sqlx::query_as::<_, (i64, i64)>(POST)
            .bind(message.room.0)
            .bind(message.author.0)
            .bind(message.client_id.as_str())
            .bind(message.body)
            .bind(message.now_ms)
            .bind(rich_json(message.rich, message.body))
            .bind(
                message
                    .mentioned
                    .iter()
                    .map(|person| person.id.0)
                    .collect::<Vec<i64>>(),
            )
            .bind(message.reply_to.map(|id| id.0))
            .bind(search_text(message.body))
            .fetch_optional(&self.pool)
            .await;
        let inserted = match inserted {
            Ok(inserted) => inserted,
            // A concurrent resend committed first; this statement took nothing.
            Err(error) if is_resend(&error) => None,
            Err(error) => return Err(error.into()),
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
        let seq = seq_of(seq);
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
        let sql = format!("{MESSAGE_SELECT} WHERE m.author_id = $1 AND m.client_id = $2");
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
            "{EVENT_SELECT} WHERE e.room_id = $1 AND e.seq > $2 AND e.seq < $3 \
             ORDER BY e.seq LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(room.0)
            .bind(seq_param(after_seq))
            .bind(until_seq.map_or(i64::MAX, seq_param))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let events: Vec<RoomEvent> = rows.iter().map(event_from_row).collect::<Result<_, _>>()?;
        Ok(with_reactions(&self.pool, events).await?)
    }

    async fn message(&self, id: MessageId) -> Result<Option<MessageView>, StoreError> {
        let sql = format!("{MESSAGE_SELECT} WHERE m.id = $1");
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
        let (body, rich, mentioned, edited_ms, deleted_ms) = match change {
            Change::Edit {
                body,
                rich,
                mentioned,
            } => (body, rich_json(rich, body), mentioned, Some(now_ms), None),
            Change::Delete => ("", String::new(), &[][..], None, Some(now_ms)),
        };
        // Dropping the transaction without a commit rolls it back: an early return below
        // changes nothing and takes no number.
        let mut tx = self.pool.begin().await?;
        let room: Option<i64> = sqlx::query_scalar(LOCK_ROOM_OF_MESSAGE)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?;
        if room.is_none() {
            return Ok(None);
        }
        // The mention rows first, so the changed message read back below names the new
        // ones; a message deleted meanwhile rolls this back with the rest.
        sqlx::query("DELETE FROM message_mentions WHERE message_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        if !mentioned.is_empty() {
            let ids: Vec<i64> = mentioned.iter().map(|person| person.id.0).collect();
            sqlx::query(INSERT_MENTIONS)
                .bind(id.0)
                .bind(ids)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query(CHANGE)
            .bind(id.0)
            .bind(body)
            .bind(edited_ms)
            .bind(deleted_ms)
            .bind(rich)
            .bind(deleted_ms.is_none().then(|| search_text(body)))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            // Deleted already, possibly by a change that held the lock just before.
            return Ok(None);
        };
        let message = with_reactions(&mut *tx, message_from_row(&row)?).await?;
        tx.commit().await?;
        Ok(Some(RoomEvent {
            seq: message.changed_seq,
            message,
        }))
    }

    async fn mark_read(&self, room: RoomId, user: UserId, seq: u64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE memberships SET read_seq = \
                 GREATEST(read_seq, LEAST($3, (SELECT last_seq FROM rooms WHERE id = $1))) \
             WHERE room_id = $1 AND user_id = $2",
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
            "SELECT * FROM ({MESSAGE_SELECT} WHERE m.room_id = $1 AND m.seq < $2 \
             ORDER BY m.seq DESC LIMIT $3) AS page ORDER BY seq"
        );
        let rows = sqlx::query(&sql)
            .bind(room.0)
            .bind(before_seq.map_or(i64::MAX, seq_param))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let messages: Vec<MessageView> = rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?;
        Ok(with_reactions(&self.pool, messages).await?)
    }

    async fn last_seq(&self, room: RoomId) -> Result<u64, StoreError> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM rooms WHERE id = $1")
            .bind(room.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(seq.map_or(0, seq_of))
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
