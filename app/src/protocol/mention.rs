//! What the `/mentions` page lists: a message that mentions me, with its room's name.

use serde::{Deserialize, Serialize};

use super::MessageView;

/// A message that mentions the viewer, as the `mentions/list` server function answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MentionView {
    /// The room's name as the viewer sees it (a direct conversation by the other person).
    pub room_name: String,
    pub message: MessageView,
}
