//! How much of a room reaches someone as a browser notification: their level for that
//! membership. The level is kept per member on the server (so every tab and device of theirs
//! agrees) and applied in the browser, which is where notifications are raised.

use serde::{Deserialize, Serialize};

/// A member's notification level for one room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationLevel {
    /// Every message from someone else.
    All,
    /// Only messages that mention me.
    Mentions,
    /// None at all (unread counts still move).
    Nothing,
}

impl NotificationLevel {
    pub const CHOICES: [NotificationLevel; 3] = [
        NotificationLevel::All,
        NotificationLevel::Mentions,
        NotificationLevel::Nothing,
    ];

    /// What a membership has until its member chooses: a direct conversation is addressed
    /// to me, so all of it; a room talks among many, so only what mentions me.
    pub fn default_for(is_direct: bool) -> Self {
        if is_direct {
            NotificationLevel::All
        } else {
            NotificationLevel::Mentions
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationLevel::All => "all",
            NotificationLevel::Mentions => "mentions",
            NotificationLevel::Nothing => "nothing",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::CHOICES
            .into_iter()
            .find(|level| level.as_str() == text)
    }

    /// The choice as the room page names it.
    pub fn label(self) -> &'static str {
        match self {
            NotificationLevel::All => "All messages",
            NotificationLevel::Mentions => "Mentions only",
            NotificationLevel::Nothing => "Nothing",
        }
    }

    /// Whether a new message from someone else gets through: `mentions_me` when it
    /// mentions the member.
    pub fn lets_through(self, mentions_me: bool) -> bool {
        match self {
            NotificationLevel::All => true,
            NotificationLevel::Mentions => mentions_me,
            NotificationLevel::Nothing => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_default_to_mentions_and_direct_conversations_to_everything() {
        assert_eq!(
            NotificationLevel::default_for(false),
            NotificationLevel::Mentions
        );
        assert_eq!(NotificationLevel::default_for(true), NotificationLevel::All);
    }

    #[test]
    fn each_level_lets_through_what_it_says() {
        use NotificationLevel::*;
        let through =
            |level: NotificationLevel| (level.lets_through(false), level.lets_through(true));
        assert_eq!(through(All), (true, true));
        assert_eq!(through(Mentions), (false, true));
        assert_eq!(through(Nothing), (false, false));
    }

    #[test]
    fn levels_round_trip_through_their_names_and_nothing_else_parses() {
        for level in NotificationLevel::CHOICES {
            assert_eq!(NotificationLevel::parse(level.as_str()), Some(level));
        }
        assert_eq!(NotificationLevel::parse("All"), None);
        assert_eq!(NotificationLevel::parse(""), None);
    }
}
