//! `sori-bench`: Sori's load generator. It starts the server under test (Sori with its
//! benchmark profile of limits, or one of the peers in `bench/peers/`), sets up its clients,
//! and drives one scenario over loopback, bounded in time. It speaks Sori's protocol with the
//! `app::protocol` types, and each peer's own protocol (see `client`).
//!
//! The benchmark profile raises only what a load generator trips over by design (sign-ups
//! and posts per client, sockets per user); the defaults users get are unchanged.
//!
//! `make bench` (bench/run.sh) runs every scenario against every target in alternating
//! rounds, with the server pinned to one core and the generator to the other, and writes
//! `bench/RESULTS.md`. The scenarios of several instances on one PostgreSQL database
//! (`instances`, `instances-posts`) run under `scripts/with-postgres.sh`; `make
//! bench-instances` runs only those.

// The report on stdout is what this program is for.
#![allow(clippy::print_stdout)]

mod client;
mod instances;
mod process;
mod scenario;
mod search;
mod stats;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "sori-bench",
    about = "Load scenarios against Sori (or a peer) over loopback."
)]
enum Scenario {
    /// N clients in one room, one sender posting at a fixed rate.
    Fanout(scenario::BroadcastArgs),
    /// C clients spread over K rooms, each room posting at a fixed rate.
    Rooms(scenario::BroadcastArgs),
    /// N clients connecting and subscribing; the server's memory per connection.
    Connect(scenario::ConnectArgs),
    /// Durable posts per second on Sori (each acknowledged after commit).
    Posts(scenario::PostsArgs),
    /// Server-side rendering of a room page with 50 messages, driven by wrk.
    Ssr(scenario::SsrArgs),
    /// Cold start to a ready /readyz, and the idle server's memory.
    Startup(scenario::StartupArgs),
    /// Message search over a large history on SQLite: latency, and the index's disk cost.
    Search(search::SearchArgs),
    /// Two (or more) instances on one PostgreSQL database, subscribers split over them,
    /// posts through each: deliveries to the other instances' subscribers.
    Instances(instances::InstancesArgs),
    /// Durable posts per second on PostgreSQL, spread over the instances and rooms.
    InstancesPosts(instances::InstancesPostsArgs),
}

// One thread: the generator is pinned to one core, where a second worker would only add
// context switches.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let report = match Scenario::parse() {
        Scenario::Fanout(args) => scenario::broadcast(args, "fanout").await?,
        Scenario::Rooms(args) => scenario::broadcast(args, "rooms").await?,
        Scenario::Connect(args) => scenario::connect(args).await?,
        Scenario::Posts(args) => scenario::posts(args).await?,
        Scenario::Ssr(args) => scenario::ssr(args).await?,
        Scenario::Startup(args) => scenario::startup(args).await?,
        Scenario::Search(args) => search::search(args).await?,
        Scenario::Instances(args) => instances::instances(args).await?,
        Scenario::InstancesPosts(args) => instances::instances_posts(args).await?,
    };
    report.print();
    Ok(())
}
