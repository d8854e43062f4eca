//! Mentions: the messages that name me, for the `/mentions` page. The counts per room come
//! with the room list (`rooms/list`), and live ones with the messages themselves.

use leptos::prelude::*;

use crate::error::ApiError;
use crate::protocol::MentionView;

/// My recent mentions across the rooms I am a member of, newest first.
#[server(endpoint = "mentions/list")]
pub async fn list_mentions() -> Result<Vec<MentionView>, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.messages().mentions(&user).await
}
