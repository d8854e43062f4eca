//! Accounts and sessions in SQLite: `impl AccountStore for SqliteStore`, over the `users`
//! and `sessions` tables of migration 0002.
//!
//! Usernames are unique under `COLLATE NOCASE`, so the database, not a read-then-write,
//! enforces uniqueness in any letter case; sessions go with their user by `ON DELETE
//! CASCADE`. Nothing here hashes passwords or tokens: the auth service does, and the store
//! only keeps what it is given.

use sqlx::Row;

use super::{SqliteStore, conflict_or};
use crate::backend::store::rows::user_from_row;
use crate::backend::store::{
    AccountStore, NewUser, SessionRecord, StoreError, TokenHash, UserRecord,
};
use crate::model::UserId;

const USER_COLUMNS: &str = "id, username, display_name, password_hash, is_admin, created_at";

#[async_trait::async_trait]
impl AccountStore for SqliteStore {
    async fn create_user(&self, user: NewUser<'_>) -> Result<UserRecord, StoreError> {
        // One statement, so "is this the first user?" and the insert cannot interleave with
        // another sign-up: SQLite runs each write statement alone.
        let sql = format!(
            "INSERT INTO users (username, display_name, password_hash, is_admin, created_at) \
             VALUES (?1, ?2, ?3, NOT EXISTS (SELECT 1 FROM users), ?4) \
             RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(user.username)
            .bind(user.display_name)
            .bind(user.password_hash)
            .bind(user.now_ms)
            .fetch_one(&self.pool)
            .await
            .map_err(conflict_or)?;
        Ok(user_from_row(&row)?)
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1");
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn set_display_name(&self, id: UserId, display_name: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET display_name = ?2 WHERE id = ?1")
            .bind(id.0)
            .bind(display_name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = ?2 WHERE id = ?1")
            .bind(id.0)
            .bind(password_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM users WHERE id = ?1")
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
             VALUES (?1, ?2, ?3, ?3, ?4)",
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
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND s.created_at > ?3",
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
        sqlx::query("UPDATE sessions SET refreshed_at = ?2, expires_at = ?3 WHERE token_hash = ?1")
            .bind(&token[..])
            .bind(now_ms)
            .bind(expires_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token: &TokenHash) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?1")
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
        let keep: &[u8] = keep.map_or(&[], |token| &token[..]);
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = ?1 AND token_hash != ?2")
            .bind(user.0)
            .bind(keep)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
