//! What the `/search` page lists: one [`SearchHit`] per message found, newest first, in
//! pages ([`SearchPage`]).

use serde::{Deserialize, Serialize};

use super::{MessageId, Person};
use crate::model::RoomId;

/// A message a search found, with what its line in the results shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub id: MessageId,
    pub room: RoomId,
    /// The room's name as the searcher sees it (a direct conversation by the other person).
    pub room_name: String,
    /// Where the message stands in its room: the result opens the room there.
    pub seq: u64,
    pub author: Option<Person>,
    pub created_ms: i64,
    /// A stretch of the text around the words found, the words marked.
    pub snippet: Vec<SnippetPart>,
}

/// Plain text of a snippet, or (`marked`) the words the search found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetPart {
    pub text: String,
    pub marked: bool,
}

/// One page of results, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    /// Where the next (older) page starts, if there is one: pass it back as `before`.
    pub next: Option<MessageId>,
}
