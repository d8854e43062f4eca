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
                let mut children = inline_views(inlines, names);
                children.extend(after.take());
                views.push(element("p", children));
            }
            block => views.push(block_view(block, names)),
        }
    }
    if let Some(after) = after {
        views.push(element("p", vec![after]));
    }
    views.into_any()
}

fn block_view(block: &Block, names: &Names<'_>) -> AnyView {
    match block {
        Block::Paragraph { inlines } => element("p", inline_views(inlines, names)),
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
        Block::Quote { blocks } => element("blockquote", block_views(blocks, names)),
        Block::List { start, items } => {
            let items: Vec<AnyView> = items
                .iter()
                .map(|item| element("li", block_views(item, names)))
                .collect();
            match start {
                Some(start) => view! { <ol start=start.to_string()>{items}</ol> }.into_any(),
                None => element("ul", items),
            }
        }
    }
}

/// An element that has children and no attributes. One type serves every such tag, so the
/// bundle carries one copy of the code that builds, hydrates and updates it instead of one
/// per tag.
fn element(tag: &'static str, children: Vec<AnyView>) -> AnyView {
    leptos::html::custom(tag).child(children).into_any()
}

fn block_views(blocks: &[Block], names: &Names<'_>) -> Vec<AnyView> {
    blocks
        .iter()
        .map(|block| block_view(block, names))
        .collect()
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
        Inline::Strong { inlines } => element("strong", inline_views(inlines, names)),
        Inline::Emphasis { inlines } => element("em", inline_views(inlines, names)),
        Inline::Strikethrough { inlines } => element("del", inline_views(inlines, names)),
        Inline::Code { text } => element("code", vec![text.clone().into_any()]),
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

    /// The served HTML of a form, without the hydration markers between text nodes.
    #[cfg(feature = "ssr")]
    fn html(rich: &RichText, mentioned: &[Person], me: Option<UserId>) -> String {
        let names = Names { mentioned, me };
        rich_blocks(rich, &names, None).to_html().replace("<!>", "")
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_hand_made_form_cannot_make_a_script_link_and_web_links_open_safely() {
        let text = |text: &str| Inline::Text { text: text.into() };
        let rich = RichText {
            blocks: vec![Block::Paragraph {
                inlines: vec![
                    Inline::Link {
                        href: "javascript:alert(1)".into(),
                        inlines: vec![text("evil")],
                    },
                    Inline::Link {
                        href: "https://example.com/".into(),
                        inlines: vec![text("<b>ok</b>")],
                    },
                ],
            }],
        };
        let served = html(&rich, &[], None);
        assert!(!served.contains("javascript"), "{served}");
        assert_eq!(
            served,
            "<p>evil<a href=\"https://example.com/\" target=\"_blank\" \
             rel=\"noopener noreferrer nofollow\">&lt;b&gt;ok&lt;/b&gt;</a></p>"
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_mention_shows_the_current_name_and_is_marked_for_the_person_it_names() {
        let rich = RichText {
            blocks: vec![Block::Paragraph {
                inlines: vec![Inline::Mention { user: UserId(2) }],
            }],
        };
        let ana = Person {
            id: UserId(2),
            username: "ana".into(),
            display_name: "Ana Kim".into(),
        };
        let for_ana = html(&rich, std::slice::from_ref(&ana), Some(UserId(2)));
        assert!(for_ana.contains(r#"class="mention me""#), "{for_ana}");
        assert!(for_ana.contains(">@Ana Kim</span>"), "{for_ana}");
        let for_others = html(&rich, &[ana], Some(UserId(3)));
        assert!(!for_others.contains("mention me"), "{for_others}");
        assert!(html(&rich, &[], None).contains("@deleted user"));
    }

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
