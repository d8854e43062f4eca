//! What one notification on the bus says, and how it is written: a JSON `Envelope` of the
//! sender's id and a [`Message`] tagged by `kind`. Every payload stays far below
//! PostgreSQL's 8,000-byte limit, and an instance ignores its own and anything that does
//! not read as a message.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{ROOMS_PER_PAYLOAD, TYPING_PER_PAYLOAD};
use crate::backend::instance_id::InstanceId;
use crate::backend::revocation::Revocation;
use crate::model::RoomId;
use crate::protocol::Person;
use crate::protocol::probe::ProbeToken;

/// What travels in one notification: who sent it, and what it says.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Envelope {
    from: String,
    #[serde(flatten)]
    message: Message,
}

/// What one notification says, tagged by `kind` on the wire (`{"from":…,"kind":"hints",…}`).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum Message {
    /// Rooms that moved, each to its highest `seq`. An empty list is the start-up
    /// self-test, or a greeting that keeps the listeners' silence short.
    Hints { rooms: Vec<(RoomId, u64)> },
    /// Access that ended; its fields sit beside `kind`, named by their own `scope` tag.
    Revoked(Revocation),
    /// Rooms where the sender's people changed: the receivers read them again.
    Presence { rooms: Vec<RoomId> },
    /// People who typed on the sender's sockets, by room.
    Typing { typing: Vec<(RoomId, Person)> },
    /// A diagnostic probe published on the sender (`/ws/probe`): at most 64 plain
    /// characters, delivered to the probe sockets listening for it.
    Probe { token: ProbeToken },
    /// A kind from a newer instance: ignored, so instances of two versions can share a
    /// deployment while it is upgraded.
    #[serde(other)]
    Unknown,
}

/// A greeting: a hint naming no room.
pub(super) fn greeting(instance: InstanceId) -> String {
    encode(instance, Message::Hints { rooms: Vec::new() })
}

/// The payloads naming `rooms` whose presence changed, split to stay small.
pub(super) fn presence_payloads(instance: InstanceId, rooms: &BTreeSet<RoomId>) -> Vec<String> {
    let rooms: Vec<RoomId> = rooms.iter().copied().collect();
    rooms
        .chunks(ROOMS_PER_PAYLOAD)
        .map(|chunk| {
            encode(
                instance,
                Message::Presence {
                    rooms: chunk.to_vec(),
                },
            )
        })
        .collect()
}

/// The payloads passing `typing` on, split to stay small.
pub(super) fn typing_payloads(instance: InstanceId, typing: &[(RoomId, Person)]) -> Vec<String> {
    typing
        .chunks(TYPING_PER_PAYLOAD)
        .map(|chunk| {
            encode(
                instance,
                Message::Typing {
                    typing: chunk.to_vec(),
                },
            )
        })
        .collect()
}

/// The payloads announcing `newest` (room to highest seq), split to stay small.
pub(super) fn payloads(instance: InstanceId, newest: &BTreeMap<RoomId, u64>) -> Vec<String> {
    let rooms: Vec<(RoomId, u64)> = newest.iter().map(|(room, seq)| (*room, *seq)).collect();
    rooms
        .chunks(ROOMS_PER_PAYLOAD)
        .map(|chunk| {
            let rooms = chunk.to_vec();
            encode(instance, Message::Hints { rooms })
        })
        .collect()
}

pub(super) fn encode(instance: InstanceId, message: Message) -> String {
    let envelope = Envelope {
        from: instance.to_string(),
        message,
    };
    // Strings, numbers and unit enums, with no map keys that are not strings: this always
    // serialises (the tests encode every kind).
    serde_json::to_string(&envelope).unwrap_or_default()
}

/// A notification's sender and message; `None` for anything else on the channel.
pub(super) fn decode(text: &str) -> Option<(InstanceId, Message)> {
    let envelope: Envelope = serde_json::from_str(text).ok()?;
    Some((InstanceId::parse(&envelope.from)?, envelope.message))
}

/// Another instance's message; `None` for our own, or anything that is not a message (a
/// stray NOTIFY on the channel is ignored, not trusted).
pub(super) fn others_message(instance: InstanceId, text: &str) -> Option<Message> {
    let (from, message) = decode(text)?;
    (from != instance).then_some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_payload_stays_far_below_postgresqls_limit() {
        let newest: BTreeMap<RoomId, u64> = (0..ROOMS_PER_PAYLOAD as i64)
            .map(|n| (RoomId(i64::MAX - n), u64::MAX))
            .collect();
        let payloads = payloads(InstanceId::random(), &newest);
        assert_eq!(payloads.len(), 1);
        assert!(payloads[0].len() < 3_000, "{} bytes", payloads[0].len());
    }

    #[test]
    fn many_rooms_are_split_over_several_payloads_each_room_once() {
        let newest: BTreeMap<RoomId, u64> = (1..=150).map(|n| (RoomId(n), 7)).collect();
        let instance = InstanceId::random();
        let payloads = payloads(instance, &newest);
        assert_eq!(payloads.len(), 3);
        let other = InstanceId::random();
        let rooms: Vec<(RoomId, u64)> = payloads
            .iter()
            .flat_map(|payload| match others_message(other, payload) {
                Some(Message::Hints { rooms }) => rooms,
                other => panic!("expected a hint, got {other:?}"),
            })
            .collect();
        assert_eq!(rooms, newest.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn an_instance_ignores_its_own_hints_and_anything_that_is_not_one() {
        let (me, other) = (InstanceId::random(), InstanceId::random());
        let rooms = vec![(RoomId(3), 9)];
        let hint = encode(me, Message::Hints { rooms });
        assert_eq!(others_message(me, &hint), None);
        assert_eq!(
            others_message(other, &hint),
            Some(Message::Hints {
                rooms: vec![(RoomId(3), 9)]
            })
        );
        assert_eq!(others_message(other, "hello"), None);
        assert_eq!(others_message(other, r#"{"from":"x","rooms":[]}"#), None);
        let unnamed = r#"{"from":"x","kind":"hints","rooms":[]}"#;
        assert_eq!(others_message(other, unnamed), None);
    }

    /// Every revocation a service can send, with the largest ids.
    fn every_revocation() -> Vec<Revocation> {
        use crate::backend::revocation::SessionsEnded;
        use crate::model::UserId;
        use crate::protocol::UnsubscribeReason;
        let (user, room) = (UserId(i64::MIN), RoomId(i64::MIN));
        let mut every: Vec<Revocation> = [
            UnsubscribeReason::AccessEnded,
            UnsubscribeReason::Left,
            UnsubscribeReason::RoomDeleted,
        ]
        .into_iter()
        .map(|reason| Revocation::RoomAccess { user, room, reason })
        .collect();
        every.push(Revocation::Room { room });
        every.push(Revocation::Readers { room });
        every.push(Revocation::Sessions {
            user,
            close: SessionsEnded::SignedOut,
        });
        every.push(Revocation::Session {
            user,
            session: [0xff; 32],
        });
        every.push(Revocation::OtherSessions {
            user,
            keep: [0xff; 32],
        });
        every
    }

    #[test]
    fn every_revocation_reads_back_as_it_was_sent_and_stays_small() {
        let (me, other) = (InstanceId::random(), InstanceId::random());
        for revocation in every_revocation() {
            let payload = encode(me, Message::Revoked(revocation));
            assert!(payload.len() < 200, "{} bytes: {payload}", payload.len());
            assert_eq!(
                others_message(other, &payload),
                Some(Message::Revoked(revocation)),
                "{payload}"
            );
            assert_eq!(others_message(me, &payload), None, "our own is ignored");
        }
    }

    #[test]
    fn a_revocation_travels_tagged_beside_its_sender() {
        let me = InstanceId::random();
        let revocation = Revocation::RoomAccess {
            user: crate::model::UserId(4),
            room: RoomId(9),
            reason: crate::protocol::UnsubscribeReason::Left,
        };
        let payload: serde_json::Value =
            serde_json::from_str(&encode(me, Message::Revoked(revocation))).unwrap();
        assert_eq!(
            payload,
            serde_json::json!({
                "from": me.to_string(),
                "kind": "revoked",
                "scope": "room_access",
                "user": 4,
                "room": 9,
                "reason": "left",
            })
        );
    }

    #[test]
    fn a_probe_travels_as_its_token_beside_its_sender_and_a_bad_token_is_not_read() {
        let (me, other) = (InstanceId::random(), InstanceId::random());
        let token = ProbeToken::parse(&"t".repeat(64)).unwrap();
        let payload = encode(
            me,
            Message::Probe {
                token: token.clone(),
            },
        );
        assert!(payload.len() < 200, "{} bytes: {payload}", payload.len());
        let json: serde_json::Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"from": me.to_string(), "kind": "probe", "token": token.as_str()})
        );
        assert_eq!(
            others_message(other, &payload),
            Some(Message::Probe { token })
        );
        let spoofed = format!(r#"{{"from":"{me}","kind":"probe","token":"no spaces"}}"#);
        assert_eq!(others_message(other, &spoofed), None);
    }

    #[test]
    fn a_kind_this_version_does_not_know_is_read_as_unknown_and_ignored() {
        let other = InstanceId::random().to_string();
        let reaction = format!(r#"{{"from":"{other}","kind":"reaction","room":3,"user":4}}"#);
        assert_eq!(
            others_message(InstanceId::random(), &reaction),
            Some(Message::Unknown)
        );
        // A revocation of a scope this version does not know is not applied either.
        let unknown_scope = format!(r#"{{"from":"{other}","kind":"revoked","scope":"team"}}"#);
        assert_eq!(others_message(InstanceId::random(), &unknown_scope), None);
    }

    #[test]
    fn presence_changes_name_their_rooms_split_over_payloads_each_room_once() {
        let rooms: BTreeSet<RoomId> = (1..=100).map(|n| RoomId(i64::MAX - n)).collect();
        let (me, other) = (InstanceId::random(), InstanceId::random());
        let payloads = presence_payloads(me, &rooms);
        assert_eq!(payloads.len(), 2);
        let mut named = BTreeSet::new();
        for payload in &payloads {
            assert!(payload.len() < 3_000, "{} bytes", payload.len());
            match others_message(other, payload) {
                Some(Message::Presence { rooms }) => named.extend(rooms),
                other => panic!("expected presence, got {other:?}"),
            }
            assert_eq!(others_message(me, payload), None, "our own is ignored");
        }
        assert_eq!(named, rooms);
    }

    #[test]
    fn typing_with_the_longest_names_stays_far_below_postgresqls_limit() {
        // Sixty-four characters of four bytes each: the longest display name in bytes.
        let person = |n: i64| Person {
            id: crate::model::UserId(i64::MIN + n),
            username: "u".repeat(crate::model::Username::MAX),
            display_name: "\u{1F600}".repeat(crate::model::DisplayName::MAX),
        };
        let typing: Vec<(RoomId, Person)> =
            (0..40).map(|n| (RoomId(i64::MIN + n), person(n))).collect();
        let (me, other) = (InstanceId::random(), InstanceId::random());
        let payloads = typing_payloads(me, &typing);
        assert_eq!(payloads.len(), 3);
        let mut passed_on = Vec::new();
        for payload in &payloads {
            assert!(payload.len() < 6_000, "{} bytes", payload.len());
            match others_message(other, payload) {
                Some(Message::Typing { typing }) => passed_on.extend(typing),
                other => panic!("expected typing, got {other:?}"),
            }
        }
        assert_eq!(passed_on, typing);
    }
}
