//! Searching messages ([`Messages::search`], the `/search` page) and reading the history
//! around one of them ([`Messages::around`], where a result opens), plus the indexing of
//! messages stored before the index existed ([`index_backlog`], run once at start-up).
//!
//! What a query means is `backend::search`'s; which messages match, and that the searcher
//! may read their rooms, is the store's (`SearchStore`). This file pages the answer and
//! names each result's room as the searcher sees it.

use std::collections::HashMap;
use std::sync::Arc;

use super::Messages;
use crate::backend::auth::CurrentUser;
use crate::backend::internal_error::OrInternal;
use crate::backend::search::SearchQuery;
use crate::backend::store::Store;
use crate::error::ApiError;
use crate::model::RoomId;
use crate::protocol::search::{SearchHit, SearchPage};
use crate::protocol::{HistoryPage, MessageId};

/// Results per page.
pub const SEARCH_PAGE: u32 = 20;
/// Messages shown before and after the one a result opens.
pub const AROUND: u64 = 25;
/// Messages the start-up indexing writes per transaction, so posts wait for none for long.
const INDEX_BATCH: u32 = 500;

impl Messages {
    /// One page of the messages matching `input`, newest first, older than `before`.
    pub async fn search(
        &self,
        user: &CurrentUser,
        input: &str,
        before: Option<MessageId>,
    ) -> Result<SearchPage, ApiError> {
        let query = SearchQuery::parse(input);
        let mut found = self
            .store
            .search_messages(user.user.id, &query, before, SEARCH_PAGE + 1)
            .await
            .or_internal("search messages")?;
        let next = if found.len() > SEARCH_PAGE as usize {
            found.truncate(SEARCH_PAGE as usize);
            found.last().map(|message| message.id)
        } else {
            None
        };
        // Each room's name as I see it (a direct conversation by the other person), `None`
        // for one gone meanwhile (left out). The store checked access; this checks again.
        let mut names: HashMap<RoomId, Option<String>> = HashMap::new();
        let mut hits = Vec::with_capacity(found.len());
        for message in found {
            let name = match names.get(&message.room) {
                Some(name) => name.clone(),
                None => {
                    let name = match self.rooms.get(user, message.room).await {
                        Ok(room) => Some(room.name),
                        Err(ApiError::NotFound) => None,
                        Err(error) => return Err(error),
                    };
                    names.insert(message.room, name.clone());
                    name
                }
            };
            let Some(room_name) = name else { continue };
            hits.push(SearchHit {
                id: message.id,
                room: message.room,
                room_name,
                seq: message.seq,
                snippet: query.snippet(&message.body),
                author: message.author,
                created_ms: message.created_ms,
            });
        }
        Ok(SearchPage { hits, next })
    }

    /// The messages around the one posted with `seq`: up to [`AROUND`] before it and after
    /// it, oldest first. `last_seq` is the last number the page covers (the room's newest,
    /// if the page reaches it), so a subscriber continues from there and the room fills in
    /// up to the present without a gap.
    pub async fn around(
        &self,
        user: &CurrentUser,
        room: RoomId,
        seq: u64,
    ) -> Result<HistoryPage, ApiError> {
        self.rooms.visible(user, room).await?;
        // The number first, then the page, as for the newest page (see `history`).
        let newest = self
            .store
            .last_seq(room)
            .await
            .or_internal("load history")?;
        let through = seq.saturating_add(AROUND).min(newest);
        let limit = u32::try_from(2 * AROUND + 2).unwrap_or(u32::MAX);
        let messages = self
            .store
            .messages_before(room, Some(through.saturating_add(1)), limit)
            .await
            .or_internal("load history")?;
        // One more than shown is read to know whether there is more before.
        let before_target = messages.iter().filter(|message| message.seq < seq).count();
        let has_more = before_target > AROUND as usize;
        let skip = before_target.saturating_sub(AROUND as usize);
        Ok(HistoryPage {
            messages: messages.into_iter().skip(skip).map(Arc::new).collect(),
            has_more,
            last_seq: through,
        })
    }
}

/// Indexes, batch by batch, the messages stored before the search index existed, then
/// returns. Run in a task of its own at start-up: searches meanwhile find what is indexed so
/// far, and every new post and edit is indexed as it is written anyway.
pub async fn index_backlog(store: Arc<dyn Store>) {
    let mut indexed = 0u64;
    loop {
        match store.index_pending(INDEX_BATCH).await {
            Ok(0) => break,
            Ok(count) => indexed += count,
            Err(error) => {
                tracing::warn!(%error, indexed, "indexing older messages for search stopped");
                return;
            }
        }
    }
    if indexed > 0 {
        tracing::info!(indexed, "older messages indexed for search");
    }
}
