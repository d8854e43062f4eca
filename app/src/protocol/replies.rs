//! Replies on the wire: the quote a reply carries of the message it answers ([`ReplyQuote`]).
//!
//! A reply stores only the original's id; the quote is read with the reply each time, so it
//! shows the original as it is now: its author's current name, the start of its current
//! text, or "message deleted" once it is. It carries the original's `seq` so a browser can
//! find it in the room's history (loading earlier pages until it is there).

use serde::{Deserialize, Serialize};

use super::{MessageId, Person};

/// How many characters of the original a quote carries, at most.
pub const EXCERPT_CHARS: usize = 120;

/// The message a reply answers, as the reply shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplyQuote {
    pub id: MessageId,
    /// The original's place in the room's order.
    pub seq: u64,
    /// `None` once the original's author deleted their account.
    pub author: Option<Person>,
    /// The start of the original's text on one line (empty once deleted).
    pub excerpt: String,
    pub deleted: bool,
}

/// The start of `body` for a quote: whitespace (newlines included) folded to single spaces,
/// at most [`EXCERPT_CHARS`] characters, with "…" when something was cut.
pub fn excerpt(body: &str) -> String {
    let mut folded = String::new();
    let mut words = body.split_whitespace();
    let mut cut = false;
    for word in words.by_ref() {
        if !folded.is_empty() {
            folded.push(' ');
        }
        folded.push_str(word);
        if folded.chars().count() > EXCERPT_CHARS {
            cut = true;
            break;
        }
    }
    if !cut {
        return folded;
    }
    let mut short: String = folded.chars().take(EXCERPT_CHARS - 1).collect();
    short.truncate(short.trim_end().len());
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_text_is_quoted_whole_on_one_line() {
        assert_eq!(excerpt("  hello\n\nworld  "), "hello world");
        assert_eq!(excerpt("안녕하세요"), "안녕하세요");
    }

    #[test]
    fn a_long_text_is_cut_at_the_limit_in_characters_not_bytes() {
        let long = "가".repeat(500);
        let quoted = excerpt(&long);
        assert_eq!(quoted.chars().count(), EXCERPT_CHARS);
        assert!(quoted.ends_with('…'));
        let exact = "a".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&exact), exact);
    }
}
