//! Contracts of [`AccountStore`](crate::backend::store::AccountStore): users and sessions.

use super::{SOMEONE, create_user, new_user};
use crate::backend::store::{NewUser, Store, StoreError, UserRecord};
use crate::model::UserId;

pub(crate) async fn the_first_user_is_admin_and_later_ones_are_not(store: &dyn Store) {
    let first = store.create_user(new_user("first")).await.unwrap();
    let second = store.create_user(new_user("second")).await.unwrap();
    assert!(first.is_admin);
    assert!(!second.is_admin);
}

pub(crate) async fn only_one_of_concurrent_first_sign_ups_becomes_admin(store: &dyn Store) {
    let (a, b, c, d) = tokio::join!(
        store.create_user(new_user("alpha")),
        store.create_user(new_user("bravo")),
        store.create_user(new_user("charlie")),
        store.create_user(new_user("delta")),
    );
    let users = [a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()];
    let admins = users.iter().filter(|user| user.is_admin).count();
    assert_eq!(admins, 1, "{users:?}");
}

pub(crate) async fn usernames_are_unique_without_regard_to_case(store: &dyn Store) {
    store.create_user(new_user("minji")).await.unwrap();
    let again = store.create_user(new_user("Minji")).await.unwrap_err();
    assert!(matches!(again, StoreError::Conflict), "{again}");
    let found = store.user_by_username("MINJI").await.unwrap().unwrap();
    assert_eq!(found.username, "minji", "shown as first typed");
}

pub(crate) async fn a_new_user_is_stored_as_given_and_found_by_id_or_name(store: &dyn Store) {
    let created = store
        .create_user(NewUser {
            username: "Minji",
            display_name: "Kim Minji",
            password_hash: "$argon2id$minji",
            now_ms: 1_234,
        })
        .await
        .unwrap();
    assert_eq!(
        created,
        UserRecord {
            id: created.id,
            username: "Minji".into(),
            display_name: "Kim Minji".into(),
            password_hash: "$argon2id$minji".into(),
            is_admin: true,
            created_ms: 1_234,
        }
    );
    assert_eq!(
        store.user_by_id(created.id).await.unwrap().as_ref(),
        Some(&created)
    );
    assert_eq!(
        store.user_by_username("minji").await.unwrap().as_ref(),
        Some(&created)
    );
    assert_eq!(store.user_by_username("minj").await.unwrap(), None);
    assert_eq!(
        store.user_by_id(UserId(created.id.0 + 1)).await.unwrap(),
        None
    );
}

pub(crate) async fn a_display_name_and_a_password_hash_can_be_changed(store: &dyn Store) {
    let user = create_user(store, "minji").await;
    let other = store.create_user(new_user("other")).await.unwrap();
    store.set_display_name(user, "Minji K.").await.unwrap();
    store
        .set_password_hash(user, "$argon2id$new")
        .await
        .unwrap();
    let changed = store.user_by_id(user).await.unwrap().unwrap();
    assert_eq!(changed.display_name, "Minji K.");
    assert_eq!(changed.password_hash, "$argon2id$new");
    assert_eq!(changed.username, "minji", "the username stays");
    assert_eq!(
        store.user_by_id(other.id).await.unwrap(),
        Some(other),
        "nobody else changed"
    );
}

pub(crate) async fn sessions_expire_and_go_with_their_user(store: &dyn Store) {
    let user = store.create_user(new_user("minji")).await.unwrap();
    let token = [7u8; 32];
    store
        .create_session(&token, user.id, 1_000, 5_000)
        .await
        .unwrap();
    let live = store
        .session(&token, 4_999, i64::MIN)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (live.user, live.refreshed_ms, live.expires_ms),
        (user.clone(), 1_000, 5_000)
    );
    assert!(
        store
            .session(&token, 5_000, i64::MIN)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    store.refresh_session(&token, 4_000, 9_000).await.unwrap();
    let refreshed = store
        .session(&token, 5_000, i64::MIN)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refreshed.expires_ms, 9_000);
    assert_eq!(refreshed.refreshed_ms, 4_000);
    store.delete_user(user.id).await.unwrap();
    assert!(
        store
            .session(&token, 5_000, i64::MIN)
            .await
            .unwrap()
            .is_none(),
        "deleted with the user"
    );
}

pub(crate) async fn a_session_ends_at_its_absolute_lifetime_however_recently_refreshed(
    store: &dyn Store,
) {
    let user = create_user(store, "minji").await;
    let token = [8u8; 32];
    store
        .create_session(&token, user, 1_000, 5_000)
        .await
        .unwrap();
    store.refresh_session(&token, 4_000, 90_000).await.unwrap();
    // Begun at 1 000: live for a lookup that accepts sessions begun after 999 ...
    let live = store.session(&token, 4_500, 999).await.unwrap();
    assert_eq!(live.map(|session| session.expires_ms), Some(90_000));
    // ... and over for one that accepts only sessions begun after 1 000, though the idle
    // expiry (90 000) is far ahead.
    assert!(
        store.session(&token, 4_500, 1_000).await.unwrap().is_none(),
        "past its absolute lifetime"
    );
}

pub(crate) async fn deleting_a_user_removes_the_account_and_frees_the_username(store: &dyn Store) {
    let user = create_user(store, "minji").await;
    let other = create_user(store, "other").await;
    store.delete_user(user).await.unwrap();
    assert_eq!(store.user_by_id(user).await.unwrap(), None);
    assert_eq!(store.user_by_username("minji").await.unwrap(), None);
    assert!(store.user_by_id(other).await.unwrap().is_some());
    let again = store.create_user(new_user("MINJI")).await.unwrap();
    assert_eq!(again.display_name, SOMEONE);
    assert!(!again.is_admin, "only the first account ever is made admin");
}

pub(crate) async fn deleting_a_session_ends_that_one_only(store: &dyn Store) {
    let user = create_user(store, "minji").await;
    let (ending, staying) = ([1u8; 32], [2u8; 32]);
    for token in [ending, staying] {
        store.create_session(&token, user, 0, 10_000).await.unwrap();
    }
    store.delete_session(&ending).await.unwrap();
    assert!(store.session(&ending, 1, i64::MIN).await.unwrap().is_none());
    assert!(
        store
            .session(&staying, 1, i64::MIN)
            .await
            .unwrap()
            .is_some()
    );
    store.delete_session(&[9u8; 32]).await.unwrap();
    assert!(
        store
            .session(&staying, 1, i64::MIN)
            .await
            .unwrap()
            .is_some(),
        "deleting an unknown token is no error and ends nothing"
    );
}

pub(crate) async fn ending_all_sessions_can_keep_the_current_one(store: &dyn Store) {
    let user = store.create_user(new_user("minji")).await.unwrap();
    let other = create_user(store, "other").await;
    for token in [[1u8; 32], [2u8; 32], [3u8; 32]] {
        store
            .create_session(&token, user.id, 0, 10_000)
            .await
            .unwrap();
    }
    store
        .create_session(&[4u8; 32], other, 0, 10_000)
        .await
        .unwrap();
    assert_eq!(
        store
            .delete_sessions_of(user.id, Some(&[1u8; 32]))
            .await
            .unwrap(),
        2
    );
    assert!(
        store
            .session(&[1u8; 32], 1, i64::MIN)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .session(&[2u8; 32], 1, i64::MIN)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.delete_sessions_of(user.id, None).await.unwrap(), 1);
    assert!(
        store
            .session(&[1u8; 32], 1, i64::MIN)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session(&[4u8; 32], 1, i64::MIN)
            .await
            .unwrap()
            .is_some(),
        "another user's session stays"
    );
}
