//! Accounts and sessions in PostgreSQL: `impl AccountStore for PgStore`, over the `users`
//! and `sessions` tables of migration 0002.
//!
//! Usernames are unique through an index on `lower(username COLLATE "C")` (ASCII letters
//! folded, as SQLite's NOCASE does, whatever the database's locale), and every lookup
//! compares that expression, so the database, not a read-then-write, enforces uniqueness in
//! any letter case. Sessions go with their user by `ON DELETE CASCADE`. Nothing here hashes
//! passwords or tokens: the auth service does, and the store only keeps what it is given.

use sqlx::Row;

use super::{PgStore, conflict_or};
use crate::backend::store::rows::user_from_row;
use crate::backend::store::{
    AccountStore, NewUser, SessionRecord, StoreError, TokenHash, UserRecord,
};
use crate::model::UserId;

const USER_COLUMNS: &str = "id, username, display_name, password_hash, is_admin, created_at";

#[async_trait::async_trait]
impl AccountStore for PgStore {
    async fn create_user(&self, user: NewUser<'_>) -> Result<UserRecord, StoreError> {
        // "Is this the first account?" and the insert must not interleave with another
        // sign-up, on this instance or another. Under READ COMMITTED two concurrent inserts
        // would both see no users, so sign-ups queue on the instance row's lock first; the
        // insert, a later statement, then sees every account committed before the lock was
        // granted. Sign-ups are rare and rate-limited, so the queue is short.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT 1 FROM instance WHERE id = 1 FOR UPDATE")
            .execute(&mut *tx)
            .await?;
        let sql = format!(
            "INSERT INTO users (username, display_name, password_hash, is_admin, created_at) \
             VALUES ($1, $2, $3, NOT EXISTS (SELECT 1 FROM users), $4) \
             RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(user.username)
            .bind(user.display_name)
            .bind(user.password_hash)
            .bind(user.now_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(conflict_or)?;
        let created = user_from_row(&row)?;
        tx.commit().await?;
        Ok(created)
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users \
             WHERE lower(username COLLATE \"C\") = lower($1 COLLATE \"C\")"
        );
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn set_display_name(&self, id: UserId, display_name: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET display_name = $2 WHERE id = $1")
            .bind(id.0)
            .bind(display_name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(id.0)
            .bind(password_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_session(
        &self,
        token: &TokenHash,
        user: UserId,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, refreshed_at, expires_at) \
             VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(&token[..])
        .bind(user.0)
        .bind(now_ms)
        .bind(expires_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(
        &self,
        token: &TokenHash,
        now_ms: i64,
        started_after_ms: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.display_name, u.password_hash, u.is_admin, u.created_at, \
                    s.refreshed_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.created_at > $3",
        )
        .bind(&token[..])
        .bind(now_ms)
        .bind(started_after_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionRecord {
            user: user_from_row(&row)?,
            refreshed_ms: row.try_get("refreshed_at")?,
            expires_ms: row.try_get("expires_at")?,
        }))
    }

    async fn refresh_session(
        &self,
        token: &TokenHash,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET refreshed_at = $2, expires_at = $3 WHERE token_hash = $1")
            .bind(&token[..])
            .bind(now_ms)
            .bind(expires_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token: &TokenHash) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(&token[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_sessions_of(
        &self,
        user: UserId,
        keep: Option<&TokenHash>,
    ) -> Result<u64, StoreError> {
        // No token is empty, so an empty `keep` keeps nothing.
        let keep: &[u8] = keep.map_or(&[], |token| &token[..]);
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user.0)
            .bind(keep)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
