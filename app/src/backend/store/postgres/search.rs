//! Message search in PostgreSQL: `impl SearchStore for PgStore`, over the `search` tsvector
//! of migration 0014 and its GIN index. Posts and edits write it in the statement that
//! writes the message (see `messages`), from the same search text SQLite's FTS5 table
//! indexes, parsed by the `simple` configuration; the query is the same words as a
//! `tsquery`, so both stores find the same messages.

use super::PgStore;
use super::messages::MESSAGE_SELECT;
use crate::backend::search::{SearchQuery, search_text};
use crate::backend::store::rows::message_from_row;
use crate::backend::store::{SearchStore, StoreError};
use crate::model::UserId;
use crate::protocol::{MessageId, MessageView};

/// `$1` the tsquery, `$2` the viewer, `$3` `from:` (username, lowercase), `$4` `in:` (room
/// name, lowercase), `$5` ids below, `$6` the limit.
const SEARCH: &str = " JOIN rooms r ON r.id = m.room_id \
     WHERE m.search @@ to_tsquery('simple', $1) AND m.id < $5 AND m.deleted_at IS NULL \
       AND (r.visibility = 'public' \
            OR EXISTS (SELECT 1 FROM memberships me WHERE me.room_id = r.id AND me.user_id = $2)) \
       AND ($3::text IS NULL OR lower(u.username COLLATE \"C\") = $3) \
       AND ($4::text IS NULL OR lower(r.name) = $4) \
     ORDER BY m.id DESC LIMIT $6";

#[async_trait::async_trait]
impl SearchStore for PgStore {
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
            .bind(query.to_tsquery())
            .bind(viewer.0)
            .bind(query.from.as_deref())
            .bind(query.room.as_deref())
            .bind(before.map_or(i64::MAX, |id| id.0))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn index_pending(&self, batch: u32) -> Result<u64, StoreError> {
        let pending: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, body FROM messages WHERE search IS NULL AND deleted_at IS NULL \
             ORDER BY id LIMIT $1",
        )
        .bind(i64::from(batch))
        .fetch_all(&self.pool)
        .await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let (ids, texts): (Vec<i64>, Vec<String>) = pending
            .iter()
            .map(|(id, body)| (*id, search_text(body)))
            .unzip();
        // One statement for the batch. Only rows nothing wrote meanwhile: an edit indexed
        // its own text, and a delete left nothing to index.
        sqlx::query(
            "UPDATE messages m SET search = to_tsvector('simple', pending.text) \
             FROM unnest($1::bigint[], $2::text[]) AS pending (id, text) \
             WHERE m.id = pending.id AND m.search IS NULL AND m.deleted_at IS NULL",
        )
        .bind(&ids)
        .bind(&texts)
        .execute(&self.pool)
        .await?;
        Ok(pending.len() as u64)
    }
}
