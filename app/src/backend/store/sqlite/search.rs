//! Message search in SQLite: `impl SearchStore for SqliteStore`, over the FTS5 table of
//! migration 0014. Posts and edits write `messages.search_text` (see `messages`); the
//! migration's triggers keep `message_search` in step within the same statement.
//!
//! Results come newest first by walking the index in descending rowid (the message id) and
//! stopping at the limit, so a common word costs a page of rows, not every match.

use super::SqliteStore;
use super::messages::MESSAGE_SELECT;
use crate::backend::search::{SearchQuery, search_text};
use crate::backend::store::rows::message_from_row;
use crate::backend::store::{SearchStore, StoreError};
use crate::model::UserId;
use crate::protocol::{MessageId, MessageView};

/// `?1` the FTS5 query, `?2` the viewer, `?3` `from:` (username), `?4` `in:` (room name),
/// `?5` ids below, `?6` the limit.
const SEARCH: &str = " JOIN message_search s ON s.rowid = m.id JOIN rooms r ON r.id = m.room_id \
     WHERE message_search MATCH ?1 AND s.rowid < ?5 AND m.deleted_at IS NULL \
       AND (r.visibility = 'public' \
            OR EXISTS (SELECT 1 FROM memberships me WHERE me.room_id = r.id AND me.user_id = ?2)) \
       AND (?3 IS NULL OR u.username = ?3) \
       AND (?4 IS NULL OR r.name = ?4 COLLATE NOCASE) \
     ORDER BY s.rowid DESC LIMIT ?6";

#[async_trait::async_trait]
impl SearchStore for SqliteStore {
    async fn search_messages(
        &self,
        viewer: UserId,
        query: &SearchQuery,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<MessageView>, StoreError> {
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{MESSAGE_SELECT}{SEARCH}");
        let rows = sqlx::query(&sql)
            .bind(query.to_fts5())
            .bind(viewer.0)
            .bind(query.from.as_deref())
            .bind(query.room.as_deref())
            .bind(before.map_or(i64::MAX, |id| id.0))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn index_pending(&self, batch: u32) -> Result<u64, StoreError> {
        let pending: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, body FROM messages WHERE search_text IS NULL AND deleted_at IS NULL \
             ORDER BY id LIMIT ?1",
        )
        .bind(batch)
        .fetch_all(&self.pool)
        .await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        for (id, body) in &pending {
            // Only if nothing wrote it meanwhile: an edit indexed its own text, and a
            // delete left nothing to index.
            sqlx::query(
                "UPDATE messages SET search_text = ?2 \
                 WHERE id = ?1 AND search_text IS NULL AND deleted_at IS NULL",
            )
            .bind(id)
            .bind(search_text(body))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(pending.len() as u64)
    }
}
