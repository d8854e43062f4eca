//! `sori-bench search`: message search latency on SQLite over a large history, and what the
//! index costs on disk.
//!
//! The store is opened in this process (no server): the latency measured is the search's
//! own, the database's work and the rows' reading, without HTTP in front of it, which every
//! request pays alike. The history is written through the store's own `insert_message`, so
//! every message is indexed as a post indexes it; its words are Korean run together with
//! particles and numbers, and English, drawn from fixed lists by a fixed seed, so every run
//! searches the same corpus.

use std::time::Instant;

use anyhow::Context;
use app::backend::search::SearchQuery;
use app::backend::store::{self, NewMessage, NewRoom, NewUser, StoreConfig};
use app::model::{RichText, UserId, Visibility};
use app::protocol::ClientId;
use serde_json::json;

use crate::process::Target;
use crate::stats::{Latencies, Report};

#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// Messages in the history searched.
    #[arg(long, default_value_t = 100_000)]
    pub messages: u32,
    /// Times each query of the set is run.
    #[arg(long, default_value_t = 20)]
    pub rounds: u32,
}

const ROOMS: usize = 10;
const PEOPLE: usize = 8;

/// What people type, as the bench searches it: two syllables inside words, one syllable,
/// a three-syllable word, English prefixes, a phrase, a word no message has, filters.
const QUERIES: &[&str] = &[
    "회의",
    "회의실",
    "배포",
    "점",
    "일정 공유",
    "deploy",
    "rev",
    "\"release notes\"",
    "3시",
    "없는말",
    "회의 from:person3",
    "배포 in:room-4",
];

const KOREAN: &[&str] = &[
    "오늘",
    "회의",
    "회의실",
    "배포",
    "일정",
    "공유",
    "점심",
    "저녁",
    "리뷰",
    "문서",
    "서버",
    "검색",
    "테스트",
    "고객",
    "요청",
    "마감",
    "확인",
    "정리",
    "보고",
    "준비",
];
const PARTICLES: &[&str] = &["는", "를", "에서", "은", "이", "가", "도", "", "에", "까지"];
const ENGLISH: &[&str] = &[
    "deploy",
    "deployment",
    "review",
    "release",
    "notes",
    "standup",
    "server",
    "search",
    "meeting",
    "schedule",
    "lunch",
    "bug",
    "fix",
    "ticket",
    "update",
    "ship",
];

/// A small, fixed pseudo-random sequence (xorshift): the same corpus on every run.
struct Draw(u64);

impl Draw {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }
}

/// One message: a few Korean words glued to particles (sometimes to each other and to a
/// time), and a few English words.
fn body(draw: &mut Draw) -> String {
    let mut text = String::new();
    for _ in 0..2 + draw.next(4) {
        text.push_str(KOREAN[draw.next(KOREAN.len())]);
        if draw.next(3) == 0 {
            text.push_str(KOREAN[draw.next(KOREAN.len())]);
        }
        if draw.next(5) == 0 {
            text.push_str(&format!("{}시", 1 + draw.next(12)));
        }
        text.push_str(PARTICLES[draw.next(PARTICLES.len())]);
        text.push(' ');
    }
    for _ in 0..1 + draw.next(4) {
        text.push_str(ENGLISH[draw.next(ENGLISH.len())]);
        text.push(' ');
    }
    text.trim_end().to_owned()
}

pub async fn search(args: SearchArgs) -> anyhow::Result<Report> {
    let dir = std::env::temp_dir().join(format!("sori-bench-search-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("sori.db");
    let result = measure(&args, &path).await;
    std::fs::remove_dir_all(&dir).ok();
    result
}

async fn measure(args: &SearchArgs, path: &std::path::Path) -> anyhow::Result<Report> {
    let store = store::open(&StoreConfig::sqlite_file(path))
        .await
        .context("open the store")?;
    let mut people = Vec::new();
    for n in 0..PEOPLE {
        let username = format!("person{n}");
        let user = NewUser {
            username: &username,
            display_name: &username,
            password_hash: "$argon2id$bench",
            now_ms: 1,
        };
        people.push((store.create_user(user).await?.id, username));
    }
    // Half the rooms private to their owner: the viewer (person0) reads the public ones and
    // its own, so access is checked on every candidate.
    let mut rooms = Vec::new();
    for n in 0..ROOMS {
        let name = format!("room-{n}");
        let (owner, _) = &people[n % PEOPLE];
        let room = NewRoom {
            name: &name,
            topic: "",
            visibility: if n % 2 == 0 {
                Visibility::Public
            } else {
                Visibility::Private
            },
            owner: *owner,
            now_ms: 1,
        };
        rooms.push(store.create_room(room).await?);
    }

    let mut draw = Draw(0x5eed_50f1);
    let seeding = Instant::now();
    let mut text_bytes = 0u64;
    for n in 0..args.messages {
        let (author, username) = &people[draw.next(PEOPLE)];
        let room = rooms[draw.next(ROOMS)];
        let text = body(&mut draw);
        text_bytes += text.len() as u64;
        let client_id =
            ClientId::parse(&format!("00000000-0000-4000-8000-{n:012x}")).context("a client id")?;
        let rich = RichText::plain(&text);
        store
            .insert_message(NewMessage {
                room,
                author: *author,
                author_name: username,
                author_username: username,
                client_id: &client_id,
                body: &text,
                rich: &rich,
                mentioned: &[],
                now_ms: 1_700_000_000_000 + i64::from(n),
                reply_to: None,
            })
            .await?;
    }
    let seeded_s = seeding.elapsed().as_secs_f64();

    let viewer: UserId = people[0].0;
    let mut latencies = Latencies::default();
    let mut per_query = serde_json::Map::new();
    let mut found = 0usize;
    for query in QUERIES {
        let parsed = SearchQuery::parse(query);
        let mut own = Latencies::default();
        for _ in 0..args.rounds {
            let started = Instant::now();
            let hits = store.search_messages(viewer, &parsed, None, 21).await?;
            let micros = started.elapsed().as_micros() as u64;
            own.record(micros);
            latencies.record(micros);
            found = found.max(hits.len());
        }
        let report = Report::new("q", Target::Sori).with_latencies(&mut own);
        per_query.insert((*query).to_owned(), report.field("p50_ms"));
    }
    anyhow::ensure!(
        found > 0,
        "the queries found nothing: the corpus or the index is wrong"
    );

    // What the index costs: the file with it, then without (its table dropped and the
    // search text cleared), both vacuumed.
    store.close().await;
    let with_index = vacuumed_size(path, None).await?;
    let without_index = vacuumed_size(
        path,
        Some("UPDATE messages SET search_text = NULL; DROP TABLE message_search;"),
    )
    .await?;
    Ok(Report::new("search", Target::Sori)
        .with("messages", json!(args.messages))
        .with("queries", json!(latencies.count()))
        .with_latencies(&mut latencies)
        .with("p50_ms_by_query", serde_json::Value::Object(per_query))
        .with(
            "seed_posts_per_s",
            json!(f64::from(args.messages) / seeded_s),
        )
        .with("text_mb", json!(text_bytes as f64 / 1e6))
        .with("db_mb_with_index", json!(with_index as f64 / 1e6))
        .with("db_mb_without_index", json!(without_index as f64 / 1e6))
        .with(
            "index_growth_pct",
            json!((with_index as f64 / without_index.max(1) as f64 - 1.0) * 100.0),
        ))
}

/// The database file's size after `change` (if any) and a VACUUM.
async fn vacuumed_size(path: &std::path::Path, change: Option<&str>) -> anyhow::Result<u64> {
    use sqlx::Connection;
    let url = format!("sqlite://{}", path.display());
    let mut db = sqlx::SqliteConnection::connect(&url).await?;
    if let Some(change) = change {
        sqlx::raw_sql(change).execute(&mut db).await?;
    }
    sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")
        .execute(&mut db)
        .await?;
    db.close().await?;
    Ok(std::fs::metadata(path)?.len())
}
