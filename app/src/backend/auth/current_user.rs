//! [`CurrentUser`]: who is making a request. It is an axum extractor (for routes such as the
//! WebSocket upgrade) and is also reached from server functions and pages through
//! `Backend::current_user`, and both paths run the same [`super::Accounts::authenticate`].

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::api::ApiError;
use crate::backend::Backend;
use crate::backend::store::TokenHash;
use crate::model::UserView;

#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: UserView,
    /// The session this request was authenticated with.
    pub(super) token: TokenHash,
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
        let found = backend.accounts().authenticate(&parts.headers).await?;
        Ok(found.map(|authenticated| authenticated.user))
    }
}
