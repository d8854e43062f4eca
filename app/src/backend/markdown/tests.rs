//! The renderer's contract, with an attack corpus: whatever the source, the form holds only
//! safe links, no markup, bounded nesting, and comes back quickly.

use std::time::{Duration, Instant};

use super::*;

fn no_members(_: &str) -> Option<UserId> {
    None
}

fn members(name: &str) -> Option<UserId> {
    match name.to_ascii_lowercase().as_str() {
        "ana" => Some(UserId(1)),
        "bo.ra" => Some(UserId(2)),
        _ => None,
    }
}

fn form(source: &str) -> RichText {
    render(source, &no_members).rich
}

fn text(text: &str) -> Inline {
    Inline::Text { text: text.into() }
}

fn link(href: &str, label: &str) -> Inline {
    Inline::Link {
        href: href.into(),
        inlines: vec![text(label)],
    }
}

fn paragraph(inlines: Vec<Inline>) -> RichText {
    RichText {
        blocks: vec![Block::Paragraph { inlines }],
    }
}

/// Every link target in the form, at any depth.
fn hrefs(form: &RichText) -> Vec<String> {
    fn in_inlines(inlines: &[Inline], out: &mut Vec<String>) {
        for inline in inlines {
            match inline {
                Inline::Link { href, inlines } => {
                    out.push(href.clone());
                    in_inlines(inlines, out);
                }
                Inline::Strong { inlines }
                | Inline::Emphasis { inlines }
                | Inline::Strikethrough { inlines } => in_inlines(inlines, out),
                _ => {}
            }
        }
    }
    fn in_blocks(blocks: &[Block], out: &mut Vec<String>) {
        for block in blocks {
            match block {
                Block::Paragraph { inlines } => in_inlines(inlines, out),
                Block::Quote { blocks } => in_blocks(blocks, out),
                Block::List { items, .. } => items.iter().for_each(|item| in_blocks(item, out)),
                Block::Code { .. } => {}
            }
        }
    }
    let mut out = Vec::new();
    in_blocks(&form.blocks, &mut out);
    out
}

/// All the text a reader sees, concatenated.
fn all_text(form: &RichText) -> String {
    serde_json::to_value(form).unwrap().to_string()
}

#[test]
fn plain_text_keeps_its_line_breaks_in_one_paragraph() {
    assert_eq!(form("hello\nworld"), RichText::plain("hello\nworld"));
    assert_eq!(
        form("안녕하세요, 반갑습니다!"),
        paragraph(vec![text("안녕하세요, 반갑습니다!")])
    );
}

#[test]
fn the_chat_subset_is_formatted() {
    assert_eq!(
        form("**bold** *italic* ~~gone~~ `code`"),
        paragraph(vec![
            Inline::Strong {
                inlines: vec![text("bold")]
            },
            text(" "),
            Inline::Emphasis {
                inlines: vec![text("italic")]
            },
            text(" "),
            Inline::Strikethrough {
                inlines: vec![text("gone")]
            },
            text(" "),
            Inline::Code {
                text: "code".into()
            },
        ])
    );
    assert_eq!(
        form("```rust\nfn main() {}\n```"),
        RichText {
            blocks: vec![Block::Code {
                language: Some("rust".into()),
                text: "fn main() {}".into()
            }]
        }
    );
    assert_eq!(
        form("> quoted"),
        RichText {
            blocks: vec![Block::Quote {
                blocks: vec![Block::Paragraph {
                    inlines: vec![text("quoted")]
                }]
            }]
        }
    );
    assert_eq!(
        form("- one\n- two"),
        RichText {
            blocks: vec![Block::List {
                start: None,
                items: vec![
                    vec![Block::Paragraph {
                        inlines: vec![text("one")]
                    }],
                    vec![Block::Paragraph {
                        inlines: vec![text("two")]
                    }],
                ]
            }]
        }
    );
    assert!(matches!(
        form("3. three\n4. four").blocks.as_slice(),
        [Block::List { start: Some(3), items }] if items.len() == 2
    ));
}

#[test]
fn only_web_and_mail_links_survive() {
    assert_eq!(
        form("[site](https://example.com) [mail](mailto:ana@example.com)"),
        paragraph(vec![
            link("https://example.com", "site"),
            text(" "),
            link("mailto:ana@example.com", "mail"),
        ])
    );
    for attack in [
        "[x](javascript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](vbscript:msgbox)",
        "[x](java&#x09;script:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "<javascript:alert(1)>",
        "[x][ref]\n\n[ref]: javascript:alert(1)",
        "![x](javascript:alert(1))",
        "![x](https://example.com/tracker.png)",
    ] {
        let rendered = form(attack);
        assert_eq!(
            hrefs(&rendered),
            Vec::<String>::new(),
            "{attack}: {rendered:?}"
        );
    }
    assert_eq!(form("[x](javascript:alert(1))"), paragraph(vec![text("x")]));
}

#[test]
fn raw_html_is_text_exactly_as_typed() {
    assert_eq!(
        form("hi <script>alert(1)</script>"),
        paragraph(vec![text("hi <script>alert(1)</script>")])
    );
    assert_eq!(
        form("<img src=x onerror=alert(1)>"),
        paragraph(vec![text("<img src=x onerror=alert(1)>")])
    );
    let block = form("<div>\n<script>alert(1)</script>\n</div>");
    assert_eq!(
        block,
        paragraph(vec![
            text("<div>"),
            Inline::LineBreak,
            text("<script>alert(1)</script>"),
            Inline::LineBreak,
            text("</div>"),
        ])
    );
}

#[test]
fn html_entities_decode_to_text_and_stay_text() {
    // The entity is decoded to the character it names; the view escapes it again.
    assert_eq!(
        form("&lt;script&gt; &amp; &#x1F600;"),
        paragraph(vec![text("<script> & 😀")])
    );
}

#[test]
fn nested_emphasis_tricks_stay_balanced() {
    assert_eq!(
        form("***both***"),
        paragraph(vec![Inline::Emphasis {
            inlines: vec![Inline::Strong {
                inlines: vec![text("both")]
            }]
        }])
    );
    // Unmatched markers are text.
    assert_eq!(form("**not closed"), paragraph(vec![text("**not closed")]));
    assert_eq!(form("*a **b* c**"), form("*a **b* c**"));
    // A link cannot hold a link: the outer brackets are text (and its address a bare one).
    assert_eq!(
        form("[[inner](https://a.example)](https://b.example)"),
        paragraph(vec![
            text("["),
            link("https://a.example", "inner"),
            text("]("),
            link("https://b.example", "https://b.example"),
            text(")"),
        ])
    );
}

#[test]
fn deep_nesting_falls_back_to_plain_text() {
    let quotes = format!("{}deep", "> ".repeat(200));
    assert_eq!(form(&quotes), RichText::plain(&quotes));
    let lists = (0..100)
        .map(|depth| format!("{}- item", "  ".repeat(depth)))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(form(&lists), RichText::plain(&lists));
    let emphasis = format!("{}x{}", "*_".repeat(500), "_*".repeat(500));
    let rendered = form(&emphasis);
    assert!(depth(&rendered) <= MAX_DEPTH + 2, "{}", depth(&rendered));
}

fn depth(form: &RichText) -> usize {
    fn value_depth(value: &serde_json::Value) -> usize {
        match value {
            serde_json::Value::Array(items) => 1 + items.iter().map(value_depth).max().unwrap_or(0),
            serde_json::Value::Object(map) => map.values().map(value_depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    value_depth(&serde_json::to_value(form).unwrap())
}

#[test]
fn very_long_inputs_render_quickly_and_stay_bounded() {
    let hostile = [
        "*".repeat(4_000),
        "[".repeat(4_000),
        "[a](".repeat(1_000),
        "`".repeat(4_000),
        "<".repeat(4_000),
        "**a ".repeat(1_000),
        "- ".repeat(2_000),
        "> ".repeat(2_000),
        "https://".repeat(500),
        "@ana ".repeat(800),
        "a\n".repeat(2_000),
        "한국어 ".repeat(1_000),
    ];
    for source in &hostile {
        let started = Instant::now();
        let rendered = render(source, &members);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{} took {:?}",
            &source[..20],
            started.elapsed()
        );
        // The form serialises and reads back: within serde_json's recursion limit.
        let json = serde_json::to_string(&rendered.rich).unwrap();
        assert_eq!(
            serde_json::from_str::<RichText>(&json).unwrap(),
            rendered.rich
        );
    }
}

#[test]
fn bare_addresses_become_links_without_trailing_punctuation() {
    assert_eq!(
        form("see https://example.com/a?b=1."),
        paragraph(vec![
            text("see "),
            link("https://example.com/a?b=1", "https://example.com/a?b=1"),
            text("."),
        ])
    );
    assert_eq!(
        form("(https://example.com/x)"),
        paragraph(vec![
            text("("),
            link("https://example.com/x", "https://example.com/x"),
            text(")"),
        ])
    );
    assert_eq!(
        hrefs(&form(
            "https://en.wikipedia.org/wiki/Rust_(programming_language), ok"
        )),
        ["https://en.wikipedia.org/wiki/Rust_(programming_language)"]
    );
    assert_eq!(hrefs(&form("HTTP://EXAMPLE.COM!")), ["HTTP://EXAMPLE.COM"]);
    assert_eq!(hrefs(&form("https:// nothing")), Vec::<String>::new());
    assert_eq!(hrefs(&form("xhttps://example.com")), Vec::<String>::new());
    assert_eq!(hrefs(&form("`https://example.com`")), Vec::<String>::new());
}

#[test]
fn korean_around_an_address_is_not_part_of_it_unless_joined_to_it() {
    assert_eq!(
        form("링크: https://example.com 에서 봐요."),
        paragraph(vec![
            text("링크: "),
            link("https://example.com", "https://example.com"),
            text(" 에서 봐요."),
        ])
    );
    assert_eq!(
        hrefs(&form("(참고: https://ko.wikipedia.org/wiki/서울)")),
        ["https://ko.wikipedia.org/wiki/서울"]
    );
    assert_eq!(
        hrefs(&form("「https://example.com/가」、다음")),
        ["https://example.com/가"]
    );
}

#[test]
fn members_are_mentioned_by_id_and_strangers_stay_text() {
    let rendered = render("hi @ana and @Bo.ra. and @nobody, ana@example.com", &members);
    assert_eq!(rendered.mentions, [UserId(1), UserId(2)]);
    assert_eq!(
        rendered.rich,
        paragraph(vec![
            text("hi "),
            Inline::Mention { user: UserId(1) },
            text(" and "),
            Inline::Mention { user: UserId(2) },
            text(". and @nobody, ana@example.com"),
        ])
    );
    // Each person once, however often named; never inside code or a link's words.
    let repeated = render("@ana @ana `@ana` [@ana](https://example.com)", &members);
    assert_eq!(repeated.mentions, [UserId(1)]);
    assert_eq!(render("@nobody", &members).mentions, Vec::<UserId>::new());
}

#[test]
fn a_message_too_large_for_the_tree_still_mentions_its_people() {
    let source = format!("@ana {}", "*a* ".repeat(1_000));
    let rendered = render(&source, &members);
    assert_eq!(rendered.rich, RichText::plain(&source));
    assert_eq!(rendered.mentions, [UserId(1)]);
}

#[test]
fn no_markup_survives_anywhere_in_the_form() {
    let corpus = "<b>x</b> <a href=\"javascript:alert(1)\">y</a> <iframe src=//evil>";
    let json = all_text(&form(corpus));
    // The angle brackets are text nodes' contents, never elements: the form has no variant
    // that could carry them as markup.
    assert!(json.contains("<iframe src=//evil>"), "{json}");
    assert_eq!(hrefs(&form(corpus)), Vec::<String>::new());
}
