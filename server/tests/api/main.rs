//! Sori's integration tests, in one binary: each module drives a real server (or the real
//! `sori` binary) from the outside, through HTTP and WebSocket only, with `support` to start
//! servers and play browsers.
//!
//! One binary compiles `support` once and links once. Its tests run on parallel threads of
//! one process, each with its own server, port and database; nothing here may rely on being
//! alone in the process (see the route list made once per process in `server::site`).

mod access;
mod account_authorization;
mod accounts;
mod authorization;
mod bodies;
mod boot;
mod chaos;
mod cli;
mod deploy;
mod deploy_doctor;
mod doctor;
mod floods;
mod forwarded;
mod input_rules;
mod instances;
mod instances_failure;
mod instances_presence;
mod limits;
mod logs;
mod markdown;
mod mentions;
mod notifications;
mod probe;
mod reactions;
mod realtime;
mod replies;
mod room_life;
mod rooms;
mod search;
mod security_headers;
mod slow_clients;
mod support;
