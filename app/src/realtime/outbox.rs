//! The outbox ([`Outbox`]): the posts written in this tab and not yet acknowledged, oldest
//! first, and the decisions taken around sending them: the id a new post gets, what one
//! attempt's answer means for the post ([`AfterSend`]: delivered, wait, park or fail), and
//! the sender's own copy of a delivered post shown until the broadcast replaces it.
//!
//! `browser` keeps the outbox in `localStorage` (the JSON array [`Outbox::to_stored`]
//! writes), calls the server and sleeps; this module never does either, so every rule here
//! is tested natively. An entry keeps its [`ClientId`] across every resend and reload: the
//! server answers a resend with the original message, so a retry never duplicates.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::model::{RichText, RoomId};
use crate::protocol::{Ack, ClientId, MessageId, MessageView, Person};

/// A post waiting for its acknowledgement.
///
/// Stored as JSON. [`ClientId`] is serde-transparent, so its field is the same UUID string
/// the earlier `String` field wrote: outboxes saved before the change load unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub client_id: ClientId,
    pub room: RoomId,
    pub body: String,
    pub state: OutboxState,
    /// The message this post answers, kept across reloads and resends like the rest
    /// (outboxes saved before replies existed load with none).
    #[serde(default)]
    pub reply_to: Option<MessageId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OutboxState {
    /// Waiting to be sent (or resent: offline, rate-limited, server unreachable).
    Queued,
    /// On its way to the server.
    Sending,
    /// The server refused it for good; the reason is shown with a "Retry" button.
    Failed(String),
}

/// The posts not yet acknowledged, oldest first; sent in that order, one at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Outbox {
    entries: Vec<OutboxEntry>,
}

impl Outbox {
    /// The outbox saved by an earlier page, from its stored JSON (if any). Storage that does
    /// not parse is dropped: nothing better can be made of it, and keeping it would block
    /// every later save. A post that was on its way when the page closed goes again.
    pub fn from_stored(json: Option<&str>) -> Self {
        let entries = json
            .and_then(|json| serde_json::from_str::<Vec<OutboxEntry>>(json).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|entry| match entry.state {
                OutboxState::Sending => OutboxEntry {
                    state: OutboxState::Queued,
                    ..entry
                },
                _ => entry,
            })
            .collect();
        Self { entries }
    }

    /// The JSON [`Outbox::from_stored`] reads back.
    pub fn to_stored(&self) -> String {
        // Strings, numbers and unit variants only: serialising cannot fail, and "[]" would
        // merely lose the copy in storage, never the outbox on screen.
        serde_json::to_string(self).unwrap_or_else(|_| "[]".into())
    }

    /// A new post (a reply when `reply_to` is given), queued behind the others.
    pub fn push(
        &mut self,
        client_id: ClientId,
        room: RoomId,
        body: String,
        reply_to: Option<MessageId>,
    ) {
        self.entries.push(OutboxEntry {
            client_id,
            room,
            body,
            state: OutboxState::Queued,
            reply_to,
        });
    }

    /// The posts of `room`, oldest first.
    pub fn pending(&self, room: RoomId) -> Vec<OutboxEntry> {
        self.entries
            .iter()
            .filter(|entry| entry.room == room)
            .cloned()
            .collect()
    }

    /// The oldest post waiting to be sent.
    pub fn next_queued(&self) -> Option<&OutboxEntry> {
        self.entries
            .iter()
            .find(|entry| entry.state == OutboxState::Queued)
    }

    pub fn set_state(&mut self, client_id: &ClientId, state: OutboxState) {
        for entry in self
            .entries
            .iter_mut()
            .filter(|entry| &entry.client_id == client_id)
        {
            entry.state = state.clone();
        }
    }

    /// Queues a failed post again (the "Retry" button).
    pub fn retry(&mut self, client_id: &ClientId) {
        self.set_state(client_id, OutboxState::Queued);
    }

    /// The post is on the server: by its acknowledgement, or by its broadcast arriving
    /// first (a message carries the client id it was posted with).
    pub fn remove(&mut self, client_id: &ClientId) {
        self.entries.retain(|entry| &entry.client_id != client_id);
    }

    /// Applies what one attempt to send `client_id` came to.
    pub fn settle(&mut self, client_id: &ClientId, after: &AfterSend) {
        match after {
            AfterSend::Delivered(_) => self.remove(client_id),
            AfterSend::RetryAfter(_) | AfterSend::Park => {
                self.set_state(client_id, OutboxState::Queued)
            }
            AfterSend::Fail(reason) => {
                self.set_state(client_id, OutboxState::Failed(reason.clone()))
            }
        }
    }
}

/// What one attempt to send a post came to, and so what happens to it and to the rest of
/// the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterSend {
    /// The server committed it: it leaves the outbox and shows at its place.
    Delivered(Ack),
    /// Rate-limited: it waits in the queue, and nothing is sent for this long.
    RetryAfter(Duration),
    /// The server is unreachable: it waits in the queue and sending stops; the next
    /// connection (or the browser coming back online) sends again.
    Park,
    /// Refused for good: it stays, marked failed with this reason, until the user retries.
    /// The posts behind it go on.
    Fail(String),
}

impl AfterSend {
    pub fn decide(sent: Result<Ack, ApiError>) -> Self {
        match sent {
            Ok(ack) => AfterSend::Delivered(ack),
            Err(ApiError::RateLimited { retry_after_secs }) => {
                AfterSend::RetryAfter(Duration::from_secs(retry_after_secs))
            }
            Err(
                ApiError::Request(_)
                | ApiError::Internal
                | ApiError::Unavailable
                | ApiError::TimedOut,
            ) => AfterSend::Park,
            Err(refused) => AfterSend::Fail(refused.to_string()),
        }
    }
}

/// The sender's own copy of a post the server acknowledged, shown at its place at once (the
/// broadcast, which may take a moment, replaces it by `seq`). `author` is who is signed in;
/// `now_ms` stands in for the server's time until then.
pub fn sent_message(
    entry: &OutboxEntry,
    ack: &Ack,
    author: Option<Person>,
    now_ms: i64,
) -> MessageView {
    MessageView {
        id: ack.id,
        room: entry.room,
        seq: ack.seq,
        client_id: entry.client_id.clone(),
        author,
        body: entry.body.clone(),
        created_ms: now_ms,
        edited_ms: None,
        deleted: false,
        changed_seq: ack.seq,
        reactions: Vec::new(),
        reply_to: None,
        // Only the server parses Markdown: until its copy arrives, the text shows as typed.
        rich: RichText::default(),
        mentions: Vec::new(),
        mentioned: Vec::new(),
    }
}

/// A random version-4 UUID for a new post. `random` draws from `[0, 1)` (`Math.random`,
/// which carries 52 random bits per draw).
pub fn new_client_id(mut random: impl FnMut() -> f64) -> ClientId {
    let mut hex = String::with_capacity(39);
    while hex.len() < 32 {
        // 13 hex digits from each draw: 52 bits. A draw outside [0, 1) still gives only
        // hex digits (`as` saturates), just not random ones.
        let draw = (random() * (1u64 << 52) as f64) as u64;
        hex.push_str(&format!("{draw:013x}"));
    }
    let variant = ["8", "9", "a", "b"][(random() * 4.0) as usize % 4];
    let text = format!(
        "{}-{}-4{}-{}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        variant,
        &hex[17..20],
        &hex[20..32]
    );
    // `hex` holds only [0-9a-f] (every piece is a `{:x}` formatting) and at least 32 of
    // them, so `text` is 8-4-4-4-12 hex digits with hyphens between: the canonical form
    // `ClientId::parse` accepts.
    ClientId::parse(&text).expect("a formatted UUID parses")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Field, Problem, UserId};
    use crate::protocol::MessageId;

    fn id(n: u8) -> ClientId {
        ClientId::parse(&format!("00000000-0000-4000-8000-0000000000{n:02x}")).unwrap()
    }

    fn outbox(entries: &[(u8, OutboxState)]) -> Outbox {
        let mut outbox = Outbox::default();
        for (n, state) in entries {
            outbox.push(id(*n), RoomId(1), format!("post {n}"), None);
            outbox.set_state(&id(*n), state.clone());
        }
        outbox
    }

    fn states(outbox: &Outbox) -> Vec<(ClientId, OutboxState)> {
        outbox
            .entries
            .iter()
            .map(|entry| (entry.client_id.clone(), entry.state.clone()))
            .collect()
    }

    fn ack(seq: u64) -> Ack {
        Ack {
            id: MessageId(90),
            seq,
            client_id: id(1),
        }
    }

    #[test]
    fn an_outbox_stored_by_the_string_id_version_loads_and_resends_what_was_on_its_way() {
        // Written by the code whose `client_id` was a `String`.
        let stored = r#"[
            {"client_id":"0b8e6a3e-5f1c-4c35-9a2b-2f4b8c1d9e70","room":7,"body":"안녕","state":"Sending"},
            {"client_id":"1c9f7b4f-6a2d-4d46-8b3c-3a5c9d2e0f81","room":7,"body":"hi","state":{"Failed":"Join the room to post in it."}}
        ]"#;
        let outbox = Outbox::from_stored(Some(stored));
        let pending = outbox.pending(RoomId(7));
        assert_eq!(pending.len(), 2);
        assert_eq!(
            pending[0].client_id.as_str(),
            "0b8e6a3e-5f1c-4c35-9a2b-2f4b8c1d9e70"
        );
        assert_eq!(pending[0].body, "안녕");
        assert_eq!(pending[0].state, OutboxState::Queued, "sent again");
        assert_eq!(pending[0].reply_to, None, "written before replies existed");
        assert_eq!(
            pending[1].state,
            OutboxState::Failed("Join the room to post in it.".into())
        );
    }

    #[test]
    fn what_is_stored_loads_back_the_same() {
        let saved = outbox(&[
            (1, OutboxState::Queued),
            (2, OutboxState::Failed("no".into())),
        ]);
        assert_eq!(Outbox::from_stored(Some(&saved.to_stored())), saved);
    }

    #[test]
    fn a_reply_keeps_the_message_it_answers_across_storage_and_resends() {
        let mut posts = Outbox::default();
        posts.push(id(1), RoomId(1), "좋아요".into(), Some(MessageId(42)));
        posts.settle(&id(1), &AfterSend::Park);
        let reloaded = Outbox::from_stored(Some(&posts.to_stored()));
        let next = reloaded.next_queued().expect("queued again");
        assert_eq!(next.reply_to, Some(MessageId(42)));
    }

    #[test]
    fn missing_or_unreadable_storage_gives_an_empty_outbox() {
        assert_eq!(Outbox::from_stored(None), Outbox::default());
        assert_eq!(Outbox::from_stored(Some("{not json")), Outbox::default());
    }

    #[test]
    fn posts_go_oldest_first_and_one_failed_does_not_hold_back_the_rest() {
        let mut posts = outbox(&[(1, OutboxState::Queued), (2, OutboxState::Queued)]);
        assert_eq!(
            posts.next_queued().map(|entry| &entry.client_id),
            Some(&id(1))
        );
        posts.settle(&id(1), &AfterSend::Fail("refused".into()));
        assert_eq!(
            posts.next_queued().map(|entry| &entry.client_id),
            Some(&id(2))
        );
        posts.settle(&id(2), &AfterSend::Delivered(ack(4)));
        assert_eq!(posts.next_queued(), None);
        assert_eq!(
            states(&posts),
            [(id(1), OutboxState::Failed("refused".into()))]
        );
    }

    #[test]
    fn a_post_waiting_or_parked_is_queued_again_for_the_next_flush() {
        for after in [
            AfterSend::RetryAfter(Duration::from_secs(3)),
            AfterSend::Park,
        ] {
            let mut posts = outbox(&[(1, OutboxState::Sending)]);
            posts.settle(&id(1), &after);
            assert_eq!(states(&posts), [(id(1), OutboxState::Queued)], "{after:?}");
        }
    }

    #[test]
    fn retry_queues_a_failed_post_again_under_its_own_id() {
        let mut posts = outbox(&[
            (1, OutboxState::Failed("no".into())),
            (2, OutboxState::Sending),
        ]);
        posts.retry(&id(1));
        assert_eq!(
            states(&posts),
            [(id(1), OutboxState::Queued), (id(2), OutboxState::Sending)]
        );
    }

    #[test]
    fn pending_lists_only_the_rooms_own_posts_in_order() {
        let mut posts = Outbox::default();
        posts.push(id(1), RoomId(1), "a".into(), None);
        posts.push(id(2), RoomId(2), "b".into(), None);
        posts.push(id(3), RoomId(1), "c".into(), None);
        let bodies: Vec<String> = posts
            .pending(RoomId(1))
            .into_iter()
            .map(|entry| entry.body)
            .collect();
        assert_eq!(bodies, ["a", "c"]);
    }

    #[test]
    fn an_acknowledgement_delivers() {
        assert_eq!(AfterSend::decide(Ok(ack(4))), AfterSend::Delivered(ack(4)));
    }

    #[test]
    fn a_rate_limit_waits_as_long_as_the_server_says() {
        assert_eq!(
            AfterSend::decide(Err(ApiError::RateLimited {
                retry_after_secs: 7
            })),
            AfterSend::RetryAfter(Duration::from_secs(7))
        );
    }

    #[test]
    fn an_unreachable_server_parks_the_post() {
        for error in [
            ApiError::Request("offline".into()),
            ApiError::Internal,
            ApiError::Unavailable,
        ] {
            assert_eq!(
                AfterSend::decide(Err(error.clone())),
                AfterSend::Park,
                "{error:?}"
            );
        }
    }

    #[test]
    fn a_refusal_fails_the_post_with_the_reason_shown() {
        assert_eq!(
            AfterSend::decide(Err(ApiError::NotMember)),
            AfterSend::Fail("Join the room to post in it.".into())
        );
        let too_long = ApiError::invalid(Field::Message, Problem::TooLong { max: 4000 });
        assert_eq!(
            AfterSend::decide(Err(too_long.clone())),
            AfterSend::Fail(too_long.to_string())
        );
        assert_eq!(
            AfterSend::decide(Err(ApiError::Unauthenticated)),
            AfterSend::Fail("Please sign in to continue.".into())
        );
    }

    #[test]
    fn the_senders_copy_is_the_post_at_its_acknowledged_place() {
        let mut posts = Outbox::default();
        posts.push(id(1), RoomId(3), "hello <b>".into(), None);
        let entry = &posts.pending(RoomId(3))[0];
        let author = Person {
            id: UserId(5),
            username: "minji".into(),
            display_name: "Minji".into(),
        };
        let shown = sent_message(entry, &ack(12), Some(author.clone()), 1_700_000_000_000);
        assert_eq!(
            shown,
            MessageView {
                id: MessageId(90),
                room: RoomId(3),
                seq: 12,
                client_id: id(1),
                author: Some(author),
                body: "hello <b>".into(),
                created_ms: 1_700_000_000_000,
                edited_ms: None,
                deleted: false,
                changed_seq: 12,
                reactions: Vec::new(),
                reply_to: None,
                rich: RichText::default(),
                mentions: Vec::new(),
                mentioned: Vec::new(),
            }
        );
    }

    #[test]
    fn new_ids_are_version_4_uuids_whatever_the_draws() {
        let mut draws = [0.0, 0.999_999_999, 0.5, 0.25, 0.75].into_iter().cycle();
        let mixed = new_client_id(|| draws.next().unwrap_or(0.0));
        let zeros = new_client_id(|| 0.0);
        let nines = new_client_id(|| 0.999_999_999_999);
        for client_id in [&mixed, &zeros, &nines] {
            let text = client_id.as_str();
            assert_eq!(ClientId::parse(text).as_ref(), Some(client_id));
            assert_eq!(&text[14..15], "4", "version 4: {text}");
            assert!("89ab".contains(&text[19..20]), "RFC 4122 variant: {text}");
        }
        assert_eq!(zeros.as_str(), "00000000-0000-4000-8000-000000000000");
        assert_ne!(mixed, zeros);
    }

    #[test]
    fn ids_from_different_draws_differ() {
        let mut state = 1u64;
        // A small linear congruential generator stands in for Math.random.
        let mut random = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let ids: std::collections::HashSet<ClientId> =
            (0..100).map(|_| new_client_id(&mut random)).collect();
        assert_eq!(ids.len(), 100);
    }
}
