//! Browser notifications: which new messages raise one, and what it says. The decision is
//! made here, natively testable; `browser` raises it (the Notification API) when the tab is
//! hidden and the browser has granted permission.
//!
//! A message raises a notification when it is someone else's new post, in a room the tab
//! knows (from the "Rooms" navigation), heard live, and the member's level there lets it
//! through (see [`NotificationLevel`]). What a resume replays after a night offline is not
//! news: it raises nothing (the feed knows when its subscription is live; the browser's
//! clock is not trusted to tell old from new). Each notification is tagged with its room,
//! so a burst shows as the room's latest message rather than a stack, and the tabs of one
//! browser that all hear a message show it once.

use crate::model::{NotificationLevel, RoomId, UserId};
use crate::protocol::MessageView;

/// What the tab knows about a room it may notify for: its name and the member's level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownRoom {
    pub name: String,
    pub is_direct: bool,
    pub notify: NotificationLevel,
}

/// A notification to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub title: String,
    pub body: String,
    /// Identifies the room (`sori-room-{id}`): a newer message replaces the older one, and
    /// the same message raised by two tabs shows once. Clicking opens the room it names.
    pub tag: String,
    pub room: RoomId,
}

/// Whether this browser will show notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// No Notification API here (or not yet known: before hydration).
    Unsupported,
    /// Not asked yet: asking needs a click.
    Ask,
    Granted,
    Denied,
}

/// How much of the message the notification shows.
const BODY_CHARS: usize = 200;

/// The notification `message`, heard live, raises for `me`, if any; `mentions_me` when it
/// mentions them.
pub fn notification_for(
    room: Option<&KnownRoom>,
    message: &MessageView,
    me: UserId,
    mentions_me: bool,
) -> Option<Notification> {
    let room = room?;
    let author = message.author.as_ref()?;
    if author.id == me || message.deleted || !room.notify.lets_through(mentions_me) {
        return None;
    }
    let title = if room.is_direct {
        author.display_name.clone()
    } else {
        format!("{} in {}", author.display_name, room.name)
    };
    let mut body: String = message.body.chars().take(BODY_CHARS).collect();
    if message.body.chars().count() > BODY_CHARS {
        body.push('…');
    }
    Some(Notification {
        title,
        body,
        tag: room_tag(message.room),
        room: message.room,
    })
}

/// The tag of a room's notifications.
pub fn room_tag(room: RoomId) -> String {
    format!("sori-room-{room}")
}

/// The room a notification's tag names.
pub fn room_of_tag(tag: &str) -> Option<RoomId> {
    tag.strip_prefix("sori-room-")?.parse().ok()
}

/// The document's title: the page's, then "Sori", led by the unread count when there is one
/// ("(3) General · Sori"), so a tab in the background shows that something came.
pub fn page_title(page: &str, unread: u64) -> String {
    let title = if page.is_empty() {
        "Sori".to_owned()
    } else {
        format!("{page} · Sori")
    };
    if unread == 0 {
        title
    } else {
        format!("({unread}) {title}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientId, MessageId, Person};

    const ME: UserId = UserId(5);
    const POSTED_MS: i64 = 1_700_000_000_000;

    fn message(author: i64, body: &str) -> MessageView {
        MessageView {
            id: MessageId(40),
            room: RoomId(3),
            seq: 7,
            client_id: ClientId::parse("0b8e6a3e-5f1c-4c35-9a2b-2f4b8c1d9e70").unwrap(),
            author: Some(Person {
                id: UserId(author),
                username: "jisoo".into(),
                display_name: "Jisoo".into(),
            }),
            body: body.into(),
            created_ms: POSTED_MS,
            edited_ms: None,
            deleted: false,
            changed_seq: 7,
            reactions: Vec::new(),
            reply_to: None,
            rich: crate::model::RichText::plain(body),
            mentions: Vec::new(),
            mentioned: Vec::new(),
        }
    }

    fn room(is_direct: bool, notify: NotificationLevel) -> KnownRoom {
        KnownRoom {
            name: "General".into(),
            is_direct,
            notify,
        }
    }

    #[test]
    fn a_message_names_its_author_and_room_and_is_tagged_with_itself() {
        let all = room(false, NotificationLevel::All);
        let raised = notification_for(Some(&all), &message(9, "회의는 3시"), ME, false);
        assert_eq!(
            raised,
            Some(Notification {
                title: "Jisoo in General".into(),
                body: "회의는 3시".into(),
                tag: "sori-room-3".into(),
                room: RoomId(3),
            })
        );
        let direct = room(true, NotificationLevel::All);
        let raised = notification_for(Some(&direct), &message(9, "hi"), ME, false).unwrap();
        assert_eq!(raised.title, "Jisoo", "a direct conversation is its author");
    }

    #[test]
    fn the_level_decides_and_my_own_deleted_or_unknown_rooms_messages_raise_nothing() {
        let them = message(9, "hello");
        let mentions = room(false, NotificationLevel::Mentions);
        assert_eq!(notification_for(Some(&mentions), &them, ME, false), None);
        assert!(notification_for(Some(&mentions), &them, ME, true).is_some());
        let nothing = room(true, NotificationLevel::Nothing);
        assert_eq!(notification_for(Some(&nothing), &them, ME, true), None);

        let all = room(false, NotificationLevel::All);
        assert_eq!(
            notification_for(Some(&all), &message(5, "mine"), ME, true),
            None
        );
        let mut deleted = message(9, "");
        deleted.deleted = true;
        assert_eq!(notification_for(Some(&all), &deleted, ME, false), None);
        assert_eq!(notification_for(None, &them, ME, true), None);
    }

    #[test]
    fn a_tag_names_its_room() {
        assert_eq!(room_of_tag(&room_tag(RoomId(12))), Some(RoomId(12)));
        assert_eq!(room_of_tag("sori-room-x"), None);
        assert_eq!(room_of_tag("other"), None);
    }

    #[test]
    fn a_long_message_is_cut_to_the_start_of_its_text() {
        let all = room(false, NotificationLevel::All);
        let long = "가".repeat(500);
        let raised = notification_for(Some(&all), &message(9, &long), ME, false).unwrap();
        assert_eq!(raised.body.chars().count(), BODY_CHARS + 1);
        assert!(raised.body.ends_with('…'));
    }

    #[test]
    fn the_title_leads_with_the_unread_count_when_there_is_one() {
        assert_eq!(page_title("", 0), "Sori");
        assert_eq!(page_title("", 3), "(3) Sori");
        assert_eq!(page_title("General", 0), "General · Sori");
        assert_eq!(page_title("General", 12), "(12) General · Sori");
    }
}
