//! Reusable pieces of UI.

pub mod ascii_json;
pub mod chat;
pub mod connection_status;
pub mod form;
pub mod header;
pub mod hydration;
pub mod rooms_nav;
pub mod rooms_state;
pub mod session;
