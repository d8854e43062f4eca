//! Reactions read into message views, written once for both databases: each backend selects
//! the rows of a page of messages with one query (`reaction_columns` below, ordered by
//! message and then by when each reaction was made), and [`attach`] groups them into every
//! message's [`ReactionView`]s.
//!
//! One query per page rather than one per message, or a join that would repeat every
//! message once per reaction: a page of fifty messages costs one more round trip.

use std::collections::HashMap;

use super::RoomEvent;
use super::rows::Columns;
use crate::model::UserId;
use crate::protocol::reactions::{PEOPLE_NAMED, ReactionView};
use crate::protocol::{MessageId, MessageView, Person};

/// What [`reaction_from_row`] reads, from `reactions r` joined with who reacted, `u`.
pub(super) const REACTION_COLUMNS: &str =
    "r.message_id, r.emoji, u.id AS user_id, u.username, u.display_name";

/// One person's reaction on one message.
pub(super) struct ReactionRow {
    message: MessageId,
    emoji: String,
    person: Person,
}

pub(super) fn reaction_from_row(row: &impl Columns) -> Result<ReactionRow, sqlx::Error> {
    Ok(ReactionRow {
        message: MessageId(row.int("message_id")?),
        emoji: row.text("emoji")?,
        person: Person {
            id: UserId(row.int("user_id")?),
            username: row.text("username")?,
            display_name: row.text("display_name")?,
        },
    })
}

/// What a store query answers that holds message views: their reactions are read for all of
/// them at once.
pub(super) trait HoldsMessages {
    fn views(&mut self) -> Vec<&mut MessageView>;

    /// The messages whose reactions are worth reading: deleted ones have none.
    fn live_ids(&mut self) -> Vec<i64> {
        self.views()
            .into_iter()
            .filter(|message| !message.deleted)
            .map(|message| message.id.0)
            .collect()
    }
}

impl HoldsMessages for MessageView {
    fn views(&mut self) -> Vec<&mut MessageView> {
        vec![self]
    }
}

impl HoldsMessages for Option<MessageView> {
    fn views(&mut self) -> Vec<&mut MessageView> {
        self.iter_mut().collect()
    }
}

impl HoldsMessages for Vec<MessageView> {
    fn views(&mut self) -> Vec<&mut MessageView> {
        self.iter_mut().collect()
    }
}

impl HoldsMessages for Vec<RoomEvent> {
    fn views(&mut self) -> Vec<&mut MessageView> {
        self.iter_mut().map(|event| &mut event.message).collect()
    }
}

/// Sets each message's reactions from `rows` (in the order they were made): one view per
/// emoji, in the order each emoji was first used, naming its first [`PEOPLE_NAMED`] people.
pub(super) fn attach(messages: Vec<&mut MessageView>, rows: Vec<ReactionRow>) {
    let mut by_message: HashMap<MessageId, Vec<ReactionView>> = HashMap::new();
    for row in rows {
        let views = by_message.entry(row.message).or_default();
        let view = match views.iter_mut().position(|view| view.emoji == row.emoji) {
            Some(index) => &mut views[index],
            None => {
                views.push(ReactionView {
                    emoji: row.emoji,
                    count: 0,
                    people: Vec::new(),
                });
                // Just pushed: the vector is not empty.
                let last = views.len() - 1;
                &mut views[last]
            }
        };
        view.count += 1;
        if view.people.len() < PEOPLE_NAMED {
            view.people.push(row.person);
        }
    }
    // A replay may hold one message several times (once per change): each copy gets them.
    for message in messages {
        message.reactions = by_message.get(&message.id).cloned().unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RoomId;
    use crate::protocol::ClientId;

    fn message(id: i64) -> MessageView {
        MessageView {
            id: MessageId(id),
            room: RoomId(1),
            seq: id as u64,
            client_id: ClientId::parse("00000000-0000-4000-8000-000000000001").unwrap(),
            author: None,
            body: "hi".into(),
            created_ms: 0,
            edited_ms: None,
            deleted: false,
            changed_seq: id as u64,
            reactions: Vec::new(),
            reply_to: None,
            rich: crate::model::RichText::plain("hi"),
            mentions: Vec::new(),
            mentioned: Vec::new(),
        }
    }

    fn row(message: i64, emoji: &str, user: i64) -> ReactionRow {
        ReactionRow {
            message: MessageId(message),
            emoji: emoji.into(),
            person: Person {
                id: UserId(user),
                username: format!("u{user}"),
                display_name: format!("U{user}"),
            },
        }
    }

    #[test]
    fn rows_group_by_message_and_emoji_in_the_order_of_first_use() {
        let mut messages = vec![message(1), message(2)];
        attach(
            messages.views(),
            vec![
                row(1, "🎉", 3),
                row(1, "👍", 4),
                row(1, "🎉", 4),
                row(2, "👍", 3),
            ],
        );
        let first: Vec<(&str, u32)> = messages[0]
            .reactions
            .iter()
            .map(|view| (view.emoji.as_str(), view.count))
            .collect();
        assert_eq!(first, [("🎉", 2), ("👍", 1)]);
        let party: Vec<UserId> = messages[0].reactions[0]
            .people
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(party, [UserId(3), UserId(4)]);
        assert_eq!(messages[1].reactions.len(), 1);
    }

    #[test]
    fn the_count_stays_exact_past_the_people_named() {
        let mut messages = vec![message(1)];
        let rows = (0..PEOPLE_NAMED as i64 + 5)
            .map(|user| row(1, "👍", user))
            .collect();
        attach(messages.views(), rows);
        assert_eq!(messages[0].reactions[0].count, PEOPLE_NAMED as u32 + 5);
        assert_eq!(messages[0].reactions[0].people.len(), PEOPLE_NAMED);
    }
}
