//! Rooms: where conversations happen. A room has a [`RoomName`], a [`Topic`], a
//! [`Visibility`], an owner and members. A direct conversation is a private room of exactly
//! two people whose heading is the other person's name.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::field::{Field, FieldError, Problem, visible_text};
use crate::model::UserId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomId(pub i64);

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for RoomId {
    type Err = std::num::ParseIntError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse().map(RoomId)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Any signed-in user can read it; posting takes a "Join".
    Public,
    /// Only members can see it; others get "not found".
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        }
    }

    pub fn from_private_flag(private: bool) -> Self {
        if private {
            Visibility::Private
        } else {
            Visibility::Public
        }
    }
}

/// Counts characters (Unicode scalar values), not bytes, trims, and refuses control
/// characters: the rule shared by room names and topics.
fn text_field(raw: &str, field: Field, min: usize, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    let length = value.chars().count();
    if length < min {
        return Err(FieldError::new(field, Problem::TooShort { min }));
    }
    if length > max {
        return Err(FieldError::new(field, Problem::TooLong { max }));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(field, Problem::ControlCharacters));
    }
    Ok(value.to_owned())
}

/// 1–80 characters of any script, none of them invisible (see [`visible_text`]). Names need
/// not be unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomName(String);

impl RoomName {
    pub const MAX: usize = 80;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = text_field(raw, Field::RoomName, 1, Self::MAX)?;
        visible_text(&name, Field::RoomName)?;
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Up to 250 characters; may be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic(String);

impl Topic {
    pub const MAX: usize = 250;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        text_field(raw, Field::Topic, 0, Self::MAX).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A room as one viewer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomView {
    pub id: RoomId,
    /// The room's name, or for a direct conversation the other person's display name.
    pub name: String,
    pub topic: String,
    pub visibility: Visibility,
    pub is_direct: bool,
    pub owner: Option<UserId>,
    pub created_ms: i64,
    /// Whether the viewer is a member (can post).
    pub is_member: bool,
    /// Whether the viewer may rename, invite to and delete it (owner or admin).
    pub can_manage: bool,
    /// Messages from others since the viewer last had the room open (members only).
    pub unread: u64,
    /// The viewer's notification level here (for a non-member, what joining would give).
    pub notify: super::NotificationLevel,
    /// Of those, the ones that mention the viewer (counted in room lists only).
    #[serde(default)]
    pub mentions: u64,
}

/// A member as listed in a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub is_owner: bool,
}

/// An invitation link to a private room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: i64,
    /// The path to share, `/invite/{token}`: only in the answer that made the link, since
    /// only the token's hash is stored.
    pub path: Option<String>,
    pub created_ms: i64,
    pub expires_ms: i64,
}

/// What an invitation link is for, shown before the visitor decides to join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationPreview {
    pub room: RoomId,
    pub name: String,
    /// The visitor is in the room already: joining changes nothing.
    pub already_member: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_count_characters_not_bytes() {
        assert_eq!(RoomName::parse("  개발팀  ").unwrap().as_str(), "개발팀");
        assert!(
            RoomName::parse(&"방".repeat(80)).is_ok(),
            "80 characters, 240 bytes"
        );
        let long = RoomName::parse(&"방".repeat(81)).unwrap_err();
        assert_eq!(
            long,
            FieldError::new(Field::RoomName, Problem::TooLong { max: 80 })
        );
        let empty = RoomName::parse("   ").unwrap_err();
        assert_eq!(
            empty,
            FieldError::new(Field::RoomName, Problem::TooShort { min: 1 })
        );
    }

    #[test]
    fn room_names_refuse_invisible_formatting_characters() {
        let spoof = RoomName::parse("general\u{2066}").unwrap_err();
        assert_eq!(
            spoof,
            FieldError::new(
                Field::RoomName,
                Problem::InvisibleCharacter { code_point: 0x2066 }
            )
        );
        let zero_width = RoomName::parse("gen\u{200B}eral").unwrap_err();
        assert_eq!(
            zero_width.problem,
            Problem::InvisibleCharacter { code_point: 0x200B }
        );
    }

    #[test]
    fn topics_may_be_empty_but_not_longer_than_250_characters() {
        assert_eq!(Topic::parse("").unwrap().as_str(), "");
        assert!(Topic::parse(&"é".repeat(250)).is_ok());
        let long = Topic::parse(&"é".repeat(251)).unwrap_err();
        assert_eq!(
            long,
            FieldError::new(Field::Topic, Problem::TooLong { max: 250 })
        );
        let control = Topic::parse("line\nbreak").unwrap_err();
        assert_eq!(
            control,
            FieldError::new(Field::Topic, Problem::ControlCharacters)
        );
    }
}
