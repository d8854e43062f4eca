//! Rooms, memberships, invitations and direct conversations in SQLite: `impl RoomStore for
//! SqliteStore`, over the tables of migration 0003 (and the read markers of 0005, which a
//! room list reads for its unread counts; invitations by their token's hash since 0008, and
//! the removals of 0009).
//!
//! A direct conversation is an ordinary private room with a `direct_key` of its two users'
//! ids, smaller first, so a unique index finds it again from either side. Deleting a room
//! relies on `ON DELETE CASCADE` for everything that belongs to it; nothing here deletes
//! dependants by hand.

use super::SqliteStore;
use crate::backend::store::ROOMS_LISTED;
use crate::backend::store::rows::{invitation_from_row, member_from_row, room_from_row};
use crate::backend::store::{
    InvitationRecord, MemberRecord, NewRoom, RoomRecord, RoomStore, StoreError, TokenHash,
};
use crate::model::{NotificationLevel, RoomId, UserId, Visibility};

/// A room with the viewer-specific columns; `?1` is the viewer.
/// What `room_from_row` reads about room `r` for viewer `?1`, but the unread count.
macro_rules! room_columns {
    () => {
        "SELECT r.id, r.name, r.topic, r.visibility, r.owner_id, r.created_at, \
            r.direct_key IS NOT NULL AS is_direct, \
            EXISTS (SELECT 1 FROM memberships m WHERE m.room_id = r.id AND m.user_id = ?1) \
                AS viewer_is_member, \
            (SELECT u.display_name FROM memberships m JOIN users u ON u.id = m.user_id \
                WHERE m.room_id = r.id AND m.user_id != ?1 LIMIT 1) AS direct_peer, \
            (SELECT m.notify FROM memberships m WHERE m.room_id = r.id AND m.user_id = ?1) \
                AS notify, "
    };
}

/// One room, for the authorization check every action makes: no unread count, which costs
/// a scan of the messages after the viewer's marker.
const ROOM_SELECT: &str = concat!(room_columns!(), "0 AS unread FROM rooms r");

/// Rooms for the navigation, with the viewer's unread count.
const ROOM_LIST_SELECT: &str = concat!(
    room_columns!(),
    "COALESCE((SELECT COUNT(*) FROM memberships me JOIN messages msg \
        ON msg.room_id = me.room_id AND msg.seq > me.read_seq \
        WHERE me.room_id = r.id AND me.user_id = ?1 AND msg.deleted_at IS NULL \
        AND (msg.author_id IS NULL OR msg.author_id != ?1)), 0) AS unread \
    FROM rooms r"
);

/// The viewer's own rooms for the navigation, newest first: a walk of the viewer's
/// memberships in room order that stops at the limit, so the unread counts are computed for
/// the listed rooms only. (One query that sorted members first had to compute every visible
/// room's columns before it could sort, which made 100,000 public rooms slow every page.)
fn own_rooms_sql() -> String {
    format!(
        "{ROOM_LIST_SELECT} JOIN memberships mine ON mine.room_id = r.id AND mine.user_id = ?1 \
         ORDER BY mine.room_id DESC LIMIT {ROOMS_LISTED}"
    )
}

/// Public rooms the viewer is not in, newest first: a walk of the index of public rooms in
/// id order (migration 0013). A non-member has nothing unread, so the cheaper columns of
/// [`ROOM_SELECT`] do. The limit is the list's whole length, written into the statement: a
/// bound parameter would let PostgreSQL plan for any limit, a sort of every public room
/// among them; the caller takes what it has room for.
fn public_rooms_sql() -> String {
    // Named, since SQLite without statistics would rather walk the index of direct keys
    // (every room that is not a direct conversation, private ones too).
    let select = ROOM_SELECT.replace("FROM rooms r", "FROM rooms r INDEXED BY rooms_public");
    format!(
        "{select} WHERE r.visibility = 'public' AND r.direct_key IS NULL \
         AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.room_id = r.id AND m.user_id = ?1) \
         ORDER BY r.id DESC LIMIT {ROOMS_LISTED}"
    )
}

const INVITATION_COLUMNS: &str = "id, room_id, created_at, expires_at, revoked_at";

#[async_trait::async_trait]
impl RoomStore for SqliteStore {
    async fn create_room(&self, room: NewRoom<'_>) -> Result<RoomId, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO rooms (name, topic, visibility, owner_id, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        )
        .bind(room.name)
        .bind(room.topic)
        .bind(room.visibility.as_str())
        .bind(room.owner.0)
        .bind(room.now_ms)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO memberships (room_id, user_id, joined_at) VALUES (?1, ?2, ?3)")
            .bind(id)
            .bind(room.owner.0)
            .bind(room.now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RoomId(id))
    }

    async fn room(&self, id: RoomId, viewer: UserId) -> Result<Option<RoomRecord>, StoreError> {
        let sql = format!("{ROOM_SELECT} WHERE r.id = ?2");
        let row = sqlx::query(&sql)
            .bind(viewer.0)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(room_from_row).transpose()?)
    }

    async fn rooms_visible_to(&self, viewer: UserId) -> Result<Vec<RoomRecord>, StoreError> {
        // One snapshot for both reads, so a room joined or left between them is listed
        // once, as what it is.
        let mut tx = self.pool.begin().await?;
        let mut rooms: Vec<RoomRecord> = sqlx::query(&own_rooms_sql())
            .bind(viewer.0)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(room_from_row)
            .collect::<Result<_, _>>()?;
        if rooms.len() < ROOMS_LISTED {
            let public = sqlx::query(&public_rooms_sql())
                .bind(viewer.0)
                .fetch_all(&mut *tx)
                .await?;
            for row in public.iter().take(ROOMS_LISTED - rooms.len()) {
                rooms.push(room_from_row(row)?);
            }
        }
        tx.commit().await?;
        Ok(rooms)
    }

    async fn update_room(
        &self,
        id: RoomId,
        name: &str,
        topic: &str,
        visibility: Visibility,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE rooms SET name = ?2, topic = ?3, visibility = ?4 WHERE id = ?1")
            .bind(id.0)
            .bind(name)
            .bind(topic)
            .bind(visibility.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_room(&self, id: RoomId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM rooms WHERE id = ?1")
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn add_member(&self, room: RoomId, user: UserId, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            // A new member starts with the history read: unread counts what came after.
            "INSERT INTO memberships (room_id, user_id, joined_at, read_seq) \
             VALUES (?1, ?2, ?3, (SELECT last_seq FROM rooms WHERE id = ?1)) \
             ON CONFLICT DO NOTHING",
        )
        .bind(room.0)
        .bind(user.0)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn remove_member(&self, room: RoomId, user: UserId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM memberships WHERE room_id = ?1 AND user_id = ?2")
            .bind(room.0)
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn expel_member(
        &self,
        room: RoomId,
        user: UserId,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM memberships WHERE room_id = ?1 AND user_id = ?2")
            .bind(room.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO room_removals (room_id, user_id, removed_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (room_id, user_id) DO UPDATE SET removed_at = excluded.removed_at",
        )
        .bind(room.0)
        .bind(user.0)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn removal(&self, room: RoomId, user: UserId) -> Result<Option<i64>, StoreError> {
        let removed_at = sqlx::query_scalar(
            "SELECT removed_at FROM room_removals WHERE room_id = ?1 AND user_id = ?2",
        )
        .bind(room.0)
        .bind(user.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(removed_at)
    }

    async fn members(&self, room: RoomId) -> Result<Vec<MemberRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.username, u.display_name FROM memberships m \
             JOIN users u ON u.id = m.user_id WHERE m.room_id = ?1 \
             ORDER BY m.joined_at, u.id",
        )
        .bind(room.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(member_from_row).collect::<Result<_, _>>()?)
    }

    async fn create_invitation(
        &self,
        room: RoomId,
        token: &TokenHash,
        by: UserId,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<InvitationRecord, StoreError> {
        let sql = format!(
            "INSERT INTO invitations (token_hash, room_id, created_by, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING {INVITATION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&token[..])
            .bind(room.0)
            .bind(by.0)
            .bind(now_ms)
            .bind(expires_ms)
            .fetch_one(&self.pool)
            .await?;
        Ok(invitation_from_row(&row)?)
    }

    async fn active_invitations(
        &self,
        room: RoomId,
        now_ms: i64,
    ) -> Result<Vec<InvitationRecord>, StoreError> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations \
             WHERE room_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 ORDER BY id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(room.0)
            .bind(now_ms)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(invitation_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn invitation(&self, token: &TokenHash) -> Result<Option<InvitationRecord>, StoreError> {
        let sql = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = ?1");
        let row = sqlx::query(&sql)
            .bind(&token[..])
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(invitation_from_row).transpose()?)
    }

    async fn revoke_invitation(
        &self,
        room: RoomId,
        id: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE invitations SET revoked_at = ?3 \
             WHERE id = ?2 AND room_id = ?1 AND revoked_at IS NULL",
        )
        .bind(room.0)
        .bind(id)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn direct_room(&self, a: UserId, b: UserId, now_ms: i64) -> Result<RoomId, StoreError> {
        let key = format!("{}:{}", a.0.min(b.0), a.0.max(b.0));
        // Starts with a write, so the transaction takes the write lock at once instead of
        // upgrading from a read lock (which SQLite may refuse without waiting).
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO rooms (name, topic, visibility, owner_id, created_at, direct_key) \
             VALUES ('', '', 'private', NULL, ?1, ?2) ON CONFLICT (direct_key) DO NOTHING",
        )
        .bind(now_ms)
        .bind(&key)
        .execute(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM rooms WHERE direct_key = ?1")
            .bind(&key)
            .fetch_one(&mut *tx)
            .await?;
        for user in [a, b] {
            sqlx::query(
                // Someone who left comes back with the history read, as a joiner does.
                "INSERT INTO memberships (room_id, user_id, joined_at, read_seq) \
                 VALUES (?1, ?2, ?3, (SELECT last_seq FROM rooms WHERE id = ?1)) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(user.0)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(RoomId(id))
    }

    async fn find_direct_room(&self, a: UserId, b: UserId) -> Result<Option<RoomId>, StoreError> {
        let key = format!("{}:{}", a.0.min(b.0), a.0.max(b.0));
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM rooms WHERE direct_key = ?1")
            .bind(&key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(id.map(RoomId))
    }

    async fn set_notification_level(
        &self,
        room: RoomId,
        user: UserId,
        level: NotificationLevel,
    ) -> Result<bool, StoreError> {
        let updated =
            sqlx::query("UPDATE memberships SET notify = ?3 WHERE room_id = ?1 AND user_id = ?2")
                .bind(room.0)
                .bind(user.0)
                .bind(level.as_str())
                .execute(&self.pool)
                .await?;
        Ok(updated.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::store::StoreConfig;

    /// The steps SQLite plans for `sql`: the `detail` column of `EXPLAIN QUERY PLAN`.
    async fn plan_of(store: &SqliteStore, sql: &str, binds: usize) -> Vec<String> {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query(&explain);
        for _ in 0..binds {
            query = query.bind(1_i64);
        }
        let rows = query.fetch_all(&store.pool).await.unwrap();
        rows.iter()
            .map(|row| sqlx::Row::get::<String, _>(row, "detail"))
            .collect()
    }

    #[tokio::test]
    async fn the_room_list_walks_indexes_in_order_instead_of_sorting_every_visible_room() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&StoreConfig::sqlite_file(&dir.path().join("sori.db")))
            .await
            .unwrap();
        let public = plan_of(&store, &public_rooms_sql(), 1).await;
        assert!(
            public.iter().any(|step| step.contains("rooms_public")),
            "the public rooms' own index: {public:?}"
        );
        for (sql, binds) in [(own_rooms_sql(), 1), (public_rooms_sql(), 1)] {
            let plan = plan_of(&store, &sql, binds).await;
            assert!(
                !plan.iter().any(|step| step.contains("TEMP B-TREE")),
                "a sort of every candidate room before the limit: {plan:?} for {sql}"
            );
        }
    }
}
