//! The `/doctor` page's checks, run from the person's own browser: the vantage point that
//! matters when a proxy, a corporate network or a CDN sits in front of Sori. They talk to
//! the server's diagnostic socket `/ws/probe` (its protocol: [`crate::protocol::probe`]).
//!
//! [`finding`] is one check's result, as `sori doctor` prints it too; [`verdicts`] decides what each observation means (pure, both targets, tested natively);
//! `browser` opens the probes and observes, and does nothing on the server, which renders
//! the page with its "Run checks" button and no results.

mod browser;
pub mod finding;
pub mod verdicts;

pub use browser::run_checks;
