//! A message's rendered form as views ([`RichBody`]): the closed tree of `model::rich`, each
//! node its element, text always as text (Leptos escapes it). There is no `inner_html` here
//! and no way to reach one: the tree has no variant for markup.
//!
//! Links open in a new tab with `rel="noopener noreferrer nofollow"` (the page they open
//! gets no handle on ours, no referrer and no ranking from us), and their targets are checked
//! once more, so a form that did not come from this server's parser cannot make a
//! `javascript:` link either. A mention shows the person's current display name, from the
//! message's `mentioned` list; it is marked when it names the viewer.
//!
//! Rendering is static: a message renders again as a whole when it changes (the timeline's
//! key holds its `changed_seq`), so no node here needs a signal.

use leptos::prelude::*;

use crate::model::UserId;
use crate::model::rich::{Block, Inline, RichText, safe_href};
use crate::protocol::Person;

/// Who the mentions in a form name: the message's `mentioned`, and who is looking.
pub(super) struct Names<'a> {
    pub mentioned: &'a [Person],
    pub me: Option<UserId>,
}

/// The blocks of `rich` (a paragraph per block of text; lists, quotes and code as their
/// elements), with `after` (the "(edited)" mark) at the end of the last paragraph, where a
/// plain message always had it, or on its own after any other block.
pub(super) fn rich_blocks(rich: &RichText, names: &Names<'_>, after: Option<AnyView>) -> AnyView {
    let last = rich.blocks.len().saturating_sub(1);
    let mut after = after;
    let mut views: Vec<AnyView> = Vec::with_capacity(rich.blocks.len() + 1);
    for (index, block) in rich.blocks.iter().enumerate() {
        match block {
            Block::Paragraph { inlines } if index == last => {
                let end = after.take();
                views.push(view! { <p>{inline_views(inlines, names)}{end}</p> }.into_any());
            }
            block => views.push(block_view(block, names)),
        }
    }
    if let Some(after) = after {
        views.push(view! { <p>{after}</p> }.into_any());
    }
    views.into_any()
}

fn block_view(block: &Block, names: &Names<'_>) -> AnyView {
    match block {
        Block::Paragraph { inlines } => view! { <p>{inline_views(inlines, names)}</p> }.into_any(),
        Block::Code { language, text } => {
            // A class only from a plain word: it is an attribute either way (escaped), but a
            // stylesheet or highlighter should never see anything odd in it.
            let class = language
                .as_deref()
                .filter(|language| {
                    language
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '-' | '_'))
                })
                .map(|language| format!("language-{language}"));
            view! { <pre><code class=class>{text.clone()}</code></pre> }.into_any()
        }
        Block::Quote { blocks } => view! {
            <blockquote>
                {blocks.iter().map(|block| block_view(block, names)).collect_view()}
            </blockquote>
        }
        .into_any(),
        Block::List { start, items } => {
            let items = items
                .iter()
                .map(|item| {
                    view! {
                        <li>{item.iter().map(|block| block_view(block, names)).collect_view()}</li>
                    }
                })
                .collect_view();
            match start {
                Some(start) => view! { <ol start=start.to_string()>{items}</ol> }.into_any(),
                None => view! { <ul>{items}</ul> }.into_any(),
            }
        }
    }
}

fn inline_views(inlines: &[Inline], names: &Names<'_>) -> Vec<AnyView> {
    inlines
        .iter()
        .map(|inline| inline_view(inline, names))
        .collect()
}

fn inline_view(inline: &Inline, names: &Names<'_>) -> AnyView {
    match inline {
        Inline::Text { text } => text.clone().into_any(),
        Inline::Strong { inlines } => {
            view! { <strong>{inline_views(inlines, names)}</strong> }.into_any()
        }
        Inline::Emphasis { inlines } => {
            view! { <em>{inline_views(inlines, names)}</em> }.into_any()
        }
        Inline::Strikethrough { inlines } => {
            view! { <del>{inline_views(inlines, names)}</del> }.into_any()
        }
        Inline::Code { text } => view! { <code>{text.clone()}</code> }.into_any(),
        Inline::Link { href, inlines } if safe_href(href) => view! {
            <a href=href.clone() target="_blank" rel="noopener noreferrer nofollow">
                {inline_views(inlines, names)}
            </a>
        }
        .into_any(),
        // Not a link this side accepts: its words only.
        Inline::Link { inlines, .. } => inline_views(inlines, names).into_any(),
        Inline::Mention { user } => {
            let person = names.mentioned.iter().find(|person| person.id == *user);
            let name = person.map_or_else(
                || "@deleted user".to_owned(),
                |person| format!("@{}", person.display_name),
            );
            let username = person.map(|person| format!("@{}", person.username));
            let me = names.me == Some(*user);
            view! { <span class="mention" class:me=me title=username>{name}</span> }.into_any()
        }
        // A newline in the body's `white-space: pre-wrap`, as plain messages always had: the
        // text reads (and copies) with its line breaks.
        Inline::LineBreak => "\n".into_any(),
    }
}

/// The text of a form without its markup, for a one-line preview (the `/mentions` list).
pub fn preview(rich: &RichText, mentioned: &[Person]) -> String {
    fn inlines_text(inlines: &[Inline], mentioned: &[Person], out: &mut String) {
        for inline in inlines {
            match inline {
                Inline::Text { text } | Inline::Code { text } => out.push_str(text),
                Inline::Strong { inlines }
                | Inline::Emphasis { inlines }
                | Inline::Strikethrough { inlines }
                | Inline::Link { inlines, .. } => inlines_text(inlines, mentioned, out),
                Inline::Mention { user } => {
                    out.push('@');
                    match mentioned.iter().find(|person| person.id == *user) {
                        Some(person) => out.push_str(&person.display_name),
                        None => out.push_str("deleted user"),
                    }
                }
                Inline::LineBreak => out.push(' '),
            }
        }
    }
    fn blocks_text(blocks: &[Block], mentioned: &[Person], out: &mut String) {
        for block in blocks {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            match block {
                Block::Paragraph { inlines } => inlines_text(inlines, mentioned, out),
                Block::Code { text, .. } => out.push_str(text),
                Block::Quote { blocks } => blocks_text(blocks, mentioned, out),
                Block::List { items, .. } => {
                    for item in items {
                        blocks_text(item, mentioned, out);
                    }
                }
            }
        }
    }
    let mut out = String::new();
    blocks_text(&rich.blocks, mentioned, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_names_the_mentioned_by_their_current_name_and_drops_the_markup() {
        let rich = RichText {
            blocks: vec![
                Block::Paragraph {
                    inlines: vec![
                        Inline::Strong {
                            inlines: vec![Inline::Text { text: "hi".into() }],
                        },
                        Inline::Text { text: " ".into() },
                        Inline::Mention { user: UserId(2) },
                    ],
                },
                Block::Code {
                    language: None,
                    text: "x = 1".into(),
                },
            ],
        };
        let ana = Person {
            id: UserId(2),
            username: "ana".into(),
            display_name: "Ana Kim".into(),
        };
        assert_eq!(preview(&rich, &[ana]), "hi @Ana Kim x = 1");
        assert_eq!(preview(&rich, &[]), "hi @deleted user x = 1");
    }
}
