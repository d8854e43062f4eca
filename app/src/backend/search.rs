//! What a message search indexes and what a query asks for, written once for both stores.
//!
//! Korean is written with words glued to their particles and often to each other
//! ("오늘회의는3시"), so a word-per-token index cannot find "회의" in it: SQLite's `unicode61`
//! keeps a Hangul run as one token, and a trigram index cannot match two syllables. So the
//! store indexes a *search text* beside each body, in which every run of Hangul, kana or Han
//! characters is split into overlapping pairs, and a query's runs are split the same way and
//! searched as a phrase:
//!
//! - "오늘회의는" indexes as `오늘 늘회 회의 의는 는`: each pair, then the run's last character
//!   alone, so a query that ends the run ("는3시") or is one syllable ("는") still has a token
//!   to meet;
//! - "회의" is the phrase `회의`, found inside "오늘회의는3시" and "회의실"; "회의실" is the
//!   phrase `회의 의실`, which "회의를" (`회의 의를 를`) does not contain;
//! - a query run followed by more of the same query word ("회의는3시") ends with its last
//!   character alone, as the text's run does, so the phrase lines up: `회의 의는 는 3 시`;
//! - a single syllable, and every other word (English, numbers), matches by prefix.
//!
//! Everything else is kept as lowercase words; what is neither a letter nor an ASCII digit
//! separates. That rule is narrower than Rust's `is_alphanumeric` on purpose: symbols such
//! as `①` or `²` count as word characters for FTS5 but as blanks for PostgreSQL's parser,
//! and a query token FTS5 finds no word in would empty the whole query. The stores' own
//! tokenizers (FTS5's `unicode61` with `remove_diacritics 0`, PostgreSQL's `simple`
//! configuration) then read the search text back as these tokens; neither folds accents,
//! so "cafe" does not find "Café" in either.
//!
//! A query is literal: whatever is typed becomes words, phrases in double quotes, and the
//! filters `from:username` and `in:room-name`. No character reaches a store's query syntax
//! except as part of a word, so no input can make a query fail.

use std::borrow::Cow;
use std::ops::Range;

use unicode_normalization::{IsNormalized, UnicodeNormalization};

use crate::protocol::search::SnippetPart;

/// Words searched at most; the rest of a long query is ignored (bounded work per query).
pub const MAX_TERMS: usize = 16;
/// Tokens kept per word or phrase.
pub const MAX_TOKENS_PER_TERM: usize = 32;

/// Most words of a query marked in a result's snippet.
const MAX_MARKS: usize = 32;
/// A snippet's length, and how much of it comes before the first marked word.
pub const SNIPPET_CHARS: usize = 200;
const SNIPPET_LEAD_CHARS: usize = 40;

/// The text a store indexes for `body`.
pub fn search_text(body: &str) -> String {
    let body = nfc(body);
    let mut tokens = Vec::new();
    for word in words(&body) {
        push_tokens(&mut tokens, &word, TextEnd::Whole);
    }
    tokens.join(" ")
}

/// One thing a query looks for: tokens that must appear in this order, next to each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub tokens: Vec<String>,
    /// Whether the last token matches any token it begins.
    pub prefix: bool,
}

/// A parsed search: every term must match (AND), within the filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    pub terms: Vec<Term>,
    /// `from:username`: only messages by this account (its username, lowercase).
    pub from: Option<String>,
    /// `in:room-name`: only messages in the room of this name (lowercase).
    pub room: Option<String>,
    /// The query's words, lowercase, for marking them in a result (not for matching).
    marks: Vec<Mark>,
}

/// A word of the query as a snippet marks it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    text: String,
    script: Script,
}

impl SearchQuery {
    /// Reads what a person typed. Never fails: an unclosed quote runs to the end, a filter
    /// with nothing after its colon is a word, and an empty result means "nothing to find".
    pub fn parse(input: &str) -> SearchQuery {
        // Composed form, as the text is indexed: a Hangul syllable typed or pasted as its
        // jamo (macOS file names, some keyboards) is the same syllable.
        let input = nfc(input);
        let mut query = SearchQuery::default();
        for piece in pieces(&input) {
            let (term, text) = match piece {
                Piece::Phrase(text) => (phrase(text), text),
                Piece::Word(text) => {
                    if let Some(name) = filter(text, "from:") {
                        query.from = Some(name);
                        continue;
                    }
                    if let Some(name) = filter(text, "in:") {
                        query.room = Some(name);
                        continue;
                    }
                    (word_term(text), text)
                }
            };
            if let Some(term) = term
                && query.terms.len() < MAX_TERMS
                && !query.terms.contains(&term)
            {
                query.terms.push(term);
                query.mark_words(text);
            }
        }
        query
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    fn mark_words(&mut self, text: &str) {
        for word in words(text) {
            let mark = Mark {
                text: word.text.to_lowercase(),
                script: word.script,
            };
            if self.marks.len() < MAX_MARKS && !self.marks.contains(&mark) {
                self.marks.push(mark);
            }
        }
    }

    /// The byte ranges of `body` a result marks, in order and apart: each word that begins
    /// with one of the query's words, and inside a run of Hangul, kana or Han each
    /// occurrence of one of the query's runs. Marking is for the eye; which messages match
    /// is the store's answer, so a phrase's words are marked wherever they stand.
    pub fn marked_ranges(&self, body: &str) -> Vec<Range<usize>> {
        let mut ranges: Vec<Range<usize>> = Vec::new();
        for word in words(body) {
            let end = word.start + word.text.len();
            match word.script {
                Script::Other => {
                    let lower = word.text.to_lowercase();
                    let marked = self.marks.iter().any(|mark| {
                        mark.script == Script::Other && lower.starts_with(mark.text.as_str())
                    });
                    if marked {
                        ranges.push(word.start..end);
                    }
                }
                Script::Cjk => {
                    for mark in self.marks.iter().filter(|mark| mark.script == Script::Cjk) {
                        for (at, found) in word.text.match_indices(mark.text.as_str()) {
                            ranges.push(word.start + at..word.start + at + found.len());
                        }
                    }
                }
            }
        }
        ranges.sort_by_key(|range| range.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        merged
    }

    /// Up to [`SNIPPET_CHARS`] of `body` around its first marked word, as text and marked
    /// text in turn; "…" stands for what is cut off at either end.
    pub fn snippet(&self, body: &str) -> Vec<SnippetPart> {
        let body = nfc(body);
        let ranges = self.marked_ranges(&body);
        let first = ranges.first().map_or(0, |range| range.start);
        let start = body[..first]
            .char_indices()
            .rev()
            .nth(SNIPPET_LEAD_CHARS - 1)
            .map_or(0, |(at, _)| at);
        let end = body[start..]
            .char_indices()
            .nth(SNIPPET_CHARS)
            .map_or(body.len(), |(at, _)| start + at);
        let mut parts = Vec::new();
        let mut push = |text: &str, marked: bool| {
            if !text.is_empty() {
                parts.push(SnippetPart {
                    text: text.to_owned(),
                    marked,
                });
            }
        };
        if start > 0 {
            push("…", false);
        }
        let mut at = start;
        for range in ranges {
            let (from, to) = (range.start.max(start), range.end.min(end));
            if from >= to {
                continue;
            }
            push(&body[at..from], false);
            push(&body[from..to], true);
            at = to;
        }
        push(&body[at..end], false);
        if end < body.len() {
            push("…", false);
        }
        parts
    }

    /// The query in SQLite FTS5's syntax: each term a quoted phrase (a `*` after it for a
    /// prefix), joined by `AND`. Tokens hold only letters and digits, so quoting cannot be
    /// broken; FTS5's own keywords (`NEAR`, `AND`) inside quotes are plain words.
    pub fn to_fts5(&self) -> String {
        self.terms
            .iter()
            .map(|term| {
                let star = if term.prefix { " *" } else { "" };
                format!("\"{}\"{star}", term.tokens.join(" "))
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The query as a PostgreSQL `tsquery` over the `simple` configuration: each term's
    /// tokens joined by `<->` (followed by), the last one `:*` for a prefix, terms joined by
    /// `&`. Tokens are quoted as lexemes, so none is read as an operator.
    pub fn to_tsquery(&self) -> String {
        self.terms
            .iter()
            .map(|term| {
                let last = term.tokens.len() - 1;
                let tokens: Vec<String> = term
                    .tokens
                    .iter()
                    .enumerate()
                    .map(|(index, token)| {
                        let star = if term.prefix && index == last {
                            ":*"
                        } else {
                            ""
                        };
                        format!("'{token}'{star}")
                    })
                    .collect();
                format!("({})", tokens.join(" <-> "))
            })
            .collect::<Vec<_>>()
            .join(" & ")
    }
}

/// A filter's value, if `text` is `key` followed by something: lowercase, without a
/// leading `@` or `#` (people type `from:@minji`, `in:#general`) and without control
/// characters (a NUL would fail PostgreSQL's text parameter).
fn filter(text: &str, key: &str) -> Option<String> {
    let head = text.get(..key.len())?;
    if !head.eq_ignore_ascii_case(key) {
        return None;
    }
    let value: String = text[key.len()..]
        .trim_start_matches(['@', '#'])
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    (!value.is_empty()).then(|| value.to_lowercase())
}

/// An unquoted word: its tokens, the last one by prefix.
fn word_term(text: &str) -> Option<Term> {
    term(query_tokens(&words(text)), true)
}

/// A quoted phrase: every word in order, matched whole.
fn phrase(text: &str) -> Option<Term> {
    let words = words(text);
    let tokens = query_tokens(&words);
    // A phrase that ends in one syllable still needs the prefix to meet that syllable's
    // pairs: "회의 시" finds "회의 시작".
    let ends_in_syllable = words
        .last()
        .is_some_and(|word| word.script == Script::Cjk && word.text.chars().count() == 1);
    term(tokens, ends_in_syllable)
}

/// A query's words as tokens: each split as the text is, but the last one may stop anywhere
/// inside a run of the text.
fn query_tokens(words: &[Word]) -> Vec<String> {
    let mut tokens = Vec::new();
    for (index, word) in words.iter().enumerate() {
        let end = if index + 1 == words.len() {
            TextEnd::QueryEnd
        } else {
            TextEnd::Whole
        };
        push_tokens(&mut tokens, word, end);
    }
    tokens
}

fn term(mut tokens: Vec<String>, prefix: bool) -> Option<Term> {
    if tokens.is_empty() {
        return None;
    }
    tokens.truncate(MAX_TOKENS_PER_TERM);
    Some(Term { tokens, prefix })
}

/// How a word's run of CJK characters ends its tokens.
#[derive(Clone, Copy, PartialEq)]
enum TextEnd {
    /// Pairs, then the last character alone: how the text is indexed, and how a query word
    /// is split where more of it follows.
    Whole,
    /// Pairs only (or the one character): the end of a query word, which may stop anywhere
    /// inside a run of the text.
    QueryEnd,
}

fn push_tokens(tokens: &mut Vec<String>, word: &Word, end: TextEnd) {
    match word.script {
        Script::Other => tokens.push(word.text.to_lowercase()),
        Script::Cjk => {
            let chars: Vec<char> = word.text.chars().collect();
            if chars.len() == 1 {
                tokens.push(chars[0].to_string());
                return;
            }
            for pair in chars.windows(2) {
                tokens.push(pair.iter().collect());
            }
            if let (TextEnd::Whole, Some(last)) = (end, chars.last()) {
                tokens.push(last.to_string());
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Script {
    /// Hangul, kana and Han: written without spaces between words.
    Cjk,
    /// Every other letter and digit.
    Other,
}

#[derive(Debug)]
struct Word<'a> {
    text: &'a str,
    /// Where `text` begins in the text it was found in, in bytes.
    start: usize,
    script: Script,
}

/// The runs of letters and digits in `text`, each of one script; anything else separates.
fn words(text: &str) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut start: Option<(usize, Script)> = None;
    for (index, c) in text.char_indices() {
        let script = if !is_word_char(c) {
            None
        } else if is_cjk(c) {
            Some(Script::Cjk)
        } else {
            Some(Script::Other)
        };
        match (start, script) {
            (Some((_, open)), Some(now)) if open == now => {}
            (Some((from, open)), _) => {
                words.push(Word {
                    text: &text[from..index],
                    start: from,
                    script: open,
                });
                start = script.map(|now| (index, now));
            }
            (None, _) => start = script.map(|now| (index, now)),
        }
    }
    if let Some((from, open)) = start {
        words.push(Word {
            text: &text[from..],
            start: from,
            script: open,
        });
    }
    words
}

/// `text` in Unicode's composed form (NFC), borrowed when it already is.
fn nfc(text: &str) -> Cow<'_, str> {
    match unicode_normalization::is_nfc_quick(text.chars()) {
        IsNormalized::Yes => Cow::Borrowed(text),
        _ => Cow::Owned(text.nfc().collect()),
    }
}

/// Letters (not symbols drawn as letters, such as `ⓐ`) and ASCII digits.
fn is_word_char(c: char) -> bool {
    let enclosed = matches!(c, '\u{2460}'..='\u{24FF}' | '\u{1F100}'..='\u{1F1FF}');
    c.is_ascii_digit() || (c.is_alphabetic() && !enclosed)
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{1100}'..='\u{11FF}'     // Hangul Jamo
        | '\u{3040}'..='\u{30FF}'   // Hiragana, Katakana
        | '\u{3130}'..='\u{318F}'   // Hangul Compatibility Jamo
        | '\u{31F0}'..='\u{31FF}'   // Katakana Phonetic Extensions
        | '\u{3400}'..='\u{4DBF}'   // CJK Extension A
        | '\u{4E00}'..='\u{9FFF}'   // CJK Unified Ideographs
        | '\u{A960}'..='\u{A97F}'   // Hangul Jamo Extended-A
        | '\u{AC00}'..='\u{D7AF}'   // Hangul Syllables
        | '\u{D7B0}'..='\u{D7FF}'   // Hangul Jamo Extended-B
        | '\u{F900}'..='\u{FAFF}'   // CJK Compatibility Ideographs
        | '\u{FF66}'..='\u{FF9F}'   // Halfwidth Katakana
        | '\u{FFA0}'..='\u{FFDC}'   // Halfwidth Hangul
        | '\u{20000}'..='\u{3134F}' // CJK Extensions B to G
    )
}

/// What the query's text is made of before it is split into tokens.
enum Piece<'a> {
    Word(&'a str),
    Phrase(&'a str),
}

/// Splits at whitespace, keeping a double-quoted stretch as one phrase (an unclosed quote
/// runs to the end).
fn pieces(input: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = input;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return pieces;
        }
        if let Some(after) = rest.strip_prefix('"') {
            let end = after.find('"').unwrap_or(after.len());
            pieces.push(Piece::Phrase(&after[..end]));
            rest = after.get(end + 1..).unwrap_or("");
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            pieces.push(Piece::Word(&rest[..end]));
            rest = &rest[end..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `query` finds `body`, by the rule both stores follow: every term's tokens
    /// appear in the body's search text consecutively, the last one by prefix if marked.
    fn finds(query: &str, body: &str) -> bool {
        let text = search_text(body);
        let tokens: Vec<&str> = text.split(' ').filter(|t| !t.is_empty()).collect();
        let query = SearchQuery::parse(query);
        !query.is_empty()
            && query.terms.iter().all(|term| {
                let n = term.tokens.len();
                tokens.windows(n).any(|window| {
                    window
                        .iter()
                        .zip(&term.tokens)
                        .enumerate()
                        .all(|(i, (have, want))| {
                            if term.prefix && i == n - 1 {
                                have.starts_with(want.as_str())
                            } else {
                                have == want
                            }
                        })
                })
            })
    }

    /// (query, body, found): the cases every engine must answer alike.
    const CASES: &[(&str, &str, bool)] = &[
        ("회의", "오늘회의는3시", true),
        ("회의", "회의실", true),
        ("회의", "내일 회의를 합니다", true),
        ("회의실", "3층회의실에서", true),
        ("회의실", "회의를 합니다", false),
        ("회의실", "실회의", false),
        ("는", "오늘회의는", true),
        ("밥", "오늘회의는", false),
        ("회의는3시", "오늘회의는3시", true),
        ("회의는4시", "오늘회의는3시", false),
        ("3시", "오늘회의는3시에", true),
        ("PR리뷰", "오늘 PR리뷰 부탁", true),
        ("deploy", "Deployment went fine", true),
        ("ployment", "deployment", false),
        ("\"release notes\"", "the release notes are up", true),
        ("\"release notes\"", "notes on the release", false),
        ("\"회의 시\"", "회의 시작합니다", true),
        ("\"회의 시작\"", "시작 회의", false),
        ("회", "오늘회의는", true),
        ("시", "3시", true),
        ("의는3", "오늘회의는3시", true),
        ("회의실", "회의실 예약", true),
        ("DEPLOYMENT fine", "deployment went fine", true),
        ("café", "Café au lait", true),
        ("\"회의 시작\"", "회의 시작합니다", true),
        ("NEAR(a b) -c \"", "a NEAR b", false),
        ("회의①안건", "회의①안건", true),
        ("会議 ・", "会議を始めます", true),
        ("회의 ⓐ", "회의", true),
        ("cafe", "Café", false),
        ("'; DROP TABLE m; --", "drop table m", true),
    ];

    #[test]
    fn the_rule_answers_every_case() {
        for &(query, body, found) in CASES {
            assert_eq!(finds(query, body), found, "{query:?} in {body:?}");
        }
    }

    /// SQLite's FTS5 with the tokenizer the store uses reads the search text back as the
    /// same tokens, and takes every query as valid syntax.
    #[tokio::test]
    async fn sqlite_fts5_answers_every_case_alike() {
        use sqlx::{Connection, SqliteConnection};
        let mut db = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::query(
            "CREATE VIRTUAL TABLE t USING fts5(text, tokenize = 'unicode61 remove_diacritics 0')",
        )
        .execute(&mut db)
        .await
        .unwrap();
        for &(query, body, found) in CASES {
            sqlx::query("DELETE FROM t").execute(&mut db).await.unwrap();
            sqlx::query("INSERT INTO t (text) VALUES (?1)")
                .bind(search_text(body))
                .execute(&mut db)
                .await
                .unwrap();
            let fts = SearchQuery::parse(query).to_fts5();
            let (hits,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM t WHERE t MATCH ?1")
                .bind(&fts)
                .fetch_one(&mut db)
                .await
                .unwrap_or_else(|error| panic!("{query:?} as {fts:?}: {error}"));
            assert_eq!(hits == 1, found, "{query:?} ({fts}) in {body:?}");
        }
    }

    /// PostgreSQL's `simple` text search over the same search text answers alike.
    #[tokio::test]
    async fn postgres_text_search_answers_every_case_alike() {
        use sqlx::{Connection, PgConnection};
        let scratch = crate::backend::store::scratch::ScratchDatabase::create().await;
        let mut db = PgConnection::connect(scratch.url()).await.unwrap();
        for &(query, body, found) in CASES {
            let tsquery = SearchQuery::parse(query).to_tsquery();
            let (hit,): (bool,) =
                sqlx::query_as("SELECT to_tsvector('simple', $1) @@ to_tsquery('simple', $2)")
                    .bind(search_text(body))
                    .bind(&tsquery)
                    .fetch_one(&mut db)
                    .await
                    .unwrap_or_else(|error| panic!("{query:?} as {tsquery:?}: {error}"));
            assert_eq!(hit, found, "{query:?} ({tsquery}) in {body:?}");
        }
        db.close().await.ok();
    }

    #[test]
    fn hangul_runs_are_indexed_as_overlapping_pairs_and_their_last_syllable() {
        assert_eq!(search_text("오늘회의는3시"), "오늘 늘회 회의 의는 는 3 시");
        assert_eq!(search_text("회의실"), "회의 의실 실");
        assert_eq!(
            search_text("Standup at 10:00, 회의!"),
            "standup at 10 00 회의 의"
        );
    }

    #[test]
    fn filters_are_taken_out_of_the_words() {
        let query = SearchQuery::parse("from:Minji in:General 회의");
        assert_eq!(query.from.as_deref(), Some("minji"));
        assert_eq!(query.room.as_deref(), Some("general"));
        assert_eq!(query.terms.len(), 1);
        let query = SearchQuery::parse("from:@Min\u{0}ji in:#dev");
        assert_eq!(query.from.as_deref(), Some("minji"));
        assert_eq!(query.room.as_deref(), Some("dev"));
        // A filter with nothing after it is a word like any other.
        let query = SearchQuery::parse("from:");
        assert_eq!(query.from, None);
        assert_eq!(query.to_fts5(), "\"from\" *");
    }

    #[test]
    fn hostile_input_becomes_plain_words_in_both_syntaxes() {
        for input in [
            "\"",
            "\"\"",
            "*",
            "NEAR(a b)",
            "a -b",
            "(((",
            "'; DROP TABLE messages; --",
            "a:b:c",
            "^ 회의 OR",
            "\\' \\\\",
        ] {
            let query = SearchQuery::parse(input);
            for token in query.terms.iter().flat_map(|term| &term.tokens) {
                assert!(
                    token.chars().all(char::is_alphanumeric),
                    "{input:?} gave the token {token:?}"
                );
            }
        }
        assert_eq!(
            SearchQuery::parse("NEAR(a b)").to_fts5(),
            "\"near a\" * AND \"b\" *"
        );
        assert_eq!(SearchQuery::parse("a -b").to_tsquery(), "('a':*) & ('b':*)");
        assert!(SearchQuery::parse("\" * ( ) -").is_empty());
    }

    #[test]
    fn a_very_long_query_is_bounded() {
        let query = SearchQuery::parse(&"회의 ".repeat(10_000));
        assert_eq!(query.terms.len(), 1, "repeated words count once");
        let query = SearchQuery::parse(&(0..10_000).map(|n| format!("w{n} ")).collect::<String>());
        assert_eq!(query.terms.len(), MAX_TERMS);
        let query = SearchQuery::parse(&"가".repeat(10_000));
        assert_eq!(query.terms[0].tokens.len(), MAX_TOKENS_PER_TERM);
    }

    fn marked(query: &str, body: &str) -> Vec<String> {
        SearchQuery::parse(query)
            .snippet(body)
            .into_iter()
            .filter(|part| part.marked)
            .map(|part| part.text)
            .collect()
    }

    #[test]
    fn a_snippet_marks_the_words_found_and_only_them() {
        assert_eq!(
            marked("회의", "오늘회의는3시, 회의실에서"),
            ["회의", "회의"]
        );
        assert_eq!(marked("deploy", "Deployment went fine"), ["Deployment"]);
        assert_eq!(
            marked("\"release notes\"", "the Release notes"),
            ["Release", "notes"]
        );
        assert_eq!(
            marked("회의실 3층", "3층회의실"),
            ["3층회의실"],
            "touching marks join"
        );
        assert!(
            marked("from:minji", "minji said hi").is_empty(),
            "filters mark nothing"
        );
        let parts = SearchQuery::parse("점심").snippet("점심 먹자");
        assert_eq!(
            parts,
            [
                SnippetPart {
                    text: "점심".into(),
                    marked: true
                },
                SnippetPart {
                    text: " 먹자".into(),
                    marked: false
                },
            ]
        );
    }

    #[test]
    fn a_long_body_is_cut_around_its_first_match() {
        let body = format!("{}회의{}", "가".repeat(500), "나".repeat(500));
        let parts = SearchQuery::parse("회의").snippet(&body);
        assert_eq!(parts.first().unwrap().text, "…");
        assert_eq!(parts.last().unwrap().text, "…");
        let shown: String = parts.iter().map(|part| part.text.as_str()).collect();
        assert_eq!(
            shown.chars().count(),
            SNIPPET_CHARS + 2,
            "the window and two ellipses"
        );
        let before: String = parts[1].text.clone();
        assert_eq!(before.chars().count(), SNIPPET_LEAD_CHARS);
        assert_eq!(
            parts[2],
            SnippetPart {
                text: "회의".into(),
                marked: true
            }
        );
        // Without a match (an edit changed the words), the start is shown.
        let parts = SearchQuery::parse("없음").snippet(&body);
        assert!(!parts[0].marked && parts[0].text.starts_with('가'));
    }

    #[test]
    fn hangul_typed_as_jamo_is_the_same_syllables() {
        let decomposed = "\u{1112}\u{116C}\u{110B}\u{1174}"; // 회의, as macOS may write it
        assert_eq!(search_text(decomposed), search_text("회의"));
        assert!(finds(decomposed, "오늘회의는3시"));
        assert!(finds("회의", &format!("오늘{decomposed}는")));
        assert_eq!(marked(decomposed, "회의실"), ["회의"]);
    }

    #[test]
    fn both_syntaxes_carry_phrases_and_prefixes() {
        let query = SearchQuery::parse("회의실 \"release notes\" 시");
        assert_eq!(
            query.to_fts5(),
            "\"회의 의실\" * AND \"release notes\" AND \"시\" *"
        );
        assert_eq!(
            query.to_tsquery(),
            "('회의' <-> '의실':*) & ('release' <-> 'notes') & ('시':*)"
        );
    }
}
