//! Rows into records, written once for both databases. The two stores' SQL differs
//! (placeholders, locking, how a conflict shows), but they select the same columns and read
//! them into the same records, so each backend's row type implements [`Columns`] and the
//! mappers here are written against it.
//!
//! A stored number that does not fit (a negative `seq`) reads as 0 rather than failing the
//! whole query: the schemas never write one.

use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use super::{InvitationRecord, MemberRecord, RoomEvent, RoomRecord, UserRecord};
use crate::model::{NotificationLevel, RichText, RoomId, UserId, Visibility};
use crate::protocol::replies::{ReplyQuote, excerpt};
use crate::protocol::{ClientId, MessageId, MessageView, Person};

/// The typed reads a mapper needs from a row, by column name.
pub(super) trait Columns {
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    fn maybe_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    fn maybe_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error>;
}

/// Each backend's row answers the reads with its own decoding (SQLite stores flags as
/// integers, PostgreSQL as booleans; sqlx decodes both into `bool`).
macro_rules! columns_of {
    ($row:ty) => {
        impl Columns for $row {
            fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
                self.try_get(column)
            }
            fn maybe_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
                self.try_get(column)
            }
            fn text(&self, column: &str) -> Result<String, sqlx::Error> {
                self.try_get(column)
            }
            fn maybe_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(column)
            }
            fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
                self.try_get(column)
            }
        }
    };
}
columns_of!(SqliteRow);
columns_of!(PgRow);

fn seq(row: &impl Columns, column: &str) -> Result<u64, sqlx::Error> {
    Ok(u64::try_from(row.int(column)?).unwrap_or(0))
}

pub(super) fn user_from_row(row: &impl Columns) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: UserId(row.int("id")?),
        username: row.text("username")?,
        display_name: row.text("display_name")?,
        password_hash: row.text("password_hash")?,
        is_admin: row.flag("is_admin")?,
        created_ms: row.int("created_at")?,
    })
}

pub(super) fn room_from_row(row: &impl Columns) -> Result<RoomRecord, sqlx::Error> {
    Ok(RoomRecord {
        id: RoomId(row.int("id")?),
        name: row.text("name")?,
        topic: row.text("topic")?,
        visibility: if row.text("visibility")? == "private" {
            Visibility::Private
        } else {
            Visibility::Public
        },
        owner: row.maybe_int("owner_id")?.map(UserId),
        created_ms: row.int("created_at")?,
        is_direct: row.flag("is_direct")?,
        viewer_is_member: row.flag("viewer_is_member")?,
        direct_peer: row.maybe_text("direct_peer")?,
        unread: u64::try_from(row.int("unread")?).unwrap_or(0),
        // The column's CHECK admits only the levels' names.
        notify: row
            .maybe_text("notify")?
            .as_deref()
            .and_then(NotificationLevel::parse),
    })
}

pub(super) fn member_from_row(row: &impl Columns) -> Result<MemberRecord, sqlx::Error> {
    Ok(MemberRecord {
        id: UserId(row.int("id")?),
        username: row.text("username")?,
        display_name: row.text("display_name")?,
    })
}

pub(super) fn invitation_from_row(row: &impl Columns) -> Result<InvitationRecord, sqlx::Error> {
    Ok(InvitationRecord {
        id: row.int("id")?,
        room: RoomId(row.int("room_id")?),
        created_ms: row.int("created_at")?,
        expires_ms: row.int("expires_at")?,
        revoked: row.maybe_int("revoked_at")?.is_some(),
    })
}

pub(super) fn event_from_row(row: &impl Columns) -> Result<RoomEvent, sqlx::Error> {
    Ok(RoomEvent {
        seq: seq(row, "event_seq")?,
        message: message_from_row(row)?,
    })
}

pub(super) fn message_from_row(row: &impl Columns) -> Result<MessageView, sqlx::Error> {
    let author_id = row.maybe_int("author_id")?;
    let author_name = row.maybe_text("author_name")?;
    let author_username = row.maybe_text("author_username")?;
    let client_id = row.text("client_id")?;
    let body = row.text("body")?;
    let mentioned = mentioned_from_row(row)?;
    let rich = rich_from_row(row, &body, &mentioned)?;
    Ok(MessageView {
        id: MessageId(row.int("id")?),
        room: RoomId(row.int("room_id")?),
        seq: seq(row, "seq")?,
        // Stored only after `ClientId::parse` accepted it.
        client_id: ClientId::parse(&client_id).ok_or_else(|| {
            sqlx::Error::Decode(format!("stored client id {client_id:?} is not a UUID").into())
        })?,
        author: author_id.zip(author_name).zip(author_username).map(
            |((id, display_name), username)| Person {
                id: UserId(id),
                username,
                display_name,
            },
        ),
        body,
        created_ms: row.int("created_at")?,
        edited_ms: row.maybe_int("edited_at")?,
        deleted: row.maybe_int("deleted_at")?.is_some(),
        changed_seq: seq(row, "changed_seq")?,
        // Filled in by the backend's reactions query, which reads them for a whole page.
        reactions: Vec::new(),
        reply_to: quote_from_row(row)?,
        rich,
        mentions: mentioned.iter().map(|person| person.id).collect(),
        mentioned,
    })
}

/// The quote of the message a reply answers, from the `reply_*` columns every message
/// query selects (the original joined as `q`, its author as `qu`).
fn quote_from_row(row: &impl Columns) -> Result<Option<Box<ReplyQuote>>, sqlx::Error> {
    let Some(id) = row.maybe_int("reply_to_id")? else {
        return Ok(None);
    };
    let author_id = row.maybe_int("reply_author_id")?;
    let author_name = row.maybe_text("reply_author_name")?;
    let author_username = row.maybe_text("reply_author_username")?;
    let deleted = row.maybe_int("reply_deleted_at")?.is_some();
    Ok(Some(Box::new(ReplyQuote {
        id: MessageId(id),
        seq: u64::try_from(row.maybe_int("reply_seq")?.unwrap_or(0)).unwrap_or(0),
        author: author_id.zip(author_name).zip(author_username).map(
            |((id, display_name), username)| Person {
                id: UserId(id),
                username,
                display_name,
            },
        ),
        excerpt: if deleted {
            String::new()
        } else {
            excerpt(&row.maybe_text("reply_body")?.unwrap_or_default())
        },
        deleted,
    })))
}

/// The stored rendered form; '' (a message from before it was stored) reads as the body's
/// plain form.
///
/// A form stored in the shape of before (an object, `{"blocks":…}`, where forms are arrays
/// now) is made again from the body, as it was made then: the parser is the same, and the
/// names it took for mentions are those of the people the message mentions. Only a mention
/// of an account deleted since reads differently: as the text it was typed as, not as
/// "@deleted user".
fn rich_from_row(
    row: &impl Columns,
    body: &str,
    mentioned: &[Person],
) -> Result<RichText, sqlx::Error> {
    let stored = row.text("rich")?;
    if stored.is_empty() {
        return Ok(RichText::plain(body));
    }
    if stored.starts_with('{') {
        let rendered = crate::backend::markdown::render(body, &|name| {
            mentioned
                .iter()
                .find(|person| person.username.eq_ignore_ascii_case(name))
                .map(|person| person.id)
        });
        return Ok(rendered.rich);
    }
    serde_json::from_str(&stored)
        .map_err(|error| sqlx::Error::Decode(format!("stored rich form: {error}").into()))
}

/// The people a message mentions, as the query's JSON aggregate of them (`mentioned`).
fn mentioned_from_row(row: &impl Columns) -> Result<Vec<Person>, sqlx::Error> {
    let mut people: Vec<Person> = match row.maybe_text("mentioned")? {
        Some(json) => serde_json::from_str(&json)
            .map_err(|error| sqlx::Error::Decode(format!("mentioned people: {error}").into()))?,
        None => Vec::new(),
    };
    // In id order, whatever order the database aggregated them in: copies compare equal.
    people.sort_by_key(|person| person.id);
    Ok(people)
}

/// The JSON of a rendered form, as stored: '' when it is the body's plain form (most chat
/// lines, and a deleted message's empty one), which reading makes again for less than
/// parsing JSON costs.
pub(super) fn rich_json(rich: &RichText, body: &str) -> String {
    if *rich == RichText::plain(body) {
        return String::new();
    }
    // Plain data with string keys only: serialising it cannot fail.
    serde_json::to_string(rich).unwrap_or_default()
}

/// The ids of `people` as a JSON array, the parameter the mention inserts unpack.
pub(super) fn ids_json(people: &[Person]) -> String {
    let ids: Vec<i64> = people.iter().map(|person| person.id.0).collect();
    // A list of numbers: serialising it cannot fail.
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
}
