//! Who was mentioned where, in PostgreSQL: `impl MentionStore for PgStore`, over the
//! `message_mentions` rows of migration 0010, which posts and edits write (see `messages`).
//!
//! Counts are not kept in a counter: like the unread counts, they are counted from the read
//! marker each time the navigation asks, so reading a room, deleting a message or an edit that
//! drops a name needs no bookkeeping here.

use super::PgStore;
use super::messages::MESSAGE_SELECT;
use crate::backend::store::rows::message_from_row;
use crate::backend::store::{MentionStore, StoreError};
use crate::model::{RoomId, UserId};
use crate::protocol::MessageView;

/// Mentions of `$1` after their read marker, per room they are a member of, by others.
const COUNTS: &str = "SELECT mm.room_id, COUNT(*) AS mentions FROM message_mentions mm \
     JOIN memberships me ON me.room_id = mm.room_id AND me.user_id = mm.user_id \
     JOIN messages msg ON msg.id = mm.message_id \
     WHERE mm.user_id = $1 AND msg.seq > me.read_seq AND msg.deleted_at IS NULL \
       AND (msg.author_id IS NULL OR msg.author_id <> $1) \
     GROUP BY mm.room_id";

#[async_trait::async_trait]
impl MentionStore for PgStore {
    async fn mention_counts(&self, user: UserId) -> Result<Vec<(RoomId, u64)>, StoreError> {
        let rows = sqlx::query_as::<_, (i64, i64)>(COUNTS)
            .bind(user.0)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(room, count)| (RoomId(room), u64::try_from(count).unwrap_or(0)))
            .collect())
    }

    async fn mentions_of(&self, user: UserId, limit: u32) -> Result<Vec<MessageView>, StoreError> {
        let sql = format!(
            "{MESSAGE_SELECT} JOIN message_mentions men ON men.message_id = m.id \
             JOIN memberships me ON me.room_id = m.room_id AND me.user_id = men.user_id \
             WHERE men.user_id = $1 AND m.deleted_at IS NULL \
               AND (m.author_id IS NULL OR m.author_id <> $1) \
             ORDER BY m.created_at DESC, m.id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(user.0)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?)
    }
}
