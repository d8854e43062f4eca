//! Rooms: one server function per operation. Each requires a signed-in user and leaves every
//! decision (visibility, who may change what) to `backend::rooms`.

use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{InvitationPreview, InvitationView, MemberView, RoomId, RoomView, UserId};

/// Creates a room owned by the caller. `private` is the checkbox: present means private.
#[server(endpoint = "rooms/create")]
pub async fn create_room(
    name: String,
    topic: String,
    private: Option<String>,
) -> Result<RoomView, ApiError> {
    use crate::backend::{Backend, request::RequestContext};
    use crate::model::Visibility;
    let (backend, user) = Backend::signed_in().await?;
    let visibility = Visibility::from_private_flag(private.is_some());
    let room = backend
        .rooms()
        .create(&user, &name, &topic, visibility)
        .await?;
    RequestContext::current()?.redirect_form_post(&format!("/rooms/{}", room.id));
    Ok(room)
}

/// The rooms the caller can see: public ones plus the private ones they are a member of.
#[server(endpoint = "rooms/list")]
pub async fn list_rooms() -> Result<Vec<RoomView>, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.rooms().list(&user).await
}

#[server(endpoint = "rooms/get")]
pub async fn get_room(id: RoomId) -> Result<RoomView, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.rooms().get(&user, id).await
}

/// Renames a room and changes its topic and visibility (owner or admin).
#[server(endpoint = "rooms/update")]
pub async fn update_room(
    id: RoomId,
    name: String,
    topic: String,
    private: Option<String>,
) -> Result<RoomView, ApiError> {
    use crate::model::Visibility;
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    let visibility = Visibility::from_private_flag(private.is_some());
    backend
        .rooms()
        .update(&user, id, &name, &topic, visibility)
        .await
}

/// Deletes a room and everything in it (owner or admin).
#[server(endpoint = "rooms/delete")]
pub async fn delete_room(id: RoomId) -> Result<(), ApiError> {
    use crate::backend::{Backend, request::RequestContext};
    let (backend, user) = Backend::signed_in().await?;
    backend.rooms().delete(&user, id).await?;
    RequestContext::current()?.redirect_form_post("/rooms");
    Ok(())
}

#[server(endpoint = "rooms/join")]
pub async fn join_room(id: RoomId) -> Result<RoomView, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.rooms().join(&user, id).await
}

#[server(endpoint = "rooms/leave")]
pub async fn leave_room(id: RoomId) -> Result<(), ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.rooms().leave(&user, id).await
}

/// Sets my notification level in a room I am a member of: `all`, `mentions` or `nothing`.
/// A plain form post (the page without JavaScript) goes back to the room.
#[server(endpoint = "rooms/notifications")]
pub async fn set_notifications(id: RoomId, level: String) -> Result<RoomView, ApiError> {
    use crate::backend::{Backend, request::RequestContext};
    use crate::model::{Field, NotificationLevel, Problem};
    let (backend, user) = Backend::signed_in().await?;
    let level = NotificationLevel::parse(&level).ok_or_else(|| {
        ApiError::invalid(
            Field::Notifications,
            Problem::Characters {
                allowed: "one of all, mentions and nothing".into(),
            },
        )
    })?;
    let room = backend
        .rooms()
        .set_notification_level(&user, id, level)
        .await?;
    RequestContext::current()?.redirect_form_post(&format!("/rooms/{id}"));
    Ok(room)
}

/// Removes someone from a room (owner or admin); their live subscriptions end at once.
#[server(endpoint = "rooms/remove_member")]
pub async fn remove_member(id: RoomId, user: UserId) -> Result<(), ApiError> {
    let (backend, me) = crate::backend::Backend::signed_in().await?;
    backend.rooms().remove_member(&me, id, user).await
}

#[server(endpoint = "rooms/members")]
pub async fn room_members(id: RoomId) -> Result<Vec<MemberView>, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.rooms().members(&user, id).await
}

/// Creates an invitation link to a room (owner or admin).
#[server(endpoint = "invitations/create")]
pub async fn create_invitation(id: RoomId) -> Result<InvitationView, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.rooms().create_invitation(&user, id).await
}

/// The active (unexpired, unrevoked) invitation links of a room (owner or admin).
#[server(endpoint = "invitations/list")]
pub async fn list_invitations(id: RoomId) -> Result<Vec<InvitationView>, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.rooms().invitations(&user, id).await
}

#[server(endpoint = "invitations/revoke")]
pub async fn revoke_invitation(id: RoomId, invitation: i64) -> Result<(), ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend
        .rooms()
        .revoke_invitation(&user, id, invitation)
        .await
}

/// What an invitation link is for (the room's name), to ask before joining. Changes nothing.
#[server(endpoint = "invitations/get")]
pub async fn get_invitation(token: String) -> Result<InvitationPreview, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.rooms().invitation(&user, &token).await
}

/// Uses an invitation link: the caller becomes a member of its room. Only ever a POST (the
/// "Join" button of the invitation page), never a consequence of visiting the link.
#[server(endpoint = "invitations/accept")]
pub async fn accept_invitation(token: String) -> Result<RoomId, ApiError> {
    use crate::backend::{Backend, request::RequestContext};
    let (backend, user) = Backend::signed_in().await?;
    let room = backend.rooms().accept_invitation(&user, &token).await?;
    RequestContext::current()?.redirect_form_post(&format!("/rooms/{room}"));
    Ok(room)
}

/// Opens (creating if needed) the direct conversation with another user.
#[server(endpoint = "direct/open")]
pub async fn open_direct(user: UserId) -> Result<RoomId, ApiError> {
    use crate::backend::{Backend, request::RequestContext};
    let (backend, me) = Backend::signed_in().await?;
    let room = backend.rooms().open_direct(&me, user).await?;
    RequestContext::current()?.redirect_form_post(&format!("/rooms/{room}"));
    Ok(room)
}
