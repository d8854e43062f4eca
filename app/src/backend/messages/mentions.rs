//! Mentions in the messaging service: turning a body into its rendered form with the room's
//! members resolved ([`Messages::render`], for posts and edits), and the `/mentions` page
//! ([`Messages::mentions`]).
//!
//! Only members of the room can be mentioned: a name that is not a member's stays text and
//! tells no one, so a message cannot reach a stranger, and a private room's messages never
//! show up in a non-member's mentions. The counts in the navigation are the store's
//! (`MentionStore::mention_counts`, read with the room list).

use std::collections::HashMap;

use super::Messages;
use crate::backend::auth::CurrentUser;
use crate::backend::internal_error::OrInternal;
use crate::backend::markdown;
use crate::error::ApiError;
use crate::model::{RichText, RoomId};
use crate::protocol::{MentionView, Person};

/// The most mentions the `/mentions` page lists.
pub const MENTIONS_LISTED: u32 = 50;

impl Messages {
    /// The rendered form of `body` in `room`, and the members it mentions. The members are
    /// read only when the body could name one (it has an `@`), so most posts cost no query.
    pub(super) async fn render(
        &self,
        room: RoomId,
        body: &str,
    ) -> Result<(RichText, Vec<Person>), ApiError> {
        let members = if body.contains('@') {
            self.store.members(room).await.or_internal("load members")?
        } else {
            Vec::new()
        };
        let by_username: HashMap<String, Person> = members
            .into_iter()
            .map(|member| {
                (
                    member.username.to_ascii_lowercase(),
                    Person {
                        id: member.id,
                        username: member.username,
                        display_name: member.display_name,
                    },
                )
            })
            .collect();
        let rendered = markdown::render(body, &|name| {
            by_username
                .get(&name.to_ascii_lowercase())
                .map(|person| person.id)
        });
        let mentioned = rendered
            .mentions
            .iter()
            .filter_map(|id| by_username.values().find(|person| person.id == *id))
            .cloned()
            .collect();
        Ok((rendered.rich, mentioned))
    }

    /// My recent mentions across the rooms I am a member of, newest first, each with its
    /// room's name as I see it.
    pub async fn mentions(&self, user: &CurrentUser) -> Result<Vec<MentionView>, ApiError> {
        let messages = self
            .store
            .mentions_of(user.user.id, MENTIONS_LISTED)
            .await
            .or_internal("list mentions")?;
        // Each room's name as I see it, `None` for one gone meanwhile (left out).
        let mut names: HashMap<RoomId, Option<String>> = HashMap::new();
        let mut listed = Vec::with_capacity(messages.len());
        for message in messages {
            let name = match names.get(&message.room) {
                Some(name) => name.clone(),
                None => {
                    // The store listed rooms I am a member of; asking the rooms service
                    // names them as I see them (a direct conversation by the other person)
                    // and checks access once more.
                    let name = match self.rooms.get(user, message.room).await {
                        Ok(room) => Some(room.name),
                        Err(ApiError::NotFound) => None,
                        Err(error) => return Err(error),
                    };
                    names.insert(message.room, name.clone());
                    name
                }
            };
            if let Some(room_name) = name {
                listed.push(MentionView { room_name, message });
            }
        }
        Ok(listed)
    }
}
