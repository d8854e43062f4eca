//! A message's rendered form ([`RichBody`]): the closed tree of `model::rich`, each node its
//! element, text always as text. There is no `inner_html` here and no way to reach one: the
//! tree has no variant for markup, the served HTML escapes every text and attribute, and the
//! browser makes text nodes.
//!
//! Links open in a new tab with `rel="noopener noreferrer nofollow"` (the page they open
//! gets no handle on ours, no referrer and no ranking from us), and their targets are checked
//! once more, so a form that did not come from this server's parser cannot make a
//! `javascript:` link either. A mention shows the person's current display name, from the
//! message's `mentioned` list; it is marked when it names the viewer.
//!
//! Rendering is static: a message renders again as a whole when it changes (the timeline's
//! key holds its `changed_seq`), so no node here needs a signal. That is why the body is one
//! view of its own rather than a view per node: the server writes its HTML in one walk over
//! the tree, hydration claims its element without descending into it, and the browser builds
//! the same elements from the same walk ([`Sink`]). As views, a page of fifty messages was
//! about a thousand boxed views to render on the server and to walk while hydrating.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::tachys::html::attribute::Attribute;
use leptos::tachys::html::attribute::any_attribute::AnyAttribute;
use leptos::tachys::hydration::Cursor;
use leptos::tachys::renderer::types::{Element, Node};
use leptos::tachys::renderer::{CastFrom, Rndr};
use leptos::tachys::view::{Position, PositionState};

use crate::model::UserId;
use crate::model::rich::{Block, Inline, RichText, safe_href};
use crate::protocol::Person;

/// A message's body: `<div class="body">` holding its form, with the "(edited)" mark at the
/// end of the last paragraph (where a plain message always had it), or on its own after any
/// other block.
#[derive(Clone)]
pub(super) struct RichBody {
    pub rich: Arc<RichText>,
    /// The message's `mentioned`: who its mentions name, as they are named now.
    pub mentioned: Arc<[Person]>,
    /// Who is looking: their mentions are marked.
    pub me: Option<UserId>,
    pub edited: bool,
}

/// Where one walk over a form goes: the served HTML ([`HtmlSink`]) or the browser's DOM
/// ([`DomSink`]). Attributes whose value is `None` are left out.
trait Sink {
    fn open(&mut self, tag: &'static str, attributes: &[(&'static str, Option<&str>)]);
    fn text(&mut self, text: &str);
    fn close(&mut self);
}

impl RichBody {
    fn walk(&self, sink: &mut impl Sink) {
        sink.open("div", &[("class", Some("body"))]);
        let blocks = &self.rich.blocks;
        let ends_in_paragraph = matches!(blocks.last(), Some(Block::Paragraph { .. }));
        for (index, block) in blocks.iter().enumerate() {
            match block {
                Block::Paragraph { inlines } if index + 1 == blocks.len() => {
                    sink.open("p", &[]);
                    self.inlines(inlines, sink);
                    self.edited_mark(sink);
                    sink.close();
                }
                block => self.block(block, sink),
            }
        }
        if self.edited && !ends_in_paragraph {
            sink.open("p", &[]);
            self.edited_mark(sink);
            sink.close();
        }
        sink.close();
    }

    fn edited_mark(&self, sink: &mut impl Sink) {
        if self.edited {
            sink.text(" ");
            sink.open("span", &[("class", Some("edited"))]);
            sink.text("(edited)");
            sink.close();
        }
    }

    fn block(&self, block: &Block, sink: &mut impl Sink) {
        match block {
            Block::Paragraph { inlines } => {
                sink.open("p", &[]);
                self.inlines(inlines, sink);
                sink.close();
            }
            Block::Code { language, text } => {
                // A class only from a plain word: it is an escaped attribute either way, but
                // a stylesheet or highlighter should never see anything odd in it.
                let class = language
                    .as_deref()
                    .filter(|language| {
                        language.chars().all(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '-' | '_')
                        })
                    })
                    .map(|language| format!("language-{language}"));
                sink.open("pre", &[]);
                sink.open("code", &[("class", class.as_deref())]);
                sink.text(text);
                sink.close();
                sink.close();
            }
            Block::Quote { blocks } => {
                sink.open("blockquote", &[]);
                for block in blocks {
                    self.block(block, sink);
                }
                sink.close();
            }
            Block::List { start, items } => {
                let start = start.map(|start| start.to_string());
                match start {
                    Some(start) => sink.open("ol", &[("start", Some(&start))]),
                    None => sink.open("ul", &[]),
                }
                for item in items {
                    sink.open("li", &[]);
                    for block in item {
                        self.block(block, sink);
                    }
                    sink.close();
                }
                sink.close();
            }
        }
    }

    fn inlines(&self, inlines: &[Inline], sink: &mut impl Sink) {
        for inline in inlines {
            self.inline(inline, sink);
        }
    }

    fn inline(&self, inline: &Inline, sink: &mut impl Sink) {
        match inline {
            Inline::Text { text } => sink.text(text),
            Inline::Strong { inlines } => self.wrapped("strong", inlines, sink),
            Inline::Emphasis { inlines } => self.wrapped("em", inlines, sink),
            Inline::Strikethrough { inlines } => self.wrapped("del", inlines, sink),
            Inline::Code { text } => {
                sink.open("code", &[]);
                sink.text(text);
                sink.close();
            }
            Inline::Link { href, inlines } if safe_href(href) => {
                sink.open(
                    "a",
                    &[
                        ("href", Some(href)),
                        ("target", Some("_blank")),
                        ("rel", Some("noopener noreferrer nofollow")),
                    ],
                );
                self.inlines(inlines, sink);
                sink.close();
            }
            // Not a link this side accepts: its words only.
            Inline::Link { inlines, .. } => self.inlines(inlines, sink),
            Inline::Mention { user } => {
                let person = self.mentioned.iter().find(|person| person.id == *user);
                let name = person.map_or_else(
                    || "@deleted user".to_owned(),
                    |person| format!("@{}", person.display_name),
                );
                let username = person.map(|person| format!("@{}", person.username));
                let class = if self.me == Some(*user) {
                    "mention me"
                } else {
                    "mention"
                };
                sink.open(
                    "span",
                    &[("class", Some(class)), ("title", username.as_deref())],
                );
                sink.text(&name);
                sink.close();
            }
            // A newline in the body's `white-space: pre-wrap`, as plain messages always had:
            // the text reads (and copies) with its line breaks.
            Inline::LineBreak => sink.text("\n"),
        }
    }

    fn wrapped(&self, tag: &'static str, inlines: &[Inline], sink: &mut impl Sink) {
        sink.open(tag, &[]);
        self.inlines(inlines, sink);
        sink.close();
    }

    /// The served HTML: every text and attribute value escaped.
    fn write_html(&self, buf: &mut String) {
        self.walk(&mut HtmlSink {
            buf,
            open: Vec::new(),
        });
    }

    /// The browser's elements, made from the same walk (no HTML is parsed).
    fn build_element(&self) -> Element {
        let mut sink = DomSink {
            root: None,
            open: Vec::new(),
        };
        self.walk(&mut sink);
        sink.root.expect("the walk opens the body element")
    }

    /// Whether `other` would make the same elements. The viewer is only known after
    /// hydration (the server renders for nobody in particular), so every body is asked again
    /// then: only one that mentions the viewer, whose mark changes, is built anew.
    fn same_as(&self, other: &RichBody) -> bool {
        let same_marks = self.me == other.me
            || ![self.me, other.me]
                .into_iter()
                .flatten()
                .any(|viewer| mentions_in_blocks(&self.rich.blocks, viewer));
        Arc::ptr_eq(&self.rich, &other.rich)
            && Arc::ptr_eq(&self.mentioned, &other.mentioned)
            && self.edited == other.edited
            && same_marks
    }
}

/// Whether `blocks` mention `user` anywhere.
fn mentions_in_blocks(blocks: &[Block], user: UserId) -> bool {
    blocks.iter().any(|block| match block {
        Block::Paragraph { inlines } => mentions_in_inlines(inlines, user),
        Block::Code { .. } => false,
        Block::Quote { blocks } => mentions_in_blocks(blocks, user),
        Block::List { items, .. } => items.iter().any(|item| mentions_in_blocks(item, user)),
    })
}

fn mentions_in_inlines(inlines: &[Inline], user: UserId) -> bool {
    inlines.iter().any(|inline| match inline {
        Inline::Mention { user: named } => *named == user,
        Inline::Strong { inlines }
        | Inline::Emphasis { inlines }
        | Inline::Strikethrough { inlines }
        | Inline::Link { inlines, .. } => mentions_in_inlines(inlines, user),
        Inline::Text { .. } | Inline::Code { .. } | Inline::LineBreak => false,
    })
}

struct HtmlSink<'a> {
    buf: &'a mut String,
    open: Vec<&'static str>,
}

impl Sink for HtmlSink<'_> {
    fn open(&mut self, tag: &'static str, attributes: &[(&'static str, Option<&str>)]) {
        self.buf.push('<');
        self.buf.push_str(tag);
        for (name, value) in attributes {
            if let Some(value) = value {
                self.buf.push(' ');
                self.buf.push_str(name);
                self.buf.push_str("=\"");
                html_escape::encode_double_quoted_attribute_to_string(value, self.buf);
                self.buf.push('"');
            }
        }
        self.buf.push('>');
        self.open.push(tag);
    }

    fn text(&mut self, text: &str) {
        html_escape::encode_text_to_string(text, self.buf);
    }

    fn close(&mut self) {
        let tag = self.open.pop().expect("closed as often as opened");
        self.buf.push_str("</");
        self.buf.push_str(tag);
        self.buf.push('>');
    }
}

struct DomSink {
    root: Option<Element>,
    open: Vec<Element>,
}

impl Sink for DomSink {
    fn open(&mut self, tag: &'static str, attributes: &[(&'static str, Option<&str>)]) {
        let element = Rndr::create_element(tag, None);
        for (name, value) in attributes {
            if let Some(value) = value {
                Rndr::set_attribute(&element, name, value);
            }
        }
        match self.open.last() {
            Some(parent) => Rndr::insert_node(parent, &element, None),
            None => self.root = Some(element.clone()),
        }
        self.open.push(element);
    }

    fn text(&mut self, text: &str) {
        let parent = self.open.last().expect("text is inside the body element");
        Rndr::insert_node(parent, &Rndr::create_text_node(text), None);
    }

    fn close(&mut self) {
        self.open.pop();
    }
}

/// The body in the page: its element, and what it was made from (to skip an equal rebuild).
pub(super) struct RichBodyState {
    element: Element,
    made_from: RichBody,
}

impl Mountable for RichBodyState {
    fn unmount(&mut self) {
        self.element.unmount();
    }

    fn mount(&mut self, parent: &Element, marker: Option<&Node>) {
        self.element.mount(parent, marker);
    }

    fn insert_before_this(&self, child: &mut dyn Mountable) -> bool {
        self.element.insert_before_this(child)
    }

    fn elements(&self) -> Vec<Element> {
        vec![self.element.clone()]
    }
}

impl Render for RichBody {
    type State = RichBodyState;

    fn build(self) -> Self::State {
        RichBodyState {
            element: self.build_element(),
            made_from: self,
        }
    }

    fn rebuild(self, state: &mut Self::State) {
        if self.same_as(&state.made_from) {
            return;
        }
        let mut element = self.build_element();
        state.element.insert_before_this(&mut element);
        state.element.unmount();
        *state = RichBodyState {
            element,
            made_from: self,
        };
    }
}

impl AddAnyAttr for RichBody {
    type Output<SomeNewAttr: Attribute> = Self;

    /// The body takes no attributes from outside: its element is its own.
    fn add_any_attr<NewAttr: Attribute>(self, _attr: NewAttr) -> Self::Output<NewAttr> {
        self
    }
}

impl RenderHtml for RichBody {
    type AsyncOutput = Self;
    type Owned = Self;

    const MIN_LENGTH: usize = "<div class=\"body\"></div>".len();

    fn html_len(&self) -> usize {
        // A guess for the buffer: markup adds about as much again as the text.
        Self::MIN_LENGTH + 64 * self.rich.blocks.len()
    }

    fn dry_resolve(&mut self) {}

    async fn resolve(self) -> Self::AsyncOutput {
        self
    }

    fn to_html_with_buf(
        self,
        buf: &mut String,
        position: &mut Position,
        _escape: bool,
        _mark_branches: bool,
        _extra_attrs: Vec<AnyAttribute>,
    ) {
        self.write_html(buf);
        // An element: whatever follows needs no marker to be told apart from it.
        *position = Position::NextChild;
    }

    /// Claims the server's element as it is: nothing inside it is reactive, so hydration
    /// does not walk its nodes.
    fn hydrate<const FROM_SERVER: bool>(
        self,
        cursor: &Cursor,
        position: &PositionState,
    ) -> Self::State {
        match position.get() {
            Position::FirstChild => cursor.child(),
            Position::Current => {}
            _ => cursor.sibling(),
        }
        position.set(Position::NextChild);
        // Hydration follows the server's page node by node; the body is always an element.
        let element = Element::cast_from(cursor.current())
            .expect("the server rendered a message body element here");
        RichBodyState {
            element,
            made_from: self,
        }
    }

    fn into_owned(self) -> Self::Owned {
        self
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

    /// The served HTML of a form.
    #[cfg(feature = "ssr")]
    fn html(rich: &RichText, mentioned: &[Person], me: Option<UserId>) -> String {
        body(rich, mentioned, me, false).to_html()
    }

    #[cfg(feature = "ssr")]
    fn body(rich: &RichText, mentioned: &[Person], me: Option<UserId>, edited: bool) -> RichBody {
        RichBody {
            rich: Arc::new(rich.clone()),
            mentioned: mentioned.into(),
            me,
            edited,
        }
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
            "<div class=\"body\"><p>evil<a href=\"https://example.com/\" target=\"_blank\" \
             rel=\"noopener noreferrer nofollow\">&lt;b&gt;ok&lt;/b&gt;</a></p></div>"
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn every_node_is_served_as_its_element_with_the_edited_mark_in_the_last_paragraph() {
        let text = |text: &str| Inline::Text { text: text.into() };
        let rich = RichText {
            blocks: vec![
                Block::Quote {
                    blocks: vec![Block::Paragraph {
                        inlines: vec![
                            Inline::Strong {
                                inlines: vec![text("b")],
                            },
                            Inline::Emphasis {
                                inlines: vec![text("i")],
                            },
                            Inline::Strikethrough {
                                inlines: vec![text("s")],
                            },
                            Inline::Code { text: "c".into() },
                            Inline::LineBreak,
                            text("회의"),
                        ],
                    }],
                },
                Block::List {
                    start: Some(3),
                    items: vec![vec![Block::Paragraph {
                        inlines: vec![text("three")],
                    }]],
                },
                Block::List {
                    start: None,
                    items: vec![vec![Block::Code {
                        language: Some("rust".into()),
                        text: "fn main() {}".into(),
                    }]],
                },
                Block::Code {
                    language: Some("no way\"".into()),
                    text: "x".into(),
                },
                Block::Paragraph {
                    inlines: vec![text("last")],
                },
            ],
        };
        assert_eq!(
            body(&rich, &[], None, true).to_html(),
            "<div class=\"body\"><blockquote><p><strong>b</strong><em>i</em><del>s</del>\
             <code>c</code>\n회의</p></blockquote><ol start=\"3\"><li><p>three</p></li></ol>\
             <ul><li><pre><code class=\"language-rust\">fn main() {}</code></pre></li></ul>\
             <pre><code>x</code></pre><p>last <span class=\"edited\">(edited)</span></p></div>"
        );
        // After any other block, and in a body with no blocks, the mark is a paragraph.
        let code = RichText {
            blocks: vec![Block::Code {
                language: None,
                text: "x".into(),
            }],
        };
        assert_eq!(
            body(&code, &[], None, true).to_html(),
            "<div class=\"body\"><pre><code>x</code></pre>\
             <p> <span class=\"edited\">(edited)</span></p></div>"
        );
        assert_eq!(
            body(&RichText::default(), &[], None, false).to_html(),
            "<div class=\"body\"></div>"
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn texts_and_attribute_values_are_escaped_where_they_are_served() {
        let rich = RichText {
            blocks: vec![Block::Paragraph {
                inlines: vec![
                    Inline::Text {
                        text: "a < b && c > d <script>alert(1)</script>".into(),
                    },
                    Inline::Link {
                        href: "https://example.com/?q=\"><img src=x onerror=alert(1)>".into(),
                        inlines: vec![Inline::Text { text: "x".into() }],
                    },
                    Inline::Mention { user: UserId(2) },
                ],
            }],
        };
        let sly = Person {
            id: UserId(2),
            username: "a\"b".into(),
            display_name: "<i>Sly</i>".into(),
        };
        let served = html(&rich, &[sly], None);
        assert_eq!(
            served,
            "<div class=\"body\"><p>a &lt; b &amp;&amp; c &gt; d &lt;script&gt;alert(1)&lt;/script&gt;\
             <a href=\"https://example.com/?q=&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\" \
             target=\"_blank\" rel=\"noopener noreferrer nofollow\">x</a>\
             <span class=\"mention\" title=\"@a&quot;b\">@&lt;i&gt;Sly&lt;/i&gt;</span></p></div>"
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
    fn once_the_viewer_is_known_only_a_body_that_mentions_them_is_built_again() {
        let quoted_mention = RichText {
            blocks: vec![Block::Quote {
                blocks: vec![Block::Paragraph {
                    inlines: vec![Inline::Strong {
                        inlines: vec![Inline::Mention { user: UserId(5) }],
                    }],
                }],
            }],
        };
        let served = RichBody {
            rich: Arc::new(quoted_mention),
            mentioned: Arc::from(Vec::new()),
            me: None,
            edited: false,
        };
        let for_viewer = |me| RichBody {
            me: Some(UserId(me)),
            ..served.clone()
        };
        assert!(
            !served.same_as(&for_viewer(5)),
            "the mention of the viewer is marked"
        );
        assert!(
            served.same_as(&for_viewer(7)),
            "nothing here marks someone else"
        );
        assert!(!for_viewer(7).same_as(&for_viewer(5)));
        let edited = RichBody {
            edited: true,
            ..served.clone()
        };
        assert!(!served.same_as(&edited));
        let other_form = RichBody {
            rich: Arc::new(RichText::plain("@ana")),
            ..served.clone()
        };
        assert!(!served.same_as(&other_form));
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
