//! Reusable pieces of UI.

pub mod hydration;
