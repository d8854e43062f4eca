//! Markdown source to [`RichText`]: the one place a message's text is parsed, on the server,
//! once per post and once per edit. The form is stored beside the source, so reading history
//! never parses again, and the browser (which has no parser: it stays out of the wasm bundle)
//! renders the stored form as views.
//!
//! [`pulldown_cmark`] parses the CommonMark subset chat uses (strikethrough is the only
//! extension); this module folds its events into the closed tree and decides what survives:
//!
//! - raw HTML, inline or block, becomes text, exactly as typed;
//! - a link survives only with an `http:`, `https:` or `mailto:` target; any other becomes
//!   its text; images become their description;
//! - bare `http(s)://` addresses in text become links (CommonMark has no such extension), and
//!   `@username` of a room member becomes a mention, by id;
//! - a soft line break stays a line break, as chat users expect; headings read as bold
//!   paragraphs and a thematic break as its text.
//!
//! A hostile input cannot blow the tree up: past [`MAX_DEPTH`] levels of nesting or
//! [`MAX_NODES`] nodes the whole message falls back to its plain form (one paragraph of
//! text), which is linear in its length. The body is at most 4,000 characters, and
//! pulldown-cmark's own parse is linear-time by design, so the time is bounded too.
//!
//! It does not check who may mention whom, count mentions or store anything: the caller gives
//! the members to resolve against and keeps the result.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd, TextMergeStream};

use crate::model::UserId;
use crate::model::rich::{Block, Inline, RichText, safe_href};

/// The deepest nesting kept (quotes, lists, emphasis and links each count one level).
pub const MAX_DEPTH: usize = 12;
/// The most nodes (blocks and inlines) one message's form may hold.
pub const MAX_NODES: usize = 2_000;
/// The most distinct people one message mentions; further names stay text.
pub const MAX_MENTIONS: usize = 50;

/// A parsed message: its form, and the members it mentions (each once, in order of first
/// mention).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub rich: RichText,
    pub mentions: Vec<UserId>,
}

/// Parses `source`. `member` answers the id of the room member with this username (compared
/// without regard to case by the caller), or `None` for anyone else: a name that is not a
/// member's stays text and mentions nobody.
pub fn render(source: &str, member: &dyn Fn(&str) -> Option<UserId>) -> Rendered {
    let mut builder = Builder {
        member,
        stack: vec![Frame::new(Kind::Root)],
        nodes: 0,
        mentions: Vec::new(),
        too_big: false,
    };
    let parser = TextMergeStream::new(Parser::new_ext(source, Options::ENABLE_STRIKETHROUGH));
    for event in parser {
        builder.event(event);
        if builder.too_big {
            return plain(source, member);
        }
    }
    // Close whatever the parser left open (it closes everything itself; this is a guard).
    while builder.stack.len() > 1 {
        builder.close();
    }
    let root = builder
        .stack
        .pop()
        .map(Frame::into_blocks)
        .unwrap_or_default();
    Rendered {
        rich: RichText { blocks: root },
        mentions: builder.mentions,
    }
}

/// The fallback for an input too deep or too large: its plain form, with mentions still
/// resolved (so the people named are still told).
fn plain(source: &str, member: &dyn Fn(&str) -> Option<UserId>) -> Rendered {
    let mut mentions = Vec::new();
    for word in source.split(|c: char| !is_username_char(c) && c != '@') {
        if let Some(name) = word.strip_prefix('@')
            && let Some(user) = resolve(name, member)
            && !mentions.contains(&user)
            && mentions.len() < MAX_MENTIONS
        {
            mentions.push(user);
        }
    }
    Rendered {
        rich: RichText::plain(source),
        mentions,
    }
}

/// What an open container is.
#[derive(Debug)]
enum Kind {
    Root,
    Paragraph,
    /// Headings read as a bold paragraph.
    Heading,
    Quote,
    List {
        start: Option<u64>,
    },
    Item,
    Code {
        language: Option<String>,
    },
    Strong,
    Emphasis,
    Strikethrough,
    /// `None`: an unsafe target, so the link's text is kept without the link.
    Link {
        href: Option<String>,
    },
    /// A container whose text is kept without it (an image's description, raw HTML, and
    /// anything the subset does not name).
    Transparent,
}

/// A container being filled: finished child blocks, a run of inlines not yet in a block
/// (a tight list item's text has no paragraph of its own), list items, or code text.
#[derive(Debug)]
struct Frame {
    kind: Kind,
    blocks: Vec<Block>,
    inlines: Vec<Inline>,
    items: Vec<Vec<Block>>,
    text: String,
}

impl Frame {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            blocks: Vec::new(),
            inlines: Vec::new(),
            items: Vec::new(),
            text: String::new(),
        }
    }

    /// Moves loose inlines into a paragraph of their own, before a block follows them.
    fn flush_inlines(&mut self) {
        if !self.inlines.is_empty() {
            let inlines = std::mem::take(&mut self.inlines);
            self.blocks.push(Block::Paragraph { inlines });
        }
    }

    fn into_blocks(mut self) -> Vec<Block> {
        self.flush_inlines();
        self.blocks
    }
}

/// What a closed frame becomes in its parent.
enum Made {
    Block(Block),
    Inline(Inline),
    Inlines(Vec<Inline>),
    Item(Vec<Block>),
}

struct Builder<'a> {
    member: &'a dyn Fn(&str) -> Option<UserId>,
    stack: Vec<Frame>,
    nodes: usize,
    mentions: Vec<UserId>,
    /// Set once the input exceeds a bound: the caller falls back to the plain form.
    too_big: bool,
}

impl Builder<'_> {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.open(tag),
            Event::End(end) => {
                // Every end closes the frame its start opened (the parser balances them);
                // a metadata block's end, never opened without its option, is ignored.
                if !matches!(end, TagEnd::MetadataBlock(_)) {
                    self.close();
                }
            }
            Event::Text(text) => self.text(&text),
            Event::Code(code) => self.push_inline(Inline::Code { text: code.into() }),
            // Raw HTML is text, exactly as typed.
            Event::Html(html) | Event::InlineHtml(html) => self.literal(&html),
            Event::InlineMath(math) | Event::DisplayMath(math) => self.literal(&math),
            Event::SoftBreak | Event::HardBreak => self.push_inline(Inline::LineBreak),
            Event::Rule => self.push_block(Block::Paragraph {
                inlines: vec![Inline::Text { text: "---".into() }],
            }),
            Event::FootnoteReference(name) => self.literal(&format!("[^{name}]")),
            Event::TaskListMarker(done) => self.literal(if done { "[x] " } else { "[ ] " }),
        }
    }

    fn open(&mut self, tag: Tag<'_>) {
        let kind = match tag {
            Tag::Paragraph => Kind::Paragraph,
            Tag::Heading { .. } => Kind::Heading,
            Tag::BlockQuote(_) => Kind::Quote,
            Tag::CodeBlock(CodeBlockKind::Fenced(info)) => {
                // The info string's first word names the language; the rest is ignored.
                let language = info
                    .split_whitespace()
                    .next()
                    .filter(|word| word.len() <= 32)
                    .map(str::to_owned);
                Kind::Code { language }
            }
            Tag::CodeBlock(CodeBlockKind::Indented) => Kind::Code { language: None },
            Tag::List(start) => Kind::List { start },
            Tag::Item => Kind::Item,
            Tag::Emphasis => Kind::Emphasis,
            Tag::Strong => Kind::Strong,
            Tag::Strikethrough => Kind::Strikethrough,
            Tag::Link { dest_url, .. } => Kind::Link {
                href: safe_href(&dest_url).then(|| dest_url.into_string()),
            },
            _ => Kind::Transparent,
        };
        let depth = self
            .stack
            .iter()
            .filter(|frame| !matches!(frame.kind, Kind::Transparent | Kind::Root))
            .count();
        if depth >= MAX_DEPTH {
            self.too_big = true;
        }
        self.stack.push(Frame::new(kind));
    }

    fn close(&mut self) {
        // The root is never closed here: `render` keeps it.
        if self.stack.len() <= 1 {
            return;
        }
        let Some(mut frame) = self.stack.pop() else {
            return;
        };
        let made = match frame.kind {
            Kind::Root => return,
            Kind::Paragraph => Made::Block(Block::Paragraph {
                inlines: frame.inlines,
            }),
            Kind::Heading => Made::Block(Block::Paragraph {
                inlines: vec![Inline::Strong {
                    inlines: frame.inlines,
                }],
            }),
            Kind::Quote => Made::Block(Block::Quote {
                blocks: frame.into_blocks(),
            }),
            Kind::List { start } => Made::Block(Block::List {
                start,
                items: frame.items,
            }),
            Kind::Item => Made::Item(frame.into_blocks()),
            Kind::Code { language } => {
                // The parser ends a code block's text with its last newline; the block's
                // own end says it already.
                if frame.text.ends_with('\n') {
                    frame.text.pop();
                }
                Made::Block(Block::Code {
                    language,
                    text: frame.text,
                })
            }
            Kind::Strong => Made::Inline(Inline::Strong {
                inlines: frame.inlines,
            }),
            Kind::Emphasis => Made::Inline(Inline::Emphasis {
                inlines: frame.inlines,
            }),
            Kind::Strikethrough => Made::Inline(Inline::Strikethrough {
                inlines: frame.inlines,
            }),
            Kind::Link { href: Some(href) } => Made::Inline(Inline::Link {
                href,
                inlines: frame.inlines,
            }),
            Kind::Link { href: None } | Kind::Transparent => {
                // Block content inside (an HTML block's lines) keeps its text too.
                let mut inlines = Vec::new();
                for block in frame.blocks {
                    if let Block::Paragraph { inlines: more } = block {
                        inlines.extend(more);
                    }
                }
                inlines.extend(frame.inlines);
                if matches!(inlines.last(), Some(Inline::LineBreak)) {
                    inlines.pop();
                }
                Made::Inlines(inlines)
            }
        };
        match made {
            Made::Block(block) => self.push_block(block),
            Made::Inline(inline) => self.push_inline(inline),
            Made::Inlines(inlines) => {
                for inline in inlines {
                    self.push_inline(inline);
                }
            }
            Made::Item(blocks) => {
                self.count(1);
                if let Some(parent) = self.stack.last_mut() {
                    parent.items.push(blocks);
                }
            }
        }
    }

    fn count(&mut self, nodes: usize) {
        self.nodes += nodes;
        if self.nodes > MAX_NODES {
            self.too_big = true;
        }
    }

    fn push_block(&mut self, block: Block) {
        self.count(1);
        if let Some(parent) = self.stack.last_mut() {
            parent.flush_inlines();
            parent.blocks.push(block);
        }
    }

    fn push_inline(&mut self, inline: Inline) {
        self.count(1);
        if let Some(parent) = self.stack.last_mut() {
            // Code keeps its text only: a line break inside code is its newline.
            match (&parent.kind, parent.inlines.last_mut(), inline) {
                (Kind::Code { .. }, _, inline) => parent.text.push_str(&inline_text(&inline)),
                // Neighbouring texts are one node (the parser and the splitting below cut
                // text apart; `@stranger` stays text beside its words).
                (_, Some(Inline::Text { text }), Inline::Text { text: more }) => {
                    text.push_str(&more);
                }
                (_, _, inline) => parent.inlines.push(inline),
            }
        }
    }

    /// Text as typed, with no links or mentions found in it (raw HTML, markers).
    fn literal(&mut self, text: &str) {
        let in_code = matches!(
            self.stack.last().map(|frame| &frame.kind),
            Some(Kind::Code { .. })
        );
        if in_code {
            if let Some(frame) = self.stack.last_mut() {
                frame.text.push_str(text);
            }
            return;
        }
        // An HTML block's text keeps its line breaks (its last one is dropped at its end).
        for (index, line) in text.split('\n').enumerate() {
            if index > 0 {
                self.push_inline(Inline::LineBreak);
            }
            if !line.is_empty() {
                self.push_inline(Inline::Text { text: line.into() });
            }
        }
    }

    fn text(&mut self, text: &str) {
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        if let Kind::Code { .. } = frame.kind {
            frame.text.push_str(text);
            return;
        }
        // Inside a link, text is the link's words: no links within links, no mentions.
        let in_link = self
            .stack
            .iter()
            .any(|frame| matches!(frame.kind, Kind::Link { href: Some(_) }));
        if in_link {
            self.push_inline(Inline::Text { text: text.into() });
            return;
        }
        for piece in split_text(text) {
            let inline = match piece {
                Piece::Text(text) => Inline::Text { text: text.into() },
                Piece::Url(url) => Inline::Link {
                    href: url.into(),
                    inlines: vec![Inline::Text { text: url.into() }],
                },
                Piece::Mention(name) => match self.mention(name) {
                    Some(user) => Inline::Mention { user },
                    None => Inline::Text {
                        text: format!("@{name}"),
                    },
                },
            };
            self.push_inline(inline);
        }
    }

    /// The member `name` mentions, recorded once; `None` for a non-member or past the limit.
    fn mention(&mut self, name: &str) -> Option<UserId> {
        let user = resolve(name, self.member)?;
        if !self.mentions.contains(&user) {
            if self.mentions.len() >= MAX_MENTIONS {
                return None;
            }
            self.mentions.push(user);
        }
        Some(user)
    }
}

fn inline_text(inline: &Inline) -> String {
    match inline {
        Inline::Text { text } | Inline::Code { text } => text.clone(),
        Inline::LineBreak => "\n".into(),
        _ => String::new(),
    }
}

/// A username as a mention may spell it: the characters `Username` allows.
fn is_username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The member named `name`; a name ending a sentence ("@ana.") is tried without its trailing
/// dots and hyphens too, since usernames may contain them.
fn resolve(name: &str, member: &dyn Fn(&str) -> Option<UserId>) -> Option<UserId> {
    if name.is_empty() {
        return None;
    }
    member(name).or_else(|| {
        let trimmed = name.trim_end_matches(['.', '-']);
        (trimmed != name && !trimmed.is_empty())
            .then(|| member(trimmed))
            .flatten()
    })
}

/// A stretch of a text node.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Url(&'a str),
    /// The name after an `@`, which may or may not be a member's.
    Mention(&'a str),
}

/// Cuts a text node into text, bare web addresses and `@name` candidates.
fn split_text(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut plain_from = 0;
    let mut index = 0;
    while index < text.len() {
        // `index` always sits on a character boundary: it moves by whole characters.
        let rest = &text[index..];
        let after_word = text[..index]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '@' || c == '/');
        let found = if after_word {
            None
        } else if let Some(length) = url_length(rest) {
            Some((Piece::Url(&rest[..length]), length))
        } else if let Some(name) = rest.strip_prefix('@') {
            let length = name
                .find(|c: char| !is_username_char(c))
                .unwrap_or(name.len());
            (length > 0).then(|| (Piece::Mention(&name[..length]), length + 1))
        } else {
            None
        };
        match found {
            Some((piece, length)) => {
                if plain_from < index {
                    pieces.push(Piece::Text(&text[plain_from..index]));
                }
                // A mention's trailing dots end the sentence, not the name, when the member
                // lookup says so; the dots stay in the name here and `resolve` tries both.
                pieces.push(piece);
                index += length;
                plain_from = index;
            }
            None => index += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    if plain_from < text.len() {
        pieces.push(Piece::Text(&text[plain_from..]));
    }
    // A mention that resolves only without its trailing dots gets them back as text.
    pieces
        .into_iter()
        .flat_map(|piece| match piece {
            Piece::Mention(name) if name.ends_with(['.', '-']) => {
                let trimmed = name.trim_end_matches(['.', '-']);
                if trimmed.is_empty() {
                    vec![Piece::Text(name)]
                } else {
                    vec![Piece::Mention(trimmed), Piece::Text(&name[trimmed.len()..])]
                }
            }
            piece => vec![piece],
        })
        .collect()
}

/// The length of the web address at the start of `text`, if one is there: `http://` or
/// `https://` (any case), a host, and everything up to white space or a character that
/// cannot be in an address, less the punctuation that ends the sentence around it.
fn url_length(text: &str) -> Option<usize> {
    let scheme = ["https://", "http://"].into_iter().find(|scheme| {
        text.get(..scheme.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
    })?;
    let end = text
        .find(|c: char| c.is_whitespace() || c.is_control() || ends_address(c))
        .unwrap_or(text.len());
    let mut candidate = &text[..end];
    // Trailing punctuation ends the sentence, not the address; a closing bracket stays only
    // when the address opened it ("…/wiki/Rust_(language)").
    while let Some(last) = candidate.chars().next_back() {
        let trailing = matches!(
            last,
            '.' | ',' | ':' | ';' | '!' | '?' | '\'' | '*' | '_' | '~' | '…'
        );
        let unbalanced = |open: char, close: char| {
            last == close && candidate.matches(open).count() < candidate.matches(close).count()
        };
        if trailing || unbalanced('(', ')') || unbalanced('[', ']') || unbalanced('{', '}') {
            candidate = &candidate[..candidate.len() - last.len_utf8()];
        } else {
            break;
        }
    }
    let host = &candidate[scheme.len()..];
    host.chars()
        .next()
        .is_some_and(char::is_alphanumeric)
        .then_some(candidate.len())
}

/// Characters that cannot be in an address, so one ends before them: ASCII ones a URL must
/// escape, and the CJK brackets and punctuation that Korean, Japanese and Chinese text puts
/// right against it with no space.
fn ends_address(c: char) -> bool {
    matches!(
        c,
        '<' | '>'
            | '"'
            | '`'
            | '「'
            | '」'
            | '『'
            | '』'
            | '、'
            | '。'
            | '，'
            | '！'
            | '？'
            | '（'
            | '）'
            | '【'
            | '】'
            | '《'
            | '》'
            | '〈'
            | '〉'
            | '：'
    )
}

#[cfg(test)]
mod tests;
