//! [`AsciiJson`], the codec of the room page's history resource: JSON in which every
//! character beyond ASCII is written as a `\u` escape.
//!
//! Leptos writes each resource's data into the page as a JavaScript string made by Rust's
//! `Debug` formatting of the encoded JSON. `Debug` copies ASCII in runs, but looks each other
//! character up in Unicode's printable tables, a linear scan for Hangul: on a room page of
//! fifty Korean messages that was about 8% of the server's time (`sori-bench ssr --rich`,
//! under `perf`). Escaped, the string is ASCII. The page grows by a few bytes for each
//! character beyond ASCII (compression takes most of it back), and the browser decodes the
//! same values: `\u` escapes are plain JSON, read by the same `serde_json` in the wasm.

use std::io::{self, Write};

use leptos::server::codee::{Decoder, Encoder};
use serde::{Deserialize, Serialize};

pub struct AsciiJson;

impl<T: Serialize> Encoder<T> for AsciiJson {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        let mut json = Vec::with_capacity(4096);
        value.serialize(&mut serde_json::Serializer::with_formatter(
            &mut json,
            EscapeBeyondAscii,
        ))?;
        Ok(String::from_utf8(json).expect("escaped JSON is ASCII"))
    }
}

impl<T> Decoder<T> for AsciiJson
where
    for<'de> T: Deserialize<'de>,
{
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(json: &str) -> Result<T, serde_json::Error> {
        serde_json::from_str(json)
    }
}

/// serde_json's compact output, except that string contents beyond ASCII are `\u` escapes
/// (as UTF-16 units: a character outside the Basic Multilingual Plane is a surrogate pair).
struct EscapeBeyondAscii;

impl serde_json::ser::Formatter for EscapeBeyondAscii {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut copied = 0;
        for (index, c) in fragment.char_indices() {
            if c.is_ascii() {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[copied..index])?;
            for unit in c.encode_utf16(&mut [0; 2]) {
                write!(writer, "\\u{unit:04x}")?;
            }
            copied = index + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[copied..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_beyond_ascii_is_escaped_and_reads_back_as_it_was() {
        let value = vec![
            "회의록 정리".to_owned(),
            "👍 \"quoted\" \\ and\na line".to_owned(),
            "plain".to_owned(),
        ];
        let json = <AsciiJson as Encoder<Vec<String>>>::encode(&value).unwrap();
        assert!(json.is_ascii(), "{json}");
        assert!(json.starts_with(r#"["\ud68c\uc758\ub85d \uc815\ub9ac","\ud83d\udc4d \"quoted\""#));
        // The browser reads it back with the same decoder (serde_json, in the wasm).
        let read: Vec<String> = <AsciiJson as Decoder<Vec<String>>>::decode(&json).unwrap();
        assert_eq!(read, value);
    }
}
