//! Domain types shared by the browser and the server: validated values and the views of
//! records that server functions return. Validation lives here, next to its tests, so the
//! server enforces it at the edge and the browser could reuse it.

pub mod account;
pub mod field;
pub mod message;
pub mod next_path;
pub mod notifications;
pub mod rich;
pub mod room;
pub mod status;

pub use account::{DisplayName, Password, UserId, UserView, Username};
pub use field::{Field, FieldError, Problem};
pub use message::MessageBody;
pub use next_path::safe_next;
pub use notifications::NotificationLevel;
pub use rich::RichText;
pub use room::{
    InvitationPreview, InvitationView, MemberView, RoomId, RoomName, RoomView, Topic, Visibility,
};
pub use status::StatusReport;
