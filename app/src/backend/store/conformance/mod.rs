//! The store conformance suite: every contract of [`Store`], written once against
//! `&dyn Store`, so each backend proves the same promises instead of re-stating them.
//!
//! Each contract is an `async fn(&dyn Store)` that gets a fresh, empty store and panics when
//! the promise is broken. A backend runs the whole suite with one call of
//! [`store_conformance!`], giving it a factory of fresh stores; the macro expands to one
//! `#[tokio::test]` per contract, named by the contract's sentence:
//!
//! ```ignore
//! mod conformance {
//!     crate::backend::store::conformance::store_conformance!(super::scratch_store);
//! }
//! ```
//!
//! The contracts are grouped like the traits: `lifecycle` ([`Store`]'s own methods),
//! `accounts`, `rooms`, `messages`, `mentions` and `search` (with `reactions` and `replies` beside
//! `messages`). Every contract must be listed in the macro; one that is not is never called,
//! which the `dead_code` lint reports, so the list cannot silently fall behind while some
//! backend runs the suite. What only one backend can check (its
//! pragmas, its files, its raw columns) stays in that backend's own tests.

pub(crate) mod accounts;
pub(crate) mod lifecycle;
pub(crate) mod mentions;
pub(crate) mod messages;
pub(crate) mod reactions;
pub(crate) mod replies;
pub(crate) mod rooms;
pub(crate) mod search;

use super::{NewMessage, NewRoom, NewUser, Posted, RoomEvent, Store};
use crate::model::{RichText, RoomId, UserId, Visibility};
use crate::protocol::{ClientId, MessageView};

/// Expands to one `#[tokio::test]` per contract of the suite, each run on its own store
/// from `$fresh_store`: the path of an async fn without arguments whose output dereferences
/// to a `dyn Store` that is empty (no users, no rooms) and keeps alive whatever the store
/// needs (a temporary directory, a scratch database) until the test ends.
macro_rules! store_conformance {
    ($fresh_store:path) => {
        $crate::backend::store::conformance::store_conformance!(@contracts $fresh_store;
            lifecycle: [
                a_store_answers_pings_and_keeps_one_instance_row,
                a_closed_store_answers_no_more,
            ],
            accounts: [
                the_first_user_is_admin_and_later_ones_are_not,
                only_one_of_concurrent_first_sign_ups_becomes_admin,
                usernames_are_unique_without_regard_to_case,
                a_new_user_is_stored_as_given_and_found_by_id_or_name,
                a_display_name_and_a_password_hash_can_be_changed,
                sessions_expire_and_go_with_their_user,
                a_session_ends_at_its_absolute_lifetime_however_recently_refreshed,
                deleting_a_user_removes_the_account_and_frees_the_username,
                deleting_a_session_ends_that_one_only,
                ending_all_sessions_can_keep_the_current_one,
            ],
            rooms: [
                a_room_starts_with_its_owner_and_private_rooms_are_listed_only_for_members,
                a_room_is_shown_to_any_viewer_with_their_membership,
                rooms_are_listed_the_viewers_own_first_then_newest_with_the_private_ones_they_are_in,
                the_room_list_is_bounded_and_strangers_rooms_never_push_out_the_viewers,
                a_room_can_be_renamed_retitled_and_made_private,
                members_are_listed_in_the_order_they_joined_and_joining_twice_is_fine,
                a_removed_member_is_no_longer_listed_nor_shown_the_private_room,
                a_removal_is_recorded_with_its_time_and_leaving_records_none,
                active_invitations_are_neither_revoked_nor_expired,
                an_invitation_is_revoked_once_and_only_through_its_own_room,
                a_direct_room_is_found_again_from_either_side,
                concurrent_openings_of_a_direct_room_find_one_room,
                a_direct_room_forgets_the_peer_who_deleted_their_account,
                deleting_a_room_takes_its_members_invitations_and_messages,
                a_member_chooses_their_notification_level_and_nobody_elses_changes,
            ],
            messages: [
                messages_take_gapless_numbers_and_a_resend_returns_the_original,
                concurrent_posts_take_every_number_once,
                the_same_client_id_from_another_author_is_another_message,
                each_room_numbers_its_changes_from_one,
                a_message_is_found_by_id_and_by_its_authors_client_id,
                history_pages_by_seq_in_both_directions,
                edits_and_deletes_take_the_next_number_and_replay_with_the_current_state,
                a_missing_message_cannot_change_and_uses_no_number,
                unread_counts_others_messages_after_the_read_marker,
                unread_leaves_out_deleted_messages_and_is_counted_in_lists_only,
                the_read_marker_never_passes_the_newest_change,
                marking_read_does_nothing_for_a_non_member,
                a_deleted_author_leaves_their_messages_without_an_author,
            ],
            reactions: [
                a_reaction_takes_the_next_number_and_saying_it_again_takes_none,
                reactions_group_by_emoji_in_the_order_first_used_in_every_read,
                a_message_refuses_another_emoji_past_its_limit_but_not_more_people,
                a_deleted_or_missing_message_takes_no_reaction_and_loses_its_own,
            ],
            replies: [
                a_reply_quotes_the_original_as_it_is_now_in_every_read,
            ],
            mentions: [
                a_post_stores_its_rendered_form_and_reads_back_the_mentioned_with_current_names,
                mention_counts_are_per_member_after_the_read_marker_and_leave_out_ones_own,
                an_edit_replaces_the_mentions_and_a_delete_drops_them_with_the_form,
                the_mentions_list_is_newest_first_and_only_in_rooms_one_is_member_of,
            ],
            search: [
                korean_is_found_by_part_of_a_word_and_english_by_prefix,
                results_are_newest_first_in_pages_that_continue_below_an_id,
                only_rooms_the_searcher_may_read_are_searched,
                an_edit_is_found_by_its_new_words_and_a_deleted_message_never,
                from_and_in_narrow_to_an_author_and_a_room_without_regard_to_case,
                hostile_queries_are_answered_without_error,
            ],
        );
    };
    (@contracts $fresh_store:path; $($group:ident: [$($contract:ident),* $(,)?]),* $(,)?) => {
        $($(
            #[tokio::test]
            async fn $contract() {
                let store = $fresh_store().await;
                $crate::backend::store::conformance::$group::$contract(&*store).await;
            }
        )*)*
    };
}
pub(crate) use store_conformance;

// Fixtures shared by the contracts. They are plain data with fixed values, so a contract's
// expected values can be read off them.

/// The display name every fixture user gets unless a contract needs another.
const SOMEONE: &str = "Someone";

/// The username of the author in [`room_with_author`].
const AUTHOR: &str = "author";

fn new_user(username: &str) -> NewUser<'_> {
    NewUser {
        username,
        display_name: SOMEONE,
        password_hash: "$argon2id$fake",
        now_ms: 1_000,
    }
}

async fn create_user(store: &dyn Store, username: &str) -> UserId {
    store.create_user(new_user(username)).await.unwrap().id
}

fn new_room(name: &str, visibility: Visibility, owner: UserId, now_ms: i64) -> NewRoom<'_> {
    NewRoom {
        name,
        topic: "",
        visibility,
        owner,
        now_ms,
    }
}

/// A public room "r" and its owner "author", who posts in it.
async fn room_with_author(store: &dyn Store) -> (RoomId, UserId) {
    let author = create_user(store, AUTHOR).await;
    let room = store
        .create_room(new_room("r", Visibility::Public, author, 1))
        .await
        .unwrap();
    (room, author)
}

fn hello(room: RoomId, author: UserId, client_id: &ClientId) -> NewMessage<'_> {
    NewMessage {
        room,
        author,
        client_id,
        author_name: SOMEONE,
        author_username: AUTHOR,
        body: "hello",
        rich: &PLAIN_HELLO,
        mentioned: &[],
        now_ms: 5,
        reply_to: None,
    }
}

/// The rendered form of [`hello`]: its plain form, as a message without Markdown has.
static PLAIN_HELLO: std::sync::LazyLock<RichText> =
    std::sync::LazyLock::new(|| RichText::plain("hello"));

/// Stores [`hello`] from `author` in `room` under `client_id`.
async fn post(store: &dyn Store, room: RoomId, author: UserId, client_id: &ClientId) -> Posted {
    store
        .insert_message(hello(room, author, client_id))
        .await
        .unwrap()
}

fn client_id(n: u8) -> ClientId {
    ClientId::parse(&format!("00000000-0000-4000-8000-0000000000{n:02x}")).unwrap()
}

/// The unread count `user` sees for `room` in their room list.
async fn unread_of(store: &dyn Store, room: RoomId, user: UserId) -> u64 {
    let rooms = store.rooms_visible_to(user).await.unwrap();
    rooms
        .into_iter()
        .find(|listed| listed.id == room)
        .unwrap()
        .unread
}

fn seqs(messages: &[MessageView]) -> Vec<u64> {
    messages.iter().map(|message| message.seq).collect()
}

fn event_seqs(events: &[RoomEvent]) -> Vec<u64> {
    events.iter().map(|event| event.seq).collect()
}
