//! How a [`RichText`] is written on the wire and in the database: JSON arrays, a text as its
//! string, anything else as `[tag, fields…]`.
//!
//! `**Hi** @ana` is `[["p",[["b",["Hi"]]," ",["@",3]]]]`. Serde's tagged objects
//! (`{"type":"text","text":"Hi"}`) were three times longer, and every room page carries fifty
//! of these forms twice (its HTML aside, the page embeds the history for hydration as a
//! string literal, escaped once more). Reading a tagged object also made serde buffer each
//! one before it knew its variant; an array says which variant it is first.
//!
//! A form stored in the shape before this one (`{"blocks":[…]}`) is made again from its
//! message's source when read (`backend::store::rows`).

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use super::{Block, Inline, RichText};
use crate::model::UserId;

impl Serialize for RichText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.blocks.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RichText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::deserialize(deserializer).map(|blocks| RichText { blocks })
    }
}

/// The tags of blocks.
#[derive(Deserialize)]
enum BlockTag {
    #[serde(rename = "p")]
    Paragraph,
    #[serde(rename = "pre")]
    Code,
    #[serde(rename = "quote")]
    Quote,
    #[serde(rename = "list")]
    List,
}

/// The tags of inlines other than text.
#[derive(Deserialize)]
enum InlineTag {
    #[serde(rename = "b")]
    Strong,
    #[serde(rename = "i")]
    Emphasis,
    #[serde(rename = "s")]
    Strikethrough,
    #[serde(rename = "code")]
    Code,
    #[serde(rename = "a")]
    Link,
    #[serde(rename = "@")]
    Mention,
    #[serde(rename = "br")]
    LineBreak,
}

impl Serialize for Block {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Block::Paragraph { inlines } => ("p", inlines).serialize(serializer),
            Block::Code { language, text } => ("pre", language, text).serialize(serializer),
            Block::Quote { blocks } => ("quote", blocks).serialize(serializer),
            Block::List { start, items } => ("list", start, items).serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Tagged;
        impl<'de> Visitor<'de> for Tagged {
            type Value = Block;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a block: [tag, fields…]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Block, A::Error> {
                let block = match field(&mut seq, 0)? {
                    BlockTag::Paragraph => Block::Paragraph {
                        inlines: field(&mut seq, 1)?,
                    },
                    BlockTag::Code => Block::Code {
                        language: field(&mut seq, 1)?,
                        text: field(&mut seq, 2)?,
                    },
                    BlockTag::Quote => Block::Quote {
                        blocks: field(&mut seq, 1)?,
                    },
                    BlockTag::List => Block::List {
                        start: field(&mut seq, 1)?,
                        items: field(&mut seq, 2)?,
                    },
                };
                end(seq)?;
                Ok(block)
            }
        }
        deserializer.deserialize_seq(Tagged)
    }
}

impl Serialize for Inline {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Inline::Text { text } => serializer.serialize_str(text),
            Inline::Strong { inlines } => ("b", inlines).serialize(serializer),
            Inline::Emphasis { inlines } => ("i", inlines).serialize(serializer),
            Inline::Strikethrough { inlines } => ("s", inlines).serialize(serializer),
            Inline::Code { text } => ("code", text).serialize(serializer),
            Inline::Link { href, inlines } => ("a", href, inlines).serialize(serializer),
            Inline::Mention { user } => ("@", user).serialize(serializer),
            Inline::LineBreak => ("br",).serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Inline {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextOrTagged;
        impl<'de> Visitor<'de> for TextOrTagged {
            type Value = Inline;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a text, or an inline: [tag, fields…]")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Inline, E> {
                Ok(Inline::Text { text: text.into() })
            }
            fn visit_string<E: de::Error>(self, text: String) -> Result<Inline, E> {
                Ok(Inline::Text { text })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Inline, A::Error> {
                let inline = match field(&mut seq, 0)? {
                    InlineTag::Strong => Inline::Strong {
                        inlines: field(&mut seq, 1)?,
                    },
                    InlineTag::Emphasis => Inline::Emphasis {
                        inlines: field(&mut seq, 1)?,
                    },
                    InlineTag::Strikethrough => Inline::Strikethrough {
                        inlines: field(&mut seq, 1)?,
                    },
                    InlineTag::Code => Inline::Code {
                        text: field(&mut seq, 1)?,
                    },
                    InlineTag::Link => Inline::Link {
                        href: field(&mut seq, 1)?,
                        inlines: field(&mut seq, 2)?,
                    },
                    InlineTag::Mention => Inline::Mention {
                        user: field::<UserId, _>(&mut seq, 1)?,
                    },
                    InlineTag::LineBreak => Inline::LineBreak,
                };
                end(seq)?;
                Ok(inline)
            }
        }
        deserializer.deserialize_any(TextOrTagged)
    }
}

/// The array's element at `index`, which must be there.
fn field<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(
    seq: &mut A,
    index: usize,
) -> Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| de::Error::invalid_length(index, &"the fields of its tag"))
}

/// Nothing may follow a node's last field: a longer array is not a form we wrote.
fn end<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    match seq.next_element::<IgnoredAny>()? {
        None => Ok(()),
        Some(_) => Err(de::Error::custom(
            "a node has more fields than its tag takes",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str) -> Inline {
        Inline::Text { text: text.into() }
    }

    /// One of every node, nested.
    fn every_node() -> RichText {
        RichText {
            blocks: vec![
                Block::Paragraph {
                    inlines: vec![
                        Inline::Strong {
                            inlines: vec![text("hi")],
                        },
                        Inline::Emphasis {
                            inlines: vec![Inline::Strikethrough {
                                inlines: vec![text("\"quoted\" 한국어")],
                            }],
                        },
                        Inline::Code {
                            text: "x < y".into(),
                        },
                        Inline::Link {
                            href: "https://example.com/".into(),
                            inlines: vec![text("site")],
                        },
                        Inline::LineBreak,
                        Inline::Mention { user: UserId(3) },
                    ],
                },
                Block::Code {
                    language: Some("rust".into()),
                    text: "fn main() {}".into(),
                },
                Block::Code {
                    language: None,
                    text: String::new(),
                },
                Block::Quote {
                    blocks: vec![Block::Paragraph {
                        inlines: vec![text("said")],
                    }],
                },
                Block::List {
                    start: Some(3),
                    items: vec![
                        vec![Block::Paragraph {
                            inlines: vec![text("one")],
                        }],
                        vec![],
                    ],
                },
                Block::List {
                    start: None,
                    items: vec![],
                },
            ],
        }
    }

    #[test]
    fn the_form_is_written_as_tagged_arrays_with_texts_as_strings() {
        let form = RichText {
            blocks: vec![Block::Paragraph {
                inlines: vec![
                    Inline::Strong {
                        inlines: vec![text("Hi")],
                    },
                    text(" "),
                    Inline::Mention { user: UserId(3) },
                ],
            }],
        };
        let json = r#"[["p",[["b",["Hi"]]," ",["@",3]]]]"#;
        assert_eq!(serde_json::to_string(&form).unwrap(), json);
        assert_eq!(serde_json::from_str::<RichText>(json).unwrap(), form);
    }

    #[test]
    fn every_node_reads_back_as_it_was_written() {
        let form = every_node();
        let json = serde_json::to_string(&form).unwrap();
        assert_eq!(
            serde_json::from_str::<RichText>(&json).unwrap(),
            form,
            "{json}"
        );
        // Inside a message, as the page and the socket carry it.
        let nested = serde_json::to_string(&vec![form.clone(), RichText::default()]).unwrap();
        assert_eq!(
            serde_json::from_str::<Vec<RichText>>(&nested).unwrap(),
            [form, RichText::default()]
        );
    }

    #[test]
    fn anything_but_a_form_we_write_is_refused() {
        for bad in [
            r#"{"blocks":[]}"#,
            r#"[["h1",["x"]]]"#,
            r#"[["p"]]"#,
            r#"[["p",["x"],"extra"]]"#,
            r#"[["p",[["img","https://x/y.png"]]]]"#,
            r#"[["p",[["a","https://x/"]]]]"#,
            r#"[["p",[["@","3"]]]]"#,
            r#"[["p",[["br",1]]]]"#,
            r#"[["p",[7]]]"#,
            r#"["p"]"#,
            r#"[[]]"#,
        ] {
            assert!(serde_json::from_str::<RichText>(bad).is_err(), "{bad}");
        }
    }
}
