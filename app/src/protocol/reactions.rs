//! Reactions on the wire: the closed set of emoji people may react with ([`Emoji`]), and how
//! a message carries its reactions ([`ReactionView`]).
//!
//! The set is closed on purpose: a reaction is one of these few strings, checked by the
//! server, so nobody stores or shows arbitrary text through it, and the "Reactions" dialog
//! offers exactly these. What "mine" means depends on who looks, while one `Changed` frame
//! goes to everyone, so a view names who reacted and each browser finds itself among them.

use serde::{Deserialize, Serialize};

use super::Person;
use crate::model::UserId;

/// Every emoji a reaction may be, in the order the "Reactions" dialog shows them.
pub const REACTION_EMOJI: [&str; 16] = [
    "👍", "👎", "❤️", "😂", "😮", "😢", "🎉", "🙏", "👀", "🔥", "✅", "❌", "🚀", "💯", "👏", "🤔",
];

/// At most this many of the people who reacted with one emoji are named in a view (the
/// count is always exact). A browser whose user reacted after them does not know it is
/// among them; the cap keeps a `Changed` frame small however large the room.
pub const PEOPLE_NAMED: usize = 25;

/// One of [`REACTION_EMOJI`], checked at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Emoji(&'static str);

impl Emoji {
    /// The emoji if `text` is exactly one of the set.
    pub fn parse(text: &str) -> Option<Self> {
        REACTION_EMOJI
            .iter()
            .find(|emoji| **emoji == text)
            .map(|emoji| Self(emoji))
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// One emoji's reactions on a message: how many people reacted with it and (up to
/// [`PEOPLE_NAMED`]) who, in the order they did. A message lists its emoji in the order
/// each was first used.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReactionView {
    pub emoji: String,
    pub count: u32,
    pub people: Vec<Person>,
}

impl ReactionView {
    /// Whether `user` is among the people named (what `aria-pressed` shows).
    pub fn includes(&self, user: UserId) -> bool {
        self.people.iter().any(|person| person.id == user)
    }

    /// Who reacted, for the tooltip: "Ana, Bo and 3 others".
    pub fn who(&self) -> String {
        let names: Vec<&str> = self
            .people
            .iter()
            .map(|person| person.display_name.as_str())
            .collect();
        let others = (self.count as usize).saturating_sub(names.len());
        match (names.as_slice(), others) {
            ([], _) => String::new(),
            ([only], 0) => (*only).to_owned(),
            ([rest @ .., last], 0) => format!("{} and {last}", rest.join(", ")),
            (names, 1) => format!("{} and 1 other", names.join(", ")),
            (names, others) => format!("{} and {others} others", names.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: i64, name: &str) -> Person {
        Person {
            id: UserId(id),
            username: name.to_lowercase(),
            display_name: name.into(),
        }
    }

    #[test]
    fn only_the_emoji_of_the_set_parse() {
        assert_eq!(Emoji::parse("👍").map(Emoji::as_str), Some("👍"));
        assert_eq!(Emoji::parse("❤️").map(Emoji::as_str), Some("❤️"));
        for refused in ["", "x", "👍👍", " 👍", "<b>", "❤"] {
            assert_eq!(Emoji::parse(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn the_set_has_no_repeats() {
        let mut emoji = REACTION_EMOJI.to_vec();
        emoji.sort_unstable();
        emoji.dedup();
        assert_eq!(emoji.len(), REACTION_EMOJI.len());
    }

    #[test]
    fn the_tooltip_names_people_and_counts_the_rest() {
        let one = ReactionView {
            emoji: "👍".into(),
            count: 1,
            people: vec![person(1, "Ana")],
        };
        assert_eq!(one.who(), "Ana");
        let three = ReactionView {
            count: 3,
            people: vec![person(1, "Ana"), person(2, "Bo"), person(3, "Cy")],
            ..one.clone()
        };
        assert_eq!(three.who(), "Ana, Bo and Cy");
        let capped = ReactionView {
            count: 60,
            people: vec![person(1, "Ana"), person(2, "Bo")],
            ..one.clone()
        };
        assert_eq!(capped.who(), "Ana, Bo and 58 others");
        assert!(capped.includes(UserId(2)));
        assert!(!capped.includes(UserId(3)));
    }
}
