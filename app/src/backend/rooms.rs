//! Rooms: create, list, view, change, delete, join, leave, members, invitations and direct
//! conversations.
//!
//! Authorization happens in one place, [`Rooms::visible`]: every operation starts by loading
//! the room as the asking user may see it. A private room the user is not in is reported
//! exactly like a room that does not exist ([`ApiError::NotFound`]), so guessing ids reveals
//! nothing. Changing a room additionally needs [`can_manage`] (its owner, or an admin).
//!
//! Invitation links carry a random token of which only the SHA-256 is stored, so the link
//! is shown once, to the manager who makes it. Using one is two steps: a page shows what the
//! link is for ([`Rooms::invitation`], which changes nothing), and joining is a POST of its
//! own ([`Rooms::accept_invitation`]), so a link alone never makes anyone a member. A link
//! made before someone was removed from the room does not admit them again.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};

use super::auth::CurrentUser;
use super::clock::{Clock, millis};
use super::internal_error::OrInternal;
use super::rate_limit::RateLimiter;
use super::revocation::{Revocation, Revocations};
use super::store::{InvitationRecord, NewRoom, RoomRecord, Store, TokenHash};
use crate::error::ApiError;
use crate::model::{
    InvitationPreview, InvitationView, MemberView, NotificationLevel, RoomId, RoomName, RoomView,
    Topic, UserId, Visibility,
};
use crate::protocol::UnsubscribeReason;

/// Room settings; part of the server's one configuration struct.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct RoomsConfig {
    /// How long an invitation link stays valid, in seconds.
    #[arg(long, env = "SORI_INVITATION_TTL_SECS", default_value_t = Self::default().invitation_ttl_secs)]
    pub invitation_ttl_secs: u64,

    /// Rooms one account may create per hour (0: no limit).
    #[arg(long, env = "SORI_ROOMS_PER_HOUR", default_value_t = Self::default().rooms_per_hour)]
    pub rooms_per_hour: u32,

    /// Direct conversations one account may open per hour (0: no limit).
    #[arg(long, env = "SORI_DIRECTS_PER_HOUR", default_value_t = Self::default().directs_per_hour)]
    pub directs_per_hour: u32,
}

impl Default for RoomsConfig {
    fn default() -> Self {
        Self {
            invitation_ttl_secs: 7 * 24 * 3600,
            // A team sets up a handful of rooms at once; a script making thousands (each of
            // them in every member's list) is stopped within the hour.
            rooms_per_hour: 20,
            directs_per_hour: 60,
        }
    }
}

pub struct Rooms {
    store: Arc<dyn Store>,
    /// Told when access ends, so live subscriptions end with it on every instance.
    revocations: Arc<Revocations>,
    clock: Clock,
    invitation_ttl_ms: i64,
    creations: RateLimiter,
    directs: RateLimiter,
}

/// Whether `user` may rename, invite to and delete `room`: its owner, or a server admin.
/// Direct conversations have no owner and cannot be changed, only deleted by an admin.
pub fn can_manage(user: &CurrentUser, room: &RoomRecord) -> bool {
    user.user.is_admin || (!room.is_direct && room.owner == Some(user.user.id))
}

/// Room names are what the viewer sees: a direct conversation is named after the other person.
fn view(user: &CurrentUser, room: RoomRecord) -> RoomView {
    let can_manage = can_manage(user, &room);
    let name = if room.is_direct {
        room.direct_peer
            .clone()
            .unwrap_or_else(|| "deleted user".to_owned())
    } else {
        room.name
    };
    RoomView {
        id: room.id,
        name,
        topic: room.topic,
        visibility: room.visibility,
        is_direct: room.is_direct,
        owner: room.owner,
        created_ms: room.created_ms,
        is_member: room.viewer_is_member,
        can_manage,
        unread: room.unread,
        notify: room
            .notify
            .unwrap_or(NotificationLevel::default_for(room.is_direct)),
        mentions: 0,
    }
}

/// An invitation as its room's managers see it; `token` only when it was just made (the
/// store keeps its hash alone, so a listed one has no link to show).
fn invitation_view(record: InvitationRecord, token: Option<&str>) -> InvitationView {
    InvitationView {
        id: record.id,
        path: token.map(|token| format!("/invite/{token}")),
        created_ms: record.created_ms,
        expires_ms: record.expires_ms,
    }
}

/// The form in which an invitation token is stored and looked up.
fn invitation_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

impl Rooms {
    pub fn new(
        store: Arc<dyn Store>,
        revocations: Arc<Revocations>,
        config: &RoomsConfig,
        clock: Clock,
    ) -> Self {
        let hour = Duration::from_secs(3600);
        let creations =
            RateLimiter::for_store(config.rooms_per_hour, hour, clock.clone(), &store, "rooms");
        let directs = RateLimiter::for_store(
            config.directs_per_hour,
            hour,
            clock.clone(),
            &store,
            "directs",
        );
        Self {
            store,
            revocations,
            clock,
            invitation_ttl_ms: millis(Duration::from_secs(config.invitation_ttl_secs)),
            creations,
            directs,
        }
    }

    /// The room as `user` may see it, or `NotFound` (missing, or private and not a member).
    pub async fn visible(&self, user: &CurrentUser, id: RoomId) -> Result<RoomRecord, ApiError> {
        let room = self
            .store
            .room(id, user.user.id)
            .await
            .or_internal("load room")?
            .ok_or(ApiError::NotFound)?;
        if room.visibility == Visibility::Private && !room.viewer_is_member {
            return Err(ApiError::NotFound);
        }
        Ok(room)
    }

    /// The room if `user` may manage it; `Forbidden` if they can only see it.
    async fn managed(&self, user: &CurrentUser, id: RoomId) -> Result<RoomRecord, ApiError> {
        let room = self.visible(user, id).await?;
        if can_manage(user, &room) {
            Ok(room)
        } else {
            Err(ApiError::Forbidden)
        }
    }

    pub async fn create(
        &self,
        user: &CurrentUser,
        name: &str,
        topic: &str,
        visibility: Visibility,
    ) -> Result<RoomView, ApiError> {
        let name = RoomName::parse(name)?;
        let topic = Topic::parse(topic)?;
        self.creations
            .check(&[&format!("user:{}", user.user.id)])
            .await?;
        let id = self
            .store
            .create_room(NewRoom {
                name: name.as_str(),
                topic: topic.as_str(),
                visibility,
                owner: user.user.id,
                now_ms: self.clock.now_ms(),
            })
            .await
            .or_internal("create room")?;
        tracing::info!(room = %id, user = %user.user.id, "room created");
        self.get(user, id).await
    }

    pub async fn get(&self, user: &CurrentUser, id: RoomId) -> Result<RoomView, ApiError> {
        Ok(view(user, self.visible(user, id).await?))
    }

    /// Public rooms plus the private rooms and direct conversations `user` is in.
    pub async fn list(&self, user: &CurrentUser) -> Result<Vec<RoomView>, ApiError> {
        let rooms = self
            .store
            .rooms_visible_to(user.user.id)
            .await
            .or_internal("list rooms")?;
        // Counted apart from the list's own query: few rooms have any, and the list stays
        // one query that knows nothing of mentions.
        let mentions: std::collections::HashMap<RoomId, u64> = self
            .store
            .mention_counts(user.user.id)
            .await
            .or_internal("count mentions")?
            .into_iter()
            .collect();
        Ok(rooms
            .into_iter()
            .map(|room| RoomView {
                mentions: mentions.get(&room.id).copied().unwrap_or(0),
                ..view(user, room)
            })
            .collect())
    }

    pub async fn update(
        &self,
        user: &CurrentUser,
        id: RoomId,
        name: &str,
        topic: &str,
        visibility: Visibility,
    ) -> Result<RoomView, ApiError> {
        let room = self.managed(user, id).await?;
        if room.is_direct {
            return Err(ApiError::DirectConversation);
        }
        let name = RoomName::parse(name)?;
        let topic = Topic::parse(topic)?;
        self.store
            .update_room(id, name.as_str(), topic.as_str(), visibility)
            .await
            .or_internal("update room")?;
        if room.visibility == Visibility::Public && visibility == Visibility::Private {
            // Its readers who never joined lose it now, in every tab on every instance.
            self.revocations
                .revoke(Revocation::Readers { room: id })
                .await;
        }
        self.get(user, id).await
    }

    /// Deletes the room; its members, invitations (and later messages) go with it.
    pub async fn delete(&self, user: &CurrentUser, id: RoomId) -> Result<(), ApiError> {
        self.managed(user, id).await?;
        self.store
            .delete_room(id)
            .await
            .or_internal("delete room")?;
        self.revocations.revoke(Revocation::Room { room: id }).await;
        tracing::info!(room = %id, user = %user.user.id, "room deleted");
        Ok(())
    }

    /// Joins a public room (private ones are joined through invitations).
    pub async fn join(&self, user: &CurrentUser, id: RoomId) -> Result<RoomView, ApiError> {
        let room = self.visible(user, id).await?;
        if !room.viewer_is_member {
            self.store
                .add_member(id, user.user.id, self.clock.now_ms())
                .await
                .or_internal("join room")?;
        }
        self.get(user, id).await
    }

    /// Leaves a room. Its owner cannot: they would leave it unmanaged; they delete it instead.
    pub async fn leave(&self, user: &CurrentUser, id: RoomId) -> Result<(), ApiError> {
        let room = self.visible(user, id).await?;
        if room.owner == Some(user.user.id) {
            return Err(ApiError::OwnerCannotLeave);
        }
        self.store
            .remove_member(id, user.user.id)
            .await
            .or_internal("leave room")?;
        // Its live subscriptions end at once, in every tab on every instance (a public room
        // can be opened again to read it).
        self.revocations
            .revoke(Revocation::RoomAccess {
                user: user.user.id,
                room: id,
                reason: UnsubscribeReason::Left,
            })
            .await;
        Ok(())
    }

    /// Sets the user's notification level in a room they are a member of. Answers the room
    /// as they now see it.
    pub async fn set_notification_level(
        &self,
        user: &CurrentUser,
        id: RoomId,
        level: NotificationLevel,
    ) -> Result<RoomView, ApiError> {
        let room = self.visible(user, id).await?;
        let member = self
            .store
            .set_notification_level(room.id, user.user.id, level)
            .await
            .or_internal("set notification level")?;
        if !member {
            return Err(ApiError::NotMember);
        }
        Ok(RoomView {
            notify: level,
            ..view(user, room)
        })
    }

    /// Removes `member` from a room `user` manages. The owner cannot be removed.
    pub async fn remove_member(
        &self,
        user: &CurrentUser,
        id: RoomId,
        member: UserId,
    ) -> Result<(), ApiError> {
        let room = self.managed(user, id).await?;
        if room.is_direct {
            return Err(ApiError::DirectConversation);
        }
        // The owner is the one who manages it; removing them would leave it unmanaged.
        if room.owner == Some(member) {
            return Err(ApiError::Forbidden);
        }
        // Recorded, so the links made before now no longer bring them back.
        self.store
            .expel_member(id, member, self.clock.now_ms())
            .await
            .or_internal("remove member")?;
        self.revocations
            .revoke(Revocation::RoomAccess {
                user: member,
                room: id,
                reason: UnsubscribeReason::AccessEnded,
            })
            .await;
        tracing::info!(room = %id, user = %user.user.id, %member, "member removed");
        Ok(())
    }

    pub async fn members(
        &self,
        user: &CurrentUser,
        id: RoomId,
    ) -> Result<Vec<MemberView>, ApiError> {
        let room = self.visible(user, id).await?;
        let members = self.store.members(id).await.or_internal("list members")?;
        Ok(members
            .into_iter()
            .map(|member| MemberView {
                is_owner: room.owner == Some(member.id),
                id: member.id,
                username: member.username,
                display_name: member.display_name,
            })
            .collect())
    }

    pub async fn create_invitation(
        &self,
        user: &CurrentUser,
        id: RoomId,
    ) -> Result<InvitationView, ApiError> {
        let room = self.managed(user, id).await?;
        if room.is_direct {
            return Err(ApiError::DirectConversation);
        }
        let mut bytes = [0u8; 16];
        OsRng.fill_bytes(&mut bytes);
        let token = Base64UrlUnpadded::encode_string(&bytes);
        let now = self.clock.now_ms();
        let expires = now + self.invitation_ttl_ms;
        let record = self
            .store
            .create_invitation(id, &invitation_hash(&token), user.user.id, now, expires)
            .await
            .or_internal("create invitation")?;
        Ok(invitation_view(record, Some(&token)))
    }

    pub async fn invitations(
        &self,
        user: &CurrentUser,
        id: RoomId,
    ) -> Result<Vec<InvitationView>, ApiError> {
        self.managed(user, id).await?;
        let records = self
            .store
            .active_invitations(id, self.clock.now_ms())
            .await
            .or_internal("list invitations")?;
        Ok(records
            .into_iter()
            .map(|record| invitation_view(record, None))
            .collect())
    }

    pub async fn revoke_invitation(
        &self,
        user: &CurrentUser,
        id: RoomId,
        invitation: i64,
    ) -> Result<(), ApiError> {
        self.managed(user, id).await?;
        let revoked = self
            .store
            .revoke_invitation(id, invitation, self.clock.now_ms())
            .await
            .or_internal("revoke invitation")?;
        if revoked {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }

    /// The invitation of a link, if it still admits `user`: neither revoked nor expired,
    /// and not made before `user` was removed from its room. `InvitationInvalid` otherwise.
    async fn admitting(
        &self,
        user: &CurrentUser,
        token: &str,
    ) -> Result<InvitationRecord, ApiError> {
        let invitation = self
            .store
            .invitation(&invitation_hash(token))
            .await
            .or_internal("find invitation")?
            .ok_or(ApiError::InvitationInvalid)?;
        if invitation.revoked || invitation.expires_ms <= self.clock.now_ms() {
            return Err(ApiError::InvitationInvalid);
        }
        let removed = self
            .store
            .removal(invitation.room, user.user.id)
            .await
            .or_internal("find removal")?;
        // A link made at or before the removal was in the removed person's hands (or still
        // is, among the members); only one made afterwards is a manager's new decision.
        if removed.is_some_and(|removed_ms| invitation.created_ms <= removed_ms) {
            return Err(ApiError::InvitationInvalid);
        }
        Ok(invitation)
    }

    /// What an invitation link is for, to ask `user` whether to join: the room's name, and
    /// whether they are in it already. Changes nothing.
    pub async fn invitation(
        &self,
        user: &CurrentUser,
        token: &str,
    ) -> Result<InvitationPreview, ApiError> {
        let invitation = self.admitting(user, token).await?;
        let room = self
            .store
            .room(invitation.room, user.user.id)
            .await
            .or_internal("load invited room")?
            // Deleting a room takes its invitations, so this is a race with a deletion.
            .ok_or(ApiError::InvitationInvalid)?;
        Ok(InvitationPreview {
            room: room.id,
            name: room.name,
            already_member: room.viewer_is_member,
        })
    }

    /// Uses an invitation link (a POST, after [`Rooms::invitation`] asked): makes `user` a
    /// member of its room and returns the room.
    pub async fn accept_invitation(
        &self,
        user: &CurrentUser,
        token: &str,
    ) -> Result<RoomId, ApiError> {
        let invitation = self.admitting(user, token).await?;
        self.store
            .add_member(invitation.room, user.user.id, self.clock.now_ms())
            .await
            .or_internal("accept invitation")?;
        tracing::info!(room = %invitation.room, user = %user.user.id, "invitation used");
        Ok(invitation.room)
    }

    /// The direct conversation with `other`, opened (created) if needed.
    pub async fn open_direct(&self, user: &CurrentUser, other: UserId) -> Result<RoomId, ApiError> {
        if other == user.user.id {
            return Err(ApiError::DirectConversation);
        }
        self.store
            .user_by_id(other)
            .await
            .or_internal("find user")?
            .ok_or(ApiError::NotFound)?;
        // Only what makes something new spends the limit: a new conversation, or bringing
        // back someone who left one. Going back to one both are in, however often, is free.
        let existing = self
            .store
            .find_direct_room(user.user.id, other)
            .await
            .or_internal("find direct room")?;
        let both_in = match existing {
            Some(id) => {
                let mine = self.store.room(id, user.user.id).await;
                let theirs = self.store.room(id, other).await;
                let member = |room: Option<RoomRecord>| room.is_some_and(|r| r.viewer_is_member);
                member(mine.or_internal("load direct room")?)
                    && member(theirs.or_internal("load direct room")?)
            }
            None => false,
        };
        if !both_in {
            self.directs
                .check(&[&format!("user:{}", user.user.id)])
                .await?;
        }
        self.store
            .direct_room(user.user.id, other, self.clock.now_ms())
            .await
            .or_internal("open direct room")
    }
}
