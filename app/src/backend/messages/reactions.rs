//! Reactions and replies, the parts of the delivery contract #16 added to [`Messages`].
//!
//! A reaction is said explicitly, "on" or "off", rather than toggled on the server: a retry
//! of a lost answer then does what was meant instead of undoing it. The browser toggles by
//! asking for the opposite of what it shows. A reaction that changes something takes the
//! room's next `seq`, bumps the message's `changed_seq` and goes out as the message's whole
//! new state in `Changed`, like an edit; one that is already so changes nothing, takes no
//! number and publishes nothing.
//!
//! A reply is checked here and stored by `send`: it must answer a message of the same room.

use super::Messages;
use crate::backend::auth::CurrentUser;
use crate::backend::internal_error::OrInternal;
use crate::backend::store::{Reacted, Reaction};
use crate::error::ApiError;
use crate::model::{Field, Problem, RoomId};
use crate::protocol::reactions::{Emoji, REACTION_EMOJI};
use crate::protocol::{MessageId, MessageView};

impl Messages {
    /// Adds (`on`) or takes back `user`'s `emoji` on message `id`. Members of the message's
    /// room only; a deleted message takes no reactions.
    pub async fn react(
        &self,
        user: &CurrentUser,
        id: MessageId,
        emoji: &str,
        on: bool,
    ) -> Result<MessageView, ApiError> {
        let message = self.changeable(user, id).await?;
        let room = self.rooms.visible(user, message.room).await?;
        if !room.viewer_is_member {
            return Err(ApiError::NotMember);
        }
        let emoji = Emoji::parse(emoji).ok_or_else(|| {
            ApiError::invalid(
                Field::Reaction,
                Problem::Characters {
                    allowed: REACTION_EMOJI.concat(),
                },
            )
        })?;
        self.reaction_limiter
            .check(&[&format!("user:{}", user.user.id)])
            .await?;
        let reaction = Reaction {
            user: user.user.id,
            emoji,
            on,
            emoji_limit: self.reaction_emoji_per_message,
        };
        let _ordered = self.ordered().await;
        let reacted = self
            .store
            .react(id, reaction, self.clock.now_ms())
            .await
            .or_internal("react")?;
        match reacted {
            Reacted::Changed(event) => Ok(self.publish_change(event)),
            Reacted::Unchanged(message) => Ok(message),
            Reacted::TooManyEmoji => Err(ApiError::TooManyReactions {
                limit: self.reaction_emoji_per_message,
            }),
            // Deleted meanwhile.
            Reacted::Gone => Err(ApiError::NotFound),
        }
    }

    /// Refuses a reply to anything but a message of `room` (deleted or not: the quote then
    /// says "message deleted", and a post queued before the deletion still goes through).
    pub(super) async fn check_reply(
        &self,
        room: RoomId,
        original: MessageId,
    ) -> Result<(), ApiError> {
        let original = self
            .store
            .message(original)
            .await
            .or_internal("load replied message")?;
        match original {
            Some(original) if original.room == room => Ok(()),
            _ => Err(ApiError::ReplyOutsideRoom),
        }
    }
}
