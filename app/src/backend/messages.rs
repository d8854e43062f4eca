//! Posting and reading messages: the delivery contract.
//!
//! A post is validated (not blank, at most 4,000 characters, the author a member, within the
//! rate limit), rendered from its Markdown with the room's members mentioned (`mentions`),
//! stored with the room's next `seq` in one transaction, and only then
//! acknowledged and published to the hub. A resend with the same client id returns the
//! original acknowledgement and publishes nothing, so retries never duplicate.
//!
//! On a single instance, commit and publish happen under one lock, so the hub sees each
//! room's events in `seq` order; SQLite has a single writer anyway, so the lock costs no
//! throughput. With a store shared by several instances, a committed change goes to the
//! [`Relay`] instead, which orders every room's events itself (whichever instance wrote
//! them) and tells the other instances, after the commit, that the room has moved.
//!
//! Reactions (`reactions`, beside this file) are changes like edits and go the same way.
//! Search and the history around a found message are in `search`.

mod reactions;

mod mentions;
mod search;

pub use search::index_backlog;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::auth::CurrentUser;
use super::clock::Clock;
use super::hub::Hub;
use super::internal_error::OrInternal;
use super::rate_limit::RateLimiter;
use super::relay::Relay;
use super::rooms::{Rooms, can_manage};
use super::store::{Change, NewMessage, RoomEvent, Store, StoreError};
use crate::error::ApiError;
use crate::model::{Field, Problem};
use crate::model::{MessageBody, RoomId};
use crate::protocol::{Ack, ClientId, HistoryPage, MessageId, MessageView, ServerFrame};

/// Messaging settings; part of the server's one configuration struct.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct MessagesConfig {
    /// Messages one user may post per window (bursts up to this many; 0: no limit).
    #[arg(long, env = "SORI_MESSAGES_PER_WINDOW", default_value_t = Self::default().messages_per_window)]
    pub messages_per_window: u32,

    /// The rate-limit window for posting, in seconds.
    #[arg(long, env = "SORI_MESSAGE_WINDOW_SECS", default_value_t = Self::default().message_window_secs)]
    pub message_window_secs: u64,

    /// Messages per history page (the room page shows the newest page).
    #[arg(long, env = "SORI_HISTORY_PAGE", default_value_t = Self::default().history_page)]
    pub history_page: u32,

    /// The largest gap replayed over the socket on resume; beyond it the client refetches.
    #[arg(long, env = "SORI_REPLAY_LIMIT", default_value_t = Self::default().replay_limit)]
    pub replay_limit: u64,

    /// Reactions one user may add or take back per posting window (0: no limit).
    #[arg(long, env = "SORI_REACTIONS_PER_WINDOW", default_value_t = Self::default().reactions_per_window)]
    pub reactions_per_window: u32,

    /// The most distinct emoji one message may carry; a reaction with another is refused.
    #[arg(long, env = "SORI_REACTION_EMOJI_PER_MESSAGE", default_value_t = Self::default().reaction_emoji_per_message)]
    pub reaction_emoji_per_message: u32,
}

impl Default for MessagesConfig {
    fn default() -> Self {
        Self {
            messages_per_window: 10,
            message_window_secs: 10,
            history_page: 50,
            replay_limit: 500,
            reactions_per_window: 30,
            reaction_emoji_per_message: 12,
        }
    }
}

/// What a resuming subscriber gets.
#[derive(Debug, PartialEq, Eq)]
pub enum Replay {
    /// Every event after the client's `seq`, oldest first, and the room's newest `seq`.
    Events {
        events: Vec<RoomEvent>,
        last_seq: u64,
    },
    /// The gap is larger than the replay limit: the client reloads history instead.
    TooFar { last_seq: u64 },
}

pub struct Messages {
    store: Arc<dyn Store>,
    rooms: Arc<Rooms>,
    hub: Arc<Hub>,
    clock: Clock,
    limiter: RateLimiter,
    /// Reactions have their own allowance: a burst of them must not stop someone posting.
    reaction_limiter: RateLimiter,
    reaction_emoji_per_message: u32,
    history_page: u32,
    replay_limit: u64,
    /// Held across commit and publish, so the hub gets each room's events in `seq` order.
    /// Only without a relay: the relay orders by itself, across instances too.
    ordered: Mutex<()>,
    /// Present when other instances share the store (see the module's note).
    relay: Option<Arc<Relay>>,
}

impl Messages {
    pub fn new(
        store: Arc<dyn Store>,
        rooms: Arc<Rooms>,
        hub: Arc<Hub>,
        config: &MessagesConfig,
        clock: Clock,
        relay: Option<Arc<Relay>>,
    ) -> Self {
        Self {
            limiter: RateLimiter::for_store(
                config.messages_per_window,
                Duration::from_secs(config.message_window_secs),
                clock.clone(),
                &store,
                "posts",
            ),
            reaction_limiter: RateLimiter::for_store(
                config.reactions_per_window,
                Duration::from_secs(config.message_window_secs),
                clock.clone(),
                &store,
                "reactions",
            ),
            reaction_emoji_per_message: config.reaction_emoji_per_message,
            store,
            rooms,
            hub,
            clock,
            history_page: config.history_page.max(1),
            replay_limit: config.replay_limit,
            ordered: Mutex::new(()),
            relay,
        }
    }

    /// The lock that orders commit and publish on a single instance; none with a relay.
    async fn ordered(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.relay {
            None => Some(self.ordered.lock().await),
            Some(_) => None,
        }
    }

    /// Posts a message, possibly a reply to `reply_to` (of the same room). The answer is the
    /// acknowledgement, sent only after commit.
    pub async fn send(
        &self,
        user: &CurrentUser,
        room: RoomId,
        client_id: &str,
        body: &str,
        reply_to: Option<MessageId>,
    ) -> Result<Ack, ApiError> {
        let client_id = ClientId::parse(client_id).ok_or_else(|| {
            ApiError::invalid(
                Field::ClientId,
                Problem::Characters {
                    allowed: "a UUID such as 0b8e6a3e-5f1c-4c35-9a2b-2f4b8c1d9e70".into(),
                },
            )
        })?;
        let body = MessageBody::parse(body)?;
        let room = self.rooms.visible(user, room).await?;
        if !room.viewer_is_member {
            return Err(ApiError::NotMember);
        }
        if let Some(original) = reply_to {
            self.check_reply(room.id, original).await?;
        }
        let author = user.user.id;
        // A resend of something already stored is never refused by the rate limit: retrying
        // after a lost acknowledgement must go through. Only a post the limit would refuse
        // is looked up first (the insert below answers ordinary resends by itself).
        if let Err(limited) = self.limiter.check(&[&format!("user:{author}")]).await {
            let existing = self
                .store
                .message_by_client_id(author, &client_id)
                .await
                .or_internal("find message")?;
            return match existing {
                Some(message) => Ok(ack(&message)),
                None => Err(limited.into()),
            };
        }

        // Parsed before the ordering lock: it needs no order, and others need not wait.
        let (rich, mentioned) = self.render(room.id, body.as_str()).await?;
        let _ordered = self.ordered().await;
        let posted = self
            .store
            .insert_message(NewMessage {
                room: room.id,
                author,
                author_name: &user.user.display_name,
                author_username: &user.user.username,
                client_id: &client_id,
                body: body.as_str(),
                rich: &rich,
                mentioned: &mentioned,
                now_ms: self.clock.now_ms(),
                reply_to,
            })
            .await
            .or_internal("insert message")?;
        if posted.created {
            let seq = posted.message.seq;
            match &self.relay {
                None => {
                    let frame = ServerFrame::Message {
                        message: posted.message.clone(),
                    };
                    self.hub.publish(room.id, seq, &frame);
                }
                Some(relay) => {
                    let event = RoomEvent {
                        seq,
                        message: posted.message.clone(),
                    };
                    deliver_committed(relay, event);
                }
            }
            self.hub.stop_typing(room.id, author);
        }
        Ok(ack(&posted.message))
    }

    /// Replaces the text of one's own message. The edit takes the room's next `seq` and is
    /// broadcast (and replayed) like a post.
    pub async fn edit(
        &self,
        user: &CurrentUser,
        id: MessageId,
        body: &str,
    ) -> Result<MessageView, ApiError> {
        let message = self.changeable(user, id).await?;
        let room = self.rooms.visible(user, message.room).await?;
        if !room.viewer_is_member {
            return Err(ApiError::NotMember);
        }
        if message.author.as_ref().map(|author| author.id) != Some(user.user.id) {
            return Err(ApiError::Forbidden);
        }
        let body = MessageBody::parse(body)?;
        self.limiter
            .check(&[&format!("user:{}", user.user.id)])
            .await?;
        // The form follows the edit, and so do the mentions: a name added tells its person,
        // a name removed stops counting for them.
        let (rich, mentioned) = self.render(message.room, body.as_str()).await?;
        self.change(
            id,
            Change::Edit {
                body: body.as_str(),
                rich: &rich,
                mentioned: &mentioned,
            },
        )
        .await
    }

    /// Deletes a message: its author may, and so may the room's owner or an admin. The text
    /// is removed from the database; the message keeps its place as "message deleted".
    pub async fn delete(&self, user: &CurrentUser, id: MessageId) -> Result<MessageView, ApiError> {
        let message = self.changeable(user, id).await?;
        let room = self.rooms.visible(user, message.room).await?;
        let own = message.author.as_ref().map(|author| author.id) == Some(user.user.id);
        if !own && !can_manage(user, &room) {
            return Err(ApiError::Forbidden);
        }
        let deleted = self.change(id, Change::Delete).await?;
        tracing::info!(message = id.0, room = %room.id, user = %user.user.id, own, "message deleted");
        Ok(deleted)
    }

    /// The message if it exists, is not deleted, and `user` can see its room.
    async fn changeable(&self, user: &CurrentUser, id: MessageId) -> Result<MessageView, ApiError> {
        let message = self
            .store
            .message(id)
            .await
            .or_internal("load message")?
            .filter(|message| !message.deleted)
            .ok_or(ApiError::NotFound)?;
        // Hidden rooms answer NotFound, like a missing message.
        self.rooms.visible(user, message.room).await?;
        Ok(message)
    }

    async fn change(&self, id: MessageId, change: Change<'_>) -> Result<MessageView, ApiError> {
        let _ordered = self.ordered().await;
        let event = self
            .store
            .change_message(id, change, self.clock.now_ms())
            .await
            .or_internal("change message")?
            // Deleted meanwhile.
            .ok_or(ApiError::NotFound)?;
        Ok(self.publish_change(event))
    }

    /// Sends a committed change to the room's subscribers (through the relay when other
    /// instances share the store); the caller holds [`Messages::ordered`]. Answers the
    /// message as it is now.
    fn publish_change(&self, event: RoomEvent) -> MessageView {
        let (room, seq, message) = (event.message.room, event.seq, event.message.clone());
        match &self.relay {
            None => self.hub.publish(room, seq, &ServerFrame::from(event)),
            Some(relay) => deliver_committed(relay, event),
        }
        message
    }

    /// Records that `user` has read `room` up to `seq` (for unread counts).
    pub async fn mark_read(
        &self,
        user: &CurrentUser,
        room: RoomId,
        seq: u64,
    ) -> Result<(), ApiError> {
        self.rooms.visible(user, room).await?;
        self.store
            .mark_read(room, user.user.id, seq)
            .await
            .or_internal("mark read")
    }

    /// A page of history, oldest first: the newest page, or the one before `before_seq`.
    pub async fn history(
        &self,
        user: &CurrentUser,
        room: RoomId,
        before_seq: Option<u64>,
    ) -> Result<HistoryPage, ApiError> {
        self.rooms.visible(user, room).await?;
        // The number first, then the page: a change committed in between is in the page
        // and replayed once more after `last_seq` (clients keep the newest copy). The other
        // order could report a change as seen that the page does not hold.
        let last_seq = self
            .store
            .last_seq(room)
            .await
            .or_internal("load history")?;
        let messages = self
            .store
            .messages_before(room, before_seq, self.history_page + 1)
            .await
            .or_internal("load history")?;
        let has_more = messages.len() > self.history_page as usize;
        let skip = messages.len().saturating_sub(self.history_page as usize);
        Ok(HistoryPage {
            messages: messages.into_iter().skip(skip).map(Arc::new).collect(),
            has_more,
            last_seq,
        })
    }

    /// What a subscriber resuming after `after_seq` should receive; without one, nothing
    /// is replayed (a live-only subscription) and only the room's newest `seq` is told.
    pub async fn replay(&self, room: RoomId, after_seq: Option<u64>) -> Result<Replay, StoreError> {
        let last_seq = self.store.last_seq(room).await?;
        let Some(after_seq) = after_seq else {
            return Ok(Replay::Events {
                events: Vec::new(),
                last_seq,
            });
        };
        if last_seq.saturating_sub(after_seq) > self.replay_limit {
            return Ok(Replay::TooFar { last_seq });
        }
        let limit = u32::try_from(self.replay_limit).unwrap_or(u32::MAX);
        let events = self
            .store
            .events_after(room, after_seq, None, limit)
            .await?;
        Ok(Replay::Events { events, last_seq })
    }

    /// The events in `after_seq < seq < until_seq`, for a client filling a gap; `None` when
    /// the range is larger than the replay limit.
    pub async fn range(
        &self,
        room: RoomId,
        after_seq: u64,
        until_seq: u64,
    ) -> Result<Option<Vec<RoomEvent>>, StoreError> {
        if until_seq.saturating_sub(after_seq) > self.replay_limit + 1 {
            return Ok(None);
        }
        let limit = u32::try_from(self.replay_limit).unwrap_or(u32::MAX);
        let events = self
            .store
            .events_after(room, after_seq, Some(until_seq), limit)
            .await?;
        Ok(Some(events))
    }

    pub fn replay_limit(&self) -> u64 {
        self.replay_limit
    }
}

fn ack(message: &MessageView) -> Ack {
    Ack {
        id: message.id,
        seq: message.seq,
        client_id: message.client_id.clone(),
    }
}

/// Hands a committed change to the relay in a task of its own: once the client has its
/// answer the request may be dropped (a browser that goes away), and this instance's
/// subscribers must get the change all the same; the answer also need not wait for the
/// room's delivery queue.
fn deliver_committed(relay: &Arc<Relay>, event: RoomEvent) {
    let relay = relay.clone();
    tokio::spawn(async move { relay.committed(event).await });
}

/// A change as the socket sends it: a post as `Message`, a later edit or delete of it as
/// `Changed` (the store's event log does not distinguish them beyond their numbers).
impl From<RoomEvent> for ServerFrame {
    fn from(event: RoomEvent) -> Self {
        if event.seq == event.message.seq {
            ServerFrame::Message {
                message: event.message,
            }
        } else {
            ServerFrame::Changed {
                seq: event.seq,
                message: event.message,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RichText;

    fn event(seq: u64, message_seq: u64) -> RoomEvent {
        RoomEvent {
            seq,
            message: MessageView {
                id: MessageId(7),
                room: RoomId(1),
                seq: message_seq,
                // A valid UUID: parsing it cannot fail.
                client_id: ClientId::parse("00000000-0000-4000-8000-000000000001").unwrap(),
                author: None,
                body: "hello".into(),
                created_ms: 0,
                edited_ms: None,
                deleted: false,
                changed_seq: seq,
                reactions: Vec::new(),
                reply_to: None,
                rich: RichText::plain("hello"),
                mentions: Vec::new(),
                mentioned: Vec::new(),
            },
        }
    }

    #[test]
    fn a_post_is_sent_as_a_message_and_a_later_change_as_changed() {
        assert!(matches!(
            ServerFrame::from(event(1, 1)),
            ServerFrame::Message { message } if message.seq == 1
        ));
        assert!(matches!(
            ServerFrame::from(event(4, 1)),
            ServerFrame::Changed { seq: 4, message } if message.seq == 1
        ));
    }
}
