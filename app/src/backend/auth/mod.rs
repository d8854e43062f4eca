//! Accounts and sessions: sign up, sign in, sign out (here or everywhere), and the account
//! settings. [`Accounts`] decides; server functions only adapt HTTP to it, and
//! [`CurrentUser`] is the one way any request (server function, page or socket upgrade)
//! learns who is asking.

mod current_user;
mod password;
mod session;
mod strength;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

pub use current_user::{CurrentUser, RequestUser};
pub use password::PasswordHasher;
pub use session::{SessionCookie, SessionToken};

use super::client_addr::{IpNet, limit_key};
use super::clock::{Clock, millis};
use super::internal_error::OrInternal;
use super::rate_limit::{Limited, RateLimiter};
use super::revocation::{Revocation, Revocations, SessionsEnded};
use super::store::{NewUser, Store, StoreError, TokenHash};
use crate::error::ApiError;
use crate::model::{DisplayName, Password, UserId, UserView, Username};
use crate::model::{Field, Problem};

/// Account and session settings; part of the server's one configuration struct.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct AuthConfig {
    /// A session ends after this many seconds without use.
    #[arg(long, env = "SORI_SESSION_IDLE_SECS", default_value_t = Self::default().session_idle_secs)]
    pub session_idle_secs: u64,

    /// A session ends this many seconds after sign-in, however often it is used: a stolen
    /// cookie that is kept busy does not stay valid for ever.
    #[arg(long, env = "SORI_SESSION_MAX_SECS", default_value_t = Self::default().session_max_secs)]
    pub session_max_secs: u64,

    /// A session's expiry is slid forward (one database write) at most this often, in seconds.
    #[arg(long, env = "SORI_SESSION_REFRESH_SECS", default_value_t = Self::default().session_refresh_secs)]
    pub session_refresh_secs: u64,

    /// Sign-in attempts allowed per minute, per client address and per username (0: no limit).
    #[arg(long, env = "SORI_SIGN_IN_PER_MINUTE", default_value_t = Self::default().sign_in_per_minute)]
    pub sign_in_per_minute: u32,

    /// Accounts that one client address may create per hour (0: no limit).
    #[arg(long, env = "SORI_SIGN_UP_PER_HOUR", default_value_t = Self::default().sign_up_per_hour)]
    pub sign_up_per_hour: u32,

    /// Password hashes computed at once; more requests wait their turn.
    #[arg(long, env = "SORI_PASSWORD_HASH_CONCURRENCY", default_value_t = Self::default().password_hash_concurrency)]
    pub password_hash_concurrency: usize,

    /// Password hashes that may wait for their turn; past that a request is answered 503
    /// with Retry-After at once.
    #[arg(long, env = "SORI_PASSWORD_QUEUE", default_value_t = Self::default().password_queue)]
    pub password_queue: usize,

    /// Proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed.
    #[arg(long, env = "SORI_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_idle_secs: 30 * 24 * 3600,
            // Three idle periods: someone who uses Sori every day signs in again once a
            // quarter, and a stolen session dies within that bound whatever the thief does.
            session_max_secs: 90 * 24 * 3600,
            session_refresh_secs: 300,
            sign_in_per_minute: 10,
            sign_up_per_hour: 20,
            password_hash_concurrency: 2,
            // Two hashes at once take about 50 ms each here, so 32 waiting is under a second
            // of work: long enough to absorb a burst of sign-ins, short enough that nobody
            // waits longer than they would for a retry.
            password_queue: 32,
            trusted_proxies: Vec::new(),
        }
    }
}

/// A signed-in request: the session it came with, and whether that session's expiry was just
/// slid forward (so the cookie can be re-issued with a fresh lifetime).
pub struct Authenticated {
    pub user: CurrentUser,
    pub refreshed: bool,
}

pub struct Accounts {
    store: Arc<dyn Store>,
    /// Told when sessions end, so the user's sockets close with them on every instance.
    revocations: Arc<Revocations>,
    hasher: PasswordHasher,
    cookie_max_age_secs: u64,
    clock: Clock,
    idle_ms: i64,
    /// The absolute lifetime: sessions begun longer ago than this are over.
    max_ms: i64,
    refresh_ms: i64,
    sign_in_limit: RateLimiter,
    sign_up_limit: RateLimiter,
    /// The current-password checks of "Change password" and "Delete account", per user and
    /// per session: a stolen session must not become an unlimited password oracle.
    password_check_limit: RateLimiter,
}

impl Accounts {
    pub fn new(
        store: Arc<dyn Store>,
        revocations: Arc<Revocations>,
        config: &AuthConfig,
        clock: Clock,
    ) -> Self {
        let idle = Duration::from_secs(config.session_idle_secs);
        let sign_in_limit = RateLimiter::for_store(
            config.sign_in_per_minute,
            Duration::from_secs(60),
            clock.clone(),
            &store,
            "sign_in",
        );
        let sign_up_limit = RateLimiter::for_store(
            config.sign_up_per_hour,
            Duration::from_secs(3600),
            clock.clone(),
            &store,
            "sign_up",
        );
        let password_check_limit = RateLimiter::for_store(
            config.sign_in_per_minute,
            Duration::from_secs(60),
            clock.clone(),
            &store,
            "password_check",
        );
        Self {
            store,
            revocations,
            hasher: PasswordHasher::new(config.password_hash_concurrency, config.password_queue),
            cookie_max_age_secs: config.session_idle_secs,
            idle_ms: millis(idle),
            max_ms: millis(Duration::from_secs(config.session_max_secs)),
            refresh_ms: millis(Duration::from_secs(config.session_refresh_secs)),
            sign_in_limit,
            sign_up_limit,
            password_check_limit,
            clock,
        }
    }

    /// The session cookie for a request that is `https` or not (see [`crate::backend::ingress`]).
    pub fn cookie(&self, https: bool) -> SessionCookie {
        SessionCookie::new(https, self.cookie_max_age_secs)
    }

    /// Creates an account and signs it in. The first account becomes the server admin.
    pub async fn register(
        &self,
        client: IpAddr,
        username: &str,
        display_name: &str,
        password: &str,
    ) -> Result<(UserView, SessionToken), ApiError> {
        let username = Username::parse(username)?;
        let display_name = DisplayName::parse(display_name)?;
        let password = Password::parse(password, Field::Password)?;
        self.sign_up_limit
            .check(&[&format!("ip:{}", limit_key(client))])
            .await?;
        strength::check_strength(
            &password,
            Field::Password,
            &[username.as_str(), display_name.as_str()],
        )?;
        let password_hash = self.hasher.hash(&password).await?;
        let created = self
            .store
            .create_user(NewUser {
                username: username.as_str(),
                display_name: display_name.as_str(),
                password_hash: &password_hash,
                now_ms: self.clock.now_ms(),
            })
            .await;
        let user = match created {
            Err(StoreError::Conflict) => {
                return Err(ApiError::invalid(Field::Username, Problem::Taken));
            }
            other => other.or_internal("create user")?,
        };
        tracing::info!(user = %user.id, admin = user.is_admin, "account created");
        let token = self.start_session(user.id).await?;
        Ok((user.view(), token))
    }

    /// Checks a username and password. A failure never says which of the two was wrong, and
    /// costs the same time either way. On success the session the request came with (if any)
    /// ends and a new token replaces it, so a token planted before sign-in is worthless.
    pub async fn sign_in(
        &self,
        client: IpAddr,
        username: &str,
        password: &str,
        previous: &HeaderMap,
        https: bool,
    ) -> Result<(UserView, SessionToken), ApiError> {
        // No account has a longer name, so saying so gives nothing away; and refusing here
        // keeps arbitrary text out of the limiter's keys.
        if username.trim().chars().count() > Username::MAX {
            return Err(ApiError::invalid(
                Field::Username,
                Problem::TooLong { max: Username::MAX },
            ));
        }
        let key = username.trim().to_ascii_lowercase();
        self.sign_in_limit
            .check(&[&format!("ip:{}", limit_key(client)), &format!("user:{key}")])
            .await
            .inspect_err(|limited| {
                if matches!(limited, Limited::Wait(_)) {
                    // `?`: the name is the client's text, so it is logged quoted and
                    // escaped; a newline in it cannot forge a log line.
                    tracing::warn!(%client, username = ?key, "sign-in rate limit reached");
                }
            })?;
        let user = self
            .store
            .user_by_username(username.trim())
            .await
            .or_internal("find user")?;
        let verified = match &user {
            Some(user) => self.hasher.verify(password, &user.password_hash).await?,
            None => self.hasher.verify_decoy(password).await?,
        };
        let Some(user) = user.filter(|_| verified) else {
            tracing::info!(%client, "sign-in failed");
            return Err(ApiError::WrongCredentials);
        };
        if let Some(old) = self.cookie(https).read(previous) {
            self.end_previous_session(session::hash_token(old)).await?;
        }
        let token = self.start_session(user.id).await?;
        tracing::info!(user = %user.id, "signed in");
        Ok((user.view(), token))
    }

    /// Ends the session a browser signing in again still had (perhaps another account's),
    /// with its sockets, like a sign-out: otherwise a tab of the old session would go on
    /// receiving until its next heartbeat.
    async fn end_previous_session(&self, old: TokenHash) -> Result<(), ApiError> {
        let now = self.clock.now_ms();
        let live = self
            .store
            .session(&old, now, now.saturating_sub(self.max_ms))
            .await
            .or_internal("find the previous session")?;
        self.store
            .delete_session(&old)
            .await
            .or_internal("end the previous session")?;
        if let Some(live) = live {
            self.revocations
                .revoke(Revocation::Session {
                    user: live.user.id,
                    session: old,
                })
                .await;
        }
        Ok(())
    }

    /// The user a request's session cookie belongs to, if the session is live. Slides the
    /// session's expiry forward at most once per refresh interval.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        https: bool,
    ) -> Result<Option<Authenticated>, ApiError> {
        let Some(token) = self.cookie(https).read(headers) else {
            return Ok(None);
        };
        let token = session::hash_token(token);
        let now = self.clock.now_ms();
        let session = self
            .store
            .session(&token, now, now.saturating_sub(self.max_ms))
            .await
            .or_internal("find session")?;
        let Some(session) = session else {
            return Ok(None);
        };
        let refreshed = now - session.refreshed_ms >= self.refresh_ms;
        if refreshed {
            self.store
                .refresh_session(&token, now, now.saturating_add(self.idle_ms))
                .await
                .or_internal("refresh session")?;
        }
        Ok(Some(Authenticated {
            user: CurrentUser {
                user: session.user.view(),
                token,
            },
            refreshed,
        }))
    }

    /// Ends this session; its sockets close (4003), on every instance, and the user's other
    /// sessions and their sockets stay.
    pub async fn sign_out(&self, user: &CurrentUser) -> Result<(), ApiError> {
        self.store
            .delete_session(&user.token)
            .await
            .or_internal("delete session")?;
        self.revocations
            .revoke(Revocation::Session {
                user: user.user.id,
                session: user.token,
            })
            .await;
        Ok(())
    }

    /// Whether the session a socket was opened with is still live (neither signed out, nor
    /// expired, nor past its absolute lifetime, nor gone with its account). Unlike
    /// [`Accounts::authenticate`] it slides no expiry: an open socket is not a use.
    pub async fn session_is_live(&self, user: &CurrentUser) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let session = self
            .store
            .session(&user.token, now, now.saturating_sub(self.max_ms))
            .await?;
        Ok(session.is_some_and(|session| session.user.id == user.user.id))
    }

    /// Ends every session of the user, this one included.
    pub async fn sign_out_everywhere(&self, user: &CurrentUser) -> Result<u64, ApiError> {
        let ended = self
            .store
            .delete_sessions_of(user.user.id, None)
            .await
            .or_internal("delete sessions")?;
        self.revocations
            .revoke(Revocation::Sessions {
                user: user.user.id,
                close: SessionsEnded::SignedOut,
            })
            .await;
        tracing::info!(user = %user.user.id, ended, "signed out everywhere");
        Ok(ended)
    }

    pub async fn set_display_name(
        &self,
        user: &CurrentUser,
        raw: &str,
    ) -> Result<UserView, ApiError> {
        let name = DisplayName::parse(raw)?;
        self.store
            .set_display_name(user.user.id, name.as_str())
            .await
            .or_internal("set display name")?;
        Ok(UserView {
            display_name: name.as_str().to_owned(),
            ..user.user.clone()
        })
    }

    /// Changes the password after checking the current one, and ends the user's other
    /// sessions: whoever knew the old password is signed out.
    pub async fn change_password(
        &self,
        user: &CurrentUser,
        current: &str,
        new: &str,
    ) -> Result<(), ApiError> {
        let new = Password::parse(new, Field::NewPassword)?;
        self.check_password(user, current).await?;
        strength::check_strength(
            &new,
            Field::NewPassword,
            &[&user.user.username, &user.user.display_name],
        )?;
        let hash = self.hasher.hash(&new).await?;
        self.store
            .set_password_hash(user.user.id, &hash)
            .await
            .or_internal("set password")?;
        self.store
            .delete_sessions_of(user.user.id, Some(&user.token))
            .await
            .or_internal("delete other sessions")?;
        self.revocations
            .revoke(Revocation::OtherSessions {
                user: user.user.id,
                keep: user.token,
            })
            .await;
        tracing::info!(user = %user.user.id, "password changed");
        Ok(())
    }

    /// Deletes the account (after checking its password) and every session with it.
    pub async fn delete_account(&self, user: &CurrentUser, current: &str) -> Result<(), ApiError> {
        self.check_password(user, current).await?;
        self.store
            .delete_user(user.user.id)
            .await
            .or_internal("delete user")?;
        self.revocations
            .revoke(Revocation::Sessions {
                user: user.user.id,
                close: SessionsEnded::SignedOut,
            })
            .await;
        tracing::info!(user = %user.user.id, "account deleted");
        Ok(())
    }

    /// Checks the signed-in user's current password, counted against the user and the
    /// session like a sign-in attempt (a refused check costs no hash).
    async fn check_password(&self, user: &CurrentUser, current: &str) -> Result<(), ApiError> {
        let id = user.user.id;
        // The first half of the session's hash names it in the limiter without the token.
        let session: String = user.token[..16]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        self.password_check_limit
            .check(&[&format!("user:{id}"), &format!("session:{session}")])
            .await
            .inspect_err(|limited| {
                if matches!(limited, Limited::Wait(_)) {
                    tracing::warn!(user = %id, "password check rate limit reached");
                }
            })?;
        let record = self
            .store
            .user_by_id(id)
            .await
            .or_internal("find user")?
            .ok_or(ApiError::Unauthenticated)?;
        if self.hasher.verify(current, &record.password_hash).await? {
            Ok(())
        } else {
            Err(ApiError::invalid(
                Field::CurrentPassword,
                Problem::Incorrect,
            ))
        }
    }

    async fn start_session(&self, user: UserId) -> Result<SessionToken, ApiError> {
        let token = SessionToken::generate();
        let now = self.clock.now_ms();
        self.store
            .create_session(&token.hash(), user, now, now.saturating_add(self.idle_ms))
            .await
            .or_internal("create session")?;
        Ok(token)
    }
}
