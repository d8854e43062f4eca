//! [`CurrentUser`]: who is making a request. It is an axum extractor (for routes such as the
//! WebSocket upgrade) and is also reached from server functions and pages through
//! `Backend::current_user`, and both paths run the same [`super::Accounts::authenticate`].

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use tokio::sync::OnceCell;

use crate::backend::Backend;
use crate::backend::store::TokenHash;
use crate::error::ApiError;
use crate::model::UserView;

/// Who a request is from, looked up at most once per request. A page asks in every server
/// function it calls while rendering (the header, the rooms list, the room, its history);
/// the server puts one of these in each request's context so they share one session lookup.
#[derive(Clone, Default)]
pub struct RequestUser(Arc<OnceCell<Option<CurrentUser>>>);

impl RequestUser {
    /// The user, looked up with `look_up` by the first caller of this request.
    pub async fn get_or_look_up<F, Fut>(&self, look_up: F) -> Result<Option<CurrentUser>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<CurrentUser>, ApiError>>,
    {
        self.0.get_or_try_init(look_up).await.cloned()
    }
}

#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: UserView,
    /// The session this request was authenticated with.
    pub(super) token: TokenHash,
}

impl CurrentUser {
    /// The session this request (or socket) was authenticated with, as its token's hash.
    pub fn session(&self) -> &TokenHash {
        &self.token
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    Backend: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let found = <Self as OptionalFromRequestParts<S>>::from_request_parts(parts, state).await?;
        found.ok_or(ApiError::Unauthenticated)
    }
}

impl<S> OptionalFromRequestParts<S> for CurrentUser
where
    Backend: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let backend = Backend::from_ref(state);
        let peer = crate::backend::ingress::peer_of(&parts.extensions);
        let https = backend.ingress().arrival(peer, &parts.headers).https;
        let found = backend
            .accounts()
            .authenticate(&parts.headers, https)
            .await?;
        Ok(found.map(|authenticated| authenticated.user))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_request_looks_its_user_up_once_however_often_it_asks() {
        let memo = RequestUser::default();
        let lookups = AtomicUsize::new(0);
        let look_up = || async {
            lookups.fetch_add(1, Ordering::Relaxed);
            Ok(None)
        };
        let shared = memo.clone();
        let (first, second) =
            tokio::join!(memo.get_or_look_up(look_up), shared.get_or_look_up(look_up));
        assert!(first.unwrap().is_none() && second.unwrap().is_none());
        assert_eq!(lookups.load(Ordering::Relaxed), 1);
        // Another request starts afresh.
        RequestUser::default()
            .get_or_look_up(look_up)
            .await
            .unwrap();
        assert_eq!(lookups.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_failed_lookup_is_not_remembered() {
        let memo = RequestUser::default();
        let failed = memo
            .get_or_look_up(|| async { Err(ApiError::Unavailable) })
            .await;
        assert!(failed.is_err());
        let next = memo.get_or_look_up(|| async { Ok(None) }).await;
        assert!(next.unwrap().is_none());
    }
}
