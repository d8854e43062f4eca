//! One module per route.

mod home;
mod login;
mod not_found;
mod register;
mod require_user;
mod settings;

pub use home::HomePage;
pub use login::LoginPage;
pub use not_found::NotFoundPage;
pub use register::RegisterPage;
pub use settings::{DeleteAccountPage, SettingsPage};
