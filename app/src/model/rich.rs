//! The rendered form of a message: [`RichText`], a small closed tree of blocks and inlines
//! that the server makes once from the Markdown source (`backend::markdown`, server only) and
//! both sides render as views (`components::chat::rich_text`).
//!
//! The tree can only say what chat Markdown needs: paragraphs, code blocks, quotes, lists,
//! and inside them text, strong, emphasis, strikethrough, inline code, links, mentions and
//! line breaks. There is no variant for HTML, images or attributes, so a stored or received
//! form cannot smuggle markup in: whatever it holds renders as text and these few elements.
//! Links are checked again here ([`safe_href`]) so that a form from an older server, or a
//! hand-made frame, cannot make a `javascript:` link either.
//!
//! Types only: parsing lives on the server, so the parser stays out of the wasm bundle.

use super::UserId;

mod wire;

/// A message's rendered form: its blocks, in order. Empty for a deleted message.
/// On the wire and in the database it is compact JSON arrays (`wire`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RichText {
    pub blocks: Vec<Block>,
}

/// A block: what stands on lines of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Paragraph {
        inlines: Vec<Inline>,
    },
    /// A fenced or indented code block, its text exactly as written.
    Code {
        language: Option<String>,
        text: String,
    },
    Quote {
        blocks: Vec<Block>,
    },
    /// A list; `start` is the first number of an ordered one (`None`: bullets).
    List {
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
}

/// A run of text inside a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text {
        text: String,
    },
    Strong {
        inlines: Vec<Inline>,
    },
    Emphasis {
        inlines: Vec<Inline>,
    },
    Strikethrough {
        inlines: Vec<Inline>,
    },
    Code {
        text: String,
    },
    /// A link; `href` is always `http:`, `https:` or `mailto:` (see [`safe_href`]).
    Link {
        href: String,
        inlines: Vec<Inline>,
    },
    /// `@username` of a room member, by id: shown with the person's current name.
    Mention {
        user: UserId,
    },
    LineBreak,
}

impl RichText {
    /// The form of text that has no Markdown in it: one paragraph, its line breaks kept.
    /// Messages stored before the parser existed read as this.
    pub fn plain(text: &str) -> Self {
        if text.is_empty() {
            return Self::default();
        }
        let mut inlines = Vec::new();
        for (index, line) in text.split('\n').enumerate() {
            if index > 0 {
                inlines.push(Inline::LineBreak);
            }
            let line = line.strip_suffix('\r').unwrap_or(line);
            if !line.is_empty() {
                inlines.push(Inline::Text { text: line.into() });
            }
        }
        Self {
            blocks: vec![Block::Paragraph { inlines }],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

/// Whether a link target may become a link: only `http:`, `https:` and `mailto:`, compared
/// without regard to case. Everything else (`javascript:`, `data:`, `vbscript:`, relative
/// paths, scheme-less tricks) stays text.
pub fn safe_href(href: &str) -> bool {
    let Some((scheme, rest)) = href.split_once(':') else {
        return false;
    };
    let allowed = ["http", "https", "mailto"]
        .iter()
        .any(|allowed| scheme.eq_ignore_ascii_case(allowed));
    // A scheme must be exactly the word: " javascript" or "java\tscript" never match above,
    // and a control character anywhere is refused outright.
    allowed && !rest.is_empty() && !href.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_one_paragraph_with_its_line_breaks() {
        assert_eq!(
            RichText::plain("안녕\n\nbye"),
            RichText {
                blocks: vec![Block::Paragraph {
                    inlines: vec![
                        Inline::Text {
                            text: "안녕".into()
                        },
                        Inline::LineBreak,
                        Inline::LineBreak,
                        Inline::Text { text: "bye".into() },
                    ]
                }]
            }
        );
        assert!(RichText::plain("").is_empty());
    }

    #[test]
    fn only_web_and_mail_links_are_safe() {
        for safe in [
            "https://example.com",
            "HTTP://x.y/",
            "mailto:ana@example.com",
        ] {
            assert!(safe_href(safe), "{safe}");
        }
        for unsafe_href in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>",
            "vbscript:x",
            "/relative",
            "https:",
            "https://a\u{0}b",
            " javascript:alert(1)",
        ] {
            assert!(!safe_href(unsafe_href), "{unsafe_href}");
        }
    }
}
