//! Accounts and sessions: sign up, sign in, sign out (here or everywhere), and the account
//! settings. [`Accounts`] decides; server functions only adapt HTTP to it, and
//! [`CurrentUser`] is the one way any request (server function, page or socket upgrade)
//! learns who is asking.

mod current_user;
mod password;
mod session;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

pub use current_user::{CurrentUser, RequestUser};
pub use password::PasswordHasher;
pub use session::{SessionCookie, SessionToken};

use super::client_addr::IpNet;
use super::clock::{Clock, millis};
use super::internal_error::OrInternal;
use super::rate_limit::{Limited, RateLimiter};
use super::revocation::{Revocation, Revocations, SessionsEnded};
use super::store::{NewUser, Store, StoreError};
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
    cookie: SessionCookie,
    clock: Clock,
    idle_ms: i64,
    /// The absolute lifetime: sessions begun longer ago than this are over.
    max_ms: i64,
    refresh_ms: i64,
    sign_in_limit: RateLimiter,
    sign_up_limit: RateLimiter,
    trusted_proxies: Vec<IpNet>,
}

impl Accounts {
    pub fn new(
        store: Arc<dyn Store>,
        revocations: Arc<Revocations>,
        config: &AuthConfig,
        public_origin: &str,
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
        Self {
            store,
            revocations,
            hasher: PasswordHasher::new(config.password_hash_concurrency),
            cookie: SessionCookie::new(public_origin, config.session_idle_secs),
            idle_ms: millis(idle),
            max_ms: millis(Duration::from_secs(config.session_max_secs)),
            refresh_ms: millis(Duration::from_secs(config.session_refresh_secs)),
            sign_in_limit,
            sign_up_limit,
            trusted_proxies: config.trusted_proxies.clone(),
            clock,
        }
    }

    pub fn cookie(&self) -> &SessionCookie {
        &self.cookie
    }

    pub fn trusted_proxies(&self) -> &[IpNet] {
        &self.trusted_proxies
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
        self.sign_up_limit.check(&[&format!("ip:{client}")]).await?;
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
    ) -> Result<(UserView, SessionToken), ApiError> {
        let key = username.trim().to_ascii_lowercase();
        self.sign_in_limit
            .check(&[&format!("ip:{client}"), &format!("user:{key}")])
            .await
            .inspect_err(|limited| {
                if matches!(limited, Limited::Wait(_)) {
                    tracing::warn!(%client, "sign-in rate limit reached");
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
        if let Some(old) = self.cookie.read(previous) {
            self.store
                .delete_session(&session::hash_token(old))
                .await
                .or_internal("end the previous session")?;
        }
        let token = self.start_session(user.id).await?;
        tracing::info!(user = %user.id, "signed in");
        Ok((user.view(), token))
    }

    /// The user a request's session cookie belongs to, if the session is live. Slides the
    /// session's expiry forward at most once per refresh interval.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<Authenticated>, ApiError> {
        let Some(token) = self.cookie.read(headers) else {
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
        self.check_password(user.user.id, current).await?;
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
        self.check_password(user.user.id, current).await?;
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

    async fn check_password(&self, id: UserId, current: &str) -> Result<(), ApiError> {
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
