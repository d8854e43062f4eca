//! Contracts of [`RoomStore`](crate::backend::store::RoomStore): rooms, members,
//! invitations and direct conversations.

use super::{SOMEONE, client_id, create_user, hello, new_room, new_user};
use crate::backend::store::{MemberRecord, NewRoom, NewUser, RoomRecord, Store, TokenHash};
use crate::model::{RoomId, UserId, Visibility};

async fn listed_ids(store: &dyn Store, viewer: UserId) -> Vec<RoomId> {
    let rooms = store.rooms_visible_to(viewer).await.unwrap();
    rooms.into_iter().map(|room| room.id).collect()
}

/// "owner" and their two private rooms, "r" and "elsewhere", for rules that must stay
/// within one room.
async fn owner_of_two_private_rooms(store: &dyn Store) -> (UserId, RoomId, RoomId) {
    let owner = create_user(store, "owner").await;
    let mut rooms = Vec::new();
    for name in ["r", "elsewhere"] {
        let room = store
            .create_room(new_room(name, Visibility::Private, owner, 1))
            .await
            .unwrap();
        rooms.push(room);
    }
    (owner, rooms[0], rooms[1])
}

fn member(id: UserId, username: &str) -> MemberRecord {
    MemberRecord {
        id,
        username: username.into(),
        display_name: SOMEONE.into(),
    }
}

pub(crate) async fn a_room_starts_with_its_owner_and_private_rooms_are_listed_only_for_members(
    store: &dyn Store,
) {
    let owner = store.create_user(new_user("owner")).await.unwrap().id;
    let other = store.create_user(new_user("other")).await.unwrap().id;
    let room = |name, visibility| NewRoom {
        name,
        topic: "",
        visibility,
        owner,
        now_ms: 1,
    };
    let public = store
        .create_room(room("public", Visibility::Public))
        .await
        .unwrap();
    let private = store
        .create_room(room("private", Visibility::Private))
        .await
        .unwrap();

    let seen_by_owner = store.room(private, owner).await.unwrap().unwrap();
    assert!(seen_by_owner.viewer_is_member);
    assert_eq!(
        seen_by_owner,
        RoomRecord {
            id: private,
            name: "private".into(),
            topic: "".into(),
            visibility: Visibility::Private,
            owner: Some(owner),
            created_ms: 1,
            is_direct: false,
            viewer_is_member: true,
            direct_peer: None,
            unread: 0,
            notify: None,
        }
    );
    assert_eq!(
        store.members(private).await.unwrap(),
        [member(owner, "owner")]
    );
    let listed: Vec<_> = store
        .rooms_visible_to(other)
        .await
        .unwrap()
        .into_iter()
        .map(|room| room.id)
        .collect();
    assert_eq!(listed, vec![public]);
    assert_eq!(store.rooms_visible_to(owner).await.unwrap().len(), 2);
}

pub(crate) async fn a_room_is_shown_to_any_viewer_with_their_membership(store: &dyn Store) {
    let owner = create_user(store, "owner").await;
    let outsider = create_user(store, "outsider").await;
    let id = store
        .create_room(NewRoom {
            name: "plans",
            topic: "the third quarter",
            visibility: Visibility::Private,
            owner,
            now_ms: 7,
        })
        .await
        .unwrap();
    let seen = store.room(id, outsider).await.unwrap().expect("shown");
    assert_eq!(seen.id, id);
    assert_eq!(seen.name, "plans");
    assert_eq!(seen.topic, "the third quarter");
    assert_eq!(seen.visibility, Visibility::Private);
    assert_eq!(seen.owner, Some(owner));
    assert_eq!(seen.created_ms, 7);
    assert!(!seen.is_direct);
    assert!(!seen.viewer_is_member, "whether or not they may see it");
    assert_eq!(store.room(RoomId(id.0 + 100), owner).await.unwrap(), None);
}

pub(crate) async fn rooms_are_listed_the_viewers_own_first_then_newest_with_the_private_ones_they_are_in(
    store: &dyn Store,
) {
    let viewer = create_user(store, "viewer").await;
    let other = create_user(store, "other").await;
    let third = create_user(store, "third").await;
    let outsider = create_user(store, "outsider").await;
    let create = |name, visibility, owner, now_ms| {
        store.create_room(new_room(name, visibility, owner, now_ms))
    };
    let a = create("a", Visibility::Public, viewer, 1).await.unwrap();
    let b = create("b", Visibility::Private, viewer, 2).await.unwrap();
    let c = create("c", Visibility::Public, other, 3).await.unwrap();
    let d = create("d", Visibility::Private, other, 4).await.unwrap();
    create("hidden", Visibility::Private, other, 5)
        .await
        .unwrap();
    store.add_member(d, viewer, 6).await.unwrap();
    let others_direct = store.direct_room(other, third, 7).await.unwrap();
    let own_direct = store.direct_room(viewer, third, 8).await.unwrap();

    let listed = store.rooms_visible_to(viewer).await.unwrap();
    let ids: Vec<RoomId> = listed.iter().map(|room| room.id).collect();
    assert_eq!(ids, [own_direct, d, b, a, c]);
    let membership: Vec<bool> = listed.iter().map(|room| room.viewer_is_member).collect();
    assert_eq!(membership, [true, true, true, true, false]);
    assert_eq!(
        listed_ids(store, outsider).await,
        [c, a],
        "public rooms, but no direct conversations"
    );
    assert_eq!(
        listed_ids(store, third).await,
        [own_direct, others_direct, c, a]
    );
}

pub(crate) async fn the_room_list_is_bounded_and_strangers_rooms_never_push_out_the_viewers(
    store: &dyn Store,
) {
    use crate::backend::store::ROOMS_LISTED;
    let viewer = create_user(store, "viewer").await;
    let stranger = create_user(store, "stranger").await;
    let own = store
        .create_room(new_room("own", Visibility::Private, viewer, 1))
        .await
        .unwrap();
    for n in 0..ROOMS_LISTED + 3 {
        let now_ms = i64::try_from(n).unwrap() + 2;
        store
            .create_room(new_room("spam", Visibility::Public, stranger, now_ms))
            .await
            .unwrap();
    }
    let listed = listed_ids(store, viewer).await;
    assert_eq!(listed.len(), ROOMS_LISTED);
    assert_eq!(listed[0], own, "the viewer's own room first, however old");
    assert_eq!(listed_ids(store, stranger).await.len(), ROOMS_LISTED);
}

pub(crate) async fn a_room_can_be_renamed_retitled_and_made_private(store: &dyn Store) {
    let owner = create_user(store, "owner").await;
    let outsider = create_user(store, "outsider").await;
    let id = store
        .create_room(new_room("old", Visibility::Public, owner, 1))
        .await
        .unwrap();
    store
        .update_room(id, "new", "a topic", Visibility::Private)
        .await
        .unwrap();
    let updated = store.room(id, owner).await.unwrap().unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.topic.as_str()),
        ("new", "a topic")
    );
    assert_eq!(updated.visibility, Visibility::Private);
    assert_eq!((updated.owner, updated.created_ms), (Some(owner), 1));
    assert!(listed_ids(store, outsider).await.is_empty());
    store
        .update_room(id, "new", "a topic", Visibility::Public)
        .await
        .unwrap();
    assert_eq!(listed_ids(store, outsider).await, [id]);
}

pub(crate) async fn members_are_listed_in_the_order_they_joined_and_joining_twice_is_fine(
    store: &dyn Store,
) {
    let owner = create_user(store, "owner").await;
    let second = create_user(store, "second").await;
    let third = create_user(store, "third").await;
    let room = store
        .create_room(new_room("r", Visibility::Public, owner, 1))
        .await
        .unwrap();
    store.add_member(room, third, 2).await.unwrap();
    store.add_member(room, second, 3).await.unwrap();
    store.add_member(room, third, 4).await.unwrap();
    store.add_member(room, owner, 5).await.unwrap();
    assert_eq!(
        store.members(room).await.unwrap(),
        [
            member(owner, "owner"),
            member(third, "third"),
            member(second, "second")
        ]
    );
}

pub(crate) async fn a_removed_member_is_no_longer_listed_nor_shown_the_private_room(
    store: &dyn Store,
) {
    let owner = create_user(store, "owner").await;
    let leaving = create_user(store, "leaving").await;
    let room = store
        .create_room(new_room("r", Visibility::Private, owner, 1))
        .await
        .unwrap();
    store.add_member(room, leaving, 2).await.unwrap();
    assert_eq!(listed_ids(store, leaving).await, [room]);
    store.remove_member(room, leaving).await.unwrap();
    assert_eq!(store.members(room).await.unwrap(), [member(owner, "owner")]);
    let seen = store.room(room, leaving).await.unwrap().unwrap();
    assert!(!seen.viewer_is_member);
    assert!(listed_ids(store, leaving).await.is_empty());
    store.remove_member(room, leaving).await.unwrap();
    assert_eq!(store.members(room).await.unwrap().len(), 1);
}

pub(crate) async fn active_invitations_are_neither_revoked_nor_expired(store: &dyn Store) {
    let (owner, room, elsewhere) = owner_of_two_private_rooms(store).await;
    let first = store
        .create_invitation(room, &token(1), owner, 10, 100)
        .await
        .unwrap();
    assert_eq!(first.room, room);
    assert_eq!((first.created_ms, first.expires_ms), (10, 100));
    assert!(!first.revoked);
    let second = store
        .create_invitation(room, &token(2), owner, 20, 200)
        .await
        .unwrap();
    let revoked = store
        .create_invitation(room, &token(3), owner, 30, 300)
        .await
        .unwrap();
    assert!(store.revoke_invitation(room, revoked.id, 40).await.unwrap());
    store
        .create_invitation(elsewhere, &token(9), owner, 10, 1_000)
        .await
        .unwrap();

    let active = |now_ms| async move {
        let mut ids: Vec<i64> = store
            .active_invitations(room, now_ms)
            .await
            .unwrap()
            .into_iter()
            .map(|invitation| invitation.id)
            .collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(active(99).await, [first.id, second.id]);
    assert_eq!(active(100).await, [second.id], "expired at its expiry");
    assert!(active(200).await.is_empty());

    assert_eq!(
        store.invitation(&token(1)).await.unwrap(),
        Some(first),
        "found by its token's hash, expired or not"
    );
    let found = store.invitation(&token(3)).await.unwrap().unwrap();
    assert_eq!((found.id, found.revoked), (revoked.id, true));
    assert_eq!(store.invitation(&token(4)).await.unwrap(), None);
}

pub(crate) async fn an_invitation_is_revoked_once_and_only_through_its_own_room(store: &dyn Store) {
    let (owner, room, elsewhere) = owner_of_two_private_rooms(store).await;
    let invitation = store
        .create_invitation(room, &token(10), owner, 1, 1_000)
        .await
        .unwrap();
    assert!(
        !store
            .revoke_invitation(elsewhere, invitation.id, 5)
            .await
            .unwrap(),
        "not through another room"
    );
    assert!(!store.invitation(&token(10)).await.unwrap().unwrap().revoked);
    assert!(
        store
            .revoke_invitation(room, invitation.id, 5)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_invitation(room, invitation.id, 6)
            .await
            .unwrap(),
        "already revoked"
    );
    assert!(
        !store
            .revoke_invitation(room, invitation.id + 100, 6)
            .await
            .unwrap()
    );
    assert!(store.invitation(&token(10)).await.unwrap().unwrap().revoked);
    assert!(store.active_invitations(room, 5).await.unwrap().is_empty());
}

pub(crate) async fn a_direct_room_is_found_again_from_either_side(store: &dyn Store) {
    let a = store.create_user(new_user("alpha")).await.unwrap().id;
    let b = store.create_user(new_user("bravo")).await.unwrap().id;
    let c = create_user(store, "charlie").await;
    assert_eq!(store.find_direct_room(a, b).await.unwrap(), None);
    let first = store.direct_room(a, b, 1).await.unwrap();
    assert_eq!(store.find_direct_room(b, a).await.unwrap(), Some(first));
    assert_eq!(store.direct_room(b, a, 2).await.unwrap(), first);
    assert_eq!(store.members(first).await.unwrap().len(), 2);
    let seen = store.room(first, a).await.unwrap().unwrap();
    assert!(seen.is_direct);
    assert_eq!(seen.direct_peer.as_deref(), Some("Someone"));
    assert_eq!(seen.visibility, Visibility::Private);
    assert_ne!(
        store.direct_room(a, c, 3).await.unwrap(),
        first,
        "another pair, another room"
    );
    assert_eq!(store.find_direct_room(b, c).await.unwrap(), None);
    assert!(listed_ids(store, b).await.contains(&first));
    assert!(!listed_ids(store, c).await.contains(&first));

    // Someone who left and is brought back comes back with the history read.
    super::post(store, first, a, &super::client_id(1)).await;
    store.remove_member(first, b).await.unwrap();
    assert_eq!(store.direct_room(a, b, 4).await.unwrap(), first);
    assert_eq!(super::unread_of(store, first, b).await, 0);
}

pub(crate) async fn concurrent_openings_of_a_direct_room_find_one_room(store: &dyn Store) {
    let a = create_user(store, "alpha").await;
    let b = create_user(store, "bravo").await;
    let (one, two, three) = tokio::join!(
        store.direct_room(a, b, 1),
        store.direct_room(b, a, 1),
        store.direct_room(a, b, 2),
    );
    let (one, two, three) = (one.unwrap(), two.unwrap(), three.unwrap());
    assert_eq!((two, three), (one, one));
    let mut members: Vec<UserId> = store
        .members(one)
        .await
        .unwrap()
        .into_iter()
        .map(|member| member.id)
        .collect();
    members.sort_unstable();
    assert_eq!(members, [a, b], "each once");
}

pub(crate) async fn a_direct_room_forgets_the_peer_who_deleted_their_account(store: &dyn Store) {
    let user = |username, display_name| NewUser {
        username,
        display_name,
        password_hash: "$argon2id$fake",
        now_ms: 1,
    };
    let a = store.create_user(user("alpha", "Alpha")).await.unwrap().id;
    let b = store.create_user(user("bravo", "Bravo")).await.unwrap().id;
    let room = store.direct_room(a, b, 1).await.unwrap();
    let peer = |viewer| async move { store.room(room, viewer).await.unwrap().unwrap() };
    assert_eq!(peer(a).await.direct_peer.as_deref(), Some("Bravo"));
    assert_eq!(peer(b).await.direct_peer.as_deref(), Some("Alpha"));
    store.delete_user(b).await.unwrap();
    let seen = peer(a).await;
    assert_eq!(seen.direct_peer, None);
    assert!(seen.is_direct);
    assert_eq!(store.members(room).await.unwrap().len(), 1);
}

pub(crate) async fn deleting_a_room_takes_its_members_invitations_and_messages(store: &dyn Store) {
    let owner = store.create_user(new_user("owner")).await.unwrap().id;
    let room = NewRoom {
        name: "r",
        topic: "",
        visibility: Visibility::Private,
        owner,
        now_ms: 1,
    };
    let id = store.create_room(room).await.unwrap();
    store
        .create_invitation(id, &token(10), owner, 1, 100)
        .await
        .unwrap();
    let kept = store
        .create_room(new_room("kept", Visibility::Private, owner, 1))
        .await
        .unwrap();
    store
        .create_invitation(kept, &token(11), owner, 1, 100)
        .await
        .unwrap();
    let one = client_id(1);
    let posted = store.insert_message(hello(id, owner, &one)).await.unwrap();
    store.delete_room(id).await.unwrap();
    assert!(store.room(id, owner).await.unwrap().is_none());
    assert!(store.invitation(&token(10)).await.unwrap().is_none());
    assert!(store.members(id).await.unwrap().is_empty());
    assert_eq!(store.message(posted.message.id).await.unwrap(), None);
    assert!(
        store
            .messages_before(id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .events_after(id, 0, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.room(kept, owner).await.unwrap().is_some());
    assert!(store.invitation(&token(11)).await.unwrap().is_some());
    assert_eq!(store.members(kept).await.unwrap().len(), 1);
}

/// An invitation token's hash, told apart by `n`.
fn token(n: u8) -> TokenHash {
    [n; 32]
}

pub(crate) async fn a_removal_is_recorded_with_its_time_and_leaving_records_none(
    store: &dyn Store,
) {
    let owner = store.create_user(new_user("owner")).await.unwrap().id;
    let removed = create_user(store, "removed").await;
    let leaver = create_user(store, "leaver").await;
    let room = store
        .create_room(new_room("r", Visibility::Private, owner, 1))
        .await
        .unwrap();
    for user in [removed, leaver] {
        store.add_member(room, user, 2).await.unwrap();
    }
    assert_eq!(store.removal(room, removed).await.unwrap(), None);
    store.expel_member(room, removed, 5).await.unwrap();
    store.remove_member(room, leaver).await.unwrap();
    let members: Vec<UserId> = store
        .members(room)
        .await
        .unwrap()
        .into_iter()
        .map(|member| member.id)
        .collect();
    assert_eq!(members, [owner], "both are gone");
    assert_eq!(store.removal(room, removed).await.unwrap(), Some(5));
    assert_eq!(store.removal(room, leaver).await.unwrap(), None, "left");

    store.add_member(room, removed, 6).await.unwrap();
    assert_eq!(
        store.removal(room, removed).await.unwrap(),
        Some(5),
        "kept when they are let in again"
    );
    store.expel_member(room, removed, 9).await.unwrap();
    assert_eq!(
        store.removal(room, removed).await.unwrap(),
        Some(9),
        "the latest removal"
    );
    store.delete_room(room).await.unwrap();
    assert_eq!(
        store.removal(room, removed).await.unwrap(),
        None,
        "gone with the room"
    );
}

pub(crate) async fn a_member_chooses_their_notification_level_and_nobody_elses_changes(
    store: &dyn Store,
) {
    use crate::model::NotificationLevel;
    let owner = create_user(store, "owner").await;
    let member = create_user(store, "member").await;
    let outsider = create_user(store, "outsider").await;
    let room = store
        .create_room(new_room("room", Visibility::Public, owner, 1))
        .await
        .unwrap();
    store.add_member(room, member, 2).await.unwrap();
    let level_of = |user| async move { store.room(room, user).await.unwrap().unwrap().notify };
    assert_eq!(level_of(member).await, None, "no choice made yet");

    let set = store
        .set_notification_level(room, member, NotificationLevel::Nothing)
        .await
        .unwrap();
    assert!(set);
    assert_eq!(level_of(member).await, Some(NotificationLevel::Nothing));
    assert_eq!(level_of(owner).await, None);
    let listed = store.rooms_visible_to(member).await.unwrap();
    assert_eq!(
        listed[0].notify,
        Some(NotificationLevel::Nothing),
        "lists carry it too"
    );

    let refused = store
        .set_notification_level(room, outsider, NotificationLevel::All)
        .await
        .unwrap();
    assert!(!refused, "only a member has a level");
    assert_eq!(level_of(outsider).await, None);
    // Leaving forgets it: joining again starts from the default.
    store.remove_member(room, member).await.unwrap();
    store.add_member(room, member, 3).await.unwrap();
    assert_eq!(level_of(member).await, None);
}
