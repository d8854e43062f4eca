//! One module per route.

mod doctor;
mod home;
mod login;
mod mentions;
mod not_found;
mod register;
mod require_user;
mod rooms;
mod search;
mod settings;

pub use doctor::DoctorPage;
pub use home::HomePage;
pub use login::LoginPage;
pub use mentions::MentionsPage;
pub use not_found::NotFoundPage;
pub use register::RegisterPage;
pub use rooms::{
    BrowseRoomsPage, DeleteRoomPage, InvitePage, NewRoomPage, RoomMembersPage, RoomPage,
    RoomSettingsPage,
};
pub use search::SearchPage;
pub use settings::{DeleteAccountPage, SettingsPage};
